//! TableTheory's interop vectors (seed-spec §7: G1–G10, D1, X1–X3, GI) checked on the planner.
//!
//! Everything here is request data: no store, no runtime. Where the seed's Go placeholders differ
//! (`#lease_expires_at`, `:token`) we use the TS/Py ones (`#exp`, `:tok`); the item attribute
//! names and values are the same in every port.
//!
//! Two deliberate deviations change the request shapes (issue 3): acquire is an `UpdateItem`
//! (not a `PutItem`) that writes the seed's item values plus a fencing token, and release is an
//! `UpdateItem` that marks the lease released (expiry 0) instead of a `DeleteItem`. The seed's
//! values are checked on what the update writes ([`written`]).

// Test helpers panic on unexpected input on purpose: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use lease_core::expr::{Operand, UpdateAction, UpdateValue};
use lease_core::{
    AttributeValue, ConfigError, FencingToken, InvalidInput, Item, Lease, LeaseConfig,
    LeaseConfigBuilder, LeaseError, LeaseKey, LeaseToken, OnConditionFailure, Operation, Planner,
    ReleaseOutcome, Rendered, Request, ReturnValues, StoreResponse, UpdateRequest,
};
use std::time::SystemTime;

// ----------------------------------------------------------------------------------------------
// Helpers

fn at(secs: i64) -> SystemTime {
    lease_core::wire_time::from_epoch_seconds(secs).unwrap()
}

fn at_millis(ms: i64) -> SystemTime {
    lease_core::wire_time::from_epoch_nanos(i128::from(ms) * 1_000_000).unwrap()
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
        .map(|(k, v)| ((*k).into(), v.clone()))
        .collect()
}

fn names(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
    entries
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn values(entries: &[(&str, AttributeValue)]) -> BTreeMap<String, AttributeValue> {
    entries
        .iter()
        .map(|(k, v)| ((*k).into(), v.clone()))
        .collect()
}

fn update(request: &Request) -> &UpdateRequest {
    match request {
        Request::Update(update) => update,
        other => panic!("expected an UpdateItem, got {other:?}"),
    }
}

/// What an update writes on an absent item, apart from computed values (the fencing token's
/// `if_not_exists(..) + :one`): the key plus every `SET #a = :literal`. `REMOVE`d attributes
/// are absent. For acquire this is the item the seed's `PutItem` wrote.
fn written(request: &Request) -> Item {
    let update = update(request);
    let mut item = update.key.clone();
    for action in &update.update {
        match action {
            UpdateAction::Set(attr, UpdateValue::Operand(Operand::Value(value))) => {
                item.insert(attr.name.clone(), value.value.clone());
            }
            UpdateAction::Remove(attr) => {
                item.remove(&*attr.name);
            }
            UpdateAction::Set(..) => {}
        }
    }
    item
}

/// The store's answer to an acquire's `ReturnValues ALL_NEW`: the written item with the
/// fencing token `fence`.
fn applied_new(request: &Request, fence: u64) -> Result<StoreResponse, lease_core::StoreError> {
    let mut item = written(request);
    item.insert(
        "lease_fence".into(),
        AttributeValue::N(fence.to_string().into()),
    );
    Ok(StoreResponse::Applied {
        attributes: Some(item),
    })
}

/// The answer to an update without `ReturnValues` (refresh, release).
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
    Lease::new(
        cache_a(),
        LeaseToken::new(token),
        FencingToken::new(1),
        at(0),
    )
}

/// The seed's acquire condition, plus `OR #tok = :tok` (a retried acquire finds its own write).
const ACQUIRE_CONDITION: &str = "attribute_not_exists(#pk) OR #exp <= :now OR #tok = :tok";
/// The acquire update: the seed's item values as `SET`s, plus the fencing token.
const ACQUIRE_UPDATE: &str =
    "SET #tok = :tok, #exp = :exp, #fence = if_not_exists(#fence, :floor) + :one, #ttl = :ttl";
