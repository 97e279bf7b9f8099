//! [`LeaseGuard`]: a held lease renewed in the background until it is released or dropped.
//!
//! The decisions (when to renew, when the lease is at risk or lost, when to release) are made
//! by lease-core's [`Keeper`](lease_core::lifecycle::Keeper); this module pumps it. Satellites:
//! [`options`] (renew period, retry delays, waiting), [`shared`] (the keeper behind a lock,
//! and what it publishes), [`driver`] (the task that sends its requests and wakes it at its
//! timers), [`context`] (the read-only view work gets), [`stop`] and [`watch`] (the stop
//! signal and the status follower), [`registry`] (the manager's guards, for shutdown).

mod context;
mod driver;
mod options;
mod registry;
mod shared;
mod stop;
mod watch;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use lease_core::lifecycle::{Keeper, Kept, ReleaseStep};
use lease_core::{
    FencingToken, Lease, LeaseError, LeaseKey, LeaseSet, LeaseStatus, LossReason, ReleaseOutcome,
};
use rand::RngExt;
use rand::rngs::Xoshiro256PlusPlus;
use tracing::{Instrument, info, info_span, warn};

pub use context::LeaseContext;
pub use options::GuardOptions;
pub(crate) use registry::GuardRegistry;
pub use stop::StopSignal;
pub use watch::StatusWatch;

use crate::manager::LeaseManager;
use lease_core::{Store, Text};
use shared::Shared;

/// A held lease that a background task renews until the guard is released or dropped.
///
/// Made by [`LeaseManager::acquire_guard`]. The lease is kept by lease-core's
/// [`Keeper`](lease_core::lifecycle::Keeper), driven by a task on the caller's tokio runtime:
/// - it renews every [`GuardOptions::renew_every`] at the latest (a third of the duration by
///   default), counted from when the last renewal was sent, each renewal brought forward at
///   random by up to [`GuardOptions::renew_jitter`] of the period (a fifth by default), so that
///   guards acquired together do not renew together;
/// - it retries a failed renewal with backoff, reporting the lease
///   [`AtRisk`](LeaseStatus::AtRisk), but only until the lease's local safe deadline
///   ([`Lease::valid_until`]: expiry minus the clock skew bound);
/// - it reports the lease [`Lost`](LeaseStatus::Lost) when a renewal finds it is not ours
///   ([`LossReason::NotOwned`]), or at the safe deadline when no renewal could be confirmed
///   ([`LossReason::Unconfirmed`]), never later: before another holder can take it over;
/// - it is the only sender of renewals and of the release, so a renewal in flight completes
///   (or is abandoned at the deadline) before the release is sent, and nothing is sent after.
///
/// **Every signal is right when it is read.** [`status`](Self::status),
/// [`is_valid`](Self::is_valid), the [`StopSignal`], the [`LeaseContext`]s, [`lost`](Self::lost),
/// the [`StatusWatch`] and [`release`](Self::release) each read the manager's clocks and report
/// a lease past its safe deadline as lost at once, even when the process was paused past the
/// deadline (a GC pause, `SIGSTOP`, a suspended machine) and the driver has not run since.
///
/// End it with [`release`](Self::release), which returns the release's outcome (or, if the
/// lease was lost first, [`LeaseError::Lost`]). Dropping the guard instead stops work (the
/// stop signal) and renewals at once and makes a best-effort release from the driver;
/// dropping never panics and needs no runtime (if the runtime is gone, nothing is sent and the
/// lease expires).
///
/// The manager's clock must follow tokio's timer ([`SystemClock`](crate::clock::SystemClock), or
/// [`TestClock`](crate::clock::TestClock) in tests, not frozen): renewals and the deadline
/// are scheduled with tokio, at instants read from the manager's clock.
///
/// ```
/// use std::time::Duration;
/// use lease_memory::{GuardOptions, LeaseConfig, LeaseManager, MemoryStore, ReleaseOutcome};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let config = LeaseConfig::builder("locks").build()?;
/// let manager = LeaseManager::new(MemoryStore::for_config(&config), config);
///
/// let guard = manager
///     .acquire_guard("JOB#nightly", Duration::from_secs(30), GuardOptions::default())
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
///
/// A guard of a [`LeaseSet`] (`LeaseGuard<S, LeaseSet>`, made by
/// [`LeaseManager::acquire_set_guard`]) keeps every key of the set the same way, renewing and
/// releasing them together (one transaction each); it is lost when any key is.
#[must_use = "dropping a guard releases its lease at once"]
pub struct LeaseGuard<S: Store + 'static, L: Kept = Lease> {
    manager: LeaseManager<S>,
    shared: Arc<Shared<L>>,
    /// `release` was called: dropping does nothing more.
    let_go: bool,
}

impl<S: Store + 'static> LeaseGuard<S> {
    /// The fencing token of this acquisition (renewals keep it).
    #[must_use]
    pub fn fence(&self) -> FencingToken {
        self.shared.lease().fence()
    }
}

