//! The real stores failing under the service: a PostgreSQL server that stops answering (a TCP
//! proxy in the test black-holes the connections, as a network partition would) and a SQLite
//! file another process holds locked. A write gets a 503 with `Retry-After` within the store
//! timeout, `/health/ready` says so, and the service recovers when the store does.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::too_many_lines,
    clippy::indexing_slicing,
    reason = "tests: a failed step is a failed test"
)]

use temporary_access_pass_testkit::postgres as support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;
use temporary_access_pass_graph_service::blocking::Blocking;
use temporary_access_pass_graph_service::identity::TestHeaders;
use temporary_access_pass_graph_service::startup::{postgres_config, postgres_pool};
use temporary_access_pass_graph_service::{Limits, POLICY_PATH};
use temporary_access_pass_postgres::{PgStore, migrate};
use temporary_access_pass_sqlite::{SqliteOptions, SqliteStore};
use temporary_access_pass_testkit::demo::GA;
use temporary_access_pass_testkit::service::{client, start};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

const TIMEOUT: Duration = Duration::from_millis(500);

/// A TCP proxy to `upstream` that stops moving bytes, both ways, while `hole` is set: the
/// bytes wait in the sockets' buffers, as behind a partition, and flow again after.
async fn proxy(upstream: String, hole: Arc<AtomicBool>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let hole = hole.clone();
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    return;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::join!(
                    pipe(client_read, server_write, hole.clone()),
                    pipe(server_read, client_write, hole),
                );
            });
        }
    });
    port
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    hole: Arc<AtomicBool>,
) {
    let mut buffer = vec![0_u8; 16 * 1024];
    loop {
        while hole.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // A read that waits is given up every 50 ms to look at the hole again (a read is
        // cancel-safe: no byte is lost).
        match tokio::time::timeout(Duration::from_millis(50), from.read(&mut buffer)).await {
            Err(_) => {}
            Ok(Ok(0) | Err(_)) => return,
            Ok(Ok(n)) => {
                // Bytes read as the hole opened are held until it closes.
                while hole.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                if to.write_all(&buffer[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.store_timeout = TIMEOUT;
    limits
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_black_holed_postgresql_gets_503_within_the_store_timeout_and_the_service_recovers() {
    let scratch = support::Scratch::new("blackhole").await;
    let server = support::server();
    let upstream = match &server.get_hosts()[0] {
        tokio_postgres::config::Host::Tcp(host) => {
            format!(
                "{host}:{}",
                server.get_ports().first().copied().unwrap_or(5432)
            )
        }
        tokio_postgres::config::Host::Unix(path) => panic!("TAP_PG_URL names a socket: {path:?}"),
    };
    let hole = Arc::new(AtomicBool::new(false));
    let port = proxy(upstream, hole.clone()).await;
    let url = format!(
        "host=127.0.0.1 port={port} user={} dbname={} options='-c search_path={}'",
        server.get_user().unwrap(),
        server.get_dbname().unwrap(),
        scratch.name
    );
    let pool = postgres_pool(postgres_config(&url, TIMEOUT).unwrap(), 4, TIMEOUT).unwrap();
    migrate(&pool).await.unwrap();
    let running = start(
        PgStore::new(pool, "blackhole").unwrap(),
        TestHeaders,
        limits(),
    )
    .await;
    let http = client();
    let policy = || {
        http.get(format!("{}/v1.0{POLICY_PATH}", running.base))
            .header("x-test-principal", GA)
            .send()
    };
    assert_eq!(policy().await.unwrap().status(), 200);

    hole.store(true, Ordering::SeqCst);
    for _ in 0..3 {
        let asked = Instant::now();
        let response = policy().await.unwrap();
        let waited = asked.elapsed();
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["retry-after"], "1");
        assert!(
            waited >= TIMEOUT && waited < TIMEOUT + Duration::from_secs(2),
            "answered after {waited:?}"
        );
    }
    let sign_in = http
        .post(format!("{}/signIn/temporaryAccessPass", running.base))
        .json(&json!({"userId": "chris@contoso.com", "temporaryAccessPass": "guess"}))
        .send()
        .await
        .unwrap();
    assert_eq!(sign_in.status(), 503);
    let ready = http
        .get(format!("{}/health/ready", running.ops))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);

    hole.store(false, Ordering::SeqCst);
    let mut recovered = false;
    for _ in 0..100 {
        if policy().await.unwrap().status() == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        recovered,
        "the service answers again once the database does"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_sqlite_file_gets_503_with_retry_after_within_the_busy_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("passes.db");
    let store = SqliteStore::open_with(&path, SqliteOptions::new().busy_timeout(TIMEOUT)).unwrap();
    let running = start(Blocking::new(store), TestHeaders, limits()).await;
    let http = client();
    let patch = || {
        http.patch(format!("{}/v1.0{POLICY_PATH}", running.base))
            .header("x-test-principal", GA)
            .json(&json!({"state": "enabled"}))
            .send()
    };
    // Another process holds the write lock.
    let holder = rusqlite::Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let asked = Instant::now();
    let response = patch().await.unwrap();
    let waited = asked.elapsed();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "serviceNotAvailable");
    assert!(
        waited >= TIMEOUT && waited < TIMEOUT + Duration::from_secs(2),
        "answered after {waited:?}"
    );
    // Reads go on beside the writer (WAL).
    let read = http
        .get(format!("{}/v1.0{POLICY_PATH}", running.base))
        .header("x-test-principal", GA)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    holder.execute_batch("ROLLBACK").unwrap();
    assert_eq!(patch().await.unwrap().status(), 204);
    running.stop().await;
}

/// A server or a role whose default isolation is stricter than the store's design does not
/// change how it decides: the service's connections pin READ COMMITTED (after the options of
/// the connection string, so they win), and the races of a one-time pass, a burst of wrong
/// codes and a lockout hold, with no serialization failure denying anyone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_serializable_default_changes_nothing_the_store_decides() {
    use temporary_access_pass::testing::conformance::tasks;
    let scratch = support::Scratch::new("serializable").await;
    let url = scratch.url().replacen(
        "options='-c search_path=",
        "options='-c default_transaction_isolation=serializable -c search_path=",
        1,
    );
    let timeout = Duration::from_secs(5);
    let pool = postgres_pool(postgres_config(&url, timeout).unwrap(), 16, timeout).unwrap();
    migrate(&pool).await.unwrap();
    let shown: String = pool
        .get()
        .await
        .unwrap()
        .query_one("SHOW transaction_isolation", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(shown, "read committed");
    let store = Arc::new(PgStore::new(pool, "serializable").unwrap());
    tasks::race_one_time_redemption(store.clone(), 100).await;
    tasks::race_burst_wrong_codes(store.clone(), 20).await;
    tasks::race_lockout(store, 20).await;
}
