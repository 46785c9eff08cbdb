//! Storage: the interface any database can implement, with versioned values and one kind of
//! conditional write (SPEC 0.2, 5.3, 6.4, 6.5).

use core::fmt;

use crate::ids::{PassId, UserId};
use crate::pass::TemporaryAccessPass;
use crate::policy::Policy;

/// A stored value's version: changes on every write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(u64);

impl Version {
    /// The version of a newly inserted value.
    pub const FIRST: Self = Self(1);

    /// Version 0, which no stored value ever has (versions start at [`Version::FIRST`] and only
    /// grow). The engine sends a write expecting it for a sign-in without a pass, so that path
    /// costs the store the same kind of work (SPEC 6.2); a store must answer
    /// [`Write::Conflict`], as it does for any expectation that does not hold.
    pub const NEVER: Self = Self(0);

    /// Wraps a stored version number.
    #[must_use]
    pub const fn new(v: u64) -> Self {
        Self(v)
    }

    /// The version number.
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The version as SQL databases keep it (a signed 64-bit `bigint`/`INTEGER`), or `None`
    /// beyond `i64::MAX`.
    #[must_use]
    pub fn to_i64(self) -> Option<i64> {
        i64::try_from(self.0).ok()
    }

    /// A version read back from a signed 64-bit column, or `None` for a negative value, which no
    /// store writes.
    #[must_use]
    pub fn from_i64(v: i64) -> Option<Self> {
        u64::try_from(v).ok().map(Self)
    }

    /// The next version (saturating: a store that reaches `u64::MAX` writes can no longer
    /// change the version and its next conditional write conflicts, failing closed).
    #[must_use]
    pub const fn next(self) -> Self {
        Self(self.0.saturating_add(1))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

/// A value as read from a store, with its version.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Versioned<T> {
    /// The version read.
    pub version: Version,
    /// The value.
    pub value: T,
}

impl<T> Versioned<T> {
    /// Pairs a value with its version.
    #[must_use]
    pub const fn new(version: Version, value: T) -> Self {
        Self { version, value }
    }
}

impl Versioned<TemporaryAccessPass> {
    /// The record's part of an expectation: this pass, at this version.
    #[must_use]
    pub const fn stamp(&self) -> RecordStamp {
        RecordStamp {
            pass: *self.value.id(),
            version: self.version,
        }
    }
}

/// Which record a write expects to find: this pass id, at this version. The pass id is part of
/// it so that a version number that restarts after a delete can't be mistaken for the old
/// record's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RecordStamp {
    /// The pass id stored.
    pub pass: PassId,
    /// The version stored.
    pub version: Version,
}

impl RecordStamp {
    /// A stamp.
    #[must_use]
    pub const fn new(pass: PassId, version: Version) -> Self {
        Self { pass, version }
    }
}

/// What a conditional write expects to find stored: the policy at the version a decision read,
/// and the user's record as it read it. A decision is judged on both, so it commits only if
/// neither changed (SPEC 6.5): a sign-in judged under a policy that was replaced meanwhile is
/// judged again, like one judged on a record that changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Expected {
    /// The policy's version, or `None` when no policy was stored.
    pub policy: Option<Version>,
    /// The user's record, or `None` when the user had none.
    pub record: Option<RecordStamp>,
}

impl Expected {
    /// An expectation.
    #[must_use]
    pub const fn new(policy: Option<Version>, record: Option<RecordStamp>) -> Self {
        Self { policy, record }
    }
}

/// The policy and a user's record, read together (SPEC 6.5): what every decision about that
/// user is judged on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Loaded {
    /// The tenant policy, or `None` when none is stored (the seed's defaults apply).
    pub policy: Option<Versioned<Policy>>,
    /// The user's record, if any.
    pub record: Option<Versioned<TemporaryAccessPass>>,
}

impl Loaded {
    /// What was read.
    #[must_use]
    pub const fn new(
        policy: Option<Versioned<Policy>>,
        record: Option<Versioned<TemporaryAccessPass>>,
    ) -> Self {
        Self { policy, record }
    }

    /// What a write committing a decision judged on this read must expect.
    #[must_use]
    pub fn expected(&self) -> Expected {
        Expected {
            policy: self.policy.as_ref().map(|p| p.version),
            record: self.record.as_ref().map(Versioned::stamp),
        }
    }
}

/// The result of a conditional write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use]
#[non_exhaustive]
pub enum Write {
    /// Written: the value now has this version (for a deletion, the version it had).
    Written(Version),
    /// The expectation did not hold; nothing was written.
    Conflict,
}

