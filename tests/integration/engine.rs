//! The engine: clock read once, conditional writes, bounded retries, failing closed (SPEC 0.2,
//! 5, 7.1).

use std::sync::atomic::{AtomicU32, Ordering};

use temporary_access_pass::{
    Clock, CreateError, CreateRequest, DigestKey, DirectoryRole, Effect, Engine, EngineConfig,
    EngineError, Event, InMemoryStore, IncludeTarget, ManualClock, Pepper, Policy, PolicySettings,
    PolicyState, Principal, RedeemRefusal, TemporaryAccessPass, UserId,
};

use temporary_access_pass::admin::ViewError;

use temporary_access_pass::hazmat::DigestScheme;

use temporary_access_pass::policy::UpdatePolicyError;

use temporary_access_pass::signin::{PasswordlessMethod, RegistrationError};

use temporary_access_pass::store::{
    Change, Commit, Loaded, Recorded, Sequence, Store, Version, Versioned, Write,
};
use time::{Duration, UtcDateTime};

use crate::support::{CREATED, Hooked, admin, browser, engine, engine_pass, ga, member, uid};

#[test]
fn spec_1_5_policy_lives_in_the_store_and_changes_only_by_the_right_roles() {
    let clock = ManualClock::new(CREATED);
    let engine = Engine::new(
        &clock,
        InMemoryStore::new(),
        EngineConfig::new(Pepper::new(&[0x77; 32]).unwrap()),
    );
    assert_eq!(
        engine.policy().unwrap(),
        Policy::default(),
        "no stored policy: seed defaults"
    );
    let settings = PolicySettings::new().state(PolicyState::Enabled);
    let err = engine
        .update_policy(
            &admin("aa", DirectoryRole::AuthenticationAdministrator),
            &settings,
        )
        .unwrap_err();
    assert!(matches!(
        err,
        EngineError::Rejected(UpdatePolicyError::Forbidden { .. })
    ));
    assert_eq!(engine.policy().unwrap(), Policy::default(), "unchanged");
    let change = engine.update_policy(&ga(), &settings).unwrap();
    assert_eq!(
        change.events(),
        vec![Event::PolicyChanged {
            by: uid("ga").into(),
            at: CREATED,
            enabled: true
        }]
    );
    assert!(engine.policy().unwrap().is_enabled());
    assert_eq!(
        engine.store().load_policy().unwrap().unwrap().version,
        Version::FIRST
    );
}

