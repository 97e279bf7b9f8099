//! A guarded lease is renewed and released only through its guard: the manager refuses to
//! refresh or release it behind the guard's back (a shorter refresh there once let another
//! holder in while the guard still reported the lease held; found by a new-user trial).

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use lease_memory::{
    GuardOptions, LeaseConfig, LeaseError, LeaseManager, MemoryStore, ReleaseOutcome,
    error::Operation,
};

fn manager() -> LeaseManager<MemoryStore> {
    let config = LeaseConfig::builder("locks").build().unwrap();
    LeaseManager::new(MemoryStore::for_config(&config), config)
}

fn is_guarded(result: Result<impl std::fmt::Debug, LeaseError>, operation: Operation) -> bool {
    matches!(result, Err(LeaseError::Guarded { operation: o, .. }) if o == operation)
}

#[tokio::test(start_paused = true)]
async fn the_manager_refuses_to_refresh_or_release_a_guarded_lease() {
    let m = manager();
    let guard = m
        .acquire_guard("A", Duration::from_secs(30), GuardOptions::default())
        .await
        .unwrap();
    let lease = guard.lease();

    // Shortening it behind the guard's back is refused, on this manager and on its clones.
    assert!(is_guarded(
        m.refresh(&lease, Duration::from_secs(2)).await,
        Operation::Refresh
    ));
    assert!(is_guarded(
        m.clone().release(&lease).await,
        Operation::Release
    ));
    assert!(is_guarded(
        m.release_in_transaction(&lease),
        Operation::Release
    ));
    assert!(is_guarded(
        m.commit_and_release(&lease, Vec::new()).await,
        Operation::Commit
    ));
    // So nobody else gets it while the guard says it is held.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(guard.is_valid());
    assert!(m.is_valid(&lease));
    assert!(
        m.try_acquire("A", Duration::from_secs(30))
            .await
            .unwrap_err()
            .is_held()
    );
    // Writes guarded by the lease are still the caller's to make.
    assert!(m.lease_check(&lease).is_ok());

    // Once the guard has let go, the lease value is the caller's again.
    assert_eq!(guard.release().await.unwrap(), ReleaseOutcome::Released);
    assert!(!matches!(
        m.release(&lease).await,
        Err(LeaseError::Guarded { .. })
    ));
}
