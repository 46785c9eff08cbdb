//! `proptest` strategies for downstream harnesses (feature `test-support`). **Not covered by
//! semver.**
//!
//! A host testing its own integration can draw policies (valid and invalid), principals with
//! roles, creation requests and clock schedules, and drive the crate with them:
//!
//! ```
//! use temporary_access_pass::testing::proptest::prelude::*;
//! use temporary_access_pass::testing::strategies;
//! use temporary_access_pass::time::macros::utc_datetime;
//! use temporary_access_pass::{Clock, CreateContext, DigestKey, ManualClock, SysRng, create};
//!
//! proptest! {
//!     #![proptest_config(ProptestConfig::with_cases(32))]
//!     // In a test file, put `#[test]` here.
//!     fn my_host_never_sees_a_usable_pass_after_its_end(
//!         policy in strategies::valid_policy(),
//!         issuer in strategies::principal(),
//!         target in strategies::principal(),
//!         request in strategies::create_request(),
//!         schedule in strategies::clock_schedule(20),
//!     ) {
//!         let clock = ManualClock::new(utc_datetime!(2024-01-01 00:00:00));
//!         let key = DigestKey::unkeyed(); // a test double; a host uses its pepper
//!         let ctx = CreateContext::new(&policy, &key, &issuer, &target);
//!         let Ok(issued) = create(&ctx, &request, clock.now(), &mut SysRng) else {
//!             return Ok(()); // refusals are fine here; other tests cover them
//!         };
//!         for step in schedule {
//!             let _ = clock.advance(step);
//!             let now = clock.now();
//!             if now >= issued.record.end() {
//!                 prop_assert!(!issued.record.usability(&policy, &target, now).is_usable());
//!             }
//!         }
//!     }
//! }
//! my_host_never_sees_a_usable_pass_after_its_end();
//! ```

use alloc::format;
use alloc::vec::Vec;

use proptest::prelude::*;
use time::{Duration, UtcDateTime};

use crate::create::CreateRequest;
use crate::ids::{GroupId, UserId};
use crate::policy::{
    ExcludeTarget, IncludeTarget, Lifetime, PasscodeLength, Policy, PolicySettings, PolicyState,
};
use crate::principal::{DirectoryRole, Principal, UserType};

const ROLES: [DirectoryRole; 13] = [
    DirectoryRole::GlobalAdministrator,
    DirectoryRole::PrivilegedAuthenticationAdministrator,
    DirectoryRole::AuthenticationAdministrator,
    DirectoryRole::AuthenticationPolicyAdministrator,
    DirectoryRole::GlobalReader,
    DirectoryRole::DirectoryReaders,
    DirectoryRole::GuestInviter,
    DirectoryRole::MessageCenterReader,
    DirectoryRole::PasswordAdministrator,
    DirectoryRole::ReportsReader,
    DirectoryRole::UserExperienceSuccessManager,
    DirectoryRole::UsageSummaryReportsReader,
    DirectoryRole::OtherAdministrator,
];

/// A user id from a small pool (`user-0` .. `user-7`), so principals collide often enough to
/// exercise "themselves" rules and scope matches.
pub fn user_id() -> impl Strategy<Value = UserId> {
    (0_u8..8).prop_filter_map("valid id", |n| UserId::new(&format!("user-{n}")).ok())
}

/// A group id from a small pool (`group-0` .. `group-3`).
pub fn group_id() -> impl Strategy<Value = GroupId> {
    (0_u8..4).prop_filter_map("valid id", |n| GroupId::new(&format!("group-{n}")).ok())
}

/// Any directory role.
pub fn role() -> impl Strategy<Value = DirectoryRole> {
    proptest::sample::select(&ROLES[..])
}

/// A principal: member or guest, up to three groups, up to three roles.
pub fn principal() -> impl Strategy<Value = Principal> {
    (
        user_id(),
        prop_oneof![4 => Just(UserType::Member), 1 => Just(UserType::Guest)],
        proptest::collection::vec(group_id(), 0..3),
        proptest::collection::vec(role(), 0..3),
    )
        .prop_map(|(id, user_type, groups, roles)| Principal::new(id, user_type, groups, roles))
}

/// An include target.
pub fn include_target() -> impl Strategy<Value = IncludeTarget> {
    prop_oneof![
        user_id().prop_map(IncludeTarget::User),
        group_id().prop_map(IncludeTarget::Group),
        Just(IncludeTarget::AllUsers),
    ]
}

/// An exclude target.
pub fn exclude_target() -> impl Strategy<Value = ExcludeTarget> {
    prop_oneof![
        user_id().prop_map(ExcludeTarget::User),
        group_id().prop_map(ExcludeTarget::Group),
    ]
}

