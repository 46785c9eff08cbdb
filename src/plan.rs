//! One read-decide-write plan per engine operation (SPEC 0.2). A plan says whose record it
//! reads, judges what was read with the pure core, and says which conditional write commits the
//! decision. The drivers ([`crate::Engine`] over a `Store`, [`crate::AsyncEngine`] over an
//! `AsyncStore`) only carry plans out: read, call [`Plan::decide`], write, and on a conflict
//! read and decide again. No rule lives in a driver.

use core::convert::Infallible;

use rand_core::TryCryptoRng;
use time::UtcDateTime;

use crate::admin::{DeleteContext, DeleteError, Deleted, ViewContext, ViewError, delete, view};
use crate::config::EngineConfig;
use crate::create::{CreateContext, CreateError, CreateRequest, CreatedPass, create};
use crate::ids::{PassId, UserId};
use crate::pass::{DUMMY_PASS_ID, TemporaryAccessPass};
use crate::passcode::RngFailure;
use crate::policy::{
    Policy, PolicySettings, PolicyUpdate, UpdatePolicyContext, UpdatePolicyError, update_policy,
};
use crate::principal::Principal;
use crate::signin::{
    Grant, Offer, OfferContext, PasswordlessMethod, RedeemContext, Redemption, RegisterContext,
    RegistrationError, SignInRequest, offer, redeem, register,
};
use crate::store::{Expected, Loaded, RecordStamp, Version, Write};
use crate::view::PassView;

/// What commits a decision.
#[derive(Debug)]
pub(crate) enum Commit {
    /// A read-only decision: nothing to write.
    Nothing,
    /// The user's record becomes `record`, if what was read is still stored. The decision
    /// exists only once this lands.
    Record {
        expected: Expected,
        record: TemporaryAccessPass,
    },
    /// The user's record is deleted, if it is still the pass `pass`: a deletion is judged on
    /// what a pass never changes, so its id is the whole of the read (SPEC 5.7, 6.5). The
    /// deletion exists only once this lands.
    Remove { pass: PassId },
    /// A write that can never land, sent so that a path without a record costs the store what
    /// the others do (SPEC 6.2). Its answer is ignored.
    Probe {
        expected: Expected,
        record: TemporaryAccessPass,
    },
    /// The policy becomes `policy`, if its version is still `expected`.
    Policy {
        expected: Option<Version>,
        policy: Policy,
    },
}

/// A decision and the write that commits it.
#[derive(Debug)]
pub(crate) struct Decided<T> {
    pub(crate) output: T,
    pub(crate) commit: Commit,
}

impl<T> Decided<T> {
    const fn read_only(output: T) -> Self {
        Self {
            output,
            commit: Commit::Nothing,
        }
    }
}

/// Why a plan stopped without a decision to commit.
#[derive(Debug)]
pub(crate) enum Refused<R> {
    /// A rule refused: the operation's own error.
    Rejected(R),
    /// The RNG failed.
    Rng(RngFailure),
    /// Every attempt met a concurrent write.
    GaveUp {
        /// How many attempts were made.
        attempts: u32,
    },
}

/// One operation as a read-decide-write plan.
pub(crate) trait Plan {
    /// What the operation returns.
    type Output;
    /// Why a rule refuses it.
    type Rejection;

    /// Whose record the decision is judged on (with the policy); `None` reads the policy alone.
    fn user(&self) -> Option<&UserId>;

    /// Judges what was read at `now` and says what commits the decision.
    fn decide(
        &mut self,
        read: Loaded,
        now: UtcDateTime,
    ) -> Result<Decided<Self::Output>, Refused<Self::Rejection>>;
}

/// The policy `read` holds, or the seed's defaults when none is stored.
fn policy_of(read: &Loaded) -> Policy {
    read.policy
        .as_ref()
        .map(|p| p.value.clone())
        .unwrap_or_default()
}

fn record_of(read: &Loaded) -> Option<&TemporaryAccessPass> {
    read.record.as_ref().map(|v| &v.value)
}

/// The tenant policy (read only).
pub(crate) struct ReadPolicy;

impl Plan for ReadPolicy {
    type Output = Policy;
    type Rejection = Infallible;

    fn user(&self) -> Option<&UserId> {
        None
    }

