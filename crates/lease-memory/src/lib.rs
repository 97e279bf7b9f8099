//! # lease-memory: the lease library on an in-memory table
//!
//! [`MemoryStore`] executes the lease library's requests (conditional `PutItem`, `UpdateItem`,
//! `DeleteItem`, and `GetItem`) on in-memory tables with DynamoDB's semantics. That way a
//! service's tests run the real [`LeaseManager`] without a DynamoDB server. The contract suite
//! runs the same cases against this store and against real DynamoDB-compatible servers, to show
//! that they behave alike.
//!
//! This crate re-exports the whole API of the `lease` crate (`pub use lease::*`), so a test
//! needs only this crate:
//!
//! ```
//! use std::{sync::Arc, time::Duration};
//! use lease_memory::{LeaseConfig, LeaseManager, ManualClock, MemoryStore, ReleaseOutcome};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = LeaseConfig::builder("locks").build()?;
//! let clock = Arc::new(ManualClock::at_epoch_seconds(1_000));
//! let manager = LeaseManager::new(MemoryStore::for_config(&config), config)
//!     .with_shared_clock(clock.clone());
//!
//! let lease = manager.acquire("CACHE#A", Duration::from_secs(30)).await?;
//! assert!(manager.acquire("CACHE#A", Duration::from_secs(30)).await.unwrap_err().is_held());
//!
//! clock.advance(Duration::from_secs(30)); // the lease expires: anyone may take it over
//! let taken_over = manager.acquire("CACHE#A", Duration::from_secs(30)).await?;
//! assert_eq!(manager.release(&lease).await?, ReleaseOutcome::NotHeld);
//! assert_eq!(manager.release(&taken_over).await?, ReleaseOutcome::Released);
//! # Ok(())
//! # }
//! ```
//!
//! ## Semantics
//! - Conditions are evaluated by walking the expression tree ([`core::expr`]), never by
//!   parsing strings. Comparisons need operands of the same type; numbers compare as exact
//!   decimals (`"2"` equals `"2.00"`, 38-digit values compare exactly), strings and binary by
//!   bytes. A comparison with a missing
//!   attribute or across types is false, except `<>`, which is then true, as in DynamoDB.
//! - A failed condition writes nothing and answers
//!   [`StoreResponse::ConditionFailed`], with the current item if the request asks for it.
//! - `PutItem` replaces the whole item; `UpdateItem` is an upsert (`SET` with values,
//!   attribute copies, `if_not_exists` and exact `+`; `REMOVE`); numbers are stored in
//!   DynamoDB's canonical form (`"1.50"` reads back as `"1.5"`).
//! - Requests DynamoDB would reject are [`StoreErrorKind::Validation`] errors: a key attribute
//!   missing, not a string, empty or too long; extra attributes in a key; an update of a key
//!   attribute; invalid numbers or empty sets; `+` on a non-number or a missing attribute. An
//!   unknown table is [`StoreErrorKind::ResourceNotFound`].
//! - Each request is atomic: evaluated and applied under one lock.
//! - Not modelled: throttling, timeouts, item size limits, TTL deletion, transactions.
//!
//! ## Test helpers
//! [`MemoryStore::get_item`], [`MemoryStore::items`], [`MemoryStore::put_item_unconditionally`]
//! and [`MemoryStore::delete_item_unconditionally`] read and write tables directly (to seed
//! another writer's items or simulate one); [`MemoryStore::requests_executed`] counts requests,
//! to prove that invalid input sent none.

mod error;
mod eval;
mod number;
mod store;
mod table;
mod update;
mod value;

pub use error::{KeyError, MemoryError};
pub use store::MemoryStore;

/// The `lease` crate's whole API: [`LeaseManager`], [`LeaseConfig`], [`ManualClock`],
/// [`Store`], the error and response types, and the pure core as [`core`](lease::core).
pub use lease::*;
