//! Acquire: free key, contention, expiry takeover.

use lease::{LeaseError, snapshot::Holder};

use super::secs;
use crate::backend::Backend;
use crate::harness::{Env, TIME_BASE};

/// A free key is acquired; the lease expires at now + duration.
pub async fn acquire_free_key<B: Backend>(backend: &B) {
    let env = Env::new(backend, "acquire_free_key", |c| c).await;
    let lease = env
        .manager("a")
        .try_acquire(env.key("CACHE#A"), secs(30))
        .await
        .unwrap();
    assert_eq!(lease.key(), &env.key("CACHE#A"));
    assert_eq!(lease.token().expose_secret(), "a-1");
    assert_eq!(
        lease.expires_at_epoch_seconds(),
        TIME_BASE + 30,
        "{}",
        backend.name()
    );
}

/// `acquire(pk)` takes the lease at the configured lock sort key (`LOCK`).
pub async fn acquire_by_partition_key_uses_lock_sort_key<B: Backend>(backend: &B) {
    let env = Env::new(backend, "acquire_by_pk", |c| c.lock_sort_key("MUTEX")).await;
    let lease = env
        .manager("a")
        .try_acquire("job#1", secs(30))
        .await
        .unwrap();
    assert_eq!(lease.key().sort(), Some("MUTEX"));
    assert!(
        env.raw_item(&lease.key().clone()).await.is_some(),
        "{}",
        backend.name()
    );
}

/// A second contender gets `Held`, with the key, while the lease is live.
pub async fn acquire_held_key_is_held<B: Backend>(backend: &B) {
    let env = Env::new(backend, "acquire_held", |c| c).await;
    let key = env.key("CACHE#A");
    env.manager("a")
        .try_acquire(key.clone(), secs(30))
        .await
        .unwrap();
    env.advance(secs(10));
    let err = env
        .manager("b")
        .try_acquire(key.clone(), secs(30))
        .await
        .unwrap_err();
    assert!(err.is_held(), "{}: {err:?}", backend.name());
    assert_eq!(err.key(), &key);
}

/// A failed acquire says who holds the lease and until when where the store returns the old
/// item, and says "unknown" where it cannot (dynalite): the documented fallback.
pub async fn held_error_reports_the_holder_or_says_unknown<B: Backend>(backend: &B) {
    let env = Env::new(backend, "held_holder", |c| c).await;
    let key = env.key("CACHE#A");
    let lease = env
        .manager("a")
        .try_acquire(key.clone(), secs(30))
        .await
        .unwrap();
    let err = env
        .manager("b")
        .try_acquire(key, secs(30))
        .await
        .unwrap_err();
    let LeaseError::Held { holder, .. } = err else {
        panic!("{}: expected Held, got {err:?}", backend.name());
    };
    // From the old item the store returned, or (dynalite) from a read of the item.
    let Holder::Known(info) = holder else {
        panic!(
            "{}: expected a known holder, got {holder:?}",
            backend.name()
        );
    };
    assert_eq!(info.expires_at, lease.expires_at());
    assert_eq!(info.token, lease.token().fingerprint());
}

/// Once the clock reaches the stored expiry, another contender takes the lease over.
pub async fn expired_lease_is_taken_over<B: Backend>(backend: &B) {
    let env = Env::new(backend, "expiry_takeover", |c| c).await;
    let key = env.key("CACHE#A");
    env.manager("a")
        .try_acquire(key.clone(), secs(30))
        .await
        .unwrap();
    env.advance(secs(30));
    let lease = env
        .manager("b")
        .try_acquire(key.clone(), secs(30))
        .await
        .unwrap();
    assert_eq!(lease.token().expose_secret(), "b-1");
    let item = env.raw_item(&key).await.unwrap();
    assert_eq!(
        item.get(env.config.token_attribute())
            .and_then(|v| v.as_s()),
        Some("b-1"),
        "{}",
        backend.name()
    );
}

/// The lease is held through its last second: one second before expiry it is still `Held`.
pub async fn lease_is_held_until_its_last_second<B: Backend>(backend: &B) {
    let env = Env::new(backend, "last_second", |c| c).await;
    let key = env.key("CACHE#A");
    env.manager("a")
        .try_acquire(key.clone(), secs(30))
        .await
        .unwrap();
    env.advance(secs(29));
    env.advance(std::time::Duration::from_millis(999));
    let err = env
        .manager("b")
        .try_acquire(key, secs(30))
        .await
        .unwrap_err();
    assert!(err.is_held(), "{}: {err:?}", backend.name());
}

/// Acquire is not re-entrant: the holder itself gets `Held` (TableTheory's behaviour).
pub async fn reacquire_by_the_holder_is_held<B: Backend>(backend: &B) {
    let env = Env::new(backend, "reacquire", |c| c).await;
    let key = env.key("CACHE#A");
    let manager = env.manager("a");
    manager.try_acquire(key.clone(), secs(30)).await.unwrap();
    let err = manager.try_acquire(key, secs(30)).await.unwrap_err();
    assert!(err.is_held(), "{}: {err:?}", backend.name());
}

/// `try_acquire` reports the holder on every store: from the old item where the store returns
/// it, from one consistent read where it does not (dynalite).
pub async fn try_acquire_always_reports_the_holder<B: Backend>(backend: &B) {
    let env = Env::new(backend, "try_acquire_holder", |c| c).await;
    let key = env.key("CACHE#A");
    let lease = env
        .manager("a")
        .try_acquire(key.clone(), secs(30))
        .await
        .unwrap();
    let err = env
        .manager("b")
        .try_acquire(key, secs(30))
        .await
        .unwrap_err();
    let LeaseError::Held {
        holder: Holder::Known(info),
        ..
    } = err
    else {
        panic!("{}: expected a known holder, got {err:?}", backend.name());
    };
    assert_eq!(info.token, lease.token().fingerprint());
    assert_eq!(info.expires_at, lease.expires_at());
    assert_eq!(info.fence, Some(lease.fence()));
}
