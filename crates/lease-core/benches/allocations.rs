//! Heap allocations per core operation, counted (not timed): the same plan + render +
//! interpret as the `core` benchmark, whose time is mostly `malloc` and `free`. Prints the heap
//! blocks allocated per operation, averaged over many iterations after a warm-up, counted with
//! `dhat`'s global allocator in testing mode.
//!
//! Run with `cargo bench -p lease-core --bench allocations` (also part of `scripts/bench.sh`);
//! see `docs/performance.md`.

mod common;

use std::hint::black_box;

use common::Render;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const ITERATIONS: u64 = 10_000;

/// Heap blocks allocated per call of `f`, after a warm-up.
fn blocks_per_call(f: impl Fn() -> bool) -> f64 {
    for _ in 0..100 {
        black_box(f());
    }
    let before = dhat::HeapStats::get().total_blocks;
    for _ in 0..ITERATIONS {
        black_box(f());
    }
    let after = dhat::HeapStats::get().total_blocks;
    #[allow(clippy::cast_precision_loss)]
    let per_call = (after - before) as f64 / ITERATIONS as f64;
    per_call
}

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let fixture = common::Fixture::new();
    println!("heap blocks allocated per operation (dhat, {ITERATIONS} iterations)");
    for (render, name) in [(Render::Full, "render"), (Render::Cached, "cached render")] {
        println!(
            "  lease_core acquire: plan + {name} + interpret: {:6.1}",
            blocks_per_call(|| fixture.acquire(render))
        );
        println!(
            "  lease_core refresh: plan + {name} + interpret: {:6.1}",
            blocks_per_call(|| fixture.refresh(render))
        );
        println!(
            "  lease_core release: plan + {name} + interpret: {:6.1}",
            blocks_per_call(|| fixture.release(render))
        );
    }
}