/// The same with TTL off: a TTL another writer left is removed.
const ACQUIRE_UPDATE_NO_TTL: &str =
    "SET #tok = :tok, #exp = :exp, #fence = if_not_exists(#fence, :floor) + :one REMOVE #ttl";

// ----------------------------------------------------------------------------------------------
// G1–G10

#[test]
fn g1_acquire_builds_the_conditional_update() {
    let planner = tbl_buffer_10s();
    let key = LeaseKey::new("CACHE#A", "LOCK");
    let plan = planner
        .acquire(
            key,
            Duration::from_secs(30),
            at(1000),
            LeaseToken::new("tok"),
        )
        .unwrap();

    let request = update(plan.request());
    assert_eq!(&*request.table_name, "tbl");
    assert_eq!(
        request.key,
        item(&[("pk", s("CACHE#A")), ("sk", s("LOCK"))])
    );
    // The seed's item, written by the update's `SET`s.
    assert_eq!(
        written(plan.request()),
        item(&[
            ("pk", s("CACHE#A")),
            ("sk", s("LOCK")),
            ("lease_token", s("tok")),
            ("lease_expires_at", n(1030)),
            ("ttl", n(1040)),
        ])
    );
    // The fencing token comes back with the updated attributes (UPDATED_NEW). Our deviation: ask for the
    // old item on condition failure so "held" can name the holder.
    assert_eq!(request.return_values, ReturnValues::UpdatedNew);
    assert_eq!(
        request.on_condition_failure,
        OnConditionFailure::ReturnOldItem
    );

    assert_eq!(
        plan.request().render(),
        Rendered {
            condition: Some(ACQUIRE_CONDITION.to_owned()),
            update: Some(ACQUIRE_UPDATE.to_owned()),
            names: names(&[
                ("#pk", "pk"),
                ("#exp", "lease_expires_at"),
                ("#tok", "lease_token"),
                ("#fence", "lease_fence"),
                ("#ttl", "ttl"),
            ]),
            values: values(&[
                (":now", n(1000)),
                (":tok", s("tok")),
                (":exp", n(1030)),
                // The fencing floor: now in epoch milliseconds.
                (":floor", n(1_000_000)),
                (":one", n(1)),
                (":ttl", n(1040)),
            ]),
        }
    );

    assert_eq!(plan.lease().expires_at_epoch_seconds(), 1030);
    // The pending lease has no fencing token: it is known only from the answer.
    let answer = applied_new(plan.request(), 1_000_001);
    let lease = plan.interpret(answer).unwrap();
    assert_eq!(lease.key(), &LeaseKey::new("CACHE#A", "LOCK"));
    assert_eq!(lease.token().expose_secret(), "tok");
    assert_eq!(lease.expires_at_epoch_seconds(), 1030);
    assert_eq!(lease.expires_at(), at(1030));
    assert_eq!(lease.fence(), FencingToken::new(1_000_001));
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
    assert_eq!(&*request.table_name, "tbl");
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
            values: values(&[
                (":tok", s("tok")),
                (":now", n(1000)),
                (":exp", n(1060)),
                (":ttl", n(1070)),
            ]),
        }
    );

    let refreshed = plan.interpret(applied()).unwrap();
    assert_eq!(refreshed.expires_at_epoch_seconds(), 1060);
    assert_eq!(refreshed.key(), &cache_a());
    assert_eq!(refreshed.token().expose_secret(), "tok");
}

