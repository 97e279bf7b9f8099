//! Counting semaphores through the manager (issue 13, second part): a waiting acquire of a
//! permit is served when a permit frees up, and a permit kept by a guard renews like a lease.
//! Exact instants under tokio's paused clock. Lease 10 s, skew bound 1 s.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{World, ms, secs};
use lease_memory::snapshot::StoredState;
use lease_memory::{GuardOptions, LeaseStatus, ReleaseOutcome, WaitPolicy};

/// Two permits: a third waiter gets one at the next attempt after a release (within the
/// policy's max_delay), not before; permits kept by guards renew past their first expiry.
#[tokio::test(start_paused = true)]
async fn a_waiter_gets_a_permit_when_one_frees_up_and_guards_renew_permits() {
    let w = World::new();
    let store = w.faulty();
    let (a, b, c) = (
        w.manager("a", &store),
        w.manager("b", &store),
        w.manager("c", &store),
    );
    let ga = a
        .acquire_permit_guard("pool", 2, secs(10), GuardOptions::default())
        .await
        .unwrap();
    let gb = b
        .acquire_permit_guard("pool", 2, secs(10), GuardOptions::default())
        .await
        .unwrap();
    assert_ne!(ga.key(), gb.key());

    let policy = WaitPolicy::with_timeout(secs(60)).max_delay(ms(500));
    let waiter = {
        let c = c.clone();
        tokio::spawn(async move { c.acquire_permit("pool", 2, secs(10), &policy).await })
    };
    // Past the first expiry: the guards renewed, the waiter still waits.
    w.sleep_until(secs(25)).await;
    assert!(!waiter.is_finished(), "a third permit was granted");
    assert!(matches!(ga.status(), LeaseStatus::Held));
    assert!(matches!(w.state(ga.key()).await, StoredState::Held(_)));

    let released_at = w.at();
    let freed = ga.key().clone();
    assert_eq!(ga.release().await.unwrap(), ReleaseOutcome::Released);
    let permit = waiter.await.unwrap().unwrap();
    let waited = w.at() - released_at;
    assert!(waited <= ms(500), "served within max_delay: {waited:?}");
    assert_eq!(permit.key(), &freed, "the freed slot");
    drop(gb);
}
