//! Release: only ever our own lease; the item and its fencing token stay.

use lease::{ReleaseOutcome, store::AttributeValue};

use super::secs;
use crate::backend::Backend;
use crate::harness::Env;

/// Release marks our item released (expiry 0, fencing token kept); the key is free at once,
/// for us and for TableTheory's code (`lease_expires_at <= now`).
pub async fn release_marks_released_and_frees_the_key<B: Backend>(backend: &B) {
    let env = Env::new(backend, "release_marks", |c| c).await;
    let key = env.key("CACHE#A");
    let manager = env.manager("a");
    let lease = manager.try_acquire(key.clone(), secs(30)).await.unwrap();
    assert_eq!(
        manager.release(&lease).await.unwrap(),
        ReleaseOutcome::Released
    );
    let item = env.raw_item(&key).await.unwrap();
    let name = backend.name();
    assert_eq!(
        item.get("lease_expires_at"),
        Some(&AttributeValue::number(0)),
        "{name}"
    );
    let fence = lease.fence().to_string();
    assert_eq!(
        item.get("lease_fence"),
        Some(&AttributeValue::N(fence.into())),
        "{name}: fence lost"
    );
    let next = env.manager("b").try_acquire(key, secs(30)).await.unwrap();
    assert!(next.fence() > lease.fence(), "{name}");
}

/// A release with someone else's lease value (same key, other token) writes nothing and says
/// `NotHeld`; the holder keeps the lease and can still refresh it (fault class B05/B06).
pub async fn release_by_non_owner_writes_nothing<B: Backend>(backend: &B) {
    let env = Env::new(backend, "release_non_owner", |c| c).await;
    let key = env.key("CACHE#A");
    let a = env.manager("a");
    let lease = a.try_acquire(key.clone(), secs(30)).await.unwrap();
    let before = env.raw_item(&key).await;
    let forged = lease::Lease::new(
        key.clone(),
        lease::token::LeaseToken::new("c-guess"),
        lease::FencingToken::new(1),
        lease.expires_at(),
    );
    let outcome = env.manager("c").release(&forged).await.unwrap();
    assert_eq!(outcome, ReleaseOutcome::NotHeld, "{}", backend.name());
    assert_eq!(
        env.raw_item(&key).await,
        before,
        "{}: non-owner release wrote",
        backend.name()
    );
    a.refresh(&lease, secs(30)).await.unwrap();
}

/// A stale holder's release after a takeover is `NotHeld` and leaves the new holder's lease
/// (fault class B06: crash, takeover, wake-up, release).
pub async fn release_after_takeover_keeps_the_new_holder<B: Backend>(backend: &B) {
    let env = Env::new(backend, "release_takeover", |c| c).await;
    let key = env.key("CACHE#A");
    let stale = env
        .manager("b")
        .try_acquire(key.clone(), secs(10))
        .await
        .unwrap();
    env.advance(secs(12));
    let a = env.manager("a");
    let current = a.try_acquire(key.clone(), secs(30)).await.unwrap();
    env.advance(secs(1));
    let outcome = env.manager("b").release(&stale).await.unwrap();
    assert_eq!(outcome, ReleaseOutcome::NotHeld, "{}", backend.name());
    let err = env
        .manager("d")
        .try_acquire(key.clone(), secs(30))
        .await
        .unwrap_err();
    assert!(err.is_held(), "{}: {err:?}", backend.name());
    a.refresh(&current, secs(30)).await.unwrap();
}

/// Release is idempotent, so a retried release has a definite answer: releasing twice is
/// `Released` twice; once someone else acquired the key, our release is `NotHeld`.
pub async fn release_is_idempotent<B: Backend>(backend: &B) {
    let env = Env::new(backend, "release_twice", |c| c).await;
    let key = env.key("CACHE#A");
    let manager = env.manager("a");
    let lease = manager.try_acquire(key.clone(), secs(30)).await.unwrap();
    let name = backend.name();
    assert_eq!(
        manager.release(&lease).await.unwrap(),
        ReleaseOutcome::Released
    );
    assert_eq!(
        manager.release(&lease).await.unwrap(),
        ReleaseOutcome::Released,
        "{name}"
    );
    env.manager("b").try_acquire(key, secs(30)).await.unwrap();
    assert_eq!(
        manager.release(&lease).await.unwrap(),
        ReleaseOutcome::NotHeld,
        "{name}"
    );
}
