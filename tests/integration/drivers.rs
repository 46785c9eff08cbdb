//! SPEC 0.2: one plan, two drivers. `Engine` and `AsyncEngine` answer every operation alike, and
//! the conformance suite runs through both, its races as threads and as tasks.

use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use temporary_access_pass::testing::conformance::tasks;
use temporary_access_pass::testing::proptest::prelude::*;
use temporary_access_pass::testing::tokio;
use temporary_access_pass::{
    AsyncEngine, Clock, CreateRequest, DirectoryRole, Engine, EngineConfig, InMemoryStore,
    ManualClock, Pepper,
};
use time::Duration;

use crate::sequences::{Op, op, policy_of};
use crate::support::{CREATED, TestRng, admin, browser, member};

/// Polls a future over the in-memory store, whose every call is ready at once.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1_000 {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
    panic!("a future over the in-memory store did not complete")
}

/// Runs `ops` through both drivers, each over a store and a clock of its own and an RNG with
/// the same seed, and returns the first operation whose answers differ.
fn first_difference(ops: &[Op]) -> Option<String> {
    let config = || EngineConfig::new(Pepper::new(&[0x5a; 32]).unwrap());
    let (sync_clock, async_clock) = (ManualClock::new(CREATED), ManualClock::new(CREATED));
    let sync = Engine::new(&sync_clock, InMemoryStore::new(), config());
    let r#async = AsyncEngine::new(&async_clock, InMemoryStore::new(), config());
    let (mut sync_rng, mut async_rng) = (TestRng(11), TestRng(11));
    let ga = admin("ga", DirectoryRole::GlobalAdministrator);
    let user = member("u");
    let mut codes: Vec<String> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let (a, b) = match op {
            Op::Create {
                start_in,
                minutes,
                once,
            } => {
                let mut request = CreateRequest::new()
                    .start(sync_clock.now() + Duration::minutes(*start_in))
                    .lifetime_minutes(*minutes);
                if let Some(once) = once {
                    request = request.is_usable_once(*once);
                }
                let a = sync.create(&ga, &user, &request, &mut sync_rng);
                let b = ready(r#async.create(&ga, &user, &request, &mut async_rng));
                if let Ok(created) = &a {
                    codes.push(created.passcode.expose_secret().to_owned());
                }
                (format!("{a:?}"), format!("{b:?}"))
            }
            Op::Delete => (
                format!("{:?}", sync.delete(&ga, &user)),
                format!("{:?}", ready(r#async.delete(&ga, &user))),
            ),
            Op::RedeemRight | Op::RedeemRetired | Op::RedeemWrong => {
                let typed = match op {
                    Op::RedeemRight => codes.last().cloned(),
                    Op::RedeemRetired => codes.iter().rev().nth(1).cloned(),
                    _ => None,
                }
                .unwrap_or_else(|| "definitely wrong".to_owned());
                let offer = (
                    format!("{:?}", sync.offer(&user, browser())),
                    format!("{:?}", ready(r#async.offer(&user, browser()))),
                );
                if offer.0 != offer.1 {
                    return Some(format!("step {i} (offer): {} vs {}", offer.0, offer.1));
                }
                (
                    format!("{:?}", sync.redeem(&user, &typed, browser())),
                    format!("{:?}", ready(r#async.redeem(&user, &typed, browser()))),
                )
            }
            Op::Policy {
                enabled,
                once,
                include,
            } => {
                let s = policy_of(*enabled, *once, *include);
                (
                    format!("{:?}", sync.update_policy(&ga, &s)),
                    format!("{:?}", ready(r#async.update_policy(&ga, &s))),
                )
            }
            Op::Clock { minutes } => {
                sync_clock.advance(Duration::minutes(*minutes)).unwrap();
                async_clock.advance(Duration::minutes(*minutes)).unwrap();
                (
                    format!("{:?}", sync.view(&ga, &user)),
                    format!("{:?}", ready(r#async.view(&ga, &user))),
                )
            }
        };
        if a != b {
            return Some(format!("step {i} ({op:?}): {a} vs {b}"));
        }
    }
    None
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn spec_0_2_both_drivers_answer_every_operation_sequence_alike(
        ops in prop::collection::vec(op(), 1..60)
    ) {
        prop_assert_eq!(first_difference(&ops), None);
    }
}

fn multi_threaded() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .unwrap()
}

/// The thread suite runs through `Engine` in `store.rs`, race by race; this is its task twin.
#[test]
fn spec_0_2_every_conformance_scenario_runs_through_the_async_driver_as_tasks() {
    multi_threaded().block_on(tasks::run_all(Arc::new(InMemoryStore::new())));
}

#[test]
fn spec_0_2_a_single_lock_store_passes_the_task_suite_too() {
    multi_threaded().block_on(tasks::run_all(Arc::new(InMemoryStore::with_shards(1))));
}

#[test]
#[should_panic(expected = "run the task races inside a multi-threaded tokio runtime")]
fn the_task_races_refuse_a_runtime_that_would_not_race() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(tasks::race_one_time_redemption(
        Arc::new(InMemoryStore::new()),
        1,
    ));
}
