//! Administering a user's pass: viewing it and deleting it (SPEC 3.3, 3.4, 5.7, 7.2).
//!
//! Two of the names here live in other files, below this one: [`CreateOptions`] with the
//! creation that reads it (`create.rs`), and [`PassView`] in `view.rs`, since a creation
//! returns a view as well and `create` sits below `admin` in the layers. They are re-exported
//! here, where a host looks for them; the role matrix ([`authorize`]) likewise lives with the
//! principals it judges.

use alloc::vec::Vec;

use time::UtcDateTime;

use crate::effect::Effect;
use crate::grant::Initiator;
use crate::ids::{PassId, UserId};
use crate::pass::TemporaryAccessPass;
use crate::policy::Policy;
use crate::principal::Principal;

pub use crate::create::CreateOptions;
pub use crate::principal::{
    Action, Denial, PermissionError, Subject, TargetClass, UserType, authorize, authorize_on,
};
pub use crate::view::PassView;

/// Everything a view reads besides `now`: the policy, who looks, whose pass, and the record
/// stored for them.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct ViewContext<'a> {
    /// The tenant policy (the view shows usability under it).
    pub policy: &'a Policy,
    /// Who looks.
    pub actor: &'a Principal,
    /// Whose pass.
    pub holder: &'a Principal,
    /// The holder's stored record, if any.
    pub record: Option<&'a TemporaryAccessPass>,
}

impl<'a> ViewContext<'a> {
    /// A view by `actor` of `holder`'s `record` under `policy`.
    #[must_use]
    pub const fn new(
        policy: &'a Policy,
        actor: &'a Principal,
        holder: &'a Principal,
        record: Option<&'a TemporaryAccessPass>,
    ) -> Self {
        Self {
            policy,
            actor,
            holder,
            record,
        }
    }
}

/// Why a pass can't be viewed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ViewError {
    /// The actor may not view this user's pass (SPEC 3).
    #[error(transparent)]
    Forbidden(#[from] PermissionError),
    /// The record given is not this user's (a host error).
    #[error("pass {pass} does not belong to {holder}")]
    NotTheHolder {
        /// The user named.
        holder: UserId,
        /// The pass given.
        pass: PassId,
    },
}

/// Everything a deletion reads besides `now`: who deletes, whose pass, and the record stored
/// for them.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct DeleteContext<'a> {
    /// Who deletes.
    pub actor: &'a Principal,
    /// Whose pass.
    pub holder: &'a Principal,
    /// The holder's stored record, if any.
    pub record: Option<&'a TemporaryAccessPass>,
    /// The pass to delete, when the caller names one (Graph's `DELETE .../{id}`): another pass
    /// stored, or none, is not deleted.
    pub pass: Option<PassId>,
}

impl<'a> DeleteContext<'a> {
    /// A deletion by `actor` of `holder`'s `record`, whichever pass it is.
    #[must_use]
    pub const fn new(
        actor: &'a Principal,
        holder: &'a Principal,
        record: Option<&'a TemporaryAccessPass>,
    ) -> Self {
        Self {
            actor,
            holder,
            record,
            pass: None,
        }
    }

    /// Deletes only pass `pass`: when the record stored is another pass, nothing is deleted.
    #[must_use]
    pub const fn pass(mut self, pass: PassId) -> Self {
        self.pass = Some(pass);
        self
    }
}

/// Why a pass can't be deleted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeleteError {
    /// The actor may not delete this user's pass (SPEC 3).
    #[error(transparent)]
    Forbidden(#[from] PermissionError),
    /// The record given is not this user's (a host error).
    #[error("pass {pass} does not belong to {holder}")]
    NotTheHolder {
        /// The user named.
        holder: UserId,
        /// The pass given.
        pass: PassId,
    },
}

/// An accepted deletion (SPEC 5.7): what to carry out and who did what. Its audit events are
/// [`Deleted::events`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub struct Deleted {
    /// The pass deleted.
    pub pass: PassId,
    /// Its holder.
    pub user: UserId,
    /// Who deleted it: a user, or an application.
    pub by: Initiator,
    /// When.
    pub at: UtcDateTime,
    /// Whether it was still valid: then the user's sessions are revoked.
    pub was_valid: bool,
    /// [`Effect::RevokeSessions`] for a valid pass, nothing for an expired one.
    pub effects: Vec<Effect>,
}

/// The checks viewing and deleting share, in this order: the actor's right on the holder
/// (SPEC 3), whatever is stored, so a refusal does not tell whether a pass exists; then that
/// the record given is the holder's.
fn checked<'a, E: From<PermissionError>>(
    actor: &Principal,
    action: Action,
    holder: &Principal,
    record: Option<&'a TemporaryAccessPass>,
    not_the_holder: fn(UserId, PassId) -> E,
) -> Result<Option<&'a TemporaryAccessPass>, E> {
    authorize(actor, action, holder)?;
    match record {
        Some(r) if r.user() != holder.id() => Err(not_the_holder(holder.id().clone(), *r.id())),
        Some(_) | None => Ok(record),
    }
}

/// Decides whether the actor may see the holder's pass, and builds its view at `now`
/// (SPEC 3.3, 3.4, 7.2): `None` when there is none. The view never holds the code, whoever
/// asks.
///
/// # Errors
///
/// [`ViewError::Forbidden`] when the actor's roles don't grant viewing, whether or not a pass
/// exists; [`ViewError::NotTheHolder`] when the record is not the holder's.
pub fn view(ctx: &ViewContext<'_>, now: UtcDateTime) -> Result<Option<PassView>, ViewError> {
    let record = checked(
        ctx.actor,
        Action::View,
        ctx.holder,
        ctx.record,
        |holder, pass| ViewError::NotTheHolder { holder, pass },
    )?;
    Ok(record.map(|r| r.view(ctx.policy, ctx.holder, now)))
}

/// Decides a deletion of the holder's pass by the actor (SPEC 3, 5.7): `None` when there is
/// none (or, with [`DeleteContext::pass`], when the pass stored is another one). Deleting a
/// valid pass revokes the user's sessions; deleting an expired one does not.
///
/// # Errors
///
/// [`DeleteError::Forbidden`] when the actor's roles don't grant deletion, whether or not a
/// pass exists; [`DeleteError::NotTheHolder`] when the record is not the holder's.
pub fn delete(ctx: &DeleteContext<'_>, now: UtcDateTime) -> Result<Option<Deleted>, DeleteError> {
    let record = checked(
        ctx.actor,
        Action::Delete,
        ctx.holder,
        ctx.record,
        |holder, pass| DeleteError::NotTheHolder { holder, pass },
    )?;
    let record = record.filter(|r| ctx.pass.is_none_or(|named| *r.id() == named));
    Ok(record.map(|record| {
        let was_valid = record.is_valid_at(now);
        Deleted {
            pass: *record.id(),
            user: ctx.holder.id().clone(),
            by: ctx.actor.initiator(),
            at: now,
            was_valid,
            effects: if was_valid {
                alloc::vec![Effect::RevokeSessions {
                    user: ctx.holder.id().clone(),
                }]
            } else {
                Vec::new()
            },
        }
    }))
}
