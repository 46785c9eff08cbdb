//! The identifiers' own rules, tried on their private checks and tables.

use super::*;
use alloc::string::ToString;

#[test]
fn ids_reject_empty_long_and_control() {
    assert!(matches!(UserId::new(""), Err(IdError::Empty { .. })));
    let long = "a".repeat(MAX_ID_LEN + 1);
    assert!(matches!(
        GroupId::new(&long),
        Err(IdError::TooLong { len, .. }) if len == MAX_ID_LEN + 1
    ));
    assert_eq!(
        UserId::new("a\nb"),
        Err(IdError::ControlCharacter { kind: "user" })
    );
    assert_eq!(
        UserId::new("user2@contoso.com").unwrap().as_str(),
        "user2@contoso.com"
    );
}

#[test]
fn ids_refuse_format_characters_that_spoof_log_lines() {
    // A right-to-left override, a zero-width space, a byte-order mark, a soft hyphen and a
    // tag character: each is category Cf.
    for (text, code_point) in [
        ("admin\u{202E}moc.osotnoc@", 0x202E),
        ("ad\u{200B}min@contoso.com", 0x200B),
        ("\u{FEFF}admin", 0xFEFF),
        ("ad\u{AD}min", 0xAD),
        ("admin\u{E0041}", 0xE0041),
    ] {
        assert_eq!(
            UserId::new(text),
            Err(IdError::FormatCharacter {
                kind: "user",
                code_point
            }),
            "{text:?}"
        );
    }
    assert_eq!(
        GroupId::new("g\u{2066}x").unwrap_err().to_string(),
        "group id holds the invisible format character U+2066: only visible characters are allowed"
    );
    // Visible non-ASCII text stays allowed.
    assert!(UserId::new("zoë@contoso.com").is_ok());
    assert!(UserId::new("用户@contoso.com").is_ok());
    assert!(UserId::new("a b").is_ok(), "the ASCII space is allowed");
    // The tables are sorted and their ranges well formed.
    for table in [&FORMAT_CHARACTERS[..], &DEFAULT_IGNORABLE, &SEPARATORS] {
        assert!(table.windows(2).all(|w| w[0].1 < w[1].0));
        assert!(table.iter().all(|(a, b)| a <= b));
    }
}

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one table of refused characters, each with its error"
)]
fn ids_refuse_separators_spaces_and_default_ignorables() {
    // Each was accepted before: they break a log line or make two ids look alike.
    for (text, error) in [
        (
            "a\u{2028}b",
            IdError::Separator {
                kind: "user",
                code_point: 0x2028,
            },
        ),
        (
            "a\u{2029}b",
            IdError::Separator {
                kind: "user",
                code_point: 0x2029,
            },
        ),
        (
            "a\u{A0}b",
            IdError::Separator {
                kind: "user",
                code_point: 0xA0,
            },
        ),
        (
            "a\u{3000}b",
            IdError::Separator {
                kind: "user",
                code_point: 0x3000,
            },
        ),
        (
            "user-\u{200A}",
            IdError::Separator {
                kind: "user",
                code_point: 0x200A,
            },
        ),
        (
            "a\u{2800}b",
            IdError::Separator {
                kind: "user",
                code_point: 0x2800,
            },
        ),
        (
            "a\u{3164}b",
            IdError::DefaultIgnorable {
                kind: "user",
                code_point: 0x3164,
            },
        ),
        (
            "a\u{115F}b",
            IdError::DefaultIgnorable {
                kind: "user",
                code_point: 0x115F,
            },
        ),
        (
            "a\u{34F}b",
            IdError::DefaultIgnorable {
                kind: "user",
                code_point: 0x34F,
            },
        ),
        (
            "a\u{180B}b",
            IdError::DefaultIgnorable {
                kind: "user",
                code_point: 0x180B,
            },
        ),
        (
            "a\u{FE0F}b",
            IdError::DefaultIgnorable {
                kind: "user",
                code_point: 0xFE0F,
            },
        ),
        (
            "a\u{E0100}b",
            IdError::DefaultIgnorable {
                kind: "user",
                code_point: 0xE0100,
            },
        ),
    ] {
        assert_eq!(UserId::new(text), Err(error), "{text:?}");
    }
    assert_eq!(
        GroupId::new("g\u{3164}").unwrap_err().to_string(),
        "group id holds U+3164, a default-ignorable code point that shows as nothing: only visible characters are allowed"
    );
    assert_eq!(
        UserId::new("a\u{A0}b").unwrap_err().to_string(),
        "user id holds U+00A0, a separator or blank that is not the ASCII space: only visible characters and U+0020 are allowed"
    );
    // Cf characters that are also default-ignorable keep their own, older error.
    assert_eq!(
        UserId::new("a\u{200B}b"),
        Err(IdError::FormatCharacter {
            kind: "user",
            code_point: 0x200B
        })
    );
    // Visible neighbours of the refused ones stay allowed.
    for ok in [
        "a\u{2801}b",
        "a\u{3163}b",
        "a\u{FE10}b",
        "a\u{1161}b",
        "a\u{2027}b",
    ] {
        assert!(UserId::new(ok).is_ok(), "{ok:?}");
    }
}

#[test]
fn pass_id_text_round_trips() {
    let text = "c5dbd20a-8b8f-4791-a23f-488fcbde3b38";
    let id: PassId = text.parse().unwrap();
    assert_eq!(id.to_string(), text);
    assert_eq!(
        "C5DBD20A-8B8F-4791-A23F-488FCBDE3B38".parse::<PassId>(),
        Ok(id)
    );
    for bad in [
        "",
        "c5dbd20a8b8f4791a23f488fcbde3b38",
        "g5dbd20a-8b8f-4791-a23f-488fcbde3b38",
        "c5dbd20a-8b8f-4791-a23f-488fcbde3b3é",
    ] {
        assert_eq!(bad.parse::<PassId>(), Err(IdError::NotAGuid), "{bad}");
    }
}
