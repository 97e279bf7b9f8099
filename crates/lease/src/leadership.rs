//! Leader election: campaigning (a guard whose acquire proclaims a value), the leadership
//! handle, and observers (lease-core's [`Observer`], driven by a task). docs/lifecycle.md,
//! "Leader election".

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::in_flight::{InFlight, answer};
use lease_core::lifecycle::Observer;
use lease_core::{
    FencingToken, Leader, LeaseError, LeaseKey, LeaseStatus, LossReason, MIN_POLL_DELAY,
    ReleaseOutcome, Store, Text, election_key,
};
use tokio::sync::watch;
use tracing::warn;

use crate::guard::{self, GuardOptions, LeaseContext, LeaseGuard, StatusWatch};
use crate::manager::LeaseManager;

/// Leadership of an election, won by [`LeaseManager::campaign`]: a [`LeaseGuard`] on the
/// election's lease whose acquire proclaimed the candidate's value. It renews in the
/// background, carries the term's fencing token, and reports at-risk and lost exactly as a
/// guard does. [`resign`](Self::resign) releases it; dropping it releases it too (a waiting
/// candidate of the same manager takes over at once: in-process handover).
#[must_use = "dropping a leadership resigns it at once"]
pub struct Leadership<S: Store + 'static> {
    guard: LeaseGuard<S>,
    value: Text,
}

impl<S: Store + 'static> Leadership<S> {
    /// The election's key.
    #[must_use]
    pub fn key(&self) -> &LeaseKey {
        self.guard.key()
    }

    /// The value this leader proclaimed.
    #[must_use]
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The fencing token of this term: send it with every write the leader makes.
    #[must_use]
    pub fn fence(&self) -> FencingToken {
        self.guard.fence()
    }

    /// The status now (held, at risk, lost, released), as [`LeaseGuard::status`].
    #[must_use]
    pub fn status(&self) -> LeaseStatus {
        self.guard.status()
    }

    /// Whether this candidate may act as the leader now, as [`LeaseGuard::is_valid`].
    #[must_use]
    pub fn is_leading(&self) -> bool {
        self.guard.is_valid()
    }

    /// Resolves when the leadership is lost, with the reason, as [`LeaseGuard::lost`].
    pub async fn lost(&self) -> LossReason {
        self.guard.lost().await
    }

    /// A follower of the status's changes, as [`LeaseGuard::subscribe`].
    #[must_use]
    pub fn subscribe(&self) -> StatusWatch {
        self.guard.subscribe()
    }

    /// A read-only view to hand to work done as the leader, as [`LeaseGuard::context`].
    #[must_use]
    pub fn context(&self) -> LeaseContext {
        self.guard.context()
    }

    /// The guard underneath.
    pub fn guard(&self) -> &LeaseGuard<S> {
        &self.guard
    }

    /// Steps down: releases the election's lease, as [`LeaseGuard::release`] (the next
    /// candidate may win at once).
    ///
    /// # Errors
    /// As [`LeaseGuard::release`]: [`LeaseError::Lost`] if the leadership was lost first.
    pub async fn resign(self) -> Result<ReleaseOutcome, LeaseError> {
        self.guard.release().await
    }
}

impl<S: Store + 'static> fmt::Debug for Leadership<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Leadership")
            .field("key", self.key())
            .field("value", &self.value)
            .field("fence", &self.fence())
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

/// The task behind a [`LeaderWatch`] has ended (its tokio runtime shut down): the watch will
/// not change any more.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the leader observer stopped (its runtime shut down)")]
#[non_exhaustive]
pub struct ObserverStopped;

/// A follower of an election's leader ([`LeaseManager::observe`]): the leader as last read,
/// re-judged by the observer's clock, so that it turns to `None` when the leader's lease
/// expires even if no read succeeds meanwhile.
///
/// Cloning it is cheap; the reads stop when the last clone is dropped.
#[derive(Clone, Debug)]
pub struct LeaderWatch {
    rx: watch::Receiver<Option<Leader>>,
    /// The last read's error, `None` after a read succeeded; sent after every read.
    errors: watch::Receiver<Option<Arc<LeaseError>>>,
}

