//! The pass record, its creation and its view (SPEC 2, 4, 5.7, 7.2).

use alloc::vec;
use alloc::vec::Vec;

use rand_core::TryCryptoRng;
use time::UtcDateTime;

use crate::event::{Effect, Event};
use crate::ids::{PassId, UserId};
use crate::passcode::{CodeDigest, DigestKey, Passcode, RngFailure};
use crate::policy::{Lifetime, Policy, Scope};
use crate::principal::{Action, PermissionError, Principal, authorize};
use crate::signin::Lockout;
use crate::usability::{BlockCause, Usability};

use subtle::ConstantTimeEq;

/// What a judged sign-in attempt did to the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The right code, on a usable pass.
    Success,
    /// A wrong code, on a usable pass.
    Failure,
    /// The pass was not usable: the code was not judged and nothing changes.
    Unjudged,
}

/// A stored Temporary Access Pass: the record a host keeps, one per user (SPEC 2.7).
///
/// It holds the code only as a [`CodeDigest`]; its window is `[start, end)` with
/// `end = start + lifetime`, computed (checked) once at creation.
///
/// With `serde` it has a storage form for hosts that persist JSON: ids, RFC 3339 times,
/// counters, the digest scheme, and the salt and digest in hex (never the code). Decoding
/// checks the record like [`TemporaryAccessPass::from_parts`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(
        try_from = "record_serde::RecordDocument",
        into = "record_serde::RecordDocument"
    )
)]
pub struct TemporaryAccessPass {
    id: PassId,
    user: UserId,
    created: UtcDateTime,
    start: UtcDateTime,
    lifetime: Lifetime,
    end: UtcDateTime,
    is_usable_once: bool,
    code: CodeDigest,
    used_at: Option<UtcDateTime>,
    failed_attempts: u32,
    locked_until: Option<UtcDateTime>,
    last_failure: Option<UtcDateTime>,
}

/// The id of the dummy record a sign-in without a pass is judged on (SPEC 6.2). It is not a
/// version-4 GUID, so [`PassId::random`] never draws it.
pub(crate) const DUMMY_PASS_ID: PassId = PassId::from_bytes(*b"tap-no-pass-id!!");

impl TemporaryAccessPass {
    /// The pass's id.
    #[must_use]
    pub const fn id(&self) -> &PassId {
        &self.id
    }

    /// The holder.
    #[must_use]
    pub const fn user(&self) -> &UserId {
        &self.user
    }

    /// When it was created.
    #[must_use]
    pub const fn created(&self) -> UtcDateTime {
        self.created
    }

    /// Start of the window (inclusive).
    #[must_use]
    pub const fn start(&self) -> UtcDateTime {
        self.start
    }

    /// The lifetime.
    #[must_use]
    pub const fn lifetime(&self) -> Lifetime {
        self.lifetime
    }

    /// End of the window (exclusive): `start + lifetime`.
    #[must_use]
    pub const fn end(&self) -> UtcDateTime {
        self.end
    }

    /// Whether the pass is one-time.
    #[must_use]
    pub const fn is_usable_once(&self) -> bool {
        self.is_usable_once
    }

    /// The stored digest of the code.
    #[must_use]
    pub const fn code_digest(&self) -> &CodeDigest {
        &self.code
    }

    /// When the pass last signed its holder in, if it did: for a one-time pass, its one use.
    /// Every sign-in writes it (SPEC 6.5), and it never moves backwards.
    #[must_use]
    pub const fn used_at(&self) -> Option<UtcDateTime> {
        self.used_at
    }

    /// When the latest wrong code was counted, if one was. It never moves backwards, so an
    /// instance whose clock is behind cannot shorten a lock set by another (SPEC 6.6).
    #[must_use]
    pub const fn last_failure(&self) -> Option<UtcDateTime> {
        self.last_failure
    }

    /// Consecutive wrong codes typed since the last right one (SPEC 6.4).
    #[must_use]
    pub const fn failed_attempts(&self) -> u32 {
        self.failed_attempts
    }

    /// Until when the pass is locked after wrong codes, if it is (SPEC 6.4).
    #[must_use]
    pub const fn locked_until(&self) -> Option<UtcDateTime> {
        self.locked_until
    }

