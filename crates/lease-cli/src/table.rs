//! `lease table create` and `lease table check`.

use lease_dynamodb_sdk::table::ReplicationCheck;
use lease_dynamodb_sdk::{
    check_table, create_lock_table, dynamodb::TableCheckFailure, dynamodb::enable_ttl,
    store::StoreErrorKind, table::TableCheckError, table::TtlCheck,
};

use crate::cli::{FormatArgs, StoreArgs, TableCommand};
use crate::connect::Connection;
use crate::exit::{Failure, chain, status};

/// Runs `lease table create` or `lease table check`.
///
/// # Errors
/// 74 when the store fails or the table does not exist (check), 65 when the table does not fit.
pub(crate) async fn table(
    store: &StoreArgs,
    format: &FormatArgs,
    command: TableCommand,
) -> Result<u8, Failure> {
    let connection = Connection::open(store, format).await?;
    match command {
        TableCommand::Create => create(&connection).await,
        TableCommand::Check => check(&connection).await,
    }
}

async fn create(connection: &Connection) -> Result<u8, Failure> {
    let config = &connection.config;
    let table = config.table_name();
    create_lock_table(&connection.client, config)
        .await
        .map_err(|e| Failure::store(&format!("cannot create table {table}"), &e, table))?;
    let ttl = if config.writes_ttl() {
        match enable_ttl(&connection.client, config).await {
            Ok(enabled) => ttl_created(enabled, config.ttl_attribute()),
            // The table's TTL is on another attribute: the table check says so in `lease`'s
            // own terms (which option to pass), from its typed verdict.
            Err(e) if e.kind() == StoreErrorKind::Validation => {
                return Err(match check_table(&connection.client, config).await {
                    Err(
                        failure @ TableCheckFailure::Mismatch {
                            error: TableCheckError::TtlOnOtherAttribute { .. },
                            ..
                        },
                    ) => check_failure(failure, table),
                    _ => Failure::store(
                        &format!("table {table} is ready, but enabling TTL failed"),
                        &e,
                        table,
                    ),
                });
            }
            Err(e) => {
                return Err(Failure::store(
                    &format!("table {table} is ready, but enabling TTL failed"),
                    &e,
                    table,
                ));
            }
        }
    } else {
        "TTL not enabled (no TTL attribute is written)".to_owned()
    };
    println!(
        "table {table} is ready: key {:?} (S) + {:?} (S), on-demand billing; {ttl}",
        config.partition_key_attribute(),
        config.sort_key_attribute()
    );
    Ok(0)
}

/// What `table create` says about TTL, when lease writes a TTL to `attribute`: enabled, or
/// not, on a store without TTL, where `table check` then needs `--no-ttl`.
fn ttl_created(enabled: bool, attribute: &str) -> String {
    if enabled {
        format!("TTL enabled on {attribute:?}")
    } else {
        "TTL not enabled: this store has no TTL, so lease items are never deleted ('lease table check' needs --no-ttl on this store)".to_owned()
    }
}

async fn check(connection: &Connection) -> Result<u8, Failure> {
    let config = &connection.config;
    let table = config.table_name();
    match check_table(&connection.client, config).await {
        Ok(check) => {
            let ttl = match check.ttl {
                TtlCheck::Enabled => format!("TTL enabled on {:?}", config.ttl_attribute()),
                TtlCheck::NotNeeded => "TTL not needed (no TTL attribute is written)".to_owned(),
                _ => {
                    eprintln!(
                        "lease: warning: the store cannot report TTL, so whether old lease items are ever deleted is unknown"
                    );
                    "TTL unverified".to_owned()
                }
            };
            let replication = match check.replication {
                ReplicationCheck::StronglyConsistentGlobal => {
                    "global table with multi-Region strong consistency"
                }
                _ => "single-Region",
            };
            println!(
                "table {table} fits: key {:?} (S) + {:?} (S); {replication}; {ttl}",
                config.partition_key_attribute(),
                config.sort_key_attribute()
            );
            Ok(0)
        }
        Err(e) => Err(check_failure(e, table)),
    }
}

/// The failure for a table check that did not confirm the table, in `lease`'s own terms:
/// 74 when the table does not exist or cannot be described, 65 when it does not fit.
fn check_failure(failure: TableCheckFailure, table: &str) -> Failure {
    match failure {
        TableCheckFailure::NotFound { .. } => Failure::new(status::STORE, not_found(table)),
        TableCheckFailure::Mismatch { error, .. } => Failure::new(
            status::DATA,
            format!(
                "table {table:?} does not fit the lease configuration: {}",
                mismatch(&error)
            ),
        ),
        TableCheckFailure::Describe { source, .. } => {
            Failure::store(&format!("cannot check table {table}"), &source, table)
        }
        other => Failure::internal(chain(&other)),
    }
}

/// The table does not exist: what a shell user can do about it (the library's message names
/// its `create_lock_table`).
fn not_found(table: &str) -> String {
    format!(
        "table {table:?} does not exist: create it with 'lease --table {table} table create' and the same options, or check --table, --region and --endpoint"
    )
}

