//! SPEC 1: the policy.

use temporary_access_pass::admin::UserType;
use temporary_access_pass::error::OutOfRange;
use temporary_access_pass::policy::{
    Lifetime, PasscodeLength, PolicyError, PolicyUpdate, Scope, UpdatePolicyContext,
    UpdatePolicyError, update_policy,
};
use temporary_access_pass::testing::proptest::prelude::*;
use temporary_access_pass::{
    BlockCause, CreateRequest, DirectoryRole, ExcludeTarget, IncludeTarget, Policy, PolicySettings,
    PolicyState, Principal, Usability,
};

use crate::support::{CREATED, admin, gid, issue_under, member, open_policy, uid};

fn change(actor: &Principal, settings: PolicySettings) -> Result<PolicyUpdate, UpdatePolicyError> {
    update_policy(&UpdatePolicyContext::new(actor), settings, CREATED)
}

/// The field, value and range an out-of-range error carries.
fn range(e: OutOfRange) -> (&'static str, i64, i64, i64) {
    (e.field, e.value, e.min, e.max)
}

#[test]
fn spec_1_1_policy_holds_every_field() {
    let settings = PolicySettings::new()
        .state(PolicyState::Enabled)
        .minimum_lifetime_minutes(30)
        .default_lifetime_minutes(90)
        .maximum_lifetime_minutes(600)
        .is_usable_once(true)
        .default_length(12)
        .include_target(IncludeTarget::Group(gid("g")))
        .include_target(IncludeTarget::User(uid("u")))
        .exclude_target(ExcludeTarget::User(uid("x")));
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
    let lifetimes = |min, def, max| {
        base()
            .minimum_lifetime_minutes(min)
            .default_lifetime_minutes(def)
            .maximum_lifetime_minutes(max)
    };
    let err = |s: PolicySettings| Policy::new(s).unwrap_err();
    assert!(matches!(
        err(lifetimes(9, 60, 1440)),
        PolicyError::MinimumLifetime(e) if range(e) == ("minimum lifetime in minutes", 9, 10, 43_200)
    ));
    assert!(matches!(
        err(lifetimes(60, 60, 43_201)),
        PolicyError::MaximumLifetime(e) if range(e) == ("maximum lifetime in minutes", 43_201, 10, 43_200)
    ));
    assert!(matches!(
        err(lifetimes(60, 0, 1440)),
        PolicyError::DefaultLifetime(e) if range(e) == ("default lifetime in minutes", 0, 10, 43_200)
    ));
    for length in [7, 49] {
        assert!(matches!(
            err(base().default_length(length)),
            PolicyError::DefaultLength(e) if range(e) == ("passcode length", i64::from(length), 8, 48)
        ));
    }
    assert_eq!(
        err(lifetimes(120, 60, 1440)),
        PolicyError::DefaultBelowMinimum {
            default: 60,
            minimum: 120,
            maximum: 1440,
        }
    );
    assert_eq!(
        err(lifetimes(60, 1500, 1440)),
        PolicyError::DefaultAboveMaximum {
            default: 1500,
            minimum: 60,
            maximum: 1440,
        }
    );
    // A minimum above the maximum has its own error, whatever the default.
    for default in [60, 600, 1000] {
        assert_eq!(
            err(lifetimes(600, default, 60)),
            PolicyError::MinimumAboveMaximum {
                minimum: 600,
                maximum: 60,
            }
        );
    }
    // The edges themselves are allowed.
    assert!(Policy::new(lifetimes(10, 10, 43_200).default_length(48)).is_ok());
    assert!(Policy::new(lifetimes(43_200, 43_200, 43_200).default_length(8)).is_ok());
}

