//! Creating a pass (SPEC 2): the request, the creation's context and options, the decision and
//! its result.

use alloc::vec::Vec;

use rand_core::TryCryptoRng;
use time::UtcDateTime;

use crate::digest::{CodeDigest, DigestKey};
use crate::effect::Effect;
use crate::grant::Initiator;
use crate::ids::{PassId, UserId};
use crate::pass::TemporaryAccessPass;
use crate::passcode::{Passcode, RngFailure};
use crate::policy::{Lifetime, Policy, Scope};
use crate::principal::{Action, PermissionError, Principal, authorize};
use crate::view::PassView;

/// A request to create a pass (SPEC 2.1; Graph: the POST body, `startDateTime`,
/// `lifetimeInMinutes`, `isUsableOnce`). Every field is optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct CreateRequest {
    /// Start of the window; `None` means now.
    pub start: Option<UtcDateTime>,
    /// Lifetime in minutes; `None` means the policy default.
    pub lifetime_minutes: Option<u32>,
    /// One-time flag; `None` means the policy's. A policy that enforces one-time use wins.
    pub is_usable_once: Option<bool>,
}

impl CreateRequest {
    /// A request with every field omitted.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            start: None,
            lifetime_minutes: None,
            is_usable_once: None,
        }
    }

    /// Sets the start.
    #[must_use]
    pub const fn start(mut self, start: UtcDateTime) -> Self {
        self.start = Some(start);
        self
    }

    /// Sets the lifetime in minutes.
    #[must_use]
    pub const fn lifetime_minutes(mut self, minutes: u32) -> Self {
        self.lifetime_minutes = Some(minutes);
        self
    }

    /// Sets the one-time flag.
    #[must_use]
    pub const fn is_usable_once(mut self, once: bool) -> Self {
        self.is_usable_once = Some(once);
        self
    }
}

/// Creation behaviour that later product versions changed. The default is the seed's
/// (SPEC 2.7, 2.8); each later behaviour is an opt-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct CreateOptions {
    /// Let a new pass replace a *valid* one (later product). The replacement then counts as a
    /// deletion: the user's sessions are revoked (SPEC 2.7, 5.7). Seed: refused, delete first.
    pub replace_valid_pass: bool,
    /// Refuse to create a pass for a user out of the policy's scope (later product, SPEC 2.8).
    /// Seed: a pass may be created for anyone; only in-scope users can sign in with it.
    pub refuse_out_of_scope: bool,
}

impl CreateOptions {
    /// The seed's behaviour: both opt-ins off (as `Default`).
    #[must_use]
    pub const fn new() -> Self {
        Self {
            replace_valid_pass: false,
            refuse_out_of_scope: false,
        }
    }

    /// Later product versions: both opt-ins on.
    #[must_use]
    pub const fn later_product() -> Self {
        Self {
            replace_valid_pass: true,
            refuse_out_of_scope: true,
        }
    }

    /// Sets whether a new pass may replace a valid one (sessions are then revoked).
    #[must_use]
    pub const fn replace_valid_pass(mut self, on: bool) -> Self {
        self.replace_valid_pass = on;
        self
    }

    /// Sets whether creation is refused for users out of the policy's scope.
    #[must_use]
    pub const fn refuse_out_of_scope(mut self, on: bool) -> Self {
        self.refuse_out_of_scope = on;
        self
    }
}

/// Everything a creation reads besides the request, `now` and the RNG: the policy, the key the
/// code is sealed with, who creates it for whom, the target's stored record, and the options.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct CreateContext<'a> {
    /// The tenant policy.
    pub policy: &'a Policy,
    /// What the code's digest is keyed with (SPEC 6.1).
    pub key: &'a DigestKey,
    /// Who creates the pass.
    pub actor: &'a Principal,
    /// For whom.
    pub target: &'a Principal,
    /// The target's current pass record, if the store holds one.
    pub existing: Option<&'a TemporaryAccessPass>,
    /// The later-product opt-ins.
    pub options: CreateOptions,
}

impl<'a> CreateContext<'a> {
    /// A creation by `actor` for `target` under `policy`, sealed with `key`, for a target with no
    /// stored pass, with the seed's options.
    #[must_use]
    pub const fn new(
        policy: &'a Policy,
        key: &'a DigestKey,
        actor: &'a Principal,
        target: &'a Principal,
    ) -> Self {
        Self {
            policy,
            key,
            actor,
            target,
            existing: None,
            options: CreateOptions::new(),
        }
    }

