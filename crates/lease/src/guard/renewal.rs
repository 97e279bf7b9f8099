//! The renewal task of a lease guard: it owns the lease, and is the only sender of its
//! renewals and of its release, so the two are serialised by construction.

use std::sync::Arc;
use std::time::Duration;

use lease_core::{Lease, LeaseError, ReleaseOutcome};
use tokio::sync::{oneshot, watch};
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::options::GuardOptions;
use super::status::{LeaseStatus, LossReason};
use crate::manager::LeaseManager;
use crate::store::Store;

/// Where the guard's release request sends the release's result.
pub(super) type ReleaseReply = oneshot::Sender<Result<ReleaseOutcome, LeaseError>>;

/// What the task publishes to the guard and its contexts.
pub(super) struct Publish {
    pub(super) lease: watch::Sender<Lease>,
    pub(super) status: watch::Sender<LeaseStatus>,
    /// Cancelled when work under the lease must stop (loss, release, drop, shutdown).
    pub(super) stop: CancellationToken,
}

/// How the guard's life ended, as the task learns it.
enum Ending {
    /// `LeaseGuard::release`: release, and answer.
    Release(ReleaseReply),
    /// The guard was dropped: release, best effort.
    Dropped,
    /// `LeaseManager::shutdown`: release, best effort.
    Shutdown,
}

impl Ending {
    fn of(command: Result<ReleaseReply, oneshot::error::RecvError>) -> Self {
        match command {
            Ok(reply) => Self::Release(reply),
            Err(_) => Self::Dropped,
        }
    }
}

/// The renewal task's state.
pub(super) struct Renewal<S: Store + 'static> {
    manager: Arc<LeaseManager<S>>,
    lease: Lease,
    duration: Duration,
    renew_every: Duration,
    options: GuardOptions,
    publish: Publish,
    /// The lease's local safe deadline, on tokio's clock.
    deadline: Instant,
    next_attempt: Instant,
    failures: u32,
    last_error: Option<Arc<LeaseError>>,
}