    fn decide(
        &mut self,
        read: Loaded,
        _: UtcDateTime,
    ) -> Result<Decided<Policy>, Refused<Infallible>> {
        Ok(Decided::read_only(policy_of(&read)))
    }
}

/// The settings a policy change asks for: given whole, or derived from the stored ones.
#[derive(Clone, Copy)]
pub(crate) enum NewSettings<'a> {
    /// These settings.
    Given(&'a PolicySettings),
    /// The stored policy's settings, changed (a PATCH): applied to what each attempt reads.
    Changed(&'a (dyn Fn(PolicySettings) -> PolicySettings + Sync)),
}

/// A policy change (SPEC 1.5).
pub(crate) struct UpdatePolicy<'a> {
    pub(crate) actor: &'a Principal,
    pub(crate) settings: NewSettings<'a>,
}

impl Plan for UpdatePolicy<'_> {
    type Output = PolicyUpdate;
    type Rejection = UpdatePolicyError;

    fn user(&self) -> Option<&UserId> {
        None
    }

    fn decide(
        &mut self,
        read: Loaded,
        now: UtcDateTime,
    ) -> Result<Decided<PolicyUpdate>, Refused<UpdatePolicyError>> {
        let settings = match self.settings {
            NewSettings::Given(settings) => settings.clone(),
            NewSettings::Changed(change) => change(policy_of(&read).settings()),
        };
        let update = update_policy(&UpdatePolicyContext::new(self.actor), settings, now)
            .map_err(Refused::Rejected)?;
        Ok(Decided {
            commit: Commit::Policy {
                expected: read.policy.map(|p| p.version),
                policy: update.policy.clone(),
            },
            output: update,
        })
    }
}

/// A creation (SPEC 2, 3).
pub(crate) struct Create<'a, R: ?Sized> {
    pub(crate) config: &'a EngineConfig,
    pub(crate) actor: &'a Principal,
    pub(crate) target: &'a Principal,
    pub(crate) request: &'a CreateRequest,
    pub(crate) rng: &'a mut R,
}

impl<'a, R: ?Sized> Create<'a, R> {
    pub(crate) const fn new(
        config: &'a EngineConfig,
        actor: &'a Principal,
        target: &'a Principal,
        request: &'a CreateRequest,
        rng: &'a mut R,
    ) -> Self {
        Self {
            config,
            actor,
            target,
            request,
            rng,
        }
    }
}

impl<R: TryCryptoRng + ?Sized> Plan for Create<'_, R> {
    type Output = CreatedPass;
    type Rejection = CreateError;

    fn user(&self) -> Option<&UserId> {
        Some(self.target.id())
    }

    fn decide(
        &mut self,
        read: Loaded,
        now: UtcDateTime,
    ) -> Result<Decided<CreatedPass>, Refused<CreateError>> {
        let policy = policy_of(&read);
        let ctx = CreateContext::new(&policy, &self.config.key, self.actor, self.target)
            .existing(record_of(&read))
            .options(self.config.create_options);
        let created = match create(&ctx, self.request, now, self.rng) {
            Ok(created) => created,
            Err(CreateError::Rng(e)) => return Err(Refused::Rng(e)),
            Err(e) => return Err(Refused::Rejected(e)),
        };
        Ok(Decided {
            commit: Commit::Record {
                expected: read.expected(),
                record: created.record.clone(),
            },
            output: created,
        })
    }
}

/// A view (SPEC 3.3, 3.4, 7.2).
pub(crate) struct View<'a> {
    pub(crate) actor: &'a Principal,
    pub(crate) holder: &'a Principal,
}

impl Plan for View<'_> {
    type Output = Option<PassView>;
    type Rejection = ViewError;

    fn user(&self) -> Option<&UserId> {
        Some(self.holder.id())
    }

    fn decide(
        &mut self,
        read: Loaded,
        now: UtcDateTime,
    ) -> Result<Decided<Option<PassView>>, Refused<ViewError>> {
        let policy = policy_of(&read);
        let ctx = ViewContext::new(&policy, self.actor, self.holder, record_of(&read));
        view(&ctx, now)
            .map(Decided::read_only)
            .map_err(Refused::Rejected)
    }
}

/// A deletion (SPEC 3, 5.7), of whichever pass is stored or of the one named.
pub(crate) struct Delete<'a> {
    pub(crate) actor: &'a Principal,
    pub(crate) holder: &'a Principal,
    pub(crate) pass: Option<PassId>,
}