/// The seed (all three ports) deletes the item and swallows a failed release condition,
/// reporting success. We deviate on purpose twice: the item is kept and marked released
/// (expiry 0, so every reader, TableTheory's included, sees it expired, and its fencing token
/// survives; the TTL lets DynamoDB collect it after the buffer), and a failed condition is
/// reported as `NotHeld` (still not an error), since hiding it hides "the lease was taken over"
/// (seed-spec W3).
#[test]
fn g4_release_marks_released_and_condition_failure_is_not_held() {
    let planner = planner(LeaseConfig::builder("tbl"));
    let held = lease("tok");

    let plan = planner.release(&held, at(1000)).unwrap();

    let request = update(plan.request());
    assert_eq!(&*request.table_name, "tbl");
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
            // The token alone: a release that already landed (expiry 0) matches again.
            condition: Some("#tok = :tok".to_owned()),
            update: Some("SET #exp = :released, #ttl = :ttl".to_owned()),
            names: names(&[
                ("#tok", "lease_token"),
                ("#exp", "lease_expires_at"),
                ("#ttl", "ttl"),
            ]),
            values: values(&[
                (":tok", s("tok")),
                (":released", n(0)),
                // floor(now) + the default one-hour buffer.
                (":ttl", n(4600)),
            ]),
        }
    );

    assert_eq!(
        plan.interpret(condition_failed()).unwrap(),
        ReleaseOutcome::NotHeld
    );
    let held = lease("tok");

    let plan = planner.release(&held, at(1000)).unwrap();
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
    let key = LeaseKey::lock("CACHE#A");
    let plan = planner
        .acquire(
            key,
            Duration::from_secs(30),
            at(1000),
            LeaseToken::new("tok"),
        )
        .unwrap();

    // The seed's item, with no expires_ttl: TTL off removes one another writer may have left.
    assert_eq!(
        written(plan.request()),
        item(&[
            ("partition", s("CACHE#A")),
            ("sort", s("CUSTOM")),
            ("token", s("tok")),
            ("expires_at", n(1030)),
        ])
    );
    let rendered = plan.request().render();
    assert_eq!(rendered.condition.as_deref(), Some(ACQUIRE_CONDITION));
    assert_eq!(rendered.update.as_deref(), Some(ACQUIRE_UPDATE_NO_TTL));
    assert_eq!(
        rendered.names,
        names(&[
            ("#pk", "partition"),
            ("#exp", "expires_at"),
            ("#tok", "token"),
            ("#fence", "lease_fence"),
            ("#ttl", "expires_ttl"),
        ])
    );
    assert_eq!(
        rendered.values,
        values(&[
            (":now", n(1000)),
            (":tok", s("tok")),
            (":exp", n(1030)),
            (":floor", n(1_000_000)),
            (":one", n(1)),
        ])
    );

    let answer = applied_new(plan.request(), 7);
    let lease = plan.interpret(answer).unwrap();
    assert_eq!(lease.key().sort(), Some("CUSTOM"));
    assert_eq!(lease.expires_at_epoch_seconds(), 1030);
    assert_eq!(lease.fence(), FencingToken::new(7));

    // The same options on refresh: `REMOVE #ttl` instead of a TTL value.
    let refresh = planner
        .refresh(&lease, Duration::from_secs(30), at(1000))
        .unwrap();
    let rendered = refresh.request().render();
    assert_eq!(
        rendered.update.as_deref(),
        Some("SET #exp = :exp REMOVE #ttl")
    );
    assert_eq!(
        rendered.names,
        names(&[
            ("#tok", "token"),
            ("#exp", "expires_at"),
            ("#ttl", "expires_ttl")
        ])
    );
    assert_eq!(
        rendered.values,
        values(&[(":tok", s("tok")), (":now", n(1000)), (":exp", n(1030))])
    );
    assert_eq!(
        update(refresh.request()).key,
        item(&[("partition", s("CACHE#A")), ("sort", s("CUSTOM"))])
    );
    // Refresh keeps the fencing token.
    let refreshed = refresh.interpret(applied()).unwrap();
    assert_eq!(refreshed.fence(), FencingToken::new(7));

    // And on release: no TTL to collect the item by.
    let release = planner.release(&lease, at(1000)).unwrap();
    let rendered = release.request().render();
    assert_eq!(rendered.condition.as_deref(), Some("#tok = :tok"));
    assert_eq!(
        rendered.update.as_deref(),
        Some("SET #exp = :released REMOVE #ttl")
    );
    assert_eq!(
        rendered.names,
        names(&[
            ("#tok", "token"),
            ("#exp", "expires_at"),
            ("#ttl", "expires_ttl")
        ])
    );
    assert_eq!(
        rendered.values,
        values(&[(":tok", s("tok")), (":released", n(0))])
    );
}

