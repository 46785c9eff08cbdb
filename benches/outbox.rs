//! What the outbox costs (issue 17, BENCHMARKS.md): redemption and creation through `Engine`
//! over the in-memory store and over a SQLite file, with the outbox off and on, one caller;
//! p50 and p99 per operation. PostgreSQL's are in the `postgres` program.
//!
//! ```text
//! cargo run --release -p temporary-access-pass-benches --bin outbox [-- operations]
//! ```
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::disallowed_methods,
    reason = "a measuring program: fixed set-up, printed results, timed with the wall clock"
)]

use std::time::{Duration, Instant};

use temporary_access_pass::signin::{Client, Lockout};
use temporary_access_pass::store::{Sequence, Store};
use temporary_access_pass::{
    CreateRequest, DirectoryRole, Engine, EngineConfig, InMemoryStore, IncludeTarget, Pepper,
    PolicySettings, PolicyState, Principal, SignInRequest, SysRng, SystemClock, UserId,
};
use temporary_access_pass_sqlite::SqliteStore;

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn report(store: &str, what: &str, outbox: bool, mut times: Vec<Duration>) {
    times.sort_unstable();
    println!(
        "{store:>9} | {what:>6} | outbox {:>3} | p50 {:>8.2} µs | p99 {:>8.2} µs",
        if outbox { "on" } else { "off" },
        quantile(&times, 0.50).as_secs_f64() * 1e6,
        quantile(&times, 0.99).as_secs_f64() * 1e6,
    );
}

fn run<S: Store>(name: &str, store: S, outbox: bool, operations: usize) {
    let config = EngineConfig::new(Pepper::new(&[0x42; 32]).unwrap())
        .lockout(Lockout::new(1000, time::Duration::MINUTE).unwrap())
        .outbox(outbox);
    let engine = Engine::new(SystemClock::new(), store, config);
    let admin = Principal::member(UserId::new("admin@contoso.com").unwrap())
        .role(DirectoryRole::GlobalAdministrator);
    let settings = PolicySettings::new()
        .state(PolicyState::Enabled)
        .include_target(IncludeTarget::AllUsers);
    let _ = engine.update_policy(&admin, &settings).unwrap();
    let mut created = Vec::with_capacity(operations);
    let mut users = Vec::with_capacity(operations);
    for i in 0..operations {
        let user = Principal::member(UserId::new(&format!("user-{i}@contoso.com")).unwrap());
        let request = CreateRequest::new().is_usable_once(false);
        let start = Instant::now();
        let pass = engine.create(&admin, &user, &request, &mut SysRng).unwrap();
        created.push(start.elapsed());
        users.push((user, pass.passcode.expose_secret().to_owned()));
    }
    let browser = SignInRequest::new(Client::Browser);
    let redeemed = users
        .iter()
        .map(|(user, code)| {
            let start = Instant::now();
            assert!(engine.redeem(user, code, browser).unwrap().outcome.is_ok());
            start.elapsed()
        })
        .collect();
    report(name, "create", outbox, created);
    report(name, "redeem", outbox, redeemed);
    let events = engine
        .store()
        .read_events(Sequence::START, usize::MAX)
        .unwrap()
        .len();
    assert_eq!(events, if outbox { 2 * operations + 1 } else { 0 });
}

fn main() {
    let operations: usize = std::env::args()
        .nth(1)
        .map_or(20_000, |n| n.parse().unwrap());
    println!("Engine create and redeem, one caller, {operations} of each per row");
    for outbox in [false, true] {
        run("in memory", InMemoryStore::new(), outbox, operations);
    }
    let sqlite = operations.min(2_000);
    println!("SQLite (WAL, synchronous=FULL: every write is flushed), {sqlite} of each per row");
    for outbox in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("bench.db")).unwrap();
        run("SQLite", store, outbox, sqlite);
    }
}
