//! [`GuardOptions`]: how a lease guard acquires and renews.

use std::time::Duration;

use lease_core::RenewPolicy;

use lease_core::WaitPolicy;

/// How [`LeaseManager::acquire_guard`](crate::LeaseManager::acquire_guard) and
/// [`LeaseManager::with_lease`](crate::LeaseManager::with_lease) acquire a lease and keep it
/// renewed: [`GuardOptions::default`] (one attempt, a renewal every third of the lease at the
/// latest, brought forward at random by up to a fifth of that), changed with the setters.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct GuardOptions {
    /// How the lease is renewed.
    pub(crate) renew: RenewPolicy,
    /// How to wait when the lease is held by someone else; `None`: one attempt.
    pub(crate) wait: Option<WaitPolicy>,
}

impl GuardOptions {
    /// Renews the lease every `period` at the latest, counted from the last successful acquire
    /// or renewal (from when its request was sent); the [jitter](Self::renew_jitter) brings
    /// each renewal forward by a random part of the period, never later. By default every
    /// third of the lease duration. It must be above zero, below half the duration, and below
    /// the duration minus the clock skew bound, or the acquire is rejected before any request
    /// with
    /// [`InvalidInput::InvalidRenewPeriod`](crate::error::InvalidInput::InvalidRenewPeriod).
    #[must_use]
    pub fn renew_every(mut self, period: Duration) -> Self {
        self.renew = self.renew.renew_every(period);
        self
    }

    /// Spreads renewals in time: each renewal goes out at a random instant between
    /// `period × (1 − fraction)` and `period` after the last successful acquire or renewal was
    /// sent, drawn afresh for each renewal, so that guards acquired together (a burst at
    /// start-up) do not send their renewals together every period forever. The
    /// [period](Self::renew_every) stays the latest: the lease's safety margins do not change.
    ///
    /// `fraction` is a share of the renew period (no unit), from 0 to 0.5
    /// ([`MAX_RENEW_JITTER`](crate::config::MAX_RENEW_JITTER)); 0 turns the jitter off.
    /// Default 0.2 ([`DEFAULT_RENEW_JITTER`](crate::config::DEFAULT_RENEW_JITTER)): renewals
    /// in the last fifth of the period, on average every 0.9 period (11% more renewals than
    /// without jitter). NaN, infinities and values outside that range are rejected before any
    /// request with
    /// [`InvalidInput::InvalidRenewJitter`](crate::error::InvalidInput::InvalidRenewJitter).
    ///
    /// Each guard draws its own seed for the jitter at random (from a generator the operating
    /// system seeds), unless [`renew_jitter_seed`](Self::renew_jitter_seed) fixes one.
    #[must_use]
    pub fn renew_jitter(mut self, fraction: f64) -> Self {
        self.renew = self.renew.jitter(fraction);
        self
    }

    /// A seed for the [renewal jitter](Self::renew_jitter), for tests: a guard with a fixed
    /// seed renews at the same instants every run (on a clock that follows tokio's paused
    /// clock, with the same answers). Guards given the same seed and acquired at the same
    /// instant renew together: give each its own. By default each guard draws one at random.
    #[must_use]
    pub fn renew_jitter_seed(mut self, seed: u64) -> Self {
        self.renew = self.renew.jitter_seed(seed);
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
