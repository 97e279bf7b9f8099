//! The real `LeaseManager` on a `MemoryStore`: the lease life cycle, TTL, and races.

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lease_memory::{
    AttributeValue, Holder, InvalidInput, Item, Lease, LeaseConfig, LeaseError, LeaseKey,
    LeaseManager, LeaseToken, ManualClock, MemoryStore, ReleaseOutcome, TokenFingerprint,
};

const T0: i64 = 1_000;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::string(v)
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::number(v)
}

fn item(pairs: &[(&str, AttributeValue)]) -> Item {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn key_item(pk: &str) -> Item {
    item(&[("pk", s(pk)), ("sk", s("LOCK"))])
}

struct World {
    store: MemoryStore,
    config: LeaseConfig,
    clock: Arc<ManualClock>,
}

impl World {
    fn new(config: LeaseConfig) -> Self {
        Self {
            store: MemoryStore::for_config(&config),
            config,
            clock: Arc::new(ManualClock::at_epoch_seconds(T0)),
        }
    }

    fn default() -> Self {
        Self::new(LeaseConfig::builder("locks").build().unwrap())
    }

    /// A manager on the shared store and clock whose tokens are `name-1`, `name-2`, ….
    fn manager(&self, name: &str) -> LeaseManager<MemoryStore> {
        let name = name.to_owned();
        let counter = AtomicU64::new(0);
        LeaseManager::new(self.store.clone(), self.config.clone())
            .with_shared_clock(self.clock.clone())
            .with_token_source(move || {
                let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
                LeaseToken::new(format!("{name}-{n}"))
            })
    }

    fn stored(&self, pk: &str) -> Option<Item> {
        self.store.get_item("locks", &key_item(pk))
    }
}

#[tokio::test]
async fn acquire_hold_expire_take_over_refresh_release() {
    let world = World::default();
    let (a, b) = (world.manager("a"), world.manager("b"));

    let lease_a = a.acquire("CACHE#A", secs(30)).await.unwrap();
    assert_eq!(lease_a.expires_at_epoch_seconds(), T0 + 30);
    assert_eq!(
        world.stored("CACHE#A"),
        Some(item(&[
            ("pk", s("CACHE#A")),
            ("sk", s("LOCK")),
            ("lease_token", s("a-1")),
            ("lease_expires_at", n(T0 + 30)),
            ("ttl", n(T0 + 30 + 3600)),
        ]))
    );

    // Held: the failed acquire learns who holds it, from the old item.
    world.clock.advance(secs(29));
    match b.acquire("CACHE#A", secs(30)).await {
        Err(LeaseError::Held {
            holder: Holder::Known(info),
            ..
        }) => {
            assert_eq!(info.token, TokenFingerprint::of("a-1"));
            assert_eq!(info.expires_at.unix_timestamp(), T0 + 30);
        }
        other => panic!("expected Held with a known holder, got {other:?}"),
    }

    // Expired (exp <= now): b takes it over; a can no longer refresh or release it.
    world.clock.advance(secs(1));
    let lease_b = b.acquire("CACHE#A", secs(30)).await.unwrap();
    assert_eq!(lease_b.expires_at_epoch_seconds(), T0 + 60);
    assert!(
        a.refresh(&lease_a, secs(30))
            .await
            .unwrap_err()
            .is_not_owned()
    );
    assert_eq!(a.release(&lease_a).await.unwrap(), ReleaseOutcome::NotHeld);

    // b refreshes: new expiry now + duration, TTL follows.
    world.clock.advance(secs(10));
    let refreshed = b.refresh(&lease_b, secs(60)).await.unwrap();
    assert_eq!(refreshed.expires_at_epoch_seconds(), T0 + 100);
    let stored = world.stored("CACHE#A").unwrap();
    assert_eq!(
        stored["lease_token"],
        s("b-2"),
        "b's first acquire used b-1"
    );
    assert_eq!(stored["lease_expires_at"], n(T0 + 100));
    assert_eq!(stored["ttl"], n(T0 + 100 + 3600));

    assert_eq!(
        b.release(&refreshed).await.unwrap(),
        ReleaseOutcome::Released
    );
    assert_eq!(world.stored("CACHE#A"), None);
    assert_eq!(
        b.release(&refreshed).await.unwrap(),
        ReleaseOutcome::NotHeld
    );
    assert!(
        b.refresh(&refreshed, secs(30))
            .await
            .unwrap_err()
            .is_not_owned()
    );
}

#[tokio::test]
async fn refresh_fails_once_expired_even_if_nobody_took_over() {
    let world = World::default();
    let a = world.manager("a");
    let lease = a.acquire("CACHE#A", secs(30)).await.unwrap();
    world.clock.advance(secs(30));
    assert!(
        a.refresh(&lease, secs(30))
            .await
            .unwrap_err()
            .is_not_owned()
    );
    // Release conditions on the token only: the expired lease is still ours to delete.
    assert_eq!(a.release(&lease).await.unwrap(), ReleaseOutcome::Released);
}

#[tokio::test]
async fn ttl_is_written_only_when_configured() {
    for (config, ttl) in [
        (
            LeaseConfig::builder("locks").build().unwrap(),
            Some(n(T0 + 30 + 3600)),
        ),
        (
            LeaseConfig::builder("locks")
                .ttl_buffer(secs(10))
                .build()
                .unwrap(),
            Some(n(T0 + 40)),
        ),
        (
            LeaseConfig::builder("locks")
                .include_ttl(false)
                .build()
                .unwrap(),
            None,
        ),
        (
            LeaseConfig::builder("locks")
                .ttl_buffer(Duration::ZERO)
                .build()
                .unwrap(),
            None,
        ),
    ] {
        let world = World::new(config);
        let a = world.manager("a");
        let lease = a.acquire("CACHE#A", secs(30)).await.unwrap();
        assert_eq!(world.stored("CACHE#A").unwrap().get("ttl"), ttl.as_ref());
        a.refresh(&lease, secs(30)).await.unwrap();
        let after_refresh = world.stored("CACHE#A").unwrap();
        assert_eq!(after_refresh.contains_key("ttl"), ttl.is_some());
    }
}

#[tokio::test]
async fn custom_names_and_sort_key() {
    let config = LeaseConfig::builder("custom")
        .key_attribute_names("partition", "sort")
        .lease_attribute_names("token", "expires_at", "expires_ttl")
        .lock_sort_key("CUSTOM")
        .build()
        .unwrap();
    let world = World::new(config);
    let a = world.manager("a");
    let lease = a.acquire("CACHE#A", secs(30)).await.unwrap();
    let key = item(&[("partition", s("CACHE#A")), ("sort", s("CUSTOM"))]);
    let stored = world.store.get_item("custom", &key).unwrap();
    let names: Vec<&str> = stored.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["expires_at", "expires_ttl", "partition", "sort", "token"]
    );
    assert!(
        world
            .manager("b")
            .acquire("CACHE#A", secs(30))
            .await
            .unwrap_err()
            .is_held()
    );
    assert_eq!(a.release(&lease).await.unwrap(), ReleaseOutcome::Released);
}

