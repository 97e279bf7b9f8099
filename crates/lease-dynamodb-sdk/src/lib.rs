//! # lease-dynamodb-sdk: leases in DynamoDB, through aws-sdk-dynamodb
//!
//! The store that services use in production. [`DynamoDbStore`] executes the lease requests that
//! [`LeaseManager`] plans (one conditional `UpdateItem` per acquire, refresh or release, never a
//! read first; a consistent `GetItem` per inspect) on an [`aws_sdk_dynamodb::Client`] you build
//! and configure. This crate re-exports the `lease` crate's API with the same paths, so it is
//! the only lease crate a service depends on:
//! - the root holds the service path ([`LeaseManager`], [`LeaseConfig`], [`LeaseKey`], [`Lease`],
//!   [`LeaseError`], [`LeaseGuard`], ...), this store, [`create_lock_table`] and [`check_table`];
//! - the modules [`config`], [`error`], [`snapshot`], [`status`], [`token`], [`transaction`],
//!   [`table`], [`clock`], [`metrics`] and [`store`] are the `lease` crate's;
//! - [`dynamodb`] holds what is particular to the AWS SDK (the SDK seam, conversions to SDK
//!   types, the request timeout, the table check's own failures, the listing of a table's
//!   leases).
//!
//! ## Quickstart
//! ```no_run
//! use std::time::Duration;
//! use lease_dynamodb_sdk::{DynamoDbLeaseManager, DynamoDbStore, LeaseConfig, LeaseManager};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // Region, credentials and retries come from the environment, as for any AWS client.
//!     let aws = aws_config::load_from_env().await;
//!     let client = aws_sdk_dynamodb::Client::new(&aws);
//!     let config = LeaseConfig::builder("locks").build()?; // items: pk, sk = "LOCK", lease_token, ...
//!     lease_dynamodb_sdk::create_lock_table(&client, &config).await?; // once, or with your IaC
//!     let manager: DynamoDbLeaseManager = LeaseManager::new(DynamoDbStore::new(client), config);
//!
//!     match manager.try_acquire("CACHE#A", Duration::from_secs(30)).await {
//!         Ok(lease) => {
//!             // ... the work only one worker may do, within 30 s (or refresh the lease) ...
//!             manager.release(&lease).await?;
//!         }
//!         Err(e) if e.is_held() => println!("someone else is on it: {e}"),
//!         Err(e) => return Err(e.into()),
//!     }
//!     Ok(())
//! }
//! ```
//!
//! ## Writes guarded by the lease
//! A lease keeps other workers out only while they respect it; a holder that stalls past its
//! expiry (a GC pause, a slow render) and then writes, writes after someone else took over.
//! A write in the same DynamoDB transaction as a guard on the lease item cannot: the
//! transaction commits only if the lease item still holds the lease's token and has not
//! expired (`#tok = :tok AND #exp > :now`), and otherwise nothing is written.
//!
//! - [`LeaseManager::commit`] commits your writes (lease-core
//!   [`TransactItem`](crate::transaction::TransactItem)s) with a condition check on the lease item; the
//!   lease stays held.
//! - [`LeaseManager::commit_and_release`] commits them and releases the lease in the same
//!   transaction. DynamoDB rejects two operations on one item in one transaction, so here the
//!   guard *is* the release: an update of the lease item that marks it released under the
//!   same condition.
//! - Both answer [`LeaseError::NotOwned`] when the guard failed (the lease expired, was taken
//!   over or released), and [`LeaseError::TransactionCanceled`] with the per-item reasons when
//!   one of your own conditions failed or DynamoDB reported another reason
//!   (`TransactionConflict` is never read as "lease lost").
//! - To build the transaction yourself with the SDK, [`lease_check_transact_item`](crate::dynamodb::lease_check_transact_item) and
//!   [`transact_item`](crate::dynamodb::transact_item) turn [`LeaseManager::lease_check`] and
//!   [`LeaseManager::release_in_transaction`] into SDK `TransactWriteItem`s.
//!
//! dynalite has no transactions (`UnknownOperationException`, classified as
//! [`StoreErrorKind::Unsupported`](crate::store::StoreErrorKind::Unsupported)); DynamoDB, moto and `lease-memory` have.
//!
//! FaceTheory's regeneration commit: write the cache entry's `META` item and drop its `LOCK`
//! in one transaction, only if the lock is still ours.
//! ```no_run
//! use std::time::Duration;
//! use lease_dynamodb_sdk::DynamoDbLeaseManager;
//! use lease_dynamodb_sdk::store::{AttributeValue, Item, PutRequest};
//!
//! async fn regenerate(
//!     manager: &DynamoDbLeaseManager,
//!     cache_key: &str,
//! ) -> Result<(), Box<dyn std::error::Error>> {
//!     let lease = manager.try_acquire(cache_key, Duration::from_secs(30)).await?; // {pk, "LOCK"}
//!     let s3_key = "isr/0123abcd/1700000000-uuid.html"; // ... render and upload ...
//!     let meta: Item = [
//!         ("pk", AttributeValue::string(cache_key)),
//!         ("sk", AttributeValue::string("META")),
//!         ("s3_key", AttributeValue::string(s3_key)),
//!         ("generated_at", AttributeValue::number(1_700_000_000)),
//!     ]
//!     .into_iter()
//!     .map(|(name, value)| (name.into(), value))
//!     .collect();
//!     // A condition of its own would be `.condition(...)` (an `expr::Condition`).
//!     let put_meta = PutRequest::new(manager.config().table_name(), meta);
//!     // One TransactWriteItems: [Update LOCK (release, if still ours), Put META].
//!     match manager.commit_and_release(&lease, vec![put_meta.into()]).await {
//!         Ok(()) => Ok(()),
//!         // The lease expired or was taken over while rendering: META was not written, and
//!         // the new holder's commit will write it.
//!         Err(e) if e.is_not_owned() => Ok(()),
//!         Err(e) => {
//!             manager.release(&lease).await?; // nothing was committed: let go of the lock
//!             Err(e.into())
//!         }
//!     }
//! }
//! ```
//!
//! The same with the SDK's own transaction, for writes built with the SDK:
//! ```no_run
//! use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
//! use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
//! use lease_dynamodb_sdk::{DynamoDbLeaseManager, Lease};
//!
//! async fn commit_meta(
//!     client: &aws_sdk_dynamodb::Client,
//!     manager: &DynamoDbLeaseManager,
//!     lease: &Lease,
//! ) -> Result<bool, Box<dyn std::error::Error>> {
//!     let release = lease_dynamodb_sdk::dynamodb::transact_item(&manager.release_in_transaction(lease)?)?;
//!     let meta = Put::builder()
//!         .table_name(manager.config().table_name())
//!         .item("pk", AttributeValue::S(lease.key().partition().to_owned()))
//!         .item("sk", AttributeValue::S("META".to_owned()))
//!         .item("generated_at", AttributeValue::N("1700000000".to_owned()))
//!         .build()?;
//!     let sent = client
//!         .transact_write_items()
//!         .transact_items(release) // position 0: the guard
//!         .transact_items(TransactWriteItem::builder().put(meta).build())
//!         .send()
//!         .await;
//!     match sent {
//!         Ok(_) => Ok(true),
//!         Err(e) => match e.as_service_error() {
//!             // ConditionalCheckFailed at position 0: the lease was not ours any more.
//!             Some(TransactWriteItemsError::TransactionCanceledException(canceled))
//!                 if canceled.cancellation_reasons().first().and_then(|r| r.code())
//!                     == Some("ConditionalCheckFailed") =>
//!             {
//!                 Ok(false)
//!             }
//!             _ => Err(e.into()),
//!         },
//!     }
//! }
//! ```
//!
//! ## Checking the table
//! [`check_table`] verifies an existing table against the configuration (key names and
//! types, and TTL on the configured attribute where TTL is written) and says what to fix;
//! [`enable_ttl`](crate::dynamodb::enable_ttl) enables TTL after [`create_lock_table`].
//!
//! ## Listing the leases
//! [`list_leases`](crate::dynamodb::list_leases) scans the table (consistently, page by page)
//! for the items at the lock sort key and reads each as
//! [`LeaseManager::inspect`] would: a [`LeaseSnapshot`], or the key and the
//! [`DecodeError`](crate::error::DecodeError) of an item that is not a readable lease.
//!
//! ## Design
//! - No lease semantics here: they live once in `lease-core`, shared with `lease-memory`. This
//!   crate only converts (core [`AttributeValue`](crate::store::AttributeValue)s and [`Request`](crate::store::Request)s to SDK inputs, SDK outputs
//!   back) and classifies SDK errors.
//! - A failed condition (`ConditionalCheckFailedException`) is an outcome,
//!   [`StoreResponse::ConditionFailed`](crate::store::StoreResponse::ConditionFailed), carrying the current item when DynamoDB returns it
//!   (`ReturnValuesOnConditionCheckFailure = ALL_OLD`), so a failed acquire reports the current
//!   holder without a second read. Every other failure is a [`StoreError`](crate::store::StoreError) whose
//!   [`StoreErrorKind`](crate::store::StoreErrorKind) says whether the write may have been applied (timeouts, 5xx) or not
//!   (throttling, validation, access, missing table).
//! - The SDK is reached through [`DynamoDbApi`](crate::dynamodb::DynamoDbApi), a six-method seam
//!   (the store's five calls and the `Scan` of
//!   [`list_leases`](crate::dynamodb::list_leases)) that [`aws_sdk_dynamodb::Client`]
//!   implements; wrap it to add metrics or inject faults.
//! - The library needs no HTTP client or TLS stack of its own (`aws-sdk-dynamodb` with
//!   `default-features = false`): the binary that builds the client chooses them.
//!
//! ## Panics
//! Nothing here panics on data from DynamoDB or from a caller: attribute types this SDK version
//! does not know become a [`StoreError`](crate::store::StoreError).

