//! Where the rules are silent or could be read two ways, writing the reference model
//! (`testing::Model`) had to choose; `docs/spec.md` ("Readings") says which reading holds, and
//! each test here pins one, through the engine. The model reads the rules the same way, so the
//! model check holds the two together.

use temporary_access_pass::policy::UpdatePolicyError;
use temporary_access_pass::signin::{PasswordlessMethod, RedeemRefusal};
use temporary_access_pass::store::Store;
use temporary_access_pass::{
    BlockCause, Clock, CreateError, CreateRequest, DirectoryRole, EngineError, ManualClock,
    PolicyState, Usability,
};
use time::Duration;

use crate::support::{CREATED, aa, admin, browser, engine, engine_pass, ga, member, open_settings};

#[test]
fn reading_2_7_a_pass_that_has_not_started_yet_is_valid_and_must_be_deleted_first() {
    let clock = ManualClock::new(CREATED);
    let engine = engine(&clock);
    let user = member("u");
    let later = CreateRequest::new().start(CREATED + Duration::hours(2));
    let _ = engine
        .create(&ga(), &user, &later, &mut getrandom::SysRng)
        .unwrap();
    let again = engine.create(&ga(), &user, &CreateRequest::new(), &mut getrandom::SysRng);
    assert!(matches!(
        again,
        Err(EngineError::Rejected(
            CreateError::AlreadyHasValidPass { .. }
        ))
    ));
}

#[test]
fn reading_2_and_3_a_creation_is_refused_for_the_first_rule_it_breaks_in_a_fixed_order() {
    let clock = ManualClock::new(CREATED);
    let engine = engine(&clock);
    let user = member("u");
    let bad_lifetime = CreateRequest::new().lifetime_minutes(5);
    // The role first, whatever else is wrong.
    let forbidden = engine.create(&aa(), &ga(), &bad_lifetime, &mut getrandom::SysRng);
    assert!(matches!(
        forbidden,
        Err(EngineError::Rejected(CreateError::Forbidden(_)))
    ));
    // Then the pass already held, before the request's own faults.
    let _ = engine_pass(&engine, &user);
    let held = engine.create(&ga(), &user, &bad_lifetime, &mut getrandom::SysRng);
    assert!(matches!(
        held,
        Err(EngineError::Rejected(
            CreateError::AlreadyHasValidPass { .. }
        ))
    ));
    // Then the lifetime, before the start.
    let both = CreateRequest::new()
        .lifetime_minutes(5)
        .start(CREATED - Duration::MINUTE);
    let lifetime = engine.create(&ga(), &member("v"), &both, &mut getrandom::SysRng);
    assert!(matches!(
        lifetime,
        Err(EngineError::Rejected(
            CreateError::LifetimeOutOfRange { .. }
        ))
    ));
}

#[test]
fn reading_1_5_the_role_is_checked_before_the_settings() {
    let clock = ManualClock::new(CREATED);
    let engine = engine(&clock);
    let invalid = open_settings().default_length(4);
    let refused = engine.update_policy(&aa(), &invalid).unwrap_err();
    assert!(matches!(
        refused,
        EngineError::Rejected(UpdatePolicyError::Forbidden { .. })
    ));
}

#[test]
fn reading_5_1_a_locked_pass_is_still_offered_and_refused_when_redeemed() {
    let clock = ManualClock::new(CREATED);
    let engine = engine(&clock);
    let user = member("u");
    let _ = engine
        .create(
            &ga(),
            &user,
            &CreateRequest::new().is_usable_once(false),
            &mut getrandom::SysRng,
        )
        .ok();
    for _ in 0..10 {
        let _ = engine.redeem(&user, "not the code", browser()).unwrap();
    }
    assert!(
        engine.offer(&user, browser()).unwrap().decision.is_ok(),
        "offered: the seed's offer conditions are scope, window and an unused one-time pass"
    );
    let refused = engine.redeem(&user, "not the code", browser()).unwrap();
    assert!(matches!(
        refused.outcome,
        Err(RedeemRefusal::Unusable(Usability::PolicyBlocked(
            BlockCause::Locked { .. }
        )))
    ));
}