#[test]
fn spec_1_3_messages_name_the_value_and_the_allowed_range() {
    let e = Policy::new(PolicySettings::new().default_length(60)).unwrap_err();
    assert_eq!(e.to_string(), "passcode length is 60: allowed 8..=48");
    let e = Policy::new(
        PolicySettings::new()
            .minimum_lifetime_minutes(60)
            .default_lifetime_minutes(2000)
            .maximum_lifetime_minutes(1440),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "default lifetime of 2000 minutes is above the maximum of 1440: allowed 60..=1440"
    );
    let e = Policy::new(
        PolicySettings::new()
            .minimum_lifetime_minutes(100)
            .default_lifetime_minutes(100)
            .maximum_lifetime_minutes(50),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "minimum lifetime of 100 minutes is above the maximum of 50: the minimum may be at most the maximum"
    );
    let e = Policy::new(PolicySettings::new().minimum_lifetime_minutes(9)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "minimum lifetime in minutes is 9: allowed 10..=43200"
    );
    assert_eq!(
        range(Lifetime::from_minutes(43_201).unwrap_err()),
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
    let alice = member("alice").group(gid("onboarding"));
    let bob = member("bob");

    let by_user = Policy::new(enabled().include_target(IncludeTarget::User(uid("bob")))).unwrap();
    assert_eq!(by_user.scope(&bob), Scope::InScope);
    assert_eq!(by_user.scope(&alice), Scope::NotIncluded);

    let by_group =
        Policy::new(enabled().include_target(IncludeTarget::Group(gid("onboarding")))).unwrap();
    assert_eq!(by_group.scope(&alice), Scope::InScope);
    assert_eq!(by_group.scope(&bob), Scope::NotIncluded);

    let everyone = Policy::new(
        enabled()
            .include_target(IncludeTarget::AllUsers)
            .exclude_target(ExcludeTarget::Group(gid("onboarding"))),
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
            .include_target(IncludeTarget::User(uid("bob")))
            .exclude_target(ExcludeTarget::User(uid("bob"))),
    )
    .unwrap();
    assert_eq!(direct_and_excluded.scope(&bob), Scope::Excluded);

    // Disabled: nobody is in scope, whatever the targets.
    let disabled =
        Policy::new(PolicySettings::new().include_target(IncludeTarget::AllUsers)).unwrap();
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
        let update = change(&admin("a", role), new.clone()).unwrap();
        assert!(update.policy.is_enabled());
        assert_eq!(
            update.events(),
            vec![temporary_access_pass::Event::PolicyChanged {
                by: uid("a").into(),
                at: CREATED,
                enabled: true
            }]
        );
    }
    for role in [
        DirectoryRole::PrivilegedAuthenticationAdministrator,
        DirectoryRole::AuthenticationAdministrator,
        DirectoryRole::GlobalReader,
        DirectoryRole::PasswordAdministrator,
        DirectoryRole::OtherAdministrator,
    ] {
        let err = change(&admin("a", role), new.clone()).unwrap_err();
        assert_eq!(
            err,
            UpdatePolicyError::Forbidden {
                actor: uid("a").into(),
                strongest_role: Some(role)
            }
        );
    }
    let err = change(&member("m"), new.clone()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "principal m (no administrator role) may not change the policy: only a Global Administrator or an Authentication Policy Administrator may"
    );
    // Nothing changed: the decision returns the new policy, the current one is the host's.
    assert_eq!(current, Policy::default());
}

#[test]
fn spec_1_5_a_permitted_but_invalid_change_is_refused_with_the_rule() {
    let err = change(
        &admin("g", DirectoryRole::GlobalAdministrator),
        PolicySettings::new().minimum_lifetime_minutes(5),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        UpdatePolicyError::Invalid(PolicyError::MinimumLifetime(e)) if range(e) == ("minimum lifetime in minutes", 5, 10, 43_200)
    ));
}

