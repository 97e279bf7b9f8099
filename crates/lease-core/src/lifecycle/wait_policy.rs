//! [`WaitPolicy`]: how a waiting acquire waits for a lease that another holder has.

use std::time::Duration;

use super::jitter::Jitter;

/// The shortest delay between two polls, whatever the policy says: 10 ms, so that a policy
/// with zero delays cannot busy-poll a (billed) table.
pub const MIN_POLL_DELAY: Duration = Duration::from_millis(10);

/// How a waiting acquire ([`WaitOp`](super::WaitOp); the `lease` crate's
/// `LeaseManager::acquire`) waits for a lease that another holder has.
///
/// After an attempt finds the lease held, the next attempt is made
/// - when the holder's lease expires, if the store said when (the holder's known expiry) and
///   that is at most [`max_delay`](Self::max_delay) away: no request is sent before the lease
///   can be taken over, except
/// - every `max_delay` (shortened by [`jitter`](Self::jitter)) while the expiry is further
///   away, to notice an early release: `max_delay` bounds how late a release is noticed;
/// - after a delay that starts at the [initial delay](Self::initial_delay) and doubles up to
///   `max_delay` (with jitter), when the holder's expiry is not known or an attempt failed
///   with a transient store error (a timeout, an unavailable store, after the retry policy's
///   own retries) or was answered too late;
/// - after `max_delay`, doubled after each further throttled attempt in a row up to 8 ·
///   `max_delay` (with jitter), when an attempt was throttled (`ProvisionedThroughputExceeded`,
///   `ThrottlingException`, after the retry policy's own retries): a crowd of waiters backs
///   off from a throttled key instead of starving the holder's renewals (B37).
///
/// Polls are never closer than [`MIN_POLL_DELAY`].
///
/// The wait ends with the lease, with [`LeaseError::WaitTimedOut`](crate::LeaseError::WaitTimedOut)
/// (or the last transient store error) when the [`timeout`](Self::timeout) has passed (one
/// last attempt is made at the deadline, so the wait can overrun the timeout by one request,
/// which the store bounds), or at once with any other error.
///
/// Start from [`with_timeout`](Self::with_timeout) or
/// [`without_timeout`](Self::without_timeout) and change the delays with the setters, as for
/// the other policies (`RetryPolicy`, `RenewPolicy`). A setter takes the name of what it sets,
/// so the delays are not read back by name: a policy shows them with `Debug` and compares
/// with `==`; [`timeout`](Self::timeout), which has no setter, reads the one figure a caller
/// budgets with.
///
/// A policy is a value to keep and reuse: `LeaseManager::acquire` borrows it (one policy for
/// every wait of a service), while `GuardOptions::wait` takes it by value, as every setter of
/// an options builder does (clone the policy to use it again).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct WaitPolicy {
    /// How long to wait in all, from the first attempt; `None` waits until the lease is
    /// acquired or the wait is dropped.
    pub(crate) timeout: Option<Duration>,
    /// The first delay after a failed attempt when the holder's expiry is unknown. Default
    /// 50 ms.
    pub(crate) initial_delay: Duration,
    /// The longest delay between two attempts. Default 1 s.
    pub(crate) max_delay: Duration,
    /// The fraction (0 to 1) by which a delay between polls is shortened at random, so that
    /// waiters spread out. A wait for a known expiry is never shortened. Default 0.2.
    pub(crate) jitter: f64,
    /// A seed for the jitter, for reproducible delays in tests; `None` (the default) lets the
    /// caller choose one at random (the `lease` crate asks the operating system).
    pub(crate) jitter_seed: Option<u64>,
}

impl WaitPolicy {
    /// Waits at most `timeout`, with the default delays.
    ///
    /// `with_timeout(Duration::ZERO)` makes one attempt: a free lease is acquired, and a lease
    /// held by another holder ends the wait at once with
    /// [`LeaseError::WaitTimedOut`](crate::LeaseError::WaitTimedOut) (naming the holder), not
    /// with the [`LeaseError::Held`](crate::LeaseError::Held) of `LeaseManager::try_acquire`,
    /// the one attempt without a wait.
    #[must_use]
    pub fn with_timeout(timeout: Duration) -> Self {
        Self {
            timeout: Some(timeout),
            initial_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(1),
            jitter: 0.2,
            jitter_seed: None,
        }
    }

