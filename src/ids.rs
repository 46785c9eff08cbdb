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
        /// Which kind of identifier (`"user"`, `"group"` or `"application"`).
        kind: &'static str,
        /// The largest length allowed, in bytes.
        max: usize,
    },
    /// The identifier was longer than allowed.
    #[error("{kind} id is {len} bytes long: at most {max} are allowed")]
    TooLong {
        /// Which kind of identifier (`"user"`, `"group"` or `"application"`).
        kind: &'static str,
        /// The length given, in bytes.
        len: usize,
        /// The largest length allowed, in bytes.
        max: usize,
    },
    /// The identifier held a control character (a newline, say), which would corrupt logs.
    #[error("{kind} id holds a control character: only printable characters are allowed")]
    ControlCharacter {
        /// Which kind of identifier (`"user"`, `"group"` or `"application"`).
        kind: &'static str,
    },
    /// The identifier was shorter than allowed (a ceremony's id must be unguessable).
    #[error("{kind} id is {len} characters long: at least {min} are required")]
    TooShort {
        /// Which kind of identifier.
        kind: &'static str,
        /// The length given.
        len: usize,
        /// The fewest allowed.
        min: usize,
    },
    /// The text is not a token of the URL-safe base64 alphabet (`A-Z`, `a-z`, `0-9`, `-`, `_`),
    /// as a method's or a ceremony's id must be.
    #[error("{kind} id holds {found:?}: only A-Z, a-z, 0-9, '-' and '_' are allowed")]
    NotAToken {
        /// Which kind of identifier.
        kind: &'static str,
        /// The first character refused.
        found: char,
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
        /// Which kind of identifier (`"user"`, `"group"` or `"application"`).
        kind: &'static str,
        /// The character's code point.
        code_point: u32,
    },
    /// The identifier held a default-ignorable code point (Unicode's
    /// `Default_Ignorable_Code_Point`: a variation selector, a Hangul filler, a combining
    /// grapheme joiner...), which renders as nothing, so two ids that differ by it look alike.
    #[error(
        "{kind} id holds U+{code_point:04X}, a default-ignorable code point that shows as nothing: only visible characters are allowed"
    )]
    DefaultIgnorable {
        /// Which kind of identifier (`"user"`, `"group"` or `"application"`).
        kind: &'static str,
        /// The character's code point.
        code_point: u32,
    },
    /// The identifier held a line or paragraph separator (U+2028, U+2029), a space other than
    /// the ASCII one (a no-break space U+00A0, an ideographic space U+3000...), or the blank
    /// Braille pattern U+2800: each breaks a log line or shows as a plain space.
    #[error(
        "{kind} id holds U+{code_point:04X}, a separator or blank that is not the ASCII space: only visible characters and U+0020 are allowed"
    )]
    Separator {
        /// Which kind of identifier (`"user"`, `"group"` or `"application"`).
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

/// Unicode's `Default_Ignorable_Code_Point` property, as of Unicode 15.1
/// (`DerivedCoreProperties.txt`): inclusive ranges, sorted. Most of category Cf is in it too;
/// those are refused as format characters first.
const DEFAULT_IGNORABLE: [(u32, u32); 17] = [
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
];

/// Separators and blanks other than the ASCII space, as of Unicode 15.1: category Zs less
/// U+0020, Zl (U+2028), Zp (U+2029), and U+2800 BRAILLE PATTERN BLANK, a symbol that shows as
/// a space. Inclusive ranges, sorted.
const SEPARATORS: [(u32, u32); 8] = [
    (0x00A0, 0x00A0),
    (0x1680, 0x1680),
    (0x2000, 0x200A),
    (0x2028, 0x2029),
    (0x202F, 0x202F),
    (0x205F, 0x205F),
    (0x2800, 0x2800),
    (0x3000, 0x3000),
];

fn in_table(table: &[(u32, u32)], c: char) -> bool {
    let c = u32::from(c);
    table
        .iter()
        .any(|&(first, last)| (first..=last).contains(&c))
}

/// True for a format character (Unicode category Cf).
fn is_format(c: char) -> bool {
    in_table(&FORMAT_CHARACTERS, c)
}

/// Why `c` may not stand in an id, if it may not: a control, a format character, a
/// default-ignorable code point, or a separator or blank other than the ASCII space.
fn refused(kind: &'static str, c: char) -> Option<IdError> {
    let code_point = u32::from(c);
    if c.is_control() {
        Some(IdError::ControlCharacter { kind })
    } else if is_format(c) {
        Some(IdError::FormatCharacter { kind, code_point })
    } else if in_table(&DEFAULT_IGNORABLE, c) {
        Some(IdError::DefaultIgnorable { kind, code_point })
    } else if in_table(&SEPARATORS, c) {
        Some(IdError::Separator { kind, code_point })
    } else {
        None
    }
}

/// The longest user or group id accepted, in bytes (a UPN is at most 113 characters in Entra ID;
/// an object id is 36).
const MAX_ID_LEN: usize = 256;

fn check_id(kind: &'static str, id: &str) -> Result<(), IdError> {
    check_text(kind, id, MAX_ID_LEN)
}

/// Checks a name or an id of `kind`: 1 to `max` bytes, none of the characters refused in ids.
pub(crate) fn check_text(kind: &'static str, id: &str, max: usize) -> Result<(), IdError> {
    if id.is_empty() {
        return Err(IdError::Empty { kind, max });
    }
    if id.len() > max {
        return Err(IdError::TooLong {
            kind,
            len: id.len(),
            max,
        });
    }
    // A control character anywhere is named first, as it always was; then the first other
    // character refused.
    if id.chars().any(char::is_control) {
        return Err(IdError::ControlCharacter { kind });
    }
    id.chars()
        .find_map(|c| refused(kind, c))
        .map_or(Ok(()), Err)
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

            /// Checks and wraps an identifier: 1 to [`Self::MAX_LEN`] bytes, no control characters,
            /// no invisible format characters (Unicode category Cf), no default-ignorable code
            /// points, and no separators or blanks but the ASCII space: nothing that breaks a
            /// log line or lets two ids that differ look alike.
            ///
            /// Identifiers are compared exactly (case-sensitively); a host that uses UPNs should
            /// normalize them before building ids.
            ///
            /// # Errors
            ///
            /// [`IdError`] when the id is empty, too long, or holds a character refused above,
            /// naming it.
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
string_id!(
    /// An application's identifier: the `appId` (client id) Entra gives its registration, the
    /// same in every tenant, which an app-only token names in `azp` or `appid` (SPEC 3.7).
    AppId,
    "application"
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
mod tests;