    /// Sets the target's stored record.
    #[must_use]
    pub const fn existing(mut self, existing: Option<&'a TemporaryAccessPass>) -> Self {
        self.existing = existing;
        self
    }

    /// Sets the options.
    #[must_use]
    pub const fn options(mut self, options: CreateOptions) -> Self {
        self.options = options;
        self
    }
}

/// An accepted creation (SPEC 2.6, 7.2): the code to show once, the record to store, the view,
/// what to carry out and who did it. Its audit events are [`CreatedPass::events`].
#[derive(Debug)]
#[must_use]
#[non_exhaustive]
pub struct CreatedPass {
    /// The plaintext code. It exists only here: show it to the issuer once.
    pub passcode: Passcode,
    /// The record to store (it holds only a digest), replacing `replaced` if set.
    pub record: TemporaryAccessPass,
    /// The pass as Graph shows it at creation.
    pub view: PassView,
    /// The id of the pass this one replaces, and whether that one was still valid.
    pub replaced: Option<(PassId, bool)>,
    /// Effects the host must carry out (sessions revoked when a valid pass is replaced).
    pub effects: Vec<Effect>,
    /// Who created it: a user, or an application.
    pub by: Initiator,
}

/// Why a pass was not created (SPEC 2). Nothing was created or changed. Every variant is a
/// rejection by a rule except [`CreateError::Rng`], which says the RNG is broken
/// ([`CreateError::is_broken`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CreateError {
    /// The actor may not create a pass for the target (SPEC 3).
    #[error(transparent)]
    Forbidden(#[from] PermissionError),
    /// The user already holds a valid pass: delete it first (SPEC 2.7).
    #[error(
        "user {user} already holds pass {pass}, valid until {valid_until}: delete it before creating a new one"
    )]
    AlreadyHasValidPass {
        /// The holder.
        user: UserId,
        /// The pass held.
        pass: PassId,
        /// Its end.
        valid_until: UtcDateTime,
    },
    /// The record given as the target's existing pass belongs to someone else (a host error).
    #[error("the existing pass given belongs to {holder}, not to {target}")]
    ExistingPassMismatch {
        /// The target of the creation.
        target: UserId,
        /// The holder of the record given.
        holder: UserId,
    },
    /// The target is out of the policy's scope and the opt-in refusal is on (SPEC 2.8).
    #[error(
        "user {user} is not in the scope of the Temporary Access Pass policy ({scope:?}): creation for out-of-scope users is refused"
    )]
    TargetNotInScope {
        /// The target.
        user: UserId,
        /// Why they are out of scope.
        scope: Scope,
    },
    /// The lifetime is outside the policy's range (SPEC 2.2).
    #[error("invalid lifetime of {requested} minutes: the policy allows {minimum} to {maximum}")]
    LifetimeOutOfRange {
        /// The lifetime asked for.
        requested: u32,
        /// The policy's minimum.
        minimum: u32,
        /// The policy's maximum.
        maximum: u32,
    },
    /// The start is before now (SPEC 2.4).
    #[error("start {start} is in the past (now is {now}): a pass starts now or later")]
    StartInPast {
        /// The start asked for.
        start: UtcDateTime,
        /// The instant of the decision.
        now: UtcDateTime,
    },
    /// Start plus lifetime lies beyond the last instant `time` can represent (SPEC 2.4).
    #[error("start {start} plus {lifetime} is beyond the last representable instant")]
    EndOutOfRange {
        /// The start.
        start: UtcDateTime,
        /// The lifetime.
        lifetime: Lifetime,
    },
    /// The RNG failed: broken, not refused.
    #[error(transparent)]
    Rng(#[from] RngFailure),
}

impl CreateError {
    /// True when a dependency broke (the RNG) rather than a rule refusing.
    #[must_use]
    pub const fn is_broken(&self) -> bool {
        matches!(self, Self::Rng(_))
    }
}

