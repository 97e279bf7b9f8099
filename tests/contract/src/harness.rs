//! Per-case environment: a fresh table, a shared manual clock, managers with known tokens.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lease::{
    LeaseConfig, LeaseKey, LeaseManager, clock::Clock, clock::Now, clock::TestClock,
    config::LeaseConfigBuilder, store::Item, store::Store, store::StoreError, store::StoreResponse,
    token::LeaseToken, token::TokenSource,
};
use lease::{store::DeleteRequest, store::GetRequest, store::PutRequest, store::Request};

use crate::backend::Backend;

/// The suite's wall-clock origin: 2027-01-15T08:00:00Z in epoch seconds. Realistic times, so a
/// real DynamoDB table with TTL enabled would not delete the items mid-test.
pub const TIME_BASE: i64 = 1_800_000_000;

/// One case's world: a store on a fresh table, its configuration, and one clock shared by every
/// manager (true time; a case that needs skew makes its own clock).
#[derive(Debug)]
pub struct Env<S> {
    /// The store (counted, so cases can prove that nothing was sent).
    pub store: CountingStore<S>,
    /// The configuration of the fresh table.
    pub config: LeaseConfig,
    /// The shared clock, starting at [`TIME_BASE`].
    pub clock: Arc<TestClock>,
}

impl<S: Store + Clone + 'static> Env<S> {
    /// A fresh table named after the case, with the configuration `configure` makes of the
    /// default builder.
    pub async fn new<B: Backend<Store = S>>(
        backend: &B,
        case: &str,
        configure: impl FnOnce(LeaseConfigBuilder) -> LeaseConfigBuilder,
    ) -> Self {
        let table = format!(
            "contract-{}-{}",
            case.replace('_', "-"),
            uuid::Uuid::new_v4().simple()
        );
        let table: String = table.chars().take(255).collect();
        let config = match configure(LeaseConfig::builder(table)).build() {
            Ok(config) => config,
            Err(e) => panic!("{case}: bad test configuration: {e}"),
        };
        let store = backend.open(&config).await;
        Self {
            store: CountingStore::new(store),
            config,
            clock: Arc::new(TestClock::at_epoch_seconds(TIME_BASE).frozen()),
        }
    }

    /// A manager on the shared clock whose acquires use the tokens `name-1`, `name-2`, ….
    pub fn manager(&self, name: &str) -> LeaseManager<CountingStore<S>> {
        let name = name.to_owned();
        let counter = AtomicU64::new(0);
        LeaseManager::new(self.store.clone(), self.config.clone())
            .with_clock(self.clock.clone())
            .with_token_source(move || {
                let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
                LeaseToken::new(format!("{name}-{n}"))
            })
    }

    /// The lease key for `partition` under the configured lock sort key.
    pub fn key(&self, partition: &str) -> LeaseKey {
        LeaseKey::new(partition, self.config.lock_sort_key())
    }

    /// The shared clock's reading, as a plan takes it.
    pub fn now(&self) -> Now {
        Now::new(self.clock.now(), self.clock.monotonic())
    }

    /// The shared clock's monotonic reading.
    pub fn monotonic(&self) -> std::time::Instant {
        self.clock.monotonic()
    }

    /// Deletes the item at `key` unconditionally, as DynamoDB TTL or TableTheory's release
    /// would.
    pub async fn delete_raw(&self, key: &LeaseKey) {
        let request = Request::Delete(DeleteRequest::new(
            self.config.table_name(),
            self.key_item(key),
        ));
        match self.store.inner.execute(&request).await {
            Ok(StoreResponse::Applied { .. }) => {}
            other => panic!("DeleteItem {key}: unexpected answer {other:?}"),
        }
    }

    /// Moves the shared clock forward.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// The stored item at `key`, read with a strongly consistent `GetItem`.
    pub async fn raw_item(&self, key: &LeaseKey) -> Option<Item> {
        let request = Request::Get(GetRequest {
            table_name: self.config.table_name().into(),
            key: self.key_item(key),
            consistent_read: true,
        });
        match self.store.inner.execute(&request).await {
            Ok(StoreResponse::Item(item)) => item,
            other => panic!("GetItem {key}: unexpected answer {other:?}"),
        }
    }

    /// Writes `item` unconditionally, as another writer (another language's service) would.
    pub async fn put_raw(&self, item: Item) {
        let request = Request::Put(PutRequest::new(self.config.table_name(), item));
        match self.store.inner.execute(&request).await {
            Ok(StoreResponse::Applied { .. }) => {}
            other => panic!("PutItem: unexpected answer {other:?}"),
        }
    }

    /// The key attributes of `key` as an item.
    pub fn key_item(&self, key: &LeaseKey) -> Item {
        let mut item = Item::new();
        item.insert(
            self.config.partition_key_attribute().into(),
            lease::store::AttributeValue::string(key.partition()),
        );
        item.insert(
            self.config.sort_key_attribute().into(),
            lease::store::AttributeValue::string(key.sort().unwrap_or(self.config.lock_sort_key())),
        );
        item
    }
}

/// A store wrapper that counts the requests it executes.
#[derive(Clone, Debug)]
pub struct CountingStore<S> {
    inner: S,
    count: Arc<AtomicU64>,
}

impl<S> CountingStore<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            count: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Requests executed so far through this wrapper (and its clones).
    pub fn requests(&self) -> u64 {
        self.count.load(Ordering::SeqCst)
    }
}

impl<S: Store> Store for CountingStore<S> {
    async fn execute(&self, request: &Request) -> Result<StoreResponse, StoreError> {
        self.count.fetch_add(1, Ordering::SeqCst);
        self.inner.execute(request).await
    }

    fn default_token_source(&self) -> Option<Arc<dyn TokenSource>> {
        self.inner.default_token_source()
    }
}
