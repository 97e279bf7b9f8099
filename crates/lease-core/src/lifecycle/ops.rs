//! The one-request operations as [`Machine`]s: [`RefreshOp`], [`ReleaseOp`], [`InspectOp`],
//! [`CommitOp`]. Each is its planned request, sent again after failures as a [`RetryPolicy`]
//! allows, and the interpretation of the final answer.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::exchange::{Answer, Exchange, Progress};
use super::machine::{Machine, OpEvent};
use super::retry::{Resend, RetryPolicy};
use super::{Ids, RequestId, Transmit};
use crate::error::{LeaseError, Operation};
use crate::inspect::LeaseSnapshot;
use crate::key::LeaseKey;
use crate::lease::{Lease, ReleaseOutcome};
use crate::now::Now;
use crate::planner::Planner;
use crate::request::Request;
use crate::transact::TransactItem;
use crate::{commit, inspect, refresh, release};

/// What a one-request operation does with its final answer.
trait Interpret {
    type Output;
    /// Whether the interpretation checks a deadline against the reading of the answer.
    const READS_CLOCK: bool;
    /// Interprets the final `answer` to `request`.
    fn interpret(
        self,
        planner: &Planner,
        request: &Request,
        answer: Answer,
        now: Now,
    ) -> Self::Output;
}

/// One request, its retries, and its interpretation.
#[derive(Debug)]
struct Single<K: Interpret> {
    planner: Arc<Planner>,
    exchange: Exchange,
    ids: Ids,
    events: VecDeque<OpEvent>,
    kind: Option<K>,
    output: Option<K::Output>,
}

impl<K: Interpret> Single<K> {
    fn new(
        planner: Arc<Planner>,
        request: Request,
        kind: K,
        retry: RetryPolicy,
        resend: Resend,
    ) -> Self {
        let mut ids = Ids::default();
        let exchange = Exchange::new(request, ids.next(), retry, resend);
        Self {
            planner,
            exchange,
            ids,
            events: VecDeque::new(),
            kind: Some(kind),
            output: None,
        }
    }
}

impl<K: Interpret> Machine for Single<K> {
    type Output = K::Output;

