//! The world of the lifecycle scenarios: one in-memory table, one clock that follows tokio's
//! paused clock, and managers that each reach the table through their own fault-injection
//! wrapper (own rules, outage and request log), with tokens `name-1`, `name-2`, ….

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lease_memory::{
    LeaseConfig, LeaseKey, LeaseManager, LeaseStatus, MemoryStore, clock::Clock, clock::TestClock,
    fault::FaultyStore, snapshot::StoredState, status::StatusWatch, store::AttributeValue,
    store::Item, token::LeaseToken,
};
use tokio::time::Instant;

/// The scenarios' wall-clock origin (epoch seconds).
pub const T0: i64 = 1_800_000_000;

pub type Store = FaultyStore<MemoryStore>;
pub type Manager = LeaseManager<Store>;

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub struct World {
    pub memory: MemoryStore,
    pub config: LeaseConfig,
    pub clock: Arc<TestClock>,
    start: Instant,
}

impl World {
    /// Table `locks`, default configuration (clock skew bound 1 s). Call inside the runtime.
    pub fn new() -> Self {
        Self::with_config(LeaseConfig::builder("locks").build().unwrap())
    }

    pub fn with_config(config: LeaseConfig) -> Self {
        Self {
            memory: MemoryStore::for_config(&config),
            config,
            clock: Arc::new(TestClock::at_epoch_seconds(T0)),
            start: Instant::now(),
        }
    }

    /// A fault-injection wrapper of its own over the shared table.
    pub fn faulty(&self) -> Store {
        FaultyStore::new(self.memory.clone())
    }

    /// A manager named `name` reaching the table through `store`.
    pub fn manager(&self, name: &str, store: &Store) -> Arc<Manager> {
        self.manager_with_clock(name, store, self.clock.clone())
    }

    /// A manager named `name` reaching the table through `store`, on its own clocks.
    pub fn manager_with_clock(
        &self,
        name: &str,
        store: &Store,
        clock: Arc<dyn Clock>,
    ) -> Arc<Manager> {
        let name = name.to_owned();
        let n = AtomicU64::new(0);
        Arc::new(
            LeaseManager::new(store.clone(), self.config.clone())
                .with_clock(clock)
                .with_token_source(move || {
                    LeaseToken::new(format!("{name}-{}", n.fetch_add(1, Ordering::Relaxed) + 1))
                }),
        )
    }

    /// A clock of its own for one actor: tokio's, started at the world's wall-clock origin
    /// (so that its faults, such as a jump, touch that actor alone).
    pub fn own_clock(&self) -> Arc<TestClock> {
        let origin = lease_core::wire_time::from_epoch_seconds(T0).unwrap() + self.at();
        Arc::new(TestClock::starting_at(origin))
    }

    pub fn key(&self) -> LeaseKey {
        self.key_of("CACHE#A")
    }

    pub fn key_of(&self, partition: &str) -> LeaseKey {
        LeaseKey::new(partition, "LOCK")
    }

    /// Virtual time since the world was made.
    pub fn at(&self) -> Duration {
        self.start.elapsed()
    }

    /// The instant `t` after the world was made.
    pub fn instant(&self, t: Duration) -> Instant {
        self.start + t
    }

    pub async fn sleep_until(&self, t: Duration) {
        tokio::time::sleep_until(self.start + t).await;
    }

    /// The lease's state in the table, read directly (no manager's log sees it).
    pub async fn state(&self, key: &LeaseKey) -> StoredState {
        let reader = LeaseManager::new(self.memory.clone(), self.config.clone())
            .with_clock(self.clock.clone());
        reader.inspect(key.clone()).await.unwrap().state
    }

    /// Deletes the lease item behind everyone's back (an operator, or TTL).
    pub fn delete(&self, key: &LeaseKey) {
        let item = Item::from([
            ("pk".into(), AttributeValue::string(key.partition())),
            (
                "sk".into(),
                AttributeValue::string(key.sort().unwrap_or("LOCK")),
            ),
        ]);
        self.memory
            .delete_item_unconditionally("locks", &item)
            .unwrap()
            .expect("no item to delete");
    }
}

/// The world's clocks with the wall clock `ahead` of them (a host whose clock runs fast, within
/// the skew bound).
pub struct Ahead(pub Arc<TestClock>, pub Duration);

impl Clock for Ahead {
    fn now(&self) -> std::time::SystemTime {
        self.0.now() + self.1
    }

    fn monotonic(&self) -> std::time::Instant {
        self.0.monotonic()
    }
}

/// Every status a guard published, with the virtual time it was seen at.
#[derive(Clone, Default)]
pub struct History(Arc<Mutex<Vec<(Duration, LeaseStatus)>>>);

impl History {
    /// Records every change of `status` from now on, in a task of its own.
    pub fn record(world: &World, mut status: StatusWatch) -> Self {
        let history = Self::default();
        let log = history.clone();
        let start = world.start;
        tokio::spawn(async move {
            while let Some(now) = status.changed().await {
                log.0.lock().unwrap().push((start.elapsed(), now));
            }
        });
        history
    }

    pub fn entries(&self) -> Vec<(Duration, LeaseStatus)> {
        self.0.lock().unwrap().clone()
    }

    /// The phases the guard went through, in order: `held`, `at-risk`, `lost`, `released`
    /// (consecutive updates of one phase, such as each failed retry while at risk, count once).
    pub fn phases(&self) -> Vec<&'static str> {
        let mut phases: Vec<&'static str> = self
            .entries()
            .iter()
            .map(|(_, s)| match s {
                LeaseStatus::Held => "held",
                LeaseStatus::AtRisk { .. } => "at-risk",
                LeaseStatus::Lost(_) => "lost",
                LeaseStatus::Released => "released",
                _ => "other",
            })
            .collect();
        phases.dedup();
        phases
    }
}

/// Lets every ready task run until `done` holds (at most 1000 yields; time does not move).
pub async fn settle(mut done: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if done() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("did not settle");
}
