//! Planning an acquire, refresh, release or inspect from fuzzed keys, tokens, durations and
//! clock readings, then interpreting any answer a store can give: `Applied` with any
//! attributes, `ConditionFailed` with any old item, `Item`, `TransactionCanceled`, and errors of
//! every kind.
//!
//! Properties:
//! - nothing panics;
//! - planning fails exactly on bad input (an empty or oversize key or token, a zero,
//!   over-long or not-above-skew duration; the empty ones only with validation on) or a time
//!   out of range, and then with `LeaseError::InvalidInput` for the operation and the
//!   resolved key; interpreting never does;
//! - an acquire's plan holds its key and token and an expiry no shorter than asked;
//! - an acquire interpreted as `Ok` was answered `Applied` with a whole-number fencing token
//!   and no other lease token, and its lease has that fencing token, the planned key and token
//!   and the plan's expiry and deadline; every other answer maps to its documented error
//!   (`Held` with the decoded holder, `MalformedItem`, `OutcomeUnknown` exactly for the kinds
//!   whose outcome may be applied, `Store`, `UnexpectedResponse`), naming the planned key;
//! - refresh, release and inspect map each answer to their documented outcome;
//! - the results' renderings (`Debug`, `Display`, `report()`) depend on the bearer token only
//!   through its fingerprint: the same run with another token of the same length renders the
//!   same, fingerprints aside.

#![no_main]

use std::time::{Duration, Instant};

use arbitrary::{Result, Unstructured};
use lease_core::{
    AttributeValue, DecodeError, FencingToken, Holder, HolderRecord, InvalidInput, Item, Lease,
    LeaseConfig, LeaseError, LeaseKey, LeaseSnapshot, StoredState, LeaseToken, MAX_LEASE_DURATION,
    MAX_PARTITION_KEY_BYTES, MAX_SORT_KEY_BYTES, MAX_TOKEN_BYTES, Now, Operation, Planner,
    ReleaseOutcome, StoreError, StoreResponse, Text,
};
use lease_fuzz::{twin_token, without_fingerprints};
use libfuzzer_sys::fuzz_target;

type Answer = std::result::Result<StoreResponse, StoreError>;

fn origin() -> Instant {
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

#[derive(Debug)]
struct Input {
    config: LeaseConfig,
    key: LeaseKey,
    token: String,
    duration: Duration,
    now: Now,
    op: u8,
    /// For a refresh: a lease from parts (no deadline), or acquired at `now` (with one).
    from_parts: bool,
    /// For a refresh: the time the lease was acquired, before `now`.
    earlier: Duration,
    answer: Answer,
}

fn input(u: &mut Unstructured<'_>) -> Result<Input> {
    let config = lease_fuzz::config(u)?;
    let partition = lease_fuzz::long_string(u, MAX_PARTITION_KEY_BYTES + 2)?;
    let key = if u.arbitrary()? {
        LeaseKey::lock(partition)
    } else {
        LeaseKey::new(
            partition,
            lease_fuzz::long_string(u, MAX_SORT_KEY_BYTES + 2)?,
        )
    };
    let token = match u.int_in_range(0..=2)? {
        0 => "0b7e3c1a-9d2f-4c55-8e61-3f0c2a9b7d10".to_owned(),
        _ => lease_fuzz::long_string(u, MAX_TOKEN_BYTES + 2)?,
    };
    let duration = lease_fuzz::duration(u)?;
    let wall = lease_fuzz::wall_time(u)?;
    let now = match u.int_in_range(0..=3)? {
        0 => Now::from(wall),
        _ => Now::new(
            wall,
            origin() + Duration::from_millis(u.int_in_range(0..=10_000_000)?),
        ),
    };
    let op = u.int_in_range(0..=3)?;
    let from_parts = u.arbitrary()?;
    let earlier = Duration::from_millis(u.int_in_range(0..=200_000)?);
    let mut answer = lease_fuzz::answer(u, &config, wall)?;
    // Now and then the answer an acquire hopes for: its own token and a fencing token.
    if op == 0 && u.int_in_range(0..=2)? == 0 {
        let mut item = Item::new();
        if u.arbitrary()? {
            item.insert(
                Text::from(config.token_attribute()),
                AttributeValue::string(token.as_str()),
            );
        }
        item.insert(
            Text::from(config.fence_attribute()),
            AttributeValue::N(Text::from(u.arbitrary::<u64>()?.to_string())),
        );
        answer = Ok(StoreResponse::Applied {
            attributes: Some(item),
        });
    }
    Ok(Input {
        config,
        key,
        token,
        duration,
        now,
        op,
        from_parts,
        earlier,
        answer,
    })
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(input) = input(&mut u) else {
        return;
    };
    let planner = Planner::new(input.config.clone());
    let shown = run(&planner, &input, &input.token, &input.answer);
    // The same run with another token of the same length (the answer's token attribute
    // swapped alike) renders the same, fingerprints aside.
    if let Some(twin) = twin_token(&input.token) {
        let answer = swap_token(&input.answer, &input.config, &input.token, &twin);
        let twin_shown = run(&planner, &input, &twin, &answer);
        assert_eq!(
            without_fingerprints(&shown),
            without_fingerprints(&twin_shown),
            "a rendering depends on the token beyond its fingerprint"
        );
    }
});

