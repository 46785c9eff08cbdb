//! Effects: what a host must carry out besides storing the record (SPEC 0.1, 5.7).

use crate::ids::UserId;

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