impl Plan for Delete<'_> {
    type Output = Option<Deleted>;
    type Rejection = DeleteError;

    fn user(&self) -> Option<&UserId> {
        Some(self.holder.id())
    }

    fn decide(
        &mut self,
        read: Loaded,
        now: UtcDateTime,
    ) -> Result<Decided<Option<Deleted>>, Refused<DeleteError>> {
        let mut ctx = DeleteContext::new(self.actor, self.holder, record_of(&read));
        ctx.pass = self.pass;
        let deleted = delete(&ctx, now).map_err(Refused::Rejected)?;
        let commit = match &deleted {
            Some(deleted) => Commit::Remove { pass: deleted.pass },
            None => Commit::Nothing,
        };
        Ok(Decided {
            output: deleted,
            commit,
        })
    }
}

/// An offer (SPEC 5.1, 5.2): read only.
pub(crate) struct OfferPlan<'a> {
    pub(crate) user: &'a Principal,
    pub(crate) request: SignInRequest,
}

impl Plan for OfferPlan<'_> {
    type Output = Offer;
    type Rejection = Infallible;

    fn user(&self) -> Option<&UserId> {
        Some(self.user.id())
    }

    fn decide(
        &mut self,
        read: Loaded,
        now: UtcDateTime,
    ) -> Result<Decided<Offer>, Refused<Infallible>> {
        let policy = policy_of(&read);
        let ctx = OfferContext::new(&policy, self.user, record_of(&read), self.request);
        Ok(Decided::read_only(offer(&ctx, now)))
    }
}

/// A redemption (SPEC 5.3, 6.2, 6.4, 6.5): every judged attempt commits through the write the
/// core returns; a user without a pass costs a probe that can never land.
pub(crate) struct Redeem<'a> {
    pub(crate) config: &'a EngineConfig,
    pub(crate) user: &'a Principal,
    pub(crate) typed: &'a str,
    pub(crate) request: SignInRequest,
}

impl<'a> Redeem<'a> {
    pub(crate) const fn new(
        config: &'a EngineConfig,
        user: &'a Principal,
        typed: &'a str,
        request: SignInRequest,
    ) -> Self {
        Self {
            config,
            user,
            typed,
            request,
        }
    }
}

impl Plan for Redeem<'_> {
    type Output = Redemption;
    type Rejection = Infallible;

    fn user(&self) -> Option<&UserId> {
        Some(self.user.id())
    }

    fn decide(
        &mut self,
        read: Loaded,
        now: UtcDateTime,
    ) -> Result<Decided<Redemption>, Refused<Infallible>> {
        let policy = policy_of(&read);
        let expected = read.expected();
        let ctx = RedeemContext::new(
            &policy,
            &self.config.key,
            self.user,
            record_of(&read),
            self.request,
        )
        .lockout(self.config.lockout);
        let decision = redeem(&ctx, self.typed, now);
        let commit = match (&decision.write, &read.record) {
            (Some(record), Some(_)) => Commit::Record {
                expected,
                record: record.clone(),
            },
            (None, None) if self.request.client.supports_pass() => Commit::Probe {
                expected: Expected::new(
                    expected.policy,
                    Some(RecordStamp::new(DUMMY_PASS_ID, Version::NEVER)),
                ),
                record: TemporaryAccessPass::dummy(self.user.id(), &self.config.key, now),
            },
            // A refused client: nothing was judged, and refusing is safe.
            (None, _) | (Some(_), None) => Commit::Nothing,
        };
        Ok(Decided {
            output: decision,
            commit,
        })
    }
}

/// A registration check (SPEC 5.5, 6.5). It is judged on the stored pass, so it commits by
/// writing that record back unchanged, expecting it at the version read: a deletion landing in
/// between makes the check judged again, and refused.
pub(crate) struct Register<'a> {
    pub(crate) user: &'a Principal,
    pub(crate) grant: &'a Grant,
    pub(crate) method: PasswordlessMethod,
}

