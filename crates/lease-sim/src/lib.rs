//! # lease-sim: the lease lifecycle under a deterministic simulator
//!
//! One `u64` seed decides a whole run: 2 to 16 actors on 1 to 4 keys, each with its own clocks
//! (skewed within the configured bound, stepped, paused, suspended, crashed), taking and keeping
//! leases with lease-core's own machines (`WaitOp`, `AcquireOp`, `Keeper`, `RefreshOp`,
//! `ReleaseOp`: the code the `lease` crate runs, not copies), against lease-memory's evaluator,
//! through a fault layer (dropped requests, applied-then-failed requests, lost and late answers,
//! per-key throttling, TTL deletion, a store that returns no old item, a TableTheory writer).
//! A quarter of the runs are lease set runs: some actors take 2 or 3 keys at once with
//! `AcquireSetOp` (holding them by hand with `RefreshSetOp`, releasing with `ReleaseSetOp`)
//! while others take single leases on the same keys. Actors act on what the library tells them: they write to a fenced resource only while their
//! guard says held (or their lease is valid, by hand). An independent checker then judges the
//! recorded history in true time.
//!
//! Single-threaded, no async runtime, no entropy: the simulator reads the OS monotonic clock
//! once per run, as the origin of its `std::time::Instant` values (the standard library offers
//! no other way to make one), and nothing depends on that value.
//!
//! Modules: [`options`] (what a seed decides), [`plan`] (the faults, shrinkable), [`clock`]
//! (each actor's clocks as functions of true time), [`store`] (the table, its faults, the fenced
//! resource), [`actor`] (an actor driving the machines; its `set` part for lease sets), [`foreign`] (the TableTheory writer),
//! [`world`] (the event loop), [`history`] and [`checker`] (what happened, and the properties),
//! [`shrink`], [`scripted`] (fault-class scenarios as fixed schedules).

pub mod actor;
pub mod checker;
pub mod clock;
pub mod foreign;
pub mod history;
pub mod options;
pub mod plan;
pub mod scripted;
pub mod shrink;
pub mod store;
pub mod world;

pub use checker::{Report, Violation};
pub use plan::Plan;
pub use world::{Outcome, run};

/// A sub-seed of `seed` for one purpose, so that each part of a run draws from a stream of its
/// own (adding a draw in one part does not shift the others).
#[must_use]
pub fn stream(seed: u64, label: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in label.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    mix(seed, hash)
}

/// SplitMix64's finaliser of `a` and `b`: a well-spread 64-bit value.
#[must_use]
pub fn mix(a: u64, b: u64) -> u64 {
    let mut z = a ^ b.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
