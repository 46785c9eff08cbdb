//! SPEC 2 (creating a pass), with view and delete (SPEC 3.3, 3.4, 5.7, 7.2).

use std::sync::atomic::{AtomicU64, Ordering};
use temporary_access_pass::{
    ALPHABET, CreatePassRequest, DirectoryRole, Effect, Event, IncludeTarget, IssueContext,
    IssueError, IssueOptions, Issued, Policy, PolicySettings, PolicyState, Principal, RngFailure,
    Scope, TemporaryAccessPass, Usability, ViewError, delete_pass, issue, view_pass,
};

use time::{Duration, UtcDateTime};

use crate::support::{CREATED, FailingRng, TestRng, admin, key, member, open_policy, uid};

fn aa() -> Principal {
    admin("aa", DirectoryRole::AuthenticationAdministrator)
}

fn issue_for(
    policy: &Policy,
    target: &Principal,
    existing: Option<&TemporaryAccessPass>,
    request: CreatePassRequest,
    now: UtcDateTime,
) -> Result<Issued, IssueError> {
    let issuer = aa();
    let ctx = IssueContext::new(policy, key(), &issuer, target).existing(existing);
    // A fresh seed per call, so two passes made in one test differ as real ones would.
    static SEED: AtomicU64 = AtomicU64::new(7);
    issue(
        &ctx,
        &request,
        now,
        &mut TestRng(SEED.fetch_add(1, Ordering::Relaxed)),
    )
}

#[test]
fn spec_2_1_omitted_fields_take_now_and_the_policy_defaults() {
    let user = member("u");
    for once in [false, true] {
        let policy = Policy::new(
            PolicySettings::new()
                .state(PolicyState::Enabled)
                .include(IncludeTarget::AllUsers)
                .lifetimes(30, 90, 600)
                .usable_once(once),
        )
        .unwrap();
        let issued = issue_for(&policy, &user, None, CreatePassRequest::new(), CREATED).unwrap();
        let pass = &issued.record;
        assert_eq!(pass.start(), CREATED);
        assert_eq!(pass.created(), CREATED);
        assert_eq!(pass.lifetime().minutes(), 90);
        assert_eq!(pass.end(), CREATED + Duration::minutes(90));
        assert_eq!(pass.is_usable_once(), once);
        assert_eq!(pass.user(), &uid("u"));
    }
    // Given fields are honoured.
    let start = CREATED + Duration::hours(3);
    let issued = issue_for(
        &open_policy(),
        &user,
        None,
        CreatePassRequest::new()
            .start(start)
            .lifetime_minutes(120)
            .usable_once(true),
        CREATED,
    )
    .unwrap();
    assert_eq!(issued.record.start(), start);
    assert_eq!(issued.record.lifetime().minutes(), 120);
    assert!(issued.record.is_usable_once());
}

#[test]
fn spec_2_2_lifetime_outside_the_policy_range_names_the_range() {
    let policy = Policy::new(
        PolicySettings::new()
            .state(PolicyState::Enabled)
            .lifetimes(60, 60, 480),
    )
    .unwrap();
    for requested in [0, 9, 59, 481, 43_200, 43_201, u32::MAX] {
        let err = issue_for(
            &policy,
            &member("u"),
            None,
            CreatePassRequest::new().lifetime_minutes(requested),
            CREATED,
        )
        .unwrap_err();
        assert_eq!(
            err,
            IssueError::LifetimeOutOfRange {
                requested,
                minimum: 60,
                maximum: 480
            }
        );
    }
    let err = issue_for(
        &policy,
        &member("u"),
        None,
        CreatePassRequest::new().lifetime_minutes(500),
        CREATED,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid lifetime of 500 minutes: the policy allows 60 to 480"
    );
    for ok in [60, 61, 480] {
        let issued = issue_for(
            &policy,
            &member("u"),
            None,
            CreatePassRequest::new().lifetime_minutes(ok),
            CREATED,
        );
        assert_eq!(issued.unwrap().record.lifetime().minutes(), ok);
    }
}

