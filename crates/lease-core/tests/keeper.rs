//! The `Keeper` machine alone: exact instants in, requests and events out. No runtime, no
//! store: each answer is made up here. L = 10 s, H = 3 s, skew bound 1 s, so a lease sent at
//! t has its safe deadline at t + 9 s. The renewal jitter is off (renewals exactly every H)
//! except in the tests of the jitter, at the end.

#![allow(clippy::unwrap_used, clippy::expect_used)]
// Tests need `Instant` values, and only `Instant::now` makes one: it is read once per test, as
// an origin; every instant the keeper sees is that origin plus an exact offset.
#![allow(clippy::disallowed_methods)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use lease_core::lifecycle::{Ending, Keeper, KeeperEvent, RequestId};
use lease_core::{
    AttributeValue, Item, Lease, LeaseConfig, LeaseError, LeaseKey, LeaseStatus, LeaseToken,
    LossReason, Now, Planner, ReleaseOutcome, RenewPolicy, Request, RetryPolicy, StoreError,
    StoreErrorKind, StoreResponse,
};

const T0: i64 = 1_800_000_000;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The holder's clocks at `t` after the origin.
struct Clocks {
    origin: Instant,
}

impl Clocks {
    fn at(&self, t: Duration) -> Now {
        let wall = lease_core::wire_time::from_epoch_seconds(T0).unwrap() + t;
        Now::new(wall, self.origin + t)
    }

    fn instant(&self, t: Duration) -> Instant {
        self.origin + t
    }
}

fn planner() -> Arc<Planner> {
    Arc::new(Planner::new(LeaseConfig::builder("locks").build().unwrap()))
}

/// A lease acquired at t=0 for 10 s, as the store would grant it.
fn acquired(planner: &Planner, clocks: &Clocks) -> Lease {
    let plan = planner
        .acquire(
            LeaseKey::new("CACHE#A", "LOCK"),
            secs(10),
            clocks.at(Duration::ZERO),
            LeaseToken::new("tok-a"),
        )
        .unwrap();
    let fence = Item::from([("lease_fence".into(), AttributeValue::number(7))]);
    plan.interpret(Ok(StoreResponse::Applied {
        attributes: Some(fence),
    }))
    .unwrap()
}

fn policy() -> RenewPolicy {
    let mut policy = RenewPolicy::default();
    policy = policy.renew_every(secs(3)).jitter(0.0);
    policy
}

/// A keeper of a lease acquired at t=0, made at `made` (no retries of single requests unless
/// `retry` says so).
fn keeper_at(made: Duration, retry: RetryPolicy) -> (Keeper, Clocks) {
    let clocks = Clocks {
        origin: Instant::now(),
    };
    let planner = planner();
    let lease = acquired(&planner, &clocks);
    let keeper = Keeper::new(
        planner,
        lease,
        secs(10),
        policy(),
        retry,
        0,
        clocks.at(made),
    )
    .unwrap();
    (keeper, clocks)
}

fn keeper() -> (Keeper, Clocks) {
    keeper_at(Duration::ZERO, RetryPolicy::never())
}

fn events(keeper: &mut Keeper) -> Vec<KeeperEvent> {
    std::iter::from_fn(|| keeper.poll_event()).collect()
}

/// The request due at `t`, with its id.
fn sent(keeper: &mut Keeper, clocks: &Clocks, t: Duration) -> (RequestId, Request) {
    let transmit = keeper
        .poll_transmit(clocks.at(t))
        .expect("a request is due");
    (transmit.id, transmit.request.clone())
}

fn applied() -> Result<StoreResponse, StoreError> {
    Ok(StoreResponse::Applied { attributes: None })
}

fn condition_failed() -> Result<StoreResponse, StoreError> {
    Ok(StoreResponse::ConditionFailed { old_item: None })
}

fn failure(kind: StoreErrorKind) -> Result<StoreResponse, StoreError> {
    Err(StoreError::new(kind, "made up"))
}

/// A release sets the expiry to the `:released` value; a refresh to `:exp`.
fn is_release(request: &Request) -> bool {
    matches!(request, Request::Update(u) if format!("{:?}", u.update).contains("released"))
}

fn is_refresh(request: &Request) -> bool {
    matches!(request, Request::Update(_)) && !is_release(request)
}

