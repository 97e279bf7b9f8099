//! Checking that a table fits a lease configuration: its key schema, its replication across
//! Regions, and its TTL setting.
//!
//! A store describes the table as a [`TableDescription`] (`lease_dynamodb_sdk::check_table`
//! from `DescribeTable` and `DescribeTimeToLive`, `lease_memory::MemoryStore::describe_table`);
//! [`Planner::check_table`] compares it with the configuration and says what to fix.

use std::fmt;

use crate::planner::Planner;

/// What a table looks like, as far as leases care: its key schema, its replication across
/// Regions and its TTL setting.
#[derive(Clone, Debug, PartialEq, Eq)]
#[expect(
    clippy::exhaustive_structs,
    reason = "store protocol: a store fills every field from its table description, so a new one is a breaking change on purpose"
)]
pub struct TableDescription {
    /// The key attributes (DynamoDB's `KeySchema` with the types from its
    /// `AttributeDefinitions`): one [`KeyRole::Hash`] and at most one [`KeyRole::Range`].
    pub key_schema: Vec<KeyAttribute>,
    /// Whether the table is a global table, and with which consistency (DynamoDB's
    /// `DescribeTable`: `Replicas`, `GlobalTableVersion`, `MultiRegionConsistency`).
    pub replication: Replication,
    /// The table's TTL setting (DynamoDB's `DescribeTimeToLive`).
    pub ttl: TtlStatus,
}

/// How a table is replicated across AWS Regions.
///
/// A lease is safe only where one conditional write decides who holds it. On a single-Region
/// table, and on a global table with multi-Region *strong* consistency (MRSC), a conditional
/// write is checked against the latest committed item in every Region. On a global table with
/// multi-Region *eventual* consistency (MREC, the default for global tables, and the only mode
/// of the legacy 2017.11.29 version), a conditional write is checked only against its own
/// Region's copy and replicated later, last writer wins: two Regions can grant the same lease
/// at once, and both holders' writes succeed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Replication {
    /// One Region, no replicas. Also what a store without global tables reports (dynalite,
    /// moto, the in-memory store).
    #[default]
    SingleRegion,
    /// A global table.
    Global {
        /// The Regions of its replicas as the store listed them (DynamoDB's
        /// `Replicas[].RegionName`; it may or may not list the Region that was asked).
        regions: Vec<String>,
        /// Its consistency mode across Regions.
        consistency: MultiRegionConsistency,
    },
}

/// The consistency mode of a global table across Regions: DynamoDB's `MultiRegionConsistency`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MultiRegionConsistency {
    /// Multi-Region eventual consistency (`EVENTUAL`, MREC): conditional writes are atomic
    /// within one Region only. DynamoDB's default for a global table that states no mode.
    Eventual,
    /// Multi-Region strong consistency (`STRONG`, MRSC): conditional writes see the latest
    /// committed item of every Region.
    Strong,
    /// A mode this library does not know, as the store named it. Judged unsafe.
    Other(String),
}

impl fmt::Display for MultiRegionConsistency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Eventual => "EVENTUAL",
            Self::Strong => "STRONG",
            Self::Other(other) => other,
        })
    }
}

/// One key attribute of a table.
#[derive(Clone, Debug, PartialEq, Eq)]
#[expect(
    clippy::exhaustive_structs,
    reason = "complete: a DynamoDB key schema element is a name, a role and a type"
)]
pub struct KeyAttribute {
    /// The attribute's name.
    pub name: String,
    /// Partition (`HASH`) or sort (`RANGE`) key.
    pub role: KeyRole,
    /// The attribute's type.
    pub scalar_type: ScalarType,
}

impl KeyAttribute {
    /// A key attribute.
    #[must_use]
    pub fn new(name: impl Into<String>, role: KeyRole, scalar_type: ScalarType) -> Self {
        Self {
            name: name.into(),
            role,
            scalar_type,
        }
    }
}

/// The role of a key attribute: DynamoDB's `KeyType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[expect(
    clippy::exhaustive_enums,
    reason = "complete: a DynamoDB key attribute is the partition key or the sort key"
)]
pub enum KeyRole {
    /// The partition key (`HASH`).
    Hash,
    /// The sort key (`RANGE`).
    Range,
}

