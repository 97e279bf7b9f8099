//! A real `aws_sdk_dynamodb::Client` over canned HTTP responses (no server): checks what the
//! SDK actually puts on the wire for the store's inputs, and that real DynamoDB error bodies
//! (as DynamoDB, moto and dynalite send them) are classified as the unit tests assume.

// Test code: helpers outside `#[test]` functions may unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use lease_dynamodb_sdk::LeaseKey;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use common::Canned;
use lease_dynamodb_sdk::store::GetRequest;
use lease_dynamodb_sdk::{
    DynamoDbLeaseManager, DynamoDbStore, FencingToken, LeaseConfig, LeaseError, LeaseManager,
    clock::TestClock, create_lock_table, snapshot::Holder, store::AttributeValue, store::Request,
    store::Store, store::StoreErrorKind, token::LeaseToken,
};

fn manager(client: Client) -> DynamoDbLeaseManager {
    let config = LeaseConfig::builder("locks")
        .ttl_buffer(Duration::from_secs(10))
        .build()
        .unwrap();
    LeaseManager::new(DynamoDbStore::new(client), config)
        .with_clock(TestClock::at_epoch_seconds(1000).frozen())
        .with_token_source(|| LeaseToken::new("tok"))
}

const CCF_WITH_ITEM: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed","Item":{"pk":{"S":"CACHE#A"},"sk":{"S":"LOCK"},"lease_token":{"S":"other"},"lease_expires_at":{"N":"1500"},"lease_fence":{"N":"1000007"}}}"#;

/// What the acquire of `CACHE#A` at epoch second 1000 puts in its `UpdateItem` body.
const ACQUIRE_PARTS: [&str; 15] = [
    r#""TableName":"locks""#,
    r#""Key":{"#,
    r#""pk":{"S":"CACHE#A"}"#,
    r#""sk":{"S":"LOCK"}"#,
    r#""UpdateExpression":"SET #tok = :tok, #exp = :exp, #fence = if_not_exists(#fence, :floor) + :one, #ttl = :ttl""#,
    r#""ConditionExpression":"attribute_not_exists(#pk) OR #exp <= :now OR #tok = :tok""#,
    r##""#fence":"lease_fence""##,
    r#""ReturnValues":"UPDATED_NEW""#,
    r#""ReturnValuesOnConditionCheckFailure":"ALL_OLD""#,
    r#"":tok":{"S":"tok"}"#,
    r#"":exp":{"N":"1030"}"#,
    r#"":ttl":{"N":"1040"}"#,
    r#"":now":{"N":"1000"}"#,
    r#"":floor":{"N":"1000000"}"#,
    r#"":one":{"N":"1"}"#,
];

/// DynamoDB's answer to an acquire (`ReturnValues UPDATED_NEW`): the attributes the update set.
const ACQUIRED: &str = r#"{"Attributes":{"lease_token":{"S":"tok"},"lease_expires_at":{"N":"1030"},"lease_fence":{"N":"1000001"},"ttl":{"N":"1040"}}}"#;

