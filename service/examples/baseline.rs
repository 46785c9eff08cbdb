//! The benchmark's baseline (BENCHMARKS.md, "The service under load"): the same store work as
//! the service's creation and sign-in routes (a sign-in's redemption and, on a grant, the
//! registration session it opens), in a minimal axum handler. The same
//! engine, store and pool settings, the same directory lookup and JSON bodies; none of the
//! service's layers (request ids, the error envelope, the request log, timeouts, limits,
//! metrics), no authentication (the creation's caller is fixed), and `axum::serve`.
//!
//! `cargo run --release -p temporary-access-pass-graph-service --example baseline`, with the
//! service's `TAP_LISTEN`, `TAP_PEPPER_FILE`, `TAP_DIRECTORY_FILE`, and `TAP_DATABASE_URL` or
//! `TAP_SQLITE_PATH`. With `TAP_SEED_GRANTS=n` it serves nothing: it seeds `n` grants, each with
//! its registration session, into the store, and exits (the benchmark's `--grants`).
#![allow(
    clippy::expect_used,
    clippy::print_stderr,
    reason = "a benchmark's fixture: a failed set-up ends it, and it says where it listens"
)]

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};
use temporary_access_pass::graph::PassDocument;
use temporary_access_pass::store::AsyncStore;
use temporary_access_pass::{
    AsyncEngine, CreateRequest, DirectoryRole, EngineConfig, Pepper, Principal, SignInRequest,
    SysRng, SystemClock, UserId,
};
use temporary_access_pass_graph_service::blocking::Blocking;
use temporary_access_pass_graph_service::identity::{Directory, StaticDirectory};
use temporary_access_pass_graph_service::startup::{postgres_config, postgres_pool};
use temporary_access_pass_postgres::{PgStore, migrate};
use temporary_access_pass_sqlite::SqliteStore;

struct Baseline<S> {
    engine: AsyncEngine<SystemClock, S>,
    directory: StaticDirectory,
    helpdesk: Principal,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignIn {
    user_id: String,
    temporary_access_pass: String,
}

async fn create<S: AsyncStore>(
    State(app): State<Arc<Baseline<S>>>,
    Path(id): Path<String>,
    Json(request): Json<CreateRequest>,
) -> (StatusCode, Json<Value>) {
    let Some(target) = app.directory.user(&id).await else {
        return (StatusCode::NOT_FOUND, Json(json!({})));
    };
    match app
        .engine
        .create(&app.helpdesk, &target, &request, &mut SysRng)
        .await
    {
        Ok(created) => (
            StatusCode::CREATED,
            Json(
                serde_json::to_value(PassDocument::creation_response(created)).unwrap_or_default(),
            ),
        ),
        Err(e) => (
            StatusCode::CONFLICT,
            Json(json!({ "error": e.to_string() })),
        ),
    }
}

async fn sign_in<S: AsyncStore>(
    State(app): State<Arc<Baseline<S>>>,
    Json(body): Json<SignIn>,
) -> (StatusCode, Json<Value>) {
    let Ok(id) = UserId::new(&body.user_id) else {
        return (StatusCode::BAD_REQUEST, Json(json!({})));
    };
    let user = app
        .directory
        .user(id.as_str())
        .await
        .unwrap_or_else(|| Principal::member(id));
    let request = SignInRequest::new(temporary_access_pass::signin::Client::Browser);
    match app
        .engine
        .redeem(&user, &body.temporary_access_pass, request)
        .await
    {
        Ok(redemption) => match redemption.outcome {
            // The registration session the service opens on a grant (SPEC 8.1): the same write.
            Ok(grant) => match app.engine.open_session(&user, &grant, &mut SysRng).await {
                Ok(session) => (
                    StatusCode::OK,
                    Json(json!({
                        "userId": grant.user.as_str(),
                        "passId": grant.pass.to_string(),
                        "session": session.id().as_str(),
                    })),
                ),
                Err(e) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(json!({ "error": e.to_string() })),
                ),
            },
            Err(refusal) => (
                StatusCode::UNAUTHORIZED,
                Json(json!({ "error": refusal.shown().to_string() })),
            ),
        },
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": e.to_string() })),
        ),
    }
}