/// Runs the input's operation with `token` and `answer`, checking it; returns every rendering
/// of what it produced.
fn run(planner: &Planner, input: &Input, token: &str, answer: &Answer) -> String {
    let config = planner.config();
    let resolved = match input.key.sort() {
        Some(_) => input.key.clone(),
        None => LeaseKey::new(input.key.partition(), config.lock_sort_key()),
    };
    let answer = clone_answer(answer);
    match input.op {
        0 => acquire(planner, input, &resolved, token, answer),
        1 => refresh(planner, input, &resolved, token, answer),
        2 => release(planner, input, &resolved, token, answer),
        _ => inspect(planner, input, &resolved, answer),
    }
}

/// Why planning must fail, if it must (a time out of range aside).
fn bad_input(
    config: &LeaseConfig,
    key: &LeaseKey,
    token: &str,
    duration: Option<Duration>,
) -> bool {
    let sort = key.sort().unwrap_or_default();
    let mut bad = key.partition().len() > MAX_PARTITION_KEY_BYTES
        || sort.len() > MAX_SORT_KEY_BYTES
        || token.len() > MAX_TOKEN_BYTES
        || key.partition().is_empty()
        || sort.is_empty()
        || token.is_empty();
    if let Some(duration) = duration {
        bad |= duration > MAX_LEASE_DURATION
            || duration.is_zero()
            || duration <= config.max_clock_skew();
    }
    bad
}

/// Checks a planning failure: `InvalidInput` for `operation` and `key`, on bad input or a time
/// out of range.
fn planning_failed(error: &LeaseError, operation: Operation, key: &LeaseKey, bad: bool) -> String {
    let LeaseError::InvalidInput {
        operation: op,
        key: k,
        reason,
    } = error
    else {
        panic!("planning failed with something other than InvalidInput: {error:?}");
    };
    assert_eq!(*op, operation);
    assert_eq!(k, key);
    assert!(
        bad || matches!(reason, InvalidInput::TimeOutOfRange),
        "good input rejected: {reason:?}"
    );
    shown_error(error)
}

fn shown_error(error: &LeaseError) -> String {
    format!("{error}\n{error:?}\n{}", error.report())
}

/// Checks a store failure's mapping: `OutcomeUnknown` exactly when the outcome may be applied.
fn store_failure(error: &LeaseError, source: &StoreError, operation: Operation, key: &LeaseKey) {
    match error {
        LeaseError::OutcomeUnknown {
            operation: op,
            key: k,
            source: s,
        } if source.kind().outcome_may_be_applied() && operation != Operation::Inspect => {
            assert_eq!((op, k, s.kind()), (&operation, key, source.kind()));
        }
        // A read changes nothing: its failures are never an unknown outcome.
        LeaseError::Store {
            operation: op,
            key: k,
            source: s,
        } if !source.kind().outcome_may_be_applied() || operation == Operation::Inspect => {
            assert_eq!((op, k, s.kind()), (&operation, key, source.kind()));
        }
        other => panic!("a store failure ({source:?}) became {other:?}"),
    }
}

fn unexpected(error: &LeaseError, operation: Operation, key: &LeaseKey) {
    assert!(
        matches!(error, LeaseError::UnexpectedResponse { operation: op, key: k, .. } if *op == operation && k == key),
        "expected UnexpectedResponse, got {error:?}"
    );
}

