//! The store through the lease manager, on a mock of the SDK seam: the exact SDK inputs sent,
//! and how SDK answers become lease outcomes.

// The SDK's own error type is large; the mock's answers must return it as it is.
#![allow(clippy::result_large_err)]

use std::error::Error as _;
use std::time::Duration;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::delete_item::{DeleteItemError, DeleteItemOutput};
use aws_sdk_dynamodb::operation::get_item::{GetItemError, GetItemInput, GetItemOutput};
use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemInput, PutItemOutput};
use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
use aws_sdk_dynamodb::types::error::ProvisionedThroughputExceededException;
use aws_sdk_dynamodb::types::{AttributeValue as SdkValue, ReturnValuesOnConditionCheckFailure};
use lease::core::GetRequest;
use time::OffsetDateTime;

use super::*;
use crate::MockDynamoDbApi;
use crate::classify::tests::{condition_failed, http, meta, service};
use crate::convert::SdkItem;
use lease::{
    AttributeValue, Holder, Lease, LeaseConfig, LeaseError, LeaseKey, LeaseManager, LeaseToken,
    ManualClock, ReleaseOutcome, StoreErrorKind,
};

type Manager = LeaseManager<DynamoDbStore<MockDynamoDbApi>>;

/// A manager at epoch second 1000, handing out the token `tok`, with a 10 s TTL buffer.
fn manager_with_token(api: MockDynamoDbApi, token: &'static str) -> Manager {
    let config = LeaseConfig::builder("locks")
        .ttl_buffer(Duration::from_secs(10))
        .build()
        .unwrap();
    LeaseManager::new(DynamoDbStore::new(api), config)
        .with_clock(ManualClock::at_epoch_seconds(1000))
        .with_token_source(move || LeaseToken::new(token))
}

fn manager(api: MockDynamoDbApi) -> Manager {
    manager_with_token(api, "tok")
}

fn our_lease() -> Lease {
    Lease::new(
        LeaseKey::new("CACHE#A", "LOCK"),
        LeaseToken::new("tok"),
        OffsetDateTime::from_unix_timestamp(1030).unwrap(),
    )
}

fn s(v: &str) -> SdkValue {
    SdkValue::S(v.into())
}

fn n(v: &str) -> SdkValue {
    SdkValue::N(v.into())
}

/// A mock whose `PutItem` answers `answer` once.
fn put_answers(
    answer: impl Fn() -> Result<PutItemOutput, SdkError<PutItemError, HttpResponse>> + Send + 'static,
) -> MockDynamoDbApi {
    let mut api = MockDynamoDbApi::new();
    api.expect_put_item()
        .times(1)
        .returning(move |_| Box::pin(std::future::ready(answer())));
    api
}

fn put_ccf(item: Option<SdkItem>) -> SdkError<PutItemError, HttpResponse> {
    SdkError::service_error(
        PutItemError::ConditionalCheckFailedException(condition_failed(item)),
        http(400),
    )
}

