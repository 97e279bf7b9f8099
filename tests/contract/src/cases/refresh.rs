//! Refresh: extend, refuse after expiry or takeover, shorten.

use super::secs;
use crate::backend::Backend;
use crate::harness::{Env, TIME_BASE};

/// Refresh moves the expiry to now + duration, in the returned lease and in the store, and the
/// lease stays held past its original expiry.
pub async fn refresh_extends_the_lease<B: Backend>(backend: &B) {
    let env = Env::new(backend, "refresh_extends", |c| c).await;
    let key = env.key("CACHE#A");
    let manager = env.manager("a");
    let lease = manager.try_acquire(key.clone(), secs(30)).await.unwrap();
    env.advance(secs(20));
    let refreshed = manager.refresh(&lease, secs(60)).await.unwrap();
    assert_eq!(refreshed.expires_at_epoch_seconds(), TIME_BASE + 80);
    assert_eq!(refreshed.token(), lease.token());
    let item = env.raw_item(&key).await.unwrap();
    let stored = item
        .get(env.config.expires_at_attribute())
        .and_then(|v| v.as_n())
        .map(str::to_owned);
    assert_eq!(
        stored.as_deref(),
        Some(&*(TIME_BASE + 80).to_string()),
        "{}",
        backend.name()
    );
    env.advance(secs(30));
    let err = env
        .manager("b")
        .try_acquire(key, secs(30))
        .await
        .unwrap_err();
    assert!(err.is_held(), "{}: {err:?}", backend.name());
}

/// A refresh at or after the expiry is `NotOwned`, even if nobody took the lease.
pub async fn refresh_after_expiry_is_not_owned<B: Backend>(backend: &B) {
    let env = Env::new(backend, "refresh_expired", |c| c).await;
    let manager = env.manager("a");
    let lease = manager
        .try_acquire(env.key("CACHE#A"), secs(30))
        .await
        .unwrap();
    env.advance(secs(30));
    let err = manager.refresh(&lease, secs(30)).await.unwrap_err();
    assert!(err.is_not_owned(), "{}: {err:?}", backend.name());
}

/// After another holder took over, the old holder's refresh is `NotOwned` and changes nothing.
pub async fn refresh_after_takeover_is_not_owned<B: Backend>(backend: &B) {
    let env = Env::new(backend, "refresh_takeover", |c| c).await;
    let key = env.key("CACHE#A");
    let a = env.manager("a");
    let old = a.try_acquire(key.clone(), secs(30)).await.unwrap();
    env.advance(secs(31));
    let new = env
        .manager("b")
        .try_acquire(key.clone(), secs(30))
        .await
        .unwrap();
    let before = env.raw_item(&key).await;
    let err = a.refresh(&old, secs(300)).await.unwrap_err();
    assert!(err.is_not_owned(), "{}: {err:?}", backend.name());
    assert_eq!(
        env.raw_item(&key).await,
        before,
        "{}: a failed refresh wrote",
        backend.name()
    );
    assert_eq!(new.token().expose_secret(), "b-1");
}

/// The new expiry is absolute: a shorter duration shortens the lease (TableTheory's semantics).
pub async fn refresh_can_shorten<B: Backend>(backend: &B) {
    let env = Env::new(backend, "refresh_shorten", |c| c).await;
    let key = env.key("CACHE#A");
    let manager = env.manager("a");
    let lease = manager.try_acquire(key.clone(), secs(60)).await.unwrap();
    env.advance(secs(10));
    let shorter = manager.refresh(&lease, secs(10)).await.unwrap();
    assert_eq!(shorter.expires_at_epoch_seconds(), TIME_BASE + 20);
    env.advance(secs(10));
    env.manager("b").try_acquire(key, secs(30)).await.unwrap();
}
