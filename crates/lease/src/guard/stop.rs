//! [`StopSignal`]: when work under a guarded lease must stop.

use std::fmt;
use std::future::pending;
use std::sync::Arc;

use lease_core::Lease;
use lease_core::lifecycle::Kept;

use super::shared::Shared;

/// Tells work under a guarded lease when to stop: when the lease is lost (taken over, past its
/// safe deadline, shut down) and when the guard is released or dropped.
///
/// [`is_stopped`](Self::is_stopped) reads the manager's clocks each time it is asked, so it is
/// right at that moment even when the process has just woken from a pause (a GC pause,
/// `SIGSTOP`, a suspended machine) past the lease's safe deadline and no timer has fired yet:
/// check it right before each write the lease protects, and send the fencing token with the
/// write. [`stopped`](Self::stopped) resolves at the same moment, for `select!`.
///
/// Cheap to clone, `Send + Sync + 'static`: hand a clone to every task working under the lease.
/// To stop a `tokio_util` `CancellationToken` tree with it, spawn
/// `async move { signal.stopped().await; token.cancel() }`.
#[derive(Clone)]
pub struct StopSignal<L: Kept = Lease> {
    shared: Arc<Shared<L>>,
}

impl<L: Kept> StopSignal<L> {
    pub(super) fn new(shared: Arc<Shared<L>>) -> Self {
        Self { shared }
    }

    /// Whether work under the lease must stop now: the lease is not held (lost or released) at
    /// this reading of the manager's clocks.
    #[must_use]
    pub fn is_stopped(&self) -> bool {
        !self.shared.status().is_held()
    }

    /// Resolves when work under the lease must stop; at once if it must already. Wakes at the
    /// lease's safe deadline by itself (on tokio's timer), not only when the guard's driver
    /// reports a loss. After a suspend (the monotonic clock, which tokio's timer follows, stood
    /// still), a future already waiting wakes at the guard's next timer, at most one renew
    /// period after the resume; [`is_stopped`](Self::is_stopped) sees the loss at once, so
    /// check it right before each write.
    pub async fn stopped(&self) {
        let mut view = self.shared.subscribe();
        loop {
            let (status, deadline) = self.shared.seen_then_status(&mut view);
            if !status.is_held() {
                return;
            }
            tokio::select! {
                changed = view.changed() => {
                    if changed.is_err() {
                        pending::<()>().await;
                    }
                }
                () = self.shared.sleep_until(deadline) => {}
            }
        }
    }
}

impl<L: Kept> fmt::Debug for StopSignal<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StopSignal")
            .field("key", self.shared.key())
            .field("stopped", &self.is_stopped())
            .finish()
    }
}
