//! Custom attribute names never reach expression text: they live in `ExpressionAttributeNames`
//! only, so a name such as `a) OR (b` cannot change what a condition means.

// Test helpers panic on unexpected input on purpose: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use lease_core::{Lease, LeaseConfig, LeaseKey, LeaseToken, Planner, Rendered, Request};
use std::time::SystemTime;

/// Names built from expression syntax, each one trying to rewrite a condition if it were spliced.
const PARTITION: &str = "a) OR (b";
const SORT: &str = "sk) OR attribute_exists(#x";
const TOKEN: &str = "#tok = :tok OR #exp";
const EXPIRES: &str = ":now) OR (1 = 1";
const TTL: &str = "ttl, #pk = :now";
const FENCE: &str = "f, :floor) + :one, #tok = if_not_exists(#tok";
const HOSTILE: [&str; 6] = [PARTITION, SORT, TOKEN, EXPIRES, TTL, FENCE];

fn hostile() -> Planner {
    Planner::new(
        LeaseConfig::builder("tbl")
            .key_attribute_names(PARTITION, SORT)
            .lease_attribute_names(TOKEN, EXPIRES, TTL)
            .fence_attribute_name(FENCE)
            .build()
            .unwrap(),
    )
}

fn plain() -> Planner {
    Planner::new(LeaseConfig::builder("tbl").build().unwrap())
}

fn now() -> SystemTime {
    lease_core::wire_time::from_epoch_seconds(1000).unwrap()
}

fn lease() -> Lease {
    Lease::new(
        LeaseKey::new("CACHE#A", "LOCK"),
        LeaseToken::new("tok"),
        lease_core::FencingToken::new(1),
        now(),
    )
}

fn acquire(planner: &Planner) -> Request {
    planner
        .acquire(
            LeaseKey::new("CACHE#A", "LOCK"),
            Duration::from_secs(30),
            now(),
            LeaseToken::new("tok"),
        )
        .unwrap()
        .request()
        .clone()
}

fn refresh(planner: &Planner) -> Request {
    planner
        .refresh(&lease(), Duration::from_secs(30), now())
        .unwrap()
        .request()
        .clone()
}

fn release(planner: &Planner) -> Request {
    planner.release(&lease(), now()).unwrap().request().clone()
}

/// The expression text of `hostile` is the text of `plain`, no hostile name is in it, and every
/// name it references maps to a hostile name.
fn assert_names_only_in_the_map(hostile: &Rendered, plain: &Rendered) {
    assert_eq!(hostile.condition, plain.condition);
    assert_eq!(hostile.update, plain.update);
    assert_eq!(hostile.values, plain.values);
    let text = format!(
        "{} {}",
        hostile.condition.as_deref().unwrap_or_default(),
        hostile.update.as_deref().unwrap_or_default()
    );
    for name in HOSTILE {
        assert!(!text.contains(name), "{name:?} leaked into {text:?}");
    }
    assert_eq!(hostile.names.len(), plain.names.len());
    for (placeholder, name) in &hostile.names {
        assert!(
            HOSTILE.contains(&name.as_str()),
            "{placeholder} -> {name:?}"
        );
        assert!(text.contains(placeholder.as_str()), "{placeholder} unused");
    }
}

#[test]
fn acquire_keeps_hostile_names_in_the_name_map() {
    let request = acquire(&hostile());
    let rendered = request.render();
    assert_names_only_in_the_map(&rendered, &acquire(&plain()).render());
    assert_eq!(
        rendered.names.get("#pk").map(String::as_str),
        Some(PARTITION)
    );
    assert_eq!(
        rendered.names.get("#exp").map(String::as_str),
        Some(EXPIRES)
    );
    assert_eq!(rendered.names.get("#tok").map(String::as_str), Some(TOKEN));
    assert_eq!(
        rendered.names.get("#fence").map(String::as_str),
        Some(FENCE)
    );
    assert_eq!(rendered.names.get("#ttl").map(String::as_str), Some(TTL));
    // The key is keyed by the real (hostile) names; with the name map it covers every one.
    let Request::Update(update) = &request else {
        panic!("expected an update: {request:?}")
    };
    let keys: Vec<&str> = update.key.keys().map(lease_core::Text::as_str).collect();
    let mut expected_keys = vec![PARTITION, SORT];
    expected_keys.sort_unstable();
    assert_eq!(keys, expected_keys);
    let mut all: Vec<&str> = keys
        .into_iter()
        .chain(rendered.names.values().map(String::as_str))
        .collect();
    all.sort_unstable();
    all.dedup(); // the partition key is in both
    let mut expected = HOSTILE.to_vec();
    expected.sort_unstable();
    assert_eq!(all, expected);
}

#[test]
fn refresh_keeps_hostile_names_in_the_name_map() {
    let request = refresh(&hostile());
    let rendered = request.render();
    assert_names_only_in_the_map(&rendered, &refresh(&plain()).render());
    assert_eq!(rendered.names.get("#tok").map(String::as_str), Some(TOKEN));
    assert_eq!(
        rendered.names.get("#exp").map(String::as_str),
        Some(EXPIRES)
    );
    assert_eq!(rendered.names.get("#ttl").map(String::as_str), Some(TTL));
    let Request::Update(update) = &request else {
        panic!("expected an update: {request:?}")
    };
    assert!(update.key.contains_key(PARTITION) && update.key.contains_key(SORT));
}

#[test]
fn release_keeps_hostile_names_in_the_name_map() {
    let request = release(&hostile());
    let rendered = request.render();
    assert_names_only_in_the_map(&rendered, &release(&plain()).render());
    assert_eq!(rendered.names.get("#tok").map(String::as_str), Some(TOKEN));
    assert_eq!(
        rendered.names.get("#exp").map(String::as_str),
        Some(EXPIRES)
    );
    assert_eq!(rendered.names.get("#ttl").map(String::as_str), Some(TTL));
    let Request::Update(update) = &request else {
        panic!("expected an update: {request:?}")
    };
    assert!(update.key.contains_key(PARTITION) && update.key.contains_key(SORT));
}

#[test]
fn hostile_key_and_token_values_stay_in_the_value_map() {
    let planner = plain();
    let token = "tok') OR ('1' = '1";
    let plan = planner
        .acquire(
            LeaseKey::new(PARTITION, SORT),
            Duration::from_secs(30),
            now(),
            LeaseToken::new(token),
        )
        .unwrap();
    let pending = plan.lease();
    let lease = Lease::new(
        pending.key().clone(),
        pending.token().clone(),
        lease_core::FencingToken::new(1),
        pending.expires_at(),
    );
    for request in [
        plan.request().clone(),
        planner
            .refresh(&lease, Duration::from_secs(30), now())
            .unwrap()
            .request()
            .clone(),
        planner.release(&lease, now()).unwrap().request().clone(),
    ] {
        let rendered = request.render();
        let text = format!(
            "{} {}",
            rendered.condition.as_deref().unwrap_or_default(),
            rendered.update.as_deref().unwrap_or_default()
        );
        for secret in [token, PARTITION, SORT] {
            assert!(!text.contains(secret), "{secret:?} leaked into {text}");
        }
    }
}
