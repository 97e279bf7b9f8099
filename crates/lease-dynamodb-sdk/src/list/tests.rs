//! `list_leases` on a mock of the SDK seam: the `Scan` inputs sent page after page, the
//! decoding of each item, the limit, and the classification of failures.

// The SDK's own error type is large; the mock's answers must return it as it is.
#![allow(clippy::result_large_err)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ConnectorError, SdkError};
use aws_sdk_dynamodb::operation::scan::{ScanError, ScanOutput};
use lease::snapshot::StoredState;

use super::*;
use crate::MockDynamoDbApi;
use crate::classify::tests::service;

type ScanResult = Result<ScanOutput, SdkError<ScanError, HttpResponse>>;

fn s(v: &str) -> SdkValue {
    SdkValue::S(v.into())
}

fn n(v: &str) -> SdkValue {
    SdkValue::N(v.into())
}

fn config() -> LeaseConfig {
    LeaseConfig::builder("locks").build().unwrap()
}

/// Epoch second 1000: when every page arrives.
fn now() -> SystemTime {
    lease::store::wire_time::from_epoch_seconds(1000).unwrap()
}

/// A lease item at `pk` expiring at epoch second `expires` (0: released).
fn lease_item(pk: &str, expires: &str) -> SdkItem {
    SdkItem::from([
        ("pk".to_owned(), s(pk)),
        ("sk".to_owned(), s("LOCK")),
        ("lease_token".to_owned(), s("secret-token")),
        ("lease_expires_at".to_owned(), n(expires)),
        ("lease_fence".to_owned(), n("7")),
    ])
}

/// A page of `items`, with `LastEvaluatedKey` at `last` (a partition key) when given.
fn page(items: Vec<SdkItem>, last: Option<&str>) -> ScanResult {
    let mut out = ScanOutput::builder().set_items(Some(items));
    if let Some(pk) = last {
        out = out
            .last_evaluated_key("pk", s(pk))
            .last_evaluated_key("sk", s("LOCK"));
    }
    Ok(out.build())
}

/// A mock client that answers its `Scan`s with `pages`, in order (one `Scan` each), and
/// records the inputs in `seen`.
fn scans(pages: Vec<ScanResult>, seen: &Arc<Mutex<Vec<ScanInput>>>) -> MockDynamoDbApi {
    let mut api = MockDynamoDbApi::new();
    api.expect_misconfiguration().return_const(None);
    let pages = Mutex::new(pages.into_iter());
    let log = seen.clone();
    api.expect_scan().returning(move |input| {
        log.lock().unwrap().push(input);
        let answer = pages.lock().unwrap().next().expect("no more pages");
        Box::pin(std::future::ready(answer))
    });
    api
}

async fn list_with(api: &MockDynamoDbApi, options: &ListOptions) -> Result<LeaseList, StoreError> {
    list_leases_at(api, &config(), options, now).await
}

fn keys(list: &LeaseList) -> Vec<&str> {
    list.leases.iter().map(|l| l.key().partition()).collect()
}

#[tokio::test]
async fn scans_consistently_for_the_lock_sort_key_page_after_page() {
    let seen = Arc::default();
    let api = scans(
        vec![
            page(vec![lease_item("a", "1030")], Some("a")),
            page(vec![], Some("x")), // a page whose items were all filtered out
            page(vec![lease_item("b", "1030")], None),
        ],
        &seen,
    );
    let options = ListOptions::new().page_size(NonZeroU32::new(2).unwrap());
    let list = list_with(&api, &options).await.unwrap();
    assert!(list.complete);
    assert_eq!(keys(&list), ["a", "b"]);

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    let first = &seen[0];
    assert_eq!(first.table_name(), Some("locks"));
    assert_eq!(first.consistent_read(), Some(true));
    assert_eq!(first.limit(), Some(2));
    assert_eq!(first.filter_expression(), Some("#sk = :lock"));
    assert_eq!(
        first.expression_attribute_names(),
        Some(&HashMap::from([("#sk".to_owned(), "sk".to_owned())]))
    );
    assert_eq!(
        first.expression_attribute_values(),
        Some(&HashMap::from([(":lock".to_owned(), s("LOCK"))]))
    );
    assert_eq!(first.exclusive_start_key(), None);
    // Each next page starts where the last one ended, and is otherwise the same request.
    let start = |pk: &str| SdkItem::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s("LOCK"))]);
    assert_eq!(seen[1].exclusive_start_key(), Some(&start("a")));
    assert_eq!(seen[2].exclusive_start_key(), Some(&start("x")));
    for later in &seen[1..] {
        assert_eq!(later.filter_expression(), first.filter_expression());
        assert_eq!(later.consistent_read(), Some(true));
        assert_eq!(later.limit(), Some(2));
    }
}

