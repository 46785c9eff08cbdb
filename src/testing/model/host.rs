//! The trait a harness implements, and the crate's engine as a host.

use alloc::collections::BTreeMap;
use alloc::string::String;
use core::fmt;

use time::{Duration, UtcDateTime};

use super::answers::{
    CreateRefusal, Forbidden, Granted, Issued, KeyRefusal, PolicyRefusal, RegisterRefusal, Removed,
    Viewed,
};
use super::keys::{
    access_answer, add_answer, broken, new_key, no_key, oldest, passkey_answer, provision_answer,
    session_answer, session_step,
};
use crate::ceremony::CeremonyId;
use crate::clock::{Clock, ManualClock};
use crate::config::EngineConfig;
use crate::onboarding::{PROVISIONING_WINDOW, SIGN_IN_WINDOW};
use core::convert::Infallible;

use crate::admin::{DeleteError, Deleted, PassView, ViewError};
use crate::create::{CreateError, CreateRequest, CreatedPass};
use crate::engine::{Engine, EngineError};
use crate::policy::{PolicySettings, UpdatePolicyError};
use crate::principal::Principal;
use crate::signin::{
    Client, Grant, NotOffered, Offer, PasswordlessMethod, RedeemRefusal, Redemption, SignInRequest,
};
use crate::store::Store;

/// A deployment under test, driven one operation at a time by [`super::check`]: its own store,
/// its own clock (which [`Host::wait`] moves), and the cast's principals as its directory
/// describes them ([`Who::principal`](super::Who::principal)). Each method does what the operation says through the
/// host's real path (an engine, an HTTP client...) and reports the answer in these terms.
///
/// The clock starts at the instant [`super::CheckConfig::start`] gives; the guessing limit is
/// the one [`super::CheckConfig`] gives the model.
#[allow(
    clippy::missing_errors_doc,
    reason = "each method's error is an answer, a refusal the rules give, described by its type"
)]
pub trait Host {
    /// Sets the policy as `actor`.
    fn set_policy(
        &mut self,
        actor: &Principal,
        settings: &PolicySettings,
    ) -> Result<(), PolicyRefusal>;
    /// Creates a pass for `target` as `actor`.
    fn create(
        &mut self,
        actor: &Principal,
        target: &Principal,
        request: &CreateRequest,
    ) -> Result<Issued, CreateRefusal>;
    /// `actor` views `holder`'s pass.
    fn view(&mut self, actor: &Principal, holder: &Principal) -> Result<Option<Viewed>, Forbidden>;
    /// `actor` deletes `holder`'s pass.
    fn delete(
        &mut self,
        actor: &Principal,
        holder: &Principal,
    ) -> Result<Option<Removed>, Forbidden>;
    /// Whether the sign-in page offers `user` a pass.
    fn offer(&mut self, user: &Principal, client: Client) -> Result<(), NotOffered>;
    /// `user` signs in with `code`.
    fn redeem(
        &mut self,
        user: &Principal,
        code: &str,
        client: Client,
    ) -> Result<Granted, RedeemRefusal>;
    /// `user` registers `method` under their latest granted sign-in (the host keeps it).
    fn register(
        &mut self,
        user: &Principal,
        method: PasswordlessMethod,
    ) -> Result<(), RegisterRefusal>;
    /// `user` opens a registration session under their latest granted sign-in (the host keeps
    /// the session, replacing the one before).
    fn open_session(&mut self, user: &Principal) -> Result<(), RegisterRefusal>;
    /// `user` registers a new key through their latest session: the options' state kept, then
    /// taken, then the key added.
    fn register_key(&mut self, user: &Principal) -> Result<(), KeyRefusal>;
    /// `actor` provisions a new key for `target`: a challenge opened and taken, then the key
    /// added.
    fn provision_key(&mut self, actor: &Principal, target: &Principal) -> Result<(), KeyRefusal>;
    /// How many keys `holder` has, as `actor` lists them.
    fn list_keys(&mut self, actor: &Principal, holder: &Principal) -> Result<usize, Forbidden>;
    /// `actor` deletes `holder`'s oldest key; whether there was one.
    fn delete_key(&mut self, actor: &Principal, holder: &Principal) -> Result<bool, Forbidden>;
    /// `user` signs in with their oldest key: a sign-in begun, taken, and the key's use
    /// recorded.
    fn use_key(&mut self, user: &Principal) -> Result<(), KeyRefusal>;
    /// The clock moves by `by` (negative: back).
    fn wait(&mut self, by: Duration);
}

