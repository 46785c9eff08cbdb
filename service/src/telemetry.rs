//! What the service tells its operator: its log, JSON lines on standard error, each written
//! whole (the subscriber formats a line into a buffer and writes it with one call); and its
//! [`Metrics`]. The request log's line is `http::trace`'s: its request id, method, route,
//! status, latency and caller, never a body, so never a code. The audit trail is not this log:
//! it is the store's outbox (SPEC 7.1), read at `GET /v1.0/auditLogs/directoryAudits`.

mod metrics;

pub use metrics::Metrics;
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
