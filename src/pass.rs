//! The pass record: what a host stores for a user's Temporary Access Pass (SPEC 2.6, 2.7, 6.4).
//! Its decisions live beside their concepts: `usability`, `lockout`, `view`, `create`, `admin`,
//! `signin`.

use time::UtcDateTime;

use crate::digest::{CodeDigest, DigestKey};
use crate::ids::{PassId, UserId};
use crate::policy::Lifetime;

/// A stored Temporary Access Pass: the record a host keeps, one per user (SPEC 2.7).
///
/// It holds the code only as a [`CodeDigest`](crate::hazmat::CodeDigest); its window is
/// `[start, end)` with `end = start + lifetime`, computed (checked) once at creation. With the
/// `serde` feature it has a storage form ([`crate::graph`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemporaryAccessPass {
    id: PassId,
    user: UserId,
    created: UtcDateTime,
    start: UtcDateTime,
    lifetime: Lifetime,
    end: UtcDateTime,
    is_usable_once: bool,
    code: CodeDigest,
    counters: Counters,
}

/// What sign-ins change in a record (SPEC 5.3, 6.4, 6.6); `lockout` computes their next values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Counters {
    /// When the pass last signed its holder in.
    pub(crate) used_at: Option<UtcDateTime>,
    /// Consecutive wrong codes since the last right one.
    pub(crate) failed_attempts: u32,
    /// Until when the pass is locked.
    pub(crate) locked_until: Option<UtcDateTime>,
    /// When the latest wrong code was counted.
    pub(crate) last_failure: Option<UtcDateTime>,
}

/// The id of the dummy record a sign-in without a pass is judged on (SPEC 6.2). It is not a
/// version-4 GUID, so [`PassId::random`] never draws it.
pub(crate) const DUMMY_PASS_ID: PassId = PassId::from_bytes(*b"tap-no-pass-id!!");

impl TemporaryAccessPass {
    /// A new record, unused and without failures: the end is `start + lifetime`, which the
    /// caller has checked.
    pub(crate) const fn issued(
        id: PassId,
        user: UserId,
        created: UtcDateTime,
        window: (UtcDateTime, Lifetime, UtcDateTime),
        is_usable_once: bool,
        code: CodeDigest,
    ) -> Self {
        let (start, lifetime, end) = window;
        Self {
            id,
            user,
            created,
            start,
            lifetime,
            end,
            is_usable_once,
            code,
            counters: Counters {
                used_at: None,
                failed_attempts: 0,
                locked_until: None,
                last_failure: None,
            },
        }
    }

    /// The record a sign-in without a pass is judged on (SPEC 6.2): the user's own id, a window
    /// open at `now`, and a digest no code matches. It is never stored.
    pub(crate) fn dummy(user: &UserId, key: &DigestKey, now: UtcDateTime) -> Self {
        Self::issued(
            DUMMY_PASS_ID,
            user.clone(),
            now,
            (
                now,
                Lifetime::MIN,
                now.checked_add(Lifetime::MIN.duration())
                    .unwrap_or(UtcDateTime::MAX),
            ),
            false,
            CodeDigest::dummy(key),
        )
    }

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
        self.counters.used_at
    }

    /// Consecutive wrong codes typed since the last right one (SPEC 6.4).
    #[must_use]
    pub const fn failed_attempts(&self) -> u32 {
        self.counters.failed_attempts
    }

    /// Until when the pass is locked after wrong codes, if it is (SPEC 6.4).
    #[must_use]
    pub const fn locked_until(&self) -> Option<UtcDateTime> {
        self.counters.locked_until
    }

    /// When the latest wrong code was counted, if one was. It never moves backwards, so an
    /// instance whose clock is behind cannot shorten a lock set by another (SPEC 6.6).
    #[must_use]
    pub const fn last_failure(&self) -> Option<UtcDateTime> {
        self.counters.last_failure
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

    pub(crate) const fn counters(&self) -> Counters {
        self.counters
    }

    /// The record with `counters` in place of its own.
    pub(crate) fn with_counters(&self, counters: Counters) -> Self {
        Self {
            counters,
            ..self.clone()
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
        let record = Self::issued(
            id,
            user,
            created,
            (start, lifetime, end),
            is_usable_once,
            code,
        );
        Ok(record.with_counters(Counters {
            used_at,
            failed_attempts,
            locked_until,
            last_failure,
        }))
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
            used_at: self.counters.used_at,
            failed_attempts: self.counters.failed_attempts,
            locked_until: self.counters.locked_until,
            last_failure: self.counters.last_failure,
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
    counters: Counters,
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
            counters: record.counters,
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
            counters: self.counters,
        }
    }
}
