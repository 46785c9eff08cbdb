//! Whether a pass can be used now, and why not (SPEC 4; Graph: `isUsable`,
//! `methodUsabilityReason`): the reasons, their precedence, and the decision.

use core::fmt;

use subtle::ConstantTimeEq;
use time::UtcDateTime;

use crate::pass::TemporaryAccessPass;
use crate::policy::{Policy, Scope};
use crate::principal::Principal;

/// A pass's usability at an instant (SPEC 4.1). [`Usability::is_usable`] is true exactly for
/// [`Usability::Usable`].
///
/// # Precedence (SPEC 4.3)
///
/// When several reasons hold, the first in this list wins:
///
/// 1. [`Usability::PolicyBlocked`] because the policy is disabled, the user is not in scope, or
///    the record is not the user's;
/// 2. [`Usability::NotYetValid`] (`now < start`);
/// 3. [`Usability::Expired`] (`now >= end`);
/// 4. [`Usability::OneTimeUsed`];
/// 5. [`Usability::PolicyBlocked`] for the other causes (multi-use under a one-time policy, guest,
///    locked);
/// 6. [`Usability::Usable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Usability {
    /// The pass can be used (Graph: `EnabledByPolicy`).
    Usable,
    /// The window has not opened yet (Graph: `NotYetValid`).
    NotYetValid {
        /// When it opens.
        starts_at: UtcDateTime,
    },
    /// The window has closed (Graph: `Expired`).
    Expired {
        /// When it closed.
        at: UtcDateTime,
    },
    /// A one-time pass was already used to sign in (Graph: `OneTimeUsed`).
    OneTimeUsed {
        /// When it was used.
        at: UtcDateTime,
    },
    /// The policy blocks the pass (Graph: `DisabledByPolicy`).
    PolicyBlocked(BlockCause),
}

/// Why the policy blocks a pass (SPEC 4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BlockCause {
    /// The policy is disabled.
    PolicyDisabled,
    /// No include target of the policy matches the user.
    NotIncluded,
    /// An exclude target of the policy matches the user.
    Excluded,
    /// The pass is multi-use and the policy now enforces one-time use (SPEC 1.6).
    MultiUseUnderOneTimePolicy,
    /// Guests can't sign in with a pass (seed).
    GuestUser,
    /// Too many wrong codes: the pass is locked until the given instant (SPEC 6.4).
    Locked {
        /// When the lock lifts (never later than the pass end).
        until: UtcDateTime,
    },
    /// The record evaluated belongs to another user: a host error, refused to fail closed.
    NotTheHolder,
}

impl BlockCause {
    /// True when the cause is that the user is not in the policy's scope (SPEC 1.4).
    #[must_use]
    pub const fn is_not_in_scope(self) -> bool {
        matches!(self, Self::NotIncluded | Self::Excluded)
    }
}

impl fmt::Display for BlockCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PolicyDisabled => f.write_str("the Temporary Access Pass policy is disabled"),
            Self::NotIncluded => f.write_str("the user is not included in the policy"),
            Self::Excluded => f.write_str("the user is excluded from the policy"),
            Self::MultiUseUnderOneTimePolicy => {
                f.write_str("the pass is multi-use while the policy requires one-time passes")
            }
            Self::GuestUser => f.write_str("guest users can't sign in with a pass"),
            Self::Locked { until } => {
                write!(f, "too many wrong codes: the pass is locked until {until}")
            }
            Self::NotTheHolder => f.write_str("the pass belongs to another user"),
        }
    }
}

impl Usability {
    /// True exactly for [`Usability::Usable`] (Graph: `isUsable`).
    #[must_use]
    pub const fn is_usable(self) -> bool {
        matches!(self, Self::Usable)
    }

    /// The Graph name of the reason (`methodUsabilityReason`, SPEC 4.4): `EnabledByPolicy`,
    /// `DisabledByPolicy`, `NotYetValid`, `Expired` or `OneTimeUsed`.
    #[must_use]
    pub const fn graph_name(self) -> &'static str {
        match self {
            Self::Usable => "EnabledByPolicy",
            Self::NotYetValid { .. } => "NotYetValid",
            Self::Expired { .. } => "Expired",
            Self::OneTimeUsed { .. } => "OneTimeUsed",
            Self::PolicyBlocked(_) => "DisabledByPolicy",
        }
    }
}

impl fmt::Display for Usability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usable => f.write_str("usable"),
            Self::NotYetValid { starts_at } => write!(f, "not yet valid: starts at {starts_at}"),
            Self::Expired { at } => write!(f, "expired at {at}"),
            Self::OneTimeUsed { at } => write!(f, "one-time pass already used at {at}"),
            Self::PolicyBlocked(cause) => write!(f, "blocked by policy: {cause}"),
        }
    }
}

impl TemporaryAccessPass {
    /// The pass's usability at `now` for `holder` under `policy` (SPEC 4), with the precedence of
    /// SPEC 4.3 (see [`Usability`]).
    ///
    /// Every condition is evaluated before the precedence picks one, so the work does not
    /// depend on which of them hold (SPEC 6.2); the holder's id is compared in constant time.
    #[must_use]
    pub fn usability(&self, policy: &Policy, holder: &Principal, now: UtcDateTime) -> Usability {
        let is_holder = bool::from(
            self.user()
                .as_str()
                .as_bytes()
                .ct_eq(holder.id().as_str().as_bytes()),
        );
        let scope = policy.scope(holder);
        let not_yet_valid = now < self.start();
        let expired = now >= self.end();
        let used = self.used_at().filter(|_| self.is_usable_once());
        let multi_use_blocked = !self.is_usable_once() && policy.is_usable_once();
        let guest = holder.is_guest();
        let locked = self.locked_until().filter(|until| now < *until);
        let out_of_scope = match scope {
            Scope::InScope => None,
            Scope::PolicyDisabled => Some(BlockCause::PolicyDisabled),
            Scope::Excluded => Some(BlockCause::Excluded),
            Scope::NotIncluded => Some(BlockCause::NotIncluded),
        };
        if !is_holder {
            Usability::PolicyBlocked(BlockCause::NotTheHolder)
        } else if let Some(cause) = out_of_scope {
            Usability::PolicyBlocked(cause)
        } else if not_yet_valid {
            Usability::NotYetValid {
                starts_at: self.start(),
            }
        } else if expired {
            Usability::Expired { at: self.end() }
        } else if let Some(at) = used {
            Usability::OneTimeUsed { at }
        } else if multi_use_blocked {
            Usability::PolicyBlocked(BlockCause::MultiUseUnderOneTimePolicy)
        } else if guest {
            Usability::PolicyBlocked(BlockCause::GuestUser)
        } else if let Some(until) = locked {
            Usability::PolicyBlocked(BlockCause::Locked { until })
        } else {
            Usability::Usable
        }
    }
}
