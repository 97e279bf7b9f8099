//! The store through the lease manager, on a mock of the SDK seam: the exact SDK inputs sent,
//! and how SDK answers become lease outcomes.

// The SDK's own error type is large; the mock's answers must return it as it is.
#![allow(clippy::result_large_err)]

use std::error::Error as _;
use std::time::Duration;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_dynamodb::operation::get_item::{GetItemError, GetItemInput, GetItemOutput};
use aws_sdk_dynamodb::operation::update_item::{
    UpdateItemError, UpdateItemInput, UpdateItemOutput,
};
use aws_sdk_dynamodb::types::error::ProvisionedThroughputExceededException;
use aws_sdk_dynamodb::types::{
    AttributeValue as SdkValue, ReturnValue, ReturnValuesOnConditionCheckFailure,
};
use lease::store::GetRequest;

use super::*;
use crate::MockDynamoDbApi;
use crate::classify::tests::{condition_failed, http, meta, service};
use crate::convert::SdkItem;
use lease::{
    FencingToken, Lease, LeaseConfig, LeaseError, LeaseKey, LeaseManager, ReleaseOutcome,
    clock::TestClock, config::RetryPolicy, error::InvalidInput, snapshot::Holder,
    snapshot::HolderRecord, snapshot::StoredState, snapshot::TokenFingerprint,
    store::AttributeValue, store::StoreErrorKind, token::LeaseToken,
};

type Manager = LeaseManager<DynamoDbStore<MockDynamoDbApi>>;

/// A manager at epoch second 1000, handing out the token `tok`, with a 10 s TTL buffer.
fn manager_with_token(api: MockDynamoDbApi, token: &'static str) -> Manager {
    let config = LeaseConfig::builder("locks")
        .ttl_buffer(Duration::from_secs(10))
        .build()
        .unwrap();
    LeaseManager::new(store(api), config)
        .with_clock(TestClock::at_epoch_seconds(1000).frozen())
        .with_token_source(move || LeaseToken::new(token))
}

/// A store on `api`, a mock client that can send (no misconfiguration). Making the store turns
/// the client's own retries off, once.
fn store(mut api: MockDynamoDbApi) -> DynamoDbStore<MockDynamoDbApi> {
    api.expect_misconfiguration().return_const(None);
    api.expect_disable_retries().times(1).return_const(());
    DynamoDbStore::new(api)
}

fn manager(api: MockDynamoDbApi) -> Manager {
    manager_with_token(api, "tok")
}

fn our_lease() -> Lease {
    Lease::new(
        LeaseKey::new("CACHE#A", "LOCK"),
        LeaseToken::new("tok"),
        FencingToken::new(1),
        crate::store::wire_time::from_epoch_seconds(1030).unwrap(),
    )
}

fn s(v: &str) -> SdkValue {
    SdkValue::S(v.into())
}

fn n(v: &str) -> SdkValue {
    SdkValue::N(v.into())
}

type UpdateResult = Result<UpdateItemOutput, SdkError<UpdateItemError, HttpResponse>>;

/// A mock whose `UpdateItem` answers `answer` `times` times.
fn update_answers(
    times: usize,
    answer: impl Fn() -> UpdateResult + Send + 'static,
) -> MockDynamoDbApi {
    let mut api = MockDynamoDbApi::new();
    api.expect_update_item()
        .times(times)
        .returning(move |_| Box::pin(std::future::ready(answer())));
    api
}

/// Whether an `UpdateItem` is an acquire (it asks for the new item).
fn is_acquire(input: &UpdateItemInput) -> bool {
    input.return_values() == Some(&ReturnValue::UpdatedNew)
}

/// Whether an `UpdateItem` is the release of the lease with token `tok`.
fn is_release_of_tok(input: &UpdateItemInput) -> bool {
    input.update_expression() == Some("SET #exp = :released, #ttl = :ttl")
        && input.condition_expression() == Some("#tok = :tok")
        && input
            .expression_attribute_values()
            .and_then(|values| values.get(":tok"))
            == Some(&s("tok"))
}

