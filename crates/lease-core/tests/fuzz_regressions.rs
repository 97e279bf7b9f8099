//! Inputs the fuzz targets (`fuzz/`, docs/correctness.md "Fuzzing") found, each minimised
//! and kept here as a plain test.

// Test helpers panic on unexpected input on purpose: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lease_core::wire_time::{ExpiryUnit, from_epoch_seconds};
use lease_core::{AttributeValue, DecodeError, HolderRecord, Item, LeaseConfig};

/// `decode_item`: a reader whose clock is so far before the epoch (some 292 million years)
/// that its horizon is below the range of epoch milliseconds took any expiry as within the
/// horizon, where every expiry is beyond it.
#[test]
fn an_expiry_is_beyond_the_horizon_of_a_clock_before_the_range_of_milliseconds() {
    let config = LeaseConfig::builder("tbl")
        .expiry_unit(ExpiryUnit::Milliseconds)
        .build()
        .unwrap();
    let now = from_epoch_seconds(-3_978_709_506_094_217_462).unwrap();
    let item = Item::from([
        ("lease_token".into(), AttributeValue::string("t")),
        ("lease_expires_at".into(), AttributeValue::number(-1_000)),
    ]);
    assert_eq!(
        HolderRecord::decode(&item, &config, now),
        Err(DecodeError::ExpiryBeyondHorizon {
            attribute: "lease_expires_at".into(),
            value: -1_000,
            unit: "milliseconds",
        })
    );
    // In seconds every such clock is in range, and so is its horizon.
    let config = LeaseConfig::builder("tbl").build().unwrap();
    assert!(matches!(
        HolderRecord::decode(&item, &config, now),
        Err(DecodeError::ExpiryBeyondHorizon { .. })
    ));
}

/// `decode_item`: a value attribute (leader election) that is not a string was refused by the
/// snapshot but accepted by strict decoding; both refuse it now, alike.
#[test]
fn a_value_attribute_that_is_not_a_string_is_refused_alike() {
    let config = LeaseConfig::builder("tbl").build().unwrap();
    let now = from_epoch_seconds(1_800_000_000).unwrap();
    let item = Item::from([
        ("pk".into(), AttributeValue::string("e")),
        ("sk".into(), AttributeValue::string("LEADER")),
        ("lease_token".into(), AttributeValue::string("t")),
        (
            "lease_expires_at".into(),
            AttributeValue::number(1_800_000_010),
        ),
        ("lease_value".into(), AttributeValue::number(7)),
    ]);
    let wrong = DecodeError::WrongType {
        attribute: "lease_value".into(),
        expected: "S",
        found: "N",
    };
    assert_eq!(
        HolderRecord::decode_strict(&item, &config, now),
        Err(wrong.clone())
    );
    assert_eq!(
        lease_core::LeaseSnapshot::decode(lease_core::election_key("e"), &item, &config, now),
        Err(wrong)
    );
}
