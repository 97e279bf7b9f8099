//! Scoped work: run an async closure while holding a lease, and say how it ended.

use std::future::Future;
use std::time::Duration;

use lease_core::{LeaseError, LeaseKey, LossReason, ReleaseOutcome};

use crate::guard::{self, GuardOptions, LeaseContext};
use crate::manager::LeaseManager;
use lease_core::Store;

/// How scoped work under a lease ended ([`LeaseManager::with_lease`]). Every case is distinct:
/// the work's own error is returned unchanged, never mistaken for a lease problem; a failed
/// release is reported with the work's result; and work that finished after its lease was lost
/// is never reported as a success.
#[derive(Debug)]
#[must_use = "the outcome says whether the work succeeded and the lease was released"]
#[non_exhaustive]
pub enum ScopedOutcome<T, E> {
    /// The work returned `Ok` while the lease was held, and the lease was released.
    WorkSucceeded(T),
    /// The work returned `Err` (the caller's error, unchanged) while the lease was held, and the
    /// lease was released.
    WorkFailed(E),
    /// The lease was lost while the work ran: the work was cancelled (its future dropped) as
    /// soon as the loss was reported, which is no later than the lease's safe deadline, and
    /// its [context](LeaseContext)'s stop signal was raised just before, for tasks it spawned.
    /// Also, rarely, when the safe deadline passed between the acquire's answer and the start
    /// of the work: the work was then never called. (An acquire *answered* past the deadline is
    /// the outer `Err(`[`LeaseError::Lapsed`]`)`.) The guard released the lease in the
    /// background if it might still be ours.
    LeaseLost(LossReason),
    /// The work finished (with `result`), but the lease had been lost before it finished: the
    /// loss was found at the end, typically because the process was paused past the lease's
    /// safe deadline (a GC pause, `SIGSTOP`, a suspended machine) while the work ran, so nothing
    /// cancelled it in time. The work was not protected by the lease to its end: treat its
    /// effects as done without the lease (the fencing token lets a downstream store reject
    /// them). The lease was released if it might still be ours.
    WorkFinishedAfterLoss {
        /// What the work returned.
        result: Result<T, E>,
        /// Why the lease was lost.
        reason: LossReason,
    },
    /// The work finished (with `result`) while the lease was held, but the release failed: the
    /// store failed, or ([`LeaseError::NotOwned`]) the lease turned out not to be ours any more.
    /// A lease that could not be released expires at its expiry.
    ReleaseFailed {
        /// What the work returned.
        result: Result<T, E>,
        /// Why the release failed.
        error: LeaseError,
    },
}

impl<T, E> ScopedOutcome<T, E> {
    /// Whether the work succeeded under the lease and the lease was released.
    #[must_use]
    pub fn is_success(&self) -> bool {
        matches!(self, Self::WorkSucceeded(_))
    }

    /// The work's result, if the work ran to its end (succeeded, failed, finished after the
    /// loss, or finished before a failed release); `None` if it was cancelled (or never
    /// started) because the lease was lost.
    pub fn into_work_result(self) -> Option<Result<T, E>> {
        match self {
            Self::WorkSucceeded(value) => Some(Ok(value)),
            Self::WorkFailed(error) => Some(Err(error)),
            Self::WorkFinishedAfterLoss { result, .. } | Self::ReleaseFailed { result, .. } => {
                Some(result)
            }
            Self::LeaseLost(_) => None,
        }
    }
}

/// [`LeaseManager::with_lease`].
pub(crate) async fn with_lease<S, T, E, F, Fut>(
    manager: &LeaseManager<S>,
    key: LeaseKey,
    duration: Duration,
    options: GuardOptions,
    work: F,
) -> Result<ScopedOutcome<T, E>, LeaseError>
where
    S: Store + 'static,
    F: FnOnce(LeaseContext) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let guard = guard::acquire_guard(manager, key, duration, options, None).await?;
    if let Some(reason) = guard.status().loss_reason().cloned() {
        // Past its safe deadline already: the work must not start. Dropping the guard
        // releases what may still be ours.
        drop(guard);
        return Ok(ScopedOutcome::LeaseLost(reason));
    }
    let work = work(guard.context());
    // The work first: work that finished is never thrown away. A loss that comes at the same
    // moment is found by the release below, which checks the clocks.
    let finished = tokio::select! {
        biased;
        result = work => Ok(result),
        reason = guard.lost() => Err(reason),
    };
    let result = match finished {
        Ok(result) => result,
        Err(reason) => {
            // Dropping the guard makes the driver release what may still be ours.
            drop(guard);
            return Ok(ScopedOutcome::LeaseLost(reason));
        }
    };
    let key = guard.key().clone();
    Ok(match guard.release().await {
        Ok(ReleaseOutcome::Released) => match result {
            Ok(value) => ScopedOutcome::WorkSucceeded(value),
            Err(error) => ScopedOutcome::WorkFailed(error),
        },
        // NotHeld, and any outcome a later version adds: not a plain success.
        Ok(_) => ScopedOutcome::ReleaseFailed {
            result,
            error: LeaseError::NotOwned { key },
        },
        Err(LeaseError::Lost { reason, .. }) => {
            ScopedOutcome::WorkFinishedAfterLoss { result, reason }
        }
        Err(error) => ScopedOutcome::ReleaseFailed { result, error },
    })
}
