//! Lease sets: several keys acquired, refreshed and released together, one transaction each
//! (lease-core's [`AcquireSetOp`], [`RefreshSetOp`] and [`ReleaseSetOp`], driven by
//! [`LeaseManager::drive`]).

use std::sync::Arc;
use std::time::Duration;

use lease_core::lifecycle::{AcquireSetOp, RefreshSetOp, ReleaseSetOp};
use lease_core::{LeaseError, LeaseKey, LeaseSet, Operation, ReleaseOutcome, Store, WaitPolicy};
use tracing::debug;

use super::LeaseManager;
use crate::guard::{self, GuardOptions, LeaseGuard};

impl<S: Store> LeaseManager<S> {
    /// One attempt to acquire every key of `keys` at once, all or nothing, for `duration`: one
    /// `TransactWriteItems` with one conditional update per key (each the condition of a single
    /// acquire, and a fencing token per key greater than any earlier acquisition's of that
    /// key). Either every key is acquired, with one token and one expiry, or none is: nobody
    /// ever holds part of a set, so acquirers of overlapping sets cannot deadlock, whatever
    /// order they name the keys in.
    ///
    /// Each key is a [`LeaseKey`] or a partition key under the lock sort key; up to
    /// [`MAX_SET_KEYS`](crate::config::MAX_SET_KEYS) (100) keys. Requests: one transaction
    /// when the keys are free (DynamoDB charges two write units per key for a transaction);
    /// one more when a key's stored fencing token was ahead of the proposed one (see
    /// docs/lifecycle.md, "Lease sets").
    ///
    /// # Errors
    /// - [`LeaseError::HeldKeys`] if some keys are held by others and have not expired: it names
    ///   each of them with its holder and expiry (when the store returns the old items; it is
    ///   [`Holder::Unknown`](crate::snapshot::Holder::Unknown) otherwise). Nothing was acquired.
    /// - [`LeaseError::MalformedItem`] if the item at a key is not a readable lease.
    /// - [`LeaseError::InvalidInput`] before any request: no keys, more than 100, a key given
    ///   twice, or any input a single acquire refuses.
    /// - [`LeaseError::Store`] with [`StoreErrorKind::Unsupported`](crate::store::StoreErrorKind::Unsupported)
    ///   on a store without transactions (dynalite); [`LeaseError::OutcomeUnknown`] and
    ///   [`LeaseError::Lapsed`] as for [`try_acquire`](Self::try_acquire) (the manager then
    ///   releases, token-conditioned, whatever it may have written).
    pub async fn try_acquire_set(
        &self,
        keys: impl IntoIterator<Item = impl Into<LeaseKey>>,
        duration: Duration,
    ) -> Result<LeaseSet, LeaseError> {
        self.set(keys, duration, None).await
    }

    /// [`try_acquire_set`](Self::try_acquire_set), waiting while some keys are held by others,
    /// as `policy` says: until the earliest expiry among their holders, at most the policy's
    /// `max_delay` between attempts (each attempt one transaction), until its timeout. Nothing
    /// is held while waiting, so waiters for overlapping sets cannot deadlock. Dropping the
    /// future cancels the wait.
    ///
    /// # Errors
    /// [`LeaseError::WaitTimedOut`] naming the first key still held when the timeout passed;
    /// otherwise as [`try_acquire_set`](Self::try_acquire_set).
    pub async fn acquire_set(
        &self,
        keys: impl IntoIterator<Item = impl Into<LeaseKey>>,
        duration: Duration,
        policy: &WaitPolicy,
    ) -> Result<LeaseSet, LeaseError> {
        self.set(keys, duration, Some(policy)).await
    }

