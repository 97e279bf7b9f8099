//! What the tests of the waiting machines share: exact clocks, a waiting acquire of
//! `CACHE#A` for 10 s, and the store's answers to its attempts.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lease_core::lifecycle::{Machine, OpEvent, WaitOp};
use lease_core::{
    AttributeValue, Item, LeaseConfig, LeaseKey, LeaseToken, Now, Planner, RetryPolicy, StoreError,
    StoreResponse, TokenSource, WaitPolicy,
};

/// The wall-clock origin (epoch seconds).
pub const T0: i64 = 1_800_000_000;

/// Both clocks at an exact offset from an origin (the monotonic origin is read once).
pub struct Clocks(pub Instant);

impl Clocks {
    pub fn at(&self, t: Duration) -> Now {
        Now::new(
            lease_core::wire_time::from_epoch_seconds(T0).unwrap() + t,
            self.0 + t,
        )
    }
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn key() -> LeaseKey {
    LeaseKey::new("CACHE#A", "LOCK")
}

/// Tokens `w-1`, `w-2`, ….
pub fn tokens() -> Arc<dyn TokenSource> {
    let n = AtomicU64::new(0);
    Arc::new(move || LeaseToken::new(format!("w-{}", n.fetch_add(1, Ordering::Relaxed) + 1)))
}

/// A waiting acquire of [`key`] for 10 s, planned at offset zero, without retries.
pub fn wait(c: &Clocks, policy: WaitPolicy) -> WaitOp {
    WaitOp::new(
        Arc::new(Planner::new(LeaseConfig::builder("locks").build().unwrap())),
        key(),
        Duration::from_secs(10),
        policy,
        RetryPolicy::never(),
        tokens(),
        1,
        c.at(Duration::ZERO),
    )
    .unwrap()
}

/// The answer to an attempt on a lease held until epoch second `expires` (fence 3).
pub fn held_until(expires: i64) -> Result<StoreResponse, StoreError> {
    Ok(StoreResponse::ConditionFailed {
        old_item: Some(Item::from([
            ("pk".into(), AttributeValue::string("CACHE#A")),
            ("sk".into(), AttributeValue::string("LOCK")),
            ("lease_token".into(), AttributeValue::string("holder")),
            ("lease_expires_at".into(), AttributeValue::number(expires)),
            ("lease_fence".into(), AttributeValue::number(3)),
        ])),
    })
}

/// The answer to an attempt that got the lease (fence 4).
pub fn granted() -> Result<StoreResponse, StoreError> {
    let fence = Item::from([("lease_fence".into(), AttributeValue::number(4))]);
    Ok(StoreResponse::Applied {
        attributes: Some(fence),
    })
}

/// The delays of the `Contended` events the wait reported since the last call.
pub fn contended(w: &mut WaitOp) -> Vec<Duration> {
    std::iter::from_fn(|| w.poll_event())
        .filter_map(|e| match e {
            OpEvent::Contended { retry_in, .. } => Some(retry_in),
            _ => None,
        })
        .collect()
}
