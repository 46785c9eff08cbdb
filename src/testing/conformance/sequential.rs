//! The sequential guarantees of a store: every change is conditional on what it expects (the
//! policy version, and the user's record exactly, by its pass id, or absent), versions change
//! on every write, nothing else is touched, and the events of a change commit with it and
//! only with it, numbered in commit order.

use alloc::vec;
use alloc::vec::Vec;

use super::{NOW, ok, record_for, unique_user};
use crate::event::Event;
use crate::ids::{PassId, UserId};
use crate::pass::TemporaryAccessPass;
use crate::policy::{Policy, PolicySettings, PolicyState};
use crate::store::{Commit, Expected, Held, RecordStamp, Sequence, Store, Version, Write};

/// Puts `record` for `user`, expecting `held`, under the policy version stored now.
fn put<S: Store>(store: &S, user: &UserId, held: Held, record: &TemporaryAccessPass) -> Write {
    let policy = ok("load", store.load(user)).policy.map(|p| p.version);
    ok(
        "commit",
        store.commit(&Commit::put(
            user.clone(),
            Expected::new(policy, held),
            record.clone(),
        )),
    )
}

fn exactly(record: &TemporaryAccessPass, version: Version) -> Held {
    Held::Exactly(RecordStamp::new(*record.id(), version))
}

fn stored<S: Store>(store: &S, user: &UserId) -> Option<(TemporaryAccessPass, Version)> {
    ok("load", store.load(user))
        .record
        .map(|r| (r.value, r.version))
}

#[expect(
    clippy::too_many_lines,
    reason = "one linear script of the store's guarantees reads best in order"
)]
pub(super) fn check_records<S: Store>(store: &S) {
    let policy = Policy::default();
    let user = unique_user("basics");
    let id = user.id();
    let first = record_for(&user, &policy);

    assert!(stored(store, id).is_none(), "a new user has no record");
    let Write::Written(v1) = put(store, id, Held::Nothing, &first) else {
        panic!("an insert for a user without a record must succeed");
    };
    assert_eq!(
        put(store, id, Held::Nothing, &first),
        Write::Conflict,
        "an insert must be create-only"
    );
    assert_eq!(
        stored(store, id),
        Some((first.clone(), v1)),
        "load returns the record and the version written"
    );

    // Compare-and-swap on the version.
    let wrong_version = Version::new(v1.get().wrapping_add(7));
    assert_eq!(
        put(store, id, exactly(&first, wrong_version), &first),
        Write::Conflict,
        "a change expecting a wrong version must conflict"
    );
    let Write::Written(v2) = put(store, id, exactly(&first, v1), &first) else {
        panic!("a change expecting the current version must succeed");
    };
    assert_ne!(v2, v1, "a write must change the version");
    assert_eq!(
        put(store, id, exactly(&first, v1), &first),
        Write::Conflict,
        "a stale version must never be accepted"
    );

    // Compare-and-swap on the pass id: a new pass replacing the old one.
    let second = record_for(&user, &policy);
    assert_eq!(
        put(
            store,
            id,
            Held::Exactly(RecordStamp::new(PassId::from_bytes([0xee; 16]), v2)),
            &second
        ),
        Write::Conflict,
        "a change expecting another pass id must conflict"
    );
    let Write::Written(v3) = put(store, id, exactly(&first, v2), &second) else {
        panic!("replacing one pass with another must succeed");
    };
    assert_eq!(stored(store, id), Some((second.clone(), v3)));

    // On the pass id whatever its version (SPEC 6.7): a replacement judged only on what a pass
    // never changes lands after any number of writes to the record.
    assert_eq!(
        put(store, id, Held::Pass(*first.id()), &second),
        Write::Conflict,
        "a change expecting a pass that was replaced must conflict"
    );
    let Write::Written(v4) = put(store, id, exactly(&second, v3), &second) else {
        panic!("a change expecting the current version must succeed");
    };
    let third = record_for(&user, &policy);
    let Write::Written(v5) = put(store, id, Held::Pass(*second.id()), &third) else {
        panic!("a change expecting the stored pass, at any version, must succeed");
    };
    assert!(
        v5 != v4 && v5 != v3,
        "a change on the pass id must change the version too"
    );
    assert_eq!(
        stored(store, id),
        Some((third.clone(), v5)),
        "load returns the replacement and the version the change reported"
    );
    assert_eq!(
        put(store, id, Held::Pass(*second.id()), &third),
        Write::Conflict,
        "the replaced pass's id must no longer match"
    );
    assert_eq!(
        put(store, id, Held::Nothing, &third),
        Write::Conflict,
        "an insert over a stored record must conflict"
    );

    // The policy is part of every record expectation.
    let policy_now = ok("load", store.load(id)).policy.map(|p| p.version);
    let stale = policy_now.map_or(Version::FIRST, Version::next);
    for held in [exactly(&third, v5), Held::Pass(*third.id())] {
        // Another version, and "no policy" when one is stored.
        for expected in [Some(stale), policy_now.map_or(Some(stale), |_| None)] {
            assert_eq!(
                ok(
                    "commit",
                    store.commit(&Commit::put(
                        id.clone(),
                        Expected::new(expected, held),
                        third.clone()
                    ))
                ),
                Write::Conflict,
                "a change expecting another policy version must conflict"
            );
        }
    }
    let newcomer = unique_user("newcomer");
    assert_eq!(
        ok(
            "commit",
            store.commit(&Commit::put(
                newcomer.id().clone(),
                Expected::new(Some(stale), Held::Nothing),
                record_for(&newcomer, &policy)
            ))
        ),
        Write::Conflict,
        "an insert expecting another policy version must conflict"
    );
    assert!(stored(store, newcomer.id()).is_none());

    // A record is only ever written under its own holder.
    let stranger = unique_user("stranger");
    assert_eq!(
        put(store, stranger.id(), Held::Nothing, &third),
        Write::Conflict,
        "a record must never be stored under another user"
    );
    assert!(stored(store, stranger.id()).is_none());
    assert_eq!(
        stored(store, id),
        Some((third, v5)),
        "conflicting changes change nothing"
    );

    // Other users are untouched by all of this.
    assert!(stored(store, unique_user("never").id()).is_none());
}

