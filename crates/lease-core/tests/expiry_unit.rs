//! The stored expiry's unit: whole epoch seconds (TableTheory's, the default) or milliseconds
//! (`ExpiryUnit::Milliseconds`, for sub-second leases), rounded up when written and floored in
//! `:now`; and the horizon check that catches an expiry written in another unit
//! (`ExpiryBeyondHorizon`).

// Test helpers panic on unexpected input on purpose: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use lease_core::{
    AttributeValue, DecodeError, ExpiryUnit, HolderRecord, Item, Lease, LeaseConfig,
    LeaseConfigBuilder, LeaseError, LeaseKey, LeaseToken, MAX_LEASE_DURATION, Planner,
    StoreResponse, StoredState,
};
use std::time::SystemTime;

fn at(secs: i64) -> SystemTime {
    lease_core::wire_time::from_epoch_seconds(secs).unwrap()
}

fn at_nanos(nanos: i128) -> SystemTime {
    lease_core::wire_time::from_epoch_nanos(nanos).unwrap()
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::number(v)
}

fn key() -> LeaseKey {
    LeaseKey::new("CACHE#A", "LOCK")
}

fn config(builder: LeaseConfigBuilder) -> LeaseConfig {
    builder.build().unwrap()
}

/// Milliseconds, with a clock skew bound that admits sub-second leases.
fn millis() -> LeaseConfig {
    config(
        LeaseConfig::builder("tbl")
            .expiry_unit(ExpiryUnit::Milliseconds)
            .max_clock_skew(Duration::from_millis(100)),
    )
}

fn seconds() -> LeaseConfig {
    config(LeaseConfig::builder("tbl"))
}

fn lease_item(expires: i64) -> Item {
    Item::from([
        ("pk".into(), AttributeValue::string("CACHE#A")),
        ("sk".into(), AttributeValue::string("LOCK")),
        ("lease_token".into(), AttributeValue::string("theirs")),
        ("lease_expires_at".into(), n(expires)),
    ])
}

#[test]
fn milliseconds_are_written_rounded_up_and_compared_floored() {
    let planner = Planner::new(millis());
    // now = 1000.2005 s; 1.5 s later is 1001.7005 s, stored as 1_001_701 ms.
    let now = at_nanos(1_000_200_500_000);
    let plan = planner
        .acquire(
            key(),
            Duration::from_millis(1500),
            now,
            LeaseToken::new("tok"),
        )
        .unwrap();
    let values = plan.request().render().values;
    assert_eq!(values.get(":exp"), Some(&n(1_001_701)));
    assert_eq!(values.get(":now"), Some(&n(1_000_200)));
    assert_eq!(values.get(":floor"), Some(&n(1_000_200)));
    // The TTL stays in whole seconds (DynamoDB's TTL needs them): ceil(1001.7005) + 3600.
    assert_eq!(values.get(":ttl"), Some(&n(4602)));
    assert_eq!(plan.lease().expires_at(), at_nanos(1_001_701_000_000));
    assert_eq!(plan.lease().expires_at_epoch_seconds(), 1002);

    let lease = Lease::new(
        key(),
        LeaseToken::new("tok"),
        lease_core::FencingToken::new(1),
        at(0),
    );
    let refresh = planner
        .refresh(&lease, Duration::from_millis(1500), now)
        .unwrap();
    let values = refresh.request().render().values;
    assert_eq!(values.get(":exp"), Some(&n(1_001_701)));
    assert_eq!(values.get(":now"), Some(&n(1_000_200)));
    assert_eq!(values.get(":ttl"), Some(&n(4602)));

    // Released is 0 in any unit; the TTL is floor(now) + buffer in seconds.
    let release = planner.release(&lease, now).unwrap();
    let values = release.request().render().values;
    assert_eq!(values.get(":released"), Some(&n(0)));
    assert_eq!(values.get(":ttl"), Some(&n(4600)));
}

#[test]
fn whole_milliseconds_are_not_rounded() {
    let planner = Planner::new(millis());
    let plan = planner
        .acquire(
            key(),
            Duration::from_millis(500),
            at_nanos(1_000_200_000_000),
            LeaseToken::new("tok"),
        )
        .unwrap();
    let values = plan.request().render().values;
    assert_eq!(values.get(":exp"), Some(&n(1_000_700)));
    assert_eq!(values.get(":now"), Some(&n(1_000_200)));
    assert_eq!(values.get(":ttl"), Some(&n(4601)));
    assert_eq!(plan.lease().expires_at(), at_nanos(1_000_700_000_000));
}

#[test]
fn a_sub_millisecond_remainder_rounds_up_by_one_millisecond() {
    let planner = Planner::new(millis());
    // 1000 s + 1 ns, for 200 ms: 1000.200000001 s is stored as 1_000_201 ms.
    let plan = planner
        .acquire(
            key(),
            Duration::from_millis(200),
            at_nanos(1_000_000_000_001),
            LeaseToken::new("tok"),
        )
        .unwrap();
    let values = plan.request().render().values;
    assert_eq!(values.get(":exp"), Some(&n(1_000_201)));
    assert_eq!(values.get(":now"), Some(&n(1_000_000)));
}

#[test]
fn a_stored_expiry_is_read_in_the_configured_unit() {
    let info = HolderRecord::decode(&lease_item(1_050_250), &millis(), at(1000)).unwrap();
    assert_eq!(info.expires_at, at_nanos(1_050_250_000_000));
    assert!(!info.released);
    let released = HolderRecord::decode(&lease_item(0), &millis(), at(1000)).unwrap();
    assert!(released.released);
    let info = HolderRecord::decode(&lease_item(1050), &seconds(), at(1000)).unwrap();
    assert_eq!(info.expires_at, at(1050));
}

