//! [`Keeper`]: a held lease, renewed until its holder lets go, as a state machine.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::exchange::{Answer, Exchange, at_most, earliest};
use super::jitter::Jitter;
use super::kept::{Kept, ReleaseStep};
use super::renew_policy::RenewPolicy;
use super::retry::{Resend, RetryPolicy};
use super::status::{LeaseStatus, LossReason};
use super::{Ids, RequestId, Transmit};
use crate::error::LeaseError;
use crate::lease::{Lease, ReleaseOutcome};
use crate::now::Now;
use crate::planner::Planner;

/// What a [`Keeper`] tells its driver, in order ([`Keeper::poll_event`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum KeeperEvent<L = Lease> {
    /// A renewal succeeded: [`Keeper::lease`] is the renewed lease (same fencing token, later
    /// expiry and deadlines), and the status is [`Held`](LeaseStatus::Held).
    Renewed {
        /// The renewed lease.
        lease: L,
        /// How many renewal attempts had failed before this one (0 when none: the lease was
        /// not at risk).
        after_failures: u32,
    },
    /// A renewal failed (after the retries of the [`RetryPolicy`]): the status is
    /// [`AtRisk`](LeaseStatus::AtRisk), and the next attempt is due in `retry_in` (no later
    /// than the safe deadline).
    RenewalFailed {
        /// The renewal's error.
        error: Arc<LeaseError>,
        /// Failed attempts in a row, this one included.
        failures: u32,
        /// When the next attempt is due, from now.
        retry_in: Duration,
    },
    /// A renewal in flight is still unanswered when half the time from its sending to the
    /// safe deadline has passed (a store that hangs, a request timeout longer than the lease
    /// has left): the status is [`AtRisk`](LeaseStatus::AtRisk), its error a
    /// [`StoreErrorKind::Timeout`](crate::StoreErrorKind::Timeout) saying so. The renewal
    /// stays in flight: its answer, if it comes before the deadline, decides as usual.
    RenewalUnanswered {
        /// How long ago the renewal was sent.
        waited: Duration,
    },
    /// The lease was lost: the status is [`Lost`](LeaseStatus::Lost). Work under the lease
    /// must stop. Renewals have stopped.
    Lost(LossReason),
    /// A renewal sent while the lease was held was answered after the holder let go of it or
    /// after it was lost: counted, but it changes neither the status nor, unless it found
    /// the lease not ours, the release (which then uses the renewed lease).
    RenewalAfterEnd {
        /// Whether the renewal succeeded in the store.
        renewed: bool,
    },
    /// The holder let go of a held lease ([`Keeper::release`], [`Keeper::drop_guard`]): the
    /// status is [`Released`](LeaseStatus::Released). Work under the lease must stop. The
    /// release request follows (after a renewal in flight, if any).
    LetGo,
    /// The keeper is done: the release request was answered, or none was needed. The keeper
    /// sends nothing more.
    Finished(Finished),
}

/// How a kept lease ended ([`KeeperEvent::Finished`]).
#[derive(Debug)]
#[non_exhaustive]
pub struct Finished {
    /// The release request's result, if one was sent; `None` when it was known not to be ours
    /// any more (a renewal answered [`LeaseError::NotOwned`]).
    pub release: Option<Result<ReleaseOutcome, LeaseError>>,
    /// Why the lease was lost before its holder let go of it, if it was: the holder's work was
    /// not protected by the lease to its end.
    pub lost: Option<LossReason>,
    /// How the holder let go.
    pub ending: Ending,
    /// The key a renewal found not ours ([`LossReason::NotOwned`]), if one did: for a lease
    /// set, which of its keys was lost.
    pub lost_key: Option<crate::key::LeaseKey>,
}

impl Finished {
    /// The answer to the holder's release: [`LeaseError::Lost`] if the lease was lost before
    /// the holder let go, else the release request's result (`NotHeld` when none was sent).
    ///
    /// # Errors
    /// [`LeaseError::Lost`], or the release request's error.
    pub fn into_answer(self, lease: &impl Kept) -> Result<ReleaseOutcome, LeaseError> {
        match (self.lost, self.release) {
            (Some(reason), _) => Err(LeaseError::Lost {
                key: self.lost_key.unwrap_or_else(|| lease.key().clone()),
                reason,
            }),
            (None, Some(result)) => result,
            (None, None) => Ok(ReleaseOutcome::NotHeld),
        }
    }
}

