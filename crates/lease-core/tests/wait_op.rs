//! The waiting acquire's machine alone: exact instants, made-up answers. Lease 10 s, skew
//! bound 1 s.

#![allow(clippy::unwrap_used, clippy::expect_used)]
// Tests need `Instant` values, and only `Instant::now` makes one: it is read once per test, as
// an origin; every instant the machine sees is that origin plus an exact offset.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{Clocks, T0, contended, granted, held_until, ms, wait};

use std::time::{Duration, Instant};

use lease_core::lifecycle::{Machine, WaitOp};
use lease_core::{Holder, LeaseError, StoreError, StoreErrorKind, StoreResponse, WaitPolicy};

/// Answers the request due at `t` with `answer` at once; the token it carried.
fn answer(
    w: &mut WaitOp,
    c: &Clocks,
    t: Duration,
    answer: Result<StoreResponse, StoreError>,
) -> String {
    let transmit = w.poll_transmit(c.at(t)).expect("an attempt is due");
    let token = format!("{:?}", transmit.request);
    let id = transmit.id;
    w.handle_response(id, answer, c.at(t));
    token
}

#[test]
fn the_holders_known_expiry_is_the_next_attempt() {
    let c = Clocks(Instant::now());
    let mut w = wait(
        &c,
        WaitPolicy::with_timeout(Duration::from_secs(60)).max_delay(Duration::from_secs(30)),
    );
    answer(&mut w, &c, Duration::ZERO, held_until(T0 + 20));
    assert_eq!(contended(&mut w), [Duration::from_secs(20)]);
    assert_eq!(w.poll_timeout(), Some(c.0 + Duration::from_secs(20)));
    assert!(
        w.poll_transmit(c.at(ms(19_999))).is_none(),
        "nothing before the expiry"
    );
    answer(&mut w, &c, Duration::from_secs(20), granted());
    assert!(w.poll_output().unwrap().is_ok());
}

#[test]
fn a_far_expiry_is_polled_every_max_delay_with_jitter() {
    let c = Clocks(Instant::now());
    let mut w = wait(&c, WaitPolicy::with_timeout(Duration::from_secs(60)));
    answer(&mut w, &c, Duration::ZERO, held_until(T0 + 30));
    let [delay] = contended(&mut w)[..] else {
        panic!()
    };
    assert!(delay > ms(800) && delay <= ms(1_000), "{delay:?}");
}

#[test]
fn an_unknown_holder_is_polled_with_doubling_backoff() {
    let c = Clocks(Instant::now());
    let mut w = wait(
        &c,
        WaitPolicy::with_timeout(Duration::from_secs(60)).jitter(0.0),
    );
    let mut t = Duration::ZERO;
    let mut delays = Vec::new();
    for _ in 0..6 {
        // No old item, and the holder read finds nothing either: the holder stays unknown.
        let transmit = w.poll_transmit(c.at(t)).unwrap();
        let id = transmit.id;
        w.handle_response(
            id,
            Ok(StoreResponse::ConditionFailed { old_item: None }),
            c.at(t),
        );
        let read = w.poll_transmit(c.at(t)).unwrap().id;
        w.handle_response(read, Ok(StoreResponse::Item(None)), c.at(t));
        let delay = contended(&mut w)[0];
        delays.push(delay);
        t += delay;
    }
    assert_eq!(
        delays,
        [ms(50), ms(100), ms(200), ms(400), ms(800), ms(1_000)]
    );
}

#[test]
fn every_attempt_has_a_fresh_token() {
    let c = Clocks(Instant::now());
    let mut w = wait(
        &c,
        WaitPolicy::with_timeout(Duration::from_secs(60)).max_delay(Duration::from_secs(30)),
    );
    let first = answer(&mut w, &c, Duration::ZERO, held_until(T0 + 5));
    let second = answer(&mut w, &c, Duration::from_secs(5), granted());
    assert_ne!(first, second);
}

#[test]
fn the_wait_ends_with_one_last_attempt_at_the_deadline() {
    let c = Clocks(Instant::now());
    let mut w = wait(&c, WaitPolicy::with_timeout(ms(2_500)).jitter(0.0));
    let mut t = Duration::ZERO;
    let mut attempts = 0;
    loop {
        answer(&mut w, &c, t, held_until(T0 + 60));
        attempts += 1;
        if let Some(result) = w.poll_output() {
            match result {
                Err(LeaseError::WaitTimedOut {
                    holder: Holder::Known(info),
                    ..
                }) => {
                    assert_eq!(info.fence, Some(lease_core::FencingToken::new(3)));
                }
                other => panic!("{other:?}"),
            }
            break;
        }
        t = w.poll_timeout().unwrap() - c.0;
    }
    assert_eq!(t, ms(2_500), "the last attempt is at the deadline");
    assert_eq!(attempts, 4, "t = 0, 1, 2 and the deadline");
}

