//! The plans of SPEC 8: registration sessions, registered methods and passkey sign-ins. Each
//! reads the user's record with what it needs (their methods, a ceremony), judges it with the
//! pure decisions of [`crate::onboarding`], and commits one conditional change: a method added
//! only while the pass behind it is held and within the cap, a ceremony's state set or taken
//! only at the version read, a method's use only at the version the host verified.

use alloc::vec::Vec;
use core::convert::Infallible;

use time::{Duration, UtcDateTime};

use super::{Decided, Plan, Refused, record_of};
use crate::ceremony::{Ceremony, CeremonyId};
use crate::event::Event;
use crate::ids::UserId;
use crate::method::{MethodId, NewMethod, RegisteredMethod};
use crate::onboarding::{
    self as o, AddMethodError, MethodAccessError, MethodDeleted, PasskeyError, ProvisionError,
    SessionContext,
};
use crate::principal::Principal;
use crate::signin::{Grant, RegistrationError};
use crate::store::{Change, Loaded, Read, Version, Versioned};

mod signin;

pub(crate) use signin::{BeginSignIn, BlockMethod, Passkeys, TakeSignIn, UseMethod};

/// The methods read, without their versions, for the pure decisions.
fn methods_of(read: &Loaded) -> Vec<&RegisteredMethod> {
    read.methods.iter().map(|m| &m.value).collect()
}

/// The version `id` is stored at, in what was read.
fn version_of(read: &Loaded, id: &MethodId) -> Option<Version> {
    read.methods
        .iter()
        .find(|m| m.value.id() == id)
        .map(|m| m.version)
}

/// The ceremony read, as stored, with its version; `None` when there is none.
fn ceremony_of(read: &Loaded) -> Option<&Versioned<Ceremony>> {
    read.ceremony.as_ref()
}

/// A change of a ceremony read at its version.
fn update(read: &Versioned<Ceremony>, ceremony: Ceremony) -> Change {
    Change::UpdateCeremony {
        expected: read.version,
        ceremony,
    }
}

/// Opens a registration session for a grant (SPEC 8.1, 8.4).
pub(crate) struct OpenSession<'a> {
    pub(crate) user: &'a Principal,
    pub(crate) grant: &'a Grant,
    pub(crate) id: CeremonyId,
    pub(crate) per_user: u32,
}

impl Plan for OpenSession<'_> {
    type Output = Ceremony;
    type Rejection = RegistrationError;

    fn read(&self) -> Option<Read> {
        Some(Read::user(self.user.id().clone()))
    }

    fn decide(
        &mut self,
        read: Loaded,
        now: UtcDateTime,
    ) -> Result<Decided<Ceremony>, Refused<RegistrationError>> {
        let session = o::open_session(
            self.user,
            self.grant,
            record_of(&read),
            self.id.clone(),
            now,
        )
        .map_err(Refused::Rejected)?;
        Ok(Decided {
            change: Some(Change::OpenCeremony {
                ceremony: session.clone(),
                held: Some(self.grant.pass),
                per_user: self.per_user,
            }),
            output: session,
        })
    }

    fn events(_: &Ceremony) -> Vec<Event> {
        Vec::new()
    }
}

/// Sets or takes a session's outstanding options (SPEC 8.3).
pub(crate) struct SessionState<'a> {
    pub(crate) user: &'a Principal,
    pub(crate) id: &'a CeremonyId,
    /// `Some`: the options issued, to keep; `None`: take the outstanding ones.
    pub(crate) set: Option<Vec<u8>>,
}