// The #[non_exhaustive] policy (docs/architecture.md, "Public API"): a public enum, or a
// struct with public fields, is #[non_exhaustive] unless an #[expect] says why it is complete.
#![warn(clippy::exhaustive_enums, clippy::exhaustive_structs)]

mod api;
mod classify;
mod convert;
mod create_table;
mod dynamodb_store;
mod list;
mod redact;
mod table_check;
mod transact;

// The service path (the `lease` crate's root) and this store.
pub use create_table::create_lock_table;
pub use dynamodb_store::DynamoDbStore;
pub use lease::{
    FencingToken, GuardOptions, Lease, LeaseConfig, LeaseContext, LeaseError, LeaseGuard, LeaseKey,
    LeaseManager, LeaseSet, LeaseSnapshot, LeaseStatus, LossReason, ReleaseOutcome, ScopedOutcome,
    WaitPolicy,
};
pub use table_check::check_table;

/// A [`LeaseManager`] on DynamoDB through an [`aws_sdk_dynamodb::Client`].
pub type DynamoDbLeaseManager = LeaseManager<DynamoDbStore>;

// The `lease` crate's modules, with the same paths.
pub use lease::{
    clock, config, election, error, metrics, semaphore, snapshot, status, store, table, token,
    transaction,
};

/// What is particular to DynamoDB through the AWS SDK: the SDK seam a store sends through, the
/// conversions of items and transaction items to the SDK's types, the request timeout, the
/// table check's and TTL switch's own failures, and the listing of a table's leases
/// ([`list_leases`](dynamodb::list_leases), with a `Scan`).
pub mod dynamodb {
    pub use crate::api::DynamoDbApi;
    pub use crate::convert::item_from_sdk;
    pub use crate::dynamodb_store::DEFAULT_REQUEST_TIMEOUT;
    pub use crate::list::{LeaseList, ListOptions, ListedLease, list_leases};
    pub use crate::table_check::{TableCheckFailure, enable_ttl};
    pub use crate::transact::{lease_check_transact_item, transact_item};
}

#[cfg(test)]
pub(crate) use api::MockDynamoDbApi;

/// The README's Rust examples, compiled as doctests so that they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
