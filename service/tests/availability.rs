//! The async driver over the SQLite store, as the service runs it (through `Blocking`), under
//! the conformance suite's attack (SPEC 6.7) and its refusal check (SPEC 6.5); and the
//! housekeeping that keeps the store's ceremonies from piling up (SPEC 8.4).
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "tests: a failed set-up is a failed test, and the attack's report is printed"
)]

use std::sync::Arc;
use std::time::Duration;

use temporary_access_pass::ceremony::CeremonyId;
use temporary_access_pass::store::AsyncStore as _;
use temporary_access_pass::testing::conformance::{Attack, tasks};
use temporary_access_pass::{Clock as _, ManualClock, UserId};
use temporary_access_pass_graph_service::Limits;
use temporary_access_pass_graph_service::blocking::Blocking;
use temporary_access_pass_graph_service::housekeeping::forget_finished_ceremonies;
use temporary_access_pass_graph_service::identity::TestHeaders;
use temporary_access_pass_sqlite::SqliteStore;
use temporary_access_pass_testkit::service::start_with;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_stream_of_attempts_makes_a_legitimate_operation_give_up_on_sqlite_async() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Blocking::new(
        SqliteStore::open(dir.path().join("passes.db")).unwrap(),
    ));
    let report = tasks::race_under_attack(store, &Attack::new().trials(30)).await;
    println!("{report}");
    assert_eq!(report.contention(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refusals_that_judge_no_code_write_nothing_on_sqlite_async() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Blocking::new(
        SqliteStore::open(dir.path().join("passes.db")).unwrap(),
    ));
    tasks::check_refusals_write_nothing(store, 100).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ceremonies_that_are_over_are_deleted_on_a_timer_and_open_ones_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = Blocking::new(SqliteStore::open(dir.path().join("passes.db")).unwrap());
    let clock = Arc::new(ManualClock::new(
        temporary_access_pass::time::UtcDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
    ));
    let running = start_with(store, TestHeaders, Limits::default(), clock.clone(), |_| {
        None
    })
    .await;
    let engine = &running.app.engine;
    let user = UserId::new("chris@contoso.com").unwrap();
    let (over, open) = (
        CeremonyId::new(&"o".repeat(43)).unwrap(),
        CeremonyId::new(&"k".repeat(43)).unwrap(),
    );
    let minute = temporary_access_pass::time::Duration::MINUTE;
    engine
        .begin_sign_in(&user, &over, b"a challenge", minute)
        .await
        .unwrap();
    engine
        .begin_sign_in(&user, &open, b"a challenge", minute * 10)
        .await
        .unwrap();
    clock.set(clock.now() + minute * 2);
    let store = engine.store();
    assert!(
        store.load_ceremony(&user, &over).await.unwrap().is_some(),
        "a ceremony that is over stays stored until it is deleted"
    );
    let housekeeping = tokio::spawn(forget_finished_ceremonies(
        running.app.clone(),
        Duration::from_millis(20),
    ));
    // Bounded: 250 looks, 20 ms apart.
    let mut deleted = false;
    for _ in 0..250 {
        if store.load_ceremony(&user, &over).await.unwrap().is_none() {
            deleted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    housekeeping.abort();
    assert!(
        deleted,
        "the ceremony that was over is still stored after 5 s"
    );
    assert!(
        store.load_ceremony(&user, &open).await.unwrap().is_some(),
        "an open ceremony was deleted"
    );
    running.stop().await;
}
