//! SPEC 2.5, 6.1-6.3: codes, digests and verification.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use temporary_access_pass::{
    ALPHABET, CodeDigest, CreatePassRequest, DigestScheme, DirectoryRole, IssueContext, PassId,
    Passcode, PasscodeLength, Pepper, Policy, PolicySettings, TemporaryAccessPass, compute_digest,
    issue, verify_or_dummy, verify_without_pass,
};

use crate::support::{CREATED, TestRng, admin, member, open_policy};

fn issued(pepper: Option<&Pepper>, policy: &Policy, seed: u64) -> (String, TemporaryAccessPass) {
    let issuer = admin("aa", DirectoryRole::AuthenticationAdministrator);
    let user = member("u");
    let ctx = IssueContext::new(policy, &issuer, &user).pepper(pepper);
    let issued = issue(&ctx, &CreatePassRequest::new(), CREATED, &mut TestRng(seed)).unwrap();
    (
        issued.created.passcode.expose_secret().to_owned(),
        issued.record,
    )
}

fn layout(scheme_tag: u8, pass: &TemporaryAccessPass, code: &str) -> Vec<u8> {
    let digest = pass.code_digest();
    let mut m = vec![scheme_tag];
    m.extend_from_slice(digest.salt());
    m.extend_from_slice(pass.id().as_bytes());
    m.extend_from_slice(code.as_bytes());
    m.push(u8::try_from(code.len()).unwrap());
    m
}

#[test]
fn spec_6_1_keyed_digest_is_hmac_sha256_over_salt_id_and_code() {
    let secret = [0x5a; 32];
    let pepper = Pepper::new(&secret).unwrap();
    let (code, pass) = issued(Some(&pepper), &open_policy(), 1);
    assert_eq!(pass.code_digest().scheme(), DigestScheme::HmacSha256);
    let mut mac = Hmac::<Sha256>::new_from_slice(&secret).unwrap();
    mac.update(&layout(0x01, &pass, &code));
    let expected: [u8; 32] = mac.finalize().into_bytes().into();
    assert_eq!(pass.code_digest().digest(), &expected);
}

#[test]
fn spec_6_1_without_a_pepper_the_digest_is_plain_sha256() {
    let (code, pass) = issued(None, &open_policy(), 2);
    assert_eq!(pass.code_digest().scheme(), DigestScheme::Sha256);
    let expected: [u8; 32] = Sha256::digest(layout(0x02, &pass, &code)).into();
    assert_eq!(pass.code_digest().digest(), &expected);
}

#[test]
fn spec_6_1_salts_differ_per_pass_and_a_pepper_must_match() {
    let pepper = Pepper::new(&[1; 32]).unwrap();
    let other = Pepper::new(&[2; 40]).unwrap();
    let (code, pass) = issued(Some(&pepper), &open_policy(), 3);
    let (_, pass2) = issued(Some(&pepper), &open_policy(), 4);
    assert_ne!(pass.code_digest().salt(), pass2.code_digest().salt());
    assert!(pass.verify_code(Some(&pepper), &code));
    assert!(!pass.verify_code(Some(&other), &code), "another pepper");
    assert!(
        !pass.verify_code(None, &code),
        "no pepper for a keyed record"
    );
    let (plain_code, plain) = issued(None, &open_policy(), 5);
    assert!(plain.verify_code(None, &plain_code));
    assert!(
        !plain.verify_code(Some(&pepper), &plain_code),
        "a pepper for an unkeyed record"
    );
}

#[test]
fn spec_6_2_right_wrong_wrong_length_and_no_pass() {
    let pepper = Pepper::new(&[9; 32]).unwrap();
    let (code, pass) = issued(Some(&pepper), &open_policy(), 6);
    assert!(pass.verify_code(Some(&pepper), &code));
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
            assert!(!pass.verify_code(Some(&pepper), typed), "{typed:?}");
        }
    }
    // The shared entry point `redeem` uses: a record verifies its code, the dummy never does.
    let parts = Some((pass.code_digest(), pass.id()));
    assert!(verify_or_dummy(
        Some(&pepper),
        PasscodeLength::DEFAULT,
        parts,
        &code
    ));
    assert!(!verify_or_dummy(
        Some(&pepper),
        PasscodeLength::DEFAULT,
        parts,
        &wrong
    ));
    for length in [
        PasscodeLength::MIN,
        PasscodeLength::DEFAULT,
        PasscodeLength::MAX,
    ] {
        assert!(!verify_or_dummy(Some(&pepper), length, None, &code));
        assert!(!verify_or_dummy(None, length, None, &code));
    }
    // The no-pass path never accepts, whatever is typed, with or without a pepper.
    for typed in [code.as_str(), "", "AAAAAAAA"] {
        assert!(!verify_without_pass(
            Some(&pepper),
            PasscodeLength::DEFAULT,
            typed
        ));
        assert!(!verify_without_pass(None, PasscodeLength::MAX, typed));
    }
}

