//! The engine's operations over methods and ceremonies, one after another: sessions,
//! registrations, provisioning, deletion and passkey sign-ins, with their events.

use super::{
    AddMethodError, DirectoryRole, Duration, EngineConfig, EngineError, ManualClock, MethodOrigin,
    NOW, PasskeyError, Principal, ProvisionError, RegistrationError, Store, UserId, Vec, admin,
    after, ceremony_id, engine_with, events_after, key, last_sequence, new_method, ok, signed_in,
    unique_user,
};

/// The engine's operations of SPEC 8 over the store, in order: a session opened by a grant,
/// its options set and taken once, a method registered through it with its event, the cap
/// and the id refused by name, a provisioning begun and taken once and its method added, the
/// role matrix on listing and deletion, a deleted method and a deleted pass, a passkey
/// sign-in's state taken once, a method's use recorded only at the version verified, and a
/// blocked method refused.
///
/// # Panics
///
/// When the store breaks a guarantee, with a message naming it.
#[expect(clippy::too_many_lines, reason = "the life of a passkey, in order")]
pub fn check_onboarding<S: Store>(store: &S) {
    let clock = ManualClock::new(NOW);
    let config = EngineConfig::new(key()).methods_per_user(3);
    let engine = engine_with(&clock, store, false, config);
    let admin = admin();
    let (user, grant) = signed_in(&engine, "onboarding");
    let session = ok(
        "opening a session",
        engine.open_session(&user, &grant, &mut getrandom::SysRng),
    )
    .id()
    .clone();
    assert!(
        matches!(
            engine.take_session_state(&user, &session),
            Err(EngineError::Rejected(RegistrationError::NoOptions))
        ),
        "no options are outstanding before any are set"
    );
    ok(
        "setting options",
        engine.set_session_state(&user, &session, b"options".to_vec()),
    );
    assert_eq!(
        ok("taking", engine.take_session_state(&user, &session)),
        b"options"
    );
    assert!(
        matches!(
            engine.take_session_state(&user, &session),
            Err(EngineError::Rejected(RegistrationError::NoOptions))
        ),
        "options are taken once"
    );
    let stranger = unique_user("stranger");
    assert!(
        matches!(
            engine.set_session_state(&stranger, &session, Vec::new()),
            Err(EngineError::Rejected(RegistrationError::NoSession))
        ),
        "another user finds no session under the id"
    );
    let before = last_sequence(store);
    let first = ok(
        "registering",
        engine.register_method(&user, &session, &new_method("flow", 0)),
    );
    assert_eq!(first.origin(), &MethodOrigin::ThroughPass(grant.pass));
    assert_eq!(
        events_after(store, before),
        first.registration_events(),
        "a registration commits with its event"
    );
    assert!(
        matches!(
            engine.register_method(&user, &session, &new_method("flow", 0)),
            Err(EngineError::Rejected(AddMethodError::AlreadyRegistered(_)))
        ),
        "a method id registers once"
    );
    ok(
        "registering",
        engine.register_method(&user, &session, &new_method("flow", 1)),
    );

    // Provisioning by an administrator.
    let challenge = ceremony_id(user.id().as_str().get(..8).unwrap_or("x"), 1);
    let reader = Principal::member(UserId::new("conformance-reader").expect("an id"))
        .role(DirectoryRole::GlobalReader);
    assert!(
        matches!(
            engine.begin_provisioning(&reader, &user, &challenge, b"c", Duration::minutes(5)),
            Err(EngineError::Rejected(ProvisionError::Forbidden(_)))
        ),
        "a Global Reader provisions nothing"
    );
    ok(
        "provisioning",
        engine.begin_provisioning(&admin, &user, &challenge, b"creation", Duration::minutes(5)),
    );
    assert_eq!(
        ok(
            "taking",
            engine.take_provisioning(&admin, &user, &challenge)
        ),
        b"creation"
    );
    assert!(
        matches!(
            engine.take_provisioning(&admin, &user, &challenge),
            Err(EngineError::Rejected(ProvisionError::NoChallenge))
        ),
        "a provisioning challenge answers once"
    );
    let provisioned = ok(
        "provisioning",
        engine.provision_method(&admin, &user, &new_method("flow", 2)),
    );
    assert_eq!(
        provisioned.origin(),
        &MethodOrigin::ByAdministrator(admin.initiator())
    );
    assert!(
        matches!(
            engine.provision_method(&admin, &user, &new_method("flow", 3)),
            Err(EngineError::Rejected(AddMethodError::TooMany {
                cap: 3,
                ..
            }))
        ),
        "a user at the cap gets no more methods"
    );
    assert_eq!(
        ok("listing", engine.methods(&reader, &user)).len(),
        3,
        "a Global Reader lists them"
    );
    assert!(
        engine
            .delete_method(&reader, &user, provisioned.id())
            .is_err(),
        "a Global Reader deletes nothing"
    );
    let before = last_sequence(store);
    let deleted = ok(
        "deleting",
        engine.delete_method(&admin, &user, provisioned.id()),
    )
    .expect("the method was there");
    assert_eq!(events_after(store, before), deleted.events());
    assert!(
        ok(
            "deleting",
            engine.delete_method(&admin, &user, provisioned.id())
        )
        .is_none()
    );

    // A passkey sign-in.
    let sign_in = ceremony_id(user.id().as_str().get(..8).unwrap_or("x"), 2);
    ok(
        "starting",
        engine.begin_sign_in(user.id(), &sign_in, b"challenge", Duration::minutes(5)),
    );
    assert_eq!(
        ok("taking", engine.take_sign_in(user.id(), &sign_in)),
        b"challenge"
    );
    assert!(
        matches!(
            engine.take_sign_in(user.id(), &sign_in),
            Err(EngineError::Rejected(PasskeyError::NoSignIn))
        ),
        "a sign-in's state is taken once"
    );
    let keys = ok("reading keys", engine.passkeys(user.id()));
    let key_one = keys
        .iter()
        .find(|m| m.value.id() == first.id())
        .expect("the first key");
    clock.advance(Duration::seconds(1)).expect("in range");
    let used = ok(
        "recording a use",
        engine.use_method(user.id(), first.id(), key_one.version, b"counter 1"),
    );
    assert_eq!(used.last_used(), Some(after(NOW, Duration::seconds(1))));
    assert!(
        matches!(
            engine.use_method(user.id(), first.id(), key_one.version, b"counter 1"),
            Err(EngineError::Rejected(PasskeyError::Raced))
        ),
        "a use verified against an older version is refused"
    );
    let before = last_sequence(store);
    let blocked = ok("blocking", engine.block_method(user.id(), first.id())).expect("blocked");
    assert_eq!(events_after(store, before), blocked.block_events());
    assert!(
        ok("reading keys", engine.passkeys(user.id()))
            .iter()
            .all(|m| m.value.id() != first.id()),
        "a blocked method is no passkey"
    );

    // Deleting the pass ends the session.
    ok("deleting the pass", engine.delete(&admin, &user));
    assert!(
        matches!(
            engine.register_method(&user, &session, &new_method("flow", 4)),
            Err(EngineError::Rejected(AddMethodError::Registration(
                RegistrationError::NoSession
            )))
        ),
        "a session ends with its pass"
    );
}
