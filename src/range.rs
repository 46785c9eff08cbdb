//! The one shape of an out-of-range value (SPEC 0.3, 1.3): which field, the value given, and the
//! range allowed.

/// A value outside the range its field allows. Every bounded quantity of the crate refuses
/// out-of-range values with this one error: lifetimes, the passcode length, the attempt limit,
/// the back-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("{field} is {value}: allowed {min}..={max}")]
#[non_exhaustive]
pub struct OutOfRange {
    /// The field, as a host would name it (`"minimum lifetime in minutes"`, `"passcode length"`).
    pub field: &'static str,
    /// The value given.
    pub value: i64,
    /// The smallest value allowed.
    pub min: i64,
    /// The largest value allowed.
    pub max: i64,
}

impl OutOfRange {
    /// Checks `value` against `min..=max` for `field`.
    ///
    /// # Errors
    ///
    /// [`OutOfRange`] naming the field, the value and the range.
    pub(crate) const fn check(
        field: &'static str,
        value: i64,
        min: i64,
        max: i64,
    ) -> Result<i64, Self> {
        if value < min || value > max {
            Err(Self {
                field,
                value,
                min,
                max,
            })
        } else {
            Ok(value)
        }
    }

    /// The same error for another field (a setting named differently where it is read).
    #[must_use]
    pub(crate) const fn for_field(self, field: &'static str) -> Self {
        Self { field, ..self }
    }
}

#[cfg(test)]
mod tests {
    use super::OutOfRange;
    use alloc::string::ToString;

    #[test]
    fn spec_1_3_out_of_range_names_the_field_the_value_and_the_range() {
        assert_eq!(OutOfRange::check("passcode length", 8, 8, 48), Ok(8));
        let err = OutOfRange::check("passcode length", 49, 8, 48).unwrap_err();
        assert_eq!(err.to_string(), "passcode length is 49: allowed 8..=48");
        assert_eq!(
            err.for_field("defaultLength").to_string(),
            "defaultLength is 49: allowed 8..=48"
        );
    }
}
