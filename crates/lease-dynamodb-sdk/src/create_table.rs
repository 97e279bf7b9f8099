//! Creating the lock table.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::BuildError;
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::operation::describe_table::DescribeTableError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TableDescription, TableStatus,
};
use lease::{LeaseConfig, store::StoreError, store::StoreErrorKind};

use crate::api::ensure_configured;
use crate::classify::classify_error;

/// Time between two `DescribeTable` polls while the table is being created.
const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// Number of `DescribeTable` polls before giving up: 240 × 250 ms = 60 s.
const MAX_POLLS: u32 = 240;

/// Creates `config`'s lock table if it does not exist, and waits until it is `ACTIVE`.
///
/// The table has the configured partition and sort key attributes (both `S`, default `pk` and
/// `sk`) and on-demand billing (`PAY_PER_REQUEST`). An existing table
/// (`ResourceInUseException`) is fine, as long as its key schema is the configured one. The
/// wait polls `DescribeTable` every 250 ms for at most 60 s. TTL is not enabled here: call
/// [`enable_ttl`](crate::dynamodb::enable_ttl) (or `UpdateTimeToLive` on the configured TTL attribute,
/// default `ttl`) if released and expired lease items should be deleted by DynamoDB, and
/// [`check_table`](crate::check_table) to verify a table made elsewhere.
///
/// # Errors
/// - A [`StoreError`] classified as for lease requests when `CreateTable` or `DescribeTable`
///   fails (for example [`StoreErrorKind::AccessDenied`]).
/// - [`StoreErrorKind::Validation`] if the existing table's key schema is not the configured
///   partition (`HASH`) and sort (`RANGE`) key.
/// - [`StoreErrorKind::Timeout`] if the table is not `ACTIVE` after 60 s.
/// - [`StoreErrorKind::Misconfigured`], with nothing sent, if the client has no region.
pub async fn create_lock_table(client: &Client, config: &LeaseConfig) -> Result<(), StoreError> {
    ensure_configured(client)?;
    let table = config.table_name();
    let pk = config.partition_key_attribute();
    let sk = config.sort_key_attribute();
    let created = client
        .create_table()
        .table_name(table)
        .attribute_definitions(string_attribute(pk)?)
        .attribute_definitions(string_attribute(sk)?)
        .key_schema(key(pk, KeyType::Hash)?)
        .key_schema(key(sk, KeyType::Range)?)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(CreateTableError::is_resource_in_use_exception) => {}
        Err(e) => return Err(classify_error(e)),
    }
    wait_until_active(client, config).await
}

/// Polls `DescribeTable` until the table is `ACTIVE`, then checks its key schema.
async fn wait_until_active(client: &Client, config: &LeaseConfig) -> Result<(), StoreError> {
    let table = config.table_name();
    let mut last_status = None;
    for poll in 0..MAX_POLLS {
        if poll > 0 {
            tokio::time::sleep(POLL_INTERVAL).await;
        }
        match client.describe_table().table_name(table).send().await {
            Ok(out) => {
                let description = out.table();
                last_status = description.and_then(|t| t.table_status()).cloned();
                if let (Some(TableStatus::Active), Some(description)) = (&last_status, description)
                {
                    return check_key_schema(description, config);
                }
            }
            // Just created: DescribeTable may not see the table yet.
            Err(e)
                if e.as_service_error()
                    .is_some_and(DescribeTableError::is_resource_not_found_exception) => {}
            Err(e) => return Err(classify_error(e)),
        }
    }
    Err(StoreError::new(
        StoreErrorKind::Timeout,
        format!(
            "table {table:?} is not ACTIVE after 60 s (last status: {})",
            last_status.as_ref().map_or("none", TableStatus::as_str)
        ),
    ))
}

/// Checks that the table's key is the configured partition and sort key.
fn check_key_schema(
    description: &TableDescription,
    config: &LeaseConfig,
) -> Result<(), StoreError> {
    let key_of = |kind: KeyType| {
        description
            .key_schema()
            .iter()
            .find(|k| *k.key_type() == kind)
            .map(KeySchemaElement::attribute_name)
    };
    let (pk, sk) = (key_of(KeyType::Hash), key_of(KeyType::Range));
    if pk == Some(config.partition_key_attribute()) && sk == Some(config.sort_key_attribute()) {
        Ok(())
    } else {
        Err(StoreError::new(
            StoreErrorKind::Validation,
            format!(
                "table {:?} exists with key (HASH {:?}, RANGE {:?}), not the configured (HASH {:?}, RANGE {:?})",
                config.table_name(),
                pk.unwrap_or("-"),
                sk.unwrap_or("-"),
                config.partition_key_attribute(),
                config.sort_key_attribute()
            ),
        ))
    }
}

/// An `S` attribute definition.
fn string_attribute(name: &str) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(not_built)
}

/// A key schema element.
fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(not_built)
}

fn not_built(e: BuildError) -> StoreError {
    StoreError::new(
        StoreErrorKind::Validation,
        "the SDK rejected the CreateTable input (not sent)",
    )
    .with_source(e)
}
