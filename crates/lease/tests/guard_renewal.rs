//! Lease guards renewing: heartbeats that never stop silently (B09), never outlive a release
//! (B08), never leave a gap, never starve each other; renew periods that cannot work are
//! rejected (B17). lease-memory behind `FaultyStore`, tokio's paused clock.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use common::{History, T0, World, ms, secs};
use lease_memory::{
    GuardOptions, LeaseError, LeaseStatus, LossReason, ReleaseOutcome, WaitPolicy,
    error::InvalidInput, fault::Fault, fault::FaultRule, fault::RequestKind, snapshot::StoredState,
    store::AttributeValue, store::Request, store::Store, store::StoreErrorKind,
    store::StoreResponse,
};

/// Renewals exactly every `n` seconds: the jitter is off, so that the scenarios can time
/// their faults to the renewal instants (the jitter has its own tests in `guard_jitter.rs`).
fn every(n: u64) -> GuardOptions {
    GuardOptions::default()
        .renew_every(secs(n))
        .renew_jitter(0.0)
}

/// B08: L=10, H=3. The renewal at t=3 is slow (0.5 s, applied before or after the delay);
/// release is called at t=3.1. The release waits for the renewal in flight, and once it
/// returns, A sends nothing more; B acquires at t=4 and keeps the lease through t=20. A late
/// copy of A's renewal, delivered after the release, cannot resurrect the lease.
#[tokio::test(start_paused = true)]
async fn b08_no_renew_after_release() {
    for fault in [Fault::Delay(ms(500)), Fault::ApplyThenDelay(ms(500))] {
        let w = World::new();
        let a_store = w.faulty();
        let a = w.manager("a", &a_store);
        let guard = a.acquire_guard(w.key(), secs(10), every(3)).await.unwrap();
        let status = guard.subscribe();
        a_store.push_rule(FaultRule::new(fault).matching(RequestKind::Update).times(1));

        w.sleep_until(ms(3_100)).await;
        assert_eq!(
            a_store.requests_seen(),
            2,
            "{fault:?}: acquire, then the renewal in flight"
        );
        assert_eq!(guard.release().await.unwrap(), ReleaseOutcome::Released);
        assert!(
            w.at() >= ms(3_500),
            "{fault:?}: the release did not wait for the renewal"
        );
        let sent = a_store.requests_seen();
        assert_eq!(sent, 3, "{fault:?}: acquire, renewal, release");
        assert!(status.current().is_released());
        assert!(matches!(w.state(&w.key()).await, StoredState::Released(_)));

        // The renewal request, delivered again now (a network duplicate), changes nothing.
        let renewal = a_store.log()[1].request().clone();
        assert!(matches!(renewal, Request::Update(_)));
        let late = w.memory.execute(&renewal).await.unwrap();
        assert!(
            matches!(late, StoreResponse::ConditionFailed { .. }),
            "{fault:?}: {late:?}"
        );

        w.sleep_until(secs(4)).await;
        let b = w.manager("b", &w.faulty());
        let lb = b.try_acquire(w.key(), secs(20)).await.unwrap();
        w.sleep_until(secs(20)).await;
        assert_eq!(
            a_store.requests_seen(),
            sent,
            "{fault:?}: A wrote after its release returned"
        );
        let StoredState::Held(info) = w.state(&w.key()).await else {
            panic!("{fault:?}: B lost the lease");
        };
        assert_eq!(info.token, lb.token().fingerprint());
    }
}

