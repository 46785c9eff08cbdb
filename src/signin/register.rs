//! Registering a passwordless method after signing in with a pass (SPEC 5.5, 5.7).

use core::fmt;

use time::{Duration, UtcDateTime};

use super::Grant;
use crate::ids::UserId;
use crate::pass::TemporaryAccessPass;
use crate::principal::Principal;

/// How long after a one-time sign-in passwordless registration stays allowed (SPEC 5.5).
pub const REGISTRATION_WINDOW: Duration = Duration::minutes(10);

/// A passwordless method a user registers after signing in with a pass (SPEC 5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PasswordlessMethod {
    /// A FIDO2 security key.
    Fido2SecurityKey,
    /// Phone sign-in with the Microsoft Authenticator app.
    PhoneSignIn,
}

impl fmt::Display for PasswordlessMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Fido2SecurityKey => "FIDO2 security key",
            Self::PhoneSignIn => "phone sign-in",
        })
    }
}

/// Why a passwordless registration was refused (SPEC 5.5).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistrationError {
    /// The registration window after the sign-in has closed.
    #[error("registering a {method} was allowed until {until}: sign in again with a new pass")]
    WindowClosed {
        /// The method.
        method: PasswordlessMethod,
        /// The end of the window (exclusive).
        until: UtcDateTime,
    },
    /// The pass behind the sign-in was deleted or replaced: its sessions were revoked.
    #[error("the pass behind this sign-in no longer exists: its sessions were revoked")]
    PassRemoved,
    /// The grant belongs to another user.
    #[error("the sign-in belongs to {holder}, not to {user}")]
    NotTheHolder {
        /// The user named.
        user: UserId,
        /// The grant's user.
        holder: UserId,
    },
    /// No registration session is stored under the id given (never opened, ended with its
    /// window, or its pass removed: SPEC 8.1, 8.4).
    #[error("no registration session: sign in with your Temporary Access Pass first")]
    NoSession,
    /// The session has no registration options outstanding (never asked for, or answered
    /// already: SPEC 8.3).
    #[error("no registration options are outstanding for this session: ask for new ones")]
    NoOptions,
}

/// Everything a registration check reads besides the method and `now`: who registers, the
/// grant they signed in with, and their pass record as stored now.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct RegisterContext<'a> {
    /// Who registers.
    pub user: &'a Principal,
    /// The sign-in behind the registration.
    pub grant: &'a Grant,
    /// The user's pass record as stored now, if any.
    pub record: Option<&'a TemporaryAccessPass>,
}

impl<'a> RegisterContext<'a> {
    /// A registration by `user`, signed in with `grant`, whose stored record is `record`.
    #[must_use]
    pub const fn new(
        user: &'a Principal,
        grant: &'a Grant,
        record: Option<&'a TemporaryAccessPass>,
    ) -> Self {
        Self {
            user,
            grant,
            record,
        }
    }
}

/// Decides whether the user may register `method` at `now` (SPEC 5.5, 5.7). In order: the grant
/// must be the user's; `now` must be before [`Grant::registration_until`] (end exclusive); and
/// the pass behind the grant must still be stored (deleting or replacing it revoked the
/// sessions it opened).
///
/// # Errors
///
/// [`RegistrationError`] naming the check that failed.
pub fn register(
    ctx: &RegisterContext<'_>,
    method: PasswordlessMethod,
    now: UtcDateTime,
) -> Result<(), RegistrationError> {
    let RegisterContext {
        user,
        grant,
        record,
    } = *ctx;
    if &grant.user != user.id() {
        return Err(RegistrationError::NotTheHolder {
            user: user.id().clone(),
            holder: grant.user.clone(),
        });
    }
    if now >= grant.registration_until {
        return Err(RegistrationError::WindowClosed {
            method,
            until: grant.registration_until,
        });
    }
    match record {
        Some(record) if *record.id() == grant.pass && record.user() == user.id() => Ok(()),
        Some(_) | None => Err(RegistrationError::PassRemoved),
    }
}
