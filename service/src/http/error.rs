//! Errors as Microsoft Graph writes them: `{"error": {"code", "message", "innerError":
//! {"request-id", "client-request-id", "date"}}}` with a fitting status, whatever answered the
//! request: a handler, a layer (a timeout, a body limit), or the router (an unknown route, a
//! method the route does not take). No message ever carries a passcode: the crate's errors
//! never hold one, the store's own errors are logged, not returned, and a sign-in's malformed
//! body is described without its values.

use std::fmt::Display;
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use temporary_access_pass::EngineError;
use temporary_access_pass::admin::{DeleteError, ViewError};
use temporary_access_pass::error::{CreateError, UpdatePolicyError};
use temporary_access_pass::onboarding::{
    AddMethodError, MethodAccessError, PasskeyError, ProvisionError,
};
use temporary_access_pass::signin::ShownRefusal;

use crate::identity::Unauthenticated;

/// An error response.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GraphError {
    /// The HTTP status.
    pub status: StatusCode,
    /// Graph's error code.
    pub code: &'static str,
    /// What went wrong, for a developer.
    pub message: String,
    /// `Retry-After`, in seconds, for a 429 or a 503.
    pub retry_after: Option<u64>,
    /// `WWW-Authenticate`, for a 401.
    pub www_authenticate: Option<String>,
}

/// What a [`GraphError`] leaves on its response for the envelope (`super::envelope`) to write
/// out with the request's ids.
#[derive(Debug, Clone)]
pub(super) struct ErrorBody {
    pub(super) code: &'static str,
    pub(super) message: String,
}

/// Marks a response whose error the store caused (a failure or a timeout), for the metrics.
#[derive(Debug, Clone, Copy)]
pub(super) struct StoreTrouble(pub(super) &'static str);

/// The code and message of an error response that carries no [`ErrorBody`]: one a layer or the
/// router made.
pub(super) fn default_body(status: StatusCode) -> ErrorBody {
    let (code, message) = match status.as_u16() {
        400 => ("badRequest", "the request is malformed"),
        401 => ("InvalidAuthenticationToken", "an access token is required"),
        403 => ("accessDenied", "the caller may not do this"),
        404 => ("Request_ResourceNotFound", "no such resource"),
        405 => ("notAllowed", "the route does not take this method"),
        408 => (
            "invalidRequest",
            "the request took too long to arrive or to answer",
        ),
        413 => ("invalidRequest", "the request body is too large"),
        414 => ("invalidRequest", "the request's URI is too long"),
        415 => (
            "notSupported",
            "the body must be JSON (Content-Type: application/json)",
        ),
        429 => ("activityLimitReached", "too many requests: try again later"),
        431 => ("invalidRequest", "the request's headers are too large"),
        503 => (
            "serviceNotAvailable",
            "the service could not complete the request",
        ),
        500..=599 => (
            "generalException",
            "the service failed to complete the request",
        ),
        _ => ("invalidRequest", "the request was refused"),
    };
    ErrorBody {
        code,
        message: message.to_owned(),
    }
}

/// Whether a body could not be read because it did not arrive within the body timeout
/// (`tower_http`'s `TimeoutBody`): a 408, not the 400 axum makes of any body error.
fn body_timed_out(rejection: &JsonRejection) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(rejection);
    while let Some(error) = source {
        if error.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        source = error.source();
    }
    false
}

impl GraphError {
    fn new(status: StatusCode, code: &'static str, message: impl Display) -> Self {
        Self {
            status,
            code,
            message: message.to_string(),
            retry_after: None,
            www_authenticate: None,
        }
    }

