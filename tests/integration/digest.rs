//! SPEC 6.1 and 6.2: the digest, its key and its fixed-size input, and verification.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use temporary_access_pass::hazmat::{CodeDigest, DIGEST_INPUT_LEN, DigestScheme, compute_digest};
use temporary_access_pass::testing::proptest::prelude::*;
use temporary_access_pass::{
    CreateRequest, DigestKey, PassId, Pepper, Policy, PolicySettings, TemporaryAccessPass,
};

use crate::support::{CREATED, issue_with, key, member, open_policy, open_settings};

/// A pass for `u` under `policy`, sealed with `key`: its code and its record.
fn issued(key: &DigestKey, policy: &Policy) -> (String, TemporaryAccessPass) {
    let created = issue_with(
        key,
        policy,
        &member("u"),
        None,
        CreateRequest::new(),
        CREATED,
    )
    .unwrap();
    (created.passcode.expose_secret().to_owned(), created.record)
}

/// The digest input of SPEC 6.1, built independently: tag, salt, pass id, the typed code cut or
/// zero-padded to 48 bytes, the typed length capped at 255.
fn layout(tag: u8, salt: &[u8; 16], id: &[u8; 16], typed: &[u8]) -> Vec<u8> {
    let mut m = vec![tag];
    m.extend_from_slice(salt);
    m.extend_from_slice(id);
    let mut code = typed.iter().copied().take(48).collect::<Vec<u8>>();
    code.resize(48, 0);
    m.extend_from_slice(&code);
    m.push(u8::try_from(typed.len()).unwrap_or(u8::MAX));
    assert_eq!(m.len(), DIGEST_INPUT_LEN);
    m
}

#[test]
fn spec_6_1_keyed_digest_is_hmac_sha256_over_the_fixed_size_input() {
    let secret = [0x5a; 32];
    let key = DigestKey::from(Pepper::new(&secret).unwrap());
    let (code, pass) = issued(&key, &open_policy());
    assert_eq!(pass.code_digest().scheme(), DigestScheme::HmacSha256);
    let mut mac = Hmac::<Sha256>::new_from_slice(&secret).unwrap();
    mac.update(&layout(
        0x03,
        pass.code_digest().salt(),
        pass.id().as_bytes(),
        code.as_bytes(),
    ));
    let expected: [u8; 32] = mac.finalize().into_bytes().into();
    assert_eq!(pass.code_digest().digest(), &expected);
    assert_eq!(DIGEST_INPUT_LEN, 82);
}

#[test]
fn spec_6_1_the_unkeyed_digest_is_plain_sha256_and_only_by_choice() {
    let unkeyed = DigestKey::unkeyed();
    assert_eq!(format!("{unkeyed:?}"), "DigestKey::Unkeyed");
    let (code, pass) = issued(&unkeyed, &open_policy());
    assert_eq!(pass.code_digest().scheme(), DigestScheme::Sha256Unkeyed);
    let expected: [u8; 32] = Sha256::digest(layout(
        0x04,
        pass.code_digest().salt(),
        pass.id().as_bytes(),
        code.as_bytes(),
    ))
    .into();
    assert_eq!(pass.code_digest().digest(), &expected);
}

#[test]
fn spec_6_1_salts_differ_per_pass_and_the_key_must_match() {
    let pepper = DigestKey::from(Pepper::new(&[1; 32]).unwrap());
    let other = DigestKey::from(Pepper::new(&[2; 40]).unwrap());
    let unkeyed = DigestKey::unkeyed();
    let (code, pass) = issued(&pepper, &open_policy());
    let (_, pass2) = issued(&pepper, &open_policy());
    assert_ne!(pass.code_digest().salt(), pass2.code_digest().salt());
    assert!(pass.verify_code(&pepper, &code));
    assert!(!pass.verify_code(&other, &code), "another pepper");
    assert!(
        !pass.verify_code(&unkeyed, &code),
        "no pepper for a keyed record"
    );
    let (plain_code, plain) = issued(&unkeyed, &open_policy());
    assert!(plain.verify_code(&unkeyed, &plain_code));
    assert!(
        !plain.verify_code(&pepper, &plain_code),
        "a pepper for an unkeyed record"
    );
}

#[test]
fn spec_6_2_right_wrong_and_wrong_length() {
    let key = DigestKey::from(Pepper::new(&[9; 32]).unwrap());
    let (code, pass) = issued(&key, &open_policy());
    assert!(pass.verify_code(&key, &code));
    let mut wrong = code.clone().into_bytes();
    wrong[7] = if wrong[7] == b'A' { b'B' } else { b'A' };
    let wrong = String::from_utf8(wrong).unwrap();
    for typed in [
        wrong.as_str(),
        &code[..7],
        &format!("{code}A"),
        &format!("{code}\0"),
        "",
        &code.to_lowercase(),
        "é".repeat(4).as_str(),
        &"A".repeat(100_000),
    ] {
        if typed != code {
            assert!(!pass.verify_code(&key, typed), "{typed:?}");
        }
    }
}

