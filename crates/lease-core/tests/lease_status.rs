//! `LeaseStatus` and `LossReason`: each predicate is true for its own variant alone, and each
//! prints what a log reader needs (a status with its reason, a loss with its last error).

#![allow(clippy::unwrap_used, clippy::expect_used)]
// `AtRisk` holds an `Instant`; only `Instant::now` makes one.
#![allow(clippy::disallowed_methods)]

use std::sync::Arc;
use std::time::Instant;

use lease_core::{
    LeaseError, LeaseKey, LeaseStatus, LossReason, Operation, StoreError, StoreErrorKind,
};

fn store_error() -> Arc<LeaseError> {
    Arc::new(LeaseError::Store {
        operation: Operation::Refresh,
        key: LeaseKey::new("CACHE#A", "LOCK"),
        source: StoreError::new(StoreErrorKind::Throttled, "slow down"),
    })
}

fn reasons() -> [LossReason; 4] {
    [
        LossReason::NotOwned,
        LossReason::Unconfirmed { last_error: None },
        LossReason::Unconfirmed {
            last_error: Some(store_error()),
        },
        LossReason::Shutdown,
    ]
}

#[test]
fn each_status_predicate_holds_for_its_own_variant_only() {
    let at_risk = LeaseStatus::AtRisk {
        since: Instant::now(),
        last_error: store_error(),
    };
    let lost = LeaseStatus::Lost(LossReason::NotOwned);
    // (status, held, at risk, lost, released)
    let cases = [
        (LeaseStatus::Held, true, false, false, false),
        (at_risk, true, true, false, false),
        (lost, false, false, true, false),
        (LeaseStatus::Released, false, false, false, true),
    ];
    for (status, held, at_risk, lost, released) in cases {
        assert_eq!(status.is_held(), held, "{status:?}");
        assert_eq!(status.is_at_risk(), at_risk, "{status:?}");
        assert_eq!(status.is_lost(), lost, "{status:?}");
        assert_eq!(status.is_released(), released, "{status:?}");
        assert_eq!(status.loss_reason().is_some(), lost, "{status:?}");
    }
}

#[test]
fn each_loss_reason_predicate_holds_for_its_own_variant_only() {
    for reason in reasons() {
        let (not_owned, unconfirmed, shutdown) = match reason {
            LossReason::NotOwned => (true, false, false),
            LossReason::Unconfirmed { .. } => (false, true, false),
            _ => (false, false, true),
        };
        assert_eq!(reason.is_not_owned(), not_owned, "{reason:?}");
        assert_eq!(reason.is_unconfirmed(), unconfirmed, "{reason:?}");
        assert_eq!(reason.is_shutdown(), shutdown, "{reason:?}");
    }
}

#[test]
fn statuses_and_reasons_print_what_a_log_reader_needs() {
    let printed: Vec<String> = reasons().iter().map(ToString::to_string).collect();
    let error = store_error().report().to_string();
    assert!(error.contains("CACHE#A"), "{error}");
    assert_eq!(
        printed,
        [
            "not ours any more (taken over, expired or released)",
            "could not confirm the lease before its safe deadline",
            // The last error is the reason's source, not repeated in its Display.
            "could not confirm the lease before its safe deadline",
            "the lease manager was shut down",
        ]
    );
    let unconfirmed = &reasons()[2];
    let source = std::error::Error::source(unconfirmed).unwrap().to_string();
    assert!(error.starts_with(&source), "{source} / {error}");
    // A status, for a log line, says it all.
    assert_eq!(
        LeaseStatus::Lost(unconfirmed.clone()).to_string(),
        format!("lost: could not confirm the lease before its safe deadline (last error: {error})")
    );
    assert_eq!(LeaseStatus::Held.to_string(), "held");
    assert_eq!(LeaseStatus::Released.to_string(), "released");
    assert_eq!(
        LeaseStatus::Lost(LossReason::Shutdown).to_string(),
        "lost: the lease manager was shut down"
    );
    let at_risk = LeaseStatus::AtRisk {
        since: Instant::now(),
        last_error: store_error(),
    };
    assert!(at_risk.to_string().starts_with("at risk ("), "{at_risk}");
    assert!(at_risk.to_string().contains("throttled"), "{at_risk}");
}
