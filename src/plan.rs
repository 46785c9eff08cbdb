//! One read-decide-write plan per engine operation (SPEC 0.2). A plan says whose record it
//! reads, judges what was read with the pure core, and says which conditional change commits
//! the decision and which audit events record it. The drivers ([`crate::Engine`] over a
//! `Store`, [`crate::AsyncEngine`] over an `AsyncStore`) only carry plans out: hand the store's
//! read to [`Attempts::decide`], commit what it returns, and on a conflict read and decide
//! again. No rule lives in a driver.

use alloc::vec::Vec;
use core::convert::Infallible;

use rand_core::TryCryptoRng;
use time::UtcDateTime;

use crate::admin::{DeleteContext, DeleteError, Deleted, ViewContext, ViewError, delete, view};
use crate::config::EngineConfig;
use crate::create::{CreateContext, CreateError, CreateRequest, CreatedPass, create};
use crate::event::Event;
use crate::ids::{PassId, UserId};
use crate::pass::TemporaryAccessPass;
use crate::passcode::RngFailure;
use crate::policy::{
    Policy, PolicySettings, PolicyUpdate, UpdatePolicyContext, UpdatePolicyError, update_policy,
};
use crate::principal::Principal;
use crate::signin::{
    Grant, Offer, OfferContext, PasswordlessMethod, RedeemContext, Redemption, RegisterContext,
    RegistrationError, SignInRequest, offer, redeem, register,
};
use crate::store::{Change, Commit, Expected, Held, Loaded, Read, Write};
use crate::view::PassView;

mod onboarding;

pub(crate) use onboarding::{
    BeginProvisioning, BeginSignIn, BlockMethod, DeleteMethod, OpenSession, Passkeys,
    ProvisionMethod, RegisterMethod, SessionState, TakeProvisioning, TakeSignIn, UseMethod,
    ViewMethods,
};

/// A decision and the change that commits it, if it writes.
#[derive(Debug)]
pub(crate) struct Decided<T> {
    pub(crate) output: T,
    /// `None`: the decision writes nothing (a read, a refusal that judged no code).
    pub(crate) change: Option<Change>,
}

impl<T> Decided<T> {
    pub(crate) const fn read_only(output: T) -> Self {
        Self {
            output,
            change: None,
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

    /// Whose record the decision is judged on (with the policy); `None` (the default) reads the
    /// policy alone. Not asked when [`Plan::read`] says what to read: a decision about methods
    /// or ceremonies names its user there, once.
    fn user(&self) -> Option<&UserId> {
        None
    }

    /// For a decision about a user's methods or ceremonies: what it reads besides the policy
    /// and the record. The driver then reads it with the store's `load_with` and commits what
    /// the decision returns, rather than through `transact` (which holds a pass record).
    fn read(&self) -> Option<Read> {
        None
    }

    /// Judges what was read at `now` and says what commits the decision.
    fn decide(
        &mut self,
        read: Loaded,
        now: UtcDateTime,
    ) -> Result<Decided<Self::Output>, Refused<Self::Rejection>>;

    /// The audit events that record a decision which writes (SPEC 7.1): they commit with its
    /// change.
    fn events(output: &Self::Output) -> Vec<Event>;
}

/// The policy `read` holds, or the seed's defaults when none is stored.
pub(crate) fn policy_of(read: &Loaded) -> Policy {
    read.policy
        .as_ref()
        .map(|p| p.value.clone())
        .unwrap_or_default()
}

pub(crate) fn record_of(read: &Loaded) -> Option<&TemporaryAccessPass> {
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

    fn events(_: &Policy) -> Vec<Event> {
        Vec::new()
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
            change: Some(Change::Policy {
                expected: read.policy.map(|p| p.version),
                policy: update.policy.clone(),
            }),
            output: update,
        })
    }

    fn events(update: &PolicyUpdate) -> Vec<Event> {
        update.events()
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
        // A pass replaced (expired, or valid with the opt-in) was judged only on what it never
        // changes, its id and its end: the creation commits on its id, whatever sign-ins wrote
        // meanwhile (SPEC 6.7). The policy it was judged under must still be stored.
        let held = created
            .replaced
            .map_or(Held::Nothing, |(pass, _)| Held::Pass(pass));
        Ok(Decided {
            change: Some(Change::Put {
                user: self.target.id().clone(),
                expected: Expected::new(read.policy.map(|p| p.version), held),
                record: created.record.clone(),
            }),
            output: created,
        })
    }

