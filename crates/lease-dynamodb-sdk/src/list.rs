//! Listing the leases of a lock table ([`list_leases`]): a strongly consistent, paginated `Scan`
//! filtered on the lock sort key, each item read as inspect reads one
//! ([`LeaseSnapshot::decode`]).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::time::SystemTime;

use aws_sdk_dynamodb::operation::scan::ScanInput;
use aws_sdk_dynamodb::types::AttributeValue as SdkValue;
use lease::{
    LeaseConfig, LeaseKey, LeaseSnapshot, error::DecodeError, store::StoreError,
    store::StoreErrorKind,
};

use crate::api::{DynamoDbApi, ensure_configured};
use crate::classify::classify_error;
use crate::convert::{SdkItem, item_from_sdk, not_built, value_from_sdk};

/// Which leases [`list_leases`] lists, and in pages of what size.
///
/// [`ListOptions::new`] (or `default()`) lists every lease, in `Scan` pages of DynamoDB's
/// default size (1 MB); the methods narrow it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListOptions {
    prefix: Option<String>,
    limit: Option<usize>,
    page_size: Option<NonZeroU32>,
}

impl ListOptions {
    /// Every lease of the table: no prefix, no limit, pages of DynamoDB's default size.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Only the leases whose partition key value starts with `prefix` (a `begins_with`
    /// filter: the scan still reads, and is billed for, every item of the table). An empty
    /// prefix lists every lease.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into()).filter(|p| !p.is_empty());
        self
    }

    /// At most `limit` leases: the first ones the scan finds (in DynamoDB's order, not by
    /// key). The scan stops there, and the [`LeaseList`] is not
    /// [`complete`](LeaseList::complete) unless the table had no more. A limit of 0 sends no
    /// request and lists nothing.
    #[must_use]
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Items read per `Scan` request (its `Limit`, counted before the filter: a page may hold
    /// fewer leases, or none; DynamoDB also ends a page at 1 MB). Sizes above `i32::MAX` are
    /// sent as `i32::MAX`.
    #[must_use]
    pub fn page_size(mut self, page_size: NonZeroU32) -> Self {
        self.page_size = Some(page_size);
        self
    }
}

/// The leases [`list_leases`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LeaseList {
    /// One entry per lease item, in the order the scan found them (DynamoDB's order, by the
    /// hash of the partition key: not sorted).
    pub leases: Vec<ListedLease>,
    /// Whether the scan reached the end of the table. `false` when it stopped at the
    /// [limit](ListOptions::limit) with more of the table unread: there may be more leases.
    pub complete: bool,
}

/// One lease item of the table, as [`list_leases`] read it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListedLease {
    /// A readable lease item: held, expired or released, judged by the system clock when its
    /// page arrived (never [`StoredState::Absent`](crate::snapshot::StoredState::Absent)).
    Lease(LeaseSnapshot),
    /// An item at the lease's key that is not a readable lease (a missing, wrong-typed,
    /// wrong-unit or foreign attribute, as [`LeaseSnapshot::decode`] reports it): nobody can
    /// acquire this lease until the item is fixed or deleted, and
    /// [`LeaseManager::inspect`](crate::LeaseManager::inspect) of the key answers
    /// [`LeaseError::MalformedItem`](crate::LeaseError::MalformedItem) with the same error.
    Malformed {
        /// The lease's key.
        key: LeaseKey,
        /// What is wrong with the item.
        error: DecodeError,
    },
}

impl ListedLease {
    /// The lease's key.
    #[must_use]
    pub fn key(&self) -> &LeaseKey {
        match self {
            Self::Lease(snapshot) => &snapshot.key,
            Self::Malformed { key, .. } => key,
        }
    }
}

/// Lists the leases of `config`'s table: every item whose sort key is the configured lock sort
/// key (`LOCK` by default), read with `Scan` and `ConsistentRead` through `api` (an
/// [`aws_sdk_dynamodb::Client`], or any [`DynamoDbApi`]), page after page, and decoded strictly
/// as [`LeaseManager::inspect`](crate::LeaseManager::inspect) decodes an item
/// ([`LeaseSnapshot::decode`], at the system clock's time when each page arrives). An item that
/// is not a readable lease is listed as [`ListedLease::Malformed`], not left out.
///
/// Only the lock sort key is listed: the table may hold the application's own items next to the
/// leases (FaceTheory's `META` items share the lease's partition key), which are no leases.
/// Leases named with another sort key ([`LeaseKey::new`]) are listed by a configuration whose
/// lock sort key is that one ([`lock_sort_key`](crate::config::LeaseConfigBuilder::lock_sort_key)).
///
/// A `Scan` reads the whole table (billed for every item read, leases or not; the
/// [limit](ListOptions::limit) stops it early): for an operator's overview, not for a
/// service's hot path. Each request is bounded by the client's own timeouts only (none by
/// default: configure them on the client).
///
/// ```no_run
/// # async fn run(client: aws_sdk_dynamodb::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use lease_dynamodb_sdk::LeaseConfig;
/// use lease_dynamodb_sdk::dynamodb::{ListOptions, ListedLease, list_leases};
///
/// let config = LeaseConfig::builder("locks").build()?;
/// let list = list_leases(&client, &config, &ListOptions::new().prefix("CACHE#").limit(100)).await?;
/// for lease in &list.leases {
///     match lease {
///         ListedLease::Lease(snapshot) => println!("{}: {:?}", snapshot.key, snapshot.state),
///         ListedLease::Malformed { key, error } => println!("{key}: not a lease: {error}"),
///         _ => {}
///     }
/// }
/// if !list.complete {
///     println!("(there may be more)");
/// }
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// A [`StoreError`], and no list, when:
/// - a `Scan` fails, classified as for lease requests (for example
///   [`StoreErrorKind::ResourceNotFound`] when the table does not exist,
///   [`StoreErrorKind::AccessDenied`] without the `dynamodb:Scan` permission,
///   [`StoreErrorKind::Throttled`]);
/// - an item at the lock sort key has no string partition key under the configured name (the
///   table's key is not the configured one: [`check_table`](crate::check_table) says what to
///   fix), or holds a value of a type this SDK version does not know
///   ([`StoreErrorKind::Other`], as for inspect);
/// - the client can send nothing ([`StoreErrorKind::Misconfigured`], nothing sent: it has no
///   region).
pub async fn list_leases<C: DynamoDbApi>(
    api: &C,
    config: &LeaseConfig,
    options: &ListOptions,
) -> Result<LeaseList, StoreError> {
    list_leases_at(api, config, options, SystemTime::now).await
}