#[tokio::test]
async fn acquire_puts_the_rendered_request_on_the_wire() {
    let http = Canned::new(&[(200, ACQUIRED)]);
    let lease = manager(http.client())
        .try_acquire("CACHE#A", Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(lease.expires_at_epoch_seconds(), 1030);
    assert_eq!(lease.fence(), FencingToken::new(1_000_001));
    let sent = http.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].target, "DynamoDB_20120810.UpdateItem");
    for part in ACQUIRE_PARTS {
        assert!(
            sent[0].body.contains(part),
            "{part} not in {}",
            sent[0].body
        );
    }
    assert!(!sent[0].body.contains(r#""Item""#), "{}", sent[0].body);
}

/// An emulator that ignores `ReturnValues` answers `{}`: the fencing token is unknown, which is
/// reported as a store bug, not as a lease without one. The write landed, so it is given back:
/// the second request is the release, conditioned on our token.
#[tokio::test]
async fn an_acquire_answer_without_attributes_is_unexpected() {
    let http = Canned::new(&[(200, "{}"), (200, "{}")]);
    let err = manager(http.client())
        .try_acquire("CACHE#A", Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(
        matches!(err, LeaseError::UnexpectedResponse { .. }),
        "{err:?}"
    );
    let sent = http.sent();
    assert_eq!(sent.len(), 2);
    assert!(
        sent[1]
            .body
            .contains(r##""ConditionExpression":"#tok = :tok""##),
        "{}",
        sent[1].body
    );
    assert!(
        sent[1].body.contains(r#"":released":{"N":"0"}"#),
        "{}",
        sent[1].body
    );
}

/// A server error, then success: the manager sends the same request again (the client's own
/// retries are off here). Tokio's paused clock skips the 25 ms backoff.
#[tokio::test(start_paused = true)]
async fn a_retried_acquire_sends_the_same_request() {
    let http = Canned::new(&[
        (
            500,
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}"#,
        ),
        (200, ACQUIRED),
    ]);
    let lease = manager(http.client())
        .try_acquire("CACHE#A", Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(lease.fence(), FencingToken::new(1_000_001));
    let sent = http.sent();
    assert_eq!(sent.len(), 2);
    // The same JSON, up to the order of map entries (the SDK serialises hash maps).
    for sent in &sent {
        assert_eq!(sent.target, "DynamoDB_20120810.UpdateItem");
        for part in ACQUIRE_PARTS {
            assert!(sent.body.contains(part), "{part} not in {}", sent.body);
        }
    }
    assert_eq!(sent[0].body.len(), sent[1].body.len());
}

#[tokio::test]
async fn a_real_condition_failure_body_names_the_holder() {
    let http = Canned::new(&[(400, CCF_WITH_ITEM)]);
    let err = manager(http.client())
        .try_acquire("CACHE#A", Duration::from_secs(30))
        .await
        .unwrap_err();
    let LeaseError::Held {
        holder: Holder::Known(info),
        ..
    } = err
    else {
        panic!("expected Held with a known holder, got {err:?}");
    };
    assert_eq!(
        lease_dynamodb_sdk::store::wire_time::epoch_seconds_floor(info.expires_at),
        1500
    );
    assert_eq!(info.token, LeaseToken::new("other").fingerprint());
    assert_eq!(info.fence, Some(FencingToken::new(1_000_007)));
}

#[tokio::test]
async fn an_old_item_of_an_unknown_type_still_means_held() {
    // An attribute type newer than this SDK: the SDK reads it as `Unknown`; the read of the
    // holder that follows fails the same way, so the holder stays unknown.
    let http = Canned::new(&[
        (
            400,
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed","Item":{"pk":{"S":"CACHE#A"},"x":{"NEWTYPE":"1"}}}"#,
        ),
        (
            200,
            r#"{"Item":{"pk":{"S":"CACHE#A"},"x":{"NEWTYPE":"1"}}}"#,
        ),
    ]);
    let err = manager(http.client())
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
async fn a_real_validation_exception_is_classified_with_its_code() {
    let http = Canned::new(&[(
        400,
        r#"{"__type":"com.amazon.coral.validate#ValidationException","message":"One or more parameter values were invalid"}"#,
    )]);
    let err = manager(http.client())
        .try_acquire("CACHE#A", Duration::from_secs(30))
        .await
        .unwrap_err();
    let LeaseError::Store { source, .. } = &err else {
        panic!("expected a store error, got {err:?}");
    };
    assert_eq!(source.kind(), StoreErrorKind::Validation);
    assert_eq!(
        source.message(),
        "UpdateItem failed: ValidationException (HTTP 400): One or more parameter values were invalid"
    );
}

#[tokio::test]
async fn refresh_and_release_conditions_fail_as_outcomes() {
    let http = Canned::new(&[
        (200, ACQUIRED),
        (
            400,
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}"#,
        ),
        (
            400,
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}"#,
        ),
    ]);
    let m = manager(http.client());
    let lease = m
        .try_acquire("CACHE#A", Duration::from_secs(30))
        .await
        .unwrap();
    let err = m
        .refresh(&lease, Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(err.is_not_owned(), "{err:?}");
    let outcome = m.release(&lease).await.unwrap();
    assert_eq!(outcome, lease_dynamodb_sdk::ReleaseOutcome::NotHeld);
    let sent = http.sent();
    assert_eq!(sent[1].target, "DynamoDB_20120810.UpdateItem");
    assert!(
        sent[1]
            .body
            .contains(r#""UpdateExpression":"SET #exp = :exp, #ttl = :ttl""#)
    );
    // Release is an update too: it marks the lease released and keeps the item.
    assert_eq!(sent[2].target, "DynamoDB_20120810.UpdateItem");
    for part in [
        r##""ConditionExpression":"#tok = :tok""##,
        r#""UpdateExpression":"SET #exp = :released, #ttl = :ttl""#,
        r#"":released":{"N":"0"}"#,
        r#"":ttl":{"N":"1010"}"#,
        r#""ReturnValues":"NONE""#,
    ] {
        assert!(
            sent[2].body.contains(part),
            "{part} not in {}",
            sent[2].body
        );
    }
    assert!(
        !sent[2].body.contains("ReturnValuesOnConditionCheckFailure"),
        "{}",
        sent[2].body
    );
}

fn get_request() -> Request {
    Request::Get(GetRequest {
        table_name: "locks".into(),
        key: [("pk".into(), AttributeValue::string("A"))].into(),
        consistent_read: true,
    })
}

#[tokio::test]
async fn get_is_consistent_and_sends_no_empty_maps() {
    let http = Canned::new(&[(200, r#"{"Item":{"pk":{"S":"A"},"n":{"N":"7"}}}"#)]);
    let store = DynamoDbStore::new(http.client());
    let answer = store.execute(&get_request()).await.unwrap();
    let lease_dynamodb_sdk::store::StoreResponse::Item(Some(item)) = answer else {
        panic!("expected an item, got {answer:?}");
    };
    assert_eq!(item["n"], AttributeValue::number(7));
    let sent = http.sent();
    assert_eq!(sent[0].target, "DynamoDB_20120810.GetItem");
    assert!(
        sent[0].body.contains(r#""ConsistentRead":true"#),
        "{}",
        sent[0].body
    );
    assert!(
        !sent[0].body.contains("ExpressionAttribute"),
        "{}",
        sent[0].body
    );
}

#[tokio::test]
async fn an_item_of_an_unknown_type_is_an_error_not_a_panic() {
    let http = Canned::new(&[(200, r#"{"Item":{"pk":{"S":"A"},"x":{"NEWTYPE":"1"}}}"#)]);
    let store = DynamoDbStore::new(http.client());
    let err = store.execute(&get_request()).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Other);
    assert!(err.message().contains("\"x\""), "{}", err.message());
}

const ACTIVE_PK_SK: &str = r#"{"Table":{"TableName":"locks","TableStatus":"ACTIVE","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}]}}"#;
const IN_USE: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceInUseException","message":"Table already exists: locks"}"#;

#[tokio::test(start_paused = true)]
async fn create_lock_table_creates_and_waits_until_active() {
    let http = Canned::new(&[
        (
            200,
            r#"{"TableDescription":{"TableName":"locks","TableStatus":"CREATING"}}"#,
        ),
        (
            200,
            r#"{"Table":{"TableName":"locks","TableStatus":"CREATING"}}"#,
        ),
        (200, ACTIVE_PK_SK),
    ]);
    let config = LeaseConfig::builder("locks").build().unwrap();
    create_lock_table(&http.client(), &config).await.unwrap();
    let sent = http.sent();
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[0].target, "DynamoDB_20120810.CreateTable");
    for part in [
        r#""BillingMode":"PAY_PER_REQUEST""#,
        r#"{"AttributeName":"pk","AttributeType":"S"}"#,
        r#"{"AttributeName":"sk","KeyType":"RANGE"}"#,
    ] {
        assert!(
            sent[0].body.contains(part),
            "{part} not in {}",
            sent[0].body
        );
    }
    assert_eq!(sent[2].target, "DynamoDB_20120810.DescribeTable");
}

#[tokio::test]
async fn an_existing_table_is_fine() {
    let http = Canned::new(&[(400, IN_USE), (200, ACTIVE_PK_SK)]);
    let config = LeaseConfig::builder("locks").build().unwrap();
    create_lock_table(&http.client(), &config).await.unwrap();
}

#[tokio::test]
async fn an_existing_table_with_another_key_is_rejected() {
    let http = Canned::new(&[(400, IN_USE), (200, ACTIVE_PK_SK)]);
    let config = LeaseConfig::builder("locks")
        .key_attribute_names("id", "sk")
        .build()
        .unwrap();
    let err = create_lock_table(&http.client(), &config)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Validation);
    assert!(err.message().contains("\"pk\""), "{}", err.message());
}

#[tokio::test]
async fn create_table_without_permission_is_access_denied() {
    let http = Canned::new(&[(
        400,
        r#"{"__type":"com.amazon.coral.service#AccessDeniedException","message":"not authorized to perform: dynamodb:CreateTable"}"#,
    )]);
    let config = LeaseConfig::builder("locks").build().unwrap();
    let err = create_lock_table(&http.client(), &config)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::AccessDenied);
    assert!(
        err.message()
            .starts_with("CreateTable failed: AccessDeniedException")
    );
}

/// An answer the SDK cannot read (a number sent as a JSON number) fails with the SDK's error,
/// whose `Debug` holds the raw response, our own token in it. The lease error a caller might
/// log with `{:?}` must not show it, nor another holder's token from an unreadable `GetItem`.
#[tokio::test]
async fn unreadable_answers_never_show_a_token_in_the_errors_debug() {
    const OURS: &str = "0b7e3c1a-OUR-SECRET-token";
    const THEIRS: &str = "9f2d4e6b-THEIR-SECRET-token";
    let acquired =
        r#"{"Attributes":{"lease_token":{"S":"0b7e3c1a-OUR-SECRET-token"},"lease_fence":{"N":1}}}"#;
    let item = r#"{"Item":{"pk":{"S":"CACHE#A"},"sk":{"S":"LOCK"},"lease_token":{"S":"9f2d4e6b-THEIR-SECRET-token"},"lease_expires_at":{"N":1500}}}"#;
    // Retries and the clean-up after an unknown outcome get the same unreadable answer.
    let http = Canned::new(&[(200, acquired); 8]);
    let manager = manager(http.client()).with_token_source(|| LeaseToken::new(OURS));
    let err = manager
        .try_acquire("CACHE#A", Duration::from_secs(30))
        .await
        .unwrap_err();
    let shown = format!("{err:?} {err}");
    assert!(!shown.contains(OURS), "{shown}");
    assert!(
        shown.contains("CACHE#A"),
        "the error still names its key: {shown}"
    );

    let http = Canned::new(&[(200, item); 8]);
    let manager = self::manager(http.client());
    let err = manager
        .inspect(LeaseKey::lock("CACHE#A"))
        .await
        .unwrap_err();
    let shown = format!("{err:?} {err}");
    assert!(!shown.contains(THEIRS), "{shown}");
}

/// A server's message that quotes the request's token (a `ValidationException` naming the
/// value it refused; a transaction's cancellation reason) goes into the error with the token
/// replaced by its fingerprint, in the message and in the source alike.
#[tokio::test]
async fn a_message_quoting_the_requests_token_shows_its_fingerprint() {
    const OURS: &str = "0b7e3c1a-OUR-SECRET-token";
    let fingerprint = LeaseToken::new(OURS).fingerprint().to_string();
    let refused = r#"{"__type":"com.amazon.coral.validate#ValidationException","message":"One or more parameter values were invalid: 0b7e3c1a-OUR-SECRET-token"}"#;
    let http = Canned::new(&[(400, refused)]);
    let manager = manager(http.client()).with_token_source(|| LeaseToken::new(OURS));
    let err = manager
        .try_acquire("CACHE#A", Duration::from_secs(30))
        .await
        .unwrap_err();
    let shown = format!("{err:?} {err} {}", err.report());
    assert!(!shown.contains(OURS), "{shown}");
    assert!(shown.contains(&fingerprint), "{shown}");
    assert!(shown.contains("ValidationException"), "{shown}");

    let canceled = r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled","CancellationReasons":[{"Code":"ValidationError","Message":"bad value 0b7e3c1a-OUR-SECRET-token"},{"Code":"None"}]}"#;
    let http = Canned::new(&[(400, canceled)]);
    let manager = self::manager(http.client()).with_token_source(|| LeaseToken::new(OURS));
    let err = manager
        .try_acquire_set(["CACHE#A", "CACHE#B"], Duration::from_secs(30))
        .await
        .unwrap_err();
    let shown = format!("{err:?} {err} {}", err.report());
    assert!(!shown.contains(OURS), "{shown}");
}

/// `list_leases` through a real client: what the SDK puts on the wire for each page, pages
/// followed by their `LastEvaluatedKey`, and the items decoded.
#[tokio::test]
async fn list_leases_scans_page_after_page_on_the_wire() {
    use lease_dynamodb_sdk::dynamodb::{ListOptions, ListedLease, list_leases};
    let first = r#"{"Items":[{"pk":{"S":"CACHE#A"},"sk":{"S":"LOCK"},"lease_token":{"S":"tok"},"lease_expires_at":{"N":"0"},"lease_fence":{"N":"3"}}],"LastEvaluatedKey":{"pk":{"S":"CACHE#A"},"sk":{"S":"LOCK"}}}"#;
    let second = r#"{"Items":[{"pk":{"S":"CACHE#B"},"sk":{"S":"LOCK"},"lease_token":{"N":"1"},"lease_expires_at":{"N":"0"}}]}"#;
    let http = Canned::new(&[(200, first), (200, second)]);
    let config = LeaseConfig::builder("locks").build().unwrap();
    let options = ListOptions::new()
        .prefix("CACHE#")
        .page_size(std::num::NonZeroU32::new(5).unwrap());
    let list = list_leases(&http.client(), &config, &options)
        .await
        .unwrap();
    assert!(list.complete);
    assert!(
        matches!(&list.leases[..], [ListedLease::Lease(a), ListedLease::Malformed { key: b, .. }]
            if a.key == LeaseKey::new("CACHE#A", "LOCK") && *b == LeaseKey::new("CACHE#B", "LOCK")),
        "{list:?}"
    );
    let sent = http.sent();
    assert_eq!(sent.len(), 2);
    for request in &sent {
        assert_eq!(request.target, "DynamoDB_20120810.Scan");
        for part in [
            r#""TableName":"locks""#,
            r#""ConsistentRead":true"#,
            r#""Limit":5"#,
            r##""FilterExpression":"#sk = :lock AND begins_with(#pk, :prefix)""##,
            r#"":lock":{"S":"LOCK"}"#,
            r#"":prefix":{"S":"CACHE#"}"#,
        ] {
            assert!(
                request.body.contains(part),
                "{part} not in {}",
                request.body
            );
        }
    }
    assert!(
        !sent[0].body.contains("ExclusiveStartKey"),
        "{}",
        sent[0].body
    );
    assert!(
        sent[1].body.contains(r#""ExclusiveStartKey":{"#),
        "{}",
        sent[1].body
    );
}

#[tokio::test]
async fn list_leases_fails_on_an_item_of_an_unknown_type_as_inspect_does() {
    use lease_dynamodb_sdk::dynamodb::{ListOptions, list_leases};
    let http = Canned::new(&[(
        200,
        r#"{"Items":[{"pk":{"S":"A"},"sk":{"S":"LOCK"},"x":{"NEWTYPE":"1"}}]}"#,
    )]);
    let config = LeaseConfig::builder("locks").build().unwrap();
    let err = list_leases(&http.client(), &config, &ListOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Other);
    assert!(err.message().contains("A/LOCK"), "{}", err.message());
    assert!(err.message().contains("\"x\""), "{}", err.message());
}

#[tokio::test]
async fn list_leases_on_a_missing_table_is_resource_not_found() {
    use lease_dynamodb_sdk::dynamodb::{ListOptions, list_leases};
    let http = Canned::new(&[(
        400,
        r#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found"}"#,
    )]);
    let config = LeaseConfig::builder("locks").build().unwrap();
    let err = list_leases(&http.client(), &config, &ListOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::ResourceNotFound);
    assert!(
        err.message()
            .starts_with("Scan failed: ResourceNotFoundException"),
        "{}",
        err.message()
    );
}
