//! SPEC 3.3, 3.4, 5.7 and 7.2: viewing and deleting a pass.

use temporary_access_pass::admin::{
    DeleteContext, DeleteError, Deleted, PassView, ViewContext, ViewError, delete, view,
};
use temporary_access_pass::{
    CreateRequest, DirectoryRole, Effect, Event, Policy, Principal, TemporaryAccessPass, Usability,
};
use time::UtcDateTime;

use crate::support::{CREATED, aa, admin, issue_under, member, open_policy, uid};

fn viewed(
    policy: &Policy,
    actor: &Principal,
    holder: &Principal,
    pass: &TemporaryAccessPass,
) -> Result<Option<PassView>, ViewError> {
    view(
        &ViewContext::new(policy, actor, holder, Some(pass)),
        CREATED,
    )
}

fn delete_as(
    actor: &Principal,
    holder: &Principal,
    pass: &TemporaryAccessPass,
    now: UtcDateTime,
) -> Result<Option<Deleted>, DeleteError> {
    delete(&DeleteContext::new(actor, holder, Some(pass)), now)
}

#[test]
fn spec_3_3_and_7_2_views_carry_details_never_the_code() {
    let user = member("u");
    let policy = open_policy();
    let issued = issue_under(&policy, &user, None, CreateRequest::new(), CREATED).unwrap();
    let pass = issued.record;
    let reader = admin("gr", DirectoryRole::GlobalReader);
    let seen = viewed(&policy, &reader, &user, &pass).unwrap().unwrap();
    assert_eq!(seen, issued.view);
    assert_eq!(seen.id, *pass.id());
    assert_eq!(
        (seen.created, seen.start, seen.end),
        (CREATED, CREATED, pass.end())
    );
    assert_eq!(seen.lifetime.minutes(), 60);
    assert!(seen.is_usable);
    assert_eq!(seen.usability, Usability::Usable);
    // The user may view their own; a stranger may not.
    assert!(viewed(&policy, &user, &user, &pass).is_ok());
    assert!(matches!(
        viewed(&policy, &member("stranger"), &user, &pass),
        Err(ViewError::Forbidden(_))
    ));
    assert_eq!(
        viewed(&policy, &reader, &member("someone-else"), &pass),
        Err(ViewError::NotTheHolder {
            holder: uid("someone-else"),
            pass: *pass.id()
        })
    );
    // Without a pass the answer is none, and the permission is checked all the same.
    let none = view(&ViewContext::new(&policy, &reader, &user, None), CREATED);
    assert_eq!(none, Ok(None));
    assert!(matches!(
        view(
            &ViewContext::new(&policy, &member("stranger"), &user, None),
            CREATED
        ),
        Err(ViewError::Forbidden(_))
    ));
}

#[test]
fn spec_3_4_and_5_7_deleting_a_valid_pass_revokes_sessions_an_expired_one_does_not() {
    let user = member("u");
    let pass = issue_under(&open_policy(), &user, None, CreateRequest::new(), CREATED)
        .unwrap()
        .record;
    let deleted_at =
        |pass: &TemporaryAccessPass, now| delete_as(&aa(), &user, pass, now).unwrap().unwrap();
    let deleted = delete_as(&user, &user, &pass, CREATED).unwrap().unwrap();
    assert!(deleted.was_valid);
    assert_eq!(
        deleted.effects,
        vec![Effect::RevokeSessions { user: uid("u") }]
    );
    assert!(
        deleted
            .events()
            .iter()
            .any(|e| matches!(e, Event::SessionsRevoked { .. }))
    );
    let gone = deleted_at(&pass, pass.end());
    assert!(!gone.was_valid);
    assert!(gone.effects.is_empty());
    assert_eq!(
        gone.events(),
        vec![Event::PassDeleted {
            pass: *pass.id(),
            user: uid("u"),
            by: uid("aa").into(),
            at: pass.end(),
            was_valid: false
        }]
    );
    let reader = admin("gr", DirectoryRole::GlobalReader);
    assert!(matches!(
        delete_as(&reader, &user, &pass, CREATED),
        Err(DeleteError::Forbidden(_))
    ));
    assert!(matches!(
        delete_as(&aa(), &member("x"), &pass, CREATED),
        Err(DeleteError::NotTheHolder { .. })
    ));
    assert_eq!(
        delete(&DeleteContext::new(&aa(), &user, None), CREATED),
        Ok(None),
        "nothing to delete"
    );
}

#[test]
fn spec_5_7_a_deletion_naming_a_pass_deletes_only_that_pass() {
    let user = member("u");
    let policy = open_policy();
    let pass = issue_under(&policy, &user, None, CreateRequest::new(), CREATED)
        .unwrap()
        .record;
    let other = issue_under(&policy, &member("v"), None, CreateRequest::new(), CREATED)
        .unwrap()
        .record;
    let ga = admin("ga", DirectoryRole::GlobalAdministrator);
    let ctx = DeleteContext::new(&ga, &user, Some(&pass));
    // Another pass id named: nothing is deleted, and the refusal of a stranger still comes first.
    assert_eq!(delete(&ctx.pass(*other.id()), CREATED), Ok(None));
    assert!(matches!(
        delete(
            &DeleteContext::new(&member("stranger"), &user, Some(&pass)).pass(*other.id()),
            CREATED
        ),
        Err(DeleteError::Forbidden(_))
    ));
    let deleted = delete(&ctx.pass(*pass.id()), CREATED).unwrap().unwrap();
    assert_eq!(deleted.pass, *pass.id());
    assert_eq!(delete(&ctx, CREATED).unwrap().unwrap().pass, *pass.id());
}
