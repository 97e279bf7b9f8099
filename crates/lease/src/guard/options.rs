//! [`GuardOptions`]: how a lease guard acquires and renews.

use std::time::Duration;

use lease_core::InvalidInput;

use crate::wait::WaitPolicy;

/// How [`LeaseManager::acquire_guard`](crate::LeaseManager::acquire_guard) and
/// [`LeaseManager::with_lease`](crate::LeaseManager::with_lease) acquire a lease and keep it
/// renewed.
///
/// Fields are public to read and set; start from [`GuardOptions::default`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct GuardOptions {
    /// How often the lease is renewed, counted from the last successful acquire or renewal
    /// (from when its request was sent). `None` (the default) renews every third of the lease
    /// duration. It must be above zero, below half the duration, and below the duration minus
    /// the clock skew bound, or the acquire is rejected before any request with
    /// [`InvalidInput::InvalidRenewPeriod`].
    pub renew_every: Option<Duration>,
    /// How to wait when the lease is held by someone else; `None` (the default) makes one
    /// attempt ([`LeaseManager::try_acquire`](crate::LeaseManager::try_acquire)).
    pub wait: Option<WaitPolicy>,
    /// The first delay before a failed renewal is retried; doubled after each further failure.
    /// Default 100 ms.
    pub retry_initial_delay: Duration,
    /// The longest delay between two renewal attempts after failures. Default 1 s. Retries stop
    /// at the lease's safe deadline, whatever the delay.
    pub retry_max_delay: Duration,
}

impl Default for GuardOptions {
    fn default() -> Self {
        Self {
            renew_every: None,
            wait: None,
            retry_initial_delay: Duration::from_millis(100),
            retry_max_delay: Duration::from_secs(1),
        }
    }
}

impl GuardOptions {
    /// Sets [`renew_every`](Self::renew_every).
    #[must_use]
    pub fn renew_every(mut self, period: Duration) -> Self {
        self.renew_every = Some(period);
        self
    }

    /// Sets [`wait`](Self::wait): wait for the lease as `policy` says.
    #[must_use]
    pub fn wait(mut self, policy: WaitPolicy) -> Self {
        self.wait = Some(policy);
        self
    }

    /// Sets [`retry_initial_delay`](Self::retry_initial_delay) and
    /// [`retry_max_delay`](Self::retry_max_delay).
    #[must_use]
    pub fn retry_delays(mut self, initial: Duration, max: Duration) -> Self {
        self.retry_initial_delay = initial;
        self.retry_max_delay = max;
        self
    }

    /// The renew period for a lease of `duration` under the clock skew bound `skew`.
    pub(crate) fn renew_period(
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

    /// The delay before renewal attempt `failures + 1`, after `failures` (at least 1) failed.
    pub(crate) fn retry_delay(&self, failures: u32) -> Duration {
        let factor = 1u32
            .checked_shl(failures.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.retry_initial_delay
            .saturating_mul(factor)
            .min(self.retry_max_delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SKEW: Duration = Duration::from_secs(1);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn default_renew_period_is_a_third_of_the_duration() {
        let options = GuardOptions::default();
        assert_eq!(options.renew_period(ms(30_000), SKEW), Ok(ms(10_000)));
        assert_eq!(options.renew_period(ms(3_000), SKEW), Ok(ms(1_000)));
    }

    #[test]
    fn renew_period_must_be_well_below_the_duration() {
        for (every, duration) in [
            (0, 30_000),
            (15_000, 30_000),
            (20_000, 30_000),
            (30_000, 30_000),
            (1_000, 2_000),
        ] {
            let result = GuardOptions::default()
                .renew_every(ms(every))
                .renew_period(ms(duration), SKEW);
            assert!(
                matches!(result, Err(InvalidInput::InvalidRenewPeriod { .. })),
                "{every} ms of {duration} ms: {result:?}"
            );
        }
        // Below half, but not below the duration minus the skew bound.
        let result = GuardOptions::default()
            .renew_every(ms(1_400))
            .renew_period(ms(3_000), ms(1_700));
        assert!(matches!(
            result,
            Err(InvalidInput::InvalidRenewPeriod { .. })
        ));
        assert_eq!(
            GuardOptions::default()
                .renew_every(ms(14_999))
                .renew_period(ms(30_000), SKEW),
            Ok(ms(14_999))
        );
    }

    #[test]
    fn degenerate_durations_are_reported_as_such() {
        let options = GuardOptions::default();
        assert_eq!(
            options.renew_period(Duration::ZERO, SKEW),
            Err(InvalidInput::ZeroDuration)
        );
        assert_eq!(
            options.renew_period(SKEW, SKEW),
            Err(InvalidInput::DurationNotAboveSkew {
                duration: SKEW,
                max_clock_skew: SKEW
            })
        );
    }

    #[test]
    fn retry_delays_double_up_to_the_cap() {
        let options = GuardOptions::default().retry_delays(ms(100), ms(500));
        let delays: Vec<_> = (1..=5).map(|n| options.retry_delay(n)).collect();
        assert_eq!(delays, [ms(100), ms(200), ms(400), ms(500), ms(500)]);
    }
}