    /// True while the pass is not expired (`now < end`): the seed's *valid* (SPEC 2.7, 5.7).
    #[must_use]
    pub fn is_valid_at(&self, now: UtcDateTime) -> bool {
        now < self.end
    }

    /// Whether `typed` is this pass's code, compared in constant time on digests (SPEC 6.2).
    /// This checks the code only; [`TemporaryAccessPass::usability`] says whether it may be used.
    #[must_use]
    pub fn verify_code(&self, key: &DigestKey, typed: &str) -> bool {
        self.code.verify(key, &self.id, typed)
    }

    /// The pass's usability at `now` for `holder` under `policy` (SPEC 4), with the precedence of
    /// SPEC 4.3 (see [`Usability`]).
    ///
    /// Every condition is evaluated before the precedence picks one, so the work does not
    /// depend on which of them hold (SPEC 6.2); the holder's id is compared in constant time.
    #[must_use]
    pub fn usability(&self, policy: &Policy, holder: &Principal, now: UtcDateTime) -> Usability {
        let is_holder = bool::from(
            self.user
                .as_str()
                .as_bytes()
                .ct_eq(holder.id().as_str().as_bytes()),
        );
        let scope = policy.scope(holder);
        let not_yet_valid = now < self.start;
        let expired = now >= self.end;
        let used = self.used_at.filter(|_| self.is_usable_once);
        let multi_use_blocked = !self.is_usable_once && policy.is_usable_once();
        let guest = holder.is_guest();
        let locked = self.locked_until.filter(|until| now < *until);
        let out_of_scope = match scope {
            Scope::InScope => None,
            Scope::PolicyDisabled => Some(BlockCause::PolicyDisabled),
            Scope::Excluded => Some(BlockCause::Excluded),
            Scope::NotIncluded => Some(BlockCause::NotIncluded),
        };
        if !is_holder {
            Usability::PolicyBlocked(BlockCause::NotTheHolder)
        } else if let Some(cause) = out_of_scope {
            Usability::PolicyBlocked(cause)
        } else if not_yet_valid {
            Usability::NotYetValid {
                starts_at: self.start,
            }
        } else if expired {
            Usability::Expired { at: self.end }
        } else if let Some(at) = used {
            Usability::OneTimeUsed { at }
        } else if multi_use_blocked {
            Usability::PolicyBlocked(BlockCause::MultiUseUnderOneTimePolicy)
        } else if guest {
            Usability::PolicyBlocked(BlockCause::GuestUser)
        } else if let Some(until) = locked {
            Usability::PolicyBlocked(BlockCause::Locked { until })
        } else {
            Usability::Usable
        }
    }

    /// Applies what a judged attempt changes (SPEC 5.3, 6.4, 6.6). A grant clears the count
    /// and the lock and records the use; a wrong code adds one consecutive failure and, from the
    /// limit on, locks the pass for `base * 2^(failures - limit)`, never past its end and never
    /// ending before a lock already stored. The failure is dated no earlier than the latest one
    /// stored, and the use no earlier than the last, so a clock that is behind cannot shorten a
    /// lock set by another instance.
    ///
    /// Both outcomes are computed every time and one is kept, so the work does not depend on
    /// whether the code was right (SPEC 6.2).
    pub(crate) fn apply(&mut self, outcome: Outcome, now: UtcDateTime, lockout: &Lockout) {
        // Success: reset, and record the use.
        let used_at = Some(self.used_at.map_or(now, |used| used.max(now)));
        // Failure: count, date it no earlier than the last one, lock from the limit on.
        let at = self.last_failure.map_or(now, |last| last.max(now));
        let failures = self.failed_attempts.saturating_add(1);
        let lock = failures
            .checked_sub(lockout.max_attempts())
            .map(|beyond| {
                let until = 2_i32
                    .checked_pow(beyond)
                    .and_then(|factor| lockout.base_backoff().checked_mul(factor))
                    .and_then(|backoff| at.checked_add(backoff))
                    .map_or(self.end, |t| t.min(self.end));
                self.locked_until.map_or(until, |stored| stored.max(until))
            })
            .or(self.locked_until);
        match outcome {
            Outcome::Success => {
                self.used_at = used_at;
                self.failed_attempts = 0;
                self.locked_until = None;
            }
            Outcome::Failure => {
                self.failed_attempts = failures;
                self.locked_until = lock;
                self.last_failure = Some(at);
            }
            Outcome::Unjudged => {}
        }
    }

