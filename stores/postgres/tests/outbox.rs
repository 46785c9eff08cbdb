//! The outbox on the real server (SPEC 7.1): writers of one tenant never wait for each other's
//! events; a reader follows transaction-id order below the visibility horizon, so a
//! transaction held open delays it and loses nothing, and an abandoned one stops delaying it
//! once the server ends it; events restored from another server's dump are numbered at once;
//! migration 4 keeps the numbers readers already hold; a pass's events follow its row's
//! commits, whichever transaction was given its id first.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "tests: a failed set-up is a failed test; the reader's lag is wall-clock time"
)]

use std::time::{Duration, Instant};

use temporary_access_pass::signin::Client;
use temporary_access_pass::store::{AsyncStore, Recorded, Sequence};
use temporary_access_pass::{
    AsyncEngine, CreateRequest, DirectoryRole, EngineConfig, Event, IncludeTarget, Pepper,
    PolicySettings, PolicyState, Principal, SignInRequest, SysRng, SystemClock, UserId,
};
use temporary_access_pass_postgres::{MIGRATIONS, PgStore, migrate, pool};
use temporary_access_pass_testkit::postgres::Scratch;
use tokio_postgres::NoTls;

/// One test at a time: a transaction held open delays every reader of the server (the horizon
/// is the cluster's), this file's other tests' included.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn engine(store: PgStore) -> AsyncEngine<SystemClock, PgStore> {
    let pepper = Pepper::new(b"the host's pepper, from its key vault").unwrap();
    AsyncEngine::new(SystemClock::new(), store, EngineConfig::new(pepper))
}

fn admin() -> Principal {
    Principal::member(UserId::new("ga@contoso.com").unwrap())
        .role(DirectoryRole::GlobalAdministrator)
}

async fn enable(engine: &AsyncEngine<SystemClock, PgStore>) {
    let settings = PolicySettings::new()
        .state(PolicyState::Enabled)
        .include_target(IncludeTarget::AllUsers);
    let _ = engine.update_policy(&admin(), &settings).await.unwrap();
}

async fn create(engine: &AsyncEngine<SystemClock, PgStore>, user: &str) {
    let user = Principal::member(UserId::new(user).unwrap());
    let _ = engine
        .create(&admin(), &user, &CreateRequest::new(), &mut SysRng)
        .await
        .unwrap();
}

