//! Redemption and creation through `AsyncEngine` on the PostgreSQL store, beside the round trips
//! they are made of (issues 11, 16, 17, BENCHMARKS.md): a bare `SELECT 1` and one conditional
//! `UPDATE` of one row, each on a pooled connection, at 1, 8 and 32 concurrent clients on one
//! tenant (a pool of 32), with the outbox off and on. Latencies are per operation; p50 and p99
//! over every operation of the run, operations per second over the run's wall time, and the
//! bytes of WAL the server wrote during the run per operation (its insert position before and
//! after: every session's WAL, autovacuum's included). The optional client counts (1 to 32
//! each, "1,8,32" by default) pick the rows.
//!
//! ```text
//! TAP_PG_URL="host=127.0.0.1 user=postgres dbname=test" \
//!     cargo run --release -p temporary-access-pass-benches --bin postgres [-- operations [clients,...]]
//! ```
//!
//! It works in a schema of its own (`tap_bench_<pid>`), dropped at the end. For an experiment
//! on the schema, `TAP_BENCH_EXPERIMENT` holds SQL run in it once it is migrated (for example
//! `DROP INDEX tap_events_pending;`, to measure what an index costs the writers).
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::disallowed_methods,
    reason = "a measuring program: fixed set-up, printed results, timed with the wall clock"
)]

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use temporary_access_pass::signin::{Client, Lockout};
use temporary_access_pass::{
    AsyncEngine, CreateRequest, DirectoryRole, EngineConfig, IncludeTarget, Pepper, PolicySettings,
    PolicyState, Principal, SignInRequest, SysRng, SystemClock, UserId,
};
use temporary_access_pass_postgres::deadpool_postgres::Pool;
use temporary_access_pass_postgres::tokio_postgres::{self, Config, NoTls};
use temporary_access_pass_postgres::{PgStore, migrate, pool};

fn server() -> Config {
    std::env::var("TAP_PG_URL")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".to_owned())
        .parse()
        .unwrap()
}

