//! In-process handover (issue 14): the waiters of one manager stand in line per key, only the
//! first talks to the table, and a release by the manager hands the lease to the next waiter
//! at once. Exact instants under tokio's paused clock; every request counted by the store's
//! log. Lease 10 s, default wait policy (max_delay 1 s) unless said.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Manager, World, ms, secs};
use lease_memory::{GuardOptions, LeaseError, ReleaseOutcome, WaitPolicy, snapshot::Holder};

/// (waiter, acquired at, released at), in the order of the holds.
type Holds = Arc<Mutex<Vec<(usize, Duration, Duration)>>>;

/// Starts `n` waiters on `manager` for the world's key, in order (each has joined the line
/// before the next starts); each holds the lease for `hold`, then releases it, and records
/// (its index, when it acquired, when it released).
fn waiters(
    w: &World,
    manager: &Arc<Manager>,
    n: usize,
    hold: Duration,
    policy: &WaitPolicy,
    holds: &Holds,
) -> Vec<tokio::task::JoinHandle<Result<(), LeaseError>>> {
    (0..n)
        .map(|i| {
            let (m, key, start) = (Arc::clone(manager), w.key(), w.instant(secs(0)));
            let (policy, holds) = (policy.clone(), Arc::clone(holds));
            tokio::spawn(async move {
                let lease = m.acquire(key, secs(10), &policy).await?;
                let from = start.elapsed();
                tokio::time::sleep(hold).await;
                let to = start.elapsed();
                holds.lock().unwrap().push((i, from, to));
                assert_eq!(m.release(&lease).await?, ReleaseOutcome::Released);
                Ok(())
            })
        })
        .collect()
}

/// Lets every spawned task run until it waits on a timer or a turn.
async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

/// One manager, a holder and 8 waiters: they get the lease first come first served, each at
/// the instant the one before releases (no poll delay), and each handover costs exactly two
/// requests (the release and one acquire): the waiters behind the first send nothing.
#[tokio::test(start_paused = true)]
async fn waiters_of_one_manager_are_handed_the_lease_in_order_with_two_requests_each() {
    let w = World::new();
    let store = w.faulty();
    let m = w.manager("m", &store);
    let held = m.try_acquire(w.key(), secs(10)).await.unwrap();
    let holds = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for task in waiters(
        &w,
        &m,
        8,
        ms(50),
        &WaitPolicy::with_timeout(secs(60)),
        &holds,
    ) {
        tasks.push(task);
        settle().await;
    }
    // The holder, one failed attempt by the first waiter; no one else sent anything.
    assert_eq!(store.requests_seen(), 2);
    w.sleep_until(ms(2_000)).await;
    // The first waiter polls for an early release at most every max_delay (1 s, shortened by
    // at most 20 % jitter); the seven behind it send nothing.
    let before = store.requests_seen();
    assert!(before <= 2 + 2, "{before}");
    assert_eq!(m.release(&held).await.unwrap(), ReleaseOutcome::Released);
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let holds = holds.lock().unwrap().clone();
    let order: Vec<usize> = holds.iter().map(|(i, ..)| *i).collect();
    assert_eq!(order, (0..8).collect::<Vec<_>>(), "first come first served");
    let mut released_at = ms(2_000);
    for (i, from, to) in &holds {
        assert_eq!(
            *from, released_at,
            "waiter {i} got the lease at the release"
        );
        assert_eq!(*to, *from + ms(50));
        released_at = *to;
    }
    // Then 9 releases and 8 acquires (the holds are far shorter than a poll).
    assert_eq!(store.requests_seen(), before + 9 + 8);
    assert_eq!(m.metrics().acquired, 9);
}

/// A waiter whose future is dropped leaves the line: the next one becomes first and attempts
/// at once (it knows no holder), then gets the lease at the holder's release.
#[tokio::test(start_paused = true)]
async fn a_cancelled_first_waiter_passes_its_turn_on() {
    let w = World::new();
    let store = w.faulty();
    let m = w.manager("m", &store);
    let held = m.try_acquire(w.key(), secs(10)).await.unwrap();
    let holds = Arc::new(Mutex::new(Vec::new()));
    let policy = WaitPolicy::with_timeout(secs(60));
    let first = waiters(&w, &m, 1, ms(50), &policy, &holds).remove(0);
    settle().await;
    let second = waiters(&w, &m, 1, ms(50), &policy, &holds).remove(0);
    settle().await;
    assert_eq!(store.requests_seen(), 2);
    w.sleep_until(ms(500)).await;
    first.abort();
    assert!(first.await.unwrap_err().is_cancelled());
    settle().await;
    assert_eq!(store.requests_seen(), 3, "the new first attempts at once");
    w.sleep_until(ms(700)).await;
    assert_eq!(m.release(&held).await.unwrap(), ReleaseOutcome::Released);
    second.await.unwrap().unwrap();
    assert_eq!(holds.lock().unwrap()[0].1, ms(700));
}

