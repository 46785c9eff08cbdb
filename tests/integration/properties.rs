//! Property tests: invariants over arbitrary inputs (STYLE 16).

use proptest::prelude::*;
use temporary_access_pass::{
    ALPHABET, CreatePassRequest, DigestKey, DirectoryRole, IncludeTarget, IssueContext, IssueError,
    Passcode, PasscodeLength, Pepper, Policy, PolicyError, PolicySettings, PolicyState,
    TemporaryAccessPass, Usability, issue,
};
use time::{Duration, UtcDateTime};

use crate::support::{TestRng, admin, key, member};

/// Any instant `time` can represent.
fn instant() -> impl Strategy<Value = UtcDateTime> {
    let (lo, hi) = (
        UtcDateTime::MIN.unix_timestamp(),
        UtcDateTime::MAX.unix_timestamp(),
    );
    (lo..=hi, 0..1_000_000_000_u32)
        .prop_map(|(secs, nanos)| {
            UtcDateTime::from_unix_timestamp(secs).unwrap()
                + Duration::nanoseconds(i64::from(nanos))
        })
        .prop_filter("representable", |_| true)
}

/// Instants near one another, so windows and `now` interleave often.
fn nearby(base: UtcDateTime) -> impl Strategy<Value = UtcDateTime> {
    (-100_000_i64..100_000).prop_filter_map("representable", move |secs| {
        base.checked_add(Duration::seconds(secs))
    })
}

fn open_policy(length: u32, once: bool) -> Policy {
    Policy::new(
        PolicySettings::new()
            .state(PolicyState::Enabled)
            .include(IncludeTarget::AllUsers)
            .lifetimes(10, 10, 43_200)
            .length(length)
            .usable_once(once),
    )
    .unwrap()
}