/// The horizon is the reader's `now` plus the longest lease, plus the clock skew bound and
/// one second of rounding: the latest expiry any writer within the bound can store.
fn horizon_ms(config: &LeaseConfig) -> i64 {
    let slack = MAX_LEASE_DURATION + config.max_clock_skew() + Duration::from_secs(1);
    i64::try_from(slack.as_millis()).unwrap()
}

#[test]
fn an_expiry_beyond_the_longest_lease_is_rejected_at_the_boundary() {
    let h = horizon_ms(&seconds()) / 1000;
    let ok = HolderRecord::decode(&lease_item(1000 + h), &seconds(), at(1000));
    assert!(ok.is_ok(), "{ok:?}");
    assert_eq!(
        HolderRecord::decode(&lease_item(1001 + h), &seconds(), at(1000)),
        Err(DecodeError::ExpiryBeyondHorizon {
            attribute: "lease_expires_at".into(),
            value: 1001 + h,
            unit: "seconds",
        })
    );
    let h_ms = horizon_ms(&millis());
    let ok = HolderRecord::decode(&lease_item(1_000_000 + h_ms), &millis(), at(1000));
    assert!(ok.is_ok(), "{ok:?}");
    assert_eq!(
        HolderRecord::decode(&lease_item(1_000_001 + h_ms), &millis(), at(1000)),
        Err(DecodeError::ExpiryBeyondHorizon {
            attribute: "lease_expires_at".into(),
            value: 1_000_001 + h_ms,
            unit: "milliseconds",
        })
    );
}

/// A host configured for milliseconds wrote a 30 s lease at epoch second 100 000 000 (1973); a
/// host reading seconds sees an expiry about 3 000 years away. Acquire reports a malformed item
/// (never `Held` until the year 5000), and the message suggests the unit.
#[test]
fn a_milliseconds_value_read_as_seconds_is_beyond_the_horizon() {
    let now = at(100_000_000);
    let written_in_ms = 100_000_030_000;
    let planner = Planner::new(seconds());
    let err = planner
        .acquire(key(), Duration::from_secs(30), now, LeaseToken::new("tok"))
        .unwrap()
        .interpret(Ok(StoreResponse::ConditionFailed {
            old_item: Some(lease_item(written_in_ms)),
        }))
        .unwrap_err();
    let LeaseError::MalformedItem { key: k, error } = &err else {
        panic!("expected MalformedItem, got {err:?}")
    };
    assert_eq!(*k, key());
    assert_eq!(
        *error,
        DecodeError::ExpiryBeyondHorizon {
            attribute: "lease_expires_at".into(),
            value: written_in_ms,
            unit: "seconds",
        }
    );
    let text = err.report().to_string();
    assert!(text.contains("100000030000"), "{text}");
    assert!(text.contains("is it in seconds?"), "{text}");

    // Inspect reads the same item the same way.
    let err = planner
        .inspect(key())
        .unwrap()
        .interpret(
            Ok(StoreResponse::Item(Some(lease_item(written_in_ms)))),
            now,
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            LeaseError::MalformedItem {
                error: DecodeError::ExpiryBeyondHorizon { .. },
                ..
            }
        ),
        "{err:?}"
    );
}

/// The same mistake today: a milliseconds expiry (about 1.7e12) read as seconds is past the
/// last representable `SystemTime` (year 9999 without `time`'s `large-dates`), so decoding
/// stops at `InvalidNumber` ("not a whole number in range") and the diagnosis that names the
/// unit, `ExpiryBeyondHorizon`, is never given for it.
#[test]
fn a_present_day_milliseconds_value_read_as_seconds_is_beyond_the_horizon() {
    let now = at(1_700_000_000);
    let written_in_ms = 1_700_000_030_000;
    assert_eq!(
        HolderRecord::decode(&lease_item(written_in_ms), &seconds(), now),
        Err(DecodeError::ExpiryBeyondHorizon {
            attribute: "lease_expires_at".into(),
            value: written_in_ms,
            unit: "seconds",
        })
    );
}

/// A lease of the longest allowed duration, as this crate writes it, must read back as held by
/// a reader at the same instant and by one whose clock is behind within the skew bound. The
/// horizon (`now + MAX_LEASE_DURATION`) allows neither the expiry's rounding up to the unit nor
/// the clock skew bound.
#[test]
fn the_longest_lease_written_here_reads_back_as_held() {
    let planner = Planner::new(seconds());
    for (written_at, read_at) in [
        // Same instant, a fractional second: the expiry is rounded up by half a second.
        (at_nanos(1_000_500_000_000), at_nanos(1_000_500_000_000)),
        // Whole seconds; the reader's clock is half a second behind (the bound is 1 s).
        (at(1000), at_nanos(999_500_000_000)),
    ] {
        let plan = planner
            .acquire(
                key(),
                MAX_LEASE_DURATION,
                written_at,
                LeaseToken::new("theirs"),
            )
            .unwrap();
        let AttributeValue::N(exp) = plan.request().render().values[":exp"].clone() else {
            panic!("the expiry is a number")
        };
        let item = lease_item(exp.parse().unwrap());
        let snapshot = planner
            .inspect(key())
            .unwrap()
            .interpret(Ok(StoreResponse::Item(Some(item))), read_at);
        assert!(
            matches!(&snapshot, Ok(s) if matches!(s.state, StoredState::Held(_))),
            "written at {written_at:?}, read at {read_at:?}: {snapshot:?}"
        );
    }
}
