//! Waiting acquires: contention is not an error (B11), waits can be cancelled and end (B14),
//! and a waiter honours the holder's expiry instead of polling blindly.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};

use common::{World, ms, secs};
use lease_memory::{
    GuardOptions, LeaseError, ReleaseOutcome, WaitPolicy, fault::Fault, fault::FaultRule,
    fault::RequestKind, snapshot::Holder, snapshot::StoredState,
};

/// B11: L=5. A holds the lease from t=0 and releases it at t=2. At t=3, B and C both wait for
/// it (timeout 20 s) and race: one wins at once; the loser keeps waiting (no error) and gets
/// the lease soon after the winner releases at t=6.
#[tokio::test(start_paused = true)]
async fn b11_losing_a_race_while_waiting_is_not_an_error() {
    let w = World::new();
    let a = w.manager("a", &w.faulty());
    let la = a.try_acquire(w.key(), secs(5)).await.unwrap();
    w.sleep_until(secs(2)).await;
    assert_eq!(a.release(&la).await.unwrap(), ReleaseOutcome::Released);
    w.sleep_until(secs(3)).await;

    let acquired = Arc::new(Mutex::new(Vec::new()));
    let mut contenders = Vec::new();
    for name in ["b", "c"] {
        let (m, key, start) = (w.manager(name, &w.faulty()), w.key(), w.instant(secs(0)));
        let acquired = acquired.clone();
        contenders.push(tokio::spawn(async move {
            let policy = WaitPolicy::with_timeout(secs(20)).jitter_seed(7);
            let lease = m.acquire(key, secs(5), &policy).await?;
            acquired.lock().unwrap().push((name, start.elapsed()));
            tokio::time::sleep(secs(3)).await;
            assert_eq!(m.release(&lease).await?, ReleaseOutcome::Released);
            Ok::<_, LeaseError>(m.metrics())
        }));
    }
    let mut contended = 0;
    for contender in contenders {
        contended += contender.await.unwrap().unwrap().contended;
    }
    let acquired = acquired.lock().unwrap().clone();
    assert_eq!(acquired.len(), 2);
    assert_eq!(
        acquired[0].1,
        secs(3),
        "the winner acquires at once: {acquired:?}"
    );
    assert!(
        acquired[1].1 >= secs(6) && acquired[1].1 <= secs(7),
        "the loser gets the lease soon after the winner's release: {acquired:?}"
    );
    assert!(contended >= 1);
}

/// B11 for many contenders: eight waiters on one key each get the lease exactly once, one at a
/// time, and none fails.
#[tokio::test(start_paused = true)]
async fn many_waiters_are_served_one_at_a_time() {
    let w = World::new();
    let holds = Arc::new(Mutex::new(Vec::new()));
    let mut waiters = Vec::new();
    for i in 0..8 {
        let (m, key, start) = (
            w.manager(&format!("w{i}"), &w.faulty()),
            w.key(),
            w.instant(secs(0)),
        );
        let holds = holds.clone();
        waiters.push(tokio::spawn(async move {
            let policy = WaitPolicy::with_timeout(secs(120)).jitter_seed(i);
            let lease = m.acquire(key, secs(10), &policy).await?;
            let from = start.elapsed();
            tokio::time::sleep(ms(1_500)).await;
            holds.lock().unwrap().push((from, start.elapsed()));
            m.release(&lease).await
        }));
    }
    for waiter in waiters {
        assert_eq!(waiter.await.unwrap().unwrap(), ReleaseOutcome::Released);
    }
    let mut holds = holds.lock().unwrap().clone();
    holds.sort();
    assert_eq!(holds.len(), 8);
    for pair in holds.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "two holders at once: {pair:?}");
    }
}

/// B14: L=60; A holds and renews the lease. B waits with no timeout; at t=2 B's caller drops
/// the wait. B sends no request after that, even one that was in flight is never applied, and
/// closing B's manager returns at once.
#[tokio::test(start_paused = true)]
async fn b14_dropping_the_wait_stops_requests() {
    let w = World::new();
    let a = w.manager("a", &w.faulty());
    let _guard = a
        .acquire_guard(w.key(), secs(60), GuardOptions::default())
        .await
        .unwrap();

    let b_store = w.faulty();
    let b = w.manager("b", &b_store);
    let waited = tokio::time::timeout(
        secs(2),
        b.acquire(
            w.key(),
            secs(60),
            &WaitPolicy::without_timeout().jitter_seed(1),
        ),
    )
    .await;
    assert!(waited.is_err(), "the wait should still be waiting");
    let sent = b_store.requests_seen();
    assert!((2..=4).contains(&sent), "{sent} requests in 2 s");

    w.sleep_until(secs(150)).await;
    assert_eq!(
        b_store.requests_seen(),
        sent,
        "B kept polling after its wait was dropped"
    );
    let closing = w.at();
    b.shutdown().await;
    assert_eq!(w.at(), closing);

    // Dropped while its request is in flight (slow to reach the store): never applied.
    let c_store = w.faulty();
    c_store.push_rule(FaultRule::new(Fault::Delay(secs(5))).matching(RequestKind::Update));
    let c = w.manager("c", &c_store);
    w.sleep_until(secs(200)).await; // A's guard still renews: the lease stays A's
    let waited = tokio::time::timeout(
        secs(1),
        c.acquire(w.key(), secs(60), &WaitPolicy::without_timeout()),
    )
    .await;
    assert!(waited.is_err());
    w.sleep_until(secs(300)).await;
    assert_eq!(c_store.requests_seen(), 1);
    let StoredState::Held(info) = w.state(&w.key()).await else {
        panic!("A's lease is gone");
    };
    assert_eq!(
        info.token,
        lease_memory::snapshot::TokenFingerprint::of("a-1")
    );
}

