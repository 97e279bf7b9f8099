//! # lease: one async lease manager for every store
//!
//! A lease gives one worker at a time the right to do a job: regenerate one cached page, run one
//! cron, lead one shard. [`LeaseManager`] acquires, refreshes and releases leases stored as items
//! in a DynamoDB-shaped table. It plans every request with [`lease_core`] (pure, no I/O) and
//! executes it on a [`Store`]:
//! - `lease-dynamodb-sdk`: DynamoDB through `aws-sdk-dynamodb` (what services use);
//! - `lease-memory`: an in-memory table with DynamoDB's conditional-write semantics (what tests
//!   use).
//!
//! Both store crates re-export this crate's API, so a service depends on one crate only.
//!
//! The item format is compatible with TableTheory's `lease` package (Go, TypeScript, Python), so
//! services in those languages can share one lock table.
//!
//! Time and tokens are injected: [`Clock`] ([`SystemClock`] by default, [`TestClock`] in tests:
//! tokio's clock, paused or not, plus the moves a test makes)
//! and [`TokenSource`] (by default the store's [`Store::default_token_source`]: [`UuidTokens`],
//! a kernel read per token, unless the store's table lives in one process).
//!
//! ## Lifecycle
//! Beyond single operations, the manager keeps leases for you (see `docs/lifecycle.md`):
//! - [`LeaseManager::acquire`] waits for a held lease as a [`WaitPolicy`] says (until
//!   the holder's known expiry, with jittered, capped backoff, within a timeout); dropping the
//!   future cancels the wait.
//! - [`LeaseManager::acquire_guard`] returns a [`LeaseGuard`] that renews the lease in the
//!   background, reports it [`AtRisk`](LeaseStatus::AtRisk) while renewals fail and
//!   [`Lost`](LeaseStatus::Lost) (with a [`LossReason`]) no later than its safe deadline, and
//!   releases it on [`release`](LeaseGuard::release) or drop.
//! - [`LeaseManager::with_lease`] runs scoped work under a guard and returns a
//!   [`ScopedOutcome`]; [`LeaseManager::shutdown`] releases every guarded lease;
//!   [`LeaseManager::metrics`] reads the counters ([`MetricsSnapshot`]).
//!
//! Operations emit `tracing` events (and guards a `lease_guard` span) with the key and the
//! fencing token, never the bearer token (only its fingerprint).
//!
//! With the cargo feature `metrics` (off by default), the counters are also emitted through
//! the [`metrics`](https://docs.rs/metrics/0.24) facade, as `lease_acquired_total`,
//! `lease_contended_total`, ... and the gauge `lease_active_guards`: the names, units and
//! meanings are in [`MetricsSnapshot`]'s documentation.

mod clock;
mod guard;
mod manager;
mod metrics;
mod scoped;
mod tokens;
mod wait;

pub use clock::{Clock, SystemClock, TestClock};
pub use guard::{GuardOptions, LeaseContext, LeaseGuard, StatusWatch, StopSignal};
pub use manager::LeaseManager;
pub use metrics::MetricsSnapshot;
pub use scoped::ScopedOutcome;
pub use tokens::UuidTokens;

pub use lease_core::{
    AttributeValue, CancellationReason, ConditionCheckRequest, ConfigError, DecodeError,
    DeleteRequest, ExpiryUnit, FencingToken, Holder, HolderInfo, InvalidInput, Item, Lease,
    LeaseConfig, LeaseConfigBuilder, LeaseError, LeaseKey, LeaseSnapshot, LeaseState, LeaseStatus,
    LeaseToken, LossReason, MIN_POLL_DELAY, Now, OnConditionFailure, Operation, Planner,
    PutRequest, ReleaseOutcome, RenewPolicy, Request, RetryPolicy, Store, StoreError,
    StoreErrorKind, StoreResponse, TableCheck, TableCheckError, TableDescription, Text,
    TokenFingerprint, TokenSource, TransactItem, TtlCheck, UpdateRequest, WaitPolicy, defaults,
};

/// The pure core: request and response types, the expression AST, wire-time helpers.
pub use lease_core as core;
