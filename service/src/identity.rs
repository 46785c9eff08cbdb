//! Who is calling, and who the users are: the two things a host plugs in. The service asks an
//! [`Authenticator`] for the caller of each request and a [`Directory`] for the users it names;
//! both answer with the crate's [`Principal`] (roles, groups, member or guest).
//!
//! Users are who the directory says they are (SPEC 3.6): a principal's id is the user's object
//! id, and a user principal name is only an alias of it, matched without regard to case, that
//! the directory resolves. The service resolves every caller through the directory too, so
//! "themselves" compares object ids however a request spells the name, and a caller the
//! directory does not know has no rights.
//!
//! Applications calling as themselves (app-only, SPEC 3.7) are known to the directory by their
//! app id, with their service principal's object id and display name; an application the
//! directory does not list has no rights either.

mod files;

use std::future::Future;

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use temporary_access_pass::{AppId, Principal, UserId};

pub use files::{BearerTokens, FileError, PrincipalDocument, StaticDirectory, UserTypeDocument};
#[cfg(feature = "test-authenticator")]
pub use files::{TEST_PRINCIPAL_HEADER, TestHeaders};

/// Why a request's caller is not known: a 401, whose `WWW-Authenticate` says whether a token
/// came and was refused (RFC 6750's `invalid_token`) or none came at all; or a 503 when no
/// token can be checked now (the issuer's keys are too old to trust).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
#[non_exhaustive]
pub struct Unauthenticated {
    /// Why, for the caller (never the token).
    pub message: String,
    /// Whether a token came with the request.
    pub token_given: bool,
    /// Whether the token could not be checked at all, now: 503, not 401.
    pub unavailable: bool,
}

impl Unauthenticated {
    /// No credential came with the request.
    #[must_use]
    pub fn missing(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            token_given: false,
            unavailable: false,
        }
    }

    /// The credential that came is refused.
    #[must_use]
    pub fn invalid(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            token_given: true,
            unavailable: false,
        }
    }

    /// The credential that came cannot be checked now.
    #[must_use]
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            token_given: true,
            unavailable: true,
        }
    }
}

/// The bearer token of `headers`' `Authorization` (scheme compared without case), `Ok(None)`
/// when there is no `Authorization` header.
///
/// # Errors
///
/// [`Unauthenticated`] when the header is there but is not a bearer token, or comes more than
/// once.
pub fn bearer(headers: &HeaderMap) -> Result<Option<&str>, Unauthenticated> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    // Two credentials are ambiguous: a proxy in front may have read the other one.
    if values.next().is_some() {
        return Err(Unauthenticated::invalid(
            "more than one Authorization header: send exactly one",
        ));
    }
    let text = value
        .to_str()
        .map_err(|_| Unauthenticated::invalid("the Authorization header is not text"))?;
    match text.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(Unauthenticated::invalid(
            "the Authorization header must be: Bearer <token>",
        )),
    }
}

/// Who makes a request. In production, [`crate::jwt::JwtAuthenticator`]: the bearer token
/// Microsoft Entra ID issued, its signature checked against the issuer's keys, its issuer,
/// audience and times checked, the caller's roles and groups read from its claims.
pub trait Authenticator: Send + Sync + 'static {
    /// The caller of a request with these headers.
    fn authenticate(
        &self,
        headers: &HeaderMap,
    ) -> impl Future<Output = Result<Principal, Unauthenticated>> + Send;

    /// True for an authenticator that believes what the request says about its caller. The
    /// binary cannot run one: [`crate::Config::from_env`] refuses `TAP_AUTHENTICATOR=test-headers`
    /// and [`crate::startup::AnyAuthenticator`] has no such variant; only tests serve one.
    fn trusts_the_request(&self) -> bool {
        false
    }
}

/// The users the service knows: the callers, the target of a creation, view or deletion, and
/// the user signing in (their groups and user type decide the policy's scope). A production
/// host asks its directory (Microsoft Graph, LDAP).
pub trait Directory: Send + Sync + 'static {
    /// The user `name` names: by their object id, or by their user principal name compared
    /// without regard to case, as Graph's `/users/{id | userPrincipalName}` does. The
    /// principal's id is the object id whichever way it was named. `None` when there is no
    /// such user.
    fn user(&self, name: &str) -> impl Future<Output = Option<Principal>> + Send;

    /// The user principal name of the user with object id `id`, shown beside the id in the
    /// audit trail; `None` when the directory has none for it (the default).
    fn principal_name(&self, id: &UserId) -> impl Future<Output = Option<String>> + Send {
        let _ = id;
        std::future::ready(None)
    }

    /// The application whose app id is `app`, when it may call as itself (SPEC 3.7). `None`
    /// (the default: a directory that lists no application) refuses every app-only caller.
    fn application(&self, app: &AppId) -> impl Future<Output = Option<KnownApplication>> + Send {
        let _ = app;
        std::future::ready(None)
    }
}

/// An application as the directory knows it: its service principal in this tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KnownApplication {
    /// Its service principal's object id, which its tokens' `oid` must repeat.
    pub object_id: UserId,
    /// Its display name, shown in the audit trail.
    pub display_name: Option<String>,
}

impl KnownApplication {
    /// The application whose service principal has `object_id`.
    #[must_use]
    pub const fn new(object_id: UserId, display_name: Option<String>) -> Self {
        Self {
            object_id,
            display_name,
        }
    }
}
