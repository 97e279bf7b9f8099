//! Single operations: acquire, refresh, release, inspect. Each is lease-core's machine for the
//! operation (its request, retries, interpretation, and for an acquire the give-back of a lease
//! it cannot use), driven by [`LeaseManager::drive`], then counted and logged.

use std::time::Duration;

use std::sync::Arc;

use lease_core::lifecycle::{AcquireOp, InspectOp, RefreshOp, ReleaseOp};
use lease_core::{Lease, LeaseError, LeaseKey, LeaseSnapshot, Operation, ReleaseOutcome, Text};
use tracing::debug;

use super::LeaseManager;
use lease_core::{ELECTION_SORT_KEY, InvalidInput, Store, is_reserved_sort_key};

/// [`InvalidInput::ReservedSortKey`] for a lock (an acquire without a proclaimed `value`) at
/// a sort key reserved for elections or semaphores.
pub(crate) fn not_an_election(key: &LeaseKey, value: Option<&Text>) -> Result<(), LeaseError> {
    let reserved = match value {
        // A campaign proclaims a value, and only at the election sort key.
        Some(_) => key.sort() != Some(ELECTION_SORT_KEY),
        None => key.sort().is_some_and(is_reserved_sort_key),
    };
    if reserved {
        return Err(LeaseError::InvalidInput {
            operation: Operation::Acquire,
            key: key.clone(),
            reason: InvalidInput::ReservedSortKey,
        });
    }
    Ok(())
}

impl<S: Store> LeaseManager<S> {
    /// [`LeaseError::Guarded`] if a running guard of this manager keeps `lease`: refreshing or
    /// releasing it past the guard would leave the guard with a deadline the store no longer
    /// has.
    pub(crate) fn not_guarded(
        &self,
        operation: Operation,
        lease: &Lease,
    ) -> Result<(), LeaseError> {
        if self.shared.guards.is_guarded(lease.token()) {
            return Err(LeaseError::Guarded {
                operation,
                key: lease.key().clone(),
            });
        }
        Ok(())
    }

    /// Counts and logs an acquire's result.
    pub(crate) fn record_acquire(&self, result: &Result<Lease, LeaseError>) {
        self.shared.metrics.record_acquire(result);
        match result {
            Ok(lease) => {
                debug!(key = %lease.key(), token = %lease.token(), fence = ?lease.fence(), expires_at = lease.expires_at_epoch_seconds(), "lease acquired")
            }
            Err(e) => debug!(key = %e.key(), error = %e.report(), "lease not acquired"),
        }
    }

    /// One attempt to acquire the lease at `key` for `duration` (TableTheory's `Acquire`):
    /// succeeds if no lease item exists, or the stored lease has expired by this manager's
    /// clock, or was released. The returned lease expires at `now + duration` rounded up to the
    /// configured unit, carries a fencing token greater than any earlier acquisition's, and a
    /// local safe deadline ([`Lease::valid_until`]). To wait while the lease is held, use
    /// [`acquire`](Self::acquire).
    ///
    /// `key` is a [`LeaseKey`], or a partition key (`"CACHE#A"`, a `String`) under the table's
    /// lock sort key.
    ///
    /// When the lease is held, the error says by whom: where the store returned no old item
    /// (dynalite), one strongly consistent read ([`inspect`](Self::inspect)) fills in
    /// [`Holder::Known`](lease_core::Holder::Known); if that read fails or finds the lease no
    /// longer held, the holder stays [`Holder::Unknown`](lease_core::Holder::Unknown).
    ///
    /// # Errors
    /// - [`LeaseError::Held`] if another holder's lease has not expired (also if this manager
    ///   holds it: acquire is not re-entrant).
    /// - [`LeaseError::MalformedItem`] if the item at `key` is not a readable lease (such an
    ///   item never expires by itself).
    /// - [`LeaseError::InvalidInput`] before any request for an empty or oversized key or a
    ///   duration that is zero, over-long, or not longer than the clock skew bound.
    /// - [`LeaseError::OutcomeUnknown`] if the store kept failing in a way that may have
    ///   applied the write (the manager then releases, token-conditioned, whatever it may have
    ///   written); [`LeaseError::Store`] if it failed without applying it.
    pub async fn try_acquire(
        &self,
        key: impl Into<LeaseKey>,
        duration: Duration,
    ) -> Result<Lease, LeaseError> {
        self.try_acquire_proclaiming(key.into(), duration, None)
            .await
    }

