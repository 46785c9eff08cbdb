//! Throughput of the engine over `InMemoryStore` across cores (issues 13 and 16, BENCHMARKS.md):
//! redemptions with the right code of multi-use passes, at 1 thread, 2 threads and the
//! machine's core count, first with every thread on users of its own (distinct users), then
//! with every thread on one user (contended: the store holds the user's shard while the engine
//! decides, so attempts queue instead of conflicting). Each configuration runs without the
//! outbox (as before it existed) and with it (every grant commits its audit event; the outbox
//! is pruned between rows).
//!
//! ```text
//! cargo run --release -p temporary-access-pass-benches --bin throughput
//! cargo run --release -p temporary-access-pass-benches --bin throughput -- 2000000   # redemptions per configuration
//! ```
//!
//! Retries are counted by a store wrapper in thread-local counters, so counting shares nothing
//! between threads; `Contention` outcomes are the redemptions the engine gave up on.
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_precision_loss,
    clippy::disallowed_methods,
    reason = "a measuring program: fixed set-up, printed results, timed with the wall clock"
)]

use std::cell::Cell;
use std::error::Error;
use std::num::NonZero;
use std::time::Instant;

use temporary_access_pass::signin::Client;
use temporary_access_pass::store::{
    Commit, Decide, Loaded, Recorded, Sequence, Store, Versioned, Write,
};
use temporary_access_pass::{
    CreateRequest, DirectoryRole, Engine, EngineConfig, EngineError, InMemoryStore, IncludeTarget,
    Pepper, Policy, PolicySettings, PolicyState, Principal, SignInRequest, SysRng, SystemClock,
    UserId,
};

const USERS: usize = 2_000;

std::thread_local! {
    static CONFLICTS: Cell<u64> = const { Cell::new(0) };
}

/// The in-memory store, counting conflicting writes in a thread-local counter.
#[derive(Debug)]
struct Counting(InMemoryStore);

impl Store for Counting {
    type Error = std::convert::Infallible;

    fn load(&self, user: &UserId) -> Result<Loaded, Self::Error> {
        self.0.load(user)
    }

    fn load_policy(&self) -> Result<Option<Versioned<Policy>>, Self::Error> {
        self.0.load_policy()
    }

    fn commit(&self, commit: &Commit) -> Result<Write, Self::Error> {
        Ok(count(self.0.commit(commit)?))
    }

    /// The store's own: it holds the user's shard while the engine decides (SPEC 6.7).
    fn transact(
        &self,
        user: &UserId,
        decide: &mut Decide<'_>,
    ) -> Result<Option<Write>, Self::Error> {
        Ok(self.0.transact(user, decide)?.map(count))
    }

    fn read_events(&self, after: Sequence, limit: usize) -> Result<Vec<Recorded>, Self::Error> {
        self.0.read_events(after, limit)
    }

    fn prune_events(&self, before: Sequence) -> Result<u64, Self::Error> {
        self.0.prune_events(before)
    }

    fn load_methods(
        &self,
        user: &temporary_access_pass::UserId,
    ) -> Result<
        Vec<
            temporary_access_pass::store::Versioned<
                temporary_access_pass::method::RegisteredMethod,
            >,
        >,
        Self::Error,
    > {
        self.0.load_methods(user)
    }

    fn load_ceremony(
        &self,
        user: &temporary_access_pass::UserId,
        id: &temporary_access_pass::ceremony::CeremonyId,
    ) -> Result<
        Option<temporary_access_pass::store::Versioned<temporary_access_pass::ceremony::Ceremony>>,
        Self::Error,
    > {
        self.0.load_ceremony(user, id)
    }

    fn prune_ceremonies(
        &self,
        now: temporary_access_pass::time::UtcDateTime,
    ) -> Result<u64, Self::Error> {
        self.0.prune_ceremonies(now)
    }
}

fn count(written: Write) -> Write {
    if written == Write::Conflict {
        CONFLICTS.with(|c| c.set(c.get() + 1));
    }
    written
}