#[test]
fn spec_2_3_a_one_time_policy_makes_every_new_pass_one_time() {
    let policy = Policy::new(
        PolicySettings::new()
            .state(PolicyState::Enabled)
            .include(IncludeTarget::AllUsers)
            .usable_once(true),
    )
    .unwrap();
    let issued = issue_for(
        &policy,
        &member("u"),
        None,
        CreatePassRequest::new().usable_once(false),
        CREATED,
    )
    .unwrap();
    assert!(issued.record.is_usable_once());
    assert!(issued.created.view.is_usable_once);
    // Under a multi-use policy the request decides.
    let issued = issue_for(
        &open_policy(),
        &member("u"),
        None,
        CreatePassRequest::new().usable_once(false),
        CREATED,
    )
    .unwrap();
    assert!(!issued.record.is_usable_once());
}

#[test]
fn spec_2_4_start_in_the_past_is_refused_and_start_now_is_not() {
    let past = CREATED - Duration::nanoseconds(1);
    let err = issue_for(
        &open_policy(),
        &member("u"),
        None,
        CreatePassRequest::new().start(past),
        CREATED,
    )
    .unwrap_err();
    assert_eq!(
        err,
        IssueError::StartInPast {
            start: past,
            now: CREATED
        }
    );
    assert!(err.to_string().contains("is in the past"));
    assert!(
        issue_for(
            &open_policy(),
            &member("u"),
            None,
            CreatePassRequest::new().start(CREATED),
            CREATED
        )
        .is_ok()
    );
}

#[test]
fn spec_2_4_an_end_beyond_times_range_is_an_error() {
    let start = UtcDateTime::MAX - Duration::minutes(30);
    let err = issue_for(
        &open_policy(),
        &member("u"),
        None,
        CreatePassRequest::new().start(start),
        CREATED,
    )
    .unwrap_err();
    assert!(
        matches!(err, IssueError::EndOutOfRange { start: s, lifetime } if s == start && lifetime.minutes() == 60)
    );
    // And with `now` at the very end, the default start is `now`.
    let err = issue_for(
        &open_policy(),
        &member("u"),
        None,
        CreatePassRequest::new(),
        UtcDateTime::MAX,
    )
    .unwrap_err();
    assert!(matches!(err, IssueError::EndOutOfRange { .. }));
    // The last start that fits works: end is exactly the largest representable instant.
    let last = UtcDateTime::MAX - Duration::minutes(60);
    let issued = issue_for(
        &open_policy(),
        &member("u"),
        None,
        CreatePassRequest::new().start(last),
        CREATED,
    )
    .unwrap();
    assert_eq!(issued.record.end(), UtcDateTime::MAX);
}

#[test]
fn spec_2_5_code_has_the_policy_length_and_alphabet() {
    for length in [8, 9, 21, 48] {
        let policy = Policy::new(PolicySettings::new().length(length)).unwrap();
        let issued = issue_for(
            &policy,
            &member("u"),
            None,
            CreatePassRequest::new(),
            CREATED,
        )
        .unwrap();
        let code = issued.created.passcode.expose_secret();
        assert_eq!(code.len(), length as usize);
        assert!(code.bytes().all(|b| ALPHABET.contains(&b)), "{code}");
        assert_eq!(issued.record.code_digest().length().get(), length as usize);
    }
}

#[test]
fn spec_2_5_a_failing_rng_is_a_typed_error() {
    let issuer = aa();
    let policy = open_policy();
    let target = member("u");
    let ctx = IssueContext::new(&policy, key(), &issuer, &target);
    let err = issue(&ctx, &CreatePassRequest::new(), CREATED, &mut FailingRng).unwrap_err();
    assert_eq!(err, IssueError::Rng(RngFailure));
    assert_eq!(
        err.to_string(),
        "the random number generator failed: nothing was created"
    );
}

#[test]
fn spec_2_6_the_code_is_only_in_the_creation_result() {
    let issued = issue_for(
        &open_policy(),
        &member("u"),
        None,
        CreatePassRequest::new(),
        CREATED,
    )
    .unwrap();
    let code = issued.created.passcode.expose_secret().to_owned();
    assert!(issued.record.verify_code(key(), &code));
    for printed in [
        format!("{:?}", issued.record),
        format!("{:?}", issued.created.view),
        format!("{:?}", issued.events),
        format!("{:?}", issued.created),
    ] {
        assert!(!printed.contains(&code), "code leaked into {printed}");
    }
    // The record keeps a digest of 32 bytes and a salt, never the code.
    assert_eq!(issued.record.code_digest().digest().len(), 32);
}

