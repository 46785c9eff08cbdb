//! The outbox's numbering: an event's [`Sequence`], and an event as the outbox keeps it
//! ([`Recorded`]) (SPEC 7.1).

use core::fmt;

use crate::event::Event;

/// An event's number in the outbox: numbers grow in commit order and are never reused, also
/// after the events before them were pruned (SPEC 7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Sequence(u64);

impl Sequence {
    /// Before every event: [`Store::read_events`](super::Store::read_events) after it reads from the oldest event kept.
    pub const START: Self = Self(0);

    /// Wraps a sequence number.
    #[must_use]
    pub const fn new(n: u64) -> Self {
        Self(n)
    }

    /// The number.
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The next number (saturating).
    #[must_use]
    pub const fn next(self) -> Self {
        Self(self.0.saturating_add(1))
    }

    /// The number as SQL databases keep it, or `None` beyond `i64::MAX`.
    #[must_use]
    pub fn to_i64(self) -> Option<i64> {
        i64::try_from(self.0).ok()
    }

    /// A number read back from a signed 64-bit column, or `None` for a negative one.
    #[must_use]
    pub fn from_i64(n: i64) -> Option<Self> {
        u64::try_from(n).ok().map(Self)
    }
}

impl fmt::Display for Sequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// An event as the outbox keeps it: its number, in commit order, and the event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Recorded {
    /// Its number.
    pub sequence: Sequence,
    /// The event.
    pub event: Event,
}

impl Recorded {
    /// An event with its number.
    #[must_use]
    pub const fn new(sequence: Sequence, event: Event) -> Self {
        Self { sequence, event }
    }
}
