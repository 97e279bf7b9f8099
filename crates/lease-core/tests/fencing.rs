//! Fencing tokens: acquire sets `#fence = if_not_exists(#fence, :floor) + :one` and reads the
//! new value from the updated attributes (`ReturnValues UPDATED_NEW`); refresh keeps it;
//! release leaves it in the item.

// Test helpers panic on unexpected input on purpose: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use lease_core::expr::{Attr, Operand, UpdateAction, UpdateValue, Value};
use lease_core::{
    AttributeValue, DecodeError, FencingToken, Item, Lease, LeaseConfig, LeaseError, LeaseKey,
    LeaseToken, Operation, Planner, Request, StoreResponse,
};
use std::time::SystemTime;

fn at_nanos(nanos: i128) -> SystemTime {
    lease_core::wire_time::from_epoch_nanos(nanos).unwrap()
}

fn at(secs: i64) -> SystemTime {
    lease_core::wire_time::from_epoch_seconds(secs).unwrap()
}

fn key() -> LeaseKey {
    LeaseKey::new("CACHE#A", "LOCK")
}

fn planner() -> Planner {
    Planner::new(LeaseConfig::builder("tbl").build().unwrap())
}

/// The answer to an acquire at epoch second 1000 with the updated item `attributes`.
fn acquire_with(planner: &Planner, attributes: Option<Item>) -> Result<Lease, LeaseError> {
    planner
        .acquire(
            key(),
            Duration::from_secs(30),
            at(1000),
            LeaseToken::new("tok"),
        )
        .unwrap()
        .interpret(Ok(StoreResponse::Applied { attributes }))
}

/// The item after the update, with `fence` as the fencing attribute (if any).
fn updated(fence: Option<AttributeValue>) -> Item {
    let mut item = Item::from([
        ("pk".into(), AttributeValue::string("CACHE#A")),
        ("sk".into(), AttributeValue::string("LOCK")),
        ("lease_token".into(), AttributeValue::string("tok")),
        ("lease_expires_at".into(), AttributeValue::number(1030)),
        ("ttl".into(), AttributeValue::number(4630)),
    ]);
    if let Some(fence) = fence {
        item.insert("lease_fence".into(), fence);
    }
    item
}

fn fence_n(raw: &str) -> Option<AttributeValue> {
    Some(AttributeValue::N(raw.into()))
}

#[test]
fn the_fence_is_read_from_the_updated_item() {
    for (raw, expected) in [
        ("0", 0),
        ("1", 1),
        ("1000001", 1_000_001),
        ("18446744073709551615", u64::MAX),
    ] {
        let lease = acquire_with(&planner(), Some(updated(fence_n(raw)))).unwrap();
        assert_eq!(lease.fence(), FencingToken::new(expected), "{raw}");
        assert_eq!(lease.fence().get(), expected);
        assert_eq!(lease.fence().to_string(), raw);
    }
}

fn assert_unexpected(result: Result<Lease, LeaseError>) {
    let err = result.unwrap_err();
    assert!(
        matches!(
            &err,
            LeaseError::UnexpectedResponse { operation: Operation::Acquire, key: k, .. } if *k == key()
        ),
        "{err:?}"
    );
    assert!(!err.is_held() && !err.is_outcome_unknown(), "{err:?}");
}

#[test]
fn an_answer_without_a_whole_fence_is_an_unexpected_response() {
    // ReturnValues ignored: nothing, or an item without the attribute.
    assert_unexpected(acquire_with(&planner(), None));
    assert_unexpected(acquire_with(&planner(), Some(updated(None))));
    // Not a number at all.
    assert_unexpected(acquire_with(
        &planner(),
        Some(updated(Some(AttributeValue::string("5")))),
    ));
}

