//! [`WaitOp`]: acquire a lease, waiting while another holder has it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::time::SystemTime;

use super::acquire_op::AcquireOp;
use super::exchange::{Answer, earliest, saturating_add};
use super::jitter::Jitter;
use super::machine::{Machine, OpEvent};
use super::retry::RetryPolicy;
use super::wait_policy::WaitPolicy;
use super::wait_queue::Turn;
use super::{RequestId, Transmit};
use crate::error::LeaseError;
use crate::holder::Holder;
use crate::key::LeaseKey;
use crate::lease::Lease;
use crate::now::Now;
use crate::planner::Planner;
use crate::response::StoreErrorKind;
use crate::text::Text;
use crate::token::TokenSource;

/// The most a throttled waiter's delay grows to, in multiples of the policy's `max_delay`.
const MAX_THROTTLED_FACTOR: u32 = 8;

/// Why the last attempt did not acquire the lease.
#[derive(Debug)]
enum Blocked {
    /// Held by another holder.
    Held(Holder),
    /// A failure that may pass (waited through).
    Failed(LeaseError),
}

/// Where the wait stands.
#[derive(Debug)]
enum State {
    /// An attempt in progress: a single try ([`AcquireOp::reading_holder`]); `sent` once
    /// its first request went out.
    Attempting { op: Box<AcquireOp>, sent: bool },
    /// Waiting until `until` for the next attempt.
    Sleeping { until: Instant },
    /// In line behind another waiter of the process ([`Turn::Queued`]): no attempt until
    /// told, or until the deadline (if any) for the last one.
    Parked,
    /// The result, until taken.
    Done(Option<Result<Lease, LeaseError>>),
}

/// A waiting acquire as a [`Machine`]: attempts (each a single try with a fresh token, as
/// [`AcquireOp`] with the holder read) until the lease is acquired, a hard error, or the
/// [`WaitPolicy`]'s timeout, sleeping between attempts as the policy says: until the holder's
/// known expiry, or polling with jittered, capped backoff.
///
/// Losing a race to another contender is not an error ([`OpEvent::Contended`]); transient
/// failures, unknown outcomes and attempts answered past their deadline are waited through
/// ([`OpEvent::AttemptFailed`]); any other error ends the wait at once. The timeout runs on
/// the monotonic clock from the reading the wait was made at; one last attempt is made at the
/// deadline.
///
/// Dropping the machine ends the wait: it holds nothing that needs a request to let go (an
/// attempt whose request is in flight may still land; that lease expires by itself).
#[derive(Debug)]
pub struct WaitOp {
    planner: Arc<Planner>,
    retry: RetryPolicy,
    tokens: Arc<dyn TokenSource>,
    key: LeaseKey,
    duration: Duration,
    policy: WaitPolicy,
    deadline: Option<Instant>,
    jitter: Jitter,
    polls: u32,
    /// The id the next attempt's first request gets: attempts continue one numbering, so that
    /// a late answer to an earlier attempt is never taken for the answer to a later one.
    next_id: u64,
    /// Throttled attempts in a row.
    throttled: u32,
    /// The value each attempt proclaims (a campaign's).
    value: Option<Text>,
    /// Told to attempt while an attempt was in flight: if that one finds the lease held, the
    /// next goes at once (the release came after it was sent).
    woken: bool,
    events: VecDeque<OpEvent>,
    state: State,
}