/// [`crate::store::Change::Remove`]: a deletion lands on the pass it names at whatever version
/// and under whatever policy, and on nothing else.
pub(super) fn check_removal<S: Store>(store: &S) {
    let policy = Policy::default();
    let user = unique_user("removal");
    let id = user.id();
    let first = record_for(&user, &policy);
    let remove = |pass: PassId| ok("remove", store.commit(&Commit::remove(id.clone(), pass)));
    assert_eq!(
        remove(*first.id()),
        Write::Conflict,
        "removing from a user without a record must conflict"
    );
    let Write::Written(v1) = put(store, id, Held::Nothing, &first) else {
        panic!("an insert for a user without a record must succeed");
    };
    let Write::Written(v2) = put(store, id, exactly(&first, v1), &first) else {
        panic!("a change expecting the current version must succeed");
    };
    assert_eq!(
        remove(PassId::from_bytes([0xee; 16])),
        Write::Conflict,
        "removing another pass id must conflict"
    );
    let stranger = unique_user("removal-stranger");
    assert_eq!(
        ok(
            "remove",
            store.commit(&Commit::remove(stranger.id().clone(), *first.id()))
        ),
        Write::Conflict,
        "removing a pass under another user must conflict"
    );
    assert_eq!(
        stored(store, id),
        Some((first.clone(), v2)),
        "a conflicting removal changes nothing"
    );

    // The version and the policy are not part of it: after another write and a policy
    // change, the pass is still the one named.
    let Write::Written(v3) = put(store, id, exactly(&first, v2), &first) else {
        panic!("a change expecting the current version must succeed");
    };
    let current = ok("load policy", store.load_policy()).map(|v| v.version);
    let Write::Written(_) = ok(
        "commit policy",
        store.commit(&Commit::policy(current, policy.clone())),
    ) else {
        panic!("writing the policy at its current version must succeed");
    };
    assert_eq!(
        remove(*first.id()),
        Write::Written(v3),
        "removing the stored pass must land and report the version it removed"
    );
    assert!(stored(store, id).is_none(), "removed");
    assert_eq!(
        remove(*first.id()),
        Write::Conflict,
        "removing twice must conflict"
    );

    // A removal naming a pass that was replaced never takes its successor.
    let Write::Written(v) = put(store, id, Held::Nothing, &first) else {
        panic!("an insert for a user without a record must succeed");
    };
    let second = record_for(&user, &policy);
    let Write::Written(v) = put(store, id, exactly(&first, v), &second) else {
        panic!("replacing one pass with another must succeed");
    };
    assert_eq!(
        remove(*first.id()),
        Write::Conflict,
        "removing a pass that was replaced must conflict"
    );
    assert_eq!(
        stored(store, id),
        Some((second.clone(), v)),
        "and its successor stays"
    );
    assert_eq!(remove(*second.id()), Write::Written(v));
}

