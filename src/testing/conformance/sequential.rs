//! The sequential guarantees of a store: every write is conditional on the policy version and
//! the user's record (a removal on the pass id), versions change on every write, and nothing
//! else is touched.

use super::{ok, record_for, unique_user};
use crate::ids::{PassId, UserId};
use crate::pass::{DUMMY_PASS_ID, TemporaryAccessPass};
use crate::policy::{Policy, PolicySettings, PolicyState};
use crate::store::{Expected, RecordStamp, Store, Version, Write};

/// Writes `record` for its holder, expecting `record_now`, under the policy version stored now.
fn put<S: Store>(
    store: &S,
    user: &UserId,
    record_now: Option<RecordStamp>,
    record: Option<&TemporaryAccessPass>,
) -> Write {
    let policy = ok("load", store.load(user)).policy.map(|p| p.version);
    ok(
        "write",
        store.write(user, &Expected::new(policy, record_now), record),
    )
}

#[expect(
    clippy::unnecessary_wraps,
    reason = "an expectation's record part is an option; every caller passes it as one"
)]
fn stamp(record: &TemporaryAccessPass, version: Version) -> Option<RecordStamp> {
    Some(RecordStamp::new(*record.id(), version))
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

    assert!(
        ok("load", store.load(id)).record.is_none(),
        "a new user has no record"
    );
    let Write::Written(v1) = put(store, id, None, Some(&first)) else {
        panic!("an insert for a user without a record must succeed");
    };
    assert_eq!(
        put(store, id, None, Some(&first)),
        Write::Conflict,
        "an insert must be create-only"
    );
    let read = ok("load", store.load(id))
        .record
        .expect("the inserted record");
    assert_eq!(read.version, v1, "load returns the version written");
    assert_eq!(read.value, first, "load returns the record written");

    // Compare-and-swap on the version.
    let wrong_version = Version::new(v1.get().wrapping_add(7));
    assert_eq!(
        put(store, id, stamp(&first, wrong_version), Some(&first)),
        Write::Conflict,
        "a write expecting a wrong version must conflict"
    );
    let Write::Written(v2) = put(store, id, stamp(&first, v1), Some(&first)) else {
        panic!("a write expecting the current version must succeed");
    };
    assert_ne!(v2, v1, "a write must change the version");
    assert_eq!(
        put(store, id, stamp(&first, v1), Some(&first)),
        Write::Conflict,
        "a stale version must never be accepted"
    );
    assert_eq!(
        put(store, id, stamp(&first, v1), None),
        Write::Conflict,
        "a deletion expecting a stale version must conflict"
    );

    // Compare-and-swap on the pass id: a new pass replacing the old one.
    let second = record_for(&user, &policy);
    assert_eq!(
        put(
            store,
            id,
            Some(RecordStamp::new(PassId::from_bytes([0xee; 16]), v2)),
            Some(&second)
        ),
        Write::Conflict,
        "a write expecting another pass id must conflict"
    );
    let Write::Written(v3) = put(store, id, stamp(&first, v2), Some(&second)) else {
        panic!("replacing one pass with another must succeed");
    };
    let read = ok("load", store.load(id))
        .record
        .expect("the replaced record");
    assert_eq!((read.value, read.version), (second.clone(), v3));
    assert_eq!(
        put(store, id, stamp(&first, v3), None),
        Write::Conflict,
        "a deletion naming the old pass id must conflict"
    );

    // The policy is part of every expectation.
    let policy_now = ok("load", store.load(id)).policy.map(|p| p.version);
    for stale in [
        Some(Version::NEVER),
        Some(policy_now.map_or(Version::FIRST, Version::next)),
    ] {
        for record in [Some(&second), None] {
            assert_eq!(
                ok(
                    "write",
                    store.write(id, &Expected::new(stale, stamp(&second, v3)), record)
                ),
                Write::Conflict,
                "a write expecting another policy version must conflict"
            );
        }
    }
    if policy_now.is_some() {
        assert_eq!(
            ok(
                "write",
                store.write(id, &Expected::new(None, stamp(&second, v3)), Some(&second))
            ),
            Write::Conflict,
            "expecting no policy when one is stored must conflict"
        );
    }

    // A record is only ever written under its own holder.
    let stranger = unique_user("stranger");
    assert_eq!(
        put(store, stranger.id(), None, Some(&second)),
        Write::Conflict,
        "a record must never be stored under another user"
    );
    assert!(ok("load", store.load(stranger.id())).record.is_none());

    // Delete, then the slot is free again, and the old expectation stays dead.
    assert!(matches!(
        put(store, id, stamp(&second, v3), None),
        Write::Written(_)
    ));
    assert!(ok("load", store.load(id)).record.is_none(), "deleted");
    assert_eq!(
        put(store, id, stamp(&second, v3), None),
        Write::Conflict,
        "deleting twice must conflict"
    );
    assert_eq!(
        put(store, id, None, None),
        Write::Conflict,
        "deleting a record expected absent must conflict"
    );
    assert_eq!(
        put(store, id, stamp(&second, v3), Some(&second)),
        Write::Conflict,
        "a write on a deleted record must conflict"
    );
    let third = record_for(&user, &policy);
    assert!(matches!(
        put(store, id, None, Some(&third)),
        Write::Written(_)
    ));
    let read = ok("load", store.load(id))
        .record
        .expect("the re-inserted record");
    assert_eq!(
        put(
            store,
            id,
            Some(RecordStamp::new(*second.id(), read.version)),
            Some(&third)
        ),
        Write::Conflict,
        "an expectation on a deleted pass must not match its successor"
    );

    // An expectation of `Version::NEVER` (what the engine sends for a user without a pass)
    // never holds, whether or not the user has a record.
    for pass in [*third.id(), DUMMY_PASS_ID] {
        assert_eq!(
            put(
                store,
                id,
                Some(RecordStamp::new(pass, Version::NEVER)),
                Some(&third)
            ),
            Write::Conflict,
            "a write expecting Version::NEVER must conflict"
        );
    }
    assert!(matches!(
        put(store, id, Some(read.stamp()), None),
        Write::Written(_)
    ));
    let nobody = unique_user("nobody");
    assert_eq!(
        put(
            store,
            nobody.id(),
            Some(RecordStamp::new(DUMMY_PASS_ID, Version::NEVER)),
            Some(&record_for(&nobody, &policy))
        ),
        Write::Conflict,
        "a write expecting Version::NEVER for a user without a record must conflict"
    );
    assert!(
        ok("load", store.load(nobody.id())).record.is_none(),
        "a conflicting write stores nothing"
    );

    // Other users are untouched by all of this.
    assert!(
        ok("load", store.load(unique_user("never").id()))
            .record
            .is_none()
    );
}

