//! Guarded commits, transaction items and the table check through a real
//! `aws_sdk_dynamodb::Client` over canned HTTP responses (no server): what goes on the wire,
//! and how real `TransactionCanceledException`, `UnknownOperationException`, `DescribeTable`
//! and `DescribeTimeToLive` bodies (as DynamoDB, moto and dynalite send them) are read.

// Test code: helpers outside `#[test]` functions may unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue as SdkValue, ReturnValuesOnConditionCheckFailure};
use common::Canned;
use lease_dynamodb_sdk::store::expr::{Attr, Condition, UpdateAction, Value};
use lease_dynamodb_sdk::{
    DynamoDbLeaseManager, DynamoDbStore, LeaseConfig, LeaseError, LeaseManager, check_table,
    clock::TestClock, dynamodb::TableCheckFailure, dynamodb::enable_ttl,
    dynamodb::lease_check_transact_item, dynamodb::transact_item, error::Operation,
    store::AttributeValue, store::Item, store::Request, store::Store, store::StoreErrorKind,
    store::StoreResponse, token::LeaseToken,
};
use lease_dynamodb_sdk::{
    error::CancellationReason, store::DeleteRequest, store::OnConditionFailure, store::PutRequest,
    store::ReturnValues, store::UpdateRequest, table::ScalarType, table::TableCheckError,
    table::TtlCheck, transaction::TransactItem, transaction::TransactRequest,
};

fn config() -> LeaseConfig {
    LeaseConfig::builder("locks")
        .ttl_buffer(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn manager(client: Client) -> DynamoDbLeaseManager {
    LeaseManager::new(DynamoDbStore::new(client), config())
        .with_clock(TestClock::at_epoch_seconds(1000).frozen())
        .with_token_source(|| LeaseToken::new("tok"))
}

fn lease() -> lease_dynamodb_sdk::Lease {
    lease_dynamodb_sdk::Lease::new(
        lease_dynamodb_sdk::LeaseKey::new("CACHE#A", "LOCK"),
        LeaseToken::new("tok"),
        lease_dynamodb_sdk::FencingToken::new(1),
        lease_dynamodb_sdk::store::wire_time::from_epoch_seconds(1030).unwrap(),
    )
}

fn item(pairs: &[(&str, AttributeValue)]) -> Item {
    pairs
        .iter()
        .map(|(k, v)| ((*k).into(), v.clone()))
        .collect()
}

fn put_meta() -> TransactItem {
    TransactItem::Put(PutRequest::new(
        "locks",
        item(&[
            ("pk", AttributeValue::string("CACHE#A")),
            ("sk", AttributeValue::string("META")),
            ("generated_at", AttributeValue::number(1000)),
        ]),
    ))
}

const CANCELED_BY_GUARD: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, None]","CancellationReasons":[{"Code":"ConditionalCheckFailed","Message":"The conditional request failed"},{"Code":"None"}]}"#;
const CANCELED_BY_WRITE: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]","CancellationReasons":[{"Code":"None"},{"Code":"ConditionalCheckFailed","Message":"The conditional request failed","Item":{"pk":{"S":"CACHE#A"},"sk":{"S":"META"},"generated_at":{"N":"999"}}}]}"#;
const CONFLICT_ON_GUARD: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict, None]","CancellationReasons":[{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"},{"Code":"None"}]}"#;
const UNKNOWN_OPERATION: &str =
    r#"{"__type":"com.amazon.coral.service#UnknownOperationException"}"#;

