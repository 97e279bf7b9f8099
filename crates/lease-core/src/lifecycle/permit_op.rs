//! [`PermitOp`]: acquiring one permit of a counting semaphore: a `Query` of its slots, then
//! the acquire of a free one; waiting, if asked, until a permit frees up.

use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::acquire_op::AcquireOp;
use super::exchange::{Answer, Exchange, Progress};
use super::machine::{Machine, OpEvent};
use super::patience::Patience;
use super::retry::{Resend, RetryPolicy};
use super::wait_policy::WaitPolicy;
use super::{Ids, RequestId, Transmit};
use crate::error::LeaseError;
use crate::holder::Holder;
use crate::key::LeaseKey;
use crate::lease::Lease;
use crate::now::Now;
use crate::planner::Planner;
use crate::semaphore::{self, SlotChoice, permit_key};
use crate::text::Text;
use crate::token::LeaseToken;

/// Attempts in a row that lose the race for a slot they saw free (another acquirer took it
/// between the `Query` and the write) before a single try gives up with
/// [`LeaseError::NoPermit`].
const MAX_RACES: u32 = 3;

/// Where an acquire of a permit stands.
#[derive(Debug)]
enum State {
    /// The `Query` of the slots (and its retries).
    Querying(Exchange),
    /// The acquire of the slot chosen.
    Acquiring(Box<AcquireOp>),
    /// Waiting until the next attempt (a full semaphore, while the wait lasts).
    Sleeping(Instant),
    Done(Option<Result<Lease, LeaseError>>),
}

/// One acquire of a permit of the counting semaphore `name` with `permits` permits, as a
/// [`Machine`]: a strongly consistent `Query` of the semaphore's slots, then the acquire of a
/// free slot (an [`AcquireOp`]: the single acquire's conditional `UpdateItem`, its retries and
/// its give-back); see [the semaphore's wire format](crate::permit_key). If another acquirer
/// took the slot first, the attempt starts again with a `Query` (at most 3 times in a row).
///
/// When every slot below `permits` is held, the output is [`LeaseError::NoPermit`], which says
/// when the earliest permit expires; with a [`WaitPolicy`] ([`waiting`](Self::waiting)), the
/// machine instead waits until that expiry (at most the policy's `max_delay`, never less than
/// [`MIN_POLL_DELAY`](super::MIN_POLL_DELAY)) and tries again, until the policy's timeout, after which the output is
/// that `NoPermit`.
///
/// The output is the permit: a [`Lease`] on the slot's key, to refresh, release or keep like
/// any lease.
#[derive(Debug)]
pub struct PermitOp {
    planner: Arc<Planner>,
    retry: RetryPolicy,
    name: Text,
    /// The semaphore's key (its name under the permit prefix), for errors.
    key: LeaseKey,
    permits: u32,
    duration: Duration,
    token: LeaseToken,
    /// Chooses among free slots: the token's hash.
    pick: u64,
    /// The wait, if the acquire waits.
    wait: Option<Patience>,
    races: u32,
    ids: Ids,
    events: VecDeque<OpEvent>,
    state: State,
}

impl PermitOp {
    /// An acquire of one of the `permits` permits of the semaphore `name` for `duration`, with
    /// the fresh `token`, planned at `now` (one try; see [`waiting`](Self::waiting)).
    ///
    /// # Errors
    /// [`LeaseError::InvalidInput`] (nothing to send) for an empty or oversized name,
    /// `permits` of 0 or over [`MAX_PERMITS`](crate::MAX_PERMITS)
    /// ([`InvalidInput::InvalidPermits`](crate::InvalidInput::InvalidPermits)), or input a
    /// single acquire refuses (the duration, the token).
    pub fn new(
        planner: Arc<Planner>,
        name: impl Into<Text>,
        permits: u32,
        duration: Duration,
        now: Now,
        token: LeaseToken,
        retry: RetryPolicy,
    ) -> Result<Self, LeaseError> {
        let name = name.into();
        let key = planner.semaphore_key(&name, permits)?;
        // The duration and token are checked as the slot's acquire will check them.
        drop(planner.acquire(permit_key(name.clone(), 0), duration, now, token.clone())?);
        let mut hasher = std::hash::DefaultHasher::new();
        token.expose_secret().hash(&mut hasher);
        let mut ids = Ids::default();
        let query = Exchange::new(
            planner.permits_query(&name),
            ids.next(),
            retry,
            Resend::Transient,
        );
        Ok(Self {
            planner,
            retry,
            name,
            key,
            permits,
            duration,
            token,
            pick: hasher.finish(),
            wait: None,
            races: 0,
            ids,
            events: VecDeque::new(),
            state: State::Querying(query),
        })
    }

    /// The same acquire, waiting while the semaphore is full as `policy` says (its timeout and
    /// `max_delay`; the wait starts at the first reading this machine is given).
    #[must_use]
    pub fn waiting(mut self, policy: WaitPolicy) -> Self {
        self.wait = Some(Patience::new(policy));
        self
    }

    /// The semaphore's key: its name under the permit prefix (for errors and logs).
    #[must_use]
    pub fn key(&self) -> &LeaseKey {
        &self.key
    }