/// How the holder let go of a kept lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ending {
    /// [`Keeper::release`]: the holder waits for the answer.
    Release,
    /// [`Keeper::drop_guard`]: nobody waits; the release is best effort.
    Drop,
    /// [`Keeper::shutdown`]: the manager shut down; the release is best effort.
    Shutdown,
}

/// What the keeper is doing with the store.
#[derive(Debug)]
enum Phase<L> {
    /// Nothing in flight.
    Idle,
    /// A renewal in flight (or waiting for its retry); `pending` is the lease it would give.
    Renewing { exchange: Exchange, pending: L },
    /// The release in flight.
    Releasing { exchange: Exchange },
    /// Finished: nothing more to send.
    Done,
}

/// A held lease, renewed until its holder lets go: the lifecycle of a lease guard as a pure
/// state machine (no I/O, no clock, no timer of its own).
///
/// # Run loop
/// The driver (the `lease` crate's `LeaseGuard`, or the simulator) owns the keeper and, in a
/// loop:
/// 1. sends every request [`poll_transmit`](Self::poll_transmit) returns to the store (one at
///    a time: the keeper has at most one request in flight), and hands the answer to
///    [`handle_response`](Self::handle_response) with the id it was sent under;
/// 2. drains [`poll_event`](Self::poll_event) (renewed, renewal failed, lost, let go,
///    finished), publishing [`status`](Self::status) and [`lease`](Self::lease);
/// 3. sleeps until [`poll_timeout`](Self::poll_timeout) (or an answer, or a command) and calls
///    [`handle_timeout`](Self::handle_timeout), which may be called early at no harm.
///
/// Commands: [`release`](Self::release), [`drop_guard`](Self::drop_guard) and
/// [`shutdown`](Self::shutdown). Queries: [`status_at`](Self::status_at) checks the safe
/// deadline at the given reading first, so a status is never reported held past the deadline,
/// whether or not the driver's timer has fired.
///
/// # Rules
/// - A renewal is sent at a random instant between `renew_every × (1 − jitter)` and
///   `renew_every` (the [`RenewPolicy`]'s period and jitter) after the last successful acquire
///   or renewal was sent, drawn afresh each time from the seed the keeper was made with: never
///   later than the period, and leases acquired together do not stay in step. A failed renewal (after the [`RetryPolicy`]'s retries) makes the lease
///   [`AtRisk`](LeaseStatus::AtRisk) and is retried after the [`RenewPolicy`]'s delays, never
///   later than the safe deadline. So does a renewal still unanswered halfway from its sending
///   to the safe deadline ([`KeeperEvent::RenewalUnanswered`]): a guard whose store hangs is
///   at risk before it is lost, whatever the store's request timeout.
/// - The lease is [`Lost`](LeaseStatus::Lost) with [`LossReason::NotOwned`] when a renewal is
///   answered `NotOwned`, and with [`LossReason::Unconfirmed`] at the first reading at or past
///   its safe deadline ([`Lease::is_valid_at`]: monotonic or wall clock) without a confirmed
///   renewal. A renewal answered after the deadline is not accepted. `Lost` is final.
/// - A release waits for a renewal in flight (or abandons it at the safe deadline), then sends
///   the release unless the lease is known not to be ours; nothing is sent after that.
/// - Every instant comes from `now` arguments; nothing reads a clock.
///
/// A keeper keeps a [`Lease`] by default, or a [`LeaseSet`](crate::LeaseSet) (`Keeper<LeaseSet>`:
/// every key renewed and released together, one transaction each; see [`Kept`]).
#[derive(Debug)]
pub struct Keeper<L: Kept = Lease> {
    planner: Arc<Planner>,
    retry: RetryPolicy,
    policy: RenewPolicy,
    duration: Duration,
    renew_every: Duration,
    /// Draws the point of each renewal within the jitter window.
    jitter: Jitter,
    lease: L,
    status: LeaseStatus,
    epoch: u64,
    status_changes: u64,
    phase: Phase<L>,
    /// When the next renewal attempt is due (while held and idle).
    next_attempt: Option<Instant>,
    failures: u32,
    last_error: Option<Arc<LeaseError>>,
    /// When the renewal in flight was started (its first sending).
    renewing_since: Option<Instant>,
    ending: Option<Ending>,
    /// Whether the release must be sent: not when the lease is known not to be ours.
    send_release: bool,
    /// Why the lease was lost before the holder let go.
    lost_before_end: Option<LossReason>,
    /// Whether a release found part of a set no longer held (and released the rest).
    released_part: bool,
    /// The key a renewal found not ours.
    lost_key: Option<crate::key::LeaseKey>,
    ids: Ids,
    events: VecDeque<KeeperEvent<L>>,
}

