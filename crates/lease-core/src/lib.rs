//! # lease-core: the lease protocol as data
//!
//! The pure core of the `lease` library. It builds the DynamoDB requests of a lease (conditional
//! put, update, delete, get) as plain data and interprets the store's answers as typed results.
//! It does no I/O, runs no async runtime, depends on no AWS crate, reads no clock and draws no
//! randomness: wall-clock time (`now`) and tokens are parameters.
//!
//! ## Run loop
//! 1. [`Planner::acquire`] / [`Planner::refresh`] / [`Planner::release`] check the input and return
//!    a plan (no request exists for bad input).
//! 2. A store executes [`plan.request()`](AcquirePlan::request) and answers with
//!    `Result<`[`StoreResponse`]`, `[`StoreError`]`>`.
//! 3. `plan.interpret(answer)` gives the typed result: a [`Lease`], a [`ReleaseOutcome`], or a
//!    [`LeaseError`] such as [`LeaseError::Held`].
//!
//! The `lease` crate drives this loop on any store; `lease-dynamodb-sdk` and `lease-memory` are
//! stores.
//!
//! ## Wire format
//! Compatible with TableTheory's `lease` package (Go, TypeScript, Python): one item per lease with
//! `pk` (S), `sk` (S, `LOCK` by default), `lease_token` (S), `lease_expires_at` (N, whole epoch
//! seconds) and `ttl` (N, whole epoch seconds, expiry plus a buffer). See `docs/wire-format.md`.
//! Where TableTheory is unsafe this crate deviates, and says so: the stored expiry is rounded up
//! (never a lease shorter than asked) and release reports whether it released anything.
//!
//! ## Time
//! `now` is an [`OffsetDateTime`](time::OffsetDateTime) from the caller's clock. A lease is held
//! while `lease_expires_at > now` on the clock of whoever checks; see [`wire_time`].
//!
//! ## Panics
//! Nothing here panics on input from a caller or a store.

mod acquire;
mod attribute;
mod config;
mod error;
pub mod expr;
mod holder;
mod key;
mod lease;
mod planner;
mod refresh;
mod release;
mod render;
mod request;
mod response;
mod token;
mod validate;
pub mod wire_time;

pub use acquire::AcquirePlan;
pub use attribute::{AttributeValue, Item};
pub use config::{
    LeaseConfig, LeaseConfigBuilder, MAX_ATTRIBUTE_NAME_BYTES, MAX_TTL_BUFFER, defaults,
};
pub use error::{ConfigError, DecodeError, InvalidInput, LeaseError, Operation};
pub use holder::{Holder, HolderInfo};
pub use key::LeaseKey;
pub use lease::{Lease, ReleaseOutcome};
pub use planner::Planner;
pub use refresh::RefreshPlan;
pub use release::ReleasePlan;
pub use render::Rendered;
pub use request::{
    DeleteRequest, GetRequest, OnConditionFailure, PutRequest, Request, ReturnValues, UpdateRequest,
};
pub use response::{StoreError, StoreErrorKind, StoreResponse};
pub use token::{LeaseToken, TokenFingerprint};
pub use validate::{MAX_LEASE_DURATION, MAX_PARTITION_KEY_BYTES, MAX_SORT_KEY_BYTES};

pub use time;
