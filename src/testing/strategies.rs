//! `proptest` strategies for downstream harnesses (feature `test-support`). **Not covered by
//! semver.**
//!
//! A host testing its own integration can draw policies (valid and invalid), principals with
//! roles, creation requests and clock schedules, and drive the crate with them:
//!
//! ```
//! use temporary_access_pass::testing::proptest::prelude::*;
//! use temporary_access_pass::testing::strategies;
//! use temporary_access_pass::time::{Date, Month};
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
//!         let start = Date::from_calendar_date(2024, Month::January, 1)?.midnight();
//!         let clock = ManualClock::new(start.as_utc());
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
    proptest::sample::select(&DirectoryRole::ALL[..])
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

/// The state a drawn record is in at the drawn instant (see [`record_in`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecordState {
    /// Its window has not opened.
    NotYetValid,
    /// It can be used.
    Usable,
    /// A one-time pass, used.
    Used,
    /// Locked after wrong codes, the lock running.
    Locked,
    /// Its window has closed.
    Expired,
}

impl RecordState {
    /// Every state.
    pub const ALL: [Self; 5] = [
        Self::NotYetValid,
        Self::Usable,
        Self::Used,
        Self::Locked,
        Self::Expired,
    ];
}

/// A stored record, its holder, the policy and key it was made under, its code, and an instant
/// at which it is in [`RecordCase::state`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RecordCase {
    /// The policy: enabled for all users, multi-use allowed.
    pub policy: Policy,
    /// The key the code's digest is sealed with.
    pub key: crate::digest::DigestKey,
    /// The holder: a member, in scope.
    pub holder: Principal,
    /// The record.
    pub record: crate::pass::TemporaryAccessPass,
    /// Its code.
    pub code: alloc::string::String,
    /// The instant.
    pub now: UtcDateTime,
    /// The state the record is in at `now`.
    pub state: RecordState,
}

/// A record in `state`: created by a Global Administrator under an enabled all-users policy at
/// an instant in 2024, with a code of 8 to 48 characters, a lifetime of 10 minutes to a day, a
/// start up to two hours after creation, then used or locked through its stored counters as
/// `state` says, and an instant inside the span where the state holds.
///
/// # Panics
///
/// Never: every value is drawn within the crate's ranges.
#[allow(clippy::expect_used, reason = "values drawn within range")]
#[allow(
    clippy::arithmetic_side_effects,
    reason = "instants in 2024 and spans of at most two days, far from time's edges"
)]
pub fn record_in(state: RecordState) -> impl Strategy<Value = RecordCase> {
    let delay_floor = i64::from(state == RecordState::NotYetValid);
    (
        user_id(),
        any::<[u8; 32]>(),
        8_u32..=48,
        10_u32..=1440,
        0_i64..=525_600,
        delay_floor..=120_i64,
        0.0_f64..1.0,
        0.0_f64..1.0,
    )
        .prop_map(move |(id, pepper, length, minutes, at, delay, u, v)| {
            let policy = Policy::new(
                PolicySettings::new()
                    .state(PolicyState::Enabled)
                    .minimum_lifetime_minutes(10)
                    .maximum_lifetime_minutes(1440)
                    .default_lifetime_minutes(60)
                    .default_length(length)
                    .include_target(IncludeTarget::AllUsers),
            )
            .expect("a valid policy");
            let key = crate::digest::DigestKey::from(
                crate::digest::Pepper::new(&pepper).expect("32 bytes"),
            );
            let admin = Principal::member(UserId::new("strategy-admin").expect("a valid id"))
                .role(DirectoryRole::GlobalAdministrator);
            let holder = Principal::member(id);
            let created_at =
                time::macros::utc_datetime!(2024-01-01 00:00:00) + Duration::minutes(at);
            let request = CreateRequest {
                start: Some(created_at + Duration::minutes(delay)),
                lifetime_minutes: Some(minutes),
                is_usable_once: Some(state == RecordState::Used),
            };
            let ctx = crate::create::CreateContext::new(&policy, &key, &admin, &holder);
            let created = crate::create::create(&ctx, &request, created_at, &mut getrandom::SysRng)
                .expect("a creation within the policy");
            let (start, end) = (created.record.start(), created.record.end());
            // A point `f` of the way through [from, to).
            let within = |from: UtcDateTime, to: UtcDateTime, f: f64| {
                let span = (to - from).whole_nanoseconds();
                #[allow(
                    clippy::cast_precision_loss,
                    clippy::cast_possible_truncation,
                    reason = "a point within a span of at most a day, in nanoseconds"
                )]
                let offset = (span as f64 * f) as i64;
                from + Duration::nanoseconds(offset)
            };
            let mut parts = created.record.clone().into_parts();
            let now = match state {
                RecordState::NotYetValid => within(created_at, start, u),
                RecordState::Usable => within(start, end, u),
                RecordState::Expired => within(end, end + Duration::DAY, u),
                RecordState::Used => {
                    let used = within(start, end, u);
                    parts.used_at = Some(used);
                    within(used, end, v)
                }
                RecordState::Locked => {
                    let now = within(start, end, u);
                    parts.failed_attempts = crate::signin::Lockout::DEFAULT_MAX_ATTEMPTS;
                    parts.last_failure = Some(now);
                    parts.locked_until = Some((now + Duration::MINUTE).min(end));
                    now
                }
            };
            RecordCase {
                record: crate::pass::TemporaryAccessPass::from_parts(parts)
                    .expect("counters within the window"),
                code: created.passcode.expose_secret().into(),
                policy,
                key,
                holder,
                now,
                state,
            }
        })
        .prop_filter("an instant where the state holds", |case| {
            // A lock of under a nanosecond, or a use at the very end, leaves no such instant.
            case.now < case.record.end() || case.state == RecordState::Expired
        })
}