impl<L: Kept> Keeper<L> {
    /// A keeper of `lease`, just acquired for `duration`, renewing it as `policy` says and
    /// sending each request as `retry` says; `seed` seeds the renewal jitter (the policy's
    /// [`jitter_seed`](RenewPolicy::jitter_seed), if it has one, wins): give each kept lease
    /// its own, at random, so that leases acquired together renew apart. `now` is a reading of
    /// the holder's clocks taken after the acquire was answered. If the lease's safe deadline
    /// has passed at `now` (the answer came late), the keeper starts
    /// [`Lost`](LeaseStatus::Lost) ([`LossReason::Unconfirmed`]), with the
    /// [`KeeperEvent::Lost`] event queued.
    ///
    /// # Errors
    /// [`LeaseError::InvalidInput`] when the renew period does not fit the duration or the
    /// jitter is out of range ([`RenewPolicy::renew_period`]).
    pub fn new(
        planner: Arc<Planner>,
        lease: L,
        duration: Duration,
        policy: RenewPolicy,
        retry: RetryPolicy,
        seed: u64,
        now: Now,
    ) -> Result<Self, LeaseError> {
        let skew = planner.config().max_clock_skew();
        let renew_every =
            policy
                .renew_period(duration, skew)
                .map_err(|reason| LeaseError::InvalidInput {
                    operation: crate::Operation::Acquire,
                    key: lease.key().clone(),
                    reason,
                })?;
        let mut keeper = Self {
            planner,
            retry,
            policy,
            duration,
            renew_every,
            jitter: Jitter::new(policy.seed_or(seed)),
            lease,
            status: LeaseStatus::Held,
            epoch: 0,
            status_changes: 0,
            phase: Phase::Idle,
            next_attempt: None,
            failures: 0,
            last_error: None,
            renewing_since: None,
            ending: None,
            send_release: true,
            lost_before_end: None,
            released_part: false,
            lost_key: None,
            ids: Ids::default(),
            events: VecDeque::new(),
        };
        keeper.next_attempt = keeper.renewal_due();
        keeper.check_deadline(now);
        Ok(keeper)
    }

    /// The lease as of its last successful acquire or renewal.
    #[must_use]
    pub fn lease(&self) -> &L {
        &self.lease
    }

    /// The status as of the last input. To read it at a given moment, use
    /// [`status_at`](Self::status_at), which checks the safe deadline first.
    #[must_use]
    pub fn status(&self) -> &LeaseStatus {
        &self.status
    }

    /// The status at `now`: if the lease is held but its safe deadline has passed at `now`, it
    /// becomes [`Lost`](LeaseStatus::Lost) ([`LossReason::Unconfirmed`]) first, with its event
    /// queued; a renewal in flight past the deadline is abandoned.
    pub fn status_at(&mut self, now: Now) -> &LeaseStatus {
        self.check_deadline(now);
        &self.status
    }

    /// A counter that grows whenever [`status`](Self::status) or [`lease`](Self::lease)
    /// changes, for drivers that publish them.
    #[must_use]
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// A counter that grows whenever [`status`](Self::status) changes (a renewal of a lease
    /// that stays held does not change it; each failed renewal does, with its new error).
    #[must_use]
    pub fn status_changes(&self) -> u64 {
        self.status_changes
    }

    /// The renew period in use: the longest from a successful acquire or renewal to the next
    /// renewal (the jitter brings renewals forward, never later).
    #[must_use]
    pub fn renew_every(&self) -> Duration {
        self.renew_every
    }

    /// Whether the keeper is done: it has let go and sends nothing more.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    /// How the holder let go, once it did.
    #[must_use]
    pub fn ending(&self) -> Option<Ending> {
        self.ending
    }

