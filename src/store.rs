//! Storage: the interface any database can implement, with versioned values, one kind of
//! conditional change, and an outbox of the audit events that commit with each change
//! (SPEC 0.2, 5.3, 6.4, 6.5, 6.7, 7.1).

use alloc::vec::Vec;
use core::fmt;

use time::UtcDateTime;

use crate::ceremony::{Ceremony, CeremonyId};
use crate::ids::{PassId, UserId};
use crate::method::RegisteredMethod;
use crate::pass::TemporaryAccessPass;
use crate::policy::Policy;

mod change;
mod outbox;

pub use change::{Change, Commit, Expected, Held, Loaded, Read, Write};
pub use outbox::{Recorded, Sequence};

/// A stored value's version: changes on every write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(u64);

impl Version {
    /// The version of a newly inserted value. No stored value has a version below it.
    pub const FIRST: Self = Self(1);

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
    /// The record's identity as stored: this pass, at this version.
    #[must_use]
    pub const fn stamp(&self) -> RecordStamp {
        RecordStamp {
            pass: *self.value.id(),
            version: self.version,
        }
    }
}

/// A stored record's identity: this pass id, at this version. The pass id is part of it so that
/// a version number that restarts after a delete can't be mistaken for the old record's.
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

/// An instant as a SQL store keeps it in a signed 64-bit column: nanoseconds since the Unix
/// epoch, saturated to the column's range. `time` allows instants before 1677 and after 2262,
/// which no ceremony reaches; they become the column's least or greatest value, so each still
/// compares on its side of every instant the column holds exactly.
#[must_use]
pub fn epoch_nanos(t: UtcDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos()).unwrap_or(if t.unix_timestamp() < 0 {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// How [`Store::transact`] hands a read to the engine: it judges the read and returns the
/// commit of its decision, or `None` when the decision writes nothing (a refusal that judged no
/// code, a read). Called at least once per `transact`; a later call supersedes the earlier
/// ones, and the store commits what the last call returned, or nothing if it returned `None`.
pub type Decide<'a> = dyn FnMut(Loaded) -> Option<Commit> + 'a;

/// [`Decide`] for [`AsyncStore::transact`]: the same, and `Send`, since the store's future
/// holds it across its awaits.
pub type DecideSend<'a> = dyn FnMut(Loaded) -> Option<Commit> + Send + 'a;

/// Storage for pass records (one per user), the tenant policy, and the outbox of audit events.
///
/// Every method takes `&self`: a store is shared between threads and must do its own locking or
/// rely on its database's transactions. With the `test-support` feature, the `conformance`
/// module checks an implementation against everything below, races included.
///
/// # Conditional changes only
///
/// [`Store::commit`] applies a [`Change`] only if what it expects is stored: the exact record
/// a decision read ([`Held::Exactly`]), the pass whatever its version ([`Held::Pass`],
/// [`Change::Remove`], [`Change::Keep`]), no record ([`Held::Nothing`]), the policy at the
/// version read. There is no unconditional write.
///
/// # The outbox (SPEC 7.1)
///
/// A [`Commit`] carries the audit events of its change. The store writes them in the same
/// atomic write as the change, numbered by a [`Sequence`] that grows in commit order (a
/// counter that every committing write takes in turn, under the same lock or in the same
/// transaction), or writes neither. [`Store::read_events`] reads them back in order;
/// [`Store::prune_events`] forgets the oldest, when the host says so: how long the outbox keeps
/// events is the host's choice, made once its readers have read them.
///
/// # Holding a record (SPEC 6.7)
///
/// [`Store::transact`] runs one decision about one user: read, judge, commit. Its default
/// reads and commits without holding anything, so its commit may conflict with a write that
/// landed in between, and the engine then runs the decision again, a bounded number of times.
/// A store that can hold the user's record (a row lock, a write transaction, a mutex) should
/// override it so that the decision is judged on a record nobody can change until it
/// commits: then no stream of attempts, however fast, makes a legitimate operation give up.
/// It may first judge on a read without the hold, so that decisions that write nothing (a
/// refusal, SPEC 6.5) never wait, and take the hold only for a decision that writes.
///
/// # What a store may get wrong, and what it must never
///
/// A store **may** lose a record (a crash, an eviction): the user simply has no pass and an
/// administrator issues a new one. It **may** refuse a change it could have taken (report a
/// [`Write::Conflict`] or an error): the engine reads again and decides again a bounded number
/// of times, then denies, which is safe. It **must never** accept a change whose expectation no
/// longer holds: a record that is not the expected pass at the expected version, an insert for
/// a user who already has a record, or a policy that changed. Accepting a stale write is how a
/// one-time pass gets redeemed twice, a burst of guesses gets past the attempt limit, or a
/// sign-in lands under a policy that was already disabled; it is a vulnerability, not a glitch.
/// Never implement a conditional write as a read followed by an unconditional write. It must
/// never commit a change without its events, nor events without their change.
///
/// Versions must change on every write and never repeat for a live value.
pub trait Store: Send + Sync {
    /// The store's own failure (connection lost, disk full...). The engine denies on any error.
    type Error: core::error::Error + Send + Sync + 'static;

    /// The policy and `user`'s record, read together. A store that can read both in one round
    /// trip or under one lock should; reading them one after the other is correct too, because
    /// every change checks both again.
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

    /// Applies `commit.change` and appends `commit.events` to the outbox, in one atomic write,
    /// if and only if what the change expects is stored. Returns [`Write::Written`] with the
    /// version the change's value has now (see [`Write`]), or [`Write::Conflict`] without
    /// changing anything.
    ///
    /// # Errors
    ///
    /// The store's error.
    fn commit(&self, commit: &Commit) -> Result<Write, Self::Error>;

    /// Reads `user`'s record and the policy, hands the read to `decide`, and commits what it
    /// returns ([`Decide`]); `Ok(None)` when the last decision wrote nothing. The default reads
    /// and commits without holding the record: a store that can hold it overrides this (see
    /// the trait's docs).
    ///
    /// # Errors
    ///
    /// The store's error.
    fn transact(
        &self,
        user: &UserId,
        decide: &mut Decide<'_>,
    ) -> Result<Option<Write>, Self::Error> {
        let read = self.load(user)?;
        decide(read).map(|commit| self.commit(&commit)).transpose()
    }

    /// Up to `limit` events of the outbox numbered after `after`, in order. An event is read
    /// again until the reader moves past it (at least once).
    ///
    /// # Errors
    ///
    /// The store's error.
    fn read_events(&self, after: Sequence, limit: usize) -> Result<Vec<Recorded>, Self::Error>;

    /// Forgets the events numbered before `before`; returns how many. Numbers are never reused.
    ///
    /// # Errors
    ///
    /// The store's error.
    fn prune_events(&self, before: Sequence) -> Result<u64, Self::Error>;

    /// `user`'s registered methods, each with its version, oldest first (SPEC 8.4).
    ///
    /// # Errors
    ///
    /// The store's error.
    fn load_methods(&self, user: &UserId) -> Result<Vec<Versioned<RegisteredMethod>>, Self::Error>;

    /// `user`'s ceremony `id`, with its version, if it is stored for that user, whether or not
    /// it is over (the decision reading it checks).
    ///
    /// # Errors
    ///
    /// The store's error.
    fn load_ceremony(
        &self,
        user: &UserId,
        id: &CeremonyId,
    ) -> Result<Option<Versioned<Ceremony>>, Self::Error>;

    /// Forgets the ceremonies that are over at `now`; returns how many. Reads and decisions
    /// ignore them anyway; this only frees the room they take.
    ///
    /// # Errors
    ///
    /// The store's error.
    fn prune_ceremonies(&self, now: UtcDateTime) -> Result<u64, Self::Error>;

    /// What `read` asks for: the policy and the user's record, and the user's methods and
    /// ceremony when asked. The default reads them one after another; every change checks what
    /// it expects again, so a store needs no more, and may override this to read in one round
    /// trip.
    ///
    /// # Errors
    ///
    /// The store's error.
    fn load_with(&self, read: &Read) -> Result<Loaded, Self::Error> {
        let mut loaded = self.load(&read.user)?;
        if read.methods {
            loaded.methods = self.load_methods(&read.user)?;
        }
        if let Some(id) = &read.ceremony {
            loaded.ceremony = self.load_ceremony(&read.user, id)?;
        }
        Ok(loaded)
    }
}

/// [`Store`] for async hosts: the same reads, conditional changes and outbox, each returning a
/// future. [`crate::AsyncEngine`] runs the engine's plans over it exactly as [`crate::Engine`]
/// runs them over a [`Store`]; everything [`Store`] says a store may and must never do holds
/// here word for word, and the conformance suite checks an implementation through the async
/// driver (`testing::conformance::tasks`, feature `test-support-tokio`).
///
/// The futures are `Send`, so an engine call can run on any executor thread; the crate itself
/// depends on no runtime. A commit's future must either complete the change or fail: if it is
/// dropped before completing, the change may or may not have landed (with its events, or
/// without them both), and the engine's caller sees no decision (fails closed). A store that
/// holds a record across awaits ([`AsyncStore::transact`]) must release it when its future is
/// dropped.
pub trait AsyncStore: Send + Sync {
    /// The store's own failure (connection lost, timeout...). The engine denies on any error.
    type Error: core::error::Error + Send + Sync + 'static;

    /// As [`Store::load`].
    fn load(&self, user: &UserId) -> impl Future<Output = Result<Loaded, Self::Error>> + Send;

    /// As [`Store::load_policy`].
    fn load_policy(
        &self,
    ) -> impl Future<Output = Result<Option<Versioned<Policy>>, Self::Error>> + Send;

    /// As [`Store::commit`].
    fn commit(&self, commit: &Commit) -> impl Future<Output = Result<Write, Self::Error>> + Send;

    /// As [`Store::transact`]; the default reads and commits without holding the record.
    fn transact(
        &self,
        user: &UserId,
        decide: &mut DecideSend<'_>,
    ) -> impl Future<Output = Result<Option<Write>, Self::Error>> + Send {
        async move {
            let read = self.load(user).await?;
            match decide(read) {
                Some(commit) => self.commit(&commit).await.map(Some),
                None => Ok(None),
            }
        }
    }

    /// As [`Store::read_events`].
    fn read_events(
        &self,
        after: Sequence,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Recorded>, Self::Error>> + Send;

    /// As [`Store::prune_events`].
    fn prune_events(
        &self,
        before: Sequence,
    ) -> impl Future<Output = Result<u64, Self::Error>> + Send;

    /// As [`Store::load_methods`].
    fn load_methods(
        &self,
        user: &UserId,
    ) -> impl Future<Output = Result<Vec<Versioned<RegisteredMethod>>, Self::Error>> + Send;

    /// As [`Store::load_ceremony`].
    fn load_ceremony(
        &self,
        user: &UserId,
        id: &CeremonyId,
    ) -> impl Future<Output = Result<Option<Versioned<Ceremony>>, Self::Error>> + Send;

    /// As [`Store::prune_ceremonies`].
    fn prune_ceremonies(
        &self,
        now: UtcDateTime,
    ) -> impl Future<Output = Result<u64, Self::Error>> + Send;

    /// As [`Store::load_with`].
    fn load_with(&self, read: &Read) -> impl Future<Output = Result<Loaded, Self::Error>> + Send {
        async move {
            let mut loaded = self.load(&read.user).await?;
            if read.methods {
                loaded.methods = self.load_methods(&read.user).await?;
            }
            if let Some(id) = &read.ceremony {
                loaded.ceremony = self.load_ceremony(&read.user, id).await?;
            }
            Ok(loaded)
        }
    }
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

            fn commit(&self, commit: &Commit) -> Result<Write, Self::Error> {
                (**self).commit(commit)
            }

            fn transact(
                &self,
                user: &UserId,
                decide: &mut Decide<'_>,
            ) -> Result<Option<Write>, Self::Error> {
                (**self).transact(user, decide)
            }

            fn read_events(
                &self,
                after: Sequence,
                limit: usize,
            ) -> Result<Vec<Recorded>, Self::Error> {
                (**self).read_events(after, limit)
            }

            fn prune_events(&self, before: Sequence) -> Result<u64, Self::Error> {
                (**self).prune_events(before)
            }

            fn load_methods(
                &self,
                user: &UserId,
            ) -> Result<Vec<Versioned<RegisteredMethod>>, Self::Error> {
                (**self).load_methods(user)
            }

            fn load_ceremony(
                &self,
                user: &UserId,
                id: &CeremonyId,
            ) -> Result<Option<Versioned<Ceremony>>, Self::Error> {
                (**self).load_ceremony(user, id)
            }

            fn prune_ceremonies(&self, now: UtcDateTime) -> Result<u64, Self::Error> {
                (**self).prune_ceremonies(now)
            }

            fn load_with(&self, read: &Read) -> Result<Loaded, Self::Error> {
                (**self).load_with(read)
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

            fn commit(
                &self,
                commit: &Commit,
            ) -> impl Future<Output = Result<Write, Self::Error>> + Send {
                (**self).commit(commit)
            }

            fn transact(
                &self,
                user: &UserId,
                decide: &mut DecideSend<'_>,
            ) -> impl Future<Output = Result<Option<Write>, Self::Error>> + Send {
                (**self).transact(user, decide)
            }

            fn read_events(
                &self,
                after: Sequence,
                limit: usize,
            ) -> impl Future<Output = Result<Vec<Recorded>, Self::Error>> + Send {
                (**self).read_events(after, limit)
            }

            fn prune_events(
                &self,
                before: Sequence,
            ) -> impl Future<Output = Result<u64, Self::Error>> + Send {
                (**self).prune_events(before)
            }

            fn load_methods(
                &self,
                user: &UserId,
            ) -> impl Future<Output = Result<Vec<Versioned<RegisteredMethod>>, Self::Error>> + Send
            {
                (**self).load_methods(user)
            }

            fn load_ceremony(
                &self,
                user: &UserId,
                id: &CeremonyId,
            ) -> impl Future<Output = Result<Option<Versioned<Ceremony>>, Self::Error>> + Send
            {
                (**self).load_ceremony(user, id)
            }

            fn prune_ceremonies(
                &self,
                now: UtcDateTime,
            ) -> impl Future<Output = Result<u64, Self::Error>> + Send {
                (**self).prune_ceremonies(now)
            }

            fn load_with(
                &self,
                read: &Read,
            ) -> impl Future<Output = Result<Loaded, Self::Error>> + Send {
                (**self).load_with(read)
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

#[cfg(test)]
mod column_tests {
    use super::epoch_nanos;
    use time::{Duration, UtcDateTime};

    #[test]
    fn instants_past_the_column_saturate_on_their_own_side_of_the_epoch() {
        assert_eq!(epoch_nanos(UtcDateTime::MIN), i64::MIN);
        assert_eq!(epoch_nanos(UtcDateTime::MAX), i64::MAX);
        let epoch = UtcDateTime::UNIX_EPOCH;
        assert_eq!(epoch_nanos(epoch), 0);
        assert_eq!(epoch_nanos(epoch - Duration::nanoseconds(1)), -1);
        assert_eq!(epoch_nanos(epoch + Duration::seconds(1)), 1_000_000_000);
    }
}
