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
