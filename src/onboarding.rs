//! Onboarding a passwordless method (SPEC 8): the decisions about registration sessions,
//! registered methods and passkey sign-ins. Each is a pure function of what the store holds
//! (the user's record, their methods, a ceremony), the principals and `now`; the engine runs
//! them over a store, and the host runs the WebAuthn ceremonies whose state they keep.
//!
//! - A sign-in with a pass opens a **registration session** ([`open_session`]), bound to the
//!   grant: its user, its pass, the end of its window. Each step of a registration is judged
//!   on it ([`judge_session`]): the session's user, the window still open, the pass still
//!   stored. The options' state is set once issued and taken once answered.
//! - A key is **registered** through a session ([`register_method`]) or **provisioned** by an
//!   administrator ([`provision_method`], after [`begin_provisioning`] and
//!   [`take_provisioning`]), within the cap of methods per user; each is audited.
//! - Methods are **listed and deleted** by the role matrix of passes ([`view_methods`],
//!   [`delete_method`]).
//! - A **passkey sign-in** keeps its state in a ceremony ([`begin_sign_in`], [`take_sign_in`]);
//!   a method's use is recorded conditionally ([`use_method`]), and a possible clone blocks it
//!   ([`block_method`]).

use alloc::vec::Vec;

use time::{Duration, UtcDateTime};

use crate::ceremony::{Ceremony, CeremonyError, CeremonyId, CeremonyKind};
use crate::grant::Initiator;
use crate::ids::{PassId, UserId};
use crate::method::{MethodError, MethodId, MethodOrigin, NewMethod, RegisteredMethod};
use crate::pass::TemporaryAccessPass;
use crate::principal::{Action, PermissionError, Principal, Subject, authorize_on};
use crate::signin::{Grant, PasswordlessMethod, RegisterContext, RegistrationError, register};

/// The most methods a user holds by default (SPEC 8.4).
pub const DEFAULT_METHODS_PER_USER: u32 = 20;

/// The most registration sessions, provisionings or passkey sign-ins of each kind a user has
/// open at once by default: one more ends the oldest (SPEC 8.4, 8.6).
pub const DEFAULT_CEREMONIES_PER_USER: u32 = 8;

/// How long an administrator's provisioning challenge stays valid by default (Graph's
/// `creationOptions`: 5 minutes, SPEC 8.5).
pub const PROVISIONING_WINDOW: Duration = Duration::minutes(5);

/// How long a passkey sign-in waits for its answer by default.
pub const SIGN_IN_WINDOW: Duration = Duration::minutes(5);