    /// The next request to send, if one is due at `now`: a renewal, a retry, or the release.
    /// The keeper then waits for its answer ([`handle_response`](Self::handle_response)).
    pub fn poll_transmit(&mut self, now: Now) -> Option<Transmit<'_>> {
        self.handle_timeout(now);
        match &mut self.phase {
            Phase::Renewing { exchange, .. } | Phase::Releasing { exchange } => {
                exchange.poll_transmit(now.monotonic)
            }
            Phase::Idle | Phase::Done => None,
        }
    }

    /// Whether the answer to `id` is awaited (a driver may drop a request in flight that is
    /// not: the keeper abandoned it).
    #[must_use]
    pub fn is_awaiting(&self, id: RequestId) -> bool {
        match &self.phase {
            Phase::Renewing { exchange, .. } | Phase::Releasing { exchange } => {
                exchange.is_awaiting(id)
            }
            Phase::Idle | Phase::Done => false,
        }
    }

    /// The id of the request in flight, if one is: a driver that lost the answer (it was
    /// restarted) reports it as failed, so that the request is sent again.
    #[must_use]
    pub fn in_flight(&self) -> Option<RequestId> {
        match &self.phase {
            Phase::Renewing { exchange, .. } | Phase::Releasing { exchange } => {
                exchange.in_flight()
            }
            Phase::Idle | Phase::Done => None,
        }
    }

    /// Takes the store's answer to the request sent as `id`, read at `now`. An answer that is
    /// not awaited (abandoned, or a duplicate) is ignored.
    pub fn handle_response(&mut self, id: RequestId, answer: Answer, now: Now) {
        self.check_deadline(now);
        let done = match &mut self.phase {
            Phase::Renewing { exchange, .. } | Phase::Releasing { exchange } => exchange
                .handle_response(id, L::as_retried(answer), now.monotonic, &mut self.ids)
                .done(),
            Phase::Idle | Phase::Done => None,
        };
        if let Some(answer) = done {
            match std::mem::replace(&mut self.phase, Phase::Idle) {
                Phase::Renewing { pending, .. } => self.renewed(pending, answer, now),
                Phase::Releasing { .. } => self.released(answer, now),
                other => self.phase = other,
            }
        }
        self.advance(now);
    }

    /// Processes every timer due at `now`: the safe deadline, a renewal, a retry. Safe to call
    /// at any time.
    pub fn handle_timeout(&mut self, now: Now) {
        self.check_deadline(now);
        self.check_overdue(now);
        if let Phase::Renewing { exchange, .. } | Phase::Releasing { exchange } = &mut self.phase {
            exchange.handle_timeout(now.monotonic);
        }
        self.advance(now);
    }

    /// The next instant at which [`handle_timeout`](Self::handle_timeout) has something to
    /// do: the safe deadline while the lease is held (or a renewal is in flight), the next
    /// renewal, or a retry's backoff. `None` when only an answer or a command can move the
    /// keeper on.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let deadline = self.lease.valid_until();
        let mut next = None;
        if self.status.is_held() || matches!(self.phase, Phase::Renewing { .. }) {
            next = earliest(next, deadline);
        }
        match &self.phase {
            Phase::Idle if self.status.is_held() && self.ending.is_none() => {
                next = earliest(next, self.next_attempt);
            }
            Phase::Renewing { exchange, .. } | Phase::Releasing { exchange } => {
                next = earliest(next, exchange.poll_timeout());
            }
            Phase::Idle | Phase::Done => {}
        }
        if matches!(self.status, LeaseStatus::Held) {
            next = earliest(next, self.overdue_at());
        }
        next
    }

    /// The next event, in order.
    pub fn poll_event(&mut self) -> Option<KeeperEvent<L>> {
        let event = self.events.pop_front();
        if self.events.is_empty() && self.events.capacity() > 0 {
            // A kept lease spends nearly all its life with no event queued: give the queue's
            // buffer back (room for 4 events, 768 bytes) instead of keeping it per kept lease
            // between renewals. One allocation per renewal's events, next to the renewal's own.
            self.events = VecDeque::new();
        }
        event
    }

    /// The holder lets go (the `lease` crate's `LeaseGuard::release`): work stops now (the
    /// status becomes [`Released`](LeaseStatus::Released) if the lease is still held at `now`),
    /// a renewal in flight completes (or is abandoned at the safe deadline), then the release
    /// is sent; [`KeeperEvent::Finished`] carries the answer. If the lease was lost before
    /// (checked at `now` first), the answer says so ([`Finished::into_answer`]), and the release
    /// is still sent unless the lease is known not to be ours. Ignored after the first ending.
    pub fn release(&mut self, now: Now) {
        self.end(Ending::Release, now);
    }

    /// The holder's guard is gone: as [`release`](Self::release), best effort.
    pub fn drop_guard(&mut self, now: Now) {
        self.end(Ending::Drop, now);
    }

    /// The manager shuts down: a held lease becomes [`Lost`](LeaseStatus::Lost)
    /// ([`LossReason::Shutdown`]) and is released, best effort.
    pub fn shutdown(&mut self, now: Now) {
        self.end(Ending::Shutdown, now);
    }

    fn end(&mut self, ending: Ending, now: Now) {
        if self.ending.is_some() || self.is_finished() {
            return;
        }
        self.check_deadline(now);
        self.ending = Some(ending);
        self.lost_before_end = self.status.loss_reason().cloned();
        // Renewals stop: one in flight is waited for (it may land), one only waiting for its
        // retry is dropped.
        if let Phase::Renewing { exchange, .. } = &self.phase
            && exchange.in_flight().is_none()
        {
            self.phase = Phase::Idle;
        }
        if self.status.is_held() {
            match ending {
                Ending::Shutdown => self.lose(LossReason::Shutdown),
                Ending::Release | Ending::Drop => {
                    self.set_status(LeaseStatus::Released);
                    self.events.push_back(KeeperEvent::LetGo);
                }
            }
        }
        self.advance(now);
    }

    /// The lease is lost at `now` if it is held past its safe deadline; a renewal in flight
    /// past the deadline is abandoned (whatever the status: a release waits for it no longer).
    /// When the renewal in flight is overdue: halfway from its start to the safe deadline.
    /// `None` when no renewal is in flight.
    fn overdue_at(&self) -> Option<Instant> {
        if !matches!(self.phase, Phase::Renewing { .. }) {
            return None;
        }
        let since = self.renewing_since?;
        let deadline = self.lease.valid_until()?;
        Some(since + deadline.saturating_duration_since(since) / 2)
    }

    /// A held lease whose renewal is overdue at `now` is at risk
    /// ([`KeeperEvent::RenewalUnanswered`]).
    fn check_overdue(&mut self, now: Now) {
        let (Some(at), Some(due)) = (now.monotonic, self.overdue_at()) else {
            return;
        };
        if at < due || !matches!(self.status, LeaseStatus::Held) {
            return;
        }
        let waited = at.saturating_duration_since(self.renewing_since.unwrap_or(at));
        let error = Arc::new(LeaseError::Store {
            operation: crate::error::Operation::Refresh,
            key: self.lease.key().clone(),
            source: crate::response::StoreError::new(
                crate::response::StoreErrorKind::Timeout,
                format!(
                    "the renewal sent {waited:?} ago is unanswered, halfway to the lease's safe \
                     deadline (it stays in flight)"
                ),
            ),
        });
        self.last_error = Some(Arc::clone(&error));
        self.set_status(LeaseStatus::AtRisk {
            since: at,
            last_error: error,
        });
        self.events
            .push_back(KeeperEvent::RenewalUnanswered { waited });
    }

    fn check_deadline(&mut self, now: Now) {
        if self.lease.is_valid_at(now) {
            return;
        }
        if matches!(self.phase, Phase::Renewing { .. }) {
            self.phase = Phase::Idle;
        }
        if self.status.is_held() {
            let last_error = self.last_error.clone();
            self.lose(LossReason::Unconfirmed { last_error });
        }
    }

    /// Starts what is due when nothing is in flight: the release after an ending, or a
    /// renewal.
    fn advance(&mut self, now: Now) {
        if !matches!(self.phase, Phase::Idle) {
            return;
        }
        if let Some(ending) = self.ending {
            self.start_release(ending, now);
            return;
        }
        let due = matches!((self.next_attempt, now.monotonic), (Some(due), Some(at)) if at >= due);
        if self.status.is_held() && due {
            self.start_renewal(now);
        }
    }

    fn start_renewal(&mut self, now: Now) {
        match self.lease.plan_renewal(&self.planner, self.duration, now) {
            Ok((request, pending)) => {
                let exchange =
                    Exchange::new(request, self.ids.next(), self.retry, Resend::Transient);
                self.phase = Phase::Renewing { exchange, pending };
                self.renewing_since = now.monotonic;
            }
            Err(error) => self.renewal_failed(error, now),
        }
    }

    fn start_release(&mut self, ending: Ending, now: Now) {
        if !self.send_release {
            self.finish(ending, None);
            return;
        }
        match self.lease.plan_release(&self.planner, now) {
            Ok(request) => {
                let exchange =
                    Exchange::new(request, self.ids.next(), self.retry, Resend::Transient);
                self.phase = Phase::Releasing { exchange };
            }
            Err(error) => self.finish(ending, Some(Err(error))),
        }
    }

    /// A renewal's final answer, read at `now`.
    fn renewed(&mut self, pending: L, answer: Answer, now: Now) {
        match L::renewal_answer(pending, answer) {
            Ok(lease) => {
                self.send_release = true;
                if !self.status.is_held() {
                    // Let go (or lost) meanwhile: keep the newer lease for the release only.
                    self.lease = lease;
                    self.events
                        .push_back(KeeperEvent::RenewalAfterEnd { renewed: true });
                    return;
                }
                let after_failures = self.failures;
                self.lease = lease.clone();
                self.failures = 0;
                self.last_error = None;
                if matches!(self.status, LeaseStatus::Held) {
                    self.epoch = self.epoch.wrapping_add(1);
                } else {
                    self.set_status(LeaseStatus::Held);
                }
                self.next_attempt = self.renewal_due();
                self.events.push_back(KeeperEvent::Renewed {
                    lease,
                    after_failures,
                });
                // An answer in time for the old deadline can still come after the new one.
                self.check_deadline(now);
            }
            Err(LeaseError::NotOwned { key }) => {
                self.lost_key.get_or_insert(key);
                // A lease found not ours has nothing to release; a set may still hold the
                // keys that were not lost, which the release frees.
                self.send_release = L::RELEASE_WHEN_NOT_OWNED;
                if self.status.is_held() {
                    self.lose(LossReason::NotOwned);
                } else {
                    self.events
                        .push_back(KeeperEvent::RenewalAfterEnd { renewed: false });
                }
            }
            Err(error) => {
                if self.status.is_held() {
                    self.renewal_failed(error, now);
                } else {
                    self.events
                        .push_back(KeeperEvent::RenewalAfterEnd { renewed: false });
                }
            }
        }
    }

    fn renewal_failed(&mut self, error: LeaseError, now: Now) {
        let Some(at) = now.monotonic else {
            return;
        };
        self.failures = self.failures.saturating_add(1);
        let delay = self.policy.retry_delay(self.failures);
        let deadline = self.lease.valid_until().unwrap_or(at);
        let next = at_most(at, delay, deadline);
        self.next_attempt = Some(next);
        let since = match &self.status {
            LeaseStatus::AtRisk { since, .. } => *since,
            _ => at,
        };
        let error = Arc::new(error);
        self.last_error = Some(Arc::clone(&error));
        self.set_status(LeaseStatus::AtRisk {
            since,
            last_error: Arc::clone(&error),
        });
        self.events.push_back(KeeperEvent::RenewalFailed {
            error,
            failures: self.failures,
            retry_in: next.saturating_duration_since(at),
        });
    }

    fn released(&mut self, answer: Answer, now: Now) {
        let ending = self.ending.unwrap_or(Ending::Drop);
        match self.lease.release_answer(&self.planner, answer, now) {
            ReleaseStep::Done(Ok(ReleaseOutcome::Released)) if self.released_part => {
                self.finish(ending, Some(Ok(ReleaseOutcome::NotHeld)));
            }
            ReleaseStep::Done(result) => self.finish(ending, Some(result)),
            ReleaseStep::Again(request) => {
                self.released_part = true;
                let exchange =
                    Exchange::new(request, self.ids.next(), self.retry, Resend::Transient);
                self.phase = Phase::Releasing { exchange };
            }
        }
    }

    fn finish(&mut self, ending: Ending, release: Option<Result<ReleaseOutcome, LeaseError>>) {
        self.phase = Phase::Done;
        self.next_attempt = None;
        self.events.push_back(KeeperEvent::Finished(Finished {
            release,
            lost: self.lost_before_end.take(),
            ending,
            lost_key: self.lost_key.clone(),
        }));
    }

    fn lose(&mut self, reason: LossReason) {
        self.next_attempt = None;
        self.set_status(LeaseStatus::Lost(reason.clone()));
        self.events.push_back(KeeperEvent::Lost(reason));
    }

    fn set_status(&mut self, status: LeaseStatus) {
        self.status = status;
        self.epoch = self.epoch.wrapping_add(1);
        self.status_changes = self.status_changes.wrapping_add(1);
    }

    /// When the next renewal is due: the lease's last write's send instant plus the period,
    /// brought forward by a fresh draw of the jitter (never later than the period).
    fn renewal_due(&mut self) -> Option<Instant> {
        let written = self.lease.written_at()?;
        let wait = self.policy.jittered(self.renew_every, &mut self.jitter);
        written.checked_add(wait)
    }
}
