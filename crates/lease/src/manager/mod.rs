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
mod permits;

pub(crate) use operations::not_an_election;
mod sets;

use std::sync::Arc;

use lease_core::{Lease, LeaseConfig, Now, Planner, RetryPolicy, Store, TokenSource};

use crate::clock::{Clock, SystemClock};
use crate::guard::GuardRegistry;
use crate::handover::Handover;
use crate::metrics::Metrics;
use crate::tokens::UuidTokens;

/// Acquires, refreshes, releases and inspects leases in one table, on any [`Store`].
///
/// Each operation is one conditional request, with no read before it (sent again, unchanged,
/// after a transient failure, as [`RetryPolicy`] says). The same manager code runs on DynamoDB
/// (`lease_dynamodb_sdk::DynamoDbStore`) and in memory (`lease_memory::MemoryStore`).
///
/// A manager is cheap to clone, as the AWS SDK's `Client` is: clones share the store, the
/// guards (one [`shutdown`](Self::shutdown) stops them all) and the counters; each clone has its
/// own clock, token source and retry policy (set with the `with_` methods). It is
/// `Send + Sync`.
pub struct LeaseManager<S> {
    /// What clones share.
    pub(crate) shared: Arc<Shared<S>>,
    clock: Arc<dyn Clock>,
    tokens: Arc<dyn TokenSource>,
    retry: RetryPolicy,
}

/// The part of a manager its clones share.
pub(crate) struct Shared<S> {
    store: S,
    planner: Arc<Planner>,
    /// Counters of lease events ([`LeaseManager::metrics`]).
    pub(crate) metrics: Arc<Metrics>,
    /// The driver tasks of the guards ([`LeaseManager::shutdown`]).
    pub(crate) guards: GuardRegistry,
    /// The waiters in line per key (in-process handover).
    pub(crate) handover: Handover,
}

impl<S> Clone for LeaseManager<S> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            clock: Arc::clone(&self.clock),
            tokens: Arc::clone(&self.tokens),
            retry: self.retry,
        }
    }
}

impl<S: Store> LeaseManager<S> {
    /// A manager for `config`'s table on `store`, with the system clocks, the store's
    /// [default token source](Store::default_token_source) (UUIDv4 strings unless the store
    /// says otherwise) and the default [`RetryPolicy`].
    pub fn new(store: S, config: LeaseConfig) -> Self {
        let tokens = store
            .default_token_source()
            .unwrap_or_else(|| Arc::new(UuidTokens));
        Self {
            shared: Arc::new(Shared {
                store,
                planner: Arc::new(Planner::new(config)),
                metrics: Arc::default(),
                guards: GuardRegistry::default(),
                handover: Handover::default(),
            }),
            clock: Arc::new(SystemClock),
            tokens,
            retry: RetryPolicy::default(),
        }
    }

    /// Replaces the clock (TableTheory's `WithNow`): a [`Clock`], or an `Arc` of one to share
    /// it with the test that moves it.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
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
        &self.shared.store
    }

    /// The configuration.
    pub fn config(&self) -> &LeaseConfig {
        self.shared.planner.config()
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Whether the holder may still work under `lease` now, by this manager's clocks: both of
    /// its local safe deadlines are ahead ([`Lease::is_valid_at`] with a reading of this
    /// manager's clock, so a `TestClock` is honoured). `false` for a lease without a deadline.
    #[must_use]
    pub fn is_valid(&self, lease: &Lease) -> bool {
        lease.is_valid_at(self.now())
    }

    /// The planner, shared with the machines that keep leases.
    pub(crate) fn planner(&self) -> &Arc<Planner> {
        &self.shared.planner
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

    fn now(&self) -> Now {
        Now::new(self.clock.now(), self.clock.monotonic())
    }
}

impl<S> std::fmt::Debug for LeaseManager<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseManager")
            .field("config", self.shared.planner.config())
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}