#[tokio::test]
async fn a_malformed_stored_lease_is_held_and_undecodable() {
    let world = World::default();
    // Another writer stored the expiry as a string: `exp <= :now` can never hold.
    let foreign = item(&[
        ("pk", s("CACHE#A")),
        ("sk", s("LOCK")),
        ("lease_token", s("x")),
        ("lease_expires_at", s("0")),
    ]);
    world
        .store
        .put_item_unconditionally("locks", foreign)
        .unwrap();
    world.clock.advance(secs(1_000_000));
    match world.manager("a").acquire("CACHE#A", secs(30)).await {
        Err(LeaseError::Held {
            holder: Holder::Undecodable(_),
            ..
        }) => {}
        other => panic!("expected Held with an undecodable holder, got {other:?}"),
    }
}

#[tokio::test]
async fn invalid_input_sends_no_request() {
    let world = World::default();
    let a = world.manager("a");
    let err = a.acquire("", secs(30)).await.unwrap_err();
    assert!(matches!(
        err,
        LeaseError::InvalidInput {
            reason: InvalidInput::EmptyPartitionKey,
            ..
        }
    ));
    assert!(
        a.acquire("CACHE#A", Duration::ZERO)
            .await
            .unwrap_err()
            .is_invalid_input()
    );
    let tokenless = Lease::new(
        LeaseKey::new("CACHE#A", "LOCK"),
        LeaseToken::new(""),
        time::OffsetDateTime::UNIX_EPOCH,
    );
    assert!(a.release(&tokenless).await.unwrap_err().is_invalid_input());
    assert_eq!(world.store.requests_executed(), 0);
    a.acquire("CACHE#A", secs(30)).await.unwrap();
    assert_eq!(world.store.requests_executed(), 1);
}

#[tokio::test]
async fn with_validation_off_the_store_rejects_an_empty_key() {
    let config = LeaseConfig::builder("locks")
        .validate_input(false)
        .build()
        .unwrap();
    let world = World::new(config);
    match world.manager("a").acquire("", secs(30)).await {
        Err(LeaseError::Store { source, .. }) => {
            assert_eq!(source.kind(), lease_memory::StoreErrorKind::Validation);
        }
        other => panic!("expected a store validation error, got {other:?}"),
    }
    assert_eq!(world.store.requests_executed(), 1);
    assert!(world.store.items("locks").is_empty());
}

#[tokio::test]
async fn an_unknown_table_is_a_store_error() {
    let config = LeaseConfig::builder("locks").build().unwrap();
    let manager = LeaseManager::new(MemoryStore::new(), config);
    match manager.acquire("CACHE#A", secs(30)).await {
        Err(LeaseError::Store { source, .. }) => {
            assert_eq!(
                source.kind(),
                lease_memory::StoreErrorKind::ResourceNotFound
            );
        }
        other => panic!("expected ResourceNotFound, got {other:?}"),
    }
}

/// 16 tasks on a multi-thread runtime race to acquire one key, 200 rounds: every round exactly
/// one wins and the rest see `Held`; the winner releases before the next round.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_one_of_sixteen_racing_tasks_acquires() {
    const TASKS: usize = 16;
    const ROUNDS: usize = 200;
    let world = World::default();
    let manager = Arc::new(world.manager("racer"));
    for round in 0..ROUNDS {
        let start = Arc::new(tokio::sync::Barrier::new(TASKS));
        let racers: Vec<_> = (0..TASKS)
            .map(|_| {
                let (manager, start) = (manager.clone(), start.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    manager.acquire("RACE", secs(30)).await
                })
            })
            .collect();
        let mut winners = Vec::new();
        for racer in racers {
            match racer.await.unwrap() {
                Ok(lease) => winners.push(lease),
                Err(e) => assert!(e.is_held(), "round {round}: {e:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {} winners", winners.len());
        let stored = world.stored("RACE").unwrap();
        assert_eq!(
            stored["lease_token"],
            s(winners[0].token().expose_secret()),
            "round {round}: the stored token is the winner's"
        );
        assert_eq!(
            manager.release(&winners[0]).await.unwrap(),
            ReleaseOutcome::Released
        );
    }
    assert_eq!(
        world.store.requests_executed(),
        (ROUNDS * (TASKS + 1)) as u64
    );
}