/// Why a method could not be added (SPEC 8.4, 8.5).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddMethodError {
    /// The registration session does not allow it (no session, another user's, the window
    /// closed, the pass removed).
    #[error(transparent)]
    Registration(#[from] RegistrationError),
    /// The administrator may not provision a method for this user.
    #[error(transparent)]
    Forbidden(#[from] PermissionError),
    /// The user holds as many methods as allowed.
    #[error("{user} holds {cap} methods, the most allowed: delete one first")]
    TooMany {
        /// Whose.
        user: UserId,
        /// The cap.
        cap: u32,
    },
    /// A method with this id is registered for the user already.
    #[error("the method {0} is registered already")]
    AlreadyRegistered(MethodId),
    /// The method's fields were refused.
    #[error(transparent)]
    Method(#[from] MethodError),
}

/// Why an administrator's provisioning could not go on (SPEC 8.5).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProvisionError {
    /// The administrator may not provision a method for this user.
    #[error(transparent)]
    Forbidden(#[from] PermissionError),
    /// No provisioning of this administrator's for this user is open under this challenge
    /// (never issued, over, or already answered).
    #[error(
        "no provisioning challenge of yours is open for this user: ask for new creation options"
    )]
    NoChallenge,
    /// The ceremony's fields were refused.
    #[error(transparent)]
    Ceremony(#[from] CeremonyError),
}

/// Why a user's methods could not be listed, read or deleted (SPEC 8.5).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MethodAccessError {
    /// The caller may not do this to this user's methods.
    #[error(transparent)]
    Forbidden(#[from] PermissionError),
}

/// Why a passkey sign-in could not go on (SPEC 8.6).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasskeyError {
    /// No sign-in is waiting under this id for this user (never started, over, or already
    /// answered).
    #[error("no passkey sign-in is in progress: start again")]
    NoSignIn,
    /// The user has no method with this id.
    #[error("no such passkey is registered for this user")]
    NoSuchMethod,
    /// The method was blocked as a possible clone.
    #[error("this passkey was blocked at {0}: register another one")]
    Blocked(UtcDateTime),
    /// The method changed since the answer was verified against it (another sign-in with it
    /// landed first): this one is refused, its counter not being known to move forward.
    #[error("another sign-in with this passkey landed first: sign in again")]
    Raced,
    /// The method's fields were refused.
    #[error(transparent)]
    Method(#[from] MethodError),
    /// The ceremony's fields were refused.
    #[error(transparent)]
    Ceremony(#[from] CeremonyError),
}

/// Opens a registration session `id` for `user`, signed in with `grant`, whose record is
/// `record` (SPEC 8.1): refused as [`register`] refuses a registration. The session ends with
/// the grant's window.
///
/// # Errors
///
/// [`RegistrationError`], as [`register`].
pub fn open_session(
    user: &Principal,
    grant: &Grant,
    record: Option<&TemporaryAccessPass>,
    id: CeremonyId,
    now: UtcDateTime,
) -> Result<Ceremony, RegistrationError> {
    let ctx = RegisterContext::new(user, grant, record);
    register(&ctx, PasswordlessMethod::Fido2SecurityKey, now)?;
    let kind = CeremonyKind::Registration {
        pass: grant.pass,
        until: grant.registration_until,
    };
    Ceremony::new(id, user.id().clone(), kind, now, grant.registration_until).map_err(|_| {
        RegistrationError::WindowClosed {
            method: PasswordlessMethod::Fido2SecurityKey,
            until: grant.registration_until,
        }
    })
}

/// Everything a step of a registration session is judged on: who registers, their record as
/// stored now, and the session as stored now.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct SessionContext<'a> {
    /// Who registers.
    pub user: &'a Principal,
    /// Their record, if any.
    pub record: Option<&'a TemporaryAccessPass>,
    /// The session, if one is stored under the id.
    pub session: Option<&'a Ceremony>,
}

impl<'a> SessionContext<'a> {
    /// A step by `user`, whose record is `record`, in `session`.
    #[must_use]
    pub const fn new(
        user: &'a Principal,
        record: Option<&'a TemporaryAccessPass>,
        session: Option<&'a Ceremony>,
    ) -> Self {
        Self {
            user,
            record,
            session,
        }
    }
}

/// Whether the session lets its user register now (SPEC 8.1): it exists and is a
/// registration session, it is the user's, its window is open, and the pass behind it is
/// stored. The pass and the window's end, when it does.
///
/// # Errors
///
/// [`RegistrationError::NoSession`], [`RegistrationError::NotTheHolder`],
/// [`RegistrationError::WindowClosed`], [`RegistrationError::PassRemoved`], in this order.
pub fn judge_session(
    ctx: &SessionContext<'_>,
    now: UtcDateTime,
) -> Result<(PassId, UtcDateTime), RegistrationError> {
    let session = ctx.session.ok_or(RegistrationError::NoSession)?;
    let CeremonyKind::Registration { pass, until } = *session.kind() else {
        return Err(RegistrationError::NoSession);
    };
    if session.user() != ctx.user.id() {
        return Err(RegistrationError::NotTheHolder {
            user: ctx.user.id().clone(),
            holder: session.user().clone(),
        });
    }
    if now >= until {
        return Err(RegistrationError::WindowClosed {
            method: PasswordlessMethod::Fido2SecurityKey,
            until,
        });
    }
    match ctx.record {
        Some(record) if *record.id() == pass && record.user() == ctx.user.id() => Ok((pass, until)),
        Some(_) | None => Err(RegistrationError::PassRemoved),
    }
}

/// The session holding `state`, the outstanding options' (SPEC 8.3): judged as
/// [`judge_session`]; any earlier options are replaced.
///
/// # Errors
///
/// As [`judge_session`].
pub fn set_session_state(
    ctx: &SessionContext<'_>,
    state: Vec<u8>,
    now: UtcDateTime,
) -> Result<Ceremony, RegistrationError> {
    judge_session(ctx, now)?;
    let session = ctx.session.ok_or(RegistrationError::NoSession)?;
    session
        .clone()
        .with_state(Some(state))
        .map_err(|_| RegistrationError::NoOptions)
}

/// The session's outstanding options' state, taken (SPEC 8.3): the session without it, and
/// the state. Judged as [`judge_session`].
///
/// # Errors
///
/// As [`judge_session`]; [`RegistrationError::NoOptions`] when none are outstanding.
pub fn take_session_state(
    ctx: &SessionContext<'_>,
    now: UtcDateTime,
) -> Result<(Ceremony, Vec<u8>), RegistrationError> {
    judge_session(ctx, now)?;
    let session = ctx.session.ok_or(RegistrationError::NoSession)?;
    let state = session
        .state()
        .map(<[u8]>::to_vec)
        .ok_or(RegistrationError::NoOptions)?;
    let taken = session
        .clone()
        .with_state(None)
        .map_err(|_| RegistrationError::NoOptions)?;
    Ok((taken, state))
}

/// Checks the cap and the id of a method to add for `user`, who holds `methods`.
fn room_for(
    user: &UserId,
    methods: &[&RegisteredMethod],
    id: &MethodId,
    cap: u32,
) -> Result<(), AddMethodError> {
    if methods.iter().any(|m| m.id() == id) {
        return Err(AddMethodError::AlreadyRegistered(id.clone()));
    }
    if u32::try_from(methods.len()).map_or(true, |held| held >= cap) {
        return Err(AddMethodError::TooMany {
            user: user.clone(),
            cap,
        });
    }
    Ok(())
}

/// A method registered through a session (SPEC 8.1, 8.4): judged as [`judge_session`], then
/// within `cap` methods, its id new for the user. The method, and the pass that must still be
/// stored when it commits.
///
/// # Errors
///
/// [`AddMethodError`] naming the check that failed.
pub fn register_method(
    ctx: &SessionContext<'_>,
    methods: &[&RegisteredMethod],
    cap: u32,
    new: NewMethod,
    now: UtcDateTime,
) -> Result<(RegisteredMethod, PassId), AddMethodError> {
    let (pass, _) = judge_session(ctx, now)?;
    room_for(ctx.user.id(), methods, &new.id, cap)?;
    let method = RegisteredMethod::new(
        new,
        ctx.user.id().clone(),
        MethodOrigin::ThroughPass(pass),
        now,
    )?;
    Ok((method, pass))
}

/// Opens an administrator's provisioning of a key for `target` (SPEC 8.5): `actor` must be
/// allowed to create a method for them (the matrix of 3.2). The ceremony, under `id` (the
/// challenge the host issued), holds `state` until `now + lifetime`.
///
/// # Errors
///
/// [`ProvisionError::Forbidden`]; [`ProvisionError::Ceremony`] for a state too large or a
/// lifetime that is not positive.
pub fn begin_provisioning(
    actor: &Principal,
    target: &Principal,
    id: CeremonyId,
    state: Vec<u8>,
    lifetime: Duration,
    now: UtcDateTime,
) -> Result<Ceremony, ProvisionError> {
    authorize_on(actor, Action::Create, Subject::Method, target)?;
    let expires = now
        .checked_add(lifetime)
        .ok_or(CeremonyError::EndsBeforeItOpens)?;
    let kind = CeremonyKind::Provisioning {
        by: actor.initiator(),
    };
    Ok(Ceremony::new(id, target.id().clone(), kind, now, expires)?.with_state(Some(state))?)
}

/// The state of `actor`'s provisioning for `target`, taken (SPEC 8.5): the role is checked
/// again, and the ceremony must be this administrator's, for this user, open and unanswered.
///
/// # Errors
///
/// [`ProvisionError::Forbidden`], [`ProvisionError::NoChallenge`].
pub fn take_provisioning(
    actor: &Principal,
    target: &Principal,
    ceremony: Option<&Ceremony>,
    now: UtcDateTime,
) -> Result<Vec<u8>, ProvisionError> {
    authorize_on(actor, Action::Create, Subject::Method, target)?;
    let ceremony = ceremony.ok_or(ProvisionError::NoChallenge)?;
    let ours =
        matches!(ceremony.kind(), CeremonyKind::Provisioning { by } if *by == actor.initiator());
    if !ours || ceremony.user() != target.id() || !ceremony.is_open(now) {
        return Err(ProvisionError::NoChallenge);
    }
    ceremony
        .state()
        .map(<[u8]>::to_vec)
        .ok_or(ProvisionError::NoChallenge)
}

/// A method provisioned by `actor` for `target` (SPEC 8.5): the matrix of 3.2, then within
/// `cap` methods, its id new for the user.
///
/// # Errors
///
/// [`AddMethodError`] naming the check that failed.
pub fn provision_method(
    actor: &Principal,
    target: &Principal,
    methods: &[&RegisteredMethod],
    cap: u32,
    new: NewMethod,
    now: UtcDateTime,
) -> Result<RegisteredMethod, AddMethodError> {
    authorize_on(actor, Action::Create, Subject::Method, target)?;
    room_for(target.id(), methods, &new.id, cap)?;
    Ok(RegisteredMethod::new(
        new,
        target.id().clone(),
        MethodOrigin::ByAdministrator(actor.initiator()),
        now,
    )?)
}

/// `holder`'s methods for `actor` (SPEC 8.5): the matrix of 3.2 and 3.3 (a Global Reader may
/// list them, a user their own).
///
/// # Errors
///
/// [`MethodAccessError::Forbidden`].
pub fn view_methods(
    actor: &Principal,
    holder: &Principal,
    methods: &[&RegisteredMethod],
) -> Result<Vec<RegisteredMethod>, MethodAccessError> {
    authorize_on(actor, Action::View, Subject::Method, holder)?;
    Ok(methods.iter().map(|m| (*m).clone()).collect())
}

/// A method deleted (SPEC 8.5): who deleted it, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MethodDeleted {
    /// The method as it was.
    pub method: RegisteredMethod,
    /// Who deleted it: the user, an administrator, or an application.
    pub by: Initiator,
    /// When.
    pub at: UtcDateTime,
}