#[test]
fn renews_at_the_send_time_plus_the_period() {
    let (mut k, c) = keeper();
    assert_eq!(k.poll_timeout(), Some(c.instant(secs(3))));
    assert!(k.poll_transmit(c.at(ms(2_999))).is_none());
    let (id, request) = sent(&mut k, &c, secs(3));
    assert!(is_refresh(&request), "{request:?}");
    assert!(
        k.poll_transmit(c.at(secs(3))).is_none(),
        "one request at a time"
    );
    k.handle_response(id, applied(), c.at(ms(3_050)));
    let renewed = events(&mut k);
    assert!(
        matches!(
            renewed.as_slice(),
            [KeeperEvent::Renewed {
                after_failures: 0,
                ..
            }]
        ),
        "{renewed:?}"
    );
    assert!(matches!(k.status(), LeaseStatus::Held));
    assert_eq!(k.lease().valid_until(), Some(c.instant(secs(12))));
    assert_eq!(k.lease().fence(), lease_core::FencingToken::new(7));
    assert_eq!(k.poll_timeout(), Some(c.instant(secs(6))));
}

/// A renewal sent at 3 s and still unanswered at 6 s, halfway to the safe deadline (9 s), makes
/// the lease at risk with no answer at all; its late success (at 7 s) makes it held again.
#[test]
fn an_unanswered_renewal_is_at_risk_halfway_to_the_deadline_and_recovers() {
    let (mut k, c) = keeper();
    let (id, _) = sent(&mut k, &c, secs(3));
    assert_eq!(k.poll_timeout(), Some(c.instant(secs(6))), "halfway");
    k.handle_timeout(c.at(ms(5_999)));
    assert!(matches!(k.status(), LeaseStatus::Held));
    assert!(events(&mut k).is_empty());
    k.handle_timeout(c.at(secs(6)));
    let overdue = events(&mut k);
    assert!(
        matches!(overdue.as_slice(), [KeeperEvent::RenewalUnanswered { waited }] if *waited == secs(3)),
        "{overdue:?}"
    );
    let LeaseStatus::AtRisk { since, last_error } = k.status().clone() else {
        panic!("{:?}", k.status());
    };
    assert_eq!(since, c.instant(secs(6)));
    assert!(
        matches!(&*last_error, LeaseError::Store { source, .. } if source.kind() == StoreErrorKind::Timeout),
        "{last_error:?}"
    );
    // Once at risk, the deadline is what is left to wait for; no second event.
    assert_eq!(k.poll_timeout(), Some(c.instant(secs(9))));
    k.handle_timeout(c.at(ms(6_500)));
    assert!(events(&mut k).is_empty());
    k.handle_response(id, applied(), c.at(secs(7)));
    assert!(matches!(
        events(&mut k).as_slice(),
        [KeeperEvent::Renewed { .. }]
    ));
    assert!(matches!(k.status(), LeaseStatus::Held));
    assert_eq!(k.lease().valid_until(), Some(c.instant(secs(12))));
}

/// The same renewal unanswered to the deadline: at risk at 6 s, lost at 9 s with the overdue
/// renewal as the last error.
#[test]
fn an_unanswered_renewal_is_lost_at_the_deadline_with_its_error() {
    let (mut k, c) = keeper();
    let _ = sent(&mut k, &c, secs(3));
    k.handle_timeout(c.at(secs(6)));
    let _ = events(&mut k);
    k.handle_timeout(c.at(secs(9)));
    let lost = events(&mut k);
    assert!(
        matches!(
            lost.as_slice(),
            [KeeperEvent::Lost(LossReason::Unconfirmed {
                last_error: Some(_)
            })]
        ),
        "{lost:?}"
    );
}

