//! [`SimStore`]: lease-memory's table behind the simulator's faults, and the fenced resources.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use lease_core::{
    AttributeValue, Item, LeaseConfig, Request, StoreError, StoreErrorKind, StoreResponse,
};
use lease_memory::MemoryStore;

/// A resource that accepts a write only with a fencing token at least as high as any it has
/// seen (what a holder protects with its fence).
#[derive(Clone, Debug, Default)]
pub struct Register {
    highest: Option<u64>,
}

impl Register {
    /// Offers a write with `fence`; whether it was accepted.
    pub fn write(&mut self, fence: u64) -> bool {
        if self.highest.is_some_and(|highest| fence < highest) {
            return false;
        }
        self.highest = Some(fence);
        true
    }
}

/// The table and what stands in front of it.
#[derive(Debug)]
pub struct SimStore {
    memory: MemoryStore,
    config: LeaseConfig,
    no_old_item: bool,
    throttle: Option<u32>,
    /// Arrival times of recent requests, per key (for throttling).
    recent: BTreeMap<String, VecDeque<Duration>>,
    /// The fenced resource of each key.
    pub registers: Vec<Register>,
}

impl SimStore {
    /// A store with `config`'s table.
    pub fn new(
        config: &LeaseConfig,
        keys: usize,
        no_old_item: bool,
        throttle: Option<u32>,
    ) -> Self {
        Self {
            memory: MemoryStore::for_config(config),
            config: config.clone(),
            no_old_item,
            throttle,
            recent: BTreeMap::new(),
            registers: vec![Register::default(); keys],
        }
    }

    /// The request reaches the table at `at` (with throttling when `faulty`).
    pub fn arrive(
        &mut self,
        request: &Request,
        at: Duration,
        faulty: bool,
    ) -> Result<StoreResponse, StoreError> {
        if let (Some(limit), true) = (self.throttle, faulty) {
            let recent = self.recent.entry(partition_of(request)).or_default();
            while recent
                .front()
                .is_some_and(|t| at.saturating_sub(*t) >= Duration::from_secs(1))
            {
                recent.pop_front();
            }
            if recent.len() >= limit as usize {
                return Err(StoreError::new(
                    StoreErrorKind::Throttled,
                    "simulated: too many requests on the key",
                ));
            }
            recent.push_back(at);
        }
        let answer = self.memory.execute_now(request);
        match answer {
            Ok(StoreResponse::ConditionFailed { .. }) if self.no_old_item => {
                Ok(StoreResponse::ConditionFailed { old_item: None })
            }
            other => other,
        }
    }

    /// DynamoDB's TTL: deletes each item whose TTL (whole epoch seconds) is at or before
    /// `now_secs`, when `pick` says so (deletion comes some time after the TTL passes). The
    /// keys deleted, in key order (the store's own order is a hash's).
    pub fn sweep(&mut self, now_secs: i64, mut pick: impl FnMut() -> bool) -> Vec<String> {
        let table = self.config.table_name();
        let ttl = self.config.ttl_attribute();
        let mut due: Vec<(String, Item)> = self
            .memory
            .items(table)
            .into_iter()
            .filter(|item| match item.get(ttl) {
                Some(AttributeValue::N(n)) => n.parse::<i64>().is_ok_and(|ttl| ttl <= now_secs),
                _ => false,
            })
            .map(|item| (pk_of(&item, &self.config), item))
            .collect();
        due.sort_by(|a, b| a.0.cmp(&b.0));
        let mut deleted = Vec::new();
        for (pk, item) in due {
            if !pick() {
                continue;
            }
            let key = Item::from([
                (
                    self.config.partition_key_attribute().into(),
                    AttributeValue::string(pk.as_str()),
                ),
                (
                    self.config.sort_key_attribute().into(),
                    item.get(self.config.sort_key_attribute())
                        .cloned()
                        .unwrap_or_else(|| AttributeValue::string("LOCK")),
                ),
            ]);
            if let Ok(Some(_)) = self.memory.delete_item_unconditionally(table, &key) {
                deleted.push(pk);
            }
        }
        deleted
    }

    /// The table's name.
    pub fn table_name(&self) -> Arc<str> {
        Arc::from(self.config.table_name())
    }
}

fn pk_of(item: &Item, config: &LeaseConfig) -> String {
    match item.get(config.partition_key_attribute()) {
        Some(AttributeValue::S(s)) => s.to_string(),
        _ => String::new(),
    }
}

/// The partition key value a request names.
fn partition_of(request: &Request) -> String {
    let item = match request {
        Request::Update(u) => &u.key,
        Request::Put(p) => &p.item,
        Request::Delete(d) => &d.key,
        Request::Get(g) => &g.key,
        _ => return String::new(),
    };
    item.get("pk").map_or_else(String::new, |v| match v {
        AttributeValue::S(s) => s.to_string(),
        _ => String::new(),
    })
}
