//! Decoding the current holder from the old item a failed acquire returns: known (with its
//! fencing token, if any), unknown (no item returned), and not a readable lease at all
//! (`MalformedItem`, with the reason).

// Test helpers panic on unexpected input on purpose: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use lease_core::{
    AttributeValue, DecodeError, FencingToken, Holder, HolderRecord, Item, LeaseConfig, LeaseError,
    LeaseKey, LeaseToken, Planner, StoreResponse, TokenFingerprint,
};
use std::time::SystemTime;

fn at(secs: i64) -> SystemTime {
    lease_core::wire_time::from_epoch_seconds(secs).unwrap()
}

fn default_config() -> LeaseConfig {
    LeaseConfig::builder("tbl").build().unwrap()
}

fn cache_a() -> LeaseKey {
    LeaseKey::new("CACHE#A", "LOCK")
}

/// The error of an acquire at epoch second 1000 whose condition failed with `old_item`.
fn acquire_error(config: LeaseConfig, old_item: Option<Item>) -> LeaseError {
    let planner = Planner::new(config);
    planner
        .acquire(
            cache_a(),
            Duration::from_secs(30),
            at(1000),
            LeaseToken::new("mine"),
        )
        .unwrap()
        .interpret(Ok(StoreResponse::ConditionFailed { old_item }))
        .unwrap_err()
}

/// The holder a failed acquire reports when the store returns `old_item`.
fn holder_for(config: LeaseConfig, old_item: Option<Item>) -> Holder {
    match acquire_error(config, old_item) {
        LeaseError::Held { key, holder } => {
            assert_eq!(key, cache_a());
            holder
        }
        other => panic!("expected Held, got {other:?}"),
    }
}

/// Why the old item is not a readable lease (the acquire fails with `MalformedItem`, not
/// `Held`: such an item never expires by itself).
fn malformed_with(config: LeaseConfig, item: Item) -> DecodeError {
    match acquire_error(config, Some(item)) {
        LeaseError::MalformedItem { key, error } => {
            assert_eq!(key, cache_a());
            error
        }
        other => panic!("expected MalformedItem, got {other:?}"),
    }
}

fn undecodable(item: Item) -> DecodeError {
    malformed_with(default_config(), item)
}

