//! Acquire + release pairs through the real [`LeaseManager`] on a [`MemoryStore`], on one task,
//! reported as pairs per second (criterion's `elem/s`, one element = one pair). Target: at least
//! 500 000 pairs/s on one core.
//!
//! Two token sources, so the cost of token generation shows: the default [`UuidTokens`] (a
//! UUIDv4 from the operating system's CSPRNG per acquire) and a counter. The clock is the
//! default system clock in both.
//!
//! `MemoryStore::execute` answers with a future that is already complete, so each operation's
//! future is polled once, directly: that is what awaiting it costs inside any task, with no
//! executor in the measurement.
//!
//! Run with `cargo bench -p lease-memory --bench memory` (or `scripts/bench.sh` for every
//! benchmark); see `docs/performance.md`.

use std::hint::black_box;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lease_memory::{
    LeaseConfig, LeaseManager, LeaseToken, MemoryStore, ReleaseOutcome, Store, UuidTokens,
};

/// A realistic key (FaceTheory's ISR cache key shape), as in lease-core's bench.
const PARTITION: &str = "CACHE#default::/news/{slug}?slug=launch";
const DURATION: Duration = Duration::from_secs(30);

/// The output of `future`, which must be complete at its first poll (every future of a
/// manager on a `MemoryStore` is).
fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("a MemoryStore operation was not complete at its first poll"),
    }
}

/// One acquire + release of the same key; panics unless both succeed.
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

fn manager() -> LeaseManager<MemoryStore> {
    let Ok(config) = LeaseConfig::builder("locks").build() else {
        panic!("the default configuration is valid");
    };
    LeaseManager::new(MemoryStore::for_config(&config), config)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("lease_memory");
    group
        .throughput(Throughput::Elements(1))
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));

    let uuid = manager().with_token_source(UuidTokens);
    group.bench_function("acquire+release pair, UUIDv4 tokens (default)", |b| {
        b.iter(|| pair(&uuid));
    });

    let counter = AtomicU64::new(0);
    let counted = manager().with_token_source(move || {
        LeaseToken::new(format!("bench-{}", counter.fetch_add(1, Ordering::Relaxed)))
    });
    group.bench_function("acquire+release pair, counter tokens", |b| {
        b.iter(|| pair(&counted));
    });

    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
