//! The in-memory store: records sharded by user, each shard behind its own lock on cache lines of
//! its own, and the policy as an immutable snapshot that every thread reads from a copy of its
//! own, so threads working for different users neither wait for one another nor write to the
//! same cache lines.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::convert::Infallible;
use core::fmt;
use core::num::NonZero;
use core::sync::atomic::{AtomicU64, Ordering};
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{AsyncStore, Expected, Loaded, RecordStamp, Store, Version, Versioned, Write};
use crate::ids::{PassId, UserId};
use crate::pass::{Detached, TemporaryAccessPass};
use crate::policy::Policy;

/// A stored record: its version and its fields without the holder, whose id is the map's key.
/// Boxed, so a hash-table bucket is a key and a pointer.
struct Entry {
    version: Version,
    pass: Detached,
}

/// One lock's worth of the store: some users' records, and the version of the policy they are
/// judged under (every shard holds the current one; a policy change updates all at once).
#[derive(Default)]
struct Shard {
    passes: HashMap<UserId, Box<Entry>>,
    policy: Option<Version>,
}

/// Identifies a store for the per-thread policy copies.
static NEXT_STORE: AtomicU64 = AtomicU64::new(0);

std::thread_local! {
    /// The policy snapshot this thread read last, with the store it came from. A snapshot never
    /// changes once written (a new policy gets a new version), so a copy is as good as the
    /// original; a copy of its own means cloning it on this thread writes no cache line another
    /// thread reads.
    static SNAPSHOT: RefCell<Option<(u64, Versioned<Policy>)>> = const { RefCell::new(None) };
}

/// A shard on cache lines of its own, so two cores locking neighbouring shards don't contend
/// for one line.
#[repr(align(128))]
#[derive(Default)]
struct Padded(Mutex<Shard>);

/// A store in memory, for tests, demonstrations and single-process hosts.
///
/// Records are spread over many shards by a hash of the user's id, each shard behind its own
/// lock on cache lines of its own, holding the version of the policy. An operation for one user
/// takes only that user's shard, so threads serving different users work side by side; every
/// guarantee of [`Store`] (each write conditional on the policy version and the record,
/// SPEC 6.5) is decided under that one lock. The policy itself is an immutable snapshot: each
/// thread reads it from a copy of its own, made once per version, so readers neither block one
/// another nor the shards. Changing the policy locks every shard at once, so every reader sees
/// the old policy or the new one, never a mix. Its `Debug` prints counts, never contents.
pub struct InMemoryStore {
    id: u64,
    route: RandomState,
    shards: Box<[Padded]>,
    policy: Mutex<Option<Versioned<Policy>>>,
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
            id: NEXT_STORE.fetch_add(1, Ordering::Relaxed),
            route: RandomState::new(),
            shards: (0..shards.max(1)).map(|_| Padded::default()).collect(),
            policy: Mutex::new(None),
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

    /// The number of shards [`InMemoryStore::new`] uses: 8,192 per core the operating system
    /// reports, rounded up to a power of two, between 8,192 and 131,072. A shard is two cache
    /// lines (2 MiB for 16,384 shards); far more shards than cores keep two cores from passing
    /// a shard's lines back and forth for users who merely share it.
    #[must_use]
    pub fn default_shards() -> usize {
        let cores = std::thread::available_parallelism().map_or(1, NonZero::get);
        cores
            .saturating_mul(8192)
            .next_power_of_two()
            .clamp(8192, 131_072)
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

    /// The policy of `version` as a copy this thread owns, or the current policy if `version`
    /// was replaced meanwhile (then the write that follows conflicts, and the caller reads
    /// again).
    fn snapshot(&self, version: Version) -> Option<Versioned<Policy>> {
        SNAPSHOT.with(|cell| {
            if let Some((store, snapshot)) = &*cell.borrow()
                && *store == self.id
                && snapshot.version == version
            {
                return Some(snapshot.clone());
            }
            let current = self
                .policy
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref()
                .map(|p| Versioned::new(p.version, p.value.unshared()));
            *cell.borrow_mut() = current.clone().map(|p| (self.id, p));
            current
        })
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
        let (policy, record) = {
            let shard = self.shard(user);
            let record = shard.passes.get_key_value(user).map(|(holder, entry)| {
                Versioned::new(entry.version, entry.pass.attach(holder.clone()))
            });
            (shard.policy, record)
        };
        Ok(Loaded::new(policy.and_then(|v| self.snapshot(v)), record))
    }

    fn load_policy(&self) -> Result<Option<Versioned<Policy>>, Infallible> {
        Ok(self
            .policy
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone())
    }

    fn write(
        &self,
        user: &UserId,
        expected: &Expected,
        record: Option<&TemporaryAccessPass>,
    ) -> Result<Write, Infallible> {
        let mut shard = self.shard(user);
        let policy_now = shard.policy;
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
        // The snapshot, then every shard, always in this order: readers see the old policy or
        // the new one everywhere, and two policy writers can't deadlock.
        let mut snapshot = self.policy.lock().unwrap_or_else(PoisonError::into_inner);
        let current = snapshot.as_ref().map(|p| p.version);
        if current != expected {
            return Ok(Write::Conflict);
        }
        let next = current.map_or(Version::FIRST, Version::next);
        if Some(next) == current {
            return Ok(Write::Conflict);
        }
        let mut shards: Vec<MutexGuard<'_, Shard>> = self.shards.iter().map(lock).collect();
        *snapshot = Some(Versioned::new(next, policy.unshared()));
        for shard in &mut shards {
            shard.policy = Some(next);
        }
        Ok(Write::Written(next))
    }

    fn remove(&self, user: &UserId, pass: PassId) -> Result<Write, Infallible> {
        let mut shard = self.shard(user);
        let stored = shard
            .passes
            .get(user)
            .filter(|entry| *entry.pass.id() == pass)
            .map(|entry| entry.version);
        Ok(match stored {
            Some(version) => {
                shard.passes.remove(user);
                Write::Written(version)
            }
            None => Write::Conflict,
        })
    }
}

/// The same store for [`crate::AsyncEngine`]: every call completes at once (a short lock on one
/// shard, never I/O), so each future is ready when returned.
impl AsyncStore for InMemoryStore {
    type Error = Infallible;

    fn load(&self, user: &UserId) -> impl Future<Output = Result<Loaded, Infallible>> + Send {
        core::future::ready(Store::load(self, user))
    }

    fn load_policy(
        &self,
    ) -> impl Future<Output = Result<Option<Versioned<Policy>>, Infallible>> + Send {
        core::future::ready(Store::load_policy(self))
    }

    fn write(
        &self,
        user: &UserId,
        expected: &Expected,
        record: Option<&TemporaryAccessPass>,
    ) -> impl Future<Output = Result<Write, Infallible>> + Send {
        core::future::ready(Store::write(self, user, expected, record))
    }

    fn write_policy(
        &self,
        expected: Option<Version>,
        policy: &Policy,
    ) -> impl Future<Output = Result<Write, Infallible>> + Send {
        core::future::ready(Store::write_policy(self, expected, policy))
    }

    fn remove(
        &self,
        user: &UserId,
        pass: PassId,
    ) -> impl Future<Output = Result<Write, Infallible>> + Send {
        core::future::ready(Store::remove(self, user, pass))
    }
}
