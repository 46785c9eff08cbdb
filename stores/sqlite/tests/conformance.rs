//! The SQLite store against the crate's conformance suite, races included, each on a database
//! of its own in a `tempfile` directory that is removed when the test ends.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "tests: a failed set-up is a failed test, and the attack's report is printed"
)]

use std::path::Path;

use tempfile::TempDir;
use temporary_access_pass::testing::conformance;
use temporary_access_pass::{
    CreateRequest, DirectoryRole, Engine, EngineConfig, EngineError, IncludeTarget, ManualClock,
    Pepper, Policy, PolicySettings, PolicyState, Principal, SignInRequest, SysRng, UserId,
    signin::Client, time::macros::utc_datetime,
};
use temporary_access_pass_sqlite::{SCHEMA_VERSION, SqliteError, SqliteStore};

/// A new store on a new file in a directory of its own.
fn fresh() -> (TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("passes.db")).unwrap();
    (dir, store)
}

#[test]
fn sequential_guarantees() {
    let (_dir, store) = fresh();
    conformance::check_store(&store);
}

#[test]
fn one_time_redemption_race() {
    let (_dir, store) = fresh();
    conformance::race_one_time_redemption(&store, 2_000);
}

#[test]
fn lockout_race() {
    let (_dir, store) = fresh();
    conformance::race_lockout(&store, 50);
}

#[test]
fn creation_race() {
    let (_dir, store) = fresh();
    conformance::race_creation(&store, 50);
}

#[test]
fn burst_race() {
    let (_dir, store) = fresh();
    conformance::race_burst(&store, 100);
}

#[test]
fn burst_of_wrong_codes_race() {
    let (_dir, store) = fresh();
    conformance::race_burst_wrong_codes(&store, 100);
}

#[test]
fn delete_race() {
    let (_dir, store) = fresh();
    conformance::race_delete(&store, 100);
}

#[test]
fn policy_change_race() {
    let (_dir, store) = fresh();
    conformance::race_policy_change(&store, 100);
}

#[test]
fn every_connection_runs_wal_with_synchronous_full() {
    let (_dir, store) = fresh();
    // synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA.
    assert_eq!(store.pragma("synchronous").unwrap(), "2");
    assert_eq!(store.pragma("journal_mode").unwrap(), "wal");
    assert_eq!(
        store.pragma("user_version").unwrap(),
        SCHEMA_VERSION.to_string()
    );
}

#[test]
fn the_directory_is_gone_once_the_test_ends() {
    let (dir, store) = fresh();
    conformance::check_store(&store);
    let path = dir.path().to_path_buf();
    assert!(path.join("passes.db").exists());
    drop(store);
    dir.close().unwrap();
    assert!(!path.exists(), "{} left behind", path.display());
}

fn engine_on<'c>(path: &Path, clock: &'c ManualClock) -> Engine<&'c ManualClock, SqliteStore> {
    let pepper = Pepper::new(b"the host's pepper, from its key vault").unwrap();
    Engine::new(
        clock,
        SqliteStore::open(path).unwrap(),
        EngineConfig::new(pepper),
    )
}

#[test]
fn a_pass_and_its_consumption_survive_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("passes.db");
    let clock = ManualClock::new(utc_datetime!(2021-03-11 08:00:00));
    let admin = Principal::member(UserId::new("ga@contoso.com").unwrap())
        .role(DirectoryRole::GlobalAdministrator);
    let chris = Principal::member(UserId::new("chris@contoso.com").unwrap());
    let browser = SignInRequest::new(Client::Browser);

    let code = {
        let engine = engine_on(&path, &clock);
        let policy = PolicySettings::new()
            .state(PolicyState::Enabled)
            .is_usable_once(true)
            .include_target(IncludeTarget::AllUsers);
        let _ = engine.update_policy(&admin, &policy).unwrap();
        let created = engine
            .create(&admin, &chris, &CreateRequest::new(), &mut SysRng)
            .unwrap();
        created.passcode.expose_secret().to_owned()
    };

    let engine = engine_on(&path, &clock);
    assert!(engine.policy().unwrap().is_enabled());
    assert!(
        engine
            .redeem(&chris, &code, browser)
            .unwrap()
            .outcome
            .is_ok()
    );
    drop(engine);

    // The consumption is on disk too: a third opening refuses the second use.
    let engine = engine_on(&path, &clock);
    assert!(
        engine
            .redeem(&chris, &code, browser)
            .unwrap()
            .outcome
            .is_err()
    );
}

