//! Identifiers: users, groups and passes (SPEC 3.1).

use alloc::sync::Arc;
use core::fmt;

use rand_core::TryCryptoRng;

/// Why an identifier was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The identifier was empty.
    #[error("{kind} id is empty: it must hold 1 to {max} characters")]
    Empty {
        /// Which kind of identifier (`"user"` or `"group"`).
        kind: &'static str,
        /// The largest length allowed, in bytes.
        max: usize,
    },
    /// The identifier was longer than allowed.
    #[error("{kind} id is {len} bytes long: at most {max} are allowed")]
    TooLong {
        /// Which kind of identifier (`"user"` or `"group"`).
        kind: &'static str,
        /// The length given, in bytes.
        len: usize,
        /// The largest length allowed, in bytes.
        max: usize,
    },
    /// The identifier held a control character (a newline, say), which would corrupt logs.
    #[error("{kind} id holds a control character: only printable characters are allowed")]
    ControlCharacter {
        /// Which kind of identifier (`"user"` or `"group"`).
        kind: &'static str,
    },
    /// The text is not a pass id (a GUID).
    #[error(
        "pass id is not a GUID: expected 32 hex digits as 8-4-4-4-12, like c5dbd20a-8b8f-4791-a23f-488fcbde3b38"
    )]
    NotAGuid,
    /// The identifier held an invisible format character (Unicode category Cf: a
    /// bidirectional override such as U+202E, a zero-width space U+200B...), which lets an id
    /// look like another one in a log line.
    #[error(
        "{kind} id holds the invisible format character U+{code_point:04X}: only visible characters are allowed"
    )]
    FormatCharacter {
        /// Which kind of identifier (`"user"` or `"group"`).
        kind: &'static str,
        /// The character's code point.
        code_point: u32,
    },
}

/// The code points of Unicode's general category Cf (format characters), as of Unicode 15.1:
/// inclusive ranges, sorted.
const FORMAT_CHARACTERS: [(u32, u32); 21] = [
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
];

/// True for a format character (Unicode category Cf).
fn is_format(c: char) -> bool {
    let c = u32::from(c);
    FORMAT_CHARACTERS
        .iter()
        .any(|&(first, last)| (first..=last).contains(&c))
}

/// The longest user or group id accepted, in bytes (a UPN is at most 113 characters in Entra ID;
/// an object id is 36).
const MAX_ID_LEN: usize = 256;

fn check_id(kind: &'static str, id: &str) -> Result<(), IdError> {
    if id.is_empty() {
        return Err(IdError::Empty {
            kind,
            max: MAX_ID_LEN,
        });
    }
    if id.len() > MAX_ID_LEN {
        return Err(IdError::TooLong {
            kind,
            len: id.len(),
            max: MAX_ID_LEN,
        });
    }
    if id.chars().any(char::is_control) {
        return Err(IdError::ControlCharacter { kind });
    }
    if let Some(c) = id.chars().find(|c| is_format(*c)) {
        return Err(IdError::FormatCharacter {
            kind,
            code_point: u32::from(c),
        });
    }
    Ok(())
}

macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident, $kind:literal) => {
        $(#[$meta])*
        ///
        /// Cloning is cheap: clones share one allocation.
        #[derive(Clone, Eq, PartialOrd, Ord)]
        pub struct $name(Arc<str>);

        impl core::hash::Hash for $name {
            fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
                // The same as the text's hash, so it agrees with `eq` below.
                self.0.hash(state);
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                // Clones share their allocation: compare the pointers first.
                Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
            }
        }

        impl $name {
            /// The longest id accepted, in bytes (a UPN is at most 113 characters in Entra ID;
            /// an object id is 36).
            pub const MAX_LEN: usize = MAX_ID_LEN;

            /// Checks and wraps an identifier: 1 to [`Self::MAX_LEN`] bytes, no control characters
            /// and no invisible format characters (Unicode category Cf).
            ///
            /// Identifiers are compared exactly (case-sensitively); a host that uses UPNs should
            /// normalize them before building ids.
            ///
            /// # Errors
            ///
            /// [`IdError`] when the id is empty, too long, or holds a control or format character.
            pub fn new(id: &str) -> Result<Self, IdError> {
                check_id($kind, id)?;
                Ok(Self(Arc::from(id)))
            }

            /// The identifier as text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), &*self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl core::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

    };
}

string_id!(
    /// A user's identifier (an object id or a UPN such as `user2@contoso.com`).
    UserId,
    "user"
);
string_id!(
    /// A group's identifier.
    GroupId,
    "group"
);

/// A pass's identifier: 128 random bits, shown as a GUID like Microsoft Graph's
/// (`c5dbd20a-8b8f-4791-a23f-488fcbde3b38`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PassId([u8; 16]);

impl PassId {
    /// Wraps raw bytes (for hosts that store ids as 16 bytes).
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The raw bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Draws a fresh random id (a version-4 GUID).
    ///
    /// # Errors
    ///
    /// The RNG's own error when it fails.
    pub fn random<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<Self, R::Error> {
        let mut bytes = [0_u8; 16];
        rng.try_fill_bytes(&mut bytes)?;
        // RFC 9562 version 4, variant 10xx.
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        Ok(Self(bytes))
    }
}

impl fmt::Display for PassId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for PassId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PassId({self})")
    }
}

impl core::str::FromStr for PassId {
    type Err = IdError;

    /// Parses a GUID in either case.
    fn from_str(s: &str) -> Result<Self, IdError> {
        let b = s.as_bytes();
        if b.len() != 36 {
            return Err(IdError::NotAGuid);
        }
        let mut out = [0_u8; 16];
        let mut digits = b
            .iter()
            .enumerate()
            .filter(|&(i, c)| !(matches!(i, 8 | 13 | 18 | 23) && *c == b'-'))
            .map(|(_, c)| c);
        for slot in &mut out {
            let hi = digits
                .next()
                .and_then(|c| hex_value(*c))
                .ok_or(IdError::NotAGuid)?;
            let lo = digits
                .next()
                .and_then(|c| hex_value(*c))
                .ok_or(IdError::NotAGuid)?;
            *slot = (hi << 4) | lo;
        }
        if digits.next().is_some() {
            return Err(IdError::NotAGuid);
        }
        Ok(Self(out))
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c.wrapping_sub(b'0')),
        b'a'..=b'f' => Some(c.wrapping_sub(b'a').wrapping_add(10)),
        b'A'..=b'F' => Some(c.wrapping_sub(b'A').wrapping_add(10)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
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
        assert!(
            UserId::new("user-\u{200A}").is_ok(),
            "a hair space is Zs, not Cf"
        );
        // The table is sorted and its ranges are well formed.
        assert!(FORMAT_CHARACTERS.windows(2).all(|w| w[0].1 < w[1].0));
        assert!(FORMAT_CHARACTERS.iter().all(|(a, b)| a <= b));
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
}
