//! Graph's error envelope, a middleware around every route: whatever made an error response
//! (a handler's [`GraphError`](super::GraphError), a layer's timeout or body limit, the
//! router's unknown route or method), it leaves with Graph's body, `{"error": {"code",
//! "message", "innerError": {"date", "request-id", "client-request-id"}}}`. Every response
//! gets `Cache-Control: no-store` and the caller's `client-request-id` back; a URI or headers
//! too long are answered 414 and 431 here; each request is counted in the [`Metrics`].

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::error::{ErrorBody, StoreTrouble, default_body};
use super::request_id::{CLIENT_REQUEST_ID, REQUEST_ID, client_request_id};
use crate::clock::{now, utc_now};
use crate::telemetry::Metrics;

/// The longest request URI taken, in bytes; longer ones are answered 414.
pub const MAX_URI: usize = 4096;

/// The most header bytes taken (each line's name, value, colon and line feed); more are
/// answered 431.
pub const MAX_HEADERS: usize = 16 * 1024;

/// The most header lines hyper parses: one more than fit in [`MAX_HEADERS`] at 3 bytes a line
/// (`a:` and a line feed), so a request over the limit by its count of lines is over it by its
/// size too, and is answered by the envelope in Graph's body. Only a head far past both (more
/// lines than this, or more bytes than the server's read buffer) gets hyper's bare 431.
pub const MAX_HEADER_LINES: usize = MAX_HEADERS / 3 + 1;

/// The bytes of a request's header lines, at least as sent: each line's name and value, and
/// its colon and line feed.
fn header_bytes(request: &Request) -> usize {
    request
        .headers()
        .iter()
        .map(|(name, value)| {
            name.as_str()
                .len()
                .saturating_add(value.len())
                .saturating_add(2)
        })
        .fold(0, usize::saturating_add)
}

/// Graph's body for an error response: the code and message its [`ErrorBody`] carries (or the
/// status's default), with the request's ids and the date.
fn graph_body(
    mut response: Response,
    request_id: Option<&HeaderValue>,
    client_request_id: Option<&HeaderValue>,
) -> Response {
    let status = response.status();
    let body = response
        .extensions_mut()
        .remove::<ErrorBody>()
        .unwrap_or_else(|| default_body(status));
    let date = temporary_access_pass::graph::rfc3339::format(utc_now()).unwrap_or_default();
    let mut inner = serde_json::Map::new();
    inner.insert("date".into(), Value::String(date));
    for (name, id) in [
        ("request-id", request_id),
        ("client-request-id", client_request_id),
    ] {
        if let Some(id) = id.and_then(|v| v.to_str().ok()) {
            inner.insert(name.into(), Value::String(id.to_owned()));
        }
    }
    let document = json!({
        "error": { "code": body.code, "message": body.message, "innerError": inner }
    });
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(CONTENT_LENGTH);
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Response::from_parts(parts, Body::from(document.to_string()))
}

/// The middleware (see the module).
pub async fn envelope(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let started = now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let request_id = request.headers().get(REQUEST_ID).cloned();
    let client_request_id = client_request_id(request.headers());
    let mut response = if request.uri().to_string().len() > MAX_URI {
        StatusCode::URI_TOO_LONG.into_response()
    } else if header_bytes(&request) > MAX_HEADERS {
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE.into_response()
    } else {
        next.run(request).await
    };
    let status = response.status();
    if let Some(StoreTrouble(kind)) = response.extensions().get::<StoreTrouble>().copied() {
        metrics.store_trouble(if kind == "store" { "failed" } else { kind });
    }
    if status.is_client_error() || status.is_server_error() {
        response = graph_body(response, request_id.as_ref(), client_request_id.as_ref());
    }
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(id) = client_request_id {
        headers.insert(CLIENT_REQUEST_ID, id);
    }
    metrics.request(
        &method,
        &route,
        status.as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}
