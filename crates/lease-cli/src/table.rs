//! `lease table create` and `lease table check`.

use lease_dynamodb_sdk::{TableCheckFailure, TtlCheck, check_table, create_lock_table, enable_ttl};

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
        Err(e @ TableCheckFailure::Mismatch { .. }) => Err(Failure::new(status::DATA, chain(&e))),
        Err(TableCheckFailure::Describe { source, .. }) => Err(Failure::store(
            &format!("cannot check table {table}"),
            &source,
            table,
        )),
        Err(e) => Err(Failure::internal(chain(&e))),
    }
}
