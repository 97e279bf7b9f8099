//! Inspect: a consistent `GetItem`, read strictly into a snapshot: absent, held, expired or
//! released, or `MalformedItem` naming what is wrong (a foreign attribute included).

// Test helpers panic on unexpected input on purpose: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use lease_core::{
    AttributeValue, DecodeError, FencingToken, GetRequest, Holder, HolderRecord, InvalidInput,
    Item, LeaseConfig, LeaseError, LeaseKey, LeaseSnapshot, LeaseToken, Operation, Planner,
    Request, StoreResponse, StoredState, TokenFingerprint,
};
use std::time::SystemTime;

fn at(secs: i64) -> SystemTime {
    lease_core::wire_time::from_epoch_seconds(secs).unwrap()
}

fn key() -> LeaseKey {
    LeaseKey::new("CACHE#A", "LOCK")
}

fn planner() -> Planner {
    Planner::new(LeaseConfig::builder("tbl").build().unwrap())
}

fn lease_item(expires: i64) -> Item {
    Item::from([
        ("pk".into(), AttributeValue::string("CACHE#A")),
        ("sk".into(), AttributeValue::string("LOCK")),
        ("lease_token".into(), AttributeValue::string("theirs")),
        ("lease_expires_at".into(), AttributeValue::number(expires)),
        ("lease_fence".into(), AttributeValue::number(12)),
        ("ttl".into(), AttributeValue::number(expires + 3600)),
    ])
}

fn info(expires_at: SystemTime, released: bool) -> HolderRecord {
    HolderRecord {
        token: TokenFingerprint::of("theirs"),
        expires_at,
        fence: Some(FencingToken::new(12)),
        released,
    }
}

fn inspect_with(
    planner: &Planner,
    item: Option<Item>,
    now: SystemTime,
) -> Result<LeaseSnapshot, LeaseError> {
    planner
        .inspect(key())
        .unwrap()
        .interpret(Ok(StoreResponse::Item(item)), now)
}

fn state(item: Option<Item>, now: i64) -> StoredState {
    let snapshot = inspect_with(&planner(), item, at(now)).unwrap();
    assert_eq!(snapshot.key, key());
    snapshot.state
}

#[test]
fn the_request_is_a_consistent_get_of_the_key() {
    let p = planner();
    let plan = p.inspect(key()).unwrap();
    assert_eq!(
        plan.request(),
        &Request::Get(GetRequest {
            table_name: "tbl".into(),
            key: Item::from([
                ("pk".into(), AttributeValue::string("CACHE#A")),
                ("sk".into(), AttributeValue::string("LOCK")),
            ]),
            consistent_read: true,
        })
    );
}

#[test]
fn no_item_is_absent() {
    let state = state(None, 1000);
    assert_eq!(state, StoredState::Absent);
    assert!(!state.is_held());
    assert_eq!(state.holder(), None);
}

#[test]
fn an_expiry_after_now_is_held() {
    let state = state(Some(lease_item(1030)), 1000);
    assert_eq!(state, StoredState::Held(info(at(1030), false)));
    assert!(state.is_held());
    assert_eq!(state.holder(), Some(&info(at(1030), false)));
    // Still held one second before the expiry.
    assert!(matches!(
        self::state(Some(lease_item(1030)), 1029),
        StoredState::Held(_)
    ));
}

/// Expired from the expiry on (`exp <= now`), as the acquire condition judges it.
#[test]
fn an_expiry_at_or_before_now_is_expired() {
    for now in [1030, 1031, 5000] {
        let state = state(Some(lease_item(1030)), now);
        assert_eq!(state, StoredState::Expired(info(at(1030), false)), "{now}");
        assert!(!state.is_held());
        assert_eq!(state.holder(), Some(&info(at(1030), false)));
    }
}

#[test]
fn an_expiry_of_zero_is_released_and_keeps_its_fencing_token() {
    let state = state(Some(lease_item(0)), 1000);
    let released = info(std::time::UNIX_EPOCH, true);
    assert_eq!(state, StoredState::Released(released));
    assert!(!state.is_held());
    assert_eq!(
        state.holder().and_then(|i| i.fence),
        Some(FencingToken::new(12))
    );
}

#[test]
fn an_item_without_a_fencing_token_or_ttl_is_a_tabletheory_lease() {
    let mut item = lease_item(1030);
    item.remove("lease_fence");
    item.remove("ttl");
    let StoredState::Held(info) = state(Some(item), 1000) else {
        panic!("expected Held")
    };
    assert_eq!(info.fence, None);
}

fn malformed(item: Item) -> DecodeError {
    match inspect_with(&planner(), Some(item), at(1000)) {
        Err(LeaseError::MalformedItem { key: k, error }) => {
            assert_eq!(k, key());
            error
        }
        other => panic!("expected MalformedItem, got {other:?}"),
    }
}

