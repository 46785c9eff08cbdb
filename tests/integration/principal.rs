//! SPEC 3: who may do what.

use temporary_access_pass::admin::{Action, Denial, TargetClass, UserType, authorize};
use temporary_access_pass::{DirectoryRole, Principal};

use crate::support::{admin, gid, member, uid};

use DirectoryRole as R;

const ALL_ACTIONS: [Action; 3] = [Action::Create, Action::View, Action::Delete];

const LIMITED: [DirectoryRole; 8] = [
    R::AuthenticationAdministrator,
    R::DirectoryReaders,
    R::GuestInviter,
    R::MessageCenterReader,
    R::PasswordAdministrator,
    R::ReportsReader,
    R::UserExperienceSuccessManager,
    R::UsageSummaryReportsReader,
];

const PRIVILEGED: [DirectoryRole; 5] = [
    R::GlobalAdministrator,
    R::PrivilegedAuthenticationAdministrator,
    R::AuthenticationPolicyAdministrator,
    R::GlobalReader,
    R::OtherAdministrator,
];

#[test]
fn spec_3_1_principal_has_id_type_groups_and_roles() {
    let p = Principal::new(
        uid("p"),
        UserType::Guest,
        vec![gid("g1"), gid("g2")],
        vec![R::ReportsReader],
    );
    assert_eq!(p.id(), &uid("p"));
    assert!(p.is_guest());
    assert_eq!(p.user_type(), UserType::Guest);
    assert!(p.is_member_of(&gid("g2")) && !p.is_member_of(&gid("g3")));
    assert_eq!(p.roles(), &[R::ReportsReader]);
    assert_eq!(p.groups().len(), 2);
    assert!(!member("m").is_guest());
}

#[test]
fn spec_3_2_global_administrator_acts_on_any_other_user() {
    let ga = admin("ga", R::GlobalAdministrator);
    let mut targets: Vec<Principal> = PRIVILEGED.iter().map(|r| admin("t", *r)).collect();
    targets.push(member("t"));
    targets.push(Principal::guest(uid("t")));
    for target in &targets {
        for action in ALL_ACTIONS {
            assert_eq!(
                authorize(&ga, action, target),
                Ok(()),
                "{action} on {target:?}"
            );
        }
    }
}

#[test]
fn spec_3_2_privileged_authentication_administrator_acts_on_admins_and_members() {
    let paa = admin("paa", R::PrivilegedAuthenticationAdministrator);
    for role in PRIVILEGED.iter().chain(LIMITED.iter()) {
        for action in ALL_ACTIONS {
            assert!(
                authorize(&paa, action, &admin("t", *role)).is_ok(),
                "{action} {role}"
            );
        }
    }
    assert!(authorize(&paa, Action::Create, &member("t")).is_ok());
}

#[test]
fn spec_3_2_authentication_administrator_acts_on_members_and_limited_roles_only() {
    let aa = admin("aa", R::AuthenticationAdministrator);
    for action in ALL_ACTIONS {
        assert!(authorize(&aa, action, &member("t")).is_ok());
        assert!(authorize(&aa, action, &Principal::guest(uid("t"))).is_ok());
        for role in LIMITED {
            assert!(
                authorize(&aa, action, &admin("t", role)).is_ok(),
                "{action} {role}"
            );
        }
        for role in PRIVILEGED {
            let err = authorize(&aa, action, &admin("t", role)).unwrap_err();
            assert_eq!(err.target_class, TargetClass::Administrator, "{role}");
            assert_eq!(err.reason, Denial::RoleLacksRight);
        }
        // One privileged role among limited ones makes the target an administrator.
        let mixed = admin("t", R::PasswordAdministrator).role(R::GlobalReader);
        assert!(authorize(&aa, action, &mixed).is_err());
    }
}

#[test]
fn spec_3_2_nobody_creates_a_pass_for_themselves() {
    for role in PRIVILEGED.iter().chain(LIMITED.iter()) {
        let me = admin("me", *role);
        let err = authorize(&me, Action::Create, &me).unwrap_err();
        assert_eq!(err.reason, Denial::OwnPass, "{role}");
    }
    let me = member("me");
    assert_eq!(
        authorize(&me, Action::Create, &me).unwrap_err().reason,
        Denial::OwnPass
    );
}

#[test]
fn spec_3_3_global_reader_views_only() {
    let gr = admin("gr", R::GlobalReader);
    for target in [member("t"), admin("t", R::GlobalAdministrator)] {
        assert!(authorize(&gr, Action::View, &target).is_ok());
        assert!(authorize(&gr, Action::Create, &target).is_err());
        assert!(authorize(&gr, Action::Delete, &target).is_err());
    }
}

#[test]
fn spec_3_4_a_user_views_and_deletes_their_own_pass_only() {
    let me = member("me");
    assert!(authorize(&me, Action::View, &me).is_ok());
    assert!(authorize(&me, Action::Delete, &me).is_ok());
    for action in ALL_ACTIONS {
        assert!(authorize(&me, action, &member("other")).is_err());
    }
    // Limited roles grant nothing on others either.
    for role in LIMITED
        .iter()
        .filter(|r| **r != R::AuthenticationAdministrator)
    {
        assert!(authorize(&admin("x", *role), Action::View, &member("other")).is_err());
    }
}

#[test]
fn spec_3_5_refusal_says_which_role_lacks_which_right_on_which_target() {
    let aa = admin("aa", R::AuthenticationAdministrator).role(R::ReportsReader);
    let ga = admin("boss", R::GlobalAdministrator);
    let err = authorize(&aa, Action::Create, &ga).unwrap_err();
    assert_eq!(err.actor, uid("aa"));
    assert_eq!(err.strongest_role, Some(R::AuthenticationAdministrator));
    assert_eq!(err.action, Action::Create);
    assert_eq!(err.target, uid("boss"));
    assert_eq!(err.target_class, TargetClass::Administrator);
    assert_eq!(err.reason, Denial::RoleLacksRight);
    assert_eq!(
        err.to_string(),
        "principal aa (Authentication Administrator) may not create a pass for boss (administrator): no role held grants this right on this user"
    );
    let err = authorize(&ga, Action::Create, &ga).unwrap_err();
    assert_eq!(
        err.to_string(),
        "principal boss (Global Administrator) may not create a pass for boss (administrator): nobody may create one for themselves"
    );
}

#[test]
fn spec_3_2_roles_combine_as_a_union() {
    let reader_and_aa = admin("x", R::GlobalReader).role(R::AuthenticationAdministrator);
    assert!(authorize(&reader_and_aa, Action::Create, &member("t")).is_ok());
    assert!(
        authorize(
            &reader_and_aa,
            Action::View,
            &admin("t", R::GlobalAdministrator)
        )
        .is_ok()
    );
    assert!(
        authorize(
            &reader_and_aa,
            Action::Delete,
            &admin("t", R::GlobalAdministrator)
        )
        .is_err()
    );
}