impl Plan for Register<'_> {
    type Output = ();
    type Rejection = RegistrationError;

    fn user(&self) -> Option<&UserId> {
        Some(self.user.id())
    }

    fn decide(
        &mut self,
        read: Loaded,
        now: UtcDateTime,
    ) -> Result<Decided<()>, Refused<RegistrationError>> {
        let ctx = RegisterContext::new(self.user, self.grant, record_of(&read));
        register(&ctx, self.method, now).map_err(Refused::Rejected)?;
        let commit = match &read.record {
            Some(stored) => Commit::Record {
                expected: read.expected(),
                record: stored.value.clone(),
            },
            // Not reached: a registration without a stored pass is refused above.
            None => Commit::Nothing,
        };
        Ok(Decided { output: (), commit })
    }
}

/// A write a driver sends to its store for a plan.
#[derive(Debug)]
pub(crate) enum Io<'a> {
    /// [`crate::store::Store::write`] with these arguments.
    Record {
        user: &'a UserId,
        expected: &'a Expected,
        record: Option<&'a TemporaryAccessPass>,
    },
    /// [`crate::store::Store::write_policy`] with these arguments.
    Policy {
        expected: Option<Version>,
        policy: &'a Policy,
    },
    /// [`crate::store::Store::remove`] with these arguments.
    Remove { user: &'a UserId, pass: PassId },
}

/// A plan being carried out: the attempt loop both drivers share (SPEC 0.2). A driver asks
/// [`Attempts::reads`] what to read, hands the read to [`Attempts::decide`], sends the write it
/// gets back, and hands the store's answer to [`Attempts::answer`], until that says the plan is
/// done. Only how the driver waits on its store differs; every step here is the same.
pub(crate) struct Attempts<P: Plan> {
    plan: P,
    now: UtcDateTime,
    made: u32,
    limit: u32,
    decided: Option<Decided<P::Output>>,
}

impl<P: Plan> Attempts<P> {
    /// `plan`, judged at `now` (the clock is read once per operation), at most `limit`
    /// attempts (at least one).
    pub(crate) fn new(plan: P, now: UtcDateTime, limit: u32) -> Self {
        Self {
            plan,
            now,
            made: 0,
            limit: limit.max(1),
            decided: None,
        }
    }

    /// Whose record to read with the policy; `None` reads the policy alone.
    pub(crate) fn reads(&self) -> Option<&UserId> {
        self.plan.user()
    }

    /// Judges `read` and returns the write that commits the decision, if it needs one.
    pub(crate) fn decide(&mut self, read: Loaded) -> Result<Option<Io<'_>>, Refused<P::Rejection>> {
        self.made = self.made.saturating_add(1);
        let decided = self.plan.decide(read, self.now)?;
        let user = self.plan.user();
        let decided = self.decided.insert(decided);
        Ok(match (&decided.commit, user) {
            (
                Commit::Record { expected, record } | Commit::Probe { expected, record },
                Some(user),
            ) => Some(Io::Record {
                user,
                expected,
                record: Some(record),
            }),
            (Commit::Policy { expected, policy }, _) => Some(Io::Policy {
                expected: *expected,
                policy,
            }),
            (Commit::Remove { pass }, Some(user)) => Some(Io::Remove { user, pass: *pass }),
            (Commit::Nothing, _)
            | (Commit::Record { .. } | Commit::Probe { .. } | Commit::Remove { .. }, None) => None,
        })
    }

    /// Takes the store's answer to the write [`Attempts::decide`] returned (`None` when it
    /// returned none). `Some` when the plan is done: the decision, which exists now that its
    /// write landed, or [`Refused::GaveUp`] after the last attempt met a conflict. `None`: read
    /// and decide again.
    pub(crate) fn answer(
        &mut self,
        write: Option<Write>,
    ) -> Option<Result<P::Output, Refused<P::Rejection>>> {
        let decided = self.decided.take()?;
        let landed = match (&decided.commit, write) {
            (Commit::Nothing | Commit::Probe { .. }, _)
            | (
                Commit::Record { .. } | Commit::Policy { .. } | Commit::Remove { .. },
                Some(Write::Written(_)),
            ) => true,
            (
                Commit::Record { .. } | Commit::Policy { .. } | Commit::Remove { .. },
                Some(Write::Conflict) | None,
            ) => false,
        };
        if landed {
            Some(Ok(decided.output))
        } else if self.made >= self.limit {
            Some(Err(Refused::GaveUp {
                attempts: self.made,
            }))
        } else {
            None
        }
    }
}
