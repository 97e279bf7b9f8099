//! [`GuardOptions`]: how a lease guard acquires and renews.

use std::time::Duration;

use lease_core::RenewPolicy;

use lease_core::WaitPolicy;

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
    /// [`InvalidInput::InvalidRenewPeriod`](crate::error::InvalidInput::InvalidRenewPeriod).
    pub renew_every: Option<Duration>,
    /// How to wait when the lease is held by someone else; `None` (the default) makes one
    /// attempt ([`LeaseManager::try_acquire`](crate::LeaseManager::try_acquire)).
    pub wait: Option<WaitPolicy>,
    /// The first delay before a failed renewal is retried; doubled after each further failure.
    /// Default 100 ms. Never below 10 ms (`lease_core::lifecycle::MIN_RETRY_DELAY`), whatever
    /// is set.
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

    /// The renewal part of these options, for the keeper.
    pub(crate) fn renew_policy(&self) -> RenewPolicy {
        let mut policy = RenewPolicy::default();
        policy.renew_every = self.renew_every;
        policy.retry_initial_delay = self.retry_initial_delay;
        policy.retry_max_delay = self.retry_max_delay;
        policy
    }
}