/// The crate's [`Engine`] as a [`Host`]: over `store`, a [`ManualClock`] and `config`. A store
/// author model-checks a store with it; the crate checks itself with it.
#[derive(Debug)]
pub struct EngineHost<S> {
    engine: Engine<ManualClock, S>,
    grants: BTreeMap<String, Grant>,
    sessions: BTreeMap<String, CeremonyId>,
    keys: u64,
}

impl<S: Store> EngineHost<S> {
    /// An engine over `store`, its clock at `start`.
    #[must_use]
    pub fn new(store: S, start: UtcDateTime, config: EngineConfig) -> Self {
        Self {
            engine: Engine::new(ManualClock::new(start), store, config),
            grants: BTreeMap::new(),
            sessions: BTreeMap::new(),
            keys: 0,
        }
    }

    /// The engine.
    #[must_use]
    pub const fn engine(&self) -> &Engine<ManualClock, S> {
        &self.engine
    }
}

/// Sorts a creation refusal.
#[must_use]
pub fn create_refusal(error: &CreateError) -> CreateRefusal {
    match error {
        CreateError::Forbidden(_) => CreateRefusal::Forbidden,
        CreateError::AlreadyHasValidPass { .. } => CreateRefusal::AlreadyHasValidPass,
        CreateError::LifetimeOutOfRange { .. } => CreateRefusal::LifetimeOutOfRange,
        CreateError::StartInPast { .. } => CreateRefusal::StartInPast,
        CreateError::EndOutOfRange { .. } => CreateRefusal::EndOutOfRange,
        CreateError::ExistingPassMismatch { .. }
        | CreateError::TargetNotInScope { .. }
        | CreateError::Rng(_) => CreateRefusal::Other,
    }
}

/// The answer to a policy change, from an engine's result.
fn policy_answer<T, E: fmt::Debug>(
    result: Result<T, EngineError<UpdatePolicyError, E>>,
) -> Result<(), PolicyRefusal> {
    match result {
        Ok(_) => Ok(()),
        Err(EngineError::Rejected(UpdatePolicyError::Forbidden { .. })) => {
            Err(PolicyRefusal::Forbidden)
        }
        Err(EngineError::Rejected(UpdatePolicyError::Invalid(_))) => Err(PolicyRefusal::Invalid),
        Err(e) => broken("a policy change", &e),
    }
}

/// The answer to a creation, from an engine's result.
fn create_answer<E: fmt::Debug>(
    result: Result<CreatedPass, EngineError<CreateError, E>>,
) -> Result<Issued, CreateRefusal> {
    match result {
        Ok(created) => Ok(Issued::new(
            *created.record.id(),
            created.passcode.expose_secret(),
            created.record.start(),
            created.record.end(),
            created.record.is_usable_once(),
            !created.effects.is_empty(),
        )),
        Err(EngineError::Rejected(e)) => Err(create_refusal(&e)),
        Err(e) => broken("a creation", &e),
    }
}

/// The answer to a view, from an engine's result.
fn view_answer<E: fmt::Debug>(
    result: Result<Option<PassView>, EngineError<ViewError, E>>,
) -> Result<Option<Viewed>, Forbidden> {
    match result {
        Ok(view) => {
            Ok(view.map(|v| Viewed::new(v.id, v.start, v.end, v.is_usable_once, v.usability)))
        }
        Err(EngineError::Rejected(_)) => Err(Forbidden),
        Err(e) => broken("a view", &e),
    }
}

/// The answer to a deletion, from an engine's result.
fn delete_answer<E: fmt::Debug>(
    result: Result<Option<Deleted>, EngineError<DeleteError, E>>,
) -> Result<Option<Removed>, Forbidden> {
    match result {
        Ok(deleted) => Ok(deleted.map(|d| Removed::new(d.pass, !d.effects.is_empty()))),
        Err(EngineError::Rejected(_)) => Err(Forbidden),
        Err(e) => broken("a deletion", &e),
    }
}