#[test]
fn a_failed_renewal_is_at_risk_retried_with_backoff_and_recovers() {
    let (mut k, c) = keeper();
    let (id, _) = sent(&mut k, &c, secs(3));
    k.handle_response(id, failure(StoreErrorKind::Unavailable), c.at(secs(3)));
    let first = events(&mut k);
    let [
        KeeperEvent::RenewalFailed {
            failures: 1,
            retry_in,
            ..
        },
    ] = first.as_slice()
    else {
        panic!("{first:?}");
    };
    assert_eq!(*retry_in, ms(100));
    let LeaseStatus::AtRisk { since, .. } = k.status().clone() else {
        panic!("{:?}", k.status());
    };
    assert_eq!(since, c.instant(secs(3)));
    assert_eq!(k.poll_timeout(), Some(c.instant(ms(3_100))));
    let (id, _) = sent(&mut k, &c, ms(3_100));
    k.handle_response(id, failure(StoreErrorKind::Throttled), c.at(ms(3_100)));
    assert!(matches!(
        events(&mut k).as_slice(),
        [KeeperEvent::RenewalFailed { failures: 2, .. }]
    ));
    assert_eq!(k.poll_timeout(), Some(c.instant(ms(3_300))), "doubled");
    let (id, _) = sent(&mut k, &c, ms(3_300));
    k.handle_response(id, applied(), c.at(ms(3_310)));
    assert!(matches!(
        events(&mut k).as_slice(),
        [KeeperEvent::Renewed {
            after_failures: 2,
            ..
        }]
    ));
    assert!(matches!(k.status(), LeaseStatus::Held));
    assert_eq!(k.lease().valid_until(), Some(c.instant(ms(12_300))));
}

#[test]
fn single_requests_are_resent_as_the_retry_policy_says() {
    let (mut k, c) = keeper_at(Duration::ZERO, RetryPolicy::default());
    let (first, _) = sent(&mut k, &c, secs(3));
    k.handle_response(first, failure(StoreErrorKind::Timeout), c.at(secs(3)));
    assert!(
        events(&mut k).is_empty(),
        "a resend is not yet a failed renewal"
    );
    assert!(k.status().is_held() && !k.status().is_at_risk());
    assert_eq!(k.poll_timeout(), Some(c.instant(ms(3_025))));
    let (second, _) = sent(&mut k, &c, ms(3_025));
    assert_ne!(first, second, "a resend has an id of its own");
    k.handle_response(first, applied(), c.at(ms(3_026)));
    assert!(
        events(&mut k).is_empty(),
        "the first send's late answer is ignored"
    );
    k.handle_response(second, applied(), c.at(ms(3_030)));
    assert!(matches!(
        events(&mut k).as_slice(),
        [KeeperEvent::Renewed { .. }]
    ));
}

#[test]
fn the_lease_is_lost_exactly_at_its_deadline() {
    let (mut k, c) = keeper();
    let (id, _) = sent(&mut k, &c, secs(3));
    assert!(
        k.status_at(c.at(secs(9) - Duration::from_nanos(1)))
            .is_held()
    );
    assert!(events(&mut k).is_empty());
    assert!(matches!(
        k.status_at(c.at(secs(9))),
        LeaseStatus::Lost(LossReason::Unconfirmed { last_error: None })
    ));
    assert!(matches!(
        events(&mut k).as_slice(),
        [KeeperEvent::Lost(LossReason::Unconfirmed { .. })]
    ));
    assert!(!k.is_awaiting(id), "the renewal in flight is abandoned");
    assert_eq!(
        k.poll_timeout(),
        None,
        "nothing to do until the holder lets go"
    );
}

#[test]
fn a_renewal_answered_after_the_deadline_is_not_accepted() {
    let (mut k, c) = keeper();
    let (id, _) = sent(&mut k, &c, secs(3));
    // No timer ran: the answer itself comes at t=9.5.
    k.handle_response(id, applied(), c.at(ms(9_500)));
    let lost = events(&mut k);
    assert!(
        matches!(
            lost.as_slice(),
            [KeeperEvent::Lost(LossReason::Unconfirmed { .. })]
        ),
        "{lost:?}"
    );
    assert!(k.status().is_lost());
}

#[test]
fn the_wall_clock_bound_catches_a_suspended_monotonic_clock() {
    let (mut k, c) = keeper();
    let frozen = c.at(secs(1));
    let suspended = Now::new(frozen.wall + secs(14), frozen.monotonic.unwrap());
    assert!(k.status_at(suspended).is_lost());
}

#[test]
fn a_reading_without_a_monotonic_clock_keeps_no_lease() {
    let (mut k, c) = keeper();
    assert!(k.status_at(Now::from(c.at(secs(1)).wall)).is_lost());
}