    /// The record a sign-in without a pass is judged on (SPEC 6.2): the user's own id, a window
    /// open at `now`, and a digest no code matches. It is never stored.
    pub(crate) fn dummy(user: &UserId, key: &DigestKey, now: UtcDateTime) -> Self {
        Self {
            id: DUMMY_PASS_ID,
            user: user.clone(),
            created: now,
            start: now,
            lifetime: Lifetime::MIN,
            end: now
                .checked_add(Lifetime::MIN.duration())
                .unwrap_or(UtcDateTime::MAX),
            is_usable_once: false,
            code: CodeDigest::dummy(key),
            used_at: None,
            failed_attempts: 0,
            locked_until: None,
            last_failure: None,
        }
    }

    /// The pass as Graph shows it at `now` (SPEC 7.2): never the code.
    #[must_use]
    pub fn view(&self, policy: &Policy, holder: &Principal, now: UtcDateTime) -> PassView {
        let usability = self.usability(policy, holder, now);
        PassView {
            id: self.id,
            user: self.user.clone(),
            created: self.created,
            start: self.start,
            end: self.end,
            lifetime: self.lifetime,
            is_usable_once: self.is_usable_once,
            is_usable: usability.is_usable(),
            usability,
        }
    }
}

/// A record without its holder's id, for a store whose key already holds it: 16 bytes less per
/// stored pass. [`Detached::attach`] gives the record back.
#[cfg(feature = "std")]
#[derive(Debug, Clone)]
pub(crate) struct Detached {
    id: PassId,
    created: UtcDateTime,
    start: UtcDateTime,
    lifetime: Lifetime,
    end: UtcDateTime,
    is_usable_once: bool,
    code: CodeDigest,
    used_at: Option<UtcDateTime>,
    failed_attempts: u32,
    locked_until: Option<UtcDateTime>,
    last_failure: Option<UtcDateTime>,
}

#[cfg(feature = "std")]
impl Detached {
    /// The record's fields other than its holder.
    pub(crate) fn of(record: &TemporaryAccessPass) -> Self {
        Self {
            id: record.id,
            created: record.created,
            start: record.start,
            lifetime: record.lifetime,
            end: record.end,
            is_usable_once: record.is_usable_once,
            code: record.code.clone(),
            used_at: record.used_at,
            failed_attempts: record.failed_attempts,
            locked_until: record.locked_until,
            last_failure: record.last_failure,
        }
    }

    /// The pass id.
    pub(crate) const fn id(&self) -> &PassId {
        &self.id
    }

    /// The record, held by `user`.
    pub(crate) fn attach(&self, user: UserId) -> TemporaryAccessPass {
        TemporaryAccessPass {
            id: self.id,
            user,
            created: self.created,
            start: self.start,
            lifetime: self.lifetime,
            end: self.end,
            is_usable_once: self.is_usable_once,
            code: self.code.clone(),
            used_at: self.used_at,
            failed_attempts: self.failed_attempts,
            locked_until: self.locked_until,
            last_failure: self.last_failure,
        }
    }
}

/// The fields of a stored pass, for hosts that persist records in their own format: take them
/// apart with [`TemporaryAccessPass::into_parts`], rebuild with
/// [`TemporaryAccessPass::from_parts`], which checks the invariants again.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordParts {
    /// The pass's id.
    pub id: PassId,
    /// The holder.
    pub user: UserId,
    /// When it was created.
    pub created: UtcDateTime,
    /// Start of the window.
    pub start: UtcDateTime,
    /// The lifetime.
    pub lifetime: Lifetime,
    /// Whether it is one-time.
    pub is_usable_once: bool,
    /// The code's digest.
    pub code: CodeDigest,
    /// When the pass last signed its holder in, if it did.
    pub used_at: Option<UtcDateTime>,
    /// Consecutive wrong codes (SPEC 6.4).
    pub failed_attempts: u32,
    /// End of the current lock, if any (SPEC 6.4).
    pub locked_until: Option<UtcDateTime>,
    /// When the latest wrong code was counted, if one was (SPEC 6.6).
    pub last_failure: Option<UtcDateTime>,
}