#[test]
fn engine_runs_the_whole_life_of_a_pass() {
    let clock = ManualClock::new(CREATED);
    let engine = engine(&clock);
    let user = member("u");
    let aa = admin("aa", DirectoryRole::AuthenticationAdministrator);
    let issued = engine
        .create(&aa, &user, &CreateRequest::new(), &mut getrandom::SysRng)
        .unwrap();
    let code = issued.passcode.expose_secret().to_owned();
    assert!(matches!(issued.events()[0], Event::PassIssued { .. }));
    assert!(!engine.store().is_empty());
    assert_eq!(engine.store().len(), 1);

    // Offered, then redeemed once.
    let offer = engine.offer(&user, browser()).unwrap();
    assert!(offer.decision.is_ok());
    assert!(matches!(offer.events()[0], Event::PassOffered { .. }));
    clock.advance(Duration::minutes(1)).unwrap();
    let sign_in = engine.redeem(&user, &code, browser()).unwrap();
    assert!(matches!(sign_in.events()[0], Event::SignInSucceeded { .. }));
    let grant = sign_in.outcome.unwrap();
    let again = engine.redeem(&user, &code, browser()).unwrap();
    assert!(matches!(again.outcome, Err(RedeemRefusal::Unusable(_))));
    assert!(matches!(again.events()[0], Event::SignInFailed { .. }));
    let offer = engine.offer(&user, browser()).unwrap();
    assert!(matches!(offer.events()[0], Event::PassNotOffered { .. }));

    // Registration: minute 9 yes, minute 11 no.
    clock.advance(Duration::minutes(9)).unwrap();
    clock.advance(Duration::seconds(-1)).unwrap();
    assert!(
        engine
            .register(&user, &grant, PasswordlessMethod::Fido2SecurityKey)
            .is_ok()
    );
    clock.advance(Duration::seconds(61)).unwrap();
    assert!(matches!(
        engine.register(&user, &grant, PasswordlessMethod::Fido2SecurityKey),
        Err(EngineError::Rejected(
            RegistrationError::WindowClosed { .. }
        ))
    ));
    assert!(matches!(
        engine.register(&member("other"), &grant, PasswordlessMethod::PhoneSignIn),
        Err(EngineError::Rejected(
            RegistrationError::NotTheHolder { .. }
        ))
    ));

    // Views: the user and a Global Reader; a stranger is refused whether or not a pass exists.
    let view = engine.view(&user, &user).unwrap().unwrap();
    assert!(!view.is_usable);
    assert!(
        engine
            .view(&admin("gr", DirectoryRole::GlobalReader), &user)
            .unwrap()
            .is_some()
    );
    assert!(matches!(
        engine.view(&member("x"), &user),
        Err(EngineError::Rejected(ViewError::Forbidden(_)))
    ));
    assert!(matches!(
        engine.view(&member("x"), &member("y")),
        Err(EngineError::Rejected(ViewError::Forbidden(_)))
    ));
    assert_eq!(engine.view(&ga(), &member("nobody")).unwrap(), None);

    // Replacing a valid pass is refused; deleting it revokes sessions.
    let err = engine
        .create(&aa, &user, &CreateRequest::new(), &mut getrandom::SysRng)
        .unwrap_err();
    assert!(matches!(
        err,
        EngineError::Rejected(CreateError::AlreadyHasValidPass { .. })
    ));
    let deleted = engine.delete(&aa, &user).unwrap().unwrap();
    assert_eq!(
        deleted.effects,
        vec![Effect::RevokeSessions { user: uid("u") }]
    );
    assert!(
        deleted
            .events()
            .iter()
            .any(|e| matches!(e, Event::SessionsRevoked { .. }))
    );
    assert_eq!(
        engine.delete(&aa, &user).unwrap(),
        None,
        "nothing left to delete"
    );
    assert!(engine.store().is_empty());
}

#[test]
fn spec_5_5_registration_is_refused_once_the_pass_is_deleted() {
    let clock = ManualClock::new(CREATED);
    let engine = engine(&clock);
    let user = member("u");
    let issued = engine_pass(&engine, &user);
    let grant = engine
        .redeem(&user, issued.passcode.expose_secret(), browser())
        .unwrap()
        .outcome
        .unwrap();
    assert!(
        engine
            .register(&user, &grant, PasswordlessMethod::PhoneSignIn)
            .is_ok()
    );
    let _ = engine.delete(&ga(), &user).unwrap();
    assert!(matches!(
        engine.register(&user, &grant, PasswordlessMethod::PhoneSignIn),
        Err(EngineError::Rejected(RegistrationError::PassRemoved))
    ));
}

#[test]
fn spec_2_7_an_expired_pass_is_replaced_through_the_engine_without_revocation() {
    let clock = ManualClock::new(CREATED);
    let engine = engine(&clock);
    let user = member("u");
    let first = engine_pass(&engine, &user);
    clock.advance(Duration::hours(2)).unwrap();
    let second = engine_pass(&engine, &user);
    assert_eq!(second.replaced, Some((*first.record.id(), false)));
    assert!(second.effects.is_empty());
    let stored = engine.store().load(user.id()).unwrap().record.unwrap();
    assert_eq!(stored.value.id(), second.record.id());
}

/// A clock that counts how often it is read.
struct CountingClock(ManualClock, AtomicU32);

impl Clock for CountingClock {
    fn now(&self) -> UtcDateTime {
        self.1.fetch_add(1, Ordering::SeqCst);
        self.0.now()
    }
}

