//! Scale: a million passes in `InMemoryStore`, the bytes each one costs (counted by a counting
//! allocator) and the redeem latency at that size beside the figure at a thousand.
//!
//! `cargo run --release -p temporary-access-pass-benches --bin scale` (BENCHMARKS.md records how
//! long it takes). Pass a smaller count as the first argument for a quick look:
//! `cargo run --release -p temporary-access-pass-benches --bin scale -- 100000`. The bytes
//! counted include the store itself (its shards), spread over the passes.
#![allow(
    clippy::print_stdout,
    clippy::cast_precision_loss,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    clippy::indexing_slicing,
    reason = "a measuring program: it prints, divides counts, and times itself with the wall clock"
)]

use std::alloc::System;
use std::error::Error;
use std::hint::black_box;
use std::time::Instant;

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use temporary_access_pass::signin::Client;
use temporary_access_pass::store::{Commit, Expected, Held, Store};
use temporary_access_pass::testing::DeterministicRng;
use temporary_access_pass::{
    CreateContext, CreateRequest, DigestKey, DirectoryRole, Engine, EngineConfig, InMemoryStore,
    IncludeTarget, ManualClock, Pepper, Policy, PolicySettings, PolicyState, Principal,
    SignInRequest, UserId, create,
};
use time::macros::utc_datetime;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

struct Filled {
    engine: Engine<ManualClock, InMemoryStore>,
    users: Vec<(Principal, String)>,
    bytes_per_pass: f64,
}

fn user_id(i: usize) -> Result<UserId, Box<dyn Error>> {
    Ok(UserId::new(&format!("user-{i:07}@contoso.com"))?)
}

fn fill(count: usize) -> Result<Filled, Box<dyn Error>> {
    let now = utc_datetime!(2021-03-11 06:00:00);
    let key = DigestKey::from(Pepper::new(&[0x42; 32])?);
    let policy = Policy::new(
        PolicySettings::new()
            .state(PolicyState::Enabled)
            .include_target(IncludeTarget::AllUsers),
    )?;
    let admin = Principal::member(UserId::new("admin@contoso.com")?)
        .role(DirectoryRole::GlobalAdministrator);
    // Deterministic, so filling the store measures the store, not the OS RNG.
    let mut rng = DeterministicRng(7);
    // Sample up to 100,000 users (every tenth at a million) so latency runs touch cold records.
    let sample_every = (count / 100_000).max(1);
    let mut users = Vec::new();
    let region = Region::new(GLOBAL);
    let store = InMemoryStore::new();
    for i in 0..count {
        let user = Principal::member(user_id(i)?);
        let ctx = CreateContext::new(&policy, &key, &admin, &user);
        let request = CreateRequest::new().is_usable_once(false);
        let issued = create(&ctx, &request, now, &mut rng)?;
        let expected = Expected::new(None, Held::Nothing);
        let _ = store.commit(&Commit::put(user.id().clone(), expected, issued.record))?;
        if i % sample_every == 0 {
            users.push((user, issued.passcode.expose_secret().to_owned()));
        }
    }
    let stats = region.change();
    // Net bytes still held, less what the sample list (kept for the latency run) holds: its
    // vector and the codes. A sampled principal's id shares its allocation with the record.
    let sample_bytes: usize = users.iter().map(|(_, c)| c.len()).sum::<usize>()
        + users.capacity() * std::mem::size_of::<(Principal, String)>();
    // `stats_alloc` already books a reallocation's growth and shrinkage in these two totals.
    let net = stats.bytes_allocated as f64 - stats.bytes_deallocated as f64 - sample_bytes as f64;
    let engine = Engine::new(ManualClock::new(now), store, EngineConfig::new(key));
    let _ = engine.update_policy(&admin, &policy.settings())?;
    Ok(Filled {
        engine,
        users,
        bytes_per_pass: net / count as f64,
    })
}

/// Median nanoseconds of `rounds` right-code redemptions over the sampled users.
fn redeem_latency(filled: &Filled, rounds: usize) -> Result<f64, Box<dyn Error>> {
    let ctx = SignInRequest::new(Client::Browser);
    let mut times = Vec::with_capacity(rounds);
    for r in 0..rounds {
        let (user, code) = &filled.users[r.wrapping_mul(7919) % filled.users.len()];
        let start = Instant::now();
        let sign_in = black_box(filled.engine.redeem(user, code, ctx)?);
        times.push(start.elapsed().as_nanos() as f64);
        if sign_in.outcome.is_err() {
            return Err("a right code was refused".into());
        }
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

fn main() -> Result<(), Box<dyn Error>> {
    let big: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let small = 1_000;
    println!(
        "record size (stack part): {} bytes",
        std::mem::size_of::<temporary_access_pass::TemporaryAccessPass>()
    );

    let t = Instant::now();
    let small_store = fill(small)?;
    let small_latency = redeem_latency(&small_store, 100_000)?;
    println!(
        "{small:>9} passes: {:.1} bytes/pass, redeem median {:.0} ns (filled in {:.1?})",
        small_store.bytes_per_pass,
        small_latency,
        t.elapsed()
    );
    drop(small_store);

    let t = Instant::now();
    let big_store = fill(big)?;
    let filled_in = t.elapsed();
    let big_latency = redeem_latency(&big_store, 100_000)?;
    println!(
        "{big:>9} passes: {:.1} bytes/pass, redeem median {:.0} ns (filled in {filled_in:.1?})",
        big_store.bytes_per_pass, big_latency
    );
    println!(
        "latency ratio {big}/{small}: {:.2}x (target <= 1.5x); bytes/pass target <= 256",
        big_latency / small_latency
    );
    Ok(())
}
