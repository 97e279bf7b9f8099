//! How each plan reads every kind of store answer: applied (with and without the updated item),
//! condition failed (with and without an old item, readable or not), an item (a store bug for a
//! write), a write result (a store bug for a read), and each class of store error.

// Test helpers panic on unexpected input on purpose: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::error::Error as _;
use std::fmt;
use std::time::Duration;

use lease_core::{
    AttributeValue, DecodeError, FencingToken, Holder, Item, Lease, LeaseConfig, LeaseError,
    LeaseKey, LeaseSnapshot, LeaseToken, Operation, Planner, ReleaseOutcome, StoreError,
    StoreErrorKind, StoreResponse, StoredState,
};
use std::time::SystemTime;

const KINDS: [StoreErrorKind; 7] = [
    StoreErrorKind::Throttled,
    StoreErrorKind::Timeout,
    StoreErrorKind::Unavailable,
    StoreErrorKind::Validation,
    StoreErrorKind::ResourceNotFound,
    StoreErrorKind::AccessDenied,
    StoreErrorKind::Other,
];

fn planner() -> Planner {
    Planner::new(LeaseConfig::builder("tbl").build().unwrap())
}

fn at(secs: i64) -> SystemTime {
    lease_core::wire_time::from_epoch_seconds(secs).unwrap()
}

fn key() -> LeaseKey {
    LeaseKey::new("CACHE#A", "LOCK")
}

const FENCE: u64 = 42;

/// Our lease, as a successful acquire returned it: expiry 1030, fencing token 42.
fn lease() -> Lease {
    planner()
        .acquire(
            key(),
            Duration::from_secs(30),
            at(1000),
            LeaseToken::new("tok"),
        )
        .unwrap()
        .interpret(Ok(StoreResponse::Applied {
            attributes: Some(fenced_item(FENCE)),
        }))
        .unwrap()
}

/// Another holder's lease item, without a fencing token (as TableTheory writes it).
fn stored_item() -> Item {
    Item::from([
        ("pk".into(), AttributeValue::string("CACHE#A")),
        ("sk".into(), AttributeValue::string("LOCK")),
        ("lease_token".into(), AttributeValue::string("other")),
        ("lease_expires_at".into(), AttributeValue::number(1050)),
    ])
}

/// The item after our acquire, with the fencing token `fence` (what `UPDATED_NEW` returns).
fn fenced_item(fence: u64) -> Item {
    let mut item = stored_item();
    item.insert("lease_token".into(), AttributeValue::string("tok"));
    item.insert("lease_expires_at".into(), AttributeValue::number(1030));
    item.insert(
        "lease_fence".into(),
        AttributeValue::N(fence.to_string().into()),
    );
    item
}

/// An item that is not a readable lease: the expiry is a string.
fn malformed_item() -> Item {
    let mut item = stored_item();
    item.insert("lease_expires_at".into(), AttributeValue::string("1050"));
    item
}

/// Every answer a store can give, except errors.
fn responses() -> Vec<StoreResponse> {
    vec![
        StoreResponse::Applied { attributes: None },
        StoreResponse::Applied {
            attributes: Some(stored_item()),
        },
        StoreResponse::Applied {
            attributes: Some(fenced_item(7)),
        },
        StoreResponse::ConditionFailed { old_item: None },
        StoreResponse::ConditionFailed {
            old_item: Some(stored_item()),
        },
        StoreResponse::ConditionFailed {
            old_item: Some(malformed_item()),
        },
        StoreResponse::Item(None),
        StoreResponse::Item(Some(stored_item())),
    ]
}

fn acquire(answer: Result<StoreResponse, StoreError>) -> Result<Lease, LeaseError> {
    let p = planner();
    p.acquire(
        key(),
        Duration::from_secs(30),
        at(1000),
        LeaseToken::new("tok"),
    )
    .unwrap()
    .interpret(answer)
}

fn refresh(answer: Result<StoreResponse, StoreError>) -> Result<Lease, LeaseError> {
    let p = planner();
    p.refresh(&lease(), Duration::from_secs(60), at(1000))
        .unwrap()
        .interpret(answer)
}

fn release(answer: Result<StoreResponse, StoreError>) -> Result<ReleaseOutcome, LeaseError> {
    let p = planner();
    p.release(&lease(), at(1000)).unwrap().interpret(answer)
}

fn inspect(answer: Result<StoreResponse, StoreError>) -> Result<LeaseSnapshot, LeaseError> {
    let p = planner();
    p.inspect(key()).unwrap().interpret(answer, at(1000))
}

