//! SPEC 8.4-8.6 on the in-memory store: the store's changes of methods and ceremonies, the
//! engine's operations over them, and their races with real threads.

use temporary_access_pass::InMemoryStore;
use temporary_access_pass::testing::conformance;

#[test]
fn spec_8_4_the_in_memory_store_changes_methods_and_ceremonies_only_as_expected() {
    conformance::check_methods_and_ceremonies(&InMemoryStore::new());
}

#[test]
fn spec_8_4_to_8_6_the_life_of_a_passkey_through_the_engine() {
    conformance::check_onboarding(&InMemoryStore::new());
}

#[test]
fn spec_8_4_thirty_two_registrations_over_the_cap_store_exactly_the_cap() {
    conformance::race_method_cap(&InMemoryStore::new(), 50);
}

#[test]
fn spec_8_4_a_deletion_racing_a_registration_leaves_the_key_and_its_event_or_neither() {
    conformance::race_pass_deletion_and_registration(&InMemoryStore::new(), 500);
}

#[test]
fn spec_8_4_a_session_state_is_taken_once() {
    let store = InMemoryStore::new();
    conformance::race_taking_a_state(&store, &store, 500);
}

/// SPEC 8.1: a registration session lets its user register only while the pass it was opened
/// with is still theirs. The store removes a replaced or deleted pass's sessions in the same
/// commit; the judgement refuses on its own too, for a store that kept one. Written for the
/// mutants `cargo mutants --file src/onboarding.rs` left in `judge_session`.
#[test]
fn spec_8_1_a_session_registers_only_while_its_own_pass_is_the_users() {
    use temporary_access_pass::CreateRequest;
    use temporary_access_pass::ceremony::{Ceremony, CeremonyId, CeremonyKind};
    use temporary_access_pass::error::RegistrationError;
    use temporary_access_pass::onboarding::{SessionContext, judge_session};

    use crate::support::{at, member, pass_for};

    let chris = member("chris@contoso.com");
    let dana = member("dana@contoso.com");
    let (_, opened_with) = pass_for(&chris, CreateRequest::new());
    let (_, replacement) = pass_for(&chris, CreateRequest::new());
    let (_, danas) = pass_for(&dana, CreateRequest::new());
    assert_ne!(opened_with.id(), replacement.id());
    let until = at(70);
    let session = Ceremony::new(
        CeremonyId::new(&"s".repeat(CeremonyId::MIN_LEN)).unwrap(),
        chris.id().clone(),
        CeremonyKind::Registration {
            pass: *opened_with.id(),
            until,
        },
        at(60),
        until,
    )
    .unwrap();
    let now = at(65);
    let judged = |record| judge_session(&SessionContext::new(&chris, record, Some(&session)), now);
    assert_eq!(judged(Some(&opened_with)), Ok((*opened_with.id(), until)));
    for (why, record) in [
        ("the pass was replaced", Some(&replacement)),
        ("a record of another user", Some(&danas)),
        ("the pass was deleted", None),
    ] {
        assert_eq!(judged(record), Err(RegistrationError::PassRemoved), "{why}");
    }
}

/// SPEC 8.5: an administrator's provisioning is answered only by the ceremony they opened,
/// for the user they opened it for, while it is open; each condition refuses on its own.
/// Written for the mutants `cargo mutants --file src/onboarding.rs` left in
/// `take_provisioning`.
#[test]
fn spec_8_5_a_provisioning_is_taken_only_by_its_administrator_for_its_user_while_open() {
    use temporary_access_pass::ceremony::{Ceremony, CeremonyId, CeremonyKind};
    use temporary_access_pass::error::ProvisionError;
    use temporary_access_pass::onboarding::take_provisioning;

    use crate::support::{aa, at, ga, member};

    let chris = member("chris@contoso.com");
    let dana = member("dana@contoso.com");
    let (helpdesk, other_admin) = (aa(), ga());
    let ceremony = |by: &temporary_access_pass::Principal,
                    user: &temporary_access_pass::Principal| {
        Ceremony::new(
            CeremonyId::new(&"p".repeat(CeremonyId::MIN_LEN)).unwrap(),
            user.id().clone(),
            CeremonyKind::Provisioning { by: by.initiator() },
            at(0),
            at(5),
        )
        .unwrap()
        .with_state(Some(b"options".to_vec()))
        .unwrap()
    };
    let own = ceremony(&helpdesk, &chris);
    assert_eq!(
        take_provisioning(&helpdesk, &chris, Some(&own), at(4)),
        Ok(b"options".to_vec())
    );
    for (why, taken) in [
        (
            "another administrator's",
            take_provisioning(
                &helpdesk,
                &chris,
                Some(&ceremony(&other_admin, &chris)),
                at(4),
            ),
        ),
        (
            "for another user",
            take_provisioning(&helpdesk, &chris, Some(&ceremony(&helpdesk, &dana)), at(4)),
        ),
        (
            "over",
            take_provisioning(&helpdesk, &chris, Some(&own), at(5)),
        ),
        ("none", take_provisioning(&helpdesk, &chris, None, at(4))),
    ] {
        assert_eq!(taken, Err(ProvisionError::NoChallenge), "{why}");
    }
}

/// SPEC 8.6: a passkey sign-in's state is taken only from a sign-in ceremony, of the user
/// signing in, while it is open; each condition refuses on its own. Written for the mutants
/// `cargo mutants --file src/onboarding.rs` left in `take_sign_in`.
#[test]
fn spec_8_6_a_sign_in_state_is_taken_only_from_the_users_open_sign_in() {
    use temporary_access_pass::ceremony::{Ceremony, CeremonyId, CeremonyKind};
    use temporary_access_pass::error::PasskeyError;
    use temporary_access_pass::onboarding::{begin_sign_in, take_sign_in};

    use crate::support::{at, uid};

    let chris = uid("chris@contoso.com");
    let id = || CeremonyId::new(&"l".repeat(CeremonyId::MIN_LEN)).unwrap();
    let window = temporary_access_pass::time::Duration::minutes(5);
    let sign_in = begin_sign_in(&chris, id(), b"challenge".to_vec(), window, at(0)).unwrap();
    assert_eq!(
        take_sign_in(&chris, Some(&sign_in), at(4)),
        Ok(b"challenge".to_vec())
    );
    let danas = begin_sign_in(
        &uid("dana@contoso.com"),
        id(),
        b"challenge".to_vec(),
        window,
        at(0),
    )
    .unwrap();
    let provisioning = Ceremony::new(
        id(),
        chris.clone(),
        CeremonyKind::Provisioning {
            by: uid("ga@contoso.com").into(),
        },
        at(0),
        at(5),
    )
    .unwrap()
    .with_state(Some(b"challenge".to_vec()))
    .unwrap();
    for (why, ceremony, now) in [
        ("another user's", Some(&danas), at(4)),
        ("not a sign-in", Some(&provisioning), at(4)),
        ("over", Some(&sign_in), at(5)),
        ("none", None, at(4)),
    ] {
        assert_eq!(
            take_sign_in(&chris, ceremony, now),
            Err(PasskeyError::NoSignIn),
            "{why}"
        );
    }
}
