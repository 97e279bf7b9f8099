//! The async lease manager: plans with lease-core, executes on a store.
//!
//! One type, [`LeaseManager`], in five files: this one (construction, configuration),
//! `drive` (pumping an operation's lease-core machine with the store and the clock),
//! `operations` (acquire, refresh, release, inspect), `commit` (writes guarded by the lease,
//! in transactions) and `lifecycle` (waiting, guards, scoped work, shutdown, metrics).

mod commit;
mod drive;
mod lifecycle;
mod operations;

use std::sync::Arc;

use lease_core::{
    CompactString, LeaseConfig, LeaseKey, Now, Planner, RetryPolicy, Store, TokenSource,
};

use crate::clock::{Clock, SystemClock};
use crate::guard::GuardRegistry;
use crate::metrics::Metrics;
use crate::tokens::UuidTokens;

/// Acquires, refreshes, releases and inspects leases in one table, on any [`Store`].
///
/// Each operation is one conditional request, with no read before it (sent again, unchanged,
/// after a transient failure, as [`RetryPolicy`] says). The same manager code runs on DynamoDB
/// (`lease_dynamodb_sdk::DynamoDbStore`) and in memory (`lease_memory::MemoryStore`).
///
/// The manager is `Send + Sync`; share it with an `Arc` or by reference.
pub struct LeaseManager<S> {
    store: S,
    planner: Arc<Planner>,
    clock: Arc<dyn Clock>,
    tokens: Arc<dyn TokenSource>,
    retry: RetryPolicy,
    /// Counters of lease events ([`metrics`](Self::metrics)).
    pub(crate) metrics: Arc<Metrics>,
    /// The driver tasks of this manager's guards ([`shutdown`](Self::shutdown)).
    pub(crate) guards: GuardRegistry,
}

impl<S: Store> LeaseManager<S> {
    /// A manager for `config`'s table on `store`, with the system clocks, the store's
    /// [default token source](Store::default_token_source) (UUIDv4 strings:
    /// [`UuidTokens`](crate::UuidTokens) unless the store says otherwise) and the default
    /// [`RetryPolicy`].
    pub fn new(store: S, config: LeaseConfig) -> Self {
        let tokens = store
            .default_token_source()
            .unwrap_or_else(|| Arc::new(UuidTokens));
        Self {
            store,
            planner: Arc::new(Planner::new(config)),
            clock: Arc::new(SystemClock),
            tokens,
            retry: RetryPolicy::default(),
            metrics: Arc::default(),
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

    /// The planner, shared with the machines that keep leases.
    pub(crate) fn planner(&self) -> &Arc<Planner> {
        &self.planner
    }

    /// The retry policy.
    pub(crate) fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// The token source.
    pub(crate) fn token_source(&self) -> Arc<dyn TokenSource> {
        Arc::clone(&self.tokens)
    }

    /// A reading of both clocks.
    pub(crate) fn clock_reading(&self) -> Now {
        self.now()
    }

    /// The key of the lease for `partition_key` under the configured lock sort key (`LOCK` by
    /// default).
    pub fn lock_key(&self, partition_key: impl Into<CompactString>) -> LeaseKey {
        self.planner.lock_key(partition_key)
    }

    fn now(&self) -> Now {
        Now::new(self.clock.now(), self.clock.monotonic())
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
