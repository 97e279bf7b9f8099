//! The process's line of waiters ([`WaitQueue`]) and the turns it gives a [`WaitOp`]: who is
//! told what, first come first served, and what each turn makes the machine send (exact
//! instants, made-up answers). Lease 10 s, skew bound 1 s.

#![allow(clippy::unwrap_used, clippy::expect_used)]
// Tests need `Instant` values, and only `Instant::now` makes one: it is read once per test, as
// an origin; every instant the machine sees is that origin plus an exact offset.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{Clocks, T0, contended, granted, held_until, key, ms};

use std::time::{Duration, Instant, SystemTime};

use lease_core::lifecycle::{Machine, Turn, WaitOp, WaitQueue};
use lease_core::{FencingToken, Holder, Lease, LeaseError, LeaseKey, LeaseToken, WaitPolicy};

fn wall(t: Duration) -> SystemTime {
    lease_core::wire_time::from_epoch_seconds(T0).unwrap() + t
}

fn lease(token: &str, expires_in: Duration) -> Lease {
    Lease::new(
        key(),
        LeaseToken::new(token),
        FencingToken::new(7),
        wall(expires_in),
    )
}

/// A wait without jitter, so that its delays are exact.
fn wait(c: &Clocks, policy: WaitPolicy) -> WaitOp {
    common::wait(c, policy.jitter(0.0))
}

// The queue alone.

#[test]
fn the_first_waiter_attempts_the_others_queue_in_order() {
    let mut q = WaitQueue::new();
    let (a, turn_a) = q.join(&key(), 'a');
    let (b, turn_b) = q.join(&key(), 'b');
    let (_, turn_c) = q.join(&key(), 'c');
    assert_eq!(
        (turn_a, turn_b, turn_c),
        (Turn::Attempt, Turn::Queued, Turn::Queued)
    );
    assert_eq!(q.waiting(&key()), 3);
    // Another key has its own line.
    let other = LeaseKey::new("CACHE#B", "LOCK");
    assert_eq!(q.join(&other, 'x').1, Turn::Attempt);

    // The first acquires: the next is first, behind the new (local) holder.
    let held = lease("a-token", Duration::from_secs(10));
    let Some(('b', Turn::Behind(Holder::Known(info)))) = q.acquired(&held, Some(a)) else {
        panic!("b is first, behind a's lease");
    };
    assert_eq!(info.token, held.token().fingerprint());
    assert_eq!(info.expires_at, held.expires_at());
    assert_eq!(info.fence, Some(FencingToken::new(7)));

    // A release of another token (a stale lease of the process) tells no one.
    assert_eq!(q.released(&key(), &LeaseToken::new("old")), None);
    // The holder's release: the first attempts now.
    assert_eq!(q.released(&key(), held.token()), Some(('b', Turn::Attempt)));
    // b gives up: c is first; no holder is known any more, so c attempts.
    assert_eq!(q.leave(&key(), b), Some(('c', Turn::Attempt)));
    assert_eq!(q.waiting(&key()), 1);
}

#[test]
fn leaving_from_behind_tells_no_one_and_empty_lines_are_dropped() {
    let mut q = WaitQueue::new();
    let (a, _) = q.join(&key(), 'a');
    let (b, _) = q.join(&key(), 'b');
    assert_eq!(q.leave(&key(), b), None, "b was not first");
    assert_eq!(q.leave(&key(), b), None, "unknown ids are ignored");
    assert!(!q.is_empty());
    assert_eq!(q.leave(&key(), a), None, "no one is left to tell");
    assert!(q.is_empty(), "an empty line is dropped");
    // Nothing is remembered for keys no one waits for: acquires and releases there are no-ops.
    let held = lease("t", Duration::from_secs(10));
    assert_eq!(q.acquired(&held, None), None);
    assert_eq!(q.released(&key(), held.token()), None);
    assert!(q.is_empty());
    // A new waiter knows of no holder.
    assert_eq!(q.join(&key(), 'c').1, Turn::Attempt);
}

#[test]
fn an_acquire_that_did_not_wait_is_remembered_for_the_waiters() {
    let mut q = WaitQueue::new();
    let (_, first) = q.join(&key(), 'a');
    assert_eq!(first, Turn::Attempt);
    // A plain acquire of the process got the lease meanwhile: a stays first (its attempt
    // will find the lease held), and a later waiter is queued.
    let held = lease("plain", Duration::from_secs(10));
    assert_eq!(q.acquired(&held, None), None);
    assert_eq!(q.join(&key(), 'b').1, Turn::Queued);
    assert_eq!(q.released(&key(), held.token()), Some(('a', Turn::Attempt)));
}

#[test]
fn a_waiter_that_acquires_out_of_turn_leaves_the_first_in_place() {
    let mut q = WaitQueue::new();
    let (_, _) = q.join(&key(), 'a');
    let (b, _) = q.join(&key(), 'b');
    let (_, _) = q.join(&key(), 'c');
    // b's last attempt at its deadline got the lease: a is still first.
    let held = lease("b", Duration::from_secs(10));
    assert_eq!(q.acquired(&held, Some(b)), None);
    assert_eq!(q.waiting(&key()), 2);
    assert_eq!(q.released(&key(), held.token()), Some(('a', Turn::Attempt)));
}

