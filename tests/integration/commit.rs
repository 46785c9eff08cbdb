//! SPEC 6.2, 6.5, 6.6 and 5.5 in the pure core: every judged attempt returns its write, the
//! record's clock fields never move backwards, one opaque refusal, and registration checks.

use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;
use temporary_access_pass::{
    Client, CreatePassRequest, DirectoryRole, Grant, IssueContext, Lockout, NextStep,
    PasswordlessMethod, Policy, PolicySettings, PolicyState, Principal, RecordParts, RedeemRefusal,
    RedeemSettings, RegistrationError, ShownRefusal, SignInContext, TemporaryAccessPass, Usability,
    authorize_registration, issue, redeem,
};
use time::{Duration, UtcDateTime};

use crate::support::{CREATED, TestRng, admin, key, member, open_policy};

fn pass(user: &Principal, once: bool) -> (String, TemporaryAccessPass) {
    static SEED: AtomicU64 = AtomicU64::new(41);
    let issuer = admin("aa", DirectoryRole::AuthenticationAdministrator);
    let issued = issue(
        &IssueContext::new(&open_policy(), key(), &issuer, user),
        &CreatePassRequest::new().usable_once(once),
        CREATED,
        &mut TestRng(SEED.fetch_add(1, Ordering::Relaxed)),
    )
    .unwrap();
    (
        issued.created.passcode.expose_secret().to_owned(),
        issued.record,
    )
}

fn with(pass: &TemporaryAccessPass, f: impl FnOnce(&mut RecordParts)) -> TemporaryAccessPass {
    let mut parts = pass.clone().into_parts();
    f(&mut parts);
    TemporaryAccessPass::from_parts(parts).unwrap()
}

fn at(minutes: i64) -> UtcDateTime {
    CREATED + Duration::minutes(minutes)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// SPEC 6.5: for a supported client and a stored record, every answer comes with the write
    /// that commits it, and the write is exactly what the answer says happened.
    #[test]
    fn spec_6_5_every_judged_attempt_returns_the_write_that_commits_it(
        once in any::<bool>(),
        policy_once in any::<bool>(),
        enabled in prop::bool::weighted(0.8),
        guest in prop::bool::weighted(0.1),
        failed in 0_u32..14,
        locked in proptest::option::of(-20_i64..80),
        used in proptest::option::of(-5_i64..70),
        last_failure in proptest::option::of(-5_i64..70),
        now in -10_i64..70,
        right in any::<bool>(),
    ) {
        let user = if guest { Principal::guest(crate::support::uid("u")) } else { member("u") };
        let (code, base) = pass(&member("u"), once);
        let record = with(&base, |p| {
            p.failed_attempts = failed;
            p.locked_until = locked.map(at);
            p.used_at = used.map(at);
            p.last_failure = last_failure.map(at);
        });
        let policy = Policy::new(
            open_policy()
                .settings()
                .state(if enabled { PolicyState::Enabled } else { PolicyState::Disabled })
                .usable_once(policy_once),
        )
        .unwrap();
        let now = at(now);
        let typed = if right { code.as_str() } else { "wrong code" };
        let lockout = Lockout::default();
        let r = redeem(
            &policy,
            &RedeemSettings::new(key()).lockout(lockout),
            &user,
            Some(&record),
            typed,
            &SignInContext::new(Client::Browser),
            now,
        );
        let write = r.write.expect("a judged attempt always has a write");
        let usability = record.usability(&policy, &user, now);
        match r.outcome {
            Ok(grant) => {
                prop_assert!(right && usability.is_usable());
                prop_assert_eq!(grant.pass, *record.id());
                prop_assert_eq!((write.failed_attempts(), write.locked_until()), (0, None));
                prop_assert_eq!(write.used_at(), Some(record.used_at().map_or(now, |u| u.max(now))));
            }
            Err(RedeemRefusal::WrongCode { attempts_left, locked_until }) => {
                prop_assert!(!right && usability.is_usable());
                prop_assert_eq!(write.failed_attempts(), failed + 1);
                prop_assert_eq!(attempts_left, lockout.max_attempts().saturating_sub(failed + 1));
                prop_assert_eq!(locked_until, write.locked_until());
                prop_assert_eq!(write.used_at(), record.used_at());
                prop_assert_eq!(
                    write.last_failure(),
                    Some(record.last_failure().map_or(now, |l| l.max(now)))
                );
                // From the limit on there is a lock; below it, whatever lock was stored stays.
                if failed + 1 >= lockout.max_attempts() {
                    prop_assert!(write.locked_until().is_some_and(|t| t > now || t == write.end()));
                } else {
                    prop_assert_eq!(write.locked_until(), record.locked_until());
                }
            }
            Err(RedeemRefusal::Unusable(u)) => {
                prop_assert_eq!(u, usability);
                prop_assert!(!u.is_usable());
                prop_assert_eq!(&write, &record, "a refusal writes the record back unchanged");
            }
            Err(other) => prop_assert!(false, "unexpected {other:?}"),
        }
        // SPEC 6.6: whatever happened, nothing moved backwards.
        prop_assert!(write.used_at() >= record.used_at());
        prop_assert!(write.last_failure() >= record.last_failure());
        if write.failed_attempts() > 0 {
            prop_assert!(write.locked_until() >= record.locked_until(), "a lock never shortens");
        }
    }
}