/// [`list_leases`], reading the time from `now` when each page arrives.
pub(crate) async fn list_leases_at<C: DynamoDbApi>(
    api: &C,
    config: &LeaseConfig,
    options: &ListOptions,
    now: impl Fn() -> SystemTime,
) -> Result<LeaseList, StoreError> {
    ensure_configured(api)?;
    let limit = options.limit.unwrap_or(usize::MAX);
    let mut leases = Vec::new();
    if limit == 0 {
        return Ok(LeaseList {
            leases,
            complete: false,
        });
    }
    let mut start: Option<SdkItem> = None;
    loop {
        let page = api
            .scan(scan_input(config, options, start.take())?)
            .await
            .map_err(classify_error)?;
        let now = now();
        for item in page.items.unwrap_or_default() {
            if leases.len() == limit {
                return Ok(LeaseList {
                    leases,
                    complete: false,
                });
            }
            leases.push(listed(item, config, now)?);
        }
        match page.last_evaluated_key {
            Some(last) if !last.is_empty() => {
                if leases.len() == limit {
                    return Ok(LeaseList {
                        leases,
                        complete: false,
                    });
                }
                start = Some(last);
            }
            _ => {
                return Ok(LeaseList {
                    leases,
                    complete: true,
                });
            }
        }
    }
}

/// One page's `Scan`: consistent, filtered on the lock sort key (and the prefix), from `start`.
///
/// # Errors
/// [`StoreErrorKind::Validation`] if the SDK rejects the input (nothing sent).
fn scan_input(
    config: &LeaseConfig,
    options: &ListOptions,
    start: Option<SdkItem>,
) -> Result<ScanInput, StoreError> {
    let mut names = HashMap::from([("#sk".to_owned(), config.sort_key_attribute().to_owned())]);
    let mut values = HashMap::from([(
        ":lock".to_owned(),
        SdkValue::S(config.lock_sort_key().to_owned()),
    )]);
    let mut filter = "#sk = :lock".to_owned();
    if let Some(prefix) = &options.prefix {
        filter.push_str(" AND begins_with(#pk, :prefix)");
        names.insert(
            "#pk".to_owned(),
            config.partition_key_attribute().to_owned(),
        );
        values.insert(":prefix".to_owned(), SdkValue::S(prefix.clone()));
    }
    let page_size = options
        .page_size
        .map(|size| i32::try_from(size.get()).unwrap_or(i32::MAX));
    ScanInput::builder()
        .table_name(config.table_name())
        .filter_expression(filter)
        .set_expression_attribute_names(Some(names))
        .set_expression_attribute_values(Some(values))
        .consistent_read(true)
        .set_limit(page_size)
        .set_exclusive_start_key(start)
        .build()
        .map_err(not_built)
}

/// A scanned item at the lock sort key, read at `now`.
///
/// # Errors
/// [`StoreErrorKind::Other`] if its partition key is not a string under the configured name,
/// or a value is of a type this SDK version does not know.
fn listed(item: SdkItem, config: &LeaseConfig, now: SystemTime) -> Result<ListedLease, StoreError> {
    let pk = config.partition_key_attribute();
    let lock = config.lock_sort_key();
    let unreadable = |detail: String| {
        StoreError::new(
            StoreErrorKind::Other,
            format!("Scan answer unreadable: {detail}"),
        )
    };
    let partition = match item.get(pk) {
        Some(SdkValue::S(partition)) => partition.clone(),
        other => {
            let found = match other.cloned().map(value_from_sdk) {
                None => "it has none",
                Some(Ok(value)) => value.type_name(),
                Some(Err(_)) => "of a type this SDK version does not know",
            };
            return Err(unreadable(format!(
                "an item with sort key {lock:?} has no string (S) partition key {pk:?} (found: {found}): the table's key is not the configured one (check the table)"
            )));
        }
    };
    let key = LeaseKey::new(partition, lock);
    let item = item_from_sdk(item)
        .map_err(|e| unreadable(format!("the item at lease {key}: {}", e.message())))?;
    Ok(
        match LeaseSnapshot::decode(key.clone(), &item, config, now) {
            Ok(snapshot) => ListedLease::Lease(snapshot),
            Err(error) => ListedLease::Malformed { key, error },
        },
    )
}

#[cfg(test)]
mod tests;
