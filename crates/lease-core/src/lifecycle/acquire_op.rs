//! [`AcquireOp`]: one acquire, with the retries of its request, the give-back of a lease it
//! cannot use, and (for a single try) the read that names the holder.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::time::SystemTime;

use super::exchange::{Answer, Exchange, Progress};
use super::machine::{Machine, OpEvent};
use super::retry::{Resend, RetryPolicy};
use super::{Ids, RequestId, Transmit};
use crate::error::{LeaseError, Operation};
use crate::holder::Holder;
use crate::inspect::StoredState;
use crate::key::LeaseKey;
use crate::lease::{Lease, PendingLease};
use crate::now::Now;
use crate::planner::Planner;
use crate::response::StoreResponse;
use crate::text::Text;
use crate::token::LeaseToken;
use crate::{acquire, inspect, release};

/// Where an acquire stands.
#[derive(Debug)]
enum State {
    /// The acquire's `UpdateItem` (and its retries); `pending` is the lease it gives.
    Acquiring {
        exchange: Exchange,
        /// Taken when the answer comes.
        pending: Option<PendingLease>,
        wall: SystemTime,
    },
    /// Giving back a lease that cannot be used; `error` is the acquire's result.
    GivingBack {
        exchange: Exchange,
        key: LeaseKey,
        error: LeaseError,
    },
    /// Reading the item to name the holder the store did not return.
    ReadingHolder { exchange: Exchange, key: LeaseKey },
    /// The result, until taken.
    Done(Option<Result<Lease, LeaseError>>),
}

/// One acquire of a lease as a [`Machine`]: the conditional `UpdateItem` (sent again after
/// transient failures, as the [`RetryPolicy`] says), then:
/// - if the outcome stayed unknown ([`LeaseError::OutcomeUnknown`]), or the store granted the
///   lease but the answer came after its safe deadline ([`LeaseError::Lapsed`]), a release of
///   what it may have written, conditioned on its own token ([`OpEvent::GaveBack`]), so that
///   the key is not blocked by a lease nobody can use;
/// - with [`reading_holder`](Self::reading_holder), when the lease is held but the store
///   returned no old item (dynalite), one strongly consistent read to name the holder
///   (`Holder::Known`), or [`LeaseError::MalformedItem`] if the item is not a readable lease.
///
/// The output is the lease, valid at the reading its answer was handled at, or the error.
#[derive(Debug)]
pub struct AcquireOp {
    planner: Arc<Planner>,
    retry: RetryPolicy,
    duration: Duration,
    read_holder: bool,
    /// The value the acquire proclaims (a campaign's), written with every send.
    value: Option<Text>,
    ids: Ids,
    events: VecDeque<OpEvent>,
    state: State,
}

impl AcquireOp {
    /// An acquire of `key` for `duration` with the fresh `token`, planned at `now`.
    ///
    /// # Errors
    /// [`LeaseError::InvalidInput`] (nothing to send) for bad input, as
    /// [`Planner::acquire`].
    pub fn new(
        planner: Arc<Planner>,
        key: LeaseKey,
        duration: Duration,
        now: Now,
        token: LeaseToken,
        retry: RetryPolicy,
    ) -> Result<Self, LeaseError> {
        Self::numbered_from(planner, key, duration, now, token, retry, 0)
    }

    /// As [`new`](Self::new), with request ids from `first` on.
    pub(crate) fn numbered_from(
        planner: Arc<Planner>,
        key: LeaseKey,
        duration: Duration,
        now: Now,
        token: LeaseToken,
        retry: RetryPolicy,
        first: u64,
    ) -> Result<Self, LeaseError> {
        let (request, pending) = planner.acquire(key, duration, now, token)?.into_parts();
        let mut ids = Ids::starting_at(first);
        let exchange = Exchange::new(request, ids.next(), retry, Resend::Transient);
        Ok(Self {
            planner,
            retry,
            duration,
            read_holder: false,
            value: None,
            ids,
            events: VecDeque::new(),
            state: State::Acquiring {
                exchange,
                pending: Some(pending),
                wall: now.wall,
            },
        })
    }