#[test]
fn spec_6_6_an_instance_whose_clock_is_an_hour_behind_cannot_set_a_lock_that_is_already_over() {
    let user = member("u");
    let (_, base) = pass(&user, false);
    // Instance A, on time, counted nine wrong codes, the last at minute 30.
    let record = with(&base, |p| {
        p.failed_attempts = 9;
        p.last_failure = Some(at(30));
    });
    // Instance B's clock reads minute 30 less an hour... which is before the pass starts, so
    // take a pass that started earlier: minute 30 on A is minute -30 on B.
    let record = with(&record, |p| {
        p.start = CREATED - Duration::hours(2);
        p.created = CREATED - Duration::hours(2);
        p.lifetime = temporary_access_pass::Lifetime::from_minutes(600).unwrap();
    });
    let behind = at(30) - Duration::hours(1);
    let r = redeem(
        &open_policy(),
        &RedeemSettings::new(key()),
        &user,
        Some(&record),
        "wrong code",
        &SignInContext::new(Client::Browser),
        behind,
    );
    let write = r.write.unwrap();
    assert_eq!(write.failed_attempts(), 10);
    assert_eq!(
        write.last_failure(),
        Some(at(30)),
        "the failure time never moves backwards"
    );
    assert_eq!(
        write.locked_until(),
        Some(at(31)),
        "the lock runs from the latest failure stored, not from the slow clock"
    );
    // A lock already stored is never shortened by a later failure computed from an earlier time.
    let locked = with(&record, |p| {
        p.failed_attempts = 12;
        p.locked_until = Some(at(20));
        p.last_failure = Some(at(0));
    });
    let r = redeem(
        &open_policy(),
        &RedeemSettings::new(key()).lockout(Lockout::new(10, Duration::SECOND).unwrap()),
        &user,
        Some(&locked),
        "wrong code",
        &SignInContext::new(Client::Browser),
        at(25),
    );
    let write = r.write.unwrap();
    assert!(write.locked_until().unwrap() >= at(25));
    assert_eq!(write.last_failure(), Some(at(25)));
}