/// The window a request resolves to under a policy (SPEC 2.1-2.4): defaults, the policy's
/// lifetime range, no start in the past, a checked end.
fn window(
    policy: &Policy,
    request: &CreateRequest,
    now: UtcDateTime,
) -> Result<(UtcDateTime, Lifetime, UtcDateTime), CreateError> {
    let minutes = request
        .lifetime_minutes
        .unwrap_or(policy.default_lifetime().minutes());
    let (minimum, maximum) = (policy.minimum_lifetime(), policy.maximum_lifetime());
    let lifetime = Lifetime::from_minutes(minutes)
        .ok()
        .filter(|l| (minimum..=maximum).contains(l))
        .ok_or(CreateError::LifetimeOutOfRange {
            requested: minutes,
            minimum: minimum.minutes(),
            maximum: maximum.minutes(),
        })?;
    let start = request.start.unwrap_or(now);
    if start < now {
        return Err(CreateError::StartInPast { start, now });
    }
    let end = start
        .checked_add(lifetime.duration())
        .ok_or(CreateError::EndOutOfRange { start, lifetime })?;
    Ok((start, lifetime, end))
}

/// Decides a creation (SPEC 2) as a pure function of its inputs.
///
/// Checks, in order: the actor's right (SPEC 3), the existing pass (SPEC 2.7), the opt-in scope
/// refusal (SPEC 2.8), the lifetime (2.2), the start (2.4), the end (2.4); then draws the id,
/// code and salt from `rng`. The pass is one-time when the policy enforces it, whatever the
/// request says (2.3).
///
/// ```
/// use temporary_access_pass::{
///     CreateContext, CreateRequest, DigestKey, DirectoryRole, Pepper, Policy, Principal,
///     SysRng, UserId, create, time::{Date, Month},
/// };
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let policy = Policy::default();
/// let key = DigestKey::from(Pepper::new(&[7; 32])?);
/// let helpdesk =
///     Principal::member(UserId::new("helpdesk@contoso.com")?).role(DirectoryRole::AuthenticationAdministrator);
/// let chris = Principal::member(UserId::new("chris@contoso.com")?);
/// let now = Date::from_calendar_date(2021, Month::March, 9)?.with_hms(23, 19, 17)?.as_utc();
///
/// let ctx = CreateContext::new(&policy, &key, &helpdesk, &chris);
/// let created = create(&ctx, &CreateRequest::new().lifetime_minutes(90), now, &mut SysRng)?;
/// assert_eq!(created.passcode.expose_secret().len(), 8); // shown once
/// assert_eq!(created.record.lifetime().minutes(), 90); // stored: a digest, never the code
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// [`CreateError`], one variant per refusal; nothing is created.
pub fn create<R: TryCryptoRng + ?Sized>(
    ctx: &CreateContext<'_>,
    request: &CreateRequest,
    now: UtcDateTime,
    rng: &mut R,
) -> Result<CreatedPass, CreateError> {
    let CreateContext {
        policy,
        key,
        actor,
        target,
        existing,
        options,
    } = *ctx;
    authorize(actor, Action::Create, target)?;
    let mut replaced = None;
    if let Some(old) = existing {
        if old.user() != target.id() {
            return Err(CreateError::ExistingPassMismatch {
                target: target.id().clone(),
                holder: old.user().clone(),
            });
        }
        let valid = old.is_valid_at(now);
        if valid && !options.replace_valid_pass {
            return Err(CreateError::AlreadyHasValidPass {
                user: old.user().clone(),
                pass: *old.id(),
                valid_until: old.end(),
            });
        }
        replaced = Some((*old.id(), valid));
    }
    if options.refuse_out_of_scope {
        let scope = policy.scope(target);
        if !scope.is_in_scope() {
            return Err(CreateError::TargetNotInScope {
                user: target.id().clone(),
                scope,
            });
        }
    }
    let window = window(policy, request, now)?;
    let is_usable_once =
        policy.is_usable_once() || request.is_usable_once.unwrap_or(policy.is_usable_once());

    let id = PassId::random(rng).map_err(|_| RngFailure)?;
    let passcode = Passcode::generate(policy.default_length(), rng)?;
    let code = CodeDigest::seal(key, &id, &passcode, rng)?;
    let record =
        TemporaryAccessPass::issued(id, target.id().clone(), now, window, is_usable_once, code);
    let effects = match replaced {
        Some((_, true)) => alloc::vec![Effect::RevokeSessions {
            user: target.id().clone(),
        }],
        Some((_, false)) | None => Vec::new(),
    };
    Ok(CreatedPass {
        passcode,
        view: record.view(policy, target, now),
        record,
        replaced,
        effects,
        by: actor.initiator(),
    })
}