    /// Every key of `keys` held together, kept by a [`LeaseGuard`] that renews them in one
    /// transaction each (at the guard's renew period) until it is released or dropped, once
    /// or waiting as [`GuardOptions::wait`] says. The guard is lost as soon as any key is; its
    /// release frees every key still held.
    ///
    /// # Errors
    /// As [`acquire_set`](Self::acquire_set) and [`acquire_guard`](Self::acquire_guard).
    ///
    /// # Panics
    /// Outside a tokio runtime (the driver task is spawned on the current one).
    pub async fn acquire_set_guard(
        &self,
        keys: impl IntoIterator<Item = impl Into<LeaseKey>>,
        duration: Duration,
        options: GuardOptions,
    ) -> Result<LeaseGuard<S, LeaseSet>, LeaseError>
    where
        S: 'static,
    {
        let keys: Vec<LeaseKey> = keys.into_iter().map(Into::into).collect();
        let key = keys
            .first()
            .map_or_else(|| LeaseKey::new("", ""), |k| self.planner().resolve(k));
        let acquire = || self.set(keys, duration, options.wait.as_ref());
        guard::guard_kept(self, key, duration, &options, acquire).await
    }

    async fn set(
        &self,
        keys: impl IntoIterator<Item = impl Into<LeaseKey>>,
        duration: Duration,
        wait: Option<&WaitPolicy>,
    ) -> Result<LeaseSet, LeaseError> {
        let now = self.now();
        let mut op = AcquireSetOp::new(
            Arc::clone(self.planner()),
            keys,
            duration,
            now,
            self.tokens.next_token(),
            self.retry_policy(),
        )?;
        if let Some(policy) = wait {
            op = op.waiting(policy.clone());
        }
        let result = self.drive(&mut op, now).await;
        match &result {
            Ok(set) => {
                for lease in set.leases() {
                    self.shared.handover.acquired(lease);
                }
                debug!(keys = set.len(), token = %set.token(), "lease set acquired");
            }
            Err(e) => debug!(key = %e.key(), error = %e.report(), "lease set not acquired"),
        }
        result
    }

    /// Extends every key of `set` to `now + duration` (rounded up) in one transaction, if every
    /// key is still ours and not expired; otherwise nothing is written.
    ///
    /// # Errors
    /// - [`LeaseError::NotOwned`] naming a key that is no longer ours: the set is lost (release
    ///   it, to free the keys still held).
    /// - [`LeaseError::Lapsed`] if the answer came after the set's safe deadline.
    /// - [`LeaseError::InvalidInput`], [`LeaseError::OutcomeUnknown`] and [`LeaseError::Store`]
    ///   as for [`refresh`](Self::refresh).
    pub async fn refresh_set(
        &self,
        set: &LeaseSet,
        duration: Duration,
    ) -> Result<LeaseSet, LeaseError> {
        let now = self.now();
        let mut op = RefreshSetOp::new(self.planner(), set, duration, now, self.retry_policy())?;
        let result = self.drive(&mut op, now).await;
        match &result {
            Ok(set) => debug!(keys = set.len(), token = %set.token(), "lease set refreshed"),
            Err(e) => debug!(key = %e.key(), error = %e.report(), "lease set not refreshed"),
        }
        result
    }

    /// Releases every key of `set` still holding its token: one transaction, and one more
    /// without the keys that are no longer ours (expired and taken over), so that the others
    /// are released all the same. Never touches another holder's lease.
    ///
    /// Returns [`ReleaseOutcome::Released`] if every key was ours, [`ReleaseOutcome::NotHeld`]
    /// if some were not (those still ours are released).
    ///
    /// # Errors
    /// [`LeaseError::OutcomeUnknown`] / [`LeaseError::Store`] if the store failed.
    pub async fn release_set(&self, set: &LeaseSet) -> Result<ReleaseOutcome, LeaseError> {
        let now = self.now();
        let mut op = ReleaseSetOp::new(Arc::clone(self.planner()), set, now, self.retry_policy())?;
        let result = self.drive(&mut op, now).await;
        if result.is_ok() {
            for lease in set.leases() {
                self.shared.handover.released(lease.key(), lease.token());
            }
        }
        match &result {
            Ok(outcome) => {
                debug!(keys = set.len(), token = %set.token(), ?outcome, "lease set released")
            }
            Err(e) => {
                debug!(key = %e.key(), error = %e.report(), operation = %Operation::Release, "lease set release failed")
            }
        }
        result
    }
}