impl Plan for SessionState<'_> {
    /// The state taken (empty when one was set).
    type Output = Vec<u8>;
    type Rejection = RegistrationError;

    fn read(&self) -> Option<Read> {
        Some(Read::user(self.user.id().clone()).ceremony(self.id.clone()))
    }

    fn decide(
        &mut self,
        read: Loaded,
        now: UtcDateTime,
    ) -> Result<Decided<Vec<u8>>, Refused<RegistrationError>> {
        let stored = ceremony_of(&read);
        let ctx = SessionContext::new(self.user, record_of(&read), stored.map(|c| &c.value));
        let stored = stored.ok_or(Refused::Rejected(RegistrationError::NoSession))?;
        let (session, output) = match &self.set {
            Some(state) => (
                o::set_session_state(&ctx, state.clone(), now).map_err(Refused::Rejected)?,
                Vec::new(),
            ),
            None => o::take_session_state(&ctx, now).map_err(Refused::Rejected)?,
        };
        Ok(Decided {
            change: Some(update(stored, session)),
            output,
        })
    }

    fn events(_: &Vec<u8>) -> Vec<Event> {
        Vec::new()
    }
}

/// Registers a method through a session (SPEC 8.1, 8.4).
pub(crate) struct RegisterMethod<'a> {
    pub(crate) user: &'a Principal,
    pub(crate) id: &'a CeremonyId,
    pub(crate) new: &'a NewMethod,
    pub(crate) cap: u32,
}

impl Plan for RegisterMethod<'_> {
    type Output = RegisteredMethod;
    type Rejection = AddMethodError;

    fn read(&self) -> Option<Read> {
        Some(
            Read::user(self.user.id().clone())
                .methods()
                .ceremony(self.id.clone()),
        )
    }

    fn decide(
        &mut self,
        read: Loaded,
        now: UtcDateTime,
    ) -> Result<Decided<RegisteredMethod>, Refused<AddMethodError>> {
        let session = ceremony_of(&read).map(|c| &c.value);
        let ctx = SessionContext::new(self.user, record_of(&read), session);
        let (method, pass) =
            o::register_method(&ctx, &methods_of(&read), self.cap, self.new.clone(), now)
                .map_err(Refused::Rejected)?;
        Ok(Decided {
            change: Some(Change::AddMethod {
                user: self.user.id().clone(),
                held: Some(pass),
                method: method.clone(),
                cap: self.cap,
            }),
            output: method,
        })
    }

    fn events(method: &RegisteredMethod) -> Vec<Event> {
        method.registration_events()
    }
}

/// Opens an administrator's provisioning (SPEC 8.5).
pub(crate) struct BeginProvisioning<'a> {
    pub(crate) actor: &'a Principal,
    pub(crate) target: &'a Principal,
    pub(crate) id: &'a CeremonyId,
    pub(crate) state: &'a [u8],
    pub(crate) lifetime: Duration,
    pub(crate) per_user: u32,
}

/// It reads nothing of the store's but the policy, which it does not judge either: the roles
/// come from the principals, and the ceremony's own write bounds the user's open ones.
impl Plan for BeginProvisioning<'_> {
    type Output = Ceremony;
    type Rejection = ProvisionError;

    fn decide(
        &mut self,
        _: Loaded,
        now: UtcDateTime,
    ) -> Result<Decided<Ceremony>, Refused<ProvisionError>> {
        let ceremony = o::begin_provisioning(
            self.actor,
            self.target,
            self.id.clone(),
            self.state.to_vec(),
            self.lifetime,
            now,
        )
        .map_err(Refused::Rejected)?;
        Ok(Decided {
            change: Some(Change::OpenCeremony {
                ceremony: ceremony.clone(),
                held: None,
                per_user: self.per_user,
            }),
            output: ceremony,
        })
    }

    fn events(_: &Ceremony) -> Vec<Event> {
        Vec::new()
    }
}

/// Takes an administrator's provisioning, whole (SPEC 8.5).
pub(crate) struct TakeProvisioning<'a> {
    pub(crate) actor: &'a Principal,
    pub(crate) target: &'a Principal,
    pub(crate) id: &'a CeremonyId,
}

