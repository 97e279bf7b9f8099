//! The lease lifecycle: waiting, guards, scoped work, shutdown, metrics (issue 4). Each method
//! delegates to its module: `wait`, `guard`, `scoped`, `metrics`.

use std::future::Future;
use std::time::Duration;

use lease_core::{Lease, LeaseError, LeaseKey};

use super::LeaseManager;
use crate::guard::{self, GuardOptions, LeaseContext, LeaseGuard};
use crate::metrics::MetricsSnapshot;
use crate::scoped::{self, ScopedOutcome};
use crate::wait;
use lease_core::Store;
use lease_core::WaitPolicy;

impl<S: Store> LeaseManager<S> {
    /// Acquires the lease at `key` (a [`LeaseKey`] or a partition key) for `duration`, waiting
    /// while another holder has it, as `policy` says: until the holder's known expiry (polling at most every
    /// [`max_delay`](WaitPolicy::max_delay) for an early release), with jittered, capped
    /// backoff when the holder is unknown, within the policy's overall timeout. Losing a race
    /// to another contender is not an error: the wait goes on. Transient store failures (after
    /// the manager's retries) are waited through too.
    ///
    /// Dropping the future cancels the wait at once: no further request is sent. (An acquire
    /// request already in flight may still land; that lease then simply expires.)
    ///
    /// # Errors
    /// - [`LeaseError::WaitTimedOut`] with the last holder seen, if the lease was still held
    ///   when the timeout passed (after one last attempt at the deadline); the last transient
    ///   store error instead if the last attempt failed with one.
    /// - At once: [`LeaseError::InvalidInput`], [`LeaseError::MalformedItem`], and store
    ///   errors that will not pass (access denied, no such table), as for
    ///   [`try_acquire`](Self::try_acquire).
    pub async fn acquire(
        &self,
        key: impl Into<LeaseKey>,
        duration: Duration,
        policy: &WaitPolicy,
    ) -> Result<Lease, LeaseError> {
        wait::acquire_waiting(self, key.into(), duration, policy, None).await
    }

    /// Acquires the lease at `key` for `duration` (once, or waiting as
    /// [`GuardOptions::wait`] says) and returns a [`LeaseGuard`] that renews it in the
    /// background until it is released or dropped, and reports when it is at risk or lost.
    ///
    /// # Errors
    /// - [`LeaseError::InvalidInput`] before any request if the renew period is not well below
    ///   the duration ([`InvalidInput::InvalidRenewPeriod`](crate::error::InvalidInput)), or for a
    ///   zero duration or one not above the clock skew bound.
    /// - [`LeaseError::ManagerShutDown`] after [`shutdown`](Self::shutdown).
    /// - As [`try_acquire`](Self::try_acquire), or as [`acquire`](Self::acquire) with a wait
    ///   policy.
    ///
    /// # Panics
    /// Outside a tokio runtime (the driver task is spawned on the current one).
    pub async fn acquire_guard(
        &self,
        key: impl Into<LeaseKey>,
        duration: Duration,
        options: GuardOptions,
    ) -> Result<LeaseGuard<S>, LeaseError>
    where
        S: 'static,
    {
        guard::acquire_guard(self, self.planner().resolve(key), duration, options, None).await
    }

    /// Runs `work` while holding the lease at `key`: acquires a guard (as
    /// [`acquire_guard`](Self::acquire_guard)), calls `work` with a [`LeaseContext`] (fencing
    /// token, status, stop token), cancels the work (drops its future) if the lease is lost,
    /// and releases the lease afterwards. The outcome tells apart success, the work's own
    /// error (unchanged), loss of the lease during the work, and a failed release. A panic in
    /// `work` propagates; the dropped guard then releases the lease in the background.
    ///
    /// # Errors
    /// Only for the acquire, as [`acquire_guard`](Self::acquire_guard); everything after it
    /// is in the [`ScopedOutcome`].
    ///
    /// # Panics
    /// Outside a tokio runtime, and when `work` panics.
    pub async fn with_lease<T, E, F, Fut>(
        &self,
        key: impl Into<LeaseKey>,
        duration: Duration,
        options: GuardOptions,
        work: F,
    ) -> Result<ScopedOutcome<T, E>, LeaseError>
    where
        S: 'static,
        F: FnOnce(LeaseContext) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        scoped::with_lease(self, self.planner().resolve(key), duration, options, work).await
    }

    /// Shuts the manager's guards down: stops every renewal, releases every lease a guard of
    /// this manager still holds (guards report [`LossReason::Shutdown`](crate::LossReason)),
    /// and returns when all of them are done. Later [`acquire_guard`](Self::acquire_guard) and
    /// [`with_lease`](Self::with_lease) calls fail with [`LeaseError::ManagerShutDown`].
    /// Leases acquired without a guard are the caller's to release; plain operations keep
    /// working. Calling it again waits again (and returns at once).
    pub async fn shutdown(&self) {
        self.shared.guards.shut_down().await;
    }

    /// The manager's counters: acquired, contended, renewed, renew failures, lost, released,
    /// and the number of running guards.
    #[must_use]
    pub fn metrics(&self) -> MetricsSnapshot {
        self.shared.metrics.snapshot(self.shared.guards.len())
    }
}
