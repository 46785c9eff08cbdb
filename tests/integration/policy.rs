//! SPEC 1: the policy.

use temporary_access_pass::{
    DirectoryRole, ExcludeTarget, IncludeTarget, Lifetime, PasscodeLength, Policy,
    PolicyChangeError, PolicyError, PolicySettings, PolicyState, Principal, RangeError, Scope,
    UserType,
};

use crate::support::{CREATED, admin, gid, key, member, uid};

#[test]
fn spec_1_1_policy_holds_every_field() {
    let settings = PolicySettings::new()
        .state(PolicyState::Enabled)
        .lifetimes(30, 90, 600)
        .usable_once(true)
        .length(12)
        .include(IncludeTarget::Group(gid("g")))
        .include(IncludeTarget::User(uid("u")))
        .exclude(ExcludeTarget::User(uid("x")));
    let policy = Policy::new(settings.clone()).unwrap();
    assert!(policy.is_enabled());
    assert_eq!(policy.state(), PolicyState::Enabled);
    assert_eq!(policy.minimum_lifetime().minutes(), 30);
    assert_eq!(policy.default_lifetime().minutes(), 90);
    assert_eq!(policy.maximum_lifetime().minutes(), 600);
    assert!(policy.is_usable_once());
    assert_eq!(policy.default_length().get(), 12);
    assert_eq!(policy.include_targets().len(), 2);
    assert_eq!(policy.exclude_targets(), &[ExcludeTarget::User(uid("x"))]);
    // The settings round-trip, so a host can edit and validate again.
    assert_eq!(policy.settings(), settings);
}

#[test]
fn spec_1_2_defaults_match_the_seed_table() {
    let p = Policy::default();
    assert_eq!(p.state(), PolicyState::Disabled);
    assert_eq!(
        (
            p.minimum_lifetime().minutes(),
            p.maximum_lifetime().minutes(),
            p.default_lifetime().minutes()
        ),
        (60, 1440, 60)
    );
    assert!(!p.is_usable_once());
    assert_eq!(p.default_length(), PasscodeLength::DEFAULT);
    assert!(p.include_targets().is_empty());
    assert!(p.exclude_targets().is_empty());
    let later = Policy::later_product_defaults();
    assert_eq!(later.maximum_lifetime(), Lifetime::EIGHT_HOURS);
    assert_eq!(later.minimum_lifetime(), p.minimum_lifetime());
}

#[test]
fn spec_1_3_each_range_violation_has_its_own_variant() {
    let base = PolicySettings::new;
    let cases = [
        (
            base().lifetimes(9, 60, 1440),
            PolicyError::MinimumLifetimeOutOfRange {
                value: 9,
                min: 10,
                max: 43_200,
            },
        ),
        (
            base().lifetimes(60, 60, 43_201),
            PolicyError::MaximumLifetimeOutOfRange {
                value: 43_201,
                min: 10,
                max: 43_200,
            },
        ),
        (
            base().lifetimes(60, 0, 1440),
            PolicyError::DefaultLifetimeOutOfRange {
                value: 0,
                min: 10,
                max: 43_200,
            },
        ),
        (
            base().length(7),
            PolicyError::LengthOutOfRange {
                value: 7,
                min: 8,
                max: 48,
            },
        ),
        (
            base().length(49),
            PolicyError::LengthOutOfRange {
                value: 49,
                min: 8,
                max: 48,
            },
        ),
        (
            base().lifetimes(120, 60, 1440),
            PolicyError::DefaultBelowMinimum {
                default: 60,
                minimum: 120,
                maximum: 1440,
            },
        ),
        (
            base().lifetimes(60, 1500, 1440),
            PolicyError::DefaultAboveMaximum {
                default: 1500,
                minimum: 60,
                maximum: 1440,
            },
        ),
        (
            // minimum above maximum always breaks one of the two ordering rules
            base().lifetimes(600, 600, 60),
            PolicyError::DefaultAboveMaximum {
                default: 600,
                minimum: 600,
                maximum: 60,
            },
        ),
    ];
    for (settings, expected) in cases {
        assert_eq!(Policy::new(settings), Err(expected));
    }
    // The edges themselves are allowed.
    assert!(Policy::new(base().lifetimes(10, 10, 43_200).length(48)).is_ok());
    assert!(Policy::new(base().lifetimes(43_200, 43_200, 43_200).length(8)).is_ok());
}

#[test]
fn spec_1_3_messages_name_the_value_and_the_allowed_range() {
    let e = Policy::new(PolicySettings::new().length(60)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "passcode length is 60 characters: allowed 8..=48"
    );
    let e = Policy::new(PolicySettings::new().lifetimes(60, 2000, 1440)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "default lifetime of 2000 minutes is above the maximum of 1440: allowed 60..=1440"
    );
    let e: RangeError = Lifetime::from_minutes(43_201).unwrap_err();
    assert_eq!(
        (e.what, e.value, e.min, e.max),
        ("lifetime in minutes", 43_201, 10, 43_200)
    );
    assert_eq!(
        PasscodeLength::new(7).unwrap_err().to_string(),
        "passcode length is 7: allowed 8..=48"
    );
}

