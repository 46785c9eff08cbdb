//! SPEC 2 (creating a pass) and 3.5 (a forbidden creation).

use temporary_access_pass::admin::CreateOptions;
use temporary_access_pass::error::RngFailure;
use temporary_access_pass::policy::Scope;
use temporary_access_pass::{
    CreateContext, CreateError, CreateRequest, DirectoryRole, Effect, Event, IncludeTarget,
    Passcode, Policy, PolicySettings, PolicyState, Usability, create,
};
use time::{Duration, UtcDateTime};

use crate::support::{
    CREATED, FailingRng, TestRng, aa, admin, issue_under, key, member, open_policy, uid,
};

#[test]
fn spec_2_1_omitted_fields_take_now_and_the_policy_defaults() {
    let user = member("u");
    for once in [false, true] {
        let policy = Policy::new(
            PolicySettings::new()
                .state(PolicyState::Enabled)
                .include_target(IncludeTarget::AllUsers)
                .minimum_lifetime_minutes(30)
                .default_lifetime_minutes(90)
                .maximum_lifetime_minutes(600)
                .is_usable_once(once),
        )
        .unwrap();
        let issued = issue_under(&policy, &user, None, CreateRequest::new(), CREATED).unwrap();
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
    let issued = issue_under(
        &open_policy(),
        &user,
        None,
        CreateRequest::new()
            .start(start)
            .lifetime_minutes(120)
            .is_usable_once(true),
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
            .minimum_lifetime_minutes(60)
            .default_lifetime_minutes(60)
            .maximum_lifetime_minutes(480),
    )
    .unwrap();
    for requested in [0, 9, 59, 481, 43_200, 43_201, u32::MAX] {
        let err = issue_under(
            &policy,
            &member("u"),
            None,
            CreateRequest::new().lifetime_minutes(requested),
            CREATED,
        )
        .unwrap_err();
        assert_eq!(
            err,
            CreateError::LifetimeOutOfRange {
                requested,
                minimum: 60,
                maximum: 480
            }
        );
    }
    let err = issue_under(
        &policy,
        &member("u"),
        None,
        CreateRequest::new().lifetime_minutes(500),
        CREATED,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid lifetime of 500 minutes: the policy allows 60 to 480"
    );
    for ok in [60, 61, 480] {
        let issued = issue_under(
            &policy,
            &member("u"),
            None,
            CreateRequest::new().lifetime_minutes(ok),
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
            .include_target(IncludeTarget::AllUsers)
            .is_usable_once(true),
    )
    .unwrap();
    let issued = issue_under(
        &policy,
        &member("u"),
        None,
        CreateRequest::new().is_usable_once(false),
        CREATED,
    )
    .unwrap();
    assert!(issued.record.is_usable_once());
    assert!(issued.view.is_usable_once);
    // Under a multi-use policy the request decides.
    let issued = issue_under(
        &open_policy(),
        &member("u"),
        None,
        CreateRequest::new().is_usable_once(false),
        CREATED,
    )
    .unwrap();
    assert!(!issued.record.is_usable_once());
}

#[test]
fn spec_2_4_start_in_the_past_is_refused_and_start_now_is_not() {
    let past = CREATED - Duration::nanoseconds(1);
    let err = issue_under(
        &open_policy(),
        &member("u"),
        None,
        CreateRequest::new().start(past),
        CREATED,
    )
    .unwrap_err();
    assert_eq!(
        err,
        CreateError::StartInPast {
            start: past,
            now: CREATED
        }
    );
    assert!(err.to_string().contains("is in the past"));
    assert!(
        issue_under(
            &open_policy(),
            &member("u"),
            None,
            CreateRequest::new().start(CREATED),
            CREATED
        )
        .is_ok()
    );
}

#[test]
fn spec_2_4_an_end_beyond_times_range_is_an_error() {
    let start = UtcDateTime::MAX - Duration::minutes(30);
    let err = issue_under(
        &open_policy(),
        &member("u"),
        None,
        CreateRequest::new().start(start),
        CREATED,
    )
    .unwrap_err();
    assert!(
        matches!(err, CreateError::EndOutOfRange { start: s, lifetime } if s == start && lifetime.minutes() == 60)
    );
    // And with `now` at the very end, the default start is `now`.
    let err = issue_under(
        &open_policy(),
        &member("u"),
        None,
        CreateRequest::new(),
        UtcDateTime::MAX,
    )
    .unwrap_err();
    assert!(matches!(err, CreateError::EndOutOfRange { .. }));
    // The last start that fits works: end is exactly the largest representable instant.
    let last = UtcDateTime::MAX - Duration::minutes(60);
    let issued = issue_under(
        &open_policy(),
        &member("u"),
        None,
        CreateRequest::new().start(last),
        CREATED,
    )
    .unwrap();
    assert_eq!(issued.record.end(), UtcDateTime::MAX);
}

#[test]
fn spec_2_5_code_has_the_policy_length_and_alphabet() {
    for length in [8, 9, 21, 48] {
        let policy = Policy::new(PolicySettings::new().default_length(length)).unwrap();
        let issued =
            issue_under(&policy, &member("u"), None, CreateRequest::new(), CREATED).unwrap();
        let code = issued.passcode.expose_secret();
        assert_eq!(code.len(), length as usize);
        assert!(
            code.bytes().all(|b| Passcode::ALPHABET.contains(&b)),
            "{code}"
        );
        assert_eq!(issued.record.code_digest().length().get(), length as usize);
    }
}

#[test]
fn spec_2_5_a_failing_rng_is_a_typed_error() {
    let issuer = aa();
    let policy = open_policy();
    let target = member("u");
    let ctx = CreateContext::new(&policy, key(), &issuer, &target);
    let err = create(&ctx, &CreateRequest::new(), CREATED, &mut FailingRng).unwrap_err();
    assert_eq!(err, CreateError::Rng(RngFailure));
    assert_eq!(
        err.to_string(),
        "the random number generator failed: nothing was created"
    );
}

#[test]
fn spec_2_6_the_code_is_only_in_the_creation_result() {
    let issued = issue_under(
        &open_policy(),
        &member("u"),
        None,
        CreateRequest::new(),
        CREATED,
    )
    .unwrap();
    let code = issued.passcode.expose_secret().to_owned();
    assert!(issued.record.verify_code(key(), &code));
    for printed in [
        format!("{:?}", issued.record),
        format!("{:?}", issued.view),
        format!("{:?}", issued.events()),
        format!("{issued:?}"),
    ] {
        assert!(!printed.contains(&code), "code leaked into {printed}");
    }
    // The record keeps a digest of 32 bytes and a salt, never the code.
    assert_eq!(issued.record.code_digest().digest().len(), 32);
}

#[test]
fn spec_2_7_a_valid_pass_must_be_deleted_first() {
    let user = member("u");
    let first = issue_under(&open_policy(), &user, None, CreateRequest::new(), CREATED)
        .unwrap()
        .record;
    // Valid: not yet expired, including the last nanosecond and a pass that has not started.
    for now in [CREATED, first.end() - Duration::nanoseconds(1)] {
        let err = issue_under(
            &open_policy(),
            &user,
            Some(&first),
            CreateRequest::new(),
            now,
        )
        .unwrap_err();
        assert_eq!(
            err,
            CreateError::AlreadyHasValidPass {
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
    let future = issue_under(
        &open_policy(),
        &user,
        None,
        CreateRequest::new().start(CREATED + Duration::days(1)),
        CREATED,
    )
    .unwrap()
    .record;
    assert!(matches!(
        issue_under(
            &open_policy(),
            &user,
            Some(&future),
            CreateRequest::new(),
            CREATED
        ),
        Err(CreateError::AlreadyHasValidPass { .. })
    ));
}

#[test]
fn spec_2_7_an_expired_pass_is_replaced_without_revoking_sessions() {
    let user = member("u");
    let first = issue_under(&open_policy(), &user, None, CreateRequest::new(), CREATED)
        .unwrap()
        .record;
    let later = first.end();
    let second = issue_under(
        &open_policy(),
        &user,
        Some(&first),
        CreateRequest::new(),
        later,
    )
    .unwrap();
    assert_eq!(second.replaced, Some((*first.id(), false)));
    assert!(second.effects.is_empty());
    assert_ne!(second.record.id(), first.id());
    assert!(second.events().contains(&Event::PassReplaced {
        old: *first.id(),
        new: *second.record.id(),
        user: uid("u"),
        at: later,
        old_was_valid: false,
    }));
    assert!(
        !second
            .events()
            .iter()
            .any(|e| matches!(e, Event::SessionsRevoked { .. }))
    );
}

#[test]
fn spec_2_7_opt_in_replacement_of_a_valid_pass_counts_as_a_deletion() {
    let user = member("u");
    let issuer = aa();
    let policy = open_policy();
    let first = issue_under(&policy, &user, None, CreateRequest::new(), CREATED)
        .unwrap()
        .record;
    let ctx = CreateContext::new(&policy, key(), &issuer, &user)
        .existing(Some(&first))
        .options(CreateOptions::new().replace_valid_pass(true));
    let second = create(&ctx, &CreateRequest::new(), CREATED, &mut TestRng(8)).unwrap();
    assert_eq!(second.replaced, Some((*first.id(), true)));
    assert_eq!(
        second.effects,
        vec![Effect::RevokeSessions { user: uid("u") }]
    );
    assert!(second.events().contains(&Event::SessionsRevoked {
        user: uid("u"),
        pass: *first.id(),
        at: CREATED
    }));
}

#[test]
fn spec_2_7_an_existing_record_of_another_user_is_refused() {
    let other = issue_under(
        &open_policy(),
        &member("other"),
        None,
        CreateRequest::new(),
        CREATED,
    )
    .unwrap()
    .record;
    let err = issue_under(
        &open_policy(),
        &member("u"),
        Some(&other),
        CreateRequest::new(),
        CREATED,
    )
    .unwrap_err();
    assert_eq!(
        err,
        CreateError::ExistingPassMismatch {
            target: uid("u"),
            holder: uid("other")
        }
    );
}

#[test]
fn spec_2_8_passes_are_created_for_anyone_but_only_in_scope_users_use_them() {
    let disabled = Policy::default();
    let user = member("u");
    let issued = issue_under(&disabled, &user, None, CreateRequest::new(), CREATED).unwrap();
    assert_eq!(
        issued.record.usability(&disabled, &user, CREATED),
        Usability::PolicyBlocked(temporary_access_pass::BlockCause::PolicyDisabled)
    );
    // Later product: an opt-in refusal.
    let issuer = aa();
    let ctx = CreateContext::new(&disabled, key(), &issuer, &user)
        .options(CreateOptions::new().refuse_out_of_scope(true));
    let err = create(&ctx, &CreateRequest::new(), CREATED, &mut TestRng(1)).unwrap_err();
    assert_eq!(
        err,
        CreateError::TargetNotInScope {
            user: uid("u"),
            scope: Scope::PolicyDisabled
        }
    );
    let policy = open_policy();
    let ctx =
        CreateContext::new(&policy, key(), &issuer, &user).options(CreateOptions::later_product());
    assert!(create(&ctx, &CreateRequest::new(), CREATED, &mut TestRng(1)).is_ok());
}

#[test]
fn spec_3_5_a_forbidden_creation_is_a_typed_refusal() {
    let ga = admin("ga", DirectoryRole::GlobalAdministrator);
    let policy = open_policy();
    let issuer = aa();
    let ctx = CreateContext::new(&policy, key(), &issuer, &ga);
    let err = create(&ctx, &CreateRequest::new(), CREATED, &mut TestRng(1)).unwrap_err();
    let CreateError::Forbidden(denied) = &err else {
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
fn creation_at_every_edge_of_times_range_errs_or_succeeds_without_panicking() {
    let issuer = admin("aa", DirectoryRole::AuthenticationAdministrator);
    let user = member("u");
    let policy = Policy::new(
        PolicySettings::new()
            .minimum_lifetime_minutes(10)
            .default_lifetime_minutes(10)
            .maximum_lifetime_minutes(43_200),
    )
    .unwrap();
    let ctx = CreateContext::new(&policy, key(), &issuer, &user);
    let edges = [
        UtcDateTime::MIN,
        UtcDateTime::MIN + Duration::nanoseconds(1),
        UtcDateTime::MAX - Duration::minutes(43_200),
        UtcDateTime::MAX - Duration::nanoseconds(1),
        UtcDateTime::MAX,
    ];
    for now in edges {
        for start in edges {
            for minutes in [10, 43_200] {
                let request = CreateRequest::new().start(start).lifetime_minutes(minutes);
                match create(&ctx, &request, now, &mut TestRng(1)) {
                    Ok(issued) => {
                        let pass = issued.record;
                        assert_eq!(pass.end(), start + Duration::minutes(i64::from(minutes)));
                        // Evaluating at the edges never panics either.
                        for at in edges {
                            let _ = pass.usability(&policy, &user, at).is_usable();
                        }
                    }
                    Err(CreateError::StartInPast { .. }) => assert!(start < now),
                    Err(CreateError::EndOutOfRange { .. }) => {
                        assert!(
                            start
                                .checked_add(Duration::minutes(i64::from(minutes)))
                                .is_none()
                        );
                    }
                    Err(other) => panic!("unexpected {other:?}"),
                }
            }
        }
    }
}
