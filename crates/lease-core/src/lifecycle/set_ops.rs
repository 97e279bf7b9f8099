//! The operations on a lease set (several keys held together, one transaction each) as
//! [`Machine`]s: [`AcquireSetOp`], [`RefreshSetOp`], [`ReleaseSetOp`].

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::exchange::{Answer, Exchange, Progress};
use super::machine::{Machine, OpEvent};
use super::patience::Patience;
use super::retry::{Resend, RetryPolicy};
use super::wait_policy::WaitPolicy;
use super::{Ids, RequestId, Transmit};
use crate::error::{LeaseError, Operation};
use crate::holder::Holder;
use crate::key::LeaseKey;
use crate::lease::{PendingLease, ReleaseOutcome};
use crate::lease_set::{
    self, AcquireSetAnswer, AcquireSetPlan, LeaseSet, ReleaseSetAnswer, transient_cancellation,
};
use crate::now::Now;
use crate::planner::Planner;
use crate::request::Request;
use crate::token::LeaseToken;

/// How many times in a row an acquire of a set proposes higher fencing tokens after finding
/// stored ones at or above its proposals, before it gives up (each proposal is one more than
/// the stored token it learned, so only acquirers racing for the same keys make it happen
/// again).
const MAX_REPROPOSALS: u32 = 4;

/// One request of a set operation and its retries: a cancellation that wrote nothing and may
/// pass (`TransactionConflict`, throttling) is sent again as a throttled request is.
#[derive(Debug)]
struct SetExchange {
    exchange: Exchange,
}

impl SetExchange {
    fn new(request: Request, ids: &mut Ids, retry: RetryPolicy) -> Self {
        Self {
            exchange: Exchange::new(request, ids.next(), retry, Resend::Transient),
        }
    }

    /// The final answer, or `None` while a retry is due (its event pushed to `events`).
    fn handle_response(
        &mut self,
        id: RequestId,
        answer: Answer,
        now: Now,
        ids: &mut Ids,
        events: &mut VecDeque<OpEvent>,
    ) -> Option<Answer> {
        let answer = match transient_cancellation(&answer) {
            Some(error) => Err(error),
            None => answer,
        };
        match self
            .exchange
            .handle_response(id, answer, now.monotonic, ids)
        {
            Progress::Done(answer) => Some(answer),
            Progress::Retrying {
                error,
                attempt,
                backoff,
            } => {
                events.push_back(OpEvent::Retrying {
                    error,
                    attempt,
                    backoff,
                });
                None
            }
            Progress::Stale => None,
        }
    }
}

/// Where an acquire of a set stands.
#[derive(Debug)]
enum AcquireState {
    /// The transaction (and its resends); `reproposals` counts the proposals after the first.
    Acquiring {
        exchange: SetExchange,
        plan: AcquireSetPlan,
        reproposals: u32,
    },
    /// Giving back what the acquire may have written; `error` is its result.
    GivingBack {
        release: Releasing,
        error: LeaseError,
    },
    /// Waiting for held keys to free up: the next attempt is due at the instant, with
    /// proposals no lower than `proposals` (so that a late copy of an earlier attempt never
    /// leaves a key with a higher fencing token than the one this acquire reports).
    Sleeping {
        until: Instant,
        proposals: Vec<u64>,
    },
    Done(Option<Result<LeaseSet, LeaseError>>),
}

