//! Bad input: errors at the edges of `time`'s range, never panics (SPEC 0.3).

use temporary_access_pass::{
    Clock, CreatePassRequest, DirectoryRole, IdError, IssueContext, IssueError, Lifetime,
    ManualClock, PassId, PassIdError, Policy, PolicySettings, SystemClock, Usability, UserId,
    issue,
};
use time::{Duration, UtcDateTime};

use crate::support::{CREATED, TestRng, admin, key, member, open_policy};

#[test]
fn creation_at_every_edge_of_times_range_errs_or_succeeds_without_panicking() {
    let issuer = admin("aa", DirectoryRole::AuthenticationAdministrator);
    let user = member("u");
    let policy = Policy::new(PolicySettings::new().lifetimes(10, 10, 43_200)).unwrap();
    let ctx = IssueContext::new(&policy, key(), &issuer, &user);
    let edges = [
        UtcDateTime::MIN,
        UtcDateTime::MIN + Duration::nanoseconds(1),
        UtcDateTime::MAX - Duration::minutes(43_200),
        UtcDateTime::MAX - Duration::nanoseconds(1),
        UtcDateTime::MAX,
    ];
    for now in edges {
        for start in edges {
            for minutes in [10, 43_200] {
                let request = CreatePassRequest::new()
                    .start(start)
                    .lifetime_minutes(minutes);
                match issue(&ctx, &request, now, &mut TestRng(1)) {
                    Ok(issued) => {
                        let pass = issued.record;
                        assert_eq!(pass.end(), start + Duration::minutes(i64::from(minutes)));
                        // Evaluating at the edges never panics either.
                        for at in edges {
                            let _ = pass.usability(&policy, &user, at).is_usable();
                        }
                    }
                    Err(IssueError::StartInPast { .. }) => assert!(start < now),
                    Err(IssueError::EndOutOfRange { .. }) => {
                        assert!(
                            start
                                .checked_add(Duration::minutes(i64::from(minutes)))
                                .is_none()
                        );
                    }
                    Err(other) => panic!("unexpected {other:?}"),
                }
            }
        }
    }
}

#[test]
fn usability_at_the_edges_of_time() {
    let user = member("u");
    let policy = open_policy();
    let issuer = admin("aa", DirectoryRole::AuthenticationAdministrator);
    let last = UtcDateTime::MAX - Duration::minutes(60);
    let pass = issue(
        &IssueContext::new(&policy, key(), &issuer, &user),
        &CreatePassRequest::new().start(last),
        UtcDateTime::MIN,
        &mut TestRng(2),
    )
    .unwrap()
    .record;
    assert_eq!(
        pass.usability(&policy, &user, UtcDateTime::MIN),
        Usability::NotYetValid { starts_at: last }
    );
    assert_eq!(pass.usability(&policy, &user, last), Usability::Usable);
    assert_eq!(
        pass.usability(&policy, &user, UtcDateTime::MAX),
        Usability::Expired {
            at: UtcDateTime::MAX
        }
    );
}

#[test]
fn manual_clock_moves_both_ways_and_refuses_to_leave_the_range() {
    let clock = ManualClock::new(CREATED);
    assert_eq!(clock.now(), CREATED);
    assert_eq!(
        clock.advance(Duration::minutes(10)).unwrap(),
        CREATED + Duration::minutes(10)
    );
    assert_eq!(
        clock.advance(Duration::minutes(-20)).unwrap(),
        CREATED - Duration::minutes(10)
    );
    clock.set(UtcDateTime::MAX);
    let err = clock.advance(Duration::nanoseconds(1)).unwrap_err();
    assert_eq!(
        (err.from, err.by),
        (UtcDateTime::MAX, Duration::nanoseconds(1))
    );
    assert_eq!(
        clock.now(),
        UtcDateTime::MAX,
        "a refused move leaves the clock where it was"
    );
    clock.set(UtcDateTime::MIN);
    assert!(clock.advance(Duration::MIN).is_err());
    assert!(err.to_string().contains("leaves the range"));
    // The system clock reads something after the seed's sample date.
    assert!(SystemClock::new().now() > CREATED);
    // A shared reference is a clock too, so an engine can borrow a test's clock.
    fn takes<C: Clock>(c: C) -> UtcDateTime {
        c.now()
    }
    assert_eq!(takes(&clock), UtcDateTime::MIN);
}

#[test]
fn identifiers_reject_bad_text_with_a_reason() {
    assert_eq!(
        UserId::new("").unwrap_err().to_string(),
        "user id is empty: it must hold 1 to 256 characters"
    );
    assert!(matches!(
        UserId::new(&"x".repeat(257)),
        Err(IdError::TooLong {
            len: 257,
            max: 256,
            ..
        })
    ));
    assert_eq!(
        UserId::new("a\u{7}b"),
        Err(IdError::ControlCharacter { kind: "user" })
    );
    assert_eq!("nope".parse::<PassId>(), Err(PassIdError));
    assert!(PassIdError.to_string().contains("8-4-4-4-12"));
    assert_eq!(Lifetime::from_minutes(9).unwrap_err().min, 10);
}

#[test]
fn pass_ids_are_version_4_guids() {
    let mut rng = TestRng(5);
    let a = PassId::random(&mut rng).unwrap();
    let b = PassId::random(&mut rng).unwrap();
    assert_ne!(a, b);
    let text = a.to_string();
    assert_eq!(text.len(), 36);
    assert_eq!(&text[14..15], "4");
    assert!(matches!(&text[19..20], "8" | "9" | "a" | "b"));
    assert_eq!(text.parse::<PassId>(), Ok(a));
}