#[tokio::test]
async fn each_item_is_read_as_inspect_reads_it() {
    let seen = Arc::default();
    let mut foreign = lease_item("foreign", "1030");
    foreign.insert("owner".to_owned(), s("someone"));
    let mut wrong_type = lease_item("wrong-type", "1030");
    wrong_type.insert("lease_expires_at".to_owned(), s("soon"));
    let items = vec![
        lease_item("held", "1030"),
        lease_item("expired", "990"),
        lease_item("released", "0"),
        foreign,
        wrong_type,
    ];
    let api = scans(vec![page(items.clone(), None)], &seen);
    let list = list_with(&api, &ListOptions::new()).await.unwrap();
    assert_eq!(
        keys(&list),
        ["held", "expired", "released", "foreign", "wrong-type"]
    );

    // The same snapshot, or the same error, as inspect of each key.
    let planner = lease::store::Planner::new(config());
    for (listed, item) in list.leases.iter().zip(items) {
        let key = LeaseKey::new(listed.key().partition(), "LOCK");
        assert_eq!(listed.key(), &key);
        let inspected = planner.inspect(key.clone()).unwrap().interpret(
            Ok(lease::store::StoreResponse::Item(Some(
                item_from_sdk(item).unwrap(),
            ))),
            now(),
        );
        match (listed, inspected) {
            (ListedLease::Lease(snapshot), Ok(inspected)) => assert_eq!(snapshot, &inspected),
            (
                ListedLease::Malformed { key: k, error },
                Err(lease::LeaseError::MalformedItem {
                    key: inspected_key,
                    error: inspected,
                }),
            ) => assert_eq!((k, error), (&inspected_key, &inspected)),
            (listed, inspected) => panic!("{listed:?} but inspect: {inspected:?}"),
        }
    }
    let states: Vec<_> = list
        .leases
        .iter()
        .map(|l| match l {
            ListedLease::Lease(snapshot) => match snapshot.state {
                StoredState::Held(_) => "held",
                StoredState::Expired(_) => "expired",
                StoredState::Released(_) => "released",
                _ => "other",
            },
            ListedLease::Malformed { error, .. } => match error {
                DecodeError::ForeignAttribute { .. } => "foreign",
                DecodeError::WrongType { .. } => "wrong-type",
                _ => "other",
            },
        })
        .collect();
    assert_eq!(keys(&list), states);
}

#[tokio::test]
async fn a_prefix_filters_on_the_partition_key() {
    let seen = Arc::default();
    let api = scans(vec![page(vec![lease_item("CACHE#a", "1030")], None)], &seen);
    let list = list_with(&api, &ListOptions::new().prefix("CACHE#"))
        .await
        .unwrap();
    assert_eq!(keys(&list), ["CACHE#a"]);
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen[0].filter_expression(),
        Some("#sk = :lock AND begins_with(#pk, :prefix)")
    );
    assert_eq!(
        seen[0].expression_attribute_names().unwrap()["#pk"],
        "pk".to_owned()
    );
    assert_eq!(
        seen[0].expression_attribute_values().unwrap()[":prefix"],
        s("CACHE#")
    );
    assert_eq!(seen[0].limit(), None, "DynamoDB's page size by default");
    // An empty prefix is no filter (DynamoDB would reject the empty value).
    assert_eq!(ListOptions::new().prefix(""), ListOptions::new());
}

#[tokio::test]
async fn the_configured_names_and_lock_sort_key_are_scanned_for() {
    let config = LeaseConfig::builder("locks")
        .key_attribute_names("PK", "SK")
        .lock_sort_key("MUTEX")
        .build()
        .unwrap();
    let seen: Arc<Mutex<Vec<ScanInput>>> = Arc::default();
    let item = SdkItem::from([
        ("PK".to_owned(), s("job")),
        ("SK".to_owned(), s("MUTEX")),
        ("lease_token".to_owned(), s("t")),
        ("lease_expires_at".to_owned(), n("1030")),
    ]);
    let api = scans(vec![page(vec![item], None)], &seen);
    let list = list_leases_at(&api, &config, &ListOptions::new().prefix("j"), now)
        .await
        .unwrap();
    assert_eq!(list.leases[0].key(), &LeaseKey::new("job", "MUTEX"));
    assert!(matches!(&list.leases[0], ListedLease::Lease(s) if s.state.is_held()));
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen[0].expression_attribute_names(),
        Some(&HashMap::from([
            ("#sk".to_owned(), "SK".to_owned()),
            ("#pk".to_owned(), "PK".to_owned())
        ]))
    );
    assert_eq!(
        seen[0].expression_attribute_values().unwrap()[":lock"],
        s("MUTEX")
    );
}

