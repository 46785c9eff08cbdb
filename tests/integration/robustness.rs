//! Robustness: no public function panics on any input (SPEC 0.3).
//!
//! CI runs a few hundred cases. The long run, recorded in BENCHMARKS.md:
//! `TAP_ROBUSTNESS_CASES=100000 cargo test --release --all-features --test integration robustness`.

use temporary_access_pass::hazmat::{CodeDigest, DigestScheme, RecordParts, compute_digest};
use temporary_access_pass::policy::{Lifetime, PasscodeLength};
use temporary_access_pass::signin::{
    Client, Lockout, OfferContext, PasswordlessMethod, RegisterContext, offer, register,
};
use temporary_access_pass::testing::proptest;
use temporary_access_pass::testing::proptest::prelude::*;
use temporary_access_pass::{
    Clock, CreateContext, CreateRequest, DigestKey, DirectoryRole, GroupId, IncludeTarget,
    ManualClock, PassId, Pepper, Policy, PolicySettings, PolicyState, Principal, RedeemContext,
    SignInRequest, TemporaryAccessPass, UserId, create, redeem,
};
use time::{Duration, UtcDateTime};

use crate::support::TestRng;

fn cases() -> u32 {
    std::env::var("TAP_ROBUSTNESS_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

/// Any instant, weighted towards the edges of `time`'s range.
fn instant() -> impl Strategy<Value = UtcDateTime> {
    let (lo, hi) = (
        UtcDateTime::MIN.unix_timestamp(),
        UtcDateTime::MAX.unix_timestamp(),
    );
    prop_oneof![
        2 => (lo..=hi).prop_map(|s| UtcDateTime::from_unix_timestamp(s).unwrap()),
        1 => Just(UtcDateTime::MIN),
        1 => Just(UtcDateTime::MAX),
        1 => (0_i64..100_000).prop_map(|n| UtcDateTime::MAX - Duration::seconds(n)),
        1 => (0_i64..100_000).prop_map(|n| UtcDateTime::MIN + Duration::seconds(n)),
    ]
}

fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        any::<i64>().prop_map(Duration::seconds),
        (-100_000_i64..100_000).prop_map(Duration::minutes),
        Just(Duration::MAX),
        Just(Duration::MIN),
    ]
}

