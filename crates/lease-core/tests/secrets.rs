//! The bearer token is a secret: whoever knows it can refresh and release the lease. Values a
//! caller is likely to log (`{:?}` or `{}`) must show its fingerprint only.

// Test helpers panic on unexpected input on purpose: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use lease_core::{
    AcquirePlan, AttributeValue, Item, Lease, LeaseConfig, LeaseKey, LeaseToken, Planner,
    StoreResponse,
};
use std::time::SystemTime;

const SECRET: &str = "0b7e3c1a-secret-token-value";
const THEIRS: &str = "9f2d4e6b-their-secret-token";

fn planner() -> Planner {
    Planner::new(LeaseConfig::builder("tbl").build().unwrap())
}

fn now() -> SystemTime {
    lease_core::wire_time::from_epoch_seconds(1000).unwrap()
}

fn lease() -> Lease {
    Lease::new(
        LeaseKey::new("CACHE#A", "LOCK"),
        LeaseToken::new(SECRET),
        lease_core::FencingToken::new(1),
        now(),
    )
}

/// The plan of an acquire of `CACHE#A` with the token [`SECRET`].
fn acquire_secret(p: &Planner) -> AcquirePlan<'_> {
    p.acquire(
        LeaseKey::new("CACHE#A", "LOCK"),
        Duration::from_secs(30),
        now(),
        LeaseToken::new(SECRET),
    )
    .unwrap()
}

fn assert_hidden(shown: &str, secret: &str) {
    assert!(!shown.contains(secret), "the token leaked: {shown}");
}

#[test]
fn leases_and_tokens_show_the_fingerprint_only() {
    let lease = lease();
    let fingerprint = LeaseToken::new(SECRET).fingerprint().to_string();
    let shown = format!("{lease:?} {:?} {}", lease.token(), lease.token());
    assert_hidden(&shown, SECRET);
    assert!(shown.contains(&fingerprint), "{shown}");
}

#[test]
fn a_held_error_shows_the_holders_fingerprint_only() {
    let p = planner();
    let old_item = Item::from([
        ("pk".into(), AttributeValue::string("CACHE#A")),
        ("sk".into(), AttributeValue::string("LOCK")),
        ("lease_token".into(), AttributeValue::string(THEIRS)),
        ("lease_expires_at".into(), AttributeValue::number(1030)),
    ]);
    let err = p
        .acquire(
            LeaseKey::new("CACHE#A", "LOCK"),
            Duration::from_secs(30),
            now(),
            LeaseToken::new(SECRET),
        )
        .unwrap()
        .interpret(Ok(StoreResponse::ConditionFailed {
            old_item: Some(old_item),
        }))
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert_hidden(&shown, THEIRS);
    assert_hidden(&shown, SECRET);
}

#[test]
fn errors_of_refresh_and_release_never_show_the_token() {
    let p = planner();
    let lease = lease();
    let not_owned = p
        .refresh(&lease, Duration::from_secs(30), now())
        .unwrap()
        .interpret(Ok(StoreResponse::ConditionFailed { old_item: None }))
        .unwrap_err();
    assert_hidden(&format!("{not_owned} {not_owned:?}"), SECRET);
    let unexpected = p
        .release(&lease, now())
        .unwrap()
        .interpret(Ok(StoreResponse::Item(None)))
        .unwrap_err();
    assert_hidden(&format!("{unexpected} {unexpected:?}"), SECRET);
}

/// The plans hold requests whose `:tok` value carries the raw token; their `Debug` must not
/// print it (a `debug!(?plan)` would leak the secret).
#[test]
fn plans_never_show_the_token_in_debug() {
    let p = planner();
    let lease = lease();
    let acquire = acquire_secret(&p);
    let refresh = p.refresh(&lease, Duration::from_secs(30), now()).unwrap();
    let release = p.release(&lease, now()).unwrap();
    for (name, shown) in [
        ("AcquirePlan", format!("{acquire:?}")),
        ("RefreshPlan", format!("{refresh:?}")),
        ("ReleasePlan", format!("{release:?}")),
    ] {
        assert_hidden(&shown, SECRET);
        // What it does show: its name and the key.
        assert!(shown.starts_with(name), "{shown}");
        assert!(shown.contains("CACHE#A"), "no key in {shown}");
    }
}

/// Requests and their rendered form can be logged: the token shows as its fingerprint.
#[test]
fn requests_and_rendered_requests_show_the_fingerprint_only() {
    let p = planner();
    let lease = lease();
    let fingerprint = LeaseToken::new(SECRET).fingerprint().to_string();
    let acquire = acquire_secret(&p);
    let refresh = p.refresh(&lease, Duration::from_secs(30), now()).unwrap();
    let release = p.release(&lease, now()).unwrap();
    for request in [acquire.request(), refresh.request(), release.request()] {
        for shown in [format!("{request:?}"), format!("{:?}", request.render())] {
            assert_hidden(&shown, SECRET);
            assert!(shown.contains(&fingerprint), "no fingerprint in {shown}");
            assert!(
                shown.contains("lease_token"),
                "the token attribute is named: {shown}"
            );
        }
    }
    // A transaction that commits writes and releases the lease.
    let commit = p.commit_and_release(&lease, now(), Vec::new()).unwrap();
    let shown = format!("{:?}", commit.request());
    assert_hidden(&shown, SECRET);
    assert!(shown.contains(&fingerprint), "no fingerprint in {shown}");
    let item = p.release_in_transaction(&lease, now()).unwrap();
    assert_hidden(&format!("{item:?}"), SECRET);
    // Other values are shown as they are.
    assert!(format!("{:?}", acquire.request()).contains("CACHE#A"));
}

/// A snapshot from `inspect` describes another holder's lease; it must not carry its token.
#[test]
fn a_snapshot_shows_the_holders_fingerprint_only() {
    let p = planner();
    let item = Item::from([
        ("pk".into(), AttributeValue::string("CACHE#A")),
        ("sk".into(), AttributeValue::string("LOCK")),
        ("lease_token".into(), AttributeValue::string(THEIRS)),
        ("lease_expires_at".into(), AttributeValue::number(1030)),
        ("lease_fence".into(), AttributeValue::number(5)),
    ]);
    let snapshot = p
        .inspect(LeaseKey::new("CACHE#A", "LOCK"))
        .unwrap()
        .interpret(Ok(StoreResponse::Item(Some(item))), now())
        .unwrap();
    let shown = format!("{snapshot:?}");
    assert_hidden(&shown, THEIRS);
    let fingerprint = LeaseToken::new(THEIRS).fingerprint().to_string();
    assert!(shown.contains(&fingerprint), "{shown}");
}
