//! Leader election (issue 13, first part): campaigns proclaim a value, the leadership renews
//! and resigns like a guard, observers read the leader and never report one whose lease has
//! run out. Exact instants under tokio's paused clock. Lease 10 s, skew bound 1 s.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{World, ms, secs};
use lease_memory::election::{ELECTION_SORT_KEY, election_key};
use lease_memory::error::InvalidInput;
use lease_memory::{GuardOptions, LeaseError, LeaseStatus, ReleaseOutcome, WaitPolicy};

/// A campaign wins an empty election and proclaims its value; every reader sees it (the
/// leader, the snapshot of the item); resigning leaves no leader.
#[tokio::test(start_paused = true)]
async fn a_campaign_proclaims_its_value_and_resigning_leaves_no_leader() {
    let w = World::new();
    let (a, reader) = (
        w.manager("a", &w.faulty()),
        w.manager("reader", &w.faulty()),
    );
    assert_eq!(reader.leader("jobs").await.unwrap(), None, "never elected");
    let leadership = a
        .campaign("jobs", "host-a:7000", secs(10), GuardOptions::default())
        .await
        .unwrap();
    assert_eq!(leadership.value(), "host-a:7000");
    assert_eq!(leadership.key(), &election_key("jobs"));
    assert_eq!(leadership.key().sort(), Some(ELECTION_SORT_KEY));
    assert!(leadership.is_leading());

    let leader = reader.leader("jobs").await.unwrap().expect("a leader");
    assert_eq!(leader.value.as_deref(), Some("host-a:7000"));
    assert_eq!(leader.fence, Some(leadership.fence()));
    let snapshot = reader.inspect(election_key("jobs")).await.unwrap();
    assert_eq!(snapshot.value.as_deref(), Some("host-a:7000"));
    // A lock of the same name is another item.
    assert!(reader.try_acquire("jobs", secs(10)).await.is_ok());

    // Renewals keep the value.
    w.sleep_until(secs(25)).await;
    let leader = reader
        .leader("jobs")
        .await
        .unwrap()
        .expect("still the leader");
    assert_eq!(leader.value.as_deref(), Some("host-a:7000"));
    assert!(leader.expires_at > lease_memory::clock::Clock::now(&*w.clock));

    assert_eq!(leadership.resign().await.unwrap(), ReleaseOutcome::Released);
    assert_eq!(reader.leader("jobs").await.unwrap(), None);
}

/// A waiting candidate of the same manager takes over at once when the leader resigns (or
/// drops its leadership), with a greater fencing token and its own value; an observer follows
/// every change.
#[tokio::test(start_paused = true)]
async fn the_next_candidate_takes_over_at_once_and_observers_follow() {
    let w = World::new();
    let m = w.manager("m", &w.faulty());
    let observer = w.manager("observer", &w.faulty());
    let mut watch = observer.observe("jobs", secs(1)).unwrap();
    let first = m
        .campaign("jobs", "a", secs(10), GuardOptions::default())
        .await
        .unwrap();
    assert_eq!(
        watch.changed().await.unwrap().unwrap().value.as_deref(),
        Some("a"),
        "seen at the next read"
    );
    assert!(w.at() <= secs(1));

    let candidate = {
        let m = std::sync::Arc::clone(&m);
        tokio::spawn(async move {
            let options = GuardOptions::default().wait(WaitPolicy::with_timeout(secs(60)));
            m.campaign("jobs", "b", secs(10), options).await
        })
    };
    w.sleep_until(secs(3)).await;
    let first_fence = first.fence();
    drop(first);
    let second = candidate.await.unwrap().unwrap();
    assert_eq!(w.at(), secs(3), "the waiting candidate won at the drop");
    assert_eq!(second.value(), "b");
    assert!(second.fence() > first_fence);
    let seen = watch.changed().await.unwrap().unwrap();
    assert_eq!(seen.value.as_deref(), Some("b"));
    assert_eq!(seen.fence, Some(second.fence()));
    assert!(w.at() <= secs(4), "within one read interval");

    assert_eq!(second.resign().await.unwrap(), ReleaseOutcome::Released);
    assert_eq!(watch.changed().await, Ok(None), "no leader");
}