#[test]
fn spec_6_2_digest_of_a_wrong_length_input_is_computed_over_the_stored_length() {
    // Same salt, id and stored length: inputs that agree on the first `length` bytes but differ
    // in length give different digests (the typed length is part of the input).
    let id = PassId::from_bytes([3; 16]);
    let len = PasscodeLength::MIN;
    let a = compute_digest(None, &[0; 16], &id, len, b"ABCDEFGH");
    let b = compute_digest(None, &[0; 16], &id, len, b"ABCDEFGHJ");
    let c = compute_digest(None, &[0; 16], &id, len, b"ABCDEFGH\0\0\0");
    assert_ne!(a, b);
    assert_ne!(a, c);
    assert_ne!(b, c);
    // A stored digest rebuilt from parts verifies like the original.
    let (code, pass) = issued(None, &open_policy(), 7);
    let d = pass.code_digest();
    let rebuilt = CodeDigest::from_parts(d.scheme(), *d.salt(), d.length(), *d.digest());
    assert!(rebuilt.verify(None, pass.id(), &code));
}

#[test]
fn spec_6_3_passcode_is_redacted_and_zeroed_on_drop() {
    fn zeroize_on_drop<T: zeroize::ZeroizeOnDrop>() {}
    zeroize_on_drop::<Passcode>();
    let policy = Policy::new(PolicySettings::new().length(16)).unwrap();
    let issuer = admin("aa", DirectoryRole::AuthenticationAdministrator);
    let user = member("u");
    let issued = issue(
        &IssueContext::new(&policy, &issuer, &user),
        &CreatePassRequest::new(),
        CREATED,
        &mut TestRng(8),
    )
    .unwrap();
    let code = issued.created.passcode.expose_secret().to_owned();
    assert_eq!(
        format!("{:?}", issued.created.passcode),
        "Passcode([REDACTED])"
    );
    let debug_all = format!("{issued:?}");
    assert!(!debug_all.contains(&code));
    assert!(debug_all.contains("[REDACTED]"));
    let pepper = Pepper::new(&[1; 32]).unwrap();
    assert_eq!(format!("{pepper:?}"), "Pepper([REDACTED])");
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
        let in_alphabet = ALPHABET.contains(&u8::try_from(byte).unwrap());
        assert_eq!(*was_seen, in_alphabet, "byte {byte}");
    }
}

mod against_reference_implementations {
    use hmac::{Hmac, KeyInit, Mac};
    use proptest::prelude::*;
    use sha2::{Digest, Sha256};
    use temporary_access_pass::{PassId, PasscodeLength, Pepper, compute_digest};

    fn layout(tag: u8, salt: &[u8; 16], id: &[u8; 16], length: usize, typed: &[u8]) -> Vec<u8> {
        let mut m = vec![tag];
        m.extend_from_slice(salt);
        m.extend_from_slice(id);
        let mut code = typed.iter().copied().take(length).collect::<Vec<u8>>();
        code.resize(length, 0);
        m.extend_from_slice(&code);
        m.push(u8::try_from(typed.len()).unwrap_or(u8::MAX));
        m
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// SPEC 6.1: the digest is exactly HMAC-SHA256 (the `hmac` crate's) with the pepper as
        /// key, and exactly SHA-256 without one, for every key length (short, block-sized,
        /// longer than a block), every code length and any typed input.
        #[test]
        fn spec_6_1_digest_equals_the_reference_hmac_and_sha256(
            key in proptest::collection::vec(any::<u8>(), 32..200),
            salt in any::<[u8; 16]>(),
            id in any::<[u8; 16]>(),
            length in 8_u32..=48,
            typed in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let len = PasscodeLength::new(length).unwrap();
            let pepper = Pepper::new(&key).unwrap();
            let ours = compute_digest(Some(&pepper), &salt, &PassId::from_bytes(id), len, &typed);
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
            mac.update(&layout(0x01, &salt, &id, len.get(), &typed));
            let reference: [u8; 32] = mac.finalize().into_bytes().into();
            prop_assert_eq!(ours, reference);

            let plain = compute_digest(None, &salt, &PassId::from_bytes(id), len, &typed);
            let reference: [u8; 32] = Sha256::digest(layout(0x02, &salt, &id, len.get(), &typed)).into();
            prop_assert_eq!(plain, reference);
        }
    }
}
