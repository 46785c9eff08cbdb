//! The store conformance suite against `InMemoryStore`, races included (SPEC 5.3, 6.4, 2.7).

use temporary_access_pass::{InMemoryStore, conformance};

#[test]
fn in_memory_store_keeps_every_sequential_guarantee() {
    conformance::check_store(&InMemoryStore::new());
}

#[test]
fn spec_5_3_one_time_pass_redeemed_exactly_once_by_8_threads_10000_rounds() {
    conformance::race_one_time_redemption(&InMemoryStore::new(), 10_000);
}

#[test]
fn spec_6_4_lock_engages_at_exactly_the_limit_under_8_guessing_threads() {
    conformance::race_lockout(&InMemoryStore::new(), 200);
}

#[test]
fn spec_2_7_concurrent_creations_leave_exactly_one_pass() {
    conformance::race_creation(&InMemoryStore::new(), 200);
}

#[test]
fn spec_6_5_a_burst_of_64_attempts_on_one_version_replays_as_a_sequential_history() {
    conformance::race_burst(&InMemoryStore::new(), 200);
}

#[test]
fn spec_6_5_a_burst_of_64_wrong_codes_gets_exactly_10_judged() {
    conformance::race_burst_wrong_codes(&InMemoryStore::new(), 200);
}

#[test]
fn spec_6_5_no_sign_in_is_granted_after_a_delete_landed() {
    conformance::race_delete(&InMemoryStore::new(), 200);
}

#[test]
fn in_memory_store_debug_prints_no_contents() {
    use temporary_access_pass::{CreatePassRequest, DirectoryRole, IssueContext, Store, issue};

    use crate::support::{CREATED, TestRng, admin, key, member, open_policy};

    let store = InMemoryStore::new();
    let policy = open_policy();
    let issuer = admin("aa", DirectoryRole::AuthenticationAdministrator);
    let user = member("secret-user@contoso.com");
    let issued = issue(
        &IssueContext::new(&policy, key(), &issuer, &user),
        &CreatePassRequest::new(),
        CREATED,
        &mut TestRng(4),
    )
    .unwrap();
    assert!(matches!(
        store.insert(&issued.record).unwrap(),
        temporary_access_pass::Write::Written(_)
    ));
    assert_eq!(store.len(), 1);
    assert_eq!(format!("{store:?}"), "InMemoryStore { passes: 1, .. }");
}
