//! [`RenewPolicy`]: how often a kept lease is renewed, and how failed renewals are retried.

use std::time::Duration;

use crate::error::InvalidInput;

/// The shortest delay between two renewal attempts after a failure, whatever the policy says:
/// 10 ms.
pub const MIN_RETRY_DELAY: Duration = Duration::from_millis(10);

/// How a [`Keeper`](super::Keeper) renews its lease: [`RenewPolicy::default`], changed with
/// the setters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RenewPolicy {
    /// How often the lease is renewed, counted from when the last successful acquire or renewal
    /// was sent. `None` renews every third of the lease duration. It must be above zero, below
    /// half the duration, and below the duration minus the clock skew bound
    /// ([`renew_period`](Self::renew_period)).
    pub(crate) renew_every: Option<Duration>,
    /// The first delay before a failed renewal is retried; doubled after each further failure.
    /// Default 100 ms.
    pub(crate) retry_initial_delay: Duration,
    /// The longest delay between two renewal attempts after failures. Default 1 s. Retries stop
    /// at the lease's safe deadline, whatever the delay.
    pub(crate) retry_max_delay: Duration,
}

impl Default for RenewPolicy {
    fn default() -> Self {
        Self {
            renew_every: None,
            retry_initial_delay: Duration::from_millis(100),
            retry_max_delay: Duration::from_secs(1),
        }
    }
}

impl RenewPolicy {
    /// Renews every `period` (above zero, below half the lease duration, and below the
    /// duration minus the clock skew bound: checked with the duration, before any request),
    /// counted from when the last successful acquire or renewal was sent. Default: every third
    /// of the lease duration.
    #[must_use]
    pub fn renew_every(mut self, period: Duration) -> Self {
        self.renew_every = Some(period);
        self
    }

    /// Retries a failed renewal after `initial`, doubled after each further failure up to
    /// `max` (defaults 100 ms and 1 s; never below [`MIN_RETRY_DELAY`], and never past the
    /// lease's safe deadline).
    #[must_use]
    pub fn retry_delays(mut self, initial: Duration, max: Duration) -> Self {
        self.retry_initial_delay = initial;
        self.retry_max_delay = max;
        self
    }

    /// The renew period for a lease of `duration` under the clock skew bound `skew`.
    ///
    /// # Errors
    /// [`InvalidInput::ZeroDuration`], [`InvalidInput::DurationNotAboveSkew`], or
    /// [`InvalidInput::InvalidRenewPeriod`] when the period is zero, not below half the
    /// duration, or not below the duration minus the skew bound (the first renewal would not go
    /// out before the local safe deadline).
    pub fn renew_period(
        &self,
        duration: Duration,
        skew: Duration,
    ) -> Result<Duration, InvalidInput> {
        if duration.is_zero() {
            return Err(InvalidInput::ZeroDuration);
        }
        if duration <= skew {
            return Err(InvalidInput::DurationNotAboveSkew {
                duration,
                max_clock_skew: skew,
            });
        }
        let every = self.renew_every.unwrap_or(duration / 3);
        let well_below =
            !every.is_zero() && every.saturating_mul(2) < duration && every < duration - skew;
        if well_below {
            Ok(every)
        } else {
            Err(InvalidInput::InvalidRenewPeriod {
                renew_every: every,
                duration,
                max_clock_skew: skew,
            })
        }
    }

    /// The delay before renewal attempt `failures + 1`, after `failures` (at least 1) failed:
    /// the initial delay ([`retry_delays`](Self::retry_delays)) doubled per further failure, at
    /// most the maximum delay, and never below [`MIN_RETRY_DELAY`], so
    /// that zero delays cannot make a keeper hammer a failing (and billed) table.
    #[must_use]
    pub fn retry_delay(&self, failures: u32) -> Duration {
        let factor = 1u32
            .checked_shl(failures.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.retry_initial_delay
            .saturating_mul(factor)
            .min(self.retry_max_delay)
            .max(MIN_RETRY_DELAY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SKEW: Duration = Duration::from_secs(1);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn every(period: u64) -> RenewPolicy {
        RenewPolicy {
            renew_every: Some(ms(period)),
            ..RenewPolicy::default()
        }
    }

    #[test]
    fn default_renew_period_is_a_third_of_the_duration() {
        let policy = RenewPolicy::default();
        assert_eq!(policy.renew_period(ms(30_000), SKEW), Ok(ms(10_000)));
        assert_eq!(policy.renew_period(ms(3_000), SKEW), Ok(ms(1_000)));
    }

    #[test]
    fn renew_period_must_be_well_below_the_duration() {
        for (period, duration) in [
            (0, 30_000),
            (15_000, 30_000),
            (20_000, 30_000),
            (30_000, 30_000),
            (1_000, 2_000),
        ] {
            let result = every(period).renew_period(ms(duration), SKEW);
            assert!(
                matches!(result, Err(InvalidInput::InvalidRenewPeriod { .. })),
                "{period} ms of {duration} ms: {result:?}"
            );
        }
        // Below half, but not below the duration minus the skew bound.
        let result = every(1_400).renew_period(ms(3_000), ms(1_700));
        assert!(matches!(
            result,
            Err(InvalidInput::InvalidRenewPeriod { .. })
        ));
        assert_eq!(every(14_999).renew_period(ms(30_000), SKEW), Ok(ms(14_999)));
    }

    #[test]
    fn degenerate_durations_are_reported_as_such() {
        let policy = RenewPolicy::default();
        assert_eq!(
            policy.renew_period(Duration::ZERO, SKEW),
            Err(InvalidInput::ZeroDuration)
        );
        assert_eq!(
            policy.renew_period(SKEW, SKEW),
            Err(InvalidInput::DurationNotAboveSkew {
                duration: SKEW,
                max_clock_skew: SKEW
            })
        );
    }

    #[test]
    fn zero_delays_are_raised_to_the_minimum() {
        let policy = RenewPolicy {
            retry_initial_delay: Duration::ZERO,
            retry_max_delay: Duration::ZERO,
            ..RenewPolicy::default()
        };
        assert_eq!(policy.retry_delay(1), MIN_RETRY_DELAY);
        assert_eq!(policy.retry_delay(30), MIN_RETRY_DELAY);
    }

    #[test]
    fn retry_delays_double_up_to_the_cap() {
        let policy = RenewPolicy {
            retry_initial_delay: ms(100),
            retry_max_delay: ms(500),
            ..RenewPolicy::default()
        };
        let delays: Vec<_> = (1..=5).map(|n| policy.retry_delay(n)).collect();
        assert_eq!(delays, [ms(100), ms(200), ms(400), ms(500), ms(500)]);
    }
}
