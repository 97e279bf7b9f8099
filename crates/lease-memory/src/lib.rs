//! # lease-memory: the lease library on an in-memory table
//!
//! [`MemoryStore`] executes the lease library's requests (conditional `PutItem`, `UpdateItem`,
//! `DeleteItem`, `GetItem`, and `TransactWriteItems`) on in-memory tables with DynamoDB's
//! semantics. That way a
//! service's tests run the real [`LeaseManager`] without a DynamoDB server. The contract suite
//! runs the same cases against this store and against real DynamoDB-compatible servers, to show
//! that they behave alike.
//!
//! This crate re-exports the `lease` crate's API with the same paths (the service path at the
//! root, and its modules: [`config`], [`error`], [`clock`] with the test clock, [`store`], ...),
//! so a test needs only this crate; [`fault`] injects store faults. (That is the default
//! `manager` feature. Without it, the crate is the
//! store and its evaluator alone, on lease-core, with no async runtime, no clock and no
//! entropy: [`MemoryStore::execute_now`] runs a request synchronously, as the deterministic
//! simulator does.)
//!
//! ```
//! use std::{sync::Arc, time::Duration};
//! use lease_memory::{LeaseConfig, LeaseManager, MemoryStore, ReleaseOutcome, clock::TestClock};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = LeaseConfig::builder("locks").build()?;
//! let clock = Arc::new(TestClock::at_epoch_seconds(1_000).frozen()); // moves when told only
//! let manager = LeaseManager::new(MemoryStore::for_config(&config), config)
//!     .with_clock(clock.clone());
//!
//! let lease = manager.try_acquire("CACHE#A", Duration::from_secs(30)).await?;
//! assert!(manager.try_acquire("CACHE#A", Duration::from_secs(30)).await.unwrap_err().is_held());
//!
//! clock.advance(Duration::from_secs(30)); // the lease expires: anyone may take it over
//! let taken_over = manager.try_acquire("CACHE#A", Duration::from_secs(30)).await?;
//! assert!(taken_over.fence() > lease.fence()); // fencing tokens only grow
//! assert_eq!(manager.release(&lease).await?, ReleaseOutcome::NotHeld);
//! assert_eq!(manager.release(&taken_over).await?, ReleaseOutcome::Released);
//! # Ok(())
//! # }
//! ```
//!
//! ## Semantics
//! - Conditions are evaluated by walking the expression tree ([`expr`](crate::store::expr)), never by
//!   parsing strings. Comparisons need operands of the same type; numbers compare as exact
//!   decimals (`"2"` equals `"2.00"`, 38-digit values compare exactly), strings and binary by
//!   bytes. A comparison with a missing
//!   attribute or across types is false, except `<>`, which is then true, as in DynamoDB.
//! - A failed condition writes nothing and answers
//!   [`StoreResponse::ConditionFailed`](crate::store::StoreResponse::ConditionFailed), with the current item if the request asks for it.
//! - `PutItem` replaces the whole item; `UpdateItem` is an upsert (`SET` with values,
//!   attribute copies, `if_not_exists` and exact `+`; `REMOVE`; an item it creates starts from
//!   its key, which the right-hand sides can read); numbers are stored in DynamoDB's canonical
//!   form (`"1.50"` reads back as `"1.5"`). `ReturnValues` `ALL_OLD`, `ALL_NEW` and
//!   `UPDATED_NEW` (the attributes the update sets) are answered as DynamoDB does.
//! - Requests DynamoDB would reject are [`StoreErrorKind::Validation`](crate::store::StoreErrorKind::Validation) errors: a key attribute
//!   missing, not a string, empty or too long; extra attributes in a key; an update of a key
//!   attribute; invalid numbers or empty sets; `+` on a non-number or a missing attribute. An
//!   unknown table is [`StoreErrorKind::ResourceNotFound`](crate::store::StoreErrorKind::ResourceNotFound).
//! - Each request is atomic: evaluated and applied under one lock.
//! - A transaction ([`Request::Transact`](crate::store::Request::Transact)) is atomic across its items and tables: every
//!   condition is evaluated first, and if any fails nothing is written and the answer is
//!   [`StoreResponse::TransactionCanceled`](crate::store::StoreResponse::TransactionCanceled) with one reason per item (`None` or
//!   `ConditionalCheckFailed`), as in DynamoDB. Two items on the same item, or more than 100
//!   items, are a [`StoreErrorKind::Validation`](crate::store::StoreErrorKind::Validation) error. So a guarded commit
//!   ([`LeaseManager::commit`]) behaves here as on DynamoDB.
//! - Not modelled: throttling, timeouts (inject them with [`FaultyStore`](crate::fault::FaultyStore)), item size
//!   limits, TTL deletion (a table's TTL reads as unsupported:
//!   [`MemoryStore::describe_table`]), transaction conflicts.
//!
//! Beyond the contract suite that runs the lease operations on this store, dynalite and moto,
//! a differential property test (`tests/contract/tests/differential_dynalite.rs`) sends
//! generated `PutItem`, `UpdateItem`, `DeleteItem` and `GetItem` requests (random conditions,
//! update actions, numbers and `ReturnValues`) to this store and to dynalite, and requires the
//! same answer and the same item after every request.
//!
//! ## Test helpers
//! [`MemoryStore::get_item`], [`MemoryStore::items`], [`MemoryStore::put_item_unconditionally`]
//! and [`MemoryStore::delete_item_unconditionally`] read and write tables directly (to seed
//! another writer's items or simulate one); [`MemoryStore::requests_executed`] counts requests,
//! to prove that invalid input sent none. [`MemoryStore::describe_table`] describes a table for
//! [`Planner::check_table`](crate::store::Planner::check_table).
//!
//! ## Fault injection
//! [`FaultyStore`](crate::fault::FaultyStore) wraps any store (usually a `MemoryStore`) and injects [`Fault`](crate::fault::Fault)s into chosen
//! requests, deterministically: a write that lands but whose response is lost
//! ([`Fault::ApplyThenError`](crate::fault::Fault::ApplyThenError)), a request lost on the way ([`Fault::DropBeforeApply`](crate::fault::Fault::DropBeforeApply)),
//! throttling ([`Fault::Transient`](crate::fault::Fault::Transient)), a slow request or a slow response ([`Fault::Delay`](crate::fault::Fault::Delay),
//! [`Fault::ApplyThenDelay`](crate::fault::Fault::ApplyThenDelay), on tokio's timer, so they follow a paused test clock). Faults are
//! scripted with [`FaultRule`](crate::fault::FaultRule)s (by [`RequestKind`](crate::fault::RequestKind), predicate, `skip` and `times`), drawn with
//! a probability from a seeded generator ([`FaultyStore::seeded`](crate::fault::FaultyStore::seeded)), or switched on for every
//! request with an outage ([`FaultyStore::set_outage`](crate::fault::FaultyStore::set_outage)). The log
//! ([`FaultyStore::log`](crate::fault::FaultyStore::log)) records every request and what happened to it.
//!
//! ```
//! use std::time::Duration;
//! use lease_memory::fault::{Fault, FaultRule, FaultyStore, RequestKind};
//! use lease_memory::store::StoreErrorKind;
//! use lease_memory::{LeaseConfig, LeaseManager, MemoryStore};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = LeaseConfig::builder("locks").build()?;
//! let faulty = FaultyStore::new(MemoryStore::for_config(&config));
//! let manager = LeaseManager::new(faulty.clone(), config);
//!
//! // The store is down (`Unavailable`: a 5xx, so the outcome may be unknown): the acquire
//! // fails, and nothing reached the table.
//! faulty.set_outage(Some(StoreErrorKind::Unavailable));
//! assert!(manager.try_acquire("CACHE#A", Duration::from_secs(30)).await.is_err());
//! assert!(faulty.log().iter().all(|logged| !logged.outcome().forwards()));
//! assert!(faulty.inner().items("locks").is_empty());
//!
//! // Back up, but the next write lands and its caller sees a timeout: an ambiguous outcome.
//! faulty.set_outage(None);
//! faulty.push_rule(
//!     FaultRule::new(Fault::ApplyThenError(StoreErrorKind::Timeout))
//!         .matching(RequestKind::Write)
//!         .times(1),
//! );
//! let _ambiguous = manager.try_acquire("CACHE#B", Duration::from_secs(30)).await;
//! let faulted = faulty.log().iter().filter(|logged| logged.outcome().fault().is_some()).count();
//! assert_eq!(faulted, 1);
//! assert_eq!(faulty.inner().items("locks").len(), 1); // the write landed
//! # Ok(())
//! # }
//! ```

