//! Scoped work: run an async closure while holding a lease, and say how it ended.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use lease_core::{LeaseError, LeaseKey, ReleaseOutcome};

use crate::guard::{self, GuardOptions, LeaseContext, LossReason};
use crate::manager::LeaseManager;
use crate::store::Store;

/// How scoped work under a lease ended ([`LeaseManager::with_lease`]). Every case is distinct:
/// the work's own error is returned unchanged, never mistaken for a lease problem, and a
/// failed release is reported with the work's result.
#[derive(Debug)]
#[must_use = "the outcome says whether the work succeeded and the lease was released"]
pub enum ScopedOutcome<T, E> {
    /// The work returned `Ok`, and the lease was released.
    WorkSucceeded(T),
    /// The work returned `Err` (the caller's error, unchanged), and the lease was released.
    WorkFailed(E),
    /// The lease was lost while the work ran. The work was cancelled (its future dropped) as
    /// soon as the loss was reported, which is no later than the lease's safe deadline; its
    /// [context](LeaseContext)'s stop token was cancelled just before, for tasks it spawned.
    /// The guard then released the lease in the background if it might still be ours.
    LeaseLost(LossReason),
    /// The work finished (with `result`), but the release failed: the store failed, or
    /// ([`LeaseError::NotOwned`]) the lease turned out not to be ours any more. A lease that
    /// could not be released expires at its expiry.
    ReleaseFailed {
        /// What the work returned.
        result: Result<T, E>,
        /// Why the release failed.
        error: LeaseError,
    },
}

impl<T, E> ScopedOutcome<T, E> {
    /// Whether the work succeeded and the lease was released.
    #[must_use]
    pub fn is_success(&self) -> bool {
        matches!(self, Self::WorkSucceeded(_))
    }

    /// The work's result, if the work ran to its end (succeeded, failed, or finished before a
    /// failed release); `None` if it was cancelled because the lease was lost.
    pub fn into_work_result(self) -> Option<Result<T, E>> {
        match self {
            Self::WorkSucceeded(value) => Some(Ok(value)),
            Self::WorkFailed(error) => Some(Err(error)),
            Self::ReleaseFailed { result, .. } => Some(result),
            Self::LeaseLost(_) => None,
        }
    }
}

/// [`LeaseManager::with_lease`].
pub(crate) async fn with_lease<S, T, E, F, Fut>(
    manager: &Arc<LeaseManager<S>>,
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
    let guard = guard::acquire_guard(manager, key, duration, options).await?;
    let work = work(guard.context());
    // Loss first: work that ends at the same moment as the lease is reported as lost.
    let finished = tokio::select! {
        biased;
        reason = guard.lost() => Err(reason),
        result = work => Ok(result),
    };
    let result = match finished {
        Ok(result) => result,
        Err(reason) => {
            // Dropping the guard makes the renewal task release what may still be ours.
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
        Ok(ReleaseOutcome::NotHeld) => ScopedOutcome::ReleaseFailed {
            result,
            error: LeaseError::NotOwned { key },
        },
        Err(error) => ScopedOutcome::ReleaseFailed { result, error },
    })
}
