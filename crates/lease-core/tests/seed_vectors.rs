//! TableTheory's interop vectors (seed-spec §7: G1–G10, D1, X1–X3, GI) checked on the planner.
//!
//! Everything here is request data: no store, no runtime. Where the seed's Go placeholders differ
//! (`#lease_expires_at`, `:token`) we use the TS/Py ones (`#exp`, `:tok`); the item attribute
//! names, values and expression shapes are the same in every port.

// Test helpers panic on unexpected input on purpose: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use lease_core::{
    AttributeValue, ConfigError, DeleteRequest, InvalidInput, Item, Lease, LeaseConfig,
    LeaseConfigBuilder, LeaseError, LeaseKey, LeaseToken, OnConditionFailure, Operation, Planner,
    PutRequest, ReleaseOutcome, Rendered, Request, ReturnValues, StoreResponse, UpdateRequest,
};
use time::OffsetDateTime;

// ----------------------------------------------------------------------------------------------
// Helpers

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap()
}

fn at_millis(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap()
}

fn planner(builder: LeaseConfigBuilder) -> Planner {
    Planner::new(builder.build().unwrap())
}

/// "tbl" with the TTL buffer of 10 s the seed's G1/G3/GI managers use.
fn tbl_buffer_10s() -> Planner {
    planner(LeaseConfig::builder("tbl").ttl_buffer(Duration::from_secs(10)))
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::string(v)
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::number(v)
}