/// What does not fit, and what to change, in `lease`'s own terms: the library's messages name
/// its builder methods and functions (`include_ttl(false)`, `enable_ttl`), which a shell user
/// cannot call; these name the command-line options and commands instead.
fn mismatch(error: &TableCheckError) -> String {
    match error {
        TableCheckError::MissingPartitionKey { expected } => format!(
            "the table has no partition (HASH) key; lease items need the partition key {expected:?} of type S: use a table made by 'lease table create'"
        ),
        TableCheckError::WrongPartitionKey { expected, found } => format!(
            "the table's partition (HASH) key is {found:?}, but lease uses {expected:?}: pass --partition-key-attribute {found:?}, or use a table keyed by {expected:?}"
        ),
        TableCheckError::MissingSortKey { expected } => format!(
            "the table has no sort (RANGE) key, but lease items are keyed by partition key and sort key {expected:?}: use a table with the sort key {expected:?} of type S ('lease table create' makes one)"
        ),
        TableCheckError::WrongSortKey { expected, found } => format!(
            "the table's sort (RANGE) key is {found:?}, but lease uses {expected:?}: pass --sort-key-attribute {found:?}, or use a table keyed by {expected:?}"
        ),
        TableCheckError::TtlNotEnabled { attribute } => format!(
            "TTL is not enabled on the table, but lease writes its TTL to {attribute:?}: enable TTL on {attribute:?} ('lease table create' with the same options does so, also on an existing table, where the store supports TTL), or write no TTL with --no-ttl (stores without TTL, such as dynalite, need it; released and expired lease items are then never deleted)"
        ),
        TableCheckError::TtlOnOtherAttribute { expected, found } => format!(
            "TTL is enabled on {found:?}, but lease writes its TTL to {expected:?}, so lease items are never deleted: pass --ttl-attribute {found:?}, or move the table's TTL to {expected:?}"
        ),
        // Names nothing of the library (WrongKeyType, the global-table verdicts), or a variant
        // added later.
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use lease_dynamodb_sdk::table::ScalarType;
    use lease_dynamodb_sdk::{store::StoreError, store::StoreErrorKind};

    use super::*;
    use crate::exit::assert_names_no_library_item;

    /// Every mismatch, with the option or command that fixes it from the shell.
    fn cases() -> Vec<(TableCheckError, &'static str)> {
        let s = |text: &str| text.to_owned();
        vec![
            (
                TableCheckError::MissingPartitionKey { expected: s("pk") },
                "lease table create",
            ),
            (
                TableCheckError::WrongPartitionKey {
                    expected: s("pk"),
                    found: s("id"),
                },
                "--partition-key-attribute \"id\"",
            ),
            (
                TableCheckError::MissingSortKey { expected: s("sk") },
                "lease table create",
            ),
            (
                TableCheckError::WrongSortKey {
                    expected: s("sk"),
                    found: s("range"),
                },
                "--sort-key-attribute \"range\"",
            ),
            (
                TableCheckError::WrongKeyType {
                    attribute: s("pk"),
                    found: ScalarType::N,
                },
                "type S",
            ),
            (
                TableCheckError::TtlNotEnabled {
                    attribute: s("ttl"),
                },
                "--no-ttl",
            ),
            (
                TableCheckError::TtlOnOtherAttribute {
                    expected: s("ttl"),
                    found: s("expires"),
                },
                "--ttl-attribute \"expires\"",
            ),
            (
                TableCheckError::EventuallyConsistentGlobalTable {
                    regions: vec![s("eu-west-1"), s("us-east-1")],
                },
                "single-Region table",
            ),
            (
                TableCheckError::UnknownGlobalTableConsistency {
                    consistency: s("SOMEDAY"),
                    regions: vec![s("eu-west-1")],
                },
                "strong consistency (STRONG)",
            ),
        ]
    }

    #[test]
    fn mismatches_name_the_cli_options_not_the_library() {
        for (error, fix) in cases() {
            let message = mismatch(&error);
            assert!(message.contains(fix), "no {fix:?}: {message}");
            assert_names_no_library_item(&message);
        }
    }

    #[test]
    fn a_missing_table_names_the_cli_command_not_the_library() {
        let failure = check_failure(
            TableCheckFailure::NotFound {
                table: "nosuch".to_owned(),
            },
            "nosuch",
        );
        assert_eq!(failure.status, status::STORE);
        assert!(
            failure
                .message
                .contains("'lease --table nosuch table create' and the same options"),
            "{failure:?}"
        );
        assert_names_no_library_item(&failure.message);
    }

    #[test]
    fn every_check_failure_speaks_the_cli_terms() {
        let table = || "locks".to_owned();
        let mut failures = vec![
            (
                TableCheckFailure::NotFound { table: table() },
                status::STORE,
            ),
            (
                TableCheckFailure::Describe {
                    table: table(),
                    source: StoreError::new(StoreErrorKind::AccessDenied, "AccessDeniedException"),
                },
                status::STORE,
            ),
        ];
        for (error, _) in cases() {
            failures.push((
                TableCheckFailure::Mismatch {
                    table: table(),
                    error,
                },
                status::DATA,
            ));
        }
        for (failure, expected) in failures {
            let failure = check_failure(failure, "locks");
            assert_eq!(failure.status, expected, "{failure:?}");
            assert_names_no_library_item(&failure.message);
        }
    }

    /// On a store without TTL (dynalite), `table create` cannot enable TTL: neither its output
    /// nor `table check`'s message may say that it does, and both point to --no-ttl.
    #[test]
    fn ttl_messages_do_not_promise_ttl_on_stores_without_it() {
        let not_enabled = mismatch(&TableCheckError::TtlNotEnabled {
            attribute: "ttl".to_owned(),
        });
        assert!(!not_enabled.contains("enables it"), "{not_enabled}");
        assert!(
            not_enabled.contains("where the store supports TTL"),
            "{not_enabled}"
        );
        assert!(
            not_enabled.contains("stores without TTL, such as dynalite, need it"),
            "{not_enabled}"
        );
        let created = ttl_created(false, "ttl");
        assert!(created.contains("no TTL"), "{created}");
        assert!(created.contains("--no-ttl"), "{created}");
        assert_eq!(ttl_created(true, "ttl"), "TTL enabled on \"ttl\"");
    }
}
