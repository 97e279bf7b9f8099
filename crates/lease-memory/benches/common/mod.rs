//! What the lease-memory benchmarks measure, shared by the timed one (`memory`) and the
//! counted one (`allocations`): one acquire + release of one key through a [`LeaseManager`] on
//! a [`MemoryStore`], on one task.

use std::hint::black_box;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use lease_memory::{
    LeaseConfig, LeaseManager, MemoryStore, ReleaseOutcome, store::Store, token::LeaseToken,
    token::TokenSource, token::UuidTokens,
};

/// A realistic key (FaceTheory's ISR cache key shape), as in lease-core's benchmarks.
const PARTITION: &str = "CACHE#default::/news/{slug}?slug=launch";
const DURATION: Duration = Duration::from_secs(30);

/// The output of `future`, which must be complete at its first poll (every future of a
/// manager on a `MemoryStore` is). Polling it directly is what awaiting it costs inside any
/// task, with no executor in the measurement.
fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("a MemoryStore operation was not complete at its first poll"),
    }
}

/// One acquire + release of the same key; panics unless both succeed.
pub(crate) fn pair<S: Store>(manager: &LeaseManager<S>) {
    let lease = match ready(manager.try_acquire(black_box(PARTITION), DURATION)) {
        Ok(lease) => lease,
        Err(e) => panic!("acquire failed: {e}"),
    };
    match ready(manager.release(&lease)) {
        Ok(ReleaseOutcome::Released) => {}
        other => panic!("release did not release: {other:?}"),
    }
}

/// A manager with the default configuration, clock and token source on a fresh
/// `MemoryStore`: what `LeaseManager::new` gives a test. Its tokens are the store's: UUIDv4
/// strings from `rand`'s thread-local CSPRNG, no system call per token.
pub(crate) fn with_default_tokens() -> LeaseManager<MemoryStore> {
    let Ok(config) = LeaseConfig::builder("locks").build() else {
        panic!("the default configuration is valid");
    };
    LeaseManager::new(MemoryStore::for_config(&config), config)
}

/// A manager with the given token source, otherwise as [`with_default_tokens`].
fn manager(tokens: impl TokenSource + 'static) -> LeaseManager<MemoryStore> {
    with_default_tokens().with_token_source(tokens)
}

/// A manager with `UuidTokens`, the default on a shared table (DynamoDB): UUIDv4 strings,
/// each read from the kernel (one `getrandom` system call).
pub(crate) fn with_uuid_tokens() -> LeaseManager<MemoryStore> {
    manager(UuidTokens)
}

/// A manager whose tokens are a counter (`bench-0`, `bench-1`, ...), so that the cost of
/// token generation shows by difference.
pub(crate) fn with_counter_tokens() -> LeaseManager<MemoryStore> {
    let counter = AtomicU64::new(0);
    manager(move || LeaseToken::new(format!("bench-{}", counter.fetch_add(1, Ordering::Relaxed))))
}
