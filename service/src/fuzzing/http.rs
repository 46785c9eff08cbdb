//! Hostile HTTP through the whole router: a fresh in-memory service per input, its policy
//! enabled and a pass created for Chris (the demonstration's user) by the harness, then up to
//! eight requests the input makes: any method, a route with any user or id in it (or any path
//! at all; a pass by the id a creation showed), any caller, content type, headers, query and
//! body, and clock moves between them.
//! A body may say `$CODE` where the last pass created has its code, and a request may carry
//! the last cookie the service set, so that sign-ins, registrations and their refusals are
//! reached, not only the parsers in front of them.
//!
//! What must hold for every response:
//! - never a 5xx: the in-memory store cannot fail, so a 5xx is a bug (a panic is caught by the
//!   router's layer and answered 500, which fails here too);
//! - every refusal (4xx) is Graph's error body: `error.code`, `error.message`, and the
//!   request's id in `error.innerError`;
//! - every response carries a `request-id`;
//! - a code is shown only by a creation: no other response holds the property
//!   `temporaryAccessPass`, nor the code of a pass created before (unless the request itself
//!   sent that code: a refusal may quote what it was sent).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, SET_COOKIE};
use axum::http::{HeaderName, HeaderValue, Method, Request, StatusCode};
use serde_json::Value;
use temporary_access_pass::store::InMemoryStore;
use temporary_access_pass::time::{Duration as Span, UtcDateTime};
use temporary_access_pass::{AsyncEngine, EngineConfig, ManualClock, Pepper};
use tower::ServiceExt as _;

use crate::app::App;
use crate::identity::{BearerTokens, StaticDirectory};
use crate::{Limits, POLICY_PATH, REQUEST_ID, router};

mod input;

use input::{Call, DIRECTORY, METHODS, NOW, Route, Step, TOKENS, User};

/// What a sequence has learnt: the codes and pass ids shown so far, the last cookie set.
#[derive(Debug, Default)]
struct Learnt {
    codes: Vec<String>,
    passes: Vec<String>,
    cookie: Option<String>,
}

/// The fuzz target: `data` as up to eight steps against a fresh service (see the module).
///
/// # Panics
///
/// When a response breaks one of the module's properties.
#[must_use]
pub fn run(data: &[u8]) -> Vec<Seen> {
    let Some(steps) = super::input::<Vec<Step>>(data) else {
        return Vec::new();
    };
    super::runtime().block_on(sequence(steps))
}

/// One of an input's requests (the harness's own set-up left out) and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Seen {
    /// The request's method.
    pub method: Method,
    /// The request's path.
    pub path: String,
    /// The response's status.
    pub status: StatusCode,
}

#[expect(
    clippy::expect_used,
    reason = "the harness's own set-up, from constants"
)]
async fn sequence(steps: Vec<Step>) -> Vec<Seen> {
    let clock = Arc::new(ManualClock::new(
        UtcDateTime::from_unix_timestamp(NOW).expect("2026-12-07"),
    ));
    let pepper = Pepper::new(b"the fuzzed service's pepper, 32 bytes or more").expect("a pepper");
    let limits = Limits {
        request_timeout: Duration::from_secs(5),
        ..Limits::default()
    };
    let app = App::new(
        AsyncEngine::new(
            clock.clone(),
            // Few shards: the default 16,384 would be built for every input.
            InMemoryStore::with_shards(4),
            EngineConfig::new(pepper),
        ),
        BearerTokens::from_json(TOKENS).expect("the demonstration's tokens"),
        StaticDirectory::from_json(DIRECTORY).expect("the demonstration's directory"),
    )
    .limits(limits);
    let router = router(Arc::new(app));
    let mut learnt = Learnt::default();
    set_up(&router, &mut learnt).await;
    let mut seen = Vec::new();
    for step in steps.into_iter().take(8) {
        match step {
            Step::Wait(minutes) => {
                let _ = clock.advance(Span::minutes(i64::from(minutes)));
            }
            Step::Call(call) => {
                if let Some((request, echo)) = request(*call, &learnt) {
                    let (method, path) =
                        (request.method().clone(), request.uri().path().to_owned());
                    let status = send(&router, request, echo, &mut learnt).await;
                    seen.push(Seen {
                        method,
                        path,
                        status,
                    });
                }
            }
        }
    }
    seen
}

/// The policy enabled for everyone, and a pass for Chris, through the routes themselves.
#[expect(
    clippy::expect_used,
    reason = "the harness's own set-up, from constants"
)]
async fn set_up(router: &Router, learnt: &mut Learnt) {
    let json = |method: Method, path: String, token: &str, body: &str| {
        Request::builder()
            .method(method)
            .uri(path)
            .header(AUTHORIZATION, token)
            .header(CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_owned()))
            .expect("a request from constants")
    };
    let enable = r#"{"state": "enabled", "isUsableOnce": false, "includeTargets":
        [{"targetType": "group", "id": "all_users", "isRegistrationRequired": false}]}"#;
    let path = format!("/v1.0{POLICY_PATH}");
    let patched = send(
        router,
        json(Method::PATCH, path, "Bearer ga-demo-token", enable),
        false,
        learnt,
    )
    .await;
    assert_eq!(
        patched,
        StatusCode::NO_CONTENT,
        "the harness enables the policy"
    );
    let path = Route::Passes(User::Chris).path(None);
    let created = send(
        router,
        json(Method::POST, path, "Bearer helpdesk-demo-token", "{}"),
        false,
        learnt,
    )
    .await;
    assert_eq!(created, StatusCode::CREATED, "the harness creates a pass");
}

