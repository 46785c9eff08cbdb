//! SPEC 4: usability, its causes, its precedence and its Graph names.

use temporary_access_pass::CreateError;
use temporary_access_pass::hazmat::RecordError;
use temporary_access_pass::testing::proptest::prelude::*;
use temporary_access_pass::{
    BlockCause, CreateRequest, ExcludeTarget, IncludeTarget, Policy, PolicySettings, PolicyState,
    Principal, TemporaryAccessPass, Usability,
};
use time::{Duration, UtcDateTime, macros::utc_datetime};

use crate::support::{
    CREATED, gid, issue_under, member, modify, open_policy, open_settings, pass_for, uid,
};

#[test]
fn spec_4_1_each_state_and_is_usable_exactly_for_usable() {
    let user = member("u");
    let policy = open_policy();
    let start = CREATED + Duration::hours(1);
    let pass = pass_for(
        &user,
        CreateRequest::new().start(start).is_usable_once(true),
    )
    .1;
    let end = pass.end();
    assert_eq!(
        pass.usability(&policy, &user, CREATED),
        Usability::NotYetValid { starts_at: start }
    );
    assert_eq!(pass.usability(&policy, &user, start), Usability::Usable);
    assert_eq!(
        pass.usability(&policy, &user, end),
        Usability::Expired { at: end }
    );
    let used_at = start + Duration::minutes(5);
    let used = modify(&pass, |p| p.used_at = Some(used_at));
    assert_eq!(
        used.usability(&policy, &user, used_at),
        Usability::OneTimeUsed { at: used_at }
    );
    let disabled = Policy::default();
    assert_eq!(
        pass.usability(&disabled, &user, start),
        Usability::PolicyBlocked(BlockCause::PolicyDisabled)
    );
    for u in [
        Usability::NotYetValid { starts_at: start },
        Usability::Expired { at: end },
        Usability::OneTimeUsed { at: used_at },
        Usability::PolicyBlocked(BlockCause::GuestUser),
    ] {
        assert!(!u.is_usable(), "{u}");
    }
    assert!(Usability::Usable.is_usable());
    // The view agrees.
    let view = pass.view(&policy, &user, start);
    assert!(view.is_usable && view.usability == Usability::Usable);
}

#[test]
fn spec_4_2_every_block_cause() {
    let enabled = || PolicySettings::new().state(PolicyState::Enabled);
    let user = member("u").group(gid("excluded"));
    let multi = pass_for(&user, CreateRequest::new().is_usable_once(false)).1;
    let at = CREATED;
    let blocked = |policy: &Policy, who: &Principal, pass: &TemporaryAccessPass| {
        pass.usability(policy, who, at)
    };

    assert_eq!(
        blocked(&Policy::default(), &user, &multi),
        Usability::PolicyBlocked(BlockCause::PolicyDisabled)
    );
    let nobody = Policy::new(enabled()).unwrap();
    assert_eq!(
        blocked(&nobody, &user, &multi),
        Usability::PolicyBlocked(BlockCause::NotIncluded)
    );
    let excluding = Policy::new(
        enabled()
            .include_target(IncludeTarget::AllUsers)
            .exclude_target(ExcludeTarget::Group(gid("excluded"))),
    )
    .unwrap();
    assert_eq!(
        blocked(&excluding, &user, &multi),
        Usability::PolicyBlocked(BlockCause::Excluded)
    );
    assert!(BlockCause::Excluded.is_not_in_scope() && BlockCause::NotIncluded.is_not_in_scope());
    assert!(!BlockCause::GuestUser.is_not_in_scope());

    // SPEC 1.6: a multi-use pass that exists when the policy turns one-time is blocked.
    let one_time = Policy::new(
        enabled()
            .include_target(IncludeTarget::AllUsers)
            .is_usable_once(true),
    )
    .unwrap();
    assert_eq!(
        blocked(&one_time, &user, &multi),
        Usability::PolicyBlocked(BlockCause::MultiUseUnderOneTimePolicy)
    );

    let guest = Principal::guest(uid("g"));
    let guest_pass = pass_for(&guest, CreateRequest::new()).1;
    assert_eq!(
        blocked(&open_policy(), &guest, &guest_pass),
        Usability::PolicyBlocked(BlockCause::GuestUser)
    );

    let until = at + Duration::minutes(1);
    let locked = modify(&multi, |p| {
        p.failed_attempts = 10;
        p.locked_until = Some(until);
    });
    assert_eq!(
        blocked(&open_policy(), &user, &locked),
        Usability::PolicyBlocked(BlockCause::Locked { until })
    );
    // The lock lifts at `until` (exclusive).
    assert_eq!(
        locked.usability(&open_policy(), &user, until),
        Usability::Usable
    );

    // A record evaluated for someone else fails closed.
    assert_eq!(
        blocked(&open_policy(), &member("intruder"), &multi),
        Usability::PolicyBlocked(BlockCause::NotTheHolder)
    );
}

