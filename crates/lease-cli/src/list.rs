//! `lease list`: every lease item in the table (a strongly consistent `Scan` filtered on the
//! lock sort key, paginated, bounded by `--limit`), each read as `lease inspect` reads it.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::scan::ScanError;
use aws_sdk_dynamodb::types::AttributeValue as SdkValue;
use lease_dynamodb_sdk::{
    LeaseKey, store::Planner, store::StoreError, store::StoreErrorKind, store::StoreResponse,
};
use std::time::SystemTime;

use crate::cli::{FormatArgs, ListArgs, StoreArgs, ViewOutput};
use crate::connect::Connection;
use crate::exit::{Failure, chain};
use crate::output::{SnapshotView, json_line};

/// Runs `lease list`.
///
/// # Errors
/// 74 when the scan fails.
pub(crate) async fn list(
    store: &StoreArgs,
    format: &FormatArgs,
    args: ListArgs,
) -> Result<u8, Failure> {
    let connection = Connection::open(store, format).await?;
    let config = &connection.config;
    let table = config.table_name();
    let planner = Planner::new(config.clone());
    let mut names = HashMap::from([("#sk".to_owned(), config.sort_key_attribute().to_owned())]);
    let mut values = HashMap::from([(
        ":lock".to_owned(),
        SdkValue::S(config.lock_sort_key().to_owned()),
    )]);
    let mut filter = "#sk = :lock".to_owned();
    if let Some(prefix) = &args.prefix {
        filter.push_str(" AND begins_with(#pk, :prefix)");
        names.insert(
            "#pk".to_owned(),
            config.partition_key_attribute().to_owned(),
        );
        values.insert(":prefix".to_owned(), SdkValue::S(prefix.clone()));
    }
    let limit = usize::try_from(args.limit).unwrap_or(usize::MAX);
    let mut views = Vec::new();
    let mut start = None;
    let mut more = false;
    loop {
        let page = connection
            .client
            .scan()
            .table_name(table)
            .filter_expression(&filter)
            .set_expression_attribute_names(Some(names.clone()))
            .set_expression_attribute_values(Some(values.clone()))
            .consistent_read(true)
            .limit(args.page_size)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(|e| scan_failure(&e, table))?;
        let now = SystemTime::now();
        for item in page.items() {
            if views.len() == limit {
                more = true;
                break;
            }
            views.push(view_of(item, &planner, now));
        }
        match page.last_evaluated_key() {
            Some(last) if !more => {
                if views.len() == limit {
                    more = true;
                    break;
                }
                start = Some(last.clone());
            }
            _ => break,
        }
    }
    views.sort_by(|a, b| a.key.cmp(&b.key));
    match args.output {
        ViewOutput::Json => println!("{}", json_array(&views)?),
        ViewOutput::Text if views.is_empty() => {
            let within = args
                .prefix
                .as_ref()
                .map(|p| format!(" with keys starting {p:?}"))
                .unwrap_or_default();
            println!("no leases in table {table}{within}");
        }
        ViewOutput::Text => println!("{}", text_table(&views)),
    }
    if more {
        eprintln!(
            "lease: showing the first {limit} leases the scan found; there may be more (raise --limit)"
        );
    }
    Ok(0)
}

/// The lease item `item`, decoded by the library as `inspect` decodes it (strictly).
fn view_of(item: &HashMap<String, SdkValue>, planner: &Planner, now: SystemTime) -> SnapshotView {
    let config = planner.config();
    let lock = config.lock_sort_key();
    let pk = config.partition_key_attribute();
    let Some(partition) = item.get(pk).and_then(|v| v.as_s().ok()) else {
        return SnapshotView::malformed(
            &LeaseKey::new("?", lock),
            format!("the partition key attribute {pk:?} is not a string"),
        );
    };
    let key = LeaseKey::new(partition.clone(), lock);
    let item = match lease_dynamodb_sdk::dynamodb::item_from_sdk(item.clone()) {
        Ok(item) => item,
        Err(e) => return SnapshotView::malformed(&key, e.to_string()),
    };
    let snapshot = planner
        .inspect(key.clone())
        .and_then(|plan| plan.interpret(Ok(StoreResponse::Item(Some(item))), now));
    match snapshot {
        Ok(snapshot) => SnapshotView::new(&snapshot, now),
        Err(e) => SnapshotView::malformed(&key, chain(&e)),
    }
}

/// The views as one JSON document on one line: an array of [`SnapshotView`] objects, `[]` when
/// there are none.
fn json_array(views: &[SnapshotView]) -> Result<String, Failure> {
    json_line(&views)
}

