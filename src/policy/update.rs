//! Changing the policy (SPEC 1.5): only a Global Administrator or an Authentication Policy
//! Administrator may, and the new settings must be valid.

use time::UtcDateTime;

use super::{Policy, PolicyError, PolicySettings};
use crate::grant::Initiator;
use crate::principal::{DirectoryRole, Principal};

/// Everything a policy change reads besides the new settings and `now`: who asks.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct UpdatePolicyContext<'a> {
    /// Who changes the policy.
    pub actor: &'a Principal,
}

impl<'a> UpdatePolicyContext<'a> {
    /// A change made by `actor`.
    #[must_use]
    pub const fn new(actor: &'a Principal) -> Self {
        Self { actor }
    }
}

/// An accepted policy change: the policy to store, who changed it and when. Its audit event is
/// [`PolicyUpdate::events`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub struct PolicyUpdate {
    /// The new policy.
    pub policy: Policy,
    /// Who changed it: a user, or an application.
    pub by: Initiator,
    /// When.
    pub at: UtcDateTime,
}

/// Why a policy change was refused; the policy is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UpdatePolicyError {
    /// The actor may not change the policy (SPEC 1.5).
    #[error("principal {actor} ({}) may not change the policy: only a Global Administrator or an Authentication Policy Administrator may", DirectoryRole::describe(*strongest_role))]
    Forbidden {
        /// Who tried.
        actor: Initiator,
        /// The most privileged role the actor holds, if any.
        strongest_role: Option<DirectoryRole>,
    },
    /// The actor holds a role that may, but acts under a delegated grant without
    /// `Policy.ReadWrite.AuthenticationMethod` (SPEC 3.7).
    #[error(
        "principal {actor} may not change the policy under the scopes granted: Policy.ReadWrite.AuthenticationMethod is needed"
    )]
    NotGranted {
        /// Who tried.
        actor: Initiator,
    },
    /// The new settings break a rule of SPEC 1.3.
    #[error("invalid policy: {0}")]
    Invalid(#[from] PolicyError),
}

/// Decides a policy change to `settings` (SPEC 1.5) as a pure function: the actor's right first,
/// then the settings' validity. Nothing is changed on refusal.
///
/// # Errors
///
/// [`UpdatePolicyError::Forbidden`] when the actor holds neither role;
/// [`UpdatePolicyError::NotGranted`] when its delegated scopes do not allow it;
/// [`UpdatePolicyError::Invalid`] when the settings break a rule of SPEC 1.3.
pub fn update_policy(
    ctx: &UpdatePolicyContext<'_>,
    settings: PolicySettings,
    now: UtcDateTime,
) -> Result<PolicyUpdate, UpdatePolicyError> {
    let actor = ctx.actor;
    if !actor.roles_allow(DirectoryRole::may_change_policy) {
        return Err(UpdatePolicyError::Forbidden {
            actor: actor.initiator(),
            strongest_role: actor.strongest_role(),
        });
    }
    if !actor.grant().allows_changing_the_policy() {
        return Err(UpdatePolicyError::NotGranted {
            actor: actor.initiator(),
        });
    }
    Ok(PolicyUpdate {
        policy: Policy::new(settings)?,
        by: actor.initiator(),
        at: now,
    })
}
