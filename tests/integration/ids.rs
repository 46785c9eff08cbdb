//! Identifiers (SPEC 3.1): users, groups and passes, refused with a reason.

use temporary_access_pass::error::IdError;
use temporary_access_pass::{PassId, UserId};

use crate::support::TestRng;

#[test]
fn identifiers_reject_bad_text_with_a_reason() {
    assert_eq!(
        UserId::new("").unwrap_err().to_string(),
        "user id is empty: it must hold 1 to 256 characters"
    );
    assert!(matches!(
        UserId::new(&"x".repeat(UserId::MAX_LEN + 1)),
        Err(IdError::TooLong {
            len: 257,
            max: 256,
            ..
        })
    ));
    assert_eq!(
        UserId::new("a\u{7}b"),
        Err(IdError::ControlCharacter { kind: "user" })
    );
    assert_eq!("nope".parse::<PassId>(), Err(IdError::NotAGuid));
    assert!(IdError::NotAGuid.to_string().contains("8-4-4-4-12"));
}

#[test]
fn pass_ids_are_version_4_guids() {
    let mut rng = TestRng(5);
    let a = PassId::random(&mut rng).unwrap();
    let b = PassId::random(&mut rng).unwrap();
    assert_ne!(a, b);
    let text = a.to_string();
    assert_eq!(text.len(), 36);
    assert_eq!(&text[14..15], "4");
    assert!(matches!(&text[19..20], "8" | "9" | "a" | "b"));
    assert_eq!(text.parse::<PassId>(), Ok(a));
}

/// An RNG that fills every byte with one value: all bits set, or none.
struct Fill(u8);

impl rand_core::TryRng for Fill {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(u32::from_ne_bytes([self.0; 4]))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(u64::from_ne_bytes([self.0; 8]))
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Self::Error> {
        dest.fill(self.0);
        Ok(())
    }
}
impl rand_core::TryCryptoRng for Fill {}

#[test]
fn pass_ids_set_the_version_and_variant_bits_whatever_the_random_bytes() {
    for (fill, expected) in [
        (0x00, "00000000-0000-4000-8000-000000000000"),
        (0xff, "ffffffff-ffff-4fff-bfff-ffffffffffff"),
    ] {
        let id = PassId::random(&mut Fill(fill)).unwrap();
        assert_eq!(id.to_string(), expected);
        assert_eq!(format!("{id:?}"), format!("PassId({expected})"));
    }
}

#[test]
fn a_guid_parses_only_with_its_dashes_in_place() {
    let good = "0123abcd-4567-4def-89ab-0123456789ab";
    assert!(good.parse::<PassId>().is_ok());
    assert_eq!(
        good.to_uppercase().parse::<PassId>().map(|p| p.to_string()),
        Ok(good.to_owned())
    );
    for bad in [
        // A digit where a dash belongs, the dash moved one place.
        "0123abc-d4567-4def-89ab-0123456789ab",
        "0123abcd4-567-4def-89ab-0123456789ab",
        // A digit where a dash belongs: 33 digits.
        "0123abcd04567-4def-89ab-0123456789ab",
        // A dash where a digit belongs.
        "0123abcd-4567-4def-89ab-01234567-9ab",
        "0123abcd-4567-4def-89ab-0123456789ag",
    ] {
        assert_eq!(bad.parse::<PassId>(), Err(IdError::NotAGuid), "{bad}");
    }
}

#[test]
fn an_id_of_the_longest_length_is_taken_and_one_byte_more_refused() {
    assert!(UserId::new(&"x".repeat(UserId::MAX_LEN)).is_ok());
    assert!(UserId::new(&"x".repeat(UserId::MAX_LEN + 1)).is_err());
}

