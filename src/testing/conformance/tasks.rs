//! The conformance suite through [`AsyncEngine`] over an [`AsyncStore`] (feature
//! `test-support-tokio`): the checks of the thread suite, judged by the same code, with every
//! race run as tasks on the caller's multi-threaded tokio runtime. Each function takes the store
//! as an `Arc`, since the tasks it spawns outlive any borrow.
//!
//! ```
//! use std::sync::Arc;
//!
//! use temporary_access_pass::InMemoryStore;
//! use temporary_access_pass::testing::{conformance::tasks, tokio};
//!
//! let runtime = tokio::runtime::Builder::new_multi_thread().build().unwrap();
//! runtime.block_on(async {
//!     let store = Arc::new(InMemoryStore::new());
//!     tasks::check_store(store.clone()).await;
//!     tasks::race_one_time_redemption(store.clone(), 50).await;
//!     tasks::race_lockout(store.clone(), 5).await;
//!     tasks::race_creation(store.clone(), 5).await;
//!     tasks::race_burst(store.clone(), 2).await;
//!     tasks::race_burst_wrong_codes(store.clone(), 2).await;
//!     tasks::race_delete(store.clone(), 5).await;
//!     tasks::race_policy_change(store, 5).await;
//! });
//! ```
//!
//! The sequential checks run the thread suite's own code on a blocking thread, each store call
//! awaited there; the races spawn tasks and meet at async barriers, so a store that holds a
//! worker thread while it waits is tested as it runs in a service.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::sync::Barrier;
use tokio::task::JoinHandle;

use super::burst::BURST;
use super::recording::{Answers, Log, Step, store_error};
use super::{NOW, THREADS, admin, key, ok, race_policy, rounds, unique_user};
use crate::clock::ManualClock;
use crate::config::EngineConfig;
use crate::create::CreateRequest;
use crate::engine::AsyncEngine;
use crate::ids::UserId;
use crate::policy::{Policy, PolicyState};
use crate::signin::{Client, SignInRequest};
use crate::store::{
    AsyncStore, Commit, DecideSend, Loaded, Recorded, Sequence, Store, Versioned, Write,
};

/// Fails at once on a runtime that would run the tasks one at a time: nothing would race.
fn multi_threaded(race: &str) {
    let flavor = Handle::try_current().map(|h| h.runtime_flavor());
    assert!(
        matches!(flavor, Ok(RuntimeFlavor::MultiThread)),
        "{race}: run the task races inside a multi-threaded tokio runtime, found {flavor:?}"
    );
}

/// Every task's output, in order; a task's panic is raised again here.
async fn joined<T: Send + 'static>(tasks: Vec<JoinHandle<T>>) -> Vec<T> {
    let mut outputs = Vec::with_capacity(tasks.len());
    for task in tasks {
        match task.await {
            Ok(output) => outputs.push(output),
            Err(e) => match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(e) => panic!("a race task did not finish: {e}"),
            },
        }
    }
    outputs
}

/// An engine over `store` with the races' policy and a fixed clock.
async fn engine_for<S: AsyncStore>(
    store: S,
    one_time: bool,
    config: EngineConfig,
) -> Arc<AsyncEngine<ManualClock, S>> {
    let engine = AsyncEngine::new(ManualClock::new(NOW), store, config);
    let settings = race_policy(one_time);
    if engine.policy().await.ok().map(|p| p.settings()) != Some(settings.clone()) {
        let _changed = engine
            .update_policy(&admin(), &settings)
            .await
            .unwrap_or_else(|e| panic!("setting the policy: {e}"));
    }
    Arc::new(engine)
}

/// An async store seen as a [`Store`] from a blocking thread: each call waits for its future.
struct Blocking<S> {
    store: Arc<S>,
    runtime: Handle,
}

impl<S: AsyncStore> Store for Blocking<S> {
    type Error = S::Error;

    fn load(&self, user: &UserId) -> Result<Loaded, S::Error> {
        self.runtime.block_on(self.store.load(user))
    }

    fn load_policy(&self) -> Result<Option<Versioned<Policy>>, S::Error> {
        self.runtime.block_on(self.store.load_policy())
    }

    fn commit(&self, commit: &Commit) -> Result<Write, S::Error> {
        self.runtime.block_on(self.store.commit(commit))
    }

