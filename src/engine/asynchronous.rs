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

    operations!(async, await, Send);
}