fn assert_unexpected(err: &LeaseError, op: Operation) {
    assert!(
        matches!(
            err,
            LeaseError::UnexpectedResponse { operation, key: k, .. } if *operation == op && *k == key()
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("CACHE#A/LOCK"), "{err}");
}

#[test]
fn acquire_reads_every_response() {
    for response in responses() {
        let result = acquire(Ok(response.clone()));
        match response {
            // The updated item carries the fencing token.
            StoreResponse::Applied {
                attributes: Some(item),
            } if item.contains_key("lease_fence") => {
                let lease = result.unwrap();
                assert_eq!(lease.key(), &key());
                assert_eq!(lease.token().expose_secret(), "tok");
                assert_eq!(lease.expires_at_epoch_seconds(), 1030);
                assert_eq!(lease.fence(), FencingToken::new(7));
            }
            // No updated item, or one without a fencing token: the store ignored UPDATED_NEW.
            StoreResponse::Applied { .. } => {
                assert_unexpected(&result.unwrap_err(), Operation::Acquire);
            }
            StoreResponse::ConditionFailed { old_item } => {
                let err = result.unwrap_err();
                match old_item {
                    None => assert!(
                        matches!(&err, LeaseError::Held { key: k, holder: Holder::Unknown } if *k == key()),
                        "{err:?}"
                    ),
                    Some(item) if item == malformed_item() => assert!(
                        matches!(
                            &err,
                            LeaseError::MalformedItem { key: k, error: DecodeError::WrongType { .. } }
                                if *k == key()
                        ),
                        "{err:?}"
                    ),
                    Some(_) => assert!(
                        matches!(&err, LeaseError::Held { key: k, holder: Holder::Known(_) } if *k == key()),
                        "{err:?}"
                    ),
                }
            }
            StoreResponse::Item(_) => assert_unexpected(&result.unwrap_err(), Operation::Acquire),
            other => panic!("untested response {other:?}"),
        }
    }
}

#[test]
fn refresh_reads_every_response() {
    for response in responses() {
        let result = refresh(Ok(response.clone()));
        match response {
            StoreResponse::Applied { .. } => {
                let lease = result.unwrap();
                assert_eq!(lease.key(), &key());
                assert_eq!(lease.token().expose_secret(), "tok");
                assert_eq!(lease.expires_at_epoch_seconds(), 1060);
                assert_eq!(lease.fence(), FencingToken::new(FENCE), "kept");
            }
            // An old item (if a store sends one anyway, readable or not) does not change the
            // outcome.
            StoreResponse::ConditionFailed { .. } => {
                let err = result.unwrap_err();
                assert!(
                    matches!(&err, LeaseError::NotOwned { key: k } if *k == key()),
                    "{err:?}"
                );
            }
            StoreResponse::Item(_) => assert_unexpected(&result.unwrap_err(), Operation::Refresh),
            other => panic!("untested response {other:?}"),
        }
    }
}

#[test]
fn release_reads_every_response() {
    for response in responses() {
        let result = release(Ok(response.clone()));
        match response {
            StoreResponse::Applied { .. } => assert_eq!(result.unwrap(), ReleaseOutcome::Released),
            StoreResponse::ConditionFailed { .. } => {
                assert_eq!(result.unwrap(), ReleaseOutcome::NotHeld);
            }
            StoreResponse::Item(_) => assert_unexpected(&result.unwrap_err(), Operation::Release),
            other => panic!("untested response {other:?}"),
        }
    }
}

#[test]
fn inspect_reads_every_response() {
    for response in responses() {
        let result = inspect(Ok(response.clone()));
        match response {
            StoreResponse::Item(None) => {
                let snapshot = result.unwrap();
                assert_eq!(
                    (snapshot.key, snapshot.state, snapshot.value),
                    (key(), StoredState::Absent, None)
                );
            }
            // Expiry 1050 is after now (1000).
            StoreResponse::Item(Some(_)) => {
                let snapshot = result.unwrap();
                assert_eq!(snapshot.key, key());
                assert!(snapshot.state.is_held(), "{snapshot:?}");
            }
            StoreResponse::Applied { .. } | StoreResponse::ConditionFailed { .. } => {
                assert_unexpected(&result.unwrap_err(), Operation::Inspect);
            }
            other => panic!("untested response {other:?}"),
        }
    }
}

/// An underlying cause, to check that it survives into the error chain.
#[derive(Debug)]
struct Cause;

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection reset")
    }
}

impl std::error::Error for Cause {}

fn store_error(kind: StoreErrorKind) -> StoreError {
    StoreError::new(kind, "ProvisionedThroughputExceededException: slow down").with_source(Cause)
}

