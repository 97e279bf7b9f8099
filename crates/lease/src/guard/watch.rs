//! [`StatusWatch`]: every change of a guarded lease's status, as it happens.

use std::fmt;
use std::sync::Arc;

use lease_core::lifecycle::Kept;
use lease_core::{Lease, LeaseStatus};
use tokio::sync::watch;

use super::shared::{Shared, View};

/// Follows a guarded lease's [`LeaseStatus`]: [`changed`](Self::changed) waits for the next
/// change and returns the new status; [`current`](Self::current) reads it now.
///
/// A change is each new status: at risk after a failed renewal (again after each failed retry,
/// with the latest error), held again after a successful one, lost, released. A renewal of a
/// lease that stays held is not a change of status. The loss at the lease's
/// safe deadline is seen at the deadline even if the guard's driver has not run yet: the watch
/// wakes at the deadline by itself and reads the clocks. Made by
/// [`LeaseGuard::subscribe`](crate::LeaseGuard::subscribe) and
/// [`LeaseContext::subscribe`](crate::LeaseContext::subscribe).
pub struct StatusWatch<L: Kept = Lease> {
    shared: Arc<Shared<L>>,
    view: watch::Receiver<View<L>>,
    /// The status changes seen so far.
    seen: u64,
    /// The final status was returned: nothing can change any more.
    ended: bool,
}

impl<L: Kept> StatusWatch<L> {
    pub(super) fn new(shared: Arc<Shared<L>>) -> Self {
        // A lease past its deadline is lost now: published before the watch starts counting.
        let current = shared.status();
        let view = shared.subscribe();
        let seen = view.borrow().status_changes;
        Self {
            shared,
            view,
            seen,
            // Made after the final status: no change can follow.
            ended: !current.is_held(),
        }
    }

    /// The status now, at a fresh reading of the manager's clocks (lost if the safe deadline
    /// has passed).
    #[must_use]
    pub fn current(&self) -> LeaseStatus {
        self.shared.status()
    }

    /// Waits for the next change of status and returns the new one; `None` once the final
    /// status ([`Lost`](LeaseStatus::Lost) or [`Released`](LeaseStatus::Released)) has been
    /// returned, or at once for a watch made after it.
    pub async fn changed(&mut self) -> Option<LeaseStatus> {
        loop {
            if self.ended {
                return None;
            }
            // Publishes a loss at the deadline if nobody else has.
            let _now = self.shared.status();
            let changed = {
                let view = self.view.borrow_and_update();
                (view.status_changes != self.seen)
                    .then(|| (view.status_changes, view.status.clone()))
            };
            if let Some((seen, status)) = changed {
                self.seen = seen;
                // Lost and Released are final: nothing follows them.
                self.ended = !status.is_held();
                return Some(status);
            }
            let deadline = {
                let view = self.view.borrow();
                view.status
                    .is_held()
                    .then(|| view.lease.valid_until())
                    .flatten()
            };
            tokio::select! {
                changed = self.view.changed() => {
                    if changed.is_err() {
                        self.ended = true;
                    }
                }
                () = self.shared.sleep_until(deadline) => {}
            }
        }
    }
}

impl<L: Kept> StatusWatch<L> {
    /// Waits until the status satisfies `predicate` and returns it (at once if the current
    /// status does); `None` if the status became final without satisfying it.
    pub async fn wait_for(
        &mut self,
        mut predicate: impl FnMut(&LeaseStatus) -> bool,
    ) -> Option<LeaseStatus> {
        let current = self.current();
        if predicate(&current) {
            return Some(current);
        }
        while let Some(status) = self.changed().await {
            if predicate(&status) {
                return Some(status);
            }
        }
        None
    }
}

impl<L: Kept> fmt::Debug for StatusWatch<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusWatch")
            .field("key", self.shared.key())
            .finish_non_exhaustive()
    }
}
