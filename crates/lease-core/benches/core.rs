//! Cost of the core per lease operation, as a store sees it: plan the operation, render its
//! request (`request().render()`, what the SDK store does before sending), and interpret an
//! `Applied` answer. Target: at most 2 µs per operation.
//!
//! Run with `cargo bench -p lease-core --bench core`; `--bench allocations` counts the heap
//! allocations of the same three operations.

mod common;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let fixture = common::Fixture::new();
    let mut group = c.benchmark_group("lease_core");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    group.bench_function("acquire: plan + render + interpret", |b| {
        b.iter(|| black_box(fixture.acquire()));
    });
    group.bench_function("refresh: plan + render + interpret", |b| {
        b.iter(|| black_box(fixture.refresh()));
    });
    group.bench_function("release: plan + render + interpret", |b| {
        b.iter(|| black_box(fixture.release()));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
