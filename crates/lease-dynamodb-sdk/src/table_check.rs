//! Checking an existing lock table ([`check_table`]) and enabling its TTL ([`enable_ttl`]).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::describe_table::DescribeTableError;
use aws_sdk_dynamodb::types::{
    KeyType, MultiRegionConsistency as SdkConsistency, ScalarAttributeType,
    TableDescription as SdkTableDescription, TimeToLiveDescription, TimeToLiveSpecification,
    TimeToLiveStatus,
};
use lease::{LeaseConfig, store::Planner, store::StoreError, store::StoreErrorKind};
use lease::{
    table::KeyAttribute, table::KeyRole, table::MultiRegionConsistency, table::Replication,
    table::ScalarType, table::TableCheck, table::TableCheckError, table::TableDescription,
    table::TtlStatus,
};

use crate::api::ensure_configured;
use crate::classify::classify_error;
use crate::convert::not_built;

/// Why [`check_table`] could not confirm that the table fits the configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TableCheckFailure {
    /// The table does not exist (`ResourceNotFoundException`).
    #[error(
        "table {table:?} does not exist: create it (lease_dynamodb_sdk::create_lock_table), or configure the name of the existing lock table"
    )]
    NotFound {
        /// The configured table name.
        table: String,
    },
    /// `DescribeTable` or `DescribeTimeToLive` failed, or answered something this crate cannot
    /// read (see the [`StoreError`]'s kind and message; for example
    /// [`StoreErrorKind::AccessDenied`] without the `dynamodb:DescribeTable` or
    /// `dynamodb:DescribeTimeToLive` permission).
    #[error("could not describe table {table:?}")]
    Describe {
        /// The configured table name.
        table: String,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// The table exists but does not fit the configuration; the error says what to fix.
    #[error("table {table:?} does not fit the lease configuration")]
    Mismatch {
        /// The configured table name.
        table: String,
        /// What does not fit.
        #[source]
        error: TableCheckError,
    },
}

/// Checks that `config`'s table exists and fits the configuration
/// ([`Planner::check_table`]): it is not a global table with multi-Region eventual
/// consistency (where two Regions can grant the same lease: [`Replication`](crate::table::Replication)), its
/// partition and sort keys are the configured key attributes, both strings (`S`), and, where
/// the configuration writes a TTL, TTL is enabled on the configured TTL attribute.
///
/// Sends `DescribeTable`, and `DescribeTimeToLive` only when the configuration writes a TTL.
/// A table whose `DescribeTable` answer lists replicas or a `GlobalTableVersion` is a global
/// table; its `MultiRegionConsistency` decides (absent means `EVENTUAL`, DynamoDB's default).
/// A legacy (2017.11.29) global table does not show in `DescribeTable`; AWS has replaced that
/// version, and `aws dynamodb describe-global-table` tells whether a table is one.
/// A server without TTL (dynalite answers `UnknownOperationException`) gives
/// [`TtlCheck::Unverified`](crate::table::TtlCheck::Unverified): a warning, not a failure.
///
/// ```no_run
/// # async fn run(client: aws_sdk_dynamodb::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use lease_dynamodb_sdk::LeaseConfig;
///
/// let config = LeaseConfig::builder("locks").build()?;
/// let check = lease_dynamodb_sdk::check_table(&client, &config).await?;
/// if !check.is_fully_verified() {
///     eprintln!("warning: cannot tell whether TTL is enabled on table locks");
/// }
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// - [`TableCheckFailure::Mismatch`] when the table does not fit, saying what to fix.
/// - [`TableCheckFailure::NotFound`] when the table does not exist.
/// - [`TableCheckFailure::Describe`] when a describe call failed or its answer is unreadable,
///   or nothing could be sent ([`StoreErrorKind::Misconfigured`]: the client has no region).
pub async fn check_table(
    client: &Client,
    config: &LeaseConfig,
) -> Result<TableCheck, TableCheckFailure> {
    let table = config.table_name();
    let describe_failure = |source| TableCheckFailure::Describe {
        table: table.to_owned(),
        source,
    };
    ensure_configured(client).map_err(describe_failure)?;
    let described = match client.describe_table().table_name(table).send().await {
        Ok(out) => out,
        Err(e)
            if e.as_service_error()
                .is_some_and(DescribeTableError::is_resource_not_found_exception) =>
        {
            return Err(TableCheckFailure::NotFound {
                table: table.to_owned(),
            });
        }
        Err(e) => return Err(describe_failure(classify_error(e))),
    };
    let key_schema = described
        .table()
        .map(key_schema)
        .transpose()
        .map_err(describe_failure)?
        .unwrap_or_default();
    let replication = described.table().map(replication).unwrap_or_default();
    let ttl = if config.writes_ttl() {
        ttl_status(client, table).await.map_err(describe_failure)?
    } else {
        // Not checked when no TTL is written: no DescribeTimeToLive call, no permission needed.
        TtlStatus::Unsupported
    };
    Planner::new(config.clone())
        .check_table(&TableDescription {
            key_schema,
            replication,
            ttl,
        })
        .map_err(|error| TableCheckFailure::Mismatch {
            table: table.to_owned(),
            error,
        })
}

