//! [`LeaseGuard`]: a held lease renewed in the background until it is released or dropped.
//!
//! Satellites: [`options`] (renew period, retry delays, waiting), [`status`] (what the guard
//! reports), [`context`] (the read-only view work gets), [`renewal`] (the task that renews and
//! releases), [`registry`] (the manager's guards, for shutdown).

mod context;
mod options;
mod registry;
mod renewal;
mod status;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use lease_core::{FencingToken, Lease, LeaseError, LeaseKey, Operation, ReleaseOutcome};
use tokio::sync::{oneshot, watch};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info_span, warn};

pub use context::LeaseContext;
pub use options::GuardOptions;
pub(crate) use registry::GuardRegistry;
pub use status::{LeaseStatus, LossReason};

use crate::manager::LeaseManager;
use crate::store::Store;
use renewal::{Publish, ReleaseReply, Renewal};

/// A held lease that a background task renews until the guard is released or dropped.
///
/// Made by [`LeaseManager::acquire_guard`]. The renewal task
/// - renews every [`GuardOptions::renew_every`] (a third of the duration by default), counted
///   from when the last renewal was sent;
/// - retries a failed renewal with backoff, reporting the lease
///   [`AtRisk`](LeaseStatus::AtRisk), but only until the lease's local safe deadline
///   ([`Lease::valid_until`]: expiry minus the clock skew bound);
/// - reports the lease [`Lost`](LeaseStatus::Lost) when a renewal finds it is not ours
///   ([`LossReason::NotOwned`]), or at the safe deadline when no renewal could be confirmed
///   ([`LossReason::Unconfirmed`]), never later: before another holder can take it over;
/// - is the only sender of renewals and of the release, so a renewal in flight completes (or
///   is abandoned at the deadline) before the release is sent, and nothing is sent after it.
///
/// Watch the lease with [`status`](Self::status), [`subscribe`](Self::subscribe),
/// [`lost`](Self::lost) or [`cancellation_token`](Self::cancellation_token), and hand
/// [`context`](Self::context)s to the tasks that work under it.
///
/// End it with [`release`](Self::release), which returns the release's outcome. Dropping the
/// guard instead stops renewals at once and makes a best-effort release from the renewal
/// task; dropping never panics and needs no runtime (if the runtime is gone, nothing is sent
/// and the lease expires).
///
/// The manager's clock must follow tokio's timer ([`SystemClock`](crate::SystemClock), or
/// [`TokioClock`](crate::TokioClock) in tests with a paused clock): renewals and the deadline
/// are scheduled with tokio, at instants read from the manager's clock.
///
/// ```
/// use std::{sync::Arc, time::Duration};
/// use lease_memory::{GuardOptions, LeaseConfig, LeaseManager, MemoryStore, ReleaseOutcome};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let config = LeaseConfig::builder("locks").build()?;
/// let manager = Arc::new(LeaseManager::new(MemoryStore::for_config(&config), config));
///
/// let key = manager.lock_key("JOB#nightly");
/// let guard = manager
///     .acquire_guard(key, Duration::from_secs(30), GuardOptions::default())
///     .await?;
/// let fence = guard.fence(); // send it along with every write the lease protects
/// tokio::select! {
///     reason = guard.lost() => eprintln!("stopped: lease lost ({reason})"),
///     () = async { /* the work; renewed every 10 s meanwhile */ } => {}
/// }
/// assert_eq!(guard.release().await?, ReleaseOutcome::Released);
/// # let _ = fence;
/// # Ok(())
/// # }
/// ```
#[must_use = "dropping a guard releases its lease at once"]
pub struct LeaseGuard<S> {
    manager: Arc<LeaseManager<S>>,
    context: LeaseContext,
    release: Option<oneshot::Sender<ReleaseReply>>,
}

