//! Clocks (SPEC 0.1, 0.2): injected, read once per operation, checked at the edges of time.

use temporary_access_pass::{Clock, ManualClock, SystemClock};
use time::{Duration, UtcDateTime};

use crate::support::CREATED;

#[test]
fn manual_clock_moves_both_ways_and_refuses_to_leave_the_range() {
    let clock = ManualClock::new(CREATED);
    assert_eq!(clock.now(), CREATED);
    assert_eq!(
        clock.advance(Duration::minutes(10)).unwrap(),
        CREATED + Duration::minutes(10)
    );
    assert_eq!(
        clock.advance(Duration::minutes(-20)).unwrap(),
        CREATED - Duration::minutes(10)
    );
    clock.set(UtcDateTime::MAX);
    let err = clock.advance(Duration::nanoseconds(1)).unwrap_err();
    assert_eq!(
        (err.from, err.by),
        (UtcDateTime::MAX, Duration::nanoseconds(1))
    );
    assert_eq!(
        clock.now(),
        UtcDateTime::MAX,
        "a refused move leaves the clock where it was"
    );
    clock.set(UtcDateTime::MIN);
    assert!(clock.advance(Duration::MIN).is_err());
    assert!(err.to_string().contains("leaves the range"));
    // The system clock reads something after the seed's sample date.
    assert!(SystemClock::new().now() > CREATED);
    // A shared reference is a clock too, so an engine can borrow a test's clock.
    fn takes<C: Clock>(c: C) -> UtcDateTime {
        c.now()
    }
    assert_eq!(takes(&clock), UtcDateTime::MIN);
}