impl<S: Store + 'static> LeaseGuard<S, LeaseSet> {
    /// The fencing token of `key` in the set (renewals keep it), if the set holds `key`.
    #[must_use]
    pub fn fence(&self, key: &LeaseKey) -> Option<FencingToken> {
        self.shared.lease().fence(key)
    }
}

impl<S: Store + 'static, L: Kept> LeaseGuard<S, L> {
    /// The lease's key (a set's first key).
    #[must_use]
    pub fn key(&self) -> &LeaseKey {
        self.shared.key()
    }

    /// The lease (or lease set) as of its last successful acquire or renewal (expiry, fencing
    /// token, safe deadline, token).
    #[must_use]
    pub fn lease(&self) -> L {
        self.shared.lease()
    }

    /// The status now; see [`LeaseContext::status`].
    #[must_use]
    pub fn status(&self) -> LeaseStatus {
        self.shared.status()
    }

    /// Whether work may go on under the lease now; see [`LeaseContext::is_valid`].
    #[must_use]
    pub fn is_valid(&self) -> bool {
        self.status().is_held()
    }

    /// A follower of the status's changes; see [`StatusWatch`].
    #[must_use]
    pub fn subscribe(&self) -> StatusWatch<L> {
        StatusWatch::new(Arc::clone(&self.shared))
    }

    /// Resolves when the lease is lost, with the reason; see [`LeaseContext::lost`].
    pub async fn lost(&self) -> LossReason {
        self.context().lost().await
    }

    /// The signal that work under the lease must stop; see [`StopSignal`].
    #[must_use]
    pub fn stop_signal(&self) -> StopSignal<L> {
        StopSignal::new(Arc::clone(&self.shared))
    }

    /// A read-only view of the lease to hand to work under it.
    #[must_use]
    pub fn context(&self) -> LeaseContext<L> {
        LeaseContext::new(Arc::clone(&self.shared))
    }

    /// Releases the lease: work stops at once (the [stop signal](Self::stop_signal) is raised),
    /// renewals stop (a renewal in flight completes first, or is abandoned at the safe
    /// deadline), then the release is sent. Nothing is sent for the lease after this returns.
    ///
    /// Returns [`ReleaseOutcome::Released`] if the lease was ours and
    /// [`ReleaseOutcome::NotHeld`] if the store had nothing of ours any more.
    ///
    /// If the release future is dropped, the release still completes in the driver task (if
    /// the driver's runtime is gone, this future drives the release itself, and dropping it
    /// abandons the release: the lease then expires).
    ///
    /// # Errors
    /// - [`LeaseError::Lost`] if the lease was lost before this call, checked at this call's
    ///   reading of the clocks: taken over ([`LossReason::NotOwned`]), past its safe deadline
    ///   without a confirmed renewal ([`LossReason::Unconfirmed`], also when the process was
    ///   paused past the deadline), or ended by the manager's shutdown
    ///   ([`LossReason::Shutdown`]). The work done under the lease was not protected to its end.
    ///   A lease that may still be ours (`Unconfirmed`) is released all the same.
    /// - [`LeaseError::OutcomeUnknown`] / [`LeaseError::Store`] if the store failed (after the
    ///   manager's retries): the lease then expires at its expiry.
    pub async fn release(mut self) -> Result<ReleaseOutcome, LeaseError> {
        self.let_go = true;
        let waiting = self.shared.await_answer();
        let finished_before = self.shared.with(|keeper, now| {
            let finished = keeper.is_finished().then(|| keeper.status().clone());
            keeper.release(now);
            finished
        });
        if let Some(status) = finished_before {
            return self.shared.late_answer(&status);
        }
        self.shared.wake.notify_one();
        match waiting {
            Err(answer) => return answer,
            Ok(Some(rx)) => {
                if let Ok(answer) = rx.await {
                    return answer;
                }
            }
            Ok(None) => {}
        }
        // The driver is gone (its runtime shut down): drive the keeper from here.
        if let Some(answer) = self.shared.take_unclaimed() {
            return answer;
        }
        driver::drive_orphan(Arc::clone(&self.shared), self.manager.clone()).await;
        self.shared
            .take_unclaimed()
            .unwrap_or_else(|| self.shared.late_answer(&self.shared.status()))
    }
}

impl<S: Store + 'static, L: Kept> Drop for LeaseGuard<S, L> {
    /// Stops work under the lease (raises the stop signal) and tells the driver, which stops
    /// renewing and releases the lease. Needs no runtime: it takes a lock for the pure keeper
    /// and wakes the driver.
    fn drop(&mut self) {
        if !self.let_go {
            self.shared.with(|keeper, now| keeper.drop_guard(now));
            self.shared.wake.notify_one();
        }
    }
}

impl<S: Store + 'static, L: Kept> fmt::Debug for LeaseGuard<S, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeaseGuard")
            .field("key", self.shared.key())
            .field("fence", &Kept::fence(&self.shared.lease()))
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