impl RecordParts {
    /// The parts of a pass that was never used and has no failed attempts.
    #[must_use]
    pub const fn new(
        id: PassId,
        user: UserId,
        created: UtcDateTime,
        start: UtcDateTime,
        lifetime: Lifetime,
        is_usable_once: bool,
        code: CodeDigest,
    ) -> Self {
        Self {
            id,
            user,
            created,
            start,
            lifetime,
            is_usable_once,
            code,
            used_at: None,
            failed_attempts: 0,
            locked_until: None,
            last_failure: None,
        }
    }
}

/// Why stored parts don't make a valid record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// Start plus lifetime lies beyond the last representable instant.
    #[error("start {start} plus {lifetime} is beyond the last representable instant")]
    EndOutOfRange {
        /// The start.
        start: UtcDateTime,
        /// The lifetime.
        lifetime: Lifetime,
    },
    /// The start precedes the creation, which creation never allows (SPEC 2.4).
    #[error("start {start} precedes creation {created}: a pass starts when it is created or later")]
    StartBeforeCreation {
        /// The start.
        start: UtcDateTime,
        /// The creation.
        created: UtcDateTime,
    },
}

impl TemporaryAccessPass {
    /// Rebuilds a record from stored parts, checking that the window is representable and
    /// starts no earlier than the creation.
    ///
    /// # Errors
    ///
    /// [`RecordError`] naming the broken invariant.
    pub fn from_parts(parts: RecordParts) -> Result<Self, RecordError> {
        let RecordParts {
            id,
            user,
            created,
            start,
            lifetime,
            is_usable_once,
            code,
            used_at,
            failed_attempts,
            locked_until,
            last_failure,
        } = parts;
        if start < created {
            return Err(RecordError::StartBeforeCreation { start, created });
        }
        let end = start
            .checked_add(lifetime.duration())
            .ok_or(RecordError::EndOutOfRange { start, lifetime })?;
        Ok(Self {
            id,
            user,
            created,
            start,
            lifetime,
            end,
            is_usable_once,
            code,
            used_at,
            failed_attempts,
            locked_until,
            last_failure,
        })
    }

    /// Takes the record apart for persistence.
    #[must_use]
    pub fn into_parts(self) -> RecordParts {
        RecordParts {
            id: self.id,
            user: self.user,
            created: self.created,
            start: self.start,
            lifetime: self.lifetime,
            is_usable_once: self.is_usable_once,
            code: self.code,
            used_at: self.used_at,
            failed_attempts: self.failed_attempts,
            locked_until: self.locked_until,
            last_failure: self.last_failure,
        }
    }
}

/// What Graph shows of a pass (SPEC 7.2): id, times, lifetime, one-time flag and usability at
/// the instant it was made. It never holds the code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PassView {
    /// The pass's id.
    pub id: PassId,
    /// The holder.
    pub user: UserId,
    /// When it was created (Graph: `createdDateTime`).
    pub created: UtcDateTime,
    /// Start of the window (Graph: `startDateTime`).
    pub start: UtcDateTime,
    /// End of the window, exclusive.
    pub end: UtcDateTime,
    /// Lifetime (Graph: `lifetimeInMinutes`).
    pub lifetime: Lifetime,
    /// One-time or multi-use (Graph: `isUsableOnce`).
    pub is_usable_once: bool,
    /// Graph: `isUsable`; true exactly when `usability` is [`Usability::Usable`].
    pub is_usable: bool,
    /// Why it is or is not usable (Graph: `methodUsabilityReason`, via
    /// [`Usability::graph_name`]).
    pub usability: Usability,
}

/// A request to create a pass (SPEC 2.1; Graph: the POST body, `startDateTime`,
/// `lifetimeInMinutes`, `isUsableOnce`). Every field is optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
#[non_exhaustive]
pub struct CreatePassRequest {
    /// Start of the window; `None` means now.
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "startDateTime",
            default,
            skip_serializing_if = "Option::is_none",
            with = "crate::graph::rfc3339::option"
        )
    )]
    pub start: Option<UtcDateTime>,
    /// Lifetime in minutes; `None` means the policy default.
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "lifetimeInMinutes",
            default,
            skip_serializing_if = "Option::is_none"
        )
    )]
    pub lifetime_minutes: Option<u32>,
    /// One-time flag; `None` means the policy's. A policy that enforces one-time use wins.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub is_usable_once: Option<bool>,
}

