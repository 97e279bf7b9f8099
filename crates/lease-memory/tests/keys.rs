//! A partition key given as `"A"` is the lease at `A` under the table's lock sort key, and every
//! result and error names it so (issue 11: errors named `A` or `A/LOCK` depending on the path).

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use lease_memory::{
    GuardOptions, LeaseConfig, LeaseError, LeaseKey, LeaseManager, MemoryStore, WaitPolicy,
};

fn manager() -> LeaseManager<MemoryStore> {
    let config = LeaseConfig::builder("locks")
        .lock_sort_key("MUTEX")
        .build()
        .unwrap();
    LeaseManager::new(MemoryStore::for_config(&config), config)
}

fn full() -> LeaseKey {
    LeaseKey::new("A", "MUTEX")
}

#[tokio::test(start_paused = true)]
async fn every_path_names_the_key_with_its_sort_key() {
    let m = manager();
    let secs = Duration::from_secs;

    let lease = m.try_acquire("A", secs(30)).await.unwrap();
    assert_eq!(lease.key(), &full());

    let held = m.try_acquire("A", secs(30)).await.unwrap_err();
    assert!(held.is_held());
    assert_eq!(held.key(), &full());

    let timed_out = m
        .acquire(
            String::from("A"),
            secs(30),
            &WaitPolicy::with_timeout(secs(1)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(timed_out, LeaseError::WaitTimedOut { .. }),
        "{timed_out:?}"
    );
    assert_eq!(timed_out.key(), &full());

    let invalid = m
        .acquire_guard("B", secs(3), GuardOptions::default().renew_every(secs(2)))
        .await
        .unwrap_err();
    assert!(
        matches!(invalid, LeaseError::InvalidInput { .. }),
        "{invalid:?}"
    );
    assert_eq!(invalid.key(), &LeaseKey::new("B", "MUTEX"));

    assert_eq!(m.inspect("A").await.unwrap().key, full());
    // A key made with `lock` is not equal to the key it is filled in to: compare results.
    assert_ne!(LeaseKey::lock("A"), full());
}