    /// Waits until the lease is acquired or the wait is dropped, with the default delays.
    #[must_use]
    pub fn without_timeout() -> Self {
        Self {
            timeout: None,
            ..Self::with_timeout(Duration::ZERO)
        }
    }

    /// The first delay after a failed attempt when the holder's expiry is unknown (default
    /// 50 ms); it doubles after each further one, up to the [maximum](Self::max_delay).
    #[must_use]
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// The longest delay between two attempts (default 1 s): also how late, at most, an early
    /// release by the holder is noticed.
    #[must_use]
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The fraction (0 to 1; clamped, NaN is 0) by which a delay between polls is shortened at
    /// random, so that waiters spread out (default 0.2). A wait for a known expiry is never
    /// shortened.
    #[must_use]
    pub fn jitter(mut self, fraction: f64) -> Self {
        self.jitter = fraction;
        self
    }

    /// A seed for the jitter, for reproducible delays in tests. By default the caller chooses
    /// one at random (the `lease` crate asks the operating system).
    #[must_use]
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }

    /// How long the wait may take in all, from the first attempt; `None`: until the lease is
    /// acquired or the wait is dropped.
    #[must_use]
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// `delay` shortened by a random fraction of at most `jitter`, and never below
    /// [`MIN_POLL_DELAY`].
    pub(crate) fn jittered(&self, delay: Duration, jitter: &mut Jitter) -> Duration {
        let fraction = if self.jitter.is_nan() {
            0.0
        } else {
            self.jitter.clamp(0.0, 1.0)
        };
        // `mul_f64` panics when the product rounds above `Duration::MAX` (a delay near the
        // maximum); the product is never above `delay`, so that case keeps `delay`.
        Duration::try_from_secs_f64(delay.as_secs_f64() * (1.0 - fraction * jitter.fraction()))
            .map_or(delay, |shortened| shortened.min(delay))
            .max(MIN_POLL_DELAY)
    }

    /// The delay before the next attempt, after `polls` delays without a known expiry.
    pub(crate) fn backoff(&self, polls: u32, jitter: &mut Jitter) -> Duration {
        let factor = 1u32.checked_shl(polls).unwrap_or(u32::MAX);
        let delay = self
            .initial_delay
            .saturating_mul(factor)
            .min(self.max_delay);
        self.jittered(delay, jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn backoff_doubles_to_the_cap_and_jitter_only_shortens() {
        let policy = WaitPolicy::with_timeout(ms(10_000)).jitter(0.0);
        let mut jitter = Jitter::new(1);
        let delays: Vec<_> = (0..6).map(|n| policy.backoff(n, &mut jitter)).collect();
        assert_eq!(
            delays,
            [ms(50), ms(100), ms(200), ms(400), ms(800), ms(1_000)]
        );
        let policy = policy.jitter(0.5);
        let delays: Vec<_> = (0..1000)
            .map(|_| policy.jittered(ms(1_000), &mut jitter))
            .collect();
        for d in &delays {
            assert!(*d > ms(500) && *d <= ms(1_000), "{d:?}");
        }
        // Spread over the whole range, not piled up at the full delay.
        let full = delays.iter().filter(|d| **d == ms(1_000)).count();
        let lower_half = delays.iter().filter(|d| **d < ms(750)).count();
        assert!(full < 10, "{full} of 1000 not shortened");
        assert!(
            (400..600).contains(&lower_half),
            "{lower_half} of 1000 below 750 ms"
        );
    }

    #[test]
    fn polls_are_never_closer_than_the_minimum() {
        let policy = WaitPolicy::with_timeout(ms(1_000))
            .initial_delay(Duration::ZERO)
            .max_delay(Duration::ZERO)
            .jitter(f64::NAN);
        let mut jitter = Jitter::new(3);
        assert_eq!(policy.backoff(0, &mut jitter), MIN_POLL_DELAY);
        assert_eq!(policy.jittered(Duration::ZERO, &mut jitter), MIN_POLL_DELAY);
    }
}
