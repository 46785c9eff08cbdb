//! The service's clocks: the engine's [`Clock`] (injected, so a test can set it) and the wall
//! clock of the service's own timings (request latencies, key refreshes, the `date` of Graph's
//! error bodies).

use std::sync::Arc;
use std::time::Instant;

use temporary_access_pass::{Clock, SystemClock};

/// The clock the service's engine reads: the system's in production, one a test sets.
pub type SharedClock = Arc<dyn Clock>;

/// The system clock, shared.
#[must_use]
pub fn system_clock() -> SharedClock {
    Arc::new(SystemClock::new())
}

/// The wall clock, for the service's own timings (the engine reads its `Clock`).
#[must_use]
#[expect(
    clippy::disallowed_methods,
    reason = "the service times requests and key refreshes; the engine's time stays injected"
)]
pub fn now() -> Instant {
    Instant::now()
}

/// Now, in UTC, for the `date` of Graph's error bodies.
#[must_use]
#[expect(
    clippy::disallowed_methods,
    reason = "the date an error answered, as Graph writes it; the engine's time stays injected"
)]
pub fn utc_now() -> temporary_access_pass::time::UtcDateTime {
    temporary_access_pass::time::UtcDateTime::now()
}
