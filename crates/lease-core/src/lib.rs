//! # lease-core: the lease protocol as data
//!
//! The pure core of the `lease` library. It builds the DynamoDB requests of a lease (conditional
//! put, update, delete, get, and transactions for writes guarded by a lease) as plain data and
//! interprets the store's answers as typed results.
//! It does no I/O, runs no async runtime, depends on no AWS crate, reads no clock and draws no
//! randomness: wall-clock time (`now`) and tokens are parameters.
//!
//! ## Run loop
//! 1. [`Planner::acquire`] / [`Planner::refresh`] / [`Planner::release`] /
//!    [`Planner::inspect`] check the input and return a plan (no request exists for bad input).
//! 2. A store executes [`plan.request()`](AcquirePlan::request) and answers with
//!    `Result<`[`StoreResponse`]`, `[`StoreError`]`>`.
//! 3. `plan.interpret(answer)` gives the typed result: a [`Lease`] (with its [`FencingToken`]
//!    and local safe deadline), a [`ReleaseOutcome`], a [`LeaseSnapshot`], or a [`LeaseError`]
//!    such as [`LeaseError::Held`] or [`LeaseError::OutcomeUnknown`].
//!
//! Every plan's request may be sent again unchanged after a timeout or a lost response; the
//! answer to the re-send is still definite (an acquire recognises its own token, a refresh
//! meets its own condition, a release is idempotent).
//!
//! The `lease` crate drives this loop on any store; `lease-dynamodb-sdk` and `lease-memory` are
//! stores.
//!
//! ## Writes guarded by the lease
//! [`Planner::lease_check`] gives a condition check on the lease item (token matches, not expired) to
//! add to the caller's own transaction, so the caller's writes commit only while the lease is
//! held; [`Planner::release_in_transaction`] gives the release of the lease under the same
//! condition, to commit and release in one transaction. [`Planner::commit`] and
//! [`Planner::commit_and_release`] plan the whole transaction ([`Request::Transact`]) and read
//! its cancellation reasons: a failed guard is [`LeaseError::NotOwned`].
//!
//! ## Table check
//! [`Planner::check_table`] compares a [`TableDescription`] (key schema, replication across
//! Regions and TTL setting, as a store reports it) with the configuration and says what to fix;
//! a global table with multi-Region eventual consistency, where two Regions can grant the same
//! lease, is refused.
//!
//! ## Wire format
//! Compatible with TableTheory's `lease` package (Go, TypeScript, Python): one item per lease with
//! `pk` (S), `sk` (S, `LOCK` by default), `lease_token` (S), `lease_expires_at` (N, whole epoch
//! seconds) and `ttl` (N, whole epoch seconds, expiry plus a buffer), plus our fencing token
//! `lease_fence` (N), which TableTheory's code ignores (docs/wire-format.md in the source
//! repository has every expression). Where
//! TableTheory is unsafe this crate deviates, and says so: the stored expiry is rounded up (never
//! a lease shorter than asked), release keeps the item (so the fencing token survives) and
//! reports whether it released anything, and a malformed item is an error, not "held".
//!
//! ## Time
//! [`Now`] carries the caller's wall clock (a [`SystemTime`](std::time::SystemTime), for
//! `:now` and the stored expiry) and, optionally, its monotonic clock (for
//! [`Lease::valid_until`]: send time + duration − the configured clock-skew bound). A lease is
//! held while `lease_expires_at > now` on the clock of whoever checks; see [`wire_time`] and
//! docs/correctness.md in the source repository.
//!
//! ## Panics
//! Nothing here panics on input from a caller or a store.

// The #[non_exhaustive] policy (docs/architecture.md, "Public API"): a public enum, or a
// struct with public fields, is #[non_exhaustive] unless an #[expect] says why it is complete.
#![warn(clippy::exhaustive_enums, clippy::exhaustive_structs)]
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

mod acquire;
mod attribute;
mod commit;
mod config;
mod election;
mod error;
pub mod expr;
mod fence;
mod guard;
mod holder;
mod inspect;
mod key;
mod lease;
mod lease_set;
pub mod lifecycle;
mod now;
mod planner;
mod refresh;
mod release;
mod render;
mod render_cache;
mod request;
mod response;
mod semaphore;
mod store;
mod table_check;
mod template;
mod text;
mod token;
mod transact;
mod validate;
pub mod wire_time;

pub use acquire::AcquirePlan;
pub use attribute::{AttributeValue, Item};
pub use commit::{COMMIT_LEASE_CHECK_INDEX, CommitPlan};
pub use config::{
    LeaseConfig, LeaseConfigBuilder, MAX_ATTRIBUTE_NAME_BYTES, MAX_CLOCK_SKEW_BOUND,
    MAX_TTL_BUFFER, TTL_BUFFER_SKEW_FACTOR, defaults,
};
pub use election::{ELECTION_SORT_KEY, Leader, election_key};
pub use error::{ConfigError, DecodeError, InvalidInput, LeaseError, Operation, Report};
pub use fence::FencingToken;
pub use guard::LeaseCheck;
pub use holder::{Holder, HolderRecord, RELEASED_EXPIRY};
pub use inspect::{InspectPlan, LeaseSnapshot, StoredState};
pub use key::LeaseKey;
pub use lease::{Lease, PendingLease, ReleaseOutcome};
pub use lease_set::{LeaseSet, MAX_SET_KEYS};
pub use lifecycle::{
    LeaseStatus, LossReason, MIN_POLL_DELAY, RenewPolicy, RetryPolicy, WaitPolicy,
};
pub use now::Now;
pub use planner::Planner;
pub use refresh::RefreshPlan;
pub use release::ReleasePlan;
pub use render::Rendered;
pub use render_cache::RenderCache;
pub use request::{
    DeleteRequest, GetRequest, OnConditionFailure, PutRequest, QueryRequest, Request, ReturnValues,
    UpdateRequest,
};
pub use response::{StoreError, StoreErrorKind, StoreResponse};
pub use semaphore::{
    MAX_PERMITS, PERMIT_SORT_KEY_PREFIX, is_reserved_sort_key, permit_index, permit_key,
};
pub use store::Store;
pub use table_check::{
    KeyAttribute, KeyRole, MultiRegionConsistency, Replication, ReplicationCheck, ScalarType,
    TableCheck, TableCheckError, TableDescription, TtlCheck, TtlStatus,
};
pub use template::Expressions;
pub use text::Text;
pub use token::{LeaseToken, TokenFingerprint, TokenSource};
pub use transact::{
    CancellationReason, ConditionCheckRequest, MAX_TRANSACT_ITEMS, TransactItem, TransactRequest,
};
pub use validate::{
    MAX_LEASE_DURATION, MAX_PARTITION_KEY_BYTES, MAX_SORT_KEY_BYTES, MAX_TOKEN_BYTES,
    MAX_VALUE_BYTES,
};
pub use wire_time::ExpiryUnit;
