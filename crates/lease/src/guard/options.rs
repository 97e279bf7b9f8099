//! [`GuardOptions`]: how a lease guard acquires and renews.

use std::time::Duration;

use lease_core::RenewPolicy;

use lease_core::WaitPolicy;

/// How [`LeaseManager::acquire_guard`](crate::LeaseManager::acquire_guard) and
/// [`LeaseManager::with_lease`](crate::LeaseManager::with_lease) acquire a lease and keep it
/// renewed: [`GuardOptions::default`] (one attempt, renewal every third of the lease), changed
/// with the setters.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct GuardOptions {
    /// How the lease is renewed.
    pub(crate) renew: RenewPolicy,
    /// How to wait when the lease is held by someone else; `None`: one attempt.
    pub(crate) wait: Option<WaitPolicy>,
}

impl GuardOptions {
    /// Renews the lease every `period`, counted from the last successful acquire or renewal
    /// (from when its request was sent). By default every third of the lease duration. It must
    /// be above zero, below half the duration, and below the duration minus the clock skew
    /// bound, or the acquire is rejected before any request with
    /// [`InvalidInput::InvalidRenewPeriod`](crate::error::InvalidInput::InvalidRenewPeriod).
    #[must_use]
    pub fn renew_every(mut self, period: Duration) -> Self {
        self.renew = self.renew.renew_every(period);
        self
    }

    /// Waits for the lease as `policy` says when someone else holds it
    /// ([`LeaseManager::acquire`](crate::LeaseManager::acquire)). By default one attempt is
    /// made ([`LeaseManager::try_acquire`](crate::LeaseManager::try_acquire)).
    #[must_use]
    pub fn wait(mut self, policy: WaitPolicy) -> Self {
        self.wait = Some(policy);
        self
    }

    /// Retries a failed renewal after `initial`, doubled after each further failure up to
    /// `max` (defaults 100 ms and 1 s; never below 10 ms, and never past the lease's safe
    /// deadline).
    #[must_use]
    pub fn retry_delays(mut self, initial: Duration, max: Duration) -> Self {
        self.renew = self.renew.retry_delays(initial, max);
        self
    }

    /// The renewal part of these options, for the keeper.
    pub(crate) fn renew_policy(&self) -> RenewPolicy {
        self.renew
    }
}