#[test]
fn a_keeper_made_past_the_deadline_starts_lost() {
    let (mut k, _) = keeper_at(secs(12), RetryPolicy::never());
    assert!(k.status().is_lost());
    assert!(matches!(
        events(&mut k).as_slice(),
        [KeeperEvent::Lost(LossReason::Unconfirmed {
            last_error: None
        })]
    ));
}

#[test]
fn not_owned_is_lost_and_nothing_is_released() {
    let (mut k, c) = keeper();
    let (id, _) = sent(&mut k, &c, secs(3));
    k.handle_response(id, condition_failed(), c.at(secs(3)));
    assert!(matches!(
        events(&mut k).as_slice(),
        [KeeperEvent::Lost(LossReason::NotOwned)]
    ));
    k.release(c.at(secs(4)));
    assert!(
        k.poll_transmit(c.at(secs(4))).is_none(),
        "nothing of ours to release"
    );
    let mut seen = events(&mut k);
    let Some(KeeperEvent::Finished(finished)) = seen.pop() else {
        panic!("{seen:?}");
    };
    assert!(finished.release.is_none());
    let lease = k.lease().clone();
    let answer = finished.into_answer(&lease);
    assert!(
        matches!(
            answer,
            Err(LeaseError::Lost {
                reason: LossReason::NotOwned,
                ..
            })
        ),
        "{answer:?}"
    );
    assert!(k.is_finished());
}

#[test]
fn a_release_waits_for_the_renewal_in_flight() {
    let (mut k, c) = keeper();
    let (renewal, _) = sent(&mut k, &c, secs(3));
    k.release(c.at(ms(3_100)));
    assert!(matches!(k.status(), LeaseStatus::Released));
    assert!(matches!(events(&mut k).as_slice(), [KeeperEvent::LetGo]));
    assert!(
        k.poll_transmit(c.at(ms(3_100))).is_none(),
        "the renewal is in flight"
    );
    k.handle_response(renewal, applied(), c.at(ms(3_500)));
    assert!(
        matches!(k.status(), LeaseStatus::Released),
        "released is final"
    );
    let (release, request) = sent(&mut k, &c, ms(3_500));
    assert!(is_release(&request), "{request:?}");
    k.handle_response(release, applied(), c.at(ms(3_600)));
    let mut seen = events(&mut k);
    let Some(KeeperEvent::Finished(finished)) = seen.pop() else {
        panic!("{seen:?}");
    };
    assert_eq!(finished.ending, Ending::Release);
    assert!(finished.lost.is_none());
    let lease = k.lease().clone();
    assert_eq!(
        finished.into_answer(&lease).unwrap(),
        ReleaseOutcome::Released
    );
    assert!(k.is_finished() && k.poll_transmit(c.at(secs(4))).is_none());
    assert_eq!(k.poll_timeout(), None);
}

#[test]
fn a_release_after_a_pause_reports_the_loss_and_still_releases() {
    let (mut k, c) = keeper();
    k.release(c.at(secs(14)));
    assert!(matches!(
        events(&mut k).as_slice(),
        [KeeperEvent::Lost(LossReason::Unconfirmed { .. })]
    ));
    let (release, request) = sent(&mut k, &c, secs(14));
    assert!(is_release(&request));
    k.handle_response(release, applied(), c.at(secs(14)));
    let mut seen = events(&mut k);
    let Some(KeeperEvent::Finished(finished)) = seen.pop() else {
        panic!("{seen:?}");
    };
    assert!(matches!(
        finished.release,
        Some(Ok(ReleaseOutcome::Released))
    ));
    let lease = k.lease().clone();
    assert!(finished.into_answer(&lease).unwrap_err().is_lost());
}

#[test]
fn a_renewal_in_flight_at_the_deadline_does_not_hold_up_the_release() {
    let (mut k, c) = keeper();
    let (renewal, _) = sent(&mut k, &c, secs(3));
    k.drop_guard(c.at(secs(4)));
    assert!(k.poll_transmit(c.at(secs(8))).is_none());
    assert_eq!(
        k.poll_timeout(),
        Some(c.instant(secs(9))),
        "abandoned at the deadline"
    );
    let (release, _) = sent(&mut k, &c, secs(9));
    assert!(!k.is_awaiting(renewal));
    k.handle_response(release, applied(), c.at(secs(9)));
    assert!(k.is_finished());
}