#[test]
fn a_file_of_another_schema_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("passes.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("PRAGMA user_version = 7;")
        .unwrap();
    let error = SqliteStore::open(&path).unwrap_err();
    assert!(
        matches!(
            error,
            SqliteError::Schema {
                found: 7,
                supported: SCHEMA_VERSION
            }
        ),
        "{error}"
    );
}

#[test]
fn a_stored_document_that_breaks_the_rules_is_an_error_and_the_engine_denies() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("passes.db");
    let clock = ManualClock::new(utc_datetime!(2021-03-11 08:00:00));
    let engine = engine_on(&path, &clock);
    // A valid policy document, then its minimum lifetime raised above its maximum (SPEC 1.3),
    // written behind the store's back.
    let mut document = serde_json::to_value(Policy::default()).unwrap();
    assert!(serde_json::from_value::<Policy>(document.clone()).is_ok());
    document["minimumLifetimeInMinutes"] = 600.into();
    document["maximumLifetimeInMinutes"] = 60.into();
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "INSERT INTO tap_policy (id, version, document) VALUES (1, 1, ?1)",
            [document.to_string()],
        )
        .unwrap();
    let chris = Principal::member(UserId::new("chris@contoso.com").unwrap());
    let error = engine
        .redeem(&chris, "anything", SignInRequest::new(Client::Browser))
        .unwrap_err();
    assert!(
        matches!(&error, EngineError::Store(SqliteError::Document(_))),
        "{error}"
    );
    assert!(error.is_broken());
}

/// The harness kit's model check over the SQLite store: a database of its own per sequence.
/// The full check: `TAP_MODEL_CASES=10000 cargo test --release -p temporary-access-pass-sqlite`.
#[test]
fn the_engine_over_sqlite_agrees_with_the_model() {
    use std::sync::atomic::{AtomicU32, Ordering};
    use temporary_access_pass::testing::model::{CheckConfig, EngineHost, check};

    let dir = tempfile::tempdir().unwrap();
    let databases = AtomicU32::new(0);
    let config = CheckConfig::new().cases(64);
    let result = check(&config, || {
        let n = databases.fetch_add(1, Ordering::Relaxed);
        let store = SqliteStore::open(dir.path().join(format!("model-{n}.db"))).unwrap();
        let pepper = Pepper::new(b"the host's pepper, from its key vault").unwrap();
        EngineHost::new(store, config.start, config.engine(pepper))
    });
    if let Err(mismatch) = result {
        panic!("{mismatch}");
    }
}

/// SPEC 6.7: 30 trials of each legitimate operation while 16 attackers stream wrong codes and
/// the stolen right one, every read 1 ms slower: none gives up for contention.
#[test]
fn no_stream_of_attempts_makes_a_legitimate_operation_give_up() {
    let (_dir, store) = fresh();
    let report = conformance::race_under_attack(&store, &conformance::Attack::new().trials(30));
    println!("{report}");
    assert_eq!(report.contention(), 0);
}

/// SPEC 6.5: 100 refused attempts in every state that refuses without judging the code ask
/// for no write, move no record and append no event.
#[test]
fn refusals_that_judge_no_code_write_nothing() {
    let (_dir, store) = fresh();
    conformance::check_refusals_write_nothing(&store, 100);
}

/// SPEC 6.5 on disk: 100 attempts on a locked pass, right code and wrong, leave the write-ahead
/// log as it was, byte for byte in size (each commit would append its pages and fsync).
#[test]
fn attempts_on_a_locked_pass_do_not_grow_the_write_ahead_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("passes.db");
    let clock = ManualClock::new(utc_datetime!(2021-03-11 08:00:00));
    let engine = engine_on(&path, &clock);
    let admin = Principal::member(UserId::new("ga@contoso.com").unwrap())
        .role(DirectoryRole::GlobalAdministrator);
    let chris = Principal::member(UserId::new("chris@contoso.com").unwrap());
    let all_users = PolicySettings::new()
        .state(PolicyState::Enabled)
        .include_target(IncludeTarget::AllUsers);
    let _ = engine.update_policy(&admin, &all_users).unwrap();
    let code = engine
        .create(&admin, &chris, &CreateRequest::new(), &mut SysRng)
        .unwrap()
        .passcode
        .expose_secret()
        .to_owned();
    let browser = SignInRequest::new(Client::Browser);
    for _ in 0..10 {
        assert!(
            engine
                .redeem(&chris, "wrong", browser)
                .unwrap()
                .outcome
                .is_err()
        );
    }
    let wal = dir.path().join("passes.db-wal");
    let before = std::fs::metadata(&wal).unwrap().len();
    assert!(before > 0, "the setting-up writes went through the log");
    for attempt in 0..100 {
        let typed = if attempt % 2 == 0 {
            code.as_str()
        } else {
            "wrong"
        };
        let refused = engine.redeem(&chris, typed, browser).unwrap();
        assert!(refused.outcome.is_err() && refused.write.is_none());
    }
    assert_eq!(
        std::fs::metadata(&wal).unwrap().len(),
        before,
        "refused attempts wrote to the log"
    );
    // The check can fail: one more wrong code after the lock lifts is counted, and written.
    let _ = clock.advance(temporary_access_pass::time::Duration::minutes(2));
    assert!(
        engine
            .redeem(&chris, "wrong", browser)
            .unwrap()
            .write
            .is_some()
    );
    assert!(std::fs::metadata(&wal).unwrap().len() > before);
}

