//! The async driver: the same plans as [`Engine`](super::Engine), over an [`AsyncStore`]
//! (SPEC 0.2).

use core::convert::Infallible;

use rand_core::TryCryptoRng;

use super::EngineError;
use crate::admin::{DeleteError, Deleted, ViewError};
use crate::clock::Clock;
use crate::config::EngineConfig;
use crate::create::{CreateError, CreateRequest, CreatedPass};
use crate::ids::PassId;
use crate::plan::{
    Attempts, Create, Delete, NewSettings, OfferPlan, Plan, ReadPolicy, Redeem, Register,
    UpdatePolicy, View,
};
use crate::policy::{Policy, PolicySettings, PolicyUpdate, UpdatePolicyError};
use crate::principal::Principal;
use crate::signin::{
    Grant, Offer, PasswordlessMethod, Redemption, RegistrationError, SignInRequest,
};
use crate::store::{AsyncStore, Loaded};
use crate::view::PassView;

mod onboarding;

/// [`Engine`](super::Engine) for async hosts: the same operations, carried out by the same
/// plans, over an [`AsyncStore`]. Each operation reads the clock once, awaits the read of the
/// policy and the user's record, decides with the pure core, and awaits one conditional write
/// that expects exactly what was read; on a conflict it reads and decides again, at most
/// [`EngineConfig::max_attempts`] times. The futures are `Send` when the clock, the store and
/// the RNG are, and no runtime is assumed.
///
/// A future dropped before it completes leaves no decision: a sign-in whose write may have
/// landed but whose future was cancelled was not granted to the caller (fails closed).
///
/// ```
/// use core::pin::pin;
/// use core::task::{Context, Poll, Waker};
///
/// use temporary_access_pass::signin::Client;
/// use temporary_access_pass::{
///     AsyncEngine, CreateRequest, DirectoryRole, EngineConfig, InMemoryStore, IncludeTarget,
///     Pepper, PolicySettings, PolicyState, Principal, SignInRequest, SysRng, SystemClock, UserId,
/// };
///
/// /// Polls a future whose store answers at once (the in-memory store); a host uses its runtime.
/// fn ready<F: Future>(future: F) -> F::Output {
///     let mut future = pin!(future);
///     loop {
///         if let Poll::Ready(out) = future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
///             return out;
///         }
///     }
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pepper = Pepper::new(&[0x42; 32])?; // in production: from your key store
/// let engine = AsyncEngine::new(SystemClock::new(), InMemoryStore::new(), EngineConfig::new(pepper));
/// let admin =
///     Principal::member(UserId::new("ga@contoso.com")?).role(DirectoryRole::GlobalAdministrator);
/// let user = Principal::member(UserId::new("chris@contoso.com")?);
/// let all_users = PolicySettings::new()
///     .state(PolicyState::Enabled)
///     .is_usable_once(true)
///     .include_target(IncludeTarget::AllUsers);
/// ready(engine.update_policy(&admin, &all_users))?;
///
/// let created = ready(engine.create(&admin, &user, &CreateRequest::new(), &mut SysRng))?;
/// let code = created.passcode.expose_secret();
/// let browser = SignInRequest::new(Client::Browser);
/// assert!(ready(engine.redeem(&user, code, browser))?.outcome.is_ok());
/// assert!(ready(engine.redeem(&user, code, browser))?.outcome.is_err()); // OneTimeUsed
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct AsyncEngine<C, S> {
    clock: C,
    store: S,
    config: EngineConfig,
}

impl<C: Clock, S: AsyncStore> AsyncEngine<C, S> {
    /// As [`Engine`](super::Engine)'s: the same [`Attempts`], each store call awaited.
    async fn run<P: Plan + Send>(
        &self,
        plan: P,
    ) -> Result<P::Output, EngineError<P::Rejection, S::Error>>
    where
        P::Output: Send,
        P::Rejection: Send,
    {
        let attempts = Attempts::new(plan, self.clock.now(), &self.config);
        carry_out!(self.store, attempts, await)
    }

    /// As [`Engine::policy`](super::Engine::policy).
    ///
    /// # Errors
    ///
    /// As [`Engine::policy`](super::Engine::policy).
    pub async fn policy(&self) -> Result<Policy, EngineError<Infallible, S::Error>> {
        self.run(ReadPolicy).await
    }

    /// As [`Engine::update_policy`](super::Engine::update_policy).
    ///
    /// # Errors
    ///
    /// As [`Engine::update_policy`](super::Engine::update_policy).
    pub async fn update_policy(
        &self,
        actor: &Principal,
        settings: &PolicySettings,
    ) -> Result<PolicyUpdate, EngineError<UpdatePolicyError, S::Error>> {
        let settings = NewSettings::Given(settings);
        self.run(UpdatePolicy { actor, settings }).await
    }

