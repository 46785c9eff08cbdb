//! The driver: reads the clock once per operation, calls the pure core, and applies the result
//! through one conditional write, retrying a bounded number of times (SPEC 0.2).

use core::convert::Infallible;
use core::fmt;

use rand_core::TryCryptoRng;

use crate::clock::Clock;
use crate::event::Event;
use crate::pass::{
    CreatePassRequest, Deleted, IssueContext, IssueError, IssueOptions, Issued, PassView,
    ViewError, delete_pass, issue,
};
use crate::pass::{DUMMY_PASS_ID, TemporaryAccessPass};
use crate::passcode::DigestKey;
use crate::policy::{Policy, PolicyChange, PolicyChangeError, PolicySettings};
use crate::principal::{Action, Principal, authorize};
use crate::signin::{
    Grant, Lockout, Offer, PasswordlessMethod, RedeemRefusal, RedeemSettings, RegistrationError,
    SignInContext, authorize_registration, offer, redeem,
};
use crate::store::{Expected, Store, Version, Versioned, Write};

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

/// Outcome of one attempt inside the retry loop.
enum Step<T> {
    Done(T),
    Retry,
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

    fn settings(&self) -> RedeemSettings<'_> {
        RedeemSettings::new(&self.config.key).lockout(self.config.lockout)
    }

    /// Runs `attempt` until it is done, at most `max_attempts` times.
    fn retry<T, R>(
        &self,
        mut attempt: impl FnMut() -> Result<Step<T>, EngineError<R, S::Error>>,
    ) -> Result<T, EngineError<R, S::Error>> {
        let attempts = self.config.max_attempts.max(1);
        for _ in 0..attempts {
            if let Step::Done(value) = attempt()? {
                return Ok(value);
            }
        }
        Err(EngineError::Contention { attempts })
    }

    fn load_policy<R>(&self) -> Result<Option<Versioned<Policy>>, EngineError<R, S::Error>> {
        self.store.load_policy().map_err(EngineError::Store)
    }

    /// The stored policy, or the seed's defaults when none is stored.
    fn current_policy<R>(&self) -> Result<Policy, EngineError<R, S::Error>> {
        Ok(self.load_policy()?.map(|v| v.value).unwrap_or_default())
    }

    /// The tenant policy: the stored one, or the seed's defaults (disabled) if none is stored.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn policy(&self) -> Result<Policy, EngineError<Infallible, S::Error>> {
        self.current_policy()
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
        let now = self.clock.now();
        self.retry(|| {
            let current = self.load_policy()?;
            let (expected, policy): (Option<Version>, Policy) = match current {
                Some(v) => (Some(v.version), v.value),
                None => (None, Policy::default()),
            };
            let change = policy
                .change(actor, settings.clone(), now)
                .map_err(EngineError::Rejected)?;
            match self
                .store
                .store_policy(expected, &change.policy)
                .map_err(EngineError::Store)?
            {
                Write::Written(_) => Ok(Step::Done(change)),
                Write::Conflict => Ok(Step::Retry),
            }
        })
    }

    /// Creates a pass for `target` as `issuer` (SPEC 2, 3).
    ///
    /// # Errors
    ///
    /// [`EngineError::Rejected`] with the [`IssueError`]; store and contention errors.
    pub fn create<R: TryCryptoRng + ?Sized>(
        &self,
        issuer: &Principal,
        target: &Principal,
        request: &CreatePassRequest,
        rng: &mut R,
    ) -> Result<Issued, EngineError<IssueError, S::Error>> {
        let now = self.clock.now();
        self.retry(|| {
            let policy = self.current_policy()?;
            let existing = self.store.load(target.id()).map_err(EngineError::Store)?;
            let ctx = IssueContext::new(&policy, &self.config.key, issuer, target)
                .existing(existing.as_ref().map(|v| &v.value))
                .options(self.config.issue_options);
            let issued = issue(&ctx, request, now, rng).map_err(EngineError::Rejected)?;
            let write = match &existing {
                Some(old) => self.store.replace(old.expected(), &issued.record),
                None => self.store.insert(&issued.record),
            }
            .map_err(EngineError::Store)?;
            Ok(match write {
                Write::Written(_) => Step::Done(issued),
                Write::Conflict => Step::Retry,
            })
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
        let now = self.clock.now();
        authorize(viewer, Action::View, holder)
            .map_err(|e| EngineError::Rejected(ViewError::Forbidden(e)))?;
        let policy = self.current_policy()?;
        let record = self.store.load(holder.id()).map_err(EngineError::Store)?;
        Ok(record.map(|r| r.value.view(&policy, holder, now)))
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
        let now = self.clock.now();
        authorize(actor, Action::Delete, holder)
            .map_err(|e| EngineError::Rejected(ViewError::Forbidden(e)))?;
        self.retry(|| {
            let Some(record) = self.store.load(holder.id()).map_err(EngineError::Store)? else {
                return Ok(Step::Done(None));
            };
            let deleted =
                delete_pass(actor, holder, &record.value, now).map_err(EngineError::Rejected)?;
            match self
                .store
                .remove(holder.id(), record.expected())
                .map_err(EngineError::Store)?
            {
                Write::Written(_) => Ok(Step::Done(Some(deleted))),
                Write::Conflict => Ok(Step::Retry),
            }
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
        ctx: &SignInContext,
    ) -> Result<Offer, EngineError<Infallible, S::Error>> {
        let now = self.clock.now();
        let policy = self.current_policy()?;
        let record = self.store.load(user.id()).map_err(EngineError::Store)?;
        Ok(offer(
            &policy,
            user,
            record.as_ref().map(|v| &v.value),
            ctx,
            now,
        ))
    }

    /// Redeems `typed` for `user` (SPEC 5.3, 6.4, 6.5): verifies, checks usability, and commits
    /// every judged attempt through one compare-and-swap on the record it was judged on. A
    /// grant (which records the use, and consumes a one-time pass) and a counted wrong code exist
    /// only once that write lands; on a conflict the attempt is judged again on what is stored
    /// now, so concurrent attempts count as one after another.
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
        let now = self.clock.now();
        let settings = self.settings();
        self.retry(|| {
            let policy = self.current_policy()?;
            let record = self.store.load(user.id()).map_err(EngineError::Store)?;
            let decision = redeem(
                &policy,
                &settings,
                user,
                record.as_ref().map(|v| &v.value),
                typed,
                ctx,
                now,
            );
            let done = Step::Done(SignIn {
                outcome: decision.outcome,
                events: decision.events,
            });
            match (decision.write, record) {
                (Some(write), Some(read)) => match self
                    .store
                    .replace(read.expected(), &write)
                    .map_err(EngineError::Store)?
                {
                    Write::Written(_) => Ok(done),
                    Write::Conflict => Ok(Step::Retry),
                },
                (None, None) if ctx.client.supports_pass() => {
                    // No pass: the same store work, on an expectation that never holds.
                    let dummy = TemporaryAccessPass::dummy(user.id(), &self.config.key, now);
                    let probe = Expected::new(DUMMY_PASS_ID, Version::NEVER);
                    let _never = self
                        .store
                        .replace(probe, &dummy)
                        .map_err(EngineError::Store)?;
                    Ok(done)
                }
                // A refused client (nothing judged), or a decision without a record to write
                // to: the refusal stands, and refusing is safe.
                (None, _) | (Some(_), None) => Ok(done),
            }
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
        let now = self.clock.now();
        let record = self.store.load(user.id()).map_err(EngineError::Store)?;
        authorize_registration(user, grant, record.as_ref().map(|v| &v.value), method, now)
            .map_err(EngineError::Rejected)
    }
}
