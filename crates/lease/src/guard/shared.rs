//! The state a guard, its contexts and its driver share: the [`Keeper`] behind a lock, and
//! what it publishes.
//!
//! Whoever moves the keeper (the driver on a timer or an answer, a reader checking the status,
//! the guard releasing) does so through [`Shared::with`], at a fresh reading of the manager's
//! clocks, and applies the events that follow at once: the published view, the counters, the
//! logs, the release's answer. So a reader that is the first to notice that the safe deadline
//! has passed reports the lease lost itself, without waiting for the driver's timer.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use lease_core::lifecycle::{Ending, Finished, Keeper, KeeperEvent, Kept};
use lease_core::{Lease, LeaseError, LeaseKey, LeaseStatus, Now, ReleaseOutcome};
use tokio::sync::{Notify, oneshot, watch};
use tracing::{debug, info, warn};

use crate::clock::Clock;
use crate::metrics::Metrics;

/// The answer to a guard's release.
pub(super) type Answer = Result<ReleaseOutcome, LeaseError>;

/// What a guard publishes to its watchers: the status and the lease.
#[derive(Clone, Debug)]
pub(super) struct View<L = Lease> {
    pub(super) status: LeaseStatus,
    pub(super) lease: L,
    /// The keeper's count of status changes (a renewal that keeps the lease held publishes a
    /// new lease, not a new status).
    pub(super) status_changes: u64,
    /// The keeper's epoch when this view was taken (views are published newest first).
    pub(super) epoch: u64,
}

/// The release's answer slot, and whether the driver is gone.
#[derive(Debug, Default)]
struct Reply {
    /// Where a waiting `release()` gets its answer.
    waiting: Option<oneshot::Sender<Answer>>,
    /// An answer nobody waited for yet (the driver finished the release first).
    unclaimed: Option<Answer>,
    /// The driver task is gone (its runtime shut down): nobody else moves the keeper.
    driver_gone: bool,
}

pub(crate) struct Shared<L: Kept = Lease> {
    keeper: Mutex<Keeper<L>>,
    view: watch::Sender<View<L>>,
    key: LeaseKey,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    reply: Mutex<Reply>,
    /// Wakes the driver after a command.
    pub(super) wake: Notify,
}

impl<L: Kept> Shared<L> {
    pub(super) fn new(keeper: Keeper<L>, clock: Arc<dyn Clock>, metrics: Arc<Metrics>) -> Self {
        let view = View {
            status: keeper.status().clone(),
            lease: keeper.lease().clone(),
            status_changes: keeper.status_changes(),
            epoch: keeper.epoch(),
        };
        let shared = Self {
            key: keeper.lease().key().clone(),
            keeper: Mutex::new(keeper),
            view: watch::Sender::new(view),
            clock,
            metrics,
            reply: Mutex::default(),
            wake: Notify::new(),
        };
        // A keeper that starts lost (the acquire was answered past the deadline) has its
        // event queued: apply it before anyone can see the guard.
        shared.with(|_, _| ());
        shared
    }

    pub(super) fn key(&self) -> &LeaseKey {
        &self.key
    }

    /// Sleeps until `at` on the manager's monotonic clock (forever without an instant). The
    /// sleep is measured from a reading of that clock, so a test clock that jumps ahead of
    /// tokio's timers is honoured.
    pub(super) async fn sleep_until(&self, at: Option<std::time::Instant>) {
        match at {
            Some(at) => {
                tokio::time::sleep(at.saturating_duration_since(self.clock.monotonic())).await;
            }
            None => std::future::pending().await,
        }
    }

    /// A reading of the manager's clocks.
    pub(super) fn now(&self) -> Now {
        Now::new(self.clock.now(), self.clock.monotonic())
    }

    /// Runs `f` on the keeper at a fresh reading of the clocks, then applies the events it
    /// caused (counters, logs, the release's answer) and publishes the view if it changed.
    ///
    /// The keeper's lock is held for the pure machine and the clock reading only (the clock is
    /// read under it, so that the keeper's inputs never go back in time); the events are
    /// applied after it is released, so a reader never waits behind a log line, and a tracing
    /// layer may call into the guard. The view is published newest first: an older snapshot
    /// applied late never replaces a newer one.
    pub(super) fn with<R>(&self, f: impl FnOnce(&mut Keeper<L>, Now) -> R) -> R {
        let (result, events, view) = {
            let mut keeper = lock(&self.keeper);
            let epoch = keeper.epoch();
            let result = f(&mut keeper, self.now());
            let events: Vec<KeeperEvent<L>> = std::iter::from_fn(|| keeper.poll_event()).collect();
            let view = (keeper.epoch() != epoch || !events.is_empty()).then(|| View {
                status: keeper.status().clone(),
                lease: keeper.lease().clone(),
                status_changes: keeper.status_changes(),
                epoch: keeper.epoch(),
            });
            (result, events, view)
        };
        if let Some(view) = view {
            for event in events {
                self.apply(event, &view.lease);
            }
            self.view.send_if_modified(|published| {
                let newer = view.epoch > published.epoch;
                if newer {
                    *published = view;
                }
                newer
            });
        }
        result
    }

    /// The status now: lost if the safe deadline has passed, whatever the timers did.
    pub(super) fn status(&self) -> LeaseStatus {
        self.with(|keeper, now| keeper.status_at(now).clone())
    }