/// Settings that pass validation: lifetimes ordered within 10..=43200, length within 8..=48.
pub fn valid_policy_settings() -> impl Strategy<Value = PolicySettings> {
    let (lo, hi) = (Lifetime::MIN.minutes(), Lifetime::MAX.minutes());
    (
        proptest::collection::vec(lo..=hi, 3),
        u32::try_from(PasscodeLength::MIN.get()).unwrap_or(8)
            ..=u32::try_from(PasscodeLength::MAX.get()).unwrap_or(48),
        any::<bool>(),
        any::<bool>(),
        proptest::collection::vec(include_target(), 0..3),
        proptest::collection::vec(exclude_target(), 0..2),
    )
        .prop_map(|(mut lifetimes, length, enabled, once, include, exclude)| {
            lifetimes.sort_unstable();
            let (min, def, max) = match lifetimes.as_slice() {
                [a, b, c] => (*a, *b, *c),
                _ => (60, 60, 1440),
            };
            PolicySettings {
                state: if enabled {
                    PolicyState::Enabled
                } else {
                    PolicyState::Disabled
                },
                minimum_lifetime_minutes: min,
                maximum_lifetime_minutes: max,
                default_lifetime_minutes: def,
                is_usable_once: once,
                default_length: length,
                include_targets: include,
                exclude_targets: exclude,
            }
        })
}

/// A valid policy.
pub fn valid_policy() -> impl Strategy<Value = Policy> {
    valid_policy_settings().prop_filter_map("valid by construction", |s| Policy::new(s).ok())
}

/// Settings that break at least one rule of SPEC 1.3 (a value out of range, or the default
/// outside `[minimum, maximum]`).
pub fn invalid_policy_settings() -> impl Strategy<Value = PolicySettings> {
    (valid_policy_settings(), 0_u8..6, any::<u32>()).prop_map(|(mut s, rule, noise)| {
        let out_of_range = |noise: u32| {
            if noise.is_multiple_of(2) {
                noise % 10
            } else {
                Lifetime::MAX
                    .minutes()
                    .saturating_add(1)
                    .saturating_add(noise % 1000)
            }
        };
        match rule {
            0 => s.minimum_lifetime_minutes = out_of_range(noise),
            1 => s.maximum_lifetime_minutes = out_of_range(noise),
            2 => s.default_lifetime_minutes = out_of_range(noise),
            3 => {
                s.default_length = if noise.is_multiple_of(2) {
                    noise % 8
                } else {
                    49_u32.saturating_add(noise % 100)
                };
            }
            4 => {
                // default below minimum
                s.minimum_lifetime_minutes = Lifetime::MAX.minutes();
                s.maximum_lifetime_minutes = Lifetime::MAX.minutes();
                s.default_lifetime_minutes = Lifetime::MIN.minutes();
            }
            _ => {
                // default above maximum
                s.minimum_lifetime_minutes = Lifetime::MIN.minutes();
                s.maximum_lifetime_minutes = Lifetime::MIN.minutes();
                s.default_lifetime_minutes = Lifetime::MAX.minutes();
            }
        }
        s
    })
}

/// A creation request: each field omitted or set; lifetimes sometimes outside every policy's
/// range. Starts are left to the host (`None`) or set by [`create_request_at`].
pub fn create_request() -> impl Strategy<Value = CreateRequest> {
    (
        proptest::option::of(prop_oneof![
            4 => Lifetime::MIN.minutes()..=Lifetime::MAX.minutes(),
            1 => any::<u32>(),
        ]),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(|(lifetime, once)| CreateRequest {
            start: None,
            lifetime_minutes: lifetime,
            is_usable_once: once,
        })
}

/// A creation request whose start, when set, lies within a day either side of `now` (so some
/// starts are in the past and refused).
pub fn create_request_at(now: UtcDateTime) -> impl Strategy<Value = CreateRequest> {
    (create_request(), proptest::option::of(-1440_i64..=1440)).prop_map(
        move |(mut request, offset)| {
            request.start = offset.and_then(|m| now.checked_add(Duration::minutes(m)));
            request
        },
    )
}

/// A clock schedule: up to `steps` moves of the clock, mostly forward by seconds to days,
/// sometimes backward, as real clocks do.
pub fn clock_schedule(steps: usize) -> impl Strategy<Value = Vec<Duration>> {
    proptest::collection::vec(
        prop_oneof![
            6 => (0_i64..=86_400).prop_map(Duration::seconds),
            2 => (0_i64..=30).prop_map(Duration::days),
            1 => (-3_600_i64..0).prop_map(Duration::seconds),
        ],
        0..=steps,
    )
}
