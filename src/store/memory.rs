//! The in-memory store: records sharded by user, each shard behind its own lock and holding its
//! own copy of the policy, so threads working for different users don't wait for one another.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::convert::Infallible;
use core::fmt;
use core::num::NonZero;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{Expected, Loaded, RecordStamp, Store, Version, Versioned, Write};
use crate::ids::UserId;
use crate::pass::{Detached, TemporaryAccessPass};
use crate::policy::Policy;

/// A stored record: its version and its fields without the holder, whose id is the map's key.
/// Boxed, so a hash-table bucket is a key and a pointer.
struct Entry {
    version: Version,
    pass: Detached,
}

/// One lock's worth of the store: some users' records and a copy of the policy that shares no
/// reference count with the other shards' copies.
#[derive(Default)]
struct Shard {
    passes: HashMap<UserId, Box<Entry>>,
    policy: Option<Versioned<Policy>>,
}

/// A shard on cache lines of its own, so two cores locking neighbouring shards don't contend
/// for one line.
#[repr(align(128))]
#[derive(Default)]
struct Padded(Mutex<Shard>);

/// A store in memory, for tests, demonstrations and single-process hosts.
///
/// Records are spread over shards by a hash of the user's id; each shard has its own lock and
/// its own copy of the policy. An operation for one user takes only that user's shard, so
/// threads serving different users work side by side; all the store's guarantees (every write
/// conditional on the policy version and the record, SPEC 6.5) hold within the shard that
/// decides them. Changing the policy locks every shard at once, so every reader sees the old
/// policy or the new one, never a mix. Its `Debug` prints counts, never contents.
pub struct InMemoryStore {
    route: RandomState,
    shards: Box<[Padded]>,
}

impl Default for InMemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryStore {
    /// An empty store with [`InMemoryStore::default_shards`] shards.
    #[must_use]
    pub fn new() -> Self {
        Self::with_shards(Self::default_shards())
    }

    /// An empty store with `shards` shards (at least one). One shard is a store behind a
    /// single lock.
    #[must_use]
    pub fn with_shards(shards: usize) -> Self {
        Self {
            route: RandomState::new(),
            shards: (0..shards.max(1)).map(|_| Padded::default()).collect(),
        }
    }

    /// An empty store with room for `passes` records without reallocating.
    #[must_use]
    pub fn with_capacity(passes: usize) -> Self {
        let store = Self::new();
        let per_shard = passes.div_ceil(store.shards.len());
        for shard in &store.shards {
            lock(shard).passes.reserve(per_shard);
        }
        store
    }

    /// The number of shards [`InMemoryStore::new`] uses: eight per core the operating system
    /// reports, rounded up to a power of two, between 16 and 1,024. Many more shards than
    /// cores keep two busy users from sharing a lock by chance.
    #[must_use]
    pub fn default_shards() -> usize {
        let cores = std::thread::available_parallelism().map_or(1, NonZero::get);
        cores.saturating_mul(8).next_power_of_two().clamp(16, 1024)
    }

    /// How many shards this store has.
    #[must_use]
    pub fn shards(&self) -> usize {
        self.shards.len()
    }

    /// How many pass records it holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).passes.len()).sum()
    }

    /// True when it holds no pass record.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn shard(&self, user: &UserId) -> MutexGuard<'_, Shard> {
        let count = u64::try_from(self.shards.len()).unwrap_or(1);
        let index =
            usize::try_from(self.route.hash_one(user).checked_rem(count).unwrap_or(0)).unwrap_or(0);
        #[expect(
            clippy::indexing_slicing,
            reason = "index < len by the modulo, and there is at least one shard"
        )]
        lock(&self.shards[index])
    }
}

/// Every write replaces whole values, so a panic elsewhere can't leave a half-written record
/// behind: a poisoned lock still guards consistent data.
fn lock(shard: &Padded) -> MutexGuard<'_, Shard> {
    shard.0.lock().unwrap_or_else(PoisonError::into_inner)
}

impl fmt::Debug for InMemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryStore")
            .field("passes", &self.len())
            .field("shards", &self.shards.len())
            .finish_non_exhaustive()
    }
}

impl Store for InMemoryStore {
    type Error = Infallible;

    fn load(&self, user: &UserId) -> Result<Loaded, Infallible> {
        let shard = self.shard(user);
        let record = shard.passes.get_key_value(user).map(|(holder, entry)| {
            Versioned::new(entry.version, entry.pass.attach(holder.clone()))
        });
        Ok(Loaded::new(shard.policy.clone(), record))
    }

    fn load_policy(&self) -> Result<Option<Versioned<Policy>>, Infallible> {
        Ok(self.shards.first().and_then(|s| lock(s).policy.clone()))
    }

    fn write(
        &self,
        user: &UserId,
        expected: &Expected,
        record: Option<&TemporaryAccessPass>,
    ) -> Result<Write, Infallible> {
        let mut shard = self.shard(user);
        let policy_now = shard.policy.as_ref().map(|p| p.version);
        let record_now = shard
            .passes
            .get(user)
            .map(|entry| RecordStamp::new(*entry.pass.id(), entry.version));
        if policy_now != expected.policy || record_now != expected.record {
            return Ok(Write::Conflict);
        }
        Ok(match (record, record_now) {
            (Some(new), _) if new.user() != user => Write::Conflict,
            (Some(new), Some(stamp)) => {
                let next = stamp.version.next();
                match shard.passes.get_mut(user) {
                    Some(entry) if next != stamp.version => {
                        **entry = Entry {
                            version: next,
                            pass: Detached::of(new),
                        };
                        Write::Written(next)
                    }
                    Some(_) | None => Write::Conflict,
                }
            }
            (Some(new), None) => {
                shard.passes.insert(
                    new.user().clone(),
                    Box::new(Entry {
                        version: Version::FIRST,
                        pass: Detached::of(new),
                    }),
                );
                Write::Written(Version::FIRST)
            }
            (None, Some(stamp)) => {
                shard.passes.remove(user);
                Write::Written(stamp.version)
            }
            (None, None) => Write::Conflict,
        })
    }

    fn write_policy(
        &self,
        expected: Option<Version>,
        policy: &Policy,
    ) -> Result<Write, Infallible> {
        // Every shard at once, always in the same order: readers see the old policy or the new
        // one everywhere, and two policy writers can't deadlock.
        let mut shards: Vec<MutexGuard<'_, Shard>> = self.shards.iter().map(lock).collect();
        let current = shards
            .first()
            .and_then(|s| s.policy.as_ref().map(|p| p.version));
        if current != expected {
            return Ok(Write::Conflict);
        }
        let next = current.map_or(Version::FIRST, Version::next);
        if Some(next) == current {
            return Ok(Write::Conflict);
        }
        for shard in &mut shards {
            shard.policy = Some(Versioned::new(next, policy.unshared()));
        }
        Ok(Write::Written(next))
    }
}