#[tokio::test]
async fn acquire_sends_exactly_the_seed_put_item() {
    let expected = PutItemInput::builder()
        .table_name("locks")
        .item("pk", s("CACHE#A"))
        .item("sk", s("LOCK"))
        .item("lease_token", s("tok"))
        .item("lease_expires_at", n("1030"))
        .item("ttl", n("1040"))
        .condition_expression("attribute_not_exists(#pk) OR #exp <= :now")
        .expression_attribute_names("#pk", "pk")
        .expression_attribute_names("#exp", "lease_expires_at")
        .expression_attribute_values(":now", n("1000"))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .build()
        .unwrap();
    let mut api = MockDynamoDbApi::new();
    api.expect_put_item().times(1).returning(move |input| {
        assert_eq!(input, expected);
        Box::pin(std::future::ready(Ok(PutItemOutput::builder().build())))
    });
    let lease = manager(api)
        .acquire("CACHE#A", Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(lease.key(), &LeaseKey::new("CACHE#A", "LOCK"));
    assert_eq!(lease.token().expose_secret(), "tok");
    assert_eq!(lease.expires_at_epoch_seconds(), 1030);
}

#[tokio::test]
async fn acquire_condition_failure_with_the_old_item_names_the_holder() {
    let old: SdkItem = [
        ("pk".to_owned(), s("CACHE#A")),
        ("sk".to_owned(), s("LOCK")),
        ("lease_token".to_owned(), s("other")),
        ("lease_expires_at".to_owned(), n("1500")),
        ("ttl".to_owned(), n("1510")),
    ]
    .into();
    let api = put_answers(move || Err(put_ccf(Some(old.clone()))));
    let err = manager(api)
        .acquire("CACHE#A", Duration::from_secs(30))
        .await
        .unwrap_err();
    let LeaseError::Held {
        key,
        holder: Holder::Known(info),
    } = err
    else {
        panic!("expected Held with a known holder, got {err:?}");
    };
    assert_eq!(key, LeaseKey::new("CACHE#A", "LOCK"));
    assert_eq!(info.expires_at.unix_timestamp(), 1500);
    assert_eq!(info.token, LeaseToken::new("other").fingerprint());
}

#[tokio::test]
async fn acquire_condition_failure_without_an_item_has_an_unknown_holder() {
    // dynalite: the exception carries no item.
    let api = put_answers(|| Err(put_ccf(None)));
    let err = manager(api)
        .acquire("CACHE#A", Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            LeaseError::Held {
                holder: Holder::Unknown,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn refresh_sends_the_seed_update_and_succeeds() {
    let mut api = MockDynamoDbApi::new();
    api.expect_update_item().times(1).returning(|input| {
        assert_eq!(input.table_name(), Some("locks"));
        assert_eq!(
            input.key(),
            Some(
                &[
                    ("pk".to_owned(), s("CACHE#A")),
                    ("sk".to_owned(), s("LOCK"))
                ]
                .into()
            )
        );
        assert_eq!(
            input.update_expression(),
            Some("SET #exp = :exp, #ttl = :ttl")
        );
        assert_eq!(
            input.condition_expression(),
            Some("#tok = :tok AND #exp > :now")
        );
        assert_eq!(
            input.expression_attribute_values(),
            Some(
                &[
                    (":tok".to_owned(), s("tok")),
                    (":exp".to_owned(), n("1060")),
                    (":ttl".to_owned(), n("1070")),
                    (":now".to_owned(), n("1000")),
                ]
                .into()
            )
        );
        Box::pin(std::future::ready(Ok(UpdateItemOutput::builder().build())))
    });
    let lease = manager(api)
        .refresh(&our_lease(), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(lease.expires_at_epoch_seconds(), 1060);
}

#[tokio::test]
async fn refresh_condition_failure_is_not_owned() {
    let mut api = MockDynamoDbApi::new();
    api.expect_update_item().times(1).returning(|_| {
        Box::pin(std::future::ready(Err(SdkError::service_error(
            UpdateItemError::ConditionalCheckFailedException(condition_failed(None)),
            http(400),
        ))))
    });
    let err = manager(api)
        .refresh(&our_lease(), Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(err.is_not_owned(), "{err:?}");
}

#[tokio::test]
async fn release_deletes_on_the_token_and_reports_released() {
    let mut api = MockDynamoDbApi::new();
    api.expect_delete_item().times(1).returning(|input| {
        assert_eq!(input.condition_expression(), Some("#tok = :tok"));
        assert_eq!(
            input.expression_attribute_names(),
            Some(&[("#tok".to_owned(), "lease_token".to_owned())].into())
        );
        assert_eq!(input.return_values_on_condition_check_failure(), None);
        Box::pin(std::future::ready(Ok(DeleteItemOutput::builder().build())))
    });
    let outcome = manager(api).release(&our_lease()).await.unwrap();
    assert_eq!(outcome, ReleaseOutcome::Released);
}

#[tokio::test]
async fn release_condition_failure_is_not_held() {
    let mut api = MockDynamoDbApi::new();
    api.expect_delete_item().times(1).returning(|_| {
        Box::pin(std::future::ready(Err(SdkError::service_error(
            DeleteItemError::ConditionalCheckFailedException(condition_failed(None)),
            http(400),
        ))))
    });
    let outcome = manager(api).release(&our_lease()).await.unwrap();
    assert_eq!(outcome, ReleaseOutcome::NotHeld);
}

#[tokio::test]
async fn store_failures_are_classified_with_the_aws_code() {
    let throttled = || {
        SdkError::service_error(
            PutItemError::ProvisionedThroughputExceededException(
                ProvisionedThroughputExceededException::builder()
                    .message("Rate exceeded")
                    .meta(meta(
                        "ProvisionedThroughputExceededException",
                        "Rate exceeded",
                    ))
                    .build(),
            ),
            http(400),
        )
    };
    type Case = (
        fn() -> SdkError<PutItemError, HttpResponse>,
        StoreErrorKind,
        &'static str,
    );
    let cases: [Case; 5] = [
        (
            throttled,
            StoreErrorKind::Throttled,
            "ProvisionedThroughputExceededException",
        ),
        (
            || service(PutItemError::generic, 400, "ThrottlingException"),
            StoreErrorKind::Throttled,
            "ThrottlingException",
        ),
        (
            || SdkError::timeout_error("operation timeout (all attempts) elapsed"),
            StoreErrorKind::Timeout,
            "PutItem timed out",
        ),
        (
            || service(PutItemError::generic, 500, "InternalServerError"),
            StoreErrorKind::Unavailable,
            "InternalServerError",
        ),
        (
            || service(PutItemError::generic, 400, "ValidationException"),
            StoreErrorKind::Validation,
            "ValidationException",
        ),
    ];
    for (make, kind, text) in cases {
        let err = manager(put_answers(move || Err(make())))
            .acquire("CACHE#A", Duration::from_secs(30))
            .await
            .unwrap_err();
        let LeaseError::Store { source, .. } = &err else {
            panic!("expected a store error, got {err:?}");
        };
        assert_eq!(source.kind(), kind, "{text}");
        assert!(source.message().contains(text), "{}", source.message());
        let sdk = source.source().expect("the SDK error is attached");
        assert!(
            sdk.downcast_ref::<SdkError<PutItemError, HttpResponse>>()
                .is_some()
        );
    }
}

/// A mock that fails the test if any call is made.
fn no_calls() -> MockDynamoDbApi {
    let mut api = MockDynamoDbApi::new();
    api.expect_put_item().never();
    api.expect_update_item().never();
    api.expect_delete_item().never();
    api.expect_get_item().never();
    api
}

#[tokio::test]
async fn invalid_input_sends_nothing() {
    let m = manager(no_calls());
    let err = m.acquire("", Duration::from_secs(30)).await.unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");
    let err = m.acquire("CACHE#A", Duration::ZERO).await.unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");
    let err = m.refresh(&our_lease(), Duration::ZERO).await.unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");
    let tokenless = Lease::new(
        LeaseKey::new("CACHE#A", "LOCK"),
        LeaseToken::new(""),
        OffsetDateTime::UNIX_EPOCH,
    );
    let err = m.release(&tokenless).await.unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");

    let m = manager_with_token(no_calls(), "");
    let err = m
        .acquire("CACHE#A", Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");
}

fn get_request() -> Request {
    Request::Get(GetRequest {
        table_name: "locks".into(),
        key: [("pk".to_owned(), AttributeValue::string("A"))].into(),
        consistent_read: true,
    })
}

fn get_answers(
    answer: impl Fn() -> Result<GetItemOutput, SdkError<GetItemError, HttpResponse>> + Send + 'static,
) -> DynamoDbStore<MockDynamoDbApi> {
    let mut api = MockDynamoDbApi::new();
    api.expect_get_item()
        .times(1)
        .returning(move |input: GetItemInput| {
            assert_eq!(input.consistent_read(), Some(true));
            Box::pin(std::future::ready(answer()))
        });
    DynamoDbStore::new(api)
}

#[tokio::test]
async fn get_answers_the_item_or_none() {
    let store = get_answers(|| {
        Ok(GetItemOutput::builder()
            .item("pk", s("A"))
            .item("n", n("7"))
            .build())
    });
    let expected = [
        ("pk".to_owned(), AttributeValue::string("A")),
        ("n".to_owned(), AttributeValue::number(7)),
    ]
    .into();
    assert_eq!(
        store.execute(&get_request()).await.unwrap(),
        StoreResponse::Item(Some(expected))
    );

    let store = get_answers(|| Ok(GetItemOutput::builder().build()));
    assert_eq!(
        store.execute(&get_request()).await.unwrap(),
        StoreResponse::Item(None)
    );
}

#[tokio::test]
async fn a_missing_table_is_resource_not_found() {
    let store = get_answers(|| {
        Err(service(
            GetItemError::generic,
            400,
            "ResourceNotFoundException",
        ))
    });
    let err = store.execute(&get_request()).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::ResourceNotFound);
    assert!(
        err.message()
            .starts_with("GetItem failed: ResourceNotFoundException")
    );
}