/// A connection of its own, outside the pool and the bench's schema.
async fn admin_client() -> tokio_postgres::Client {
    let (client, connection) = server().connect(NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

async fn admin(sql: &str) {
    admin_client().await.batch_execute(sql).await.unwrap();
}

/// The server's WAL insert position, in bytes: the difference across a row is the WAL that
/// row wrote (every session's, autovacuum's included).
async fn wal_position() -> i64 {
    admin_client()
        .await
        .query_one("SELECT (pg_current_wal_insert_lsn() - '0/0')::bigint", &[])
        .await
        .unwrap()
        .get(0)
}

/// What a row measured: every latency, sorted, the wall time of the whole row, and the WAL
/// the server wrote meanwhile.
struct Measured {
    times: Vec<Duration>,
    wall: Duration,
    wal: i64,
}

/// Runs `clients` tasks, each timing `per_client` calls of `op(client, i)`.
async fn measure<F, Fut>(clients: usize, per_client: usize, op: F) -> Measured
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let wal = wal_position().await;
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|client| {
            let op = op.clone();
            tokio::spawn(async move {
                let mut times = Vec::with_capacity(per_client);
                for i in 0..per_client {
                    let start = Instant::now();
                    op(client, i).await;
                    times.push(start.elapsed());
                }
                times
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let wall = start.elapsed();
    all.sort_unstable();
    Measured {
        times: all,
        wall,
        wal: wal_position().await - wal,
    }
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn report(what: &str, clients: usize, measured: &Measured) -> Duration {
    let sorted = &measured.times;
    let p50 = quantile(sorted, 0.50);
    println!(
        "{what:>56} | {clients:>2} clients | p50 {:>7.1} µs | p99 {:>7.1} µs | {:>7.0} ops/s | {:>5.0} B of WAL/op",
        p50.as_secs_f64() * 1e6,
        quantile(sorted, 0.99).as_secs_f64() * 1e6,
        sorted.len() as f64 / measured.wall.as_secs_f64(),
        measured.wal as f64 / sorted.len() as f64
    );
    p50
}

async fn select_one(pool: &Pool, clients: usize, per_client: usize) -> Duration {
    let pool = pool.clone();
    let measured = measure(clients, per_client, move |_, _| {
        let pool = pool.clone();
        async move {
            let client = pool.get().await.unwrap();
            let statement = client.prepare_cached("SELECT 1").await.unwrap();
            client.query_one(&statement, &[]).await.unwrap();
        }
    })
    .await;
    report("SELECT 1", clients, &measured)
}

async fn conditional_update(pool: &Pool, clients: usize, per_client: usize) -> Duration {
    let pool = pool.clone();
    let measured = measure(clients, per_client, move |client, i| {
        let pool = pool.clone();
        async move {
            let conn = pool.get().await.unwrap();
            let statement = conn
                .prepare_cached(
                    "UPDATE bench_rows SET version = version + 1 WHERE id = $1 AND version = $2",
                )
                .await
                .unwrap();
            let (id, version) = (i64::try_from(client).unwrap(), i64::try_from(i).unwrap());
            assert_eq!(conn.execute(&statement, &[&id, &version]).await.unwrap(), 1);
        }
    })
    .await;
    report("conditional UPDATE of one row", clients, &measured)
}

/// An engine on its own tenant, with the outbox on or off, under an enabled all-users policy
/// whose lockout never engages.
async fn bench_engine(pool: &Pool, outbox: bool) -> Arc<AsyncEngine<SystemClock, PgStore>> {
    let tenant = if outbox { "bench-outbox" } else { "bench" };
    let store = PgStore::new(pool.clone(), tenant).unwrap();
    let config = EngineConfig::new(Pepper::new(&[0x42; 32]).unwrap())
        .lockout(Lockout::new(1000, time::Duration::MINUTE).unwrap())
        .outbox(outbox);
    let engine = Arc::new(AsyncEngine::new(SystemClock::new(), store, config));
    let settings = PolicySettings::new()
        .state(PolicyState::Enabled)
        .include_target(IncludeTarget::AllUsers);
    if !engine.policy().await.unwrap().is_enabled() {
        let _ = engine
            .update_policy(&admin_principal(), &settings)
            .await
            .unwrap();
    }
    engine
}

fn admin_principal() -> Principal {
    Principal::member(UserId::new("admin@contoso.com").unwrap())
        .role(DirectoryRole::GlobalAdministrator)
}

fn with_outbox(what: &str, outbox: bool) -> String {
    format!("{what}, outbox {}", if outbox { "on" } else { "off" })
}

async fn redeem(pool: &Pool, clients: usize, per_client: usize, outbox: bool) -> Duration {
    let engine = bench_engine(pool, outbox).await;
    let mut users = Vec::new();
    for k in 0..clients {
        let user =
            Principal::member(UserId::new(&format!("user-{clients}-{k}@contoso.com")).unwrap());
        let request = CreateRequest::new().is_usable_once(false);
        let created = engine
            .create(&admin_principal(), &user, &request, &mut SysRng)
            .await
            .unwrap();
        users.push((user, created.passcode.expose_secret().to_owned()));
    }
    let users = Arc::new(users);
    let measured = measure(clients, per_client, move |client, _| {
        let (engine, users) = (engine.clone(), users.clone());
        async move {
            let (user, code) = &users[client];
            let redemption = engine
                .redeem(user, code, SignInRequest::new(Client::Browser))
                .await
                .unwrap();
            assert!(redemption.outcome.is_ok());
        }
    })
    .await;
    report(
        &with_outbox("AsyncEngine redeem (right code, multi-use)", outbox),
        clients,
        &measured,
    )
}

async fn create(pool: &Pool, clients: usize, per_client: usize, outbox: bool) -> Duration {
    let engine = bench_engine(pool, outbox).await;
    let measured = measure(clients, per_client, move |client, i| {
        let engine = engine.clone();
        async move {
            let user = Principal::member(
                UserId::new(&format!("new-{clients}-{client}-{i}@contoso.com")).unwrap(),
            );
            let request = CreateRequest::new();
            let created = engine
                .create(&admin_principal(), &user, &request, &mut SysRng)
                .await;
            assert!(created.is_ok());
        }
    })
    .await;
    report(
        &with_outbox("AsyncEngine create (a new user's pass)", outbox),
        clients,
        &measured,
    )
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let operations: usize = std::env::args()
        .nth(1)
        .map_or(4_000, |n| n.parse().unwrap());
    // The client counts, 1 to 32 each (one `bench_rows` row per client): "8" or "1,8,32".
    let counts: Vec<usize> = std::env::args().nth(2).map_or_else(
        || vec![1, 8, 32],
        |list| list.split(',').map(|n| n.parse().unwrap()).collect(),
    );
    assert!(
        counts.iter().all(|n| (1..=32).contains(n)),
        "1 to 32 clients"
    );
    let schema = format!("tap_bench_{}", std::process::id());
    admin(&format!(
        "CREATE SCHEMA {schema};
         CREATE TABLE {schema}.bench_rows (id bigint PRIMARY KEY, version bigint NOT NULL);
         INSERT INTO {schema}.bench_rows SELECT g, 0 FROM generate_series(0, 31) g;"
    ))
    .await;
    let mut config = server();
    config.options(format!("-c search_path={schema}"));
    let pool = pool(config, 32).unwrap();
    migrate(&pool).await.unwrap();
    if let Ok(sql) = std::env::var("TAP_BENCH_EXPERIMENT") {
        admin(&format!("SET search_path = {schema}; {sql}")).await;
    }
    println!(
        "PostgreSQL round trips and AsyncEngine redemptions, {operations} operations per row, {} cores",
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
    );
    for clients in counts {
        let per_client = operations / clients;
        let select = select_one(&pool, clients, per_client).await;
        // Each client updates its own row, the version it set last time.
        admin(&format!("UPDATE {schema}.bench_rows SET version = 0")).await;
        let update = conditional_update(&pool, clients, per_client).await;
        for outbox in [false, true] {
            let redeemed = redeem(&pool, clients, per_client, outbox).await;
            let _created = create(&pool, clients, per_client, outbox).await;
            println!(
                "{:>56} | {clients:>2} clients | redeem p50 = {:.2}x SELECT 1, {:.2}x the conditional UPDATE",
                with_outbox("", outbox),
                redeemed.as_secs_f64() / select.as_secs_f64(),
                redeemed.as_secs_f64() / update.as_secs_f64()
            );
        }
    }
    admin(&format!("DROP SCHEMA {schema} CASCADE")).await;
}
