//! Decoding the current holder from the old item a failed acquire returns: known, undecodable
//! (with the reason), and unknown (no item returned).

// Test helpers panic on unexpected input on purpose: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use lease_core::{
    AttributeValue, DecodeError, Holder, HolderInfo, Item, LeaseConfig, LeaseError, LeaseKey,
    LeaseToken, Planner, StoreResponse, TokenFingerprint,
};
use time::OffsetDateTime;

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap()
}

fn default_config() -> LeaseConfig {
    LeaseConfig::builder("tbl").build().unwrap()
}

/// The holder a failed acquire reports when the store returns `old_item`.
fn holder_for(config: LeaseConfig, old_item: Option<Item>) -> Holder {
    let planner = Planner::new(config);
    let err = planner
        .acquire(
            LeaseKey::new("CACHE#A", "LOCK"),
            Duration::from_secs(30),
            at(1000),
            LeaseToken::new("mine"),
        )
        .unwrap()
        .interpret(Ok(StoreResponse::ConditionFailed { old_item }))
        .unwrap_err();
    match err {
        LeaseError::Held { holder, .. } => holder,
        other => panic!("expected Held, got {other:?}"),
    }
}

fn lease_item(token: Option<AttributeValue>, expires: Option<AttributeValue>) -> Item {
    let mut item = Item::from([
        ("pk".to_owned(), AttributeValue::string("CACHE#A")),
        ("sk".to_owned(), AttributeValue::string("LOCK")),
        ("ttl".to_owned(), AttributeValue::number(4650)),
    ]);
    if let Some(token) = token {
        item.insert("lease_token".into(), token);
    }
    if let Some(expires) = expires {
        item.insert("lease_expires_at".into(), expires);
    }
    item
}

fn known_item() -> Item {
    lease_item(
        Some(AttributeValue::string("their-secret-token")),
        Some(AttributeValue::number(1050)),
    )
}

#[test]
fn a_readable_old_item_names_the_holder() {
    let holder = holder_for(default_config(), Some(known_item()));
    let info = HolderInfo {
        token: TokenFingerprint::of("their-secret-token"),
        expires_at: at(1050),
    };
    assert_eq!(holder, Holder::Known(info));
    assert_eq!(
        HolderInfo::decode(&known_item(), &default_config()),
        Ok(info)
    );
}

#[test]
fn the_held_message_shows_the_holder_but_never_its_token() {
    let holder = holder_for(default_config(), Some(known_item()));
    let err = LeaseError::Held {
        key: LeaseKey::new("CACHE#A", "LOCK"),
        holder,
    };
    let text = err.to_string();
    assert!(text.contains("CACHE#A/LOCK"), "{text}");
    assert!(text.contains("1050"), "{text}");
    assert!(
        text.contains(&TokenFingerprint::of("their-secret-token").to_string()),
        "{text}"
    );
    assert!(!text.contains("their-secret-token"), "{text}");
    assert!(!format!("{err:?}").contains("their-secret-token"));
}

#[test]
fn decoding_follows_custom_attribute_names() {
    let config = LeaseConfig::builder("tbl")
        .lease_attribute_names("token", "expires_at", "expires_ttl")
        .build()
        .unwrap();
    let item = Item::from([
        ("token".to_owned(), AttributeValue::string("t")),
        ("expires_at".to_owned(), AttributeValue::number(1050)),
    ]);
    assert!(matches!(
        holder_for(config.clone(), Some(item)),
        Holder::Known(HolderInfo { expires_at, .. }) if expires_at == at(1050)
    ));
    // The default names mean nothing under this configuration.
    assert_eq!(
        holder_for(config, Some(known_item())),
        Holder::Undecodable(DecodeError::MissingAttribute {
            attribute: "token".into()
        })
    );
}

#[test]
fn no_old_item_is_unknown() {
    let holder = holder_for(default_config(), None);
    assert_eq!(holder, Holder::Unknown);
    let err = LeaseError::Held {
        key: LeaseKey::new("CACHE#A", "LOCK"),
        holder,
    };
    assert_eq!(
        err.to_string(),
        "lease CACHE#A/LOCK is held by another holder"
    );
}

fn undecodable(item: Item) -> DecodeError {
    match holder_for(default_config(), Some(item)) {
        Holder::Undecodable(e) => e,
        other => panic!("expected Undecodable, got {other:?}"),
    }
}

#[test]
fn a_missing_token_is_undecodable() {
    let err = undecodable(lease_item(None, Some(AttributeValue::number(1050))));
    assert_eq!(
        err,
        DecodeError::MissingAttribute {
            attribute: "lease_token".into()
        }
    );
}

#[test]
fn a_missing_expiry_is_undecodable() {
    let err = undecodable(lease_item(Some(AttributeValue::string("t")), None));
    assert_eq!(
        err,
        DecodeError::MissingAttribute {
            attribute: "lease_expires_at".into()
        }
    );
}

#[test]
fn an_expiry_stored_as_a_string_is_undecodable() {
    // Seed-spec W8: such an item can never be taken over by TableTheory's condition either.
    let err = undecodable(lease_item(
        Some(AttributeValue::string("t")),
        Some(AttributeValue::string("1050")),
    ));
    assert_eq!(
        err,
        DecodeError::WrongType {
            attribute: "lease_expires_at".into(),
            expected: "N",
            found: "S",
        }
    );
}

#[test]
fn a_token_stored_as_a_number_is_undecodable() {
    let err = undecodable(lease_item(
        Some(AttributeValue::number(7)),
        Some(AttributeValue::number(1050)),
    ));
    assert_eq!(
        err,
        DecodeError::WrongType {
            attribute: "lease_token".into(),
            expected: "S",
            found: "N",
        }
    );
}

#[test]
fn a_non_integer_expiry_is_undecodable() {
    // TableTheory's TS port writes "1030.5" when a custom clock returns a fraction.
    for raw in ["10.5", "1030.5", "1e3", "", "abc", "99999999999999999999"] {
        let err = undecodable(lease_item(
            Some(AttributeValue::string("t")),
            Some(AttributeValue::N(raw.into())),
        ));
        assert_eq!(
            err,
            DecodeError::InvalidEpochSeconds {
                attribute: "lease_expires_at".into(),
                value: raw.into(),
            }
        );
    }
}

#[test]
fn an_expiry_beyond_representable_time_is_undecodable() {
    let err = undecodable(lease_item(
        Some(AttributeValue::string("t")),
        Some(AttributeValue::number(i64::MAX)),
    ));
    assert!(
        matches!(err, DecodeError::InvalidEpochSeconds { .. }),
        "{err:?}"
    );
}

#[test]
fn the_undecodable_message_says_why() {
    let holder = Holder::Undecodable(DecodeError::WrongType {
        attribute: "lease_expires_at".into(),
        expected: "N",
        found: "S",
    });
    let text = holder.to_string();
    assert!(text.contains("not a readable lease"), "{text}");
    assert!(text.contains("lease_expires_at"), "{text}");
}
