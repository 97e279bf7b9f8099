//! # lease: one async lease manager for every store
//!
//! A lease gives one worker at a time the right to do a job: regenerate one cached page, run one
//! cron, lead one shard. [`LeaseManager`] acquires, refreshes and releases leases stored as items
//! in a DynamoDB-shaped table. It plans every request with [`lease_core`] (pure, no I/O) and
//! executes it on a [`Store`](store::Store):
//! - `lease-dynamodb-sdk`: DynamoDB through `aws-sdk-dynamodb` (what services use);
//! - `lease-memory`: an in-memory table with DynamoDB's conditional-write semantics (what tests
//!   use).
//!
//! Both store crates re-export this crate's API, with the same paths, so a service depends on
//! one crate only.
//!
//! ## The map
//! - **The root** is the service path: [`LeaseManager`], [`LeaseConfig`], [`LeaseKey`],
//!   [`Lease`] and its [`FencingToken`], [`LeaseSet`] (several keys held together), [`LeaseError`], [`ReleaseOutcome`], the renewing
//!   [`LeaseGuard`] with its [`GuardOptions`], [`LeaseStatus`] and [`LossReason`], scoped work
//!   ([`LeaseContext`], [`ScopedOutcome`]), waiting ([`WaitPolicy`]) and [`LeaseSnapshot`].
//! - [`config`]: the configuration builder, retry and renewal policies, defaults and limits.
//! - [`error`]: the details of a [`LeaseError`]. [`snapshot`]: who holds a lease.
//!   [`status`]: watching a guard. [`token`]: bearer tokens and their sources.
//! - [`semaphore`]: counting semaphores ([`LeaseManager::try_acquire_permit`]).
//! - [`election`]: leader election ([`LeaseManager::campaign`], [`LeaseManager::leader`],
//!   [`LeaseManager::observe`]).
//! - [`transaction`]: your own writes guarded by the lease. [`table`]: the table check.
//! - [`clock`]: injected time, and the test clock. [`metrics`]: the counters.
//! - [`store`]: for store implementors (requests, answers, the expression AST, the planner).
//!
//! The item format is compatible with TableTheory's `lease` package (Go, TypeScript, Python), so
//! services in those languages can share one lock table.
//!
//! Time and tokens are injected: [`Clock`](clock::Clock) ([`SystemClock`](clock::SystemClock)
//! by default, [`TestClock`](clock::TestClock) in tests: tokio's clock, paused or not, plus the
//! moves a test makes) and [`TokenSource`](token::TokenSource) (by default the store's
//! [`Store::default_token_source`](store::Store::default_token_source):
//! [`UuidTokens`](token::UuidTokens), a kernel read per token, unless the store's table lives
//! in one process).
//!
//! ## Lifecycle
//! Beyond single operations, the manager keeps leases for you (docs/lifecycle.md, in the
//! source repository, has the details):
//! - [`LeaseManager::acquire`] waits for a held lease as a [`WaitPolicy`] says (until
//!   the holder's known expiry, with jittered, capped backoff, within a timeout); dropping the
//!   future cancels the wait.
//! - [`LeaseManager::acquire_guard`] returns a [`LeaseGuard`] that renews the lease in the
//!   background, reports it [`AtRisk`](LeaseStatus::AtRisk) while renewals fail and
//!   [`Lost`](LeaseStatus::Lost) (with a [`LossReason`]) no later than its safe deadline, and
//!   releases it on [`release`](LeaseGuard::release) or drop.
//! - [`LeaseManager::with_lease`] runs scoped work under a guard and returns a
//!   [`ScopedOutcome`]; [`LeaseManager::shutdown`] releases every guarded lease;
//!   [`LeaseManager::metrics`] reads the counters ([`MetricsSnapshot`](metrics::MetricsSnapshot)).
//!
//! Operations emit `tracing` events (and guards a `lease_guard` span) with the key and the
//! fencing token, never the bearer token (only its fingerprint).
//!
//! With the cargo feature `metrics` (off by default), the counters are also emitted through
//! the [`metrics`](https://docs.rs/metrics/0.24) facade, as `lease_acquired_total`,
//! `lease_contended_total`, ... and the gauge `lease_active_guards`: the names, units and
//! meanings are in [`MetricsSnapshot`](metrics::MetricsSnapshot)'s documentation.

// The #[non_exhaustive] policy (docs/architecture.md, "Public API"): a public enum, or a
// struct with public fields, is #[non_exhaustive] unless an #[expect] says why it is complete.
#![warn(clippy::exhaustive_enums, clippy::exhaustive_structs)]

pub mod clock;
mod guard;
mod handover;
mod in_flight;
mod leadership;
mod manager;
pub mod metrics;
mod scoped;
#[cfg(feature = "test-util")]
mod test_clock;
mod tokens;
mod wait;

// The service path: what a service needs to take, keep and give back a lease.
pub use guard::{GuardOptions, LeaseContext, LeaseGuard};
pub use lease_core::{
    FencingToken, Lease, LeaseConfig, LeaseError, LeaseKey, LeaseSet, LeaseSnapshot, LeaseStatus,
    LossReason, ReleaseOutcome, WaitPolicy,
};
pub use manager::LeaseManager;
pub use scoped::ScopedOutcome;