impl CreatePassRequest {
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
    pub const fn usable_once(mut self, once: bool) -> Self {
        self.is_usable_once = Some(once);
        self
    }
}

/// Creation behaviour that later product versions changed. The default is the seed's
/// (SPEC 2.7, 2.8); each later behaviour is an opt-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct IssueOptions {
    /// Let a new pass replace a *valid* one (later product). The replacement then counts as a
    /// deletion: the user's sessions are revoked (SPEC 2.7, 5.7). Seed: refused, delete first.
    pub replace_valid_pass: bool,
    /// Refuse to create a pass for a user out of the policy's scope (later product, SPEC 2.8).
    /// Seed: a pass may be created for anyone; only in-scope users can sign in with it.
    pub refuse_out_of_scope: bool,
}

impl IssueOptions {
    /// The seed's behaviour: both opt-ins off.
    #[must_use]
    pub const fn seed() -> Self {
        Self {
            replace_valid_pass: false,
            refuse_out_of_scope: false,
        }
    }

    /// Sets whether a new pass may replace a valid one (sessions are then revoked).
    #[must_use]
    pub const fn with_replace_valid_pass(mut self, on: bool) -> Self {
        self.replace_valid_pass = on;
        self
    }

    /// Sets whether creation is refused for users out of the policy's scope.
    #[must_use]
    pub const fn with_refuse_out_of_scope(mut self, on: bool) -> Self {
        self.refuse_out_of_scope = on;
        self
    }

    /// Later product versions: both opt-ins on.
    #[must_use]
    pub const fn later_product() -> Self {
        Self {
            replace_valid_pass: true,
            refuse_out_of_scope: true,
        }
    }
}

/// Everything a creation decision reads besides the request, `now` and the RNG.
#[derive(Debug, Clone, Copy)]
pub struct IssueContext<'a> {
    policy: &'a Policy,
    issuer: &'a Principal,
    target: &'a Principal,
    existing: Option<&'a TemporaryAccessPass>,
    key: &'a DigestKey,
    options: IssueOptions,
}

impl<'a> IssueContext<'a> {
    /// A context with no existing pass and the seed's options. The code is sealed with `key`
    /// (SPEC 6.1): a [`DigestKey`] from the host's pepper, or [`DigestKey::unkeyed`].
    #[must_use]
    pub const fn new(
        policy: &'a Policy,
        key: &'a DigestKey,
        issuer: &'a Principal,
        target: &'a Principal,
    ) -> Self {
        Self {
            policy,
            issuer,
            target,
            existing: None,
            key,
            options: IssueOptions::seed(),
        }
    }

    /// The target's current pass record, if the store holds one.
    #[must_use]
    pub const fn existing(mut self, existing: Option<&'a TemporaryAccessPass>) -> Self {
        self.existing = existing;
        self
    }

    /// The later-product opt-ins.
    #[must_use]
    pub const fn options(mut self, options: IssueOptions) -> Self {
        self.options = options;
        self
    }
}

/// The creation result shown to the issuer (SPEC 2.6, 7.2): the code, once, and the view.
#[derive(Debug)]
#[non_exhaustive]
pub struct CreatedPass {
    /// The plaintext code. It exists only here.
    pub passcode: Passcode,
    /// The pass as Graph shows it at creation.
    pub view: PassView,
}

/// An accepted creation: what to show, what to store, what to do and what to log.
#[derive(Debug)]
#[must_use]
#[non_exhaustive]
pub struct Issued {
    /// Shown once to the issuer.
    pub created: CreatedPass,
    /// The record to store, replacing `replaced` if set.
    pub record: TemporaryAccessPass,
    /// The id of the pass this one replaces, if any.
    pub replaced: Option<PassId>,
    /// Effects the host must carry out (sessions revoked when a valid pass is replaced).
    pub effects: Vec<Effect>,
    /// Audit events.
    pub events: Vec<Event>,
}

/// Why a pass was not created (SPEC 2). Nothing was created or changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// The issuer may not create a pass for the target (SPEC 3).
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
    /// The RNG failed (a broken dependency, not a domain refusal).
    #[error(transparent)]
    Rng(#[from] RngFailure),
}

/// The window and one-time flag a request resolves to under a policy.
struct Window {
    start: UtcDateTime,
    lifetime: Lifetime,
    end: UtcDateTime,
    is_usable_once: bool,
}