/// A fencing token stored by another program that is not a whole number in u64's range: the
/// update applied (one was added to it), but the item is not a readable lease. The error names
/// the attribute and the value (the lifecycle's acquire then gives the lease back).
#[test]
fn a_fence_that_is_not_a_whole_number_is_a_malformed_item() {
    for raw in ["-1", "1.5", "1e3", "", " 1", "18446744073709551616"] {
        let err = acquire_with(&planner(), Some(updated(fence_n(raw)))).unwrap_err();
        match &err {
            LeaseError::MalformedItem {
                key: k,
                error: DecodeError::InvalidNumber { attribute, value },
            } => {
                assert_eq!(*k, key());
                assert_eq!(attribute, "lease_fence");
                assert_eq!(value, raw);
            }
            other => panic!("{raw:?}: {other:?}"),
        }
    }
}

#[test]
fn the_fence_attribute_name_is_configurable() {
    let p = Planner::new(
        LeaseConfig::builder("tbl")
            .fence_attribute_name("fencing")
            .build()
            .unwrap(),
    );
    let mut item = updated(fence_n("3"));
    assert_unexpected(acquire_with(&p, Some(item.clone())));
    item.insert("fencing".into(), AttributeValue::number(4));
    assert_eq!(
        acquire_with(&p, Some(item)).unwrap().fence(),
        FencingToken::new(4)
    );
    let rendered = p
        .acquire(
            key(),
            Duration::from_secs(30),
            at(1000),
            LeaseToken::new("tok"),
        )
        .unwrap()
        .request()
        .render();
    assert_eq!(
        rendered.names.get("#fence").map(String::as_str),
        Some("fencing")
    );
}

#[test]
fn the_fence_only_grows_from_a_floor_of_now_in_milliseconds() {
    // now = 1000.7005 s: the floor is 1_000_700 (milliseconds, rounded down).
    let p = planner();
    let plan = p
        .acquire(
            key(),
            Duration::from_secs(30),
            at_nanos(1_000_700_500_000),
            LeaseToken::new("tok"),
        )
        .unwrap();
    let Request::Update(update) = plan.request() else {
        panic!("expected an update: {:?}", plan.request())
    };
    let fence = Attr::new("fence", "lease_fence");
    let expected = UpdateAction::Set(
        fence.clone(),
        UpdateValue::Plus(
            Box::new(UpdateValue::IfNotExists(
                fence,
                Value::new("floor", AttributeValue::number(1_000_700)),
            )),
            Box::new(UpdateValue::Operand(Operand::Value(Value::new(
                "one",
                AttributeValue::number(1),
            )))),
        ),
    );
    assert_eq!(
        update
            .update
            .iter()
            .filter(|a| matches!(a, UpdateAction::Set(attr, _) | UpdateAction::Remove(attr) if &*attr.name == "lease_fence"))
            .collect::<Vec<_>>(),
        [&expected],
        "exactly one action on the fence"
    );
}

#[test]
fn refresh_keeps_the_fence_and_never_writes_it() {
    let p = planner();
    let lease = acquire_with(&p, Some(updated(fence_n("99")))).unwrap();
    let plan = p
        .refresh(&lease, Duration::from_secs(60), at(1010))
        .unwrap();
    let rendered = plan.request().render();
    assert!(
        !rendered.names.values().any(|n| n == "lease_fence"),
        "{rendered:?}"
    );
    let refreshed = plan
        .interpret(Ok(StoreResponse::Applied { attributes: None }))
        .unwrap();
    assert_eq!(refreshed.fence(), FencingToken::new(99));
    assert_eq!(refreshed.expires_at_epoch_seconds(), 1070);
}

#[test]
fn release_leaves_the_fence_in_the_item() {
    let p = planner();
    let lease = acquire_with(&p, Some(updated(fence_n("99")))).unwrap();
    let plan = p.release(&lease, at(1010)).unwrap();
    let Request::Update(update) = plan.request() else {
        panic!("release keeps the item: {:?}", plan.request())
    };
    assert!(
        update.update.iter().all(|a| match a {
            UpdateAction::Set(attr, _) | UpdateAction::Remove(attr) => &*attr.name != "lease_fence",
        }),
        "{:?}",
        update.update
    );
}

#[test]
fn fences_order_as_numbers() {
    assert!(FencingToken::new(9) < FencingToken::new(10));
    assert!(FencingToken::new(1_000_001) > FencingToken::new(1_000_000));
    assert_eq!(FencingToken::new(7), FencingToken::new(7));
}
