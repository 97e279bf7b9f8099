//! `lease list`: every lease item in the table, as the library lists them (a strongly
//! consistent `Scan` for the lock sort key, paginated, bounded by `--limit`), each read as
//! `lease inspect` reads it.

use std::num::NonZeroU32;
use std::time::SystemTime;

use lease_dynamodb_sdk::LeaseError;
use lease_dynamodb_sdk::dynamodb::{ListOptions, ListedLease, list_leases};

use crate::cli::{FormatArgs, ListArgs, StoreArgs, ViewOutput};
use crate::connect::Connection;
use crate::exit::{Failure, chain};
use crate::output::{SnapshotView, json_line};

/// Runs `lease list`.
///
/// # Errors
/// 74 when the scan fails or its answer is unreadable (as the library's `list_leases`).
pub(crate) async fn list(
    store: &StoreArgs,
    format: &FormatArgs,
    args: ListArgs,
) -> Result<u8, Failure> {
    let connection = Connection::open(store, format).await?;
    let config = &connection.config;
    let table = config.table_name();
    // clap keeps --page-size within 1..=i32::MAX (DynamoDB's `Limit` is an i32).
    let page_size = u32::try_from(args.page_size)
        .ok()
        .and_then(NonZeroU32::new)
        .unwrap_or(NonZeroU32::MIN);
    let mut options = ListOptions::new()
        .limit(usize::try_from(args.limit).unwrap_or(usize::MAX))
        .page_size(page_size);
    if let Some(prefix) = &args.prefix {
        options = options.prefix(prefix.clone());
    }
    let list = list_leases(&connection.client, config, &options)
        .await
        .map_err(|e| {
            Failure::store(
                &format!("cannot list the leases in table {table}"),
                &e,
                table,
            )
        })?;
    let now = SystemTime::now();
    let mut views: Vec<SnapshotView> = list.leases.iter().map(|l| view_of(l, now)).collect();
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
    if !list.complete {
        eprintln!(
            "lease: showing the first {} leases the scan found; there may be more (raise --limit)",
            args.limit
        );
    }
    Ok(0)
}

/// The view of a listed lease at `now`; a malformed item says what is wrong in the words
/// `lease inspect` uses for it.
fn view_of(listed: &ListedLease, now: SystemTime) -> SnapshotView {
    match listed {
        ListedLease::Lease(snapshot) => SnapshotView::new(snapshot, now),
        ListedLease::Malformed { key, error } => SnapshotView::malformed(
            key,
            chain(&LeaseError::MalformedItem {
                key: key.clone(),
                error: error.clone(),
            }),
        ),
        other => SnapshotView::malformed(
            other.key(),
            "an entry this version of lease cannot show".to_owned(),
        ),
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

#[cfg(test)]
mod tests {
    use lease_dynamodb_sdk::{
        LeaseConfig, LeaseKey, LeaseSnapshot, store::AttributeValue, store::Item,
    };

    use super::*;

    /// The lease item at `pk` expiring at epoch second `expires` (0: released), as the library
    /// lists it, read at [`now`]; with `expires_at` of type S, a malformed item.
    fn listed(pk: &str, expires: &str, expires_as_string: bool) -> ListedLease {
        let config = LeaseConfig::builder("locks").build().unwrap();
        let expires = if expires_as_string {
            AttributeValue::string(expires)
        } else {
            AttributeValue::N(expires.into())
        };
        let item: Item = [
            ("pk", AttributeValue::string(pk)),
            ("sk", AttributeValue::string("LOCK")),
            ("lease_token", AttributeValue::string("secret-token")),
            ("lease_expires_at", expires),
            ("lease_fence", AttributeValue::number(7)),
        ]
        .into_iter()
        .map(|(name, value)| (name.into(), value))
        .collect();
        let key = LeaseKey::new(pk, "LOCK");
        match LeaseSnapshot::decode(key.clone(), &item, &config, now()) {
            Ok(snapshot) => ListedLease::Lease(snapshot),
            Err(error) => ListedLease::Malformed { key, error },
        }
    }

    fn now() -> SystemTime {
        lease_dynamodb_sdk::store::wire_time::from_epoch_seconds(1_800_000_000).unwrap()
    }

    #[test]
    fn listed_leases_are_shown_as_inspect_shows_them() {
        let held = view_of(&listed("a", "1800000030", false), now());
        assert_eq!((held.state, held.fencing_token), ("held", Some(7)));
        assert_eq!(held.expires_in_seconds, Some(30));
        assert!(held.holder.as_deref().unwrap().starts_with("tok:"));
        let released = view_of(&listed("b", "0", false), now());
        assert_eq!(released.state, "released");
        let expired = view_of(&listed("c", "1799999990", false), now());
        assert_eq!(expired.state, "expired");
        let malformed = view_of(&listed("d", "soon", true), now());
        assert_eq!(
            (malformed.key.as_str(), malformed.state),
            ("d", "malformed")
        );
        let error = malformed.error.unwrap();
        assert!(error.contains("lease_expires_at"), "{error}");
        assert!(error.contains("is not a readable lease"), "{error}");
    }

    #[test]
    fn the_table_never_shows_a_token() {
        let views = [
            view_of(&listed("job-a", "1800000030", false), now()),
            view_of(&listed("job-b", "0", false), now()),
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
        let views = [
            view_of(&listed("job-a", "1800000030", false), now()),
            view_of(&listed("job-b", "0", false), now()),
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
