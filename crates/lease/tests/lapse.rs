//! Issue 15: a guard, its signals and scoped work never report a lapsed lease as held: not when
//! the acquire's answer comes after the safe deadline, not after a pause or a suspend that ran
//! past it, not when a renewal is answered too late. Every signal is checked at the reading of
//! the clocks it is given, so none of this waits for the guard's timers.
//!
//! L = 10 s, H = 3 s, skew bound 1 s: the safe deadline of a lease sent at t is t + 9 s.
//! lease-memory behind `FaultyStore`, tokio's paused clock; `TestClock::advance` stands for a
//! process that was paused and has just woken, before any timer ran.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{Ahead, History, World, ms, secs, settle};
use lease_memory::{
    GuardOptions, LeaseError, LeaseStatus, LossReason, ReleaseOutcome, ScopedOutcome, WaitPolicy,
    config::MIN_POLL_DELAY, error::Operation, fault::Fault, fault::FaultRule, fault::RequestKind,
    snapshot::StoredState, store::StoreErrorKind,
};

/// Renewals exactly every `n` seconds (the jitter off): the scenarios time their faults to
/// the renewal instants.
fn every(n: u64) -> GuardOptions {
    GuardOptions::default()
        .renew_every(secs(n))
        .renew_jitter(0.0)
}

fn unconfirmed(status: &LeaseStatus) -> bool {
    matches!(status, LeaseStatus::Lost(LossReason::Unconfirmed { .. }))
}

fn lost_unconfirmed(error: &LeaseError) -> bool {
    matches!(
        error,
        LeaseError::Lost {
            reason: LossReason::Unconfirmed { .. },
            ..
        }
    )
}

