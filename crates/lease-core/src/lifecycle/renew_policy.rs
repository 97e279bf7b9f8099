//! [`RenewPolicy`]: how often a kept lease is renewed, and how failed renewals are retried.

use std::fmt;
use std::time::Duration;

use super::jitter::Jitter;
use crate::error::InvalidInput;

/// The shortest delay between two renewal attempts after a failure, whatever the policy says:
/// 10 ms.
pub const MIN_RETRY_DELAY: Duration = Duration::from_millis(10);

/// The renew jitter of [`RenewPolicy::default`]: each renewal goes out at a random point of the
/// last fifth of the renew period.
pub const DEFAULT_RENEW_JITTER: f64 = 0.2;

/// The largest renew jitter accepted ([`RenewPolicy::jitter`]): 0.5, renewals anywhere in the
/// second half of the renew period. More would spread renewals little further and send them
/// ever more often (on average every `period × (1 − jitter / 2)`).
pub const MAX_RENEW_JITTER: f64 = 0.5;

/// How a [`Keeper`](super::Keeper) renews its lease: [`RenewPolicy::default`], changed with
/// the setters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RenewPolicy {
    /// How often the lease is renewed, at the latest, counted from when the last successful
    /// acquire or renewal was sent. `None` renews every third of the lease duration. It must
    /// be above zero, below half the duration, and below the duration minus the clock skew
    /// bound ([`renew_period`](Self::renew_period)).
    pub(crate) renew_every: Option<Duration>,
    /// The fraction of the period by which each renewal is brought forward at random, at most
    /// ([`jitter`](Self::jitter)). Default [`DEFAULT_RENEW_JITTER`].
    pub(crate) jitter: Fraction,
    /// A seed for the jitter, for reproducible renewal times in tests; `None` (the default)
    /// lets the caller choose one (the `lease` crate draws one per guard at random).
    pub(crate) jitter_seed: Option<u64>,
    /// The first delay before a failed renewal is retried; doubled after each further failure.
    /// Default 100 ms.
    pub(crate) retry_initial_delay: Duration,
    /// The longest delay between two renewal attempts after failures. Default 1 s. Retries stop
    /// at the lease's safe deadline, whatever the delay.
    pub(crate) retry_max_delay: Duration,
}

/// A fraction as given, compared by its bits, so that a policy holding one is `Eq` (a NaN
/// equals itself; it is rejected when the policy is checked).
#[derive(Clone, Copy)]
pub(crate) struct Fraction(pub(crate) f64);

impl PartialEq for Fraction {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for Fraction {}

impl fmt::Debug for Fraction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl Default for RenewPolicy {
    fn default() -> Self {
        Self {
            renew_every: None,
            jitter: Fraction(DEFAULT_RENEW_JITTER),
            jitter_seed: None,
            retry_initial_delay: Duration::from_millis(100),
            retry_max_delay: Duration::from_secs(1),
        }
    }
}

impl RenewPolicy {
    /// Renews every `period` at the latest (above zero, below half the lease duration, and
    /// below the duration minus the clock skew bound: checked with the duration, before any
    /// request), counted from when the last successful acquire or renewal was sent; the
    /// [jitter](Self::jitter) brings each renewal forward by a random part of the period.
    /// Default: every third of the lease duration.
    #[must_use]
    pub fn renew_every(mut self, period: Duration) -> Self {
        self.renew_every = Some(period);
        self
    }

    /// Spreads renewals in time: each renewal goes out at a random instant between
    /// `period × (1 − fraction)` and `period` after the last successful acquire or renewal was
    /// sent (the [period](Self::renew_every) is the latest, so the lease's safety margins do
    /// not change), drawn afresh for every renewal. Leases acquired at the same instant then
    /// stop renewing at the same instant: a burst of them does not send a burst of renewals
    /// every period forever.
    ///
    /// `fraction` is a share of the renew period (no unit), from 0 to [`MAX_RENEW_JITTER`]
    /// (0.5); 0 turns the jitter off (every renewal exactly one period after the last).
    /// Default [`DEFAULT_RENEW_JITTER`] (0.2: renewals in the last fifth of the period). The
    /// cost: renewals go out on average every `period × (1 − fraction / 2)`, so 0.2 sends 11%
    /// more renewals than no jitter. A NaN, an infinity or a value outside that range is
    /// rejected with the duration, before any request
    /// ([`InvalidInput::InvalidRenewJitter`]).
    #[must_use]
    pub fn jitter(mut self, fraction: f64) -> Self {
        self.jitter = Fraction(fraction);
        self
    }

    /// A seed for the [jitter](Self::jitter), for reproducible renewal times in tests: the same
    /// seed and the same answers give the same renewal instants. By default the caller chooses
    /// one for each kept lease (the `lease` crate draws it at random). Leases kept with the same
    /// seed and acquired at the same instant renew together: give each its own.
    #[must_use]
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
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

