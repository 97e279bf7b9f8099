//! Counting semaphores: a permit is a lease on one of `N` slot items, found with one `Query`
//! (lease-core's [`PermitOp`], driven by [`LeaseManager::drive`]); it renews, is lost and is
//! released like any lease.

use std::sync::Arc;
use std::time::Duration;

use lease_core::lifecycle::PermitOp;
use lease_core::{Lease, LeaseError, Store, Text, WaitPolicy};
use tracing::debug;

use super::LeaseManager;
use crate::guard::{self, GuardOptions, LeaseGuard};

impl<S: Store> LeaseManager<S> {
    /// One attempt to acquire one of the `permits` permits of the counting semaphore `name` for
    /// `duration`: at most `permits` holders hold a permit of `name` at any time (each a lease
    /// with its own token, expiry and fencing token, at [`permit_key`](crate::semaphore::permit_key)
    /// `(name, slot)`). Refresh and release the returned lease like any other.
    ///
    /// Requests: one strongly consistent `Query` of the semaphore's slots and one conditional
    /// `UpdateItem` of a free slot (again, at most 3 times in a row, if another acquirer took
    /// that slot first); a release is one `UpdateItem`.
    ///
    /// Changing `permits` from one acquire to the next is allowed: an acquire takes only slots
    /// below its own `permits`, so after a decrease, once the permits held above the new number
    /// are released or expire, at most the new number are held.
    ///
    /// # Errors
    /// - [`LeaseError::NoPermit`] when every permit is held, with the earliest expiry among
    ///   them (when to try again).
    /// - [`LeaseError::MalformedItem`] when no slot is free and one of them is not a readable
    ///   lease (it never frees by itself: repair or delete it); a waiting acquire ends at once.
    /// - [`LeaseError::InvalidInput`] before any request for an empty or oversized name,
    ///   `permits` of 0 or over [`MAX_PERMITS`](crate::semaphore::MAX_PERMITS), or a duration a
    ///   single acquire refuses.
    /// - As [`try_acquire`](Self::try_acquire) for the slot's acquire, and [`LeaseError::Store`]
    ///   when the `Query` fails.
    pub async fn try_acquire_permit(
        &self,
        name: impl Into<Text>,
        permits: u32,
        duration: Duration,
    ) -> Result<Lease, LeaseError> {
        self.permit(name.into(), permits, duration, None).await
    }

    /// [`try_acquire_permit`](Self::try_acquire_permit), waiting while every permit is held, as
    /// `policy` says: until the earliest held permit's expiry, at most the policy's `max_delay`
    /// between attempts (a release is seen at the next attempt), until its timeout; then
    /// [`LeaseError::NoPermit`]. Dropping the future cancels the wait.
    ///
    /// # Errors
    /// As [`try_acquire_permit`](Self::try_acquire_permit).
    pub async fn acquire_permit(
        &self,
        name: impl Into<Text>,
        permits: u32,
        duration: Duration,
        policy: &WaitPolicy,
    ) -> Result<Lease, LeaseError> {
        self.permit(name.into(), permits, duration, Some(policy))
            .await
    }

    async fn permit(
        &self,
        name: Text,
        permits: u32,
        duration: Duration,
        wait: Option<&WaitPolicy>,
    ) -> Result<Lease, LeaseError> {
        let now = self.now();
        let mut op = PermitOp::new(
            Arc::clone(self.planner()),
            name,
            permits,
            duration,
            now,
            self.tokens.next_token(),
            self.retry_policy(),
        )?;
        if let Some(policy) = wait {
            op = op.waiting(policy.clone());
        }
        let result = self.drive(&mut op, now).await;
        self.record_acquire(&result);
        if let Err(e) = &result {
            debug!(key = %e.key(), permits, error = %e.report(), "no permit acquired");
        }
        result
    }

    /// A permit of the semaphore `name` (as [`try_acquire_permit`](Self::try_acquire_permit),
    /// or waiting as [`GuardOptions::wait`] says), kept by a [`LeaseGuard`] that renews it in
    /// the background until it is released or dropped: `lease run --permits N`.
    ///
    /// # Errors
    /// As [`try_acquire_permit`](Self::try_acquire_permit) and
    /// [`acquire_guard`](Self::acquire_guard).
    ///
    /// # Panics
    /// Outside a tokio runtime (the driver task is spawned on the current one).
    pub async fn acquire_permit_guard(
        &self,
        name: impl Into<Text>,
        permits: u32,
        duration: Duration,
        options: GuardOptions,
    ) -> Result<LeaseGuard<S>, LeaseError>
    where
        S: 'static,
    {
        let name = name.into();
        let key = lease_core::LeaseKey::new(name.clone(), lease_core::PERMIT_SORT_KEY_PREFIX);
        let acquire = || self.permit(name, permits, duration, options.wait.as_ref());
        guard::guard_kept(self, key, duration, &options, acquire).await
    }
}
