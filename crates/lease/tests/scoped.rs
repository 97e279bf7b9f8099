//! B23: scoped work under a lease never hides the caller's error, propagates its panic, is
//! cancelled when the lease is lost, and reports a failed release with the work's result.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{World, ms, secs, settle};
use lease_memory::{
    GuardOptions, LeaseError, LossReason, ScopedOutcome, snapshot::StoredState,
    store::StoreErrorKind,
};

#[derive(Debug, PartialEq)]
struct WorkError(&'static str);

/// B23: the work's error comes back unchanged, as the work's failure; the lease is released.
/// Success is reported as such, with the work's value, and the work sees the fencing token.
#[tokio::test(start_paused = true)]
async fn b23_scoped_work_error_is_returned_unchanged() {
    let w = World::new();
    let a = w.manager("a", &w.faulty());
    let outcome = a
        .with_lease(
            w.key(),
            secs(10),
            GuardOptions::default(),
            |context| async move {
                assert!(context.fence().get() > 0);
                assert!(context.status().is_held());
                Err::<(), _>(WorkError("boom"))
            },
        )
        .await
        .unwrap();
    assert!(
        matches!(outcome, ScopedOutcome::WorkFailed(WorkError("boom"))),
        "{outcome:?}"
    );
    assert!(matches!(w.state(&w.key()).await, StoredState::Released(_)));

    let outcome = a
        .with_lease(w.key(), secs(10), GuardOptions::default(), |_| async {
            tokio::time::sleep(secs(25)).await; // renewed meanwhile
            Ok::<_, WorkError>(42)
        })
        .await
        .unwrap();
    assert!(
        matches!(outcome, ScopedOutcome::WorkSucceeded(42)),
        "{outcome:?}"
    );
    assert!(matches!(w.state(&w.key()).await, StoredState::Released(_)));
    assert!(a.metrics().renewed >= 7);
}

/// B23: a panic in the work propagates to the caller; the lease is released anyway.
#[tokio::test(start_paused = true)]
async fn b23_scoped_work_panic_propagates() {
    let w = World::new();
    let a = w.manager("a", &w.faulty());
    let task = tokio::spawn({
        let (a, key) = (a.clone(), w.key());
        async move {
            a.with_lease(key, secs(10), GuardOptions::default(), |_| async {
                tokio::time::sleep(secs(1)).await;
                if true {
                    panic!("work panicked");
                }
                Ok::<(), WorkError>(())
            })
            .await
        }
    });
    let err = task.await.unwrap_err();
    assert!(err.is_panic());
    settle(|| a.metrics().active_guards == 0).await;
    assert!(matches!(w.state(&w.key()).await, StoredState::Released(_)));
}

/// B23: the lease is lost while the work runs (at t=3 a renewal finds the item gone and
/// another holder): the work is cancelled at once (its future dropped; tasks it spawned see
/// the stop token), the outcome says the lease was lost, and the new holder's lease is not
/// touched.
#[tokio::test(start_paused = true)]
async fn b23_lease_lost_during_work_cancels_it() {
    let w = World::new();
    let a_store = w.faulty();
    let a = w.manager("a", &a_store);
    let dropped = Arc::new(AtomicBool::new(false));
    let stopped = Arc::new(AtomicBool::new(false));

    struct SetOnDrop(Arc<AtomicBool>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    let intruder = tokio::spawn({
        let (b, key, at) = (w.manager("b", &w.faulty()), w.key(), w.instant(ms(2_500)));
        let (memory, config_key) = (w.memory.clone(), w.key());
        async move {
            tokio::time::sleep_until(at).await;
            let item = lease_memory::store::Item::from([
                (
                    "pk".into(),
                    lease_memory::store::AttributeValue::string(config_key.partition()),
                ),
                (
                    "sk".into(),
                    lease_memory::store::AttributeValue::string(
                        config_key.sort().unwrap_or("LOCK"),
                    ),
                ),
            ]);
            memory.delete_item_unconditionally("locks", &item).unwrap();
            b.try_acquire(key, secs(60)).await.unwrap()
        }
    });
    let outcome = a
        .with_lease(
            w.key(),
            secs(10),
            GuardOptions::default()
                .renew_every(secs(3))
                .renew_jitter(0.0),
            |context| {
                let (dropped, stopped) = (dropped.clone(), stopped.clone());
                async move {
                    let _flag = SetOnDrop(dropped);
                    let stop = context.stop_signal();
                    tokio::spawn(async move {
                        stop.stopped().await;
                        stopped.store(true, Ordering::SeqCst);
                    });
                    loop {
                        tokio::time::sleep(ms(100)).await;
                    }
                    #[allow(unreachable_code)]
                    Ok::<(), WorkError>(())
                }
            },
        )
        .await
        .unwrap();
    assert_eq!(w.at(), secs(3));
    assert!(
        matches!(outcome, ScopedOutcome::LeaseLost(LossReason::NotOwned)),
        "{outcome:?}"
    );
    assert!(dropped.load(Ordering::SeqCst), "the work was not cancelled");
    let lb = intruder.await.unwrap();
    settle(|| stopped.load(Ordering::SeqCst)).await;
    settle(|| a.metrics().active_guards == 0).await;
    let StoredState::Held(info) = w.state(&w.key()).await else {
        panic!("the new holder lost the lease");
    };
    assert_eq!(info.token, lb.token().fingerprint());
    assert_eq!(
        a_store.requests_seen(),
        2,
        "acquire and the renewal; no release of B's lease"
    );
}

/// B23: the work succeeds but the release fails (the store is unreachable): the outcome says
/// so, and carries the work's result and the release's error.
#[tokio::test(start_paused = true)]
async fn b23_release_failure_is_reported_with_the_work_result() {
    let w = World::new();
    let a_store = w.faulty();
    let a = w.manager("a", &a_store);
    let outcome = a
        .with_lease(w.key(), secs(10), GuardOptions::default(), |_| {
            let a_store = a_store.clone();
            async move {
                a_store.set_outage(Some(StoreErrorKind::Unavailable));
                Ok::<_, WorkError>(7)
            }
        })
        .await
        .unwrap();
    let ScopedOutcome::ReleaseFailed { result, error } = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(result, Ok(7));
    assert!(
        matches!(error, LeaseError::OutcomeUnknown { .. }),
        "{error:?}"
    );
}
