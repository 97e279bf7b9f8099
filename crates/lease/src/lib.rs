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
//! Time and tokens are injected: [`Clock`] ([`SystemClock`] by default, [`ManualClock`] for
//! tests) and [`TokenSource`] ([`UuidTokens`] by default).

mod clock;
mod manager;
mod store;
mod tokens;

pub use clock::{Clock, ManualClock, SystemClock};
pub use manager::LeaseManager;
pub use store::Store;
pub use tokens::{TokenSource, UuidTokens};

pub use lease_core::{
    AttributeValue, ConfigError, DecodeError, Holder, HolderInfo, InvalidInput, Item, Lease,
    LeaseConfig, LeaseConfigBuilder, LeaseError, LeaseKey, LeaseToken, Operation, Planner,
    ReleaseOutcome, Request, StoreError, StoreErrorKind, StoreResponse, TokenFingerprint, defaults,
};

/// The pure core: request and response types, the expression AST, wire-time helpers.
pub use lease_core as core;
pub use lease_core::time;