impl LeaderWatch {
    /// The leader now, as last observed (with the expiry of its last renewal read): `None`
    /// when there is none (never elected, resigned, expired), or before the first read
    /// answered.
    #[must_use]
    pub fn leader(&self) -> Option<Leader> {
        self.rx.borrow().clone()
    }

    /// Waits until the observed leader changes (another leader, a new term of the same one,
    /// or no leader: `Ok(None)`), and returns it. A renewal of the same term is not a change
    /// (it only moves the expiry [`leader`](Self::leader) shows). The first read that
    /// succeeds counts as a change, even when it finds no leader (`Ok(None)`): a caller who
    /// read the leader before watching learns that it is gone.
    ///
    /// # Errors
    /// [`ObserverStopped`] once the observer task has ended (its runtime shut down): nothing
    /// will change any more.
    pub async fn changed(&mut self) -> Result<Option<Leader>, ObserverStopped> {
        self.rx.changed().await.map_err(|_| ObserverStopped)?;
        Ok(self.rx.borrow_and_update().clone())
    }

    /// The error of the last read, if it failed: the leader shown is then the one last read,
    /// until its expiry. `None` before the first read answered and after a read succeeded.
    #[must_use]
    pub fn last_error(&self) -> Option<Arc<LeaseError>> {
        self.errors.borrow().clone()
    }

    /// Waits until a read fails (the table is missing, access is denied, the store is
    /// unreachable after the manager's retries, the item is not a readable lease), and returns
    /// its error. Each failed read after this call is reported once; a failure already seen
    /// (through this method, or before it was first called) is not reported again. Meanwhile
    /// the leader shown stays the one last read, until its expiry.
    ///
    /// # Errors
    /// [`ObserverStopped`] once the observer task has ended.
    pub async fn read_failed(&mut self) -> Result<Arc<LeaseError>, ObserverStopped> {
        loop {
            self.errors.changed().await.map_err(|_| ObserverStopped)?;
            if let Some(error) = self.errors.borrow_and_update().clone() {
                return Ok(error);
            }
        }
    }

    /// Whether the observer task still reads the election.
    #[must_use]
    pub fn is_running(&self) -> bool {
        self.rx.has_changed().is_ok()
    }
}

/// Passes the observer's changes to the watchers: woken by a change of term (another leader, a
/// new term, none); a renewal only updates the expiry shown. Whether the watchers were woken.
fn publish(tx: &watch::Sender<Option<Leader>>, observer: &mut Observer) -> bool {
    let mut woken = false;
    while let Some(change) = observer.poll_change() {
        woken |= tx.send_if_modified(|shown| {
            let new_term = !Leader::same_term(shown.as_ref(), change.as_ref());
            *shown = change;
            new_term
        });
    }
    woken
}

