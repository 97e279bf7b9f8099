//! Conversions between wall-clock time and the whole epoch seconds stored in lease items.
//!
//! TableTheory stores `lease_expires_at` and `ttl` as whole epoch seconds (DynamoDB `N`). Go's
//! port floors `now + duration`, which can shorten a lease by up to a second, or make a
//! sub-second lease already expired (seed-spec W1). Here the expiry is rounded **up**, so a lease
//! is never shorter than asked; `:now` in conditions is floored, which is exact for the
//! comparisons used (`exp <= now` and `exp > now` with a whole-second `exp`).

use std::time::Duration;

use time::OffsetDateTime;

/// Whole epoch seconds of `now`, rounded down: the `:now` of conditions.
#[must_use]
pub fn epoch_seconds_floor(now: OffsetDateTime) -> i64 {
    now.unix_timestamp()
}

/// Whole epoch seconds of `now + duration`, rounded up: the stored expiry. `None` if the sum is
/// outside the representable range of [`OffsetDateTime`].
#[must_use]
pub fn expiry_epoch_seconds(now: OffsetDateTime, duration: Duration) -> Option<i64> {
    let expiry = now.checked_add(time::Duration::try_from(duration).ok()?)?;
    let secs = expiry.unix_timestamp();
    if expiry.nanosecond() > 0 {
        secs.checked_add(1)
    } else {
        Some(secs)
    }
}

/// `duration` in whole seconds, rounded up.
#[must_use]
pub fn seconds_ceil(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

/// The wall-clock instant of whole epoch seconds, `None` if out of range.
#[must_use]
pub fn from_epoch_seconds(secs: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(secs).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap()
    }

    #[test]
    fn expiry_rounds_up_and_now_rounds_down() {
        // Seed vector X2 (now 1000.2 s, 0.5 s): Go stores 1000 (already expired); we store 1001.
        assert_eq!(
            expiry_epoch_seconds(at(1_000_200), Duration::from_millis(500)),
            Some(1001)
        );
        // X1 (now 1000.7 s, 1.5 s): 1002.2 rounds up to 1003.
        assert_eq!(
            expiry_epoch_seconds(at(1_000_700), Duration::from_millis(1500)),
            Some(1003)
        );
        // Exact seconds stay exact: D1 (now 1000, 30 s) gives 1030.
        assert_eq!(
            expiry_epoch_seconds(at(1_000_000), Duration::from_secs(30)),
            Some(1030)
        );
        assert_eq!(epoch_seconds_floor(at(1_000_999)), 1000);
    }

    #[test]
    fn overflow_is_none() {
        assert_eq!(
            expiry_epoch_seconds(at(0), Duration::from_secs(u64::MAX)),
            None
        );
    }

    #[test]
    fn seconds_ceil_rounds_up_fractions() {
        assert_eq!(seconds_ceil(Duration::from_millis(500)), 1);
        assert_eq!(seconds_ceil(Duration::from_secs(10)), 10);
        assert_eq!(seconds_ceil(Duration::ZERO), 0);
    }
}