    fn query(&mut self) {
        let query = Exchange::new(
            self.planner.permits_query(&self.name),
            self.ids.next(),
            self.retry,
            Resend::Transient,
        );
        self.state = State::Querying(query);
    }

    /// The `Query`'s final answer, read at `now`.
    fn queried(&mut self, answer: Answer, now: Now) {
        let items = match semaphore::query_items(&self.key, answer) {
            Ok(items) => items,
            Err(error) => return self.finish(Err(error)),
        };
        match self
            .planner
            .choose_slot(&items, self.permits, now.wall, self.pick)
        {
            SlotChoice::Free(index) => {
                let op = AcquireOp::numbered_from(
                    Arc::clone(&self.planner),
                    permit_key(self.name.clone(), index),
                    self.duration,
                    now,
                    self.token.clone(),
                    self.retry,
                    self.ids.peek(),
                );
                match op {
                    Ok(op) => self.state = State::Acquiring(Box::new(op)),
                    Err(error) => self.finish(Err(error)),
                }
            }
            SlotChoice::Full(earliest) => self.full(earliest, now),
            // A slot that never frees by itself: said at once, not waited for.
            SlotChoice::Malformed(index, error) => self.finish(Err(LeaseError::MalformedItem {
                key: permit_key(self.name.clone(), index),
                error,
            })),
        }
    }

    /// Every slot is held: wait (if the policy allows) or give [`LeaseError::NoPermit`].
    fn full(&mut self, earliest: Option<SystemTime>, now: Now) {
        let error = LeaseError::NoPermit {
            key: self.key.clone(),
            permits: self.permits,
            earliest_expiry: earliest,
        };
        let Some((next, at)) = self
            .wait
            .as_ref()
            .and_then(|wait| wait.next_attempt(earliest, now))
            .zip(now.monotonic)
        else {
            return self.finish(Err(error));
        };
        self.races = 0;
        self.events.push_back(OpEvent::Contended {
            key: self.key.clone(),
            holder: Holder::Unknown,
            retry_in: next.saturating_duration_since(at),
        });
        self.state = State::Sleeping(next);
    }

    /// The slot's acquire ended.
    fn acquired(&mut self, result: Result<Lease, LeaseError>, now: Now) {
        match result {
            Err(LeaseError::Held { .. }) if self.races.saturating_add(1) < MAX_RACES => {
                self.races = self.races.saturating_add(1);
                self.query();
            }
            Err(LeaseError::Held { holder, .. }) => {
                let earliest = match holder {
                    Holder::Known(info) => Some(info.expires_at),
                    Holder::Unknown => None,
                };
                self.full(earliest, now);
            }
            result => self.finish(result),
        }
    }

    fn finish(&mut self, result: Result<Lease, LeaseError>) {
        self.state = State::Done(Some(result));
    }
}

impl Machine for PermitOp {
    type Output = Result<Lease, LeaseError>;

    fn poll_transmit(&mut self, now: Now) -> Option<Transmit<'_>> {
        if let Some(wait) = &mut self.wait {
            wait.start(now);
        }
        self.handle_timeout(now);
        match &mut self.state {
            State::Querying(exchange) => exchange.poll_transmit(now.monotonic),
            State::Acquiring(op) => op.poll_transmit(now),
            State::Sleeping(_) | State::Done(_) => None,
        }
    }

    fn handle_response(&mut self, id: RequestId, answer: Answer, now: Now) {
        match &mut self.state {
            State::Querying(exchange) => {
                match exchange.handle_response(id, answer, now.monotonic, &mut self.ids) {
                    Progress::Done(answer) => self.queried(answer, now),
                    Progress::Retrying {
                        error,
                        attempt,
                        backoff,
                    } => self.events.push_back(OpEvent::Retrying {
                        error,
                        attempt,
                        backoff,
                    }),
                    Progress::Stale => {}
                }
            }
            State::Acquiring(op) => {
                op.handle_response(id, answer, now);
                while let Some(event) = op.poll_event() {
                    self.events.push_back(event);
                }
                if let Some(result) = op.poll_output() {
                    self.ids = Ids::starting_at(op.next_id());
                    self.acquired(result, now);
                }
            }
            State::Sleeping(_) | State::Done(_) => {}
        }
    }

    fn handle_timeout(&mut self, now: Now) {
        match &mut self.state {
            State::Querying(exchange) => exchange.handle_timeout(now.monotonic),
            State::Acquiring(op) => op.handle_timeout(now),
            State::Sleeping(at) => {
                if now.monotonic.is_none_or(|now| now >= *at) {
                    self.query();
                }
            }
            State::Done(_) => {}
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        match &self.state {
            State::Querying(exchange) => exchange.poll_timeout(),
            State::Acquiring(op) => op.poll_timeout(),
            State::Sleeping(at) => Some(*at),
            State::Done(_) => None,
        }
    }

    fn poll_event(&mut self) -> Option<OpEvent> {
        self.events.pop_front()
    }

    fn poll_output(&mut self) -> Option<Self::Output> {
        match &mut self.state {
            State::Done(result) => result.take(),
            _ => None,
        }
    }
}
