//! The single-operation machines alone: exact instants in, requests and results out, answers
//! made up here. The lease duration is 10 s and the skew bound 1 s (deadline: send + 9 s).

#![allow(clippy::unwrap_used, clippy::expect_used)]
// Tests need `Instant` values, and only `Instant::now` makes one: it is read once per test, as
// an origin; every instant a machine sees is that origin plus an exact offset.
#![allow(clippy::disallowed_methods)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use lease_core::lifecycle::{
    AcquireOp, CommitOp, InspectOp, Machine, OpEvent, RefreshOp, ReleaseOp,
};
use lease_core::{
    AttributeValue, Holder, Item, Lease, LeaseConfig, LeaseError, LeaseKey, LeaseToken, Now,
    Planner, ReleaseOutcome, Request, RetryPolicy, StoreError, StoreErrorKind, StoreResponse,
    StoredState,
};

const T0: i64 = 1_800_000_000;

struct Clocks(Instant);

impl Clocks {
    fn new() -> Self {
        Self(Instant::now())
    }

    fn at(&self, t: Duration) -> Now {
        Now::new(
            lease_core::wire_time::from_epoch_seconds(T0).unwrap() + t,
            self.0 + t,
        )
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn planner() -> Arc<Planner> {
    Arc::new(Planner::new(LeaseConfig::builder("locks").build().unwrap()))
}

fn key() -> LeaseKey {
    LeaseKey::new("CACHE#A", "LOCK")
}

fn acquire(clocks: &Clocks, retry: RetryPolicy) -> AcquireOp {
    AcquireOp::new(
        planner(),
        key(),
        Duration::from_secs(10),
        clocks.at(Duration::ZERO),
        LeaseToken::new("tok-a"),
        retry,
    )
    .unwrap()
}

fn granted() -> Result<StoreResponse, StoreError> {
    let fence = Item::from([("lease_fence".into(), AttributeValue::number(7))]);
    Ok(StoreResponse::Applied {
        attributes: Some(fence),
    })
}

fn failure(kind: StoreErrorKind) -> Result<StoreResponse, StoreError> {
    Err(StoreError::new(kind, "made up"))
}

/// Sends what the machine asks for at `t` and answers it with `answer`, read at `t + rtt`.
fn exchange<M: Machine>(
    m: &mut M,
    c: &Clocks,
    t: Duration,
    rtt: Duration,
    answer: Result<StoreResponse, StoreError>,
) -> Request {
    let transmit = m.poll_transmit(c.at(t)).expect("a request is due");
    let (id, request) = (transmit.id, transmit.request.clone());
    m.handle_response(id, answer, c.at(t + rtt));
    request
}

fn events<M: Machine>(m: &mut M) -> Vec<OpEvent> {
    std::iter::from_fn(|| m.poll_event()).collect()
}

#[test]
fn an_acquire_answered_in_time_is_the_lease() {
    let c = Clocks::new();
    let mut op = acquire(&c, RetryPolicy::never());
    exchange(&mut op, &c, Duration::ZERO, ms(5), granted());
    let lease = op.poll_output().unwrap().unwrap();
    assert_eq!(lease.fence(), lease_core::FencingToken::new(7));
    assert!(op.poll_output().is_none(), "the result is given once");
    assert!(op.poll_transmit(c.at(ms(5))).is_none());
}

#[test]
fn an_acquire_answered_past_its_deadline_is_lapsed_and_given_back() {
    let c = Clocks::new();
    let mut op = acquire(&c, RetryPolicy::never());
    exchange(&mut op, &c, Duration::ZERO, ms(9_000), granted());
    assert!(op.poll_output().is_none(), "the lease is given back first");
    let release = exchange(
        &mut op,
        &c,
        ms(9_000),
        ms(5),
        Ok(StoreResponse::Applied { attributes: None }),
    );
    assert!(format!("{release:?}").contains("released"), "{release:?}");
    assert!(matches!(
        events(&mut op).as_slice(),
        [OpEvent::GaveBack {
            outcome: Ok(ReleaseOutcome::Released),
            ..
        }]
    ));
    let error = op.poll_output().unwrap().unwrap_err();
    assert!(error.is_lapsed(), "{error:?}");
}

#[test]
fn an_unknown_outcome_is_retried_then_given_back() {
    let c = Clocks::new();
    let mut op = acquire(&c, RetryPolicy::default());
    exchange(
        &mut op,
        &c,
        Duration::ZERO,
        ms(1),
        failure(StoreErrorKind::Timeout),
    );
    assert_eq!(
        op.poll_timeout(),
        Some(c.0 + ms(26)),
        "25 ms after the answer"
    );
    assert!(
        op.poll_transmit(c.at(ms(25))).is_none(),
        "not before the backoff"
    );
    exchange(
        &mut op,
        &c,
        ms(26),
        ms(1),
        failure(StoreErrorKind::Unavailable),
    );
    assert_eq!(op.poll_timeout(), Some(c.0 + ms(77)), "then 50 ms");
    exchange(&mut op, &c, ms(77), ms(1), failure(StoreErrorKind::Timeout));
    let seen = events(&mut op);
    assert_eq!(seen.len(), 2, "two retries: {seen:?}");
    assert!(op.poll_output().is_none(), "the give-back comes first");
    exchange(
        &mut op,
        &c,
        ms(78),
        ms(1),
        Ok(StoreResponse::ConditionFailed { old_item: None }),
    );
    assert!(matches!(
        events(&mut op).as_slice(),
        [OpEvent::GaveBack {
            outcome: Ok(ReleaseOutcome::NotHeld),
            ..
        }]
    ));
    assert!(op.poll_output().unwrap().unwrap_err().is_outcome_unknown());
}

#[test]
fn a_failure_that_applied_nothing_is_not_given_back() {
    let c = Clocks::new();
    let mut op = acquire(&c, RetryPolicy::never());
    exchange(
        &mut op,
        &c,
        Duration::ZERO,
        ms(1),
        failure(StoreErrorKind::Throttled),
    );
    let error = op.poll_output().unwrap().unwrap_err();
    assert!(matches!(error, LeaseError::Store { .. }), "{error:?}");
    assert!(events(&mut op).is_empty());
}

#[test]
fn a_single_try_names_the_holder_the_store_did_not_return() {
    let c = Clocks::new();
    let mut op = acquire(&c, RetryPolicy::never()).reading_holder();
    exchange(
        &mut op,
        &c,
        Duration::ZERO,
        ms(1),
        Ok(StoreResponse::ConditionFailed { old_item: None }),
    );
    let holder = Item::from([
        ("pk".into(), AttributeValue::string("CACHE#A")),
        ("sk".into(), AttributeValue::string("LOCK")),
        ("lease_token".into(), AttributeValue::string("tok-b")),
        ("lease_expires_at".into(), AttributeValue::number(T0 + 20)),
        ("lease_fence".into(), AttributeValue::number(5)),
    ]);
    let read = exchange(
        &mut op,
        &c,
        ms(1),
        ms(1),
        Ok(StoreResponse::Item(Some(holder))),
    );
    assert!(
        matches!(read, Request::Get(ref get) if get.consistent_read),
        "{read:?}"
    );
    match op.poll_output().unwrap() {
        Err(LeaseError::Held {
            holder: Holder::Known(info),
            ..
        }) => assert_eq!(info.fence, Some(lease_core::FencingToken::new(5))),
        other => panic!("{other:?}"),
    }

    // Without reading the holder, the answer stays `Unknown`.
    let mut op = acquire(&c, RetryPolicy::never());
    exchange(
        &mut op,
        &c,
        Duration::ZERO,
        ms(1),
        Ok(StoreResponse::ConditionFailed { old_item: None }),
    );
    assert!(matches!(
        op.poll_output().unwrap(),
        Err(LeaseError::Held {
            holder: Holder::Unknown,
            ..
        })
    ));
}

#[test]
fn a_stale_answer_is_ignored() {
    let c = Clocks::new();
    let mut op = acquire(&c, RetryPolicy::default());
    let first = op.poll_transmit(c.at(Duration::ZERO)).unwrap().id;
    op.handle_response(first, failure(StoreErrorKind::Timeout), c.at(ms(1)));
    let second = op.poll_transmit(c.at(ms(26))).unwrap().id;
    assert_eq!(
        (first.get(), second.get()),
        (0, 1),
        "numbered in send order"
    );
    op.handle_response(first, granted(), c.at(ms(27)));
    assert!(
        op.poll_output().is_none(),
        "the first send's answer came again"
    );
    op.handle_response(second, granted(), c.at(ms(27)));
    assert!(op.poll_output().unwrap().is_ok());
}

fn held_lease(c: &Clocks) -> Lease {
    let mut op = acquire(c, RetryPolicy::never());
    exchange(&mut op, c, Duration::ZERO, ms(1), granted());
    op.poll_output().unwrap().unwrap()
}

/// The held lease was sent at 0 s for 10 s: its safe deadline is 9 s (one second of skew).
/// A refresh sent at 3 s would move it to 12 s, but only if the answer comes while the held
/// lease is still good: between 9 s and the answer the holder had no confirmed lease.
#[test]
fn a_refresh_answered_past_either_deadline_is_lapsed() {
    let c = Clocks::new();
    let lease = held_lease(&c);
    let refresh_answered_at = |answered: Duration| {
        let mut op = RefreshOp::new(
            planner(),
            &lease,
            Duration::from_secs(10),
            c.at(ms(3_000)),
            RetryPolicy::never(),
        )
        .unwrap();
        exchange(
            &mut op,
            &c,
            ms(3_000),
            answered - ms(3_000),
            Ok(StoreResponse::Applied { attributes: None }),
        );
        op.poll_output().unwrap()
    };
    let refreshed = refresh_answered_at(ms(8_999)).expect("in time for the held lease");
    assert!(refreshed.is_valid_at(c.at(ms(11_999))));
    assert!(!refreshed.is_valid_at(c.at(ms(12_000))));
    assert!(
        refresh_answered_at(ms(9_000)).unwrap_err().is_lapsed(),
        "the held lease's deadline passed before the answer"
    );
    assert!(
        refresh_answered_at(ms(12_000)).unwrap_err().is_lapsed(),
        "past the refreshed lease's own deadline too"
    );
}

#[test]
fn release_inspect_and_commit_interpret_their_answers() {
    let c = Clocks::new();
    let lease = held_lease(&c);
    let mut release =
        ReleaseOp::new(planner(), &lease, c.at(ms(10)), RetryPolicy::never()).unwrap();
    exchange(
        &mut release,
        &c,
        ms(10),
        ms(1),
        Ok(StoreResponse::ConditionFailed { old_item: None }),
    );
    assert_eq!(
        release.poll_output().unwrap().unwrap(),
        ReleaseOutcome::NotHeld
    );
    // A failed release names the key (the machine reads it back from its request).
    let mut release =
        ReleaseOp::new(planner(), &lease, c.at(ms(10)), RetryPolicy::never()).unwrap();
    exchange(
        &mut release,
        &c,
        ms(10),
        ms(1),
        failure(StoreErrorKind::Other),
    );
    assert_eq!(release.poll_output().unwrap().unwrap_err().key(), &key());

    let mut inspect = InspectOp::new(planner(), key(), RetryPolicy::never()).unwrap();
    exchange(
        &mut inspect,
        &c,
        ms(10),
        ms(1),
        Ok(StoreResponse::Item(None)),
    );
    assert!(matches!(
        inspect.poll_output().unwrap().unwrap().state,
        StoredState::Absent
    ));

    // A commit is sent again after throttling (nothing applied), never after a timeout.
    let mut commit = CommitOp::new(
        planner(),
        &lease,
        c.at(ms(10)),
        Vec::new(),
        false,
        RetryPolicy::default(),
    )
    .unwrap();
    exchange(
        &mut commit,
        &c,
        ms(10),
        ms(1),
        failure(StoreErrorKind::Throttled),
    );
    assert!(commit.poll_output().is_none(), "throttled: resent");
    exchange(
        &mut commit,
        &c,
        ms(36),
        ms(1),
        failure(StoreErrorKind::Timeout),
    );
    let error = commit.poll_output().unwrap().unwrap_err();
    assert!(
        error.is_outcome_unknown(),
        "a timeout may have applied it: {error:?}"
    );
}

/// A resent acquire is planned again when it is sent: its `:now`, its expiry and its fencing
/// floor are those of the resend (a copy of the first request would restart the fencing token
/// from a stale clock reading if the item had been deleted meanwhile), with the same token.
#[test]
fn a_resent_acquire_is_planned_at_its_resend() {
    let c = Clocks::new();
    let mut op = acquire(&c, RetryPolicy::default());
    let first = op.poll_transmit(c.at(Duration::ZERO)).unwrap();
    let (first_id, first_values) = (first.id, first.request.render().values);
    op.handle_response(first_id, failure(StoreErrorKind::Timeout), c.at(ms(1)));
    let resend = op.poll_transmit(c.at(ms(5_000))).unwrap();
    let (resend_id, values) = (resend.id, resend.request.render().values);
    assert_eq!(
        values[":now"],
        AttributeValue::number(T0 + 5),
        "planned at the resend"
    );
    assert_eq!(values[":exp"], AttributeValue::number(T0 + 15));
    assert_eq!(values[":tok"], first_values[":tok"], "the same token");
    assert_ne!(values[":now"], first_values[":now"]);
    op.handle_response(resend_id, granted(), c.at(ms(5_001)));
    let lease = op.poll_output().unwrap().unwrap();
    assert!(
        lease.is_valid_at(c.at(ms(13_999))),
        "its deadline follows the resend"
    );
    assert!(!lease.is_valid_at(c.at(ms(14_000))));
}

/// A refresh reads the wall clock through the lease's last write: a wall clock stepped back
/// since counts as the write's wall time + the monotonic time elapsed (never a shorter or
/// back-dated expiry); one stepped forward counts as it reads.
#[test]
fn a_refresh_corrects_a_wall_clock_stepped_back_and_keeps_one_stepped_forward() {
    let c = Clocks::new();
    let lease = held_lease(&c); // written at T0 (wall) and c.0 (monotonic)
    let planner = planner();
    let refresh_at = |wall_offset: i64| {
        let wall = lease_core::wire_time::from_epoch_seconds(T0 + wall_offset).unwrap();
        let now = Now::new(wall, c.0 + Duration::from_secs(5));
        let plan = planner
            .refresh(&lease, Duration::from_secs(10), now)
            .unwrap();
        let values = plan.request().render().values;
        (values[":now"].clone(), values[":exp"].clone())
    };
    let at = |s: i64| AttributeValue::number(s);
    assert_eq!(refresh_at(2), (at(T0 + 5), at(T0 + 15)), "stepped back 3 s");
    assert_eq!(refresh_at(5), (at(T0 + 5), at(T0 + 15)), "in step");
    assert_eq!(
        refresh_at(8),
        (at(T0 + 8), at(T0 + 18)),
        "stepped forward 3 s"
    );
}

/// The first send is the request planned at `new` (its deadline counts from then: a driver
/// polls at once); polling again while it is in flight changes nothing, not even the lease the
/// answer will give. Only a resend after a failure is planned again.
#[test]
fn an_acquire_in_flight_is_not_planned_again() {
    let c = Clocks::new();
    let mut op = acquire(&c, RetryPolicy::default());
    let first = op.poll_transmit(c.at(ms(2_000))).unwrap();
    let (id, values) = (first.id, first.request.render().values);
    assert_eq!(values[":now"], AttributeValue::number(T0), "planned at new");
    assert!(op.poll_transmit(c.at(ms(5_000))).is_none(), "in flight");
    op.handle_response(id, granted(), c.at(ms(5_001)));
    let lease = op.poll_output().unwrap().unwrap();
    assert!(lease.is_valid_at(c.at(ms(8_999))));
    assert!(
        !lease.is_valid_at(c.at(ms(9_000))),
        "the deadline counts from the plan"
    );
}

/// A timeout handled is not reported again: after `handle_timeout` at the instant
/// `poll_timeout` gave, a request is due and nothing is left to wait for.
#[test]
fn a_handled_timeout_is_not_reported_again() {
    let c = Clocks::new();
    let mut op = acquire(&c, RetryPolicy::default());
    let first = op.poll_transmit(c.at(Duration::ZERO)).unwrap().id;
    op.handle_response(first, failure(StoreErrorKind::Timeout), c.at(ms(1)));
    let due = op.poll_timeout().expect("a retry waits for its backoff");
    op.handle_timeout(c.at(due - c.0));
    assert_eq!(op.poll_timeout(), None);
    assert!(op.poll_transmit(c.at(due - c.0)).is_some());
}

/// A single-request operation reports each retry, and `handle_timeout` processes its
/// backoff's timer: afterwards nothing is left to wait for, and the resend is due.
#[test]
fn a_single_requests_retries_are_reported_and_its_timer_handled() {
    let c = Clocks::new();
    let lease = held_lease(&c);
    let mut op = ReleaseOp::new(planner(), &lease, c.at(ms(10)), RetryPolicy::default()).unwrap();
    let first = op.poll_transmit(c.at(ms(10))).unwrap().id;
    op.handle_response(first, failure(StoreErrorKind::Unavailable), c.at(ms(11)));
    let seen = events(&mut op);
    assert!(
        matches!(
            seen.as_slice(),
            [OpEvent::Retrying {
                attempt: 1,
                backoff,
                ..
            }] if *backoff == ms(25)
        ),
        "{seen:?}"
    );
    let due = op.poll_timeout().expect("a retry waits for its backoff");
    op.handle_timeout(c.at(due - c.0));
    assert_eq!(op.poll_timeout(), None);
    let resend = op
        .poll_transmit(c.at(due - c.0))
        .expect("the resend is due")
        .id;
    op.handle_response(
        resend,
        Ok(StoreResponse::Applied { attributes: None }),
        c.at(due - c.0 + ms(1)),
    );
    assert_eq!(op.poll_output().unwrap().unwrap(), ReleaseOutcome::Released);
}

/// Which answers must be judged at a clock reading taken when they arrive: those that give or
/// extend a lease (its deadline is checked against the reading); a release's, an inspect's
/// and a commit's may be read at the send.
#[test]
fn answers_that_give_a_lease_need_a_fresh_clock_reading() {
    let c = Clocks::new();
    let lease = held_lease(&c);
    let now = c.at(ms(10));
    assert!(acquire(&c, RetryPolicy::never()).reads_clock_on_answer());
    let refresh = RefreshOp::new(
        planner(),
        &lease,
        Duration::from_secs(10),
        now,
        RetryPolicy::never(),
    )
    .unwrap();
    assert!(refresh.reads_clock_on_answer());
    let release = ReleaseOp::new(planner(), &lease, now, RetryPolicy::never()).unwrap();
    assert!(!release.reads_clock_on_answer());
    let inspect = InspectOp::new(planner(), key(), RetryPolicy::never()).unwrap();
    assert!(!inspect.reads_clock_on_answer());
}

/// A retry policy with no backoff still waits `MIN_RETRY_DELAY` (10 ms) between attempts: it
/// cannot resend back to back to a throttling table.
#[test]
fn a_zero_backoff_still_waits_the_minimum_retry_delay() {
    let c = Clocks::new();
    let retry = RetryPolicy::default()
        .max_attempts(3)
        .backoff(Duration::ZERO, Duration::ZERO);
    let mut op = acquire(&c, retry);
    exchange(
        &mut op,
        &c,
        Duration::ZERO,
        ms(1),
        failure(StoreErrorKind::Throttled),
    );
    let seen = events(&mut op);
    assert!(
        matches!(seen.as_slice(), [OpEvent::Retrying { backoff, .. }] if *backoff == lease_core::lifecycle::MIN_RETRY_DELAY),
        "{seen:?}"
    );
    assert_eq!(op.poll_timeout(), Some(c.0 + ms(11)));
}

/// Answers the acquire at 0 with `Applied { attributes }`, which gives no lease, then the
/// give-back it sends (a release, conditioned on our token) with `release`: the give-back
/// reports `outcome`, and the acquire's error is returned.
fn given_back_after(
    op: &mut AcquireOp,
    c: &Clocks,
    attributes: Item,
    release: Result<StoreResponse, StoreError>,
    outcome: Result<ReleaseOutcome, LeaseError>,
) -> LeaseError {
    exchange(
        op,
        c,
        Duration::ZERO,
        ms(5),
        Ok(StoreResponse::Applied {
            attributes: Some(attributes),
        }),
    );
    assert!(op.poll_output().is_none(), "the lease is given back first");
    let sent = exchange(op, c, ms(5), ms(5), release);
    assert!(format!("{sent:?}").contains("released"), "{sent:?}");
    let seen = events(op);
    assert!(
        matches!(seen.as_slice(), [OpEvent::GaveBack { outcome: got, .. }] if format!("{got:?}") == format!("{outcome:?}")),
        "{seen:?}"
    );
    op.poll_output().unwrap().unwrap_err()
}

/// The write landed, but the fencing token it incremented was stored by another program as a
/// number that is not whole: no lease, and what the write took is given back (conditioned on
/// our token), so that the key is not blocked until the written expiry.
#[test]
fn an_applied_acquire_with_a_fence_that_is_not_whole_is_given_back() {
    let c = Clocks::new();
    let mut op = acquire(&c, RetryPolicy::never());
    let fence = Item::from([("lease_fence".into(), AttributeValue::N("2.5".into()))]);
    let error = given_back_after(
        &mut op,
        &c,
        fence,
        Ok(StoreResponse::Applied { attributes: None }),
        Ok(ReleaseOutcome::Released),
    );
    assert!(
        matches!(&error, LeaseError::MalformedItem { error, .. } if error.to_string().contains("lease_fence")),
        "{error:?}"
    );
}

/// An answer that reports a write of another token answers another acquire (a driver that
/// handed one machine's answer to another: the simulator's actor once matched answers by
/// request id alone, and ids restart at 0 in every machine). Its fencing token is not ours, and
/// can be below one handed out since: no lease, and what our own request may have written is
/// given back (conditioned on our token).
#[test]
fn an_applied_acquire_that_names_another_token_is_not_our_lease() {
    let c = Clocks::new();
    let mut op = acquire(&c, RetryPolicy::never());
    let other = Item::from([
        ("lease_fence".into(), AttributeValue::number(6)),
        ("lease_token".into(), AttributeValue::string("tok-earlier")),
    ]);
    let error = given_back_after(
        &mut op,
        &c,
        other,
        Ok(StoreResponse::ConditionFailed { old_item: None }),
        Ok(ReleaseOutcome::NotHeld),
    );
    assert!(
        matches!(&error, LeaseError::UnexpectedResponse { detail, .. } if detail.contains("another lease token")),
        "{error:?}"
    );

    // Our own token in the answer (UPDATED_NEW returns the token the acquire sets) is our lease.
    let mut op = acquire(&c, RetryPolicy::never());
    let ours = Item::from([
        ("lease_fence".into(), AttributeValue::number(7)),
        ("lease_token".into(), AttributeValue::string("tok-a")),
    ]);
    exchange(
        &mut op,
        &c,
        Duration::ZERO,
        ms(5),
        Ok(StoreResponse::Applied {
            attributes: Some(ours),
        }),
    );
    let lease = op.poll_output().unwrap().unwrap();
    assert_eq!(lease.fence(), lease_core::FencingToken::new(7));
}

/// An attempt that may have been applied (a timeout), then resends that certainly applied
/// nothing (throttled): the acquire's outcome is still unknown, not "not applied". It ends
/// `OutcomeUnknown` and gives back what the first attempt may have written, so that a lease
/// that landed unseen does not block the key until its expiry.
#[test]
fn a_timeout_then_throttled_resends_is_still_unknown_and_given_back() {
    let c = Clocks::new();
    let mut op = acquire(&c, RetryPolicy::default());
    exchange(
        &mut op,
        &c,
        Duration::ZERO,
        ms(1),
        failure(StoreErrorKind::Timeout),
    );
    exchange(
        &mut op,
        &c,
        ms(26),
        ms(1),
        failure(StoreErrorKind::Throttled),
    );
    exchange(
        &mut op,
        &c,
        ms(77),
        ms(1),
        failure(StoreErrorKind::Throttled),
    );
    assert!(op.poll_output().is_none(), "the give-back comes first");
    let release = exchange(
        &mut op,
        &c,
        ms(78),
        ms(1),
        Ok(StoreResponse::Applied { attributes: None }),
    );
    assert!(format!("{release:?}").contains("released"), "{release:?}");
    let error = op.poll_output().unwrap().unwrap_err();
    assert!(error.is_outcome_unknown(), "{error:?}");
    let LeaseError::OutcomeUnknown { source, .. } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(source.kind(), StoreErrorKind::Timeout);
    assert!(
        source.message().contains("the last attempt: throttled"),
        "{source:?}"
    );

    // Throttled every time: certainly not applied, nothing to give back.
    let mut op = acquire(&c, RetryPolicy::default());
    for t in [0, 26, 77] {
        exchange(
            &mut op,
            &c,
            ms(t),
            ms(1),
            failure(StoreErrorKind::Throttled),
        );
    }
    let error = op.poll_output().unwrap().unwrap_err();
    assert!(
        matches!(&error, LeaseError::Store { source, .. } if source.kind() == StoreErrorKind::Throttled && source.message() == "made up"),
        "{error:?}"
    );

    // Timed out every time: unknown, with the last attempt's own error (nothing to merge).
    let mut op = acquire(&c, RetryPolicy::default());
    for t in [0, 26, 77] {
        exchange(&mut op, &c, ms(t), ms(1), failure(StoreErrorKind::Timeout));
    }
    exchange(
        &mut op,
        &c,
        ms(78),
        ms(1),
        Ok(StoreResponse::Applied { attributes: None }),
    );
    let error = op.poll_output().unwrap().unwrap_err();
    assert!(
        matches!(&error, LeaseError::OutcomeUnknown { source, .. } if source.message() == "made up"),
        "{error:?}"
    );
}

/// A store that ignores `ReturnValues` answers an applied acquire without attributes: no
/// fencing token, so no lease; the write landed, so it is given back.
#[test]
fn an_applied_acquire_answered_without_attributes_is_given_back() {
    let c = Clocks::new();
    let mut op = acquire(&c, RetryPolicy::never());
    exchange(
        &mut op,
        &c,
        Duration::ZERO,
        ms(5),
        Ok(StoreResponse::Applied { attributes: None }),
    );
    assert!(op.poll_output().is_none(), "the lease is given back first");
    let sent = exchange(
        &mut op,
        &c,
        ms(5),
        ms(5),
        Ok(StoreResponse::Applied { attributes: None }),
    );
    assert!(format!("{sent:?}").contains("released"), "{sent:?}");
    let error = op.poll_output().unwrap().unwrap_err();
    assert!(
        matches!(&error, LeaseError::UnexpectedResponse { .. }),
        "{error:?}"
    );
}
