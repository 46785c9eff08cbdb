//! The engine's operations of SPEC 8, on [`Engine`]: registration sessions, registered methods
//! and passkey sign-ins, one plan each ([`crate::plan`]), as the pass operations are.

use alloc::vec::Vec;
use core::convert::Infallible;

use rand_core::TryCryptoRng;
use time::Duration;

use super::Engine;
use super::EngineError;
use crate::ceremony::{Ceremony, CeremonyId};
use crate::clock::Clock;
use crate::ids::UserId;
use crate::method::{MethodId, NewMethod, RegisteredMethod};
use crate::onboarding::{
    AddMethodError, MethodAccessError, MethodDeleted, PasskeyError, ProvisionError,
};
use crate::passcode::RngFailure;
use crate::plan::{
    BeginProvisioning, BeginSignIn, BlockMethod, DeleteMethod, OpenSession, Passkeys,
    ProvisionMethod, RegisterMethod, SessionState, TakeProvisioning, TakeSignIn, UseMethod,
    ViewMethods,
};
use crate::principal::Principal;
use crate::signin::{Grant, RegistrationError};
use crate::store::{Store, Version, Versioned};

impl<C: Clock, S: Store> Engine<C, S> {
    /// Opens a registration session for `user`, signed in with `grant` (SPEC 8.1, 8.4): judged as
    /// [`Engine::register`] judges a registration, under a fresh id drawn from `rng`, ending with the
    /// grant's window. It commits only while the pass behind the grant is stored; the user's oldest
    /// session ends when they would hold more than [`EngineConfig::ceremonies_per_user`](crate::EngineConfig::ceremonies_per_user).
    ///
    /// # Errors
    ///
    /// [`EngineError::Rejected`] with the [`RegistrationError`]; [`EngineError::Rng`]; store and contention errors.
    pub fn open_session<R: TryCryptoRng + ?Sized>(
        &self,
        user: &Principal,
        grant: &Grant,
        rng: &mut R,
    ) -> Result<Ceremony, EngineError<RegistrationError, S::Error>> {
        let id = CeremonyId::random(rng).map_err(|_| EngineError::Rng(RngFailure))?;
        let per_user = self.config.ceremonies_per_user;
        self.run(OpenSession {
            user,
            grant,
            id,
            per_user,
        })
    }

    /// Keeps `state`, the options a host issued, as `session`'s outstanding ones (SPEC 8.3), if the
    /// session still lets `user` register ([`onboarding::judge_session`](crate::onboarding::judge_session)); earlier options are
    /// replaced. It commits only if the session did not change since it was read.
    ///
    /// # Errors
    ///
    /// [`EngineError::Rejected`] with the [`RegistrationError`]; store and contention errors.
    pub fn set_session_state(
        &self,
        user: &Principal,
        session: &CeremonyId,
        state: Vec<u8>,
    ) -> Result<(), EngineError<RegistrationError, S::Error>> {
        self.run(SessionState {
            user,
            id: session,
            set: Some(state),
        })
        .map(|_| ())
    }

    /// Takes `session`'s outstanding options' state (SPEC 8.3): judged as
    /// [`Engine::set_session_state`], and single-use: of two instances asking at once, one gets it.
    ///
    /// # Errors
    ///
    /// [`EngineError::Rejected`] with the [`RegistrationError`] ([`RegistrationError::NoOptions`]
    /// when none are outstanding); store and contention errors.
    pub fn take_session_state(
        &self,
        user: &Principal,
        session: &CeremonyId,
    ) -> Result<Vec<u8>, EngineError<RegistrationError, S::Error>> {
        self.run(SessionState {
            user,
            id: session,
            set: None,
        })
    }

    /// Registers `new` for `user` through `session` (SPEC 8.1, 8.4): judged on the session, the
    /// cap of [`EngineConfig::methods_per_user`](crate::EngineConfig::methods_per_user) and the method's id; it commits with its audit
    /// event only while the pass behind the session is stored.
    ///
    /// # Errors
    ///
    /// [`EngineError::Rejected`] with the [`AddMethodError`]; store and contention errors.
    pub fn register_method(
        &self,
        user: &Principal,
        session: &CeremonyId,
        new: &NewMethod,
    ) -> Result<RegisteredMethod, EngineError<AddMethodError, S::Error>> {
        let cap = self.config.methods_per_user;
        self.run(RegisterMethod {
            user,
            id: session,
            new,
            cap,
        })
    }

    /// Opens `actor`'s provisioning of a key for `target` (SPEC 8.5) under `id` (the challenge the
    /// host issued), keeping `state` for `lifetime`.
    ///
    /// # Errors
    ///
    /// [`EngineError::Rejected`] with the [`ProvisionError`]; store and contention errors.
    pub fn begin_provisioning(
        &self,
        actor: &Principal,
        target: &Principal,
        id: &CeremonyId,
        state: &[u8],
        lifetime: Duration,
    ) -> Result<Ceremony, EngineError<ProvisionError, S::Error>> {
        let per_user = self.config.ceremonies_per_user;
        self.run(BeginProvisioning {
            actor,
            target,
            id,
            state,
            lifetime,
            per_user,
        })
    }

