//! The keys of SPEC 8 in the model check: the model's rules for registration sessions and
//! registered keys, and how an engine's answers about them read as [`Answer`](super::Answer)s.

use alloc::format;
use alloc::vec::Vec;
use core::fmt;

use time::UtcDateTime;

use super::answers::{Forbidden, KeyRefusal, RegisterRefusal};
use super::{Action, Model, Who};
use crate::engine::EngineError;
use crate::ids::PassId;
use crate::method::{MethodId, MethodName, NewMethod, RegisteredMethod};
use crate::onboarding::{AddMethodError, MethodAccessError, PasskeyError, ProvisionError};
use crate::signin::RegistrationError;
use crate::store::Versioned;

/// A registration session as the model keeps it: the pass behind it and its window's end.
#[derive(Debug, Clone, Copy)]
pub(super) struct Session {
    pass: PassId,
    until: UtcDateTime,
}

impl Model {
    /// SPEC 8.1, 8.4: a session opens as a registration would be judged, and ends with the
    /// grant's window.
    pub(super) fn open_session(&mut self, user: Who) -> Result<(), RegisterRefusal> {
        self.register(user)?;
        let (pass, until) = *self.grants.get(&user).ok_or(RegisterRefusal::NoSignIn)?;
        self.sessions.insert(user, Session { pass, until });
        Ok(())
    }

    /// SPEC 8.4: deleting or replacing a user's pass ends their sessions in the same commit.
    pub(super) fn end_sessions(&mut self, user: Who) {
        self.sessions.remove(&user);
    }

    /// SPEC 8.1, 8.4: a key through the user's latest session, within the cap.
    pub(super) fn register_key(&mut self, user: Who) -> Result<(), KeyRefusal> {
        let session = self.sessions.get(&user).ok_or(KeyRefusal::NoSession)?;
        if self.now >= session.until {
            return Err(KeyRefusal::WindowClosed); // 8.1: the window's end excluded
        }
        if self.passes.get(&user).is_none_or(|p| p.id != session.pass) {
            return Err(KeyRefusal::PassRemoved); // 8.1
        }
        self.add_key(user)
    }

    /// SPEC 8.5: an administrator provisions a key as they would create a pass, within the cap.
    pub(super) fn provision_key(&mut self, actor: Who, target: Who) -> Result<(), KeyRefusal> {
        if !Self::may(actor, Action::Create, target) {
            return Err(KeyRefusal::Forbidden); // 8.5, 3.2-3.5
        }
        self.add_key(target)
    }

    /// SPEC 8.4: at most the cap, checked in the write that adds the key.
    fn add_key(&mut self, user: Who) -> Result<(), KeyRefusal> {
        let held = self.keys.entry(user).or_default();
        if *held >= self.methods_per_user {
            return Err(KeyRefusal::TooMany);
        }
        *held = held.saturating_add(1);
        Ok(())
    }

    /// SPEC 8.5: how many keys `holder` has, for whoever may view their pass.
    pub(super) fn list_keys(&self, actor: Who, holder: Who) -> Result<usize, Forbidden> {
        if !Self::may(actor, Action::View, holder) {
            return Err(Forbidden);
        }
        Ok(self
            .keys
            .get(&holder)
            .map_or(0, |n| usize::try_from(*n).unwrap_or(usize::MAX)))
    }

    /// SPEC 8.5: one of `holder`'s keys deleted, by whoever may delete their pass.
    pub(super) fn delete_key(&mut self, actor: Who, holder: Who) -> Result<bool, Forbidden> {
        if !Self::may(actor, Action::Delete, holder) {
            return Err(Forbidden); // checked before whether there is a key
        }
        Ok(match self.keys.get_mut(&holder) {
            Some(held) if *held > 0 => {
                *held = held.saturating_sub(1);
                true
            }
            Some(_) | None => false,
        })
    }

    /// SPEC 8.6: a passkey sign-in needs a key, and no pass nor policy.
    pub(super) fn use_key(&self, user: Who) -> Result<(), KeyRefusal> {
        match self.keys.get(&user) {
            Some(held) if *held > 0 => Ok(()),
            Some(_) | None => Err(KeyRefusal::NoKey),
        }
    }
}

/// A store failure or contention is no answer the rules give: the check stops there.
#[allow(
    clippy::panic,
    reason = "a broken host fails the check, like `assert!`"
)]
pub(super) fn broken<R: fmt::Debug, E: fmt::Debug>(
    operation: &str,
    error: &EngineError<R, E>,
) -> ! {
    panic!("the host broke during {operation}: {error:?}")
}

