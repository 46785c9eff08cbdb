//! Audit events (SPEC 0.1, 7.1). Every decision says what happened through an `events()`
//! method, built from the decision itself so the log can never disagree with it.
//!
//! Events carry ids and times, never a code or a digest: they are safe to log as they are.
//!
//! Each decision's `events()` is written here rather than beside the decision (a redemption's
//! in this file, not in `signin/redeem.rs`): an event names the decisions' own types (a
//! refusal, an offer's reason), so this module sits above them in the layers, and a decision's
//! file cannot import it back.

use alloc::vec;
use alloc::vec::Vec;

use time::UtcDateTime;

use crate::admin::Deleted;
use crate::create::CreatedPass;
use crate::grant::Initiator;
use crate::ids::{PassId, UserId};
use crate::method::{MethodId, MethodOrigin, RegisteredMethod};
use crate::onboarding::MethodDeleted;
use crate::policy::PolicyUpdate;
use crate::signin::{NotOffered, Offer, RedeemRefusal, Redemption};

/// Something that happened, for the host's audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The policy was changed (SPEC 1.5).
    PolicyChanged {
        /// Who changed it.
        by: Initiator,
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
        by: Initiator,
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
        by: Initiator,
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
    /// A passwordless method was registered for `user` (SPEC 7.4, 8.4): by the user through a
    /// pass, or by an administrator on their behalf.
    MethodRegistered {
        /// Whose method.
        user: UserId,
        /// The method.
        method: MethodId,
        /// How it was registered: through which pass, or by which administrator.
        origin: MethodOrigin,
        /// When.
        at: UtcDateTime,
    },
    /// A method was deleted (SPEC 7.4, 8.5).
    MethodDeleted {
        /// Whose method.
        user: UserId,
        /// The method.
        method: MethodId,
        /// Who deleted it: the user, an administrator, or an application.
        by: Initiator,
        /// When.
        at: UtcDateTime,
    },
    /// A sign-in with a method was refused as a possible clone, and the method blocked
    /// (SPEC 8.6): its signature counter did not move forward.
    MethodBlocked {
        /// Whose method.
        user: UserId,
        /// The method.
        method: MethodId,
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

impl PolicyUpdate {
    /// The audit event: [`Event::PolicyChanged`].
    #[must_use]
    pub fn events(&self) -> Vec<Event> {
        vec![Event::PolicyChanged {
            by: self.by.clone(),
            at: self.at,
            enabled: self.policy.is_enabled(),
        }]
    }
}

impl CreatedPass {
    /// The audit events: [`Event::PassIssued`], and when a pass was replaced
    /// [`Event::PassReplaced`], plus [`Event::SessionsRevoked`] if it was still valid.
    #[must_use]
    pub fn events(&self) -> Vec<Event> {
        let record = &self.record;
        let user = record.user();
        let at = record.created();
        let mut events = vec![Event::PassIssued {
            pass: *record.id(),
            user: user.clone(),
            by: self.by.clone(),
            at,
            start: record.start(),
            end: record.end(),
            is_usable_once: record.is_usable_once(),
        }];
        if let Some((old, old_was_valid)) = self.replaced {
            events.push(Event::PassReplaced {
                old,
                new: *record.id(),
                user: user.clone(),
                at,
                old_was_valid,
            });
            if old_was_valid {
                events.push(Event::SessionsRevoked {
                    user: user.clone(),
                    pass: old,
                    at,
                });
            }
        }
        events
    }
}

impl Deleted {
    /// The audit events: [`Event::PassDeleted`], plus [`Event::SessionsRevoked`] for a valid
    /// pass.
    #[must_use]
    pub fn events(&self) -> Vec<Event> {
        let mut events = vec![Event::PassDeleted {
            pass: self.pass,
            user: self.user.clone(),
            by: self.by.clone(),
            at: self.at,
            was_valid: self.was_valid,
        }];
        if self.was_valid {
            events.push(Event::SessionsRevoked {
                user: self.user.clone(),
                pass: self.pass,
                at: self.at,
            });
        }
        events
    }
}

impl Offer {
    /// The audit event: [`Event::PassOffered`] or [`Event::PassNotOffered`].
    #[must_use]
    pub fn events(&self) -> Vec<Event> {
        vec![match self.decision {
            Ok(_) => Event::PassOffered {
                user: self.user.clone(),
                pass: self.pass,
                at: self.at,
            },
            Err(reason) => Event::PassNotOffered {
                user: self.user.clone(),
                reason,
                at: self.at,
            },
        }]
    }
}

impl Redemption {
    /// The audit events: [`Event::SignInSucceeded`] or [`Event::SignInFailed`], plus
    /// [`Event::PassLocked`] when this wrong code locked the pass.
    #[must_use]
    pub fn events(&self) -> Vec<Event> {
        match &self.outcome {
            Ok(grant) => vec![Event::SignInSucceeded {
                user: self.user.clone(),
                pass: grant.pass,
                is_usable_once: grant.is_usable_once,
                at: self.at,
            }],
            Err(reason) => {
                let mut events = vec![Event::SignInFailed {
                    user: self.user.clone(),
                    pass: self.pass,
                    reason: *reason,
                    at: self.at,
                }];
                if let (
                    RedeemRefusal::WrongCode {
                        locked_until: Some(until),
                        ..
                    },
                    Some(pass),
                    Some(record),
                ) = (reason, self.pass, &self.write)
                {
                    events.push(Event::PassLocked {
                        user: self.user.clone(),
                        pass,
                        until: *until,
                        failed_attempts: record.failed_attempts(),
                        at: self.at,
                    });
                }
                events
            }
        }
    }
}

impl RegisteredMethod {
    /// The audit events of the method's registration: [`Event::MethodRegistered`].
    #[must_use]
    pub fn registration_events(&self) -> Vec<Event> {
        vec![Event::MethodRegistered {
            user: self.user().clone(),
            method: self.id().clone(),
            origin: self.origin().clone(),
            at: self.created(),
        }]
    }

    /// The audit events of the method's block, once blocked: [`Event::MethodBlocked`].
    #[must_use]
    pub fn block_events(&self) -> Vec<Event> {
        self.blocked()
            .map(|at| Event::MethodBlocked {
                user: self.user().clone(),
                method: self.id().clone(),
                at,
            })
            .into_iter()
            .collect()
    }
}

impl MethodDeleted {
    /// The audit events: [`Event::MethodDeleted`].
    #[must_use]
    pub fn events(&self) -> Vec<Event> {
        vec![Event::MethodDeleted {
            user: self.method.user().clone(),
            method: self.method.id().clone(),
            by: self.by.clone(),
            at: self.at,
        }]
    }
}