impl<S: Store + 'static> LeaseManager<S> {
    /// Campaigns for leadership of the election `name`, proclaiming `value` (the candidate's
    /// name or address, which observers read): acquires the election's lease ([`election_key`])
    /// for `duration`, once or waiting as [`GuardOptions::wait`] says, and returns the
    /// [`Leadership`], renewed in the background like a [`LeaseGuard`].
    ///
    /// To stay a candidate after losing a term, campaign again in a loop: a campaign returns
    /// once per term won, and a lost or resigned leadership never comes back by itself.
    ///
    /// # Errors
    /// - [`LeaseError::InvalidInput`] before any request for an empty value or one over
    ///   [`MAX_VALUE_BYTES`](crate::config::MAX_VALUE_BYTES), and as
    ///   [`acquire_guard`](Self::acquire_guard).
    /// - [`LeaseError::Held`] (no wait) or [`LeaseError::WaitTimedOut`] when another candidate
    ///   leads; otherwise as [`acquire_guard`](Self::acquire_guard).
    ///
    /// # Panics
    /// Outside a tokio runtime (the guard's driver task is spawned on the current one).
    pub async fn campaign(
        &self,
        name: impl Into<Text>,
        value: impl Into<Text>,
        duration: Duration,
        options: GuardOptions,
    ) -> Result<Leadership<S>, LeaseError> {
        let value = value.into();
        let guard =
            guard::acquire_guard(self, election_key(name), duration, options, Some(&value)).await?;
        Ok(Leadership { guard, value })
    }

    /// The leader of the election `name` now: one strongly consistent read of its item, judged
    /// by this manager's clock. `None` when there is no leader (never elected, resigned, or its
    /// lease expired).
    ///
    /// # Errors
    /// As [`inspect`](Self::inspect).
    pub async fn leader(&self, name: impl Into<Text>) -> Result<Option<Leader>, LeaseError> {
        let snapshot = self.inspect(election_key(name)).await?;
        Ok(Leader::of(&snapshot).filter(|leader| leader.is_current_at(self.clock().now())))
    }

    /// Follows the leader of the election `name`: a task on the current tokio runtime drives
    /// lease-core's [`Observer`]: it reads the leader (as [`leader`](Self::leader)) every
    /// `every` (at least [`MIN_POLL_DELAY`], 10 ms) and is woken at the shown leader's expiry,
    /// judging it by this manager's clock: a leader whose lease has expired is shown as `None`
    /// at its expiry, whatever the reads say, so an observer never reports a leader later than
    /// its lease's end plus the clock skew bound. The store sees one `GetItem` per `every` per
    /// observer (and its retries, as the manager's [`RetryPolicy`](crate::config::RetryPolicy)
    /// says). A failed read keeps the leader last read until its expiry; its error is logged as
    /// a warning and reported by [`LeaderWatch::last_error`] and [`LeaderWatch::read_failed`].
    /// A release is seen at the next read.
    ///
    /// The task stops when the last [`LeaderWatch`] clone is dropped. The manager's clock must
    /// follow tokio's timer, as for guards.
    ///
    /// # Errors
    /// [`LeaseError::InvalidInput`] for an empty or oversized name, before any request.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn observe(
        &self,
        name: impl Into<Text>,
        every: Duration,
    ) -> Result<LeaderWatch, LeaseError> {
        let mut observer =
            Observer::new(Arc::clone(self.planner()), name, every, self.retry_policy())?;
        let (tx, rx) = watch::channel(None);
        let (errors_tx, errors) = watch::channel(None);
        let manager = self.clone();
        drop(tokio::spawn(async move {
            // The read in flight, raced against the observer's timers (above all the shown
            // leader's expiry): a slow read never keeps a leader shown past its lease.
            let mut in_flight: Option<InFlight> = None;
            let mut announced = false;
            loop {
                let now = manager.clock_reading();
                observer.handle_timeout(now);
                if in_flight.is_none()
                    && let Some(transmit) = observer.poll_transmit(now)
                {
                    let (id, request) = (transmit.id, transmit.request.clone());
                    let reader = manager.clone();
                    in_flight = Some((
                        id,
                        Box::pin(async move { reader.store().execute(&request).await }),
                    ));
                }
                let _ = publish(&tx, &mut observer);
                // Never closer than 1 ms: a timer that stays due cannot spin the task.
                let wait = match (observer.poll_timeout(), now.monotonic) {
                    (Some(at), Some(read)) => at.saturating_duration_since(read),
                    _ => MIN_POLL_DELAY,
                }
                .max(Duration::from_millis(1));
                tokio::select! {
                    () = tx.closed() => return,
                    (id, answer) = answer(&mut in_flight) => {
                        in_flight = None;
                        observer.handle_response(id, answer, manager.clock_reading());
                        let error = observer.shared_last_error();
                        if let Some(error) = &error {
                            warn!(key = %error.key(), error = %error.report(), "could not read the leader; showing the last one until its expiry");
                        }
                        let read = error.is_none();
                        errors_tx.send_replace(error);
                        let woken = publish(&tx, &mut observer);
                        // The first read that succeeds wakes the watchers even when it found no
                        // leader (which the watch already showed, as "nothing read yet"): one
                        // who read the leader before watching learns that it is gone.
                        if read && !announced {
                            announced = true;
                            if !woken {
                                tx.send_modify(|_| {});
                            }
                        }
                    }
                    () = tokio::time::sleep(wait) => {}
                }
            }
        }));
        Ok(LeaderWatch { rx, errors })
    }
}
