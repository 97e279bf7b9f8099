//! [`LeaseContext`]: what work under a guarded lease can see of it.

use std::time::Instant;

use lease_core::{FencingToken, Lease, LeaseKey};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::status::{LeaseStatus, LossReason};

/// A read-only view of a guarded lease, for the work done under it: the current lease (with
/// its fencing token and safe deadline), its [`LeaseStatus`], a future that resolves on loss,
/// and a [`CancellationToken`] to select on.
///
/// Cheap to clone and `Send + Sync + 'static`: hand a clone to each task working under the
/// lease. It cannot renew or release the lease (only the [`LeaseGuard`](crate::LeaseGuard)
/// can), and stays valid after the guard is gone (its status is then final).
#[derive(Clone, Debug)]
pub struct LeaseContext {
    key: LeaseKey,
    lease: watch::Receiver<Lease>,
    status: watch::Receiver<LeaseStatus>,
    token: CancellationToken,
}

impl LeaseContext {
    pub(crate) fn new(
        key: LeaseKey,
        lease: watch::Receiver<Lease>,
        status: watch::Receiver<LeaseStatus>,
        token: CancellationToken,
    ) -> Self {
        Self {
            key,
            lease,
            status,
            token,
        }
    }

    /// The lease's key.
    #[must_use]
    pub fn key(&self) -> &LeaseKey {
        &self.key
    }

    /// The lease as of its last successful acquire or renewal: expiry, fencing token, local safe
    /// deadline ([`Lease::valid_until`]), and the bearer token.
    #[must_use]
    pub fn lease(&self) -> Lease {
        self.lease.borrow().clone()
    }

    /// The fencing token of this acquisition (renewals keep it): pass it with every write the
    /// lease protects.
    #[must_use]
    pub fn fence(&self) -> Option<FencingToken> {
        self.lease.borrow().fence()
    }

    /// The current status. If the renewal task is gone without a final status (its runtime
    /// shut down), a lease that was held is reported
    /// [`Lost(Unconfirmed)`](LossReason::Unconfirmed): nothing renews it any more.
    #[must_use]
    pub fn status(&self) -> LeaseStatus {
        let status = self.status.borrow().clone();
        if status.is_held() && self.status.has_changed().is_err() {
            return LeaseStatus::Lost(LossReason::Unconfirmed { last_error: None });
        }
        status
    }

    /// Whether work may go on under the lease at `now` (a reading of the manager's monotonic
    /// clock): the lease is held (or at risk) and its safe deadline is ahead.
    #[must_use]
    pub fn is_valid_at(&self, now: Instant) -> bool {
        self.status().is_held() && self.lease.borrow().is_valid_at(now)
    }

    /// A watch receiver of the status: `changed().await` wakes on every transition (Held ↔
    /// AtRisk, then Lost or Released).
    #[must_use]
    pub fn subscribe(&self) -> watch::Receiver<LeaseStatus> {
        self.status.clone()
    }

    /// Resolves when the lease is lost, with the reason; at once if it is lost already. It
    /// never resolves if the lease is released instead (by [`release`](crate::LeaseGuard::release)
    /// or by dropping the guard): to stop on either, select on
    /// [`cancellation_token`](Self::cancellation_token). If the renewal task is gone without a
    /// final status (its runtime shut down), resolves with
    /// [`LossReason::Unconfirmed`].
    pub async fn lost(&self) -> LossReason {
        let mut status = self.status.clone();
        let ended = status.wait_for(|s| !s.is_held()).await.map(|s| s.clone());
        let ended = match ended {
            Ok(s) => s,
            Err(_) => status.borrow().clone(),
        };
        match ended {
            LeaseStatus::Lost(reason) => reason,
            LeaseStatus::Released => std::future::pending().await,
            _ => LossReason::Unconfirmed { last_error: None },
        }
    }

    /// A token that is cancelled when work under the lease must stop: when the lease is lost,
    /// and when the guard is released or dropped. Cancelled before the release request is
    /// sent, so work stops before another holder can acquire the lease.
    #[must_use]
    pub fn cancellation_token(&self) -> CancellationToken {
        self.token.clone()
    }
}
