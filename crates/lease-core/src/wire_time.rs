//! Conversions between wall-clock time and the whole epoch seconds stored in lease items.
//!
//! TableTheory stores `lease_expires_at` and `ttl` as whole epoch seconds (DynamoDB `N`). Go's
//! port floors `now + duration`, which can shorten a lease by up to a second, or make a
//! sub-second lease already expired (seed-spec W1). Here the expiry is rounded **up**, so a lease
//! is never shorter than asked; `:now` in conditions is floored, which is exact for the
//! comparisons used (`exp <= now` and `exp > now` with a whole-second `exp`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const NANOS_PER_SECOND: i128 = 1_000_000_000;

/// Whole epoch seconds of `now`, rounded down: the `:now` of conditions (saturating at the
/// ends of `i64`).
#[must_use]
pub fn epoch_seconds_floor(now: SystemTime) -> i64 {
    ExpiryUnit::Seconds.floor(now)
}

/// Whole epoch seconds of `now + duration`, rounded up: the stored expiry. `None` if the sum is
/// outside the range of [`SystemTime`] or of `i64` seconds.
#[must_use]
pub fn expiry_epoch_seconds(now: SystemTime, duration: Duration) -> Option<i64> {
    ExpiryUnit::Seconds.ceil(now.checked_add(duration)?)
}

/// Whole seconds of `duration`, rounded up (the TTL buffer is written so).
#[must_use]
pub fn seconds_ceil(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

/// The unit of the stored expiry (`lease_expires_at`) and of `:now` in conditions.
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
    /// `t` in this unit since the epoch, rounded down: the `:now` of conditions (saturating at
    /// the ends of `i64`).
    #[must_use]
    pub fn floor(self, t: SystemTime) -> i64 {
        let (secs, nanos) = split(t);
        match self {
            Self::Seconds => secs,
            Self::Milliseconds => secs
                .saturating_mul(1000)
                .saturating_add(i64::from(nanos / 1_000_000)),
        }
    }

    /// `t` in this unit since the epoch, rounded up: a stored expiry. `None` beyond the range
    /// of `i64`.
    #[must_use]
    pub fn ceil(self, t: SystemTime) -> Option<i64> {
        // Whole seconds and the nanoseconds past them, without 128-bit division (this runs
        // on every request).
        let (secs, nanos) = split(t);
        match self {
            Self::Seconds => secs.checked_add(i64::from(nanos > 0)),
            Self::Milliseconds => secs
                .checked_mul(1000)?
                .checked_add(i64::from(nanos / 1_000_000))?
                .checked_add(i64::from(nanos % 1_000_000 > 0)),
        }
    }

    /// The time `value` units after the epoch (before it, when negative); `None` outside the
    /// range of [`SystemTime`].
    #[must_use]
    pub fn to_time(self, value: i64) -> Option<SystemTime> {
        let magnitude = value.unsigned_abs();
        let offset = match self {
            Self::Seconds => Duration::from_secs(magnitude),
            Self::Milliseconds => Duration::from_millis(magnitude),
        };
        if value >= 0 {
            UNIX_EPOCH.checked_add(offset)
        } else {
            UNIX_EPOCH.checked_sub(offset)
        }
    }

    /// `"seconds"` or `"milliseconds"`, for messages.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Seconds => "seconds",
            Self::Milliseconds => "milliseconds",
        }
    }
}

/// The time `secs` whole seconds after the epoch (before it, when negative); `None` outside
/// the range of [`SystemTime`].
#[must_use]
pub fn from_epoch_seconds(secs: i64) -> Option<SystemTime> {
    ExpiryUnit::Seconds.to_time(secs)
}

/// Nanoseconds from the epoch to `t` (negative before it; saturating at the ends of `i128`).
#[must_use]
pub fn epoch_nanos(t: SystemTime) -> i128 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(after) => i128::try_from(after.as_nanos()).unwrap_or(i128::MAX),
        Err(before) => i128::try_from(before.duration().as_nanos()).map_or(i128::MIN, |n| -n),
    }
}

/// The time `nanos` nanoseconds from the epoch (before it, when negative); `None` outside the
/// range of [`SystemTime`].
#[must_use]
pub fn from_epoch_nanos(nanos: i128) -> Option<SystemTime> {
    let magnitude = nanos.unsigned_abs();
    let secs = u64::try_from(magnitude / NANOS_PER_SECOND.unsigned_abs()).ok()?;
    let subsec = u32::try_from(magnitude % NANOS_PER_SECOND.unsigned_abs()).ok()?;
    let offset = Duration::new(secs, subsec);
    if nanos >= 0 {
        UNIX_EPOCH.checked_add(offset)
    } else {
        UNIX_EPOCH.checked_sub(offset)
    }
}

/// `t` as whole seconds from the epoch, rounded down, and the nanoseconds past them
/// (`0..1_000_000_000`); the seconds saturate at the ends of `i64`.
fn split(t: SystemTime) -> (i64, u32) {
    match t.duration_since(UNIX_EPOCH) {
        Ok(after) => (
            i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
            after.subsec_nanos(),
        ),
        Err(before) => {
            let before = before.duration();
            let secs = i64::try_from(before.as_secs()).map_or(i64::MIN, |s| -s);
            match before.subsec_nanos() {
                0 => (secs, 0),
                nanos => (secs.saturating_sub(1), 1_000_000_000 - nanos),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> SystemTime {
        from_epoch_nanos(i128::from(ms) * 1_000_000).unwrap()
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
        let t = from_epoch_nanos(1_000_000_000_000_500_000).unwrap();
        assert_eq!(unit.floor(t), 1_000_000_000_000);
        assert_eq!(unit.ceil(t), Some(1_000_000_000_001));
        assert_eq!(unit.ceil(at(1_000_200)), Some(1_000_200));
        assert_eq!(unit.to_time(1_000_200), Some(at(1_000_200)));
        let before_epoch = from_epoch_nanos(-1_500_000).unwrap();
        assert_eq!(unit.floor(before_epoch), -2);
        assert_eq!(unit.ceil(before_epoch), Some(-1));
    }

    /// The whole-unit arithmetic (no 128-bit division) agrees with the plain definition on
    /// nanoseconds, before and after the epoch and at the unit boundaries.
    #[test]
    fn floor_and_ceil_agree_with_division_of_nanoseconds() {
        let mut samples = vec![0_i128];
        for base in [
            0_i128,
            1_000_000_000,
            1_700_000_000_123_456_789,
            86_400_000_000_000,
        ] {
            for delta in [
                0_i128,
                1,
                999_999,
                1_000_000,
                1_000_001,
                999_999_999,
                1_000_000_000,
            ] {
                samples.extend([base + delta, base - delta, -base + delta, -base - delta]);
            }
        }
        for nanos in samples {
            let t = from_epoch_nanos(nanos).unwrap();
            assert_eq!(epoch_nanos(t), nanos);
            for (unit, per) in [
                (ExpiryUnit::Seconds, 1_000_000_000_i128),
                (ExpiryUnit::Milliseconds, 1_000_000),
            ] {
                let floor = nanos.div_euclid(per);
                let ceil = floor + i128::from(nanos.rem_euclid(per) > 0);
                assert_eq!(
                    i128::from(unit.floor(t)),
                    floor,
                    "{unit:?} floor of {nanos}"
                );
                assert_eq!(
                    unit.ceil(t).map(i128::from),
                    Some(ceil),
                    "{unit:?} ceil of {nanos}"
                );
            }
        }
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
