//! The clock skew bound: a lease must be longer than it (`DurationNotAboveSkew`), and the
//! holder's local safe deadline is `send instant + duration − bound`
//! (`Lease::valid_until`), on the monotonic clock.

// Tests need `Instant` values, and only `Instant::now` makes one; the library never reads a clock.
#![allow(clippy::disallowed_methods)]
// Test helpers panic on unexpected input on purpose: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use lease_core::{
    AttributeValue, InvalidInput, Item, Lease, LeaseConfig, LeaseError, LeaseKey, LeaseToken, Now,
    Operation, Planner, StoreResponse,
};
use std::time::SystemTime;

fn at(secs: i64) -> SystemTime {
    lease_core::wire_time::from_epoch_seconds(secs).unwrap()
}

fn key() -> LeaseKey {
    LeaseKey::new("CACHE#A", "LOCK")
}

/// A planner with this skew bound (and TTL off: a one-hour bound needs a three-hour buffer).
fn planner_with_skew(skew: Duration) -> Planner {
    Planner::new(
        LeaseConfig::builder("tbl")
            .max_clock_skew(skew)
            .include_ttl(false)
            .build()
            .unwrap(),
    )
}

fn default_planner() -> Planner {
    Planner::new(LeaseConfig::builder("tbl").build().unwrap())
}

fn lease_without_deadline() -> Lease {
    Lease::new(
        key(),
        LeaseToken::new("tok"),
        lease_core::FencingToken::new(1),
        at(1030),
    )
}

/// The reasons acquire and refresh give for `duration` (`None`: planned).
fn reasons(planner: &Planner, duration: Duration) -> [Option<InvalidInput>; 2] {
    let acquire = planner
        .acquire(key(), duration, at(1000), LeaseToken::new("tok"))
        .map(drop);
    let refresh = planner
        .refresh(&lease_without_deadline(), duration, at(1000))
        .map(drop);
    [
        reason(Operation::Acquire, acquire),
        reason(Operation::Refresh, refresh),
    ]
}

fn reason(op: Operation, result: Result<(), LeaseError>) -> Option<InvalidInput> {
    match result {
        Ok(()) => None,
        Err(LeaseError::InvalidInput {
            operation,
            key: k,
            reason,
        }) => {
            assert_eq!(operation, op);
            assert_eq!(k, key());
            Some(reason)
        }
        Err(other) => panic!("unexpected error {other:?}"),
    }
}

fn not_above(duration: Duration, skew: Duration) -> [Option<InvalidInput>; 2] {
    let reason = Some(InvalidInput::DurationNotAboveSkew {
        duration,
        max_clock_skew: skew,
    });
    [reason.clone(), reason]
}

#[test]
fn a_lease_no_longer_than_the_default_bound_is_rejected() {
    let p = default_planner();
    let one = Duration::from_secs(1);
    assert_eq!(reasons(&p, one), not_above(one, one));
    let below = Duration::from_millis(500);
    assert_eq!(reasons(&p, below), not_above(below, one));
    assert_eq!(reasons(&p, one + Duration::from_nanos(1)), [None, None]);
}

#[test]
fn the_boundary_follows_the_configured_bound() {
    for skew in [
        Duration::from_nanos(1),
        Duration::from_millis(100),
        Duration::from_secs(5),
        Duration::from_secs(3600),
    ] {
        let p = planner_with_skew(skew);
        assert_eq!(reasons(&p, skew), not_above(skew, skew), "{skew:?}");
        assert_eq!(
            reasons(&p, skew + Duration::from_nanos(1)),
            [None, None],
            "{skew:?}"
        );
    }
}

#[test]
fn a_zero_bound_accepts_any_positive_duration() {
    let p = planner_with_skew(Duration::ZERO);
    assert_eq!(reasons(&p, Duration::from_nanos(1)), [None, None]);
    // Zero is still zero.
    assert_eq!(
        reasons(&p, Duration::ZERO),
        [
            Some(InvalidInput::ZeroDuration),
            Some(InvalidInput::ZeroDuration)
        ]
    );
}