/// The answer to an offer, from an engine's result.
fn offer_answer<E: fmt::Debug>(
    result: Result<Offer, EngineError<Infallible, E>>,
) -> Result<(), NotOffered> {
    match result {
        Ok(offer) => offer.decision.map(|_| ()),
        Err(e) => broken("an offer", &e),
    }
}

/// The answer to a sign-in, from an engine's result; a grant is kept for registrations.
fn redeem_answer<E: fmt::Debug>(
    result: Result<Redemption, EngineError<Infallible, E>>,
    grants: &mut BTreeMap<String, Grant>,
) -> Result<Granted, RedeemRefusal> {
    match result {
        Ok(redemption) => redemption.outcome.map(|grant| {
            let granted = Granted::new(grant.pass, grant.is_usable_once, grant.registration_until);
            grants.insert(grant.user.as_str().into(), grant);
            granted
        }),
        Err(e) => broken("a sign-in", &e),
    }
}

/// A [`Host`] over an engine, both drivers alike: `$run!(expr)` turns an engine call into its
/// result (nothing for the sync engine, waiting on the runtime for the async one).
macro_rules! engine_host {
    ($host:ty, $bound:path, $run:ident) => {
        impl<S: $bound> Host for $host {
            fn set_policy(
                &mut self,
                actor: &Principal,
                settings: &PolicySettings,
            ) -> Result<(), PolicyRefusal> {
                policy_answer($run!(self, self.engine.update_policy(actor, settings)))
            }

            fn create(
                &mut self,
                actor: &Principal,
                target: &Principal,
                request: &CreateRequest,
            ) -> Result<Issued, CreateRefusal> {
                let mut rng = getrandom::SysRng;
                create_answer($run!(
                    self,
                    self.engine.create(actor, target, request, &mut rng)
                ))
            }

            fn view(
                &mut self,
                actor: &Principal,
                holder: &Principal,
            ) -> Result<Option<Viewed>, Forbidden> {
                view_answer($run!(self, self.engine.view(actor, holder)))
            }

            fn delete(
                &mut self,
                actor: &Principal,
                holder: &Principal,
            ) -> Result<Option<Removed>, Forbidden> {
                delete_answer($run!(self, self.engine.delete(actor, holder)))
            }

            fn offer(&mut self, user: &Principal, client: Client) -> Result<(), NotOffered> {
                offer_answer($run!(
                    self,
                    self.engine.offer(user, SignInRequest::new(client))
                ))
            }

            fn redeem(
                &mut self,
                user: &Principal,
                code: &str,
                client: Client,
            ) -> Result<Granted, RedeemRefusal> {
                let request = SignInRequest::new(client);
                let result = $run!(self, self.engine.redeem(user, code, request));
                redeem_answer(result, &mut self.grants)
            }

            fn register(
                &mut self,
                user: &Principal,
                method: PasswordlessMethod,
            ) -> Result<(), RegisterRefusal> {
                let Some(grant) = self.grants.get(user.id().as_str()) else {
                    return Err(RegisterRefusal::NoSignIn);
                };
                session_answer($run!(self, self.engine.register(user, grant, method)))
            }

            fn open_session(&mut self, user: &Principal) -> Result<(), RegisterRefusal> {
                let Some(grant) = self.grants.get(user.id().as_str()) else {
                    return Err(RegisterRefusal::NoSignIn);
                };
                let mut rng = getrandom::SysRng;
                let opened = $run!(self, self.engine.open_session(user, grant, &mut rng));
                let session = session_answer(opened)?;
                self.sessions
                    .insert(user.id().as_str().into(), session.id().clone());
                Ok(())
            }

            fn register_key(&mut self, user: &Principal) -> Result<(), KeyRefusal> {
                let Some(session) = self.sessions.get(user.id().as_str()).cloned() else {
                    return Err(KeyRefusal::NoSession);
                };
                let options = b"the options".to_vec();
                session_step($run!(
                    self,
                    self.engine.set_session_state(user, &session, options)
                ))?;
                session_step($run!(self, self.engine.take_session_state(user, &session)))?;
                self.keys = self.keys.saturating_add(1);
                let key = new_key(self.keys);
                add_answer($run!(
                    self,
                    self.engine.register_method(user, &session, &key)
                ))
            }

            fn provision_key(
                &mut self,
                actor: &Principal,
                target: &Principal,
            ) -> Result<(), KeyRefusal> {
                let challenge = CeremonyId::random(&mut getrandom::SysRng)
                    .unwrap_or_else(|e| unreachable!("the system's generator failed: {e}"));
                provision_answer($run!(
                    self,
                    self.engine.begin_provisioning(
                        actor,
                        target,
                        &challenge,
                        b"the challenge",
                        PROVISIONING_WINDOW
                    )
                ))?;
                provision_answer($run!(
                    self,
                    self.engine.take_provisioning(actor, target, &challenge)
                ))?;
                self.keys = self.keys.saturating_add(1);
                let key = new_key(self.keys);
                add_answer($run!(
                    self,
                    self.engine.provision_method(actor, target, &key)
                ))
            }

            fn list_keys(
                &mut self,
                actor: &Principal,
                holder: &Principal,
            ) -> Result<usize, Forbidden> {
                access_answer($run!(self, self.engine.methods(actor, holder))).map(|m| m.len())
            }

            fn delete_key(
                &mut self,
                actor: &Principal,
                holder: &Principal,
            ) -> Result<bool, Forbidden> {
                let id = oldest($run!(self, self.engine.passkeys(holder.id())))
                    .map_or_else(|_| no_key(), |key| key.value.id().clone());
                access_answer($run!(self, self.engine.delete_method(actor, holder, &id)))
                    .map(|deleted| deleted.is_some())
            }

            fn use_key(&mut self, user: &Principal) -> Result<(), KeyRefusal> {
                let key = oldest($run!(self, self.engine.passkeys(user.id())))?;
                let sign_in = CeremonyId::random(&mut getrandom::SysRng)
                    .unwrap_or_else(|e| unreachable!("the system's generator failed: {e}"));
                passkey_answer($run!(
                    self,
                    self.engine.begin_sign_in(
                        user.id(),
                        &sign_in,
                        b"the challenge",
                        SIGN_IN_WINDOW
                    )
                ))?;
                passkey_answer($run!(self, self.engine.take_sign_in(user.id(), &sign_in)))?;
                let credential = key.value.credential().to_vec();
                passkey_answer($run!(
                    self,
                    self.engine
                        .use_method(user.id(), key.value.id(), key.version, &credential)
                ))
                .map(|_| ())
            }

            fn wait(&mut self, by: Duration) {
                let clock = self.engine.clock();
                if let Some(then) = clock.now().checked_add(by) {
                    clock.set(then);
                }
            }
        }
    };
}

