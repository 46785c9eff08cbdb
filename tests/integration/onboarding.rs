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