/// An acquire of several keys at once, all or nothing, as a [`Machine`]: one
/// `TransactWriteItems` of a conditional update per key (see [`LeaseSet`] for the condition and
/// how each key's fencing token is proposed), sent again after transient failures and
/// cancellations that wrote nothing (`TransactionConflict`), and again with higher fencing
/// tokens when a key's stored token was not below the proposal. If the outcome stays unknown,
/// or the answer came after the set's safe deadline, what it may have written is given back (a
/// release of every key still holding its token; [`OpEvent::GaveBack`]).
///
/// The output is the [`LeaseSet`], or [`LeaseError::HeldKeys`] naming every key held by
/// another (none was acquired), [`LeaseError::MalformedItem`], [`LeaseError::Lapsed`],
/// [`LeaseError::OutcomeUnknown`], or [`LeaseError::Store`] (a store without transactions:
/// [`StoreErrorKind::Unsupported`](crate::StoreErrorKind::Unsupported)).
///
/// Requests: one transaction when the keys are free (two when a proposal was behind); each
/// transaction item costs two write units in DynamoDB.
#[derive(Debug)]
pub struct AcquireSetOp {
    planner: Arc<Planner>,
    retry: RetryPolicy,
    duration: Duration,
    keys: Vec<LeaseKey>,
    token: LeaseToken,
    /// The wait, if the acquire waits while keys are held.
    wait: Option<Patience>,
    ids: Ids,
    events: VecDeque<OpEvent>,
    state: AcquireState,
}

impl AcquireSetOp {
    /// The same acquire, waiting while some keys are held by others, as `policy` says: until
    /// the earliest expiry among their holders, at most the policy's `max_delay` between
    /// attempts, until its timeout; then [`LeaseError::WaitTimedOut`] naming the first key
    /// still held. The wait starts at the first reading this machine is given.
    #[must_use]
    pub fn waiting(mut self, policy: WaitPolicy) -> Self {
        self.wait = Some(Patience::new(policy));
        self
    }

    /// Some keys are held: wait (if the policy allows) or give the error.
    fn held(&mut self, plan: &AcquireSetPlan, error: LeaseError, now: Now) {
        let (Some(wait), Some(at), LeaseError::HeldKeys { held, .. }) =
            (&self.wait, now.monotonic, &error)
        else {
            self.state = AcquireState::Done(Some(Err(error)));
            return;
        };
        let earliest = held
            .iter()
            .filter_map(|(_, holder)| match holder {
                Holder::Known(info) => Some(info.expires_at),
                Holder::Unknown => None,
            })
            .min();
        let Some(until) = wait.next_attempt(earliest, now) else {
            let (key, holder) = held
                .first()
                .cloned()
                .unwrap_or_else(|| (error.key().clone(), Holder::Unknown));
            self.state = AcquireState::Done(Some(Err(LeaseError::WaitTimedOut { key, holder })));
            return;
        };
        if let Some((key, holder)) = held.first() {
            self.events.push_back(OpEvent::Contended {
                key: key.clone(),
                holder: holder.clone(),
                retry_in: until.saturating_duration_since(at),
            });
        }
        self.state = AcquireState::Sleeping {
            until,
            proposals: plan.proposals.clone(),
        };
    }

    /// The next attempt of a wait, at `now`: proposals no lower than the last attempt's.
    fn attempt_again(&mut self, proposals: &[u64], now: Now) {
        let floor =
            u64::try_from(crate::wire_time::ExpiryUnit::Milliseconds.floor(now.wall)).unwrap_or(0);
        let raised: Vec<u64> = proposals.iter().map(|p| (*p).max(floor)).collect();
        match self
            .planner
            .acquire_set(&self.keys, self.duration, now, &self.token, Some(&raised))
        {
            Ok(plan) => {
                let exchange = SetExchange::new(plan.request.clone(), &mut self.ids, self.retry);
                self.state = AcquireState::Acquiring {
                    exchange,
                    plan,
                    reproposals: 0,
                };
            }
            Err(error) => self.state = AcquireState::Done(Some(Err(error))),
        }
    }

