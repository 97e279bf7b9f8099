//! The fault classes of `fault-classes.md` that lease-core and the manager prevent, as named,
//! deterministic scenarios: lease-memory behind `FaultyStore`, an injected wall clock, and
//! tokio's paused clock for the manager's retry backoff. (The lifecycle classes — heartbeats,
//! waiting, scoped work — are in `crates/lease/tests`.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lease_memory::{
    FencingToken, Lease, LeaseConfig, LeaseError, LeaseKey, LeaseManager, MemoryStore,
    ReleaseOutcome, clock::TestClock, config::RetryPolicy, error::InvalidInput, fault::Fault,
    fault::FaultRule, fault::FaultyStore, fault::RequestKind, fault::RequestOutcome,
    snapshot::StoredState, store::StoreErrorKind, token::LeaseToken,
};

const T0: i64 = 1_800_000_000;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

struct World {
    store: FaultyStore<MemoryStore>,
    config: LeaseConfig,
    clock: Arc<TestClock>,
}

impl World {
    fn new() -> Self {
        Self::with_config(LeaseConfig::builder("locks").build().unwrap())
    }

    fn with_config(config: LeaseConfig) -> Self {
        Self {
            store: FaultyStore::new(MemoryStore::for_config(&config)),
            config,
            clock: Arc::new(TestClock::at_epoch_seconds(T0)),
        }
    }

    /// A manager named `name` on the shared clock; tokens `name-1`, `name-2`, ….
    fn manager(&self, name: &str) -> LeaseManager<FaultyStore<MemoryStore>> {
        self.manager_on(name, self.clock.clone())
    }

    fn manager_on(
        &self,
        name: &str,
        clock: Arc<TestClock>,
    ) -> LeaseManager<FaultyStore<MemoryStore>> {
        let name = name.to_owned();
        let n = AtomicU64::new(0);
        LeaseManager::new(self.store.clone(), self.config.clone())
            .with_clock(clock)
            .with_token_source(move || {
                LeaseToken::new(format!("{name}-{}", n.fetch_add(1, Ordering::Relaxed) + 1))
            })
    }

    fn key(&self) -> LeaseKey {
        LeaseKey::new("CACHE#A", "LOCK")
    }

    fn fault(&self, fault: Fault, times: u64) {
        self.store.push_rule(
            FaultRule::new(fault)
                .matching(RequestKind::Write)
                .times(times),
        );
    }

    fn faulted(&self) -> usize {
        self.store
            .log()
            .iter()
            .filter(|r| !matches!(r.outcome(), RequestOutcome::Passed))
            .count()
    }
}

/// B02: the acquire lands but its response is lost; the re-sent request finds our own token and
/// succeeds. The caller holds the lease at once instead of waiting for its own lease to expire.
#[tokio::test(start_paused = true)]
async fn b02_acquire_applied_but_response_lost_is_ours() {
    let w = World::new();
    w.fault(Fault::ApplyThenError(StoreErrorKind::Timeout), 1);
    let lease = w.manager("a").try_acquire(w.key(), secs(10)).await.unwrap();
    assert_eq!(lease.token().expose_secret(), "a-1");
    assert_eq!(w.store.requests_seen(), 2, "one lost response, one re-send");
    let StoredState::Held(info) = w.manager("x").inspect(w.key()).await.unwrap().state else {
        panic!("not held");
    };
    assert_eq!(info.token, lease.token().fingerprint());
    assert_eq!(info.fence, Some(lease.fence()));
}

/// B02, unsettled: every attempt times out after landing. The caller gets `OutcomeUnknown`
/// (never `Held`), and the manager releases what it may have written, so the key is free.
#[tokio::test(start_paused = true)]
async fn b02_acquire_never_settled_is_outcome_unknown_and_cleaned_up() {
    let w = World::new();
    w.fault(Fault::ApplyThenError(StoreErrorKind::Timeout), 3);
    let err = w
        .manager("a")
        .try_acquire(w.key(), secs(10))
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    let state = w.manager("x").inspect(w.key()).await.unwrap().state;
    assert!(
        matches!(state, StoredState::Released(_)),
        "not cleaned up: {state:?}"
    );
    w.manager("b").try_acquire(w.key(), secs(10)).await.unwrap();
}

/// A refresh whose response is lost is re-sent and succeeds: the lease is refreshed.
#[tokio::test(start_paused = true)]
async fn refresh_applied_but_response_lost_is_refreshed() {
    let w = World::new();
    let m = w.manager("a");
    let lease = m.try_acquire(w.key(), secs(10)).await.unwrap();
    w.clock.advance(secs(5));
    w.fault(Fault::ApplyThenError(StoreErrorKind::Unavailable), 1);
    let lease = m.refresh(&lease, secs(10)).await.unwrap();
    assert_eq!(lease.expires_at_epoch_seconds(), T0 + 15);
    assert_eq!(w.faulted(), 1);
}

