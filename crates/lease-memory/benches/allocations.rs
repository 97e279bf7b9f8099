//! Heap allocations per acquire + release, counted (not timed): the same pair as the `memory`
//! benchmark. Prints the heap blocks allocated per
//! pair, averaged over many pairs after a warm-up, counted with `dhat`'s global allocator in
//! testing mode.
//!
//! Run with `cargo bench -p lease-memory --bench allocations` (also part of
//! `scripts/bench.sh`); see `docs/performance.md`.

mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const ITERATIONS: u64 = 10_000;

/// Heap blocks allocated per call of `f`, after a warm-up.
fn blocks_per_call(f: impl Fn()) -> f64 {
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

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let default = common::with_default_tokens();
    let uuid = common::with_uuid_tokens();
    let counted = common::with_counter_tokens();
    println!("heap blocks allocated per acquire + release (dhat, {ITERATIONS} pairs)");
    println!(
        "  lease_memory pair, default (store's tokens): {:6.1}",
        blocks_per_call(|| common::pair(&default))
    );
    println!(
        "  lease_memory pair, UuidTokens:              {:6.1}",
        blocks_per_call(|| common::pair(&uuid))
    );
    println!(
        "  lease_memory pair, counter tokens:          {:6.1}",
        blocks_per_call(|| common::pair(&counted))
    );
}