impl Window {
    /// SPEC 2.1-2.4: defaults, the policy's lifetime range, no start in the past, a checked end,
    /// and one-time forced by the policy.
    fn for_request(
        policy: &Policy,
        request: &CreatePassRequest,
        now: UtcDateTime,
    ) -> Result<Self, IssueError> {
        let minutes = request
            .lifetime_minutes
            .unwrap_or(policy.default_lifetime().minutes());
        let (minimum, maximum) = (policy.minimum_lifetime(), policy.maximum_lifetime());
        let lifetime = Lifetime::from_minutes(minutes)
            .ok()
            .filter(|l| (minimum..=maximum).contains(l))
            .ok_or(IssueError::LifetimeOutOfRange {
                requested: minutes,
                minimum: minimum.minutes(),
                maximum: maximum.minutes(),
            })?;
        let start = request.start.unwrap_or(now);
        if start < now {
            return Err(IssueError::StartInPast { start, now });
        }
        let end = start
            .checked_add(lifetime.duration())
            .ok_or(IssueError::EndOutOfRange { start, lifetime })?;
        let is_usable_once =
            policy.is_usable_once() || request.is_usable_once.unwrap_or(policy.is_usable_once());

        Ok(Self {
            start,
            lifetime,
            end,
            is_usable_once,
        })
    }
}

/// Decides a creation (SPEC 2) as a pure function of its inputs.
///
/// Checks, in order: the issuer's right (SPEC 3), the existing pass (SPEC 2.7), the opt-in scope
/// refusal (SPEC 2.8), the lifetime (2.2), the start (2.4), the end (2.4); then draws the id,
/// code and salt from `rng`. The pass is one-time when the policy enforces it, whatever the
/// request says (2.3).
///
/// # Errors
///
/// [`IssueError`], one variant per refusal; nothing is created.
pub fn issue<R: TryCryptoRng + ?Sized>(
    ctx: &IssueContext<'_>,
    request: &CreatePassRequest,
    now: UtcDateTime,
    rng: &mut R,
) -> Result<Issued, IssueError> {
    let IssueContext {
        policy,
        issuer,
        target,
        existing,
        key,
        options,
    } = *ctx;
    authorize(issuer, Action::Create, target)?;
    let mut replaced_valid = false;
    if let Some(old) = existing {
        if old.user() != target.id() {
            return Err(IssueError::ExistingPassMismatch {
                target: target.id().clone(),
                holder: old.user().clone(),
            });
        }
        replaced_valid = old.is_valid_at(now);
        if replaced_valid && !options.replace_valid_pass {
            return Err(IssueError::AlreadyHasValidPass {
                user: old.user().clone(),
                pass: *old.id(),
                valid_until: old.end(),
            });
        }
    }
    if options.refuse_out_of_scope {
        let scope = policy.scope(target);
        if !scope.is_in_scope() {
            return Err(IssueError::TargetNotInScope {
                user: target.id().clone(),
                scope,
            });
        }
    }
    let Window {
        start,
        lifetime,
        end,
        is_usable_once,
    } = Window::for_request(policy, request, now)?;

    let id = PassId::random(rng).map_err(|_| RngFailure)?;
    let passcode = Passcode::generate(policy.default_length(), rng)?;
    let code = CodeDigest::seal(key, &id, &passcode, rng)?;
    let record = TemporaryAccessPass {
        id,
        user: target.id().clone(),
        created: now,
        start,
        lifetime,
        end,
        is_usable_once,
        code,
        used_at: None,
        failed_attempts: 0,
        locked_until: None,
        last_failure: None,
    };

    let mut events = vec![Event::PassIssued {
        pass: id,
        user: target.id().clone(),
        by: issuer.id().clone(),
        at: now,
        start,
        end,
        is_usable_once,
    }];
    let mut effects = Vec::new();
    let replaced = existing.map(|old| *old.id());
    if let Some(old) = replaced {
        events.push(Event::PassReplaced {
            old,
            new: id,
            user: target.id().clone(),
            at: now,
            old_was_valid: replaced_valid,
        });
        if replaced_valid {
            events.push(Event::SessionsRevoked {
                user: target.id().clone(),
                pass: old,
                at: now,
            });
            effects.push(Effect::RevokeSessions {
                user: target.id().clone(),
            });
        }
    }
    let view = record.view(policy, target, now);
    Ok(Issued {
        created: CreatedPass { passcode, view },
        record,
        replaced,
        effects,
        events,
    })
}

