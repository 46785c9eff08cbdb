//! The test database: the server `TAP_PG_URL` names (`.ci/run` sets it, to the machine's server
//! or to one it started), else the machine's own at 127.0.0.1:5432, database `test`. A test
//! that finds no server fails: it never skips. Each test works in a schema of its own, dropped
//! when the test ends, pass or fail. Tests run on multi-threaded runtimes: the pool's connection
//! tasks must keep running while a test's thread blocks on the drop.

use std::time::{SystemTime, UNIX_EPOCH};

use temporary_access_pass_postgres::deadpool_postgres::Pool;
use temporary_access_pass_postgres::tokio_postgres::{self, Client, Config, NoTls};
use temporary_access_pass_postgres::{PgStore, migrate, pool};

/// The server the tests run against.
pub fn server() -> Config {
    let url = std::env::var("TAP_PG_URL")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".to_owned());
    url.parse()
        .unwrap_or_else(|e| panic!("TAP_PG_URL {url:?} is not a connection string: {e}"))
}

/// A schema of this test's own.
#[derive(Debug)]
pub struct Scratch {
    /// The schema's name.
    pub name: String,
}

impl Scratch {
    /// Creates `tap_test_<label>_<pid>_<nanos>`.
    pub async fn new(label: &str) -> Self {
        #[allow(
            clippy::disallowed_methods,
            reason = "the wall clock only makes the schema name unique"
        )]
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!("tap_test_{label}_{}_{nanos}", std::process::id());
        admin_execute(&format!("CREATE SCHEMA {name}")).await;
        Self { name }
    }

    /// The server, with this schema as the search path and its name as the application
    /// name (so a test can find its own sessions in `pg_stat_activity`).
    pub fn config(&self) -> Config {
        let mut config = server();
        config
            .options(format!("-c search_path={}", self.name))
            .application_name(&self.name);
        config
    }

    /// The connection string of this schema for the service's binary (`TAP_DATABASE_URL`):
    /// the server's host, port, user and database, and the schema as the search path.
    pub fn url(&self) -> String {
        let server = server();
        let host = match server.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
            Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
            None => "127.0.0.1".to_owned(),
        };
        format!(
            "host={host} port={} user={} dbname={} options='-c search_path={}'",
            server.get_ports().first().copied().unwrap_or(5432),
            server.get_user().unwrap_or("postgres"),
            server.get_dbname().unwrap_or("test"),
            self.name
        )
    }

    /// A migrated pool of `size` connections into this schema.
    pub async fn pool(&self, size: usize) -> Pool {
        let pool = pool(self.config(), size).expect("a pool");
        migrate(&pool).await.expect("migrating the scratch schema");
        pool
    }

    /// A store of `tenant` over a migrated pool of `size` connections.
    pub async fn store(&self, size: usize, tenant: &str) -> PgStore {
        PgStore::new(self.pool(size).await, tenant).expect("a valid tenant")
    }

    /// Waits, for at most 10 s, until a session of this schema's stores waits on `event` (a
    /// lock's `wait_event` in `pg_stat_activity`, such as `transactionid` or `advisory`).
    ///
    /// # Panics
    ///
    /// When none does in time.
    pub async fn wait_for(&self, event: &str) {
        let watcher = admin_client().await;
        for _ in 0..400 {
            let waiting: i64 = watcher
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity
                     WHERE application_name = $1 AND wait_event = $2",
                    &[&self.name, &event],
                )
                .await
                .unwrap_or_else(|e| panic!("reading pg_stat_activity: {e}"))
                .get(0);
            if waiting > 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("no session of the store waited on {event}");
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // On a thread of its own, so it works from inside the test's runtime, and after a panic.
        // A lock timeout, so that a connection left in a transaction fails the drop instead of
        // hanging the test run.
        let sql = format!(
            "SET lock_timeout = '10s'; DROP SCHEMA IF EXISTS {} CASCADE",
            self.name
        );
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime")
                .block_on(admin_execute(&sql));
        })
        .join();
        assert!(
            dropped.is_ok() || std::thread::panicking(),
            "dropping the scratch schema failed"
        );
    }
}

/// A connection of its own, outside any store's pool, its driver task spawned.
pub async fn admin_client() -> Client {
    let (client, connection) = server().connect(NoTls).await.unwrap_or_else(|e| {
        panic!(
            "no PostgreSQL server answers at {:?} (set TAP_PG_URL, or run .ci/run, which starts one): {e}",
            server().get_hosts()
        )
    });
    tokio::spawn(connection);
    client
}

/// Runs `sql` on a connection of its own.
pub async fn admin_execute(sql: &str) {
    admin_client()
        .await
        .batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}