    /// An acquire of every key of `keys` (each a [`LeaseKey`], or a partition key under the
    /// lock sort key) for `duration`, with one fresh `token`, planned at `now`.
    ///
    /// # Errors
    /// [`LeaseError::InvalidInput`] (nothing to send): no keys
    /// ([`InvalidInput::NoKeys`](crate::InvalidInput::NoKeys)), more than
    /// [`MAX_SET_KEYS`](crate::MAX_SET_KEYS)
    /// ([`TooManyKeys`](crate::InvalidInput::TooManyKeys)), a key given twice
    /// ([`DuplicateKey`](crate::InvalidInput::DuplicateKey)), or any input a single
    /// [`Planner::acquire`] refuses.
    pub fn new(
        planner: Arc<Planner>,
        keys: impl IntoIterator<Item = impl Into<LeaseKey>>,
        duration: Duration,
        now: Now,
        token: LeaseToken,
        retry: RetryPolicy,
    ) -> Result<Self, LeaseError> {
        let keys = planner.set_keys(Operation::Acquire, keys)?;
        let plan = planner.acquire_set(&keys, duration, now, &token, None)?;
        let mut ids = Ids::default();
        let exchange = SetExchange::new(plan.request.clone(), &mut ids, retry);
        Ok(Self {
            planner,
            retry,
            duration,
            keys,
            token,
            wait: None,
            ids,
            events: VecDeque::new(),
            state: AcquireState::Acquiring {
                exchange,
                plan,
                reproposals: 0,
            },
        })
    }

    /// Before a resend: re-planned at `now` (its `:now` and expiry), with the same token, and
    /// each proposed fencing token raised to this send's wall clock (in epoch milliseconds) if
    /// it is below: a copy that landed earlier is found by its token and its fencing tokens are
    /// raised to the new ones (never lowered: the own-token branch of the condition requires
    /// the stored token to be at most the proposal); an item deleted since the first send
    /// starts again from this send's clock, never from an older proposal below a fencing
    /// token handed out meanwhile (found by the simulator: seed 1756 and others).
    fn replan_resend(&mut self, now: Now) {
        let AcquireState::Acquiring { exchange, plan, .. } = &mut self.state else {
            return;
        };
        if !exchange.exchange.resend_due(now.monotonic) {
            return;
        }
        // Never below this send's wall clock: the item may have been deleted (TTL) since the
        // first send, after another holder's greater fencing token, and the proposal then
        // starts it again, as a single acquire's floor does.
        let floor =
            u64::try_from(crate::wire_time::ExpiryUnit::Milliseconds.floor(now.wall)).unwrap_or(0);
        let raised: Vec<u64> = plan.proposals.iter().map(|p| (*p).max(floor)).collect();
        if let Ok(replanned) =
            self.planner
                .acquire_set(&self.keys, self.duration, now, &self.token, Some(&raised))
        {
            exchange.exchange.set_request(replanned.request.clone());
            *plan = replanned;
        }
    }

    fn acquired(&mut self, plan: AcquireSetPlan, reproposals: u32, answer: Answer, now: Now) {
        let maybe_applied = answer.is_err();
        match lease_set::interpret_acquire(&self.planner, &plan, answer) {
            AcquireSetAnswer::Acquired(set) if set.is_valid_at(now) => {
                self.state = AcquireState::Done(Some(Ok(set)));
            }
            AcquireSetAnswer::Acquired(set) => {
                let error = LeaseError::Lapsed {
                    operation: Operation::Acquire,
                    key: set
                        .leases()
                        .first()
                        .map_or_else(|| LeaseKey::new("", ""), |l| l.key().clone()),
                };
                self.give_back(plan.pending, error, now);
            }
            AcquireSetAnswer::Repropose(proposals) if reproposals < MAX_REPROPOSALS => {
                match self.planner.acquire_set(
                    &self.keys,
                    self.duration,
                    now,
                    &self.token,
                    Some(&proposals),
                ) {
                    Ok(plan) => {
                        let exchange =
                            SetExchange::new(plan.request.clone(), &mut self.ids, self.retry);
                        self.state = AcquireState::Acquiring {
                            exchange,
                            plan,
                            reproposals: reproposals.saturating_add(1),
                        };
                    }
                    Err(error) => self.state = AcquireState::Done(Some(Err(error))),
                }
            }
            AcquireSetAnswer::Repropose(_) => {
                let error = LeaseError::Store {
                    operation: Operation::Acquire,
                    key: self
                        .keys
                        .first()
                        .cloned()
                        .unwrap_or_else(|| LeaseKey::new("", "")),
                    source: crate::response::StoreError::new(
                        crate::response::StoreErrorKind::Other,
                        "the fencing tokens stored for the keys kept moving past the proposed \
                         ones (acquirers racing for the same keys); nothing was acquired",
                    ),
                };
                self.state = AcquireState::Done(Some(Err(error)));
            }
            AcquireSetAnswer::Failed(error) if maybe_applied && error.is_outcome_unknown() => {
                self.give_back(plan.pending, error, now);
            }
            AcquireSetAnswer::Failed(error) if error.is_held() => self.held(&plan, error, now),
            AcquireSetAnswer::Failed(error) => self.state = AcquireState::Done(Some(Err(error))),
        }
    }