    // `transact` is the trait's default: the sequential checks commit through `commit`.

    fn read_events(&self, after: Sequence, limit: usize) -> Result<Vec<Recorded>, S::Error> {
        self.runtime.block_on(self.store.read_events(after, limit))
    }

    fn prune_events(&self, before: Sequence) -> Result<u64, S::Error> {
        self.runtime.block_on(self.store.prune_events(before))
    }
}

/// The store under test, wrapped for the task races as the thread races wrap it: held reads
/// meet at an async barrier, held writes wait for the coordinator, landed writes are logged.
struct Recording<S> {
    inner: Arc<S>,
    log: Log,
    gate: Barrier,
    parked: Barrier,
    released: Barrier,
}

impl<S> Recording<S> {
    fn new(inner: Arc<S>, writers: usize) -> Arc<Self> {
        Arc::new(Self {
            inner,
            log: Log::default(),
            gate: Barrier::new(BURST),
            parked: Barrier::new(writers.saturating_add(1)),
            released: Barrier::new(writers.saturating_add(1)),
        })
    }
}

impl<S: AsyncStore> AsyncStore for Recording<S> {
    type Error = S::Error;

    async fn load(&self, user: &UserId) -> Result<Loaded, S::Error> {
        let held = self.log.hold_read();
        let read = self.inner.load(user).await;
        if held {
            // Every attempt of the burst has read before any goes on to decide and write.
            let _leader = self.gate.wait().await;
        }
        read
    }

    fn load_policy(
        &self,
    ) -> impl Future<Output = Result<Option<Versioned<Policy>>, S::Error>> + Send {
        self.inner.load_policy()
    }

    async fn commit(&self, commit: &Commit) -> Result<Write, S::Error> {
        if commit.change.user().is_some() && self.log.hold_write() {
            // Decided, not yet written: the coordinator acts, then lets the write go.
            let _leader = self.parked.wait().await;
            let _leader = self.released.wait().await;
        }
        let written = self.inner.commit(commit).await?;
        self.log.committed(commit, written);
        Ok(written)
    }

    // `transact` is the trait's default on purpose, as in the thread races' wrapper.

    fn read_events(
        &self,
        after: Sequence,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Recorded>, S::Error>> + Send {
        self.inner.read_events(after, limit)
    }

    fn prune_events(&self, before: Sequence) -> impl Future<Output = Result<u64, S::Error>> + Send {
        self.inner.prune_events(before)
    }
}

/// As [`super::check_store`], through the async store's own methods.
///
/// # Panics
///
/// When the store breaks a guarantee, with a message naming it.
pub async fn check_store<S: AsyncStore + 'static>(store: Arc<S>) {
    let runtime = Handle::current();
    let check = tokio::task::spawn_blocking(move || {
        super::check_store(&Blocking { store, runtime });
    });
    joined(alloc::vec![check]).await;
}

/// As [`super::check_refusals_write_nothing`], through the async store's own methods.
///
/// # Panics
///
/// When a refused attempt writes, or is not refused as its state says.
pub async fn check_refusals_write_nothing<S: AsyncStore + 'static>(store: Arc<S>, attempts: u32) {
    let runtime = Handle::current();
    let check = tokio::task::spawn_blocking(move || {
        super::check_refusals_write_nothing(&Blocking { store, runtime }, attempts);
    });
    joined(alloc::vec![check]).await;
}

