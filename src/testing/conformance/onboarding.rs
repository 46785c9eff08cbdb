//! The conformance of registered methods and ceremonies (SPEC 8.4-8.6): the store's own
//! conditional changes, the engine's operations over them, and their races with real threads.

use alloc::format;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};
use std::sync::Barrier;
use std::thread;

use time::Duration;

use super::{NOW, admin, engine_for, engine_with, key, ok, record_for, unique_user};
use crate::ceremony::{Ceremony, CeremonyId, CeremonyKind};
use crate::clock::ManualClock;
use crate::config::EngineConfig;
use crate::create::CreateRequest;
use crate::engine::{Engine, EngineError};
use crate::event::Event;
use crate::ids::{PassId, UserId};
use crate::method::{MethodId, MethodName, MethodOrigin, NewMethod, RegisteredMethod};
use crate::onboarding::{AddMethodError, PasskeyError, ProvisionError};
use crate::principal::{DirectoryRole, Principal};
use crate::signin::{Client, Grant, RegistrationError, SignInRequest};
use crate::store::{Change, Commit, Expected, Held, Read, Sequence, Store, Version, Write};

mod engine;
mod races;

pub use engine::check_onboarding;
pub use races::{race_method_cap, race_pass_deletion_and_registration, race_taking_a_state};

/// A method `n` for `user`, with a credential of its own.
fn new_method(label: &str, n: usize) -> NewMethod {
    let id = MethodId::new(&format!("{label}-{n}")).expect("a token");
    let name = MethodName::new(&format!("key {n}")).expect("a name");
    NewMethod::new(id, name, format!("credential {label} {n}").into_bytes())
}

/// `t` plus `d`, which the suite keeps far from `time`'s edges.
fn after(t: time::UtcDateTime, d: Duration) -> time::UtcDateTime {
    t.checked_add(d).expect("the suite's instants are in range")
}

fn ceremony_id(label: &str, n: usize) -> CeremonyId {
    CeremonyId::new(&format!("conformance-ceremony-{label}-{n:04}")).expect("a token")
}

/// A registration session `ceremony` of `user` under `pass`, opened at `opened`, its window and
/// itself ending three hours after [`NOW`].
fn registration(
    ceremony: CeremonyId,
    user: &UserId,
    pass: PassId,
    opened: time::UtcDateTime,
) -> Ceremony {
    Ceremony::new(
        ceremony,
        user.clone(),
        CeremonyKind::Registration {
            pass,
            until: after(NOW, Duration::hours(3)),
        },
        opened,
        after(NOW, Duration::hours(3)),
    )
    .expect("a ceremony")
}

/// A user holding a pass, signed in with it: the user, and the grant (its window is the
/// pass's, multi-use).
fn signed_in<S: Store>(engine: &Engine<&ManualClock, &S>, label: &str) -> (Principal, Grant) {
    let user = unique_user(label);
    let created = ok(
        "creating a pass",
        engine.create(
            &admin(),
            &user,
            &CreateRequest::new(),
            &mut getrandom::SysRng,
        ),
    );
    let redemption = ok(
        "signing in",
        engine.redeem(
            &user,
            created.passcode.expose_secret(),
            SignInRequest::new(Client::Browser),
        ),
    );
    let grant = redemption
        .outcome
        .unwrap_or_else(|e| panic!("the holder's sign-in was refused: {e}"));
    (user, grant)
}

/// The events of the outbox after `after`, as a list.
fn events_after<S: Store>(store: &S, after: Sequence) -> Vec<Event> {
    ok("reading the outbox", store.read_events(after, 10_000))
        .into_iter()
        .map(|r| r.event)
        .collect()
}

fn last_sequence<S: Store>(store: &S) -> Sequence {
    ok(
        "reading the outbox",
        store.read_events(Sequence::START, usize::MAX),
    )
    .last()
    .map_or(Sequence::START, |r| r.sequence)
}

fn stored_method(user: &UserId, n: usize) -> RegisteredMethod {
    RegisteredMethod::new(
        new_method("direct", n),
        user.clone(),
        MethodOrigin::ByAdministrator(admin().initiator()),
        NOW,
    )
    .expect("a method")
}