/// Configuration beyond [`LeaseConfig`]: its builder, retry and renewal policies, the expiry
/// unit, defaults and the limits input is checked against.
pub mod config {
    pub use lease_core::lifecycle::{
        DEFAULT_RENEW_JITTER, MAX_RENEW_JITTER, MIN_POLL_DELAY, MIN_RETRY_DELAY,
    };
    pub use lease_core::{
        ConfigError, ExpiryUnit, LeaseConfigBuilder, MAX_ATTRIBUTE_NAME_BYTES,
        MAX_CLOCK_SKEW_BOUND, MAX_LEASE_DURATION, MAX_PARTITION_KEY_BYTES, MAX_SET_KEYS,
        MAX_SORT_KEY_BYTES, MAX_TOKEN_BYTES, MAX_TTL_BUFFER, MAX_VALUE_BYTES, RenewPolicy,
        RetryPolicy, TTL_BUFFER_SKEW_FACTOR, defaults,
    };
}

/// The details of a [`LeaseError`]: why input was refused ([`InvalidInput`](error::InvalidInput)),
/// why an item is not a readable lease ([`DecodeError`](error::DecodeError)), which operation
/// failed, and why a transaction was cancelled. Store failures are in [`store`].
pub mod error {
    pub use lease_core::{CancellationReason, DecodeError, InvalidInput, Operation, Report};
}

/// Who holds a lease, as a [`LeaseSnapshot`] or a [`LeaseError::Held`] reports it (never the
/// token: its fingerprint).
pub mod snapshot {
    pub use lease_core::{Holder, HolderRecord, RELEASED_EXPIRY, StoredState, TokenFingerprint};
}

/// Leader election on a lease: [`LeaseManager::campaign`] wins a [`Leadership`](election::Leadership)
/// (a guard whose acquire proclaimed the candidate's value), [`LeaseManager::leader`] reads the
/// [`Leader`](election::Leader), [`LeaseManager::observe`] follows it
/// ([`LeaderWatch`](election::LeaderWatch)). An election named `N` is the lease at
/// [`election_key`](election::election_key)`(N)`: sort key
/// [`ELECTION_SORT_KEY`](election::ELECTION_SORT_KEY) (`LEADER`).
pub mod election {
    pub use crate::leadership::{LeaderWatch, Leadership, ObserverStopped};
    pub use lease_core::{ELECTION_SORT_KEY, Leader, election_key};
}

/// Counting semaphores: at most `N` holders under one name
/// ([`LeaseManager::try_acquire_permit`], [`LeaseManager::acquire_permit`],
/// [`LeaseManager::acquire_permit_guard`]). A permit is a lease on slot
/// [`permit_key`](semaphore::permit_key)`(name, i)`, `i < N`: sort key
/// [`PERMIT_SORT_KEY_PREFIX`](semaphore::PERMIT_SORT_KEY_PREFIX) (`PERMIT#`) and `i` in four
/// digits.
pub mod semaphore {
    pub use lease_core::{
        MAX_PERMITS, PERMIT_SORT_KEY_PREFIX, is_reserved_sort_key, permit_index, permit_key,
    };
}

/// Watching a guarded lease: a [`LeaseStatus`] watch and the stop signal work should obey.
pub mod status {
    pub use crate::guard::{StatusWatch, StopSignal};
    /// What a guard keeps: a [`Lease`](crate::Lease) (the default) or a
    /// [`LeaseSet`](crate::LeaseSet) (`LeaseGuard<S, LeaseSet>`).
    pub use lease_core::lifecycle::Kept;
}

/// Bearer tokens: the token type, where tokens come from, and the default source.
pub mod token {
    pub use crate::tokens::UuidTokens;
    pub use lease_core::{LeaseToken, TokenSource};
}

/// Writes guarded by a lease, in your own `TransactWriteItems`
/// ([`LeaseManager::lease_check`], [`LeaseManager::release_in_transaction`],
/// [`LeaseManager::commit`]).
pub mod transaction {
    pub use lease_core::{
        COMMIT_LEASE_CHECK_INDEX, ConditionCheckRequest, LeaseCheck, MAX_TRANSACT_ITEMS,
        TransactItem, TransactRequest,
    };
}

/// What a table must look like for leases, and what a table check finds.
pub mod table {
    pub use lease_core::{
        KeyAttribute, KeyRole, MultiRegionConsistency, Replication, ReplicationCheck, ScalarType,
        TableCheck, TableCheckError, TableDescription, TtlCheck, TtlStatus,
    };
}

/// For store implementors and tests of stores: the [`Store`](store::Store) trait, the requests
/// a store executes and its answers, the attribute values and the expression AST
/// ([`expr`](store::expr)), the planner, and the wire-time conversions. (The lifecycle
/// machines, for other drivers than this crate's manager, are in the `lifecycle` module of
/// the `lease-core` crate.) A service does not need
/// this module; its errors' details ([`StoreError`](store::StoreError),
/// [`StoreErrorKind`](store::StoreErrorKind)) are here.
pub mod store {
    pub use lease_core::{
        AttributeValue, DeleteRequest, Expressions, GetRequest, Item, OnConditionFailure, Planner,
        PutRequest, QueryRequest, RenderCache, Rendered, Request, ReturnValues, Store, StoreError,
        StoreErrorKind, StoreResponse, Text, UpdateRequest, expr,
    };

    /// Conversions between wall-clock time and the epoch numbers stored in lease items (the
    /// expiry unit itself is [`config::ExpiryUnit`](crate::config::ExpiryUnit)).
    pub mod wire_time {
        pub use lease_core::wire_time::{
            epoch_nanos, epoch_seconds_floor, expiry_epoch_seconds, from_epoch_nanos,
            from_epoch_seconds, seconds_ceil,
        };
    }
}
