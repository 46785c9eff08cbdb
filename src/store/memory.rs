//! The in-memory store: records sharded by user, each shard behind its own lock on cache lines of
//! its own, and the policy as an immutable snapshot that every thread reads from a copy of its
//! own, so threads working for different users neither wait for one another nor write to the
//! same cache lines.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::convert::Infallible;
use core::fmt;
use core::num::NonZero;
use core::sync::atomic::{AtomicU64, Ordering};
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, MutexGuard, PoisonError};

use time::UtcDateTime;

use super::{
    AsyncStore, Change, Commit, Decide, DecideSend, Loaded, Read, RecordStamp, Recorded, Sequence,
    Store, Version, Versioned, Write,
};
use crate::ceremony::{Ceremony, CeremonyId};
use crate::event::Event;
use crate::ids::UserId;
use crate::method::RegisteredMethod;
use crate::pass::Detached;
use crate::policy::Policy;

/// A stored record: its version and its fields without the holder, whose id is the map's key.
/// Boxed, so a hash-table bucket is a key and a pointer.
struct Entry {
    version: Version,
    pass: Detached,
}

/// One lock's worth of the store: some users' records, their methods and ceremonies, and the
/// version of the policy they are judged under (every shard holds the current one; a policy
/// change updates all at once).
#[derive(Default)]
struct Shard {
    passes: HashMap<UserId, Box<Entry>>,
    methods: HashMap<UserId, Vec<Versioned<RegisteredMethod>>>,
    ceremonies: HashMap<UserId, Vec<Versioned<Ceremony>>>,
    policy: Option<Version>,
}

mod onboarding;

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
    outbox: Mutex<Outbox>,
}

/// The audit events committed so far, in commit order (SPEC 7.1). A change appends its events
/// while it still holds the lock under which it committed (a shard's, or every shard's for the
/// policy), so the numbers follow the order in which changes landed.
#[derive(Default)]
struct Outbox {
    /// The number the next event gets, less one.
    last: Sequence,
    /// The events kept, numbered consecutively up to `last`.
    events: VecDeque<Recorded>,
}

impl Outbox {
    fn append(&mut self, events: &[Event]) {
        for event in events {
            self.last = self.last.next();
            self.events
                .push_back(Recorded::new(self.last, event.clone()));
        }
    }
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
            outbox: Mutex::new(Outbox::default()),
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

    /// The policy of `version` from this thread's copy, if the copy is of that version. Takes
    /// no lock, so it may be called under a shard's.
    fn cached_policy(&self, version: Version) -> Option<Versioned<Policy>> {
        SNAPSHOT.with(|cell| match &*cell.borrow() {
            Some((store, snapshot)) if *store == self.id && snapshot.version == version => {
                Some(snapshot.clone())
            }
            Some(_) | None => None,
        })
    }