/// The error is `OutcomeUnknown` for `op` if `kind` may have applied the request, else `Store`;
/// either way it names the key, and the store error and its cause are its sources.
fn assert_store_error(err: &LeaseError, op: Operation, kind: StoreErrorKind) {
    let (operation, k, source) = match err {
        LeaseError::OutcomeUnknown {
            operation,
            key,
            source,
        } => {
            assert!(
                kind.outcome_may_be_applied() && op != Operation::Inspect,
                "{kind:?}: {err:?}"
            );
            assert!(err.is_outcome_unknown());
            assert!(err.to_string().contains("unknown"), "{err}");
            (operation, key, source)
        }
        LeaseError::Store {
            operation,
            key,
            source,
        } => {
            assert!(
                !kind.outcome_may_be_applied() || op == Operation::Inspect,
                "{kind:?}: {err:?}"
            );
            assert!(!err.is_outcome_unknown());
            (operation, key, source)
        }
        other => panic!("expected OutcomeUnknown or Store, got {other:?}"),
    };
    // Printed on its own, the error names the operation and key; its report adds what kind
    // of store failure it was, once.
    let shown = err.to_string();
    assert!(shown.contains("CACHE#A"), "{shown}");
    let report = err.report().to_string();
    assert_eq!(
        report.matches(&format!("store {kind}")).count(),
        1,
        "{report}"
    );
    assert_eq!(*operation, op);
    assert_eq!(*k, key());
    assert_eq!(source.kind(), kind);
    assert_eq!(
        source.message(),
        "ProvisionedThroughputExceededException: slow down"
    );
    assert!(!err.is_held() && !err.is_not_owned() && !err.is_invalid_input());
    assert!(err.to_string().contains("CACHE#A/LOCK"), "{err}");
    assert!(err.to_string().contains(&op.to_string()), "{err}");

    let store = err
        .source()
        .and_then(|e| e.downcast_ref::<StoreError>())
        .expect("the store error is the source");
    assert_eq!(store.kind(), kind);
    let cause = store.source().expect("the cause is kept");
    assert!(cause.downcast_ref::<Cause>().is_some());
    assert_eq!(cause.to_string(), "connection reset");
}

#[test]
fn store_errors_keep_their_kind_for_every_operation() {
    for kind in KINDS {
        assert_store_error(
            &acquire(Err(store_error(kind))).unwrap_err(),
            Operation::Acquire,
            kind,
        );
        assert_store_error(
            &refresh(Err(store_error(kind))).unwrap_err(),
            Operation::Refresh,
            kind,
        );
        assert_store_error(
            &release(Err(store_error(kind))).unwrap_err(),
            Operation::Release,
            kind,
        );
        assert_store_error(
            &inspect(Err(store_error(kind))).unwrap_err(),
            Operation::Inspect,
            kind,
        );
    }
}

/// Which kinds end in `OutcomeUnknown`, spelled out (not derived from the predicate the
/// implementation uses): timeouts, server errors and unclassified failures may have applied the
/// write; throttling, validation, a missing table and denied access did not.
#[test]
fn outcome_unknown_exactly_for_timeout_unavailable_and_other() {
    use StoreErrorKind as K;
    for (kind, unknown) in [
        (K::Throttled, false),
        (K::Timeout, true),
        (K::Unavailable, true),
        (K::Validation, false),
        (K::ResourceNotFound, false),
        (K::AccessDenied, false),
        (K::Other, true),
    ] {
        // A read changes nothing: its failures are never an unknown outcome.
        let results = [
            (acquire(Err(store_error(kind))).map(drop), unknown),
            (refresh(Err(store_error(kind))).map(drop), unknown),
            (release(Err(store_error(kind))).map(drop), unknown),
            (inspect(Err(store_error(kind))).map(drop), false),
        ];
        for (result, unknown) in results {
            let err = result.unwrap_err();
            if unknown {
                assert!(
                    matches!(err, LeaseError::OutcomeUnknown { .. }),
                    "{kind:?}: {err:?}"
                );
            } else {
                assert!(matches!(err, LeaseError::Store { .. }), "{kind:?}: {err:?}");
            }
        }
    }
}

#[test]
fn store_error_kinds_classify_retry_and_ambiguity() {
    use StoreErrorKind as K;
    let ambiguous: Vec<_> = KINDS
        .into_iter()
        .filter(|k| k.outcome_may_be_applied())
        .collect();
    assert_eq!(ambiguous, [K::Timeout, K::Unavailable, K::Other]);
    let transient: Vec<_> = KINDS.into_iter().filter(|k| k.is_transient()).collect();
    assert_eq!(transient, [K::Throttled, K::Timeout, K::Unavailable]);
}

#[test]
fn store_error_display_includes_the_kind_and_message() {
    let err = StoreError::new(StoreErrorKind::Timeout, "no answer in 3 s");
    assert_eq!(err.to_string(), "store timed out: no answer in 3 s");
    assert!(err.source().is_none());
    assert_eq!(
        StoreError::new(StoreErrorKind::Throttled, "").to_string(),
        "store throttled"
    );
}