/// A connection of its own into the scratch schema, its driver spawned.
async fn session(scratch: &Scratch) -> tokio_postgres::Client {
    let (client, connection) = scratch.config().connect(NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// Tenant `contoso`'s store over `connections` into the scratch schema, a read waiting at most
/// 100 ms for the horizon.
async fn contoso_store(scratch: &Scratch, connections: usize) -> PgStore {
    scratch
        .store(connections, "contoso")
        .await
        .with_horizon_wait(Duration::from_millis(100))
}

async fn everything(store: &PgStore) -> Vec<Recorded> {
    store
        .read_events(Sequence::START, usize::MAX)
        .await
        .unwrap()
}

fn numbers(recorded: &[Recorded]) -> Vec<i64> {
    recorded
        .iter()
        .map(|r| r.sequence.to_i64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_transaction_held_open_delays_the_reader_and_loses_nothing() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let scratch = Scratch::new("outbox_lag").await;
    let store = scratch
        .store(4, "contoso")
        .await
        .with_horizon_wait(Duration::from_millis(200));
    let engine = engine(store.clone());
    enable(&engine).await;
    let before = everything(&store).await;
    assert_eq!(numbers(&before), [1], "the policy's event");

    // Another session's transaction takes an id and writes an event of its own, uncommitted,
    // as a writer's statement does: it holds no lock a writer of the tenant would wait for.
    let held = session(&scratch).await;
    let document = serde_json::to_string(&before[0].event).unwrap();
    held.batch_execute("BEGIN").await.unwrap();
    held.execute(
        "INSERT INTO tap_events (tenant, event) VALUES ('contoso', $1)",
        &[&document],
    )
    .await
    .unwrap();
    let opened = Instant::now();

    // Writers go on: each commits while the held transaction is open.
    for user in ["a@contoso.com", "b@contoso.com", "c@contoso.com"] {
        tokio::time::timeout(Duration::from_secs(2), create(&engine, user))
            .await
            .expect("a writer waited for another transaction's events");
    }
    // The reader waits for the horizon, then serves what it can number: nothing newer, since
    // the held transaction may still add an event below theirs.
    let read = Instant::now();
    let during = everything(&store).await;
    assert!(
        read.elapsed() >= Duration::from_millis(200),
        "the read did not wait for the horizon"
    );
    assert_eq!(
        numbers(&during),
        [1],
        "events served past an open transaction"
    );

    // Five seconds on, the held transaction commits: everything is served, its event first
    // (its transaction began first), then the three creations, numbered on.
    let mut seen_at = None;
    let hold = Duration::from_secs(5);
    let committer = tokio::spawn(async move {
        tokio::time::sleep(hold.saturating_sub(opened.elapsed())).await;
        held.batch_execute("COMMIT").await.unwrap();
    });
    while seen_at.is_none() {
        let recorded = everything(&store).await;
        if recorded.len() > 1 {
            assert_eq!(
                numbers(&recorded),
                [1, 2, 3, 4, 5],
                "none missed, none twice"
            );
            assert_eq!(
                serde_json::to_string(&recorded[1].event).unwrap(),
                document,
                "the held transaction's event comes first"
            );
            seen_at = Some(opened.elapsed());
        }
        assert!(
            opened.elapsed() < Duration::from_secs(15),
            "the reader never caught up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    committer.await.unwrap();
    let lag = seen_at.unwrap();
    assert!(
        lag >= hold && lag < hold + Duration::from_secs(2),
        "the reader was delayed {lag:?} by a transaction held {hold:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_abandoned_transaction_stops_delaying_the_reader_when_the_server_ends_it() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let scratch = Scratch::new("outbox_abandoned").await;
    let store = contoso_store(&scratch, 4).await;
    let engine = engine(store.clone());
    enable(&engine).await;
    // A client that opens a transaction, takes an id and goes silent, on a server that ends
    // such sessions after a second (the reference service sets it on its own connections).
    let abandoned = session(&scratch).await;
    abandoned
        .batch_execute(
            "SET idle_in_transaction_session_timeout = '1s'; BEGIN; SELECT pg_current_xact_id()",
        )
        .await
        .unwrap();
    let opened = Instant::now();
    create(&engine, "a@contoso.com").await;
    loop {
        if everything(&store).await.len() == 2 {
            break;
        }
        assert!(
            opened.elapsed() < Duration::from_secs(10),
            "an abandoned transaction stalls the reader for ever"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        opened.elapsed() >= Duration::from_secs(1),
        "served before the abandoned transaction ended"
    );
    // The server closed the abandoned session.
    assert!(abandoned.execute("SELECT 1", &[]).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_restored_from_another_server_are_numbered_at_once_and_first() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let scratch = Scratch::new("outbox_restored").await;
    let store = contoso_store(&scratch, 2).await;
    let engine = engine(store.clone());
    enable(&engine).await;
    let policy = everything(&store).await;
    assert_eq!(numbers(&policy), [1]);
    // A row as a logical dump of another server brings it back: pending, under a transaction
    // id this server has not reached (a million on), with a lower id than what comes next.
    let document = serde_json::to_string(&policy[0].event).unwrap();
    let client = session(&scratch).await;
    client
        .execute(
            "INSERT INTO tap_events (tenant, event, xid)
             VALUES ('contoso', $1, (pg_current_xact_id()::text::bigint + 1000000)::text::xid8)",
            &[&document],
        )
        .await
        .unwrap();
    create(&engine, "a@contoso.com").await;
    let read = Instant::now();
    let recorded = everything(&store).await;
    assert!(
        read.elapsed() < Duration::from_secs(2),
        "the read waited for a transaction id this server will not reach soon"
    );
    assert_eq!(numbers(&recorded), [1, 2, 3], "none missed");
    assert_eq!(
        serde_json::to_string(&recorded[1].event).unwrap(),
        document,
        "the restored event is numbered first"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_4_keeps_the_numbers_readers_hold_and_numbers_on_after_them() {
    let _alone = ONE_AT_A_TIME.lock().await;
    // Three events as release 3's schema wrote them: numbered by the head row.
    let source = Scratch::new("outbox_source").await;
    let store = source.store(2, "contoso").await;
    let engine = engine(store.clone());
    enable(&engine).await;
    create(&engine, "a@contoso.com").await;
    create(&engine, "b@contoso.com").await;
    let old = everything(&store).await;
    assert_eq!(numbers(&old), [1, 2, 3]);

    let scratch = Scratch::new("outbox_migration").await;
    let client = session(&scratch).await;
    client
        .batch_execute(
            "CREATE TABLE tap_schema (version bigint PRIMARY KEY,
                                      applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await
        .unwrap();
    for (version, migration) in (1_i64..).zip(&MIGRATIONS[..3]) {
        client.batch_execute(migration).await.unwrap();
        client
            .execute("INSERT INTO tap_schema (version) VALUES ($1)", &[&version])
            .await
            .unwrap();
    }
    for recorded in &old {
        client
            .execute(
                "INSERT INTO tap_events (tenant, seq, event) VALUES ('contoso', $1, $2)",
                &[
                    &recorded.sequence.to_i64().unwrap(),
                    &serde_json::to_string(&recorded.event).unwrap(),
                ],
            )
            .await
            .unwrap();
    }
    client
        .execute(
            "INSERT INTO tap_outbox_head (tenant, last) VALUES ('contoso', 3)",
            &[],
        )
        .await
        .unwrap();
    // A reader had read up to 2 and pruned before it.
    client
        .execute("DELETE FROM tap_events WHERE seq < 2", &[])
        .await
        .unwrap();

    let pool = pool(scratch.config(), 2).unwrap();
    migrate(&pool).await.unwrap();
    let store = PgStore::new(pool, "contoso").unwrap();
    let after_two = store
        .read_events(Sequence::from_i64(2).unwrap(), usize::MAX)
        .await
        .unwrap();
    assert_eq!(
        numbers(&after_two),
        [3],
        "the reader's position carried over"
    );
    assert_eq!(after_two[0].event, old[2].event);
    // New events number on from the last, even with the rows below it pruned.
    let engine = self::engine(store.clone());
    create(&engine, "c@contoso.com").await;
    assert_eq!(numbers(&everything(&store).await), [2, 3, 4]);
    let version: i64 = client
        .query_one("SELECT max(version) FROM tap_schema", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(version, i64::try_from(MIGRATIONS.len()).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_numbering_that_ends_cleanly_gives_its_connection_back_to_the_pool() {
    // The numbering runs in a transaction on a connection that is closed, not pooled, unless
    // the transaction ended: one that did must go back, or every read opens a connection.
    let _alone = ONE_AT_A_TIME.lock().await;
    let scratch = Scratch::new("outbox_pooled").await;
    let store = contoso_store(&scratch, 1).await;
    let backend = || async {
        let client = store.pool().get().await.unwrap();
        client
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .unwrap()
            .get::<_, i32>(0)
    };
    let before = backend().await;
    enable(&engine(store.clone())).await;
    assert_eq!(numbers(&everything(&store).await), [1]);
    assert_eq!(
        backend().await,
        before,
        "the numbering closed its connection"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deletion_that_waited_behind_a_sign_in_is_read_after_it() {
    // A transaction's id is given at its first write, before it waits for the row: a deletion
    // that waits (here behind a session holding the row `FOR KEY SHARE`, as a key's
    // registration does) has a lower id than a sign-in that updates the row meanwhile and
    // commits first. In transaction-id order alone the sign-in would be read after the pass's
    // deletion; a pass's events must follow its row's commits.
    let _alone = ONE_AT_A_TIME.lock().await;
    let scratch = Scratch::new("outbox_chained").await;
    let store = contoso_store(&scratch, 4).await;
    let engine = std::sync::Arc::new(engine(store.clone()));
    enable(&engine).await;
    let chris = Principal::member(UserId::new("chris@contoso.com").unwrap());
    let created = engine
        .create(&admin(), &chris, &CreateRequest::new(), &mut SysRng)
        .await
        .unwrap();
    let mut holder = session(&scratch).await;
    let hold = holder.transaction().await.unwrap();
    hold.execute(
        "SELECT 1 FROM tap_passes WHERE user_id = 'chris@contoso.com' FOR KEY SHARE",
        &[],
    )
    .await
    .unwrap();
    let deletion = tokio::spawn({
        let (engine, chris) = (engine.clone(), chris.clone());
        async move { engine.delete(&admin(), &chris).await }
    });
    scratch.wait_for("transactionid").await;
    let signed_in = engine
        .redeem(
            &chris,
            created.passcode.expose_secret(),
            SignInRequest::new(Client::Browser),
        )
        .await
        .unwrap();
    assert!(signed_in.outcome.is_ok(), "{:?}", signed_in.outcome);
    hold.rollback().await.unwrap();
    assert!(
        deletion.await.unwrap().unwrap().is_some(),
        "the pass deleted"
    );
    let kinds: Vec<&str> = everything(&store)
        .await
        .iter()
        .map(|r| match &r.event {
            Event::PassIssued { .. } => "issued",
            Event::SignInSucceeded { .. } => "signed in",
            Event::PassDeleted { .. } => "deleted",
            _ => "other",
        })
        .collect();
    let at = |kind| kinds.iter().position(|k| *k == kind).unwrap();
    assert!(
        at("issued") < at("signed in") && at("signed in") < at("deleted"),
        "{kinds:?}"
    );
}