impl Write {
    /// The result of one conditional SQL statement that changed `rows` rows (the pattern of
    /// the crate's SQL stores): one row is `Written(version)`, none a [`Write::Conflict`], and
    /// more is `None`, a store that broke its own schema (one row per user), to report as an
    /// error.
    #[must_use]
    pub const fn from_changed_rows(rows: u64, version: Version) -> Option<Self> {
        match rows {
            1 => Some(Self::Written(version)),
            0 => Some(Self::Conflict),
            _ => None,
        }
    }
}

/// Storage for pass records (one per user) and the tenant policy.
///
/// Every method takes `&self`: a store is shared between threads and must do its own locking or
/// rely on its database's transactions. With the `test-support` feature, the `conformance`
/// module checks an implementation against everything below, races included.
///
/// # Conditional writes only
///
/// [`Store::write`] replaces, inserts or deletes a user's record, and only if the stored policy
/// version and the user's record are exactly what [`Expected`] says (compare-and-swap).
/// [`Store::write_policy`] does the same for the policy. [`Store::remove`] deletes a record only
/// if it is still the pass a deletion was judged on. There is no unconditional write.
///
/// # What a store may get wrong, and what it must never
///
/// A store **may** lose a record (a crash, an eviction): the user simply has no pass and an
/// administrator issues a new one. It **may** refuse a write it could have taken (report a
/// [`Write::Conflict`] or an error): the engine reads again and decides again a bounded number
/// of times, then denies, which is safe. It **must never** accept a write whose expectation no
/// longer holds: a record that is not the expected pass at the expected version, an insert for a
/// user who already has a record, or a policy that changed. Accepting a stale write is how a
/// one-time pass gets redeemed twice, a burst of guesses gets past the attempt limit, or a
/// sign-in lands under a policy that was already disabled; it is a vulnerability, not a glitch.
/// Never implement a conditional write as a read followed by an unconditional write.
///
/// Versions must change on every write and never repeat for a live value; no stored value has
/// [`Version::NEVER`].
pub trait Store: Send + Sync {
    /// The store's own failure (connection lost, disk full...). The engine denies on any error.
    type Error: core::error::Error + Send + Sync + 'static;

    /// The policy and `user`'s record, read together. A store that can read both in one round
    /// trip or under one lock should; reading them one after the other is correct too, because
    /// every write checks both again.
    ///
    /// # Errors
    ///
    /// The store's error.
    fn load(&self, user: &UserId) -> Result<Loaded, Self::Error>;

    /// The tenant policy and its version, if one is stored.
    ///
    /// # Errors
    ///
    /// The store's error.
    fn load_policy(&self) -> Result<Option<Versioned<Policy>>, Self::Error>;

    /// Sets `user`'s record to `record` (`None` deletes it) if and only if the stored policy's
    /// version is `expected.policy` and `user`'s record is `expected.record` (`None`: the user
    /// has no record). `record`, when given, belongs to `user` and may carry another pass id
    /// than the one replaced. Returns the record's new version ([`Version::FIRST`] for a record
    /// that did not exist, the version removed for a deletion), or [`Write::Conflict`] without
    /// changing anything. Deleting a record that is expected absent is a conflict.
    ///
    /// # Errors
    ///
    /// The store's error.
    fn write(
        &self,
        user: &UserId,
        expected: &Expected,
        record: Option<&TemporaryAccessPass>,
    ) -> Result<Write, Self::Error>;

    /// Stores `policy` if and only if the stored policy's version is `expected` (`None`: no
    /// policy is stored). Returns the new version, or [`Write::Conflict`].
    ///
    /// # Errors
    ///
    /// The store's error.
    fn write_policy(
        &self,
        expected: Option<Version>,
        policy: &Policy,
    ) -> Result<Write, Self::Error>;

    /// Deletes `user`'s record if and only if it is the pass `pass`, at whatever version and
    /// whatever the policy's. Returns the version it removed, or [`Write::Conflict`] without
    /// changing anything when `user` holds no record or another pass.
    ///
    /// This is how a deletion commits (SPEC 5.7). A deletion is judged on what a pass never
    /// changes (its id, holder and end), so the pass id is the whole of what it read: a
    /// sign-in that wrote the record meanwhile (a use, a wrong code) leaves the judgement
    /// true, and a stream of sign-ins with a stolen code cannot hold off its revocation, as
    /// it would if the deletion had to meet the exact version it read. Unlike the other writes,
    /// a removal of the stored pass should not be refused: the conformance suite's deletion
    /// races allow it one attempt.
    ///
    /// # Errors
    ///
    /// The store's error.
    fn remove(&self, user: &UserId, pass: PassId) -> Result<Write, Self::Error>;
}