/// Enables TTL on `config`'s table, on the configured TTL attribute (default `ttl`), so that
/// DynamoDB deletes released and expired lease items some time after their TTL. Call it once
/// after [`create_lock_table`](crate::create_lock_table), which does not enable TTL.
///
/// Sends `DescribeTimeToLive` first: if TTL is already enabled (or being enabled) on the
/// attribute, nothing else is sent; otherwise `UpdateTimeToLive`.
///
/// Returns `Ok(true)` when TTL is enabled on the attribute (now or before), `Ok(false)` when
/// the server has no TTL (dynalite answers `UnknownOperationException`).
///
/// # Errors
/// - [`StoreErrorKind::Validation`] if TTL is already enabled on another attribute (a table
///   has one TTL attribute: disable it first, or configure that attribute as the TTL
///   attribute).
/// - A [`StoreError`] classified as for lease requests when a call fails (for example
///   [`StoreErrorKind::AccessDenied`], or [`StoreErrorKind::Validation`] when DynamoDB refuses
///   to change TTL again so soon after a change).
/// - [`StoreErrorKind::Misconfigured`], with nothing sent, if the client has no region.
pub async fn enable_ttl(client: &Client, config: &LeaseConfig) -> Result<bool, StoreError> {
    ensure_configured(client)?;
    let table = config.table_name();
    let attribute = config.ttl_attribute();
    match ttl_status(client, table).await? {
        TtlStatus::Unsupported => return Ok(false),
        TtlStatus::Enabled { attribute: current } if current == attribute => return Ok(true),
        TtlStatus::Enabled { attribute: current } => {
            return Err(StoreError::new(
                StoreErrorKind::Validation,
                format!(
                    "TTL on table {table:?} is already enabled on {current:?}, not on the configured {attribute:?}: a table has one TTL attribute; disable it first, or configure {current:?} as the TTL attribute"
                ),
            ));
        }
        _ => {}
    }
    let specification = TimeToLiveSpecification::builder()
        .attribute_name(attribute)
        .enabled(true)
        .build()
        .map_err(not_built)?;
    let updated = client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(specification)
        .send()
        .await;
    match updated {
        Ok(_) => Ok(true),
        Err(e) => {
            let error = classify_error(e);
            if error.kind() == StoreErrorKind::Unsupported {
                Ok(false)
            } else {
                Err(error)
            }
        }
    }
}

/// The table's TTL setting from `DescribeTimeToLive`; `Unsupported` when the server does not
/// know the operation.
async fn ttl_status(client: &Client, table: &str) -> Result<TtlStatus, StoreError> {
    match client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
    {
        Ok(out) => Ok(ttl_from_sdk(out.time_to_live_description())),
        Err(e) => {
            let error = classify_error(e);
            if error.kind() == StoreErrorKind::Unsupported {
                Ok(TtlStatus::Unsupported)
            } else {
                Err(error)
            }
        }
    }
}

/// `ENABLED` and `ENABLING` are enabled on their attribute; anything else is disabled.
fn ttl_from_sdk(description: Option<&TimeToLiveDescription>) -> TtlStatus {
    let enabled = description.is_some_and(|d| {
        matches!(
            d.time_to_live_status(),
            Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
        )
    });
    match description.and_then(TimeToLiveDescription::attribute_name) {
        Some(attribute) if enabled => TtlStatus::Enabled {
            attribute: attribute.to_owned(),
        },
        None if enabled => TtlStatus::Enabled {
            attribute: String::new(),
        },
        _ => TtlStatus::Disabled,
    }
}

/// A described table's replication: global when it lists replicas or a global table version;
/// the consistency as stated, `EVENTUAL` when not stated (DynamoDB's default).
fn replication(table: &SdkTableDescription) -> Replication {
    let regions: Vec<String> = table
        .replicas()
        .iter()
        .map(|replica| replica.region_name().unwrap_or_default().to_owned())
        .collect();
    if regions.is_empty() && table.global_table_version().is_none() {
        return Replication::SingleRegion;
    }
    let consistency = match table.multi_region_consistency() {
        None | Some(SdkConsistency::Eventual) => MultiRegionConsistency::Eventual,
        Some(SdkConsistency::Strong) => MultiRegionConsistency::Strong,
        Some(other) => MultiRegionConsistency::Other(other.as_str().to_owned()),
    };
    Replication::Global {
        regions,
        consistency,
    }
}

/// The key attributes of a described table, with their types from the attribute definitions.
///
/// # Errors
/// [`StoreErrorKind::Other`] for a key type or attribute type this SDK version does not know,
/// or a key attribute without a definition.
fn key_schema(table: &SdkTableDescription) -> Result<Vec<KeyAttribute>, StoreError> {
    let unreadable = |detail: String| {
        StoreError::new(
            StoreErrorKind::Other,
            format!("DescribeTable answer unreadable: {detail}"),
        )
    };
    table
        .key_schema()
        .iter()
        .map(|element| {
            let name = element.attribute_name();
            let role = match element.key_type() {
                KeyType::Hash => KeyRole::Hash,
                KeyType::Range => KeyRole::Range,
                other => {
                    return Err(unreadable(format!(
                        "key attribute {name:?} has key type {}",
                        other.as_str()
                    )));
                }
            };
            let definition = table
                .attribute_definitions()
                .iter()
                .find(|d| d.attribute_name() == name)
                .ok_or_else(|| {
                    unreadable(format!(
                        "key attribute {name:?} has no attribute definition"
                    ))
                })?;
            let scalar_type = match definition.attribute_type() {
                ScalarAttributeType::S => ScalarType::S,
                ScalarAttributeType::N => ScalarType::N,
                ScalarAttributeType::B => ScalarType::B,
                other => {
                    return Err(unreadable(format!(
                        "key attribute {name:?} has type {}",
                        other.as_str()
                    )));
                }
            };
            Ok(KeyAttribute::new(name, role, scalar_type))
        })
        .collect()
}
