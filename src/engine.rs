//! The driver: reads the clock once per operation, calls the pure core, and applies the result
//! through one conditional write, retrying a bounded number of times (SPEC 0.2).

use core::convert::Infallible;
use core::fmt;

use rand_core::TryCryptoRng;

use crate::clock::Clock;
use crate::event::Event;
use crate::pass::{
    CreatePassRequest, Deleted, IssueError, IssueOptions, Issued, PassView, ViewError,
};
use crate::passcode::{DigestKey, RngFailure};
use crate::plan::{
    Commit, Create, Decided, Delete, OfferPlan, Plan, ReadPolicy, Redeem, Refused, Register,
    UpdatePolicy, View,
};
use crate::policy::{Policy, PolicyChange, PolicyChangeError, PolicySettings};
use crate::principal::Principal;
use crate::signin::{
    Grant, Lockout, Offer, PasswordlessMethod, RedeemRefusal, RedeemSettings, RegistrationError,
    SignInContext,
};
use crate::store::{Loaded, Store, Write};

use alloc::vec::Vec;

/// Why an engine operation did not complete. Every variant denies: nothing the caller asked
/// for happened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError<R, E> {
    /// The domain refused (a permission, a policy rule...): `R` says which rule.
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

/// A sign-in attempt's outcome and its audit events.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub struct SignIn {
    /// The grant, or why not.
    pub outcome: Result<Grant, RedeemRefusal>,
    /// Audit events.
    pub events: Vec<Event>,
}

/// How an [`Engine`] behaves: the digest key, the creation opt-ins, the guessing limit and the
/// retry bound.
///
/// There is no `Default`: the key must be chosen (SPEC 6.1). This does not compile:
///
/// ```compile_fail
/// let config = temporary_access_pass::EngineConfig::new();
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct EngineConfig {
    /// What digests are keyed with: the host's pepper, or [`DigestKey::unkeyed`] by choice.
    pub key: DigestKey,
    /// The later product's creation behaviours.
    pub issue_options: IssueOptions,
    /// The guessing limit (SPEC 6.4).
    pub lockout: Lockout,
    /// Attempts per operation before giving up on conflicting writes (at least 1).
    pub max_attempts: u32,
}

impl fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineConfig")
            .field("key", &self.key)
            .field("issue_options", &self.issue_options)
            .field("lockout", &self.lockout)
            .field("max_attempts", &self.max_attempts)
            .finish()
    }
}

impl EngineConfig {
    /// The default number of attempts per operation.
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 32;

    /// Digests keyed with `key` (`Pepper` converts into it), the seed's options, the default
    /// lockout and 32 attempts.
    #[must_use]
    pub fn new(key: impl Into<DigestKey>) -> Self {
        Self {
            key: key.into(),
            issue_options: IssueOptions::seed(),
            lockout: Lockout::default(),
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
        }
    }

    /// Sets the creation opt-ins.
    #[must_use]
    pub fn issue_options(mut self, options: IssueOptions) -> Self {
        self.issue_options = options;
        self
    }

    /// Sets the guessing limit.
    #[must_use]
    pub fn lockout(mut self, lockout: Lockout) -> Self {
        self.lockout = lockout;
        self
    }

    /// Sets the attempts per operation (a value of 0 counts as 1).
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }
}

/// Runs the pure core against a [`Clock`] and a [`Store`].
///
/// Each operation reads the clock once, reads what it needs, decides with the pure functions,
/// and applies the decision through one conditional write. On a conflict it reads and decides
/// again, at most [`EngineConfig::max_attempts`] times; a store error or exhausted attempts deny.
#[derive(Debug)]
pub struct Engine<C, S> {
    clock: C,
    store: S,
    config: EngineConfig,
}

impl<C: Clock, S: Store> Engine<C, S> {
    /// An engine over `clock` and `store`.
    #[must_use]
    pub fn new(clock: C, store: S, config: EngineConfig) -> Self {
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

    /// Carries out `plan`: reads the clock once, then reads, decides and writes, reading and
    /// deciding again after a conflicting write, at most [`EngineConfig::max_attempts`] times.
    fn run<P: Plan>(&self, mut plan: P) -> Result<P::Output, EngineError<P::Rejection, S::Error>> {
        let now = self.clock.now();
        let attempts = self.config.max_attempts.max(1);
        for _ in 0..attempts {
            let read = match plan.user() {
                Some(user) => self.store.load(user),
                None => self.store.load_policy().map(|p| Loaded::new(p, None)),
            }
            .map_err(EngineError::Store)?;
            let Decided { output, commit } = plan.decide(read, now).map_err(EngineError::from)?;
            let landed = match (commit, plan.user()) {
                (Commit::Nothing, _) => true,
                (Commit::Record { expected, record }, Some(user)) => matches!(
                    self.store
                        .write(user, &expected, record.as_ref())
                        .map_err(EngineError::Store)?,
                    Write::Written(_)
                ),
                (Commit::Probe { expected, record }, Some(user)) => {
                    let _never = self
                        .store
                        .write(user, &expected, Some(&record))
                        .map_err(EngineError::Store)?;
                    true
                }
                (Commit::Policy { expected, policy }, _) => matches!(
                    self.store
                        .write_policy(expected, &policy)
                        .map_err(EngineError::Store)?,
                    Write::Written(_)
                ),
                // A record write without a user to write it for: no plan makes one; refuse.
                (Commit::Record { .. } | Commit::Probe { .. }, None) => false,
            };
            if landed {
                return Ok(output);
            }
        }
        Err(EngineError::Contention { attempts })
    }

    /// The tenant policy: the stored one, or the seed's defaults (disabled) if none is stored.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn policy(&self) -> Result<Policy, EngineError<Infallible, S::Error>> {
        self.run(ReadPolicy)
    }