/// Method and ceremony ids (SPEC 8.4): the URL-safe base64 alphabet, at exactly their shortest
/// and longest lengths; names trimmed; each shown as given, and a method's Debug never shows
/// the host's credential. Written for the mutants `cargo mutants --file src/method.rs` left.
#[test]
fn method_and_ceremony_ids_take_their_alphabet_at_exactly_their_lengths() {
    use temporary_access_pass::ceremony::CeremonyId;
    use temporary_access_pass::method::{
        AttestationLevel, MethodError, MethodId, MethodName, MethodOrigin, NewMethod,
        RegisteredMethod,
    };
    use temporary_access_pass::time::UtcDateTime;

    let id = MethodId::new("AbC-_09").unwrap();
    assert_eq!(id.as_str(), "AbC-_09");
    assert_eq!(id.to_string(), "AbC-_09");
    assert_eq!(format!("{id:?}"), "MethodId(\"AbC-_09\")");
    for bad in ["a b", "a+b", "a/b", "a=b", "é", "a.b"] {
        assert!(
            matches!(MethodId::new(bad), Err(IdError::NotAToken { .. })),
            "{bad}"
        );
    }
    assert!(MethodId::new("").is_err());
    assert!(MethodId::new(&"a".repeat(MethodId::MAX_LEN)).is_ok());
    assert!(MethodId::new(&"a".repeat(MethodId::MAX_LEN + 1)).is_err());
    let shortest = CeremonyId::MIN_LEN;
    assert!(CeremonyId::new(&"a".repeat(shortest)).is_ok());
    for short in [1, shortest - 1] {
        assert!(
            matches!(
                CeremonyId::new(&"a".repeat(short)),
                Err(IdError::TooShort { len, min, .. }) if len == short && min == shortest
            ),
            "{short} characters"
        );
    }
    assert!(CeremonyId::new(&"a".repeat(CeremonyId::MAX_LEN + 1)).is_err());

    let name = MethodName::new("  Red key ").unwrap();
    assert_eq!(name.as_str(), "Red key");
    assert_eq!(name.to_string(), "Red key");
    assert_eq!(format!("{name:?}"), "MethodName(\"Red key\")");

    let user = UserId::new("chris@contoso.com").unwrap();
    let now = UtcDateTime::from_unix_timestamp(1_800_000_000).unwrap();
    let origin = MethodOrigin::ByAdministrator(UserId::new("ga@contoso.com").unwrap().into());
    let aaguid = Some([7_u8; 16]);
    let with = |len: usize| {
        let new = NewMethod::new(id.clone(), name.clone(), vec![0x5a; len])
            .aaguid(aaguid, AttestationLevel::NotAttested);
        RegisteredMethod::new(new, user.clone(), origin.clone(), now)
    };
    let largest = with(RegisteredMethod::MAX_CREDENTIAL_LEN).unwrap();
    assert_eq!(RegisteredMethod::MAX_CREDENTIAL_LEN, 8 * 1024);
    assert_eq!(largest.credential(), &vec![0x5a; 8 * 1024][..]);
    assert_eq!(largest.aaguid(), aaguid);
    for refused in [0, RegisteredMethod::MAX_CREDENTIAL_LEN + 1] {
        assert!(matches!(
            with(refused),
            Err(MethodError::CredentialSize { len, max }) if len == refused && max == 8 * 1024
        ));
    }
    // A sign-in's new credential is held to the same bound, empty and one byte over refused,
    // and the method as it was is unchanged by a refusal.
    let later = now + temporary_access_pass::time::Duration::minutes(5);
    let used = largest.used(vec![0x33; 16], later).unwrap();
    assert_eq!(used.credential(), &[0x33; 16][..]);
    assert_eq!(used.last_used(), Some(later));
    for refused in [0, RegisteredMethod::MAX_CREDENTIAL_LEN + 1] {
        assert!(matches!(
            largest.used(vec![0x33; refused], later),
            Err(MethodError::CredentialSize { len, .. }) if len == refused
        ));
    }
    assert!(
        largest
            .used(vec![0x33; RegisteredMethod::MAX_CREDENTIAL_LEN], later)
            .is_ok()
    );
    assert_eq!(largest.last_used(), None);
    let shown = format!("{largest:?}");
    assert!(shown.contains("credential_len: 8192"), "{shown}");
    assert!(
        shown.contains("MethodId(\"AbC-_09\")") && shown.contains("Red key"),
        "{shown}"
    );
    assert!(
        !shown.contains("90, 90"),
        "the credential's bytes are not shown: {shown}"
    );
}
