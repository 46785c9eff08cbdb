//! Time, injected (SPEC 0.1, 0.2). The core never reads a clock: it takes `now` as an argument.
//! A driver asks a [`Clock`] once per operation.

use time::UtcDateTime;

/// A source of the current instant.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> UtcDateTime;
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> UtcDateTime {
        (**self).now()
    }
}

/// A clock shared by engines and tasks that own a share of it.
#[cfg(target_has_atomic = "ptr")]
impl<C: Clock + ?Sized> Clock for alloc::sync::Arc<C> {
    fn now(&self) -> UtcDateTime {
        (**self).now()
    }
}

#[cfg(feature = "std")]
pub use std_clocks::{ManualClock, SystemClock};

/// The instant a [`ManualClock`] was asked to reach lies outside `time`'s range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("moving the clock from {from} by {by} leaves the range of representable instants")]
#[non_exhaustive]
pub struct ClockOutOfRange {
    /// Where the clock stood.
    pub from: UtcDateTime,
    /// The move asked for.
    pub by: time::Duration,
}

#[cfg(feature = "std")]
mod std_clocks {
    use std::sync::{Mutex, PoisonError};

    use time::{Duration, UtcDateTime};

    use super::{Clock, ClockOutOfRange};

    /// The operating system's clock, in UTC.
    #[derive(Debug, Clone, Copy, Default)]
    #[non_exhaustive]
    pub struct SystemClock;

    impl SystemClock {
        /// The system clock.
        #[must_use]
        pub const fn new() -> Self {
            Self
        }
    }

    impl Clock for SystemClock {
        #[expect(
            clippy::disallowed_methods,
            reason = "the one place allowed to read the system clock (SPEC 0.2)"
        )]
        fn now(&self) -> UtcDateTime {
            UtcDateTime::now()
        }
    }

    /// A clock that moves only when told to: for tests and downstream harnesses. It can move
    /// backwards, to test that nothing goes wrong when a real clock does.
    #[derive(Debug)]
    pub struct ManualClock(Mutex<UtcDateTime>);

    impl ManualClock {
        /// A clock standing at `at`.
        #[must_use]
        pub const fn new(at: UtcDateTime) -> Self {
            Self(Mutex::new(at))
        }

        /// Moves the clock to `at` (forwards or backwards).
        pub fn set(&self, at: UtcDateTime) {
            *self.0.lock().unwrap_or_else(PoisonError::into_inner) = at;
        }

        /// Moves the clock by `by` (negative moves it backwards) and returns the new instant.
        ///
        /// # Errors
        ///
        /// [`ClockOutOfRange`] when the result is not representable; the clock does not move.
        pub fn advance(&self, by: Duration) -> Result<UtcDateTime, ClockOutOfRange> {
            let mut guard = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            let from = *guard;
            let to = from.checked_add(by).ok_or(ClockOutOfRange { from, by })?;
            *guard = to;
            Ok(to)
        }
    }

    impl Clock for ManualClock {
        fn now(&self) -> UtcDateTime {
            *self.0.lock().unwrap_or_else(PoisonError::into_inner)
        }
    }
}