/// Decides whether `viewer` may see `record`, the pass of `holder`, and builds its view at `now`
/// (SPEC 3.3, 3.4, 7.2). The view never holds the code, whoever asks.
///
/// # Errors
///
/// [`ViewError::Forbidden`] when the viewer's roles don't grant viewing;
/// [`ViewError::NotTheHolder`] when `record` is not `holder`'s.
pub fn view_pass(
    policy: &Policy,
    viewer: &Principal,
    holder: &Principal,
    record: &TemporaryAccessPass,
    now: UtcDateTime,
) -> Result<PassView, ViewError> {
    authorize_on_record(viewer, Action::View, holder, record)?;
    Ok(record.view(policy, holder, now))
}

/// The checks viewing and deleting share: the actor's right on the holder (SPEC 3), and that
/// the record given is the holder's.
fn authorize_on_record(
    actor: &Principal,
    action: Action,
    holder: &Principal,
    record: &TemporaryAccessPass,
) -> Result<(), ViewError> {
    authorize(actor, action, holder)?;
    if record.user() != holder.id() {
        return Err(ViewError::NotTheHolder {
            holder: holder.id().clone(),
            pass: *record.id(),
        });
    }
    Ok(())
}

/// Why a pass can't be viewed or deleted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ViewError {
    /// The principal may not act on this user's pass (SPEC 3).
    #[error(transparent)]
    Forbidden(#[from] PermissionError),
    /// The record given is not this user's (a host error).
    #[error("pass {pass} does not belong to {holder}")]
    NotTheHolder {
        /// The user named.
        holder: UserId,
        /// The pass given.
        pass: PassId,
    },
}

/// An accepted deletion: what to do and what to log (SPEC 5.7).
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub struct Deleted {
    /// The pass deleted.
    pub pass: PassId,
    /// Whether it was still valid: then the user's sessions are revoked.
    pub was_valid: bool,
    /// [`Effect::RevokeSessions`] for a valid pass, nothing for an expired one.
    pub effects: Vec<Effect>,
    /// Audit events.
    pub events: Vec<Event>,
}

/// Decides a deletion of `holder`'s pass by `actor` (SPEC 3, 5.7). Deleting a valid pass
/// revokes the user's sessions; deleting an expired one does not.
///
/// # Errors
///
/// [`ViewError::Forbidden`] when the actor's roles don't grant deletion;
/// [`ViewError::NotTheHolder`] when `record` is not `holder`'s.
pub fn delete_pass(
    actor: &Principal,
    holder: &Principal,
    record: &TemporaryAccessPass,
    now: UtcDateTime,
) -> Result<Deleted, ViewError> {
    authorize_on_record(actor, Action::Delete, holder, record)?;
    let was_valid = record.is_valid_at(now);
    let mut events = vec![Event::PassDeleted {
        pass: *record.id(),
        user: holder.id().clone(),
        by: actor.id().clone(),
        at: now,
        was_valid,
    }];
    let mut effects = Vec::new();
    if was_valid {
        events.push(Event::SessionsRevoked {
            user: holder.id().clone(),
            pass: *record.id(),
            at: now,
        });
        effects.push(Effect::RevokeSessions {
            user: holder.id().clone(),
        });
    }
    Ok(Deleted {
        pass: *record.id(),
        was_valid,
        effects,
        events,
    })
}

#[cfg(feature = "serde")]
mod record_serde {
    use alloc::string::String;

    use serde::{Deserialize, Serialize};
    use time::UtcDateTime;

    use super::{RecordError, RecordParts, TemporaryAccessPass};
    use crate::ids::{PassId, UserId};
    use crate::passcode::{CodeDigest, DigestScheme};
    use crate::policy::{Lifetime, PasscodeLength};