/// The HTTP request `call` makes, and whether its body holds a code the sequence was shown
/// (a refusal may quote what it was sent: that is no leak). `None` when its parts are not
/// valid HTTP (a client could not send them either).
fn request(call: Call, learnt: &Learnt) -> Option<(Request<Body>, bool)> {
    let method = METHODS
        .get(
            usize::from(call.method)
                .checked_rem(METHODS.len())
                .unwrap_or(0),
        )
        .cloned()
        .unwrap_or(Method::GET);
    let mut uri = call.route.path(learnt.passes.last().map(String::as_str));
    if let Some(query) = &call.query {
        uri.push('?');
        uri.push_str(query);
    }
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(authorization) = call.caller.authorization() {
        builder = builder.header(AUTHORIZATION, HeaderValue::from_str(&authorization).ok()?);
    }
    match call.content_type {
        0 => builder = builder.header(CONTENT_TYPE, "application/json"),
        1 => {}
        2 => builder = builder.header(CONTENT_TYPE, "application/x+json; charset=utf-8"),
        _ => builder = builder.header(CONTENT_TYPE, "text/plain"),
    }
    if call.with_cookie
        && let Some(cookie) = &learnt.cookie
    {
        builder = builder.header(COOKIE, cookie.as_str());
    }
    for (name, value) in call.headers.iter().take(8) {
        let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
        builder = builder.header(name, HeaderValue::from_str(value).ok()?);
    }
    let mut body = call.body.bytes();
    if let Some(code) = learnt.codes.last() {
        body = replace(&body, b"$CODE", code.as_bytes());
    }
    let echo = learnt
        .codes
        .iter()
        .any(|code| !code.is_empty() && body.windows(code.len()).any(|w| w == code.as_bytes()));
    Some((builder.body(Body::from(body)).ok()?, echo))
}

/// `haystack` with every `needle` replaced by `with`.
fn replace(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while !rest.is_empty() {
        if rest.starts_with(needle) {
            out.extend_from_slice(with);
            rest = rest.get(needle.len()..).unwrap_or_default();
        } else {
            out.extend_from_slice(rest.get(..1).unwrap_or_default());
            rest = rest.get(1..).unwrap_or_default();
        }
    }
    out
}

/// Sends `request`, checks the response against the module's properties, and learns from it.
#[expect(
    clippy::expect_used,
    clippy::panic,
    reason = "a broken property is the fuzzer's finding"
)]
async fn send(
    router: &Router,
    request: Request<Body>,
    echo: bool,
    learnt: &mut Learnt,
) -> StatusCode {
    let head = request.method() == Method::HEAD;
    // A creation: a POST to a user's passes, whatever the path's spelling after the user.
    let creation = request.method() == Method::POST
        && request
            .uri()
            .path()
            .trim_end_matches('/')
            .ends_with("/authentication/temporaryAccessPassMethods");
    let response = router
        .clone()
        .oneshot(request)
        .await
        .expect("the router's error type is Infallible");
    let status = response.status();
    assert!(
        !status.is_server_error(),
        "a {status} from the in-memory service"
    );
    assert!(
        response.headers().contains_key(REQUEST_ID),
        "a {status} without a request-id"
    );
    if let Some(cookie) = response
        .headers()
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
    {
        learnt.cookie = Some(cookie.to_owned());
    }
    let body = to_bytes(response.into_body(), 4 << 20)
        .await
        .expect("a body within 4 MiB");
    let json: Option<Value> = serde_json::from_slice(&body).ok();
    // A HEAD's body is dropped by the router, as HTTP wants.
    if status.is_client_error() && !head {
        let error = json.as_ref().and_then(|j| j.get("error"));
        let is_graph = error.is_some_and(|e| {
            e.get("code")
                .and_then(Value::as_str)
                .is_some_and(|c| !c.is_empty())
                && e.get("message").is_some_and(Value::is_string)
                && e.pointer("/innerError/request-id")
                    .is_some_and(Value::is_string)
        });
        assert!(is_graph, "a {status} without Graph's error body: {body:?}");
    }
    let text = String::from_utf8_lossy(&body);
    let shown = json
        .as_ref()
        .and_then(|j| j.get("temporaryAccessPass"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    if creation && status == StatusCode::CREATED {
        let Some(code) = shown else {
            panic!("a creation without its code");
        };
        learnt.codes.push(code);
        if let Some(id) = json
            .as_ref()
            .and_then(|j| j.get("id"))
            .and_then(Value::as_str)
        {
            learnt.passes.push(id.to_owned());
        }
    } else {
        assert!(
            shown.is_none(),
            "a code shown by a {status} that is no creation"
        );
        for code in learnt.codes.iter().filter(|_| !echo) {
            assert!(
                !text.contains(code.as_str()),
                "a code repeated by a {status}"
            );
        }
    }
    status
}