fn acquire(
    planner: &Planner,
    input: &Input,
    key: &LeaseKey,
    token: &str,
    answer: Answer,
) -> String {
    let config = planner.config();
    let bad = bad_input(config, key, token, Some(input.duration));
    let plan = match planner.acquire(
        input.key.clone(),
        input.duration,
        input.now,
        LeaseToken::new(token),
    ) {
        Ok(plan) => plan,
        Err(error) => return planning_failed(&error, Operation::Acquire, key, bad),
    };
    assert!(!bad, "bad input planned: {input:?}");
    assert_eq!(plan.key(), key);
    let planned = plan.lease().clone();
    assert_eq!(planned.key(), key);
    assert_eq!(planned.token().expose_secret(), token);
    // A PendingLease has no fencing token by type: only the answer gives one.
    if let Some(asked) = input.now.wall.checked_add(input.duration) {
        assert!(planned.expires_at() >= asked, "a lease shorter than asked");
    }
    assert_eq!(
        planned.valid_until().is_some(),
        input.now.monotonic.is_some()
    );
    let mut shown = format!("{plan:?}\n");

    let expected_fence = match &answer {
        Ok(StoreResponse::Applied {
            attributes: Some(item),
        }) => {
            let other_token = match item.get(config.token_attribute()) {
                None => false,
                Some(AttributeValue::S(t)) => t.as_str() != token,
                Some(_) => true,
            };
            match item.get(config.fence_attribute()) {
                Some(AttributeValue::N(n)) if !other_token => n.parse::<u64>().ok(),
                _ => None,
            }
        }
        _ => None,
    };
    // The fencing token of applied attributes that name no other token, when it is an `N`
    // that is not a whole number.
    let applied_fence = match &answer {
        Ok(StoreResponse::Applied {
            attributes: Some(item),
        }) if expected_fence.is_none() => {
            let ours = match item.get(config.token_attribute()) {
                None => true,
                Some(AttributeValue::S(t)) => t.as_str() == token,
                Some(_) => false,
            };
            match item.get(config.fence_attribute()) {
                Some(AttributeValue::N(n)) if ours => Some(n.to_string()),
                _ => None,
            }
        }
        _ => None,
    };
    let old_holder = match &answer {
        Ok(StoreResponse::ConditionFailed {
            old_item: Some(item),
        }) => Some(HolderRecord::decode(item, config, input.now.wall)),
        _ => None,
    };
    let store_error = match &answer {
        Err(e) => Some(StoreError::new(e.kind(), e.message())),
        Ok(_) => None,
    };
    let kind = answer_kind(&answer);
    match plan.interpret(answer) {
        Ok(lease) => {
            let Some(fence) = expected_fence else {
                panic!("an acquire succeeded on a {kind} answer without a whole fencing token");
            };
            assert_eq!(lease.fence().get(), fence);
            assert_eq!(lease.key(), key);
            assert_eq!(lease.token().expose_secret(), token);
            assert_eq!(lease.expires_at(), planned.expires_at());
            assert_eq!(lease.valid_until(), planned.valid_until());
            assert_eq!(lease.valid_until_wall(), planned.valid_until_wall());
            shown.push_str(&format!("{lease:?}"));
        }
        Err(error) => {
            assert!(
                expected_fence.is_none(),
                "an acquire answered with its fencing token failed: {error:?}"
            );
            assert_eq!(error.key(), key);
            match (&error, kind) {
                (LeaseError::Held { holder, .. }, "ConditionFailed") => match (holder, &old_holder)
                {
                    (Holder::Unknown, None) => {}
                    (Holder::Known(info), Some(Ok(decoded))) => assert_eq!(info, decoded),
                    _ => panic!("held by {holder:?}, the old item decodes as {old_holder:?}"),
                },
                (LeaseError::MalformedItem { error: e, .. }, "ConditionFailed") => {
                    assert_eq!(old_holder.as_ref().and_then(|h| h.as_ref().err()), Some(e));
                }
                (_, "Applied") => match &applied_fence {
                    // The write added one to a fencing token that is not a whole number.
                    Some(raw) => assert!(
                        matches!(
                            &error,
                            LeaseError::MalformedItem {
                                error: DecodeError::InvalidNumber { attribute, value },
                                ..
                            } if attribute == config.fence_attribute() && value == raw
                        ),
                        "an applied acquire on a fencing token {raw:?} became {error:?}"
                    ),
                    None => unexpected(&error, Operation::Acquire, key),
                },
                (_, "Error") => {
                    let source = store_error.unwrap_or_else(|| unreachable!());
                    store_failure(&error, &source, Operation::Acquire, key);
                }
                (_, "Item" | "TransactionCanceled") => unexpected(&error, Operation::Acquire, key),
                (error, kind) => panic!("a {kind} answer to an acquire became {error:?}"),
            }
            shown.push_str(&shown_error(&error));
        }
    }
    shown
}

