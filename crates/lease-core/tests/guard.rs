//! Guards for the holder's own writes: the condition check and the release-in-transaction as
//! data and rendered, transactions' rendering (each item its own expressions), and how a
//! guarded commit reads every answer (applied, cancelled by the guard, cancelled by another
//! item or reason, store errors, answers that do not fit a transaction).

// Test helpers panic on unexpected input on purpose: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use lease_core::expr::{Attr, Comparator, Condition, UpdateAction, Value};
use lease_core::{
    AttributeValue, COMMIT_LEASE_CHECK_INDEX, CancellationReason, ConditionCheckRequest,
    DeleteRequest, ExpiryUnit, InvalidInput, Item, Lease, LeaseConfig, LeaseError, LeaseKey,
    LeaseToken, MAX_TRANSACT_ITEMS, OnConditionFailure, Operation, Planner, PutRequest, Request,
    ReturnValues, StoreError, StoreErrorKind, StoreResponse, TransactItem, TransactRequest,
    UpdateRequest,
};
use std::time::SystemTime;

fn planner() -> Planner {
    Planner::new(
        LeaseConfig::builder("locks")
            .ttl_buffer(Duration::from_secs(10))
            .build()
            .unwrap(),
    )
}

fn at(secs: i64) -> SystemTime {
    lease_core::wire_time::from_epoch_seconds(secs).unwrap()
}

fn lease() -> Lease {
    Lease::new(
        LeaseKey::new("CACHE#A", "LOCK"),
        LeaseToken::new("secret-token"),
        lease_core::FencingToken::new(1),
        at(1030),
    )
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::string(v)
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::number(v)
}

fn item(pairs: &[(&str, AttributeValue)]) -> Item {
    pairs
        .iter()
        .map(|(k, v)| ((*k).into(), v.clone()))
        .collect()
}

