//! B12: a guard dropped without release stops renewing at once and releases (best effort), and
//! dropping never panics, with or without a runtime.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::{World, ms, secs, settle};
use lease_memory::{
    GuardOptions, LeaseConfig, LeaseKey, LeaseManager, LeaseStatus, MemoryStore, ReleaseOutcome,
    WaitPolicy, snapshot::StoredState, store::StoreErrorKind,
};

/// B12: L=10, H=3. Task T of a long-lived process P acquires a guard at t=0 and is cancelled
/// at t=1 (the guard is dropped, not released). P sends nothing but the release after that,
/// and Q, waiting for the lease, gets it at once.
#[tokio::test(start_paused = true)]
async fn b12_dropped_guard_stops_renewing_and_releases() {
    let w = World::new();
    let p_store = w.faulty();
    let p = w.manager("p", &p_store);
    let (context_tx, context_rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn({
        let (p, key) = (p.clone(), w.key());
        async move {
            let guard = p
                .acquire_guard(key, secs(10), GuardOptions::default().renew_every(secs(3)))
                .await
                .unwrap();
            context_tx.send(guard.context()).unwrap();
            std::future::pending::<()>().await;
        }
    });
    let context = context_rx.await.unwrap();
    w.sleep_until(secs(1)).await;
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    assert!(
        context.stop_signal().is_stopped(),
        "work under the lease must stop at once"
    );
    settle(|| p.metrics().active_guards == 0).await;
    assert!(matches!(context.status(), LeaseStatus::Released));
    assert!(matches!(w.state(&w.key()).await, StoredState::Released(_)));

    let q = w.manager("q", &w.faulty());
    q.acquire(w.key(), secs(10), &WaitPolicy::with_timeout(secs(60)))
        .await
        .unwrap();
    assert_eq!(w.at(), secs(1), "Q waited for a lease that was released");
    w.sleep_until(secs(30)).await;
    assert_eq!(
        p_store.requests_seen(),
        2,
        "P sent more than its acquire and its release"
    );
    assert_eq!(p.metrics().released, 1);
}

/// B12 when the best-effort release cannot land (P's store is unreachable when the guard is
/// dropped): renewals still stop at once, and Q gets the lease when it expires (t=10), not
/// later.
#[tokio::test(start_paused = true)]
async fn b12_dropped_guard_whose_release_fails_expires() {
    let w = World::new();
    let p_store = w.faulty();
    let p = w.manager("p", &p_store);
    let guard = p
        .acquire_guard(
            w.key(),
            secs(10),
            GuardOptions::default().renew_every(secs(3)),
        )
        .await
        .unwrap();
    w.sleep_until(secs(1)).await;
    p_store.set_outage(Some(StoreErrorKind::Unavailable));
    drop(guard);
    // The best-effort release is retried by the manager (25 + 50 ms), then given up.
    w.sleep_until(ms(1_100)).await;
    assert_eq!(p.metrics().active_guards, 0);
    let sent = p_store.requests_seen();
    assert_eq!(sent, 4, "acquire, and three attempts of the release");

    let q = w.manager("q", &w.faulty());
    q.acquire(w.key(), secs(10), &WaitPolicy::with_timeout(secs(60)))
        .await
        .unwrap();
    assert_eq!(w.at(), secs(10));
    w.sleep_until(secs(30)).await;
    assert_eq!(p_store.requests_seen(), sent, "P renewed after the drop");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A manager on the system clock (real time: nothing here waits).
fn system_manager() -> (Arc<LeaseManager<MemoryStore>>, MemoryStore, LeaseKey) {
    let config = LeaseConfig::builder("locks").build().unwrap();
    let store = MemoryStore::for_config(&config);
    let manager = Arc::new(LeaseManager::new(store.clone(), config));
    (manager, store, LeaseKey::new("CACHE#A", "LOCK"))
}

/// B12: dropping a guard never panics: outside any runtime (after its runtime was dropped),
/// and inside a runtime that is shutting down (the guard is dropped with a pending task).
/// A guard whose driver task is gone keeps reporting its lease held until the safe deadline
/// (nothing renews it, so it is lost then: see `lapse::*`), and can still be released from
/// another runtime, which drives the release itself.
#[test]
fn b12_drop_without_runtime_does_not_panic() {
    // Dropped outside any runtime.
    let (manager, _store, key) = system_manager();
    let rt = runtime();
    let guard = rt
        .block_on(manager.acquire_guard(key, secs(30), GuardOptions::default()))
        .unwrap();
    drop(rt);
    assert!(guard.status().is_held(), "{:?}", guard.status());
    assert!(guard.is_valid());
    drop(guard);

    // Dropped by a runtime shutting down, inside the task that held it.
    let (manager, _store, key) = system_manager();
    let rt = runtime();
    rt.block_on(async {
        let manager = manager.clone();
        tokio::spawn(async move {
            let _guard = manager
                .acquire_guard(key, secs(30), GuardOptions::default())
                .await
                .unwrap();
            std::future::pending::<()>().await;
        });
        tokio::time::sleep(ms(10)).await;
    });
    drop(rt);
    assert_eq!(manager.metrics().acquired, 1);

    // Released from another runtime after its own runtime is gone.
    let (manager, store, key) = system_manager();
    let guard = runtime()
        .block_on(manager.acquire_guard(key.clone(), secs(30), GuardOptions::default()))
        .unwrap();
    let outcome = runtime().block_on(guard.release()).unwrap();
    assert_eq!(outcome, ReleaseOutcome::Released);
    let reader = LeaseManager::new(store, LeaseConfig::builder("locks").build().unwrap());
    let state = runtime().block_on(reader.inspect(key)).unwrap().state;
    assert!(matches!(state, StoredState::Released(_)), "{state:?}");
}