fn refresh(
    planner: &Planner,
    input: &Input,
    key: &LeaseKey,
    token: &str,
    answer: Answer,
) -> String {
    let config = planner.config();
    // The lease being refreshed: from parts, or acquired `earlier` before `now`.
    let lease = if input.from_parts || input.now.monotonic.is_none() {
        Lease::new(
            key.clone(),
            LeaseToken::new(token),
            FencingToken::new(1),
            input.now.wall,
        )
    } else {
        let (Some(wall), Some(mono)) = (
            input.now.wall.checked_sub(input.earlier),
            input
                .now
                .monotonic
                .and_then(|m| m.checked_sub(input.earlier)),
        ) else {
            return String::new();
        };
        let Ok(plan) = planner.acquire(
            key.clone(),
            input.duration,
            Now::new(wall, mono),
            LeaseToken::new(token),
        ) else {
            return String::new();
        };
        let fence = Item::from([(
            Text::from(config.fence_attribute()),
            AttributeValue::number(7),
        )]);
        match plan.interpret(Ok(StoreResponse::Applied {
            attributes: Some(fence),
        })) {
            Ok(lease) => lease,
            Err(error) => panic!("an acquire answered with its fencing token failed: {error:?}"),
        }
    };
    let bad = bad_input(config, key, token, Some(input.duration));
    let plan = match planner.refresh(&lease, input.duration, input.now) {
        Ok(plan) => plan,
        Err(error) => return planning_failed(&error, Operation::Refresh, key, bad),
    };
    assert!(!bad, "bad input planned: {input:?}");
    let kind = answer_kind(&answer);
    let source = answer
        .as_ref()
        .err()
        .map(|e| StoreError::new(e.kind(), e.message()));
    match plan.interpret(answer) {
        Ok(renewed) => {
            assert_eq!(kind, "Applied", "a refresh succeeded on a {kind} answer");
            assert_eq!(renewed.key(), key);
            assert_eq!(renewed.token(), lease.token());
            assert_eq!(renewed.fence(), lease.fence());
            if let Some(asked) = input.now.wall.checked_add(input.duration) {
                assert!(
                    renewed.expires_at() >= asked,
                    "a refresh shorter than asked"
                );
            }
            format!("{renewed:?}")
        }
        Err(error) => {
            match (&error, kind) {
                (LeaseError::NotOwned { key: k }, "ConditionFailed") => assert_eq!(k, key),
                (_, "Error") => {
                    store_failure(
                        &error,
                        &source.unwrap_or_else(|| unreachable!()),
                        Operation::Refresh,
                        key,
                    );
                }
                (_, "Item" | "TransactionCanceled") => unexpected(&error, Operation::Refresh, key),
                (error, kind) => panic!("a {kind} answer to a refresh became {error:?}"),
            }
            shown_error(&error)
        }
    }
}

fn release(
    planner: &Planner,
    input: &Input,
    key: &LeaseKey,
    token: &str,
    answer: Answer,
) -> String {
    let lease = Lease::new(
        key.clone(),
        LeaseToken::new(token),
        FencingToken::new(1),
        input.now.wall,
    );
    let bad = bad_input(planner.config(), key, token, None);
    let plan = match planner.release(&lease, input.now) {
        Ok(plan) => plan,
        Err(error) => return planning_failed(&error, Operation::Release, key, bad),
    };
    assert!(!bad, "bad input planned: {input:?}");
    let kind = answer_kind(&answer);
    let source = answer
        .as_ref()
        .err()
        .map(|e| StoreError::new(e.kind(), e.message()));
    let shown = format!("{plan:?}\n");
    match (plan.interpret(answer), kind) {
        (Ok(ReleaseOutcome::Released), "Applied")
        | (Ok(ReleaseOutcome::NotHeld), "ConditionFailed") => shown,
        (Err(error), "Error") => {
            store_failure(
                &error,
                &source.unwrap_or_else(|| unreachable!()),
                Operation::Release,
                key,
            );
            shown + &shown_error(&error)
        }
        (Err(error), "Item" | "TransactionCanceled") => {
            unexpected(&error, Operation::Release, key);
            shown + &shown_error(&error)
        }
        (result, kind) => panic!("a {kind} answer to a release became {result:?}"),
    }
}