    /// The same acquire, reading the holder when the store did not name it (the `lease`
    /// crate's `try_acquire`).
    #[must_use]
    pub fn reading_holder(mut self) -> Self {
        self.read_holder = true;
        self
    }

    /// The same acquire, also writing `value` to the item's value attribute with every send
    /// (leader election: the candidate's name or address; see
    /// [`AcquirePlan::proclaiming`](crate::AcquirePlan::proclaiming)). Call it before the first
    /// [`poll_transmit`](Machine::poll_transmit).
    ///
    /// # Errors
    /// [`LeaseError::InvalidInput`] for an empty value or one over
    /// [`MAX_VALUE_BYTES`](crate::MAX_VALUE_BYTES), before anything is sent.
    pub fn proclaiming(mut self, value: impl Into<Text>) -> Result<Self, LeaseError> {
        let value = value.into();
        let key = match &self.state {
            State::Acquiring {
                pending: Some(lease),
                ..
            } => lease.key().clone(),
            _ => return Ok(self),
        };
        if let Err(reason) = crate::validate::value(&value) {
            return Err(LeaseError::InvalidInput {
                operation: Operation::Acquire,
                key,
                reason,
            });
        }
        if let State::Acquiring { exchange, .. } = &mut self.state {
            let mut request = exchange.request().clone();
            acquire::write_value(&self.planner, &mut request, &value);
            exchange.set_request(request);
        }
        self.value = Some(value);
        Ok(self)
    }

    /// The number the next request id would have (a waiting acquire's next attempt starts
    /// there).
    pub(crate) fn next_id(&self) -> u64 {
        self.ids.peek()
    }

    /// Before an acquire is sent again: re-planned at `now`, with the same key and token, so
    /// that its `:now`, its expiry and its fencing floor are those of the moment it is sent. A
    /// resent copy of the old request would restart the fencing token from the clock reading
    /// of the first send, if the item was deleted meanwhile (TTL), below a token handed out
    /// since. The same token keeps it idempotent: if an earlier copy landed, this one finds
    /// its own token and succeeds (with a later expiry).
    fn replan_resend(&mut self, now: Now) {
        let State::Acquiring {
            exchange,
            pending,
            wall,
        } = &mut self.state
        else {
            return;
        };
        if !exchange.resend_due(now.monotonic) {
            return;
        }
        let Some(lease) = pending.as_ref() else {
            return;
        };
        let plan = self
            .planner
            .acquire(
                lease.key().clone(),
                self.duration,
                now,
                lease.token().clone(),
            )
            .and_then(|plan| match &self.value {
                Some(value) => plan.proclaiming(value),
                None => Ok(plan),
            });
        if let Ok(plan) = plan {
            let (request, replanned) = plan.into_parts();
            exchange.set_request(request);
            *pending = Some(replanned);
            *wall = now.wall;
        }
    }

    fn exchange(&mut self) -> Option<&mut Exchange> {
        match &mut self.state {
            State::Acquiring { exchange, .. }
            | State::GivingBack { exchange, .. }
            | State::ReadingHolder { exchange, .. } => Some(exchange),
            State::Done(_) => None,
        }
    }

    /// The acquire's final answer, at `now`.
    fn acquired(&mut self, pending: PendingLease, wall: SystemTime, answer: Answer, now: Now) {
        // Keep the lease the request may have written for a give-back; the usual answer (a
        // success in time) needs no copy.
        let fence = acquire::proven_fence(&answer, &self.planner, &pending);
        let applied_without_lease =
            matches!(answer, Ok(StoreResponse::Applied { .. })) && fence.is_none();
        let maybe_written = (answer.is_err() || applied_without_lease).then(|| pending.clone());
        match acquire::interpret_proven(&self.planner, pending, wall, answer, fence) {
            Ok(lease) if lease.is_valid_at(now) => self.finish(Ok(lease)),
            Ok(lease) => {
                let error = LeaseError::Lapsed {
                    operation: Operation::Acquire,
                    key: lease.key().clone(),
                };
                self.give_back(lease.parts(), error, now);
            }
            // The write may have landed (an unknown outcome), or landed without giving the lease
            // (no attributes, a fencing token stored by another program that is not a whole
            // number, or an answer that is another acquire's: ours may have landed unseen): what
            // ours may have written is ours to give back.
            Err(error) if error.is_outcome_unknown() || applied_without_lease => {
                match maybe_written {
                    Some(lease) => self.give_back(&lease, error, now),
                    None => self.finish(Err(error)),
                }
            }
            Err(LeaseError::Held {
                key,
                holder: Holder::Unknown,
            }) if self.read_holder => match self.planner.inspect(key) {
                Ok(plan) => {
                    let (request, key) = plan.into_parts();
                    let exchange =
                        Exchange::new(request, self.ids.next(), self.retry, Resend::Transient);
                    self.state = State::ReadingHolder { exchange, key };
                }
                Err(error) => self.finish(Err(error)),
            },
            Err(error) => self.finish(Err(error)),
        }
    }