/// As [`super::race_one_time_redemption`]: [`THREADS`] tasks redeem one one-time pass at once,
/// `rounds` times, and exactly one wins each round.
///
/// # Panics
///
/// When the store breaks a guarantee, or outside a multi-threaded runtime.
pub async fn race_one_time_redemption<S: AsyncStore + 'static>(store: Arc<S>, rounds: u32) {
    multi_threaded("one-time redemption race");
    let engine = engine_for(store, true, EngineConfig::new(key())).await;
    let admin = admin();
    let user = unique_user("redeem-task");
    let browser = SignInRequest::new(Client::Browser);
    let mut failures = Vec::new();
    for round in 0..rounds {
        let code = match engine
            .create(&admin, &user, &CreateRequest::new(), &mut getrandom::SysRng)
            .await
        {
            Ok(created) => created.passcode.expose_secret().to_string(),
            Err(e) => {
                failures.push(format!("round {round}: create failed: {e}"));
                continue;
            }
        };
        let start = Arc::new(Barrier::new(THREADS));
        let tasks = (0..THREADS)
            .map(|_| {
                let (engine, user, code, start) =
                    (engine.clone(), user.clone(), code.clone(), start.clone());
                tokio::spawn(async move {
                    let _leader = start.wait().await;
                    let answer = engine.redeem(&user, &code, browser).await;
                    matches!(answer.map(|r| r.outcome), Ok(Ok(_)))
                })
            })
            .collect();
        let wins = joined(tasks).await.into_iter().filter(|won| *won).count();
        if let Err(e) = rounds::one_winner(round, wins) {
            failures.push(e);
        }
        if let Err(e) = engine.delete(&admin, &user).await {
            failures.push(format!("round {round}: delete failed: {e}"));
        }
    }
    rounds::report("one-time redemption race (tasks)", rounds, &failures);
}

/// As [`super::race_lockout`]: [`THREADS`] tasks type 4 wrong codes each for one pass, and
/// exactly the limit is counted before the lock engages.
///
/// # Panics
///
/// When the store breaks a guarantee, or outside a multi-threaded runtime.
pub async fn race_lockout<S: AsyncStore + 'static>(store: Arc<S>, rounds: u32) {
    const PER_TASK: usize = 4;
    multi_threaded("lockout race");
    let engine = engine_for(store.clone(), false, EngineConfig::new(key())).await;
    let admin = admin();
    let browser = SignInRequest::new(Client::Browser);
    for round in 0..rounds {
        let user = unique_user("lockout-task");
        let created = engine
            .create(&admin, &user, &CreateRequest::new(), &mut getrandom::SysRng)
            .await;
        if let Err(e) = created {
            panic!("lockout race round {round}: create failed: {e}");
        }
        let tasks = (0..THREADS)
            .map(|_| {
                let (engine, user) = (engine.clone(), user.clone());
                tokio::spawn(async move {
                    let mut answers = Vec::with_capacity(PER_TASK);
                    for _ in 0..PER_TASK {
                        let answer = engine.redeem(&user, "wrong code!", browser).await;
                        answers.push(rounds::wrong_code_answer(answer.map_err(store_error)));
                    }
                    answers
                })
            })
            .collect();
        let answers: Vec<Option<bool>> = joined(tasks).await.into_iter().flatten().collect();
        let count = |judged| {
            let n = answers.iter().filter(|a| **a == Some(judged)).count();
            u32::try_from(n).unwrap_or(u32::MAX)
        };
        let record = ok("load", store.load(user.id()).await)
            .record
            .expect("the pass survives wrong codes")
            .value;
        rounds::lockout(round, count(true), count(false), &record);
        let _ = engine.delete(&admin, &user).await;
    }
}

/// As [`super::race_creation`]: [`THREADS`] tasks create a pass for one user at once, and
/// exactly one succeeds, its pass the one stored.
///
/// # Panics
///
/// When the store breaks a guarantee, or outside a multi-threaded runtime.
pub async fn race_creation<S: AsyncStore + 'static>(store: Arc<S>, rounds: u32) {
    multi_threaded("creation race");
    let engine = engine_for(store.clone(), false, EngineConfig::new(key())).await;
    let admin = admin();
    for round in 0..rounds {
        let user = unique_user("create-task");
        let tasks = (0..THREADS)
            .map(|_| {
                let (engine, admin, user) = (engine.clone(), admin.clone(), user.clone());
                tokio::spawn(async move {
                    let request = CreateRequest::new();
                    let mut rng = getrandom::SysRng;
                    let created = engine.create(&admin, &user, &request, &mut rng).await;
                    rounds::creation_answer(created)
                })
            })
            .collect();
        let winners: Vec<_> = joined(tasks).await.into_iter().flatten().collect();
        let stored = ok("load", store.load(user.id()).await).record;
        rounds::one_creation(round, &winners, stored.as_ref().map(|v| &v.value));
        let _ = engine.delete(&admin, &user).await;
    }
}