/// With TTL off every write removes `#ttl`. (TableTheory also turns TTL off with a zero
/// buffer; here a zero buffer is a configuration error, and `include_ttl(false)` the one way.)
#[test]
fn with_ttl_off_every_write_removes_ttl() {
    let planner = planner(LeaseConfig::builder("tbl").include_ttl(false));
    let acquire = planner
        .acquire(
            cache_a(),
            Duration::from_secs(30),
            at(1000),
            LeaseToken::new("tok"),
        )
        .unwrap();
    let refresh = planner
        .refresh(&lease("tok"), Duration::from_secs(30), at(1000))
        .unwrap();
    let held = lease("tok");

    let release = planner.release(&held, at(1000)).unwrap();
    for (request, expected) in [
        (acquire.request(), ACQUIRE_UPDATE_NO_TTL),
        (refresh.request(), "SET #exp = :exp REMOVE #ttl"),
        (release.request(), "SET #exp = :released REMOVE #ttl"),
    ] {
        let rendered = request.render();
        assert_eq!(rendered.update.as_deref(), Some(expected));
        assert_eq!(rendered.names.get("#ttl").map(String::as_str), Some("ttl"));
        assert!(!rendered.values.contains_key(":ttl"), "{rendered:?}");
        assert!(!written(request).contains_key("ttl"));
    }
}

