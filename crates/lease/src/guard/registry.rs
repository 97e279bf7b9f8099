//! The guards of one manager: their driver tasks, and the signal that shuts them down.

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use lease_core::LeaseToken;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::metrics::RunningGuard;

/// Tracks the driver tasks of a manager's guards, so that
/// [`LeaseManager::shutdown`](crate::LeaseManager::shutdown) can stop them all and wait until
/// each has released its lease. A finished task leaves nothing behind.
#[derive(Debug, Default)]
pub(crate) struct GuardRegistry {
    tasks: TaskTracker,
    shutdown: CancellationToken,
    /// The tokens of the leases the running guards keep: the manager refuses to refresh or
    /// release them past their guard.
    guarded: Arc<Mutex<HashSet<LeaseToken>>>,
}

/// Takes a guard's token out of the registry's set when its driver task ends or is dropped.
struct Unguard {
    guarded: Arc<Mutex<HashSet<LeaseToken>>>,
    token: LeaseToken,
}

impl Drop for Unguard {
    fn drop(&mut self) {
        self.guarded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.token);
    }
}

impl GuardRegistry {
    /// Whether [`shut_down`](Self::shut_down) was called: no new guards.
    pub(crate) fn is_shut_down(&self) -> bool {
        self.shutdown.is_cancelled()
    }

    /// The signal the driver tasks select on.
    pub(crate) fn shutdown_signal(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Spawns a driver task on the current tokio runtime: the future `make` makes, made in the
    /// task when it first runs (if the task never runs, `make` is dropped unrun).
    ///
    /// A maker, not the future: a future captured by the task's async block and awaited in it
    /// would take its room twice in the task (see [`tracked`]).
    ///
    /// # Panics
    /// Outside a tokio runtime, as [`tokio::spawn`] does.
    pub(crate) fn spawn<F>(&self, token: LeaseToken, make: impl FnOnce() -> F + Send + 'static)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        // Counted in the `metrics` feature's gauge until the task ends (or is dropped unrun).
        let running = RunningGuard::start();
        self.guarded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(token.clone());
        let unguard = Unguard {
            guarded: Arc::clone(&self.guarded),
            token,
        };
        // The task reports through its guard's channels; its handle is not needed.
        drop(self.tasks.spawn(tracked(running, unguard, make)));
    }

    /// Whether a running guard keeps the lease whose token is `token`.
    pub(crate) fn is_guarded(&self, token: &LeaseToken) -> bool {
        self.guarded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(token)
    }

    /// Tells every driver task to release its lease and stop, and waits until all have.
    pub(crate) async fn shut_down(&self) {
        self.shutdown.cancel();
        self.tasks.close();
        self.tasks.wait().await;
    }

    /// How many driver tasks are running.
    pub(crate) fn len(&self) -> usize {
        self.tasks.len()
    }
}

/// A driver task: the future `make` makes, run to its end, with the task's gauge token and its
/// entry in the registry's set, both let go when the task ends or is dropped.
///
/// The future is made inside, not captured made: a future captured by an async block and
/// awaited in it takes its room twice in the block's state (rustc keeps the captured value's
/// place beside the awaited one's), and a guard's future is about 1 KiB (docs/performance.md,
/// "Memory per guard: a future stored twice").
async fn tracked<F: Future<Output = ()>>(
    running: RunningGuard,
    unguard: Unguard,
    make: impl FnOnce() -> F,
) {
    let _running = running;
    let _unguard = unguard;
    make().await;
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::mem::size_of_val;
    use std::sync::{Arc, Mutex};

    use lease_core::LeaseToken;

    use super::{RunningGuard, Unguard, tracked};

    /// A future of over 4 KiB (a guard's is about 1 KiB), so that a second copy would show.
    async fn large() {
        let buffer = [7_u8; 4096];
        tokio::task::yield_now().await;
        std::hint::black_box(&buffer);
    }

    /// The task holds its future once: what it adds is its own few fields, not a second copy.
    #[test]
    fn a_driver_task_holds_its_future_once() {
        let unguard = Unguard {
            guarded: Arc::new(Mutex::new(HashSet::new())),
            token: LeaseToken::new("tok"),
        };
        let future = size_of_val(&large());
        let task = tracked(RunningGuard::start(), unguard, large);
        assert!(future >= 4096, "{future}");
        assert!(
            size_of_val(&task) < future + 256,
            "{} for {future}",
            size_of_val(&task)
        );
    }
}