/// B09: L=10, H=3. The renewal at t=3 meets a store that throttles, times out or fails with a
/// 5xx until t=4. The guard retries with backoff, reports the lease at risk (with the error),
/// and is back to held by t=6; the lease never lapses.
#[tokio::test(start_paused = true)]
async fn b09_transient_renew_failure_is_retried_and_reported_at_risk() {
    for kind in [
        StoreErrorKind::Throttled,
        StoreErrorKind::Timeout,
        StoreErrorKind::Unavailable,
    ] {
        let w = World::new();
        let a_store = w.faulty();
        let a = w.manager("a", &a_store);
        let guard = a.acquire_guard(w.key(), secs(10), every(3)).await.unwrap();
        let history = History::record(&w, guard.subscribe());

        w.sleep_until(ms(2_900)).await;
        a_store.set_outage(Some(kind));
        w.sleep_until(secs(4)).await;
        a_store.set_outage(None);
        w.sleep_until(secs(6)).await;

        assert_eq!(history.phases(), ["at-risk", "held"], "{kind:?}");
        let entries = history.entries();
        let (at_risk_at, LeaseStatus::AtRisk { since, last_error }) = &entries[0] else {
            unreachable!()
        };
        // Each failed retry updates the last error; "since" stays the first failure's time.
        for (_, status) in &entries[..entries.len() - 1] {
            assert!(matches!(status, LeaseStatus::AtRisk { since: s, .. } if s == since));
        }
        assert!(
            *at_risk_at >= secs(3) && *at_risk_at < secs(4),
            "{kind:?}: {at_risk_at:?}"
        );
        let source = match &**last_error {
            LeaseError::Store { source, .. } | LeaseError::OutcomeUnknown { source, .. } => source,
            other => panic!("{kind:?}: unexpected error {other:?}"),
        };
        assert_eq!(source.kind(), kind);
        let held_at = entries[entries.len() - 1].0;
        assert!(
            held_at >= secs(4) && held_at < secs(6),
            "{kind:?}: {held_at:?}"
        );
        assert!(matches!(guard.status(), LeaseStatus::Held));

        // The lease outlives its first expiry (t=10) and is still renewed after.
        w.sleep_until(secs(25)).await;
        let b = w.manager("b", &w.faulty());
        assert!(
            b.try_acquire(w.key(), secs(10))
                .await
                .unwrap_err()
                .is_held(),
            "{kind:?}"
        );
        let metrics = a.metrics();
        assert!(
            metrics.renew_failures >= 1 && metrics.renewed >= 7,
            "{kind:?}: {metrics:?}"
        );
        assert_eq!(metrics.lost, 0, "{kind:?}");
        assert_eq!(guard.release().await.unwrap(), ReleaseOutcome::Released);
    }
}

/// B09 variant: the store is unreachable for A from t=2.5 to t=30 (B reaches it). A is told
/// "at risk" at its first failed renewal, then "lost, unconfirmed" exactly at its safe deadline
/// (t=9: expiry minus the 1 s skew bound), before B can take the lease over (t=10). A sends
/// nothing after the loss.
#[tokio::test(start_paused = true)]
async fn b09_outage_longer_than_the_lease_signals_loss_before_takeover() {
    let w = World::new();
    let a_store = w.faulty();
    let a = w.manager("a", &a_store);
    let guard = a.acquire_guard(w.key(), secs(10), every(3)).await.unwrap();
    let deadline = guard.lease().valid_until().unwrap();
    let history = History::record(&w, guard.subscribe());

    let b = w.manager("b", &w.faulty());
    let (key, start) = (w.key(), w.instant(secs(0)));
    let contender = tokio::spawn(async move {
        let policy = WaitPolicy::with_timeout(secs(60))
            .max_delay(ms(100))
            .jitter(0.0);
        let lease = b.acquire(key, secs(10), &policy).await.unwrap();
        (lease, start.elapsed())
    });

    w.sleep_until(ms(2_500)).await;
    a_store.set_outage(Some(StoreErrorKind::Unavailable));
    let reason = guard.lost().await;
    let lost_at = w.at();
    let sent_by_a = a_store.requests_seen();
    assert!(guard.stop_signal().is_stopped());

    let (_lease, acquired_at) = contender.await.unwrap();
    assert_eq!(lost_at, secs(9));
    assert_eq!(tokio::time::Instant::from_std(deadline), w.instant(secs(9)));
    assert_eq!(acquired_at, secs(10));
    assert!(lost_at < acquired_at);
    let LossReason::Unconfirmed {
        last_error: Some(error),
    } = reason
    else {
        panic!("expected unconfirmed with an error, got {reason:?}");
    };
    assert!(error.is_outcome_unknown(), "{error:?}");
    assert_eq!(history.phases(), ["at-risk", "lost"]);
    assert!(history.entries()[0].0 < secs(4));

    w.sleep_until(secs(30)).await;
    assert_eq!(
        a_store.requests_seen(),
        sent_by_a,
        "A kept renewing after the loss"
    );
    assert_eq!(a.metrics().lost, 1);
}