/// A wait ends: when the timeout passes with the lease still held, the error says so and names
/// the holder (B14, "waits that never end").
#[tokio::test(start_paused = true)]
async fn wait_times_out_with_the_holder() {
    let w = World::new();
    let a = w.manager("a", &w.faulty());
    let guard = a
        .acquire_guard(w.key(), secs(30), GuardOptions::default())
        .await
        .unwrap();
    let b = w.manager("b", &w.faulty());
    let err = b
        .acquire(w.key(), secs(30), &WaitPolicy::with_timeout(secs(5)))
        .await
        .unwrap_err();
    assert_eq!(w.at(), secs(5));
    assert!(err.is_wait_timed_out(), "{err:?}");
    let LeaseError::WaitTimedOut {
        holder: Holder::Known(info),
        ..
    } = err
    else {
        panic!("no holder: {err:?}");
    };
    assert_eq!(info.fence, Some(guard.fence()));
}

/// No blind polling: a waiter learns the holder's expiry from its first attempt and tries
/// again exactly when the lease expires (2 requests for a 30 s wait), or, with a smaller
/// `max_delay`, every `max_delay` to notice an early release, no more often.
#[tokio::test(start_paused = true)]
async fn waiting_honours_the_holder_expiry() {
    // A crashed holder: the waiter tries at t=0 and at its expiry, t=30.
    let w = World::new();
    let a = w.manager("a", &w.faulty());
    a.try_acquire(w.key_of("K1"), secs(30)).await.unwrap();
    let b_store = w.faulty();
    let b = w.manager("b", &b_store);
    let patient = WaitPolicy::with_timeout(secs(60)).max_delay(secs(60));
    b.acquire(w.key_of("K1"), secs(30), &patient).await.unwrap();
    assert_eq!(w.at(), secs(30));
    assert_eq!(b_store.requests_seen(), 2);

    // max_delay 10 s, no jitter: tries at 30, 40, 50 and 60 (the expiry).
    let start = w.at();
    a.try_acquire(w.key_of("K2"), secs(30)).await.unwrap();
    let c_store = w.faulty();
    let c = w.manager("c", &c_store);
    let polling = WaitPolicy::with_timeout(secs(60))
        .max_delay(secs(10))
        .jitter(0.0);
    c.acquire(w.key_of("K2"), secs(30), &polling).await.unwrap();
    assert_eq!(w.at() - start, secs(30));
    assert_eq!(c_store.requests_seen(), 4);

    // An early release (t=12 of a 30 s lease) is noticed within max_delay.
    let start = w.at();
    let held = a.try_acquire(w.key_of("K3"), secs(30)).await.unwrap();
    let release_at = w.instant(start + secs(12));
    let releaser = tokio::spawn({
        let a = a.clone();
        async move {
            tokio::time::sleep_until(release_at).await;
            assert_eq!(a.release(&held).await.unwrap(), ReleaseOutcome::Released);
        }
    });
    c.acquire(w.key_of("K3"), secs(30), &polling).await.unwrap();
    releaser.await.unwrap();
    assert_eq!(w.at() - start, secs(20));
}

/// With the holder's expiry unknown, delays start at `initial_delay` and double up to
/// `max_delay` (jitter off here).
#[tokio::test(start_paused = true)]
async fn unknown_holder_is_polled_with_capped_backoff() {
    let w = World::new();
    let a_store = w.faulty();
    let a = w.manager("a", &a_store);
    // The store cannot be reached: each attempt fails (after the manager's 3 tries).
    a_store.set_outage(Some(lease_memory::store::StoreErrorKind::Unreachable));
    let policy = WaitPolicy::with_timeout(secs(2))
        .initial_delay(ms(100))
        .max_delay(ms(400))
        .jitter(0.0);
    let err = a.acquire(w.key(), secs(10), &policy).await.unwrap_err();
    assert!(
        matches!(&err, LeaseError::Store { .. }),
        "the last store error: {err:?}"
    );
    // Attempts (3 requests each, over 75 ms of the manager's backoff) start at 0, 0.175,
    // 0.45, 0.925, 1.4, 1.875 and, the last one, at the deadline: 2.0.
    assert_eq!(a_store.requests_seen(), 7 * 3);
    assert_eq!(w.at(), ms(2_075));
}

/// B37: a throttled store makes the waiter back off beyond max_delay.
#[tokio::test(start_paused = true)]
async fn throttled_attempts_back_off_beyond_max_delay() {
    let w = World::new();
    let a_store = w.faulty();
    let a = w.manager("a", &a_store);
    // The store throttles every request: each attempt fails (after the manager's 3 tries).
    a_store.set_outage(Some(lease_memory::store::StoreErrorKind::Throttled));
    let policy = WaitPolicy::with_timeout(secs(2))
        .initial_delay(ms(100))
        .max_delay(ms(400))
        .jitter(0.0);
    let err = a.acquire(w.key(), secs(10), &policy).await.unwrap_err();
    assert!(
        matches!(&err, LeaseError::Store { .. }),
        "the last store error: {err:?}"
    );
    // B37: after a throttled attempt the wait is max_delay, doubled per throttled attempt in
    // a row. Attempts (3 requests each, over 75 ms of the manager's backoff) start at 0,
    // 0.475, 1.35 and, the last one, at the deadline: 2.0 (not 1.35 + 1.6).
    assert_eq!(a_store.requests_seen(), 4 * 3);
    assert_eq!(w.at(), ms(2_075));
}