#[test]
fn spec_6_1_the_digest_input_has_one_size_whatever_the_code_length() {
    // Inputs that agree on their first bytes but differ in length give different digests (the
    // typed length is part of the input), and codes longer than the slot still differ by length.
    let id = PassId::from_bytes([3; 16]);
    let unkeyed = DigestKey::unkeyed();
    let a = compute_digest(&unkeyed, &[0; 16], &id, b"ABCDEFGH");
    let b = compute_digest(&unkeyed, &[0; 16], &id, b"ABCDEFGHJ");
    let c = compute_digest(&unkeyed, &[0; 16], &id, b"ABCDEFGH\0\0\0");
    assert_ne!(a, b);
    assert_ne!(a, c);
    assert_ne!(b, c);
    let long = "A".repeat(48);
    let longer = "A".repeat(49);
    assert_ne!(
        compute_digest(&unkeyed, &[0; 16], &id, long.as_bytes()),
        compute_digest(&unkeyed, &[0; 16], &id, longer.as_bytes())
    );
    // A record of length 8 and one of length 48 hash inputs of the same size.
    for length in [8, 48] {
        let policy = Policy::new(
            PolicySettings::new()
                .state(temporary_access_pass::PolicyState::Enabled)
                .include_target(temporary_access_pass::IncludeTarget::AllUsers)
                .default_length(length),
        )
        .unwrap();
        let (code, pass) = issued(key(), &policy);
        let mut mac = Hmac::<Sha256>::new_from_slice(&[0x33; 32]).unwrap();
        mac.update(&layout(
            0x03,
            pass.code_digest().salt(),
            pass.id().as_bytes(),
            code.as_bytes(),
        ));
        let expected: [u8; 32] = mac.finalize().into_bytes().into();
        assert_eq!(pass.code_digest().digest(), &expected, "length {length}");
    }
    // A stored digest rebuilt from parts verifies like the original.
    let (code, pass) = issued(&unkeyed, &open_policy());
    let d = pass.code_digest();
    let rebuilt = CodeDigest::from_parts(d.scheme(), *d.salt(), d.length(), *d.digest());
    assert!(rebuilt.verify(&unkeyed, pass.id(), &code));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// SPEC 6.1-6.2: a code verifies against its own record and never another pass's, with or
    /// without a pepper; arbitrary typed text never verifies unless it is the code.
    #[test]
    fn a_code_verifies_only_against_its_own_record(
        len in 8_u32..=48,
        keyed in any::<bool>(),
        typed in ".{0,64}",
    ) {
        let pepper = if keyed {
            DigestKey::from(Pepper::new(&[0xa5; 32]).unwrap())
        } else {
            DigestKey::unkeyed()
        };
        let pepper = &pepper;
        let policy = Policy::new(open_settings().default_length(len)).unwrap();
        let (code1, pass1) = issued(pepper, &policy);
        let (code2, pass2) = issued(pepper, &policy);
        prop_assert!(pass1.verify_code(pepper, &code1));
        prop_assert!(pass2.verify_code(pepper, &code2));
        prop_assert!(!pass2.verify_code(pepper, &code1));
        prop_assert!(!pass1.verify_code(pepper, &code2));
        prop_assert_eq!(pass1.verify_code(pepper, &typed), typed == code1);
    }
}

mod against_reference_implementations {
    use hmac::{Hmac, KeyInit, Mac};
    use sha2::{Digest, Sha256};
    use temporary_access_pass::hazmat::compute_digest;
    use temporary_access_pass::testing::proptest;
    use temporary_access_pass::testing::proptest::prelude::*;
    use temporary_access_pass::{DigestKey, PassId, Pepper};

    use super::layout;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// SPEC 6.1: the digest is exactly HMAC-SHA256 (the `hmac` crate's, keyed with the
        /// pepper as given) with the pepper as key, and exactly SHA-256 unkeyed, for every key
        /// length (short, block-sized, longer than a block: the crate hashes those itself) and
        /// any typed input.
        #[test]
        fn spec_6_1_digest_equals_the_reference_hmac_and_sha256(
            secret in proptest::collection::vec(any::<u8>(), 32..200),
            salt in any::<[u8; 16]>(),
            id in any::<[u8; 16]>(),
            typed in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let key = DigestKey::from(Pepper::new(&secret).unwrap());
            let ours = compute_digest(&key, &salt, &PassId::from_bytes(id), &typed);
            let mut mac = Hmac::<Sha256>::new_from_slice(&secret).unwrap();
            mac.update(&layout(0x03, &salt, &id, &typed));
            let reference: [u8; 32] = mac.finalize().into_bytes().into();
            prop_assert_eq!(ours, reference);

            let plain = compute_digest(&DigestKey::unkeyed(), &salt, &PassId::from_bytes(id), &typed);
            let reference: [u8; 32] = Sha256::digest(layout(0x04, &salt, &id, &typed)).into();
            prop_assert_eq!(plain, reference);
        }
    }
}