#[test]
fn shutdown_loses_the_lease_as_shutdown_and_releases_it() {
    let (mut k, c) = keeper();
    k.shutdown(c.at(secs(1)));
    assert!(matches!(
        k.status(),
        LeaseStatus::Lost(LossReason::Shutdown)
    ));
    let (release, _) = sent(&mut k, &c, secs(1));
    k.handle_response(release, applied(), c.at(secs(1)));
    let mut seen = events(&mut k);
    let Some(KeeperEvent::Finished(finished)) = seen.pop() else {
        panic!("{seen:?}");
    };
    assert_eq!(finished.ending, Ending::Shutdown);
    assert!(finished.lost.is_none(), "held until the shutdown");
    k.release(c.at(secs(2)));
    assert!(
        events_are_empty(&mut k),
        "a finished keeper ignores commands"
    );
}

fn events_are_empty(k: &mut Keeper) -> bool {
    k.poll_event().is_none()
}

#[test]
fn a_renew_period_that_cannot_work_is_rejected() {
    let clocks = Clocks {
        origin: Instant::now(),
    };
    let planner = planner();
    let lease = acquired(&planner, &clocks);
    let mut policy = RenewPolicy::default();
    policy = policy.renew_every(secs(5));
    let error = Keeper::new(
        planner,
        lease,
        secs(10),
        policy,
        RetryPolicy::never(),
        0,
        clocks.at(Duration::ZERO),
    )
    .unwrap_err();
    assert!(error.is_invalid_input(), "{error:?}");
}

/// `epoch` grows whenever the status or the lease changes (a driver republishes then);
/// `status_changes` only when the status does: a renewal of a held lease moves the first alone.
#[test]
fn the_counters_count_what_a_driver_publishes() {
    let (mut k, c) = keeper();
    let (epoch, changes) = (k.epoch(), k.status_changes());
    let (id, _) = sent(&mut k, &c, secs(3));
    k.handle_response(id, applied(), c.at(ms(3_010)));
    assert_eq!(k.epoch(), epoch + 1, "a renewal changes the lease");
    assert_eq!(k.status_changes(), changes, "held stays held");
    let (id, _) = sent(&mut k, &c, ms(6_010));
    k.handle_response(id, failure(StoreErrorKind::Unavailable), c.at(ms(6_020)));
    assert_eq!(k.status_changes(), changes + 1, "held to at risk");
    assert!(k.epoch() >= epoch + 2);
    let before = k.epoch();
    let (id, _) = sent(&mut k, &c, ms(6_120));
    k.handle_response(id, applied(), c.at(ms(6_130)));
    assert_eq!(k.status_changes(), changes + 2, "at risk to held");
    assert!(k.epoch() > before);
}

/// What a driver reads off the keeper: the renew period in use, the request in flight (to
/// report as failed if the driver lost its answer), and how the holder let go.
#[test]
fn the_keeper_tells_its_driver_the_period_the_request_in_flight_and_the_ending() {
    let (mut k, c) = keeper();
    assert_eq!(k.renew_every(), secs(3));
    assert_eq!(k.in_flight(), None);
    assert_eq!(k.ending(), None);
    let (renewal, _) = sent(&mut k, &c, secs(3));
    assert_eq!(k.in_flight(), Some(renewal));
    k.release(c.at(ms(3_100)));
    assert_eq!(k.ending(), Some(Ending::Release));
    assert_eq!(k.in_flight(), Some(renewal), "the renewal is waited for");
    k.handle_response(renewal, applied(), c.at(ms(3_200)));
    let (release, _) = sent(&mut k, &c, ms(3_200));
    assert_eq!(k.in_flight(), Some(release));
}