/// B09 with a renewal that hangs (its request is slow to reach the store): the lease is at
/// risk halfway from the renewal's sending (3 s) to the safe deadline (9 s), at 6 s, though
/// no answer came; it is lost at its safe deadline, not when the request ends; the renewal is
/// abandoned, and the release frees the lease at once.
#[tokio::test(start_paused = true)]
async fn renewal_in_flight_at_the_deadline_is_lost_at_the_deadline() {
    let w = World::new();
    let a_store = w.faulty();
    let a = w.manager("a", &a_store);
    let guard = a.acquire_guard(w.key(), secs(10), every(3)).await.unwrap();
    let history = History::record(&w, guard.subscribe());
    a_store.push_rule(
        FaultRule::new(Fault::Delay(secs(30)))
            .matching(RequestKind::Update)
            .times(1),
    );
    let reason = guard.lost().await;
    assert_eq!(w.at(), secs(9));
    tokio::time::sleep(ms(1)).await; // the history's task records the loss
    assert_eq!(history.phases(), ["at-risk", "lost"]);
    assert_eq!(history.entries()[0].0, secs(6), "at risk halfway");
    let LossReason::Unconfirmed {
        last_error: Some(error),
    } = &reason
    else {
        panic!("expected unconfirmed with the overdue renewal, got {reason:?}");
    };
    assert!(error.to_string().contains("refresh"), "{error}");
    assert!(
        error.report().to_string().contains("unanswered"),
        "{}",
        error.report()
    );
    // The release reports the loss, and still releases what may be ours.
    let released = guard.release().await.unwrap_err();
    assert!(
        matches!(
            released,
            LeaseError::Lost {
                reason: LossReason::Unconfirmed { .. },
                ..
            }
        ),
        "{released:?}"
    );
    let b = w.manager("b", &w.faulty());
    b.try_acquire(w.key(), secs(10)).await.unwrap();
    w.sleep_until(secs(60)).await;
    assert_eq!(
        a_store.requests_seen(),
        3,
        "acquire, the abandoned renewal, the release"
    );
}

/// A renewal finds the lease not ours (the item was deleted under it): the guard reports
/// "lost, not owned" at once, distinct from "unconfirmed", and stops renewing.
#[tokio::test(start_paused = true)]
async fn renewal_that_finds_another_holder_reports_not_owned() {
    let w = World::new();
    let a_store = w.faulty();
    let a = w.manager("a", &a_store);
    let guard = a.acquire_guard(w.key(), secs(10), every(3)).await.unwrap();
    w.sleep_until(secs(1)).await;
    w.delete(&w.key());
    let b = w.manager("b", &w.faulty());
    b.try_acquire(w.key(), secs(30)).await.unwrap();

    let reason = guard.lost().await;
    assert!(reason.is_not_owned(), "{reason:?}");
    assert_eq!(w.at(), secs(3));
    let sent = a_store.requests_seen();
    let released = guard.release().await.unwrap_err();
    assert!(
        matches!(
            released,
            LeaseError::Lost {
                reason: LossReason::NotOwned,
                ..
            }
        ),
        "{released:?}"
    );
    w.sleep_until(secs(60)).await;
    assert_eq!(
        a_store.requests_seen(),
        sent,
        "a lease known not to be ours is not released"
    );
}

/// A guard with L=10 s renews for 100 s with no gap: a contender probing every 0.5 s never
/// gets the lease, the guard never leaves "held", its safe deadline is always at least
/// L − skew − H ahead, and its fencing token never changes. (Default options: the renewals are
/// jittered, each 0.8 H to H after the last.)
#[tokio::test(start_paused = true)]
async fn renews_for_ten_durations_without_gap() {
    let w = World::new();
    let a_store = w.faulty();
    let a = w.manager("a", &a_store);
    let guard = a
        .acquire_guard(w.key(), secs(10), GuardOptions::default())
        .await
        .unwrap();
    let fence = guard.fence();
    let history = History::record(&w, guard.subscribe());
    let b = w.manager("b", &w.faulty());
    let margin = secs(10) - secs(1) - secs(10) / 3;

    let mut t = ms(500);
    while t <= secs(100) {
        w.sleep_until(t).await;
        assert!(
            b.try_acquire(w.key(), secs(10))
                .await
                .unwrap_err()
                .is_held(),
            "B got it at {t:?}"
        );
        let valid_until = tokio::time::Instant::from_std(guard.lease().valid_until().unwrap());
        assert!(valid_until >= w.instant(t) + margin, "gap at {t:?}");
        assert!(guard.is_valid());
        assert_eq!(guard.fence(), fence);
        t += ms(500);
    }
    assert!(history.entries().is_empty(), "{:?}", history.phases());
    let renewals = a_store.requests_seen() - 1;
    // Every 2.67 s to 3.33 s (L/3, brought forward by up to a fifth), on tokio's ms timer.
    assert!(
        (29..=37).contains(&renewals),
        "{renewals} renewals in 100 s at L/3 with jitter"
    );
    assert_eq!(a.metrics().renewed, renewals as u64);
}