#[test]
fn g7_a_zero_duration_is_invalid_input() {
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
    // Go's `WithValidateInput(false)` sends a zero duration as given: a lease already past
    // its safe deadline when written. There is no such switch here (LeaseConfig's docs).
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
    let held = lease("");

    let err = strict.release(&held, at(1000)).unwrap_err();
    assert!(matches!(
        err,
        LeaseError::InvalidInput {
            operation: Operation::Release,
            reason: InvalidInput::EmptyToken,
            ..
        }
    ));

    // Go skips the check with `WithValidateInput(false)`; there is no such switch here.
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
    let item = written(plan.request());
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
    let item = written(plan.request());
    assert_eq!(item.get("lease_expires_at"), Some(&n(1003)));
    assert_eq!(item.get("ttl"), Some(&n(1013)));
    let rendered = plan.request().render();
    // `:now` is floored, which is exact against a whole-second `exp` (`exp <= now`); the
    // fencing floor keeps the milliseconds.
    assert_eq!(rendered.values.get(":now"), Some(&n(1000)));
    assert_eq!(rendered.values.get(":floor"), Some(&n(1_000_700)));
    let answer = applied_new(plan.request(), 1_000_701);
    assert_eq!(
        plan.interpret(answer).unwrap().expires_at_epoch_seconds(),
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
/// A 0.5 s lease needs a clock skew bound below 0.5 s (the default, 1 s, rejects it).
#[test]
fn x2_sub_second_lease_is_not_born_expired() {
    let planner = planner(
        LeaseConfig::builder("tbl")
            .ttl_buffer(Duration::from_secs(10))
            .max_clock_skew(Duration::from_millis(100)),
    );
    let plan = planner
        .acquire(
            cache_a(),
            Duration::from_millis(500),
            at_millis(1_000_200),
            LeaseToken::new("tok"),
        )
        .unwrap();
    assert_eq!(
        written(plan.request()).get("lease_expires_at"),
        Some(&n(1001))
    );
    assert_eq!(plan.request().render().values.get(":now"), Some(&n(1000)));
    let answer = applied_new(plan.request(), 1_000_201);
    assert_eq!(
        plan.interpret(answer).unwrap().expires_at_epoch_seconds(),
        1001
    );
}

/// X3: a 0.5 s buffer. Go truncates it (ttl = exp), Py truncates at construction (no ttl), TS
/// ceils it (ttl = exp + 1). We round up like TS: a non-zero buffer always adds at least a second.
#[test]
fn x3_fractional_ttl_buffer_is_rounded_up() {
    // A 0.5 s buffer is written as 1 s: at most a third of a second of clock skew goes with it.
    let planner = planner(
        LeaseConfig::builder("tbl")
            .ttl_buffer(Duration::from_millis(500))
            .max_clock_skew(Duration::from_millis(300)),
    );
    let plan = planner
        .acquire(
            cache_a(),
            Duration::from_secs(30),
            at(1000),
            LeaseToken::new("tok"),
        )
        .unwrap();
    let item = written(plan.request());
    assert_eq!(item.get("lease_expires_at"), Some(&n(1030)));
    assert_eq!(item.get("ttl"), Some(&n(1031)));

    let refresh = planner
        .refresh(&lease("tok"), Duration::from_secs(30), at(1000))
        .unwrap();
    assert_eq!(
        refresh.request().render().values.get(":ttl"),
        Some(&n(1031))
    );
    // Release: floor(now) + the rounded-up buffer.
    let held = lease("tok");

    let release = planner.release(&held, at(1000)).unwrap();
    assert_eq!(
        release.request().render().values.get(":ttl"),
        Some(&n(1001))
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

    // mgr1 (now 1000, tok1) acquires: exp 1030, ttl 1040; the item is new, so the fencing
    // token is the floor (1000 s in ms) + 1.
    let first = mgr
        .acquire(cache_a(), d, at(1000), LeaseToken::new("tok1"))
        .unwrap();
    let first_update = update(first.request()).clone();
    let first_item = written(first.request());
    assert_eq!(first_item.get("lease_expires_at"), Some(&n(1030)));
    assert_eq!(first_item.get("ttl"), Some(&n(1040)));
    let first_rendered = first.request().render();
    let answer = applied_new(first.request(), 1_000_001);
    let lease1 = first.interpret(answer).unwrap();
    assert_eq!(lease1.fence(), FencingToken::new(1_000_001));

    // mgr2 (now 1000, tok2) sends the same conditional update (only the token differs); the
    // table holds exp 1030 and tok1, so `1030 <= 1000` and `tok1 = tok2` are false and the store
    // rejects it: Held.
    let second = mgr
        .acquire(cache_a(), d, at(1000), LeaseToken::new("tok2"))
        .unwrap();
    let second_rendered = second.request().render();
    assert_eq!(second_rendered.condition, first_rendered.condition);
    assert_eq!(second_rendered.update, first_rendered.update);
    assert_eq!(second_rendered.names, first_rendered.names);
    let mut expected_values = first_rendered.values;
    expected_values.insert(":tok".into(), s("tok2"));
    assert_eq!(second_rendered.values, expected_values);
    let mut expected_item = first_item;
    expected_item.insert("lease_token".into(), s("tok2"));
    assert_eq!(written(second.request()), expected_item);
    assert_eq!(update(second.request()).key, first_update.key);
    assert!(second.interpret(condition_failed()).unwrap_err().is_held());

    // mgr2Late (now 2000, tok2): `1030 <= 2000` holds, so the store applies it: exp 2030,
    // ttl 2040, and the item's fencing token goes up by one.
    let late = mgr
        .acquire(cache_a(), d, at(2000), LeaseToken::new("tok2"))
        .unwrap();
    let late_item = written(late.request());
    assert_eq!(late_item.get("lease_token"), Some(&s("tok2")));
    assert_eq!(late_item.get("lease_expires_at"), Some(&n(2030)));
    assert_eq!(late_item.get("ttl"), Some(&n(2040)));
    assert_eq!(late.request().render().values.get(":now"), Some(&n(2000)));
    let answer = applied_new(late.request(), 1_000_002);
    let lease2 = late.interpret(answer).unwrap();
    assert_eq!(lease2.expires_at_epoch_seconds(), 2030);
    assert!(lease2.fence() > lease1.fence());

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
