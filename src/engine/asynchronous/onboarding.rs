//! The engine's operations of SPEC 8 on [`AsyncEngine`]: as [`Engine`](super::super::Engine)'s,
//! each store call awaited.

use alloc::vec::Vec;
use core::convert::Infallible;

use rand_core::TryCryptoRng;
use time::Duration;

use super::super::EngineError;
use super::AsyncEngine;
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
use crate::store::{AsyncStore, Version, Versioned};

impl<C: Clock, S: AsyncStore> AsyncEngine<C, S> {
    /// As [`Engine::open_session`](super::super::Engine::open_session).
    ///
    /// # Errors
    ///
    /// As [`Engine::open_session`](super::super::Engine::open_session).
    pub async fn open_session<R: TryCryptoRng + Send + ?Sized>(
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
        .await
    }

    /// As [`Engine::set_session_state`](super::super::Engine::set_session_state).
    ///
    /// # Errors
    ///
    /// As [`Engine::set_session_state`](super::super::Engine::set_session_state).
    pub async fn set_session_state(
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
        .await
        .map(|_| ())
    }

    /// As [`Engine::take_session_state`](super::super::Engine::take_session_state).
    ///
    /// # Errors
    ///
    /// As [`Engine::take_session_state`](super::super::Engine::take_session_state).
    pub async fn take_session_state(
        &self,
        user: &Principal,
        session: &CeremonyId,
    ) -> Result<Vec<u8>, EngineError<RegistrationError, S::Error>> {
        self.run(SessionState {
            user,
            id: session,
            set: None,
        })
        .await
    }

    /// As [`Engine::register_method`](super::super::Engine::register_method).
    ///
    /// # Errors
    ///
    /// As [`Engine::register_method`](super::super::Engine::register_method).
    pub async fn register_method(
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
        .await
    }

    /// As [`Engine::begin_provisioning`](super::super::Engine::begin_provisioning).
    ///
    /// # Errors
    ///
    /// As [`Engine::begin_provisioning`](super::super::Engine::begin_provisioning).
    pub async fn begin_provisioning(
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
        .await
    }

    /// As [`Engine::take_provisioning`](super::super::Engine::take_provisioning).
    ///
    /// # Errors
    ///
    /// As [`Engine::take_provisioning`](super::super::Engine::take_provisioning).
    pub async fn take_provisioning(
        &self,
        actor: &Principal,
        target: &Principal,
        id: &CeremonyId,
    ) -> Result<Vec<u8>, EngineError<ProvisionError, S::Error>> {
        self.run(TakeProvisioning { actor, target, id }).await
    }

    /// As [`Engine::provision_method`](super::super::Engine::provision_method).
    ///
    /// # Errors
    ///
    /// As [`Engine::provision_method`](super::super::Engine::provision_method).
    pub async fn provision_method(
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
        .await
    }

    /// As [`Engine::methods`](super::super::Engine::methods).
    ///
    /// # Errors
    ///
    /// As [`Engine::methods`](super::super::Engine::methods).
    pub async fn methods(
        &self,
        actor: &Principal,
        holder: &Principal,
    ) -> Result<Vec<RegisteredMethod>, EngineError<MethodAccessError, S::Error>> {
        self.run(ViewMethods { actor, holder }).await
    }

    /// As [`Engine::delete_method`](super::super::Engine::delete_method).
    ///
    /// # Errors
    ///
    /// As [`Engine::delete_method`](super::super::Engine::delete_method).
    pub async fn delete_method(
        &self,
        actor: &Principal,
        holder: &Principal,
        id: &MethodId,
    ) -> Result<Option<MethodDeleted>, EngineError<MethodAccessError, S::Error>> {
        self.run(DeleteMethod { actor, holder, id }).await
    }

    /// As [`Engine::passkeys`](super::super::Engine::passkeys).
    ///
    /// # Errors
    ///
    /// As [`Engine::passkeys`](super::super::Engine::passkeys).
    pub async fn passkeys(
        &self,
        user: &UserId,
    ) -> Result<Vec<Versioned<RegisteredMethod>>, EngineError<Infallible, S::Error>> {
        self.run(Passkeys { user }).await
    }

    /// As [`Engine::begin_sign_in`](super::super::Engine::begin_sign_in).
    ///
    /// # Errors
    ///
    /// As [`Engine::begin_sign_in`](super::super::Engine::begin_sign_in).
    pub async fn begin_sign_in(
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
        .await
    }

    /// As [`Engine::take_sign_in`](super::super::Engine::take_sign_in).
    ///
    /// # Errors
    ///
    /// As [`Engine::take_sign_in`](super::super::Engine::take_sign_in).
    pub async fn take_sign_in(
        &self,
        user: &UserId,
        id: &CeremonyId,
    ) -> Result<Vec<u8>, EngineError<PasskeyError, S::Error>> {
        self.run(TakeSignIn { user, id }).await
    }

    /// As [`Engine::use_method`](super::super::Engine::use_method).
    ///
    /// # Errors
    ///
    /// As [`Engine::use_method`](super::super::Engine::use_method).
    pub async fn use_method(
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
        .await
    }

    /// As [`Engine::block_method`](super::super::Engine::block_method).
    ///
    /// # Errors
    ///
    /// As [`Engine::block_method`](super::super::Engine::block_method).
    pub async fn block_method(
        &self,
        user: &UserId,
        id: &MethodId,
    ) -> Result<Option<RegisteredMethod>, EngineError<Infallible, S::Error>> {
        self.run(BlockMethod { user, id }).await
    }
}
