//! SPEC 2.5 and 6.3: codes, their alphabet, and the secret type.

use temporary_access_pass::policy::PasscodeLength;
use temporary_access_pass::testing::proptest::prelude::*;
use temporary_access_pass::{CreateRequest, Passcode, Pepper, Policy, PolicySettings};

use crate::support::{CREATED, TestRng, issue_under, member};

#[test]
fn spec_6_3_passcode_is_redacted_and_zeroed_on_drop() {
    fn zeroize_on_drop<T: zeroize::ZeroizeOnDrop>() {}
    zeroize_on_drop::<Passcode>();
    let policy = Policy::new(PolicySettings::new().default_length(16)).unwrap();
    let issued = issue_under(&policy, &member("u"), None, CreateRequest::new(), CREATED).unwrap();
    let code = issued.passcode.expose_secret().to_owned();
    assert_eq!(format!("{:?}", issued.passcode), "Passcode([REDACTED])");
    let debug_all = format!("{issued:?}");
    assert!(!debug_all.contains(&code));
    assert!(debug_all.contains("[REDACTED]"));
    let pepper = Pepper::new(&[1; 32]).unwrap();
    assert_eq!(format!("{pepper:?}"), "Pepper([REDACTED])");
    // The pepper's keyed HMAC state is wiped when it is dropped.
    zeroize_on_drop::<Pepper>();
}

#[test]
fn spec_2_5_generated_codes_use_every_alphabet_character_and_nothing_else() {
    // 2,000 codes of 48 characters: every one of the 56 characters shows up (a missing one would
    // mean a broken mapping), and none outside the alphabet.
    let mut seen = [false; 256];
    let mut rng = TestRng(99);
    for _ in 0..2_000 {
        let code = Passcode::generate(PasscodeLength::MAX, &mut rng).unwrap();
        for b in code.expose_secret().bytes() {
            seen[usize::from(b)] = true;
        }
    }
    for (byte, was_seen) in seen.iter().enumerate() {
        let in_alphabet = Passcode::ALPHABET.contains(&u8::try_from(byte).unwrap());
        assert_eq!(*was_seen, in_alphabet, "byte {byte}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// SPEC 2.5: codes have exactly the policy length and only alphabet characters.
    #[test]
    fn generated_codes_have_the_length_and_alphabet(len in 8_u32..=48, seed in any::<u64>()) {
        let length = PasscodeLength::new(len).unwrap();
        let code = Passcode::generate(length, &mut TestRng(seed)).unwrap();
        prop_assert_eq!(code.expose_secret().len(), len as usize);
        prop_assert!(code.expose_secret().bytes().all(|b| Passcode::ALPHABET.contains(&b)));
    }
}
