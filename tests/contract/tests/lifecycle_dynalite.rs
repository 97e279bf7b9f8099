//! The lease lifecycle (guards, waiting, loss) on a real DynamoDB-compatible server, dynalite at
//! `LEASE_DYNALITE_ENDPOINT`, with real time: the happy path, contention, and loss by expiry.
//! Leases of 2–3 s keep it short. The deterministic scenarios of every fault class run on
//! lease-memory (`crates/lease/tests`); these show the same code works against a server.
//!
//! A missing endpoint fails the tests (see `ServerBackend`): `scripts/test.sh` sets it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use lease::{
    GuardOptions, LeaseConfig, LeaseKey, LeaseManager, LeaseStatus, LossReason, ReleaseOutcome,
    WaitPolicy, snapshot::StoredState, store::Store, store::StoreErrorKind,
};
use lease_contract_tests::{Backend, ServerBackend};
use lease_memory::fault::FaultyStore;

/// A fresh table on dynalite, with a 500 ms clock skew bound (the server and the managers
/// share this machine's clock; the bound is the margin a contender's request has after the
/// holder is told its lease is lost, so it is generous for a loaded CI machine).
async fn table(case: &str) -> (impl Store + Clone + 'static, LeaseConfig) {
    let name = format!("lifecycle-{case}-{}", uuid::Uuid::new_v4().simple());
    let config = LeaseConfig::builder(name)
        .max_clock_skew(Duration::from_millis(500))
        .build()
        .unwrap();
    let store = ServerBackend::dynalite().open(&config).await;
    (store, config)
}

fn key() -> LeaseKey {
    LeaseKey::new("JOB#lifecycle", "LOCK")
}

/// A guard keeps a 3 s lease through 4 s of work (renewing every second): a contender is
/// refused throughout, the fencing token stays, and the release frees the lease at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn happy_path_guard_renews_past_its_duration_and_releases() {
    let (store, config) = table("happy").await;
    let a = Arc::new(LeaseManager::new(store.clone(), config.clone()));
    let b = LeaseManager::new(store, config);
    let guard = a
        .acquire_guard(key(), Duration::from_secs(3), GuardOptions::default())
        .await
        .unwrap();
    let fence = guard.fence();
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(
            b.try_acquire(key(), Duration::from_secs(2))
                .await
                .unwrap_err()
                .is_held()
        );
        assert!(guard.status().is_held(), "{:?}", guard.status());
        assert_eq!(guard.fence(), fence);
    }
    assert!(a.metrics().renewed >= 3, "{:?}", a.metrics());
    assert_eq!(guard.release().await.unwrap(), ReleaseOutcome::Released);
    let lease = b.try_acquire(key(), Duration::from_secs(2)).await.unwrap();
    assert!(lease.fence() > fence);
}

/// Contention: while A's guard holds the lease, B's waiting acquire keeps waiting (no error);
/// when A releases, B gets the lease. A second waiter with a short timeout gives up with
/// `WaitTimedOut`, naming A's lease (dynalite returns no old item: the holder is read).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contention_waiter_gets_the_lease_after_release() {
    let (store, config) = table("contention").await;
    let a = Arc::new(LeaseManager::new(store.clone(), config.clone()));
    let b = Arc::new(LeaseManager::new(store.clone(), config.clone()));
    let c = LeaseManager::new(store, config);
    let guard = a
        .acquire_guard(key(), Duration::from_secs(3), GuardOptions::default())
        .await
        .unwrap();
    let waiter = tokio::spawn({
        let b = b.clone();
        async move {
            let policy = WaitPolicy::with_timeout(Duration::from_secs(10))
                .max_delay(Duration::from_millis(200));
            b.acquire(key(), Duration::from_secs(3), &policy).await
        }
    });
    let err = c
        .acquire(
            key(),
            Duration::from_secs(3),
            &WaitPolicy::with_timeout(Duration::from_millis(300)),
        )
        .await
        .unwrap_err();
    assert!(err.is_wait_timed_out(), "{err:?}");
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(!waiter.is_finished(), "B acquired while A held the lease");
    assert_eq!(guard.release().await.unwrap(), ReleaseOutcome::Released);
    let lease = waiter.await.unwrap().unwrap();
    assert!(b.metrics().contended >= 1);
    assert_eq!(b.release(&lease).await.unwrap(), ReleaseOutcome::Released);
}

/// Loss by expiry: A's store becomes unreachable (for A only); A's guard reports the lease at
/// risk, then lost (unconfirmed) at its safe deadline, before the lease expires on the server:
/// B, trying right after A is told, is still refused, and gets the lease by waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loss_by_expiry_is_signalled_before_takeover() {
    let (store, config) = table("expiry").await;
    let a_store = FaultyStore::new(store.clone());
    let a = Arc::new(LeaseManager::new(a_store.clone(), config.clone()));
    let b = LeaseManager::new(store, config);
    let guard = a
        .acquire_guard(key(), Duration::from_secs(2), GuardOptions::default())
        .await
        .unwrap();
    let mut status = guard.subscribe();
    a_store.set_outage(Some(StoreErrorKind::Unavailable));
    status
        .wait_for(LeaseStatus::is_at_risk)
        .await
        .expect("the guard stopped reporting");
    let reason = guard.lost().await;
    assert!(
        matches!(
            reason,
            LossReason::Unconfirmed {
                last_error: Some(_)
            }
        ),
        "{reason:?}"
    );
    let refused = b
        .try_acquire(key(), Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(
        refused.is_held(),
        "taken over before A was told: {refused:?}"
    );
    let policy = WaitPolicy::with_timeout(Duration::from_secs(5));
    let lease = b
        .acquire(key(), Duration::from_secs(2), &policy)
        .await
        .unwrap();
    assert_eq!(a.metrics().lost, 1);
    drop(guard);
    let state = b.inspect(key()).await.unwrap().state;
    assert!(
        matches!(state, StoredState::Held(ref info) if info.token == lease.token().fingerprint())
    );
}