    /// The current policy, copied for this thread. Locks the policy, never a shard: call it
    /// without holding one (a policy change takes the policy's lock, then every shard's).
    fn refresh_policy(&self) -> Option<Versioned<Policy>> {
        let current = self
            .policy
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|p| Versioned::new(p.version, p.value.unshared()));
        SNAPSHOT.with(|cell| *cell.borrow_mut() = current.clone().map(|p| (self.id, p)));
        current
    }

    /// The policy of `version`, or the current policy if `version` was replaced meanwhile (then
    /// the change that follows conflicts, and the caller reads again).
    fn snapshot(&self, version: Version) -> Option<Versioned<Policy>> {
        self.cached_policy(version)
            .or_else(|| self.refresh_policy())
    }

    fn append(&self, events: &[Event]) {
        if !events.is_empty() {
            self.outbox
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .append(events);
        }
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

/// How many times [`InMemoryStore`]'s `transact` finds the policy replaced between reading it
/// and holding the shard before it answers a conflict (the engine then judges again). Only a
/// stream of policy changes can get there.
const HOLD_TRIES: u32 = 64;

/// Applies a record change to the shard holding `user`'s record, whose lock the caller holds,
/// and appends its events: the whole of a record change, decided under one lock.
fn apply(store: &InMemoryStore, shard: &mut Shard, commit: &Commit) -> Write {
    let stored = |shard: &Shard, user: &UserId| {
        shard
            .passes
            .get(user)
            .map(|entry| RecordStamp::new(*entry.pass.id(), entry.version))
    };
    let written = match &commit.change {
        Change::Put {
            user,
            expected,
            record,
        } => {
            let now = stored(shard, user);
            if record.user() != user
                || shard.policy != expected.policy
                || !expected.record.holds(now)
            {
                Write::Conflict
            } else {
                let version = now.map_or(Version::FIRST, |stamp| stamp.version.next());
                let entry = Entry {
                    version,
                    pass: Detached::of(record),
                };
                let written = match (now, shard.passes.get_mut(user)) {
                    (Some(stamp), _) if version == stamp.version => Write::Conflict,
                    (_, Some(stored)) => {
                        **stored = entry;
                        Write::Written(version)
                    }
                    (_, None) => {
                        shard.passes.insert(user.clone(), Box::new(entry));
                        Write::Written(version)
                    }
                };
                if let (Write::Written(_), Some(stamp)) = (written, now)
                    && stamp.pass != *record.id()
                {
                    shard.end_sessions(user, Some(*record.id()));
                }
                written
            }
        }
        Change::Remove { user, pass } => match stored(shard, user) {
            Some(stamp) if stamp.pass == *pass => {
                shard.passes.remove(user);
                shard.end_sessions(user, None);
                Write::Written(stamp.version)
            }
            Some(_) | None => Write::Conflict,
        },
        Change::Keep { user, pass } => match stored(shard, user) {
            Some(stamp) if stamp.pass == *pass => Write::Written(stamp.version),
            Some(_) | None => Write::Conflict,
        },
        // Not a record change: `commit` applies it under every shard's lock.
        Change::Policy { .. } => Write::Conflict,
        change @ (Change::AddMethod { .. }
        | Change::UpdateMethod { .. }
        | Change::RemoveMethod { .. }
        | Change::OpenCeremony { .. }
        | Change::UpdateCeremony { .. }
        | Change::RemoveCeremony { .. }) => shard.apply_onboarding(change),
    };
    if let Write::Written(_) = written {
        store.append(&commit.events);
    }
    written
}

impl InMemoryStore {
    fn commit_policy(&self, expected: Option<Version>, policy: &Policy, events: &[Event]) -> Write {
        // The snapshot, then every shard, always in this order: readers see the old policy or
        // the new one everywhere, and two policy writers can't deadlock.
        let mut snapshot = self.policy.lock().unwrap_or_else(PoisonError::into_inner);
        let current = snapshot.as_ref().map(|p| p.version);
        if current != expected {
            return Write::Conflict;
        }
        let next = current.map_or(Version::FIRST, Version::next);
        if Some(next) == current {
            return Write::Conflict;
        }
        let mut shards: Vec<MutexGuard<'_, Shard>> = self.shards.iter().map(lock).collect();
        *snapshot = Some(Versioned::new(next, policy.unshared()));
        for shard in &mut shards {
            shard.policy = Some(next);
        }
        self.append(events);
        Write::Written(next)
    }

    fn read_outbox(&self, after: Sequence, limit: usize) -> Vec<Recorded> {
        let outbox = self.outbox.lock().unwrap_or_else(PoisonError::into_inner);
        // Numbers are consecutive from the front: the first to read is at a computed index.
        let first = outbox.events.front().map_or(0, |r| r.sequence.get());
        let skip = after.get().saturating_add(1).saturating_sub(first);
        let skip = usize::try_from(skip).unwrap_or(usize::MAX);
        outbox
            .events
            .iter()
            .skip(skip)
            .take(limit)
            .cloned()
            .collect()
    }

    fn prune_outbox(&self, before: Sequence) -> u64 {
        let mut outbox = self.outbox.lock().unwrap_or_else(PoisonError::into_inner);
        let mut pruned = 0_u64;
        while outbox.events.front().is_some_and(|r| r.sequence < before) {
            outbox.events.pop_front();
            pruned = pruned.saturating_add(1);
        }
        pruned
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

    fn commit(&self, commit: &Commit) -> Result<Write, Infallible> {
        Ok(match &commit.change {
            Change::Policy { expected, policy } => {
                self.commit_policy(*expected, policy, &commit.events)
            }
            other => match other.user() {
                Some(user) => apply(self, &mut self.shard(user), commit),
                None => Write::Conflict,
            },
        })
    }

    /// Judges a first read without holding anything: a decision that writes nothing (a
    /// refusal, a read) returns at once. A decision that writes takes the user's shard and
    /// commits; if what it read changed meanwhile, it is judged again on what is stored now,
    /// still holding the shard, so its change cannot conflict: attempts on one user are judged
    /// one after another, and other users' shards are not held up.
    fn transact(
        &self,
        user: &UserId,
        decide: &mut Decide<'_>,
    ) -> Result<Option<Write>, Infallible> {
        let Some(mut pending) = decide(Store::load(self, user)?) else {
            return Ok(None);
        };
        for _ in 0..HOLD_TRIES {
            if !pending.change.is_record_change() || pending.change.user() != Some(user) {
                // A policy change, or another user's record: not this shard's to hold.
                return Ok(Some(Store::commit(self, &pending)?));
            }
            let mut shard = self.shard(user);
            let written = apply(self, &mut shard, &pending);
            if let Write::Written(_) = written {
                return Ok(Some(written));
            }
            let policy = shard.policy.map(|version| self.cached_policy(version));
            let policy = match policy {
                None => None,
                Some(Some(policy)) => Some(policy),
                Some(None) => {
                    // This thread's copy is of another version: copy the current one, which
                    // locks the policy, so not while holding the shard, and judge again.
                    drop(shard);
                    let _ = self.refresh_policy();
                    match decide(Store::load(self, user)?) {
                        Some(commit) => pending = commit,
                        None => return Ok(None),
                    }
                    continue;
                }
            };
            let record = shard.passes.get_key_value(user).map(|(holder, entry)| {
                Versioned::new(entry.version, entry.pass.attach(holder.clone()))
            });
            // Holding the shard: nobody can change what this decision reads.
            let Some(commit) = decide(Loaded::new(policy, record)) else {
                return Ok(None);
            };
            if commit.change.is_record_change() && commit.change.user() == Some(user) {
                return Ok(Some(apply(self, &mut shard, &commit)));
            }
            drop(shard);
            return Ok(Some(Store::commit(self, &commit)?));
        }
        Ok(Some(Write::Conflict))
    }

    fn read_events(&self, after: Sequence, limit: usize) -> Result<Vec<Recorded>, Infallible> {
        Ok(self.read_outbox(after, limit))
    }

    fn prune_events(&self, before: Sequence) -> Result<u64, Infallible> {
        Ok(self.prune_outbox(before))
    }

    fn load_methods(&self, user: &UserId) -> Result<Vec<Versioned<RegisteredMethod>>, Infallible> {
        Ok(self
            .shard(user)
            .methods
            .get(user)
            .cloned()
            .unwrap_or_default())
    }

    fn load_ceremony(
        &self,
        user: &UserId,
        id: &CeremonyId,
    ) -> Result<Option<Versioned<Ceremony>>, Infallible> {
        Ok(self
            .shard(user)
            .ceremonies
            .get(user)
            .and_then(|cs| cs.iter().find(|c| c.value.id() == id).cloned()))
    }

    fn prune_ceremonies(&self, now: UtcDateTime) -> Result<u64, Infallible> {
        let mut pruned = 0_u64;
        for shard in &self.shards {
            let mut shard = lock(shard);
            shard.ceremonies.retain(|_, theirs| {
                let before = theirs.len();
                theirs.retain(|c| c.value.is_open(now));
                let gone = before.saturating_sub(theirs.len());
                pruned = pruned.saturating_add(u64::try_from(gone).unwrap_or(u64::MAX));
                !theirs.is_empty()
            });
        }
        Ok(pruned)
    }

    /// The record, the methods and the ceremony under one lock of the user's shard.
    fn load_with(&self, read: &Read) -> Result<Loaded, Infallible> {
        let (policy, mut loaded) = {
            let shard = self.shard(&read.user);
            let record = shard
                .passes
                .get_key_value(&read.user)
                .map(|(holder, entry)| {
                    Versioned::new(entry.version, entry.pass.attach(holder.clone()))
                });
            let mut loaded = Loaded::new(None, record);
            if read.methods {
                loaded.methods = shard.methods.get(&read.user).cloned().unwrap_or_default();
            }
            if let Some(id) = &read.ceremony {
                loaded.ceremony = shard
                    .ceremonies
                    .get(&read.user)
                    .and_then(|cs| cs.iter().find(|c| c.value.id() == id).cloned());
            }
            (shard.policy, loaded)
        };
        loaded.policy = policy.and_then(|v| self.snapshot(v));
        Ok(loaded)
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

    fn commit(&self, commit: &Commit) -> impl Future<Output = Result<Write, Infallible>> + Send {
        core::future::ready(Store::commit(self, commit))
    }

    fn transact(
        &self,
        user: &UserId,
        decide: &mut DecideSend<'_>,
    ) -> impl Future<Output = Result<Option<Write>, Infallible>> + Send {
        core::future::ready(Store::transact(self, user, decide))
    }

    fn read_events(
        &self,
        after: Sequence,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Recorded>, Infallible>> + Send {
        core::future::ready(Store::read_events(self, after, limit))
    }

    fn prune_events(
        &self,
        before: Sequence,
    ) -> impl Future<Output = Result<u64, Infallible>> + Send {
        core::future::ready(Store::prune_events(self, before))
    }

    fn load_methods(
        &self,
        user: &UserId,
    ) -> impl Future<Output = Result<Vec<Versioned<RegisteredMethod>>, Infallible>> + Send {
        core::future::ready(Store::load_methods(self, user))
    }

    fn load_ceremony(
        &self,
        user: &UserId,
        id: &CeremonyId,
    ) -> impl Future<Output = Result<Option<Versioned<Ceremony>>, Infallible>> + Send {
        core::future::ready(Store::load_ceremony(self, user, id))
    }

    fn prune_ceremonies(
        &self,
        now: UtcDateTime,
    ) -> impl Future<Output = Result<u64, Infallible>> + Send {
        core::future::ready(Store::prune_ceremonies(self, now))
    }

    fn load_with(&self, read: &Read) -> impl Future<Output = Result<Loaded, Infallible>> + Send {
        core::future::ready(Store::load_with(self, read))
    }
}

#[cfg(test)]
mod tests;
