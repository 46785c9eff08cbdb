//! The values the environment writes: sizes (`16KiB`), durations (`10s`) and rates (`10/s`,
//! `1/m`), each parsed exactly or refused with the variable named and what it takes.

use std::num::NonZeroU32;
use std::time::Duration;

use super::StartError;

/// A rate of requests: one more allowed every [`Rate::interval`]. Written `count/unit`, with the
/// unit `s`, `m`, `h` or `d`: `10/s`, `600/m` (the same), `1/m` (one a minute), `100/h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    interval: Duration,
}

impl Rate {
    /// `count` requests a second (at most one a nanosecond).
    #[must_use]
    pub fn per_second(count: NonZeroU32) -> Self {
        Self::new(count, Duration::from_secs(1)).unwrap_or(Self {
            interval: Duration::from_nanos(1),
        })
    }

    /// `count` requests every `period`; `None` when that is more than one a nanosecond, or
    /// the period is zero.
    #[must_use]
    pub fn new(count: NonZeroU32, period: Duration) -> Option<Self> {
        let interval = period.checked_div(count.get())?;
        (!interval.is_zero()).then_some(Self { interval })
    }

    /// The time after which one more request is allowed.
    #[must_use]
    pub const fn interval(self) -> Duration {
        self.interval
    }
}

/// A rate such as `10/s`, `600/m`, `1/m` or `100/h`, kept exactly: `1/m` is one a minute.
pub(super) fn rate_of(name: &str, text: Option<String>, default: Rate) -> Result<Rate, StartError> {
    let Some(text) = text else {
        return Ok(default);
    };
    let parsed = text.split_once('/').and_then(|(count, unit)| {
        let count = NonZeroU32::new(count.trim().parse().ok()?)?;
        let seconds = match unit.trim() {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return None,
        };
        Rate::new(count, Duration::from_secs(seconds))
    });
    parsed.ok_or_else(|| {
        StartError::Environment(format!(
            "{name}={text}: a rate, a whole number of requests per s, m, h or d, such as 10/s, \
             600/m or 1/m (at most 1000000000/s)"
        ))
    })
}

/// A positive duration, as `humantime` writes one: `10s`, `500ms`, `2m`.
pub(super) fn duration_of(
    name: &str,
    text: Option<String>,
    default: Duration,
) -> Result<Duration, StartError> {
    text.map_or(Ok(default), |text| {
        humantime::parse_duration(&text)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                StartError::Environment(format!(
                    "{name}={text}: a positive duration such as 10s, 500ms or 2m"
                ))
            })
    })
}

/// A duration that may be zero (`0s`, or `0`: none), as `humantime` writes one otherwise.
pub(super) fn duration_or_zero_of(
    name: &str,
    text: Option<String>,
    default: Duration,
) -> Result<Duration, StartError> {
    match text.as_deref().map(str::trim) {
        Some("0") => Ok(Duration::ZERO),
        _ => text.map_or(Ok(default), |text| {
            humantime::parse_duration(&text).map_err(|_| {
                StartError::Environment(format!(
                    "{name}={text}: a duration such as 5s, 500ms or 0s (none)"
                ))
            })
        }),
    }
}

/// A size such as `16KiB`, `1MiB` or `4096`.
pub(super) fn size_of(
    name: &str,
    text: Option<String>,
    default: usize,
) -> Result<usize, StartError> {
    let Some(text) = text else {
        return Ok(default);
    };
    let (digits, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text.as_str(), ""), |i| text.split_at(i));
    let factor: usize = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1024,
        "MiB" => 1024 * 1024,
        _ => 0,
    };
    digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            StartError::Environment(format!("{name}={text}: a size such as 16KiB, 1MiB or 4096"))
        })
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;
    use std::time::Duration;

    use super::{Rate, duration_of, duration_or_zero_of, rate_of, size_of};

    #[expect(
        clippy::unnecessary_wraps,
        reason = "the parsers take the variable's Option"
    )]
    fn some(text: &str) -> Option<String> {
        Some(text.to_owned())
    }

    fn interval(text: &str) -> Result<Duration, String> {
        rate_of("R", some(text), Rate::per_second(NonZeroU32::MIN))
            .map(Rate::interval)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn sizes_and_durations_parse_and_refuse_with_the_variable_named() {
        assert_eq!(size_of("TAP_BODY_LIMIT", some("16KiB"), 1).unwrap(), 16384);
        assert_eq!(size_of("TAP_BODY_LIMIT", some("1MiB"), 1).unwrap(), 1 << 20);
        assert_eq!(size_of("TAP_BODY_LIMIT", None, 7).unwrap(), 7);
        let e = size_of("TAP_BODY_LIMIT", some("12 bananas"), 1).unwrap_err();
        assert!(
            e.to_string().starts_with("TAP_BODY_LIMIT=12 bananas:"),
            "{e}"
        );
        assert!(size_of("TAP_BODY_LIMIT", some("0"), 1).is_err());
        assert_eq!(
            duration_of("D", some("250ms"), Duration::ZERO).unwrap(),
            Duration::from_millis(250)
        );
        assert!(duration_of("D", some("0s"), Duration::ZERO).is_err());
        assert!(duration_of("D", some("soon"), Duration::ZERO).is_err());
        let zero = |text: &str| duration_or_zero_of("D", some(text), Duration::MAX);
        assert_eq!(zero("0s").unwrap(), Duration::ZERO);
        assert_eq!(zero("0").unwrap(), Duration::ZERO);
        assert_eq!(zero("5s").unwrap(), Duration::from_secs(5));
        assert!(zero("soon").unwrap_err().to_string().starts_with("D=soon:"));
        assert_eq!(
            duration_or_zero_of("D", None, Duration::from_secs(5)).unwrap(),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn a_rate_keeps_its_unit_exactly() {
        assert_eq!(interval("10/s"), Ok(Duration::from_millis(100)));
        assert_eq!(interval("600/m"), Ok(Duration::from_millis(100)));
        assert_eq!(interval("1/m"), Ok(Duration::from_secs(60)), "not 1/s");
        assert_eq!(interval("5/h"), Ok(Duration::from_secs(720)));
        assert_eq!(interval("2/d"), Ok(Duration::from_secs(43_200)));
        assert_eq!(interval(" 3 / s "), Ok(Duration::from_nanos(333_333_333)));
        assert_eq!(interval("1000000000/s"), Ok(Duration::from_nanos(1)));
        for refused in [
            "0/s",
            "1000000001/s",
            "5/w",
            "5",
            "/s",
            "-1/s",
            "1.5/s",
            "10/sec",
        ] {
            let e = interval(refused).unwrap_err();
            assert!(e.starts_with(&format!("R={refused}: a rate")), "{e}");
        }
        assert_eq!(
            rate_of(
                "R",
                None,
                Rate::per_second(NonZeroU32::MIN.saturating_add(9))
            )
            .unwrap(),
            Rate::per_second(NonZeroU32::MIN.saturating_add(9)),
            "the default when the variable is not set"
        );
    }
}