/// [`LeaseManager::acquire_guard`].
pub(crate) async fn acquire_guard<S: Store + 'static>(
    manager: &LeaseManager<S>,
    key: LeaseKey,
    duration: Duration,
    options: GuardOptions,
    value: Option<&Text>,
) -> Result<LeaseGuard<S>, LeaseError> {
    let acquire = || async {
        match &options.wait {
            Some(policy) => {
                crate::wait::acquire_waiting(manager, key.clone(), duration, policy, value).await
            }
            None => {
                manager
                    .try_acquire_proclaiming(key.clone(), duration, value)
                    .await
            }
        }
    };
    guard_kept(manager, key.clone(), duration, &options, acquire).await
}

/// A guard of the lease `acquire` gives (for `key`, for errors): the renew period is checked
/// and the manager must not be shut down, before `acquire` runs and after it (a lease acquired
/// during a shutdown is released again).
///
/// `acquire` makes the acquire's future where it is awaited: a future passed in and awaited
/// would be stored twice in this one's state, and once more per caller that passes it on
/// (docs/performance.md, "Memory per guard: a future stored twice").
pub(crate) async fn guard_kept<S: Store + 'static, L: Kept, F>(
    manager: &LeaseManager<S>,
    key: LeaseKey,
    duration: Duration,
    options: &GuardOptions,
    acquire: impl FnOnce() -> F,
) -> Result<LeaseGuard<S, L>, LeaseError>
where
    F: Future<Output = Result<L, LeaseError>>,
{
    let skew = manager.config().max_clock_skew();
    if let Err(reason) = options.renew_policy().renew_period(duration, skew) {
        return Err(LeaseError::InvalidInput {
            operation: lease_core::Operation::Acquire,
            key,
            reason,
        });
    }
    if manager.shared.guards.is_shut_down() {
        return Err(LeaseError::ManagerShutDown { key });
    }
    let lease = acquire().await?;
    if manager.shared.guards.is_shut_down() {
        if let Err(e) = release_kept(manager, lease.clone()).await {
            warn!(key = %lease.key(), error = %e.report(), "could not release a lease acquired during shutdown");
        }
        return Err(LeaseError::ManagerShutDown {
            key: lease.key().clone(),
        });
    }
    start(manager, lease, duration, options)
}

/// Releases `lease` (once, best effort: each request is sent once; a set goes again without
/// the keys no longer held).
async fn release_kept<S: Store + 'static, L: Kept>(
    manager: &LeaseManager<S>,
    mut lease: L,
) -> Result<ReleaseOutcome, LeaseError> {
    let planner = manager.planner();
    let mut request = lease.plan_release(planner, manager.clock_reading())?;
    loop {
        let answer = L::as_retried(manager.store().execute(&request).await);
        match lease.release_answer(planner, answer, manager.clock_reading()) {
            ReleaseStep::Again(next) => request = next,
            ReleaseStep::Done(result) => return result,
            _ => return Ok(ReleaseOutcome::NotHeld),
        }
    }
}

/// Starts keeping `lease`: the keeper, checked against the clocks now (a lease whose answer
/// came past its deadline starts lost), and its driver task. The keeper's renewal jitter is
/// seeded at random for each guard (unless the options fix a seed).
pub(crate) fn start<S: Store + 'static, L: Kept>(
    manager: &LeaseManager<S>,
    lease: L,
    duration: Duration,
    options: &GuardOptions,
) -> Result<LeaseGuard<S, L>, LeaseError> {
    let key = lease.key().clone();
    let token = lease.token().clone();
    let span = info_span!("lease_guard", key = %key, fence = ?Kept::fence(&lease));
    let keeper = Keeper::new(
        Arc::clone(manager.planner()),
        lease,
        duration,
        options.renew_policy(),
        manager.retry_policy(),
        rand::make_rng::<Xoshiro256PlusPlus>().random(),
        manager.clock_reading(),
    )?;
    let renew_every = keeper.renew_every();
    let shared = Arc::new(Shared::new(
        keeper,
        Arc::clone(manager.clock()),
        Arc::clone(&manager.shared.metrics),
    ));
    info!(parent: &span, key = %key, renew_every = ?renew_every, status = %shared.status(), "lease guard started");
    let alive = driver::Alive::new(&shared);
    let driving = manager.clone();
    let shutdown = manager.shared.guards.shutdown_signal();
    let ended = manager.clone();
    let released = token.clone();
    manager.shared.guards.spawn(token, move || {
        async move {
            // The driver's future is made here, in the task, not made outside and captured: a
            // future captured by an async block and awaited in it takes its room twice in the
            // block's state (rustc keeps the captured value's place beside the awaited one's).
            // Captured, the driver's 888 bytes made every guard's task about 2 KiB larger
            // (docs/performance.md, "Memory per guard: a future stored twice").
            driver::run(alive, driving, shutdown).await;
            // Released, or lost: either way the next waiter of this manager may try now.
            ended.shared.handover.released(&key, &released);
        }
        .instrument(span)
    });
    Ok(LeaseGuard {
        manager: manager.clone(),
        shared,
        let_go: false,
    })
}