fn names(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn lock_key() -> Item {
    item(&[("pk", s("CACHE#A")), ("sk", s("LOCK"))])
}

/// A put of the cache entry's META item, next to the lock.
fn put_meta() -> TransactItem {
    PutRequest::new(
        "locks",
        item(&[("pk", s("CACHE#A")), ("sk", s("META")), ("gen", n(7))]),
    )
    .into()
}

fn items(request: &Request) -> &[TransactItem] {
    match request {
        Request::Transact(TransactRequest { items }) => items,
        other => panic!("not a transaction: {other:?}"),
    }
}

#[test]
fn the_guard_is_a_condition_check_that_the_lease_is_held() {
    let guard = planner().lease_check(&lease(), at(1000)).unwrap();
    assert_eq!(guard.key(), &LeaseKey::new("CACHE#A", "LOCK"));
    let check = guard.condition_check();
    assert_eq!(&*check.table_name, "locks");
    assert_eq!(check.key, lock_key());
    assert_eq!(
        check.on_condition_failure,
        OnConditionFailure::ReturnNothing
    );

    let rendered = guard.transact_item().render();
    assert_eq!(
        rendered.condition.as_deref(),
        Some("#tok = :tok AND #exp > :now")
    );
    assert_eq!(rendered.update, None);
    assert_eq!(
        rendered.names,
        names(&[("#tok", "lease_token"), ("#exp", "lease_expires_at")])
    );
    let values: BTreeMap<String, AttributeValue> = [
        (":tok".to_owned(), s("secret-token")),
        (":now".to_owned(), n(1000)),
    ]
    .into();
    assert_eq!(rendered.values, values);
    assert_eq!(
        guard.clone().into_condition_check(),
        guard.condition_check().clone()
    );
}

#[test]
fn the_guard_uses_the_configured_names_and_unit() {
    let planner = Planner::new(
        LeaseConfig::builder("locks")
            .key_attribute_names("id", "kind")
            .lease_attribute_names("holder", "until", "expire")
            .expiry_unit(ExpiryUnit::Milliseconds)
            .build()
            .unwrap(),
    );
    let guard = planner
        .lease_check(&lease(), at(1000) + Duration::from_millis(250))
        .unwrap();
    let rendered = guard.transact_item().render();
    assert_eq!(rendered.names["#tok"], "holder");
    assert_eq!(rendered.names["#exp"], "until");
    assert_eq!(rendered.values[":now"], n(1_000_250));
    assert_eq!(
        guard.condition_check().key,
        item(&[("id", s("CACHE#A")), ("kind", s("LOCK"))])
    );
}

#[test]
fn a_guard_for_an_empty_token_is_not_planned() {
    let bad = Lease::new(
        LeaseKey::new("CACHE#A", "LOCK"),
        LeaseToken::new(""),
        lease_core::FencingToken::new(1),
        at(1030),
    );
    for err in [
        planner().lease_check(&bad, at(1000)).unwrap_err(),
        planner()
            .release_in_transaction(&bad, at(1000))
            .unwrap_err(),
        planner()
            .commit(&bad, at(1000), vec![put_meta()])
            .unwrap_err(),
    ] {
        assert!(
            matches!(
                err,
                LeaseError::InvalidInput {
                    operation: Operation::Commit,
                    reason: InvalidInput::EmptyToken,
                    ..
                }
            ),
            "{err:?}"
        );
    }
}

#[test]
fn release_in_transaction_marks_released_only_while_held() {
    let TransactItem::Update(update) = planner()
        .release_in_transaction(&lease(), at(1000))
        .unwrap()
    else {
        panic!("not an update");
    };
    assert_eq!(update.key, lock_key());
    assert_eq!(update.return_values, ReturnValues::None);
    let rendered = TransactItem::Update(update).render();
    assert_eq!(
        rendered.update.as_deref(),
        Some("SET #exp = :released, #ttl = :ttl")
    );
    assert_eq!(
        rendered.condition.as_deref(),
        Some("#tok = :tok AND #exp > :now")
    );
    assert_eq!(rendered.values[":released"], n(0));
    assert_eq!(rendered.values[":ttl"], n(1010));
    assert_eq!(rendered.values[":now"], n(1000));
    assert_eq!(rendered.values[":tok"], s("secret-token"));
}

#[test]
fn release_in_transaction_without_ttl_removes_it() {
    let planner = Planner::new(
        LeaseConfig::builder("locks")
            .include_ttl(false)
            .build()
            .unwrap(),
    );
    let rendered = planner
        .release_in_transaction(&lease(), at(1000))
        .unwrap()
        .render();
    assert_eq!(
        rendered.update.as_deref(),
        Some("SET #exp = :released REMOVE #ttl")
    );
    assert!(!rendered.values.contains_key(":ttl"));
}

#[test]
fn a_commit_puts_the_guard_first_and_the_writes_after_in_order() {
    let planner = planner();
    // The lease's key values, but in another table: not the lease item.
    let delete_other: TransactItem = DeleteRequest::new("other-table", lock_key()).into();
    let plan = planner
        .commit(&lease(), at(1000), vec![put_meta(), delete_other.clone()])
        .unwrap();
    assert!(!plan.releases());
    assert_eq!(plan.key(), &LeaseKey::new("CACHE#A", "LOCK"));
    let sent = items(plan.request());
    assert_eq!(COMMIT_LEASE_CHECK_INDEX, 0);
    assert_eq!(
        sent[0],
        planner
            .lease_check(&lease(), at(1000))
            .unwrap()
            .transact_item()
    );
    assert_eq!(sent[1..], [put_meta(), delete_other]);

    let plan = planner
        .commit_and_release(&lease(), at(1000), vec![put_meta()])
        .unwrap();
    assert!(plan.releases());
    let sent = items(plan.request());
    assert_eq!(
        sent[0],
        planner.release_in_transaction(&lease(), at(1000)).unwrap()
    );
    assert_eq!(sent[1..], [put_meta()]);
}

#[test]
fn a_commit_may_not_touch_the_lease_item() {
    let planner = planner();
    let on_lock = [
        PutRequest::new(
            "locks",
            item(&[("pk", s("CACHE#A")), ("sk", s("LOCK")), ("x", n(1))]),
        )
        .into(),
        DeleteRequest::new("locks", lock_key()).into(),
        planner
            .lease_check(&lease(), at(1000))
            .unwrap()
            .transact_item(),
    ];
    for write in on_lock {
        for result in [
            planner.commit(&lease(), at(1000), vec![put_meta(), write.clone()]),
            planner.commit_and_release(&lease(), at(1000), vec![put_meta(), write.clone()]),
        ] {
            let err = result.unwrap_err();
            assert!(
                matches!(
                    err,
                    LeaseError::InvalidInput {
                        operation: Operation::Commit,
                        reason: InvalidInput::LeaseItemInTransaction { index: 1 },
                        ..
                    }
                ),
                "{err:?}"
            );
            assert!(
                err.report().to_string().contains("guard already covers"),
                "{err}"
            );
        }
    }
}

#[test]
fn a_commit_holds_at_most_one_hundred_items_with_the_guard() {
    let planner = planner();
    let writes = |count: usize| -> Vec<TransactItem> {
        (0..count)
            .map(|i| {
                PutRequest::new(
                    "locks",
                    item(&[("pk", s(&format!("ITEM#{i}"))), ("sk", s("DATA"))]),
                )
                .into()
            })
            .collect()
    };
    let plan = planner
        .commit(&lease(), at(1000), writes(MAX_TRANSACT_ITEMS - 1))
        .unwrap();
    assert_eq!(items(plan.request()).len(), MAX_TRANSACT_ITEMS);
    let err = planner
        .commit(&lease(), at(1000), writes(MAX_TRANSACT_ITEMS))
        .unwrap_err();
    assert!(
        matches!(
            err,
            LeaseError::InvalidInput {
                reason: InvalidInput::TooManyTransactItems { count: 101 },
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_commit_reads_every_answer() {
    let planner = planner();
    let plan = || {
        planner
            .commit(&lease(), at(1000), vec![put_meta()])
            .unwrap()
    };
    let key = LeaseKey::new("CACHE#A", "LOCK");

    plan()
        .interpret(Ok(StoreResponse::Applied { attributes: None }))
        .unwrap();

    // The guard failed: the lease is not ours, whatever the other items say.
    for second in [
        CancellationReason::None,
        CancellationReason::ConditionalCheckFailed { old_item: None },
    ] {
        let reasons = vec![
            CancellationReason::ConditionalCheckFailed { old_item: None },
            second,
        ];
        let err = plan()
            .interpret(Ok(StoreResponse::TransactionCanceled { reasons }))
            .unwrap_err();
        assert!(
            matches!(&err, LeaseError::NotOwned { key: k } if *k == key),
            "{err:?}"
        );
    }

    // Cancelled by the caller's own write, or by a conflict on the guard: not "lease lost".
    for reasons in [
        vec![
            CancellationReason::None,
            CancellationReason::ConditionalCheckFailed { old_item: None },
        ],
        vec![
            CancellationReason::Other {
                code: "TransactionConflict".into(),
                message: Some("Transaction is ongoing for the item".into()),
            },
            CancellationReason::None,
        ],
        vec![],
    ] {
        let err = plan()
            .interpret(Ok(StoreResponse::TransactionCanceled {
                reasons: reasons.clone(),
            }))
            .unwrap_err();
        assert!(err.is_transaction_canceled(), "{err:?}");
        assert!(!err.is_not_owned());
        let LeaseError::TransactionCanceled { key: k, reasons: r } = &err else {
            unreachable!()
        };
        assert_eq!((k, r), (&key, &reasons));
    }

    for (kind, unknown) in [
        (StoreErrorKind::Timeout, true),
        (StoreErrorKind::Unavailable, true),
        (StoreErrorKind::Other, true),
        (StoreErrorKind::Throttled, false),
        (StoreErrorKind::Validation, false),
        (StoreErrorKind::Unsupported, false),
    ] {
        let err = plan()
            .interpret(Err(StoreError::new(kind, "boom")))
            .unwrap_err();
        match err {
            LeaseError::OutcomeUnknown {
                operation: Operation::Commit,
                source,
                ..
            } if unknown => assert_eq!(source.kind(), kind),
            LeaseError::Store {
                operation: Operation::Commit,
                source,
                ..
            } if !unknown => assert_eq!(source.kind(), kind),
            other => panic!("{kind:?}: {other:?}"),
        }
    }

    for answer in [
        StoreResponse::ConditionFailed { old_item: None },
        StoreResponse::Item(None),
    ] {
        let err = plan().interpret(Ok(answer)).unwrap_err();
        assert!(
            matches!(
                err,
                LeaseError::UnexpectedResponse {
                    operation: Operation::Commit,
                    ..
                }
            ),
            "{err:?}"
        );
    }
}

#[test]
fn guard_failure_is_read_at_the_guards_position() {
    let guard = planner().lease_check(&lease(), at(1000)).unwrap();
    let reasons = [
        CancellationReason::None,
        CancellationReason::ConditionalCheckFailed { old_item: None },
    ];
    assert!(!guard.check_failed(&reasons, 0));
    assert!(guard.check_failed(&reasons, 1));
    assert!(!guard.check_failed(&reasons, 2));
    assert!(guard.cancellation_error(reasons.to_vec(), 1).is_not_owned());
    assert!(
        guard
            .cancellation_error(reasons.to_vec(), 0)
            .is_transaction_canceled()
    );
}

#[test]
fn each_transaction_item_renders_its_own_expressions() {
    let update: TransactItem = UpdateRequest::new(
        "data",
        item(&[("id", s("x"))]),
        vec![UpdateAction::set(
            Attr::new("v", "value"),
            Value::new("v", n(2)),
        )],
    )
    .condition(Condition::compare(
        Attr::new("v", "value"),
        Comparator::Lt,
        Value::new("v", n(2)),
    ))
    .return_values(ReturnValues::AllNew)
    .on_condition_failure(OnConditionFailure::ReturnOldItem)
    .into();
    let rendered = update.render();
    assert_eq!(rendered.update.as_deref(), Some("SET #v = :v"));
    assert_eq!(rendered.condition.as_deref(), Some("#v < :v"));
    assert_eq!(rendered.names, names(&[("#v", "value")]));
    assert_eq!(
        update.on_condition_failure(),
        OnConditionFailure::ReturnOldItem
    );

    let delete: TransactItem = DeleteRequest::new("data", item(&[("id", s("y"))]))
        .condition(Condition::exists(Attr::new("id", "id")))
        .into();
    let rendered = delete.render();
    assert_eq!(rendered.condition.as_deref(), Some("attribute_exists(#id)"));
    assert_eq!(rendered.update, None);
    assert!(rendered.values.is_empty());

    let unconditional = put_meta().render();
    assert_eq!(unconditional.condition, None);
    assert!(unconditional.names.is_empty());

    // The transaction as a whole has no expressions; its table is its first item's.
    let request = Request::Transact(TransactRequest {
        items: vec![delete, update],
    });
    assert_eq!(request.table_name(), "data");
    assert_eq!(request.condition(), None);
    assert_eq!(request.render(), Default::default());
    assert_eq!(
        Request::Transact(TransactRequest { items: vec![] }).table_name(),
        ""
    );
}

/// The constructors fill in what a caller's own write usually wants: no condition, nothing
/// returned; the builder methods set the rest. (The literals here are what they build.)
#[test]
fn request_constructors_fill_in_the_defaults() {
    let cond = || Condition::exists(Attr::new("pk", "pk"));
    let set = || {
        vec![UpdateAction::set(
            Attr::new("v", "value"),
            Value::new("v", n(2)),
        )]
    };
    assert_eq!(
        PutRequest::new("locks", lock_key()),
        PutRequest {
            table_name: "locks".into(),
            item: lock_key(),
            condition: None,
            on_condition_failure: OnConditionFailure::ReturnNothing,
        }
    );
    assert_eq!(
        PutRequest::new(String::from("locks"), lock_key())
            .condition(cond())
            .on_condition_failure(OnConditionFailure::ReturnOldItem),
        PutRequest {
            table_name: "locks".into(),
            item: lock_key(),
            condition: Some(cond()),
            on_condition_failure: OnConditionFailure::ReturnOldItem,
        }
    );
    assert_eq!(
        UpdateRequest::new("locks", lock_key(), set()),
        UpdateRequest {
            table_name: "locks".into(),
            key: lock_key(),
            update: set(),
            condition: None,
            return_values: ReturnValues::None,
            on_condition_failure: OnConditionFailure::ReturnNothing,
        }
    );
    assert_eq!(
        UpdateRequest::new("locks", lock_key(), set())
            .condition(cond())
            .return_values(ReturnValues::UpdatedNew)
            .on_condition_failure(OnConditionFailure::ReturnOldItem),
        UpdateRequest {
            table_name: "locks".into(),
            key: lock_key(),
            update: set(),
            condition: Some(cond()),
            return_values: ReturnValues::UpdatedNew,
            on_condition_failure: OnConditionFailure::ReturnOldItem,
        }
    );
    assert_eq!(
        DeleteRequest::new("locks", lock_key()),
        DeleteRequest {
            table_name: "locks".into(),
            key: lock_key(),
            condition: None,
            on_condition_failure: OnConditionFailure::ReturnNothing,
        }
    );
    assert_eq!(
        DeleteRequest::new("locks", lock_key())
            .condition(cond())
            .on_condition_failure(OnConditionFailure::ReturnOldItem),
        DeleteRequest {
            table_name: "locks".into(),
            key: lock_key(),
            condition: Some(cond()),
            on_condition_failure: OnConditionFailure::ReturnOldItem,
        }
    );
    assert_eq!(
        ConditionCheckRequest::new("locks", lock_key(), cond()),
        ConditionCheckRequest {
            table_name: "locks".into(),
            key: lock_key(),
            condition: cond(),
            on_condition_failure: OnConditionFailure::ReturnNothing,
        }
    );
}

#[test]
fn items_convert_from_requests() {
    let check = ConditionCheckRequest::new(
        "locks",
        lock_key(),
        Condition::exists(Attr::new("pk", "pk")),
    )
    .on_condition_failure(OnConditionFailure::ReturnOldItem);
    let item: TransactItem = check.clone().into();
    assert_eq!(item, TransactItem::ConditionCheck(check));
    assert_eq!(item.table_name(), "locks");
    assert!(item.condition().is_some());
}

#[test]
fn debug_output_never_shows_the_token() {
    let planner = planner();
    let guard = planner.lease_check(&lease(), at(1000)).unwrap();
    let plan = planner
        .commit(&lease(), at(1000), vec![put_meta()])
        .unwrap();
    for shown in [format!("{guard:?}"), format!("{plan:?}")] {
        assert!(!shown.contains("secret-token"), "{shown}");
        assert!(shown.contains("CACHE#A"), "{shown}");
    }
}

#[test]
fn a_cancelled_commit_names_the_reason_codes() {
    let err = LeaseError::TransactionCanceled {
        key: LeaseKey::new("CACHE#A", "LOCK"),
        reasons: vec![
            CancellationReason::None,
            CancellationReason::ConditionalCheckFailed { old_item: None },
            CancellationReason::Other {
                code: "TransactionConflict".into(),
                message: None,
            },
        ],
    };
    assert_eq!(
        err.to_string(),
        "transaction under lease CACHE#A/LOCK was cancelled: [None, ConditionalCheckFailed, TransactionConflict]"
    );
    assert_eq!(err.key(), &LeaseKey::new("CACHE#A", "LOCK"));
}
