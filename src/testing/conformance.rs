//! A conformance suite any [`Store`] implementation can run in its own tests (feature
//! `test-support`). **Not covered by semver:** checks may be added or tightened in any release.
//!
//! ```
//! use temporary_access_pass::InMemoryStore;
//! use temporary_access_pass::testing::conformance;
//!
//! let store = InMemoryStore::new();
//! conformance::check_store(&store);
//! conformance::race_one_time_redemption(&store, 50);
//! conformance::race_lockout(&store, 5);
//! conformance::race_creation(&store, 5);
//! conformance::race_burst(&store, 2);
//! conformance::race_burst_wrong_codes(&store, 2);
//! conformance::race_delete(&store, 5);
//! conformance::race_policy_change(&store, 5);
//! ```
//!
//! Every check uses user ids of its own, so it can run against a store that already holds data
//! (the races set the store's policy to an enabled, all-users one). A failure panics with a
//! message saying which guarantee broke.
#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "a test suite reports broken guarantees by panicking, like `assert!`"
)]

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::Debug;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Barrier, Mutex, PoisonError};
use std::thread;

use time::UtcDateTime;
use time::macros::utc_datetime;

use crate::clock::ManualClock;
use crate::config::EngineConfig;
use crate::create::{CreateContext, CreateRequest, create};
use crate::digest::{DigestKey, Pepper};
use crate::engine::Engine;
use crate::ids::UserId;
use crate::pass::TemporaryAccessPass;
use crate::policy::{IncludeTarget, Policy, PolicySettings, PolicyState};
use crate::principal::{DirectoryRole, Principal};
use crate::signin::{Client, SignInRequest};
use crate::store::Store;

/// Threads in each race.
pub const THREADS: usize = 8;

/// Attempts in each burst: all of them read the same record version before any of them writes.
pub const BURST: usize = 64;

const NOW: UtcDateTime = utc_datetime!(2021-03-11 06:00:00);

fn unique_user(label: &str) -> Principal {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let id = format!("conformance-{label}-{}-{n}", std::process::id());
    Principal::member(UserId::new(&id).expect("a short printable id"))
}

fn admin() -> Principal {
    Principal::member(UserId::new("conformance-admin").expect("a short printable id"))
        .role(DirectoryRole::GlobalAdministrator)
}

/// The key every record of the suite is sealed with.
fn key() -> DigestKey {
    DigestKey::from(Pepper::new(b"conformance suite pepper, 32+ bytes").expect("a long pepper"))
}

fn record_for(user: &Principal, policy: &Policy) -> TemporaryAccessPass {
    let admin = admin();
    let key = key();
    let ctx = CreateContext::new(policy, &key, &admin, user);
    create(&ctx, &CreateRequest::new(), NOW, &mut getrandom::SysRng)
        .expect("issuing a test record")
        .record
}

fn ok<T, E: Debug>(what: &str, r: Result<T, E>) -> T {
    r.unwrap_or_else(|e| panic!("store error during {what}: {e:?}"))
}

/// The sequential guarantees: create-only inserts, compare-and-swap changes on the pass id and
/// version or on the pass id alone, the policy version in every record expectation, versions
/// that change on every write, removals and keeps that land on the pass they name and nothing
/// else, the policy's own compare-and-swap, and the outbox: each landed change's events once,
/// in commit order, none for a conflict, reads after a number up to a limit, and pruning.
/// The outbox check prunes the events before its own: run it on a store (or tenant) of its
/// own.
///
/// # Panics
///
/// When the store breaks the guarantee, with a message naming it.
pub fn check_store<S: Store>(store: &S) {
    sequential::check_records(store);
    sequential::check_removal(store);
    sequential::check_keep(store);
    sequential::check_policy(store);
    sequential::check_outbox(store);
}

/// An engine over `store` with an enabled, all-users policy and a fixed clock.
fn engine_for<'a, S: Store>(
    clock: &'a ManualClock,
    store: &'a S,
    one_time: bool,
) -> Engine<&'a ManualClock, &'a S> {
    engine_with(clock, store, one_time, EngineConfig::new(key()))
}

/// As [`engine_for`], with a configuration of the caller's.
fn engine_with<'a, S: Store>(
    clock: &'a ManualClock,
    store: &'a S,
    one_time: bool,
    config: EngineConfig,
) -> Engine<&'a ManualClock, &'a S> {
    let engine = Engine::new(clock, store, config);
    let settings = race_policy(one_time);
    if engine.policy().ok().map(|p| p.settings()) != Some(settings.clone()) {
        let _changed = engine
            .update_policy(&admin(), &settings)
            .unwrap_or_else(|e| panic!("setting the policy: {e}"));
    }
    engine
}