/// A release whose response is lost is re-sent and is `Released`, not `NotHeld`.
#[tokio::test(start_paused = true)]
async fn release_applied_but_response_lost_is_released() {
    let w = World::new();
    let m = w.manager("a");
    let lease = m.try_acquire(w.key(), secs(10)).await.unwrap();
    w.fault(Fault::ApplyThenError(StoreErrorKind::Timeout), 1);
    assert_eq!(m.release(&lease).await.unwrap(), ReleaseOutcome::Released);
    assert_eq!(w.faulted(), 1);
}

/// Throttling is "not applied" and retried with backoff.
#[tokio::test(start_paused = true)]
async fn throttled_acquire_is_retried() {
    let w = World::new();
    w.fault(Fault::Transient(StoreErrorKind::Throttled), 2);
    let started = tokio::time::Instant::now();
    w.manager("a").try_acquire(w.key(), secs(10)).await.unwrap();
    assert_eq!(w.store.requests_seen(), 3);
    assert!(
        started.elapsed() >= Duration::from_millis(75),
        "backoff 25 + 50 ms of virtual time"
    );
}

/// A retry policy of zero attempts is not an error: it is one attempt (as
/// `RetryPolicy::never()`), whose failure is reported as what it is.
#[tokio::test(start_paused = true)]
async fn a_retry_policy_of_zero_attempts_sends_once() {
    let w = World::new();
    w.fault(Fault::Transient(StoreErrorKind::Throttled), 1);
    let none = RetryPolicy::default().max_attempts(0);
    let m = w.manager("a").with_retry_policy(none);
    let err = m.try_acquire(w.key(), secs(10)).await.unwrap_err();
    assert!(
        matches!(&err, LeaseError::Store { source, .. } if source.kind() == StoreErrorKind::Throttled),
        "{err:?}"
    );
    assert_eq!(w.store.requests_seen(), 1);
    m.try_acquire(w.key(), secs(10)).await.unwrap();
    assert_eq!(w.store.requests_seen(), 2);
}

/// A request lost before it reached the table is re-sent.
#[tokio::test(start_paused = true)]
async fn dropped_request_is_retried() {
    let w = World::new();
    w.fault(Fault::DropBeforeApply(StoreErrorKind::Timeout), 1);
    w.manager("a").try_acquire(w.key(), secs(10)).await.unwrap();
    assert_eq!(w.store.requests_seen(), 2);
}

/// A store outage is reported as what it is — unknown outcome for 5xx, a throttling store error
/// for throttling — never as "held by another"; after the outage the key is free.
#[tokio::test(start_paused = true)]
async fn outage_is_outcome_unknown_not_held() {
    let w = World::new();
    w.store.set_outage(Some(StoreErrorKind::Unavailable));
    let err = w
        .manager("a")
        .try_acquire(w.key(), secs(10))
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    w.store.set_outage(Some(StoreErrorKind::Throttled));
    let err = w
        .manager("a")
        .try_acquire(w.key(), secs(10))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, LeaseError::Store { source, .. } if source.kind() == StoreErrorKind::Throttled),
        "{err:?}"
    );
    w.store.set_outage(None);
    w.manager("b").try_acquire(w.key(), secs(10)).await.unwrap();
}

/// B03: a crashed holder's lease is taken over by a plain non-blocking try as soon as it
/// expires (absolute expiry; no "observe unchanged for a full lease" window to restart).
#[tokio::test(start_paused = true)]
async fn b03_crashed_holder_is_taken_over_by_a_non_blocking_try() {
    let w = World::new();
    w.manager("a").try_acquire(w.key(), secs(5)).await.unwrap();
    let b = w.manager("b");
    for _ in 0..3 {
        w.clock.advance(secs(1));
        assert!(b.try_acquire(w.key(), secs(5)).await.unwrap_err().is_held());
    }
    w.clock.advance(secs(2));
    b.try_acquire(w.key(), secs(5)).await.unwrap();
}

/// W2: a contender whose clock is as fast as the skew bound allows cannot take the lease over
/// before the holder's local safe deadline, and the holder's deadline has passed by the time it can.
#[tokio::test(start_paused = true)]
async fn w2_fast_clock_contender_cannot_take_over_before_valid_until() {
    let config = LeaseConfig::builder("locks")
        .max_clock_skew(secs(2))
        .build()
        .unwrap();
    let w = World::with_config(config);
    let a = w.manager("a").try_acquire(w.key(), secs(30)).await.unwrap();
    let fast = Arc::new(TestClock::at_epoch_seconds(T0 + 2));
    let b = w.manager_on("b", fast.clone());
    for step in [secs(20), secs(7), Duration::from_millis(999)] {
        w.clock.advance(step);
        fast.advance(step);
        assert!(a.is_valid_at(w.clock_now()), "holder stopped too early");
        assert!(
            b.try_acquire(w.key(), secs(30))
                .await
                .unwrap_err()
                .is_held()
        );
    }
    w.clock.advance(Duration::from_millis(1));
    fast.advance(Duration::from_millis(1));
    assert!(
        !a.is_valid_at(w.clock_now()),
        "holder must stop at its deadline"
    );
    b.try_acquire(w.key(), secs(30)).await.unwrap();
}

