//! Manager shutdown releases every guarded lease; the counters count each event.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{World, ms, secs};
use lease_memory::{
    GuardOptions, LeaseError, LeaseStatus, LossReason, ReleaseOutcome, fault::Fault,
    fault::FaultRule, fault::RequestKind, snapshot::StoredState, store::AttributeValue,
    store::StoreErrorKind,
};

/// One call releases every lease the manager's guards hold, stops every renewal, and tells
/// each guard (lost: shutdown). Nothing is sent after it returns; later guards are refused.
#[tokio::test(start_paused = true)]
async fn shutdown_releases_everything() {
    let w = World::new();
    let store = w.faulty();
    let m = w.manager("m", &store);
    let mut guards = Vec::new();
    for i in 0..5 {
        let key = w.key_of(&format!("CACHE#{i}"));
        // The jitter off: every first renewal at t=3.33 s, after the fault is set up.
        let options = GuardOptions::default().renew_jitter(0.0);
        guards.push(m.acquire_guard(key, secs(10), options).await.unwrap());
    }
    // One of them is at risk when the shutdown comes (its renewal is throttled once).
    w.sleep_until(secs(2)).await;
    store.push_rule(
        FaultRule::new(Fault::Transient(StoreErrorKind::Throttled))
            .on_key_attribute("pk", AttributeValue::string("CACHE#0"))
            .times(3),
    );
    w.sleep_until(ms(3_450)).await;
    assert_eq!(guards.iter().filter(|g| g.status().is_at_risk()).count(), 1);

    m.shutdown().await;
    let sent = store.requests_seen();
    for guard in &guards {
        assert!(
            matches!(guard.status(), LeaseStatus::Lost(LossReason::Shutdown)),
            "{guard:?}"
        );
        assert!(guard.stop_signal().is_stopped());
        assert!(matches!(
            w.state(guard.key()).await,
            StoredState::Released(_)
        ));
    }
    let metrics = m.metrics();
    assert_eq!(
        (metrics.released, metrics.active_guards, metrics.lost),
        (5, 0, 0)
    );

    let refused = m
        .acquire_guard(w.key_of("CACHE#9"), secs(10), GuardOptions::default())
        .await;
    assert!(
        matches!(refused, Err(LeaseError::ManagerShutDown { .. })),
        "{refused:?}"
    );
    // The shutdown ended the leases before their holders let go: their releases say so.
    for guard in guards {
        let released = guard.release().await.unwrap_err();
        assert!(
            matches!(
                released,
                LeaseError::Lost {
                    reason: LossReason::Shutdown,
                    ..
                }
            ),
            "{released:?}"
        );
    }
    w.sleep_until(secs(60)).await;
    assert_eq!(store.requests_seen(), sent, "requests after shutdown");
    m.shutdown().await; // again: returns at once
}

/// Each event moves exactly its counter: acquired, contended, renewed, renew failures, lost,
/// released.
#[tokio::test(start_paused = true)]
async fn metrics_count_each_event() {
    let w = World::new();
    let a_store = w.faulty();
    let a = w.manager("a", &a_store);
    let b = w.manager("b", &w.faulty());
    let options = GuardOptions::default().renew_every(secs(3));

    let guard = a
        .acquire_guard(w.key(), secs(10), options.clone())
        .await
        .unwrap();
    assert!(
        b.try_acquire(w.key(), secs(10))
            .await
            .unwrap_err()
            .is_held()
    );
    w.sleep_until(ms(3_500)).await; // renewed at t=3
    // The renewal at t=6 fails (all three tries throttled), its retry at t=6.175 succeeds.
    a_store.push_rule(
        FaultRule::new(Fault::Transient(StoreErrorKind::Throttled))
            .matching(RequestKind::Update)
            .times(3),
    );
    w.sleep_until(ms(6_500)).await;
    // The renewal at t≈9.2 finds the item gone: lost.
    w.delete(&w.key());
    assert!(guard.lost().await.is_not_owned());
    drop(guard);
    // A second guard, released.
    let other = a
        .acquire_guard(w.key_of("K2"), secs(10), options)
        .await
        .unwrap();
    assert_eq!(other.release().await.unwrap(), ReleaseOutcome::Released);

    let am = a.metrics();
    assert_eq!(
        (
            am.acquired,
            am.contended,
            am.renewed,
            am.renew_failures,
            am.lost,
            am.released
        ),
        (2, 0, 2, 2, 1, 1),
        "{am:?}"
    );
    let bm = b.metrics();
    assert_eq!((bm.acquired, bm.contended), (0, 1), "{bm:?}");
}