/// A record in any state ([`record_in`]).
pub fn record() -> impl Strategy<Value = RecordCase> {
    proptest::sample::select(RecordState::ALL.to_vec()).prop_flat_map(record_in)
}

/// A sign-in request from any client, with any of the host's flags.
pub fn sign_in_request() -> impl Strategy<Value = crate::signin::SignInRequest> {
    use crate::signin::{Client, SignInRequest};
    (
        proptest::sample::select(alloc::vec![
            Client::Browser,
            Client::AuthenticatorApp,
            Client::NpsExtension,
            Client::AdfsAdapter,
            Client::WindowsSetup,
            Client::Autopilot,
        ]),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(client, federated, sso, sspr)| {
            let mut request = SignInRequest::new(client).federated_domain(federated);
            request.seamless_sso = sso;
            request.sspr_registration_required = sspr;
            request
        })
}

/// Graph's policy document (`temporaryAccessPassAuthenticationMethodConfiguration`) of a valid
/// policy (feature `serde`).
#[cfg(feature = "serde")]
pub fn policy_document() -> impl Strategy<Value = crate::graph::PolicyDocument> {
    valid_policy().prop_map(|policy| crate::graph::PolicyDocument::from(&policy))
}

/// A policy document that breaks a rule of SPEC 1.3, whose decoding must fail naming the field
/// (feature `serde`).
#[cfg(feature = "serde")]
pub fn invalid_policy_document() -> impl Strategy<Value = crate::graph::PolicyDocument> {
    invalid_policy_settings().prop_map(|settings| {
        let mut document = crate::graph::PolicyDocument::from(&Policy::default());
        document.minimum_lifetime_in_minutes = Some(settings.minimum_lifetime_minutes);
        document.maximum_lifetime_in_minutes = Some(settings.maximum_lifetime_minutes);
        document.default_lifetime_in_minutes = Some(settings.default_lifetime_minutes);
        document.default_length = Some(settings.default_length);
        document
    })
}

/// A PATCH body: some fields of a valid policy's document, the others absent (feature
/// `serde`).
#[cfg(feature = "serde")]
pub fn policy_patch() -> impl Strategy<Value = crate::graph::PolicyDocument> {
    (policy_document(), any::<[bool; 7]>()).prop_map(|(full, keep)| {
        let pick = |i: usize| keep.get(i).copied().unwrap_or(false);
        crate::graph::PolicyDocument {
            odata_type: None,
            id: None,
            state: full.state.filter(|_| pick(0)),
            default_lifetime_in_minutes: full.default_lifetime_in_minutes.filter(|_| pick(1)),
            default_length: full.default_length.filter(|_| pick(2)),
            minimum_lifetime_in_minutes: full.minimum_lifetime_in_minutes.filter(|_| pick(3)),
            maximum_lifetime_in_minutes: full.maximum_lifetime_in_minutes.filter(|_| pick(4)),
            is_usable_once: full.is_usable_once.filter(|_| pick(5)),
            include_targets: full.include_targets.filter(|_| pick(6)),
            exclude_targets: full.exclude_targets,
        }
    })
}
