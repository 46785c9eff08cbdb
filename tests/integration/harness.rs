//! The harness kit (`testing`, feature `test-support`): what downstream harnesses get does what
//! it says.

use temporary_access_pass::admin::{Action, authorize};
use temporary_access_pass::testing::proptest::prelude::*;
use temporary_access_pass::{Policy, testing};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The strategies a downstream harness gets do what they say.
    #[test]
    fn valid_settings_validate_and_invalid_ones_do_not(
        valid in testing::strategies::valid_policy_settings(),
        invalid in testing::strategies::invalid_policy_settings(),
    ) {
        prop_assert!(Policy::new(valid).is_ok());
        prop_assert!(Policy::new(invalid).is_err());
    }

    /// Roles matter: the role matrix refuses creation for oneself, whatever the roles.
    #[test]
    fn nobody_creates_their_own_pass(p in testing::strategies::principal()) {
        prop_assert!(authorize(&p, Action::Create, &p).is_err());
    }

    #[test]
    fn schedules_have_at_most_the_steps_asked(s in testing::strategies::clock_schedule(7)) {
        prop_assert!(s.len() <= 7);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Each drawn record is in the state it claims at the drawn instant, and its code is right.
    #[test]
    fn records_are_in_the_state_drawn(case in testing::strategies::record()) {
        use temporary_access_pass::testing::strategies::RecordState;
        use temporary_access_pass::{BlockCause, Usability};
        let usability = case.record.usability(&case.policy, &case.holder, case.now);
        let agrees = match case.state {
            RecordState::NotYetValid => matches!(usability, Usability::NotYetValid { .. }),
            RecordState::Usable => usability == Usability::Usable,
            RecordState::Used => matches!(usability, Usability::OneTimeUsed { .. }),
            RecordState::Locked => matches!(
                usability,
                Usability::PolicyBlocked(BlockCause::Locked { .. })
            ),
            RecordState::Expired => matches!(usability, Usability::Expired { .. }),
            other => panic!("a state this test does not know: {other:?}"),
        };
        prop_assert!(agrees, "{:?} drawn, {usability:?} found", case.state);
        prop_assert!(case.record.verify_code(&case.key, &case.code));
        prop_assert_eq!(case.code.len(), case.policy.default_length().get());
    }

    /// Every client is drawn, and only the browser and the app are offered a pass.
    #[test]
    fn sign_in_requests_cover_the_clients(request in testing::strategies::sign_in_request()) {
        use temporary_access_pass::signin::Client;
        prop_assert_eq!(
            request.client.supports_pass(),
            matches!(request.client, Client::Browser | Client::AuthenticatorApp)
        );
    }

    /// Graph documents: the valid ones decode to the policy they describe, the invalid ones do
    /// not, and a patch sets the fields it holds and keeps the others (PATCH semantics).
    #[test]
    fn policy_documents_decode_as_drawn(
        valid in testing::strategies::policy_document(),
        invalid in testing::strategies::invalid_policy_document(),
        patch in testing::strategies::policy_patch(),
        base in testing::strategies::valid_policy(),
    ) {
        let policy = valid.to_policy().unwrap();
        prop_assert_eq!(temporary_access_pass::graph::PolicyDocument::from(&policy), valid);
        prop_assert!(invalid.to_policy().is_err());
        let before = base.settings();
        let after = patch.apply_to(before.clone()).unwrap();
        prop_assert_eq!(
            after.minimum_lifetime_minutes,
            patch.minimum_lifetime_in_minutes.unwrap_or(before.minimum_lifetime_minutes)
        );
        prop_assert_eq!(
            after.default_length,
            patch.default_length.unwrap_or(before.default_length)
        );
        prop_assert_eq!(
            after.is_usable_once,
            patch.is_usable_once.unwrap_or(before.is_usable_once)
        );
        if patch.include_targets.is_none() {
            prop_assert_eq!(after.include_targets, before.include_targets);
        }
    }
}

#[test]
fn every_record_state_is_drawn() {
    use std::collections::HashSet;
    use temporary_access_pass::testing::proptest::strategy::ValueTree;
    use temporary_access_pass::testing::proptest::test_runner::TestRunner;
    use temporary_access_pass::testing::strategies::{RecordState, record};
    let mut runner = TestRunner::deterministic();
    let mut seen = HashSet::new();
    for _ in 0..200 {
        seen.insert(record().new_tree(&mut runner).unwrap().current().state);
    }
    assert_eq!(seen, RecordState::ALL.into_iter().collect());
}