/// `holder`'s method `id` deleted by `actor` (SPEC 8.5): the matrix of 3.2 (a user may delete
/// their own). `None` when the holder has no such method.
///
/// # Errors
///
/// [`MethodAccessError::Forbidden`], checked before whether the method exists.
pub fn delete_method(
    actor: &Principal,
    holder: &Principal,
    methods: &[&RegisteredMethod],
    id: &MethodId,
    now: UtcDateTime,
) -> Result<Option<MethodDeleted>, MethodAccessError> {
    authorize_on(actor, Action::Delete, Subject::Method, holder)?;
    Ok(methods
        .iter()
        .find(|m| m.id() == id)
        .map(|m| MethodDeleted {
            method: (*m).clone(),
            by: actor.initiator(),
            at: now,
        }))
}

/// A passkey sign-in `id` for `user`, waiting until `now + window` with `state` (SPEC 8.6).
///
/// # Errors
///
/// [`PasskeyError::Ceremony`] for a state too large or a window that is not positive.
pub fn begin_sign_in(
    user: &UserId,
    id: CeremonyId,
    state: Vec<u8>,
    window: Duration,
    now: UtcDateTime,
) -> Result<Ceremony, PasskeyError> {
    let expires = now
        .checked_add(window)
        .ok_or(CeremonyError::EndsBeforeItOpens)?;
    Ok(
        Ceremony::new(id, user.clone(), CeremonyKind::SignIn, now, expires)?
            .with_state(Some(state))?,
    )
}

