//! The PostgreSQL store against the crate's conformance suite through `AsyncEngine`, every race
//! as tasks over a pool of 16 connections to the real server, and the store's own guarantees:
//! migrations, tenants, lost connections, bad documents.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "tests: a failed set-up is a failed test, and the attack's report is printed"
)]

use temporary_access_pass_testkit::postgres as support;

use std::sync::Arc;

use support::{Scratch, admin_execute};
use temporary_access_pass::signin::Client;
use temporary_access_pass::store::AsyncStore;
use temporary_access_pass::testing::conformance::tasks;
use temporary_access_pass::{
    AsyncEngine, CreateRequest, DirectoryRole, EngineConfig, EngineError, IncludeTarget, Pepper,
    Policy, PolicySettings, PolicyState, Principal, SignInRequest, SysRng, SystemClock, UserId,
};
use temporary_access_pass_postgres::{MIGRATIONS, PgError, PgStore, migrate};

/// Connections in the pool the races run over: at least 8, as several instances would have.
const CONNECTIONS: usize = 16;

async fn store(label: &str) -> (Scratch, Arc<PgStore>) {
    let scratch = Scratch::new(label).await;
    let store = scratch.store(CONNECTIONS, "contoso").await;
    (scratch, Arc::new(store))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sequential_guarantees() {
    let (_scratch, store) = store("sequential").await;
    tasks::check_store(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_time_redemption_race() {
    let (_scratch, store) = store("redeem").await;
    tasks::race_one_time_redemption(store, 500).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lockout_race() {
    let (_scratch, store) = store("lockout").await;
    tasks::race_lockout(store, 50).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn creation_race() {
    let (_scratch, store) = store("create").await;
    tasks::race_creation(store, 50).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn burst_race() {
    let (_scratch, store) = store("burst").await;
    tasks::race_burst(store, 50).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn burst_of_wrong_codes_race() {
    let (_scratch, store) = store("wrong").await;
    tasks::race_burst_wrong_codes(store, 50).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn delete_race() {
    let (_scratch, store) = store("delete").await;
    tasks::race_delete(store, 50).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn policy_change_race() {
    let (_scratch, store) = store("policy").await;
    tasks::race_policy_change(store, 50).await;
}

fn engine(store: PgStore) -> AsyncEngine<SystemClock, PgStore> {
    let pepper = Pepper::new(b"the host's pepper, from its key vault").unwrap();
    AsyncEngine::new(SystemClock::new(), store, EngineConfig::new(pepper))
}

fn admin() -> Principal {
    Principal::member(UserId::new("ga@contoso.com").unwrap())
        .role(DirectoryRole::GlobalAdministrator)
}

fn all_users() -> PolicySettings {
    PolicySettings::new()
        .state(PolicyState::Enabled)
        .include_target(IncludeTarget::AllUsers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrating_again_or_from_several_instances_at_once_is_harmless() {
    let scratch = Scratch::new("migrate").await;
    let pool = scratch.pool(4).await;
    let (a, b, c) = tokio::join!(migrate(&pool), migrate(&pool), migrate(&pool));
    a.unwrap();
    b.unwrap();
    c.unwrap();
    let client = pool.get().await.unwrap();
    let versions: i64 = client
        .query_one("SELECT count(*) FROM tap_schema", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(versions, i64::try_from(MIGRATIONS.len()).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_migrated_by_a_newer_release_is_refused() {
    let scratch = Scratch::new("newer").await;
    let pool = scratch.pool(1).await;
    admin_execute(&format!(
        "INSERT INTO {}.tap_schema (version) VALUES (99)",
        scratch.name
    ))
    .await;
    let error = migrate(&pool).await.unwrap_err();
    assert!(
        matches!(
            error,
            PgError::Schema { found: 99, supported }
                if usize::try_from(supported).ok() == Some(MIGRATIONS.len())
        ),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_share_the_tables_and_nothing_else() {
    let scratch = Scratch::new("tenants").await;
    let pool = scratch.pool(4).await;
    let contoso = engine(PgStore::new(pool.clone(), "contoso").unwrap());
    let fabrikam = engine(PgStore::new(pool, "fabrikam").unwrap());
    let chris = Principal::member(UserId::new("chris@contoso.com").unwrap());

    let _ = contoso.update_policy(&admin(), &all_users()).await.unwrap();
    assert!(contoso.policy().await.unwrap().is_enabled());
    assert!(
        !fabrikam.policy().await.unwrap().is_enabled(),
        "another tenant's policy is its own (the default: disabled)"
    );
    let created = contoso
        .create(&admin(), &chris, &CreateRequest::new(), &mut SysRng)
        .await
        .unwrap();
    assert!(contoso.view(&admin(), &chris).await.unwrap().is_some());
    assert!(
        fabrikam.view(&admin(), &chris).await.unwrap().is_none(),
        "the same user id in another tenant has no pass"
    );
    let code = created.passcode.expose_secret();
    let browser = SignInRequest::new(Client::Browser);
    let _ = fabrikam
        .update_policy(&admin(), &all_users())
        .await
        .unwrap();
    assert!(
        fabrikam
            .redeem(&chris, code, browser)
            .await
            .unwrap()
            .outcome
            .is_err(),
        "a code of one tenant signs in nowhere else"
    );
    assert!(
        contoso
            .redeem(&chris, code, browser)
            .await
            .unwrap()
            .outcome
            .is_ok()
    );
}

#[test]
fn tenant_names_are_checked() {
    let pool = temporary_access_pass_postgres::pool(support::server(), 1).unwrap();
    for bad in ["", "a\nb", &"x".repeat(257)] {
        assert!(
            matches!(PgStore::new(pool.clone(), bad), Err(PgError::Tenant(_))),
            "{bad:?}"
        );
    }
    let longest = "x".repeat(256);
    let store = PgStore::new(pool, &longest).unwrap();
    assert_eq!(store.tenant(), longest);
    let shown = format!(
        "{:?}",
        PgStore::new(store.pool().clone(), "contoso").unwrap()
    );
    assert!(
        shown.starts_with("PgStore { tenant: \"contoso\", pool: "),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_lost_during_the_write_denies_and_grants_nothing() {
    let scratch = Scratch::new("lost").await;
    let engine = Arc::new(engine(scratch.store(2, "contoso").await));
    let chris = Principal::member(UserId::new("chris@contoso.com").unwrap());
    let _ = engine.update_policy(&admin(), &all_users()).await.unwrap();
    let once = CreateRequest::new().is_usable_once(true);
    let created = engine
        .create(&admin(), &chris, &once, &mut SysRng)
        .await
        .unwrap();
    let code = created.passcode.expose_secret().to_owned();

    // Another session holds the row, so the sign-in's conditional UPDATE waits on it...
    let mut holder = support::admin_client().await;
    let hold = holder.transaction().await.unwrap();
    hold.execute(
        &format!(
            "SELECT 1 FROM {}.tap_passes WHERE user_id = 'chris@contoso.com' FOR UPDATE",
            scratch.name
        ),
        &[],
    )
    .await
    .unwrap();
    let browser = SignInRequest::new(Client::Browser);
    let sign_in = tokio::spawn({
        let (engine, chris, code) = (engine.clone(), chris.clone(), code.clone());
        async move { engine.redeem(&chris, &code, browser).await }
    });
    // ...and the server terminates that session while it waits.
    let watcher = support::admin_client().await;
    let mut terminated = false;
    for _ in 0..200 {
        let rows = watcher
            .query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE application_name = $1 AND wait_event_type = 'Lock'
                   AND query LIKE '%UPDATE tap_passes%'",
                &[&scratch.name],
            )
            .await
            .unwrap();
        if !rows.is_empty() {
            terminated = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(
        terminated,
        "the sign-in's write never waited on the held row"
    );
    match sign_in.await.unwrap() {
        Err(error @ EngineError::Store(PgError::Postgres(_))) => assert!(error.is_broken()),
        other => panic!("a sign-in whose write lost its connection was answered {other:?}"),
    }
    hold.rollback().await.unwrap();

    // Nothing was granted or consumed: the one-time pass still signs in, once. The pool may
    // lend the dead connection once more before it notices it closed: that attempt is denied
    // too, never granted.
    let mut retry = None;
    for _ in 0..10 {
        match engine.redeem(&chris, &code, browser).await {
            Ok(redemption) => {
                retry = Some(redemption);
                break;
            }
            Err(EngineError::Store(PgError::Postgres(_))) => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(other) => panic!("a retry after the lost connection gave {other:?}"),
        }
    }
    let retry = retry.expect("the pool replaced the lost connection");
    assert!(retry.outcome.is_ok(), "{:?}", retry.outcome);
    let again = engine.redeem(&chris, &code, browser).await.unwrap();
    assert!(again.outcome.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_document_that_breaks_the_rules_is_an_error_and_the_engine_denies() {
    let scratch = Scratch::new("document").await;
    let engine = engine(scratch.store(2, "contoso").await);
    let mut document = serde_json::to_value(Policy::default()).unwrap();
    assert!(serde_json::from_value::<Policy>(document.clone()).is_ok());
    document["minimumLifetimeInMinutes"] = 600.into();
    document["maximumLifetimeInMinutes"] = 60.into();
    admin_execute(&format!(
        "INSERT INTO {}.tap_policy (tenant, version, document) VALUES ('contoso', 1, '{}')",
        scratch.name, document
    ))
    .await;
    let chris = Principal::member(UserId::new("chris@contoso.com").unwrap());
    let error = engine
        .redeem(&chris, "anything", SignInRequest::new(Client::Browser))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, EngineError::Store(PgError::Document(_))),
        "{error}"
    );
}

/// The row's physical identity: its version of the tuple (`ctid`), the transaction that wrote
/// it (`xmin`) and the one that last locked it (`xmax`). Any write or row lock changes one.
async fn row_identity(scratch: &Scratch, user: &str) -> (String, String, String) {
    let client = support::admin_client().await;
    let row = client
        .query_one(
            &format!(
                "SELECT ctid::text, xmin::text, xmax::text FROM {}.tap_passes WHERE user_id = $1",
                scratch.name
            ),
            &[&user],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_6_5_refused_attempts_write_nothing_and_lock_nothing() {
    // A locked pass, then 100 more attempts, right code and wrong: each is refused without
    // judging the code, so none may write the row, lock it, or append an event.
    use temporary_access_pass::store::Sequence;
    let scratch = Scratch::new("refusals").await;
    let store = scratch.store(2, "contoso").await;
    let engine = engine(store.clone());
    let _ = engine.update_policy(&admin(), &all_users()).await.unwrap();
    let chris = Principal::member(UserId::new("chris@contoso.com").unwrap());
    let created = engine
        .create(&admin(), &chris, &CreateRequest::new(), &mut SysRng)
        .await
        .unwrap();
    let code = created.passcode.expose_secret().to_owned();
    let browser = SignInRequest::new(Client::Browser);
    for _ in 0..10 {
        let refused = engine.redeem(&chris, "wrong code", browser).await.unwrap();
        assert!(refused.outcome.is_err());
    }
    let before = row_identity(&scratch, "chris@contoso.com").await;
    let events = store
        .read_events(Sequence::START, usize::MAX)
        .await
        .unwrap();
    for attempt in 0..100 {
        let typed = if attempt % 2 == 0 {
            code.as_str()
        } else {
            "wrong"
        };
        let refused = engine.redeem(&chris, typed, browser).await.unwrap();
        assert!(
            matches!(
                refused.outcome,
                Err(temporary_access_pass::RedeemRefusal::Unusable(_))
            ),
            "{:?}",
            refused.outcome
        );
        assert!(refused.write.is_none());
    }
    assert_eq!(
        row_identity(&scratch, "chris@contoso.com").await,
        before,
        "no refused attempt wrote or locked the row"
    );
    assert_eq!(
        store
            .read_events(Sequence::START, usize::MAX)
            .await
            .unwrap(),
        events,
        "no refused attempt appended an event"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_dropped_while_it_holds_a_transaction_leaves_no_transaction_in_the_pool() {
    // A sign-in's first statement meets a write that landed after its read (another session's,
    // held open, then committed): it is judged again in a transaction holding the user, whose
    // advisory lock a third session holds. Its future is dropped there (a cancelled request).
    // Its connection must not go back to the pool inside an open transaction: the next
    // operations on the pool work, and no session of the store's is left in a transaction.
    let scratch = Scratch::new("dropped").await;
    let engine = Arc::new(engine(scratch.store(1, "contoso").await));
    let _ = engine.update_policy(&admin(), &all_users()).await.unwrap();
    let chris = Principal::member(UserId::new("chris@contoso.com").unwrap());
    let created = engine
        .create(&admin(), &chris, &CreateRequest::new(), &mut SysRng)
        .await
        .unwrap();
    let code = created.passcode.expose_secret().to_owned();
    let mut locker = support::admin_client().await;
    let lock = locker.transaction().await.unwrap();
    lock.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('contoso' || chr(31) || 'chris@contoso.com', 0))",
        &[],
    )
    .await
    .unwrap();
    let mut writer = support::admin_client().await;
    let write = writer.transaction().await.unwrap();
    write
        .execute(
            &format!(
                "UPDATE {}.tap_passes SET version = version + 1 WHERE user_id = 'chris@contoso.com'",
                scratch.name
            ),
            &[],
        )
        .await
        .unwrap();
    let browser = SignInRequest::new(Client::Browser);
    let sign_in = tokio::spawn({
        let (engine, chris, code) = (engine.clone(), chris.clone(), code.clone());
        async move { engine.redeem(&chris, &code, browser).await }
    });
    // The first statement waits for the other write, which then lands: a conflict.
    scratch.wait_for("transactionid").await;
    write.commit().await.unwrap();
    // Judged again: the transaction waits for the user's lock.
    scratch.wait_for("advisory").await;
    sign_in.abort();
    assert!(sign_in.await.unwrap_err().is_cancelled());
    lock.rollback().await.unwrap();

    // The pool (one connection) serves the next sign-in: granted, on a fresh connection.
    let granted = engine.redeem(&chris, &code, browser).await.unwrap();
    assert!(granted.outcome.is_ok(), "{:?}", granted.outcome);
    let watcher = support::admin_client().await;
    let mut left = i64::MAX;
    for _ in 0..200 {
        left = watcher
            .query_one(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE application_name = $1 AND state LIKE 'idle in transaction%'",
                &[&scratch.name],
            )
            .await
            .unwrap()
            .get(0);
        if left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(
        left, 0,
        "a session of the store was left inside a transaction"
    );
}

/// The harness kit's model check through `AsyncEngine` on the real server: a tenant of its own
/// per sequence. The full check:
/// `TAP_MODEL_CASES=10000 cargo test --release -p temporary-access-pass-postgres model`.
#[test]
fn the_async_engine_over_postgresql_agrees_with_the_model() {
    use std::sync::atomic::{AtomicU32, Ordering};
    use temporary_access_pass::testing::model::{AsyncEngineHost, CheckConfig, check};

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let scratch = runtime.block_on(Scratch::new("model"));
    let pool = runtime.block_on(scratch.pool(8));
    let tenants = AtomicU32::new(0);
    let config = CheckConfig::new().cases(64);
    let result = check(&config, || {
        let tenant = format!("model-{}", tenants.fetch_add(1, Ordering::Relaxed));
        let pepper = Pepper::new(b"the host's pepper, from its key vault").unwrap();
        AsyncEngineHost::new(
            PgStore::new(pool.clone(), &tenant).unwrap(),
            config.start,
            config.engine(pepper),
            runtime.handle().clone(),
        )
    });
    if let Err(mismatch) = result {
        panic!("{mismatch}");
    }
}

/// SPEC 6.7: 30 trials of each legitimate operation while 16 attacker tasks stream wrong codes
/// and the stolen right one, every read 1 ms slower: none gives up for contention.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_stream_of_attempts_makes_a_legitimate_operation_give_up() {
    let (_scratch, store) = store("attack").await;
    let attack = temporary_access_pass::testing::conformance::Attack::new().trials(30);
    let report = tasks::race_under_attack(store, &attack).await;
    println!("{report}");
    assert_eq!(report.contention(), 0);
}

/// SPEC 6.5: 100 refused attempts in every state that refuses without judging the code ask
/// for no write, move no record and append no event.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refusals_that_judge_no_code_write_nothing() {
    let (_scratch, store) = store("refused").await;
    tasks::check_refusals_write_nothing(store, 100).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn methods_and_ceremonies_change_only_as_expected() {
    let (_scratch, store) = store("onboarding").await;
    tasks::check_onboarding(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_registrations_over_the_cap_store_exactly_the_cap() {
    let (_scratch, store) = store("cap").await;
    tasks::race_method_cap(store, 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deletion_racing_a_registration_leaves_the_key_and_its_event_or_neither() {
    let (_scratch, store) = store("deletion_race").await;
    tasks::race_pass_deletion_and_registration(store, 100).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_take_a_session_state_once() {
    let scratch = Scratch::new("take_race").await;
    // Two pools, as two instances of a service would have.
    let one = Arc::new(scratch.store(4, "contoso").await);
    let other = Arc::new(scratch.store(4, "contoso").await);
    tasks::race_taking_a_state(one, other, 100).await;
}
