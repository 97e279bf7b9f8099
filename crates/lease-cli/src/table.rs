//! `lease table create` and `lease table check`.

use lease_dynamodb_sdk::{
    TableCheckError, TableCheckFailure, TtlCheck, check_table, create_lock_table, enable_ttl,
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
            Ok(true) => format!("TTL enabled on {:?}", config.ttl_attribute()),
            Ok(false) => "TTL not enabled: this store has no TTL".to_owned(),
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
            println!(
                "table {table} fits: key {:?} (S) + {:?} (S); {ttl}",
                config.partition_key_attribute(),
                config.sort_key_attribute()
            );
            Ok(0)
        }
        Err(e @ TableCheckFailure::NotFound { .. }) => Err(Failure::new(
            status::STORE,
            format!("{}; or run 'lease --table {table} table create'", chain(&e)),
        )),
        Err(TableCheckFailure::Mismatch { table, error }) => Err(Failure::new(
            status::DATA,
            format!(
                "table {table:?} does not fit the lease configuration: {}",
                mismatch(&error)
            ),
        )),
        Err(TableCheckFailure::Describe { source, .. }) => Err(Failure::store(
            &format!("cannot check table {table}"),
            &source,
            table,
        )),
        Err(e) => Err(Failure::internal(chain(&e))),
    }
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
            "TTL is not enabled on the table, but lease writes its TTL to {attribute:?}: enable TTL on {attribute:?} ('lease table create' with the same options enables it, on an existing table too), or write no TTL with --no-ttl (as on a store without TTL, such as dynalite; released and expired lease items are then never deleted)"
        ),
        TableCheckError::TtlOnOtherAttribute { expected, found } => format!(
            "TTL is enabled on {found:?}, but lease writes its TTL to {expected:?}, so lease items are never deleted: pass --ttl-attribute {found:?}, or move the table's TTL to {expected:?}"
        ),
        // Names nothing of the library (WrongKeyType), or a variant added later.
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use lease_dynamodb_sdk::core::ScalarType;

    use super::*;

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
        ]
    }

    #[test]
    fn mismatches_name_the_cli_options_not_the_library() {
        for (error, fix) in cases() {
            let message = mismatch(&error);
            assert!(message.contains(fix), "no {fix:?}: {message}");
            for library in [
                "LeaseConfigBuilder",
                "include_ttl",
                "lease_dynamodb_sdk",
                "create_lock_table",
                "UpdateTimeToLive",
            ] {
                assert!(!message.contains(library), "{library:?} in: {message}");
            }
        }
    }
}