#[test]
fn spec_6_2_the_user_is_shown_one_refusal_whatever_the_reason() {
    let user = member("u");
    let (_, record) = pass(&user, true);
    let used = with(&record, |p| p.used_at = Some(CREATED));
    let browser = SignInContext::new(Client::Browser);
    let settings = RedeemSettings::new(key());
    let refusals = [
        redeem(
            &open_policy(),
            &settings,
            &user,
            None,
            "x",
            &browser,
            CREATED,
        ),
        redeem(
            &open_policy(),
            &settings,
            &user,
            Some(&record),
            "wrong",
            &browser,
            CREATED,
        ),
        redeem(
            &open_policy(),
            &settings,
            &user,
            Some(&used),
            "wrong",
            &browser,
            CREATED,
        ),
        redeem(
            &Policy::default(),
            &settings,
            &user,
            Some(&record),
            "wrong",
            &browser,
            CREATED,
        ),
        redeem(
            &open_policy(),
            &settings,
            &user,
            Some(&record),
            "wrong",
            &browser,
            record.end(),
        ),
    ];
    let reasons: Vec<RedeemRefusal> = refusals
        .iter()
        .map(|r| r.outcome.clone().unwrap_err())
        .collect();
    assert!(matches!(reasons[0], RedeemRefusal::NoPass));
    assert!(matches!(reasons[1], RedeemRefusal::WrongCode { .. }));
    assert!(matches!(
        reasons[2],
        RedeemRefusal::Unusable(Usability::OneTimeUsed { .. })
    ));
    for reason in &reasons {
        assert_eq!(reason.shown(), ShownRefusal::NotAccepted, "{reason:?}");
        assert_eq!(
            reason.shown().to_string(),
            "that Temporary Access Pass was not accepted"
        );
    }
    let nps = RedeemRefusal::UnsupportedClient(Client::NpsExtension);
    assert_eq!(
        nps.shown(),
        ShownRefusal::UnsupportedClient(Client::NpsExtension)
    );
}

#[test]
fn spec_6_2_without_a_pass_every_code_is_refused_and_nothing_is_written() {
    let user = member("u");
    let (code, _) = pass(&user, false);
    let large = Policy::new(
        (0..200).fold(
            PolicySettings::new()
                .state(PolicyState::Enabled)
                .include(temporary_access_pass::IncludeTarget::AllUsers),
            |s, i| {
                s.exclude(temporary_access_pass::ExcludeTarget::Group(
                    crate::support::gid(&format!("g{i}")),
                ))
            },
        ),
    )
    .unwrap();
    for policy in [open_policy(), Policy::default(), large] {
        for typed in [code.as_str(), "", "AAAAAAAA", &"x".repeat(100)] {
            let r = redeem(
                &policy,
                &RedeemSettings::new(key()),
                &user,
                None,
                typed,
                &SignInContext::new(Client::Browser),
                CREATED,
            );
            assert_eq!(r.outcome, Err(RedeemRefusal::NoPass));
            assert!(r.write.is_none(), "the dummy is never stored");
        }
    }
}

#[test]
fn spec_5_5_the_core_checks_the_holder_and_that_the_pass_is_still_stored() {
    let user = member("u");
    let (code, record) = pass(&user, true);
    let grant: Grant = redeem(
        &open_policy(),
        &RedeemSettings::new(key()),
        &user,
        Some(&record),
        &code,
        &SignInContext::new(Client::Browser),
        CREATED,
    )
    .outcome
    .unwrap();
    assert_eq!(grant.next_step, NextStep::RegisterMethods);
    let method = PasswordlessMethod::Fido2SecurityKey;
    let soon = at(5);
    assert_eq!(
        authorize_registration(&user, &grant, Some(&record), method, soon),
        Ok(())
    );
    assert_eq!(
        authorize_registration(&user, &grant, None, method, soon),
        Err(RegistrationError::PassRemoved),
        "the pass was deleted"
    );
    let (_, replacement) = pass(&user, true);
    assert_eq!(
        authorize_registration(&user, &grant, Some(&replacement), method, soon),
        Err(RegistrationError::PassRemoved),
        "the pass was replaced"
    );
    let other = member("someone-else");
    assert!(matches!(
        authorize_registration(&other, &grant, Some(&record), method, soon),
        Err(RegistrationError::NotTheHolder { .. })
    ));
    assert!(matches!(
        authorize_registration(&user, &grant, Some(&record), method, at(10)),
        Err(RegistrationError::WindowClosed { .. })
    ));
}
