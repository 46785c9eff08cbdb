//! The races of methods and ceremonies with real threads: the cap under 32 registrations, a
//! pass's deletion against a registration, two instances taking one state.

use super::{
    AddMethodError, AtomicU32, Barrier, EngineError, Event, ManualClock, NOW, Ordering,
    RegistrationError, Store, admin, engine_for, events_after, format, last_sequence, new_method,
    ok, signed_in, thread,
};

/// 32 threads register distinct methods for one user through one session at once, `rounds`
/// times: exactly the cap (20) is stored each time, the rest refused as over it, never for
/// contention, and the outbox holds one event per stored method.
///
/// # Panics
///
/// When the store breaks a guarantee, with a message naming it.
pub fn race_method_cap<S: Store>(store: &S, rounds: u32) {
    const RACERS: usize = 32;
    let clock = ManualClock::new(NOW);
    let engine = engine_for(&clock, store, false);
    let cap = engine.config().methods_per_user;
    for round in 0..rounds {
        let (user, grant) = signed_in(&engine, "cap");
        let session = ok(
            "opening",
            engine.open_session(&user, &grant, &mut getrandom::SysRng),
        )
        .id()
        .clone();
        let before = last_sequence(store);
        let start = Barrier::new(RACERS);
        let (stored, over) = (AtomicU32::new(0), AtomicU32::new(0));
        thread::scope(|s| {
            for n in 0..RACERS {
                let (engine, user, session, start) = (&engine, &user, &session, &start);
                let (stored, over) = (&stored, &over);
                s.spawn(move || {
                    let new = new_method(&format!("cap-{round}"), n);
                    start.wait();
                    match engine.register_method(user, session, &new) {
                        Ok(_) => stored.fetch_add(1, Ordering::SeqCst),
                        Err(EngineError::Rejected(AddMethodError::TooMany { .. })) => {
                            over.fetch_add(1, Ordering::SeqCst)
                        }
                        Err(e) => panic!("round {round}: a registration failed otherwise: {e}"),
                    };
                });
            }
        });
        let held = ok("loading methods", store.load_methods(user.id())).len();
        assert_eq!(
            (stored.load(Ordering::SeqCst), held),
            (cap, usize::try_from(cap).unwrap_or(usize::MAX)),
            "round {round}: {RACERS} registrations over a cap of {cap} store exactly the cap"
        );
        let registered = events_after(store, before)
            .iter()
            .filter(|e| matches!(e, Event::MethodRegistered { user: u, .. } if u == user.id()))
            .count();
        assert_eq!(
            registered, held,
            "round {round}: one event per stored method"
        );
    }
}

/// A deletion of the pass races a registration through its session, `rounds` times: either
/// the method is stored with its event (it committed first), or neither is.
///
/// # Panics
///
/// When the store breaks a guarantee, with a message naming it.
pub fn race_pass_deletion_and_registration<S: Store>(store: &S, rounds: u32) {
    let clock = ManualClock::new(NOW);
    let engine = engine_for(&clock, store, false);
    let admin = admin();
    let mut registered = 0_u32;
    for round in 0..rounds {
        let (user, grant) = signed_in(&engine, "deletion-race");
        let session = ok(
            "opening",
            engine.open_session(&user, &grant, &mut getrandom::SysRng),
        )
        .id()
        .clone();
        let before = last_sequence(store);
        let start = Barrier::new(2);
        let new = new_method(&format!("deletion-race-{round}"), 0);
        let added = thread::scope(|s| {
            let adding = s.spawn(|| {
                start.wait();
                engine.register_method(&user, &session, &new)
            });
            start.wait();
            ok("deleting", engine.delete(&admin, &user));
            adding
                .join()
                .unwrap_or_else(|_| panic!("round {round}: the registration panicked"))
        });
        let methods = ok("loading methods", store.load_methods(user.id()));
        let events = events_after(store, before)
            .into_iter()
            .filter(|e| matches!(e, Event::MethodRegistered { .. }))
            .count();
        match added {
            Ok(_) => {
                registered = registered.saturating_add(1);
                assert_eq!(
                    (methods.len(), events),
                    (1, 1),
                    "round {round}: the key and its event"
                );
            }
            Err(EngineError::Rejected(AddMethodError::Registration(_))) => {
                assert_eq!(
                    (methods.len(), events),
                    (0, 0),
                    "round {round}: neither the key nor its event"
                );
            }
            Err(e) => panic!("round {round}: a registration failed otherwise: {e}"),
        }
    }
    assert!(registered <= rounds, "no more registrations than rounds");
}

/// Two stores over one database (two instances) take one session's outstanding state at once,
/// `rounds` times: exactly one gets it, the other is told none are outstanding.
///
/// # Panics
///
/// When the stores break a guarantee, with a message naming it.
pub fn race_taking_a_state<S: Store>(one: &S, other: &S, rounds: u32) {
    let clock = ManualClock::new(NOW);
    let a = engine_for(&clock, one, false);
    let b = engine_for(&clock, other, false);
    for round in 0..rounds {
        let (user, grant) = signed_in(&a, "take-race");
        let session = ok(
            "opening",
            a.open_session(&user, &grant, &mut getrandom::SysRng),
        )
        .id()
        .clone();
        ok(
            "setting",
            a.set_session_state(&user, &session, format!("state {round}").into_bytes()),
        );
        let start = Barrier::new(2);
        let (x, y) = thread::scope(|s| {
            let taking = s.spawn(|| {
                start.wait();
                b.take_session_state(&user, &session)
            });
            start.wait();
            let mine = a.take_session_state(&user, &session);
            (
                mine,
                taking
                    .join()
                    .unwrap_or_else(|_| panic!("round {round}: panicked")),
            )
        });
        let won = [&x, &y].iter().filter(|r| r.is_ok()).count();
        let none = [&x, &y]
            .iter()
            .filter(|r| matches!(r, Err(EngineError::Rejected(RegistrationError::NoOptions))))
            .count();
        assert_eq!(
            (won, none),
            (1, 1),
            "round {round}: exactly one instance takes the state: {x:?} {y:?}"
        );
    }
}