/// The type of a key attribute: DynamoDB's `ScalarAttributeType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[expect(
    clippy::exhaustive_enums,
    reason = "complete: DynamoDB key attributes are S, N or B"
)]
pub enum ScalarType {
    /// String (`S`).
    S,
    /// Number (`N`).
    N,
    /// Binary (`B`).
    B,
}

impl fmt::Display for ScalarType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::S => "S",
            Self::N => "N",
            Self::B => "B",
        })
    }
}

/// A table's TTL setting.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TtlStatus {
    /// TTL is enabled (or being enabled: `ENABLING`) on `attribute`.
    Enabled {
        /// The attribute DynamoDB reads the expiry time from.
        attribute: String,
    },
    /// TTL is disabled (or being disabled: `DISABLING`).
    Disabled,
    /// The store cannot say: it has no TTL (dynalite answers `DescribeTimeToLive` with
    /// `UnknownOperationException`; the in-memory store deletes nothing by TTL).
    Unsupported,
}

/// A table that fits the configuration, and how far its TTL setting was verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableCheck {
    /// What is known about the table's TTL.
    pub ttl: TtlCheck,
    /// Whether the table is a single-Region table or a strongly consistent global table (the
    /// two kinds that are safe for leases; any other is a [`TableCheckError`]).
    pub replication: ReplicationCheck,
}

/// What [`Planner::check_table`] learned about the table's replication: one of the two kinds
/// of table on which a conditional write decides a lease for every Region.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReplicationCheck {
    /// A single-Region table ([`Replication::SingleRegion`]).
    SingleRegion,
    /// A global table with multi-Region strong consistency ([`MultiRegionConsistency::Strong`]):
    /// holders in every Region share its leases safely. Each write waits for a quorum of
    /// Regions, so allow for a slower round trip in the request timeout and renew period.
    StronglyConsistentGlobal,
}

impl TableCheck {
    /// Whether everything the configuration needs was verified: the key schema, and TTL
    /// where the configuration writes it. `false` only for [`TtlCheck::Unverified`], which
    /// deserves a warning, not a failure.
    #[must_use]
    pub fn is_fully_verified(&self) -> bool {
        self.ttl != TtlCheck::Unverified
    }
}

/// What [`Planner::check_table`] learned about the table's TTL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TtlCheck {
    /// TTL is enabled on the configured TTL attribute: released and expired lease items will
    /// be deleted by DynamoDB.
    Enabled,
    /// The configuration writes no TTL ([`LeaseConfig::writes_ttl`](crate::LeaseConfig) is
    /// false): the table's TTL setting does not matter and was not checked.
    NotNeeded,
    /// The store cannot report TTL ([`TtlStatus::Unsupported`]): the key schema fits, but
    /// whether lease items will ever be collected is unknown. A warning, not an error: on a
    /// test server (dynalite) this is expected; on DynamoDB it does not happen.
    Unverified,
}

