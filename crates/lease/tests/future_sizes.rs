//! How large the futures a caller awaits are (in bytes): acquiring a guard holds the acquire's
//! future once, not once per layer it passes through (docs/performance.md, "Memory per guard:
//! a future stored twice"). Sizes, not times: deterministic for one compiler.

mod common;

use std::mem::size_of_val;

use common::{World, secs};
use lease::{GuardOptions, WaitPolicy};

/// What a guard's acquire may add to the acquire's own future: its own state (key, options,
/// the release of a lease acquired during a shutdown), not a second copy of the acquire.
const GUARD_STATE: usize = 1024;

#[test]
fn acquiring_a_guard_holds_the_acquire_once() {
    let world = World::new();
    let manager = world.manager("a", &world.faulty());
    let wait = WaitPolicy::with_timeout(secs(10));
    let options = || GuardOptions::default().wait(wait.clone());
    let acquire = size_of_val(&manager.acquire("K", secs(30), &wait));
    let set = size_of_val(&manager.acquire_set(["K", "L"], secs(30), &wait));
    let permit = size_of_val(&manager.acquire_permit("P", 3, secs(30), &wait));
    let guard = size_of_val(&manager.acquire_guard("K", secs(30), options()));
    let set_guard = size_of_val(&manager.acquire_set_guard(["K", "L"], secs(30), options()));
    let permit_guard = size_of_val(&manager.acquire_permit_guard("P", 3, secs(30), options()));
    eprintln!(
        "acquire {acquire} B -> guard {guard} B; set {set} B -> {set_guard} B; permit {permit} B -> {permit_guard} B"
    );
    for (what, guarded, alone) in [
        ("acquire_guard", guard, acquire),
        ("acquire_set_guard", set_guard, set),
        ("acquire_permit_guard", permit_guard, permit),
    ] {
        assert!(
            guarded < alone + GUARD_STATE,
            "{what}: {guarded} B for an acquire of {alone} B"
        );
    }
}