/// A watcher that read the leader itself (as `lease leader --follow` does before it watches)
/// is told at the first read when that leader is gone by then: the first read counts as a
/// change even when it finds no leader, which the watch showed before any read.
#[tokio::test(start_paused = true)]
async fn the_first_read_is_a_change_even_without_a_leader() {
    let w = World::new();
    let m = w.manager("m", &w.faulty());
    let observer = w.manager("observer", &w.faulty());
    let leadership = m
        .campaign("jobs", "a", secs(10), GuardOptions::default())
        .await
        .unwrap();
    let read = observer.leader("jobs").await.unwrap();
    assert_eq!(read.unwrap().value.as_deref(), Some("a"));
    assert_eq!(leadership.resign().await.unwrap(), ReleaseOutcome::Released);

    let mut watch = observer.observe("jobs", secs(1)).unwrap();
    let first = tokio::time::timeout(secs(5), watch.changed()).await;
    assert_eq!(
        first,
        Ok(Ok(None)),
        "the first read, with no leader, is a change"
    );
    assert_eq!(w.at(), secs(0));
    // And only the first: no leader read again is no change.
    let later = tokio::time::timeout(secs(5), watch.changed()).await;
    assert!(later.is_err(), "{later:?}");
}

/// A leader that can no longer renew (its process is cut off) is reported by observers until
/// its lease's expiry and not one read later, even when the observer's own reads fail; the
/// leader itself reports the loss before that.
#[tokio::test(start_paused = true)]
async fn observers_stop_reporting_a_leader_at_its_expiry_even_without_reads() {
    let w = World::new();
    let (leader_store, observer_store) = (w.faulty(), w.faulty());
    let m = w.manager("leader", &leader_store);
    let observer = w.manager("observer", &observer_store);
    let leadership = m
        .campaign("jobs", "a", secs(10), GuardOptions::default())
        .await
        .unwrap();
    let mut watch = observer.observe("jobs", ms(500)).unwrap();
    let seen = watch.changed().await.unwrap().unwrap();
    let expires_at = seen.expires_at;

    // The leader is cut off at 2 s; the observer's reads fail from 5 s on.
    w.sleep_until(secs(2)).await;
    leader_store.set_outage(Some(lease_memory::store::StoreErrorKind::Unavailable));
    w.sleep_until(secs(5)).await;
    observer_store.set_outage(Some(lease_memory::store::StoreErrorKind::Unavailable));
    assert!(watch.leader().is_some());

    let change = tokio::time::timeout(secs(30), watch.changed()).await;
    assert_eq!(change, Ok(Ok(None)), "the leader is dropped at its expiry");
    let gone = lease_memory::clock::Clock::now(&*w.clock);
    assert!(
        gone >= expires_at && gone <= expires_at + ms(1),
        "reported gone at the expiry by the observer's clock: {gone:?} vs {expires_at:?}"
    );
    assert!(
        matches!(leadership.status(), LeaseStatus::Lost(_)),
        "{:?}",
        leadership.status()
    );
    assert!(!leadership.is_leading());
}