/// A thousand guards on distinct keys, on one manager, renew for 30 s (three durations):
/// every one is renewed on schedule, none is at risk or lost. (Default options: jittered.)
#[tokio::test(start_paused = true)]
async fn thousand_guards_renew_without_starving() {
    let w = World::new();
    let store = w.faulty();
    let m = w.manager("m", &store);
    let mut guards = Vec::new();
    for i in 0..1000 {
        let key = w.key_of(&format!("CACHE#{i}"));
        guards.push(
            m.acquire_guard(key, secs(10), GuardOptions::default())
                .await
                .unwrap(),
        );
    }
    w.sleep_until(secs(30)).await;

    let mut renewals: HashMap<String, usize> = HashMap::new();
    for logged in store.log().iter().skip(1000) {
        let Request::Update(update) = logged.request() else {
            panic!("unexpected request");
        };
        let Some(AttributeValue::S(pk)) = update.key.get("pk") else {
            panic!("no partition key");
        };
        *renewals.entry(pk.to_string()).or_default() += 1;
    }
    assert_eq!(renewals.len(), 1000);
    // Every 2.67 s to 3.33 s (a third of 10 s, brought forward by up to a fifth), on tokio's
    // millisecond timer: 8 to 11 renewals in 30 s for every guard.
    for (key, n) in &renewals {
        assert!((8..=11).contains(n), "{key}: {n}");
    }
    let n: usize = renewals.values().sum();
    for guard in &guards {
        assert!(
            matches!(guard.status(), LeaseStatus::Held),
            "{:?}",
            guard.key()
        );
        assert!(guard.lease().expires_at_epoch_seconds() >= T0 + 37);
    }
    let metrics = m.metrics();
    assert_eq!(
        (metrics.renewed, metrics.renew_failures, metrics.lost),
        (n as u64, 0, 0)
    );
    assert_eq!(metrics.active_guards, 1000);
    drop(guards);
    settle_released(&m).await;
}

async fn settle_released(m: &Arc<common::Manager>) {
    common::settle(|| m.metrics().active_guards == 0).await;
    assert_eq!(m.metrics().released, 1000);
}

/// B17 for guards: a renew period that is zero, at or above half the duration, or not below
/// the duration minus the skew bound is rejected before any request, and so are degenerate
/// durations.
#[tokio::test(start_paused = true)]
async fn reject_renew_period_not_well_below_duration() {
    let w = World::new();
    let store = w.faulty();
    let m = w.manager("a", &store);
    for (renew_every, duration) in [
        (ms(0), secs(10)),
        (secs(5), secs(10)),
        (secs(6), secs(10)),
        (secs(10), secs(10)),
        (secs(30), secs(10)),
        (ms(900), ms(1_800)),
        (ms(1_000), ms(1_900)),
        (ms(600), ms(1_500)),
    ] {
        let options = GuardOptions::default().renew_every(renew_every);
        let err = m
            .acquire_guard(w.key(), duration, options.clone())
            .await
            .unwrap_err();
        assert!(
            matches!(
                &err,
                LeaseError::InvalidInput {
                    reason: InvalidInput::InvalidRenewPeriod { .. },
                    ..
                }
            ),
            "{renew_every:?} of {duration:?}: {err:?}"
        );
        let called = std::cell::Cell::new(false);
        let scoped = m
            .with_lease(w.key(), duration, options, |_| async {
                called.set(true);
                Ok::<(), ()>(())
            })
            .await;
        assert!(scoped.unwrap_err().is_invalid_input());
        assert!(!called.get(), "the work ran without a lease");
    }
    for (duration, expected) in [
        (ms(0), InvalidInput::ZeroDuration),
        (
            ms(1),
            InvalidInput::DurationNotAboveSkew {
                duration: ms(1),
                max_clock_skew: secs(1),
            },
        ),
    ] {
        let err = m
            .acquire_guard(w.key(), duration, GuardOptions::default())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, LeaseError::InvalidInput { reason, .. } if *reason == expected),
            "{err:?}"
        );
    }
    assert_eq!(store.requests_seen(), 0);
    // Just below half the duration (and below L − skew) is accepted.
    let guard = m
        .acquire_guard(
            w.key(),
            secs(10),
            GuardOptions::default().renew_every(ms(4_999)),
        )
        .await;
    assert!(guard.is_ok());
}