impl WaitOp {
    /// A wait for the lease at `key`, for `duration`, as `policy` says, starting at `now`
    /// with its first attempt. Each attempt takes a fresh token from `tokens`; `seed` seeds
    /// the jitter (the policy's [`jitter_seed`](WaitPolicy::jitter_seed), if it has one,
    /// takes precedence).
    ///
    /// # Errors
    /// [`LeaseError::InvalidInput`] (nothing to send) for bad input, as
    /// [`Planner::acquire`].
    #[expect(
        clippy::too_many_arguments,
        reason = "each is a separate input of the wait"
    )]
    pub fn new(
        planner: Arc<Planner>,
        key: LeaseKey,
        duration: Duration,
        policy: WaitPolicy,
        retry: RetryPolicy,
        tokens: Arc<dyn TokenSource>,
        seed: u64,
        now: Now,
    ) -> Result<Self, LeaseError> {
        let deadline = match (policy.timeout, now.monotonic) {
            // A timeout past the end of the clock's range is no deadline, not an immediate one.
            (Some(timeout), Some(at)) => at.checked_add(timeout),
            (Some(_), None) => now.monotonic,
            (None, _) => None,
        };
        // Every error of the wait names the key as the lease will: with its sort key.
        let key = planner.resolve(key);
        let jitter = Jitter::new(policy.jitter_seed.unwrap_or(seed));
        let mut wait = Self {
            planner,
            retry,
            tokens,
            key,
            duration,
            policy,
            deadline,
            jitter,
            polls: 0,
            next_id: 0,
            woken: false,
            throttled: 0,
            value: None,
            events: VecDeque::new(),
            state: State::Done(None),
        };
        wait.state = wait.attempting(now)?;
        Ok(wait)
    }

    /// The same wait, each attempt also writing `value` to the item's value attribute (leader
    /// election: a campaign; see [`AcquirePlan::proclaiming`](crate::AcquirePlan::proclaiming)).
    /// Call it right after [`new`](Self::new).
    ///
    /// # Errors
    /// [`LeaseError::InvalidInput`] for an empty value or one over
    /// [`MAX_VALUE_BYTES`](crate::MAX_VALUE_BYTES), before anything is sent.
    pub fn proclaiming(mut self, value: impl Into<Text>) -> Result<Self, LeaseError> {
        let value = value.into();
        self.state = match std::mem::replace(&mut self.state, State::Done(None)) {
            State::Attempting { op, sent } => State::Attempting {
                op: Box::new(op.proclaiming(value.clone())?),
                sent,
            },
            other => other,
        };
        self.value = Some(value);
        Ok(self)
    }

    /// Takes a turn given by the process's [`WaitQueue`](super::WaitQueue), at `now`:
    /// - [`Turn::Attempt`]: attempt now, unless an attempt is under way (if its request is
    ///   already out and it finds the lease held, the next attempt goes at once instead of
    ///   after a sleep: the release may have come after it was sent);
    /// - [`Turn::Behind`]: the lease's holder is known locally: sleep as for a holder an
    ///   attempt found (until its expiry, at most `max_delay`), instead of an attempt not yet
    ///   sent; an attempt already out decides for itself;
    /// - [`Turn::Queued`]: send nothing until told, or until the deadline for the last
    ///   attempt (an attempt not yet sent is dropped; one already out decides for itself).
    ///
    /// A finished wait ignores every turn. Give the first turn right after
    /// [`new`](Self::new), before the first [`poll_transmit`](Machine::poll_transmit), so that a
    /// waiter in line sends nothing.
    pub fn take_turn(&mut self, turn: Turn, now: Now) {
        let unsent = matches!(self.state, State::Attempting { sent: false, .. });
        match turn {
            Turn::Attempt => match &self.state {
                State::Attempting { sent: true, .. } => self.woken = true,
                State::Sleeping { .. } | State::Parked => self.state = self.attempt_or_finish(now),
                State::Attempting { sent: false, .. } | State::Done(_) => {}
            },
            Turn::Behind(holder) => {
                if unsent || matches!(self.state, State::Sleeping { .. } | State::Parked) {
                    self.blocked(Blocked::Held(holder), now);
                }
            }
            Turn::Queued => {
                if unsent || matches!(self.state, State::Sleeping { .. }) {
                    self.state = State::Parked;
                }
            }
        }
    }

    /// A new attempt at `now`, not yet sent.
    fn attempting(&mut self, now: Now) -> Result<State, LeaseError> {
        self.woken = false;
        Ok(State::Attempting {
            op: Box::new(self.attempt(now)?),
            sent: false,
        })
    }

    /// A new attempt at `now`, or the end of the wait if it cannot be made.
    fn attempt_or_finish(&mut self, now: Now) -> State {
        self.attempting(now)
            .unwrap_or_else(|error| State::Done(Some(Err(error))))
    }

    /// A single try at `now` with a fresh token.
    fn attempt(&self, now: Now) -> Result<AcquireOp, LeaseError> {
        let op = self.unproclaimed_attempt(now)?;
        match &self.value {
            Some(value) => op.proclaiming(value.clone()),
            None => Ok(op),
        }
    }

    /// [`attempt`](Self::attempt) without the value.
    fn unproclaimed_attempt(&self, now: Now) -> Result<AcquireOp, LeaseError> {
        Ok(AcquireOp::numbered_from(
            Arc::clone(&self.planner),
            self.key.clone(),
            self.duration,
            now,
            self.tokens.next_token(),
            self.retry,
            self.next_id,
        )?
        .reading_holder())
    }

    /// An attempt's result, at `now`: the lease, the end of the wait, or the next sleep.
    fn attempted(&mut self, result: Result<Lease, LeaseError>, now: Now) {
        let blocked = match result {
            Ok(lease) => return self.finish(Ok(lease)),
            Err(LeaseError::Held { holder, .. }) => Blocked::Held(holder),
            Err(error) if may_pass(&error) => Blocked::Failed(error),
            Err(error) => return self.finish(Err(error)),
        };
        self.blocked(blocked, now);
    }

    /// The lease could not be had at `now`: sleeps until the next attempt (at once if told to
    /// attempt meanwhile), or ends the wait at its deadline.
    fn blocked(&mut self, blocked: Blocked, now: Now) {
        let throttled = matches!(
            &blocked,
            Blocked::Failed(LeaseError::Store { source, .. })
                if source.kind() == StoreErrorKind::Throttled
        );
        self.throttled = if throttled {
            self.throttled.saturating_add(1)
        } else {
            0
        };
        let delay = match &blocked {
            _ if throttled => self.throttled_delay(),
            _ if std::mem::take(&mut self.woken) => Duration::ZERO,
            Blocked::Held(holder) => match until_expiry(holder, now.wall) {
                Some(until) if until <= self.policy.max_delay => until.max(super::MIN_POLL_DELAY),
                Some(_) => self
                    .policy
                    .jittered(self.policy.max_delay, &mut self.jitter),
                None => self.backoff(),
            },
            Blocked::Failed(_) => self.backoff(),
        };
        match &blocked {
            Blocked::Held(holder) => self.events.push_back(OpEvent::Contended {
                key: self.key.clone(),
                holder: holder.clone(),
                retry_in: delay,
            }),
            Blocked::Failed(error) => self.events.push_back(OpEvent::AttemptFailed {
                key: self.key.clone(),
                error: error.report().to_string(),
                retry_in: delay,
            }),
        }
        let Some(at) = now.monotonic else {
            return self.finish(Err(timed_out(self.key.clone(), blocked)));
        };
        if self.deadline.is_some_and(|deadline| at >= deadline) {
            return self.finish(Err(timed_out(self.key.clone(), blocked)));
        }
        let wake = saturating_add(at, delay);
        let until = earliest(Some(wake), self.deadline).unwrap_or(wake);
        self.state = State::Sleeping { until };
    }

    /// The delay after the `throttled`-th throttled attempt in a row: `max_delay`, doubled
    /// after each further one up to [`MAX_THROTTLED_FACTOR`] times it, with jitter (B37: a
    /// crowd of waiters must not keep the key's partition throttled).
    fn throttled_delay(&mut self) -> Duration {
        let doublings = self
            .throttled
            .saturating_sub(1)
            .min(MAX_THROTTLED_FACTOR.ilog2());
        let delay = self.policy.max_delay.saturating_mul(1 << doublings);
        self.policy.jittered(delay, &mut self.jitter)
    }

    /// The next backoff without a known expiry.
    fn backoff(&mut self) -> Duration {
        let delay = self.policy.backoff(self.polls, &mut self.jitter);
        self.polls = self.polls.saturating_add(1);
        delay
    }

    fn finish(&mut self, result: Result<Lease, LeaseError>) {
        self.state = State::Done(Some(result));
    }

    /// Moves an attempt's events up, and takes its result if it has one.
    fn drain(&mut self, now: Now) {
        let State::Attempting { op, .. } = &mut self.state else {
            return;
        };
        while let Some(event) = op.poll_event() {
            self.events.push_back(event);
        }
        self.next_id = op.next_id();
        if let Some(result) = op.poll_output() {
            self.attempted(result, now);
        }
    }
}

