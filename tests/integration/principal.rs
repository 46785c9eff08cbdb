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
    assert_eq!(err.actor, uid("aa").into());
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

/// SPEC 3.7: a delegated caller needs both its roles and a granted scope. Over every role,
/// action, subject, target and single scope: the delegated answer is the roles' answer when
/// the scope allows the operation, and a refusal naming the grant when it does not; and the
/// scopes a caller holds are each judged by Graph's rules (`.All` for others, `ReadWrite` to
/// change, an area that covers the subject).
#[test]
fn spec_3_7_a_delegated_caller_needs_its_roles_and_a_scope_that_allows_the_operation() {
    use temporary_access_pass::admin::{Subject, authorize_on};
    use temporary_access_pass::grant::{Grant, Permission, Permissions};

    let targets = [
        member("chris@contoso.com"),
        admin("pra@contoso.com", R::PrivilegedAuthenticationAdministrator),
    ];
    let subjects = [Subject::Pass, Subject::Method];
    let actions = [Action::Create, Action::View, Action::Delete];
    for role in DirectoryRole::ALL {
        let actor = admin("actor@contoso.com", role);
        for target in targets.iter().chain([&actor]) {
            let own = actor.id() == target.id();
            for subject in subjects {
                for action in actions {
                    let by_roles = authorize_on(&actor, action, subject, target);
                    // No scope at all: nothing passes.
                    let none = actor.clone().under(Grant::Delegated(Permissions::NONE));
                    match authorize_on(&none, action, subject, target) {
                        Ok(()) => panic!("{role} with no scope: {action} {subject}"),
                        Err(e) if by_roles.is_ok() => assert_eq!(e.reason, Denial::NotGranted),
                        Err(e) => assert_eq!(Err(e), by_roles),
                    }
                    for scope in Permission::ALL {
                        let delegated = actor
                            .clone()
                            .under(Grant::Delegated(Permissions::NONE.with(scope)));
                        let got = authorize_on(&delegated, action, subject, target);
                        let name = scope.name();
                        let covers = name.starts_with("UserAuthenticationMethod.")
                            || (name.starts_with("UserAuthMethod-TAP.")
                                && subject == Subject::Pass)
                            || (name.starts_with("UserAuthMethod-Passkey.")
                                && subject == Subject::Method);
                        let level = action == Action::View || name.contains("ReadWrite");
                        let reach = own || name.ends_with(".All");
                        let allowed = covers && level && reach;
                        assert_eq!(scope.allows(action, subject, own), allowed, "{name}");
                        match (&by_roles, allowed) {
                            (Ok(()), true) => assert_eq!(got, Ok(()), "{role} {name}"),
                            (Ok(()), false) => {
                                assert_eq!(got.map_err(|e| e.reason), Err(Denial::NotGranted));
                            }
                            (Err(_), _) => assert_eq!(&got, &by_roles, "{role} {name}"),
                        }
                    }
                }
            }
        }
    }
    // Graph's names round-trip, and a name it does not use grants nothing.
    for scope in Permission::ALL {
        assert_eq!(Permission::from_name(scope.name()), Some(scope));
        assert_eq!(scope.to_string(), scope.name());
    }
    assert_eq!(
        Permission::from_name("userauthenticationmethod.readwrite.all"),
        None
    );
    let parsed =
        Permissions::from_names("User.Read UserAuthMethod-TAP.ReadWrite.All openid".split(' '));
    assert_eq!(
        parsed.iter().collect::<Vec<_>>(),
        [Permission::TapReadWriteAll]
    );
    assert_eq!(
        format!("{parsed:?}"),
        r#"{"UserAuthMethod-TAP.ReadWrite.All"}"#
    );
    assert_eq!(
        Permission::ALL
            .into_iter()
            .collect::<Permissions>()
            .iter()
            .count(),
        15
    );
    // A permission added twice stays (a token may repeat a scope).
    let twice = Permissions::from_names("AuditLog.Read.All AuditLog.Read.All".split(' '));
    assert_eq!(
        twice.iter().collect::<Vec<_>>(),
        [Permission::AuditLogReadAll]
    );
}

