//! The in-memory store's sizes and its thread's policy copy, read from inside.

use super::{InMemoryStore, lock};
use crate::policy::Policy;
use crate::store::{Change, Commit, Store, Version, Write};

/// The sizes a host asks for are the sizes it gets: the shards `with_shards` says (one at
/// least), the default's (a power of two from 8,192 to 131,072, and at least 8,192 per
/// core), and `with_capacity`'s room in every shard.
#[test]
fn a_store_has_the_shards_and_room_it_was_built_with() {
    assert_eq!(InMemoryStore::with_shards(3).shards(), 3);
    assert_eq!(InMemoryStore::with_shards(0).shards(), 1);
    let default = InMemoryStore::default_shards();
    assert!(default.is_power_of_two() && (8192..=131_072).contains(&default));
    let cores = std::thread::available_parallelism().map_or(1, core::num::NonZero::get);
    assert!(
        default >= (cores * 8192).min(131_072),
        "{default} for {cores} cores"
    );
    assert_eq!(InMemoryStore::new().shards(), default);
    let roomy = InMemoryStore::with_capacity(default * 4);
    assert_eq!(roomy.shards(), default);
    for shard in &roomy.shards {
        assert!(lock(shard).passes.capacity() >= 4);
    }
}

/// A policy read once is this thread's copy until it changes: the next read of that
/// version takes no lock.
#[test]
fn a_policy_read_is_kept_as_this_threads_copy_of_its_version() {
    let store = InMemoryStore::with_shards(1);
    let commit = Commit::new(
        Change::Policy {
            expected: None,
            policy: Policy::default(),
        },
        alloc::vec::Vec::new(),
    );
    assert_eq!(
        Store::commit(&store, &commit).unwrap(),
        Write::Written(Version::FIRST)
    );
    // A user's read judges under the policy: it copies it for this thread.
    let user = crate::ids::UserId::new("chris@contoso.com").unwrap();
    let read = Store::load(&store, &user).unwrap().policy.unwrap();
    assert_eq!(read.version, Version::FIRST);
    let copy = store.cached_policy(Version::FIRST).unwrap();
    assert_eq!(copy.version, Version::FIRST);
    assert_eq!(copy.value, read.value);
    assert!(store.cached_policy(Version::FIRST.next()).is_none());
    // Another store's copy is not this one's.
    assert!(
        InMemoryStore::with_shards(1)
            .cached_policy(Version::FIRST)
            .is_none()
    );
}
