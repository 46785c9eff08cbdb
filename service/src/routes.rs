//! The routes, one file per resource, and the layers every route runs behind, outermost first:
//!
//! 1. a request id (`request-id`, a UUID) set on the request and echoed on the response, with
//!    the caller's `client-request-id` echoed too, as Graph sends them;
//! 2. the envelope ([`crate::http::envelope`]): Graph's error body on every error, whatever
//!    made it; `Cache-Control: no-store` on every response; 414 and 431 for a URI or headers
//!    too long; the request counted in the metrics;
//! 3. the request log (one JSON line per request);
//! 4. a panic answered as a 500 (the process keeps serving);
//! 5. the body limit (413), the body timeout (408), and the request timeout (408).
//!
//! Route files import what they share from below (`http`, `app`, `passkeys`), never from each
//! other.
//!
//! The operations' routes ([`ops_router`]: readiness, which asks the store, and the metrics,
//! which count sign-ins by outcome) are not on the public router: they are served on an
//! address of their own (`TAP_OPS_LISTEN`), which a deployment keeps off the load balancer. A
//! public caller reaches only the cheap liveness check, and nothing that moves with whether a
//! user holds a pass.

mod audit;
mod authentication;
mod fido2;
mod health;
mod page;
mod passes;
mod policy;
mod registration;
mod signin;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use temporary_access_pass::store::AsyncStore;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

use crate::app::App;
use crate::http::{GraphError, REQUEST_ID, envelope, request_log};
use crate::identity::{Authenticator, Directory};

/// The policy's route, under `/v1.0`.
pub const POLICY_PATH: &str =
    "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass";

const PASSES: &str = "/v1.0/users/{id}/authentication/temporaryAccessPassMethods";
const PASS: &str = "/v1.0/users/{id}/authentication/temporaryAccessPassMethods/{passId}";
const FIDO2_METHODS: &str = "/v1.0/users/{id}/authentication/fido2Methods";
/// A method, or `creationOptions` (a function call of Graph's, with its parameters).
const FIDO2_METHOD: &str = "/v1.0/users/{id}/authentication/fido2Methods/{methodId}";

/// Every route the service answers, as `(method, path)`: the router is built from the same
/// paths, and a test checks `openapi.json` against this list and the router against both.
pub const ROUTES: &[(&str, &str)] = &[
    (
        "GET",
        "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass",
    ),
    (
        "PATCH",
        "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass",
    ),
    ("GET", PASSES),
    ("POST", PASSES),
    ("GET", PASS),
    ("DELETE", PASS),
    ("GET", FIDO2_METHODS),
    ("POST", FIDO2_METHODS),
    ("GET", FIDO2_METHOD),
    ("DELETE", FIDO2_METHOD),
    ("GET", "/v1.0/auditLogs/directoryAudits"),
    ("POST", "/signIn/temporaryAccessPass"),
    ("GET", "/onboarding"),
    ("GET", "/onboarding.js"),
    ("GET", "/onboarding.css"),
    ("POST", "/webauthn/registration/options"),
    ("POST", "/webauthn/registration"),
    ("POST", "/webauthn/authentication/options"),
    ("POST", "/webauthn/authentication"),
    ("GET", "/health/live"),
];

/// The routes of the operations' address, as `(method, path)`.
pub const OPS_ROUTES: &[(&str, &str)] = &[
    ("GET", "/health/live"),
    ("GET", "/health/ready"),
    ("GET", "/metrics"),
];

type AppState<S, A, D> = State<Arc<App<S, A, D>>>;

/// The service's routes over `app`, behind the layers of the module's list.
pub fn router<S, A, D>(app: Arc<App<S, A, D>>) -> Router
where
    S: AsyncStore + 'static,
    A: Authenticator,
    D: Directory,
{
    let routes = Router::new()
        .route(
            &format!("/v1.0{POLICY_PATH}"),
            get(policy::get::<S, A, D>).patch(policy::patch::<S, A, D>),
        )
        .route(
            PASSES,
            get(passes::list::<S, A, D>).post(passes::create::<S, A, D>),
        )
        .route(
            PASS,
            get(passes::get_one::<S, A, D>).delete(passes::delete_one::<S, A, D>),
        )
        .route(
            FIDO2_METHODS,
            get(fido2::list::<S, A, D>).post(fido2::provision::<S, A, D>),
        )
        .route(
            FIDO2_METHOD,
            get(fido2::get_one::<S, A, D>).delete(fido2::delete_one::<S, A, D>),
        )
        .route(
            "/v1.0/auditLogs/directoryAudits",
            get(audit::list::<S, A, D>),
        )
        .route(
            "/signIn/temporaryAccessPass",
            post(signin::sign_in::<S, A, D>),
        )
        .route("/onboarding", get(page::page))
        .route("/onboarding.js", get(page::script))
        .route("/onboarding.css", get(page::style))
        .route(
            "/webauthn/registration/options",
            post(registration::registration_options::<S, A, D>),
        )
        .route(
            "/webauthn/registration",
            post(registration::register::<S, A, D>),
        )
        .route(
            "/webauthn/authentication/options",
            post(authentication::authentication_options::<S, A, D>),
        )
        .route(
            "/webauthn/authentication",
            post(authentication::authenticate::<S, A, D>),
        )
        .route("/health/live", get(health::live));
    layered(routes, app)
}

/// The operations' routes over `app` (liveness, readiness, metrics), behind the same layers:
/// for the operations' own address, never the public one.
pub fn ops_router<S, A, D>(app: Arc<App<S, A, D>>) -> Router
where
    S: AsyncStore + 'static,
    A: Authenticator,
    D: Directory,
{
    let routes = Router::new()
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready::<S, A, D>))
        .route("/metrics", get(health::metrics::<S, A, D>));
    layered(routes, app)
}

/// `routes` over `app`, Graph's 404 for any other path, behind the layers of the module's list.
fn layered<S, A, D>(routes: Router<Arc<App<S, A, D>>>, app: Arc<App<S, A, D>>) -> Router
where
    S: AsyncStore + 'static,
    A: Authenticator,
    D: Directory,
{
    let limits = app.limits;
    let metrics = app.metrics.clone();
    routes
        .fallback(|| async { GraphError::not_found("this route") })
        .with_state(app)
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(middleware::from_fn_with_state(metrics, envelope))
                .layer(request_log())
                .layer(CatchPanicLayer::custom(|_| {
                    tracing::error!("a request's handler panicked");
                    StatusCode::INTERNAL_SERVER_ERROR.into_response()
                }))
                .layer(RequestBodyLimitLayer::new(limits.body_limit))
                .layer(RequestBodyTimeoutLayer::new(limits.body_timeout))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    limits.request_timeout,
                )),
        )
}