impl<S: Store + 'static> LeaseGuard<S> {
    /// The lease's key.
    #[must_use]
    pub fn key(&self) -> &LeaseKey {
        self.context.key()
    }

    /// The lease as of its last successful acquire or renewal (expiry, fencing token, safe
    /// deadline, token).
    #[must_use]
    pub fn lease(&self) -> Lease {
        self.context.lease()
    }

    /// The fencing token of this acquisition (renewals keep it).
    #[must_use]
    pub fn fence(&self) -> Option<FencingToken> {
        self.context.fence()
    }

    /// The current status; see [`LeaseContext::status`].
    #[must_use]
    pub fn status(&self) -> LeaseStatus {
        self.context.status()
    }

    /// Whether work may go on under the lease now (by the manager's monotonic clock): held or
    /// at risk, and before the safe deadline. Check it before each write the lease protects,
    /// along with the fencing token.
    #[must_use]
    pub fn is_valid(&self) -> bool {
        self.context.is_valid_at(self.manager.clock().monotonic())
    }

    /// A watch receiver of the status; see [`LeaseContext::subscribe`].
    #[must_use]
    pub fn subscribe(&self) -> watch::Receiver<LeaseStatus> {
        self.context.subscribe()
    }

    /// Resolves when the lease is lost, with the reason; see [`LeaseContext::lost`].
    pub async fn lost(&self) -> LossReason {
        self.context.lost().await
    }

    /// A token cancelled when work under the lease must stop; see
    /// [`LeaseContext::cancellation_token`].
    #[must_use]
    pub fn cancellation_token(&self) -> CancellationToken {
        self.context.cancellation_token()
    }

    /// A read-only view of the lease to hand to work under it.
    #[must_use]
    pub fn context(&self) -> LeaseContext {
        self.context.clone()
    }

    /// Releases the lease: stops renewals (a renewal in flight completes first, or is
    /// abandoned at the safe deadline), cancels the [stop token](Self::cancellation_token),
    /// then sends the release. Nothing is sent for the lease after this returns.
    ///
    /// Returns [`ReleaseOutcome::Released`] if the lease was ours, [`ReleaseOutcome::NotHeld`]
    /// if it was not (also, without a request, when the guard had already reported it
    /// [lost](LossReason::NotOwned) or the manager's shutdown had released it). A lease lost
    /// as [`Unconfirmed`](LossReason::Unconfirmed) is still released, in case it is ours.
    ///
    /// If the release future is dropped, the release still completes in the renewal task.
    ///
    /// # Errors
    /// [`LeaseError::OutcomeUnknown`] / [`LeaseError::Store`] if the store failed (after the
    /// manager's retries): the lease then expires at its expiry.
    pub async fn release(mut self) -> Result<ReleaseOutcome, LeaseError> {
        if let Some(commands) = self.release.take() {
            let (reply, answer) = oneshot::channel();
            if commands.send(reply).is_ok()
                && let Ok(result) = answer.await
            {
                return result;
            }
        }
        // The renewal task is gone (its runtime shut down): release from here.
        match self.status() {
            LeaseStatus::Lost(LossReason::NotOwned | LossReason::Shutdown)
            | LeaseStatus::Released => Ok(ReleaseOutcome::NotHeld),
            _ => self.manager.release(&self.lease()).await,
        }
    }
}

impl<S> Drop for LeaseGuard<S> {
    /// Stops work under the lease (cancels the stop token). Dropping the release channel tells
    /// the renewal task, which stops renewing and releases the lease. Needs no runtime.
    fn drop(&mut self) {
        self.context.cancellation_token().cancel();
    }
}

impl<S> fmt::Debug for LeaseGuard<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeaseGuard")
            .field("key", self.context.key())
            .field("fence", &self.context.fence())
            .field("status", &self.context.status())
            .finish_non_exhaustive()
    }
}

/// [`LeaseManager::acquire_guard`].
pub(crate) async fn acquire_guard<S: Store + 'static>(
    manager: &Arc<LeaseManager<S>>,
    key: LeaseKey,
    duration: Duration,
    options: GuardOptions,
) -> Result<LeaseGuard<S>, LeaseError> {
    let skew = manager.config().max_clock_skew();
    let renew_every = match options.renew_period(duration, skew) {
        Ok(every) => every,
        Err(reason) => {
            return Err(LeaseError::InvalidInput {
                operation: Operation::Acquire,
                key,
                reason,
            });
        }
    };
    if manager.guards.is_shut_down() {
        return Err(LeaseError::ManagerShutDown { key });
    }
    let lease = match &options.wait {
        Some(policy) => {
            manager
                .acquire_waiting(key.clone(), duration, policy)
                .await?
        }
        None => manager.try_acquire(key.clone(), duration).await?,
    };
    if manager.guards.is_shut_down() {
        if let Err(e) = manager.release(&lease).await {
            warn!(key = %key, error = %e, "could not release a lease acquired during shutdown");
        }
        return Err(LeaseError::ManagerShutDown { key });
    }
    Ok(start(manager, lease, duration, renew_every, options))
}

/// Starts the renewal task for `lease`.
fn start<S: Store + 'static>(
    manager: &Arc<LeaseManager<S>>,
    lease: Lease,
    duration: Duration,
    renew_every: Duration,
    options: GuardOptions,
) -> LeaseGuard<S> {
    let key = lease.key().clone();
    let span = info_span!("lease_guard", key = %key, fence = ?lease.fence());
    let (lease_tx, lease_rx) = watch::channel(lease.clone());
    let (status_tx, status_rx) = watch::channel(LeaseStatus::Held);
    let stop = CancellationToken::new();
    let (release_tx, release_rx) = oneshot::channel();
    let publish = Publish {
        lease: lease_tx,
        status: status_tx,
        stop: stop.clone(),
    };
    let renewal = Renewal::new(
        Arc::clone(manager),
        lease,
        duration,
        renew_every,
        options,
        publish,
    );
    manager.guards.spawn(
        renewal
            .run(release_rx, manager.guards.shutdown_signal())
            .instrument(span),
    );
    LeaseGuard {
        manager: Arc::clone(manager),
        context: LeaseContext::new(key, lease_rx, status_rx, stop),
        release: Some(release_tx),
    }
}
