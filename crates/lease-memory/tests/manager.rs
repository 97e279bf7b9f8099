//! The real `LeaseManager` on a `MemoryStore`: the lease life cycle, fencing tokens, release
//! that keeps the item, TTL, inspection, the clock skew bound, and races.

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lease_memory::{
    FencingToken, Lease, LeaseConfig, LeaseError, LeaseKey, LeaseManager, MemoryStore,
    ReleaseOutcome, WaitPolicy, clock::Clock, clock::TestClock, config::ExpiryUnit,
    error::DecodeError, error::InvalidInput, snapshot::Holder, snapshot::HolderRecord,
    snapshot::StoredState, snapshot::TokenFingerprint, store::AttributeValue, store::Item,
    store::Planner, store::Store, store::StoreResponse, token::LeaseToken,
};

const T0: i64 = 1_000;
/// The fencing token of the first acquisition of a key at `T0`: `T0` in epoch milliseconds,
/// plus one.
const FIRST_FENCE: u64 = 1_000_001;

fn fence(value: u64) -> FencingToken {
    FencingToken::new(value)
}

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
        .map(|(k, v)| ((*k).into(), v.clone()))
        .collect()
}

fn key_item(pk: &str) -> Item {
    item(&[("pk", s(pk)), ("sk", s("LOCK"))])
}

struct World {
    store: MemoryStore,
    config: LeaseConfig,
    clock: Arc<TestClock>,
}

