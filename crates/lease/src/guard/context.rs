//! [`LeaseContext`]: what work under a guarded lease can see of it.

use std::fmt;
use std::future::pending;
use std::sync::Arc;

use lease_core::lifecycle::Kept;
use lease_core::{FencingToken, Lease, LeaseKey, LeaseSet, LeaseStatus, LossReason};

use super::shared::Shared;
use super::stop::StopSignal;
use super::watch::StatusWatch;

/// A read-only view of a guarded lease, for the work done under it: the current lease (with
/// its fencing token and safe deadline), its [`LeaseStatus`], a future that resolves on loss,
/// and a [`StopSignal`].
///
/// Every answer is given as of a fresh reading of the manager's clocks: a lease whose safe
/// deadline has passed is reported [`Lost`](LeaseStatus::Lost) at once, even if the process was
/// paused and the guard's driver has not run since.
///
/// Cheap to clone and `Send + Sync + 'static`: hand a clone to each task working under the
/// lease. It cannot renew or release the lease (only the [`LeaseGuard`](crate::LeaseGuard)
/// can), and stays valid after the guard is gone (its status is then final).
#[derive(Clone)]
pub struct LeaseContext<L: Kept = Lease> {
    shared: Arc<Shared<L>>,
}

impl LeaseContext {
    /// The fencing token of this acquisition (renewals keep it): pass it with every write the
    /// lease protects.
    #[must_use]
    pub fn fence(&self) -> FencingToken {
        self.shared.lease().fence()
    }
}

impl LeaseContext<LeaseSet> {
    /// The fencing token of `key` in the set (renewals keep it), if the set holds `key`.
    #[must_use]
    pub fn fence(&self, key: &LeaseKey) -> Option<FencingToken> {
        self.shared.lease().fence(key)
    }
}

impl<L: Kept> LeaseContext<L> {
    pub(super) fn new(shared: Arc<Shared<L>>) -> Self {
        Self { shared }
    }

    /// The lease's key.
    #[must_use]
    pub fn key(&self) -> &LeaseKey {
        self.shared.key()
    }

    /// The lease (or lease set) as of its last successful acquire or renewal: expiry, fencing
    /// token, local safe deadline ([`Lease::valid_until`]), and the bearer token.
    #[must_use]
    pub fn lease(&self) -> L {
        self.shared.lease()
    }

    /// The status now: [`Lost`](LossReason::Unconfirmed) if the safe deadline has passed at
    /// this reading of the manager's clocks, whatever the guard's timers did.
    #[must_use]
    pub fn status(&self) -> LeaseStatus {
        self.shared.status()
    }

    /// Whether work may go on under the lease now: it is held (or at risk), checked at a fresh
    /// reading of the manager's clocks against both safe deadlines. Check it right before each
    /// write the lease protects, and send the fencing token with the write.
    #[must_use]
    pub fn is_valid(&self) -> bool {
        self.status().is_held()
    }

    /// A follower of the status's changes.
    #[must_use]
    pub fn subscribe(&self) -> StatusWatch<L> {
        StatusWatch::new(Arc::clone(&self.shared))
    }

    /// Resolves when the lease is lost, with the reason; at once if it is lost already (also
    /// when the safe deadline passed while nothing ran). It never resolves if the lease is
    /// released instead (by [`release`](crate::LeaseGuard::release) or by dropping the
    /// guard): to stop on either, use [`stop_signal`](Self::stop_signal).
    pub async fn lost(&self) -> LossReason {
        let mut view = self.shared.subscribe();
        loop {
            let (status, deadline) = self.shared.seen_then_status(&mut view);
            match status {
                LeaseStatus::Lost(reason) => return reason,
                LeaseStatus::Released => return pending().await,
                _ => {}
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

    /// The signal that work under the lease must stop: the lease was lost, or the guard was
    /// released or dropped. Raised before the release request is sent, so work stops before
    /// another holder can acquire the lease.
    #[must_use]
    pub fn stop_signal(&self) -> StopSignal<L> {
        StopSignal::new(Arc::clone(&self.shared))
    }
}

impl<L: Kept> fmt::Debug for LeaseContext<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeaseContext")
            .field("key", self.shared.key())
            .field("fence", &Kept::fence(&self.shared.lease()))
            .field("status", &self.status())
            .finish()
    }
}
