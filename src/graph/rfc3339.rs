//! RFC 3339 for [`UtcDateTime`] (SPEC 7.3): any offset in, UTC out, at most 7 fractional digits.
//!
//! Graph keeps times to 100 ns and writes at most 7 fractional digits; strict .NET parsers
//! refuse more. Output is truncated to 100 ns, so it has at most 7 digits (none for a whole
//! second) and always ends in `Z`; input with any number of digits and any offset is read
//! exactly and normalized to UTC.

use alloc::string::String;

use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serializer};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcDateTime};

/// Why a time could not be read or written as RFC 3339.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rfc3339Error {
    /// The text is not an RFC 3339 date-time (`2021-03-11T06:00:00Z`, any offset, any number of
    /// fractional digits).
    #[error("{text:?} is not an RFC 3339 date-time: {reason}")]
    NotRfc3339 {
        /// The text given.
        text: String,
        /// What `time`'s parser objected to.
        reason: time::error::Parse,
    },
    /// The instant is valid with its offset but out of `time`'s range once converted to UTC.
    #[error("{text:?} is out of range once converted to UTC")]
    OutOfRange {
        /// The text given.
        text: String,
    },
    /// RFC 3339 has four-digit years: years before 0000 or after 9999 can't be written.
    #[error("{at} can't be written as RFC 3339: years 0000..=9999 only")]
    Unwritable {
        /// The time that was to be written.
        at: UtcDateTime,
    },
}

/// Parses an RFC 3339 time with any offset and normalizes it to UTC.
///
/// # Errors
///
/// [`Rfc3339Error::NotRfc3339`] when the text is not RFC 3339, [`Rfc3339Error::OutOfRange`]
/// when its instant is not representable in UTC.
pub fn parse(text: &str) -> Result<UtcDateTime, Rfc3339Error> {
    let parsed =
        OffsetDateTime::parse(text, &Rfc3339).map_err(|reason| Rfc3339Error::NotRfc3339 {
            text: text.into(),
            reason,
        })?;
    parsed
        .checked_to_utc()
        .ok_or_else(|| Rfc3339Error::OutOfRange { text: text.into() })
}

/// Formats `t` as Graph does: UTC with `Z`, truncated to 100 ns (at most 7 fractional digits).
///
/// # Errors
///
/// [`Rfc3339Error::Unwritable`] for a year beyond what RFC 3339 can write (after 9999).
pub fn format(t: UtcDateTime) -> Result<String, Rfc3339Error> {
    let nanos = t.nanosecond();
    t.replace_nanosecond(nanos.saturating_sub(nanos % 100))
        .ok()
        .and_then(|truncated| truncated.format(&Rfc3339).ok())
        .ok_or(Rfc3339Error::Unwritable { at: t })
}

/// Serializes as RFC 3339 in UTC (`...Z`), at most 7 fractional digits.
///
/// # Errors
///
/// The serializer's error, or a formatting error for years beyond 9999.
pub fn serialize<S: Serializer>(t: &UtcDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(*t).map_err(S::Error::custom)?)
}

/// Deserializes RFC 3339 with any offset, normalized to UTC.
///
/// # Errors
///
/// The deserializer's error, or a message naming the bad text.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<UtcDateTime, D::Error> {
    let text = String::deserialize(d)?;
    parse(&text).map_err(D::Error::custom)
}

/// The same for optional times (`null` or absent is `None`).
pub mod option {
    use alloc::string::String;

    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};
    use time::UtcDateTime;

    /// Serializes `Some` as RFC 3339, `None` as null.
    ///
    /// # Errors
    ///
    /// As [`super::serialize`].
    pub fn serialize<S: Serializer>(t: &Option<UtcDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    /// Deserializes null as `None`, text as RFC 3339.
    ///
    /// # Errors
    ///
    /// As [`super::deserialize`].
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<UtcDateTime>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| super::parse(&text).map_err(D::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use time::macros::utc_datetime;

    #[test]
    fn spec_7_3_output_has_at_most_7_fractional_digits_and_ends_in_z() {
        let t = utc_datetime!(2021-03-11 06:00:00.123_456_789);
        assert_eq!(super::format(t).unwrap(), "2021-03-11T06:00:00.1234567Z");
        assert_eq!(
            super::parse("2021-03-11T06:00:00.1234567Z").unwrap(),
            utc_datetime!(2021-03-11 06:00:00.123_456_7)
        );
        assert_eq!(
            super::format(utc_datetime!(2021-03-11 06:00:00)).unwrap(),
            "2021-03-11T06:00:00Z"
        );
        assert_eq!(
            super::format(utc_datetime!(2021-03-11 06:00:00.5)).unwrap(),
            "2021-03-11T06:00:00.5Z"
        );
        assert_eq!(
            super::parse("2021-03-11T08:00:00.123456789+02:00").unwrap(),
            utc_datetime!(2021-03-11 06:00:00.123_456_789),
            "input keeps every digit and any offset"
        );
    }
}
