//! Heap allocations per lease operation, counted (not timed): a deterministic companion to the
//! `memory` benchmark, whose time is mostly `malloc` and `free`. Prints, for one acquire +
//! release through [`LeaseManager`] on a [`MemoryStore`] (the `memory` benchmark's pair), and
//! for the core's acquire plan + render + interpret (lease-core's `core` benchmark), the heap
//! blocks allocated per iteration, averaged over many iterations after a warm-up.
//!
//! Counted with `dhat`'s global allocator in testing mode. Run with
//! `cargo bench -p lease-memory --bench allocations` (also step 2 of `scripts/bench.sh`); see
//! `docs/performance.md`.

use std::hint::black_box;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use lease_memory::core::Planner;
use lease_memory::{
    AttributeValue, Item, LeaseConfig, LeaseManager, LeaseToken, MemoryStore, ReleaseOutcome,
    Store, StoreResponse, UuidTokens,
};
use time::OffsetDateTime;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// The same key and token shapes as the timed benchmarks.
const PARTITION: &str = "CACHE#default::/news/{slug}?slug=launch";
const TOKEN: &str = "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b";
const DURATION: Duration = Duration::from_secs(30);
const ITERATIONS: u64 = 10_000;

/// The output of `future`, which must be complete at its first poll.
fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("a MemoryStore operation was not complete at its first poll"),
    }
}

/// Heap blocks allocated per call of `f`, after a warm-up.
fn blocks_per_call(mut f: impl FnMut()) -> f64 {
    for _ in 0..100 {
        f();
    }
    let before = dhat::HeapStats::get().total_blocks;
    for _ in 0..ITERATIONS {
        f();
    }
    let after = dhat::HeapStats::get().total_blocks;
    #[allow(clippy::cast_precision_loss)]
    let per_call = (after - before) as f64 / ITERATIONS as f64;
    per_call
}

fn pair<S: Store>(manager: &LeaseManager<S>) {
    let lease = match ready(manager.acquire(black_box(PARTITION), DURATION)) {
        Ok(lease) => lease,
        Err(e) => panic!("acquire failed: {e}"),
    };
    match ready(manager.release(&lease)) {
        Ok(ReleaseOutcome::Released) => {}
        other => panic!("release did not release: {other:?}"),
    }
}

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let Ok(config) = LeaseConfig::builder("locks").build() else {
        panic!("the default configuration is valid");
    };

    let uuid = LeaseManager::new(MemoryStore::for_config(&config), config.clone())
        .with_token_source(UuidTokens);
    let counter = AtomicU64::new(0);
    let counted = LeaseManager::new(MemoryStore::for_config(&config), config.clone())
        .with_token_source(move || {
            LeaseToken::new(format!("bench-{}", counter.fetch_add(1, Ordering::Relaxed)))
        });

    let planner = Planner::new(config);
    let now = OffsetDateTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
    let key = planner.lock_key(PARTITION);
    let updated = Item::from([
        ("lease_token".to_owned(), AttributeValue::string(TOKEN)),
        (
            "lease_expires_at".to_owned(),
            AttributeValue::number(1_700_000_031),
        ),
        (
            "lease_fence".to_owned(),
            AttributeValue::number(1_700_000_000_124),
        ),
        ("ttl".to_owned(), AttributeValue::number(1_700_003_631)),
    ]);

    println!("heap blocks allocated per iteration (dhat, {ITERATIONS} iterations)");
    println!(
        "  lease_memory acquire+release pair, UUIDv4 tokens (default): {:6.1}",
        blocks_per_call(|| pair(&uuid))
    );
    println!(
        "  lease_memory acquire+release pair, counter tokens:          {:6.1}",
        blocks_per_call(|| pair(&counted))
    );
    println!(
        "  lease_core acquire: plan + render + interpret:              {:6.1}",
        blocks_per_call(|| {
            let Ok(plan) = planner.acquire(key.clone(), DURATION, now, LeaseToken::new(TOKEN))
            else {
                panic!("valid input");
            };
            black_box(plan.request().render());
            let answer = Ok(StoreResponse::Applied {
                attributes: Some(updated.clone()),
            });
            black_box(plan.interpret(answer).is_ok());
        })
    );
}