/// The state of `user`'s passkey sign-in, taken (SPEC 8.6): it must be a sign-in of theirs,
/// open, unanswered.
///
/// # Errors
///
/// [`PasskeyError::NoSignIn`].
pub fn take_sign_in(
    user: &UserId,
    ceremony: Option<&Ceremony>,
    now: UtcDateTime,
) -> Result<Vec<u8>, PasskeyError> {
    match ceremony {
        Some(c) if c.kind() == &CeremonyKind::SignIn && c.user() == user && c.is_open(now) => {
            c.state().map(<[u8]>::to_vec).ok_or(PasskeyError::NoSignIn)
        }
        Some(_) | None => Err(PasskeyError::NoSignIn),
    }
}

/// The method `id` in `methods`, if it may sign its user in: not blocked.
///
/// # Errors
///
/// [`PasskeyError::NoSuchMethod`], [`PasskeyError::Blocked`].
pub fn usable_method<'m>(
    methods: &[&'m RegisteredMethod],
    id: &MethodId,
) -> Result<&'m RegisteredMethod, PasskeyError> {
    let method = methods
        .iter()
        .copied()
        .find(|m| m.id() == id)
        .ok_or(PasskeyError::NoSuchMethod)?;
    match method.blocked() {
        Some(at) => Err(PasskeyError::Blocked(at)),
        None => Ok(method),
    }
}

/// The method `id` after a sign-in the host verified against it (SPEC 8.6): its credential as
/// the host left it (the counter moved), used at `now`. The store commits it only at the
/// version the host verified against, so its counter only moves forward.
///
/// # Errors
///
/// As [`usable_method`]; [`PasskeyError::Method`] for a credential too large.
pub fn use_method(
    methods: &[&RegisteredMethod],
    id: &MethodId,
    credential: Vec<u8>,
    now: UtcDateTime,
) -> Result<RegisteredMethod, PasskeyError> {
    Ok(usable_method(methods, id)?.used(credential, now)?)
}

/// The method `id` blocked at `now`, after the host refused a sign-in with it as a possible
/// clone (SPEC 8.6). `None` when it is gone or blocked already.
#[must_use]
pub fn block_method(
    methods: &[&RegisteredMethod],
    id: &MethodId,
    now: UtcDateTime,
) -> Option<RegisteredMethod> {
    let method = methods.iter().find(|m| m.id() == id)?;
    method.blocked().is_none().then(|| method.blocked_at(now))
}