/// [`crate::store::Change::Keep`]: lands, changing nothing, only while the pass named is
/// stored, at whatever version and under whatever policy.
pub(super) fn check_keep<S: Store>(store: &S) {
    let policy = Policy::default();
    let user = unique_user("keep");
    let id = user.id();
    let first = record_for(&user, &policy);
    let keep = |pass: PassId| ok("keep", store.commit(&Commit::keep(id.clone(), pass)));
    assert_eq!(
        keep(*first.id()),
        Write::Conflict,
        "keeping a pass of a user without a record must conflict"
    );
    let Write::Written(v1) = put(store, id, Held::Nothing, &first) else {
        panic!("an insert for a user without a record must succeed");
    };
    let Write::Written(v2) = put(store, id, exactly(&first, v1), &first) else {
        panic!("a change expecting the current version must succeed");
    };
    assert_eq!(
        keep(*first.id()),
        Write::Written(v2),
        "keeping the stored pass must land, at the version stored"
    );
    assert_eq!(
        stored(store, id),
        Some((first.clone(), v2)),
        "keeping changes neither the record nor its version"
    );
    assert_eq!(
        keep(PassId::from_bytes([0xee; 16])),
        Write::Conflict,
        "keeping another pass must conflict"
    );
    assert_eq!(remove_and(store, id, &first), Write::Written(v2));
    assert_eq!(
        keep(*first.id()),
        Write::Conflict,
        "keeping a deleted pass must conflict"
    );
}

fn remove_and<S: Store>(store: &S, user: &UserId, record: &TemporaryAccessPass) -> Write {
    ok(
        "remove",
        store.commit(&Commit::remove(user.clone(), *record.id())),
    )
}

pub(super) fn check_policy<S: Store>(store: &S) {
    let policy = Policy::default();
    let current = ok("load policy", store.load_policy()).map(|v| v.version);
    let write = |expected, policy: &Policy| {
        ok(
            "commit policy",
            store.commit(&Commit::policy(expected, policy.clone())),
        )
    };
    let Write::Written(p1) = write(current, &policy) else {
        panic!("writing the policy at its current version must succeed");
    };
    assert_eq!(
        write(current, &policy),
        Write::Conflict,
        "a stale policy version must never be accepted"
    );
    let enabled =
        Policy::new(PolicySettings::new().state(PolicyState::Enabled)).expect("a valid policy");
    let Write::Written(p2) = write(Some(p1), &enabled) else {
        panic!("writing the policy at its current version must succeed");
    };
    assert_ne!(p1, p2);
    let read = ok("load policy", store.load_policy()).expect("a stored policy");
    assert_eq!((read.version, read.value), (p2, enabled.clone()));
    let user = unique_user("policy");
    let with_record = ok("load", store.load(user.id()));
    assert_eq!(
        with_record.policy.map(|p| (p.version, p.value)),
        Some((p2, enabled)),
        "load reads the same policy as load_policy"
    );
    assert_eq!(
        write(None, &policy),
        Write::Conflict,
        "`None` must mean: only if no policy is stored"
    );
}

/// An event only this check writes: the `n`th marker of `user`.
fn marker(user: &UserId, n: u8) -> Event {
    Event::SessionsRevoked {
        user: user.clone(),
        pass: PassId::from_bytes([n; 16]),
        at: NOW,
    }
}

/// The markers of `user` in the outbox, with their numbers, in the order read.
fn markers<S: Store>(store: &S, user: &UserId, after: Sequence) -> Vec<(Sequence, u8)> {
    let mut found = Vec::new();
    let mut cursor = after;
    loop {
        let page = ok("read events", store.read_events(cursor, 64));
        let Some(last) = page.last() else {
            return found;
        };
        assert!(page.len() <= 64, "read_events must respect its limit");
        for recorded in &page {
            assert!(
                recorded.sequence > cursor,
                "events must come in increasing order, after the number asked for"
            );
            cursor = recorded.sequence;
            if let Event::SessionsRevoked { user: u, pass, .. } = &recorded.event
                && u == user
            {
                found.push((recorded.sequence, pass.as_bytes()[0]));
            }
        }
        cursor = last.sequence;
    }
}