impl World {
    fn clock_now(&self) -> lease_memory::clock::Now {
        lease_memory::clock::Now::new(
            lease_memory::clock::Clock::now(&*self.clock),
            lease_memory::clock::Clock::monotonic(&*self.clock),
        )
    }
}

/// B06: a crashed holder wakes after a takeover and releases with its old lease; a process
/// that never held the lease releases with a guessed token. Both are `NotHeld` and write nothing.
#[tokio::test(start_paused = true)]
async fn b06_stale_holder_release_writes_nothing() {
    let w = World::new();
    let stale = w.manager("b").try_acquire(w.key(), secs(10)).await.unwrap();
    w.clock.advance(secs(12));
    let a = w.manager("a");
    let current = a.try_acquire(w.key(), secs(10)).await.unwrap();
    let key_item = w.store.inner().items("locks");
    w.clock.advance(secs(1));
    assert_eq!(
        w.manager("b").release(&stale).await.unwrap(),
        ReleaseOutcome::NotHeld
    );
    let guessed = Lease::new(
        w.key(),
        LeaseToken::new("guess"),
        FencingToken::new(1),
        current.expires_at(),
    );
    assert_eq!(
        w.manager("c").release(&guessed).await.unwrap(),
        ReleaseOutcome::NotHeld
    );
    assert_eq!(
        w.store.inner().items("locks"),
        key_item,
        "a failed release wrote"
    );
    a.refresh(&current, secs(10)).await.unwrap();
}

/// A resource that accepts a write only with a fencing token at least as large as every token
/// it has seen.
#[derive(Default)]
struct FencedResource {
    highest: Option<FencingToken>,
    writes: Vec<&'static str>,
}

impl FencedResource {
    fn write(&mut self, fence: FencingToken, what: &'static str) -> bool {
        if self.highest.is_some_and(|h| fence < h) {
            return false;
        }
        self.highest = Some(fence);
        self.writes.push(what);
        true
    }
}

/// B22: A pauses past its lease, B takes over and writes; A wakes and writes with its old
/// fencing token: the resource rejects it, and A's refresh is `NotOwned`. After B releases,
/// C's token is larger still.
#[tokio::test(start_paused = true)]
async fn b22_zombie_holder_is_fenced() {
    let w = World::new();
    let mut resource = FencedResource::default();
    let a = w.manager("a");
    let la = a.try_acquire(w.key(), secs(10)).await.unwrap();
    w.clock.advance(secs(10));
    let b = w.manager("b");
    let lb = b.try_acquire(w.key(), secs(10)).await.unwrap();
    assert!(resource.write(lb.fence(), "b"));
    w.clock.advance(secs(5));
    assert!(!resource.write(la.fence(), "a"), "zombie write accepted");
    assert!(a.refresh(&la, secs(10)).await.unwrap_err().is_not_owned());
    assert_eq!(b.release(&lb).await.unwrap(), ReleaseOutcome::Released);
    let lc = w.manager("c").try_acquire(w.key(), secs(10)).await.unwrap();
    assert!(la.fence() < lb.fence() && lb.fence() < lc.fence());
    assert!(resource.write(lc.fence(), "c"));
    assert_eq!(resource.writes, ["b", "c"]);
}

/// B17: a zero duration, and one not longer than the clock skew bound, are rejected before any
/// request is sent.
#[tokio::test(start_paused = true)]
async fn b17_degenerate_durations_are_rejected_before_sending() {
    let w = World::new();
    let m = w.manager("a");
    for (duration, expected) in [
        (Duration::ZERO, InvalidInput::ZeroDuration),
        (
            Duration::from_millis(1),
            InvalidInput::DurationNotAboveSkew {
                duration: Duration::from_millis(1),
                max_clock_skew: secs(1),
            },
        ),
        (
            secs(1),
            InvalidInput::DurationNotAboveSkew {
                duration: secs(1),
                max_clock_skew: secs(1),
            },
        ),
    ] {
        let err = m.try_acquire(w.key(), duration).await.unwrap_err();
        assert!(
            matches!(err, LeaseError::InvalidInput { ref reason, .. } if *reason == expected),
            "{err:?}"
        );
    }
    assert_eq!(w.store.requests_seen(), 0);
}
