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

    /// Spawns a driver task on the current tokio runtime.
    ///
    /// # Panics
    /// Outside a tokio runtime, as [`tokio::spawn`] does.
    pub(crate) fn spawn(&self, token: LeaseToken, task: impl Future<Output = ()> + Send + 'static) {
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
        drop(self.tasks.spawn(async move {
            let _running = running;
            let _unguard = unguard;
            task.await;
        }));
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