/// A mock whose acquire `UpdateItem` answers `answer` `times` times, and which expects
/// `cleanups` releases of the token it handed out (the manager's clean-up after an acquire
/// whose outcome stayed unknown), answered as applied.
fn acquire_answers(
    times: usize,
    cleanups: usize,
    answer: impl Fn() -> UpdateResult + Send + 'static,
) -> MockDynamoDbApi {
    let mut api = MockDynamoDbApi::new();
    api.expect_update_item()
        .withf(is_acquire)
        .times(times)
        .returning(move |_| Box::pin(std::future::ready(answer())));
    api.expect_update_item()
        .withf(is_release_of_tok)
        .times(cleanups)
        .returning(|_| Box::pin(std::future::ready(Ok(UpdateItemOutput::builder().build()))));
    api
}

fn update_ccf(item: Option<SdkItem>) -> SdkError<UpdateItemError, HttpResponse> {
    SdkError::service_error(
        UpdateItemError::ConditionalCheckFailedException(condition_failed(item)),
        http(400),
    )
}

/// What DynamoDB answers an acquire (`ReturnValues UPDATED_NEW`): the attributes the update
/// set, with the fencing token.
fn acquired(fence: &str) -> UpdateItemOutput {
    UpdateItemOutput::builder()
        .attributes("lease_token", s("tok"))
        .attributes("lease_expires_at", n("1030"))
        .attributes("lease_fence", n(fence))
        .attributes("ttl", n("1040"))
        .build()
}