    fn events(created: &CreatedPass) -> Vec<Event> {
        created.events()
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

    fn events(_: &Option<PassView>) -> Vec<Event> {
        Vec::new()
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
        let change = deleted.as_ref().map(|deleted| Change::Remove {
            user: self.holder.id().clone(),
            pass: deleted.pass,
        });
        Ok(Decided {
            output: deleted,
            change,
        })
    }

    fn events(deleted: &Option<Deleted>) -> Vec<Event> {
        deleted.as_ref().map_or_else(Vec::new, Deleted::events)
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

    fn events(_: &Offer) -> Vec<Event> {
        Vec::new()
    }
}

/// A redemption (SPEC 5.3, 6.2, 6.4, 6.5): every judged attempt commits through the write the
/// core returns, expecting exactly the record it was judged on; a refusal that judged no code
/// writes nothing.
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
        let ctx = RedeemContext::new(
            &policy,
            &self.config.key,
            self.user,
            record_of(&read),
            self.request,
        )
        .lockout(self.config.lockout);
        let decision = redeem(&ctx, self.typed, now);
        // A write exists only for an attempt judged on a stored record (a grant, a counted
        // wrong code): it must land on exactly that record, under that policy.
        let change = decision.write.clone().map(|record| Change::Put {
            user: self.user.id().clone(),
            expected: read.expected(),
            record,
        });
        Ok(Decided {
            output: decision,
            change,
        })
    }

    fn events(redemption: &Redemption) -> Vec<Event> {
        redemption.events()
    }
}

/// A registration check (SPEC 5.5, 6.5, 6.7). It is judged on the grant and on the pass behind
/// it being stored, which a sign-in never changes, so it commits on the pass id, whatever
/// version sign-ins wrote meanwhile: a deletion landing in between makes it judged again, and
/// refused, and no stream of sign-ins can hold it off.
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
        Ok(Decided {
            output: (),
            change: Some(Change::Keep {
                user: self.user.id().clone(),
                pass: self.grant.pass,
            }),
        })
    }

    fn events(&(): &()) -> Vec<Event> {
        Vec::new()
    }
}

/// A plan being carried out: the attempt loop both drivers share (SPEC 0.2). A driver asks
/// [`Attempts::user`] whose record to read, hands each read to [`Attempts::decide`] (through
/// the store's `transact` for a user's record), commits the [`Commit`] it gets back, and hands
/// the store's answer to [`Attempts::answer`], until that says the plan is done. Only how the
/// driver waits on its store differs; every step here is the same.
pub(crate) struct Attempts<P: Plan> {
    plan: P,
    now: UtcDateTime,
    made: u32,
    limit: u32,
    outbox: bool,
    /// The latest decision: its output and whether it writes, or why the plan stopped.
    decided: Option<Judged<P>>,
}

/// A decision as [`Attempts`] keeps it: its output and whether it writes, or why the plan
/// stopped.
type Judged<P> = Result<(<P as Plan>::Output, bool), Refused<<P as Plan>::Rejection>>;

impl<P: Plan> Attempts<P> {
    /// `plan`, judged at `now` (the clock is read once per operation), at most `limit`
    /// attempts (at least one); its commits carry its events when `outbox` is on.
    pub(crate) fn new(plan: P, now: UtcDateTime, config: &EngineConfig) -> Self {
        Self {
            plan,
            now,
            made: 0,
            limit: config.max_attempts.max(1),
            outbox: config.outbox,
            decided: None,
        }
    }

    /// Whose record to read with the policy; `None` reads the policy alone.
    pub(crate) fn user(&self) -> Option<UserId> {
        self.plan.user().cloned()
    }

    /// What a decision about methods or ceremonies reads (see [`Plan::read`]).
    pub(crate) fn read(&self) -> Option<Read> {
        self.plan.read()
    }

    /// Judges `read` and returns what commits the decision, if it writes. A later call
    /// supersedes an earlier one (a store that judged once without holding the record, then
    /// again holding it).
    pub(crate) fn decide(&mut self, read: Loaded) -> Option<Commit> {
        match self.plan.decide(read, self.now) {
            Ok(Decided { output, change }) => {
                let commit = change.map(|change| {
                    let events = if self.outbox {
                        P::events(&output)
                    } else {
                        Vec::new()
                    };
                    Commit::new(change, events)
                });
                self.decided = Some(Ok((output, commit.is_some())));
                commit
            }
            Err(refused) => {
                self.decided = Some(Err(refused));
                None
            }
        }
    }

    /// Takes the store's answer to the commit of the latest decision (`None`: nothing was
    /// committed). `Some` when the plan is done: the decision, which exists now that its
    /// change landed, its refusal, or [`Refused::GaveUp`] after the last attempt met a
    /// conflict. `None`: read and decide again.
    pub(crate) fn answer(
        &mut self,
        written: Option<Write>,
    ) -> Option<Result<P::Output, Refused<P::Rejection>>> {
        self.made = self.made.saturating_add(1);
        match (self.decided.take(), written) {
            (Some(Err(refused)), _) => return Some(Err(refused)),
            (Some(Ok((output, false))), _)
            | (Some(Ok((output, true))), Some(Write::Written(_))) => {
                return Some(Ok(output));
            }
            // A conflict; or a store that committed nothing for a decision that writes, or
            // never asked for one: not a decision either way.
            (Some(Ok((_, true))), Some(Write::Conflict) | None) | (None, _) => {}
        }
        (self.made >= self.limit).then_some(Err(Refused::GaveUp {
            attempts: self.made,
        }))
    }
}