#[test]
fn spec_2_7_a_valid_pass_must_be_deleted_first() {
    let user = member("u");
    let first = issue_for(
        &open_policy(),
        &user,
        None,
        CreatePassRequest::new(),
        CREATED,
    )
    .unwrap()
    .record;
    // Valid: not yet expired, including the last nanosecond and a pass that has not started.
    for now in [CREATED, first.end() - Duration::nanoseconds(1)] {
        let err = issue_for(
            &open_policy(),
            &user,
            Some(&first),
            CreatePassRequest::new(),
            now,
        )
        .unwrap_err();
        assert_eq!(
            err,
            IssueError::AlreadyHasValidPass {
                user: uid("u"),
                pass: *first.id(),
                valid_until: first.end()
            }
        );
        assert!(
            err.to_string()
                .contains("delete it before creating a new one")
        );
    }
    let future = issue_for(
        &open_policy(),
        &user,
        None,
        CreatePassRequest::new().start(CREATED + Duration::days(1)),
        CREATED,
    )
    .unwrap()
    .record;
    assert!(matches!(
        issue_for(
            &open_policy(),
            &user,
            Some(&future),
            CreatePassRequest::new(),
            CREATED
        ),
        Err(IssueError::AlreadyHasValidPass { .. })
    ));
}

#[test]
fn spec_2_7_an_expired_pass_is_replaced_without_revoking_sessions() {
    let user = member("u");
    let first = issue_for(
        &open_policy(),
        &user,
        None,
        CreatePassRequest::new(),
        CREATED,
    )
    .unwrap()
    .record;
    let later = first.end();
    let second = issue_for(
        &open_policy(),
        &user,
        Some(&first),
        CreatePassRequest::new(),
        later,
    )
    .unwrap();
    assert_eq!(second.replaced, Some(*first.id()));
    assert!(second.effects.is_empty());
    assert_ne!(second.record.id(), first.id());
    assert!(second.events.contains(&Event::PassReplaced {
        old: *first.id(),
        new: *second.record.id(),
        user: uid("u"),
        at: later,
        old_was_valid: false,
    }));
    assert!(
        !second
            .events
            .iter()
            .any(|e| matches!(e, Event::SessionsRevoked { .. }))
    );
}

#[test]
fn spec_2_7_opt_in_replacement_of_a_valid_pass_counts_as_a_deletion() {
    let user = member("u");
    let issuer = aa();
    let policy = open_policy();
    let first = issue_for(&policy, &user, None, CreatePassRequest::new(), CREATED)
        .unwrap()
        .record;
    let ctx = IssueContext::new(&policy, key(), &issuer, &user)
        .existing(Some(&first))
        .options(IssueOptions::seed().with_replace_valid_pass(true));
    let second = issue(&ctx, &CreatePassRequest::new(), CREATED, &mut TestRng(8)).unwrap();
    assert_eq!(second.replaced, Some(*first.id()));
    assert_eq!(
        second.effects,
        vec![Effect::RevokeSessions { user: uid("u") }]
    );
    assert!(second.events.contains(&Event::SessionsRevoked {
        user: uid("u"),
        pass: *first.id(),
        at: CREATED
    }));
}

#[test]
fn spec_2_7_an_existing_record_of_another_user_is_refused() {
    let other = issue_for(
        &open_policy(),
        &member("other"),
        None,
        CreatePassRequest::new(),
        CREATED,
    )
    .unwrap()
    .record;
    let err = issue_for(
        &open_policy(),
        &member("u"),
        Some(&other),
        CreatePassRequest::new(),
        CREATED,
    )
    .unwrap_err();
    assert_eq!(
        err,
        IssueError::ExistingPassMismatch {
            target: uid("u"),
            holder: uid("other")
        }
    );
}