impl World {
    fn new(config: LeaseConfig) -> Self {
        Self {
            store: MemoryStore::for_config(&config),
            config,
            clock: Arc::new(TestClock::at_epoch_seconds(T0).frozen()),
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
            .with_clock(self.clock.clone())
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
    let sent = world.clock.monotonic();

    let lease_a = a.try_acquire("CACHE#A", secs(30)).await.unwrap();
    assert_eq!(lease_a.expires_at_epoch_seconds(), T0 + 30);
    assert_eq!(lease_a.fence(), fence(FIRST_FENCE));
    // The local deadline: sent + 30 s − the 1 s clock skew bound.
    assert_eq!(lease_a.valid_until(), Some(sent + secs(29)));
    assert_eq!(
        world.stored("CACHE#A"),
        Some(item(&[
            ("pk", s("CACHE#A")),
            ("sk", s("LOCK")),
            ("lease_token", s("a-1")),
            ("lease_expires_at", n(T0 + 30)),
            ("lease_fence", n(1_000_001)),
            ("ttl", n(T0 + 30 + 3600)),
        ]))
    );

    // Held: the failed acquire learns who holds it, from the old item.
    world.clock.advance(secs(29));
    match b.try_acquire("CACHE#A", secs(30)).await {
        Err(LeaseError::Held {
            holder: Holder::Known(info),
            ..
        }) => {
            assert_eq!(
                info,
                HolderRecord {
                    token: TokenFingerprint::of("a-1"),
                    expires_at: lease_core::wire_time::from_epoch_seconds(T0 + 30).unwrap(),
                    fence: Some(fence(FIRST_FENCE)),
                    released: false,
                }
            );
        }
        other => panic!("expected Held with a known holder, got {other:?}"),
    }

    // Expired (exp <= now): b takes it over with a greater fencing token; a can no longer
    // refresh or release it.
    world.clock.advance(secs(1));
    let lease_b = b.try_acquire("CACHE#A", secs(30)).await.unwrap();
    assert_eq!(lease_b.expires_at_epoch_seconds(), T0 + 60);
    assert_eq!(lease_b.fence(), fence(FIRST_FENCE + 1));
    assert!(
        a.refresh(&lease_a, secs(30))
            .await
            .unwrap_err()
            .is_not_owned()
    );
    assert_eq!(a.release(&lease_a).await.unwrap(), ReleaseOutcome::NotHeld);

    // b refreshes: new expiry now + duration, TTL follows, the fencing token stays.
    world.clock.advance(secs(10));
    let refreshed = b.refresh(&lease_b, secs(60)).await.unwrap();
    assert_eq!(refreshed.expires_at_epoch_seconds(), T0 + 100);
    assert_eq!(refreshed.fence(), lease_b.fence());
    assert_eq!(refreshed.valid_until(), Some(sent + secs(40 + 59)));
    let stored = world.stored("CACHE#A").unwrap();
    assert_eq!(
        stored["lease_token"],
        s("b-2"),
        "b's first acquire used b-1"
    );
    assert_eq!(stored["lease_expires_at"], n(T0 + 100));
    assert_eq!(stored["ttl"], n(T0 + 100 + 3600));
    assert_eq!(stored["lease_fence"], n(1_000_002));

    // Release keeps the item, marked released (expiry 0) with its fencing token; the TTL is
    // now + buffer, so DynamoDB collects it an hour after the release.
    assert_eq!(
        b.release(&refreshed).await.unwrap(),
        ReleaseOutcome::Released
    );
    let released = item(&[
        ("pk", s("CACHE#A")),
        ("sk", s("LOCK")),
        ("lease_token", s("b-2")),
        ("lease_expires_at", n(0)),
        ("lease_fence", n(1_000_002)),
        ("ttl", n(T0 + 40 + 3600)),
    ]);
    assert_eq!(world.stored("CACHE#A"), Some(released.clone()));
    // Releasing again is Released again (idempotent: a retried release has a definite answer)
    // and changes nothing.
    assert_eq!(
        b.release(&refreshed).await.unwrap(),
        ReleaseOutcome::Released
    );
    assert_eq!(world.stored("CACHE#A"), Some(released));
    assert!(
        b.refresh(&refreshed, secs(30))
            .await
            .unwrap_err()
            .is_not_owned()
    );

    // A released lease is free at once, and the fencing token goes on growing.
    let lease_a2 = a.try_acquire("CACHE#A", secs(30)).await.unwrap();
    assert_eq!(lease_a2.fence(), fence(FIRST_FENCE + 2));
    // b's old token no longer releases anything.
    assert_eq!(
        b.release(&refreshed).await.unwrap(),
        ReleaseOutcome::NotHeld
    );
}

/// Fencing tokens grow across takeovers and releases, and a key whose item was deleted (by
/// TTL, say) restarts from the wall clock in milliseconds, above every token it had.
#[tokio::test]
async fn fencing_tokens_only_grow() {
    let world = World::default();
    let a = world.manager("a");
    let mut fences = Vec::new();
    for _ in 0..3 {
        let lease = a.try_acquire("CACHE#A", secs(30)).await.unwrap();
        fences.push(lease.fence().get());
        assert_eq!(a.release(&lease).await.unwrap(), ReleaseOutcome::Released);
    }
    let lease = a.try_acquire("CACHE#A", secs(30)).await.unwrap();
    world.clock.advance(secs(30));
    fences.push(lease.fence().get());
    let taken_over = world
        .manager("b")
        .try_acquire("CACHE#A", secs(30))
        .await
        .unwrap();
    fences.push(taken_over.fence().get());
    assert_eq!(
        fences,
        [1_000_001, 1_000_002, 1_000_003, 1_000_004, 1_000_005]
    );

    world
        .store
        .delete_item_unconditionally("locks", &key_item("CACHE#A"))
        .unwrap();
    world.clock.advance(secs(5));
    let after_delete = a.try_acquire("CACHE#A", secs(30)).await.unwrap();
    assert_eq!(after_delete.fence(), fence(1_035_001));
    assert!(after_delete.fence() > taken_over.fence());
}

/// Acquire conditions on `OR #tok = :tok`, so sending the same request again (after a lost
/// response) finds its own write and succeeds, with the next fencing token, instead of
/// reporting its own lease as held.
#[tokio::test]
async fn a_retried_acquire_finds_its_own_write() {
    let world = World::default();
    let planner = Planner::new(world.config.clone());
    let now = world.clock.now();
    let plan = planner
        .acquire(
            LeaseKey::new("CACHE#A", "LOCK"),
            secs(30),
            now,
            LeaseToken::new("mine"),
        )
        .unwrap();
    let first = world.store.execute(plan.request()).await;
    assert!(
        matches!(
            &first,
            Ok(StoreResponse::Applied {
                attributes: Some(_)
            })
        ),
        "{first:?}"
    );
    let again = world.store.execute(plan.request()).await;
    let lease = plan.interpret(again).unwrap();
    assert_eq!(lease.token().expose_secret(), "mine");
    assert_eq!(lease.fence(), fence(FIRST_FENCE + 1));
    let stored = world.stored("CACHE#A").unwrap();
    assert_eq!(stored["lease_token"], s("mine"));
    assert_eq!(stored["lease_fence"], n(1_000_002));

    // Another token's identical request is still refused.
    let other = planner
        .acquire(
            LeaseKey::new("CACHE#A", "LOCK"),
            secs(30),
            now,
            LeaseToken::new("theirs"),
        )
        .unwrap();
    let answer = world.store.execute(other.request()).await;
    assert!(other.interpret(answer).unwrap_err().is_held());
}

#[tokio::test]
async fn refresh_fails_once_expired_even_if_nobody_took_over() {
    let world = World::default();
    let a = world.manager("a");
    let lease = a.try_acquire("CACHE#A", secs(30)).await.unwrap();
    world.clock.advance(secs(30));
    assert!(
        a.refresh(&lease, secs(30))
            .await
            .unwrap_err()
            .is_not_owned()
    );
    // Release conditions on the token only: the expired lease is still ours to release.
    assert_eq!(a.release(&lease).await.unwrap(), ReleaseOutcome::Released);
    assert_eq!(world.stored("CACHE#A").unwrap()["lease_expires_at"], n(0));
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
    ] {
        let world = World::new(config);
        let a = world.manager("a");
        let lease = a.try_acquire("CACHE#A", secs(30)).await.unwrap();
        assert_eq!(world.stored("CACHE#A").unwrap().get("ttl"), ttl.as_ref());
        a.refresh(&lease, secs(30)).await.unwrap();
        let after_refresh = world.stored("CACHE#A").unwrap();
        assert_eq!(after_refresh.contains_key("ttl"), ttl.is_some());
        // Release: the TTL counts from the release (now + buffer), or there is none.
        let buffer = ttl.as_ref().map(|_| world.config.ttl_buffer().as_secs());
        assert_eq!(a.release(&lease).await.unwrap(), ReleaseOutcome::Released);
        let after_release = world.stored("CACHE#A").unwrap();
        assert_eq!(
            after_release.get("ttl"),
            buffer.map(|b| n(T0 + i64::try_from(b).unwrap())).as_ref()
        );
    }
}

/// With TTL off, every write removes a TTL another writer left: it could delete a live lease.
#[tokio::test]
async fn with_ttl_off_a_stale_ttl_is_removed() {
    let config = LeaseConfig::builder("locks")
        .include_ttl(false)
        .build()
        .unwrap();
    let world = World::new(config);
    let stale_ttl = || ("ttl", n(T0 + 5));
    let seed = |token: &str, expires: i64| {
        let mut stored = key_item("CACHE#A");
        stored.extend([
            ("lease_token".into(), s(token)),
            ("lease_expires_at".into(), n(expires)),
        ]);
        stored.insert(stale_ttl().0.into(), stale_ttl().1);
        world
            .store
            .put_item_unconditionally("locks", stored)
            .unwrap();
    };
    let a = world.manager("a");

    // An expired lease another writer left, with a TTL: acquire removes the TTL.
    seed("old", T0 - 1);
    let lease = a.try_acquire("CACHE#A", secs(30)).await.unwrap();
    assert!(!world.stored("CACHE#A").unwrap().contains_key("ttl"));

    // The TTL reappears (another writer); refresh removes it again, and so does release.
    let mut stored = world.stored("CACHE#A").unwrap();
    stored.insert(stale_ttl().0.into(), stale_ttl().1);
    world
        .store
        .put_item_unconditionally("locks", stored.clone())
        .unwrap();
    let lease = a.refresh(&lease, secs(30)).await.unwrap();
    assert!(!world.stored("CACHE#A").unwrap().contains_key("ttl"));
    world
        .store
        .put_item_unconditionally("locks", stored)
        .unwrap();
    assert_eq!(a.release(&lease).await.unwrap(), ReleaseOutcome::Released);
    let released = world.stored("CACHE#A").unwrap();
    assert!(!released.contains_key("ttl"), "{released:?}");
    assert_eq!(released["lease_expires_at"], n(0));
}

#[tokio::test]
async fn custom_names_and_sort_key() {
    let config = LeaseConfig::builder("custom")
        .key_attribute_names("partition", "sort")
        .lease_attribute_names("token", "expires_at", "expires_ttl")
        .fence_attribute_name("fencing")
        .lock_sort_key("CUSTOM")
        .build()
        .unwrap();
    let world = World::new(config);
    let a = world.manager("a");
    let lease = a.try_acquire("CACHE#A", secs(30)).await.unwrap();
    let key = item(&[("partition", s("CACHE#A")), ("sort", s("CUSTOM"))]);
    let stored = world.store.get_item("custom", &key).unwrap();
    let names: Vec<&str> = stored.keys().map(|name| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "expires_at",
            "expires_ttl",
            "fencing",
            "partition",
            "sort",
            "token"
        ]
    );
    assert_eq!(stored["fencing"], n(1_000_001));
    assert_eq!(lease.fence(), fence(FIRST_FENCE));
    assert!(
        world
            .manager("b")
            .try_acquire("CACHE#A", secs(30))
            .await
            .unwrap_err()
            .is_held()
    );
    assert_eq!(a.release(&lease).await.unwrap(), ReleaseOutcome::Released);
}