/// A file of schema 1 (before the outbox) is brought up to date when opened, its data kept.
#[test]
fn a_file_of_the_previous_schema_gains_the_outbox_and_keeps_its_data() {
    use temporary_access_pass::store::{Sequence, Store};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("passes.db");
    let document = serde_json::to_string(&Policy::default()).unwrap();
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(&format!(
            "CREATE TABLE tap_passes (user_id TEXT PRIMARY KEY, pass_id TEXT NOT NULL,
                 version INTEGER NOT NULL CHECK (version > 0), record TEXT NOT NULL);
             CREATE TABLE tap_policy (id INTEGER PRIMARY KEY CHECK (id = 1),
                 version INTEGER NOT NULL CHECK (version > 0), document TEXT NOT NULL);
             INSERT INTO tap_policy VALUES (1, 3, '{document}');
             PRAGMA user_version = 1;"
        ))
        .unwrap();
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        store.pragma("user_version").unwrap(),
        SCHEMA_VERSION.to_string()
    );
    let policy = store.load_policy().unwrap().unwrap();
    assert_eq!(policy.version.get(), 3, "the data is kept");
    assert!(store.read_events(Sequence::START, 10).unwrap().is_empty());
    conformance::check_store(&store);
}

/// A file another process holds locked: a write waits the busy timeout, then fails with
/// `SqliteError::Busy` (the engine denies), and a read still answers (WAL).
#[test]
fn a_locked_file_fails_with_busy_after_the_busy_timeout() {
    use std::time::{Duration, Instant};
    use temporary_access_pass::store::{Commit, Store};
    use temporary_access_pass_sqlite::SqliteOptions;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("passes.db");
    let timeout = Duration::from_millis(300);
    let store = SqliteStore::open_with(&path, SqliteOptions::new().busy_timeout(timeout)).unwrap();
    let holder = rusqlite::Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    #[allow(clippy::disallowed_methods, reason = "the test times the wait")]
    let started = Instant::now();
    let result = store.commit(&Commit::policy(None, Policy::default()));
    let waited = started.elapsed();
    assert!(
        matches!(result, Err(SqliteError::Busy(t)) if t == timeout),
        "{result:?}"
    );
    assert!(
        waited >= timeout && waited < timeout + Duration::from_secs(2),
        "waited {waited:?}"
    );
    holder.execute_batch("ROLLBACK").unwrap();
    assert!(
        store
            .commit(&Commit::policy(None, Policy::default()))
            .is_ok()
    );
}

#[test]
fn methods_and_ceremonies_change_only_as_expected() {
    let (_dir, store) = fresh();
    conformance::check_methods_and_ceremonies(&store);
}

#[test]
fn the_life_of_a_passkey_through_the_engine() {
    let (_dir, store) = fresh();
    conformance::check_onboarding(&store);
}

#[test]
fn thirty_two_registrations_over_the_cap_store_exactly_the_cap() {
    let (_dir, store) = fresh();
    conformance::race_method_cap(&store, 10);
}

#[test]
fn a_deletion_racing_a_registration_leaves_the_key_and_its_event_or_neither() {
    let (_dir, store) = fresh();
    conformance::race_pass_deletion_and_registration(&store, 100);
}

#[test]
fn two_stores_on_one_file_take_a_session_state_once() {
    let (dir, one) = fresh();
    let other = SqliteStore::open(one.path()).unwrap();
    conformance::race_taking_a_state(&one, &other, 100);
    drop(dir);
}
