//! The async lease manager: plans with lease-core, executes on a store.

use std::sync::Arc;
use std::time::Duration;

use lease_core::{Lease, LeaseConfig, LeaseError, LeaseKey, Planner, ReleaseOutcome};
use tracing::debug;

use crate::clock::{Clock, SystemClock};
use crate::store::Store;
use crate::tokens::{TokenSource, UuidTokens};

/// Acquires, refreshes and releases leases in one table, on any [`Store`].
///
/// Each operation is one conditional request, with no read before it. The same manager code runs
/// on DynamoDB (`lease_dynamodb_sdk::DynamoDbStore`) and in memory
/// (`lease_memory::MemoryStore`).
///
/// The manager is `Send + Sync`; share it with an `Arc` or by reference.
pub struct LeaseManager<S> {
    store: S,
    planner: Planner,
    clock: Arc<dyn Clock>,
    tokens: Arc<dyn TokenSource>,
}

impl<S: Store> LeaseManager<S> {
    /// A manager for `config`'s table on `store`, with the system clock and UUIDv4 tokens.
    pub fn new(store: S, config: LeaseConfig) -> Self {
        Self {
            store,
            planner: Planner::new(config),
            clock: Arc::new(SystemClock),
            tokens: Arc::new(UuidTokens),
        }
    }

    /// Replaces the clock (TableTheory's `WithNow`).
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Replaces the clock with a shared one.
    #[must_use]
    pub fn with_shared_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the token source (TableTheory's `WithTokenGenerator`).
    #[must_use]
    pub fn with_token_source(mut self, tokens: impl TokenSource + 'static) -> Self {
        self.tokens = Arc::new(tokens);
        self
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The configuration.
    pub fn config(&self) -> &LeaseConfig {
        self.planner.config()
    }

    /// The key of the lease for `partition_key` under the configured lock sort key (`LOCK` by
    /// default).
    pub fn lock_key(&self, partition_key: impl Into<String>) -> LeaseKey {
        self.planner.lock_key(partition_key)
    }

    /// Acquires the lease for `partition_key` under the configured lock sort key, for
    /// `duration` (TableTheory's `Acquire(pk, d)`).
    ///
    /// # Errors
    /// See [`acquire_key`](Self::acquire_key).
    pub async fn acquire(
        &self,
        partition_key: impl Into<String>,
        duration: Duration,
    ) -> Result<Lease, LeaseError> {
        self.acquire_key(self.lock_key(partition_key), duration)
            .await
    }

    /// Acquires the lease at `key` for `duration`: succeeds if no lease item exists or the
    /// stored lease has expired by this manager's clock. The returned lease expires at
    /// `now + duration` rounded up to whole seconds.
    ///
    /// # Errors
    /// - [`LeaseError::Held`] if another holder's lease has not expired (also if this manager
    ///   holds it: acquire is not re-entrant).
    /// - [`LeaseError::InvalidInput`] before any request for an empty or oversized key or a zero
    ///   or over-long duration.
    /// - [`LeaseError::Store`] if the store failed.
    pub async fn acquire_key(
        &self,
        key: LeaseKey,
        duration: Duration,
    ) -> Result<Lease, LeaseError> {
        let now = self.clock.now();
        let plan = self
            .planner
            .acquire(key, duration, now, self.tokens.next_token())?;
        let response = self.store.execute(plan.request()).await;
        let result = plan.interpret(response);
        match &result {
            Ok(lease) => {
                debug!(key = %lease.key(), token = %lease.token(), expires_at = lease.expires_at_epoch_seconds(), "lease acquired")
            }
            Err(e) => debug!(key = %e.key(), error = %e, "lease not acquired"),
        }
        result
    }

    /// Extends `lease` to `now + duration` (rounded up to whole seconds), if it is still ours and
    /// not expired. The new expiry replaces the old one, so a shorter duration shortens the lease.
    ///
    /// # Errors
    /// - [`LeaseError::NotOwned`] if the lease expired, was taken over, or is gone.
    /// - [`LeaseError::InvalidInput`] and [`LeaseError::Store`] as for acquire.
    pub async fn refresh(&self, lease: &Lease, duration: Duration) -> Result<Lease, LeaseError> {
        let now = self.clock.now();
        let plan = self.planner.refresh(lease, duration, now)?;
        let response = self.store.execute(plan.request()).await;
        let result = plan.interpret(response);
        match &result {
            Ok(lease) => {
                debug!(key = %lease.key(), token = %lease.token(), expires_at = lease.expires_at_epoch_seconds(), "lease refreshed")
            }
            Err(e) => debug!(key = %e.key(), error = %e, "lease not refreshed"),
        }
        result
    }

    /// Releases `lease`: deletes the lease item if it still holds this lease's token.
    ///
    /// Returns [`ReleaseOutcome::Released`] if the item was deleted, and
    /// [`ReleaseOutcome::NotHeld`] if there was nothing of ours to delete (gone, or another
    /// holder's). Never deletes another holder's lease.
    ///
    /// # Errors
    /// - [`LeaseError::InvalidInput`] before any request for an empty key or token.
    /// - [`LeaseError::Store`] if the store failed.
    pub async fn release(&self, lease: &Lease) -> Result<ReleaseOutcome, LeaseError> {
        let plan = self.planner.release(lease)?;
        let response = self.store.execute(plan.request()).await;
        let result = plan.interpret(response);
        match &result {
            Ok(outcome) => {
                debug!(key = %lease.key(), token = %lease.token(), ?outcome, "lease released")
            }
            Err(e) => debug!(key = %e.key(), error = %e, "lease release failed"),
        }
        result
    }
}

impl<S> std::fmt::Debug for LeaseManager<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseManager")
            .field("config", self.planner.config())
            .finish_non_exhaustive()
    }
}