/// The views as an aligned table, with the errors of malformed items below it.
fn text_table(views: &[SnapshotView]) -> String {
    let header = ["KEY", "STATE", "HOLDER", "EXPIRES (UTC)", "WHEN", "FENCE"].map(str::to_owned);
    let dash = || "-".to_owned();
    let rows: Vec<[String; 6]> = std::iter::once(header)
        .chain(views.iter().map(|v| {
            [
                v.key.clone(),
                v.state.to_owned(),
                v.holder.clone().unwrap_or_else(dash),
                v.expires_at.clone().unwrap_or_else(dash),
                v.expires_relative.clone().unwrap_or_else(dash),
                v.fencing_token.map_or_else(dash, |f| f.to_string()),
            ]
        }))
        .collect();
    let mut widths = [0; 6];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut lines: Vec<String> = rows
        .iter()
        .map(|row| {
            row.iter()
                .zip(widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_owned()
        })
        .collect();
    for view in views {
        if let Some(error) = &view.error {
            lines.push(format!("{}: {error}", view.key));
        }
    }
    lines.join("\n")
}

/// The failure for a failed `Scan`.
fn scan_failure(error: &SdkError<ScanError>, table: &str) -> Failure {
    let kind = match error.code() {
        Some("ResourceNotFoundException") => StoreErrorKind::ResourceNotFound,
        Some("AccessDeniedException" | "UnrecognizedClientException") => {
            StoreErrorKind::AccessDenied
        }
        Some(
            "ThrottlingException"
            | "ProvisionedThroughputExceededException"
            | "RequestLimitExceeded",
        ) => StoreErrorKind::Throttled,
        _ => match error {
            SdkError::DispatchFailure(_) => StoreErrorKind::Unavailable,
            SdkError::TimeoutError(_) => StoreErrorKind::Timeout,
            _ => StoreErrorKind::Other,
        },
    };
    let detail = match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("Scan failed: {code}: {message}"),
        (Some(code), None) => format!("Scan failed: {code}"),
        _ => format!("Scan failed: {}", chain(error)),
    };
    let store_error = StoreError::new(kind, detail);
    Failure::store(
        &format!("cannot list the leases in table {table}"),
        &store_error,
        table,
    )
}

#[cfg(test)]
mod tests {
    use lease_dynamodb_sdk::LeaseConfig;

    use super::*;

    fn item(pairs: &[(&str, SdkValue)]) -> HashMap<String, SdkValue> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.clone()))
            .collect()
    }

    fn lease_item(pk: &str, expires: &str) -> HashMap<String, SdkValue> {
        item(&[
            ("pk", SdkValue::S(pk.into())),
            ("sk", SdkValue::S("LOCK".into())),
            ("lease_token", SdkValue::S("secret-token".into())),
            ("lease_expires_at", SdkValue::N(expires.into())),
            ("lease_fence", SdkValue::N("7".into())),
        ])
    }

    fn now() -> SystemTime {
        lease_dynamodb_sdk::store::wire_time::from_epoch_seconds(1_800_000_000).unwrap()
    }

    #[test]
    fn items_are_read_as_inspect_reads_them() {
        let planner = Planner::new(LeaseConfig::builder("locks").build().unwrap());
        let held = view_of(&lease_item("a", "1800000030"), &planner, now());
        assert_eq!((held.state, held.fencing_token), ("held", Some(7)));
        assert_eq!(held.expires_in_seconds, Some(30));
        assert!(held.holder.as_deref().unwrap().starts_with("tok:"));
        let released = view_of(&lease_item("b", "0"), &planner, now());
        assert_eq!(released.state, "released");
        let expired = view_of(&lease_item("c", "1799999990"), &planner, now());
        assert_eq!(expired.state, "expired");
        let mut foreign = lease_item("d", "1800000030");
        foreign.insert("lease_expires_at".into(), SdkValue::S("soon".into()));
        let malformed = view_of(&foreign, &planner, now());
        assert_eq!(malformed.state, "malformed");
        assert!(malformed.error.unwrap().contains("lease_expires_at"));
    }

    #[test]
    fn the_table_never_shows_a_token() {
        let planner = Planner::new(LeaseConfig::builder("locks").build().unwrap());
        let views = [
            view_of(&lease_item("job-a", "1800000030"), &planner, now()),
            view_of(&lease_item("job-b", "0"), &planner, now()),
        ];
        let table = text_table(&views);
        assert!(!table.contains("secret-token"), "{table}");
        assert!(table.starts_with("KEY"), "{table}");
        assert!(table.contains("job-a  held"), "{table}");
        assert!(table.contains("in 30s"), "{table}");
        for view in &views {
            assert!(!view.json().unwrap().contains("secret-token"));
        }
        assert!(!json_array(&views).unwrap().contains("secret-token"));
    }

    #[test]
    fn json_is_one_array() {
        assert_eq!(json_array(&[]).unwrap(), "[]");
        let planner = Planner::new(LeaseConfig::builder("locks").build().unwrap());
        let views = [
            view_of(&lease_item("job-a", "1800000030"), &planner, now()),
            view_of(&lease_item("job-b", "0"), &planner, now()),
        ];
        let text = json_array(&views).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        let leases = parsed.as_array().unwrap();
        assert_eq!(leases.len(), 2, "{text}");
        assert_eq!(leases[0]["key"], "job-a");
        assert_eq!(leases[0]["state"], "held");
        assert_eq!(leases[1]["key"], "job-b");
        assert_eq!(leases[1]["state"], "released");
    }
}