    fn give_back(&mut self, lease: &PendingLease, error: LeaseError, now: Now) {
        match self.planner.release_pending(lease, now) {
            Ok(plan) => {
                let exchange = Exchange::new(
                    plan.into_request(),
                    self.ids.next(),
                    self.retry,
                    Resend::Transient,
                );
                self.state = State::GivingBack {
                    exchange,
                    key: lease.key().clone(),
                    error,
                };
            }
            Err(_) => self.finish(Err(error)),
        }
    }

    /// The holder read's answer: the holder named, or the same `Held` with no name.
    fn read(&mut self, key: LeaseKey, answer: Answer, now: Now) {
        let result = match inspect::interpret(&self.planner, key.clone(), answer, now.wall) {
            Ok(snapshot) => match snapshot.state {
                StoredState::Held(info) => Err(LeaseError::Held {
                    key,
                    holder: Holder::Known(info),
                }),
                _ => Err(LeaseError::Held {
                    key,
                    holder: Holder::Unknown,
                }),
            },
            Err(malformed @ LeaseError::MalformedItem { .. }) => Err(malformed),
            Err(_) => Err(LeaseError::Held {
                key,
                holder: Holder::Unknown,
            }),
        };
        self.finish(result);
    }

    fn finish(&mut self, result: Result<Lease, LeaseError>) {
        self.state = State::Done(Some(result));
    }
}

impl Machine for AcquireOp {
    type Output = Result<Lease, LeaseError>;

    fn poll_transmit(&mut self, now: Now) -> Option<Transmit<'_>> {
        self.replan_resend(now);
        self.exchange()?.poll_transmit(now.monotonic)
    }

    fn handle_response(&mut self, id: RequestId, answer: Answer, now: Now) {
        let ids = &mut self.ids;
        let progress = match &mut self.state {
            State::Acquiring { exchange, .. }
            | State::GivingBack { exchange, .. }
            | State::ReadingHolder { exchange, .. } => {
                exchange.handle_response(id, answer, now.monotonic, ids)
            }
            State::Done(_) => return,
        };
        let answer = match progress {
            Progress::Done(answer) => answer,
            Progress::Retrying {
                error,
                attempt,
                backoff,
            } => {
                self.events.push_back(OpEvent::Retrying {
                    error,
                    attempt,
                    backoff,
                });
                return;
            }
            Progress::Stale => return,
        };
        // Only the small parts are taken out of the state (it holds the whole request).
        match &mut self.state {
            State::Acquiring { pending, wall, .. } => {
                let wall = *wall;
                if let Some(pending) = pending.take() {
                    self.acquired(pending, wall, answer, now);
                }
            }
            State::GivingBack { .. } => {
                if let State::GivingBack { key, error, .. } =
                    std::mem::replace(&mut self.state, State::Done(None))
                {
                    let outcome = release::interpret(|| key.clone(), answer);
                    self.events.push_back(OpEvent::GaveBack { key, outcome });
                    self.finish(Err(error));
                }
            }
            State::ReadingHolder { key, .. } => {
                let key = key.clone();
                self.read(key, answer, now);
            }
            State::Done(_) => {}
        }
    }

    fn handle_timeout(&mut self, now: Now) {
        if let Some(exchange) = self.exchange() {
            exchange.handle_timeout(now.monotonic);
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        match &self.state {
            State::Acquiring { exchange, .. }
            | State::GivingBack { exchange, .. }
            | State::ReadingHolder { exchange, .. } => exchange.poll_timeout(),
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