#[test]
fn transient_failures_and_late_answers_are_waited_through_other_errors_end_it() {
    let c = Clocks(Instant::now());
    let mut w = wait(&c, WaitPolicy::with_timeout(Duration::from_secs(60)));
    answer(
        &mut w,
        &c,
        Duration::ZERO,
        Err(StoreError::new(StoreErrorKind::Throttled, "slow down")),
    );
    assert!(w.poll_output().is_none(), "throttled: waited through");
    let next = w.poll_timeout().unwrap() - c.0;
    answer(
        &mut w,
        &c,
        next,
        Err(StoreError::new(StoreErrorKind::AccessDenied, "no")),
    );
    let error = w.poll_output().unwrap().unwrap_err();
    assert!(matches!(error, LeaseError::Store { .. }), "{error:?}");

    // Granted, but answered past the deadline: given back, and the wait goes on.
    let mut w = wait(&c, WaitPolicy::with_timeout(Duration::from_secs(60)));
    let transmit = w.poll_transmit(c.at(Duration::ZERO)).unwrap();
    let id = transmit.id;
    w.handle_response(id, granted(), c.at(Duration::from_secs(9)));
    let give_back = w.poll_transmit(c.at(Duration::from_secs(9))).unwrap().id;
    w.handle_response(
        give_back,
        Ok(StoreResponse::Applied { attributes: None }),
        c.at(Duration::from_secs(9)),
    );
    assert!(w.poll_output().is_none(), "waiting again");
    let next = w.poll_timeout().unwrap() - c.0;
    answer(&mut w, &c, next, granted());
    assert!(w.poll_output().unwrap().is_ok());
}

