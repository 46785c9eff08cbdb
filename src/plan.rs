//! One read-decide-write plan per engine operation (SPEC 0.2). A plan says whose record it
//! reads, judges what was read with the pure core, and says which conditional write commits the
//! decision. The drivers ([`crate::Engine`] over a `Store`) only carry plans out: read, call
//! [`Plan::decide`], write, and on a conflict read and decide again. No rule lives in a driver.

use core::convert::Infallible;

use rand_core::TryCryptoRng;
use time::UtcDateTime;

use crate::engine::{EngineConfig, SignIn};
use crate::ids::UserId;
use crate::pass::{
    CreatePassRequest, DUMMY_PASS_ID, Deleted, IssueContext, IssueError, Issued, PassView,
    TemporaryAccessPass, ViewError, delete_pass, issue,
};
use crate::passcode::RngFailure;
use crate::policy::{Policy, PolicyChange, PolicyChangeError, PolicySettings};
use crate::principal::{Action, Principal, authorize};
use crate::signin::{
    Grant, Offer, PasswordlessMethod, RedeemSettings, RegistrationError, SignInContext,
    authorize_registration, offer, redeem,
};
use crate::store::{Expected, Loaded, RecordStamp, Version};

/// What commits a decision.
#[derive(Debug)]
pub(crate) enum Commit {
    /// A read-only decision: nothing to write.
    Nothing,
    /// The user's record becomes `record` (`None`: deleted), if what was read is still stored.
    /// The decision exists only once this lands.
    Record {
        expected: Expected,
        record: Option<TemporaryAccessPass>,
    },
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

/// A policy change (SPEC 1.5).
pub(crate) struct UpdatePolicy<'a> {
    pub(crate) actor: &'a Principal,
    pub(crate) settings: &'a PolicySettings,
}

impl Plan for UpdatePolicy<'_> {
    type Output = PolicyChange;
    type Rejection = PolicyChangeError;

    fn user(&self) -> Option<&UserId> {
        None
    }

    fn decide(
        &mut self,
        read: Loaded,
        now: UtcDateTime,
    ) -> Result<Decided<PolicyChange>, Refused<PolicyChangeError>> {
        let change = policy_of(&read)
            .change(self.actor, self.settings.clone(), now)
            .map_err(Refused::Rejected)?;
        Ok(Decided {
            commit: Commit::Policy {
                expected: read.policy.map(|p| p.version),
                policy: change.policy.clone(),
            },
            output: change,
        })
    }
}

/// A creation (SPEC 2, 3).
pub(crate) struct Create<'a, R: ?Sized> {
    pub(crate) config: &'a EngineConfig,
    pub(crate) issuer: &'a Principal,
    pub(crate) target: &'a Principal,
    pub(crate) request: &'a CreatePassRequest,
    pub(crate) rng: &'a mut R,
}

impl<R: TryCryptoRng + ?Sized> Plan for Create<'_, R> {
    type Output = Issued;
    type Rejection = IssueError;

    fn user(&self) -> Option<&UserId> {
        Some(self.target.id())
    }

    fn decide(
        &mut self,
        read: Loaded,
        now: UtcDateTime,
    ) -> Result<Decided<Issued>, Refused<IssueError>> {
        let policy = policy_of(&read);
        let ctx = IssueContext::new(&policy, &self.config.key, self.issuer, self.target)
            .existing(read.record.as_ref().map(|v| &v.value))
            .options(self.config.issue_options);
        let issued = match issue(&ctx, self.request, now, self.rng) {
            Ok(issued) => issued,
            Err(IssueError::Rng(e)) => return Err(Refused::Rng(e)),
            Err(e) => return Err(Refused::Rejected(e)),
        };
        Ok(Decided {
            commit: Commit::Record {
                expected: read.expected(),
                record: Some(issued.record.clone()),
            },
            output: issued,
        })
    }
}