    fn give_back(&mut self, leases: Vec<PendingLease>, error: LeaseError, now: Now) {
        match Releasing::new(&self.planner, leases, now, &mut self.ids, self.retry) {
            Ok(release) => self.state = AcquireState::GivingBack { release, error },
            Err(_) => self.state = AcquireState::Done(Some(Err(error))),
        }
    }
}

impl Machine for AcquireSetOp {
    type Output = Result<LeaseSet, LeaseError>;

    fn poll_transmit(&mut self, now: Now) -> Option<Transmit<'_>> {
        if let Some(wait) = &mut self.wait {
            wait.start(now);
        }
        self.handle_timeout(now);
        self.replan_resend(now);
        match &mut self.state {
            AcquireState::Acquiring { exchange, .. } => {
                exchange.exchange.poll_transmit(now.monotonic)
            }
            AcquireState::GivingBack { release, .. } => release.poll_transmit(now),
            AcquireState::Sleeping { .. } | AcquireState::Done(_) => None,
        }
    }

    fn handle_response(&mut self, id: RequestId, answer: Answer, now: Now) {
        match &mut self.state {
            AcquireState::Acquiring { exchange, .. } => {
                let Some(answer) =
                    exchange.handle_response(id, answer, now, &mut self.ids, &mut self.events)
                else {
                    return;
                };
                if let AcquireState::Acquiring {
                    plan, reproposals, ..
                } = std::mem::replace(&mut self.state, AcquireState::Done(None))
                {
                    self.acquired(plan, reproposals, answer, now);
                }
            }
            AcquireState::GivingBack { release, .. } => {
                let Some(outcome) = release.handle_response(
                    &self.planner,
                    id,
                    answer,
                    now,
                    &mut self.ids,
                    &mut self.events,
                ) else {
                    return;
                };
                if let AcquireState::GivingBack { error, .. } =
                    std::mem::replace(&mut self.state, AcquireState::Done(None))
                {
                    self.events.push_back(OpEvent::GaveBack {
                        key: error.key().clone(),
                        outcome,
                    });
                    self.state = AcquireState::Done(Some(Err(error)));
                }
            }
            AcquireState::Sleeping { .. } | AcquireState::Done(_) => {}
        }
    }

    fn handle_timeout(&mut self, now: Now) {
        match &mut self.state {
            AcquireState::Acquiring { exchange, .. } => {
                exchange.exchange.handle_timeout(now.monotonic);
            }
            AcquireState::GivingBack { release, .. } => {
                release.exchange.exchange.handle_timeout(now.monotonic);
            }
            AcquireState::Sleeping { until, proposals } => {
                if now.monotonic.is_none_or(|at| at >= *until) {
                    let proposals = std::mem::take(proposals);
                    self.attempt_again(&proposals, now);
                }
            }
            AcquireState::Done(_) => {}
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        match &self.state {
            AcquireState::Acquiring { exchange, .. } => exchange.exchange.poll_timeout(),
            AcquireState::GivingBack { release, .. } => release.exchange.exchange.poll_timeout(),
            AcquireState::Sleeping { until, .. } => Some(*until),
            AcquireState::Done(_) => None,
        }
    }

    fn poll_event(&mut self) -> Option<OpEvent> {
        self.events.pop_front()
    }

    fn poll_output(&mut self) -> Option<Self::Output> {
        match &mut self.state {
            AcquireState::Done(result) => result.take(),
            _ => None,
        }
    }
}

