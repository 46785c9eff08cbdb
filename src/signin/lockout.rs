//! The guessing limit and its arithmetic (SPEC 6.4, 6.6): how many wrong codes a pass takes,
//! how long it then locks, and how a judged attempt changes the record's counters.

use time::{Duration, UtcDateTime};

use crate::pass::Counters;
use crate::range::OutOfRange;

/// The guessing limit (SPEC 6.4): after `max_attempts` consecutive wrong codes the pass is locked
/// for `base_backoff`, doubling with each further wrong code, never past the pass end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    max_attempts: u32,
    base_backoff: Duration,
}

impl Default for Lockout {
    /// 10 attempts, then a lock starting at one minute.
    fn default() -> Self {
        Self {
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
            base_backoff: Duration::MINUTE,
        }
    }
}

impl Lockout {
    /// The default attempt limit: 10.
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;

    /// A limit of `max_attempts` (1..=1000) consecutive wrong codes and a first lock of
    /// `base_backoff` (one second to one day).
    ///
    /// # Errors
    ///
    /// [`OutOfRange`] for the attempt limit (`"attempt limit"`) or the back-off, counted in
    /// milliseconds (`"base back-off in milliseconds"`, 1,000 to 86,400,000).
    pub fn new(max_attempts: u32, base_backoff: Duration) -> Result<Self, OutOfRange> {
        OutOfRange::check("attempt limit", i64::from(max_attempts), 1, 1000)?;
        let millis = i64::try_from(base_backoff.whole_milliseconds()).unwrap_or(
            if base_backoff.is_negative() {
                i64::MIN
            } else {
                i64::MAX
            },
        );
        OutOfRange::check("base back-off in milliseconds", millis, 1000, 86_400_000)?;
        Ok(Self {
            max_attempts,
            base_backoff,
        })
    }

    /// Consecutive wrong codes allowed before the lock.
    #[must_use]
    pub const fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The first lock's length.
    #[must_use]
    pub const fn base_backoff(&self) -> Duration {
        self.base_backoff
    }
}

/// What a judged sign-in attempt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The right code, on a usable pass.
    Success,
    /// A wrong code, on a usable pass.
    Failure,
    /// The pass was not usable: the code was not judged and nothing changes.
    Unjudged,
}

impl Counters {
    /// The counters after an attempt with `outcome` at `now` on a pass ending at `end`
    /// (SPEC 5.3, 6.4, 6.6). A grant clears the count and the lock and records the use; a wrong
    /// code adds one consecutive failure and, from the limit on, locks the pass for
    /// `base * 2^(failures - limit)`, never past its end and never ending before a lock already
    /// stored. The failure is dated no earlier than the latest one stored and the use no earlier
    /// than the last, so a clock that is behind cannot shorten a lock set by another instance.
    ///
    /// Both outcomes are computed every time and one is kept, so the work does not depend on
    /// whether the code was right (SPEC 6.2).
    pub(crate) fn after(
        self,
        outcome: Outcome,
        now: UtcDateTime,
        lockout: &Lockout,
        end: UtcDateTime,
    ) -> Self {
        let success = Self {
            used_at: Some(self.used_at.map_or(now, |used| used.max(now))),
            failed_attempts: 0,
            locked_until: None,
            last_failure: self.last_failure,
        };
        let at = self.last_failure.map_or(now, |last| last.max(now));
        let failures = self.failed_attempts.saturating_add(1);
        let locked_until = failures
            .checked_sub(lockout.max_attempts())
            .map(|beyond| {
                let until = 2_i32
                    .checked_pow(beyond)
                    .and_then(|factor| lockout.base_backoff().checked_mul(factor))
                    .and_then(|backoff| at.checked_add(backoff))
                    .map_or(end, |t| t.min(end));
                self.locked_until.map_or(until, |stored| stored.max(until))
            })
            .or(self.locked_until);
        let failure = Self {
            used_at: self.used_at,
            failed_attempts: failures,
            locked_until,
            last_failure: Some(at),
        };
        match outcome {
            Outcome::Success => success,
            Outcome::Failure => failure,
            Outcome::Unjudged => self,
        }
    }
}