/// The task bursts: [`BURST`] tasks per round, all reading one version before any writes.
async fn bursts<S: AsyncStore + 'static>(
    store: Arc<S>,
    rounds: u32,
    right: fn(u32, usize) -> bool,
    check: fn(u32, &[Step], &Answers) -> Result<(), String>,
) {
    multi_threaded("burst race");
    let recording = Recording::new(store.clone(), 0);
    // As in the thread bursts: with BURST + 1 attempts nobody gives up.
    let attempts = u32::try_from(BURST.saturating_add(1)).unwrap_or(u32::MAX);
    let config = EngineConfig::new(key()).max_attempts(attempts);
    let engine = engine_for(recording.clone(), false, config).await;
    let admin = admin();
    let browser = SignInRequest::new(Client::Browser);
    let mut failures = Vec::new();
    for round in 0..rounds {
        let user = unique_user("burst-task");
        let created = engine
            .create(&admin, &user, &CreateRequest::new(), &mut getrandom::SysRng)
            .await
            .unwrap_or_else(|e| panic!("burst round {round}: create failed: {e}"));
        let initial = ok("load", store.load(user.id()).await)
            .record
            .expect("the new pass");
        let code = created.passcode.expose_secret().to_string();
        recording.log.arm(true, 0);
        let tasks = (0..BURST)
            .map(|i| {
                let typed = if right(round, i) {
                    code.clone()
                } else {
                    "wrong-code!".to_string()
                };
                let (engine, user) = (engine.clone(), user.clone());
                tokio::spawn(async move {
                    engine
                        .redeem(&user, &typed, browser)
                        .await
                        .map_err(store_error)
                })
            })
            .collect();
        let mut answers = Answers::default();
        for answer in joined(tasks).await {
            answers.count(answer);
        }
        if let Err(e) = rounds::burst(round, &initial, recording.log.take(), &answers, check) {
            failures.push(e);
        }
    }
    rounds::report("burst race (tasks)", rounds, &failures);
}

/// As [`super::race_burst`], with [`BURST`] tasks per round.
///
/// # Panics
///
/// When the store breaks a guarantee, or outside a multi-threaded runtime.
pub async fn race_burst<S: AsyncStore + 'static>(store: Arc<S>, rounds: u32) {
    bursts(store, rounds, rounds::right_attempt, rounds::one_right_code).await;
}

/// As [`super::race_burst_wrong_codes`], with [`BURST`] tasks per round.
///
/// # Panics
///
/// When the store breaks a guarantee, or outside a multi-threaded runtime.
pub async fn race_burst_wrong_codes<S: AsyncStore + 'static>(store: Arc<S>, rounds: u32) {
    bursts(store, rounds, |_, _| false, rounds::only_the_limit_judged).await;
}

/// As [`super::race_delete`]: [`THREADS`] tasks sign in again and again while an administrator
/// deletes the pass; no sign-in is granted after the delete landed, and the deletion lands on
/// its one attempt.
///
/// # Panics
///
/// When the store breaks a guarantee, or outside a multi-threaded runtime.
pub async fn race_delete<S: AsyncStore + 'static>(store: Arc<S>, rounds: u32) {
    const PER_TASK: usize = 6;
    multi_threaded("delete race");
    let recording = Recording::new(store.clone(), 0);
    let engine = engine_for(
        recording.clone(),
        false,
        EngineConfig::new(key())
            .max_attempts(rounds::attempts_for(THREADS.saturating_mul(PER_TASK))),
    )
    .await;
    let revoker = AsyncEngine::new(
        ManualClock::new(NOW),
        recording.clone(),
        EngineConfig::new(key()).max_attempts(1),
    );
    let admin = admin();
    let browser = SignInRequest::new(Client::Browser);
    let mut failures = Vec::new();
    for round in 0..rounds {
        let user = unique_user("delete-task");
        let created = engine
            .create(&admin, &user, &CreateRequest::new(), &mut getrandom::SysRng)
            .await
            .unwrap_or_else(|e| panic!("delete race round {round}: create failed: {e}"));
        let code = created.passcode.expose_secret().to_string();
        let initial = ok("load", store.load(user.id()).await)
            .record
            .expect("the new pass");
        recording.log.arm(false, 0);
        let deleted = Arc::new(AtomicBool::new(false));
        let start = Arc::new(Barrier::new(THREADS.saturating_add(1)));
        let tasks: Vec<_> = (0..THREADS)
            .map(|_| {
                let (engine, user, code) = (engine.clone(), user.clone(), code.clone());
                let (deleted, start) = (deleted.clone(), start.clone());
                tokio::spawn(async move {
                    let _leader = start.wait().await;
                    let (mut answers, mut late) = (Answers::default(), 0_usize);
                    for _ in 0..PER_TASK {
                        let after_delete = deleted.load(Ordering::SeqCst);
                        let answer = engine.redeem(&user, &code, browser).await;
                        let answer = answer.map_err(store_error);
                        if rounds::found_after_delete(after_delete, &answer) {
                            late = late.saturating_add(1);
                        }
                        answers.count(answer);
                    }
                    (answers, late)
                })
            })
            .collect();
        let _leader = start.wait().await;
        tokio::task::yield_now().await;
        match revoker.delete(&admin, &user).await {
            Ok(Some(_)) => deleted.store(true, Ordering::SeqCst),
            other => panic!("delete race round {round}: delete gave {other:?}"),
        }
        let (mut answers, mut late) = (Answers::default(), 0_usize);
        for (counted, found) in joined(tasks).await {
            answers.merge(counted);
            late = late.saturating_add(found);
        }
        if let Err(e) = rounds::delete(round, &initial, recording.log.take(), &answers, late) {
            failures.push(e);
        }
        assert!(
            ok("load", store.load(user.id()).await).record.is_none(),
            "round {round}: the pass is gone"
        );
    }
    rounds::report("delete race (tasks)", rounds, &failures);
}