async fn serve<S: AsyncStore + 'static>(
    store: S,
    config: EngineConfig,
    directory: StaticDirectory,
) {
    let helpdesk = Principal::member(UserId::new("helpdesk@contoso.com").expect("an id"))
        .role(DirectoryRole::AuthenticationAdministrator);
    let app = Arc::new(Baseline {
        engine: AsyncEngine::new(SystemClock::new(), store, config),
        directory,
        helpdesk,
    });
    let router = axum::Router::new()
        .route(
            "/v1.0/users/{id}/authentication/temporaryAccessPassMethods",
            post(create::<S>),
        )
        .route("/signIn/temporaryAccessPass", post(sign_in::<S>))
        .with_state(app);
    let listen = std::env::var("TAP_LISTEN").unwrap_or_else(|_| "127.0.0.1:8081".to_owned());
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .expect("listening");
    eprintln!(
        "baseline listening on {}",
        listener.local_addr().expect("an address")
    );
    axum::serve(listener, router).await.expect("serving");
}

/// Seeds `n` grants within their windows, each with the registration session the service opens
/// (BENCHMARKS.md: sign-in after 100,000 grants): a pass for `g{i}@bench.test` created by the
/// help desk, signed in with, a session opened; 32 at a time. The passes last the policy's
/// default lifetime, so the grants' windows are open while the benchmark runs.
async fn seed<S: AsyncStore + 'static>(store: S, config: EngineConfig, n: u32) {
    use std::sync::atomic::{AtomicU32, Ordering};
    let engine = Arc::new(AsyncEngine::new(SystemClock::new(), store, config));
    let helpdesk = Principal::member(UserId::new("helpdesk@contoso.com").expect("an id"))
        .role(DirectoryRole::AuthenticationAdministrator);
    let next = Arc::new(AtomicU32::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let (engine, helpdesk, next) = (engine.clone(), helpdesk.clone(), next.clone());
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let user =
                    Principal::member(UserId::new(&format!("g{i}@bench.test")).expect("an id"));
                let created = engine
                    .create(&helpdesk, &user, &CreateRequest::new(), &mut SysRng)
                    .await
                    .expect("a pass created");
                let request = SignInRequest::new(temporary_access_pass::signin::Client::Browser);
                let grant = engine
                    .redeem(&user, created.passcode.expose_secret(), request)
                    .await
                    .expect("a sign-in")
                    .outcome
                    .expect("a grant");
                engine
                    .open_session(&user, &grant, &mut SysRng)
                    .await
                    .expect("a session opened");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("a seeding task");
    }
    eprintln!("seeded {n} grants, each with its registration session");
}

/// Serves, or seeds `TAP_SEED_GRANTS` grants and exits.
async fn run<S: AsyncStore + 'static>(store: S, config: EngineConfig, directory: StaticDirectory) {
    match var("TAP_SEED_GRANTS") {
        Some(n) => seed(store, config, n.parse().expect("a number of grants")).await,
        None => serve(store, config, directory).await,
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[tokio::main]
async fn main() {
    let pepper =
        std::fs::read(var("TAP_PEPPER_FILE").expect("TAP_PEPPER_FILE")).expect("the pepper");
    let config = EngineConfig::new(Pepper::new(&pepper).expect("a pepper of 32 bytes or more"));
    let directory = StaticDirectory::from_json(
        &std::fs::read_to_string(var("TAP_DIRECTORY_FILE").expect("TAP_DIRECTORY_FILE"))
            .expect("the directory"),
    )
    .expect("a directory");
    let timeout = Duration::from_secs(5);
    if let Some(url) = var("TAP_DATABASE_URL") {
        let pool = postgres_pool(postgres_config(&url, timeout).expect("a URL"), 16, timeout)
            .expect("a pool");
        migrate(&pool).await.expect("migrated");
        let tenant = var("TAP_TENANT").unwrap_or_else(|| "default".to_owned());
        run(
            PgStore::new(pool, &tenant).expect("a tenant"),
            config,
            directory,
        )
        .await;
    } else {
        let path = var("TAP_SQLITE_PATH").unwrap_or_else(|| "tap.db".to_owned());
        let store = SqliteStore::open(path).expect("the SQLite file");
        run(Blocking::new(store), config, directory).await;
    }
}