#[tokio::test]
async fn the_limit_stops_the_scan() {
    let two = || vec![lease_item("a", "1030"), lease_item("b", "1030")];
    // Within a page: the rest of it is not listed, and no other page is read.
    let seen: Arc<Mutex<Vec<ScanInput>>> = Arc::default();
    let api = scans(vec![page(two(), Some("b"))], &seen);
    let list = list_with(&api, &ListOptions::new().limit(1)).await.unwrap();
    assert_eq!((keys(&list), list.complete), (vec!["a"], false));
    assert_eq!(seen.lock().unwrap().len(), 1);

    // At the end of a page with more to read: incomplete, and no other page is read.
    let seen: Arc<Mutex<Vec<ScanInput>>> = Arc::default();
    let api = scans(vec![page(two(), Some("b"))], &seen);
    let list = list_with(&api, &ListOptions::new().limit(2)).await.unwrap();
    assert_eq!((keys(&list), list.complete), (vec!["a", "b"], false));
    assert_eq!(seen.lock().unwrap().len(), 1);

    // At the end of the table: complete.
    let seen: Arc<Mutex<Vec<ScanInput>>> = Arc::default();
    let api = scans(vec![page(two(), None)], &seen);
    let list = list_with(&api, &ListOptions::new().limit(2)).await.unwrap();
    assert_eq!((keys(&list), list.complete), (vec!["a", "b"], true));

    // Zero: nothing sent, nothing listed.
    let mut api = MockDynamoDbApi::new();
    api.expect_misconfiguration().return_const(None);
    api.expect_scan().never();
    let list = list_with(&api, &ListOptions::new().limit(0)).await.unwrap();
    assert_eq!((list.leases.len(), list.complete), (0, false));
}

#[tokio::test]
async fn a_page_size_beyond_dynamodb_s_range_is_its_largest() {
    let seen = Arc::default();
    let api = scans(vec![page(vec![], None)], &seen);
    let options = ListOptions::new().page_size(NonZeroU32::MAX);
    assert!(list_with(&api, &options).await.unwrap().leases.is_empty());
    assert_eq!(seen.lock().unwrap()[0].limit(), Some(i32::MAX));
}

/// Failures are classified by the crate's one classifier, as for lease requests.
#[tokio::test]
async fn scan_failures_are_classified_as_for_lease_requests() {
    let cases: Vec<(ScanResult, StoreErrorKind)> = vec![
        (
            Err(service(
                ScanError::generic,
                400,
                "ResourceNotFoundException",
            )),
            StoreErrorKind::ResourceNotFound,
        ),
        (
            Err(service(ScanError::generic, 400, "ThrottlingException")),
            StoreErrorKind::Throttled,
        ),
        (
            Err(service(ScanError::generic, 400, "AccessDeniedException")),
            StoreErrorKind::AccessDenied,
        ),
        (
            Err(service(ScanError::generic, 400, "ValidationException")),
            StoreErrorKind::Validation,
        ),
        (
            Err(service(ScanError::generic, 500, "InternalServerError")),
            StoreErrorKind::Unavailable,
        ),
        (
            Err(SdkError::timeout_error("deadline elapsed")),
            StoreErrorKind::Timeout,
        ),
        (
            Err(SdkError::dispatch_failure(ConnectorError::timeout(
                "connect timeout".into(),
            ))),
            StoreErrorKind::Timeout,
        ),
    ];
    for (answer, kind) in cases {
        let seen = Arc::default();
        let api = scans(vec![answer], &seen);
        let err = list_with(&api, &ListOptions::new()).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
        assert!(err.message().starts_with("Scan "), "{}", err.message());
    }
    // A failure on a later page fails the listing: no partial list passes for a whole one.
    let seen = Arc::default();
    let api = scans(
        vec![
            page(vec![lease_item("a", "1030")], Some("a")),
            Err(service(ScanError::generic, 400, "ThrottlingException")),
        ],
        &seen,
    );
    let err = list_with(&api, &ListOptions::new()).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Throttled);
}

#[tokio::test]
async fn an_item_without_a_string_partition_key_fails_the_listing() {
    for pk in [Some(n("12")), None] {
        let mut item = lease_item("a", "1030");
        match pk {
            Some(value) => item.insert("pk".to_owned(), value),
            None => item.remove("pk"),
        };
        let seen = Arc::default();
        let api = scans(vec![page(vec![item], None)], &seen);
        let err = list_with(&api, &ListOptions::new()).await.unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Other);
        assert!(err.message().contains("\"pk\""), "{}", err.message());
        assert!(!err.message().contains("secret-token"), "{}", err.message());
    }
}

#[tokio::test]
async fn a_client_that_can_send_nothing_sends_nothing() {
    let mut api = MockDynamoDbApi::new();
    api.expect_misconfiguration()
        .return_const(Some("the AWS SDK client has no region"));
    api.expect_scan().never();
    let err = list_with(&api, &ListOptions::new()).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Misconfigured);
}

#[tokio::test]
async fn the_time_is_read_when_each_page_arrives() {
    // The decoding time decides held or expired: a clock read per page, not per listing.
    let times = Mutex::new(vec![now(), now() + Duration::from_secs(60)].into_iter());
    let seen = Arc::default();
    let api = scans(
        vec![
            page(vec![lease_item("a", "1030")], Some("a")),
            page(vec![lease_item("b", "1030")], None),
        ],
        &seen,
    );
    let list = list_leases_at(&api, &config(), &ListOptions::new(), || {
        times.lock().unwrap().next().unwrap()
    })
    .await
    .unwrap();
    let held: Vec<bool> = list
        .leases
        .iter()
        .map(|l| matches!(l, ListedLease::Lease(s) if s.state.is_held()))
        .collect();
    assert_eq!(held, [true, false]);
}
