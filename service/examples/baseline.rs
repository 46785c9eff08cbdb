//! The benchmark's baseline (BENCHMARKS.md, "The service under load"): the same two store round
//! trips as the service's creation and sign-in routes, in a minimal axum handler. The same
//! engine, store and pool settings, the same directory lookup and JSON bodies; none of the
//! service's layers (request ids, the error envelope, the request log, timeouts, limits,
//! metrics), no authentication (the creation's caller is fixed), and `axum::serve`.
//!
//! `cargo run --release -p temporary-access-pass-graph-service --example baseline`, with the
//! service's `TAP_LISTEN`, `TAP_PEPPER_FILE`, `TAP_DIRECTORY_FILE`, and `TAP_DATABASE_URL` or
//! `TAP_SQLITE_PATH`.
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
            Ok(grant) => (
                StatusCode::OK,
                Json(json!({ "userId": grant.user.as_str(), "passId": grant.pass.to_string() })),
            ),
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
        serve(
            PgStore::new(pool, &tenant).expect("a tenant"),
            config,
            directory,
        )
        .await;
    } else {
        let path = var("TAP_SQLITE_PATH").unwrap_or_else(|| "tap.db".to_owned());
        let store = SqliteStore::open(path).expect("the SQLite file");
        serve(Blocking::new(store), config, directory).await;
    }
}