    /// 400: a body the route does not take (malformed JSON, a wrong type...), or 413 and 415
    /// as the body's size or content type say.
    #[must_use]
    pub fn bad_body(rejection: &JsonRejection) -> Self {
        if body_timed_out(rejection) {
            let body = default_body(StatusCode::REQUEST_TIMEOUT);
            return Self::new(StatusCode::REQUEST_TIMEOUT, body.code, body.message);
        }
        let status = rejection.status();
        match status {
            StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                let body = default_body(status);
                Self::new(status, body.code, body.message)
            }
            _ => Self::new(StatusCode::BAD_REQUEST, "badRequest", rejection.body_text()),
        }
    }

    /// 415: a body whose `Content-Type` is not JSON (`application/json`, or a `+json` type).
    #[must_use]
    pub fn not_json() -> Self {
        let body = default_body(StatusCode::UNSUPPORTED_MEDIA_TYPE);
        Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, body.code, body.message)
    }

    /// 400: the request is malformed.
    #[must_use]
    pub fn bad_request(message: impl Display) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "badRequest", message)
    }

    /// 400: a property the resource does not have (Graph refuses them).
    #[must_use]
    pub fn unknown_property(property: &str, resource: &str) -> Self {
        Self::bad_request(format_args!(
            "Property '{property}' does not exist on type 'microsoft.graph.{resource}'"
        ))
    }

    /// 404: the user or the pass named does not exist.
    #[must_use]
    pub fn not_found(what: impl Display) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!("{what} does not exist"),
        )
    }

    /// 403: the caller may not do this.
    #[must_use]
    pub fn forbidden(message: impl Display) -> Self {
        Self::new(StatusCode::FORBIDDEN, "accessDenied", message)
    }

    /// 409: the resource exists already.
    #[must_use]
    pub fn conflict(message: impl Display) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 401: a passkey's answer was refused.
    #[must_use]
    pub fn passkey_refused() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalidPasskey",
            "the passkey's answer was refused",
        )
    }

    /// 503 with `Retry-After`: the service is at a limit of its own.
    #[must_use]
    pub fn busy(message: impl Display) -> Self {
        let mut error = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "serviceNotAvailable",
            message,
        );
        error.retry_after = Some(1);
        error
    }

    /// A refused or failed step of a registration session (SPEC 5.5, 8.1, 8.3): 403, or 400
    /// when no options are outstanding.
    #[must_use]
    pub fn registration<E: Display>(
        error: EngineError<temporary_access_pass::signin::RegistrationError, E>,
    ) -> Self {
        use temporary_access_pass::signin::RegistrationError;
        Self::engine(error, |e| match e {
            e @ RegistrationError::NoOptions => Self::bad_request(e),
            e => Self::forbidden(e),
        })
    }

    /// 429: a source sent sign-ins faster than the limit; `Retry-After` says when to try again.
    #[must_use]
    pub fn too_many(retry_after: Duration) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "activityLimitReached",
            "too many sign-ins from this address: try again later",
        );
        error.retry_after = Some(retry_after.as_secs().max(1));
        error
    }

    /// 401: a sign-in with a pass was refused, with the one message users see.
    #[must_use]
    pub fn sign_in_refused(shown: ShownRefusal) -> Self {
        match shown {
            ShownRefusal::UnsupportedClient(_) => {
                Self::new(StatusCode::BAD_REQUEST, "unsupportedClient", shown)
            }
            _ => Self::new(
                StatusCode::UNAUTHORIZED,
                "invalidTemporaryAccessPass",
                shown,
            ),
        }
    }

    /// 503 with `Retry-After`: the store did not answer within its timeout.
    #[must_use]
    pub fn store_timeout(timeout: Duration) -> Self {
        tracing::warn!(
            timeout_ms = timeout.as_millis(),
            "the store did not answer in time"
        );
        let mut error = Self::unavailable_body();
        error.retry_after = Some(timeout.as_secs().clamp(1, 30));
        error
    }

    fn unavailable_body() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "serviceNotAvailable",
            "the service could not complete the request; try again later",
        )
    }

    /// 503; the detail (a database error) is for the operator's log, not the caller.
    fn unavailable(detail: impl Display) -> Self {
        tracing::error!(%detail, "the request could not be completed");
        let mut error = Self::unavailable_body();
        error.retry_after = Some(1);
        error
    }

    /// 503, or the rule's own status for a rejection.
    fn engine<R, E: Display>(error: EngineError<R, E>, rejected: impl FnOnce(R) -> Self) -> Self {
        match error {
            EngineError::Rejected(r) => rejected(r),
            EngineError::Store(e) => Self::unavailable(format_args!("the store failed: {e}")),
            EngineError::Rng(e) => Self::unavailable(e),
            EngineError::Contention { attempts } => {
                Self::unavailable(format_args!("gave up after {attempts} conflicting writes"))
            }
            _ => Self::unavailable("an engine error this service does not know"),
        }
    }

    /// A refused or failed creation.
    #[must_use]
    pub fn create<E: Display>(error: EngineError<CreateError, E>) -> Self {
        Self::engine(error, |e| match e {
            CreateError::Forbidden(e) => Self::forbidden(e),
            e @ CreateError::AlreadyHasValidPass { .. } => {
                Self::new(StatusCode::CONFLICT, "conflict", e)
            }
            e @ CreateError::ExistingPassMismatch { .. } => {
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "generalException", e)
            }
            e => Self::bad_request(e),
        })
    }

    /// A refused or failed addition of a method (SPEC 8.4, 8.5): a session that does not allow
    /// it or a role that lacks the right is 403, a user at the cap or a key registered already
    /// 409.
    #[must_use]
    pub fn add_method<E: Display>(error: EngineError<AddMethodError, E>) -> Self {
        Self::engine(error, |e| match e {
            AddMethodError::Registration(e) => Self::forbidden(e),
            AddMethodError::Forbidden(e) => Self::forbidden(e),
            e @ (AddMethodError::TooMany { .. } | AddMethodError::AlreadyRegistered(_)) => {
                Self::conflict(e)
            }
            e => Self::bad_request(e),
        })
    }

    /// A refused or failed read, listing or deletion of methods (SPEC 8.5).
    #[must_use]
    pub fn method_access<E: Display>(error: EngineError<MethodAccessError, E>) -> Self {
        Self::engine(error, |e| match e {
            MethodAccessError::Forbidden(e) => Self::forbidden(e),
            e => Self::new(StatusCode::INTERNAL_SERVER_ERROR, "generalException", e),
        })
    }

    /// A refused or failed provisioning step (SPEC 8.5).
    #[must_use]
    pub fn provision<E: Display>(error: EngineError<ProvisionError, E>) -> Self {
        Self::engine(error, |e| match e {
            ProvisionError::Forbidden(e) => Self::forbidden(e),
            e => Self::bad_request(e),
        })
    }

    /// A refused or failed passkey sign-in step (SPEC 8.6): 401 with the one message a
    /// passkey's refusal gets.
    #[must_use]
    pub fn passkey<E: Display>(error: EngineError<PasskeyError, E>) -> Self {
        Self::engine(error, |e| {
            tracing::info!(reason = %e, "a passkey sign-in was refused");
            Self::passkey_refused()
        })
    }

    /// A refused or failed policy change.
    #[must_use]
    pub fn update_policy<E: Display>(error: EngineError<UpdatePolicyError, E>) -> Self {
        Self::engine(error, |e| match e {
            e @ (UpdatePolicyError::Forbidden { .. } | UpdatePolicyError::NotGranted { .. }) => {
                Self::forbidden(e)
            }
            e => Self::bad_request(e),
        })
    }

    /// A refused or failed view.
    #[must_use]
    pub fn view<E: Display>(error: EngineError<ViewError, E>) -> Self {
        Self::engine(error, |e| match e {
            ViewError::Forbidden(e) => Self::forbidden(e),
            e => Self::new(StatusCode::INTERNAL_SERVER_ERROR, "generalException", e),
        })
    }

    /// A refused or failed deletion.
    #[must_use]
    pub fn delete<E: Display>(error: EngineError<DeleteError, E>) -> Self {
        Self::engine(error, |e| match e {
            DeleteError::Forbidden(e) => Self::forbidden(e),
            e => Self::new(StatusCode::INTERNAL_SERVER_ERROR, "generalException", e),
        })
    }

    /// A read that failed (reads refuse nothing).
    #[must_use]
    pub fn read<E: Display>(error: EngineError<core::convert::Infallible, E>) -> Self {
        Self::engine(error, |never| match never {})
    }

    /// A store call that failed outside the engine (the audit log's reader).
    #[must_use]
    pub fn store<E: Display>(error: E) -> Self {
        Self::unavailable(format_args!("the store failed: {error}"))
    }
}

impl From<Unauthenticated> for GraphError {
    fn from(e: Unauthenticated) -> Self {
        if e.unavailable {
            return Self::busy(&e.message);
        }
        let mut error = Self::new(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            &e.message,
        );
        // RFC 6750: no error attribute when no token came at all.
        error.www_authenticate = Some(if e.token_given {
            format!(
                "Bearer error=\"invalid_token\", error_description=\"{}\"",
                e.message.replace(['"', '\\'], "'")
            )
        } else {
            "Bearer".to_owned()
        });
        error
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        let headers = response.headers_mut();
        if let Some(seconds) = self.retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(challenge) = self
            .www_authenticate
            .and_then(|c| HeaderValue::from_str(&c).ok())
        {
            headers.insert(WWW_AUTHENTICATE, challenge);
        }
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.extensions_mut().insert(StoreTrouble("store"));
        }
        response.extensions_mut().insert(ErrorBody {
            code: self.code,
            message: self.message,
        });
        response
    }
}
