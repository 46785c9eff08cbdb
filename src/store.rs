//! Storage: the interface any database can implement, with versioned records and conditional
//! writes (SPEC 0.2, 5.3, 6.4).

use core::fmt;

use crate::ids::{PassId, UserId};
use crate::pass::TemporaryAccessPass;
use crate::policy::Policy;

/// A record's version: changes on every write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct Version(u64);

impl Version {
    /// The version of a newly inserted record.
    pub const FIRST: Self = Self(1);

    /// Version 0, which no stored record ever has (versions start at [`Version::FIRST`] and only
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
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
    /// What a conditional write on this record must expect.
    #[must_use]
    pub const fn expected(&self) -> Expected {
        Expected {
            pass: *self.value.id(),
            version: self.version,
        }
    }
}

/// What a conditional write expects to find: this pass, at this version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Expected {
    /// The pass id stored.
    pub pass: PassId,
    /// The version stored.
    pub version: Version,
}

impl Expected {
    /// An expectation.
    #[must_use]
    pub const fn new(pass: PassId, version: Version) -> Self {
        Self { pass, version }
    }
}

/// The result of a conditional write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use]
#[non_exhaustive]
pub enum Write {
    /// Written; the record now has this version (for deletes, the version removed).
    Written(Version),
    /// The expectation did not hold; nothing was written.
    Conflict,
}

/// Storage for pass records (one per user) and the tenant policy.
///
/// Every method takes `&self`: a store is shared between threads and must do its own locking or
/// rely on its database's transactions. With the `test-support` feature, the `conformance`
/// module checks an implementation against everything below.
///
/// # What a store may get wrong, and what it must never
///
/// A store **may** lose a record (a crash, an eviction): the user simply has no pass and an
/// administrator issues a new one. It **may** refuse a write it could have taken (report a
/// [`Write::Conflict`] or an error): the engine retries a few times and then denies, which is
/// safe. It **must never** accept a write whose expectation no longer holds: an update or delete
/// whose expected pass id and version are not the stored ones, or an insert for a user who
/// already has a record. Accepting a stale write is how a one-time pass gets redeemed twice or
/// a wrong-code count gets lost; it is a vulnerability, not a glitch. Never implement a
/// conditional write as a read followed by an unconditional write.
///
/// Versions must change on every write. The expectation names the pass id too, so a version
/// number that restarts after a delete (a fresh row) can't be confused with the old record's.
pub trait Store: Send + Sync {
    /// The store's own failure (connection lost, disk full...). The engine denies on any error.
    type Error: core::error::Error + Send + Sync + 'static;

    /// The user's record and its version, if any.
    ///
    /// # Errors
    ///
    /// The store's error.
    fn load(&self, user: &UserId) -> Result<Option<Versioned<TemporaryAccessPass>>, Self::Error>;

    /// Inserts a record for a user who has none (create-only). Returns
    /// [`Write::Written`]`(`[`Version::FIRST`]`)` or, when the user already has a record,
    /// [`Write::Conflict`] without touching it.
    ///
    /// # Errors
    ///
    /// The store's error.
    fn insert(&self, record: &TemporaryAccessPass) -> Result<Write, Self::Error>;

    /// Replaces the record of `record.user()` if and only if the stored one has `expected`'s
    /// pass id and version (compare-and-swap). `record` may carry another pass id (a new pass
    /// replacing an expired one). Returns the new version, or [`Write::Conflict`].
    ///
    /// # Errors
    ///
    /// The store's error.
    fn replace(
        &self,
        expected: Expected,
        record: &TemporaryAccessPass,
    ) -> Result<Write, Self::Error>;

    /// Deletes the record of `user` if and only if the stored one has `expected`'s pass id and
    /// version. Returns [`Write::Written`] with the version removed, or [`Write::Conflict`].
    ///
    /// # Errors
    ///
    /// The store's error.
    fn remove(&self, user: &UserId, expected: Expected) -> Result<Write, Self::Error>;

    /// The tenant policy and its version, if one was stored.
    ///
    /// # Errors
    ///
    /// The store's error.
    fn load_policy(&self) -> Result<Option<Versioned<Policy>>, Self::Error>;

    /// Stores the policy if the stored one has version `expected` (`None`: only if none is
    /// stored). Returns the new version, or [`Write::Conflict`].
    ///
    /// # Errors
    ///
    /// The store's error.
    fn store_policy(
        &self,
        expected: Option<Version>,
        policy: &Policy,
    ) -> Result<Write, Self::Error>;
}

impl<S: Store + ?Sized> Store for &S {
    type Error = S::Error;

    fn load(&self, user: &UserId) -> Result<Option<Versioned<TemporaryAccessPass>>, Self::Error> {
        (**self).load(user)
    }

    fn insert(&self, record: &TemporaryAccessPass) -> Result<Write, Self::Error> {
        (**self).insert(record)
    }

    fn replace(
        &self,
        expected: Expected,
        record: &TemporaryAccessPass,
    ) -> Result<Write, Self::Error> {
        (**self).replace(expected, record)
    }

    fn remove(&self, user: &UserId, expected: Expected) -> Result<Write, Self::Error> {
        (**self).remove(user, expected)
    }