/// As [`super::race_policy_change`]: [`THREADS`] tasks decide to grant under an enabled policy
/// and write only after it was disabled; none is granted.
///
/// # Panics
///
/// When the store breaks a guarantee, or outside a multi-threaded runtime.
pub async fn race_policy_change<S: AsyncStore + 'static>(store: Arc<S>, rounds: u32) {
    multi_threaded("policy race");
    let recording = Recording::new(store, THREADS);
    let engine = engine_for(recording.clone(), false, EngineConfig::new(key())).await;
    let admin = admin();
    let browser = SignInRequest::new(Client::Browser);
    let enabled = engine
        .policy()
        .await
        .unwrap_or_else(|e| panic!("policy race: reading the policy: {e}"))
        .settings();
    let disabled = enabled.clone().state(PolicyState::Disabled);
    let mut failures = Vec::new();
    for round in 0..rounds {
        let user = unique_user("policy-task");
        let created = engine
            .create(&admin, &user, &CreateRequest::new(), &mut getrandom::SysRng)
            .await
            .unwrap_or_else(|e| panic!("policy race round {round}: create failed: {e}"));
        let code = created.passcode.expose_secret().to_string();
        recording.log.arm(false, THREADS);
        let tasks = (0..THREADS)
            .map(|_| {
                let (engine, user, code) = (engine.clone(), user.clone(), code.clone());
                tokio::spawn(async move {
                    let answer = engine.redeem(&user, &code, browser).await;
                    answer.map(|r| r.outcome).map_err(store_error)
                })
            })
            .collect();
        // Every task has decided to grant and waits to write.
        let _leader = recording.parked.wait().await;
        if let Err(e) = engine.update_policy(&admin, &disabled).await {
            panic!("policy race round {round}: disabling the policy: {e}");
        }
        let _leader = recording.released.wait().await;
        let answers = joined(tasks).await;
        failures.extend(rounds::policy_change(
            round,
            THREADS,
            &answers,
            &recording.log.take(),
        ));
        if let Err(e) = engine.update_policy(&admin, &enabled).await {
            panic!("policy race round {round}: enabling the policy again: {e}");
        }
        let _ = engine.delete(&admin, &user).await;
    }
    rounds::report("policy race (tasks)", rounds, &failures);
}

/// Every check at the sizes of [`super::run_all`], as tasks.
///
/// # Panics
///
/// When the store breaks a guarantee, or outside a multi-threaded runtime.
pub async fn run_all<S: AsyncStore + 'static>(store: Arc<S>) {
    check_store(store.clone()).await;
    race_one_time_redemption(store.clone(), 10_000).await;
    race_lockout(store.clone(), 200).await;
    race_creation(store.clone(), 200).await;
    race_burst(store.clone(), 200).await;
    race_burst_wrong_codes(store.clone(), 200).await;
    race_delete(store.clone(), 200).await;
    race_policy_change(store, 200).await;
}