/// An item that is not a readable lease never expires by itself: acquire neither takes it over
/// nor reports a holder, but says the item is malformed and why; inspect says the same.
#[tokio::test]
async fn a_malformed_stored_lease_is_never_taken_over() {
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
        .put_item_unconditionally("locks", foreign.clone())
        .unwrap();
    world.clock.advance(secs(1_000_000));
    let manager = world.manager("a");
    let wrong_type = DecodeError::WrongType {
        attribute: "lease_expires_at".into(),
        expected: "N",
        found: "S",
    };
    match manager.try_acquire("CACHE#A", secs(30)).await {
        Err(LeaseError::MalformedItem { key, error }) => {
            assert_eq!(key, LeaseKey::new("CACHE#A", "LOCK"));
            assert_eq!(error, wrong_type);
        }
        other => panic!("expected MalformedItem, got {other:?}"),
    }
    assert_eq!(world.stored("CACHE#A"), Some(foreign));
    match manager.inspect(LeaseKey::new("CACHE#A", "LOCK")).await {
        Err(LeaseError::MalformedItem { error, .. }) => assert_eq!(error, wrong_type),
        other => panic!("expected MalformedItem, got {other:?}"),
    }
}

/// Items another writer left at the lock key that are not readable leases: acquire,
/// `try_acquire` and inspect each say `MalformedItem` naming the attribute and why, and
/// nothing is written (the item is as it was).
#[tokio::test]
async fn foreign_items_are_malformed_naming_the_attribute_and_left_unchanged() {
    let world = World::default();
    let live = n(T0 + 60);
    let missing = |attribute: &str| DecodeError::MissingAttribute {
        attribute: attribute.into(),
    };
    let wrong = |attribute: &str, expected, found| DecodeError::WrongType {
        attribute: attribute.into(),
        expected,
        found,
    };
    let cases = [
        (
            vec![("lease_expires_at", live.clone())],
            missing("lease_token"),
        ),
        (vec![("lease_token", s("x"))], missing("lease_expires_at")),
        (
            vec![("lease_token", n(7)), ("lease_expires_at", live.clone())],
            wrong("lease_token", "S", "N"),
        ),
        (
            vec![
                ("lease_token", s("x")),
                ("lease_expires_at", AttributeValue::N("2000.5".into())),
            ],
            DecodeError::InvalidNumber {
                attribute: "lease_expires_at".into(),
                value: "2000.5".into(),
            },
        ),
        (
            // Epoch milliseconds where seconds are configured.
            vec![
                ("lease_token", s("x")),
                ("lease_expires_at", n(1_800_000_000_000)),
            ],
            DecodeError::ExpiryBeyondHorizon {
                attribute: "lease_expires_at".into(),
                value: 1_800_000_000_000,
                unit: "seconds",
            },
        ),
        (
            vec![
                ("lease_token", s("x")),
                ("lease_expires_at", live.clone()),
                ("lease_fence", s("7")),
            ],
            wrong("lease_fence", "N", "S"),
        ),
        (
            vec![
                ("lease_token", s("x")),
                ("lease_expires_at", live.clone()),
                ("ttl", s("soon")),
            ],
            wrong("ttl", "N", "S"),
        ),
    ];
    let manager = world.manager("a");
    let key = LeaseKey::new("CACHE#A", "LOCK");
    for (attributes, expected) in cases {
        let mut foreign = key_item("CACHE#A");
        foreign.extend(attributes.into_iter().map(|(k, v)| (k.into(), v)));
        world
            .store
            .put_item_unconditionally("locks", foreign.clone())
            .unwrap();
        for result in [
            manager.try_acquire("CACHE#A", secs(30)).await.map(drop),
            manager.try_acquire(key.clone(), secs(30)).await.map(drop),
            manager.inspect(key.clone()).await.map(drop),
        ] {
            match result {
                Err(LeaseError::MalformedItem { key: at, error }) => {
                    assert_eq!(at, key);
                    assert_eq!(error, expected);
                }
                other => panic!("expected MalformedItem({expected:?}), got {other:?}"),
            }
        }
        assert_eq!(world.stored("CACHE#A"), Some(foreign), "{expected:?}");
    }
}

