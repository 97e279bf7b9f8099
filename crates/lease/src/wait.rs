//! Waiting for a held lease: [`WaitPolicy`] and the waiting acquire.

use std::time::Duration;

use lease_core::{Holder, Lease, LeaseError, LeaseKey};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use time::OffsetDateTime;
use tokio::time::Instant;
use tracing::{Instrument, debug, debug_span};

use crate::manager::LeaseManager;
use crate::store::Store;

/// The shortest delay between two polls, whatever the policy says: 10 ms, so that a policy
/// with zero delays cannot busy-poll a (billed) table.
pub const MIN_POLL_DELAY: Duration = Duration::from_millis(10);

/// How [`LeaseManager::acquire_waiting`] waits for a lease that another holder has.
///
/// After an attempt finds the lease held, the next attempt is made
/// - when the holder's lease expires, if the store said when (the holder's known expiry) and
///   that is at most [`max_delay`](Self::max_delay) away: no request is sent before the lease
///   can be taken over, except
/// - every `max_delay` (shortened by [`jitter`](Self::jitter)) while the expiry is further
///   away, to notice an early release: `max_delay` bounds how late a release is noticed;
/// - after a delay that starts at [`initial_delay`](Self::initial_delay) and doubles up to
///   `max_delay` (with jitter), when the holder's expiry is not known or an attempt failed
///   with a transient store error (throttling, a timeout, an unavailable store, after the
///   manager's own retries).
///
/// Polls are never closer than [`MIN_POLL_DELAY`].
///
/// The wait ends with the lease, with [`LeaseError::WaitTimedOut`] (or the last transient
/// store error) when the [`timeout`](Self::timeout) has passed (one last attempt is made at
/// the deadline, so the wait can overrun the timeout by one request, which the store bounds:
/// `DynamoDbStore`'s request timeout), or at once with any other error. Dropping the future ends the wait at once,
/// and no further request is sent.
///
/// Fields are public to read and set; start from [`with_timeout`](Self::with_timeout) or
/// [`without_timeout`](Self::without_timeout).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct WaitPolicy {
    /// How long to wait in all, from the first attempt; `None` waits until the lease is
    /// acquired or the future is dropped.
    pub timeout: Option<Duration>,
    /// The first delay after a failed attempt when the holder's expiry is unknown. Default
    /// 50 ms.
    pub initial_delay: Duration,
    /// The longest delay between two attempts. Default 1 s.
    pub max_delay: Duration,
    /// The fraction (0 to 1) by which a delay between polls is shortened at random, so that
    /// waiters spread out. A wait for a known expiry is never shortened. Default 0.2.
    pub jitter: f64,
    /// A seed for the jitter's generator, for reproducible delays in tests; `None` (the
    /// default) seeds it from the operating system.
    pub jitter_seed: Option<u64>,
}

impl WaitPolicy {
    /// Waits at most `timeout`, with the default delays.
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

    /// Waits until the lease is acquired or the future is dropped, with the default delays.
    #[must_use]
    pub fn without_timeout() -> Self {
        Self {
            timeout: None,
            ..Self::with_timeout(Duration::ZERO)
        }
    }

    /// Sets [`initial_delay`](Self::initial_delay).
    #[must_use]
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// Sets [`max_delay`](Self::max_delay).
    #[must_use]
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Sets [`jitter`](Self::jitter) (clamped to 0..=1; NaN is 0).
    #[must_use]
    pub fn jitter(mut self, fraction: f64) -> Self {
        self.jitter = fraction;
        self
    }

    /// Sets [`jitter_seed`](Self::jitter_seed).
    #[must_use]
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }

    fn rng(&self) -> Xoshiro256PlusPlus {
        match self.jitter_seed {
            Some(seed) => Xoshiro256PlusPlus::seed_from_u64(seed),
            None => rand::make_rng(),
        }
    }

    /// `delay` shortened by a random fraction of at most `jitter`, and never below
    /// [`MIN_POLL_DELAY`].
    fn jittered(&self, delay: Duration, rng: &mut Xoshiro256PlusPlus) -> Duration {
        let fraction = if self.jitter.is_nan() {
            0.0
        } else {
            self.jitter.clamp(0.0, 1.0)
        };
        delay
            .mul_f64(1.0 - fraction * rng.random::<f64>())
            .max(MIN_POLL_DELAY)
    }

    /// The delay before the next attempt, after `polls` delays without a known expiry.
    fn backoff(&self, polls: u32, rng: &mut Xoshiro256PlusPlus) -> Duration {
        let factor = 1u32.checked_shl(polls).unwrap_or(u32::MAX);
        let delay = self
            .initial_delay
            .saturating_mul(factor)
            .min(self.max_delay);
        self.jittered(delay, rng)
    }
}