fn item(entries: &[(&str, AttributeValue)]) -> Item {
    entries
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn names(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
    entries
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn put(request: &Request) -> &PutRequest {
    match request {
        Request::Put(put) => put,
        other => panic!("expected a PutItem, got {other:?}"),
    }
}

fn update(request: &Request) -> &UpdateRequest {
    match request {
        Request::Update(update) => update,
        other => panic!("expected an UpdateItem, got {other:?}"),
    }
}

fn delete(request: &Request) -> &DeleteRequest {
    match request {
        Request::Delete(delete) => delete,
        other => panic!("expected a DeleteItem, got {other:?}"),
    }
}

fn applied() -> Result<StoreResponse, lease_core::StoreError> {
    Ok(StoreResponse::Applied { attributes: None })
}

fn condition_failed() -> Result<StoreResponse, lease_core::StoreError> {
    Ok(StoreResponse::ConditionFailed { old_item: None })
}

fn cache_a() -> LeaseKey {
    LeaseKey::new("CACHE#A", "LOCK")
}

fn lease(token: &str) -> Lease {
    // The seed passes ExpiresAt 0: refresh and release ignore the stored expiry.
    Lease::new(cache_a(), LeaseToken::new(token), at(0))
}

const ACQUIRE_CONDITION: &str = "attribute_not_exists(#pk) OR #exp <= :now";

// ----------------------------------------------------------------------------------------------
// G1–G10

#[test]
fn g1_acquire_builds_the_conditional_put() {
    let planner = tbl_buffer_10s();
    let key = planner.lock_key("CACHE#A");
    let plan = planner
        .acquire(
            key,
            Duration::from_secs(30),
            at(1000),
            LeaseToken::new("tok"),
        )
        .unwrap();

    let request = put(plan.request());
    assert_eq!(request.table_name, "tbl");
    assert_eq!(
        request.item,
        item(&[
            ("pk", s("CACHE#A")),
            ("sk", s("LOCK")),
            ("lease_token", s("tok")),
            ("lease_expires_at", n(1030)),
            ("ttl", n(1040)),
        ])
    );
    // Our deviation: ask for the old item on condition failure so "held" can name the holder.
    assert_eq!(
        request.on_condition_failure,
        OnConditionFailure::ReturnOldItem
    );

    let rendered = plan.request().render();
    assert_eq!(
        rendered,
        Rendered {
            condition: Some(ACQUIRE_CONDITION.to_owned()),
            update: None,
            names: names(&[("#pk", "pk"), ("#exp", "lease_expires_at")]),
            values: BTreeMap::from([(":now".to_owned(), n(1000))]),
        }
    );

    assert_eq!(plan.lease().expires_at_epoch_seconds(), 1030);
    let lease = plan.interpret(applied()).unwrap();
    assert_eq!(lease.key(), &LeaseKey::new("CACHE#A", "LOCK"));
    assert_eq!(lease.token().expose_secret(), "tok");
    assert_eq!(lease.expires_at_epoch_seconds(), 1030);
    assert_eq!(lease.expires_at(), at(1030));
}

#[test]
fn g2_acquire_condition_failure_is_held() {
    let planner = planner(LeaseConfig::builder("tbl"));
    let plan = planner
        .acquire(
            cache_a(),
            Duration::from_secs(30),
            at(1000),
            LeaseToken::new("tok"),
        )
        .unwrap();
    let err = plan.interpret(condition_failed()).unwrap_err();
    assert!(err.is_held(), "{err:?}");
    assert!(!err.is_not_owned());
    assert!(matches!(err, LeaseError::Held { ref key, .. } if *key == cache_a()));
}

#[test]
fn g3_refresh_is_conditioned_on_token_and_not_expired() {
    let planner = tbl_buffer_10s();
    let plan = planner
        .refresh(&lease("tok"), Duration::from_secs(60), at(1000))
        .unwrap();

    let request = update(plan.request());
    assert_eq!(request.table_name, "tbl");
    assert_eq!(
        request.key,
        item(&[("pk", s("CACHE#A")), ("sk", s("LOCK"))])
    );
    assert_eq!(request.return_values, ReturnValues::None);
    assert_eq!(
        request.on_condition_failure,
        OnConditionFailure::ReturnNothing
    );

    assert_eq!(
        plan.request().render(),
        Rendered {
            condition: Some("#tok = :tok AND #exp > :now".to_owned()),
            update: Some("SET #exp = :exp, #ttl = :ttl".to_owned()),
            names: names(&[
                ("#tok", "lease_token"),
                ("#exp", "lease_expires_at"),
                ("#ttl", "ttl"),
            ]),
            values: BTreeMap::from([
                (":tok".to_owned(), s("tok")),
                (":now".to_owned(), n(1000)),
                (":exp".to_owned(), n(1060)),
                (":ttl".to_owned(), n(1070)),
            ]),
        }
    );

    let refreshed = plan.interpret(applied()).unwrap();
    assert_eq!(refreshed.expires_at_epoch_seconds(), 1060);
    assert_eq!(refreshed.key(), &cache_a());
    assert_eq!(refreshed.token().expose_secret(), "tok");
}

/// The seed (all three ports) swallows a failed release condition and reports success. That hides
/// "the lease was taken over" (seed-spec W3), so we deviate on purpose: the request is the same,
/// but the outcome says `NotHeld` (still not an error).
#[test]
fn g4_release_condition_failure_is_not_held_not_an_error() {
    let planner = planner(LeaseConfig::builder("tbl"));
    let plan = planner.release(&lease("tok")).unwrap();

    let request = delete(plan.request());
    assert_eq!(request.table_name, "tbl");
    assert_eq!(
        request.key,
        item(&[("pk", s("CACHE#A")), ("sk", s("LOCK"))])
    );
    assert_eq!(
        plan.request().render(),
        Rendered {
            condition: Some("#tok = :tok".to_owned()),
            update: None,
            names: names(&[("#tok", "lease_token")]),
            values: BTreeMap::from([(":tok".to_owned(), s("tok"))]),
        }
    );

    assert_eq!(
        plan.interpret(condition_failed()).unwrap(),
        ReleaseOutcome::NotHeld
    );
    let plan = planner.release(&lease("tok")).unwrap();
    assert_eq!(plan.interpret(applied()).unwrap(), ReleaseOutcome::Released);
}

/// Go's `NewManager(nil, "tbl")` has no counterpart: the core takes no client.
#[test]
fn g5_empty_table_name_is_a_config_error() {
    let err = LeaseConfig::builder("").build().unwrap_err();
    assert_eq!(
        err,
        ConfigError::InvalidTableName {
            name: String::new()
        }
    );
}

#[test]
fn g6_custom_options_rename_attributes_and_drop_ttl() {
    let planner = planner(
        LeaseConfig::builder("tbl")
            .lock_sort_key("CUSTOM")
            .key_attribute_names("partition", "sort")
            .lease_attribute_names("token", "expires_at", "expires_ttl")
            .include_ttl(false),
    );
    let key = planner.lock_key("CACHE#A");
    assert_eq!(key, LeaseKey::new("CACHE#A", "CUSTOM"));
    let plan = planner
        .acquire(
            key,
            Duration::from_secs(30),
            at(1000),
            LeaseToken::new("tok"),
        )
        .unwrap();

    let request = put(plan.request());
    assert_eq!(
        request.item,
        item(&[
            ("partition", s("CACHE#A")),
            ("sort", s("CUSTOM")),
            ("token", s("tok")),
            ("expires_at", n(1030)),
        ])
    );
    assert!(!request.item.contains_key("expires_ttl"));
    let rendered = plan.request().render();
    assert_eq!(rendered.condition.as_deref(), Some(ACQUIRE_CONDITION));
    assert_eq!(
        rendered.names,
        names(&[("#pk", "partition"), ("#exp", "expires_at")])
    );
    assert_eq!(
        rendered.values,
        BTreeMap::from([(":now".to_owned(), n(1000))])
    );

    let lease = plan.interpret(applied()).unwrap();
    assert_eq!(lease.key().sort(), "CUSTOM");
    assert_eq!(lease.expires_at_epoch_seconds(), 1030);

    // The same options on refresh: no TTL action, no `#ttl` name, no `:ttl` value.
    let refresh = planner
        .refresh(&lease, Duration::from_secs(30), at(1000))
        .unwrap();
    let rendered = refresh.request().render();
    assert_eq!(rendered.update.as_deref(), Some("SET #exp = :exp"));
    assert_eq!(
        rendered.names,
        names(&[("#tok", "token"), ("#exp", "expires_at")])
    );
    assert!(!rendered.values.contains_key(":ttl"));
    assert_eq!(
        update(refresh.request()).key,
        item(&[("partition", s("CACHE#A")), ("sort", s("CUSTOM"))])
    );
}

#[test]
fn g7_validation_toggle_governs_zero_duration() {
    let strict = planner(LeaseConfig::builder("tbl"));
    let err = strict
        .acquire(
            LeaseKey::new("A", "B"),
            Duration::ZERO,
            at(1000),
            LeaseToken::new("tok"),
        )
        .unwrap_err();
    assert!(err.is_invalid_input());
    assert!(matches!(
        err,
        LeaseError::InvalidInput {
            operation: Operation::Acquire,
            reason: InvalidInput::ZeroDuration,
            ..
        }
    ));
    assert_eq!(err.key(), &LeaseKey::new("A", "B"));

    let lax = planner(LeaseConfig::builder("tbl").validate_input(false));
    let plan = lax
        .acquire(cache_a(), Duration::ZERO, at(1000), LeaseToken::new("tok"))
        .unwrap();
    assert_eq!(
        put(plan.request()).item.get("lease_expires_at"),
        Some(&n(1000))
    );
    assert_eq!(
        plan.interpret(applied())
            .unwrap()
            .expires_at_epoch_seconds(),
        1000
    );
}

#[test]
fn g8_predicates_and_messages_name_the_key() {
    let planner = planner(LeaseConfig::builder("tbl"));
    let held = planner
        .acquire(
            cache_a(),
            Duration::from_secs(30),
            at(1000),
            LeaseToken::new("tok"),
        )
        .unwrap()
        .interpret(condition_failed())
        .unwrap_err();
    let not_owned = planner
        .refresh(&lease("tok"), Duration::from_secs(30), at(1000))
        .unwrap()
        .interpret(condition_failed())
        .unwrap_err();

    assert!(held.is_held() && !held.is_not_owned() && !held.is_invalid_input());
    assert!(not_owned.is_not_owned() && !not_owned.is_held() && !not_owned.is_invalid_input());

    let held_text = held.to_string();
    assert!(held_text.contains("CACHE#A/LOCK"), "{held_text}");
    assert!(held_text.contains("held"), "{held_text}");
    let not_owned_text = not_owned.to_string();
    assert!(not_owned_text.contains("CACHE#A/LOCK"), "{not_owned_text}");
    assert!(not_owned_text.contains("not owned"), "{not_owned_text}");
}

#[test]
fn g9_refresh_condition_failure_is_not_owned() {
    let planner = planner(LeaseConfig::builder("tbl"));
    let err = planner
        .refresh(&lease("tok"), Duration::from_secs(30), at(1000))
        .unwrap()
        .interpret(condition_failed())
        .unwrap_err();
    assert!(err.is_not_owned(), "{err:?}");
    assert!(matches!(err, LeaseError::NotOwned { ref key } if *key == cache_a()));
}

#[test]
fn g10_release_with_an_empty_token_is_rejected_before_any_request() {
    let strict = planner(LeaseConfig::builder("tbl"));
    let err = strict.release(&lease("")).unwrap_err();
    assert!(matches!(
        err,
        LeaseError::InvalidInput {
            operation: Operation::Release,
            reason: InvalidInput::EmptyToken,
            ..
        }
    ));

    // Go skips the check with validation off; so do we.
    let lax = planner(LeaseConfig::builder("tbl").validate_input(false));
    let plan = lax.release(&lease("")).unwrap();
    assert_eq!(
        plan.request().render().values.get(":tok"),
        Some(&s("")),
        "the empty token is sent as given"
    );
}

// ----------------------------------------------------------------------------------------------
// Derived vectors

#[test]
fn d1_default_buffer_is_one_hour() {
    let planner = planner(LeaseConfig::builder("tbl"));
    let plan = planner
        .acquire(
            cache_a(),
            Duration::from_secs(30),
            at(1000),
            LeaseToken::new("tok"),
        )
        .unwrap();
    let item = &put(plan.request()).item;
    assert_eq!(item.get("lease_expires_at"), Some(&n(1030)));
    assert_eq!(item.get("ttl"), Some(&n(4630)));
}

/// X1: now 1000.7 s, 1.5 s, so the lease should last until 1002.2. The ports disagree: Go floors
/// `now + d` (1002, 0.2 s short), TS adds `ceil(d)` to a floored now (1002, 0.2 s short), Py
/// truncates both (1001, 1.2 s short). A contender may take the lease from second `exp` on, so a
/// rounded-down expiry hands it over before the holder's time is up. We round the exact sum
/// **up** (1003): never shorter than asked; the cost, under a second of extra hold, is safe.
#[test]
fn x1_expiry_is_rounded_up() {
    let planner = tbl_buffer_10s();
    let plan = planner
        .acquire(
            cache_a(),
            Duration::from_millis(1500),
            at_millis(1_000_700),
            LeaseToken::new("tok"),
        )
        .unwrap();
    let item = &put(plan.request()).item;
    assert_eq!(item.get("lease_expires_at"), Some(&n(1003)));
    assert_eq!(item.get("ttl"), Some(&n(1013)));
    // `:now` is floored, which is exact against a whole-second `exp` (`exp <= now`).
    assert_eq!(plan.request().render().values.get(":now"), Some(&n(1000)));
    assert_eq!(
        plan.interpret(applied())
            .unwrap()
            .expires_at_epoch_seconds(),
        1003
    );

    let refresh = planner
        .refresh(
            &lease("tok"),
            Duration::from_millis(1500),
            at_millis(1_000_700),
        )
        .unwrap();
    assert_eq!(
        refresh.request().render().values.get(":exp"),
        Some(&n(1003))
    );
}

/// X2: now 1000.2 s, 0.5 s. Go and Py store 1000: a "successful" lease that is already expired
/// (seed-spec W1). TS stores 1001 (`ceil(0.5)` added to 1000). We round 1000.7 up to 1001.
#[test]
fn x2_sub_second_lease_is_not_born_expired() {
    let planner = tbl_buffer_10s();
    let plan = planner
        .acquire(
            cache_a(),
            Duration::from_millis(500),
            at_millis(1_000_200),
            LeaseToken::new("tok"),
        )
        .unwrap();
    assert_eq!(
        put(plan.request()).item.get("lease_expires_at"),
        Some(&n(1001))
    );
    assert_eq!(plan.request().render().values.get(":now"), Some(&n(1000)));
    assert_eq!(
        plan.interpret(applied())
            .unwrap()
            .expires_at_epoch_seconds(),
        1001
    );
}

/// X3: a 0.5 s buffer. Go truncates it (ttl = exp), Py truncates at construction (no ttl), TS
/// ceils it (ttl = exp + 1). We round up like TS: a non-zero buffer always adds at least a second.
#[test]
fn x3_fractional_ttl_buffer_is_rounded_up() {
    let planner = planner(LeaseConfig::builder("tbl").ttl_buffer(Duration::from_millis(500)));
    let plan = planner
        .acquire(
            cache_a(),
            Duration::from_secs(30),
            at(1000),
            LeaseToken::new("tok"),
        )
        .unwrap();
    let item = &put(plan.request()).item;
    assert_eq!(item.get("lease_expires_at"), Some(&n(1030)));
    assert_eq!(item.get("ttl"), Some(&n(1031)));

    let refresh = planner
        .refresh(&lease("tok"), Duration::from_secs(30), at(1000))
        .unwrap();
    assert_eq!(
        refresh.request().render().values.get(":ttl"),
        Some(&n(1031))
    );
}

// ----------------------------------------------------------------------------------------------
// GI: the two-contender integration flow, at the planner level

/// The seed runs this against DynamoDB Local. Without a store we cannot evaluate conditions, so
/// this checks the requests each step sends and how each answer a real table gives is read.
#[test]
fn gi_two_contenders_at_the_planner_level() {
    let mgr = tbl_buffer_10s();
    let d = Duration::from_secs(30);

    // mgr1 (now 1000, tok1) acquires: exp 1030, ttl 1040.
    let first = mgr
        .acquire(cache_a(), d, at(1000), LeaseToken::new("tok1"))
        .unwrap();
    let first_put = put(first.request()).clone();
    assert_eq!(first_put.item.get("lease_expires_at"), Some(&n(1030)));
    assert_eq!(first_put.item.get("ttl"), Some(&n(1040)));
    let first_rendered = first.request().render();
    let lease1 = first.interpret(applied()).unwrap();

    // mgr2 (now 1000, tok2) sends the same conditional put (only the token differs); the table
    // holds exp 1030, so `1030 <= 1000` is false and the store rejects it: Held.
    let second = mgr
        .acquire(cache_a(), d, at(1000), LeaseToken::new("tok2"))
        .unwrap();
    let second_put = put(second.request());
    assert_eq!(second_put.condition, first_put.condition);
    assert_eq!(second.request().render(), first_rendered);
    let mut expected_item = first_put.item;
    expected_item.insert("lease_token".into(), s("tok2"));
    assert_eq!(second_put.item, expected_item);
    assert!(second.interpret(condition_failed()).unwrap_err().is_held());

    // mgr2Late (now 2000, tok2): `1030 <= 2000` holds, so the store applies it: exp 2030, ttl 2040.
    let late = mgr
        .acquire(cache_a(), d, at(2000), LeaseToken::new("tok2"))
        .unwrap();
    let late_put = put(late.request());
    assert_eq!(late_put.item.get("lease_token"), Some(&s("tok2")));
    assert_eq!(late_put.item.get("lease_expires_at"), Some(&n(2030)));
    assert_eq!(late_put.item.get("ttl"), Some(&n(2040)));
    assert_eq!(late.request().render().values.get(":now"), Some(&n(2000)));
    let lease2 = late.interpret(applied()).unwrap();
    assert_eq!(lease2.expires_at_epoch_seconds(), 2030);

    // mgr1 refreshes its old lease (clock still 1000): conditioned on tok1, which the table no
    // longer holds, so the store rejects it: NotOwned.
    let stale = mgr.refresh(&lease1, d, at(1000)).unwrap();
    let rendered = stale.request().render();
    assert_eq!(rendered.values.get(":tok"), Some(&s("tok1")));
    assert_eq!(rendered.values.get(":now"), Some(&n(1000)));
    assert!(
        stale
            .interpret(condition_failed())
            .unwrap_err()
            .is_not_owned()
    );
}