fn make_pass(
    policy: &Policy,
    start: UtcDateTime,
    minutes: u32,
    seed: u64,
    key: &DigestKey,
) -> Result<(String, TemporaryAccessPass), IssueError> {
    let issuer = admin("aa", DirectoryRole::AuthenticationAdministrator);
    let user = member("u");
    let ctx = IssueContext::new(policy, key, &issuer, &user);
    let request = CreatePassRequest::new()
        .start(start)
        .lifetime_minutes(minutes);
    let issued = issue(&ctx, &request, start, &mut TestRng(seed))?;
    Ok((
        issued.created.passcode.expose_secret().to_owned(),
        issued.record,
    ))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// SPEC 4.1 window: NotYetValid iff now < start, Expired iff now >= end, otherwise usable
    /// (open policy, multi-use, member): start inclusive, end exclusive, for any instants.
    #[test]
    fn window_boundaries_are_exact(
        (start, now) in instant().prop_flat_map(|s| (Just(s), prop_oneof![nearby(s), instant()])),
        minutes in 10_u32..=43_200,
    ) {
        let policy = open_policy(8, false);
        match make_pass(&policy, start, minutes, 1, key()) {
            Err(IssueError::EndOutOfRange { .. }) => {
                prop_assert!(start.checked_add(Duration::minutes(i64::from(minutes))).is_none());
            }
            Err(other) => prop_assert!(false, "unexpected {other:?}"),
            Ok((_, pass)) => {
                let end = start + Duration::minutes(i64::from(minutes));
                prop_assert_eq!(pass.end(), end);
                let u = pass.usability(&policy, &member("u"), now);
                let expected = if now < start {
                    Usability::NotYetValid { starts_at: start }
                } else if now >= end {
                    Usability::Expired { at: end }
                } else {
                    Usability::Usable
                };
                prop_assert_eq!(u, expected);
                // The boundaries themselves.
                prop_assert!(pass.usability(&policy, &member("u"), start).is_usable());
                prop_assert_eq!(pass.usability(&policy, &member("u"), end), Usability::Expired { at: end });
            }
        }
    }

    /// Usability is monotone in time: once expired, expired at every later instant.
    #[test]
    fn expiry_is_monotone(start in instant(), a in 0_i64..5_000_000, b in 0_i64..5_000_000, minutes in 10_u32..=43_200) {
        let policy = open_policy(8, false);
        if let Ok((_, pass)) = make_pass(&policy, start, minutes, 2, key()) {
            let (t1, t2) = (start.checked_add(Duration::seconds(a.min(b))), start.checked_add(Duration::seconds(a.max(b))));
            if let (Some(t1), Some(t2)) = (t1, t2) {
                let user = member("u");
                if matches!(pass.usability(&policy, &user, t1), Usability::Expired { .. }) {
                    let later = pass.usability(&policy, &user, t2);
                    prop_assert!(matches!(later, Usability::Expired { .. }), "{:?}", later);
                }
            }
        }
    }

    /// SPEC 1.3: validation accepts exactly what a naive range check accepts.
    #[test]
    fn policy_validation_equals_a_naive_range_check(
        min in prop_oneof![0_u32..50_000, Just(10), Just(43_200), any::<u32>()],
        def in prop_oneof![0_u32..50_000, Just(10), Just(43_200), any::<u32>()],
        max in prop_oneof![0_u32..50_000, Just(10), Just(43_200), any::<u32>()],
        len in prop_oneof![0_u32..60, any::<u32>()],
    ) {
        let in_range = |m: u32| (10..=43_200).contains(&m);
        let naive = in_range(min) && in_range(def) && in_range(max) && (8..=48).contains(&len) && min <= def && def <= max;
        let result = Policy::new(PolicySettings::new().lifetimes(min, def, max).length(len));
        prop_assert_eq!(result.is_ok(), naive, "{:?}", result);
        if let Ok(p) = result {
            prop_assert_eq!((p.minimum_lifetime().minutes(), p.default_lifetime().minutes(), p.maximum_lifetime().minutes()), (min, def, max));
            prop_assert_eq!(p.default_length().get(), len as usize);
        } else {
            // The error names a rule that the naive check also finds broken.
            let broken = match result.unwrap_err() {
                PolicyError::MinimumLifetimeOutOfRange { value, .. } => value == min && !in_range(min),
                PolicyError::MaximumLifetimeOutOfRange { value, .. } => value == max && !in_range(max),
                PolicyError::DefaultLifetimeOutOfRange { value, .. } => value == def && !in_range(def),
                PolicyError::LengthOutOfRange { value, .. } => value == len && !(8..=48).contains(&len),
                PolicyError::DefaultBelowMinimum { .. } => def < min,
                PolicyError::DefaultAboveMaximum { .. } => def > max,
                other => panic!("new variant {other:?}"),
            };
            prop_assert!(broken);
        }
    }

    /// SPEC 2.5: codes have exactly the policy length and only alphabet characters.
    #[test]
    fn generated_codes_have_the_length_and_alphabet(len in 8_u32..=48, seed in any::<u64>()) {
        let length = PasscodeLength::new(len).unwrap();
        let code = Passcode::generate(length, &mut TestRng(seed)).unwrap();
        prop_assert_eq!(code.expose_secret().len(), len as usize);
        prop_assert!(code.expose_secret().bytes().all(|b| ALPHABET.contains(&b)));
    }

    /// SPEC 6.1-6.2: a code verifies against its own record and never another pass's, with or
    /// without a pepper; arbitrary typed text never verifies unless it is the code.
    #[test]
    fn a_code_verifies_only_against_its_own_record(
        len in 8_u32..=48,
        seeds in (any::<u64>(), any::<u64>()).prop_filter("distinct", |(a, b)| a != b),
        keyed in any::<bool>(),
        typed in ".{0,64}",
    ) {
        let pepper = if keyed {
            DigestKey::from(Pepper::new(&[0xa5; 32]).unwrap())
        } else {
            DigestKey::unkeyed()
        };
        let pepper = &pepper;
        let policy = open_policy(len, false);
        let start = UtcDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let (code1, pass1) = make_pass(&policy, start, 60, seeds.0, pepper).unwrap();
        let (code2, pass2) = make_pass(&policy, start, 60, seeds.1, pepper).unwrap();
        prop_assert!(pass1.verify_code(pepper, &code1));
        prop_assert!(pass2.verify_code(pepper, &code2));
        prop_assert!(!pass2.verify_code(pepper, &code1));
        prop_assert!(!pass1.verify_code(pepper, &code2));
        prop_assert_eq!(pass1.verify_code(pepper, &typed), typed == code1);
    }
}

#[cfg(feature = "test-support")]
mod harness_strategies {
    use proptest::prelude::*;
    use temporary_access_pass::{Policy, authorize, strategies};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The strategies a downstream harness gets do what they say.
        #[test]
        fn valid_settings_validate_and_invalid_ones_do_not(
            valid in strategies::valid_policy_settings(),
            invalid in strategies::invalid_policy_settings(),
        ) {
            prop_assert!(Policy::new(valid).is_ok());
            prop_assert!(Policy::new(invalid).is_err());
        }

        /// Roles matter: the role matrix refuses creation for oneself, whatever the roles.
        #[test]
        fn nobody_creates_their_own_pass(p in strategies::principal()) {
            prop_assert!(authorize(&p, temporary_access_pass::Action::Create, &p).is_err());
        }

        #[test]
        fn schedules_have_at_most_the_steps_asked(s in strategies::clock_schedule(7)) {
            prop_assert!(s.len() <= 7);
        }
    }
}