/// A table that does not fit the lease configuration. Each message says what to change.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TableCheckError {
    /// The table has no partition (`HASH`) key.
    #[error(
        "the table has no partition (HASH) key; lease items need the partition key {expected:?} of type S: create the table with it"
    )]
    MissingPartitionKey {
        /// The configured partition key attribute.
        expected: String,
    },
    /// The table's partition key has another name than the configured one.
    #[error(
        "the table's partition (HASH) key is {found:?}, but the configuration uses {expected:?}: configure the table's key names (LeaseConfigBuilder::key_attribute_names) or use a table keyed by {expected:?}"
    )]
    WrongPartitionKey {
        /// The configured partition key attribute.
        expected: String,
        /// The table's partition key attribute.
        found: String,
    },
    /// The table has no sort (`RANGE`) key; lease items are keyed by partition and sort key.
    #[error(
        "the table has no sort (RANGE) key, but lease items are keyed by partition key and sort key {expected:?}: use a table with the sort key {expected:?} of type S (create_lock_table makes one)"
    )]
    MissingSortKey {
        /// The configured sort key attribute.
        expected: String,
    },
    /// The table's sort key has another name than the configured one.
    #[error(
        "the table's sort (RANGE) key is {found:?}, but the configuration uses {expected:?}: configure the table's key names (LeaseConfigBuilder::key_attribute_names) or use a table keyed by {expected:?}"
    )]
    WrongSortKey {
        /// The configured sort key attribute.
        expected: String,
        /// The table's sort key attribute.
        found: String,
    },
    /// A key attribute is not a string; lease keys are strings.
    #[error(
        "the table's key attribute {attribute:?} is of type {found}, but lease keys are strings: use a table whose key attributes are of type S"
    )]
    WrongKeyType {
        /// The key attribute.
        attribute: String,
        /// Its type in the table.
        found: ScalarType,
    },
    /// The configuration writes a TTL, but the table's TTL is disabled: released and expired
    /// lease items would never be deleted.
    #[error(
        "TTL is not enabled on the table, but leases write their TTL to {attribute:?}: enable TTL on {attribute:?} (UpdateTimeToLive; lease_dynamodb_sdk::dynamodb::enable_ttl), or stop writing TTL (LeaseConfigBuilder::include_ttl(false))"
    )]
    TtlNotEnabled {
        /// The configured TTL attribute.
        attribute: String,
    },
    /// The table is a global table with multi-Region eventual consistency: a conditional write
    /// decides only within its own Region, so two Regions can grant the same lease at once.
    #[error(
        "the table is a global table with multi-Region eventual consistency (replicas: {regions:?}): a conditional write is atomic only within one Region, so holders in two Regions can both acquire the same lease; use a single-Region table for leases (every Region's workers talking to it), or a global table with multi-Region strong consistency (MultiRegionConsistency STRONG)"
    )]
    EventuallyConsistentGlobalTable {
        /// The Regions of the table's replicas, as the store listed them.
        regions: Vec<String>,
    },
    /// The table is a global table with a consistency mode this library does not know; it is
    /// judged unsafe until the library knows that the mode makes conditional writes atomic
    /// across Regions.
    #[error(
        "the table is a global table with multi-Region consistency mode {consistency:?}, unknown to this library (replicas: {regions:?}): leases are safe only on a single-Region table or a global table with multi-Region strong consistency (STRONG); use one of those, or a newer version of this library"
    )]
    UnknownGlobalTableConsistency {
        /// The mode, as the store named it.
        consistency: String,
        /// The Regions of the table's replicas, as the store listed them.
        regions: Vec<String>,
    },
    /// The table's TTL is enabled on another attribute than the one leases write.
    #[error(
        "TTL is enabled on {found:?}, but leases write their TTL to {expected:?}, so lease items are never deleted: configure {found:?} as the TTL attribute (LeaseConfigBuilder::lease_attribute_names), or move the table's TTL to {expected:?}"
    )]
    TtlOnOtherAttribute {
        /// The configured TTL attribute.
        expected: String,
        /// The attribute the table's TTL is enabled on.
        found: String,
    },
}

