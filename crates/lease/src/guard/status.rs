//! The state of a guarded lease, as its renewal task reports it.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use lease_core::LeaseError;

/// The state of a lease held by a [`LeaseGuard`](crate::LeaseGuard), published by its renewal
/// task on a watch channel ([`LeaseGuard::subscribe`](crate::LeaseGuard::subscribe)).
///
/// ```text
/// Held ──renew fails──▶ AtRisk ──renew succeeds──▶ Held
/// Held / AtRisk ──not ours any more, or safe deadline passed, or manager shut down──▶ Lost
/// Held / AtRisk ──release() or guard dropped──▶ Released
/// ```
///
/// `Lost` and `Released` are final. See `docs/lifecycle.md` for the triggers.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum LeaseStatus {
    /// The lease is ours, and the last renewal (or the acquire) succeeded.
    Held,
    /// The lease is still ours until its safe deadline, but renewals are failing: the store
    /// failed (throttled, timed out, unavailable, or another error), and the renewal task is
    /// retrying with backoff. Work may go on until the deadline
    /// ([`Lease::valid_until`](crate::Lease::valid_until)), but should prepare to stop.
    AtRisk {
        /// When the first of the failing renewals failed (the manager's monotonic clock).
        since: Instant,
        /// The last renewal's error.
        last_error: Arc<LeaseError>,
    },
    /// The lease is no longer ours, or may not be: work under it must stop. The renewal task
    /// has stopped renewing.
    Lost(LossReason),
    /// The guard let go of the lease: [`release`](crate::LeaseGuard::release) was called or
    /// the guard was dropped, and the store was asked to release it (the outcome is
    /// `release`'s return value). Renewals have stopped.
    Released,
}

impl LeaseStatus {
    /// Whether the lease is still ours: [`Held`](Self::Held) or [`AtRisk`](Self::AtRisk).
    #[must_use]
    pub fn is_held(&self) -> bool {
        matches!(self, Self::Held | Self::AtRisk { .. })
    }

    /// Whether the lease is [`AtRisk`](Self::AtRisk).
    #[must_use]
    pub fn is_at_risk(&self) -> bool {
        matches!(self, Self::AtRisk { .. })
    }

    /// Whether the lease is [`Lost`](Self::Lost).
    #[must_use]
    pub fn is_lost(&self) -> bool {
        matches!(self, Self::Lost(_))
    }

    /// Whether the lease is [`Released`](Self::Released).
    #[must_use]
    pub fn is_released(&self) -> bool {
        matches!(self, Self::Released)
    }

    /// Why the lease was lost, if it was.
    #[must_use]
    pub fn loss_reason(&self) -> Option<&LossReason> {
        match self {
            Self::Lost(reason) => Some(reason),
            _ => None,
        }
    }
}

impl fmt::Display for LeaseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Held => f.write_str("held"),
            Self::AtRisk { last_error, .. } => write!(f, "at risk ({last_error})"),
            Self::Lost(reason) => write!(f, "lost: {reason}"),
            Self::Released => f.write_str("released"),
        }
    }
}

/// Why a guarded lease was lost.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum LossReason {
    /// The store says the lease is not ours any more: a renewal found another holder's token,
    /// an expired lease, a released one, or no item ([`LeaseError::NotOwned`]).
    NotOwned,
    /// No renewal could be confirmed before the lease's local safe deadline
    /// ([`Lease::valid_until`](crate::Lease::valid_until): expiry minus the clock skew bound):
    /// the store was unreachable or failing, or a renewal was still in flight. The lease may
    /// still be ours in the store, but after the deadline another holder may take it over, so
    /// it is reported lost at the deadline, not later.
    Unconfirmed {
        /// The last failed renewal's error; `None` if none failed (a renewal was still in
        /// flight at the deadline).
        last_error: Option<Arc<LeaseError>>,
    },
    /// The manager was shut down ([`LeaseManager::shutdown`](crate::LeaseManager::shutdown)),
    /// which released the lease while the guard was alive.
    Shutdown,
}

impl LossReason {
    /// Whether the lease was taken over, expired or released by someone else:
    /// [`NotOwned`](Self::NotOwned).
    #[must_use]
    pub fn is_not_owned(&self) -> bool {
        matches!(self, Self::NotOwned)
    }

    /// Whether the lease could not be confirmed in time: [`Unconfirmed`](Self::Unconfirmed).
    #[must_use]
    pub fn is_unconfirmed(&self) -> bool {
        matches!(self, Self::Unconfirmed { .. })
    }
}

impl fmt::Display for LossReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotOwned => f.write_str("not ours any more (taken over, expired or released)"),
            Self::Unconfirmed { last_error: None } => {
                f.write_str("could not confirm the lease before its safe deadline")
            }
            Self::Unconfirmed {
                last_error: Some(e),
            } => write!(
                f,
                "could not confirm the lease before its safe deadline (last error: {e})"
            ),
            Self::Shutdown => f.write_str("the lease manager was shut down"),
        }
    }
}