// The turns, as the machine takes them.

#[test]
fn a_queued_waiter_sends_nothing_until_its_turn_then_attempts_at_once() {
    let c = Clocks(Instant::now());
    let mut w = wait(&c, WaitPolicy::with_timeout(Duration::from_secs(60)));
    w.take_turn(Turn::Queued, c.at(Duration::ZERO));
    assert!(w.poll_transmit(c.at(Duration::ZERO)).is_none());
    assert_eq!(
        w.poll_timeout(),
        Some(c.0 + Duration::from_secs(60)),
        "only the deadline"
    );
    assert!(w.poll_transmit(c.at(ms(59_999))).is_none());
    // Its turn: an attempt at once.
    w.take_turn(Turn::Attempt, c.at(ms(5)));
    let t = w.poll_transmit(c.at(ms(5))).expect("an attempt");
    let id = t.id;
    w.handle_response(id, granted(), c.at(ms(6)));
    assert!(w.poll_output().unwrap().is_ok());
}

#[test]
fn a_queued_waiter_without_timeout_waits_only_for_its_turn() {
    let c = Clocks(Instant::now());
    let mut w = wait(&c, WaitPolicy::without_timeout());
    w.take_turn(Turn::Queued, c.at(Duration::ZERO));
    assert_eq!(w.poll_timeout(), None);
    assert!(w.poll_transmit(c.at(Duration::from_secs(3_600))).is_none());
    assert!(w.poll_output().is_none());
}

#[test]
fn a_queued_waiter_makes_its_last_attempt_at_the_deadline() {
    let c = Clocks(Instant::now());
    let mut w = wait(&c, WaitPolicy::with_timeout(Duration::from_secs(2)));
    w.take_turn(Turn::Queued, c.at(Duration::ZERO));
    let t = w
        .poll_transmit(c.at(Duration::from_secs(2)))
        .expect("the last attempt");
    let id = t.id;
    w.handle_response(id, held_until(T0 + 9), c.at(Duration::from_secs(2)));
    assert!(matches!(
        w.poll_output(),
        Some(Err(LeaseError::WaitTimedOut {
            holder: Holder::Known(_),
            ..
        }))
    ));
}

#[test]
fn behind_a_local_holder_the_waiter_sleeps_as_for_a_known_holder() {
    let c = Clocks(Instant::now());
    let mut w = wait(
        &c,
        WaitPolicy::with_timeout(Duration::from_secs(60)).max_delay(Duration::from_secs(1)),
    );
    let held = lease("local", Duration::from_secs(10));
    let holder = Holder::Known(lease_core::HolderRecord {
        token: held.token().fingerprint(),
        expires_at: held.expires_at(),
        fence: Some(held.fence()),
        released: false,
    });
    w.take_turn(Turn::Behind(holder), c.at(Duration::ZERO));
    assert!(
        w.poll_transmit(c.at(Duration::ZERO)).is_none(),
        "no attempt bound to fail"
    );
    assert_eq!(contended(&mut w), [Duration::from_secs(1)], "max_delay");
    // The holder releases: the attempt goes at once, not at the poll.
    w.take_turn(Turn::Attempt, c.at(ms(50)));
    assert!(w.poll_transmit(c.at(ms(50))).is_some());
}

#[test]
fn a_release_during_an_attempt_in_flight_makes_the_next_attempt_go_at_once() {
    let c = Clocks(Instant::now());
    let mut w = wait(&c, WaitPolicy::with_timeout(Duration::from_secs(60)));
    let t = w
        .poll_transmit(c.at(Duration::ZERO))
        .expect("first attempt");
    let id = t.id;
    // Told to attempt while the attempt is out: it is not doubled...
    w.take_turn(Turn::Attempt, c.at(ms(1)));
    assert!(
        w.poll_transmit(c.at(ms(1))).is_none(),
        "one request at a time"
    );
    // ...and the holder it finds (its request went before the release) is tried again at once.
    w.handle_response(id, held_until(T0 + 9), c.at(ms(2)));
    assert_eq!(contended(&mut w), [Duration::ZERO]);
    assert!(w.poll_transmit(c.at(ms(2))).is_some(), "at once");
}

#[test]
fn an_attempt_already_out_decides_for_itself() {
    let c = Clocks(Instant::now());
    let mut w = wait(&c, WaitPolicy::with_timeout(Duration::from_secs(60)));
    let t = w
        .poll_transmit(c.at(Duration::ZERO))
        .expect("first attempt");
    let id = t.id;
    w.take_turn(Turn::Queued, c.at(ms(1)));
    w.take_turn(Turn::Behind(Holder::Unknown), c.at(ms(1)));
    w.handle_response(id, granted(), c.at(ms(2)));
    assert!(w.poll_output().unwrap().is_ok());
    // A finished wait ignores turns.
    w.take_turn(Turn::Attempt, c.at(ms(3)));
    assert!(w.poll_transmit(c.at(ms(3))).is_none());
}
