//! A pass lifetime: whole minutes, 10 minutes to 30 days (SPEC 1.3).

use core::fmt;

use time::Duration;

use crate::range::OutOfRange;

/// A pass lifetime in whole minutes, always within [`Lifetime::MIN`]`..=`[`Lifetime::MAX`]
/// (10 minutes to 30 days, SPEC 1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lifetime(u32);

impl Lifetime {
    /// The shortest lifetime any policy allows: 10 minutes.
    pub const MIN: Self = Self(10);
    /// The longest lifetime any policy allows: 43,200 minutes (30 days).
    pub const MAX: Self = Self(43_200);
    /// One hour: the seed's default for the policy minimum and default lifetime.
    pub const ONE_HOUR: Self = Self(60);
    /// Eight hours: the maximum that later versions of the product default to.
    pub const EIGHT_HOURS: Self = Self(480);
    /// 24 hours: the seed's default policy maximum.
    pub const ONE_DAY: Self = Self(1440);

    /// A lifetime of `minutes`, checked against 10..=43200.
    ///
    /// # Errors
    ///
    /// [`OutOfRange`] naming the value and the allowed range.
    pub fn from_minutes(minutes: u32) -> Result<Self, OutOfRange> {
        OutOfRange::check(
            "lifetime in minutes",
            i64::from(minutes),
            i64::from(Self::MIN.0),
            i64::from(Self::MAX.0),
        )
        .map(|_| Self(minutes))
    }

    /// The lifetime in minutes.
    #[must_use]
    pub const fn minutes(self) -> u32 {
        self.0
    }

    /// The lifetime as a duration.
    #[must_use]
    pub fn duration(self) -> Duration {
        Duration::minutes(i64::from(self.0))
    }
}

impl fmt::Display for Lifetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} minutes", self.0)
    }
}