#[test]
fn the_message_names_both_durations() {
    let err = default_planner()
        .acquire(
            key(),
            Duration::from_millis(800),
            at(1000),
            LeaseToken::new("tok"),
        )
        .unwrap_err();
    let text = err.report().to_string();
    assert!(text.contains("800ms"), "{text}");
    assert!(text.contains("1s"), "{text}");
    assert!(text.contains("clock skew"), "{text}");
}

/// An acquire answer with a fencing token.
fn applied_new() -> Result<StoreResponse, lease_core::StoreError> {
    Ok(StoreResponse::Applied {
        attributes: Some(Item::from([(
            "lease_fence".into(),
            AttributeValue::number(1),
        )])),
    })
}

#[test]
fn valid_until_is_the_send_instant_plus_the_duration_minus_the_bound() {
    let sent = Instant::now();
    let now = Now::new(at(1000), sent);
    let p = default_planner();
    let plan = p
        .acquire(key(), Duration::from_secs(30), now, LeaseToken::new("tok"))
        .unwrap();
    let expected = sent + Duration::from_secs(29);
    assert_eq!(plan.lease().valid_until(), Some(expected));
    let lease = plan.interpret(applied_new()).unwrap();
    assert_eq!(lease.valid_until(), Some(expected));
    let just_before = expected - Duration::from_nanos(1);
    assert!(lease.is_valid_at(Now::new(at(1028), just_before)));
    assert!(!lease.is_valid_at(Now::new(at(1028), expected)));

    // A refresh moves the deadline to its own send instant; the stored expiry follows the wall
    // clock, independently.
    let later = sent + Duration::from_secs(20);
    let refreshed = p
        .refresh(&lease, Duration::from_secs(60), Now::new(at(1020), later))
        .unwrap()
        .interpret(Ok(StoreResponse::Applied { attributes: None }))
        .unwrap();
    assert_eq!(
        refreshed.valid_until(),
        Some(later + Duration::from_secs(59))
    );
    assert_eq!(refreshed.expires_at_epoch_seconds(), 1080);
}

#[test]
fn the_deadline_does_not_round_like_the_stored_expiry() {
    // 1.5 s from 1000.7 s is stored as 1003 (rounded up), but the local deadline is exact.
    let sent = Instant::now();
    let p = planner_with_skew(Duration::from_millis(100));
    let wall = lease_core::wire_time::from_epoch_nanos(1_000_700_000_000).unwrap();
    let plan = p
        .acquire(
            key(),
            Duration::from_millis(1500),
            Now::new(wall, sent),
            LeaseToken::new("tok"),
        )
        .unwrap();
    assert_eq!(plan.lease().expires_at_epoch_seconds(), 1003);
    assert_eq!(
        plan.lease().valid_until(),
        Some(sent + Duration::from_millis(1400))
    );
}

#[test]
fn a_zero_bound_gives_the_whole_duration() {
    let sent = Instant::now();
    let p = planner_with_skew(Duration::ZERO);
    let plan = p
        .acquire(
            key(),
            Duration::from_secs(30),
            Now::new(at(1000), sent),
            LeaseToken::new("tok"),
        )
        .unwrap();
    assert_eq!(
        plan.lease().valid_until(),
        Some(sent + Duration::from_secs(30))
    );
}

#[test]
fn without_a_monotonic_reading_there_is_no_deadline() {
    let p = default_planner();
    let plan = p
        .acquire(
            key(),
            Duration::from_secs(30),
            at(1000),
            LeaseToken::new("tok"),
        )
        .unwrap();
    let lease = plan.interpret(applied_new()).unwrap();
    assert_eq!(lease.valid_until(), None);
    assert!(
        !lease.is_valid_at(Now::new(at(1000), Instant::now())),
        "unknown is not valid"
    );
    assert_eq!(lease_without_deadline().valid_until(), None);

    // A lease made from parts gets a deadline once refreshed with one.
    let sent = Instant::now();
    let refreshed = p
        .refresh(
            &lease_without_deadline(),
            Duration::from_secs(30),
            Now::new(at(1000), sent),
        )
        .unwrap()
        .interpret(Ok(StoreResponse::Applied { attributes: None }))
        .unwrap();
    assert_eq!(
        refreshed.valid_until(),
        Some(sent + Duration::from_secs(29))
    );
}
