//! Item format: TableTheory compatibility, custom names, TTL, rounding.

use std::time::Duration;

use lease::{ReleaseOutcome, config::ExpiryUnit, store::AttributeValue, store::Item};

use super::secs;
use crate::backend::Backend;
use crate::harness::{Env, TIME_BASE};

pub(crate) fn n(value: i64) -> AttributeValue {
    AttributeValue::number(value)
}

pub(crate) fn s(value: &str) -> AttributeValue {
    AttributeValue::string(value)
}

pub(crate) fn item(attributes: &[(&str, AttributeValue)]) -> Item {
    attributes
        .iter()
        .map(|(k, v)| ((*k).into(), v.clone()))
        .collect()
}

/// The stored item is TableTheory's (`pk` S, `sk` S, `lease_token` S, `lease_expires_at` N
/// whole epoch seconds, `ttl` N = expiry + 3600) plus our fencing token `lease_fence` N, which
/// TableTheory's code ignores. The first fencing token of a key is the acquirer's wall clock in
/// epoch milliseconds, plus one.
pub async fn item_format_is_tabletheory_compatible<B: Backend>(backend: &B) {
    let env = Env::new(backend, "item_format", |c| c).await;
    let key = env.key("CACHE#A");
    let lease = env
        .manager("a")
        .try_acquire(key.clone(), secs(30))
        .await
        .unwrap();
    let fence = TIME_BASE * 1000 + 1;
    let expected = item(&[
        ("pk", s("CACHE#A")),
        ("sk", s("LOCK")),
        ("lease_token", s("a-1")),
        ("lease_expires_at", n(TIME_BASE + 30)),
        ("ttl", n(TIME_BASE + 30 + 3600)),
        ("lease_fence", n(fence)),
    ]);
    assert_eq!(
        env.raw_item(&key).await,
        Some(expected),
        "{}",
        backend.name()
    );
    assert_eq!(Some(lease.fence().get()), Some(fence as u64));
}

/// A lease written by TableTheory's Go/TS/Python code (same format, its own token, no fencing
/// token) is respected while live and taken over once expired; the takeover starts the
/// fencing token from the wall clock.
pub async fn tabletheory_written_lease_is_respected<B: Backend>(backend: &B) {
    let env = Env::new(backend, "tabletheory_interop", |c| c).await;
    let key = env.key("CACHE#A");
    env.put_raw(item(&[
        ("pk", s("CACHE#A")),
        ("sk", s("LOCK")),
        ("lease_token", s("6f1c2b9e-go-writer")),
        ("lease_expires_at", n(TIME_BASE + 30)),
        ("ttl", n(TIME_BASE + 3630)),
    ]))
    .await;
    let err = env
        .manager("a")
        .try_acquire(key.clone(), secs(30))
        .await
        .unwrap_err();
    assert!(err.is_held(), "{}: {err:?}", backend.name());
    env.advance(secs(30));
    let lease = env.manager("a").try_acquire(key, secs(30)).await.unwrap();
    assert_eq!(
        lease.expires_at_epoch_seconds(),
        TIME_BASE + 60,
        "{}",
        backend.name()
    );
    assert_eq!(
        Some(lease.fence().get()),
        Some((TIME_BASE + 30) as u64 * 1000 + 1)
    );
}

/// Custom key and lease attribute names and lock sort key (seed vector G6) work end to end,
/// with TTL off.
pub async fn custom_attribute_names<B: Backend>(backend: &B) {
    let env = Env::new(backend, "custom_names", |c| {
        c.key_attribute_names("partition", "sort")
            .lease_attribute_names("token", "expires_at", "expires_ttl")
            .fence_attribute_name("fencing")
            .lock_sort_key("CUSTOM")
            .include_ttl(false)
    })
    .await;
    let manager = env.manager("a");
    let lease = manager.try_acquire("CACHE#A", secs(30)).await.unwrap();
    assert_eq!(lease.key().sort(), Some("CUSTOM"));
    let stored = env.raw_item(lease.key()).await.unwrap();
    let names: Vec<&str> = stored.keys().map(|name| name.as_str()).collect();
    assert_eq!(
        names,
        ["expires_at", "fencing", "partition", "sort", "token"],
        "{}",
        backend.name()
    );
    assert!(
        env.manager("b")
            .try_acquire("CACHE#A", secs(30))
            .await
            .unwrap_err()
            .is_held()
    );
    let lease = manager.refresh(&lease, secs(60)).await.unwrap();
    assert_eq!(
        manager.release(&lease).await.unwrap(),
        ReleaseOutcome::Released
    );
}

/// An attribute name that looks like expression syntax is only ever a name: it goes through
/// `ExpressionAttributeNames`, so it cannot change a condition.
pub async fn hostile_attribute_name_is_only_a_name<B: Backend>(backend: &B) {
    let env = Env::new(backend, "hostile_name", |c| {
        c.lease_attribute_names("a) OR (b", "exp = :now OR #x", "ttl")
    })
    .await;
    let key = env.key("CACHE#A");
    let a = env.manager("a");
    let lease = a.try_acquire(key.clone(), secs(30)).await.unwrap();
    let stored = env.raw_item(&key).await.unwrap();
    assert_eq!(
        stored.get("a) OR (b"),
        Some(&s("a-1")),
        "{}",
        backend.name()
    );
    assert_eq!(stored.get("exp = :now OR #x"), Some(&n(TIME_BASE + 30)));
    assert!(
        env.manager("b")
            .try_acquire(key.clone(), secs(30))
            .await
            .unwrap_err()
            .is_held()
    );
    let forged = lease::Lease::new(
        key.clone(),
        lease::token::LeaseToken::new("x"),
        lease::FencingToken::new(1),
        lease.expires_at(),
    );
    assert_eq!(
        env.manager("b").release(&forged).await.unwrap(),
        ReleaseOutcome::NotHeld
    );
    a.refresh(&lease, secs(30)).await.unwrap();
}

