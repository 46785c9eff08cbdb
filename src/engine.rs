//! The driver: reads the clock once per operation, carries out the operation's plan over a
//! [`Store`], and commits each decision through one conditional write, judging again after a
//! conflict a bounded number of times (SPEC 0.2, 6.5).

use core::convert::Infallible;

use rand_core::TryCryptoRng;

use crate::admin::{DeleteError, Deleted, ViewError};
use crate::clock::Clock;
use crate::config::EngineConfig;
use crate::create::{CreateError, CreateRequest, CreatedPass};
use crate::ids::PassId;
use crate::passcode::RngFailure;
use crate::plan::{
    Attempts, Create, Delete, NewSettings, OfferPlan, Plan, ReadPolicy, Redeem, Refused, Register,
    UpdatePolicy, View,
};
use crate::policy::{Policy, PolicySettings, PolicyUpdate, UpdatePolicyError};
use crate::principal::Principal;
use crate::signin::{
    Grant, Offer, PasswordlessMethod, Redemption, RegistrationError, SignInRequest,
};
use crate::store::{Loaded, Store};
use crate::view::PassView;

/// Why an engine operation did not complete. Every variant denies: nothing the caller asked
/// for happened. [`EngineError::Rejected`] is a rule's refusal; the others say something broke
/// or gave up ([`EngineError::is_broken`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError<R, E> {
    /// A rule refused (a permission, a policy rule...): `R` says which.
    #[error(transparent)]
    Rejected(R),
    /// The store failed; the operation was denied (fails closed).
    #[error("the store failed, so the operation was denied: {0}")]
    Store(#[source] E),
    /// The RNG failed; nothing was created (fails closed).
    #[error("the random number generator failed, so the operation was denied")]
    Rng(#[source] RngFailure),
    /// Every attempt met a concurrent write; the operation was denied (fails closed).
    #[error("gave up after {attempts} conflicting writes, so the operation was denied")]
    Contention {
        /// How many attempts were made.
        attempts: u32,
    },
}

impl<R, E> EngineError<R, E> {
    /// True when a rule refused; false when the store or the RNG failed or the engine gave up.
    #[must_use]
    pub const fn is_rejected(&self) -> bool {
        matches!(self, Self::Rejected(_))
    }

    /// True when the store or the RNG failed or the engine gave up: nothing was refused, the
    /// operation may succeed later.
    #[must_use]
    pub const fn is_broken(&self) -> bool {
        !self.is_rejected()
    }
}

impl<R, E> From<Refused<R>> for EngineError<R, E> {
    fn from(refused: Refused<R>) -> Self {
        match refused {
            Refused::Rejected(r) => Self::Rejected(r),
            Refused::Rng(e) => Self::Rng(e),
            Refused::GaveUp { attempts } => Self::Contention { attempts },
        }
    }
}

/// Carries out an [`Attempts`] over a store: a user's record through the store's `transact`
/// (which may hold the record while the plan decides), the policy alone by a read and a
/// commit; again after a conflict. The async driver passes `await`, and each store call is
/// awaited; nothing else differs.
macro_rules! carry_out {
    ($store:expr, $attempts:expr $(, $aw:tt)?) => {{
        let mut run = $attempts;
        loop {
            let written = match (run.read(), run.user()) {
                // A decision about methods or ceremonies: read what it asks, commit what it
                // decides; its change checks again what it expects.
                (Some(read), _) => match $store.load_with(&read)$(.$aw)? {
                    Ok(loaded) => match run.decide(loaded) {
                        Some(commit) => $store.commit(&commit)$(.$aw)?.map(Some),
                        None => Ok(None),
                    },
                    Err(e) => Err(e),
                },
                (None, Some(user)) => $store.transact(&user, &mut |read| run.decide(read))$(.$aw)?,
                (None, None) => match $store.load_policy()$(.$aw)? {
                    Ok(policy) => match run.decide(Loaded::new(policy, None)) {
                        Some(commit) => $store.commit(&commit)$(.$aw)?.map(Some),
                        None => Ok(None),
                    },
                    Err(e) => Err(e),
                },
            }
            .map_err(EngineError::Store)?;
            if let Some(done) = run.answer(written) {
                break done.map_err(EngineError::from);
            }
        }
    }};
}

/// Runs the pure core against a [`Clock`] and a [`Store`]: one plan per operation.
///
/// Each operation reads the clock once, reads what it needs (the policy and the user's record
/// together), decides with the pure functions, and commits through one conditional write that
/// expects exactly what was read. On a conflict it reads and decides again, at most
/// [`EngineConfig::max_attempts`] times; a store error or exhausted attempts deny.
///
/// ```
/// use temporary_access_pass::signin::Client;
/// use temporary_access_pass::{
///     CreateRequest, DirectoryRole, Engine, EngineConfig, InMemoryStore, IncludeTarget,
///     ManualClock, Pepper, PolicySettings, PolicyState, Principal, SignInRequest, SysRng, UserId,
///     time::{Date, Month},
/// };
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let start = Date::from_calendar_date(2021, Month::March, 11)?.with_hms(8, 0, 0)?;
/// let clock = ManualClock::new(start.as_utc());
/// let pepper = Pepper::new(&[0x42; 32])?; // in production: from your key store
/// let engine = Engine::new(&clock, InMemoryStore::new(), EngineConfig::new(pepper));
/// let admin =
///     Principal::member(UserId::new("ga@contoso.com")?).role(DirectoryRole::GlobalAdministrator);
/// let user = Principal::member(UserId::new("chris@contoso.com")?);
/// let all_users = PolicySettings::new()
///     .state(PolicyState::Enabled)
///     .is_usable_once(true)
///     .include_target(IncludeTarget::AllUsers);
/// engine.update_policy(&admin, &all_users)?;
///
/// let created = engine.create(&admin, &user, &CreateRequest::new(), &mut SysRng)?;
/// let code = created.passcode.expose_secret();
/// let browser = SignInRequest::new(Client::Browser);
/// assert!(engine.redeem(&user, code, browser)?.outcome.is_ok()); // consumed, exactly once
/// assert!(engine.redeem(&user, code, browser)?.outcome.is_err()); // OneTimeUsed
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Engine<C, S> {
    clock: C,
    store: S,
    config: EngineConfig,
}

impl<C: Clock, S: Store> Engine<C, S> {
    /// Carries out `plan`: reads the clock once, then reads, decides and writes, reading and
    /// deciding again after a conflicting write, at most [`EngineConfig::max_attempts`] times.
    fn run<P: Plan>(&self, plan: P) -> Result<P::Output, EngineError<P::Rejection, S::Error>> {
        let attempts = Attempts::new(plan, self.clock.now(), &self.config);
        carry_out!(self.store, attempts)
    }

    /// The tenant policy: the stored one, or the seed's defaults (disabled) if none is
    /// stored.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn policy(&self) -> Result<Policy, EngineError<Infallible, S::Error>> {
        self.run(ReadPolicy)
    }

    /// Changes the policy as `actor` (SPEC 1.5), committed only if the policy did not
    /// change since it was read.
    ///
    /// # Errors
    ///
    /// [`EngineError::Rejected`] with the [`UpdatePolicyError`]; store and contention
    /// errors.
    pub fn update_policy(
        &self,
        actor: &Principal,
        settings: &PolicySettings,
    ) -> Result<PolicyUpdate, EngineError<UpdatePolicyError, S::Error>> {
        let settings = NewSettings::Given(settings);
        self.run(UpdatePolicy { actor, settings })
    }

    /// Changes the policy as `actor` by applying `change` to the stored settings (a PATCH,
    /// SPEC 1.5). `change` is applied to what each attempt reads and the result commits only
    /// if the policy is still the one read, so two concurrent changes both take effect,
    /// one after the other, rather than the later overwriting the earlier.
    ///
    /// # Errors
    ///
    /// [`EngineError::Rejected`] with the [`UpdatePolicyError`]; store and contention
    /// errors.
    pub fn change_policy(
        &self,
        actor: &Principal,
        change: &(dyn Fn(PolicySettings) -> PolicySettings + Sync),
    ) -> Result<PolicyUpdate, EngineError<UpdatePolicyError, S::Error>> {
        let settings = NewSettings::Changed(change);
        self.run(UpdatePolicy { actor, settings })
    }

    /// Creates a pass for `target` as `actor` (SPEC 2, 3), committed only if neither the
    /// policy nor the target's record changed since they were read.
    ///
    /// # Errors
    ///
    /// [`EngineError::Rejected`] with the [`CreateError`]; [`EngineError::Rng`]; store and
    /// contention errors.
    pub fn create<R: TryCryptoRng + ?Sized>(
        &self,
        actor: &Principal,
        target: &Principal,
        request: &CreateRequest,
        rng: &mut R,
    ) -> Result<CreatedPass, EngineError<CreateError, S::Error>> {
        self.run(Create::new(&self.config, actor, target, request, rng))
    }

    /// The view of `holder`'s pass for `actor` (SPEC 3.3, 3.4, 7.2), or `None` when there
    /// is none. The permission is checked first, so a refusal does not tell whether a pass
    /// exists.
    ///
    /// # Errors
    ///
    /// [`EngineError::Rejected`] with the [`ViewError`]; store errors.
    pub fn view(
        &self,
        actor: &Principal,
        holder: &Principal,
    ) -> Result<Option<PassView>, EngineError<ViewError, S::Error>> {
        self.run(View { actor, holder })
    }

    /// Deletes `holder`'s pass as `actor` (SPEC 3, 5.7), or returns `None` when there is
    /// none. Deleting a valid pass returns the revoke-sessions effect.
    ///
    /// # Errors
    ///
    /// [`EngineError::Rejected`] with the [`DeleteError`]; store and contention errors.
    pub fn delete(
        &self,
        actor: &Principal,
        holder: &Principal,
    ) -> Result<Option<Deleted>, EngineError<DeleteError, S::Error>> {
        self.run(Delete {
            actor,
            holder,
            pass: None,
        })
    }

    /// Deletes `holder`'s pass `pass` as `actor` (Graph's `DELETE .../{id}`): as
    /// [`Engine::delete`], and `None` when the pass stored is another one or there is none.
    /// The write expects the record read, so a pass that replaced `pass` meanwhile is never
    /// deleted in its place.
    ///
    /// # Errors
    ///
    /// [`EngineError::Rejected`] with the [`DeleteError`]; store and contention errors.
    pub fn delete_pass(
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
    }

    /// Whether to offer `user` a pass at sign-in (SPEC 5.1, 5.2).
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn offer(
        &self,
        user: &Principal,
        request: SignInRequest,
    ) -> Result<Offer, EngineError<Infallible, S::Error>> {
        self.run(OfferPlan { user, request })
    }

    /// Redeems `typed` for `user` (SPEC 5.3, 6.4, 6.5): verifies, checks usability, and
    /// commits every judged attempt through one compare-and-swap on the record and the
    /// policy it was judged on. A grant (which records the use, and consumes a one-time
    /// pass) and a counted wrong code exist only once that write lands; on a conflict the
    /// attempt is judged again on what is stored now, so concurrent attempts count as one
    /// after another. The [`Redemption`] returned is the one that committed.
    ///
    /// A user without a pass costs a write too: one that expects a version no record has,
    /// so it can never land (SPEC 6.2).
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] or [`EngineError::Contention`]: the sign-in is denied.
    pub fn redeem(
        &self,
        user: &Principal,
        typed: &str,
        request: SignInRequest,
    ) -> Result<Redemption, EngineError<Infallible, S::Error>> {
        self.run(Redeem::new(&self.config, user, typed, request))
    }

    /// Whether `user`, signed in with `grant`, may register `method` now (SPEC 5.5): the
    /// grant must be the user's, the window open, and the pass behind it still stored
    /// (deleting it revoked the sessions). The answer commits through a write of the pass
    /// read, back unchanged, so a deletion that lands meanwhile is seen (SPEC 6.5).
    ///
    /// # Errors
    ///
    /// [`EngineError::Rejected`] with the [`RegistrationError`]; store errors.
    pub fn register(
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
    }

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

    /// The configuration.
    #[must_use]
    pub const fn config(&self) -> &EngineConfig {
        &self.config
    }
}

mod asynchronous;
mod onboarding;
pub use asynchronous::AsyncEngine;
