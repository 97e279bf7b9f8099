//! The guard's signals under races and odd timing, found by review: a change published while a
//! waiter is between its read and its wait, a watch made after the end, zero retry delays, a
//! renewal waiting for its retry when the holder lets go, renewals answered after the end.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Wake, Waker};
use std::time::Duration;

use common::{World, ms, secs, settle};
use lease_memory::{
    GuardOptions, LeaseConfig, LeaseKey, LeaseManager, LeaseStatus, MemoryStore, ReleaseOutcome,
    config::RetryPolicy, fault::Fault, fault::FaultRule, fault::RequestKind, store::StoreErrorKind,
};

struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A waiter on `stopped()` (or `lost()`) that has checked the status but not yet marked the
/// published view as seen must still be woken by a change published in between. In each trial
/// a thread polls fresh futures by hand, as fast as it can, while this thread drops the guard
/// (the release is published inside the drop). Once the drop has returned, the last future the
/// thread left pending must have been woken: the watch wakes its waiters inside the publishing
/// call, so the check needs no waiting. (A probe, not a proof: the loop is raced, the check is
/// exact.)
#[test]
fn a_change_published_while_a_waiter_starts_wakes_it() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let config = LeaseConfig::builder("locks").build().unwrap();
    let manager = Arc::new(LeaseManager::new(MemoryStore::for_config(&config), config));
    for trial in 0..1000 {
        let key = LeaseKey::new(format!("CACHE#{trial}"), "LOCK");
        let guard = runtime
            .block_on(manager.acquire_guard(key, secs(60), GuardOptions::default()))
            .unwrap();
        let (stop, context) = (guard.stop_signal(), guard.context());
        let dropped = Arc::new(AtomicBool::new(false));
        let waiter = std::thread::spawn({
            let (dropped, handle) = (dropped.clone(), runtime.handle().clone());
            move || {
                // The futures sleep on tokio's timer: poll them inside the runtime's context.
                let _context = handle.enter();
                // Polls fresh waiters until one resolves (or the drop has returned); the last
                // one left pending before that is kept, with its futures, so its registration
                // stays: it is the one a publish could have slipped past.
                let mut pending = Vec::new();
                loop {
                    let done = dropped.load(Ordering::SeqCst);
                    let flag = Arc::new(Flag(AtomicBool::new(false)));
                    let waker = Waker::from(flag.clone());
                    let mut cx = Context::from_waker(&waker);
                    let mut stopped = Box::pin(stop.stopped());
                    if stopped.as_mut().poll(&mut cx).is_ready() {
                        break;
                    }
                    // `lost` never resolves on a release: it only has to register.
                    let mut lost = Box::pin(context.lost());
                    let _ = lost.as_mut().poll(&mut cx);
                    pending.clear();
                    pending.push((flag, stopped, lost));
                    if done {
                        break;
                    }
                }
                while !dropped.load(Ordering::SeqCst) {
                    std::hint::spin_loop();
                }
                pending
                    .iter()
                    .all(|(flag, _, _)| flag.0.load(Ordering::SeqCst))
            }
        });
        std::thread::sleep(Duration::from_micros(50));
        drop(guard);
        dropped.store(true, Ordering::SeqCst);
        assert!(
            waiter.join().unwrap(),
            "trial {trial}: a waiter missed the release"
        );
    }
}

/// A status watch made after the final status has nothing to wait for: `changed` is `None`
/// at once, and `wait_for` a status that never comes is `None`.
#[tokio::test(start_paused = true)]
async fn a_watch_made_after_the_end_does_not_hang() {
    let w = World::new();
    let a = w.manager("a", &w.faulty());
    let guard = a
        .acquire_guard(w.key(), secs(10), GuardOptions::default())
        .await
        .unwrap();
    let context = guard.context();
    assert_eq!(guard.release().await.unwrap(), ReleaseOutcome::Released);
    // Bounded (paused time runs the hour at once if nothing else is due): a hang fails.
    let hour = secs(3600);
    let changed = tokio::time::timeout(hour, context.subscribe().changed()).await;
    assert!(matches!(changed, Ok(None)), "{changed:?}");
    let mut watch = context.subscribe();
    let lost = tokio::time::timeout(hour, watch.wait_for(LeaseStatus::is_lost)).await;
    assert!(matches!(lost, Ok(None)), "{lost:?}");
    assert!(
        context
            .subscribe()
            .wait_for(LeaseStatus::is_released)
            .await
            .is_some()
    );

    // Past the deadline, no timer run: the watch sees the loss as its one change.
    let guard = a
        .acquire_guard(w.key(), secs(10), GuardOptions::default())
        .await
        .unwrap();
    w.clock.advance(secs(14));
    let mut watch = guard.subscribe();
    assert!(watch.current().is_lost());
    let changed = tokio::time::timeout(hour, watch.changed()).await;
    assert!(
        matches!(changed, Ok(None)),
        "made after the loss: {changed:?}"
    );
}

