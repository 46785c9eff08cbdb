//! Request ids, as Graph sends them: the service gives every request a `request-id` (a UUID,
//! set by `tower_http`'s request-id layers before anything else runs) and echoes the caller's
//! own `client-request-id` when it is a short token a log can hold.

use axum::http::{HeaderMap, HeaderName, HeaderValue};

/// The header of the request id the service gives every request.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("request-id");

/// The header of the id a caller gives its request, echoed back.
pub const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("client-request-id");

/// The caller's `client-request-id`, when it is at most 64 letters, digits, `-`, `_` and `.`
/// (Graph's are GUIDs); anything else is not echoed.
#[must_use]
pub(super) fn client_request_id(headers: &HeaderMap) -> Option<HeaderValue> {
    headers
        .get(CLIENT_REQUEST_ID)
        .filter(|v| {
            v.len() <= 64
                && v.as_bytes()
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
        .cloned()
}