/// A queued waiter with a timeout sends nothing until its deadline, then makes its last
/// attempt and reports the holder.
#[tokio::test(start_paused = true)]
async fn a_queued_waiter_times_out_after_one_attempt_at_its_deadline() {
    let w = World::new();
    let store = w.faulty();
    let m = w.manager("m", &store);
    let _held = m.try_acquire(w.key(), secs(10)).await.unwrap();
    let (m1, m2, key) = (Arc::clone(&m), Arc::clone(&m), w.key());
    let first = tokio::spawn(async move {
        m1.acquire(key, secs(10), &WaitPolicy::with_timeout(secs(30)))
            .await
    });
    settle().await;
    let key = w.key();
    let queued = tokio::spawn(async move {
        m2.acquire(key, secs(10), &WaitPolicy::with_timeout(secs(2)))
            .await
    });
    settle().await;
    let before = store.requests_seen();
    w.sleep_until(ms(1_990)).await;
    // The first waiter polls (at most every max_delay); the queued one sends nothing.
    let polls_of_first = store.requests_seen() - before;
    assert!(polls_of_first <= 2, "{polls_of_first}");
    let result = queued.await.unwrap();
    assert!(
        matches!(
            result,
            Err(LeaseError::WaitTimedOut {
                holder: Holder::Known(_),
                ..
            })
        ),
        "{result:?}"
    );
    assert_eq!(w.at(), secs(2));
    first.abort();
}

/// A guard's release (and a dropped guard's) hands the lease to the manager's first waiter at
/// once.
#[tokio::test(start_paused = true)]
async fn a_guards_release_or_drop_hands_the_lease_over() {
    let w = World::new();
    let store = w.faulty();
    let m = w.manager("m", &store);
    let guard = m
        .acquire_guard(w.key(), secs(10), GuardOptions::default())
        .await
        .unwrap();
    let holds = Arc::new(Mutex::new(Vec::new()));
    let policy = WaitPolicy::with_timeout(secs(60));
    let waiter = waiters(&w, &m, 1, ms(50), &policy, &holds).remove(0);
    settle().await;
    w.sleep_until(ms(300)).await;
    assert_eq!(guard.release().await.unwrap(), ReleaseOutcome::Released);
    waiter.await.unwrap().unwrap();
    assert_eq!(holds.lock().unwrap()[0].1, ms(300));

    let guard = m
        .acquire_guard(w.key(), secs(10), GuardOptions::default())
        .await
        .unwrap();
    let waiter = waiters(&w, &m, 1, ms(50), &policy, &holds).remove(0);
    settle().await;
    w.sleep_until(ms(900)).await;
    drop(guard);
    waiter.await.unwrap().unwrap();
    assert_eq!(holds.lock().unwrap()[1].1, ms(900));
}

/// Across processes, waiting costs a bounded number of requests whatever the number of waiters
/// inside one process: a second manager with 8 waiters sends no more than one with 1 while
/// the first manager hands the lease around among its own waiters for 10 s (each of its
/// polls is at most one per `max_delay` shortened by the jitter, plus one at each release it
/// cannot see, which is none here).
#[tokio::test(start_paused = true)]
async fn a_process_polls_the_same_whatever_its_number_of_waiters() {
    let mut counts = Vec::new();
    for waiting in [1, 8] {
        let w = World::new();
        let (store_a, store_b) = (w.faulty(), w.faulty());
        let (a, b) = (w.manager("a", &store_a), w.manager("b", &store_b));
        let held = a.try_acquire(w.key(), secs(10)).await.unwrap();
        let holds_a = Arc::new(Mutex::new(Vec::new()));
        let holds_b = Arc::new(Mutex::new(Vec::new()));
        let policy = WaitPolicy::with_timeout(secs(60)).jitter_seed(5);
        // a's own waiters: 40 holds of 250 ms, back to back.
        let mut a_tasks = Vec::new();
        for task in waiters(&w, &a, 40, ms(250), &policy, &holds_a) {
            a_tasks.push(task);
            settle().await;
        }
        let mut b_tasks = Vec::new();
        for task in waiters(&w, &b, waiting, ms(50), &policy, &holds_b) {
            b_tasks.push(task);
            settle().await;
        }
        assert_eq!(a.release(&held).await.unwrap(), ReleaseOutcome::Released);
        w.sleep_until(secs(10)).await;
        counts.push(store_b.requests_seen());
        for task in a_tasks.into_iter().chain(b_tasks) {
            task.abort();
        }
    }
    // max_delay 1 s with jitter 0.2: at most one attempt per 0.8 s, and the first at once.
    let bound = 1 + (10_000 / 800);
    assert!(counts.iter().all(|c| *c <= bound), "{counts:?} > {bound}");
    assert!(
        counts[1] <= counts[0] + 1,
        "8 waiters poll no more than 1: {counts:?}"
    );
}