impl<S: Store + 'static> Renewal<S> {
    /// The task for `lease`, just acquired for `duration`.
    pub(super) fn new(
        manager: Arc<LeaseManager<S>>,
        lease: Lease,
        duration: Duration,
        renew_every: Duration,
        options: GuardOptions,
        publish: Publish,
    ) -> Self {
        let now = Instant::from_std(manager.clock().monotonic());
        let mut renewal = Self {
            manager,
            lease,
            duration,
            renew_every,
            options,
            publish,
            deadline: now,
            next_attempt: now,
            failures: 0,
            last_error: None,
        };
        renewal.schedule(now);
        renewal
    }

    /// Runs until the guard is released or dropped, or the manager shuts down: renews on
    /// schedule, reports trouble and loss, and finally releases.
    pub(super) async fn run(
        mut self,
        mut commands: oneshot::Receiver<ReleaseReply>,
        shutdown: CancellationToken,
    ) {
        info!(key = %self.lease.key(), fence = ?self.lease.fence(), renew_every = ?self.renew_every, "lease guard started");
        let ending = match self.hold(&mut commands, &shutdown).await {
            Some(ending) => ending,
            None => tokio::select! {
                biased;
                command = &mut commands => Ending::of(command),
                () = shutdown.cancelled() => Ending::Shutdown,
            },
        };
        self.finish(ending).await;
    }

    /// Renews while the lease is held. `Some(ending)` when the guard ended first, `None` when
    /// the lease was lost.
    async fn hold(
        &mut self,
        commands: &mut oneshot::Receiver<ReleaseReply>,
        shutdown: &CancellationToken,
    ) -> Option<Ending> {
        loop {
            let (deadline, next) = (self.deadline, self.next_attempt);
            tokio::select! {
                biased;
                command = &mut *commands => return Some(Ending::of(command)),
                () = shutdown.cancelled() => return Some(Ending::Shutdown),
                () = sleep_until(deadline) => {
                    self.lose_unconfirmed();
                    return None;
                }
                () = sleep_until(next) => {
                    if !self.renew().await {
                        return None;
                    }
                }
            }
        }
    }

    /// One renewal attempt, cut short at the safe deadline. Whether the lease is still ours.
    async fn renew(&mut self) -> bool {
        let sent = self.now();
        let outcome = tokio::select! {
            biased;
            result = self.manager.refresh(&self.lease, self.duration) => Some(result),
            () = sleep_until(self.deadline) => None,
        };
        match outcome {
            None => {
                self.lose_unconfirmed();
                false
            }
            Some(Ok(lease)) => {
                self.lease = lease;
                self.publish.lease.send_replace(self.lease.clone());
                self.schedule(sent);
                if self.failures > 0 {
                    info!(key = %self.lease.key(), fence = ?self.lease.fence(), failures = self.failures, "lease renewed; no longer at risk");
                    self.publish.status.send_replace(LeaseStatus::Held);
                }
                self.failures = 0;
                self.last_error = None;
                true
            }
            Some(Err(LeaseError::NotOwned { .. })) => {
                self.lose(LossReason::NotOwned);
                false
            }
            Some(Err(error)) => {
                self.at_risk(error);
                true
            }
        }
    }

    /// Reports a failed renewal and schedules the retry.
    fn at_risk(&mut self, error: LeaseError) {
        self.failures = self.failures.saturating_add(1);
        let delay = self.options.retry_delay(self.failures);
        let now = self.now();
        self.next_attempt = now.checked_add(delay).unwrap_or(self.deadline);
        let since = match &*self.publish.status.borrow() {
            LeaseStatus::AtRisk { since, .. } => *since,
            _ => now.into_std(),
        };
        warn!(key = %self.lease.key(), fence = ?self.lease.fence(), error = %error, failures = self.failures, retry_in = ?delay, "lease renewal failed; lease at risk");
        let error = Arc::new(error);
        self.last_error = Some(Arc::clone(&error));
        self.publish.status.send_replace(LeaseStatus::AtRisk {
            since,
            last_error: error,
        });
    }

    fn lose_unconfirmed(&mut self) {
        let last_error = self.last_error.clone();
        self.lose(LossReason::Unconfirmed { last_error });
    }

    /// Reports the loss: status, stop token, counter.
    fn lose(&mut self, reason: LossReason) {
        warn!(key = %self.lease.key(), fence = ?self.lease.fence(), reason = %reason, "lease lost");
        self.publish.status.send_replace(LeaseStatus::Lost(reason));
        self.publish.stop.cancel();
        self.manager.metrics.record_lost();
    }

    /// Stops work under the lease, then releases it unless it is known not to be ours, and
    /// answers a release request.
    async fn finish(self, ending: Ending) {
        let status = self.publish.status.borrow().clone();
        self.publish.stop.cancel();
        if status.is_held() {
            let next = match ending {
                Ending::Shutdown => LeaseStatus::Lost(LossReason::Shutdown),
                _ => LeaseStatus::Released,
            };
            self.publish.status.send_replace(next);
        }
        let ours = match &status {
            LeaseStatus::Lost(reason) => reason.is_unconfirmed(),
            _ => true,
        };
        let result = if ours {
            self.manager.release(&self.lease).await
        } else {
            Ok(ReleaseOutcome::NotHeld)
        };
        let key = self.lease.key();
        let fence = self.lease.fence();
        match (&ending, &result) {
            (_, Ok(outcome)) => {
                info!(key = %key, ?fence, ?outcome, sent = ours, "lease guard ended");
            }
            (Ending::Release(_), Err(e)) => {
                debug!(key = %key, ?fence, error = %e, "lease guard release failed");
            }
            (Ending::Dropped | Ending::Shutdown, Err(e)) => {
                warn!(key = %key, ?fence, error = %e, "best-effort release failed; the lease stays until it expires");
            }
        }
        if let Ending::Release(reply) = ending {
            // The caller may have stopped waiting for the answer; the release is done anyway.
            let _ignored = reply.send(result);
        }
    }

    /// Sets the deadline and the next renewal from the current lease, whose request was sent
    /// at `sent` (used only if the lease has no safe deadline of its own).
    fn schedule(&mut self, sent: Instant) {
        let window = self
            .duration
            .saturating_sub(self.manager.config().max_clock_skew());
        self.deadline = self
            .lease
            .valid_until()
            .map(Instant::from_std)
            .or_else(|| sent.checked_add(window))
            .unwrap_or(sent);
        let sent = self.deadline.checked_sub(window).unwrap_or(sent);
        self.next_attempt = sent.checked_add(self.renew_every).unwrap_or(self.deadline);
    }

    /// The manager's monotonic clock, as a tokio instant.
    fn now(&self) -> Instant {
        Instant::from_std(self.manager.clock().monotonic())
    }
}