#[test]
fn the_engine_reads_the_clock_once_per_operation() {
    let clock = CountingClock(ManualClock::new(CREATED), AtomicU32::new(0));
    let engine = Engine::new(
        &clock,
        InMemoryStore::new(),
        EngineConfig::new(Pepper::new(&[0x77; 32]).unwrap()),
    );
    let reads = || clock.1.swap(0, Ordering::SeqCst);
    let user = member("u");
    let settings = PolicySettings::new()
        .state(PolicyState::Enabled)
        .include_target(IncludeTarget::AllUsers);
    let _ = engine.update_policy(&ga(), &settings).unwrap();
    assert_eq!(reads(), 1);
    let issued = engine_pass(&engine, &user);
    assert_eq!(reads(), 1);
    let _ = engine.offer(&user, browser()).unwrap();
    assert_eq!(reads(), 1);
    let grant = engine
        .redeem(&user, issued.passcode.expose_secret(), browser())
        .unwrap()
        .outcome
        .unwrap();
    assert_eq!(reads(), 1);
    let _ = engine.redeem(&user, "wrong", browser()).unwrap();
    assert_eq!(reads(), 1);
    engine
        .register(&user, &grant, PasswordlessMethod::PhoneSignIn)
        .unwrap();
    assert_eq!(reads(), 1);
    let _ = engine.view(&user, &user).unwrap();
    assert_eq!(reads(), 1);
    let _ = engine.delete(&ga(), &user).unwrap();
    assert_eq!(reads(), 1);
}

#[derive(Debug)]
struct Down;
impl std::fmt::Display for Down {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection refused")
    }
}
impl std::error::Error for Down {}

/// A store that reads from an inner store but fails (or conflicts on) every write.
struct Faulty {
    inner: InMemoryStore,
    conflict_instead: bool,
}

impl Store for Faulty {
    type Error = Down;
    fn load(&self, user: &UserId) -> Result<Loaded, Down> {
        Ok(self.inner.load(user).unwrap())
    }
    fn load_policy(&self) -> Result<Option<Versioned<Policy>>, Down> {
        Ok(self.inner.load_policy().unwrap())
    }
    fn commit(&self, _: &Commit) -> Result<Write, Down> {
        if self.conflict_instead {
            Ok(Write::Conflict)
        } else {
            Err(Down)
        }
    }
    fn read_events(&self, _: Sequence, _: usize) -> Result<Vec<Recorded>, Down> {
        Err(Down)
    }
    fn prune_events(&self, _: Sequence) -> Result<u64, Down> {
        Err(Down)
    }

    fn load_methods(
        &self,
        _user: &temporary_access_pass::UserId,
    ) -> Result<
        Vec<
            temporary_access_pass::store::Versioned<
                temporary_access_pass::method::RegisteredMethod,
            >,
        >,
        Down,
    > {
        Err(Down)
    }

    fn load_ceremony(
        &self,
        _user: &temporary_access_pass::UserId,
        _id: &temporary_access_pass::ceremony::CeremonyId,
    ) -> Result<
        Option<temporary_access_pass::store::Versioned<temporary_access_pass::ceremony::Ceremony>>,
        Down,
    > {
        Err(Down)
    }

    fn prune_ceremonies(
        &self,
        _now: temporary_access_pass::time::UtcDateTime,
    ) -> Result<u64, Down> {
        Err(Down)
    }
}

fn faulty_with_one_time_pass(conflict_instead: bool) -> (Faulty, String, Principal) {
    let clock = ManualClock::new(CREATED);
    let seeded = engine(&clock);
    let user = member("u");
    let issued = engine_pass(&seeded, &user);
    let inner = InMemoryStore::new();
    let record = seeded
        .store()
        .load(user.id())
        .unwrap()
        .record
        .unwrap()
        .value;
    let _ = inner
        .commit(&Commit::policy(None, seeded.policy().unwrap()))
        .unwrap();
    let read = inner.load(user.id()).unwrap();
    let _ = crate::support::put_read(&inner, &read, &record);
    (
        Faulty {
            inner,
            conflict_instead,
        },
        issued.passcode.expose_secret().to_owned(),
        user,
    )
}