impl Machine for WaitOp {
    type Output = Result<Lease, LeaseError>;

    fn poll_transmit(&mut self, now: Now) -> Option<Transmit<'_>> {
        self.handle_timeout(now);
        match &mut self.state {
            State::Attempting { op, sent } => {
                let transmit = op.poll_transmit(now);
                *sent |= transmit.is_some();
                transmit
            }
            State::Sleeping { .. } | State::Parked | State::Done(_) => None,
        }
    }

    fn handle_response(&mut self, id: RequestId, answer: Answer, now: Now) {
        if let State::Attempting { op, .. } = &mut self.state {
            op.handle_response(id, answer, now);
        }
        self.drain(now);
    }

    fn handle_timeout(&mut self, now: Now) {
        match &mut self.state {
            State::Attempting { op, .. } => {
                op.handle_timeout(now);
                self.drain(now);
            }
            State::Sleeping { until, .. } => {
                if now.monotonic.is_none_or(|at| at >= *until) {
                    self.state = self.attempt_or_finish(now);
                }
            }
            State::Parked => {
                // The last attempt, at the deadline.
                let due = match (now.monotonic, self.deadline) {
                    (None, _) => true,
                    (Some(at), Some(deadline)) => at >= deadline,
                    (Some(_), None) => false,
                };
                if due {
                    self.state = self.attempt_or_finish(now);
                }
            }
            State::Done(_) => {}
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        match &self.state {
            State::Attempting { op, .. } => op.poll_timeout(),
            State::Sleeping { until, .. } => Some(*until),
            State::Parked => self.deadline,
            State::Done(_) => None,
        }
    }

    fn poll_event(&mut self) -> Option<OpEvent> {
        self.events.pop_front()
    }

    fn poll_output(&mut self) -> Option<Self::Output> {
        match &mut self.state {
            State::Done(result) => result.take(),
            State::Attempting { .. } | State::Sleeping { .. } | State::Parked => None,
        }
    }
}

/// The error a wait that ran out of time ends with.
fn timed_out(key: LeaseKey, blocked: Blocked) -> LeaseError {
    match blocked {
        Blocked::Held(holder) => LeaseError::WaitTimedOut { key, holder },
        Blocked::Failed(error) => error,
    }
}

/// Errors a waiting acquire waits through: the store failed in a way that may pass (the
/// attempt already retried, and gave back what it may have written), or the attempt was
/// answered too late.
fn may_pass(error: &LeaseError) -> bool {
    match error {
        LeaseError::OutcomeUnknown { .. } | LeaseError::Lapsed { .. } => true,
        LeaseError::Store { source, .. } => source.kind().is_transient(),
        _ => false,
    }
}

/// How long until the holder's lease expires by `now`, if the holder and a future expiry are
/// known.
fn until_expiry(holder: &Holder, now: SystemTime) -> Option<Duration> {
    let Holder::Known(info) = holder else {
        return None;
    };
    if info.released {
        return None;
    }
    let until = info.expires_at.duration_since(now).ok()?;
    (!until.is_zero()).then_some(until)
}