/// The `n`th key a host registers: an id of its own and a credential.
#[must_use]
pub(super) fn new_key(n: u64) -> NewMethod {
    let id = MethodId::new(&format!("model-key-{n}")).unwrap_or_else(|_| unreachable!());
    let name = MethodName::new("model key").unwrap_or_else(|_| unreachable!());
    NewMethod::new(id, name, format!("credential {n}").into_bytes())
}

/// The id a host deletes when the holder has no key.
pub(super) fn no_key() -> MethodId {
    MethodId::new("model-no-key").unwrap_or_else(|_| unreachable!())
}

/// A registration refusal the rules give through a session; any other is a broken host.
fn registration_refusal<E: fmt::Debug>(
    operation: &str,
    error: EngineError<RegistrationError, E>,
) -> KeyRefusal {
    match error {
        EngineError::Rejected(RegistrationError::NoSession) => KeyRefusal::NoSession,
        EngineError::Rejected(RegistrationError::WindowClosed { .. }) => KeyRefusal::WindowClosed,
        EngineError::Rejected(RegistrationError::PassRemoved) => KeyRefusal::PassRemoved,
        e => broken(operation, &e),
    }
}

/// The answer to a registration, or to a session's opening (judged as one).
pub(super) fn session_answer<T, E: fmt::Debug>(
    result: Result<T, EngineError<RegistrationError, E>>,
) -> Result<T, RegisterRefusal> {
    match result {
        Ok(opened) => Ok(opened),
        Err(EngineError::Rejected(RegistrationError::WindowClosed { .. })) => {
            Err(RegisterRefusal::WindowClosed)
        }
        Err(EngineError::Rejected(RegistrationError::PassRemoved)) => {
            Err(RegisterRefusal::PassRemoved)
        }
        Err(e) => broken("a registration", &e),
    }
}

/// The answer to a step of a session (its options kept, then taken).
pub(super) fn session_step<T, E: fmt::Debug>(
    result: Result<T, EngineError<RegistrationError, E>>,
) -> Result<T, KeyRefusal> {
    result.map_err(|e| registration_refusal("a step of a session", e))
}

/// The answer to a key's registration or provisioning.
pub(super) fn add_answer<E: fmt::Debug>(
    result: Result<RegisteredMethod, EngineError<AddMethodError, E>>,
) -> Result<(), KeyRefusal> {
    match result {
        Ok(_) => Ok(()),
        Err(EngineError::Rejected(AddMethodError::Registration(e))) => Err(registration_refusal(
            "adding a key",
            EngineError::<_, E>::Rejected(e),
        )),
        Err(EngineError::Rejected(AddMethodError::Forbidden(_))) => Err(KeyRefusal::Forbidden),
        Err(EngineError::Rejected(AddMethodError::TooMany { .. })) => Err(KeyRefusal::TooMany),
        Err(e) => broken("adding a key", &e),
    }
}

/// The answer to a provisioning step before the key is added.
pub(super) fn provision_answer<T, E: fmt::Debug>(
    result: Result<T, EngineError<ProvisionError, E>>,
) -> Result<T, KeyRefusal> {
    match result {
        Ok(value) => Ok(value),
        Err(EngineError::Rejected(ProvisionError::Forbidden(_))) => Err(KeyRefusal::Forbidden),
        Err(e) => broken("a provisioning", &e),
    }
}

/// The answer to a listing or a deletion of keys.
pub(super) fn access_answer<T, E: fmt::Debug>(
    result: Result<T, EngineError<MethodAccessError, E>>,
) -> Result<T, Forbidden> {
    match result {
        Ok(value) => Ok(value),
        Err(EngineError::Rejected(_)) => Err(Forbidden),
        Err(e) => broken("reading or deleting keys", &e),
    }
}

/// The key a passkey sign-in uses, or a deletion deletes: the user's oldest.
pub(super) fn oldest<E: fmt::Debug>(
    result: Result<Vec<Versioned<RegisteredMethod>>, EngineError<core::convert::Infallible, E>>,
) -> Result<Versioned<RegisteredMethod>, KeyRefusal> {
    match result {
        Ok(keys) => keys.into_iter().next().ok_or(KeyRefusal::NoKey),
        Err(e) => broken("reading keys", &e),
    }
}

/// The answer to a step of a passkey sign-in: with a key just read, every refusal is a broken
/// host.
pub(super) fn passkey_answer<T, E: fmt::Debug>(
    result: Result<T, EngineError<PasskeyError, E>>,
) -> Result<T, KeyRefusal> {
    match result {
        Ok(value) => Ok(value),
        Err(e) => broken("a passkey sign-in", &e),
    }
}