#[test]
fn a_store_error_denies_the_sign_in() {
    let (store, code, user) = faulty_with_one_time_pass(false);
    let clock = ManualClock::new(CREATED);
    let engine = Engine::new(
        &clock,
        &store,
        EngineConfig::new(Pepper::new(&[0x77; 32]).unwrap()),
    );
    let err = engine.redeem(&user, &code, browser()).unwrap_err();
    assert!(matches!(err, EngineError::Store(Down)));
    assert!(err.is_broken() && !err.is_rejected());
    assert_eq!(
        err.to_string(),
        "the store failed, so the operation was denied: connection refused"
    );
    assert!(matches!(
        engine.create(
            &ga(),
            &member("v"),
            &CreateRequest::new(),
            &mut getrandom::SysRng
        ),
        Err(EngineError::Store(Down))
    ));
    assert!(matches!(
        engine.delete(&ga(), &user),
        Err(EngineError::Store(Down))
    ));
    assert!(matches!(
        engine.update_policy(&ga(), &PolicySettings::new()),
        Err(EngineError::Store(Down))
    ));
}

#[test]
fn exhausted_retries_deny_the_sign_in() {
    let (store, code, user) = faulty_with_one_time_pass(true);
    let clock = ManualClock::new(CREATED);
    let config = EngineConfig::new(Pepper::new(&[0x77; 32]).unwrap()).max_attempts(5);
    let engine = Engine::new(&clock, &store, config);
    let err = engine.redeem(&user, &code, browser()).unwrap_err();
    assert!(matches!(err, EngineError::Contention { attempts: 5 }));
    assert!(err.is_broken() && !err.is_rejected());
    assert!(err.to_string().contains("denied"));
    // The pass was never consumed, and no grant escaped.
    assert_eq!(
        store
            .inner
            .load(user.id())
            .unwrap()
            .record
            .unwrap()
            .value
            .used_at(),
        None
    );
}

/// A rule's refusal is "rejected", and only it; a failed store, a failed RNG and giving up are
/// "broken": each denies, and only the broken ones may succeed when tried again.
#[test]
fn an_engine_error_is_rejected_or_broken_never_both() {
    let broken: [EngineError<CreateError, Down>; 3] = [
        EngineError::Store(Down),
        EngineError::Rng(temporary_access_pass::error::RngFailure),
        EngineError::Contention { attempts: 1 },
    ];
    for error in &broken {
        assert!(error.is_broken() && !error.is_rejected(), "{error:?}");
    }
    // Through the engine: a member who is no administrator is refused by a rule.
    let clock = ManualClock::new(CREATED);
    let engine = Engine::new(
        &clock,
        InMemoryStore::new(),
        EngineConfig::new(Pepper::new(&[0x77; 32]).unwrap()),
    );
    let refused = engine
        .create(
            &member("nobody"),
            &member("v"),
            &CreateRequest::new(),
            &mut getrandom::SysRng,
        )
        .unwrap_err();
    assert!(matches!(refused, EngineError::Rejected(_)), "{refused:?}");
    assert!(refused.is_rejected() && !refused.is_broken());
}

#[test]
fn engine_config_debug_redacts_the_pepper() {
    let config = EngineConfig::new(Pepper::new(&[0x77; 32]).unwrap());
    let printed = format!("{config:?}");
    assert!(printed.contains("[REDACTED]") && !printed.contains("119"));
}

#[test]
fn spec_6_1_an_engine_is_unkeyed_only_when_built_so() {
    // `EngineConfig` has no `Default` and `new` takes the key (a doctest on `EngineConfig`
    // shows that `EngineConfig::new()` does not compile); unkeyed is a choice with its name.
    let keyed = EngineConfig::new(Pepper::new(&[0x77; 32]).unwrap());
    assert_eq!(keyed.key.scheme(), DigestScheme::HmacSha256);
    assert_eq!(keyed.max_attempts, EngineConfig::DEFAULT_MAX_ATTEMPTS);
    assert_eq!(
        keyed.lockout,
        temporary_access_pass::signin::Lockout::default()
    );
    let unkeyed = EngineConfig::new(DigestKey::unkeyed());
    assert_eq!(unkeyed.key.scheme(), DigestScheme::Sha256Unkeyed);
    assert!(format!("{unkeyed:?}").contains("DigestKey::Unkeyed"));
}

#[test]
fn spec_5_7_deleting_a_named_pass_never_deletes_the_one_that_replaced_it() {
    let clock = ManualClock::new(CREATED);
    let engine = engine(&clock);
    let user = member("u");
    let first = engine_pass(&engine, &user);
    let first_id = *first.record.id();
    assert_eq!(
        engine
            .delete_pass(&ga(), &user, first_id)
            .unwrap()
            .map(|d| d.pass),
        Some(first_id)
    );
    let second = engine_pass(&engine, &user);
    // The first pass is named again (a retried DELETE): the second one stays.
    assert_eq!(engine.delete_pass(&ga(), &user, first_id).unwrap(), None);
    assert_eq!(
        engine.view(&ga(), &user).unwrap().map(|v| v.id),
        Some(*second.record.id())
    );
}

