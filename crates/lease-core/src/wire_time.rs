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

/// The unit of the stored expiry (`lease_expires_at`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExpiryUnit {
    /// Whole epoch seconds: TableTheory's format, readable by its Go, TypeScript and Python
    /// code. The default.
    #[default]
    Seconds,
    /// Whole epoch milliseconds, for fleets that need sub-second leases. **Not readable by
    /// TableTheory's code** (it would read the value as seconds, far in the future): a table
    /// must not mix units.
    Milliseconds,
}

impl ExpiryUnit {
    /// `t` in this unit since the epoch, rounded down: the `:now` of conditions.
    #[must_use]
    pub fn floor(self, t: OffsetDateTime) -> i64 {
        match self {
            Self::Seconds => t.unix_timestamp(),
            Self::Milliseconds => {
                let ms = t.unix_timestamp_nanos().div_euclid(1_000_000);
                i64::try_from(ms).unwrap_or(if ms < 0 { i64::MIN } else { i64::MAX })
            }
        }
    }

    /// `t` in this unit since the epoch, rounded up: a stored expiry. `None` if out of range.
    #[must_use]
    pub fn ceil(self, t: OffsetDateTime) -> Option<i64> {
        match self {
            Self::Seconds => {
                let secs = t.unix_timestamp();
                if t.nanosecond() > 0 {
                    secs.checked_add(1)
                } else {
                    Some(secs)
                }
            }
            Self::Milliseconds => {
                let nanos = t.unix_timestamp_nanos();
                let ms = nanos.div_euclid(1_000_000) + i128::from(nanos.rem_euclid(1_000_000) > 0);
                i64::try_from(ms).ok()
            }
        }
    }

    /// The instant of a stored value in this unit, `None` if out of range.
    #[must_use]
    pub fn to_time(self, value: i64) -> Option<OffsetDateTime> {
        match self {
            Self::Seconds => OffsetDateTime::from_unix_timestamp(value).ok(),
            Self::Milliseconds => {
                OffsetDateTime::from_unix_timestamp_nanos(i128::from(value) * 1_000_000).ok()
            }
        }
    }

    /// `"seconds"` or `"milliseconds"`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Seconds => "seconds",
            Self::Milliseconds => "milliseconds",
        }
    }
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
    fn milliseconds_round_the_same_way() {
        let unit = ExpiryUnit::Milliseconds;
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_000_000_000_000_500_000).unwrap();
        assert_eq!(unit.floor(t), 1_000_000_000_000);
        assert_eq!(unit.ceil(t), Some(1_000_000_000_001));
        assert_eq!(unit.ceil(at(1_000_200)), Some(1_000_200));
        assert_eq!(unit.to_time(1_000_200), Some(at(1_000_200)));
        let before_epoch = OffsetDateTime::from_unix_timestamp_nanos(-1_500_000).unwrap();
        assert_eq!(unit.floor(before_epoch), -2);
        assert_eq!(unit.ceil(before_epoch), Some(-1));
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
