//! SPEC 6.4 and 6.6: the guessing limit, its back-off, and locks that never shorten.

use temporary_access_pass::signin::Lockout;
use temporary_access_pass::{
    BlockCause, CreateRequest, Event, Principal, RedeemContext, RedeemRefusal, TemporaryAccessPass,
    Usability, redeem,
};
use time::{Duration, UtcDateTime};

use crate::support::{
    CREATED, at, browser, key, member, modify, open_policy, pass_for, redeem_with, uid,
};

/// Redeems `typed` and returns the outcome, keeping the record up to date.
fn attempt(
    p: &mut TemporaryAccessPass,
    user: &Principal,
    typed: &str,
    at: UtcDateTime,
    lockout: Lockout,
) -> Result<temporary_access_pass::signin::Grant, RedeemRefusal> {
    let r = redeem(
        &RedeemContext::new(&open_policy(), key(), user, Some(p), browser()).lockout(lockout),
        typed,
        at,
    );
    if let Some(next) = r.write {
        *p = next;
    }
    r.outcome
}

#[test]
fn spec_6_4_lock_after_the_limit_doubling_back_off_capped_at_the_end() {
    let user = member("u");
    let (code, mut p) = pass_for(
        &user,
        CreateRequest::new()
            .lifetime_minutes(600)
            .is_usable_once(false),
    );
    let lockout = Lockout::default();
    assert_eq!(lockout.max_attempts(), 10);
    let mut now = CREATED;
    for n in 1..=9_u32 {
        assert_eq!(
            attempt(&mut p, &user, "wrong", now, lockout),
            Err(RedeemRefusal::WrongCode {
                attempts_left: 10 - n,
                locked_until: None
            })
        );
    }
    // The 10th wrong code locks for one minute.
    let until = now + Duration::minutes(1);
    assert_eq!(
        attempt(&mut p, &user, "wrong", now, lockout),
        Err(RedeemRefusal::WrongCode {
            attempts_left: 0,
            locked_until: Some(until)
        })
    );
    assert_eq!(p.failed_attempts(), 10);
    // While locked, right and wrong codes get the same answer and change nothing.
    let locked = Err(RedeemRefusal::Unusable(Usability::PolicyBlocked(
        BlockCause::Locked { until },
    )));
    let before = p.clone();
    assert_eq!(attempt(&mut p, &user, &code, now, lockout), locked);
    assert_eq!(
        attempt(&mut p, &user, "wrong", now + Duration::seconds(59), lockout),
        locked
    );
    assert_eq!(p, before);
    // Each further wrong code doubles the lock: 2, 4, 8 ... minutes.
    for (k, minutes) in [(11, 2), (12, 4), (13, 8), (14, 16)] {
        now = p.locked_until().unwrap();
        let until = now + Duration::minutes(minutes);
        assert_eq!(
            attempt(&mut p, &user, "wrong", now, lockout),
            Err(RedeemRefusal::WrongCode {
                attempts_left: 0,
                locked_until: Some(until)
            })
        );
        assert_eq!(p.failed_attempts(), k);
    }
    // Capped at the pass end.
    for _ in 0..30 {
        now = p.locked_until().unwrap();
        if now >= p.end() {
            break;
        }
        let _ = attempt(&mut p, &user, "wrong", now, lockout);
        assert!(p.locked_until().unwrap() <= p.end());
    }
    assert_eq!(p.locked_until(), Some(p.end()));
}

#[test]
fn spec_6_4_a_right_code_resets_the_count() {
    let user = member("u");
    let (code, mut p) = pass_for(&user, CreateRequest::new().is_usable_once(false));
    let lockout = Lockout::new(3, Duration::seconds(30)).unwrap();
    for _ in 0..2 {
        assert!(attempt(&mut p, &user, "nope", CREATED, lockout).is_err());
    }
    assert_eq!(p.failed_attempts(), 2);
    assert!(attempt(&mut p, &user, &code, CREATED, lockout).is_ok());
    assert_eq!(p.failed_attempts(), 0);
    assert_eq!(p.locked_until(), None);
    // After a lock has lifted, a right code works and clears it.
    for _ in 0..3 {
        let _ = attempt(&mut p, &user, "nope", CREATED, lockout);
    }
    let until = p.locked_until().unwrap();
    assert_eq!(until, CREATED + Duration::seconds(30));
    assert!(attempt(&mut p, &user, &code, until, lockout).is_ok());
    assert_eq!((p.failed_attempts(), p.locked_until()), (0, None));
}

#[test]
fn spec_6_4_lockout_settings_are_validated() {
    assert!(Lockout::new(0, Duration::MINUTE).is_err());
    assert!(Lockout::new(1001, Duration::MINUTE).is_err());
    assert!(Lockout::new(5, Duration::milliseconds(999)).is_err());
    assert!(Lockout::new(5, Duration::days(2)).is_err());
    assert_eq!(
        Lockout::new(0, Duration::MINUTE).unwrap_err().to_string(),
        "attempt limit is 0: allowed 1..=1000"
    );
    let l = Lockout::new(1000, Duration::DAY).unwrap();
    assert_eq!((l.max_attempts(), l.base_backoff()), (1000, Duration::DAY));
}

#[test]
fn spec_6_4_the_lock_is_reported_in_events() {
    let user = member("u");
    let (_, mut p) = pass_for(&user, CreateRequest::new().is_usable_once(false));
    let lockout = Lockout::new(1, Duration::MINUTE).unwrap();
    let r = redeem(
        &RedeemContext::new(&open_policy(), key(), &user, Some(&p), browser()).lockout(lockout),
        "wrong",
        CREATED,
    );
    let until = CREATED + Duration::MINUTE;
    assert!(r.events().contains(&Event::PassLocked {
        user: uid("u"),
        pass: *p.id(),
        until,
        failed_attempts: 1,
        at: CREATED,
    }));
    // Events never carry the code or the digest.
    let printed = format!("{:?}", r.events());
    p = r.write.unwrap();
    assert_eq!(p.locked_until(), Some(until));
    assert!(!printed.contains("wrong") && !printed.to_lowercase().contains("digest"));
}

#[test]
fn spec_6_6_an_instance_whose_clock_is_an_hour_behind_cannot_set_a_lock_that_is_already_over() {
    let user = member("u");
    let (_, base) = pass_for(&user, CreateRequest::new().is_usable_once(false));
    // Instance A, on time, counted nine wrong codes, the last at minute 30.
    let record = modify(&base, |p| {
        p.failed_attempts = 9;
        p.last_failure = Some(at(30));
    });
    // Instance B's clock reads minute 30 less an hour... which is before the pass starts, so
    // take a pass that started earlier: minute 30 on A is minute -30 on B.
    let record = modify(&record, |p| {
        p.start = CREATED - Duration::hours(2);
        p.created = CREATED - Duration::hours(2);
        p.lifetime = temporary_access_pass::policy::Lifetime::from_minutes(600).unwrap();
    });
    let behind = at(30) - Duration::hours(1);
    let r = redeem_with(&open_policy(), &user, Some(&record), "wrong code", behind);
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
    let locked = modify(&record, |p| {
        p.failed_attempts = 12;
        p.locked_until = Some(at(20));
        p.last_failure = Some(at(0));
    });
    let r = redeem(
        &RedeemContext::new(&open_policy(), key(), &user, Some(&locked), browser())
            .lockout(Lockout::new(10, Duration::SECOND).unwrap()),
        "wrong code",
        at(25),
    );
    let write = r.write.unwrap();
    assert!(write.locked_until().unwrap() >= at(25));
    assert_eq!(write.last_failure(), Some(at(25)));
}