/// [`Store::remove`]: a deletion lands on the pass it names at whatever version and under
/// whatever policy, and on nothing else.
pub(super) fn check_removal<S: Store>(store: &S) {
    let policy = Policy::default();
    let user = unique_user("removal");
    let id = user.id();
    let first = record_for(&user, &policy);
    assert_eq!(
        ok("remove", store.remove(id, *first.id())),
        Write::Conflict,
        "removing from a user without a record must conflict"
    );
    let Write::Written(v1) = put(store, id, None, Some(&first)) else {
        panic!("an insert for a user without a record must succeed");
    };
    let Write::Written(v2) = put(store, id, stamp(&first, v1), Some(&first)) else {
        panic!("a write expecting the current version must succeed");
    };
    assert_eq!(
        ok("remove", store.remove(id, PassId::from_bytes([0xee; 16]))),
        Write::Conflict,
        "removing another pass id must conflict"
    );
    let stranger = unique_user("removal-stranger");
    assert_eq!(
        ok("remove", store.remove(stranger.id(), *first.id())),
        Write::Conflict,
        "removing a pass under another user must conflict"
    );
    assert_eq!(
        ok("load", store.load(id)).record.map(|r| r.stamp()),
        stamp(&first, v2),
        "a conflicting removal changes nothing"
    );

    // The version and the policy are not part of it: after another write and a policy
    // change, the pass is still the one named.
    let Write::Written(v3) = put(store, id, stamp(&first, v2), Some(&first)) else {
        panic!("a write expecting the current version must succeed");
    };
    let current = ok("load policy", store.load_policy()).map(|v| v.version);
    let Write::Written(_) = ok("write policy", store.write_policy(current, &policy)) else {
        panic!("writing the policy at its current version must succeed");
    };
    assert_eq!(
        ok("remove", store.remove(id, *first.id())),
        Write::Written(v3),
        "removing the stored pass must land and report the version it removed"
    );
    assert!(ok("load", store.load(id)).record.is_none(), "removed");
    assert_eq!(
        ok("remove", store.remove(id, *first.id())),
        Write::Conflict,
        "removing twice must conflict"
    );

    // A removal naming a pass that was replaced never takes its successor.
    let Write::Written(_) = put(store, id, None, Some(&first)) else {
        panic!("an insert for a user without a record must succeed");
    };
    let second = record_for(&user, &policy);
    let read = ok("load", store.load(id))
        .record
        .expect("the inserted record");
    let Write::Written(v) = put(store, id, Some(read.stamp()), Some(&second)) else {
        panic!("replacing one pass with another must succeed");
    };
    assert_eq!(
        ok("remove", store.remove(id, *first.id())),
        Write::Conflict,
        "removing a pass that was replaced must conflict"
    );
    assert_eq!(
        ok("load", store.load(id)).record.map(|r| r.stamp()),
        stamp(&second, v),
        "and its successor stays"
    );
    assert_eq!(
        ok("remove", store.remove(id, *second.id())),
        Write::Written(v)
    );
}

pub(super) fn check_policy<S: Store>(store: &S) {
    let policy = Policy::default();
    let current = ok("load policy", store.load_policy()).map(|v| v.version);
    let Write::Written(p1) = ok("write policy", store.write_policy(current, &policy)) else {
        panic!("writing the policy at its current version must succeed");
    };
    assert_eq!(
        ok("write policy", store.write_policy(current, &policy)),
        Write::Conflict,
        "a stale policy version must never be accepted"
    );
    let enabled =
        Policy::new(PolicySettings::new().state(PolicyState::Enabled)).expect("a valid policy");
    let Write::Written(p2) = ok("write policy", store.write_policy(Some(p1), &enabled)) else {
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
        ok("write policy", store.write_policy(None, &policy)),
        Write::Conflict,
        "`None` must mean: only if no policy is stored"
    );
}
