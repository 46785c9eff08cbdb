//! The async driver over the SQLite store, as the service runs it (through `Blocking`), under
//! the conformance suite's attack (SPEC 6.7) and its refusal check (SPEC 6.5).
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "tests: a failed set-up is a failed test, and the attack's report is printed"
)]

use std::sync::Arc;

use temporary_access_pass::testing::conformance::{Attack, tasks};
use temporary_access_pass_graph_service::blocking::Blocking;
use temporary_access_pass_sqlite::SqliteStore;

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