impl Planner {
    /// Checks that `table` fits the configuration:
    /// - it is not a global table with multi-Region eventual consistency, where two Regions can
    ///   grant the same lease ([`Replication`]; a single-Region table and a global table with
    ///   strong consistency pass);
    /// - its partition (`HASH`) and sort (`RANGE`) keys are the configured key attributes,
    ///   both of type `S`;
    /// - where the configuration writes a TTL ([`LeaseConfig::writes_ttl`](crate::LeaseConfig::writes_ttl)),
    ///   TTL is enabled on the configured TTL attribute. A store that cannot report TTL
    ///   ([`TtlStatus::Unsupported`]) gives [`TtlCheck::Unverified`], not an error.
    ///
    /// ```
    /// use lease_core::{
    ///     KeyAttribute, KeyRole, LeaseConfig, MultiRegionConsistency, Planner, Replication,
    ///     ScalarType, TableCheckError, TableDescription, TtlCheck, TtlStatus,
    /// };
    ///
    /// let planner = Planner::new(LeaseConfig::builder("locks").build()?);
    /// let mut table = TableDescription {
    ///     key_schema: vec![
    ///         KeyAttribute::new("pk", KeyRole::Hash, ScalarType::S),
    ///         KeyAttribute::new("sk", KeyRole::Range, ScalarType::S),
    ///     ],
    ///     replication: Replication::SingleRegion,
    ///     ttl: TtlStatus::Enabled { attribute: "ttl".into() },
    /// };
    /// assert_eq!(planner.check_table(&table)?.ttl, TtlCheck::Enabled);
    ///
    /// table.ttl = TtlStatus::Disabled;
    /// let err = planner.check_table(&table).unwrap_err();
    /// assert_eq!(err, TableCheckError::TtlNotEnabled { attribute: "ttl".into() });
    ///
    /// table.replication = Replication::Global {
    ///     regions: vec!["eu-west-1".into(), "us-east-1".into()],
    ///     consistency: MultiRegionConsistency::Eventual,
    /// };
    /// let err = planner.check_table(&table).unwrap_err();
    /// assert!(matches!(err, TableCheckError::EventuallyConsistentGlobalTable { .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// The first mismatch found, as a [`TableCheckError`] whose message says what to fix:
    /// replication first (the one mismatch that no request would ever reveal), then keys, then
    /// TTL.
    pub fn check_table(&self, table: &TableDescription) -> Result<TableCheck, TableCheckError> {
        let config = self.config();
        let replication = replication_check(&table.replication)?;
        let key = |role| table.key_schema.iter().find(|k| k.role == role);
        let expected = config.partition_key_attribute();
        match key(KeyRole::Hash) {
            None => {
                return Err(TableCheckError::MissingPartitionKey {
                    expected: expected.into(),
                });
            }
            Some(found) if found.name != expected => {
                return Err(TableCheckError::WrongPartitionKey {
                    expected: expected.into(),
                    found: found.name.clone(),
                });
            }
            Some(found) => string_key(found)?,
        }
        let expected = config.sort_key_attribute();
        match key(KeyRole::Range) {
            None => {
                return Err(TableCheckError::MissingSortKey {
                    expected: expected.into(),
                });
            }
            Some(found) if found.name != expected => {
                return Err(TableCheckError::WrongSortKey {
                    expected: expected.into(),
                    found: found.name.clone(),
                });
            }
            Some(found) => string_key(found)?,
        }
        let ttl = if config.writes_ttl() {
            let expected = config.ttl_attribute();
            match &table.ttl {
                TtlStatus::Enabled { attribute } if attribute == expected => TtlCheck::Enabled,
                TtlStatus::Enabled { attribute } => {
                    return Err(TableCheckError::TtlOnOtherAttribute {
                        expected: expected.into(),
                        found: attribute.clone(),
                    });
                }
                TtlStatus::Disabled => {
                    return Err(TableCheckError::TtlNotEnabled {
                        attribute: expected.into(),
                    });
                }
                TtlStatus::Unsupported => TtlCheck::Unverified,
            }
        } else {
            TtlCheck::NotNeeded
        };
        Ok(TableCheck { ttl, replication })
    }
}

fn replication_check(replication: &Replication) -> Result<ReplicationCheck, TableCheckError> {
    match replication {
        Replication::SingleRegion => Ok(ReplicationCheck::SingleRegion),
        Replication::Global {
            consistency: MultiRegionConsistency::Strong,
            ..
        } => Ok(ReplicationCheck::StronglyConsistentGlobal),
        Replication::Global {
            regions,
            consistency: MultiRegionConsistency::Eventual,
        } => Err(TableCheckError::EventuallyConsistentGlobalTable {
            regions: regions.clone(),
        }),
        Replication::Global {
            regions,
            consistency: MultiRegionConsistency::Other(consistency),
        } => Err(TableCheckError::UnknownGlobalTableConsistency {
            consistency: consistency.clone(),
            regions: regions.clone(),
        }),
    }
}

fn string_key(key: &KeyAttribute) -> Result<(), TableCheckError> {
    match key.scalar_type {
        ScalarType::S => Ok(()),
        found => Err(TableCheckError::WrongKeyType {
            attribute: key.name.clone(),
            found,
        }),
    }
}
