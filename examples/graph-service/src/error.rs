//! Errors as Microsoft Graph writes them: `{"error": {"code": "...", "message": "..."}}` with a
//! fitting status. No message ever carries a passcode: the crate's errors never hold one, and
//! the store's own errors are logged, not returned.

use std::fmt::Display;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use temporary_access_pass::EngineError;
use temporary_access_pass::admin::{DeleteError, ViewError};
use temporary_access_pass::error::{CreateError, UpdatePolicyError};
use temporary_access_pass::signin::ShownRefusal;

use crate::identity::Unauthenticated;

/// An error response.
#[derive(Debug)]
pub struct GraphError {
    /// The HTTP status.
    pub status: StatusCode,
    /// Graph's error code.
    pub code: &'static str,
    /// What went wrong, for a person.
    pub message: String,
}

impl GraphError {
    fn new(status: StatusCode, code: &'static str, message: impl Display) -> Self {
        Self {
            status,
            code,
            message: message.to_string(),
        }
    }

    /// 400: the request body is not what the route takes.
    #[must_use]
    pub fn bad_body(rejection: &JsonRejection) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "badRequest", rejection.body_text())
    }

    /// 400: the request is malformed.
    #[must_use]
    pub fn bad_request(message: impl Display) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "badRequest", message)
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

    /// 503; the detail (a database error) is for the operator's log, not the caller.
    fn unavailable(detail: impl Display) -> Self {
        eprintln!("service: {detail}");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "serviceNotAvailable",
            "the service could not complete the request; try again later",
        )
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

    /// A refused or failed policy change.
    #[must_use]
    pub fn update_policy<E: Display>(error: EngineError<UpdatePolicyError, E>) -> Self {
        Self::engine(error, |e| match e {
            e @ UpdatePolicyError::Forbidden { .. } => Self::forbidden(e),
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
}

impl From<Unauthenticated> for GraphError {
    fn from(e: Unauthenticated) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", e)
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message } });
        (self.status, Json(body)).into_response()
    }
}