/// Users with the code of their multi-use pass.
type Users = Vec<(Principal, String)>;

struct Run {
    per_second: f64,
    retries: u64,
    contention: u64,
}

/// `threads` threads redeem `total` times in all; thread `k` cycles through `users_of(k)`.
fn run(
    engine: &Engine<SystemClock, Counting>,
    users: &[(Principal, String)],
    threads: usize,
    total: usize,
    contended: bool,
) -> Run {
    let per_thread = total / threads;
    let request = SignInRequest::new(Client::Browser);
    let start = Instant::now();
    let results: Vec<(u64, u64)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|k| {
                let mine: &[(Principal, String)] = if contended {
                    &users[..1]
                } else {
                    let chunk = users.len() / threads;
                    &users[k * chunk..(k + 1) * chunk]
                };
                s.spawn(move || {
                    CONFLICTS.with(|c| c.set(0));
                    let mut contention = 0;
                    for i in 0..per_thread {
                        let (user, code) = &mine[i % mine.len()];
                        match engine.redeem(user, code, request) {
                            Ok(r) => assert!(r.outcome.is_ok(), "a right code was refused"),
                            Err(EngineError::Contention { .. }) => contention += 1,
                            Err(e) => panic!("{e}"),
                        }
                    }
                    (CONFLICTS.with(Cell::get), contention)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let elapsed = start.elapsed().as_secs_f64();
    Run {
        per_second: (per_thread * threads) as f64 / elapsed,
        retries: results.iter().map(|r| r.0).sum(),
        contention: results.iter().map(|r| r.1).sum(),
    }
}

/// An engine over a counting in-memory store, with the outbox on or off, and `USERS` users each
/// holding a multi-use pass.
fn setup(outbox: bool) -> Result<(Engine<SystemClock, Counting>, Users), Box<dyn Error>> {
    let engine = Engine::new(
        SystemClock::new(),
        Counting(InMemoryStore::new()),
        EngineConfig::new(Pepper::new(&[0x42; 32])?).outbox(outbox),
    );
    let admin = Principal::member(UserId::new("admin@contoso.com")?)
        .role(DirectoryRole::GlobalAdministrator);
    let _ = engine.update_policy(
        &admin,
        &PolicySettings::new()
            .state(PolicyState::Enabled)
            .include_target(IncludeTarget::AllUsers),
    )?;
    let users = (0..USERS)
        .map(|i| {
            let user = Principal::member(UserId::new(&format!("user-{i:05}@contoso.com"))?);
            let created = engine.create(
                &admin,
                &user,
                &CreateRequest::new().is_usable_once(false),
                &mut SysRng,
            )?;
            let code = created.passcode.expose_secret().to_owned();
            Ok((user, code))
        })
        .collect::<Result<Vec<_>, Box<dyn Error>>>()?;
    Ok((engine, users))
}

fn main() -> Result<(), Box<dyn Error>> {
    let total: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(4_000_000);
    let cores = std::thread::available_parallelism().map_or(1, NonZero::get);
    let mut counts = vec![1, 2, cores];
    counts.dedup();
    for outbox in [false, true] {
        let (engine, users) = setup(outbox)?;
        println!(
            "engine redeem over InMemoryStore ({} shards), outbox {}, right codes of multi-use passes, {total} redemptions per row, {cores} cores",
            engine.store().0.shards(),
            if outbox { "on" } else { "off" },
        );
        for (label, contended) in [("distinct users", false), ("one user (contended)", true)] {
            let mut base = None;
            for &threads in &counts {
                let r = run(&engine, &users, threads, total, contended);
                let one = *base.get_or_insert(r.per_second);
                let pruned = engine.store().prune_events(Sequence::new(u64::MAX))?;
                println!(
                    "{label:>21}, {threads:>2} threads: {:>6.2} M/s ({:.2}x of 1 thread), {} retries, {} Contention, {pruned} events",
                    r.per_second / 1e6,
                    r.per_second / one,
                    r.retries,
                    r.contention
                );
            }
        }
    }
    Ok(())
}