    /// The lease as of its last successful acquire or renewal.
    pub(super) fn lease(&self) -> L {
        lock(&self.keeper).lease().clone()
    }

    /// A receiver of the published view.
    pub(super) fn subscribe(&self) -> watch::Receiver<View<L>> {
        self.view.subscribe()
    }

    /// For a waiter about to wait on `view`: marks the published view seen, *then* reads the
    /// status now, and returns it with the deadline to wake at. In this order a change
    /// published after the read always wakes the waiter's `view.changed()`; in the other
    /// order, one published between the read and the mark would be lost until the deadline.
    pub(super) fn seen_then_status(
        &self,
        view: &mut watch::Receiver<View<L>>,
    ) -> (LeaseStatus, Option<std::time::Instant>) {
        let deadline = view.borrow_and_update().lease.valid_until();
        (self.status(), deadline)
    }

    /// Registers a release waiting for its answer: `None` when the answer is there already or
    /// the driver is gone (`Err` with an answer found, `Ok(None)` with none).
    pub(super) fn await_answer(&self) -> Result<Option<oneshot::Receiver<Answer>>, Answer> {
        let mut reply = lock(&self.reply);
        if let Some(answer) = reply.unclaimed.take() {
            return Err(answer);
        }
        if reply.driver_gone {
            return Ok(None);
        }
        let (tx, rx) = oneshot::channel();
        reply.waiting = Some(tx);
        Ok(Some(rx))
    }

    /// The answer the driver left, if any.
    pub(super) fn take_unclaimed(&self) -> Option<Answer> {
        lock(&self.reply).unclaimed.take()
    }

    /// The driver is gone: a waiting release must drive the keeper itself.
    pub(super) fn driver_gone(&self) {
        let mut reply = lock(&self.reply);
        reply.driver_gone = true;
        reply.waiting = None;
    }

    fn apply(&self, event: KeeperEvent<L>, lease: &L) {
        let (key, fence) = (lease.key(), lease.fence());
        match event {
            KeeperEvent::Renewed {
                lease,
                after_failures,
            } => {
                self.metrics.record_renewed();
                debug!(key = %key, token = %lease.token(), ?fence, expires_at = lease.expires_at_epoch_seconds(), "lease renewed");
                if after_failures > 0 {
                    info!(key = %key, ?fence, failures = after_failures, "lease renewed; no longer at risk");
                }
            }
            KeeperEvent::RenewalFailed {
                error,
                failures,
                retry_in,
            } => {
                self.metrics.record_renew_failure();
                warn!(key = %key, ?fence, error = %error.report(), failures, ?retry_in, "lease renewal failed; lease at risk");
            }
            KeeperEvent::RenewalUnanswered { waited } => {
                warn!(key = %key, ?fence, ?waited, "lease renewal unanswered halfway to the safe deadline; lease at risk");
            }
            KeeperEvent::Lost(reason) => {
                if reason.is_not_owned() {
                    self.metrics.record_renew_failure();
                }
                if !reason.is_shutdown() {
                    self.metrics.record_lost();
                }
                warn!(key = %key, ?fence, reason = %reason, "lease lost");
            }
            KeeperEvent::RenewalAfterEnd { renewed } => {
                if renewed {
                    self.metrics.record_renewed();
                } else {
                    self.metrics.record_renew_failure();
                }
                debug!(key = %key, ?fence, renewed, "renewal answered after the guard let go or lost its lease");
            }
            KeeperEvent::LetGo => debug!(key = %key, ?fence, "lease guard letting go"),
            KeeperEvent::Finished(finished) => self.finished(finished, lease),
            _ => {}
        }
    }

    fn finished(&self, finished: Finished, lease: &L) {
        let (key, fence) = (lease.key(), lease.fence());
        let ending = finished.ending;
        match &finished.release {
            Some(Ok(outcome)) => {
                if *outcome == ReleaseOutcome::Released {
                    self.metrics.record_released();
                }
                info!(key = %key, ?fence, ?outcome, sent = true, "lease guard ended");
            }
            None => info!(key = %key, ?fence, sent = false, "lease guard ended"),
            Some(Err(e)) if ending == Ending::Release && finished.lost.is_none() => {
                debug!(key = %key, ?fence, error = %e.report(), "lease guard release failed");
            }
            Some(Err(e)) => {
                warn!(key = %key, ?fence, error = %e.report(), "best-effort release failed; the lease stays until it expires");
            }
        }
        if ending != Ending::Release {
            return;
        }
        let answer = finished.into_answer(lease);
        let mut reply = lock(&self.reply);
        match reply.waiting.take() {
            // The caller may have stopped waiting for the answer; the release is done anyway.
            Some(waiting) => drop(waiting.send(answer)),
            None => reply.unclaimed = Some(answer),
        }
    }

    /// The answer to a release asked for after the keeper finished (the manager's shutdown
    /// released the lease first).
    pub(super) fn late_answer(&self, status: &LeaseStatus) -> Answer {
        match status {
            LeaseStatus::Lost(reason) => Err(LeaseError::Lost {
                key: self.key.clone(),
                reason: reason.clone(),
            }),
            _ => Ok(ReleaseOutcome::NotHeld),
        }
    }
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