/// A release of the keys of a set, sent again without the keys no longer held.
#[derive(Debug)]
struct Releasing {
    exchange: SetExchange,
    leases: Vec<PendingLease>,
    retry: RetryPolicy,
    /// Whether some key was found no longer held.
    not_held: bool,
}

impl Releasing {
    fn new(
        planner: &Planner,
        leases: Vec<PendingLease>,
        now: Now,
        ids: &mut Ids,
        retry: RetryPolicy,
    ) -> Result<Self, LeaseError> {
        let request = planner.release_set(&leases, now)?;
        Ok(Self {
            exchange: SetExchange::new(request, ids, retry),
            leases,
            retry,
            not_held: false,
        })
    }

    fn poll_transmit(&mut self, now: Now) -> Option<Transmit<'_>> {
        self.exchange.exchange.poll_transmit(now.monotonic)
    }

    /// The release's outcome, once known.
    fn handle_response(
        &mut self,
        planner: &Planner,
        id: RequestId,
        answer: Answer,
        now: Now,
        ids: &mut Ids,
        events: &mut VecDeque<OpEvent>,
    ) -> Option<Result<ReleaseOutcome, LeaseError>> {
        let answer = self
            .exchange
            .handle_response(id, answer, now, ids, events)?;
        match lease_set::interpret_release(&self.leases, answer) {
            ReleaseSetAnswer::Done(Ok(ReleaseOutcome::Released)) if self.not_held => {
                Some(Ok(ReleaseOutcome::NotHeld))
            }
            ReleaseSetAnswer::Done(outcome) => Some(outcome),
            ReleaseSetAnswer::Without(not_held) => {
                self.not_held = true;
                let mut index = 0;
                self.leases.retain(|_| {
                    let keep = !not_held.contains(&index);
                    index += 1;
                    keep
                });
                if self.leases.is_empty() {
                    return Some(Ok(ReleaseOutcome::NotHeld));
                }
                match planner.release_set(&self.leases, now) {
                    Ok(request) => {
                        self.exchange = SetExchange::new(request, ids, self.retry);
                        None
                    }
                    Err(error) => Some(Err(error)),
                }
            }
        }
    }
}

/// A release of every key of a set, as a [`Machine`]: one transaction of the single releases
/// (each conditioned on the set's token), and, if some keys are no longer held (expired and
/// taken over), one more without them, so that every key still held is released.
///
/// The output is [`ReleaseOutcome::Released`] when every key was released,
/// [`ReleaseOutcome::NotHeld`] when some were no longer held (the others are released), or the
/// store's failure.
#[derive(Debug)]
pub struct ReleaseSetOp {
    planner: Arc<Planner>,
    ids: Ids,
    events: VecDeque<OpEvent>,
    release: Releasing,
    output: Option<Result<ReleaseOutcome, LeaseError>>,
    done: bool,
}

impl ReleaseSetOp {
    /// A release of every key of `set`, planned at `now`.
    ///
    /// # Errors
    /// [`LeaseError::InvalidInput`] (nothing to send), as [`Planner::release`].
    pub fn new(
        planner: Arc<Planner>,
        set: &LeaseSet,
        now: Now,
        retry: RetryPolicy,
    ) -> Result<Self, LeaseError> {
        let leases = set.leases().iter().map(|l| l.parts().clone()).collect();
        let mut ids = Ids::default();
        let release = Releasing::new(&planner, leases, now, &mut ids, retry)?;
        Ok(Self {
            planner,
            ids,
            events: VecDeque::new(),
            release,
            output: None,
            done: false,
        })
    }
}

impl Machine for ReleaseSetOp {
    type Output = Result<ReleaseOutcome, LeaseError>;