/// SPEC 3.7: the policy and the audit trail ask for their own scopes.
#[test]
fn spec_3_7_the_policy_and_the_audit_trail_need_their_scopes() {
    use temporary_access_pass::grant::{Grant, Permission, Permissions};

    assert!(Grant::Roles.allows_reading_the_policy());
    assert!(Grant::Roles.allows_changing_the_policy());
    assert!(Grant::Roles.allows_reading_audit_logs());
    // An application asks for the same permissions, with no role.
    for (scope, grant) in Permission::ALL.into_iter().flat_map(|scope| {
        let one = Permissions::NONE.with(scope);
        [
            (scope, Grant::Delegated(one)),
            (scope, Grant::Application(one)),
        ]
    }) {
        assert_eq!(
            grant.allows_reading_the_policy(),
            matches!(
                scope,
                Permission::PolicyReadAll | Permission::PolicyReadWriteAuthenticationMethod
            ),
            "{scope}"
        );
        assert_eq!(
            grant.allows_changing_the_policy(),
            scope == Permission::PolicyReadWriteAuthenticationMethod,
            "{scope}"
        );
        assert_eq!(
            grant.allows_reading_audit_logs(),
            scope == Permission::AuditLogReadAll,
            "{scope}"
        );
    }
}

/// SPEC 3.7: an application acting as itself has no roles and no self. Its permissions alone
/// decide, as on another user's methods: only those that reach every user (`.All`) allow
/// anything, whoever the target is, and what it may not do is refused as not granted.
#[test]
fn spec_3_7_an_application_acts_by_its_permissions_alone_on_every_user_alike() {
    use temporary_access_pass::AppId;
    use temporary_access_pass::admin::{Subject, authorize_on};
    use temporary_access_pass::grant::{Grant, Initiator, Permission, Permissions};

    let app = AppId::new("0f9d3c1e-5b7a-4e2d-9c8b-1a2b3c4d5e6f").unwrap();
    let object_id = uid("6c1d2e3f-4a5b-4c6d-8e7f-90a1b2c3d4e5");
    // Its object id given to a user too: the rules about oneself still do not apply.
    let targets = [
        member("chris@contoso.com"),
        admin("ga@contoso.com", R::GlobalAdministrator),
        Principal::guest(uid("guest@fabrikam.com")),
        member(object_id.as_str()),
    ];
    for action in ALL_ACTIONS {
        for subject in [Subject::Pass, Subject::Method] {
            for target in &targets {
                let none =
                    Principal::application(object_id.clone(), app.clone(), Permissions::NONE);
                let err = authorize_on(&none, action, subject, target).unwrap_err();
                assert_eq!(err.reason, Denial::NotGranted);
                assert_eq!(err.actor, Initiator::Application(app.clone()));
                assert_eq!(err.strongest_role, None);
                for permission in Permission::ALL {
                    let actor = Principal::application(
                        object_id.clone(),
                        app.clone(),
                        Permissions::NONE.with(permission),
                    );
                    let name = permission.name();
                    let covers = name.starts_with("UserAuthenticationMethod.")
                        || (name.starts_with("UserAuthMethod-TAP.") && subject == Subject::Pass)
                        || (name.starts_with("UserAuthMethod-Passkey.")
                            && subject == Subject::Method);
                    let level = action == Action::View || name.contains("ReadWrite");
                    let allowed = covers && level && name.ends_with(".All");
                    let got = authorize_on(&actor, action, subject, target);
                    assert_eq!(
                        got.map_err(|e| e.reason),
                        if allowed {
                            Ok(())
                        } else {
                            Err(Denial::NotGranted)
                        },
                        "{name} {action} {subject} for {}",
                        target.id()
                    );
                }
            }
        }
    }
    let actor = Principal::application(
        object_id.clone(),
        app.clone(),
        Permissions::NONE.with(Permission::TapReadWriteAll),
    );
    assert_eq!(actor.initiator(), Initiator::Application(app.clone()));
    assert_eq!(actor.app(), Some(&app));
    assert_eq!(actor.id(), &object_id);
    assert!(actor.roles().is_empty() && actor.groups().is_empty() && !actor.is_guest());
    assert!(actor.grant().is_application());
    assert_eq!(
        actor.grant().permissions(),
        Some(Permissions::NONE.with(Permission::TapReadWriteAll))
    );
    let user = member("chris@contoso.com");
    assert_eq!(user.initiator(), Initiator::User(uid("chris@contoso.com")));
    assert_eq!(user.app(), None);
    assert!(!user.grant().is_application());
    assert_eq!(user.grant().permissions(), None);
    assert!(!Grant::Delegated(Permissions::NONE).is_application());
    // The initiator names itself in messages and says whether a user did it.
    assert_eq!(
        Initiator::Application(app.clone()).to_string(),
        format!("application {app}")
    );
    assert_eq!(user.initiator().to_string(), "chris@contoso.com");
    assert!(user.initiator().is(user.id()));
    assert!(!actor.initiator().is(&object_id));
    assert_eq!(actor.initiator().application(), Some(&app));
    assert_eq!(actor.initiator().user(), None);
    let err = authorize_on(
        &Principal::application(object_id, app, Permissions::NONE),
        Action::Create,
        Subject::Pass,
        &user,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("principal application 0f9d3c1e-"),
        "{err}"
    );
}