#[test]
fn reading_5_5_registration_follows_the_grant_and_the_pass_not_the_policy() {
    let clock = ManualClock::new(CREATED);
    let engine = engine(&clock);
    let user = member("u");
    let code = engine_pass(&engine, &user)
        .passcode
        .expose_secret()
        .to_owned();
    let grant = engine
        .redeem(&user, &code, browser())
        .unwrap()
        .outcome
        .unwrap();
    // Disabling the policy after the sign-in does not close the window; deleting the pass does
    // (`engine::spec_5_5_registration_is_refused_once_the_pass_is_deleted`).
    let _ = engine
        .update_policy(&ga(), &open_settings().state(PolicyState::Disabled))
        .unwrap();
    clock.advance(Duration::minutes(9)).unwrap();
    assert!(
        engine
            .register(&user, &grant, PasswordlessMethod::Fido2SecurityKey)
            .is_ok()
    );
}

#[test]
fn reading_6_4_the_count_survives_the_lock_so_the_next_wrong_code_locks_again_for_twice_as_long() {
    let clock = ManualClock::new(CREATED);
    let engine = engine(&clock);
    let user = member("u");
    let _ = engine
        .create(
            &ga(),
            &user,
            &CreateRequest::new()
                .is_usable_once(false)
                .lifetime_minutes(480),
            &mut getrandom::SysRng,
        )
        .unwrap();
    for _ in 0..10 {
        let _ = engine.redeem(&user, "not the code", browser()).unwrap();
    }
    clock.advance(Duration::MINUTE).unwrap(); // the first lock (one minute) lifts
    let again = engine.redeem(&user, "not the code", browser()).unwrap();
    assert_eq!(
        again.outcome,
        Err(RedeemRefusal::WrongCode {
            attempts_left: 0,
            locked_until: Some(clock.now() + Duration::minutes(2)),
        })
    );
}

#[test]
fn reading_6_4_a_wrong_code_on_a_pass_that_cannot_be_used_is_not_counted() {
    let clock = ManualClock::new(CREATED);
    let engine = engine(&clock);
    let user = member("u");
    let later = CreateRequest::new().start(CREATED + Duration::hours(1));
    let _ = engine
        .create(&ga(), &user, &later, &mut getrandom::SysRng)
        .unwrap();
    let refused = engine.redeem(&user, "not the code", browser()).unwrap();
    assert!(matches!(
        refused.outcome,
        Err(RedeemRefusal::Unusable(Usability::NotYetValid { .. }))
    ));
    let stored = engine
        .store()
        .load(user.id())
        .unwrap()
        .record
        .unwrap()
        .value;
    assert_eq!(stored.failed_attempts(), 0);
}

#[test]
fn reading_5_7_a_user_deleting_their_own_valid_pass_revokes_their_sessions_too() {
    let clock = ManualClock::new(CREATED);
    let engine = engine(&clock);
    let user = member("u");
    let _ = engine_pass(&engine, &user);
    let deleted = engine.delete(&user, &user).unwrap().unwrap();
    assert!(deleted.was_valid && !deleted.effects.is_empty());
}

#[test]
fn reading_7_2_a_view_states_usability_for_the_holder_not_for_the_viewer() {
    let clock = ManualClock::new(CREATED);
    let engine = engine(&clock);
    let guest = temporary_access_pass::Principal::guest(crate::support::uid("guest"));
    let _ = engine_pass(&engine, &guest);
    let reader = admin("gr", DirectoryRole::GlobalReader);
    let seen = engine.view(&reader, &guest).unwrap().unwrap();
    assert_eq!(
        seen.usability,
        Usability::PolicyBlocked(BlockCause::GuestUser),
        "blocked for the guest holding it, whoever looks"
    );
}