    /// The storage form of a record.
    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub(super) struct RecordDocument {
        id: PassId,
        user: UserId,
        #[serde(with = "crate::graph::rfc3339")]
        created: UtcDateTime,
        #[serde(with = "crate::graph::rfc3339")]
        start: UtcDateTime,
        lifetime_in_minutes: Lifetime,
        is_usable_once: bool,
        scheme: Scheme,
        salt: String,
        code_length: u32,
        digest: String,
        #[serde(default, with = "crate::graph::rfc3339::option")]
        used_at: Option<UtcDateTime>,
        #[serde(default)]
        failed_attempts: u32,
        #[serde(default, with = "crate::graph::rfc3339::option")]
        locked_until: Option<UtcDateTime>,
        #[serde(default, with = "crate::graph::rfc3339::option")]
        last_failure_at: Option<UtcDateTime>,
    }

    /// The digest schemes by their stored names. The two names of the retired layout (whose
    /// input followed the code's length) are still recognized, to refuse them with a reason.
    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "kebab-case")]
    enum Scheme {
        #[serde(rename = "hmac-sha256-v2")]
        HmacSha256,
        #[serde(rename = "sha256-unkeyed-v2")]
        Sha256Unkeyed,
        #[serde(rename = "hmac-sha256")]
        RetiredHmacSha256,
        #[serde(rename = "sha256")]
        RetiredSha256,
    }

    /// Why a stored record could not be decoded.
    #[derive(Debug, thiserror::Error)]
    pub(super) enum DecodeError {
        #[error(transparent)]
        Record(#[from] RecordError),
        #[error("{0} must be {1} lowercase hex digits")]
        Hex(&'static str, usize),
        #[error("codeLength: {0}")]
        Length(crate::policy::RangeError),
        #[error(
            "scheme: {0} is the digest layout of version 0.1, which no longer verifies: delete the pass and issue a new one"
        )]
        RetiredScheme(&'static str),
    }

    fn hex<const N: usize>(bytes: &[u8; N]) -> String {
        base16ct::lower::encode_string(bytes)
    }

    /// Exactly two lowercase hex digits per byte, nothing else (no sign, no whitespace).
    fn unhex<const N: usize>(field: &'static str, text: &str) -> Result<[u8; N], DecodeError> {
        let mut out = [0_u8; N];
        match base16ct::lower::decode(text, &mut out) {
            Ok(decoded) if decoded.len() == N => Ok(out),
            _ => Err(DecodeError::Hex(field, N.saturating_mul(2))),
        }
    }

    impl From<TemporaryAccessPass> for RecordDocument {
        fn from(r: TemporaryAccessPass) -> Self {
            let code = r.code_digest().clone();
            let p = r.into_parts();
            Self {
                id: p.id,
                user: p.user,
                created: p.created,
                start: p.start,
                lifetime_in_minutes: p.lifetime,
                is_usable_once: p.is_usable_once,
                scheme: match code.scheme() {
                    DigestScheme::HmacSha256 => Scheme::HmacSha256,
                    DigestScheme::Sha256Unkeyed => Scheme::Sha256Unkeyed,
                },
                salt: hex(code.salt()),
                code_length: u32::try_from(code.length().get()).unwrap_or(u32::MAX),
                digest: hex(code.digest()),
                used_at: p.used_at,
                failed_attempts: p.failed_attempts,
                locked_until: p.locked_until,
                last_failure_at: p.last_failure,
            }
        }
    }

    impl TryFrom<RecordDocument> for TemporaryAccessPass {
        type Error = DecodeError;

        fn try_from(d: RecordDocument) -> Result<Self, DecodeError> {
            let scheme = match d.scheme {
                Scheme::HmacSha256 => DigestScheme::HmacSha256,
                Scheme::Sha256Unkeyed => DigestScheme::Sha256Unkeyed,
                Scheme::RetiredHmacSha256 => return Err(DecodeError::RetiredScheme("hmac-sha256")),
                Scheme::RetiredSha256 => return Err(DecodeError::RetiredScheme("sha256")),
            };
            let length = PasscodeLength::new(d.code_length).map_err(DecodeError::Length)?;
            let code = CodeDigest::from_parts(
                scheme,
                unhex("salt", &d.salt)?,
                length,
                unhex("digest", &d.digest)?,
            );
            let mut parts = RecordParts::new(
                d.id,
                d.user,
                d.created,
                d.start,
                d.lifetime_in_minutes,
                d.is_usable_once,
                code,
            );
            parts.used_at = d.used_at;
            parts.failed_attempts = d.failed_attempts;
            parts.locked_until = d.locked_until;
            parts.last_failure = d.last_failure_at;
            Ok(Self::from_parts(parts)?)
        }
    }
}