    /// Takes `actor`'s provisioning `id` for `target` (SPEC 8.5), whole and once: the role is checked
    /// again, and the challenge must be this administrator's, open and unanswered.
    ///
    /// # Errors
    ///
    /// [`EngineError::Rejected`] with the [`ProvisionError`]; store and contention errors.
    pub fn take_provisioning(
        &self,
        actor: &Principal,
        target: &Principal,
        id: &CeremonyId,
    ) -> Result<Vec<u8>, EngineError<ProvisionError, S::Error>> {
        self.run(TakeProvisioning { actor, target, id })
    }

    /// Adds `new` for `target`, provisioned by `actor` (SPEC 8.5): the role matrix, the cap and the
    /// id; it commits with its audit event.
    ///
    /// # Errors
    ///
    /// [`EngineError::Rejected`] with the [`AddMethodError`]; store and contention errors.
    pub fn provision_method(
        &self,
        actor: &Principal,
        target: &Principal,
        new: &NewMethod,
    ) -> Result<RegisteredMethod, EngineError<AddMethodError, S::Error>> {
        let cap = self.config.methods_per_user;
        self.run(ProvisionMethod {
            actor,
            target,
            new,
            cap,
        })
    }

    /// `holder`'s registered methods for `actor` (SPEC 8.5), oldest first.
    ///
    /// # Errors
    ///
    /// [`EngineError::Rejected`] with the [`MethodAccessError`]; store errors.
    pub fn methods(
        &self,
        actor: &Principal,
        holder: &Principal,
    ) -> Result<Vec<RegisteredMethod>, EngineError<MethodAccessError, S::Error>> {
        self.run(ViewMethods { actor, holder })
    }

    /// Deletes `holder`'s method `id` as `actor` (SPEC 8.5), with its audit event; `None` when the
    /// holder has no such method. A deleted key signs nobody in.
    ///
    /// # Errors
    ///
    /// [`EngineError::Rejected`] with the [`MethodAccessError`]; store and contention errors.
    pub fn delete_method(
        &self,
        actor: &Principal,
        holder: &Principal,
        id: &MethodId,
    ) -> Result<Option<MethodDeleted>, EngineError<MethodAccessError, S::Error>> {
        self.run(DeleteMethod { actor, holder, id })
    }

    /// `user`'s methods that may sign them in with a passkey (not blocked), each with its version:
    /// what a host builds a passkey sign-in's options from, and verifies its answer against.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn passkeys(
        &self,
        user: &UserId,
    ) -> Result<Vec<Versioned<RegisteredMethod>>, EngineError<Infallible, S::Error>> {
        self.run(Passkeys { user })
    }

    /// Starts a passkey sign-in for `user` under `id`, keeping `state` (the challenge and the
    /// credential ids allowed, never the keys) for `window` (SPEC 8.6); the user's oldest ends when
    /// they would have more than [`EngineConfig::ceremonies_per_user`](crate::EngineConfig::ceremonies_per_user) open.
    ///
    /// # Errors
    ///
    /// [`EngineError::Rejected`] with the [`PasskeyError`]; store and contention errors.
    pub fn begin_sign_in(
        &self,
        user: &UserId,
        id: &CeremonyId,
        state: &[u8],
        window: Duration,
    ) -> Result<Ceremony, EngineError<PasskeyError, S::Error>> {
        let per_user = self.config.ceremonies_per_user;
        self.run(BeginSignIn {
            user,
            id,
            state,
            window,
            per_user,
        })
    }

    /// Takes `user`'s passkey sign-in `id`, whole and once (SPEC 8.6).
    ///
    /// # Errors
    ///
    /// [`EngineError::Rejected`] with [`PasskeyError::NoSignIn`]; store and contention errors.
    pub fn take_sign_in(
        &self,
        user: &UserId,
        id: &CeremonyId,
    ) -> Result<Vec<u8>, EngineError<PasskeyError, S::Error>> {
        self.run(TakeSignIn { user, id })
    }

    /// Records a passkey sign-in with `user`'s method `id`, verified by the host against the
    /// method at version `verified` and leaving its credential as `credential` (SPEC 8.6): it commits
    /// only if the method is still at that version, so its signature counter only moves forward.
    ///
    /// # Errors
    ///
    /// [`EngineError::Rejected`] with the [`PasskeyError`] ([`PasskeyError::Raced`] when another sign-in
    /// landed first); store and contention errors.
    pub fn use_method(
        &self,
        user: &UserId,
        id: &MethodId,
        verified: Version,
        credential: &[u8],
    ) -> Result<RegisteredMethod, EngineError<PasskeyError, S::Error>> {
        self.run(UseMethod {
            user,
            id,
            verified,
            credential,
        })
    }

    /// Blocks `user`'s method `id`, which the host refused as a possible clone (SPEC 8.6), with its
    /// audit event; `None` when it is gone or blocked already.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] or [`EngineError::Contention`].
    pub fn block_method(
        &self,
        user: &UserId,
        id: &MethodId,
    ) -> Result<Option<RegisteredMethod>, EngineError<Infallible, S::Error>> {
        self.run(BlockMethod { user, id })
    }
}
