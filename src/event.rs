//! Audit events and effects that decisions hand back to the host (SPEC 0.1, 7.1).
//!
//! Events carry ids and times, never a code or a digest: they are safe to log as they are.

use time::UtcDateTime;

use crate::ids::{PassId, UserId};

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
