//! Cost of the core per lease operation, as a store sees it: plan the operation, render its
//! request, and interpret an `Applied` answer. Target: at most 2 µs per operation. Rendered in
//! full (`request().render()`), and through a warm `RenderCache` (what the SDK store does
//! before sending).
//!
//! Run with `cargo bench -p lease-core --bench core`; `--bench allocations` counts the heap
//! allocations of the same three operations.

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::Render;
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let fixture = common::Fixture::new();
    let mut group = c.benchmark_group("lease_core");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (render, name) in [(Render::Full, "render"), (Render::Cached, "cached render")] {
        group.bench_function(format!("acquire: plan + {name} + interpret"), |b| {
            b.iter(|| black_box(fixture.acquire(render)));
        });
        group.bench_function(format!("refresh: plan + {name} + interpret"), |b| {
            b.iter(|| black_box(fixture.refresh(render)));
        });
        group.bench_function(format!("release: plan + {name} + interpret"), |b| {
            b.iter(|| black_box(fixture.release(render)));
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