/// Why the last attempt did not acquire the lease.
enum Blocked {
    Held(Holder),
    Failed(LeaseError),
}

/// [`LeaseManager::acquire_waiting`]: attempts with [`LeaseManager::try_acquire`] until the
/// lease is acquired, a hard error, or the policy's timeout.
pub(crate) async fn acquire_waiting<S: Store>(
    manager: &LeaseManager<S>,
    key: LeaseKey,
    duration: Duration,
    policy: &WaitPolicy,
) -> Result<Lease, LeaseError> {
    let span = debug_span!("lease_wait", key = %key, timeout = ?policy.timeout);
    wait(manager, key, duration, policy).instrument(span).await
}

async fn wait<S: Store>(
    manager: &LeaseManager<S>,
    key: LeaseKey,
    duration: Duration,
    policy: &WaitPolicy,
) -> Result<Lease, LeaseError> {
    let deadline = policy
        .timeout
        .and_then(|timeout| Instant::now().checked_add(timeout));
    let mut rng = policy.rng();
    let mut polls = 0;
    loop {
        let blocked = match manager.try_acquire(key.clone(), duration).await {
            Ok(lease) => return Ok(lease),
            Err(LeaseError::Held { holder, .. }) => Blocked::Held(holder),
            Err(e) if may_pass(&e) => Blocked::Failed(e),
            Err(e) => return Err(e),
        };
        let delay = match &blocked {
            Blocked::Held(holder) => match until_expiry(holder, manager.clock().now()) {
                Some(until) if until <= policy.max_delay => until,
                Some(_) => policy.jittered(policy.max_delay, &mut rng),
                None => {
                    polls += 1;
                    policy.backoff(polls - 1, &mut rng)
                }
            },
            Blocked::Failed(_) => {
                polls += 1;
                policy.backoff(polls - 1, &mut rng)
            }
        };
        match &blocked {
            Blocked::Held(holder) => {
                debug!(key = %key, holder_fence = ?fence_of(holder), ?delay, "lease contended; waiting");
            }
            Blocked::Failed(e) => debug!(key = %key, error = %e, ?delay, "acquire failed; waiting"),
        }
        let now = Instant::now();
        let wake = now.checked_add(delay).unwrap_or(now);
        match deadline {
            Some(deadline) if now >= deadline => {
                return Err(match blocked {
                    Blocked::Held(holder) => LeaseError::WaitTimedOut { key, holder },
                    Blocked::Failed(e) => e,
                });
            }
            Some(deadline) => tokio::time::sleep_until(wake.min(deadline)).await,
            None => tokio::time::sleep_until(wake).await,
        }
    }
}

/// Errors a waiting acquire waits through: the store failed in a way that may pass (the
/// manager already retried, and cleaned up after an unknown outcome).
fn may_pass(error: &LeaseError) -> bool {
    match error {
        LeaseError::OutcomeUnknown { .. } | LeaseError::Lapsed { .. } => true,
        LeaseError::Store { source, .. } => source.kind().is_transient(),
        _ => false,
    }
}

/// How long until the holder's lease expires by `now`, if the holder and a future expiry are
/// known.
fn until_expiry(holder: &Holder, now: OffsetDateTime) -> Option<Duration> {
    let Holder::Known(info) = holder else {
        return None;
    };
    if info.released {
        return None;
    }
    let until = Duration::try_from(info.expires_at - now).ok()?;
    (!until.is_zero()).then_some(until)
}

fn fence_of(holder: &Holder) -> Option<u64> {
    match holder {
        Holder::Known(info) => info.fence.map(lease_core::FencingToken::get),
        _ => None,
    }
}