/// A token source that hands out an empty token is bad input like an empty token given by
/// hand: every way to acquire refuses it before sending.
#[tokio::test]
async fn an_empty_token_from_the_token_source_sends_nothing() {
    let world = World::default();
    let manager = Arc::new(
        LeaseManager::new(world.store.clone(), world.config.clone())
            .with_clock(world.clock.clone())
            .with_token_source(|| LeaseToken::new("")),
    );
    let key = LeaseKey::new("CACHE#A", "LOCK");
    let wait = WaitPolicy::with_timeout(secs(5));
    for result in [
        manager.try_acquire("CACHE#A", secs(30)).await.map(drop),
        manager.try_acquire(key.clone(), secs(30)).await.map(drop),
        manager
            .acquire(key.clone(), secs(30), &wait)
            .await
            .map(drop),
        manager
            .acquire_guard(key.clone(), secs(30), lease_memory::GuardOptions::default())
            .await
            .map(drop),
    ] {
        assert!(
            matches!(
                result,
                Err(LeaseError::InvalidInput {
                    reason: InvalidInput::EmptyToken,
                    ..
                })
            ),
            "{result:?}"
        );
    }
    assert_eq!(world.store.requests_executed(), 0);
}

#[tokio::test]
async fn inspect_reports_absent_held_expired_and_released() {
    let world = World::default();
    let a = world.manager("a");
    async fn state(m: &LeaseManager<MemoryStore>) -> StoredState {
        let snapshot = m.inspect(LeaseKey::new("CACHE#A", "LOCK")).await.unwrap();
        assert_eq!(snapshot.key, LeaseKey::new("CACHE#A", "LOCK"));
        snapshot.state
    }
    assert_eq!(state(&a).await, StoredState::Absent);

    let lease = a.try_acquire("CACHE#A", secs(30)).await.unwrap();
    let info = HolderRecord {
        token: TokenFingerprint::of("a-1"),
        expires_at: lease_core::wire_time::from_epoch_seconds(T0 + 30).unwrap(),
        fence: Some(fence(FIRST_FENCE)),
        released: false,
    };
    assert_eq!(state(&a).await, StoredState::Held(info));
    world.clock.advance(secs(30));
    assert_eq!(state(&a).await, StoredState::Expired(info));
    assert_eq!(a.release(&lease).await.unwrap(), ReleaseOutcome::Released);
    assert_eq!(
        state(&a).await,
        StoredState::Released(HolderRecord {
            expires_at: std::time::UNIX_EPOCH,
            released: true,
            ..info
        })
    );
    // Inspecting is a read: the item and the request count show nothing else was written.
    let executed = world.store.requests_executed();
    let before = world.stored("CACHE#A");
    state(&a).await;
    assert_eq!(world.stored("CACHE#A"), before);
    assert_eq!(world.store.requests_executed(), executed + 1);
}