    /// Changes the policy as `actor` (SPEC 1.5).
    ///
    /// # Errors
    ///
    /// [`EngineError::Rejected`] with the [`PolicyChangeError`]; store and contention errors.
    pub fn set_policy(
        &self,
        actor: &Principal,
        settings: &PolicySettings,
    ) -> Result<PolicyChange, EngineError<PolicyChangeError, S::Error>> {
        self.run(UpdatePolicy { actor, settings })
    }

    /// Creates a pass for `target` as `issuer` (SPEC 2, 3), committed only if neither the
    /// policy nor the target's record changed since they were read.
    ///
    /// # Errors
    ///
    /// [`EngineError::Rejected`] with the [`IssueError`]; [`EngineError::Rng`]; store and
    /// contention errors.
    pub fn create<R: TryCryptoRng + ?Sized>(
        &self,
        issuer: &Principal,
        target: &Principal,
        request: &CreatePassRequest,
        rng: &mut R,
    ) -> Result<Issued, EngineError<IssueError, S::Error>> {
        self.run(Create {
            config: &self.config,
            issuer,
            target,
            request,
            rng,
        })
    }

    /// The view of `holder`'s pass for `viewer` (SPEC 3.3, 3.4, 7.2), or `None` when there is
    /// none. The permission is checked first, so a refusal does not tell whether a pass exists.
    ///
    /// # Errors
    ///
    /// [`EngineError::Rejected`] with the [`ViewError`]; store errors.
    pub fn view(
        &self,
        viewer: &Principal,
        holder: &Principal,
    ) -> Result<Option<PassView>, EngineError<ViewError, S::Error>> {
        self.run(View { viewer, holder })
    }

    /// Deletes `holder`'s pass as `actor` (SPEC 3, 5.7), or returns `None` when there is none.
    /// Deleting a valid pass returns the revoke-sessions effect.
    ///
    /// # Errors
    ///
    /// [`EngineError::Rejected`] with the [`ViewError`]; store and contention errors.
    pub fn delete(
        &self,
        actor: &Principal,
        holder: &Principal,
    ) -> Result<Option<Deleted>, EngineError<ViewError, S::Error>> {
        self.run(Delete { actor, holder })
    }

    /// Whether to offer `user` a pass at sign-in (SPEC 5.1, 5.2).
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn offer(
        &self,
        user: &Principal,
        ctx: &SignInContext,
    ) -> Result<Offer, EngineError<Infallible, S::Error>> {
        self.run(OfferPlan { user, ctx })
    }

    /// Redeems `typed` for `user` (SPEC 5.3, 6.4, 6.5): verifies, checks usability, and commits
    /// every judged attempt through one compare-and-swap on the record and the policy it was
    /// judged on. A grant (which records the use, and consumes a one-time pass) and a counted
    /// wrong code exist only once that write lands; on a conflict the attempt is judged again on
    /// what is stored now, so concurrent attempts count as one after another.
    ///
    /// A user without a pass costs a write too: one that expects a version no record has, so
    /// it can never land (SPEC 6.2).
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] or [`EngineError::Contention`]: the sign-in is denied.
    pub fn redeem(
        &self,
        user: &Principal,
        typed: &str,
        ctx: &SignInContext,
    ) -> Result<SignIn, EngineError<Infallible, S::Error>> {
        self.run(Redeem {
            settings: RedeemSettings::new(&self.config.key).lockout(self.config.lockout),
            user,
            typed,
            ctx,
        })
    }

    /// Whether `user`, signed in with `grant`, may register `method` now (SPEC 5.5): the grant
    /// must be the user's, the window open, and the pass behind it still stored (deleting it
    /// revoked the sessions). The decision is the pure
    /// [`authorize_registration`](crate::authorize_registration) on the record read now.
    ///
    /// # Errors
    ///
    /// [`EngineError::Rejected`] with the [`RegistrationError`]; store errors.
    pub fn authorize_registration(
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
}

impl<R, E> From<Refused<R>> for EngineError<R, E> {
    fn from(refused: Refused<R>) -> Self {
        match refused {
            Refused::Rejected(r) => Self::Rejected(r),
            Refused::Rng(e) => Self::Rng(e),
        }
    }
}
