//! Audit events and effects that decisions hand back to the host (SPEC 0.1, 7.1).
//!
//! Events carry ids and times, never a code or a digest: they are safe to log as they are.

use time::UtcDateTime;

use crate::ids::{PassId, UserId};
use crate::signin::{NotOffered, RedeemRefusal};

/// Something that happened, for the host's audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The policy was changed (SPEC 1.5).
    PolicyChanged {
        /// Who changed it.
        by: UserId,
        /// When.
        at: UtcDateTime,
        /// Whether the new policy is enabled.
        enabled: bool,
    },
    /// A pass was issued (SPEC 2).
    PassIssued {
        /// The new pass.
        pass: PassId,
        /// Its holder.
        user: UserId,
        /// Who issued it.
        by: UserId,
        /// When.
        at: UtcDateTime,
        /// Start of its window.
        start: UtcDateTime,
        /// End of its window (exclusive).
        end: UtcDateTime,
        /// Whether it is one-time.
        is_usable_once: bool,
    },
    /// A new pass took the place of the user's previous one (SPEC 2.7).
    PassReplaced {
        /// The pass replaced.
        old: PassId,
        /// The pass that replaced it.
        new: PassId,
        /// The holder.
        user: UserId,
        /// When.
        at: UtcDateTime,
        /// Whether the old pass was still valid (only with the opt-in replacement setting).
        old_was_valid: bool,
    },
    /// A pass was deleted (SPEC 5.7).
    PassDeleted {
        /// The pass.
        pass: PassId,
        /// Its holder.
        user: UserId,
        /// Who deleted it.
        by: UserId,
        /// When.
        at: UtcDateTime,
        /// Whether it was still valid when deleted.
        was_valid: bool,
    },
    /// The user's sessions must be revoked (SPEC 5.7, 2.7).
    SessionsRevoked {
        /// Whose sessions.
        user: UserId,
        /// The pass whose removal caused it.
        pass: PassId,
        /// When.
        at: UtcDateTime,
    },
    /// The pass was offered at sign-in (SPEC 5.1).
    PassOffered {
        /// The user.
        user: UserId,
        /// The pass offered.
        pass: Option<PassId>,
        /// When.
        at: UtcDateTime,
    },
    /// No pass was offered, and why (SPEC 5.1).
    PassNotOffered {
        /// The user.
        user: UserId,
        /// Why.
        reason: NotOffered,
        /// When.
        at: UtcDateTime,
    },
    /// A sign-in with a pass succeeded (SPEC 5.3).
    SignInSucceeded {
        /// The user.
        user: UserId,
        /// The pass used.
        pass: PassId,
        /// Whether it was one-time (and is now used).
        is_usable_once: bool,
        /// When.
        at: UtcDateTime,
    },
    /// A sign-in with a pass failed, and why (SPEC 5.3).
    SignInFailed {
        /// The user.
        user: UserId,
        /// The user's pass, if they hold one.
        pass: Option<PassId>,
        /// Why.
        reason: RedeemRefusal,
        /// When.
        at: UtcDateTime,
    },
    /// Too many wrong codes locked the pass (SPEC 6.4).
    PassLocked {
        /// The user.
        user: UserId,
        /// The pass.
        pass: PassId,
        /// When the lock lifts.
        until: UtcDateTime,
        /// Consecutive wrong codes so far.
        failed_attempts: u32,
        /// When.
        at: UtcDateTime,
    },
}

/// Something the host must carry out beyond storing the record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Effect {
    /// Revoke every session of this user (a valid pass was removed, SPEC 5.7).
    RevokeSessions {
        /// Whose sessions.
        user: UserId,
    },
}
