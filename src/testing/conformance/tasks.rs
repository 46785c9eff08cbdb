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

use super::recording::{Answers, Step, store_error};
use super::{BURST, NOW, THREADS, admin, key, ok, race_policy, rounds, unique_user};
use crate::clock::ManualClock;
use crate::config::EngineConfig;
use crate::create::CreateRequest;
use crate::engine::AsyncEngine;
use crate::policy::PolicyState;
use crate::signin::{Client, SignInRequest};
use crate::store::AsyncStore;

mod adapters;
mod attack;
mod onboarding;

use adapters::{Blocking, Recording};
pub use attack::race_under_attack;
pub use onboarding::{
    check_onboarding, race_method_cap, race_pass_deletion_and_registration, race_taking_a_state,
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