#[test]
fn spec_1_4_scope_direct_group_all_users_and_exclusion() {
    let enabled = || PolicySettings::new().state(PolicyState::Enabled);
    let alice = member("alice").with_group(gid("onboarding"));
    let bob = member("bob");

    let by_user = Policy::new(enabled().include(IncludeTarget::User(uid("bob")))).unwrap();
    assert_eq!(by_user.scope(&bob), Scope::InScope);
    assert_eq!(by_user.scope(&alice), Scope::NotIncluded);

    let by_group = Policy::new(enabled().include(IncludeTarget::Group(gid("onboarding")))).unwrap();
    assert_eq!(by_group.scope(&alice), Scope::InScope);
    assert_eq!(by_group.scope(&bob), Scope::NotIncluded);

    let everyone = Policy::new(
        enabled()
            .include(IncludeTarget::AllUsers)
            .exclude(ExcludeTarget::Group(gid("onboarding"))),
    )
    .unwrap();
    assert_eq!(everyone.scope(&bob), Scope::InScope);
    assert_eq!(
        everyone.scope(&alice),
        Scope::Excluded,
        "exclusion beats inclusion"
    );

    let direct_and_excluded = Policy::new(
        enabled()
            .include(IncludeTarget::User(uid("bob")))
            .exclude(ExcludeTarget::User(uid("bob"))),
    )
    .unwrap();
    assert_eq!(direct_and_excluded.scope(&bob), Scope::Excluded);

    // Disabled: nobody is in scope, whatever the targets.
    let disabled = Policy::new(PolicySettings::new().include(IncludeTarget::AllUsers)).unwrap();
    assert_eq!(disabled.scope(&bob), Scope::PolicyDisabled);
    assert!(!disabled.scope(&bob).is_in_scope());
    // A guest's scope is decided like anyone's; guests are blocked later (SPEC 4.2).
    let guest = Principal::new(uid("g"), UserType::Guest, vec![], vec![]);
    assert_eq!(everyone.scope(&guest), Scope::InScope);
}

#[test]
fn spec_1_5_only_global_and_authentication_policy_admins_change_the_policy() {
    let current = Policy::default();
    let new = PolicySettings::new().state(PolicyState::Enabled);
    for role in [
        DirectoryRole::GlobalAdministrator,
        DirectoryRole::AuthenticationPolicyAdministrator,
    ] {
        let change = current
            .change(&admin("a", role), new.clone(), CREATED)
            .unwrap();
        assert!(change.policy.is_enabled());
        assert_eq!(
            change.event,
            temporary_access_pass::Event::PolicyChanged {
                by: uid("a"),
                at: CREATED,
                enabled: true
            }
        );
    }
    for role in [
        DirectoryRole::PrivilegedAuthenticationAdministrator,
        DirectoryRole::AuthenticationAdministrator,
        DirectoryRole::GlobalReader,
        DirectoryRole::PasswordAdministrator,
        DirectoryRole::OtherAdministrator,
    ] {
        let err = current
            .change(&admin("a", role), new.clone(), CREATED)
            .unwrap_err();
        assert_eq!(
            err,
            PolicyChangeError::Forbidden {
                actor: uid("a"),
                strongest_role: Some(role)
            }
        );
    }
    let err = current
        .change(&member("m"), new.clone(), CREATED)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "principal m (no administrator role) may not change the policy: only a Global Administrator or an Authentication Policy Administrator may"
    );
    // The policy is unchanged: `change` borrows it immutably and returns a new one.
    assert_eq!(current, Policy::default());
}

#[test]
fn spec_1_5_a_permitted_but_invalid_change_is_refused_with_the_rule() {
    let err = Policy::default()
        .change(
            &admin("g", DirectoryRole::GlobalAdministrator),
            PolicySettings::new().lifetimes(5, 60, 1440),
            CREATED,
        )
        .unwrap_err();
    assert_eq!(
        err,
        PolicyChangeError::Invalid(PolicyError::MinimumLifetimeOutOfRange {
            value: 5,
            min: 10,
            max: 43_200
        })
    );
}

#[test]
fn spec_1_6_one_time_policy_forces_new_passes_and_blocks_existing_multi_use_ones() {
    use temporary_access_pass::{BlockCause, CreatePassRequest, IssueContext, Usability, issue};

    let issuer = admin("aa", DirectoryRole::AuthenticationAdministrator);
    let user = member("u");
    let multi_use_policy = crate::support::open_policy();
    let before = issue(
        &IssueContext::new(&multi_use_policy, key(), &issuer, &user),
        &CreatePassRequest::new().usable_once(false),
        CREATED,
        &mut crate::support::TestRng(61),
    )
    .unwrap()
    .record;
    assert!(!before.is_usable_once());
    assert!(
        before
            .usability(&multi_use_policy, &user, CREATED)
            .is_usable()
    );

    // An administrator turns one-time use on.
    let one_time = multi_use_policy
        .change(
            &admin("ga", DirectoryRole::GlobalAdministrator),
            multi_use_policy.settings().usable_once(true),
            CREATED,
        )
        .unwrap()
        .policy;
    assert_eq!(
        before.usability(&one_time, &user, CREATED),
        Usability::PolicyBlocked(BlockCause::MultiUseUnderOneTimePolicy)
    );
    let after = issue(
        &IssueContext::new(&one_time, key(), &issuer, &user),
        &CreatePassRequest::new().usable_once(false),
        CREATED,
        &mut crate::support::TestRng(62),
    )
    .unwrap()
    .record;
    assert!(after.is_usable_once());
    assert!(after.usability(&one_time, &user, CREATED).is_usable());
}