impl<S: AsyncStore> AsyncStore for super::Slow<S> {
    type Error = S::Error;

    async fn load(&self, user: &UserId) -> Result<Loaded, S::Error> {
        tokio::time::sleep(self.latency()).await;
        self.inner().load(user).await
    }

    async fn load_policy(&self) -> Result<Option<Versioned<Policy>>, S::Error> {
        tokio::time::sleep(self.latency()).await;
        self.inner().load_policy().await
    }

    fn commit(&self, commit: &Commit) -> impl Future<Output = Result<Write, S::Error>> + Send {
        self.inner().commit(commit)
    }

    /// Every read handed to the engine's decision waits out the latency first: the decision
    /// is not async, so it waits on its thread, which tokio hands over to blocking work for the
    /// while.
    fn transact(
        &self,
        user: &UserId,
        decide: &mut DecideSend<'_>,
    ) -> impl Future<Output = Result<Option<Write>, S::Error>> + Send {
        let latency = self.latency();
        async move {
            let mut slow = |read: Loaded| {
                if !latency.is_zero() {
                    tokio::task::block_in_place(|| std::thread::sleep(latency));
                }
                decide(read)
            };
            self.inner().transact(user, &mut slow).await
        }
    }

    fn read_events(
        &self,
        after: Sequence,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Recorded>, S::Error>> + Send {
        self.inner().read_events(after, limit)
    }

    fn prune_events(&self, before: Sequence) -> impl Future<Output = Result<u64, S::Error>> + Send {
        self.inner().prune_events(before)
    }
}

/// As [`super::race_under_attack`], through [`AsyncEngine`]: the six operations run as tasks
/// side by side, each trial's attackers as `attack.attackers` tasks streaming attempts at its
/// user, over `store` with every read slowed by `attack.latency`.
///
/// # Panics
///
/// When a legitimate operation gives up for contention, is answered wrongly, or the store
/// fails; or outside a multi-threaded runtime.
pub async fn race_under_attack<S: AsyncStore + 'static>(
    store: Arc<S>,
    attack: &super::Attack,
) -> super::AttackReport {
    use super::attack::{self as a, Operation, Tally};
    use core::sync::atomic::AtomicU64;

    multi_threaded("attack");
    let slow = Arc::new(super::Slow::new(store, attack.latency));
    let config = EngineConfig::new(key());
    let _ = AsyncEngine::new(a::attack_clock(), slow.clone(), config.clone())
        .update_policy(&admin(), &a::attack_policy())
        .await
        .unwrap_or_else(|e| panic!("setting the attack's policy: {e}"));
    let attempts = Arc::new(AtomicU64::new(0));
    let gave_up = Arc::new(AtomicU64::new(0));
    let attack = *attack;
    let running = Operation::ALL
        .into_iter()
        .map(|operation| {
            let (slow, config) = (slow.clone(), config.clone());
            let (attempts, gave_up) = (attempts.clone(), gave_up.clone());
            tokio::spawn(async move {
                let clock = Arc::new(a::attack_clock());
                let legitimate = config.clone().max_attempts(attack.engine_attempts);
                let engine = AsyncEngine::new(clock.clone(), slow.clone(), legitimate.clone());
                let replacing = AsyncEngine::new(
                    clock.clone(),
                    slow.clone(),
                    legitimate.create_options(
                        crate::create::CreateOptions::new().replace_valid_pass(true),
                    ),
                );
                let attackers = Arc::new(AsyncEngine::new(clock.clone(), slow, config));
                let mut tally = Tally::new(operation);
                for trial in 0..attack.trials {
                    let target = Arc::new(set_up(&attackers, operation).await);
                    let stop = Arc::new(AtomicBool::new(false));
                    let started = Arc::new(AtomicU64::new(0));
                    let streams: Vec<_> = (0..attack.attackers)
                        .map(|i| {
                            let (engine, target) = (attackers.clone(), target.clone());
                            let (stop, started) = (stop.clone(), started.clone());
                            let (attempts, gave_up) = (attempts.clone(), gave_up.clone());
                            tokio::spawn(async move {
                                let typed = if i % 2 == 0 {
                                    "wrong-code"
                                } else {
                                    &target.code
                                };
                                let browser = SignInRequest::new(Client::Browser);
                                for n in 0..attack.max_attempts {
                                    if stop.load(Ordering::SeqCst) {
                                        break;
                                    }
                                    let answer = engine.redeem(&target.user, typed, browser).await;
                                    if n == 0 {
                                        started.fetch_add(1, Ordering::SeqCst);
                                    }
                                    attempts.fetch_add(1, Ordering::Relaxed);
                                    match a::attacker_gave_up(&answer) {
                                        Ok(true) => {
                                            gave_up.fetch_add(1, Ordering::Relaxed);
                                        }
                                        Ok(false) => {}
                                        Err(e) => panic!("{e}"),
                                    }
                                    // Let the legitimate operation's task in on a busy runtime.
                                    tokio::task::yield_now().await;
                                }
                            })
                        })
                        .collect();
                    let waiting = a::wall();
                    while started.load(Ordering::SeqCst) < attack.attackers as u64
                        && waiting.elapsed() < std::time::Duration::from_secs(30)
                    {
                        tokio::time::sleep(std::time::Duration::from_micros(200)).await;
                    }
                    let begun = a::wall();
                    let verdict = run(&engine, &replacing, operation, &target).await;
                    let took = begun.elapsed();
                    stop.store(true, Ordering::SeqCst);
                    joined(streams).await;
                    tally.count(trial, verdict, took);
                    let _ = attackers.delete(&admin(), &target.user).await;
                }
                tally
            })
        })
        .collect();
    let tallies = joined(running).await;
    super::AttackReport {
        operations: tallies.into_iter().map(Tally::finish).collect(),
        attacker_attempts: attempts.load(Ordering::SeqCst),
        attacker_contention: gave_up.load(Ordering::SeqCst),
    }
}