    fn poll_transmit(&mut self, now: Now) -> Option<Transmit<'_>> {
        self.kind.as_ref()?;
        self.exchange.poll_transmit(now.monotonic)
    }

    fn handle_response(&mut self, id: RequestId, answer: Answer, now: Now) {
        match self
            .exchange
            .handle_response(id, answer, now.monotonic, &mut self.ids)
        {
            Progress::Done(answer) => {
                if let Some(kind) = self.kind.take() {
                    let request = self.exchange.request();
                    self.output = Some(kind.interpret(&self.planner, request, answer, now));
                }
            }
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

    fn handle_timeout(&mut self, now: Now) {
        self.exchange.handle_timeout(now.monotonic);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.kind.as_ref().and(self.exchange.poll_timeout())
    }

    fn poll_event(&mut self) -> Option<OpEvent> {
        self.events.pop_front()
    }

    fn poll_output(&mut self) -> Option<Self::Output> {
        self.output.take()
    }

    fn reads_clock_on_answer(&self) -> bool {
        K::READS_CLOCK
    }
}

/// Defines a public one-request operation around `Single<$kind>`.
macro_rules! single_op {
    ($(#[$doc:meta])* $name:ident, $kind:ty, $output:ty) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name(Single<$kind>);

        impl Machine for $name {
            type Output = $output;

            fn poll_transmit(&mut self, now: Now) -> Option<Transmit<'_>> {
                self.0.poll_transmit(now)
            }

            fn handle_response(&mut self, id: RequestId, answer: Answer, now: Now) {
                self.0.handle_response(id, answer, now);
            }

            fn handle_timeout(&mut self, now: Now) {
                self.0.handle_timeout(now);
            }

            fn poll_timeout(&self) -> Option<Instant> {
                self.0.poll_timeout()
            }

            fn poll_event(&mut self) -> Option<OpEvent> {
                self.0.poll_event()
            }

            fn poll_output(&mut self) -> Option<Self::Output> {
                self.0.poll_output()
            }

            fn reads_clock_on_answer(&self) -> bool {
                self.0.reads_clock_on_answer()
            }
        }
    };
}

/// The refreshed lease it gives, and the deadline of the lease it extends (if that lease has
/// one: a lease rebuilt from its parts has none).
#[derive(Debug)]
struct Refresh(Lease, Option<crate::lease::Deadline>);

impl Interpret for Refresh {
    const READS_CLOCK: bool = true;
    type Output = Result<Lease, LeaseError>;

    fn interpret(self, _: &Planner, _: &Request, answer: Answer, now: Now) -> Self::Output {
        let lapsed_before = self.1.is_some_and(|previous| !previous.is_valid_at(now));
        match refresh::interpret(self.0, answer) {
            Ok(lease) if lapsed_before || !lease.is_valid_at(now) => Err(LeaseError::Lapsed {
                operation: Operation::Refresh,
                key: lease.key().clone(),
            }),
            result => result,
        }
    }
}

single_op!(
    /// A refresh of a lease (see [`Planner::refresh`]). The output is the refreshed lease, or
    /// [`LeaseError::Lapsed`] when the answer came after the safe deadline of the lease it
    /// extends (the holder had no confirmed lease for a while: it must stop and release, even
    /// though the store extended the lease) or after the refreshed lease's own.
    RefreshOp,
    Refresh,
    Result<Lease, LeaseError>
);

impl RefreshOp {
    /// A refresh of `lease` for `duration`, planned at `now`.
    ///
    /// # Errors
    /// [`LeaseError::InvalidInput`] (nothing to send), as [`Planner::refresh`].
    pub fn new(
        planner: Arc<Planner>,
        lease: &Lease,
        duration: Duration,
        now: Now,
        retry: RetryPolicy,
    ) -> Result<Self, LeaseError> {
        let (request, pending) = planner.refresh(lease, duration, now)?.into_parts();
        Ok(Self(Single::new(
            planner,
            request,
            Refresh(pending, lease.deadline()),
            retry,
            Resend::Transient,
        )))
    }
}

/// A release keeps no copy of its key: errors name the key its request holds.
#[derive(Debug)]
struct Release;

impl Interpret for Release {
    const READS_CLOCK: bool = false;
    type Output = Result<ReleaseOutcome, LeaseError>;

    fn interpret(
        self,
        planner: &Planner,
        request: &Request,
        answer: Answer,
        _: Now,
    ) -> Self::Output {
        release::interpret(|| planner.key_in(request), answer)
    }
}

single_op!(
    /// A release of a lease (see [`Planner::release`]).
    ReleaseOp,
    Release,
    Result<ReleaseOutcome, LeaseError>
);

impl ReleaseOp {
    /// A release of `lease`, planned at `now`.
    ///
    /// # Errors
    /// [`LeaseError::InvalidInput`] (nothing to send), as [`Planner::release`].
    pub fn new(
        planner: Arc<Planner>,
        lease: &Lease,
        now: Now,
        retry: RetryPolicy,
    ) -> Result<Self, LeaseError> {
        let request = planner.release(lease, now)?.into_request();
        Ok(Self(Single::new(
            planner,
            request,
            Release,
            retry,
            Resend::Transient,
        )))
    }
}

#[derive(Debug)]
struct Inspect(LeaseKey);

impl Interpret for Inspect {
    const READS_CLOCK: bool = false;
    type Output = Result<LeaseSnapshot, LeaseError>;

    fn interpret(self, planner: &Planner, _: &Request, answer: Answer, now: Now) -> Self::Output {
        inspect::interpret(planner, self.0, answer, now.wall)
    }
}

single_op!(
    /// A strongly consistent read of a lease (see [`Planner::inspect`]), judged at the wall
    /// clock of the reading its answer is handled at.
    InspectOp,
    Inspect,
    Result<LeaseSnapshot, LeaseError>
);

impl InspectOp {
    /// A read of the lease at `key`.
    ///
    /// # Errors
    /// [`LeaseError::InvalidInput`] (nothing to send), as [`Planner::inspect`].
    pub fn new(
        planner: Arc<Planner>,
        key: LeaseKey,
        retry: RetryPolicy,
    ) -> Result<Self, LeaseError> {
        let (request, key) = planner.inspect(key)?.into_parts();
        Ok(Self(Single::new(
            planner,
            request,
            Inspect(key),
            retry,
            Resend::Transient,
        )))
    }
}

#[derive(Debug)]
struct Commit(LeaseKey);

impl Interpret for Commit {
    const READS_CLOCK: bool = false;
    type Output = Result<(), LeaseError>;

    fn interpret(self, _: &Planner, _: &Request, answer: Answer, _: Now) -> Self::Output {
        commit::interpret(self.0, answer)
    }
}

single_op!(
    /// A guarded commit (see [`Planner::commit`] and [`Planner::commit_and_release`]). Its
    /// transaction is sent again only after a failure that certainly applied nothing and may
    /// pass (throttling): after a timeout or a server error it may have landed, and a second
    /// copy would fail its guard and hide the success.
    CommitOp,
    Commit,
    Result<(), LeaseError>
);

impl CommitOp {
    /// A commit of `writes` under `lease`, planned at `now`; with `release`, the commit also
    /// releases the lease.
    ///
    /// # Errors
    /// [`LeaseError::InvalidInput`] (nothing to send), as [`Planner::commit`].
    pub fn new(
        planner: Arc<Planner>,
        lease: &Lease,
        now: Now,
        writes: Vec<TransactItem>,
        release: bool,
        retry: RetryPolicy,
    ) -> Result<Self, LeaseError> {
        let plan = if release {
            planner.commit_and_release(lease, now, writes)?
        } else {
            planner.commit(lease, now, writes)?
        };
        let (request, key) = plan.into_parts();
        Ok(Self(Single::new(
            planner,
            request,
            Commit(key),
            retry,
            Resend::NotApplied,
        )))
    }
}