/// Sub-second leases with the expiry in milliseconds: held until the exact millisecond.
#[tokio::test]
async fn millisecond_leases_expire_to_the_millisecond() {
    let config = LeaseConfig::builder("locks")
        .expiry_unit(ExpiryUnit::Milliseconds)
        .max_clock_skew(Duration::from_millis(100))
        .build()
        .unwrap();
    let world = World::new(config);
    let (a, b) = (world.manager("a"), world.manager("b"));
    let lease = a
        .try_acquire("CACHE#A", Duration::from_millis(500))
        .await
        .unwrap();
    assert_eq!(
        world.stored("CACHE#A").unwrap()["lease_expires_at"],
        n(T0 * 1000 + 500)
    );
    world.clock.advance(Duration::from_millis(499));
    assert!(
        b.try_acquire("CACHE#A", Duration::from_millis(500))
            .await
            .unwrap_err()
            .is_held()
    );
    world.clock.advance(Duration::from_millis(1));
    let taken_over = b
        .try_acquire("CACHE#A", Duration::from_millis(500))
        .await
        .unwrap();
    assert!(taken_over.fence() > lease.fence());
}

#[tokio::test]
async fn invalid_input_sends_no_request() {
    let world = World::default();
    let a = world.manager("a");
    let err = a.try_acquire("", secs(30)).await.unwrap_err();
    assert!(matches!(
        err,
        LeaseError::InvalidInput {
            reason: InvalidInput::EmptyPartitionKey,
            ..
        }
    ));
    assert!(
        a.try_acquire("CACHE#A", Duration::ZERO)
            .await
            .unwrap_err()
            .is_invalid_input()
    );
    // Not longer than the clock skew bound (1 s by default).
    assert!(matches!(
        a.try_acquire("CACHE#A", secs(1)).await.unwrap_err(),
        LeaseError::InvalidInput {
            reason: InvalidInput::DurationNotAboveSkew { .. },
            ..
        }
    ));
    let tokenless = Lease::new(
        LeaseKey::new("CACHE#A", "LOCK"),
        LeaseToken::new(""),
        FencingToken::new(1),
        std::time::UNIX_EPOCH,
    );
    assert!(a.release(&tokenless).await.unwrap_err().is_invalid_input());
    assert_eq!(world.store.requests_executed(), 0);
    a.try_acquire("CACHE#A", secs(30)).await.unwrap();
    assert_eq!(world.store.requests_executed(), 1);
}