    /// [`try_acquire`](Self::try_acquire), writing `value` to the item's value attribute if
    /// given (a campaign).
    pub(crate) async fn try_acquire_proclaiming(
        &self,
        key: LeaseKey,
        duration: Duration,
        value: Option<&Text>,
    ) -> Result<Lease, LeaseError> {
        let key = self.planner().resolve(key);
        not_an_election(&key, value)?;
        let now = self.now();
        let mut op = AcquireOp::new(
            Arc::clone(self.planner()),
            key,
            duration,
            now,
            self.tokens.next_token(),
            self.retry_policy(),
        )?
        .reading_holder();
        if let Some(value) = value {
            op = op.proclaiming(value.clone())?;
        }
        let result = self.drive(&mut op, now).await;
        self.record_acquire(&result);
        if let Ok(lease) = &result {
            self.shared.handover.acquired(lease);
        }
        result
    }

    /// Extends `lease` to `now + duration` (rounded up), if it is still ours and not expired.
    /// The new expiry replaces the old one, so a shorter duration shortens the lease. The
    /// fencing token is unchanged; the local safe deadline moves.
    ///
    /// # Errors
    /// - [`LeaseError::NotOwned`] if the lease expired, was taken over, released, or is gone.
    /// - [`LeaseError::Guarded`] before any request if a running [`LeaseGuard`](crate::LeaseGuard)
    ///   of this manager keeps the lease (renew it through the guard).
    /// - [`LeaseError::InvalidInput`], [`LeaseError::OutcomeUnknown`] and [`LeaseError::Store`]
    ///   as for acquire.
    pub async fn refresh(&self, lease: &Lease, duration: Duration) -> Result<Lease, LeaseError> {
        self.not_guarded(Operation::Refresh, lease)?;
        let now = self.now();
        let mut op = RefreshOp::new(
            Arc::clone(self.planner()),
            lease,
            duration,
            now,
            self.retry_policy(),
        )?;
        let result = self.drive(&mut op, now).await;
        self.shared.metrics.record_refresh(&result);
        match &result {
            Ok(lease) => {
                debug!(key = %lease.key(), token = %lease.token(), fence = ?lease.fence(), expires_at = lease.expires_at_epoch_seconds(), "lease refreshed")
            }
            Err(e) => debug!(key = %e.key(), error = %e.report(), "lease not refreshed"),
        }
        result
    }

    /// Releases `lease`: if the lease item still holds this lease's token, marks it released
    /// (anyone may acquire it at once; the item keeps its fencing token).
    ///
    /// Returns [`ReleaseOutcome::Released`] if the item held our token (also when released
    /// before: release is idempotent), and [`ReleaseOutcome::NotHeld`] if there was nothing of
    /// ours (gone, or another holder's). Never touches another holder's lease.
    ///
    /// # Errors
    /// - [`LeaseError::InvalidInput`] before any request for an empty key or token.
    /// - [`LeaseError::Guarded`] before any request if a running [`LeaseGuard`](crate::LeaseGuard)
    ///   of this manager keeps the lease (release it through the guard).
    /// - [`LeaseError::OutcomeUnknown`] / [`LeaseError::Store`] if the store failed.
    pub async fn release(&self, lease: &Lease) -> Result<ReleaseOutcome, LeaseError> {
        self.not_guarded(Operation::Release, lease)?;
        let now = self.now();
        let mut op = ReleaseOp::new(Arc::clone(self.planner()), lease, now, self.retry_policy())?;
        let result = self.drive(&mut op, now).await;
        self.shared.metrics.record_release(&result);
        if result.is_ok() {
            self.shared.handover.released(lease.key(), lease.token());
        }
        match &result {
            Ok(outcome) => {
                debug!(key = %lease.key(), token = %lease.token(), ?outcome, "lease released")
            }
            Err(e) => debug!(key = %e.key(), error = %e.report(), "lease release failed"),
        }
        result
    }

    /// Reads the lease at `key` (a [`LeaseKey`] or a partition key) with a strongly consistent read and returns a read-only
    /// snapshot: absent, held, expired or released, with the holder's token fingerprint (never
    /// the token), expiry and fencing token. A snapshot cannot refresh or release anything.
    ///
    /// # Errors
    /// - [`LeaseError::MalformedItem`] if the item is not a readable lease (strict decoding:
    ///   a missing, wrong-typed, wrong-unit or foreign attribute).
    /// - [`LeaseError::InvalidInput`] for an empty or oversized key.
    /// - [`LeaseError::Store`] if the read failed (a read changes nothing, so its failure is
    ///   never [`LeaseError::OutcomeUnknown`]).
    pub async fn inspect(&self, key: impl Into<LeaseKey>) -> Result<LeaseSnapshot, LeaseError> {
        let mut op = InspectOp::new(Arc::clone(self.planner()), key.into(), self.retry_policy())?;
        self.drive(&mut op, self.now()).await
    }
}
