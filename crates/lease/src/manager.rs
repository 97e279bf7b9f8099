//! The async lease manager: plans with lease-core, executes on a store.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use lease_core::{
    CommitPlan, ConditionCheckRequest, Holder, Lease, LeaseConfig, LeaseError, LeaseKey,
    LeaseSnapshot, LeaseState, Now, Planner, ReleaseOutcome, Request, StoreError, StoreResponse,
    TransactItem,
};
use tracing::debug;

use crate::clock::{Clock, SystemClock};
use crate::guard::{self, GuardOptions, GuardRegistry, LeaseContext, LeaseGuard};
use crate::metrics::{Metrics, MetricsSnapshot};
use crate::retry::RetryPolicy;
use crate::scoped::{self, ScopedOutcome};
use crate::store::Store;
use crate::tokens::{TokenSource, UuidTokens};
use crate::wait::{self, WaitPolicy};

/// Acquires, refreshes, releases and inspects leases in one table, on any [`Store`].
///
/// Each operation is one conditional request, with no read before it (sent again, unchanged,
/// after a transient failure, as [`RetryPolicy`] says). The same manager code runs on DynamoDB
/// (`lease_dynamodb_sdk::DynamoDbStore`) and in memory (`lease_memory::MemoryStore`).
///
/// The manager is `Send + Sync`; share it with an `Arc` or by reference.
pub struct LeaseManager<S> {
    store: S,
    planner: Planner,
    clock: Arc<dyn Clock>,
    tokens: Arc<dyn TokenSource>,
    retry: RetryPolicy,
    /// Counters of lease events ([`metrics`](Self::metrics)).
    pub(crate) metrics: Metrics,
    /// The renewal tasks of this manager's guards ([`shutdown`](Self::shutdown)).
    pub(crate) guards: GuardRegistry,
}