#[test]
fn spec_1_5_and_6_5_two_concurrent_policy_changes_both_take_effect() {
    // Between the change's read and its write, another administrator's change lands: the
    // change is applied again to what is stored now, and both survive.
    let raced = std::sync::Arc::new(AtomicU32::new(0));
    let store = Hooked::new().on_commit({
        let raced = raced.clone();
        move |inner, commit| {
            if let Change::Policy {
                expected: Some(_), ..
            } = commit.change
                && raced.fetch_add(1, Ordering::SeqCst) == 0
            {
                let stored = inner.load_policy().unwrap().unwrap();
                let other = Policy::new(stored.value.settings().default_length(12)).unwrap();
                assert!(matches!(
                    inner
                        .commit(&Commit::policy(Some(stored.version), other))
                        .unwrap(),
                    Write::Written(_)
                ));
            }
            commit
        }
    });
    let clock = ManualClock::new(CREATED);
    let engine = Engine::new(
        &clock,
        store,
        EngineConfig::new(Pepper::new(&[0x77; 32]).unwrap()),
    );
    let _ = engine
        .update_policy(
            &ga(),
            &PolicySettings::new().include_target(IncludeTarget::AllUsers),
        )
        .unwrap();
    let enable = |s: PolicySettings| s.state(PolicyState::Enabled);
    let _ = engine.change_policy(&ga(), &enable).unwrap();
    let policy = engine.policy().unwrap();
    assert!(policy.is_enabled(), "this change took effect");
    assert_eq!(policy.default_length().get(), 12, "and so did the other");
    assert_eq!(raced.load(Ordering::SeqCst), 2, "judged twice");
}

/// An engine over `store` with `config`, under the open policy (multi-use passes).
fn open_engine(
    clock: &ManualClock,
    store: Hooked,
    config: EngineConfig,
) -> Engine<&ManualClock, Hooked> {
    let engine = Engine::new(clock, store, config);
    let _ = engine
        .update_policy(&ga(), &crate::support::open_settings())
        .unwrap();
    engine
}

#[test]
fn spec_5_5_and_6_5_a_registration_judged_before_a_deletion_landed_is_judged_again() {
    let clock = ManualClock::new(CREATED);
    let user = member("u");
    let armed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let store = Hooked::new().on_commit({
        let armed = armed.clone();
        move |inner, commit| {
            if let Change::Keep { user, pass } = &commit.change
                && armed.swap(false, Ordering::SeqCst)
            {
                // An administrator's deletion lands between the check's read and its commit.
                assert!(matches!(
                    inner.commit(&Commit::remove(user.clone(), *pass)).unwrap(),
                    Write::Written(_)
                ));
            }
            commit
        }
    });
    let engine = open_engine(
        &clock,
        store,
        EngineConfig::new(Pepper::new(&[0x77; 32]).unwrap()),
    );
    let code = engine_pass(&engine, &user)
        .passcode
        .expose_secret()
        .to_owned();
    let grant = engine
        .redeem(&user, &code, browser())
        .unwrap()
        .outcome
        .unwrap();
    armed.store(true, Ordering::SeqCst);
    // Read: the pass is there, the window open: allowed. Commit: the deletion landed first, so
    // the commit expecting the pass conflicts; judged again, on no pass: refused.
    assert!(matches!(
        engine.register(&user, &grant, PasswordlessMethod::Fido2SecurityKey),
        Err(EngineError::Rejected(RegistrationError::PassRemoved))
    ));
}