/// A view (SPEC 3.3, 3.4, 7.2): the permission first, so a refusal does not tell whether a
/// pass exists.
pub(crate) struct View<'a> {
    pub(crate) viewer: &'a Principal,
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
        authorize(self.viewer, Action::View, self.holder)
            .map_err(|e| Refused::Rejected(ViewError::Forbidden(e)))?;
        let policy = policy_of(&read);
        Ok(Decided::read_only(
            read.record.map(|r| r.value.view(&policy, self.holder, now)),
        ))
    }
}

/// A deletion (SPEC 3, 5.7).
pub(crate) struct Delete<'a> {
    pub(crate) actor: &'a Principal,
    pub(crate) holder: &'a Principal,
}

impl Plan for Delete<'_> {
    type Output = Option<Deleted>;
    type Rejection = ViewError;

    fn user(&self) -> Option<&UserId> {
        Some(self.holder.id())
    }

    fn decide(
        &mut self,
        read: Loaded,
        now: UtcDateTime,
    ) -> Result<Decided<Option<Deleted>>, Refused<ViewError>> {
        authorize(self.actor, Action::Delete, self.holder)
            .map_err(|e| Refused::Rejected(ViewError::Forbidden(e)))?;
        let expected = read.expected();
        let Some(record) = read.record else {
            return Ok(Decided::read_only(None));
        };
        let deleted =
            delete_pass(self.actor, self.holder, &record.value, now).map_err(Refused::Rejected)?;
        Ok(Decided {
            output: Some(deleted),
            commit: Commit::Record {
                expected,
                record: None,
            },
        })
    }
}

/// An offer (SPEC 5.1, 5.2): read only.
pub(crate) struct OfferPlan<'a> {
    pub(crate) user: &'a Principal,
    pub(crate) ctx: &'a SignInContext,
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
        Ok(Decided::read_only(offer(
            &policy,
            self.user,
            read.record.as_ref().map(|v| &v.value),
            self.ctx,
            now,
        )))
    }
}

/// A redemption (SPEC 5.3, 6.2, 6.4, 6.5): every judged attempt commits through the write the
/// core returns; a user without a pass costs a probe that can never land.
pub(crate) struct Redeem<'a> {
    pub(crate) settings: RedeemSettings<'a>,
    pub(crate) user: &'a Principal,
    pub(crate) typed: &'a str,
    pub(crate) ctx: &'a SignInContext,
}

impl Plan for Redeem<'_> {
    type Output = SignIn;
    type Rejection = Infallible;

    fn user(&self) -> Option<&UserId> {
        Some(self.user.id())
    }

    fn decide(
        &mut self,
        read: Loaded,
        now: UtcDateTime,
    ) -> Result<Decided<SignIn>, Refused<Infallible>> {
        let policy = policy_of(&read);
        let expected = read.expected();
        let decision = redeem(
            &policy,
            &self.settings,
            self.user,
            read.record.as_ref().map(|v| &v.value),
            self.typed,
            self.ctx,
            now,
        );
        let commit = match (decision.write, &read.record) {
            (Some(record), Some(_)) => Commit::Record {
                expected,
                record: Some(record),
            },
            (None, None) if self.ctx.client.supports_pass() => Commit::Probe {
                expected: Expected::new(
                    expected.policy,
                    Some(RecordStamp::new(DUMMY_PASS_ID, Version::NEVER)),
                ),
                record: TemporaryAccessPass::dummy(self.user.id(), self.settings.key, now),
            },
            // A refused client: nothing was judged, and refusing is safe.
            (None, _) | (Some(_), None) => Commit::Nothing,
        };
        Ok(Decided {
            output: SignIn {
                outcome: decision.outcome,
                events: decision.events,
            },
            commit,
        })
    }
}

/// A registration check (SPEC 5.5): read only.
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
        authorize_registration(
            self.user,
            self.grant,
            read.record.as_ref().map(|v| &v.value),
            self.method,
            now,
        )
        .map_err(Refused::Rejected)?;
        Ok(Decided::read_only(()))
    }
}
