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

/// A pass for `user` under `policy`, as an administrator creates it.
fn record(user: &str, policy: &Policy) -> crate::TemporaryAccessPass {
    use crate::principal::{DirectoryRole, Principal};
    let admin = Principal::member(crate::ids::UserId::new("ga@contoso.com").unwrap())
        .role(DirectoryRole::GlobalAdministrator);
    let holder = Principal::member(crate::ids::UserId::new(user).unwrap());
    let key = crate::digest::DigestKey::unkeyed();
    let ctx = crate::create::CreateContext::new(policy, &key, &admin, &holder);
    let now = time::UtcDateTime::from_unix_timestamp(1_796_601_600).unwrap();
    crate::create::create(
        &ctx,
        &crate::create::CreateRequest::new(),
        now,
        &mut crate::SysRng,
    )
    .unwrap()
    .record
}

/// `transact` holds the user's shard only for a change of that user's record: a change that
/// conflicts is judged again on a fresh read under the shard (and then lands), and a change of
/// another user's record, first or after judging again, lands in that user's shard, where a
/// read of that user finds it.
#[test]
fn transact_judges_a_conflict_again_and_routes_other_users_changes_to_their_shard() {
    use crate::store::{Expected, Held, Loaded};
    // So many shards that two users share one once in 65,536 stores (the route is keyed
    // per store): a change routed to the wrong shard is then lost to its user's reads.
    let store = InMemoryStore::with_shards(65_536);
    let policy = Policy::default();
    let (chris, dana) = (
        crate::ids::UserId::new("chris@contoso.com").unwrap(),
        crate::ids::UserId::new("dana@contoso.com").unwrap(),
    );
    let put_new = |user: &crate::ids::UserId| {
        Commit::put(
            user.clone(),
            Expected::new(None, Held::Nothing),
            record(user.as_str(), &policy),
        )
    };
    assert!(matches!(
        Store::commit(&store, &put_new(&chris)).unwrap(),
        Write::Written(_)
    ));
    // A decision judged as if Chris held nothing conflicts; judged again on the read, it
    // replaces the pass it now sees.
    let mut calls = 0;
    let mut decide = |read: Loaded| {
        calls += 1;
        Some(match read.record {
            Some(held) if calls > 1 => Commit::put(
                chris.clone(),
                Expected::new(None, Held::Exactly(held.stamp())),
                record(chris.as_str(), &policy),
            ),
            _ => put_new(&chris),
        })
    };
    let written = Store::transact(&store, &chris, &mut decide).unwrap();
    assert!(matches!(written, Some(Write::Written(_))), "{written:?}");
    assert_eq!(calls, 2, "the conflict was judged again");
    // Another user's record, decided at once, and decided after judging again.
    let written = Store::transact(&store, &chris, &mut |_| Some(put_new(&dana))).unwrap();
    assert!(matches!(written, Some(Write::Written(_))));
    assert!(Store::load(&store, &dana).unwrap().record.is_some());
    let eve = crate::ids::UserId::new("eve@contoso.com").unwrap();
    let mut calls = 0;
    let mut decide = |_: Loaded| {
        calls += 1;
        Some(if calls == 1 {
            put_new(&chris)
        } else {
            put_new(&eve)
        })
    };
    let written = Store::transact(&store, &chris, &mut decide).unwrap();
    assert!(matches!(written, Some(Write::Written(_))), "{written:?}");
    assert!(
        Store::load(&store, &eve).unwrap().record.is_some(),
        "another user's record landed in the shard of the user held"
    );
}