/// A wait with a zero timeout is one attempt: it takes a free lease, and on a held one ends
/// with `WaitTimedOut` (naming the holder, as `Held` would), where `try_acquire` says `Held`.
#[tokio::test]
async fn a_wait_with_a_zero_timeout_is_one_attempt_that_times_out() {
    let world = World::default();
    let (a, b) = (world.manager("a"), world.manager("b"));
    let once = WaitPolicy::with_timeout(Duration::ZERO);
    let lease = a.acquire("CACHE#A", secs(30), &once).await.unwrap();
    assert_eq!(world.store.requests_executed(), 1);

    let err = b.acquire("CACHE#A", secs(30), &once).await.unwrap_err();
    assert!(err.is_wait_timed_out(), "{err:?}");
    match &err {
        LeaseError::WaitTimedOut {
            holder: Holder::Known(info),
            ..
        } => assert_eq!(info.token, TokenFingerprint::of("a-1")),
        other => panic!("expected WaitTimedOut with the holder, got {other:?}"),
    }
    assert_eq!(world.store.requests_executed(), 2, "one attempt");
    assert!(
        b.try_acquire("CACHE#A", secs(30))
            .await
            .unwrap_err()
            .is_held()
    );

    assert_eq!(a.release(&lease).await.unwrap(), ReleaseOutcome::Released);
    b.acquire("CACHE#A", secs(30), &once).await.unwrap();
}