#[test]
fn spec_1_6_one_time_policy_forces_new_passes_and_blocks_existing_multi_use_ones() {
    let user = member("u");
    let multi_use_policy = open_policy();
    let before = issue_under(
        &multi_use_policy,
        &user,
        None,
        CreateRequest::new().is_usable_once(false),
        CREATED,
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
    let one_time = change(
        &admin("ga", DirectoryRole::GlobalAdministrator),
        multi_use_policy.settings().is_usable_once(true),
    )
    .unwrap()
    .policy;
    assert_eq!(
        before.usability(&one_time, &user, CREATED),
        Usability::PolicyBlocked(BlockCause::MultiUseUnderOneTimePolicy)
    );
    let after = issue_under(
        &one_time,
        &user,
        None,
        CreateRequest::new().is_usable_once(false),
        CREATED,
    )
    .unwrap()
    .record;
    assert!(after.is_usable_once());
    assert!(after.usability(&one_time, &user, CREATED).is_usable());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

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
        let result = Policy::new(PolicySettings::new().minimum_lifetime_minutes(min).default_lifetime_minutes(def).maximum_lifetime_minutes(max).default_length(len));
        prop_assert_eq!(result.is_ok(), naive, "{:?}", result);
        if let Ok(p) = result {
            prop_assert_eq!((p.minimum_lifetime().minutes(), p.default_lifetime().minutes(), p.maximum_lifetime().minutes()), (min, def, max));
            prop_assert_eq!(p.default_length().get(), len as usize);
        } else {
            // The error names a rule that the naive check also finds broken.
            let broken = match result.unwrap_err() {
                PolicyError::MinimumLifetime(e) => e.value == i64::from(min) && !in_range(min),
                PolicyError::MaximumLifetime(e) => e.value == i64::from(max) && !in_range(max),
                PolicyError::DefaultLifetime(e) => e.value == i64::from(def) && !in_range(def),
                PolicyError::DefaultLength(e) => e.value == i64::from(len) && !(8..=48).contains(&len),
                PolicyError::MinimumAboveMaximum { .. } => min > max,
                PolicyError::DefaultBelowMinimum { .. } => def < min,
                PolicyError::DefaultAboveMaximum { .. } => def > max,
                other => panic!("new variant {other:?}"),
            };
            prop_assert!(broken);
        }
    }
}

/// SPEC 1.5 and 3.7: a Global Administrator acting under a delegated grant changes the policy
/// only with `Policy.ReadWrite.AuthenticationMethod`; a grant never adds a right the roles
/// lack.
#[test]
fn spec_3_7_a_delegated_policy_change_needs_its_scope_as_well_as_the_role() {
    use temporary_access_pass::grant::{Grant, Permission, Permissions};

    let ga = admin("ga@contoso.com", DirectoryRole::GlobalAdministrator);
    let settings = PolicySettings::new().state(PolicyState::Enabled);
    for scope in Permission::ALL {
        let delegated = ga
            .clone()
            .under(Grant::Delegated(Permissions::NONE.with(scope)));
        let got = change(&delegated, settings.clone());
        if scope == Permission::PolicyReadWriteAuthenticationMethod {
            assert!(got.is_ok(), "{scope}");
        } else {
            assert!(
                matches!(got, Err(UpdatePolicyError::NotGranted { ref actor }) if *actor == ga.initiator()),
                "{scope}: {got:?}"
            );
        }
    }
    let reader = admin("gr@contoso.com", DirectoryRole::GlobalReader).under(Grant::Delegated(
        Permissions::NONE.with(Permission::PolicyReadWriteAuthenticationMethod),
    ));
    assert!(matches!(
        change(&reader, settings),
        Err(UpdatePolicyError::Forbidden { .. })
    ));
}

/// SPEC 1.5 and 3.7: an application has no roles; `Policy.ReadWrite.AuthenticationMethod`
/// alone lets it change the policy, and its change is initiated by the application.
#[test]
fn spec_3_7_an_application_changes_the_policy_with_its_permission_alone() {
    use temporary_access_pass::AppId;
    use temporary_access_pass::grant::{Initiator, Permission, Permissions};

    let app = AppId::new("joiner-workflow").unwrap();
    let settings = PolicySettings::new().state(PolicyState::Enabled);
    for permission in Permission::ALL {
        let actor = Principal::application(
            uid("sp-joiner"),
            app.clone(),
            Permissions::NONE.with(permission),
        );
        let got = change(&actor, settings.clone());
        if permission == Permission::PolicyReadWriteAuthenticationMethod {
            let update = got.unwrap();
            assert_eq!(update.by, Initiator::Application(app.clone()));
            let events = update.events();
            assert!(
                matches!(&events[..], [temporary_access_pass::Event::PolicyChanged { by, .. }] if *by == Initiator::Application(app.clone())),
                "{events:?}"
            );
        } else {
            assert!(
                matches!(got, Err(UpdatePolicyError::NotGranted { ref actor }) if *actor == Initiator::Application(app.clone())),
                "{permission}: {got:?}"
            );
        }
    }
}
