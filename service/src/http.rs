//! What every route shares, below the routes: Graph's error body ([`GraphError`] and the
//! [`envelope`] middleware), request ids, the request log, the caller and JSON-body extractors
//! ([`Caller`], [`GraphJson`]), the source address ([`Source`]) and the ceremonies' cookies.

mod caller;
mod cookie;
mod envelope;
mod error;
mod json;
mod request_id;
mod source;
mod trace;

pub use caller::{Caller, IdentifyCaller};
pub use cookie::{HOST_PREFIX, cookie, cookie_name, set_cookie};
pub use envelope::{MAX_HEADER_LINES, MAX_HEADERS, MAX_URI, envelope};
pub use error::GraphError;
pub use json::{GraphJson, refuse_other_type, refuse_unknown};
pub use request_id::{CLIENT_REQUEST_ID, REQUEST_ID};
pub use source::Source;
pub use trace::{RequestLine, RequestLog, RequestSpan, record_caller, request_log};