/// The first ending counts: a shutdown while the holder's release is in flight changes
/// nothing (the status stays released, the release is not sent twice, the ending stays
/// `Release`).
#[test]
fn a_second_ending_while_the_release_is_in_flight_is_ignored() {
    let (mut k, c) = keeper();
    k.release(c.at(secs(1)));
    let (release, _) = sent(&mut k, &c, secs(1));
    k.shutdown(c.at(ms(1_100)));
    assert!(matches!(k.status(), LeaseStatus::Released));
    assert_eq!(k.ending(), Some(Ending::Release));
    assert!(k.poll_transmit(c.at(ms(1_100))).is_none());
    k.handle_response(release, applied(), c.at(ms(1_200)));
    let mut seen = events(&mut k);
    let Some(KeeperEvent::Finished(finished)) = seen.pop() else {
        panic!("{seen:?}");
    };
    assert_eq!(finished.ending, Ending::Release);
    assert!(finished.lost.is_none());
}

/// `AtRisk::since` is the first failure of the run of failures, not the latest.
#[test]
fn at_risk_counts_from_the_first_failure() {
    let (mut k, c) = keeper();
    let (id, _) = sent(&mut k, &c, secs(3));
    k.handle_response(id, failure(StoreErrorKind::Unavailable), c.at(secs(3)));
    let (id, _) = sent(&mut k, &c, ms(3_100));
    k.handle_response(id, failure(StoreErrorKind::Throttled), c.at(ms(3_150)));
    let LeaseStatus::AtRisk { since, last_error } = k.status().clone() else {
        panic!("{:?}", k.status());
    };
    assert_eq!(since, c.instant(secs(3)));
    assert!(
        last_error.report().to_string().contains("throttled"),
        "{last_error}"
    );
}

/// The renew period must be below half the duration and below the duration minus the skew
/// bound, strictly: at exactly either bound it is rejected.
#[test]
fn a_renew_period_at_either_bound_is_rejected() {
    let with = |every: Duration| {
        let mut policy = RenewPolicy::default();
        policy = policy.renew_every(every);
        policy
    };
    // 10 s with a 6 s skew bound: the duration minus the skew (4 s) is the tighter bound.
    assert_eq!(
        with(ms(3_999)).renew_period(secs(10), secs(6)),
        Ok(ms(3_999))
    );
    assert!(with(secs(4)).renew_period(secs(10), secs(6)).is_err());
    // 10 s with a 1 s skew bound: half the duration (5 s) is.
    assert_eq!(
        with(ms(4_999)).renew_period(secs(10), secs(1)),
        Ok(ms(4_999))
    );
    assert!(with(secs(5)).renew_period(secs(10), secs(1)).is_err());
    assert!(
        with(Duration::ZERO)
            .renew_period(secs(10), secs(1))
            .is_err()
    );
}

// The renewal jitter (issue 14): L = 10 s, H = 3 s, jitter 0.2, so each renewal goes out
// between 2.4 s and 3 s after the last successful write was sent.

/// A keeper of a lease acquired at t=0 with `policy`, its jitter seeded with `seed`.
fn jittered_keeper(policy: RenewPolicy, seed: u64, clocks: &Clocks) -> Keeper {
    let planner = planner();
    let lease = acquired(&planner, clocks);
    Keeper::new(
        planner,
        lease,
        secs(10),
        policy,
        RetryPolicy::never(),
        seed,
        clocks.at(Duration::ZERO),
    )
    .unwrap()
}

fn jittered_policy() -> RenewPolicy {
    RenewPolicy::default().renew_every(secs(3)).jitter(0.2)
}

/// The send instants (offsets from the origin) of the first `count` renewals, each answered
/// at once: the keeper is driven exactly at its timers.
fn renewal_schedule(keeper: &mut Keeper, clocks: &Clocks, count: usize) -> Vec<Duration> {
    let mut sent_at = Vec::new();
    while sent_at.len() < count {
        let due = keeper.poll_timeout().expect("a renewal is due");
        let t = due - clocks.origin;
        let transmit = keeper
            .poll_transmit(clocks.at(t))
            .expect("the renewal goes out at its timer");
        let (id, request) = (transmit.id, transmit.request.clone());
        assert!(is_refresh(&request), "{request:?}");
        keeper.handle_response(id, applied(), clocks.at(t));
        assert!(
            matches!(events(keeper).as_slice(), [KeeperEvent::Renewed { .. }]),
            "renewed at {t:?}"
        );
        sent_at.push(t);
    }
    sent_at
}