impl Plan for TakeProvisioning<'_> {
    type Output = Vec<u8>;
    type Rejection = ProvisionError;

    fn read(&self) -> Option<Read> {
        Some(Read::user(self.target.id().clone()).ceremony(self.id.clone()))
    }

    fn decide(
        &mut self,
        read: Loaded,
        now: UtcDateTime,
    ) -> Result<Decided<Vec<u8>>, Refused<ProvisionError>> {
        let stored = ceremony_of(&read);
        let state = o::take_provisioning(self.actor, self.target, stored.map(|c| &c.value), now)
            .map_err(Refused::Rejected)?;
        let stored = stored.ok_or(Refused::Rejected(ProvisionError::NoChallenge))?;
        Ok(Decided {
            change: Some(Change::RemoveCeremony {
                user: self.target.id().clone(),
                id: self.id.clone(),
                expected: stored.version,
            }),
            output: state,
        })
    }

    fn events(_: &Vec<u8>) -> Vec<Event> {
        Vec::new()
    }
}

/// Adds a method an administrator provisioned (SPEC 8.5).
pub(crate) struct ProvisionMethod<'a> {
    pub(crate) actor: &'a Principal,
    pub(crate) target: &'a Principal,
    pub(crate) new: &'a NewMethod,
    pub(crate) cap: u32,
}

impl Plan for ProvisionMethod<'_> {
    type Output = RegisteredMethod;
    type Rejection = AddMethodError;

    fn read(&self) -> Option<Read> {
        Some(Read::user(self.target.id().clone()).methods())
    }

    fn decide(
        &mut self,
        read: Loaded,
        now: UtcDateTime,
    ) -> Result<Decided<RegisteredMethod>, Refused<AddMethodError>> {
        let method = o::provision_method(
            self.actor,
            self.target,
            &methods_of(&read),
            self.cap,
            self.new.clone(),
            now,
        )
        .map_err(Refused::Rejected)?;
        Ok(Decided {
            change: Some(Change::AddMethod {
                user: self.target.id().clone(),
                held: None,
                method: method.clone(),
                cap: self.cap,
            }),
            output: method,
        })
    }

    fn events(method: &RegisteredMethod) -> Vec<Event> {
        method.registration_events()
    }
}

/// Lists a user's methods (SPEC 8.5): read only.
pub(crate) struct ViewMethods<'a> {
    pub(crate) actor: &'a Principal,
    pub(crate) holder: &'a Principal,
}

impl Plan for ViewMethods<'_> {
    type Output = Vec<RegisteredMethod>;
    type Rejection = MethodAccessError;

    fn read(&self) -> Option<Read> {
        Some(Read::user(self.holder.id().clone()).methods())
    }

    fn decide(
        &mut self,
        read: Loaded,
        _: UtcDateTime,
    ) -> Result<Decided<Vec<RegisteredMethod>>, Refused<MethodAccessError>> {
        o::view_methods(self.actor, self.holder, &methods_of(&read))
            .map(Decided::read_only)
            .map_err(Refused::Rejected)
    }

    fn events(_: &Vec<RegisteredMethod>) -> Vec<Event> {
        Vec::new()
    }
}

/// Deletes a method (SPEC 8.5).
pub(crate) struct DeleteMethod<'a> {
    pub(crate) actor: &'a Principal,
    pub(crate) holder: &'a Principal,
    pub(crate) id: &'a MethodId,
}

impl Plan for DeleteMethod<'_> {
    type Output = Option<MethodDeleted>;
    type Rejection = MethodAccessError;

    fn read(&self) -> Option<Read> {
        Some(Read::user(self.holder.id().clone()).methods())
    }

    fn decide(
        &mut self,
        read: Loaded,
        now: UtcDateTime,
    ) -> Result<Decided<Option<MethodDeleted>>, Refused<MethodAccessError>> {
        let deleted = o::delete_method(self.actor, self.holder, &methods_of(&read), self.id, now)
            .map_err(Refused::Rejected)?;
        let change = deleted.as_ref().map(|_| Change::RemoveMethod {
            user: self.holder.id().clone(),
            id: self.id.clone(),
        });
        Ok(Decided {
            output: deleted,
            change,
        })
    }

    fn events(deleted: &Option<MethodDeleted>) -> Vec<Event> {
        deleted
            .as_ref()
            .map_or_else(Vec::new, MethodDeleted::events)
    }
}
