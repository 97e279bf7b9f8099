//! Acquire + release pairs through the real [`LeaseManager`] on a [`MemoryStore`], on one task,
//! reported as pairs per second (criterion's `elem/s`, one element = one pair). Target: at least
//! 500 000 pairs/s on one core.
//!
//! Three token sources, so the cost of token generation shows: the default on a
//! `MemoryStore` (UUIDv4 strings from `rand`'s thread-local CSPRNG, without a system call); `UuidTokens`, the default on DynamoDB (a UUIDv4 from the operating
//! system's CSPRNG per acquire); and a counter. The clock is the default system clock in all
//! three.
//!
//! `MemoryStore::execute` answers with a future that is already complete, so each operation's
//! future is polled once, directly: that is what awaiting it costs inside any task, with no
//! executor in the measurement.
//!
//! Run with `cargo bench -p lease-memory --bench memory` (or `scripts/bench.sh` for every
//! benchmark); `--bench allocations` counts the heap allocations of the same pair. See
//! `docs/performance.md`.
//!
//! [`LeaseManager`]: lease_memory::LeaseManager
//! [`MemoryStore`]: lease_memory::MemoryStore

mod common;

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("lease_memory");
    group
        .throughput(Throughput::Elements(1))
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));

    let default = common::with_default_tokens();
    group.bench_function("acquire+release pair, default (store's tokens)", |b| {
        b.iter(|| common::pair(&default));
    });

    let uuid = common::with_uuid_tokens();
    group.bench_function("acquire+release pair, UuidTokens (kernel per token)", |b| {
        b.iter(|| common::pair(&uuid));
    });

    let counted = common::with_counter_tokens();
    group.bench_function("acquire+release pair, counter tokens", |b| {
        b.iter(|| common::pair(&counted));
    });

    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