    /// As [`Engine::change_policy`](super::Engine::change_policy).
    ///
    /// # Errors
    ///
    /// As [`Engine::change_policy`](super::Engine::change_policy).
    pub async fn change_policy(
        &self,
        actor: &Principal,
        change: &(dyn Fn(PolicySettings) -> PolicySettings + Sync),
    ) -> Result<PolicyUpdate, EngineError<UpdatePolicyError, S::Error>> {
        let settings = NewSettings::Changed(change);
        self.run(UpdatePolicy { actor, settings }).await
    }

    /// As [`Engine::create`](super::Engine::create).
    ///
    /// # Errors
    ///
    /// As [`Engine::create`](super::Engine::create).
    pub async fn create<R: TryCryptoRng + Send + ?Sized>(
        &self,
        actor: &Principal,
        target: &Principal,
        request: &CreateRequest,
        rng: &mut R,
    ) -> Result<CreatedPass, EngineError<CreateError, S::Error>> {
        self.run(Create::new(&self.config, actor, target, request, rng))
            .await
    }

    /// As [`Engine::view`](super::Engine::view).
    ///
    /// # Errors
    ///
    /// As [`Engine::view`](super::Engine::view).
    pub async fn view(
        &self,
        actor: &Principal,
        holder: &Principal,
    ) -> Result<Option<PassView>, EngineError<ViewError, S::Error>> {
        self.run(View { actor, holder }).await
    }

    /// As [`Engine::delete`](super::Engine::delete).
    ///
    /// # Errors
    ///
    /// As [`Engine::delete`](super::Engine::delete).
    pub async fn delete(
        &self,
        actor: &Principal,
        holder: &Principal,
    ) -> Result<Option<Deleted>, EngineError<DeleteError, S::Error>> {
        self.run(Delete {
            actor,
            holder,
            pass: None,
        })
        .await
    }

    /// As [`Engine::delete_pass`](super::Engine::delete_pass).
    ///
    /// # Errors
    ///
    /// As [`Engine::delete_pass`](super::Engine::delete_pass).
    pub async fn delete_pass(
        &self,
        actor: &Principal,
        holder: &Principal,
        pass: PassId,
    ) -> Result<Option<Deleted>, EngineError<DeleteError, S::Error>> {
        self.run(Delete {
            actor,
            holder,
            pass: Some(pass),
        })
        .await
    }

    /// As [`Engine::offer`](super::Engine::offer).
    ///
    /// # Errors
    ///
    /// As [`Engine::offer`](super::Engine::offer).
    pub async fn offer(
        &self,
        user: &Principal,
        request: SignInRequest,
    ) -> Result<Offer, EngineError<Infallible, S::Error>> {
        self.run(OfferPlan { user, request }).await
    }

    /// As [`Engine::redeem`](super::Engine::redeem).
    ///
    /// # Errors
    ///
    /// As [`Engine::redeem`](super::Engine::redeem).
    pub async fn redeem(
        &self,
        user: &Principal,
        typed: &str,
        request: SignInRequest,
    ) -> Result<Redemption, EngineError<Infallible, S::Error>> {
        self.run(Redeem::new(&self.config, user, typed, request))
            .await
    }

    /// As [`Engine::register`](super::Engine::register).
    ///
    /// # Errors
    ///
    /// As [`Engine::register`](super::Engine::register).
    pub async fn register(
        &self,
        user: &Principal,
        grant: &Grant,
        method: PasswordlessMethod,
    ) -> Result<(), EngineError<RegistrationError, S::Error>> {
        self.run(Register {
            user,
            grant,
            method,
        })
        .await
    }

    // The constructor and the accessors below repeat `Engine`'s line for line, on purpose:
    // each driver is a type of its own, and a reader (or go-to-definition) finds its methods
    // where the type is, rather than behind a macro that writes both.

    /// An engine over `clock` and `store`.
    #[must_use]
    pub const fn new(clock: C, store: S, config: EngineConfig) -> Self {
        Self {
            clock,
            store,
            config,
        }
    }

    /// The clock.
    #[must_use]
    pub const fn clock(&self) -> &C {
        &self.clock
    }

    /// The store.
    #[must_use]
    pub const fn store(&self) -> &S {
        &self.store
    }

    /// The config.
    #[must_use]
    pub const fn config(&self) -> &EngineConfig {
        &self.config
    }
}