#[test]
fn spec_5_7_and_6_5_sign_ins_landing_between_a_deletions_read_and_write_cannot_hold_it_off() {
    // Before every removal reaches the store, the holder signs in with the right code and that
    // write lands: a stream of sign-ins with a stolen code, as fast as the store goes. The
    // deletion was judged on what a pass never changes (its id, holder and end), so it lands
    // on its first attempt and revokes the session that sign-in opened. Had it expected the
    // version it read, every attempt would conflict and the revocation would give up.
    let clock = ManualClock::new(CREATED);
    let user = member("u");
    let code = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sign_ins = std::sync::Arc::new(AtomicU32::new(0));
    let store = Hooked::new().on_commit({
        let (code, sign_ins, user) = (code.clone(), sign_ins.clone(), user.clone());
        move |inner, commit| {
            let Change::Remove { user: holder, .. } = &commit.change else {
                return commit;
            };
            let read = inner.load(holder).unwrap();
            let policy = read.policy.as_ref().unwrap().value.clone();
            let record = read.record.as_ref().map(|r| r.value.clone());
            let code = code.lock().unwrap().clone();
            let signed_in =
                crate::support::redeem_with(&policy, &user, record.as_ref(), &code, CREATED);
            assert!(signed_in.outcome.is_ok(), "the stolen code signs in");
            let used = signed_in.write.expect("a grant writes the use");
            assert!(matches!(
                crate::support::put_read(inner, &read, &used),
                Write::Written(_)
            ));
            sign_ins.fetch_add(1, Ordering::SeqCst);
            commit
        }
    });
    let engine = open_engine(
        &clock,
        store,
        EngineConfig::new(crate::support::key().clone()).max_attempts(1),
    );
    let issued = engine_pass(&engine, &user);
    assert!(!issued.record.is_usable_once());
    *code.lock().unwrap() = issued.passcode.expose_secret().to_owned();
    let deleted = engine
        .delete(&ga(), &user)
        .expect("one attempt is enough")
        .expect("the pass was there");
    assert_eq!(sign_ins.load(Ordering::SeqCst), 1, "a sign-in landed first");
    assert_eq!(deleted.pass, *issued.record.id());
    assert!(deleted.was_valid);
    assert_eq!(
        deleted.effects,
        vec![Effect::RevokeSessions {
            user: user.id().clone()
        }]
    );
    assert!(engine.store().load(user.id()).unwrap().record.is_none());
}

#[test]
fn spec_5_7_and_6_5_a_deletion_judged_on_a_pass_that_was_replaced_is_judged_again() {
    // Between the deletion's read and its write, the pass is replaced by another: removing
    // the pass that was read conflicts, and the deletion is judged again on what is stored.
    let clock = ManualClock::new(CREATED);
    let user = member("u");
    let replacement = std::sync::Arc::new(std::sync::Mutex::new(None::<TemporaryAccessPass>));
    let store = Hooked::new().on_commit({
        let replacement = replacement.clone();
        move |inner, commit| {
            if let Change::Remove { user: holder, .. } = &commit.change
                && let Some(next) = replacement.lock().unwrap().take()
            {
                let read = inner.load(holder).unwrap();
                assert!(matches!(
                    crate::support::put_read(inner, &read, &next),
                    Write::Written(_)
                ));
            }
            commit
        }
    });
    let engine = open_engine(
        &clock,
        store,
        EngineConfig::new(crate::support::key().clone()),
    );

    // Deleting whichever pass is stored: the replacement is deleted.
    let first = engine_pass(&engine, &user);
    let (_, other) = crate::support::pass_for(&user, CreateRequest::new());
    let other_id = *other.id();
    *replacement.lock().unwrap() = Some(other);
    let deleted = engine.delete(&ga(), &user).unwrap().unwrap();
    assert_ne!(deleted.pass, *first.record.id());
    assert_eq!(deleted.pass, other_id, "the pass stored when it landed");
    assert!(engine.store().load(user.id()).unwrap().record.is_none());

    // Naming a pass: judged again on the replacement, which it does not name: nothing is
    // deleted, and the replacement stays.
    let named = engine_pass(&engine, &user);
    let (_, other) = crate::support::pass_for(&user, CreateRequest::new());
    let other_id = *other.id();
    *replacement.lock().unwrap() = Some(other);
    assert_eq!(
        engine
            .delete_pass(&ga(), &user, *named.record.id())
            .unwrap(),
        None
    );
    assert_eq!(
        engine.view(&ga(), &user).unwrap().map(|v| v.id),
        Some(other_id)
    );
}
