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