/// Bad values are refused before any request.
#[tokio::test(start_paused = true)]
async fn an_empty_or_oversized_value_is_refused_before_any_request() {
    let w = World::new();
    let store = w.faulty();
    let m = w.manager("m", &store);
    for (value, reason) in [
        (String::new(), InvalidInput::EmptyValue),
        ("x".repeat(2049), InvalidInput::ValueTooLong { len: 2049 }),
    ] {
        let error = m
            .campaign("jobs", value, secs(10), GuardOptions::default())
            .await
            .unwrap_err();
        match error {
            LeaseError::InvalidInput { reason: got, .. } => assert_eq!(got, reason),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(store.requests_seen(), 0);
}

/// A read that hangs (a slow store) does not keep a leader shown past its lease: the observer
/// races its read against the leader's expiry.
#[tokio::test(start_paused = true)]
async fn a_hanging_read_does_not_keep_an_expired_leader_shown() {
    use lease_memory::fault::{Fault, FaultRule, RequestKind};
    let w = World::new();
    let (leader_store, observer_store) = (w.faulty(), w.faulty());
    let m = w.manager("leader", &leader_store);
    let observer = w.manager("observer", &observer_store);
    let leadership = m
        .campaign("jobs", "a", secs(10), GuardOptions::default())
        .await
        .unwrap();
    let mut watch = observer.observe("jobs", secs(1)).unwrap();
    let expires_at = watch.changed().await.unwrap().unwrap().expires_at;
    leader_store.set_outage(Some(lease_memory::store::StoreErrorKind::Unavailable));
    observer_store.push_rule(
        FaultRule::new(Fault::Delay(secs(60)))
            .matching(RequestKind::Get)
            .always(),
    );
    let change = tokio::time::timeout(secs(30), watch.changed()).await;
    assert_eq!(change, Ok(Ok(None)), "gone at the expiry, read or no read");
    let gone = lease_memory::clock::Clock::now(&*w.clock);
    assert!(gone >= expires_at && gone <= expires_at + ms(1), "{gone:?}");
    drop(leadership);
}

/// An interval too long for the clock means "not for a very long time", not "at once".
#[tokio::test(start_paused = true)]
async fn a_huge_read_interval_reads_once() {
    let w = World::new();
    let store = w.faulty();
    let observer = w.manager("observer", &store);
    let watch = observer.observe("jobs", Duration::MAX).unwrap();
    w.sleep_until(secs(3_600)).await;
    assert_eq!(store.requests_seen(), 1);
    drop(watch);
}

/// A read that fails is a store failure, not an unknown outcome: a read changes nothing.
#[tokio::test(start_paused = true)]
async fn a_failed_read_is_a_store_error() {
    let w = World::new();
    let store = w.faulty();
    let m = w.manager("m", &store);
    store.set_outage(Some(lease_memory::store::StoreErrorKind::Unavailable));
    let error = m.leader("jobs").await.unwrap_err();
    assert!(error.is_store(), "{error:?}");
}

/// A failed read is not swallowed: the watch reports it (`read_failed`, `last_error`) while it
/// keeps showing what it last read, and forgets it once a read succeeds again.
#[tokio::test(start_paused = true)]
async fn an_observer_reports_failed_reads() {
    let w = World::new();
    let store = w.faulty();
    let observer = w.manager("observer", &store);
    let mut watch = observer.observe("jobs", ms(500)).unwrap();
    w.sleep_until(secs(1)).await;
    assert!(watch.last_error().is_none(), "the reads succeed");

    store.set_outage(Some(lease_memory::store::StoreErrorKind::AccessDenied));
    let error = tokio::time::timeout(secs(5), watch.read_failed())
        .await
        .expect("a failed read is reported")
        .unwrap();
    assert!(error.is_store(), "{error:?}");
    assert_eq!(
        error.store_error().map(|e| e.kind()),
        Some(lease_memory::store::StoreErrorKind::AccessDenied)
    );
    assert!(watch.last_error().is_some());
    assert!(watch.is_running());

    store.set_outage(None);
    w.sleep_until(secs(10)).await;
    assert!(watch.last_error().is_none(), "a read succeeded since");
}

/// A lock at the sort key reserved for elections is refused before any request (an observer
/// would report its holder as a leader without a value): single, waiting, guarded and set
/// acquires alike. Campaigns use it.
#[tokio::test(start_paused = true)]
async fn a_lock_at_the_election_sort_key_is_refused() {
    let w = World::new();
    let store = w.faulty();
    let m = w.manager("m", &store);
    let reason = |result: Result<(), LeaseError>| match result.unwrap_err() {
        LeaseError::InvalidInput { reason, .. } => reason,
        other => panic!("{other:?}"),
    };
    let key = election_key("jobs");
    let single = m.try_acquire(key.clone(), secs(10)).await.map(drop);
    assert_eq!(reason(single), InvalidInput::ReservedSortKey);
    let waiting = m
        .acquire(key.clone(), secs(10), &WaitPolicy::with_timeout(secs(1)))
        .await
        .map(drop);
    assert_eq!(reason(waiting), InvalidInput::ReservedSortKey);
    let guarded = m
        .acquire_guard(key.clone(), secs(10), GuardOptions::default())
        .await
        .map(drop);
    assert_eq!(reason(guarded), InvalidInput::ReservedSortKey);
    let set = m
        .try_acquire_set(
            [lease_memory::LeaseKey::lock("other"), key.clone()],
            secs(10),
        )
        .await
        .map(drop);
    assert_eq!(reason(set), InvalidInput::ReservedSortKey);
    assert_eq!(store.requests_seen(), 0);
    assert!(
        m.campaign("jobs", "a", secs(10), GuardOptions::default())
            .await
            .is_ok()
    );
}
