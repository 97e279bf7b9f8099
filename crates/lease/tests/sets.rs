//! Lease sets through the manager (issue 13, third part): a guarded set renews every key
//! together and is lost when any key is; a waiting acquire of an overlapping set is served
//! once the keys free up. Exact instants under tokio's paused clock. Lease 10 s, skew 1 s.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{World, ms, secs};
use lease_memory::snapshot::StoredState;
use lease_memory::{
    GuardOptions, LeaseError, LeaseKey, LeaseStatus, LossReason, ReleaseOutcome, WaitPolicy,
};

fn keys(names: &[&str]) -> Vec<LeaseKey> {
    names.iter().map(|n| LeaseKey::new(*n, "LOCK")).collect()
}

/// A guarded set renews both keys past their first expiry; a waiter for an overlapping set (in
/// another order) waits, holding nothing, and gets every key at its next attempt after the
/// release.
#[tokio::test(start_paused = true)]
async fn a_guarded_set_renews_together_and_a_waiter_gets_the_keys_after_its_release() {
    let w = World::new();
    let store = w.faulty();
    let (a, b) = (w.manager("a", &store), w.manager("b", &store));
    let guard = a
        .acquire_set_guard(keys(&["A", "B"]), secs(10), GuardOptions::default())
        .await
        .unwrap();
    let fence_b = guard.fence(&LeaseKey::new("B", "LOCK")).unwrap();

    let policy = WaitPolicy::with_timeout(secs(60)).max_delay(ms(500));
    let waiter = {
        let b = b.clone();
        tokio::spawn(async move { b.acquire_set(keys(&["C", "B"]), secs(10), &policy).await })
    };
    w.sleep_until(secs(25)).await;
    assert!(!waiter.is_finished(), "B is held");
    assert!(matches!(guard.status(), LeaseStatus::Held));
    for key in keys(&["A", "B"]) {
        assert!(matches!(w.state(&key).await, StoredState::Held(_)), "{key}");
    }
    assert!(
        matches!(
            w.state(&LeaseKey::new("C", "LOCK")).await,
            StoredState::Absent
        ),
        "the waiter holds nothing while it waits"
    );

    let released_at = w.at();
    assert_eq!(guard.release().await.unwrap(), ReleaseOutcome::Released);
    let set = waiter.await.unwrap().unwrap();
    assert!(w.at() - released_at <= ms(500), "served within max_delay");
    assert!(set.fence(&LeaseKey::new("B", "LOCK")).unwrap() > fence_b);
    assert!(matches!(
        w.state(&LeaseKey::new("A", "LOCK")).await,
        StoredState::Released(_)
    ));
}

/// When one key of a guarded set is taken over (its item deleted and acquired by another), the
/// next renewal finds it not ours: the guard is lost, and its release frees the other key.
#[tokio::test(start_paused = true)]
async fn a_set_with_a_key_taken_over_is_lost_and_its_release_frees_the_rest() {
    let w = World::new();
    let store = w.faulty();
    let (a, b) = (w.manager("a", &store), w.manager("b", &store));
    let guard = a
        .acquire_set_guard(keys(&["A", "B"]), secs(10), GuardOptions::default())
        .await
        .unwrap();
    let b_key = LeaseKey::new("B", "LOCK");
    w.delete(&b_key);
    let thief = b.try_acquire(b_key.clone(), secs(60)).await.unwrap();
    let reason = tokio::time::timeout(secs(10), guard.lost()).await.unwrap();
    assert!(matches!(reason, LossReason::NotOwned), "{reason:?}");
    let err = guard.release().await.unwrap_err();
    assert!(err.is_lost(), "{err:?}");
    assert_eq!(err.key(), &b_key, "the error names the key that was lost");
    assert!(matches!(
        w.state(&LeaseKey::new("A", "LOCK")).await,
        StoredState::Released(_)
    ));
    match w.state(&b_key).await {
        StoredState::Held(info) => assert_eq!(info.token, thief.token().fingerprint()),
        other => panic!("{other:?}"),
    }
}

/// A waiting acquire of a set that stays held ends with WaitTimedOut naming a held key.
#[tokio::test(start_paused = true)]
async fn a_set_wait_times_out_naming_a_held_key() {
    let w = World::new();
    let store = w.faulty();
    let (a, b) = (w.manager("a", &store), w.manager("b", &store));
    let _held = a.try_acquire("B", secs(600)).await.unwrap();
    let err = b
        .acquire_set(
            keys(&["A", "B"]),
            secs(10),
            &WaitPolicy::with_timeout(secs(3)),
        )
        .await
        .unwrap_err();
    match err {
        LeaseError::WaitTimedOut { key, .. } => assert_eq!(key, LeaseKey::new("B", "LOCK")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        w.state(&LeaseKey::new("A", "LOCK")).await,
        StoredState::Absent
    ));
}