#[test]
fn spec_2_8_passes_are_created_for_anyone_but_only_in_scope_users_use_them() {
    let disabled = Policy::default();
    let user = member("u");
    let issued = issue_for(&disabled, &user, None, CreatePassRequest::new(), CREATED).unwrap();
    assert_eq!(
        issued.record.usability(&disabled, &user, CREATED),
        Usability::PolicyBlocked(temporary_access_pass::BlockCause::PolicyDisabled)
    );
    // Later product: an opt-in refusal.
    let issuer = aa();
    let ctx = IssueContext::new(&disabled, key(), &issuer, &user)
        .options(IssueOptions::seed().with_refuse_out_of_scope(true));
    let err = issue(&ctx, &CreatePassRequest::new(), CREATED, &mut TestRng(1)).unwrap_err();
    assert_eq!(
        err,
        IssueError::TargetNotInScope {
            user: uid("u"),
            scope: Scope::PolicyDisabled
        }
    );
    let policy = open_policy();
    let ctx =
        IssueContext::new(&policy, key(), &issuer, &user).options(IssueOptions::later_product());
    assert!(issue(&ctx, &CreatePassRequest::new(), CREATED, &mut TestRng(1)).is_ok());
}

#[test]
fn spec_3_5_a_forbidden_creation_is_a_typed_refusal() {
    let ga = admin("ga", DirectoryRole::GlobalAdministrator);
    let policy = open_policy();
    let issuer = aa();
    let ctx = IssueContext::new(&policy, key(), &issuer, &ga);
    let err = issue(&ctx, &CreatePassRequest::new(), CREATED, &mut TestRng(1)).unwrap_err();
    let IssueError::Forbidden(denied) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(denied.target, uid("ga"));
    assert!(
        err.to_string().starts_with(
            "principal aa (Authentication Administrator) may not create a pass for ga"
        )
    );
}

#[test]
fn spec_3_3_and_7_2_views_carry_details_never_the_code() {
    let user = member("u");
    let policy = open_policy();
    let issued = issue_for(&policy, &user, None, CreatePassRequest::new(), CREATED).unwrap();
    let pass = issued.record;
    let reader = admin("gr", DirectoryRole::GlobalReader);
    let view = view_pass(&policy, &reader, &user, &pass, CREATED).unwrap();
    assert_eq!(view, issued.created.view);
    assert_eq!(view.id, *pass.id());
    assert_eq!(
        (view.created, view.start, view.end),
        (CREATED, CREATED, pass.end())
    );
    assert_eq!(view.lifetime.minutes(), 60);
    assert!(view.is_usable);
    assert_eq!(view.usability, Usability::Usable);
    // The user may view their own; a stranger may not.
    assert!(view_pass(&policy, &user, &user, &pass, CREATED).is_ok());
    assert!(matches!(
        view_pass(&policy, &member("stranger"), &user, &pass, CREATED),
        Err(ViewError::Forbidden(_))
    ));
    assert_eq!(
        view_pass(&policy, &reader, &member("someone-else"), &pass, CREATED),
        Err(ViewError::NotTheHolder {
            holder: uid("someone-else"),
            pass: *pass.id()
        })
    );
}

#[test]
fn spec_3_4_and_5_7_deleting_a_valid_pass_revokes_sessions_an_expired_one_does_not() {
    let user = member("u");
    let pass = issue_for(
        &open_policy(),
        &user,
        None,
        CreatePassRequest::new(),
        CREATED,
    )
    .unwrap()
    .record;
    let deleted = delete_pass(&user, &user, &pass, CREATED).unwrap();
    assert!(deleted.was_valid);
    assert_eq!(
        deleted.effects,
        vec![Effect::RevokeSessions { user: uid("u") }]
    );
    assert!(
        deleted
            .events
            .iter()
            .any(|e| matches!(e, Event::SessionsRevoked { .. }))
    );
    let deleted = delete_pass(&aa(), &user, &pass, pass.end()).unwrap();
    assert!(!deleted.was_valid);
    assert!(deleted.effects.is_empty());
    assert_eq!(
        deleted.events,
        vec![Event::PassDeleted {
            pass: *pass.id(),
            user: uid("u"),
            by: uid("aa"),
            at: pass.end(),
            was_valid: false
        }]
    );
    let reader = admin("gr", DirectoryRole::GlobalReader);
    assert!(matches!(
        delete_pass(&reader, &user, &pass, CREATED),
        Err(ViewError::Forbidden(_))
    ));
    assert!(matches!(
        delete_pass(&aa(), &member("x"), &pass, CREATED),
        Err(ViewError::NotTheHolder { .. })
    ));
}