#[test]
fn spec_4_3_precedence_first_match_wins() {
    let user = member("u");
    let guest = Principal::guest(uid("u"));
    let start = CREATED + Duration::hours(1);
    let pass = pass_for(
        &user,
        CreateRequest::new().start(start).is_usable_once(true),
    )
    .1;
    let used = modify(&pass, |p| p.used_at = Some(start));
    let multi = pass_for(
        &user,
        CreateRequest::new().start(start).is_usable_once(false),
    )
    .1;
    let one_time_policy = Policy::new(
        PolicySettings::new()
            .state(PolicyState::Enabled)
            .include_target(IncludeTarget::AllUsers)
            .is_usable_once(true),
    )
    .unwrap();
    let disabled = Policy::default();
    let before = CREATED;
    let after = pass.end() + Duration::hours(1);

    // 1. Disabled / out of scope beats not-yet-valid, expired and used.
    for now in [before, start, after] {
        assert_eq!(
            used.usability(&disabled, &user, now),
            Usability::PolicyBlocked(BlockCause::PolicyDisabled)
        );
    }
    // 2. Not yet valid beats the other causes (multi-use under one-time policy, guest).
    assert_eq!(
        multi.usability(&one_time_policy, &guest, before),
        Usability::NotYetValid { starts_at: start }
    );
    // 3. Expired beats one-time used and other causes.
    assert_eq!(
        used.usability(&open_policy(), &user, after),
        Usability::Expired { at: pass.end() }
    );
    assert_eq!(
        multi.usability(&one_time_policy, &guest, after),
        Usability::Expired { at: multi.end() }
    );
    // 4. One-time used beats guest and lock.
    let used_locked = modify(&used, |p| p.locked_until = Some(pass.end()));
    assert_eq!(
        used_locked.usability(&open_policy(), &guest, start),
        Usability::OneTimeUsed { at: start }
    );
    // 5. The other causes, in their order, beat usable.
    assert_eq!(
        multi.usability(&one_time_policy, &guest, start),
        Usability::PolicyBlocked(BlockCause::MultiUseUnderOneTimePolicy)
    );
    assert_eq!(
        used_locked.usability(&open_policy(), &guest, start),
        Usability::OneTimeUsed { at: start }
    );
    assert_eq!(
        modify(&pass, |p| p.locked_until = Some(pass.end())).usability(
            &open_policy(),
            &guest,
            start
        ),
        Usability::PolicyBlocked(BlockCause::GuestUser)
    );
}

#[test]
fn spec_4_4_graph_names() {
    let t = CREATED;
    assert_eq!(Usability::Usable.graph_name(), "EnabledByPolicy");
    assert_eq!(
        Usability::PolicyBlocked(BlockCause::GuestUser).graph_name(),
        "DisabledByPolicy"
    );
    assert_eq!(
        Usability::NotYetValid { starts_at: t }.graph_name(),
        "NotYetValid"
    );
    assert_eq!(Usability::Expired { at: t }.graph_name(), "Expired");
    assert_eq!(Usability::OneTimeUsed { at: t }.graph_name(), "OneTimeUsed");
}