fn lease_item(token: Option<AttributeValue>, expires: Option<AttributeValue>) -> Item {
    let mut item = Item::from([
        ("pk".into(), AttributeValue::string("CACHE#A")),
        ("sk".into(), AttributeValue::string("LOCK")),
        ("ttl".into(), AttributeValue::number(4650)),
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

fn with(mut item: Item, name: &str, value: AttributeValue) -> Item {
    item.insert(name.into(), value);
    item
}

#[test]
fn a_readable_old_item_names_the_holder() {
    let holder = holder_for(default_config(), Some(known_item()));
    // Written by TableTheory's code: no fencing token.
    let info = HolderRecord {
        token: TokenFingerprint::of("their-secret-token"),
        expires_at: at(1050),
        fence: None,
        released: false,
    };
    assert_eq!(holder, Holder::Known(info));
    assert_eq!(
        HolderRecord::decode(&known_item(), &default_config(), at(1000)),
        Ok(info)
    );
}

#[test]
fn the_holders_fencing_token_is_read_when_present() {
    let item = with(
        known_item(),
        "lease_fence",
        AttributeValue::number(1_000_042),
    );
    let expected = HolderRecord {
        token: TokenFingerprint::of("their-secret-token"),
        expires_at: at(1050),
        fence: Some(FencingToken::new(1_000_042)),
        released: false,
    };
    assert_eq!(
        holder_for(default_config(), Some(item.clone())),
        Holder::Known(expected)
    );
    assert_eq!(
        HolderRecord::decode(&item, &default_config(), at(1000)),
        Ok(expected)
    );
    // The largest fencing token there is.
    let max = with(
        known_item(),
        "lease_fence",
        AttributeValue::N(u64::MAX.to_string().into()),
    );
    assert_eq!(
        HolderRecord::decode(&max, &default_config(), at(1000)).map(|info| info.fence),
        Ok(Some(FencingToken::new(u64::MAX)))
    );
}

#[test]
fn an_expiry_of_zero_is_a_released_lease() {
    let item = lease_item(
        Some(AttributeValue::string("t")),
        Some(AttributeValue::number(0)),
    );
    let info = HolderRecord::decode(&item, &default_config(), at(1000)).unwrap();
    assert!(info.released);
    assert_eq!(info.expires_at, std::time::UNIX_EPOCH);
    let live = HolderRecord::decode(&known_item(), &default_config(), at(1000)).unwrap();
    assert!(!live.released);
}

#[test]
fn the_held_message_shows_the_holder_but_never_its_token() {
    let item = with(known_item(), "lease_fence", AttributeValue::number(77));
    let holder = holder_for(default_config(), Some(item));
    let err = LeaseError::Held {
        key: cache_a(),
        holder,
    };
    let text = err.to_string();
    assert!(text.contains("CACHE#A/LOCK"), "{text}");
    assert!(text.contains("1050"), "{text}");
    assert!(text.contains("fencing token 77"), "{text}");
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
        .fence_attribute_name("fencing")
        .build()
        .unwrap();
    let item = Item::from([
        ("token".into(), AttributeValue::string("t")),
        ("expires_at".into(), AttributeValue::number(1050)),
        ("fencing".into(), AttributeValue::number(9)),
        // The default names mean nothing here, whatever their type.
        ("lease_fence".into(), AttributeValue::string("not a number")),
        ("ttl".into(), AttributeValue::string("not a number")),
    ]);
    assert!(matches!(
        holder_for(config.clone(), Some(item)),
        Holder::Known(HolderRecord { expires_at, fence: Some(fence), .. })
            if expires_at == at(1050) && fence == FencingToken::new(9)
    ));
    // An item in the default names is not a lease under this configuration.
    assert_eq!(
        malformed_with(config, known_item()),
        DecodeError::MissingAttribute {
            attribute: "token".into()
        }
    );
}

#[test]
fn no_old_item_is_unknown() {
    let holder = holder_for(default_config(), None);
    assert_eq!(holder, Holder::Unknown);
    let err = LeaseError::Held {
        key: cache_a(),
        holder,
    };
    assert_eq!(err.to_string(), "lease CACHE#A/LOCK is already held");
}

/// `Holder`'s `Display` stands alone (no leading space or parenthesis); the errors that carry
/// one put it in parentheses, or say nothing of an unknown holder.
#[test]
fn a_holder_displays_on_its_own_and_in_the_errors() {
    assert_eq!(Holder::Unknown.to_string(), "holder unknown");
    let token = TokenFingerprint::of("their-secret-token");
    let known = |fence| {
        Holder::Known(HolderRecord {
            token,
            expires_at: at(1050),
            fence,
            released: false,
        })
    };
    let without_fence = format!("holder {token}, expires at epoch second 1050");
    assert_eq!(known(None).to_string(), without_fence);
    let with_fence = format!("{without_fence}, fencing token 7");
    assert_eq!(known(Some(FencingToken::new(7))).to_string(), with_fence);
    assert!(!with_fence.contains("secret"), "{with_fence}");

    let held = LeaseError::Held {
        key: cache_a(),
        holder: known(Some(FencingToken::new(7))),
    };
    assert_eq!(
        held.to_string(),
        format!("lease CACHE#A/LOCK is already held ({with_fence})")
    );
    let timed_out = LeaseError::WaitTimedOut {
        key: cache_a(),
        holder: known(None),
    };
    assert_eq!(
        timed_out.to_string(),
        format!(
            "timed out waiting for lease CACHE#A/LOCK, still held by another holder ({without_fence})"
        )
    );
    let timed_out = LeaseError::WaitTimedOut {
        key: cache_a(),
        holder: Holder::Unknown,
    };
    assert_eq!(
        timed_out.to_string(),
        "timed out waiting for lease CACHE#A/LOCK, still held by another holder"
    );
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
            DecodeError::InvalidNumber {
                attribute: "lease_expires_at".into(),
                value: raw.into(),
            }
        );
    }
}

#[test]
fn an_expiry_beyond_representable_time_is_undecodable() {
    // Far in the future: beyond the longest possible lease, named as a unit mistake.
    let err = undecodable(lease_item(
        Some(AttributeValue::string("t")),
        Some(AttributeValue::number(i64::MAX)),
    ));
    assert_eq!(
        err,
        DecodeError::ExpiryBeyondHorizon {
            attribute: "lease_expires_at".into(),
            value: i64::MAX,
            unit: "seconds",
        }
    );
    // Far in the past: a lease that expired long ago (`SystemTime` holds any `i64` of
    // seconds), as TableTheory's readers see it too.
    let item = lease_item(
        Some(AttributeValue::string("t")),
        Some(AttributeValue::number(i64::MIN)),
    );
    let info = HolderRecord::decode(&item, &default_config(), at(1000)).unwrap();
    assert_eq!(
        Some(info.expires_at),
        lease_core::wire_time::from_epoch_seconds(i64::MIN)
    );
    assert!(info.expires_at < at(1000));
}

#[test]
fn a_fencing_token_must_be_a_whole_non_negative_number() {
    for raw in ["1.5", "-1", "1e3", "", "18446744073709551616"] {
        let item = with(known_item(), "lease_fence", AttributeValue::N(raw.into()));
        assert_eq!(
            undecodable(item),
            DecodeError::InvalidNumber {
                attribute: "lease_fence".into(),
                value: raw.into(),
            },
            "{raw:?}"
        );
    }
    let item = with(known_item(), "lease_fence", AttributeValue::string("5"));
    assert_eq!(
        undecodable(item),
        DecodeError::WrongType {
            attribute: "lease_fence".into(),
            expected: "N",
            found: "S",
        }
    );
}

#[test]
fn a_ttl_must_be_a_whole_number() {
    for raw in ["4650.5", "1e3", "abc"] {
        let item = with(known_item(), "ttl", AttributeValue::N(raw.into()));
        assert_eq!(
            undecodable(item),
            DecodeError::InvalidNumber {
                attribute: "ttl".into(),
                value: raw.into(),
            },
            "{raw:?}"
        );
    }
    let item = with(known_item(), "ttl", AttributeValue::string("4650"));
    assert_eq!(
        undecodable(item),
        DecodeError::WrongType {
            attribute: "ttl".into(),
            expected: "N",
            found: "S",
        }
    );
}

#[test]
fn the_malformed_item_message_says_why() {
    let err = acquire_error(
        default_config(),
        Some(lease_item(
            Some(AttributeValue::string("their-secret-token")),
            Some(AttributeValue::string("1050")),
        )),
    );
    assert!(!err.is_held(), "a malformed item is not a holder: {err:?}");
    let text = err.report().to_string();
    assert!(text.contains("CACHE#A/LOCK"), "{text}");
    assert!(text.contains("not a readable lease"), "{text}");
    assert!(text.contains("lease_expires_at"), "{text}");
    assert!(!format!("{} {err:?}", err.report()).contains("their-secret-token"));
}