/// Zero retry delays do not make the guard hammer a failing store: attempts are at least
/// `MIN_RETRY_DELAY` apart. (The scenario runs on paused time in a thread of its own, joined
/// with a real-time bound: a driver that spins would starve its runtime and never finish.)
#[test]
fn zero_retry_delays_do_not_spin() {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        let sent = runtime.block_on(async {
            let w = World::new();
            let store = w.faulty();
            let a = Arc::new(
                LeaseManager::new(store.clone(), w.config.clone())
                    .with_clock(w.clock.clone())
                    .with_retry_policy(RetryPolicy::never()),
            );
            let options = GuardOptions::default()
                .renew_every(ms(300))
                .renew_jitter(0.0)
                .retry_delays(Duration::ZERO, Duration::ZERO);
            let guard = a.acquire_guard(w.key(), secs(2), options).await.unwrap();
            store.set_outage(Some(StoreErrorKind::Unavailable));
            assert!(guard.lost().await.is_unconfirmed());
            store.requests_seen()
        });
        let _ = done.send(sent);
    });
    let sent = finished
        .recv_timeout(Duration::from_secs(30))
        .expect("the guard's driver spun: the scenario did not finish");
    // From t=0.3 to the deadline at t=1: at most one attempt per 10 ms, and the acquire.
    assert!(sent <= 1 + 71, "{sent} requests");
}

/// A renewal waiting for its retry (throttled at t=3, resent after the retry policy's 25 ms)
/// when the holder lets go is dropped: after `release()` is called, the only request is the
/// release.
#[tokio::test(start_paused = true)]
async fn a_renewal_waiting_for_its_retry_is_not_sent_after_release() {
    let w = World::new();
    let store = w.faulty();
    let a = w.manager("a", &store);
    let guard = a
        .acquire_guard(
            w.key(),
            secs(10),
            GuardOptions::default()
                .renew_every(secs(3))
                .renew_jitter(0.0),
        )
        .await
        .unwrap();
    store.push_rule(
        FaultRule::new(Fault::Transient(StoreErrorKind::Throttled))
            .matching(RequestKind::Update)
            .times(1),
    );
    w.sleep_until(ms(3_010)).await;
    let before = store.requests_seen();
    assert_eq!(before, 2, "the acquire and the throttled renewal");
    assert_eq!(guard.release().await.unwrap(), ReleaseOutcome::Released);
    assert_eq!(store.requests_seen(), before + 1, "only the release");
    assert_eq!(
        w.at(),
        ms(3_010),
        "the release did not wait for the backoff"
    );
}

/// Renewals answered after the holder let go are counted: one that succeeded as renewed, one
/// that found the lease not ours as a renewal failure.
#[tokio::test(start_paused = true)]
async fn renewals_answered_after_release_are_counted() {
    let w = World::new();
    let store = w.faulty();
    let a = w.manager("a", &store);
    let guard = a
        .acquire_guard(
            w.key(),
            secs(10),
            GuardOptions::default().renew_every(secs(3)),
        )
        .await
        .unwrap();
    store.push_rule(
        FaultRule::new(Fault::ApplyThenDelay(secs(1)))
            .matching(RequestKind::Update)
            .times(1),
    );
    w.sleep_until(ms(3_500)).await;
    assert_eq!(guard.release().await.unwrap(), ReleaseOutcome::Released);
    let metrics = a.metrics();
    assert_eq!(
        (metrics.renewed, metrics.renew_failures),
        (1, 0),
        "{metrics:?}"
    );

    // The same with a renewal that finds the item gone.
    let guard = a
        .acquire_guard(
            w.key(),
            secs(10),
            GuardOptions::default().renew_every(secs(3)),
        )
        .await
        .unwrap();
    let start = w.at();
    store.push_rule(
        FaultRule::new(Fault::Delay(secs(1)))
            .matching(RequestKind::Update)
            .times(1),
    );
    w.sleep_until(start + ms(3_100)).await;
    w.delete(&w.key());
    let released = guard.release().await.unwrap();
    assert_eq!(
        released,
        ReleaseOutcome::NotHeld,
        "nothing to release: the item is gone"
    );
    let metrics = a.metrics();
    assert_eq!(
        (metrics.renewed, metrics.renew_failures),
        (1, 1),
        "{metrics:?}"
    );
    settle(|| a.metrics().active_guards == 0).await;
}