/// Never later than the period: every renewal goes out at most H after the previous one was
/// sent (and no earlier than H × 0.8), over many renewals and many seeds; and never before it
/// is due (no request before the timer the keeper asked for).
#[test]
fn a_jittered_renewal_is_never_later_than_the_period() {
    let clocks = Clocks {
        origin: Instant::now(),
    };
    for seed in 0..200 {
        let mut k = jittered_keeper(jittered_policy(), seed, &clocks);
        let first_due = k.poll_timeout().unwrap() - clocks.origin;
        assert!(
            k.poll_transmit(clocks.at(first_due - Duration::from_nanos(1)))
                .is_none(),
            "seed {seed}: nothing before the timer"
        );
        let schedule = renewal_schedule(&mut k, &clocks, 50);
        let mut previous = Duration::ZERO;
        for t in schedule {
            let gap = t - previous;
            assert!(
                gap <= secs(3) && gap > ms(2_400),
                "seed {seed}: a renewal {gap:?} after the last"
            );
            previous = t;
        }
        assert!(k.status().is_held());
    }
}

/// Leases acquired at the same instant, kept with different seeds, renew at different
/// instants: their first renewals spread over the whole window (2.4 s to 3 s), and after a
/// few periods no two of a hundred are in step.
#[test]
fn leases_acquired_together_with_different_seeds_renew_apart() {
    let clocks = Clocks {
        origin: Instant::now(),
    };
    let schedules: Vec<Vec<Duration>> = (0..100)
        .map(|seed| {
            let mut k = jittered_keeper(jittered_policy(), seed, &clocks);
            renewal_schedule(&mut k, &clocks, 10)
        })
        .collect();
    let firsts: Vec<Duration> = schedules.iter().map(|s| s[0]).collect();
    let earliest = firsts.iter().min().unwrap();
    let latest = firsts.iter().max().unwrap();
    assert!(
        *earliest < ms(2_500) && *latest > ms(2_900),
        "first renewals from {earliest:?} to {latest:?}"
    );
    let mut tenths: Vec<Duration> = schedules.iter().map(|s| s[9]).collect();
    tenths.sort();
    tenths.dedup();
    assert_eq!(tenths.len(), 100, "tenth renewals in step");
    // Without the jitter, they stay in step forever.
    let unjittered: Vec<Vec<Duration>> = (0..10)
        .map(|seed| {
            let mut k = jittered_keeper(jittered_policy().jitter(0.0), seed, &clocks);
            renewal_schedule(&mut k, &clocks, 10)
        })
        .collect();
    let every_period: Vec<Duration> = (1..=10).map(|n| secs(3 * n)).collect();
    assert!(unjittered.iter().all(|s| *s == every_period));
}

/// A fixed seed reproduces the schedule: the same seed twice gives the same renewal instants;
/// the policy's own seed wins over the one the keeper is made with.
#[test]
fn a_fixed_seed_reproduces_the_schedule() {
    let clocks = Clocks {
        origin: Instant::now(),
    };
    let schedule = |policy: RenewPolicy, seed: u64| {
        let mut k = jittered_keeper(policy, seed, &clocks);
        renewal_schedule(&mut k, &clocks, 20)
    };
    let first = schedule(jittered_policy(), 7);
    assert_eq!(first, schedule(jittered_policy(), 7));
    assert_ne!(first, schedule(jittered_policy(), 8));
    let pinned = jittered_policy().jitter_seed(7);
    assert_eq!(schedule(pinned, 1), first);
    assert_eq!(schedule(pinned, 2), first);
}

/// A jitter out of range is refused when the keeper is made, like a bad period.
#[test]
fn a_jitter_out_of_range_is_rejected() {
    let clocks = Clocks {
        origin: Instant::now(),
    };
    for fraction in [f64::NAN, -0.1, 0.6, f64::INFINITY] {
        let planner = planner();
        let lease = acquired(&planner, &clocks);
        let error = Keeper::new(
            planner,
            lease,
            secs(10),
            jittered_policy().jitter(fraction),
            RetryPolicy::never(),
            0,
            clocks.at(Duration::ZERO),
        )
        .unwrap_err();
        assert!(
            matches!(
                error,
                LeaseError::InvalidInput {
                    reason: lease_core::InvalidInput::InvalidRenewJitter,
                    ..
                }
            ),
            "{fraction}: {error:?}"
        );
    }
}