fn inspect(planner: &Planner, input: &Input, key: &LeaseKey, answer: Answer) -> String {
    let bad = bad_input(planner.config(), key, "token", None);
    let plan = match planner.inspect(input.key.clone()) {
        Ok(plan) => plan,
        Err(error) => return planning_failed(&error, Operation::Inspect, key, bad),
    };
    assert!(!bad, "bad input planned: {input:?}");
    let kind = answer_kind(&answer);
    let source = answer
        .as_ref()
        .err()
        .map(|e| StoreError::new(e.kind(), e.message()));
    let item = match &answer {
        Ok(StoreResponse::Item(item)) => Some(item.clone()),
        _ => None,
    };
    let result = plan.interpret(answer, input.now.wall);
    match (&result, item) {
        (Ok(snapshot), Some(None)) => assert_eq!(
            (&snapshot.key, &snapshot.state, &snapshot.value),
            (key, &StoredState::Absent, &None)
        ),
        (result, Some(Some(item))) => {
            let decoded =
                LeaseSnapshot::decode(key.clone(), &item, planner.config(), input.now.wall);
            match (result, decoded) {
                (Ok(a), Ok(b)) => assert_eq!(a, &b),
                (Err(LeaseError::MalformedItem { key: k, error }), Err(e)) => {
                    assert_eq!((k, error), (key, &e));
                }
                (a, b) => panic!("inspect read {a:?}, the item decodes as {b:?}"),
            }
        }
        (Err(error), None) if kind == "Error" => {
            store_failure(
                error,
                &source.unwrap_or_else(|| unreachable!()),
                Operation::Inspect,
                key,
            );
        }
        (Err(error), None) => unexpected(error, Operation::Inspect, key),
        (Ok(snapshot), None) => panic!("a {kind} answer to an inspect became {snapshot:?}"),
        (Err(error), Some(None)) => panic!("an inspect that found no item failed: {error:?}"),
    }
    match result {
        Ok(snapshot) => format!("{snapshot:?}"),
        Err(error) => shown_error(&error),
    }
}

fn answer_kind(answer: &Answer) -> &'static str {
    match answer {
        Ok(StoreResponse::Applied { .. }) => "Applied",
        Ok(StoreResponse::ConditionFailed { .. }) => "ConditionFailed",
        Ok(StoreResponse::Item(_)) => "Item",
        Ok(StoreResponse::TransactionCanceled { .. }) => "TransactionCanceled",
        Ok(_) => "other",
        Err(_) => "Error",
    }
}

/// A copy of `answer` (`StoreError` is not `Clone`: its source is dropped, which none here
/// has).
fn clone_answer(answer: &Answer) -> Answer {
    match answer {
        Ok(response) => Ok(response.clone()),
        Err(error) => Err(StoreError::new(error.kind(), error.message())),
    }
}

/// `answer` with `a` and `b` swapped where they are the value of the token attribute (of the
/// updated attributes, or of the old item).
fn swap_token(answer: &Answer, config: &LeaseConfig, a: &str, b: &str) -> Answer {
    let swap = |item: &Option<Item>| {
        item.as_ref().map(|item| {
            let mut item = item.clone();
            if let Some(AttributeValue::S(value)) = item.get_mut(config.token_attribute()) {
                if value.as_str() == a {
                    *value = Text::from(b);
                } else if value.as_str() == b {
                    *value = Text::from(a);
                }
            }
            item
        })
    };
    match answer {
        Ok(StoreResponse::Applied { attributes }) => Ok(StoreResponse::Applied {
            attributes: swap(attributes),
        }),
        Ok(StoreResponse::ConditionFailed { old_item }) => Ok(StoreResponse::ConditionFailed {
            old_item: swap(old_item),
        }),
        other => clone_answer(other),
    }
}