/// Seed vector G1 as an `UpdateItem`: the seed's item values as `SET`s, plus the fencing
/// token, under the seed's condition plus `OR #tok = :tok`.
#[tokio::test]
async fn acquire_sends_exactly_the_seed_update_item() {
    let expected = UpdateItemInput::builder()
        .table_name("locks")
        .key("pk", s("CACHE#A"))
        .key("sk", s("LOCK"))
        .update_expression(
            "SET #tok = :tok, #exp = :exp, #fence = if_not_exists(#fence, :floor) + :one, #ttl = :ttl",
        )
        .condition_expression("attribute_not_exists(#pk) OR #exp <= :now OR #tok = :tok")
        .expression_attribute_names("#pk", "pk")
        .expression_attribute_names("#exp", "lease_expires_at")
        .expression_attribute_names("#tok", "lease_token")
        .expression_attribute_names("#fence", "lease_fence")
        .expression_attribute_names("#ttl", "ttl")
        .expression_attribute_values(":now", n("1000"))
        .expression_attribute_values(":tok", s("tok"))
        .expression_attribute_values(":exp", n("1030"))
        .expression_attribute_values(":floor", n("1000000"))
        .expression_attribute_values(":one", n("1"))
        .expression_attribute_values(":ttl", n("1040"))
        .return_values(ReturnValue::UpdatedNew)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .build()
        .unwrap();
    let mut api = MockDynamoDbApi::new();
    api.expect_put_item().never();
    api.expect_update_item().times(1).returning(move |input| {
        assert_eq!(input, expected);
        Box::pin(std::future::ready(Ok(acquired("1000001"))))
    });
    let lease = manager(api)
        .try_acquire("CACHE#A", Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(lease.key(), &LeaseKey::new("CACHE#A", "LOCK"));
    assert_eq!(lease.token().expose_secret(), "tok");
    assert_eq!(lease.expires_at_epoch_seconds(), 1030);
    assert_eq!(lease.fence(), FencingToken::new(1_000_001));
}

/// A server that ignores `ReturnValues` answers without the item: the fencing token is unknown,
/// which is a store bug, not a lease. The write did land, so the acquire gives it back: a
/// second `UpdateItem`, the release, conditioned on our token.
#[tokio::test]
async fn an_acquire_answer_without_the_fencing_token_is_unexpected() {
    for output in [
        UpdateItemOutput::builder().build(),
        UpdateItemOutput::builder()
            .attributes("lease_token", s("tok"))
            .build(),
    ] {
        let api = update_answers(2, move || Ok(output.clone()));
        let err = manager(api)
            .try_acquire("CACHE#A", Duration::from_secs(30))
            .await
            .unwrap_err();
        assert!(
            matches!(err, LeaseError::UnexpectedResponse { .. }),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn acquire_condition_failure_with_the_old_item_names_the_holder() {
    let old: SdkItem = [
        ("pk".to_owned(), s("CACHE#A")),
        ("sk".to_owned(), s("LOCK")),
        ("lease_token".to_owned(), s("other")),
        ("lease_expires_at".to_owned(), n("1500")),
        ("lease_fence".to_owned(), n("77")),
        ("ttl".to_owned(), n("1510")),
    ]
    .into();
    let api = update_answers(1, move || Err(update_ccf(Some(old.clone()))));
    let err = manager(api)
        .try_acquire("CACHE#A", Duration::from_secs(30))
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
    assert_eq!(
        info,
        HolderRecord {
            token: LeaseToken::new("other").fingerprint(),
            expires_at: crate::store::wire_time::from_epoch_seconds(1500).unwrap(),
            fence: Some(FencingToken::new(77)),
            released: false,
        }
    );
}

#[tokio::test]
async fn acquire_condition_failure_without_an_item_reads_the_holder() {
    // dynalite: the exception carries no item; a consistent read finds none either (the lease
    // was released and its item deleted since): the holder stays unknown.
    let mut api = update_answers(1, || Err(update_ccf(None)));
    api.expect_get_item()
        .times(1)
        .returning(|_| Box::pin(std::future::ready(Ok(GetItemOutput::builder().build()))));
    let err = manager(api)
        .try_acquire("CACHE#A", Duration::from_secs(30))
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
async fn acquire_condition_failure_on_an_unreadable_item_is_malformed() {
    let old: SdkItem = [
        ("pk".to_owned(), s("CACHE#A")),
        ("sk".to_owned(), s("LOCK")),
        ("lease_token".to_owned(), s("other")),
        ("lease_expires_at".to_owned(), s("1500")),
    ]
    .into();
    let api = update_answers(1, move || Err(update_ccf(Some(old.clone()))));
    let err = manager(api)
        .try_acquire("CACHE#A", Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(
        matches!(err, LeaseError::MalformedItem { ref key, .. } if *key == LeaseKey::new("CACHE#A", "LOCK")),
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
            input.expression_attribute_names(),
            Some(
                &[
                    ("#tok".to_owned(), "lease_token".to_owned()),
                    ("#exp".to_owned(), "lease_expires_at".to_owned()),
                    ("#ttl".to_owned(), "ttl".to_owned()),
                ]
                .into()
            )
        );
        assert_eq!(input.return_values(), Some(&ReturnValue::None));
        assert_eq!(input.return_values_on_condition_check_failure(), None);
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

/// Release keeps the item: it sets the expiry to 0 (released) and the TTL to now + buffer,
/// conditioned on the token alone.
#[tokio::test]
async fn release_marks_the_item_released_on_the_token() {
    let expected = UpdateItemInput::builder()
        .table_name("locks")
        .key("pk", s("CACHE#A"))
        .key("sk", s("LOCK"))
        .update_expression("SET #exp = :released, #ttl = :ttl")
        .condition_expression("#tok = :tok")
        .expression_attribute_names("#tok", "lease_token")
        .expression_attribute_names("#exp", "lease_expires_at")
        .expression_attribute_names("#ttl", "ttl")
        .expression_attribute_values(":tok", s("tok"))
        .expression_attribute_values(":released", n("0"))
        .expression_attribute_values(":ttl", n("1010"))
        .return_values(ReturnValue::None)
        .build()
        .unwrap();
    let mut api = MockDynamoDbApi::new();
    api.expect_delete_item().never();
    api.expect_update_item().times(1).returning(move |input| {
        assert_eq!(input, expected);
        Box::pin(std::future::ready(Ok(UpdateItemOutput::builder().build())))
    });
    let outcome = manager(api).release(&our_lease()).await.unwrap();
    assert_eq!(outcome, ReleaseOutcome::Released);
}

#[tokio::test]
async fn release_condition_failure_is_not_held() {
    let api = update_answers(1, || Err(update_ccf(None)));
    let outcome = manager(api).release(&our_lease()).await.unwrap();
    assert_eq!(outcome, ReleaseOutcome::NotHeld);
}

fn throttled() -> SdkError<UpdateItemError, HttpResponse> {
    SdkError::service_error(
        UpdateItemError::ProvisionedThroughputExceededException(
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
}

/// One attempt per case (no retries): the kind and the AWS code reach the lease error, which is
/// `OutcomeUnknown` when the write may have been applied (timeout, 5xx) and `Store` otherwise.
#[tokio::test]
async fn store_failures_are_classified_with_the_aws_code() {
    type Case = (
        fn() -> SdkError<UpdateItemError, HttpResponse>,
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
            || service(UpdateItemError::generic, 400, "ThrottlingException"),
            StoreErrorKind::Throttled,
            "ThrottlingException",
        ),
        (
            || SdkError::timeout_error("operation timeout (all attempts) elapsed"),
            StoreErrorKind::Timeout,
            "UpdateItem timed out",
        ),
        (
            || service(UpdateItemError::generic, 500, "InternalServerError"),
            StoreErrorKind::Unavailable,
            "InternalServerError",
        ),
        (
            || service(UpdateItemError::generic, 400, "ValidationException"),
            StoreErrorKind::Validation,
            "ValidationException",
        ),
    ];
    for (make, kind, text) in cases {
        // An acquire whose outcome stays unknown is followed by one release of its token.
        let cleanups = usize::from(kind.outcome_may_be_applied());
        let err = manager(acquire_answers(1, cleanups, move || Err(make())))
            .with_retry_policy(RetryPolicy::never())
            .try_acquire("CACHE#A", Duration::from_secs(30))
            .await
            .unwrap_err();
        let source = match &err {
            LeaseError::OutcomeUnknown { source, .. } => {
                assert!(kind.outcome_may_be_applied(), "{text}: {err:?}");
                source
            }
            LeaseError::Store { source, .. } => {
                assert!(!kind.outcome_may_be_applied(), "{text}: {err:?}");
                source
            }
            other => panic!("expected a store error, got {other:?}"),
        };
        assert_eq!(source.kind(), kind, "{text}");
        assert!(source.message().contains(text), "{}", source.message());
        let sdk = source.source().expect("the SDK error is attached");
        assert!(
            sdk.downcast_ref::<SdkError<UpdateItemError, HttpResponse>>()
                .is_some()
        );
    }
    // Spelled out, not derived from the predicate: a timeout and a 5xx are unknown outcomes.
    let err = manager(acquire_answers(1, 1, || {
        Err(SdkError::timeout_error(
            "operation timeout (all attempts) elapsed",
        ))
    }))
    .with_retry_policy(RetryPolicy::never())
    .try_acquire("CACHE#A", Duration::from_secs(30))
    .await
    .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
}

/// The default policy sends a request up to three times after transient errors (throttled,
/// timed out, unavailable), waiting 25 ms, then 50 ms (tokio's paused clock: no real wait).
#[tokio::test(start_paused = true)]
async fn transient_failures_are_retried_three_times_in_all() {
    let start = tokio::time::Instant::now();
    let err = manager(acquire_answers(3, 0, || Err(throttled())))
        .try_acquire("CACHE#A", Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, LeaseError::Store { source, .. } if source.kind() == StoreErrorKind::Throttled),
        "{err:?}"
    );
    assert_eq!(start.elapsed(), Duration::from_millis(75));

    // Unknown after three tries: then one clean-up release of the token.
    let err = manager(acquire_answers(3, 1, || {
        Err(SdkError::timeout_error(
            "operation timeout (all attempts) elapsed",
        ))
    }))
    .try_acquire("CACHE#A", Duration::from_secs(30))
    .await
    .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");

    // Not transient: sent once.
    let err = manager(update_answers(1, || {
        Err(service(
            UpdateItemError::generic,
            400,
            "ValidationException",
        ))
    }))
    .try_acquire("CACHE#A", Duration::from_secs(30))
    .await
    .unwrap_err();
    assert!(matches!(err, LeaseError::Store { .. }), "{err:?}");
}

/// A timeout then success: the same request, sent again, gives the lease (the write may have
/// landed the first time; `OR #tok = :tok` lets the retry find it).
#[tokio::test(start_paused = true)]
async fn a_retry_after_a_timeout_sends_the_same_request_and_succeeds() {
    let calls = Arc::new(AtomicU32::new(0));
    let seen: Arc<std::sync::Mutex<Vec<UpdateItemInput>>> = Arc::default();
    let mut api = MockDynamoDbApi::new();
    let (count, log) = (calls.clone(), seen.clone());
    api.expect_update_item().times(2).returning(move |input| {
        log.lock().unwrap().push(input);
        let answer = if count.fetch_add(1, Ordering::SeqCst) == 0 {
            Err(SdkError::timeout_error(
                "operation timeout (all attempts) elapsed",
            ))
        } else {
            Ok(acquired("1000002"))
        };
        Box::pin(std::future::ready(answer))
    });
    let lease = manager(api)
        .try_acquire("CACHE#A", Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(lease.fence(), FencingToken::new(1_000_002));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0], seen[1], "the retry is the same request");
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
    let err = m
        .try_acquire("", Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");
    let err = m.try_acquire("CACHE#A", Duration::ZERO).await.unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");
    let err = m.refresh(&our_lease(), Duration::ZERO).await.unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");
    // Not longer than the 1 s clock skew bound.
    let err = m
        .try_acquire("CACHE#A", Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            LeaseError::InvalidInput {
                reason: InvalidInput::DurationNotAboveSkew { .. },
                ..
            }
        ),
        "{err:?}"
    );
    let err = m.inspect(LeaseKey::new("", "LOCK")).await.unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");
    let tokenless = Lease::new(
        LeaseKey::new("CACHE#A", "LOCK"),
        LeaseToken::new(""),
        FencingToken::new(1),
        std::time::UNIX_EPOCH,
    );
    let err = m.release(&tokenless).await.unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");

    let m = manager_with_token(no_calls(), "");
    let err = m
        .try_acquire("CACHE#A", Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");
}

fn get_request() -> Request {
    Request::Get(GetRequest {
        table_name: "locks".into(),
        key: [("pk".into(), AttributeValue::string("A"))].into(),
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
    store(api)
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
        ("pk".into(), AttributeValue::string("A")),
        ("n".into(), AttributeValue::number(7)),
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

#[tokio::test]
async fn inspect_reads_the_lease_with_a_consistent_get() {
    let mut api = MockDynamoDbApi::new();
    api.expect_get_item()
        .times(1)
        .returning(|input: GetItemInput| {
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
            assert_eq!(input.consistent_read(), Some(true));
            Box::pin(std::future::ready(Ok(GetItemOutput::builder()
                .item("pk", s("CACHE#A"))
                .item("sk", s("LOCK"))
                .item("lease_token", s("other"))
                .item("lease_expires_at", n("0"))
                .item("lease_fence", n("5"))
                .item("ttl", n("4600"))
                .build())))
        });
    let snapshot = manager(api)
        .inspect(LeaseKey::new("CACHE#A", "LOCK"))
        .await
        .unwrap();
    assert_eq!(
        snapshot.state,
        StoredState::Released(HolderRecord {
            token: TokenFingerprint::of("other"),
            expires_at: std::time::UNIX_EPOCH,
            fence: Some(FencingToken::new(5)),
            released: true,
        })
    );
}

/// A store that accepts the request and never answers must not hang the operation: the store's
/// request timeout ends it as a `Timeout` (outcome unknown), and the manager's retries are
/// bounded the same way.
#[tokio::test(start_paused = true)]
async fn a_store_that_never_answers_times_out() {
    let mut api = MockDynamoDbApi::new();
    api.expect_update_item()
        .returning(|_| Box::pin(std::future::pending()));
    let store = store(api).with_request_timeout(Some(Duration::from_secs(2)));
    let config = LeaseConfig::builder("tbl").build().unwrap();
    let manager = LeaseManager::new(store, config)
        .with_clock(TestClock::at_epoch_seconds(1000).frozen())
        .with_retry_policy(RetryPolicy::never());
    let started = tokio::time::Instant::now();
    let err = manager
        .try_acquire("CACHE#A", Duration::from_secs(30))
        .await
        .unwrap_err();
    let LeaseError::OutcomeUnknown { source, .. } = &err else {
        panic!("expected OutcomeUnknown, got {err:?}");
    };
    assert_eq!(source.kind(), StoreErrorKind::Timeout);
    assert!(source.message().contains("request timeout"), "{source}");
    // One acquire attempt and one clean-up release, each bounded by 2 s of virtual time.
    assert_eq!(started.elapsed(), Duration::from_secs(4));
}

/// A client that can send nothing (an SDK client without a region) is reported as such, at
/// once: no request reaches the client (the mock expects none), nothing is retried, and the
/// error says the request was not applied, instead of an unknown outcome after retries.
#[tokio::test]
async fn a_misconfigured_client_sends_nothing_and_says_why() {
    let mut api = MockDynamoDbApi::new();
    api.expect_misconfiguration()
        .times(1)
        .return_const(Some("the client has no region"));
    api.expect_disable_retries().times(1).return_const(());
    let store = DynamoDbStore::new(api);
    let config = LeaseConfig::builder("locks").build().unwrap();
    let manager =
        LeaseManager::new(store, config).with_clock(TestClock::at_epoch_seconds(1000).frozen());
    let err = manager
        .try_acquire("CACHE#A", Duration::from_secs(30))
        .await
        .unwrap_err();
    match &err {
        LeaseError::Store { source, .. } => {
            assert_eq!(source.kind(), StoreErrorKind::Misconfigured);
            assert_eq!(source.message(), "the client has no region");
        }
        other => panic!("expected Store(Misconfigured), got {other:?}"),
    }
    assert!(
        err.report()
            .to_string()
            .contains("store client misconfigured: the client has no region"),
        "{}",
        err.report()
    );
    assert!(!StoreErrorKind::Misconfigured.is_transient());
    assert!(!StoreErrorKind::Misconfigured.outcome_may_be_applied());
}

/// A zero request timeout could never be met: every request fails at once, unsent (the mock
/// fails the test on any call), instead of timing out after the fact as an unknown outcome.
#[tokio::test]
async fn a_zero_request_timeout_sends_nothing() {
    let mut api = MockDynamoDbApi::new();
    api.expect_misconfiguration().return_const(None);
    api.expect_disable_retries().times(1).return_const(());
    let store = DynamoDbStore::new(api).with_request_timeout(Some(Duration::ZERO));
    let config = LeaseConfig::builder("locks").build().unwrap();
    let manager =
        LeaseManager::new(store, config).with_clock(TestClock::at_epoch_seconds(1000).frozen());
    let err = manager
        .try_acquire("CACHE#A", Duration::from_secs(30))
        .await
        .unwrap_err();
    let LeaseError::Store { source, .. } = &err else {
        panic!("expected Store(Misconfigured), got {err:?}");
    };
    assert_eq!(source.kind(), StoreErrorKind::Misconfigured);
    assert!(
        source.message().contains("request timeout is zero"),
        "{source}"
    );
}

/// A store made on an SDK client with the standard retries sends each request once: the
/// client's retries are off, so that the manager's retries see every attempt (an applied
/// attempt whose answer was lost is never hidden behind a throttled resend).
#[test]
fn a_store_turns_the_sdk_clients_retries_off() {
    use aws_sdk_dynamodb::config::retry::RetryConfig;
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::for_tests())
        .retry_config(RetryConfig::standard().with_max_attempts(5))
        .build();
    let client = Client::from_conf(config);
    let store = DynamoDbStore::new(client);
    let attempts = store
        .api()
        .config()
        .retry_config()
        .map(RetryConfig::max_attempts);
    assert_eq!(attempts, Some(1));
}