/// Input 1: the acquire lands at t=0 but its answer arrives at t=12; a contender whose clock
/// runs 1 s ahead takes the lease at t=9, when it has expired by its clock. `acquire_guard`
/// gives no guard at all (`Lapsed`), so nothing can report the lease held; the lapsed lease is
/// released again (here: `NotHeld`, the contender has it) and the contender keeps its lease.
#[tokio::test(start_paused = true)]
async fn input_1_acquire_answered_after_the_deadline_gives_no_guard() {
    let w = World::new();
    let a_store = w.faulty();
    let a = w.manager("a", &a_store);
    a_store.push_rule(
        FaultRule::new(Fault::ApplyThenDelay(secs(12)))
            .matching(RequestKind::Update)
            .times(1),
    );
    let pending = tokio::spawn({
        let (a, key) = (a.clone(), w.key());
        async move { a.acquire_guard(key, secs(10), every(3)).await }
    });
    w.sleep_until(secs(9)).await;
    let c = w.manager_with_clock("c", &w.faulty(), Arc::new(Ahead(w.clock.clone(), secs(1))));
    let lc = c.try_acquire(w.key(), secs(30)).await.unwrap();

    let error = pending.await.unwrap().unwrap_err();
    assert_eq!(w.at(), secs(12));
    assert!(
        matches!(
            error,
            LeaseError::Lapsed {
                operation: Operation::Acquire,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(a.metrics().acquired, 0);
    assert_eq!(a_store.requests_seen(), 2, "the acquire, and its release");
    let StoredState::Held(info) = w.state(&w.key()).await else {
        panic!("the contender lost its lease");
    };
    assert_eq!(info.token, lc.token().fingerprint());
}

/// Input 1 for scoped work: the work is never called, and the outcome is the acquire's
/// `Lapsed` error, not `WorkSucceeded` or `ReleaseFailed`.
#[tokio::test(start_paused = true)]
async fn input_1_scoped_work_never_starts_on_a_lapsed_lease() {
    let w = World::new();
    let a_store = w.faulty();
    let a = w.manager("a", &a_store);
    a_store.push_rule(
        FaultRule::new(Fault::ApplyThenDelay(secs(12)))
            .matching(RequestKind::Update)
            .times(1),
    );
    let called = Arc::new(AtomicBool::new(false));
    let flag = called.clone();
    let outcome = a
        .with_lease(w.key(), secs(10), every(3), |_| async move {
            flag.store(true, Ordering::SeqCst);
            Ok::<_, ()>(())
        })
        .await;
    assert!(
        matches!(outcome, Err(LeaseError::Lapsed { .. })),
        "{outcome:?}"
    );
    assert!(
        !called.load(Ordering::SeqCst),
        "the work ran on a lapsed lease"
    );
    assert!(matches!(w.state(&w.key()).await, StoredState::Released(_)));
}

/// Input 1 in production shape: the acquire lands at t=0, the client's 10 s request timeout
/// fires, and the retry meets our own token at t≈10, past the first send's t=9 deadline. The
/// retry is planned again when it is sent (its expiry is t≈10 + 10 s), so what it gives is a
/// new lease whose safe deadline is t≈19, never the first send's lapsed one; with or without a
/// wait policy.
#[tokio::test(start_paused = true)]
async fn input_1_timeout_then_retry_past_the_deadline_is_a_fresh_lease() {
    let w = World::new();
    let a_store = w.faulty();
    let a = w.manager("a", &a_store);
    for options in [every(3), every(3).wait(WaitPolicy::with_timeout(secs(60)))] {
        a_store.push_rule(
            FaultRule::new(Fault::ApplyThenTimeout(secs(10)))
                .matching(RequestKind::Update)
                .times(1),
        );
        let start = w.at();
        let guard = a.acquire_guard(w.key(), secs(10), options).await.unwrap();
        assert!(
            w.at() >= start + secs(10),
            "the retry came after the timeout"
        );
        assert!(guard.status().is_held() && guard.is_valid());
        assert!(!guard.stop_signal().is_stopped());
        let valid_until = guard.lease().valid_until().unwrap();
        assert!(
            valid_until >= w.instant(start + secs(19)).into_std(),
            "the deadline counts from the retry"
        );
        w.sleep_until(start + secs(12)).await;
        assert!(
            guard.is_valid(),
            "still valid past the first send's deadline"
        );
        assert_eq!(guard.release().await.unwrap(), ReleaseOutcome::Released);
    }
}

/// Input 2: the process is paused for 14 s right after `acquire_guard` (no timer has run when
/// it wakes). Every signal says "lost" at once: status, validity, the stop signal, a context,
/// a status watch, `lost()`; the lost counter counts it; `release()` reports the loss (and
/// still releases the token); the status never goes from held straight to released.
#[tokio::test(start_paused = true)]
async fn input_2_pause_past_the_deadline_is_lost_on_every_signal() {
    let w = World::new();
    let a_store = w.faulty();
    let a = w.manager("a", &a_store);
    let guard = a.acquire_guard(w.key(), secs(10), every(3)).await.unwrap();
    let history = History::record(&w, guard.subscribe());
    let (context, stop, watch) = (guard.context(), guard.stop_signal(), guard.subscribe());

    w.clock.advance(secs(14));
    assert!(stop.is_stopped(), "the stop signal was not raised");
    assert!(unconfirmed(&guard.status()), "{:?}", guard.status());
    assert!(!guard.is_valid() && !context.is_valid());
    assert!(unconfirmed(&context.status()));
    assert!(unconfirmed(&watch.current()));
    assert!(matches!(
        tokio::time::timeout(ms(0), context.lost()).await,
        Ok(LossReason::Unconfirmed { .. })
    ));
    assert_eq!(a.metrics().lost, 1);

    let released = guard.release().await.unwrap_err();
    assert!(lost_unconfirmed(&released), "{released:?}");
    assert!(matches!(w.state(&w.key()).await, StoredState::Released(_)));
    settle(|| !history.entries().is_empty()).await;
    assert_eq!(history.phases(), ["lost"]);
}

/// Input 2 for scoped work: the work is paused past the deadline and then returns `Ok`. The
/// outcome is `WorkFinishedAfterLoss` with the work's result, never `WorkSucceeded`; the lease
/// is released anyway.
#[tokio::test(start_paused = true)]
async fn input_2_work_that_outlived_its_lease_is_not_a_success() {
    let w = World::new();
    let a = w.manager("a", &w.faulty());
    let clock = w.clock.clone();
    let outcome = a
        .with_lease(w.key(), secs(10), every(3), |context| async move {
            clock.advance(secs(14));
            assert!(!context.is_valid());
            Ok::<_, ()>(42)
        })
        .await
        .unwrap();
    match outcome {
        ScopedOutcome::WorkFinishedAfterLoss {
            result: Ok(42),
            reason: LossReason::Unconfirmed { .. },
        } => {}
        other => panic!("{other:?}"),
    }
    assert!(matches!(w.state(&w.key()).await, StoredState::Released(_)));
    assert_eq!(a.metrics().lost, 1);
}

/// The whole class at the instant the deadline passes: renewals fail from t=2.5 (the lease is
/// at risk); one nanosecond before the deadline every signal still says held, at the deadline
/// every signal says lost, both read without any timer having run in between.
#[tokio::test(start_paused = true)]
async fn every_signal_turns_at_the_instant_of_the_deadline() {
    let w = World::new();
    let a_store = w.faulty();
    let a = w.manager("a", &a_store);
    let guard = a.acquire_guard(w.key(), secs(10), every(3)).await.unwrap();
    let (context, stop, watch) = (guard.context(), guard.stop_signal(), guard.subscribe());
    w.sleep_until(ms(2_500)).await;
    a_store.set_outage(Some(StoreErrorKind::Unavailable));
    w.sleep_until(ms(3_500)).await;
    assert!(guard.status().is_at_risk());

    let deadline = guard.lease().valid_until().unwrap();
    let now = lease_memory::clock::Clock::monotonic(&*w.clock);
    w.clock
        .advance(deadline - now - std::time::Duration::from_nanos(1));
    for held in [
        guard.status().is_held(),
        context.status().is_held(),
        watch.current().is_held(),
        guard.is_valid(),
        context.is_valid(),
        !stop.is_stopped(),
    ] {
        assert!(held, "lost before the deadline");
    }
    w.clock.advance(std::time::Duration::from_nanos(1));
    for lost in [
        unconfirmed(&guard.status()),
        unconfirmed(&context.status()),
        unconfirmed(&watch.current()),
        !guard.is_valid(),
        !context.is_valid(),
        stop.is_stopped(),
    ] {
        assert!(lost, "held at the deadline");
    }
    let LossReason::Unconfirmed {
        last_error: Some(error),
    } = guard.lost().await
    else {
        panic!("the loss lost its last error");
    };
    assert!(error.store_error().is_some(), "{error:?}");
}

/// A renewal that lands but is answered after the deadline (sent at t=3, answered at t=10) is
/// not accepted: the guard is at risk at t=6 (the renewal unanswered halfway to the deadline),
/// lost at t=9, and stays lost; its release reports the loss and still releases the token the
/// late renewal extended.
#[tokio::test(start_paused = true)]
async fn a_renewal_answered_after_the_deadline_is_not_accepted() {
    let w = World::new();
    let a_store = w.faulty();
    let a = w.manager("a", &a_store);
    let guard = a.acquire_guard(w.key(), secs(10), every(3)).await.unwrap();
    let history = History::record(&w, guard.subscribe());
    a_store.push_rule(
        FaultRule::new(Fault::ApplyThenDelay(secs(7)))
            .matching(RequestKind::Update)
            .times(1),
    );
    let reason = guard.lost().await;
    assert_eq!(w.at(), secs(9));
    assert!(reason.is_unconfirmed(), "{reason:?}");
    w.sleep_until(secs(11)).await;
    assert!(unconfirmed(&guard.status()), "{:?}", guard.status());
    assert_eq!(history.phases(), ["at-risk", "lost"]);
    assert_eq!(history.entries()[0].0, secs(6));
    let released = guard.release().await.unwrap_err();
    assert!(lost_unconfirmed(&released), "{released:?}");
    assert!(matches!(w.state(&w.key()).await, StoredState::Released(_)));
}

/// A suspended machine: the monotonic clock stands still for 14 s while the wall clock moves
/// on. The wall-clock bound of the safe deadline catches it: the lease is lost at once.
#[tokio::test(start_paused = true)]
async fn suspend_past_the_deadline_is_caught_by_the_wall_clock() {
    let w = World::new();
    let a_clock = w.own_clock();
    let a = w.manager_with_clock("a", &w.faulty(), a_clock.clone());
    let guard = a.acquire_guard(w.key(), secs(10), every(3)).await.unwrap();
    w.sleep_until(secs(1)).await;
    a_clock.suspend(secs(14));
    assert!(guard.stop_signal().is_stopped());
    assert!(unconfirmed(&guard.status()), "{:?}", guard.status());
    assert!(lost_unconfirmed(&guard.release().await.unwrap_err()));
}

/// A guard dropped after a pause past its deadline: the loss is counted, and the lease is
/// released in the background.
#[tokio::test(start_paused = true)]
async fn drop_after_a_pause_counts_the_loss_and_releases() {
    let w = World::new();
    let a = w.manager("a", &w.faulty());
    let guard = a.acquire_guard(w.key(), secs(10), every(3)).await.unwrap();
    let stop = guard.stop_signal();
    w.clock.advance(secs(14));
    drop(guard);
    assert!(stop.is_stopped());
    assert_eq!(a.metrics().lost, 1);
    settle(|| a.metrics().active_guards == 0).await;
    assert!(matches!(w.state(&w.key()).await, StoredState::Released(_)));
}

/// A waiting acquire whose attempt is answered past its deadline keeps waiting: the contender
/// (clock 1 s ahead) holds the lease from t=9 for 5 s; the waiter's lapsed lease is given back
/// and it gets the lease when the contender's expires, with a greater fencing token.
#[tokio::test(start_paused = true)]
async fn waiting_acquire_answered_late_keeps_waiting() {
    let w = World::new();
    let a_store = w.faulty();
    let a = w.manager("a", &a_store);
    a_store.push_rule(
        FaultRule::new(Fault::ApplyThenDelay(secs(12)))
            .matching(RequestKind::Update)
            .times(1),
    );
    let pending = tokio::spawn({
        let (a, key) = (a.clone(), w.key());
        let options = every(3).wait(WaitPolicy::with_timeout(secs(60)).jitter_seed(3));
        async move { a.acquire_guard(key, secs(10), options).await }
    });
    w.sleep_until(secs(9)).await;
    let c = w.manager_with_clock("c", &w.faulty(), Arc::new(Ahead(w.clock.clone(), secs(1))));
    let lc = c.try_acquire(w.key(), secs(5)).await.unwrap();

    let guard = pending.await.unwrap().unwrap();
    // The contender's lease ends at 15 (its clock is 1 s ahead); a poll that lands less than
    // MIN_POLL_DELAY (10 ms) before that waits the 10 ms.
    assert!(
        w.at() >= secs(13) && w.at() <= secs(15) + MIN_POLL_DELAY,
        "{:?}",
        w.at()
    );
    assert!(guard.is_valid());
    assert!(guard.fence() > lc.fence());
    assert_eq!(guard.release().await.unwrap(), ReleaseOutcome::Released);
}

/// A plain refresh answered after the refreshed lease's own deadline is `Lapsed`, not a lease
/// that is already past its deadline.
#[tokio::test(start_paused = true)]
async fn plain_refresh_answered_past_its_deadline_is_lapsed() {
    let w = World::new();
    let a_store = w.faulty();
    let a = w.manager("a", &a_store);
    let lease = a.try_acquire(w.key(), secs(10)).await.unwrap();
    a_store.push_rule(
        FaultRule::new(Fault::ApplyThenDelay(secs(12)))
            .matching(RequestKind::Update)
            .times(1),
    );
    let error = a.refresh(&lease, secs(10)).await.unwrap_err();
    assert!(
        matches!(
            error,
            LeaseError::Lapsed {
                operation: Operation::Refresh,
                ..
            }
        ),
        "{error:?}"
    );
}

/// A wall clock stepped 100 s back on the holder (an NTP step) while its guard renews: the
/// renewals correct the reading (the wall clock never runs slower than the monotonic clock
/// for this lease) and never write an earlier expiry, so a contender with a correct clock,
/// probing every 0.5 s, never gets the lease while the guard says held.
#[tokio::test(start_paused = true)]
async fn a_wall_clock_stepped_back_never_shortens_the_lease() {
    let w = World::new();
    let a_clock = w.own_clock();
    let a = w.manager_with_clock("a", &w.faulty(), a_clock.clone());
    let guard = a.acquire_guard(w.key(), secs(10), every(3)).await.unwrap();
    let b = w.manager("b", &w.faulty());
    w.sleep_until(secs(1)).await;
    a_clock.step_wall_back(std::time::Duration::from_secs(100));
    let mut t = ms(1_500);
    let mut expiry = guard.lease().expires_at();
    while t <= secs(40) {
        w.sleep_until(t).await;
        assert!(guard.is_valid(), "the guard lost its lease at {t:?}");
        let refused = b.try_acquire(w.key(), secs(10)).await.unwrap_err();
        assert!(refused.is_held(), "taken over at {t:?}: {refused:?}");
        let now = guard.lease().expires_at();
        assert!(now >= expiry, "the expiry went back at {t:?}");
        expiry = now;
        t += ms(500);
    }
    assert_eq!(guard.release().await.unwrap(), ReleaseOutcome::Released);
}