#[tokio::test]
async fn a_guarded_commit_sends_one_transaction_guard_first() {
    let http = Canned::new(&[(200, "{}")]);
    manager(http.client())
        .commit(&lease(), vec![put_meta()])
        .await
        .unwrap();
    let sent = http.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].target, "DynamoDB_20120810.TransactWriteItems");
    let body = &sent[0].body;
    let guard_at = body.find(r#"{"ConditionCheck":"#).expect(body);
    let put_at = body.find(r#"{"Put":"#).expect(body);
    assert!(guard_at < put_at, "{body}");
    for part in [
        r##""ConditionExpression":"#tok = :tok AND #exp > :now""##,
        r##""#tok":"lease_token""##,
        r#"":now":{"N":"1000"}"#,
        r#"":tok":{"S":"tok"}"#,
        r#""generated_at":{"N":"1000"}"#,
        // The SDK makes an idempotency token, so its own retries cannot apply twice.
        r#""ClientRequestToken":""#,
    ] {
        assert!(body.contains(part), "{part} not in {body}");
    }
    assert!(
        !body.contains("ReturnValuesOnConditionCheckFailure"),
        "{body}"
    );
}

#[tokio::test]
async fn commit_and_release_sends_the_release_as_the_guard() {
    let http = Canned::new(&[(200, "{}")]);
    manager(http.client())
        .commit_and_release(&lease(), vec![put_meta()])
        .await
        .unwrap();
    let body = &http.sent()[0].body;
    assert!(!body.contains("ConditionCheck"), "{body}");
    for part in [
        r#"{"Update":"#,
        r##""UpdateExpression":"SET #exp = :released, #ttl = :ttl""##,
        r##""ConditionExpression":"#tok = :tok AND #exp > :now""##,
        r#"":released":{"N":"0"}"#,
        r#"":ttl":{"N":"1010"}"#,
    ] {
        assert!(body.contains(part), "{part} not in {body}");
    }
}

#[tokio::test]
async fn cancellation_reasons_decide_between_not_owned_and_canceled() {
    let http = Canned::new(&[(400, CANCELED_BY_GUARD)]);
    let err = manager(http.client())
        .commit(&lease(), vec![put_meta()])
        .await
        .unwrap_err();
    assert!(err.is_not_owned(), "{err:?}");

    let http = Canned::new(&[(400, CANCELED_BY_WRITE)]);
    let err = manager(http.client())
        .commit(&lease(), vec![put_meta()])
        .await
        .unwrap_err();
    let LeaseError::TransactionCanceled { reasons, .. } = err else {
        panic!("not a cancellation: {err:?}");
    };
    assert_eq!(reasons[0], CancellationReason::None);
    let CancellationReason::ConditionalCheckFailed {
        old_item: Some(old),
    } = &reasons[1]
    else {
        panic!("no old item: {reasons:?}");
    };
    assert_eq!(old["generated_at"], AttributeValue::number(999));

    // A conflict on the lease item is not "lease lost" (seed-spec W10).
    let http = Canned::new(&[(400, CONFLICT_ON_GUARD)]);
    let err = manager(http.client())
        .commit(&lease(), vec![put_meta()])
        .await
        .unwrap_err();
    assert!(!err.is_not_owned(), "{err:?}");
    let LeaseError::TransactionCanceled { reasons, .. } = err else {
        panic!("not a cancellation: {err:?}");
    };
    assert_eq!(
        reasons,
        [
            CancellationReason::Other {
                code: "TransactionConflict".into(),
                message: Some("Transaction is ongoing for the item".into()),
            },
            CancellationReason::None,
        ]
    );
}

#[tokio::test]
async fn the_store_answers_a_cancellation_as_an_outcome() {
    let http = Canned::new(&[(400, CANCELED_BY_WRITE)]);
    let store = DynamoDbStore::new(http.client());
    let request = Request::Transact(TransactRequest {
        items: vec![put_meta(), put_meta()],
    });
    let answer = store.execute(&request).await.unwrap();
    let StoreResponse::TransactionCanceled { reasons } = answer else {
        panic!("not a cancellation: {answer:?}");
    };
    assert_eq!(reasons.len(), 2);
    assert!(reasons[1].is_condition_failure());
}

#[tokio::test]
async fn a_server_without_transactions_is_unsupported() {
    let http = Canned::new(&[(400, UNKNOWN_OPERATION)]);
    let err = manager(http.client())
        .commit(&lease(), vec![put_meta()])
        .await
        .unwrap_err();
    let LeaseError::Store {
        operation: Operation::Commit,
        source,
        ..
    } = err
    else {
        panic!("not a store error: {err:?}");
    };
    assert_eq!(source.kind(), StoreErrorKind::Unsupported);
    assert!(
        source.message().contains("UnknownOperationException"),
        "{}",
        source.message()
    );
}

#[test]
fn lease_check_transact_item_is_a_condition_check_with_its_own_expressions() {
    let http = Canned::new(&[]);
    let guard = manager(http.client()).lease_check(&lease()).unwrap();
    let sdk = lease_check_transact_item(&guard).unwrap();
    assert!(sdk.put().is_none() && sdk.update().is_none() && sdk.delete().is_none());
    let check = sdk.condition_check().unwrap();
    assert_eq!(check.table_name(), "locks");
    assert_eq!(check.condition_expression(), "#tok = :tok AND #exp > :now");
    assert_eq!(check.key()["pk"], SdkValue::S("CACHE#A".into()));
    assert_eq!(check.key()["sk"], SdkValue::S("LOCK".into()));
    let names = check.expression_attribute_names().unwrap();
    assert_eq!(names["#exp"], "lease_expires_at");
    let values = check.expression_attribute_values().unwrap();
    assert_eq!(values[":now"], SdkValue::N("1000".into()));
    assert_eq!(values[":tok"], SdkValue::S("tok".into()));
    assert_eq!(check.return_values_on_condition_check_failure(), None);
    assert!(http.sent().is_empty());
}

#[test]
fn transact_item_converts_every_kind_of_write() {
    let key = item(&[
        ("pk", AttributeValue::string("A")),
        ("sk", AttributeValue::string("B")),
    ]);
    let update = transact_item(&TransactItem::Update(
        UpdateRequest::new(
            "data",
            key.clone(),
            vec![UpdateAction::set(
                Attr::new("v", "value"),
                Value::new("v", AttributeValue::number(2)),
            )],
        )
        .condition(Condition::exists(Attr::new("pk", "pk")))
        .return_values(ReturnValues::AllNew)
        .on_condition_failure(OnConditionFailure::ReturnOldItem),
    ))
    .unwrap();
    let update = update.update().unwrap();
    assert_eq!(update.table_name(), "data");
    assert_eq!(update.update_expression(), "SET #v = :v");
    assert_eq!(update.condition_expression(), Some("attribute_exists(#pk)"));
    assert_eq!(
        update.return_values_on_condition_check_failure(),
        Some(&ReturnValuesOnConditionCheckFailure::AllOld)
    );

    let delete = transact_item(&TransactItem::Delete(DeleteRequest::new("data", key))).unwrap();
    let delete = delete.delete().unwrap();
    assert_eq!(delete.condition_expression(), None);
    // No empty placeholder maps: DynamoDB rejects them.
    assert_eq!(delete.expression_attribute_names(), None);
    assert_eq!(delete.expression_attribute_values(), None);

    let put = transact_item(&put_meta()).unwrap();
    assert_eq!(
        put.put().unwrap().item()["generated_at"],
        SdkValue::N("1000".into())
    );
}

const DESCRIBED: &str = r#"{"Table":{"TableName":"locks","TableStatus":"ACTIVE","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"S"}]}}"#;
const DESCRIBED_NUMBER_SK: &str = r#"{"Table":{"TableName":"locks","TableStatus":"ACTIVE","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"}]}}"#;
const TTL_ENABLED: &str =
    r#"{"TimeToLiveDescription":{"TimeToLiveStatus":"ENABLED","AttributeName":"ttl"}}"#;
const TTL_ENABLED_ELSEWHERE: &str =
    r#"{"TimeToLiveDescription":{"TimeToLiveStatus":"ENABLED","AttributeName":"expires"}}"#;
const TTL_DISABLED: &str = r#"{"TimeToLiveDescription":{"TimeToLiveStatus":"DISABLED"}}"#;
const NOT_FOUND: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found: Table: locks not found"}"#;

#[tokio::test]
async fn check_table_reads_the_key_schema_and_ttl() {
    let http = Canned::new(&[(200, DESCRIBED), (200, TTL_ENABLED)]);
    let check = check_table(&http.client(), &config()).await.unwrap();
    assert_eq!(check.ttl, TtlCheck::Enabled);
    let sent = http.sent();
    assert_eq!(sent[0].target, "DynamoDB_20120810.DescribeTable");
    assert_eq!(sent[1].target, "DynamoDB_20120810.DescribeTimeToLive");

    // dynalite: no TTL at all. A warning, not a failure.
    let http = Canned::new(&[(200, DESCRIBED), (400, UNKNOWN_OPERATION)]);
    let check = check_table(&http.client(), &config()).await.unwrap();
    assert_eq!(check.ttl, TtlCheck::Unverified);
    assert!(!check.is_fully_verified());

    // No TTL written: TTL is not asked about.
    let no_ttl = LeaseConfig::builder("locks")
        .include_ttl(false)
        .build()
        .unwrap();
    let http = Canned::new(&[(200, DESCRIBED)]);
    let check = check_table(&http.client(), &no_ttl).await.unwrap();
    assert_eq!(check.ttl, TtlCheck::NotNeeded);
    assert_eq!(http.sent().len(), 1);
}

#[tokio::test]
async fn check_table_says_what_to_fix() {
    let cases: [(&[(u16, &'static str)], TableCheckError); 3] = [
        (
            &[(200, DESCRIBED), (200, TTL_DISABLED)],
            TableCheckError::TtlNotEnabled {
                attribute: "ttl".into(),
            },
        ),
        (
            &[(200, DESCRIBED), (200, TTL_ENABLED_ELSEWHERE)],
            TableCheckError::TtlOnOtherAttribute {
                expected: "ttl".into(),
                found: "expires".into(),
            },
        ),
        (
            &[(200, DESCRIBED_NUMBER_SK), (200, TTL_ENABLED)],
            TableCheckError::WrongKeyType {
                attribute: "sk".into(),
                found: ScalarType::N,
            },
        ),
    ];
    for (answers, expected) in cases {
        let http = Canned::new(answers);
        let err = check_table(&http.client(), &config()).await.unwrap_err();
        let TableCheckFailure::Mismatch { table, error } = &err else {
            panic!("not a mismatch: {err:?}");
        };
        assert_eq!(table, "locks");
        assert_eq!(error, &expected);
        // Display names the table; the source is the mismatch, shown once in the chain.
        assert!(!err.to_string().contains(&expected.to_string()), "{err}");
        let why = std::error::Error::source(&err).unwrap().to_string();
        assert_eq!(why, expected.to_string());
    }

    let http = Canned::new(&[(400, NOT_FOUND)]);
    let err = check_table(&http.client(), &config()).await.unwrap_err();
    assert!(matches!(err, TableCheckFailure::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("create_lock_table"), "{err}");

    let http = Canned::new(&[(
        400,
        r#"{"__type":"com.amazon.coral.service#AccessDeniedException","message":"not authorized to perform: dynamodb:DescribeTimeToLive"}"#,
    )]);
    let err = check_table(&http.client(), &config()).await.unwrap_err();
    let TableCheckFailure::Describe { source, .. } = err else {
        panic!("not a describe failure: {err:?}");
    };
    assert_eq!(source.kind(), StoreErrorKind::AccessDenied);
}

#[tokio::test]
async fn enable_ttl_enables_once_and_reports_servers_without_ttl() {
    let http = Canned::new(&[
        (200, TTL_DISABLED),
        (
            200,
            r#"{"TimeToLiveSpecification":{"AttributeName":"ttl","Enabled":true}}"#,
        ),
    ]);
    assert!(enable_ttl(&http.client(), &config()).await.unwrap());
    let sent = http.sent();
    assert_eq!(sent[1].target, "DynamoDB_20120810.UpdateTimeToLive");
    assert!(
        sent[1]
            .body
            .contains(r#""TimeToLiveSpecification":{"Enabled":true,"AttributeName":"ttl"}"#),
        "{}",
        sent[1].body
    );

    // Already on: nothing to change (DynamoDB would reject a second UpdateTimeToLive).
    let http = Canned::new(&[(200, TTL_ENABLED)]);
    assert!(enable_ttl(&http.client(), &config()).await.unwrap());
    assert_eq!(http.sent().len(), 1);

    let http = Canned::new(&[(400, UNKNOWN_OPERATION)]);
    assert!(!enable_ttl(&http.client(), &config()).await.unwrap());

    let http = Canned::new(&[(200, TTL_ENABLED_ELSEWHERE)]);
    let err = enable_ttl(&http.client(), &config()).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Validation);
    assert!(err.message().contains("\"expires\""), "{}", err.message());
}