    fn poll_transmit(&mut self, now: Now) -> Option<Transmit<'_>> {
        if self.done {
            return None;
        }
        self.release.poll_transmit(now)
    }

    fn handle_response(&mut self, id: RequestId, answer: Answer, now: Now) {
        if self.done {
            return;
        }
        if let Some(outcome) = self.release.handle_response(
            &self.planner,
            id,
            answer,
            now,
            &mut self.ids,
            &mut self.events,
        ) {
            self.output = Some(outcome);
            self.done = true;
        }
    }

    fn handle_timeout(&mut self, now: Now) {
        self.release.exchange.exchange.handle_timeout(now.monotonic);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        if self.done {
            return None;
        }
        self.release.exchange.exchange.poll_timeout()
    }

    fn poll_event(&mut self) -> Option<OpEvent> {
        self.events.pop_front()
    }

    fn poll_output(&mut self) -> Option<Self::Output> {
        self.output.take()
    }

    fn reads_clock_on_answer(&self) -> bool {
        false
    }
}

/// A refresh of every key of a set, as a [`Machine`]: one transaction of the single refreshes
/// (each conditioned on `#tok = :tok AND #exp > :now`). If any key is no longer held, nothing
/// is written and the output is [`LeaseError::NotOwned`] naming it: the set is lost (release
/// it, to free the keys still held). As for a single refresh, an answer after the safe
/// deadline of the set it extends, or of the refreshed set, is [`LeaseError::Lapsed`].
#[derive(Debug)]
pub struct RefreshSetOp {
    ids: Ids,
    events: VecDeque<OpEvent>,
    exchange: SetExchange,
    refreshed: Option<LeaseSet>,
    previous_deadline: Option<crate::lease::Deadline>,
    output: Option<Result<LeaseSet, LeaseError>>,
}

impl RefreshSetOp {
    /// A refresh of every key of `set` for `duration`, planned at `now`.
    ///
    /// # Errors
    /// [`LeaseError::InvalidInput`] (nothing to send), as [`Planner::refresh`].
    pub fn new(
        planner: &Planner,
        set: &LeaseSet,
        duration: Duration,
        now: Now,
        retry: RetryPolicy,
    ) -> Result<Self, LeaseError> {
        let (request, refreshed) = planner.refresh_set(set, duration, now)?;
        let mut ids = Ids::default();
        let exchange = SetExchange::new(request, &mut ids, retry);
        Ok(Self {
            ids,
            events: VecDeque::new(),
            exchange,
            refreshed: Some(refreshed),
            previous_deadline: set.leases().first().and_then(|l| l.deadline()),
            output: None,
        })
    }
}

impl Machine for RefreshSetOp {
    type Output = Result<LeaseSet, LeaseError>;

    fn poll_transmit(&mut self, now: Now) -> Option<Transmit<'_>> {
        self.refreshed.as_ref()?;
        self.exchange.exchange.poll_transmit(now.monotonic)
    }

    fn handle_response(&mut self, id: RequestId, answer: Answer, now: Now) {
        if self.refreshed.is_none() {
            return;
        }
        let Some(answer) =
            self.exchange
                .handle_response(id, answer, now, &mut self.ids, &mut self.events)
        else {
            return;
        };
        let Some(refreshed) = self.refreshed.take() else {
            return;
        };
        let lapsed_before = self
            .previous_deadline
            .is_some_and(|previous| !previous.is_valid_at(now));
        self.output = Some(match lease_set::interpret_refresh(refreshed, answer) {
            Ok(set) if lapsed_before || !set.is_valid_at(now) => Err(LeaseError::Lapsed {
                operation: Operation::Refresh,
                key: set
                    .leases()
                    .first()
                    .map_or_else(|| LeaseKey::new("", ""), |l| l.key().clone()),
            }),
            result => result,
        });
    }

    fn handle_timeout(&mut self, now: Now) {
        self.exchange.exchange.handle_timeout(now.monotonic);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.refreshed.as_ref()?;
        self.exchange.exchange.poll_timeout()
    }

    fn poll_event(&mut self) -> Option<OpEvent> {
        self.events.pop_front()
    }

    fn poll_output(&mut self) -> Option<Self::Output> {
        self.output.take()
    }
}