/// With TTL on, `ttl` = expiry + buffer (rounded up to whole seconds), on acquire and refresh;
/// on release, `ttl` = release time + buffer, so DynamoDB collects released items.
pub async fn ttl_on_writes_expiry_plus_buffer<B: Backend>(backend: &B) {
    let env = Env::new(backend, "ttl_on", |c| {
        c.ttl_buffer(Duration::from_millis(9500))
    })
    .await;
    let key = env.key("CACHE#A");
    let manager = env.manager("a");
    let lease = manager.try_acquire(key.clone(), secs(30)).await.unwrap();
    let name = backend.name();
    let ttl = |item: Option<Item>| item.and_then(|i| i.get("ttl").cloned());
    assert_eq!(
        ttl(env.raw_item(&key).await),
        Some(n(TIME_BASE + 40)),
        "{name}"
    );
    env.advance(secs(5));
    let lease = manager.refresh(&lease, secs(30)).await.unwrap();
    assert_eq!(
        ttl(env.raw_item(&key).await),
        Some(n(TIME_BASE + 45)),
        "{name}"
    );
    env.advance(secs(5));
    assert_eq!(
        manager.release(&lease).await.unwrap(),
        ReleaseOutcome::Released
    );
    assert_eq!(
        ttl(env.raw_item(&key).await),
        Some(n(TIME_BASE + 20)),
        "{name}"
    );
}

/// With TTL off (`include_ttl(false)`, the one way), acquire, refresh and release write no TTL
/// attribute, and remove one left by another writer: a stale TTL could make DynamoDB delete a
/// live lease (seed-spec W9).
pub async fn ttl_off_writes_no_ttl<B: Backend>(backend: &B) {
    let case = "ttl_off_flag";
    let env = Env::new(backend, case, |c| c.include_ttl(false)).await;
    let key = env.key("CACHE#A");
    env.put_raw(item(&[
        ("pk", s("CACHE#A")),
        ("sk", s("LOCK")),
        ("lease_token", s("other-writer")),
        ("lease_expires_at", n(TIME_BASE - 10)),
        ("ttl", n(TIME_BASE + 5)),
    ]))
    .await;
    let manager = env.manager("a");
    let lease = manager.try_acquire(key.clone(), secs(30)).await.unwrap();
    let stored = env.raw_item(&key).await.unwrap();
    assert!(
        !stored.contains_key("ttl"),
        "{} {case}: stale ttl kept: {stored:?}",
        backend.name()
    );
    let lease = manager.refresh(&lease, secs(30)).await.unwrap();
    assert_eq!(
        manager.release(&lease).await.unwrap(),
        ReleaseOutcome::Released
    );
    let stored = env.raw_item(&key).await.unwrap();
    assert!(
        !stored.contains_key("ttl"),
        "{} {case}: {stored:?}",
        backend.name()
    );
}

/// Sub-second precision never shortens a lease (fault class B18, seed weakness W1): at
/// 990 ms past a second, a 1 s lease is stored as expiring at the second after next, and a
/// contender at +15 ms, +510 ms and +960 ms is refused. A 500 ms lease is never stored as
/// already expired. (Skew bound 0 here: such short leases need a fleet with tight clocks.)
pub async fn sub_second_duration_is_rounded_up<B: Backend>(backend: &B) {
    let env = Env::new(backend, "sub_second", |c| c.max_clock_skew(Duration::ZERO)).await;
    let key = env.key("CACHE#A");
    env.advance(Duration::from_millis(990));
    let lease = env
        .manager("a")
        .try_acquire(key.clone(), secs(1))
        .await
        .unwrap();
    assert_eq!(
        lease.expires_at_epoch_seconds(),
        TIME_BASE + 2,
        "{}",
        backend.name()
    );
    for step in [15, 495, 450] {
        env.advance(Duration::from_millis(step));
        let err = env
            .manager("b")
            .try_acquire(key.clone(), secs(1))
            .await
            .unwrap_err();
        assert!(err.is_held(), "{}: {err:?}", backend.name());
    }
    let short = env
        .manager("c")
        .try_acquire(env.key("CACHE#B"), Duration::from_millis(500))
        .await;
    assert!(
        short.unwrap().expires_at_epoch_seconds() > TIME_BASE + 1,
        "{}",
        backend.name()
    );
}

/// With the expiry stored in milliseconds, a 300 ms lease is held for exactly its 300 ms and
/// then taken over.
pub async fn millisecond_expiry_unit<B: Backend>(backend: &B) {
    let env = Env::new(backend, "millis", |c| {
        c.expiry_unit(ExpiryUnit::Milliseconds)
            .max_clock_skew(Duration::from_millis(50))
    })
    .await;
    let key = env.key("CACHE#A");
    env.advance(Duration::from_millis(250));
    env.manager("a")
        .try_acquire(key.clone(), Duration::from_millis(300))
        .await
        .unwrap();
    let stored = env.raw_item(&key).await.unwrap();
    assert_eq!(
        stored.get("lease_expires_at"),
        Some(&n(TIME_BASE * 1000 + 550)),
        "{}",
        backend.name()
    );
    env.advance(Duration::from_millis(299));
    let err = env
        .manager("b")
        .try_acquire(key.clone(), Duration::from_millis(300))
        .await;
    assert!(err.unwrap_err().is_held(), "{}", backend.name());
    env.advance(Duration::from_millis(1));
    env.manager("b")
        .try_acquire(key, Duration::from_millis(300))
        .await
        .unwrap();
}