/// As the thread attack's set-up, through the async engine.
async fn set_up<C: crate::clock::Clock, S: AsyncStore>(
    engine: &AsyncEngine<C, S>,
    operation: super::Operation,
) -> super::attack::Target {
    let user = unique_user("attack-task");
    let request = CreateRequest::new().lifetime_minutes(super::attack::LIFETIME);
    let created = engine
        .create(&admin(), &user, &request, &mut getrandom::SysRng)
        .await
        .unwrap_or_else(|e| panic!("setting up an attack: {e}"));
    let code = created.passcode.expose_secret().to_string();
    let grant = if operation == super::Operation::Register {
        let answer = engine
            .redeem(&user, &code, SignInRequest::new(Client::Browser))
            .await;
        Some(
            ok("the holder's sign-in", answer.map_err(|e| format!("{e}")))
                .outcome
                .unwrap_or_else(|e| panic!("the holder's sign-in before the attack: {e}")),
        )
    } else {
        None
    };
    super::attack::Target { user, code, grant }
}

/// As the thread attack's legitimate operation, through the async engine.
async fn run<S: AsyncStore>(
    engine: &AsyncEngine<Arc<ManualClock>, S>,
    replacing: &AsyncEngine<Arc<ManualClock>, S>,
    operation: super::Operation,
    target: &super::attack::Target,
) -> Result<super::attack::Verdict, String> {
    use super::Operation;
    use super::attack as a;
    let admin = admin();
    let user = &target.user;
    let mut rng = getrandom::SysRng;
    match operation {
        Operation::CreateOverExpired => {
            a::move_past_the_end(engine.clock());
            let request = CreateRequest::new();
            a::created(
                operation,
                engine.create(&admin, user, &request, &mut rng).await,
            )
        }
        Operation::Replace => {
            let request = CreateRequest::new();
            a::created(
                operation,
                replacing.create(&admin, user, &request, &mut rng).await,
            )
        }
        Operation::Delete => a::deleted(engine.delete(&admin, user).await),
        Operation::PolicyChange => a::changed(engine.change_policy(&admin, &a::flip_length).await),
        Operation::Register => {
            let grant = target.grant.as_ref().ok_or("no grant to register with")?;
            let method = crate::signin::PasswordlessMethod::Fido2SecurityKey;
            a::registered(engine.register(user, grant, method).await)
        }
        Operation::SignIn => {
            let browser = SignInRequest::new(Client::Browser);
            a::signed_in(engine.redeem(user, &target.code, browser).await)
        }
    }
}