/// The policy every race runs under: enabled for all users, one-time passes or not.
fn race_policy(one_time: bool) -> PolicySettings {
    PolicySettings::new()
        .state(PolicyState::Enabled)
        .include_target(IncludeTarget::AllUsers)
        .is_usable_once(one_time)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// [`THREADS`] threads redeem the same one-time pass with the right code at once, `rounds`
/// times: exactly one of them succeeds in every round (SPEC 5.3). The issue asks for 10,000
/// rounds in CI.
///
/// # Panics
///
/// When the store breaks a guarantee, with a message naming it.
pub fn race_one_time_redemption<S: Store>(store: &S, rounds: u32) {
    let clock = ManualClock::new(NOW);
    let engine = engine_for(&clock, store, true);
    let admin = admin();
    let user = unique_user("redeem");
    let ctx = SignInRequest::new(Client::Browser);
    let code = Mutex::new(String::new());
    let wins = AtomicU32::new(0);
    let barrier = Barrier::new(THREADS.saturating_add(1));
    let mut failures: Vec<String> = Vec::new();

    thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                for _ in 0..rounds {
                    barrier.wait();
                    let typed = lock(&code).clone();
                    let outcome = engine.redeem(&user, &typed, ctx).map(|r| r.outcome);
                    if matches!(outcome, Ok(Ok(_))) {
                        wins.fetch_add(1, Ordering::SeqCst);
                    }
                    barrier.wait();
                }
            });
        }
        for round in 0..rounds {
            match engine.create(&admin, &user, &CreateRequest::new(), &mut getrandom::SysRng) {
                Ok(issued) => *lock(&code) = issued.passcode.expose_secret().to_string(),
                Err(e) => failures.push(format!("round {round}: create failed: {e}")),
            }
            barrier.wait();
            barrier.wait();
            let n = wins.swap(0, Ordering::SeqCst);
            if let Err(e) = rounds::one_winner(round, usize::try_from(n).unwrap_or(usize::MAX)) {
                failures.push(e);
            }
            if let Err(e) = engine.delete(&admin, &user) {
                failures.push(format!("round {round}: delete failed: {e}"));
            }
        }
    });
    rounds::report("one-time redemption race", rounds, &failures);
}

/// [`THREADS`] threads type wrong codes for one pass at once (4 each, 32 in all), `rounds`
/// times: exactly [`crate::signin::Lockout::DEFAULT_MAX_ATTEMPTS`] wrong codes are counted, the lock
/// engages at exactly that count, and every later attempt is refused as locked (SPEC 6.4).
///
/// # Panics
///
/// When the store breaks a guarantee, with a message naming it.
pub fn race_lockout<S: Store>(store: &S, rounds: u32) {
    const PER_THREAD: u32 = 4;
    let clock = ManualClock::new(NOW);
    let engine = engine_for(&clock, store, false);
    let admin = admin();
    let ctx = SignInRequest::new(Client::Browser);
    for round in 0..rounds {
        let user = unique_user("lockout");
        if let Err(e) = engine.create(&admin, &user, &CreateRequest::new(), &mut getrandom::SysRng)
        {
            panic!("lockout race round {round}: create failed: {e}");
        }
        let counted = AtomicU32::new(0);
        let locked = AtomicU32::new(0);
        thread::scope(|s| {
            for _ in 0..THREADS {
                s.spawn(|| {
                    for _ in 0..PER_THREAD {
                        let answer = engine.redeem(&user, "wrong code!", ctx);
                        match rounds::wrong_code_answer(answer.map_err(recording::store_error)) {
                            Some(true) => counted.fetch_add(1, Ordering::SeqCst),
                            Some(false) => locked.fetch_add(1, Ordering::SeqCst),
                            None => 0,
                        };
                    }
                });
            }
        });
        let record = ok("load", store.load(user.id()))
            .record
            .expect("the pass survives wrong codes")
            .value;
        rounds::lockout(round, counted.into_inner(), locked.into_inner(), &record);
        let _ = engine.delete(&admin, &user);
    }
}

/// [`THREADS`] threads create a pass for the same user at once, `rounds` times: exactly one
/// creation succeeds, the others are refused because the user now holds a valid pass, and the
/// store holds the winner's pass (SPEC 2.7).
///
/// # Panics
///
/// When the store breaks a guarantee, with a message naming it.
pub fn race_creation<S: Store>(store: &S, rounds: u32) {
    let clock = ManualClock::new(NOW);
    let engine = engine_for(&clock, store, false);
    let admin = admin();
    for round in 0..rounds {
        let user = unique_user("create");
        let winners = Mutex::new(Vec::new());
        thread::scope(|s| {
            for _ in 0..THREADS {
                s.spawn(|| {
                    let created =
                        engine.create(&admin, &user, &CreateRequest::new(), &mut getrandom::SysRng);
                    if let Some(pass) = rounds::creation_answer(created) {
                        lock(&winners).push(pass);
                    }
                });
            }
        });
        let winners = winners.into_inner().unwrap_or_else(PoisonError::into_inner);
        let stored = ok("load", store.load(user.id())).record;
        rounds::one_creation(round, &winners, stored.as_ref().map(|v| &v.value));
        let _ = engine.delete(&admin, &user);
    }
}

/// Runs every check at the sizes CI uses for the in-memory store: the sequential checks, 10,000
/// rounds of the one-time redemption race, 200 of the lockout race, 200 of the creation race,
/// 200 of each burst race, 200 of the delete race and 200 of the policy race.
///
/// # Panics
///
/// When the store breaks a guarantee, with a message naming it.
pub fn run_all<S: Store>(store: &S) {
    check_store(store);
    race_one_time_redemption(store, 10_000);
    race_lockout(store, 200);
    race_creation(store, 200);
    race_burst(store, 200);
    race_burst_wrong_codes(store, 200);
    race_delete(store, 200);
    race_policy_change(store, 200);
}

mod attack;
mod burst;
mod onboarding;
mod recording;
mod refusals;
mod rounds;
mod sequential;
mod slow;
#[cfg(feature = "test-support-tokio")]
pub mod tasks;
pub use attack::{Attack, AttackReport, Operation, OperationReport, race_under_attack};
pub use burst::{race_burst, race_burst_wrong_codes, race_delete, race_policy_change};
pub use onboarding::{
    check_methods_and_ceremonies, check_onboarding, race_method_cap,
    race_pass_deletion_and_registration, race_taking_a_state, run_onboarding,
};
pub use refusals::check_refusals_write_nothing;
pub use slow::Slow;