impl<S: Store> LeaseManager<S> {
    /// A manager for `config`'s table on `store`, with the system clocks, UUIDv4 tokens and
    /// the default [`RetryPolicy`].
    pub fn new(store: S, config: LeaseConfig) -> Self {
        Self {
            store,
            planner: Planner::new(config),
            clock: Arc::new(SystemClock),
            tokens: Arc::new(UuidTokens),
            retry: RetryPolicy::default(),
            metrics: Metrics::default(),
            guards: GuardRegistry::default(),
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

    /// Replaces the retry policy.
    #[must_use]
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
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

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The key of the lease for `partition_key` under the configured lock sort key (`LOCK` by
    /// default).
    pub fn lock_key(&self, partition_key: impl Into<String>) -> LeaseKey {
        self.planner.lock_key(partition_key)
    }

    fn now(&self) -> Now {
        Now::new(self.clock.now(), self.clock.monotonic())
    }

    /// Sends `request`, again after a transient failure while the retry policy allows.
    async fn execute(&self, request: &Request) -> Result<StoreResponse, StoreError> {
        let mut attempt = 1;
        loop {
            let response = self.store.execute(request).await;
            let backoff = match &response {
                Err(e) if e.kind().is_transient() => self.retry.backoff_after(attempt),
                _ => None,
            };
            let Some(backoff) = backoff else {
                return response;
            };
            debug!(attempt, ?backoff, error = %response.as_ref().err().map(ToString::to_string).unwrap_or_default(), "retrying lease request");
            tokio::time::sleep(backoff).await;
            attempt += 1;
        }
    }

    /// Sends a transaction, again only after a failure that certainly applied nothing and may
    /// pass later (throttling), while the retry policy allows. A transaction is not resent
    /// after a timeout or a server error: if it landed, the retry would fail its guard.
    async fn execute_commit(&self, request: &Request) -> Result<StoreResponse, StoreError> {
        let mut attempt = 1;
        loop {
            let response = self.store.execute(request).await;
            let backoff = match &response {
                Err(e) if e.kind().is_transient() && !e.kind().outcome_may_be_applied() => {
                    self.retry.backoff_after(attempt)
                }
                _ => None,
            };
            let Some(backoff) = backoff else {
                return response;
            };
            debug!(attempt, ?backoff, "retrying throttled guarded commit");
            tokio::time::sleep(backoff).await;
            attempt += 1;
        }
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

    /// Acquires the lease at `key` for `duration`: succeeds if no lease item exists, or the
    /// stored lease has expired by this manager's clock, or was released. The returned lease
    /// expires at `now + duration` rounded up, carries a fencing token greater than any earlier
    /// acquisition's, and a local safe deadline ([`Lease::valid_until`]).
    ///
    /// # Errors
    /// - [`LeaseError::Held`] if another holder's lease has not expired (also if this manager
    ///   holds it: acquire is not re-entrant), with the holder when the store reports it.
    /// - [`LeaseError::MalformedItem`] if the item at `key` is not a readable lease.
    /// - [`LeaseError::InvalidInput`] before any request for an empty or oversized key or a
    ///   duration that is zero, over-long, or not longer than the clock skew bound.
    /// - [`LeaseError::OutcomeUnknown`] if the store kept failing in a way that may have
    ///   applied the write (the manager then releases, token-conditioned, whatever it may have
    ///   written); [`LeaseError::Store`] if it failed without applying it.
    pub async fn acquire_key(
        &self,
        key: LeaseKey,
        duration: Duration,
    ) -> Result<Lease, LeaseError> {
        let plan = self
            .planner
            .acquire(key, duration, self.now(), self.tokens.next_token())?;
        let pending = plan.lease().clone();
        let response = self.execute(plan.request()).await;
        let result = plan.interpret(response);
        if let Err(LeaseError::OutcomeUnknown { .. }) = &result {
            self.clean_up_unsettled_acquire(&pending).await;
        }
        self.metrics.record_acquire(&result);
        match &result {
            Ok(lease) => {
                debug!(key = %lease.key(), token = %lease.token(), fence = ?lease.fence(), expires_at = lease.expires_at_epoch_seconds(), "lease acquired")
            }
            Err(e) => debug!(key = %e.key(), error = %e, "lease not acquired"),
        }
        result
    }

    /// One attempt to acquire the lease at `key`, like [`acquire_key`](Self::acquire_key), that
    /// always says who holds the lease when it is held: where the store returned no old item
    /// (dynalite), it makes one strongly consistent read ([`inspect`](Self::inspect)) to fill
    /// in [`Holder::Known`](lease_core::Holder::Known). If that read fails or finds the lease
    /// no longer held, the holder stays [`Holder::Unknown`](lease_core::Holder::Unknown).
    ///
    /// # Errors
    /// As [`acquire_key`](Self::acquire_key).
    pub async fn try_acquire(
        &self,
        key: LeaseKey,
        duration: Duration,
    ) -> Result<Lease, LeaseError> {
        match self.acquire_key(key, duration).await {
            Err(LeaseError::Held {
                key,
                holder: Holder::Unknown,
            }) => {
                let holder = match self.inspect(key.clone()).await {
                    Ok(LeaseSnapshot {
                        state: LeaseState::Held(info),
                        ..
                    }) => Holder::Known(info),
                    _ => Holder::Unknown,
                };
                Err(LeaseError::Held { key, holder })
            }
            other => other,
        }
    }

    /// After an acquire whose outcome stayed unknown, releases what it may have written (a
    /// token-conditioned release, so nothing of anyone else's is touched), so that the key is
    /// not blocked by a lease nobody knows it holds. Best effort: the outcome is logged.
    async fn clean_up_unsettled_acquire(&self, pending: &Lease) {
        let outcome = match self.planner.release(pending, self.now()) {
            Ok(plan) => {
                let response = self.execute(plan.request()).await;
                plan.interpret(response)
            }
            Err(e) => Err(e),
        };
        match outcome {
            Ok(outcome) => {
                debug!(key = %pending.key(), token = %pending.token(), ?outcome, "cleaned up after an acquire with unknown outcome")
            }
            Err(e) => {
                tracing::warn!(key = %pending.key(), token = %pending.token(), error = %e, "could not clean up after an acquire with unknown outcome; the lease may stay blocked until it expires")
            }
        }
    }

    /// Extends `lease` to `now + duration` (rounded up), if it is still ours and not expired.
    /// The new expiry replaces the old one, so a shorter duration shortens the lease. The
    /// fencing token is unchanged; the local safe deadline moves.
    ///
    /// # Errors
    /// - [`LeaseError::NotOwned`] if the lease expired, was taken over, released, or is gone.
    /// - [`LeaseError::InvalidInput`], [`LeaseError::OutcomeUnknown`] and [`LeaseError::Store`]
    ///   as for acquire.
    pub async fn refresh(&self, lease: &Lease, duration: Duration) -> Result<Lease, LeaseError> {
        let plan = self.planner.refresh(lease, duration, self.now())?;
        let response = self.execute(plan.request()).await;
        let result = plan.interpret(response);
        self.metrics.record_refresh(&result);
        match &result {
            Ok(lease) => {
                debug!(key = %lease.key(), token = %lease.token(), fence = ?lease.fence(), expires_at = lease.expires_at_epoch_seconds(), "lease refreshed")
            }
            Err(e) => debug!(key = %e.key(), error = %e, "lease not refreshed"),
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
    /// - [`LeaseError::OutcomeUnknown`] / [`LeaseError::Store`] if the store failed.
    pub async fn release(&self, lease: &Lease) -> Result<ReleaseOutcome, LeaseError> {
        let plan = self.planner.release(lease, self.now())?;
        let response = self.execute(plan.request()).await;
        let result = plan.interpret(response);
        self.metrics.record_release(&result);
        match &result {
            Ok(outcome) => {
                debug!(key = %lease.key(), token = %lease.token(), ?outcome, "lease released")
            }
            Err(e) => debug!(key = %e.key(), error = %e, "lease release failed"),
        }
        result
    }

    /// A guard for writes made while holding `lease`, at this manager's clock: a condition
    /// check on the lease item (`#tok = :tok AND #exp > :now`) to add to your own
    /// `TransactWriteItems`, so that it commits only while the lease is held
    /// ([`Planner::guard`]). `lease_dynamodb_sdk::guard_transact_item` turns it into an SDK
    /// `TransactWriteItem`. Plan it just before sending the transaction.
    ///
    /// If the transaction is cancelled with `ConditionalCheckFailed` at the guard's position,
    /// the lease was not held (treat it as [`LeaseError::NotOwned`]) and nothing was written.
    ///
    /// # Errors
    /// [`LeaseError::InvalidInput`] for an empty or oversized key or an empty token.
    pub fn guard_check(&self, lease: &Lease) -> Result<ConditionCheckRequest, LeaseError> {
        Ok(self
            .planner
            .guard(lease, self.now())?
            .into_condition_check())
    }

    /// The release of `lease` as a transaction item, at this manager's clock
    /// ([`Planner::release_in_transaction`]): an update that marks the lease item released,
    /// conditioned on the lease being held (`#tok = :tok AND #exp > :now`). Put it in your own
    /// transaction in place of a [`guard_check`](Self::guard_check) to commit and release together
    /// (DynamoDB rejects two operations on the lease item in one transaction);
    /// `lease_dynamodb_sdk::transact_item` turns it into an SDK `TransactWriteItem`.
    ///
    /// # Errors
    /// [`LeaseError::InvalidInput`] for an empty or oversized key or an empty token.
    pub fn release_in_transaction(&self, lease: &Lease) -> Result<TransactItem, LeaseError> {
        self.planner.release_in_transaction(lease, self.now())
    }

    /// Commits `writes` in one transaction with a guard on `lease` (first item, see
    /// [`Planner::commit`]): the writes are applied, all together, only if the lease is still
    /// held; the lease stays held. The writes may not touch the lease item itself (use
    /// [`commit_and_release`](Self::commit_and_release) to release it in the same
    /// transaction).
    ///
    /// The transaction is sent again only after throttling (nothing applied), as the retry
    /// policy allows; never after a timeout or a server error.
    ///
    /// # Errors
    /// - [`LeaseError::NotOwned`] if the guard failed: the lease expired, was taken over,
    ///   released, or is gone. Nothing was written.
    /// - [`LeaseError::TransactionCanceled`] if the transaction was cancelled for another
    ///   reason (one of `writes`' conditions failed, a conflicting transaction), with one
    ///   reason per item (the guard first). Nothing was written.
    /// - [`LeaseError::InvalidInput`] before any request for an empty key or token, more than
    ///   99 writes, or a write on the lease item.
    /// - [`LeaseError::OutcomeUnknown`] if the store failed in a way that may have applied the
    ///   transaction; [`LeaseError::Store`] if it did not (a store without transactions
    ///   answers [`StoreErrorKind::Unsupported`](lease_core::StoreErrorKind::Unsupported)).
    pub async fn commit_with_lease(
        &self,
        lease: &Lease,
        writes: Vec<TransactItem>,
    ) -> Result<(), LeaseError> {
        let plan = self.planner.commit(lease, self.now(), writes)?;
        self.commit(plan).await
    }

    /// Commits `writes` and releases `lease` in one transaction (FaceTheory's "commit the
    /// metadata and drop the lock"): the lease item is marked released under the condition
    /// that the lease is still held ([`Planner::commit_and_release`]), so the writes are
    /// applied only while it is, and the lease is released when they are.
    ///
    /// # Errors
    /// As [`commit_with_lease`](Self::commit_with_lease). After an error other than
    /// [`LeaseError::OutcomeUnknown`] the lease was not released by this call.
    pub async fn commit_and_release(
        &self,
        lease: &Lease,
        writes: Vec<TransactItem>,
    ) -> Result<(), LeaseError> {
        let plan = self.planner.commit_and_release(lease, self.now(), writes)?;
        self.commit(plan).await
    }

    async fn commit(&self, plan: CommitPlan<'_>) -> Result<(), LeaseError> {
        let response = self.execute_commit(plan.request()).await;
        let key = plan.key().clone();
        let releases = plan.releases();
        let result = plan.interpret(response);
        match &result {
            Ok(()) => debug!(%key, releases, "guarded commit applied"),
            Err(e) => debug!(%key, releases, error = %e, "guarded commit not applied"),
        }
        result
    }

    /// Reads the lease at `key` with a strongly consistent read and returns a read-only
    /// snapshot: absent, held, expired or released, with the holder's token fingerprint (never
    /// the token), expiry and fencing token. A snapshot cannot refresh or release anything.
    ///
    /// # Errors
    /// - [`LeaseError::MalformedItem`] if the item is not a readable lease (strict decoding:
    ///   a missing, wrong-typed, wrong-unit or foreign attribute).
    /// - [`LeaseError::InvalidInput`] for an empty or oversized key.
    /// - [`LeaseError::OutcomeUnknown`] / [`LeaseError::Store`] if the read failed.
    pub async fn inspect(&self, key: LeaseKey) -> Result<LeaseSnapshot, LeaseError> {
        let plan = self.planner.inspect(key)?;
        let response = self.execute(plan.request()).await;
        plan.interpret(response, self.clock.now())
    }
}

/// The lease lifecycle: waiting, guards, scoped work, shutdown, metrics (issue 4). Each method
/// delegates to its module: `wait`, `guard`, `scoped`, `metrics`.
impl<S: Store> LeaseManager<S> {
    /// Acquires the lease at `key` for `duration`, waiting while another holder has it, as
    /// `policy` says: until the holder's known expiry (polling at most every
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
    ///   [`acquire_key`](Self::acquire_key).
    pub async fn acquire_waiting(
        &self,
        key: LeaseKey,
        duration: Duration,
        policy: &WaitPolicy,
    ) -> Result<Lease, LeaseError> {
        wait::acquire_waiting(self, key, duration, policy).await
    }

    /// Acquires the lease at `key` for `duration` (once, or waiting as
    /// [`GuardOptions::wait`] says) and returns a [`LeaseGuard`] that renews it in the
    /// background until it is released or dropped, and reports when it is at risk or lost.
    ///
    /// # Errors
    /// - [`LeaseError::InvalidInput`] before any request if the renew period is not well below
    ///   the duration ([`InvalidInput::InvalidRenewPeriod`](crate::InvalidInput)), or for a
    ///   zero duration or one not above the clock skew bound.
    /// - [`LeaseError::ManagerShutDown`] after [`shutdown`](Self::shutdown).
    /// - As [`try_acquire`](Self::try_acquire), or as
    ///   [`acquire_waiting`](Self::acquire_waiting) with a wait policy.
    ///
    /// # Panics
    /// Outside a tokio runtime (the renewal task is spawned on the current one).
    pub async fn acquire_guard(
        self: &Arc<Self>,
        key: LeaseKey,
        duration: Duration,
        options: GuardOptions,
    ) -> Result<LeaseGuard<S>, LeaseError>
    where
        S: 'static,
    {
        guard::acquire_guard(self, key, duration, options).await
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
        self: &Arc<Self>,
        key: LeaseKey,
        duration: Duration,
        options: GuardOptions,
        work: F,
    ) -> Result<ScopedOutcome<T, E>, LeaseError>
    where
        S: 'static,
        F: FnOnce(LeaseContext) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        scoped::with_lease(self, key, duration, options, work).await
    }

    /// Shuts the manager's guards down: stops every renewal, releases every lease a guard of
    /// this manager still holds (guards report [`LossReason::Shutdown`](crate::LossReason)),
    /// and returns when all of them are done. Later [`acquire_guard`](Self::acquire_guard) and
    /// [`with_lease`](Self::with_lease) calls fail with [`LeaseError::ManagerShutDown`].
    /// Leases acquired without a guard are the caller's to release; plain operations keep
    /// working. Calling it again waits again (and returns at once).
    pub async fn shutdown(&self) {
        self.guards.shut_down().await;
    }

    /// The manager's counters: acquired, contended, renewed, renew failures, lost, released,
    /// and the number of running guards.
    #[must_use]
    pub fn metrics(&self) -> MetricsSnapshot {
        self.metrics.snapshot(self.guards.len())
    }
}

impl<S> std::fmt::Debug for LeaseManager<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseManager")
            .field("config", self.planner.config())
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}
