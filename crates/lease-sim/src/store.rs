//! [`SimStore`]: lease-memory's table behind the simulator's faults, and the fenced resources.
//!
//! A transaction (`TransactWriteItems`, a lease set's request) meets the same faults as any
//! request (the world's per-request faults: dropped, applied then failed, lost, slow and
//! duplicated answers); lease-memory executes it, all items or none. Throttling counts it
//! against every key it names, as DynamoDB consumes capacity on each item's partition: when
//! one of them is over its limit, nothing is written and the answer is, by turns, the whole
//! request throttled or a cancellation with `ThrottlingError` on the items over the limit (the
//! two shapes DynamoDB gives).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use lease_core::{
    AttributeValue, CancellationReason, Item, LeaseConfig, Request, StoreError, StoreErrorKind,
    StoreResponse,
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
        if let (Some(limit), true) = (self.throttle, faulty)
            && let Some(answer) = self.throttled(request, at, limit)
        {
            return answer;
        }
        let answer = self.memory.execute_now(request);
        match answer {
            Ok(StoreResponse::ConditionFailed { .. }) if self.no_old_item => {
                Ok(StoreResponse::ConditionFailed { old_item: None })
            }
            Ok(StoreResponse::TransactionCanceled { reasons }) if self.no_old_item => {
                Ok(StoreResponse::TransactionCanceled {
                    reasons: reasons
                        .into_iter()
                        .map(|reason| match reason {
                            CancellationReason::ConditionalCheckFailed { .. } => {
                                CancellationReason::ConditionalCheckFailed { old_item: None }
                            }
                            other => other,
                        })
                        .collect(),
                })
            }
            other => other,
        }
    }

    /// The throttled answer to `request` at `at`, if one of the keys it names is over `limit`
    /// requests in the last second; otherwise the request counts against each of its keys.
    fn throttled(
        &mut self,
        request: &Request,
        at: Duration,
        limit: u32,
    ) -> Option<Result<StoreResponse, StoreError>> {
        let partitions = partitions_of(request);
        let mut over = Vec::with_capacity(partitions.len());
        for partition in &partitions {
            let recent = self.recent.entry(partition.clone()).or_default();
            while recent
                .front()
                .is_some_and(|t| at.saturating_sub(*t) >= Duration::from_secs(1))
            {
                recent.pop_front();
            }
            over.push(recent.len() >= limit as usize);
        }
        if !over.iter().any(|o| *o) {
            for partition in partitions {
                self.recent.entry(partition).or_default().push_back(at);
            }
            return None;
        }
        // A transaction is refused as a whole on odd milliseconds, cancelled item by item on
        // even ones: both shapes, deterministically.
        if matches!(request, Request::Transact(_)) && at.as_millis().is_multiple_of(2) {
            let reasons = over
                .into_iter()
                .map(|over| {
                    if over {
                        CancellationReason::Other {
                            code: "ThrottlingError".into(),
                            message: Some("simulated: too many requests on the key".into()),
                        }
                    } else {
                        CancellationReason::None
                    }
                })
                .collect();
            return Some(Ok(StoreResponse::TransactionCanceled { reasons }));
        }
        Some(Err(StoreError::new(
            StoreErrorKind::Throttled,
            "simulated: too many requests on the key",
        )))
    }

    /// The lease token stored at each key `K0`…`K{keys-1}` (lock items), or none where there is
    /// no item or no token: the store's state as the set property reads it.
    #[must_use]
    pub fn tokens(&self, keys: usize) -> Vec<Option<String>> {
        let table = self.config.table_name();
        let token = self.config.token_attribute();
        (0..keys)
            .map(|key| {
                let id = Item::from([
                    (
                        self.config.partition_key_attribute().into(),
                        AttributeValue::string(format!("K{key}")),
                    ),
                    (
                        self.config.sort_key_attribute().into(),
                        AttributeValue::string("LOCK"),
                    ),
                ]);
                match self.memory.get_item(table, &id)?.get(token) {
                    Some(AttributeValue::S(s)) => Some(s.to_string()),
                    _ => None,
                }
            })
            .collect()
    }

    /// DynamoDB's TTL: deletes each item whose TTL (whole epoch seconds) is at or before
    /// `now_secs`, when `pick` says so (deletion comes some time after the TTL passes). The
    /// keys deleted (partition and sort key values), in key order (the store's own order is a
    /// hash's).
    pub fn sweep(
        &mut self,
        now_secs: i64,
        mut pick: impl FnMut() -> bool,
    ) -> Vec<(String, String)> {
        let table = self.config.table_name();
        let ttl = self.config.ttl_attribute();
        let mut due: Vec<((String, String), Item)> = self
            .memory
            .items(table)
            .into_iter()
            .filter(|item| match item.get(ttl) {
                Some(AttributeValue::N(n)) => n.parse::<i64>().is_ok_and(|ttl| ttl <= now_secs),
                _ => false,
            })
            .map(|item| {
                let sk = match item.get(self.config.sort_key_attribute()) {
                    Some(AttributeValue::S(s)) => s.to_string(),
                    _ => String::new(),
                };
                ((pk_of(&item, &self.config), sk), item)
            })
            .collect();
        due.sort_by(|a, b| a.0.cmp(&b.0));
        let mut deleted = Vec::new();
        for ((pk, sk), item) in due {
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
                deleted.push((pk, sk));
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

/// The partition key values a request names (each item's, for a transaction).
fn partitions_of(request: &Request) -> Vec<String> {
    let pk = |item: &Item| {
        item.get("pk").map_or_else(String::new, |v| match v {
            AttributeValue::S(s) => s.to_string(),
            _ => String::new(),
        })
    };
    match request {
        Request::Update(u) => vec![pk(&u.key)],
        Request::Put(p) => vec![pk(&p.item)],
        Request::Delete(d) => vec![pk(&d.key)],
        Request::Get(g) => vec![pk(&g.key)],
        // A semaphore's `Query` reads its partition (all its slots).
        Request::Query(q) => vec![q.partition_value.clone()],
        Request::Transact(t) => t
            .items
            .iter()
            .map(|item| match item {
                lease_core::TransactItem::Update(u) => pk(&u.key),
                lease_core::TransactItem::Put(p) => pk(&p.item),
                lease_core::TransactItem::Delete(d) => pk(&d.key),
                lease_core::TransactItem::ConditionCheck(c) => pk(&c.key),
                _ => String::new(),
            })
            .collect(),
        _ => vec![String::new()],
    }
}