    /// The renew period for a lease of `duration` under the clock skew bound `skew`: the
    /// longest a renewal waits (the [jitter](Self::jitter) only brings renewals forward). Also
    /// checks the jitter.
    ///
    /// # Errors
    /// [`InvalidInput::ZeroDuration`], [`InvalidInput::DurationNotAboveSkew`],
    /// [`InvalidInput::InvalidRenewPeriod`] when the period is zero, not below half the
    /// duration, or not below the duration minus the skew bound (the first renewal would not go
    /// out before the local safe deadline), or [`InvalidInput::InvalidRenewJitter`] when the
    /// jitter is not a number from 0 to [`MAX_RENEW_JITTER`].
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
        if !(0.0..=MAX_RENEW_JITTER).contains(&self.jitter.0) {
            return Err(InvalidInput::InvalidRenewJitter);
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

    /// The seed the jitter uses: the policy's own, if it has one, else `seed`.
    pub(crate) fn seed_or(&self, seed: u64) -> u64 {
        self.jitter_seed.unwrap_or(seed)
    }

    /// The wait before the next renewal: `period` brought forward by a random fraction of at
    /// most the jitter: in `(period × (1 − jitter), period]`, never longer than `period`. A
    /// jitter that [`renew_period`](Self::renew_period) would reject counts as 0.
    pub(crate) fn jittered(&self, period: Duration, jitter: &mut Jitter) -> Duration {
        let fraction = self.jitter.0;
        let usable = fraction > 0.0 && fraction <= MAX_RENEW_JITTER;
        if !usable {
            return period;
        }
        // `fraction × draw` is in [0, 0.5): the cut is at most half the period, so neither the
        // product nor the difference can overflow or go below zero.
        let cut = period.mul_f64(fraction * jitter.fraction());
        period.saturating_sub(cut).min(period)
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
    fn the_jitter_must_be_a_fraction_from_zero_to_the_maximum() {
        for fraction in [0.0, 0.2, MAX_RENEW_JITTER, -0.0] {
            let policy = RenewPolicy::default().jitter(fraction);
            assert_eq!(
                policy.renew_period(ms(30_000), SKEW),
                Ok(ms(10_000)),
                "{fraction}"
            );
        }
        for fraction in [
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.1,
            0.500_000_1,
            1.0,
        ] {
            let policy = RenewPolicy::default().jitter(fraction);
            assert_eq!(
                policy.renew_period(ms(30_000), SKEW),
                Err(InvalidInput::InvalidRenewJitter),
                "{fraction}"
            );
        }
        // The jitter is checked whatever the period.
        let policy = every(1_000).jitter(f64::NAN);
        assert_eq!(
            policy.renew_period(ms(30_000), SKEW),
            Err(InvalidInput::InvalidRenewJitter)
        );
    }

    #[test]
    fn a_policy_with_a_nan_jitter_equals_itself() {
        let policy = RenewPolicy::default().jitter(f64::NAN);
        assert_eq!(policy, policy);
        assert_ne!(policy, RenewPolicy::default());
        assert_eq!(RenewPolicy::default(), RenewPolicy::default().jitter(0.2));
    }

    #[test]
    fn jittered_periods_are_never_longer_than_the_period_and_spread_over_the_window() {
        let period = ms(10_000);
        let policy = RenewPolicy::default().jitter(0.2);
        let mut jitter = Jitter::new(42);
        let waits: Vec<Duration> = (0..10_000)
            .map(|_| policy.jittered(period, &mut jitter))
            .collect();
        assert!(waits.iter().all(|w| *w <= period && *w > ms(8_000)));
        let below_9s = waits.iter().filter(|w| **w < ms(9_000)).count();
        assert!((4_500..5_500).contains(&below_9s), "{below_9s} below 9 s");
        // At the largest jitter, and at the largest period: never longer.
        let policy = RenewPolicy::default().jitter(MAX_RENEW_JITTER);
        for period in [Duration::from_nanos(1), ms(3), Duration::MAX] {
            for _ in 0..1_000 {
                let wait = policy.jittered(period, &mut jitter);
                assert!(
                    wait <= period && wait >= period / 2,
                    "{wait:?} of {period:?}"
                );
            }
        }
        // Off, or a value the check rejects: exactly the period.
        for fraction in [0.0, f64::NAN, 0.7, -0.2] {
            let policy = RenewPolicy::default().jitter(fraction);
            assert_eq!(policy.jittered(period, &mut jitter), period, "{fraction}");
        }
    }

    #[test]
    fn the_policy_seed_wins_over_the_callers() {
        assert_eq!(RenewPolicy::default().seed_or(7), 7);
        assert_eq!(RenewPolicy::default().jitter_seed(3).seed_or(7), 3);
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