/// The seed's PowerShell sample: `New-MgUserAuthenticationTemporaryAccessPassMethod` with
/// `isUsableOnce = $True`, `startDateTime = '2021-03-11 06:00:00'`, run at 2021-03-09 23:19:17,
/// prints `IsUsable False`, `IsUsableOnce True`, `LifetimeInMinutes 60`,
/// `MethodUsabilityReason NotYetValid`.
#[test]
fn spec_4_4_seed_powershell_sample() {
    let user = member("user2@contoso.com");
    let policy = open_policy();
    let request = CreateRequest::new()
        .is_usable_once(true)
        .start(utc_datetime!(2021-03-11 06:00:00));
    let issued = issue_under(&policy, &user, None, request, CREATED).unwrap();
    let view = &issued.view;
    assert_eq!(view.created, utc_datetime!(2021-03-09 23:19:17));
    assert_eq!(view.start, utc_datetime!(2021-03-11 06:00:00));
    assert!(!view.is_usable);
    assert!(view.is_usable_once);
    assert_eq!(view.lifetime.minutes(), 60);
    assert_eq!(view.usability.graph_name(), "NotYetValid");
    // `Get-Mg...` later shows the same, without the code.
    let again = issued.record.view(&policy, &user, CREATED);
    assert_eq!(&again, view);
}

#[test]
fn records_rebuilt_from_parts_are_checked() {
    let pass = pass_for(&member("u"), CreateRequest::new()).1;
    assert_eq!(
        TemporaryAccessPass::from_parts(pass.clone().into_parts()).unwrap(),
        pass
    );
    let mut parts = pass.clone().into_parts();
    parts.start = UtcDateTime::MAX;
    assert!(matches!(
        TemporaryAccessPass::from_parts(parts),
        Err(RecordError::EndOutOfRange { .. })
    ));
    let mut parts = pass.into_parts();
    parts.start = parts.created - Duration::seconds(1);
    assert!(matches!(
        TemporaryAccessPass::from_parts(parts),
        Err(RecordError::StartBeforeCreation { .. })
    ));
}

/// Any instant `time` can represent.
fn instant() -> impl Strategy<Value = UtcDateTime> {
    let (lo, hi) = (
        UtcDateTime::MIN.unix_timestamp(),
        UtcDateTime::MAX.unix_timestamp(),
    );
    (lo..=hi, 0..1_000_000_000_u32).prop_map(|(secs, nanos)| {
        UtcDateTime::from_unix_timestamp(secs).unwrap() + Duration::nanoseconds(i64::from(nanos))
    })
}

/// Instants near one another, so windows and `now` interleave often.
fn nearby(base: UtcDateTime) -> impl Strategy<Value = UtcDateTime> {
    (-100_000_i64..100_000).prop_filter_map("representable", move |secs| {
        base.checked_add(Duration::seconds(secs))
    })
}

/// The open policy with every lifetime allowed.
fn window_policy() -> Policy {
    Policy::new(
        open_settings()
            .minimum_lifetime_minutes(10)
            .default_lifetime_minutes(10)
            .maximum_lifetime_minutes(43_200),
    )
    .unwrap()
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
        let policy = window_policy();
        match issue_under(&policy, &member("u"), None, CreateRequest::new().start(start).lifetime_minutes(minutes), start).map(|c| c.record) {
            Err(CreateError::EndOutOfRange { .. }) => {
                prop_assert!(start.checked_add(Duration::minutes(i64::from(minutes))).is_none());
            }
            Err(other) => prop_assert!(false, "unexpected {other:?}"),
            Ok(pass) => {
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
        let policy = window_policy();
        if let Ok(pass) = issue_under(&policy, &member("u"), None, CreateRequest::new().start(start).lifetime_minutes(minutes), start).map(|c| c.record) {
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
}

#[test]
fn usability_at_the_edges_of_time() {
    let user = member("u");
    let policy = open_policy();
    let last = UtcDateTime::MAX - Duration::minutes(60);
    let pass = issue_under(
        &policy,
        &user,
        None,
        CreateRequest::new().start(last),
        UtcDateTime::MIN,
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
