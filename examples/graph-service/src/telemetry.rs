//! The service's own log: JSON, one line per event, each line written whole (the subscriber
//! formats a line into a buffer and writes it with one call), to standard error. One line per
//! request: its request id, method, route, status, latency and caller; never a body, so never
//! a code. The audit trail is not this log: it is the store's outbox (SPEC 7.1), read at
//! `GET /v1.0/auditLogs/directoryAudits`.

use std::time::{Duration, Instant};

use axum::extract::MatchedPath;
use axum::http::{Request, Response};
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{MakeSpan, OnResponse, TraceLayer};
use tracing::{Span, field};
use tracing_subscriber::EnvFilter;

/// Sets the process's subscriber: JSON lines on standard error, filtered by `filter` (`info`,
/// `temporary_access_pass_graph_service=debug`...).
///
/// # Errors
///
/// The filter's error, naming it.
pub fn init(filter: &str) -> Result<(), String> {
    let filter = EnvFilter::try_new(filter).map_err(|e| format!("TAP_LOG={filter}: {e}"))?;
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init()
        .map_err(|e| e.to_string())
}

/// The wall clock, for the service's own timings (the engine reads its `Clock`).
#[must_use]
#[expect(
    clippy::disallowed_methods,
    reason = "the service times requests and key refreshes; the engine's time stays injected"
)]
pub fn now() -> Instant {
    Instant::now()
}

/// Now, in UTC, for the `date` of Graph's error bodies.
#[must_use]
#[expect(
    clippy::disallowed_methods,
    reason = "the date an error answered, as Graph writes it; the engine's time stays injected"
)]
pub fn utc_now() -> temporary_access_pass::time::UtcDateTime {
    temporary_access_pass::time::UtcDateTime::now()
}

/// The span of a request: its id (set by the request-id layer before), method and route; the
/// caller is recorded by the handler once authenticated.
#[derive(Debug, Clone, Copy)]
pub struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, request: &Request<B>) -> Span {
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map_or("unmatched", MatchedPath::as_str);
        let id = request
            .headers()
            .get(crate::routes::REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        tracing::info_span!(
            "request",
            request_id = %id,
            method = %request.method(),
            route = %route,
            caller = field::Empty,
        )
    }
}

/// The line a request leaves: its status and latency, in its span.
#[derive(Debug, Clone, Copy)]
pub struct RequestLine;

impl<B> OnResponse<B> for RequestLine {
    fn on_response(self, response: &Response<B>, latency: Duration, _: &Span) {
        let status = response.status().as_u16();
        let latency_ms = latency.as_secs_f64() * 1000.0;
        if status >= 500 {
            tracing::error!(status, latency_ms, "request");
        } else {
            tracing::info!(status, latency_ms, "request");
        }
    }
}

/// The request log's layer.
pub type RequestLog =
    TraceLayer<SharedClassifier<ServerErrorsAsFailures>, RequestSpan, (), RequestLine, (), (), ()>;

/// One line per request (see the module).
#[must_use]
pub fn request_log() -> RequestLog {
    TraceLayer::new_for_http()
        .make_span_with(RequestSpan)
        .on_request(())
        .on_response(RequestLine)
        .on_body_chunk(())
        .on_eos(())
        .on_failure(())
}

/// Records who called in the request's span, for its line.
pub fn record_caller(id: &str) {
    Span::current().record("caller", id);
}