#[tokio::test]
async fn an_unknown_table_is_a_store_error() {
    let config = LeaseConfig::builder("locks").build().unwrap();
    let manager = LeaseManager::new(MemoryStore::new(), config);
    match manager.try_acquire("CACHE#A", secs(30)).await {
        Err(LeaseError::Store { source, .. }) => {
            assert_eq!(
                source.kind(),
                lease_memory::store::StoreErrorKind::ResourceNotFound
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
                    manager.try_acquire("RACE", secs(30)).await
                })
            })
            .collect();
        let mut winners: Vec<Lease> = Vec::new();
        for racer in racers {
            match racer.await.unwrap() {
                Ok(lease) => winners.push(lease),
                Err(e) => assert!(e.is_held(), "round {round}: {e:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {} winners", winners.len());
        // Each round's acquisition gets the next fencing token.
        assert_eq!(
            winners[0].fence(),
            fence(FIRST_FENCE + round as u64),
            "round {round}"
        );
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

/// An expired lease whose fencing token another program stored as a number that is not whole
/// (`1.5`, `-3`): the acquire's write applies (one is added to it), but gives no lease. The
/// acquire answers `MalformedItem` naming the fence and gives back what it wrote, so the key is
/// not blocked until the written expiry: the item keeps its broken fence and a released expiry.
#[tokio::test]
async fn an_expired_lease_with_a_fence_that_is_not_whole_is_malformed_and_given_back() {
    for (stored, after) in [("1.5", "2.5"), ("-3", "-2")] {
        let world = World::default();
        let mut foreign = key_item("CACHE#A");
        foreign.extend([
            ("lease_token".into(), s("x")),
            ("lease_expires_at".into(), n(T0 - 60)),
            ("lease_fence".into(), AttributeValue::N(stored.into())),
        ]);
        world
            .store
            .put_item_unconditionally("locks", foreign)
            .unwrap();
        let err = world
            .manager("a")
            .try_acquire("CACHE#A", secs(30))
            .await
            .unwrap_err();
        match &err {
            LeaseError::MalformedItem {
                error: DecodeError::InvalidNumber { attribute, value },
                ..
            } => {
                assert_eq!(attribute, "lease_fence");
                assert_eq!(value, after);
            }
            other => panic!("{stored}: expected MalformedItem, got {other:?}"),
        }
        let item = world.stored("CACHE#A").unwrap();
        assert_eq!(item["lease_expires_at"], n(0), "given back: {item:?}");
        assert_eq!(item["lease_fence"], AttributeValue::N(after.into()));
    }
}