// The #[non_exhaustive] policy (docs/architecture.md, "Public API"): a public enum, or a
// struct with public fields, is #[non_exhaustive] unless an #[expect] says why it is complete.
#![warn(clippy::exhaustive_enums, clippy::exhaustive_structs)]

mod eval;
#[cfg(feature = "manager")]
pub mod fault;
mod memory_error;
mod memory_store;
mod memory_table;
mod number;
#[cfg(feature = "manager")]
mod tokens;
mod transact;
mod update;
mod value;

pub use memory_error::{KeyError, MemoryError};
pub use memory_store::MemoryStore;

// The service path (the `lease` crate's root).
#[cfg(feature = "manager")]
pub use lease::{
    FencingToken, GuardOptions, Lease, LeaseConfig, LeaseContext, LeaseError, LeaseGuard, LeaseKey,
    LeaseManager, LeaseSet, LeaseSnapshot, LeaseStatus, LossReason, ReleaseOutcome, ScopedOutcome,
    WaitPolicy,
};

// The `lease` crate's modules, with the same paths.
#[cfg(feature = "manager")]
pub use lease::{
    clock, config, election, error, metrics, semaphore, snapshot, status, store, table, token,
    transaction,
};

/// The README's Rust example, compiled as a doctest so that it cannot rot.
#[cfg(all(doctest, feature = "manager"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