#[test]
fn the_same_seed_gives_the_same_delays() {
    let c = Clocks(Instant::now());
    let delays = |seed: u64| {
        let mut w = wait(
            &c,
            WaitPolicy::with_timeout(Duration::from_secs(60)).jitter_seed(seed),
        );
        let mut t = Duration::ZERO;
        (0..5)
            .map(|_| {
                answer(&mut w, &c, t, held_until(T0 + 600));
                let d = contended(&mut w)[0];
                t += d;
                d
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(delays(9), delays(9));
    assert_ne!(delays(9), delays(10));
}

/// Attempts continue one numbering of request ids: a late answer to an earlier attempt (its
/// caller gave up on it, but a network can still deliver it) is not the later attempt's answer.
#[test]
fn a_late_answer_to_an_earlier_attempt_is_not_taken_for_a_later_ones() {
    let c = Clocks(Instant::now());
    let mut w = wait(&c, WaitPolicy::with_timeout(Duration::from_secs(60)));
    let first = w.poll_transmit(c.at(Duration::ZERO)).unwrap().id;
    w.handle_response(first, held_until(T0 + 5), c.at(ms(1)));
    let second = w.poll_transmit(c.at(Duration::from_secs(5))).unwrap().id;
    assert_eq!(
        (first.get(), second.get()),
        (0, 1),
        "each attempt's request has an id of its own, in one numbering"
    );
    // The first attempt's request again (a duplicate delivery), now saying "granted".
    w.handle_response(first, granted(), c.at(ms(5_001)));
    assert!(
        w.poll_output().is_none(),
        "an answer to the first attempt is not the second's"
    );
    w.handle_response(second, granted(), c.at(ms(5_002)));
    assert!(w.poll_output().unwrap().is_ok());
}

/// `without_timeout` waits for ever, with the same delays as a wait with a timeout.
#[test]
fn a_wait_without_timeout_has_none_and_the_default_delays() {
    let forever = WaitPolicy::without_timeout();
    let bounded = WaitPolicy::with_timeout(Duration::from_secs(5));
    assert_eq!(forever.timeout(), None);
    assert_eq!(bounded.timeout(), Some(Duration::from_secs(5)));
    // The same delays: the two differ in their timeout alone (Debug shows every setting).
    assert_eq!(
        format!("{forever:?}").replace("timeout: None", "timeout: Some(5s)"),
        format!("{bounded:?}")
    );
}

/// A wait policy's jitter outside 0..=1 (or not a number) and zero delays are not errors: the
/// jitter is clamped (above 1 acts as 1, below 0 and NaN as 0) and no two polls are closer than
/// `MIN_POLL_DELAY`, so no policy can make a waiter busy-poll the table.
#[test]
fn out_of_range_jitter_is_clamped_and_zero_delays_are_raised_to_the_minimum() {
    let c = Clocks(Instant::now());
    let delays = |policy: WaitPolicy| {
        let mut w = wait(&c, policy.jitter_seed(5));
        let mut t = Duration::ZERO;
        (0..5)
            .map(|_| {
                answer(&mut w, &c, t, held_until(T0 + 600));
                let d = contended(&mut w)[0];
                t += d;
                d
            })
            .collect::<Vec<_>>()
    };
    let policy = WaitPolicy::with_timeout(Duration::from_secs(60));
    let full = delays(policy.clone().jitter(1.0));
    let none = delays(policy.clone().jitter(0.0));
    assert_eq!(none, [Duration::from_secs(1); 5]);
    assert_eq!(delays(policy.clone().jitter(7.0)), full);
    assert_eq!(delays(policy.clone().jitter(f64::INFINITY)), full);
    assert_eq!(delays(policy.clone().jitter(-3.0)), none);
    assert_eq!(delays(policy.clone().jitter(f64::NAN)), none);
    assert!(
        full.iter()
            .all(|d| *d >= lease_core::MIN_POLL_DELAY && *d <= ms(1_000))
    );
    let zero = policy
        .initial_delay(Duration::ZERO)
        .max_delay(Duration::ZERO);
    assert_eq!(delays(zero), [lease_core::MIN_POLL_DELAY; 5]);
}

/// A timeout too long for the clock (`Duration::MAX`) means "wait for ever", not "give up
/// after the first attempt".
#[test]
fn a_timeout_past_the_clocks_range_is_no_deadline() {
    let c = Clocks(Instant::now());
    let mut w = wait(&c, WaitPolicy::with_timeout(Duration::MAX).jitter(0.0));
    answer(&mut w, &c, Duration::ZERO, held_until(T0 + 30));
    assert!(w.poll_output().is_none(), "still waiting");
    assert_eq!(contended(&mut w), [ms(1_000)]);
    assert_eq!(w.poll_timeout(), Some(c.0 + ms(1_000)));
}

/// Delays near `Duration::MAX` neither panic (jitter's float arithmetic) nor wrap to "now":
/// the next attempt is as far off as the clock can say.
#[test]
fn delays_near_the_maximum_neither_panic_nor_poll_at_once() {
    let c = Clocks(Instant::now());
    let policy = WaitPolicy::without_timeout()
        .initial_delay(Duration::MAX)
        .max_delay(Duration::MAX)
        .jitter(0.5);
    let mut w = wait(&c, policy);
    // A transient failure: the backoff from `initial_delay` applies (as when the holder is
    // unknown).
    answer(
        &mut w,
        &c,
        Duration::ZERO,
        Err(StoreError::new(StoreErrorKind::Throttled, "slow down")),
    );
    assert!(w.poll_output().is_none(), "still waiting");
    let next = w.poll_timeout().expect("a next attempt");
    assert!(
        next > c.0 + Duration::from_secs(365 * 24 * 3600),
        "{next:?}"
    );
    assert!(w.poll_transmit(c.at(Duration::from_secs(3600))).is_none());
}

/// B37: throttled attempts back off beyond `max_delay` (doubling up to 8 times it), and the
/// first attempt that is not throttled resets the growth.
#[test]
fn throttled_attempts_back_off_beyond_max_delay() {
    let c = Clocks(Instant::now());
    let mut w = wait(
        &c,
        WaitPolicy::with_timeout(Duration::from_secs(600))
            .initial_delay(ms(10))
            .max_delay(ms(500))
            .jitter(0.0),
    );
    let throttled = || Err(StoreError::new(StoreErrorKind::Throttled, "slow down"));
    let mut t = Duration::ZERO;
    let mut delays = Vec::new();
    for _ in 0..6 {
        answer(&mut w, &c, t, throttled());
        let next = w.poll_timeout().unwrap() - c.0;
        delays.push(next - t);
        t = next;
    }
    assert_eq!(
        delays,
        [
            ms(500),
            ms(1_000),
            ms(2_000),
            ms(4_000),
            ms(4_000),
            ms(4_000)
        ]
    );
    // A transient failure that is not throttling: the usual backoff, and the growth resets.
    answer(
        &mut w,
        &c,
        t,
        Err(StoreError::new(StoreErrorKind::Unreachable, "refused")),
    );
    let next = w.poll_timeout().unwrap() - c.0;
    assert!(next - t <= ms(500), "{:?}", next - t);
    t = next;
    answer(&mut w, &c, t, throttled());
    assert_eq!(w.poll_timeout().unwrap() - c.0 - t, ms(500));
}
