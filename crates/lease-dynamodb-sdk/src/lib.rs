//! # lease-dynamodb-sdk: leases in DynamoDB, through aws-sdk-dynamodb
//!
//! The store that services use in production. [`DynamoDbStore`] executes the lease requests that
//! [`LeaseManager`] plans (one conditional `PutItem`, `UpdateItem` or `DeleteItem` per operation,
//! never a read first) on an [`aws_sdk_dynamodb::Client`] you build and configure. This crate
//! re-exports the whole `lease` API, so it is the only lease crate a service depends on.
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
//!     match manager.acquire("CACHE#A", Duration::from_secs(30)).await {
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
//! ## Design
//! - No lease semantics here: they live once in `lease-core`, shared with `lease-memory`. This
//!   crate only converts (core [`AttributeValue`]s and [`Request`]s to SDK inputs, SDK outputs
//!   back) and classifies SDK errors.
//! - A failed condition (`ConditionalCheckFailedException`) is an outcome,
//!   [`StoreResponse::ConditionFailed`], carrying the current item when DynamoDB returns it
//!   (`ReturnValuesOnConditionCheckFailure = ALL_OLD`), so a failed acquire reports the current
//!   holder without a second read. Every other failure is a [`StoreError`] whose
//!   [`StoreErrorKind`] says whether the write may have been applied (timeouts, 5xx) or not
//!   (throttling, validation, access, missing table).
//! - The SDK is reached through [`DynamoDbApi`], a four-method seam that
//!   [`aws_sdk_dynamodb::Client`] implements; wrap it to add metrics or inject faults.
//! - The library needs no HTTP client or TLS stack of its own (`aws-sdk-dynamodb` with
//!   `default-features = false`): the binary that builds the client chooses them.
//!
//! ## Panics
//! Nothing here panics on data from DynamoDB or from a caller: attribute types this SDK version
//! does not know become a [`StoreError`].

mod api;
mod classify;
mod convert;
mod store;
mod table;

pub use api::DynamoDbApi;
pub use store::DynamoDbStore;
pub use table::create_lock_table;

pub use lease::*;

/// A [`LeaseManager`] on DynamoDB through an [`aws_sdk_dynamodb::Client`].
pub type DynamoDbLeaseManager = LeaseManager<DynamoDbStore>;

#[cfg(test)]
pub(crate) use api::MockDynamoDbApi;