/// A sync engine call's result is the call itself.
macro_rules! called {
    ($host:expr, $call:expr) => {
        $call
    };
}

engine_host!(EngineHost<S>, Store, called);

/// The crate's [`AsyncEngine`](crate::AsyncEngine) as a [`Host`] (feature
/// `test-support-tokio`): each operation waits on `runtime` for the engine's future, so an
/// async store is model-checked through the async driver. Call it from outside the runtime
/// (a plain test thread).
#[cfg(feature = "test-support-tokio")]
#[derive(Debug)]
pub struct AsyncEngineHost<S> {
    engine: crate::engine::AsyncEngine<ManualClock, S>,
    runtime: tokio::runtime::Handle,
    grants: BTreeMap<String, Grant>,
    sessions: BTreeMap<String, CeremonyId>,
    keys: u64,
}

#[cfg(feature = "test-support-tokio")]
impl<S: crate::store::AsyncStore> AsyncEngineHost<S> {
    /// An async engine over `store`, its clock at `start`, its futures run on `runtime`.
    #[must_use]
    pub fn new(
        store: S,
        start: UtcDateTime,
        config: EngineConfig,
        runtime: tokio::runtime::Handle,
    ) -> Self {
        Self {
            engine: crate::engine::AsyncEngine::new(ManualClock::new(start), store, config),
            runtime,
            grants: BTreeMap::new(),
            sessions: BTreeMap::new(),
            keys: 0,
        }
    }
}

/// An async engine call's result: its future, run to completion on the host's runtime.
#[cfg(feature = "test-support-tokio")]
macro_rules! awaited {
    ($host:expr, $call:expr) => {
        $host.runtime.block_on($call)
    };
}

#[cfg(feature = "test-support-tokio")]
engine_host!(AsyncEngineHost<S>, crate::store::AsyncStore, awaited);