/// [`Store`] for async hosts: the same reads and the same conditional writes, each returning a
/// future. [`crate::AsyncEngine`] runs the engine's plans over it exactly as [`crate::Engine`]
/// runs them over a [`Store`]; everything [`Store`] says a store may and must never do holds
/// here word for word, and the conformance suite checks an implementation through the async
/// driver (`testing::conformance::tasks`, feature `test-support-tokio`).
///
/// The futures are `Send`, so an engine call can run on any executor thread; the crate itself
/// depends on no runtime. A write's future must either complete the conditional write or fail:
/// if it is dropped before completing, the write may or may not have landed, and the engine's
/// caller sees no decision (fails closed).
pub trait AsyncStore: Send + Sync {
    /// The store's own failure (connection lost, timeout...). The engine denies on any error.
    type Error: core::error::Error + Send + Sync + 'static;

    /// As [`Store::load`].
    fn load(&self, user: &UserId) -> impl Future<Output = Result<Loaded, Self::Error>> + Send;

    /// As [`Store::load_policy`].
    fn load_policy(
        &self,
    ) -> impl Future<Output = Result<Option<Versioned<Policy>>, Self::Error>> + Send;

    /// As [`Store::write`]: sets `user`'s record to `record` if and only if the stored policy's
    /// version and `user`'s record are what `expected` says.
    fn write(
        &self,
        user: &UserId,
        expected: &Expected,
        record: Option<&TemporaryAccessPass>,
    ) -> impl Future<Output = Result<Write, Self::Error>> + Send;

    /// As [`Store::write_policy`].
    fn write_policy(
        &self,
        expected: Option<Version>,
        policy: &Policy,
    ) -> impl Future<Output = Result<Write, Self::Error>> + Send;

    /// As [`Store::remove`]: deletes `user`'s record if and only if it is the pass `pass`, at
    /// whatever version.
    fn remove(
        &self,
        user: &UserId,
        pass: PassId,
    ) -> impl Future<Output = Result<Write, Self::Error>> + Send;
}

/// `Store` and `AsyncStore` for a pointer to one, forwarding every call: an engine can borrow a
/// store, or own a share of one (`Arc`) with other engines and tasks.
macro_rules! forward {
    ($($(#[$attr:meta])* $pointer:ty;)*) => {$(
        $(#[$attr])*
        impl<S: Store + ?Sized> Store for $pointer {
            type Error = S::Error;

            fn load(&self, user: &UserId) -> Result<Loaded, Self::Error> {
                (**self).load(user)
            }

            fn load_policy(&self) -> Result<Option<Versioned<Policy>>, Self::Error> {
                (**self).load_policy()
            }

            fn write(
                &self,
                user: &UserId,
                expected: &Expected,
                record: Option<&TemporaryAccessPass>,
            ) -> Result<Write, Self::Error> {
                (**self).write(user, expected, record)
            }

            fn write_policy(
                &self,
                expected: Option<Version>,
                policy: &Policy,
            ) -> Result<Write, Self::Error> {
                (**self).write_policy(expected, policy)
            }

            fn remove(&self, user: &UserId, pass: PassId) -> Result<Write, Self::Error> {
                (**self).remove(user, pass)
            }
        }

        $(#[$attr])*
        impl<S: AsyncStore + ?Sized> AsyncStore for $pointer {
            type Error = S::Error;

            fn load(
                &self,
                user: &UserId,
            ) -> impl Future<Output = Result<Loaded, Self::Error>> + Send {
                (**self).load(user)
            }

            fn load_policy(
                &self,
            ) -> impl Future<Output = Result<Option<Versioned<Policy>>, Self::Error>> + Send {
                (**self).load_policy()
            }

            fn write(
                &self,
                user: &UserId,
                expected: &Expected,
                record: Option<&TemporaryAccessPass>,
            ) -> impl Future<Output = Result<Write, Self::Error>> + Send {
                (**self).write(user, expected, record)
            }

            fn write_policy(
                &self,
                expected: Option<Version>,
                policy: &Policy,
            ) -> impl Future<Output = Result<Write, Self::Error>> + Send {
                (**self).write_policy(expected, policy)
            }

            fn remove(
                &self,
                user: &UserId,
                pass: PassId,
            ) -> impl Future<Output = Result<Write, Self::Error>> + Send {
                (**self).remove(user, pass)
            }
        }
    )*};
}

forward! {
    &S;
    #[cfg(target_has_atomic = "ptr")]
    alloc::sync::Arc<S>;
}

#[cfg(feature = "std")]
mod memory;
#[cfg(feature = "std")]
pub use memory::InMemoryStore;
