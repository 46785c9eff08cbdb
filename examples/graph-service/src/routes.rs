//! The routes, one file per resource, and the layers every route runs behind, outermost first:
//!
//! 1. a request id (`request-id`, a UUID) set on the request and echoed on the response, with
//!    the caller's `client-request-id` echoed too, as Graph sends them;
//! 2. the envelope: Graph's error body on every error, whatever made it, with the ids and the
//!    date in `innerError`; `Cache-Control: no-store` on every response; 414 and 431 for a URI
//!    or headers too long; the request counted in the metrics;
//! 3. the request log (one JSON line per request);
//! 4. a panic answered as a 500 (the process keeps serving);
//! 5. the body limit (413), the body timeout (408), and the request timeout (408).

mod audit;
mod health;
mod onboarding;
mod passes;
mod policy;
mod signin;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use temporary_access_pass::store::AsyncStore;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

use crate::error::{ErrorBody, StoreTrouble, default_body};
use crate::{App, Authenticator, Directory, GraphError};

/// The policy's route, under `/v1.0`.
pub const POLICY_PATH: &str =
    "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass";

/// The header of the request id the service gives every request.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("request-id");

/// The header of the id a caller gives its request, echoed back.
pub const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("client-request-id");

/// The longest request URI taken, in bytes; longer ones are answered 414.
pub const MAX_URI: usize = 4096;

/// The most header bytes taken (names and values); more are answered 431.
pub const MAX_HEADERS: usize = 16 * 1024;

const PASSES: &str = "/v1.0/users/{id}/authentication/temporaryAccessPassMethods";
const PASS: &str = "/v1.0/users/{id}/authentication/temporaryAccessPassMethods/{passId}";

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
    ("GET", "/v1.0/users/{id}/authentication/fido2Methods"),
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
    let limits = app.limits;
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
            "/v1.0/users/{id}/authentication/fido2Methods",
            get(onboarding::fido2_methods::<S, A, D>),
        )
        .route(
            "/v1.0/auditLogs/directoryAudits",
            get(audit::list::<S, A, D>),
        )
        .route(
            "/signIn/temporaryAccessPass",
            post(signin::sign_in::<S, A, D>),
        )
        .route("/onboarding", get(onboarding::page))
        .route("/onboarding.js", get(onboarding::script))
        .route("/onboarding.css", get(onboarding::style))
        .route(
            "/webauthn/registration/options",
            post(onboarding::registration_options::<S, A, D>),
        )
        .route(
            "/webauthn/registration",
            post(onboarding::register::<S, A, D>),
        )
        .route(
            "/webauthn/authentication/options",
            post(onboarding::authentication_options::<S, A, D>),
        )
        .route(
            "/webauthn/authentication",
            post(onboarding::authenticate::<S, A, D>),
        )
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready::<S, A, D>))
        .route("/metrics", get(health::metrics::<S, A, D>))
        .fallback(|| async { GraphError::not_found("this route") })
        .with_state(app.clone());
    routes.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(middleware::from_fn_with_state(app, envelope::<S, A, D>))
            .layer(crate::telemetry::request_log())
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

/// The bytes of a request's headers, names and values.
fn header_bytes(request: &Request) -> usize {
    request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len().saturating_add(value.len()))
        .fold(0, usize::saturating_add)
}

/// The envelope of the module's list (step 2).
async fn envelope<S, A, D>(State(app): AppState<S, A, D>, request: Request, next: Next) -> Response
where
    S: AsyncStore + 'static,
    A: Authenticator,
    D: Directory,
{
    let started = crate::telemetry::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let request_id = request.headers().get(REQUEST_ID).cloned();
    // Echoed only when it is a short token a log can hold (Graph's are GUIDs).
    let client_request_id = request
        .headers()
        .get(CLIENT_REQUEST_ID)
        .filter(|v| {
            v.len() <= 64
                && v.as_bytes()
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
        .cloned();
    let mut response = if request.uri().to_string().len() > MAX_URI {
        StatusCode::URI_TOO_LONG.into_response()
    } else if header_bytes(&request) > MAX_HEADERS {
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE.into_response()
    } else {
        next.run(request).await
    };
    let status = response.status();
    if let Some(StoreTrouble(kind)) = response.extensions().get::<StoreTrouble>().copied() {
        app.metrics
            .store_trouble(if kind == "store" { "failed" } else { kind });
    }
    if status.is_client_error() || status.is_server_error() {
        let body = response
            .extensions_mut()
            .remove::<ErrorBody>()
            .unwrap_or_else(|| default_body(status));
        let date = temporary_access_pass::graph::rfc3339::format(crate::telemetry::utc_now())
            .unwrap_or_default();
        let mut inner = serde_json::Map::new();
        inner.insert("date".into(), Value::String(date));
        if let Some(id) = request_id.as_ref().and_then(|v| v.to_str().ok()) {
            inner.insert("request-id".into(), Value::String(id.to_owned()));
        }
        if let Some(id) = client_request_id.as_ref().and_then(|v| v.to_str().ok()) {
            inner.insert("client-request-id".into(), Value::String(id.to_owned()));
        }
        let document = json!({
            "error": { "code": body.code, "message": body.message, "innerError": inner }
        });
        let (mut parts, _) = response.into_parts();
        parts.headers.remove(axum::http::header::CONTENT_LENGTH);
        parts
            .headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response = Response::from_parts(parts, Body::from(document.to_string()));
    }
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(id) = client_request_id {
        headers.insert(CLIENT_REQUEST_ID, id);
    }
    app.metrics.request(
        &method,
        &route,
        status.as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// A JSON object body's properties that `allowed` does not list, as Graph refuses them:
/// the first one found is named, with the resource it does not belong to. Nested objects are
/// checked by the caller.
fn refuse_unknown(document: &Value, allowed: &[&str], resource: &str) -> Result<(), GraphError> {
    let Some(object) = document.as_object() else {
        return Err(GraphError::bad_request(format_args!(
            "the body must be a JSON object ({resource})"
        )));
    };
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(unknown) => Err(GraphError::unknown_property(unknown, resource)),
        None => Ok(()),
    }
}

/// An `@odata.type` a body states must be the resource's own.
fn refuse_other_type(document: &Value, expected: &str) -> Result<(), GraphError> {
    match document.get("@odata.type") {
        None => Ok(()),
        Some(Value::String(found)) if found == expected => Ok(()),
        Some(found) => Err(GraphError::bad_request(format_args!(
            "@odata.type: expected {expected}, found {found}"
        ))),
    }
}