    fn load_policy(&self) -> Result<Option<Versioned<Policy>>, Self::Error> {
        (**self).load_policy()
    }

    fn store_policy(
        &self,
        expected: Option<Version>,
        policy: &Policy,
    ) -> Result<Write, Self::Error> {
        (**self).store_policy(expected, policy)
    }
}

#[cfg(feature = "std")]
pub use memory::InMemoryStore;

#[cfg(feature = "std")]
mod memory {
    use alloc::boxed::Box;
    use core::convert::Infallible;
    use core::fmt;
    use std::collections::HashMap;
    use std::sync::{Mutex, MutexGuard, PoisonError};

    use super::{Expected, Store, Version, Versioned, Write};
    use crate::ids::UserId;
    use crate::pass::TemporaryAccessPass;
    use crate::policy::Policy;

    /// Records are boxed so the map's buckets stay small (a key and a pointer): at a million
    /// passes the map's spare capacity costs about 50 bytes a pass instead of 350. The key
    /// shares its allocation with the record's user id.
    #[derive(Default)]
    struct State {
        passes: HashMap<UserId, Box<(Version, TemporaryAccessPass)>>,
        policy: Option<(Version, Policy)>,
    }

    /// A store in memory, behind one mutex: for tests, demonstrations and single-process hosts.
    /// Its `Debug` prints how many records it holds, never their contents.
    #[derive(Default)]
    pub struct InMemoryStore {
        state: Mutex<State>,
    }

    impl InMemoryStore {
        /// An empty store.
        #[must_use]
        pub fn new() -> Self {
            Self::default()
        }

        /// An empty store with room for `passes` records without reallocating.
        #[must_use]
        pub fn with_capacity(passes: usize) -> Self {
            Self {
                state: Mutex::new(State {
                    passes: HashMap::with_capacity(passes),
                    policy: None,
                }),
            }
        }

        /// How many pass records it holds.
        #[must_use]
        pub fn len(&self) -> usize {
            self.lock().passes.len()
        }

        /// True when it holds no pass record.
        #[must_use]
        pub fn is_empty(&self) -> bool {
            self.len() == 0
        }

        // Every write replaces whole values, so a panic elsewhere can't leave a half-written
        // record behind: a poisoned lock still guards consistent data.
        fn lock(&self) -> MutexGuard<'_, State> {
            self.state.lock().unwrap_or_else(PoisonError::into_inner)
        }
    }

    impl fmt::Debug for InMemoryStore {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("InMemoryStore")
                .field("passes", &self.len())
                .finish_non_exhaustive()
        }
    }

    impl Store for InMemoryStore {
        type Error = Infallible;

        fn load(
            &self,
            user: &UserId,
        ) -> Result<Option<Versioned<TemporaryAccessPass>>, Infallible> {
            Ok(self
                .lock()
                .passes
                .get(user)
                .map(|entry| Versioned::new(entry.0, entry.1.clone())))
        }

        fn insert(&self, record: &TemporaryAccessPass) -> Result<Write, Infallible> {
            let mut state = self.lock();
            if state.passes.contains_key(record.user()) {
                return Ok(Write::Conflict);
            }
            state.passes.insert(
                record.user().clone(),
                Box::new((Version::FIRST, record.clone())),
            );
            Ok(Write::Written(Version::FIRST))
        }

        fn replace(
            &self,
            expected: Expected,
            record: &TemporaryAccessPass,
        ) -> Result<Write, Infallible> {
            let mut state = self.lock();
            match state
                .passes
                .get_mut(record.user())
                .map(|entry| &mut **entry)
            {
                Some((version, stored))
                    if *version == expected.version && *stored.id() == expected.pass =>
                {
                    let next = version.next();
                    if next == *version {
                        return Ok(Write::Conflict);
                    }
                    *version = next;
                    *stored = record.clone();
                    Ok(Write::Written(next))
                }
                _ => Ok(Write::Conflict),
            }
        }

        fn remove(&self, user: &UserId, expected: Expected) -> Result<Write, Infallible> {
            let mut state = self.lock();
            match state.passes.get(user).map(|entry| &**entry) {
                Some((version, stored))
                    if *version == expected.version && *stored.id() == expected.pass =>
                {
                    let removed = *version;
                    state.passes.remove(user);
                    Ok(Write::Written(removed))
                }
                _ => Ok(Write::Conflict),
            }
        }

        fn load_policy(&self) -> Result<Option<Versioned<Policy>>, Infallible> {
            Ok(self
                .lock()
                .policy
                .as_ref()
                .map(|(v, p)| Versioned::new(*v, p.clone())))
        }

        fn store_policy(
            &self,
            expected: Option<Version>,
            policy: &Policy,
        ) -> Result<Write, Infallible> {
            let mut state = self.lock();
            let current = state.policy.as_ref().map(|(v, _)| *v);
            if current != expected {
                return Ok(Write::Conflict);
            }
            let next = current.map_or(Version::FIRST, Version::next);
            if Some(next) == current {
                return Ok(Write::Conflict);
            }
            state.policy = Some((next, policy.clone()));
            Ok(Write::Written(next))
        }
    }
}