/// The outbox (SPEC 7.1): every change that lands appends its events, in order, numbered above
/// everything before; a change that conflicts appends nothing; reading honours `after` and
/// `limit`; pruning forgets only what is before the number given, and numbers are not reused.
#[expect(
    clippy::too_many_lines,
    reason = "one linear script of the outbox's guarantees reads best in order"
)]
pub(super) fn check_outbox<S: Store>(store: &S) {
    let policy = Policy::default();
    let user = unique_user("outbox");
    let id = user.id();
    let record = record_for(&user, &policy);
    let start = ok(
        "read events",
        store.read_events(Sequence::START, usize::MAX),
    )
    .last()
    .map_or(Sequence::START, |r| r.sequence);
    let policy_now = ok("load policy", store.load_policy()).map(|p| p.version);
    let with = |commit: Commit, markers: &[u8]| {
        let events = markers.iter().map(|n| marker(id, *n)).collect();
        ok("commit", store.commit(&commit.with_events(events)))
    };

    // Landed changes of every kind append their events; conflicting ones append none.
    let Write::Written(v1) = with(
        Commit::put(
            id.clone(),
            Expected::new(policy_now, Held::Nothing),
            record.clone(),
        ),
        &[1, 2],
    ) else {
        panic!("an insert for a user without a record must succeed");
    };
    assert_eq!(
        with(
            Commit::put(
                id.clone(),
                Expected::new(policy_now, Held::Nothing),
                record.clone()
            ),
            &[90]
        ),
        Write::Conflict
    );
    let Write::Written(v2) = with(
        Commit::put(
            id.clone(),
            Expected::new(policy_now, exactly(&record, v1)),
            record.clone(),
        ),
        &[3],
    ) else {
        panic!("a change expecting the current version must succeed");
    };
    assert_eq!(
        with(
            Commit::put(
                id.clone(),
                Expected::new(policy_now, exactly(&record, v1)),
                record.clone()
            ),
            &[91]
        ),
        Write::Conflict
    );
    assert_eq!(
        with(Commit::keep(id.clone(), *record.id()), &[4]),
        Write::Written(v2)
    );
    assert_eq!(
        with(
            Commit::keep(id.clone(), PassId::from_bytes([0xee; 16])),
            &[92]
        ),
        Write::Conflict
    );
    let Write::Written(_) = with(Commit::policy(policy_now, policy.clone()), &[5]) else {
        panic!("writing the policy at its current version must succeed");
    };
    assert_eq!(
        with(Commit::policy(policy_now, policy), &[93]),
        Write::Conflict
    );
    assert_eq!(
        with(Commit::remove(id.clone(), *record.id()), &[6, 7]),
        Write::Written(v2)
    );
    assert_eq!(
        with(Commit::remove(id.clone(), *record.id()), &[94]),
        Write::Conflict
    );
    assert!(
        stored(store, id).is_none(),
        "the record is gone with its events"
    );

    let found = markers(store, id, start);
    assert_eq!(
        found.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5, 6, 7],
        "the events of every landed change, once each, in commit order, and none of a conflict"
    );

    // `after` and `limit`.
    let number = |i: usize| found.get(i).map_or(Sequence::START, |(s, _)| *s);
    let (first, second, last) = (number(0), number(1), number(6));
    let one = ok("read events", store.read_events(first, 1));
    assert_eq!(
        one.iter().map(|r| r.sequence).collect::<Vec<_>>(),
        vec![second],
        "a limit of 1 reads one event, and reading after an event's number starts with the next"
    );
    assert!(
        ok("read events", store.read_events(first, 0)).is_empty(),
        "a limit of 0 reads nothing"
    );
    assert!(
        ok("read events", store.read_events(last, usize::MAX))
            .iter()
            .all(|r| r.sequence > last),
        "nothing at or before the number asked for"
    );

    // Pruning forgets what is before the number given, and only that.
    let pruned = ok("prune events", store.prune_events(second));
    assert!(
        pruned >= 1,
        "pruning before the second marker forgets the first"
    );
    let left = markers(store, id, Sequence::START);
    assert_eq!(
        left.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
        vec![2, 3, 4, 5, 6, 7],
        "pruning forgets the events before the number, and keeps the rest"
    );
    assert_eq!(
        ok("prune events", store.prune_events(second)),
        0,
        "pruning again before the same number forgets nothing more"
    );

    // Numbers are never reused: the next event is numbered after every event so far, pruned
    // ones included.
    let after = unique_user("outbox-after");
    let next = record_for(&after, &Policy::default());
    let policy_now = ok("load policy", store.load_policy()).map(|p| p.version);
    let Write::Written(_) = ok(
        "commit",
        store.commit(
            &Commit::put(
                after.id().clone(),
                Expected::new(policy_now, Held::Nothing),
                next,
            )
            .with_events(vec![marker(after.id(), 8)]),
        ),
    ) else {
        panic!("an insert for a user without a record must succeed");
    };
    let latest = markers(store, after.id(), Sequence::START);
    assert!(
        matches!(latest.as_slice(), [(n, 8)] if *n > last),
        "a new event is numbered after every earlier one, pruned ones included: {latest:?}"
    );
}