/// Codes: empty, huge, non-ASCII, control characters, and plausible ones.
fn typed() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[A-Za-z0-9]{1,60}",
        ".{0,80}",
        (0_usize..200_000).prop_map(|n| "é".repeat(n)),
        proptest::collection::vec(any::<char>(), 0..100).prop_map(|v| v.into_iter().collect()),
    ]
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,300}",
        (0_usize..5_000).prop_map(|n| "x".repeat(n)),
        Just(String::new())
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn validating_constructors_never_panic(
        a in any::<u32>(), b in any::<u32>(), c in any::<u32>(), d in any::<u32>(),
        text in any_text(), bytes in proptest::collection::vec(any::<u8>(), 0..100),
        attempts in any::<u32>(), backoff in duration(),
    ) {
        let _ = Policy::new(PolicySettings::new().minimum_lifetime_minutes(a).default_lifetime_minutes(b).maximum_lifetime_minutes(c).default_length(d));
        let _ = Lifetime::from_minutes(a);
        let _ = PasscodeLength::new(d);
        let _ = UserId::new(&text);
        let _ = GroupId::new(&text);
        let _ = text.parse::<PassId>();
        let _ = Pepper::new(&bytes);
        let _ = Lockout::new(attempts, backoff);
    }

    #[test]
    fn creation_evaluation_and_sign_in_never_panic(
        created in instant(),
        start_offset in proptest::option::of(prop_oneof![3 => 0_i64..200_000, 1 => any::<i64>()]),
        now_offset in prop_oneof![3 => -10_000_i64..300_000, 1 => any::<i64>()],
        lifetime in proptest::option::of(prop_oneof![3 => 10_u32..=43_200, 1 => any::<u32>()]),
        once in proptest::option::of(any::<bool>()),
        length in 8_u32..=48, code in typed(), guest in any::<bool>(),
        used in proptest::option::of(-1_000_i64..300_000), locked in proptest::option::of(-1_000_i64..300_000),
        failed in any::<u32>(), keyed in any::<bool>(), client in 0_u8..6,
    ) {
        let policy = Policy::new(
            PolicySettings::new()
                .state(PolicyState::Enabled)
                .include_target(IncludeTarget::AllUsers)
                .minimum_lifetime_minutes(10).default_lifetime_minutes(60).maximum_lifetime_minutes(43_200)
                .default_length(length),
        ).unwrap();
        let admin = Principal::member(UserId::new("a").unwrap()).role(DirectoryRole::GlobalAdministrator);
        let user = if guest { Principal::guest(UserId::new("u").unwrap()) } else { Principal::member(UserId::new("u").unwrap()) };
        let pepper = if keyed { DigestKey::from(Pepper::new(&[1; 32]).unwrap()) } else { DigestKey::unkeyed() };
        let pepper = &pepper;
        let start = start_offset.and_then(|s| created.checked_add(Duration::seconds(s)));
        let now = created.checked_add(Duration::seconds(now_offset)).unwrap_or(created);
        let mut request = CreateRequest::new();
        request.start = start;
        request.lifetime_minutes = lifetime;
        request.is_usable_once = once;
        let ctx = CreateContext::new(&policy, pepper, &admin, &user);
        let client = [Client::Browser, Client::AuthenticatorApp, Client::NpsExtension,
                      Client::AdfsAdapter, Client::WindowsSetup, Client::Autopilot][usize::from(client)];
        let sign_in = SignInRequest::new(client);
        let _ = redeem(&RedeemContext::new(&policy, pepper, &user, None, sign_in), &code, now);
        if let Ok(issued) = create(&ctx, &request, created, &mut TestRng(9)) {
            let mut parts = issued.record.into_parts();
            parts.used_at = used.and_then(|s| created.checked_add(Duration::seconds(s)));
            parts.locked_until = locked.and_then(|s| created.checked_add(Duration::seconds(s)));
            parts.failed_attempts = failed;
            if let Ok(record) = TemporaryAccessPass::from_parts(parts) {
                let _ = record.usability(&policy, &user, now);
                let _ = record.view(&policy, &user, now);
                let _ = offer(&OfferContext::new(&policy, &user, Some(&record), sign_in), now);
                let r = redeem(&RedeemContext::new(&policy, pepper, &user, Some(&record), sign_in), &code, now);
                if let Ok(grant) = &r.outcome {
                    let _ = register(&RegisterContext::new(&user, grant, r.write.as_ref()), PasswordlessMethod::PhoneSignIn, now);
                }
                if let Some(next) = r.write {
                    // The crate never sets a lock past the end; a stored one stays as it was.
                    prop_assert!(next.locked_until().is_none_or(|t| t <= next.end() || Some(t) == record.locked_until()));
                    prop_assert!(next.locked_until() >= record.locked_until() || next.failed_attempts() == 0, "a lock never shortens (SPEC 6.6)");
                }
            }
        }
    }

    #[test]
    fn digests_and_records_from_arbitrary_parts_never_panic(
        salt in any::<[u8; 16]>(), id in any::<[u8; 16]>(), digest in any::<[u8; 32]>(),
        length in 8_u32..=48, code in typed(), created in instant(), start in instant(),
        minutes in 10_u32..=43_200, keyed in any::<bool>(),
    ) {
        let len = PasscodeLength::new(length).unwrap();
        let pepper = if keyed { DigestKey::from(Pepper::new(&[2; 32]).unwrap()) } else { DigestKey::unkeyed() };
        let pepper = &pepper;
        let _ = compute_digest(pepper, &salt, &PassId::from_bytes(id), code.as_bytes());
        let sealed = CodeDigest::from_parts(DigestScheme::HmacSha256, salt, len, digest);
        prop_assert!(!sealed.verify(pepper, &PassId::from_bytes(id), &code), "a random digest never verifies");
        let parts = RecordParts::new(
            PassId::from_bytes(id), UserId::new("u").unwrap(), created, start,
            Lifetime::from_minutes(minutes).unwrap(), false, sealed,
        );
        let _ = TemporaryAccessPass::from_parts(parts);
    }

    #[test]
    fn clocks_moving_anywhere_never_panic(from in instant(), steps in proptest::collection::vec(duration(), 0..20)) {
        let clock = ManualClock::new(from);
        for step in steps {
            let before = clock.now();
            if let Ok(now) = clock.advance(step) {
                prop_assert_eq!(Some(now), before.checked_add(step));
            } else {
                prop_assert_eq!(clock.now(), before, "a refused move leaves the clock alone");
            }
        }
    }
}