#[test]
fn a_foreign_attribute_is_malformed_for_inspect_only() {
    let mut item = lease_item(1030);
    item.insert("payload".into(), AttributeValue::string("x"));
    assert_eq!(
        malformed(item.clone()),
        DecodeError::ForeignAttribute {
            attribute: "payload".into()
        }
    );
    // The same item is a readable holder for a failed acquire (lenient decoding).
    let err = planner()
        .acquire(
            key(),
            Duration::from_secs(30),
            at(1000),
            LeaseToken::new("tok"),
        )
        .unwrap()
        .interpret(Ok(StoreResponse::ConditionFailed {
            old_item: Some(item.clone()),
        }))
        .unwrap_err();
    assert!(
        matches!(
            err,
            LeaseError::Held {
                holder: Holder::Known(_),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        HolderRecord::decode(&item, planner().config(), at(1000)),
        Ok(info(at(1030), false))
    );
    assert_eq!(
        HolderRecord::decode_strict(&item, planner().config(), at(1000)),
        Err(DecodeError::ForeignAttribute {
            attribute: "payload".into()
        })
    );
}

#[test]
fn every_configured_attribute_is_known_and_no_other() {
    let config = LeaseConfig::builder("tbl")
        .key_attribute_names("partition", "sort")
        .lease_attribute_names("token", "expires_at", "expires_ttl")
        .fence_attribute_name("fencing")
        .build()
        .unwrap();
    let p = Planner::new(config);
    let custom = Item::from([
        ("partition".into(), AttributeValue::string("CACHE#A")),
        ("sort".into(), AttributeValue::string("LOCK")),
        ("token".into(), AttributeValue::string("theirs")),
        ("expires_at".into(), AttributeValue::number(1030)),
        ("fencing".into(), AttributeValue::number(12)),
        ("expires_ttl".into(), AttributeValue::number(4630)),
    ]);
    let snapshot = inspect_with(&p, Some(custom.clone()), at(1000)).unwrap();
    assert_eq!(snapshot.state, StoredState::Held(info(at(1030), false)));
    // A default name is foreign under this configuration.
    let mut with_default = custom;
    with_default.insert("ttl".into(), AttributeValue::number(4630));
    let err = inspect_with(&p, Some(with_default), at(1000)).unwrap_err();
    assert!(
        matches!(
            &err,
            LeaseError::MalformedItem { error: DecodeError::ForeignAttribute { attribute }, .. }
                if attribute == "ttl"
        ),
        "{err:?}"
    );
}

#[test]
fn wrong_types_and_numbers_are_malformed() {
    let mut item = lease_item(1030);
    item.insert("lease_expires_at".into(), AttributeValue::string("1030"));
    assert_eq!(
        malformed(item),
        DecodeError::WrongType {
            attribute: "lease_expires_at".into(),
            expected: "N",
            found: "S",
        }
    );
    let mut item = lease_item(1030);
    item.insert("lease_fence".into(), AttributeValue::N("1.5".into()));
    assert_eq!(
        malformed(item),
        DecodeError::InvalidNumber {
            attribute: "lease_fence".into(),
            value: "1.5".into(),
        }
    );
    let mut item = lease_item(1030);
    item.remove("lease_token");
    assert_eq!(
        malformed(item),
        DecodeError::MissingAttribute {
            attribute: "lease_token".into()
        }
    );
}

#[test]
fn an_invalid_key_is_rejected_before_any_request() {
    let err = planner().inspect(LeaseKey::new("", "LOCK")).unwrap_err();
    assert!(
        matches!(
            err,
            LeaseError::InvalidInput {
                operation: Operation::Inspect,
                reason: InvalidInput::EmptyPartitionKey,
                ..
            }
        ),
        "{err:?}"
    );
    let over = LeaseKey::new("CACHE#A", "s".repeat(1025));
    assert!(matches!(
        planner().inspect(over).unwrap_err(),
        LeaseError::InvalidInput {
            reason: InvalidInput::SortKeyTooLong { len: 1025 },
            ..
        }
    ));
}

/// `LeaseSnapshot::decode` reads an item read some other way (a `Scan`) exactly as inspect
/// reads the item it fetched: the same snapshot, or the same decode error.
#[test]
fn decode_is_how_inspect_reads_an_item() {
    let p = planner();
    let mut foreign = lease_item(1030);
    foreign.insert("owner".into(), AttributeValue::string("me"));
    for (item, now) in [
        (lease_item(1030), 1000),
        (lease_item(1000), 1000),
        (lease_item(0), 1000),
        (foreign, 1000),
    ] {
        let decoded = LeaseSnapshot::decode(key(), &item, p.config(), at(now));
        match inspect_with(&p, Some(item), at(now)) {
            Ok(snapshot) => assert_eq!(decoded, Ok(snapshot)),
            Err(LeaseError::MalformedItem { key: k, error }) => {
                assert_eq!(k, key());
                assert_eq!(decoded, Err(error));
            }
            Err(other) => panic!("{other}"),
        }
    }
}
