//! `LeaseError`'s `Display` never repeats its source: an error-chain printer shows each reason
//! once (issue 11).

use std::error::Error;

use std::sync::Arc;

use lease_core::{
    DecodeError, InvalidInput, LeaseError, LeaseKey, LossReason, Operation, StoreError,
    StoreErrorKind,
};

fn key() -> LeaseKey {
    LeaseKey::new("CACHE#A", "LOCK")
}

/// Every variant that has a cause, with a cause whose text is distinctive.
fn with_causes() -> Vec<LeaseError> {
    let store = || StoreError::new(StoreErrorKind::Timeout, "socket read timed out after 3.1 s");
    vec![
        LeaseError::InvalidInput {
            operation: Operation::Acquire,
            key: key(),
            reason: InvalidInput::TokenTooLong { len: 4096 },
        },
        LeaseError::MalformedItem {
            key: key(),
            error: DecodeError::MissingAttribute {
                attribute: "lease_expires_at".to_owned(),
            },
        },
        LeaseError::Store {
            operation: Operation::Release,
            key: key(),
            source: StoreError::new(StoreErrorKind::Throttled, "rate of requests exceeds 42"),
        },
        LeaseError::OutcomeUnknown {
            operation: Operation::Refresh,
            key: key(),
            source: store(),
        },
        LeaseError::Lost {
            key: key(),
            reason: LossReason::Unconfirmed {
                last_error: Some(Arc::new(LeaseError::Store {
                    operation: Operation::Refresh,
                    key: key(),
                    source: StoreError::new(StoreErrorKind::Throttled, "slow down, 7 requests"),
                })),
            },
        },
    ]
}

#[test]
fn display_names_the_operation_and_key_and_leaves_the_cause_to_source() {
    for error in with_causes() {
        let shown = error.to_string();
        let source = error
            .source()
            .expect("a variant with a cause returns it as its source");
        let cause = source.to_string();
        assert!(
            !shown.contains(&cause),
            "{shown:?} repeats its source {cause:?}"
        );
        assert!(shown.contains("CACHE#A/LOCK"), "{shown:?} names no key");
        // The cause is reachable through the chain, once.
        let mut chain = vec![shown];
        let mut next = error.source();
        while let Some(cause) = next {
            chain.push(cause.to_string());
            next = cause.source();
        }
        let joined = chain.join(": ");
        assert_eq!(joined.matches(&cause).count(), 1, "{joined}");
    }
}

#[test]
fn variants_without_a_cause_say_it_all() {
    let held = LeaseError::NotOwned { key: key() };
    assert!(held.source().is_none());
    assert!(held.to_string().contains("not owned"));
}
