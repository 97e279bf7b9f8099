//! What a kept lease reports: [`LeaseStatus`] and, once lost, its [`LossReason`].

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use crate::error::LeaseError;

/// The state of a lease kept by a [`Keeper`](super::Keeper) (in the `lease` crate, by a
/// `LeaseGuard`).
///
/// ```text
/// Held ──renew fails, or is unanswered halfway to the deadline──▶ AtRisk ──renew succeeds──▶ Held
/// Held / AtRisk ──not ours any more, or safe deadline passed, or manager shut down──▶ Lost
/// Held / AtRisk ──released or dropped──▶ Released
/// ```
///
/// `Lost` and `Released` are final. A status is only ever reported as of a reading of the
/// holder's clocks: a lease whose safe deadline has passed at that reading is `Lost`, whether
/// or not a timer has fired yet. docs/lifecycle.md, in the source repository, lists the
/// triggers.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum LeaseStatus {
    /// The lease is ours, and the last renewal (or the acquire) succeeded.
    Held,
    /// The lease is still ours until its safe deadline, but renewals are failing: the store
    /// failed (throttled, timed out, unavailable, or another error), and renewals are retried
    /// with backoff; or a renewal is still unanswered halfway from its sending to the safe
    /// deadline (its error then a `Store` error of kind `Timeout` saying so; the renewal stays
    /// in flight). Work may go on until the deadline
    /// ([`Lease::valid_until`](crate::Lease::valid_until)), but should prepare to stop.
    AtRisk {
        /// When the first of the failing renewals failed, or the unanswered one became overdue
        /// (the holder's monotonic clock).
        since: Instant,
        /// The last renewal's error.
        last_error: Arc<LeaseError>,
    },
    /// The lease is no longer ours, or may not be: work under it must stop. Renewals have
    /// stopped.
    Lost(LossReason),
    /// The holder let go of the lease (released it, or dropped its guard) while it was held,
    /// and the store was asked to release it. Renewals have stopped.
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
            Self::AtRisk { last_error, .. } => write!(f, "at risk ({})", last_error.report()),
            Self::Lost(reason) => {
                write!(f, "lost: {reason}")?;
                match reason.last_error() {
                    Some(error) => write!(f, " (last error: {})", error.report()),
                    None => Ok(()),
                }
            }
            Self::Released => f.write_str("released"),
        }
    }
}

/// Why a kept lease was lost.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum LossReason {
    /// The store says the lease is not ours any more: a renewal found another holder's token,
    /// an expired lease, a released one, or no item ([`LeaseError::NotOwned`]).
    NotOwned,
    /// The lease's local safe deadline ([`Lease::valid_until`](crate::Lease::valid_until):
    /// expiry minus the clock skew bound, on the monotonic and on the wall clock) passed
    /// without a confirmed renewal: the store was unreachable or failing, a renewal was still
    /// in flight, an answer came too late, or the process was paused or suspended past the
    /// deadline. The lease may still be ours in the store, but from the deadline on another
    /// holder may take it over, so it is reported lost at the deadline, never later.
    Unconfirmed {
        /// The last failed renewal's error; `None` if none failed (a renewal was in flight, or
        /// the process did not run, at the deadline).
        last_error: Option<Arc<LeaseError>>,
    },
    /// The lease manager was shut down (the `lease` crate's `LeaseManager::shutdown`), which
    /// released the lease while its guard was alive.
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

    /// Whether the manager's shutdown ended the lease: [`Shutdown`](Self::Shutdown).
    #[must_use]
    pub fn is_shutdown(&self) -> bool {
        matches!(self, Self::Shutdown)
    }
}

impl LossReason {
    /// The last failed renewal's error, for [`Unconfirmed`](Self::Unconfirmed); `None`
    /// otherwise.
    #[must_use]
    pub fn last_error(&self) -> Option<&LeaseError> {
        match self {
            Self::Unconfirmed { last_error } => last_error.as_deref(),
            _ => None,
        }
    }
}

/// A reason is an error whose [`source`](std::error::Error::source) is the last failed
/// renewal's error (`Display` does not repeat it).
impl std::error::Error for LossReason {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.last_error()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Says why, without the last error: that is the [`source`](std::error::Error::source).
impl fmt::Display for LossReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotOwned => f.write_str("not ours any more (taken over, expired or released)"),
            Self::Unconfirmed { .. } => {
                f.write_str("could not confirm the lease before its safe deadline")
            }
            Self::Shutdown => f.write_str("the lease manager was shut down"),
        }
    }
}
