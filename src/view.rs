//! What Graph shows of a pass (SPEC 7.2): never the code.

use time::UtcDateTime;

use crate::ids::{PassId, UserId};
use crate::pass::TemporaryAccessPass;
use crate::policy::{Lifetime, Policy};
use crate::principal::Principal;
use crate::usability::Usability;

/// What Graph shows of a pass (SPEC 7.2): id, times, lifetime, one-time flag and usability at
/// the instant it was made. It never holds the code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PassView {
    /// The pass's id.
    pub id: PassId,
    /// The holder.
    pub user: UserId,
    /// When it was created (Graph: `createdDateTime`).
    pub created: UtcDateTime,
    /// Start of the window (Graph: `startDateTime`).
    pub start: UtcDateTime,
    /// End of the window, exclusive.
    pub end: UtcDateTime,
    /// Lifetime (Graph: `lifetimeInMinutes`).
    pub lifetime: Lifetime,
    /// One-time or multi-use (Graph: `isUsableOnce`).
    pub is_usable_once: bool,
    /// Graph: `isUsable`; true exactly when `usability` is [`Usability::Usable`].
    pub is_usable: bool,
    /// Why it is or is not usable (Graph: `methodUsabilityReason`, via
    /// [`Usability::graph_name`]).
    pub usability: Usability,
    /// When it last signed its holder in, if ever (Graph beta: `lastUsedDateTime`, SPEC 5.9).
    pub last_used: Option<UtcDateTime>,
}

impl TemporaryAccessPass {
    /// The pass as Graph shows it at `now` for `holder` under `policy` (SPEC 7.2): never the
    /// code.
    #[must_use]
    pub fn view(&self, policy: &Policy, holder: &Principal, now: UtcDateTime) -> PassView {
        let usability = self.usability(policy, holder, now);
        PassView {
            last_used: self.used_at(),
            id: *self.id(),
            user: self.user().clone(),
            created: self.created(),
            start: self.start(),
            end: self.end(),
            lifetime: self.lifetime(),
            is_usable_once: self.is_usable_once(),
            is_usable: usability.is_usable(),
            usability,
        }
    }
}