/// The store's own changes of methods and ceremonies, each conditional: a method added only
/// while its pass is held, within the cap and once per id, its events with it; updated only at
/// the version read; removed at any version. A ceremony stored once per id, only while its pass
/// is held, its user's oldest of a kind forgotten beyond the cap and those that are over
/// forgotten; updated and removed only at the version read; a pass deleted or replaced ending
/// its registration sessions in the same write; pruning forgetting what is over.
///
/// # Panics
///
/// When the store breaks a guarantee, with a message naming it.
#[expect(
    clippy::too_many_lines,
    reason = "one guarantee after another, in order"
)]
pub fn check_methods_and_ceremonies<S: Store>(store: &S) {
    let policy = crate::policy::Policy::default();
    let user = unique_user("methods");
    let id = user.id().clone();
    let record = record_for(&user, &policy);
    let pass = *record.id();
    let stored_policy = ok("loading", store.load(&id)).policy.map(|p| p.version);
    let put = Commit::put(
        id.clone(),
        Expected::new(stored_policy, Held::Nothing),
        record,
    );
    assert!(
        matches!(ok("storing a pass", store.commit(&put)), Write::Written(_)),
        "a pass for a new user is stored"
    );
    let before = last_sequence(store);
    let event = Event::MethodRegistered {
        user: id.clone(),
        method: stored_method(&id, 0).id().clone(),
        origin: MethodOrigin::ThroughPass(pass),
        at: NOW,
    };
    let add = |n: usize, held, cap| {
        Commit::new(
            Change::AddMethod {
                user: id.clone(),
                held,
                method: stored_method(&id, n),
                cap,
            },
            vec![event.clone()],
        )
    };
    let other = crate::ids::PassId::from_bytes([7; 16]);
    assert_eq!(
        ok("adding a method", store.commit(&add(0, Some(other), 20))),
        Write::Conflict,
        "a method whose pass is not held is not added"
    );
    assert_eq!(
        ok("adding a method", store.commit(&add(0, Some(pass), 20))),
        Write::Written(Version::FIRST),
        "a method whose pass is held is added at the first version"
    );
    assert_eq!(
        ok("adding a method", store.commit(&add(0, None, 20))),
        Write::Conflict,
        "a method id is added once for a user"
    );
    assert_eq!(
        ok("adding a method", store.commit(&add(1, None, 2))),
        Write::Written(Version::FIRST)
    );
    assert_eq!(
        ok("adding a method", store.commit(&add(2, None, 2))),
        Write::Conflict,
        "a user at the cap gets no more methods"
    );
    let methods = ok("loading methods", store.load_methods(&id));
    assert_eq!(
        methods
            .iter()
            .map(|m| m.value.id().clone())
            .collect::<Vec<_>>(),
        vec![
            stored_method(&id, 0).id().clone(),
            stored_method(&id, 1).id().clone()
        ],
        "methods read back oldest first"
    );
    assert_eq!(
        methods.first().map(|m| &m.value),
        Some(&stored_method(&id, 0)),
        "a method reads back as written"
    );
    assert_eq!(
        events_after(store, before),
        vec![event.clone(), event.clone()],
        "each added method's events, and none for a refused one"
    );
    let used = stored_method(&id, 0)
        .used(b"moved".to_vec(), NOW)
        .expect("a credential");
    let update = |expected| {
        Commit::new(
            Change::UpdateMethod {
                user: id.clone(),
                expected,
                method: used.clone(),
            },
            Vec::new(),
        )
    };
    assert_eq!(
        ok("updating a method", store.commit(&update(Version::new(9)))),
        Write::Conflict,
        "a method is updated only at the version read"
    );
    // Another user's method under the same id, written as this user's: refused, the stored
    // method unchanged.
    let theirs = stored_method(&UserId::new("someone-else@contoso.com").expect("an id"), 0)
        .used(b"moved".to_vec(), NOW)
        .expect("a credential");
    let misfiled = Commit::new(
        Change::UpdateMethod {
            user: id.clone(),
            expected: Version::FIRST,
            method: theirs,
        },
        Vec::new(),
    );
    assert_eq!(
        ok("updating a method", store.commit(&misfiled)),
        Write::Conflict,
        "a method is updated only as its own user's"
    );
    assert_eq!(
        ok("updating a method", store.commit(&update(Version::FIRST))),
        Write::Written(Version::FIRST.next())
    );
    assert_eq!(
        ok("updating a method", store.commit(&update(Version::FIRST))),
        Write::Conflict,
        "an update lands once at a version"
    );
    let remove = Commit::new(
        Change::RemoveMethod {
            user: id.clone(),
            id: used.id().clone(),
        },
        Vec::new(),
    );
    assert_eq!(
        ok("removing a method", store.commit(&remove)),
        Write::Written(Version::FIRST.next()),
        "a method is removed at whatever version, its version returned"
    );
    assert_eq!(
        ok("removing a method", store.commit(&remove)),
        Write::Conflict
    );

    // Ceremonies.
    let session = |n: usize, opened| registration(ceremony_id("direct", n), &id, pass, opened);
    let open = |ceremony: Ceremony, held, per_user| {
        Commit::new(
            Change::OpenCeremony {
                ceremony,
                held,
                per_user,
            },
            Vec::new(),
        )
    };
    assert_eq!(
        ok(
            "opening",
            store.commit(&open(session(0, NOW), Some(other), 8))
        ),
        Write::Conflict,
        "a session whose pass is not held is not opened"
    );
    for n in 0..3 {
        assert_eq!(
            ok(
                "opening",
                store.commit(&open(session(n, NOW), Some(pass), 2))
            ),
            Write::Written(Version::FIRST)
        );
    }
    let read = |n| {
        ok(
            "reading a ceremony",
            store.load_ceremony(&id, &ceremony_id("direct", n)),
        )
    };
    assert!(read(0).is_none(), "the oldest beyond the cap is forgotten");
    assert!(read(1).is_some() && read(2).is_some());
    assert_eq!(
        ok("opening", store.commit(&open(session(2, NOW), None, 8))),
        Write::Conflict,
        "a ceremony id is stored once"
    );
    let stranger = unique_user("stranger");
    assert!(
        ok(
            "reading",
            store.load_ceremony(stranger.id(), &ceremony_id("direct", 1))
        )
        .is_none(),
        "a ceremony is read only for its user"
    );
    let with_state = session(1, NOW)
        .with_state(Some(b"options".to_vec()))
        .expect("a small state");
    let set = |expected| {
        Commit::new(
            Change::UpdateCeremony {
                expected,
                ceremony: with_state.clone(),
            },
            Vec::new(),
        )
    };
    assert_eq!(
        ok("setting", store.commit(&set(Version::new(5)))),
        Write::Conflict
    );
    assert_eq!(
        ok("setting", store.commit(&set(Version::FIRST))),
        Write::Written(Version::FIRST.next())
    );
    assert_eq!(
        read(1).map(|c| (c.version, c.value)),
        Some((Version::FIRST.next(), with_state.clone())),
        "a ceremony's state reads back"
    );
    assert_eq!(
        ok("setting", store.commit(&set(Version::FIRST))),
        Write::Conflict,
        "a state is taken or set once at a version"
    );
    let remove_ceremony = |n, expected| {
        Commit::new(
            Change::RemoveCeremony {
                user: id.clone(),
                id: ceremony_id("direct", n),
                expected,
            },
            Vec::new(),
        )
    };
    assert_eq!(
        ok(
            "removing",
            store.commit(&remove_ceremony(2, Version::new(3)))
        ),
        Write::Conflict
    );
    assert_eq!(
        ok(
            "removing",
            store.commit(&remove_ceremony(2, Version::FIRST))
        ),
        Write::Written(Version::FIRST)
    );
    assert!(read(2).is_none());
    // An expired one is forgotten when another of its kind opens, and by pruning.
    let later = after(NOW, Duration::hours(2));
    let sign_in = |n: usize, opened: time::UtcDateTime| {
        Ceremony::new(
            ceremony_id("sign-in", n),
            id.clone(),
            CeremonyKind::SignIn,
            opened,
            after(opened, Duration::minutes(5)),
        )
        .expect("a ceremony")
    };
    assert_eq!(
        ok("opening", store.commit(&open(sign_in(0, NOW), None, 8))),
        Write::Written(Version::FIRST)
    );
    assert_eq!(
        ok("opening", store.commit(&open(sign_in(1, later), None, 8))),
        Write::Written(Version::FIRST)
    );
    assert!(
        ok(
            "reading",
            store.load_ceremony(&id, &ceremony_id("sign-in", 0))
        )
        .is_none(),
        "a ceremony over when another of its kind opens is forgotten"
    );
    assert!(
        ok(
            "pruning",
            store.prune_ceremonies(after(later, Duration::minutes(5)))
        ) >= 1
    );
    assert!(
        ok(
            "reading",
            store.load_ceremony(&id, &ceremony_id("sign-in", 1))
        )
        .is_none(),
        "pruning forgets what is over"
    );
    // The pass deleted ends its sessions in the same write.
    assert!(read(1).is_some());
    let loaded = ok(
        "loading",
        store.load_with(
            &Read::user(id.clone())
                .methods()
                .ceremony(ceremony_id("direct", 1)),
        ),
    );
    assert!(loaded.record.is_some() && loaded.ceremony.is_some());
    assert_eq!(loaded.methods.len(), 1, "one method left");
    assert!(matches!(
        ok("deleting", store.commit(&Commit::remove(id.clone(), pass))),
        Write::Written(_)
    ));
    assert!(read(1).is_none(), "deleting the pass ends its sessions");
    assert_eq!(
        ok("loading methods", store.load_methods(&id)).len(),
        1,
        "deleting the pass keeps the user's methods"
    );
    // A write of the same pass (a sign-in's) keeps its sessions; the pass replaced by another
    // ends them in the same write.
    let first = record_for(&user, &policy);
    let first_pass = *first.id();
    let expect = |record| Expected::new(stored_policy, record);
    assert!(matches!(
        ok(
            "storing a pass",
            store.commit(&Commit::put(
                id.clone(),
                expect(Held::Nothing),
                first.clone()
            ))
        ),
        Write::Written(_)
    ));
    // A registration session under the stored pass, the `n`th, and reading it back.
    let open_session = |n, pass| {
        let under = registration(ceremony_id("replaced", n), &id, pass, NOW);
        assert_eq!(
            ok("opening", store.commit(&open(under, Some(pass), 8))),
            Write::Written(Version::FIRST)
        );
    };
    let session = |n| {
        ok(
            "reading a ceremony",
            store.load_ceremony(&id, &ceremony_id("replaced", n)),
        )
    };
    let lands = |what, commit| {
        assert!(
            matches!(ok(what, store.commit(&commit)), Write::Written(_)),
            "{what}: a conflict"
        );
    };
    let stored = || {
        ok("loading", store.load(&id))
            .record
            .expect("the user's pass")
    };
    open_session(0, first_pass);
    let same_pass = Commit::put(id.clone(), expect(Held::Exactly(stored().stamp())), first);
    lands("writing the same pass", same_pass);
    assert!(
        session(0).is_some(),
        "a write of the same pass ends its sessions"
    );
    let replacing = Commit::put(
        id.clone(),
        expect(Held::Exactly(stored().stamp())),
        record_for(&user, &policy),
    );
    lands("replacing the pass", replacing);
    assert!(session(0).is_none(), "replacing the pass ends its sessions");
    // The engine's replacement commits on the pass id whatever its version (SPEC 6.7): that
    // ends the replaced pass's sessions too, and a write on the same id keeps them.
    let second = stored().value;
    let second_pass = *second.id();
    open_session(1, second_pass);
    let same_id = Commit::put(id.clone(), expect(Held::Pass(second_pass)), second);
    lands("writing the same pass on its id", same_id);
    assert!(
        session(1).is_some(),
        "a write of the same pass on its id ends its sessions"
    );
    let replacing_on_id = Commit::put(
        id.clone(),
        expect(Held::Pass(second_pass)),
        record_for(&user, &policy),
    );
    lands("replacing the pass on its id", replacing_on_id);
    assert!(
        session(1).is_none(),
        "replacing the pass on its id ends its sessions"
    );
}

/// Every check of methods and ceremonies at the sizes CI uses.
///
/// # Panics
///
/// When the store breaks a guarantee, with a message naming it.
pub fn run_onboarding<S: Store>(store: &S) {
    check_methods_and_ceremonies(store);
    check_onboarding(store);
    race_method_cap(store, 10);
    race_pass_deletion_and_registration(store, 50);
    race_taking_a_state(store, store, 50);
}
