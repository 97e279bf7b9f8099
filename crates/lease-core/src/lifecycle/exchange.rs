//! One request and its answer, sent again after transient failures as a [`RetryPolicy`]
//! allows: the building block of every machine.

use std::time::{Duration, Instant};

use super::retry::{Resend, RetryPolicy};
use super::{Ids, RequestId, Transmit};
use crate::request::Request;
use crate::response::{StoreError, StoreErrorKind, StoreResponse};

/// The answer a request ended with: the store's, or the last failure after the retries.
pub(crate) type Answer = Result<StoreResponse, StoreError>;

/// What an answer did to an exchange.
#[derive(Debug)]
pub(crate) enum Progress {
    /// The exchange is over, with this answer.
    Done(Answer),
    /// The request failed and will be sent again after `backoff`.
    Retrying {
        /// The failure.
        error: StoreError,
        /// The attempt that failed (1-based).
        attempt: u32,
        /// The wait before the next attempt.
        backoff: Duration,
    },
    /// The answer was not awaited (abandoned, or a duplicate): ignored.
    Stale,
}

impl Progress {
    /// The final answer, if the exchange is over.
    pub(crate) fn done(self) -> Option<Answer> {
        match self {
            Self::Done(answer) => Some(answer),
            Self::Retrying { .. } | Self::Stale => None,
        }
    }
}

/// Where an exchange stands.
#[derive(Debug)]
enum State {
    /// The request is due to be sent.
    Ready,
    /// Sent as the current id; waiting for the answer.
    InFlight,
    /// Failed; due to be sent again at the instant.
    Backoff(Instant),
}

/// One request, its sends and its retries. The owner calls [`poll_transmit`](Self::poll_transmit)
/// and hands each answer to [`handle_response`](Self::handle_response), which returns the
/// final answer once no retry is due.
#[derive(Debug)]
pub(crate) struct Exchange {
    request: Request,
    id: RequestId,
    attempt: u32,
    state: State,
    policy: RetryPolicy,
    resend: Resend,
    /// The first failure of an attempt that may have been applied (kind and message): a later
    /// attempt's failure that applied nothing does not make the exchange's outcome certain.
    uncertain: Option<(StoreErrorKind, String)>,
}

impl Exchange {
    /// An exchange of `request`, first sent as `id`.
    pub(crate) fn new(
        request: Request,
        id: RequestId,
        policy: RetryPolicy,
        resend: Resend,
    ) -> Self {
        Self {
            request,
            id,
            attempt: 0,
            state: State::Ready,
            policy,
            resend,
            uncertain: None,
        }
    }

    /// The request to send now, if one is due: the first send, or a retry whose backoff has
    /// passed. Afterwards the exchange waits for the answer to that id.
    pub(crate) fn poll_transmit(&mut self, now: Option<Instant>) -> Option<Transmit<'_>> {
        self.handle_timeout(now);
        match self.state {
            State::Ready => {
                self.state = State::InFlight;
                self.attempt = self.attempt.saturating_add(1);
                Some(Transmit {
                    id: self.id,
                    request: &self.request,
                })
            }
            State::InFlight | State::Backoff(_) => None,
        }
    }

    /// The request.
    pub(crate) fn request(&self) -> &Request {
        &self.request
    }

    /// Whether a resend (not the first send) is due at `now`: the owner may re-plan it first
    /// ([`set_request`](Self::set_request)).
    pub(crate) fn resend_due(&mut self, now: Option<Instant>) -> bool {
        self.handle_timeout(now);
        matches!(self.state, State::Ready) && self.attempt > 0
    }

    /// Replaces the request before a resend.
    pub(crate) fn set_request(&mut self, request: Request) {
        self.request = request;
    }

    /// The id of the request in flight, if one is.
    pub(crate) fn in_flight(&self) -> Option<RequestId> {
        matches!(self.state, State::InFlight).then_some(self.id)
    }

    /// Whether the answer to `id` is awaited.
    pub(crate) fn is_awaiting(&self, id: RequestId) -> bool {
        matches!(self.state, State::InFlight) && id == self.id
    }

    /// Takes the answer to `id`, read at `now`: [`Progress::Done`] when the exchange is over
    /// (a success, a failure that is not resent, or the last attempt's failure),
    /// [`Progress::Retrying`] when a retry is scheduled (under a new id from `ids`), and
    /// [`Progress::Stale`] when `id` is not awaited (a stale or duplicate answer, ignored).
    pub(crate) fn handle_response(
        &mut self,
        id: RequestId,
        answer: Answer,
        now: Option<Instant>,
        ids: &mut Ids,
    ) -> Progress {
        if !self.is_awaiting(id) {
            return Progress::Stale;
        }
        let backoff = match &answer {
            Err(e) if self.resend.allows(e.kind()) => self.policy.backoff_after(self.attempt),
            _ => None,
        };
        match (backoff, now, answer) {
            (Some(backoff), Some(now), Err(error)) => match now.checked_add(backoff) {
                Some(at) => {
                    if self.uncertain.is_none() && error.kind().outcome_may_be_applied() {
                        self.uncertain = Some((error.kind(), error.message().to_owned()));
                    }
                    self.id = ids.next();
                    self.state = State::Backoff(at);
                    Progress::Retrying {
                        error,
                        attempt: self.attempt,
                        backoff,
                    }
                }
                None => Progress::Done(Err(self.settled(error))),
            },
            (_, _, Err(error)) => Progress::Done(Err(self.settled(error))),
            (_, _, answer) => Progress::Done(answer),
        }
    }

    /// The exchange's final failure: `last`, unless an earlier attempt may have been applied
    /// and `last` applied nothing (a resend throttled or refused after a timeout): then the
    /// outcome is still unknown, and the error says so with the earlier attempt's kind.
    fn settled(&mut self, last: StoreError) -> StoreError {
        match self.uncertain.take() {
            Some((kind, message)) if !last.kind().outcome_may_be_applied() => StoreError::new(
                kind,
                format!(
                    "{message} (an earlier attempt, which may have been applied); the last attempt: {}: {}",
                    last.kind(),
                    last.message()
                ),
            )
            .with_source(last),
            _ => last,
        }
    }

    /// Moves a retry whose backoff has passed at `now` to ready (without a monotonic reading,
    /// any backoff counts as passed).
    pub(crate) fn handle_timeout(&mut self, now: Option<Instant>) {
        if let State::Backoff(at) = self.state
            && now.is_none_or(|now| now >= at)
        {
            self.state = State::Ready;
        }
    }

    /// When a retry is due, while one is waiting.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Backoff(at) => Some(at),
            State::Ready | State::InFlight => None,
        }
    }
}

/// The earlier of two optional instants (the one present, if only one is).
pub(crate) fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// `now + delay`, or `cap` if that is earlier (or overflows).
pub(crate) fn at_most(now: Instant, delay: Duration, cap: Instant) -> Instant {
    now.checked_add(delay).map_or(cap, |at| at.min(cap))
}

/// `at + delay`, or the latest instant within reach when that overflows (halving the delay
/// until it fits): a delay too long for the clock means "not for a very long time", never
/// "now".
pub(crate) fn saturating_add(at: Instant, mut delay: Duration) -> Instant {
    loop {
        if let Some(later) = at.checked_add(delay) {
            return later;
        }
        delay /= 2;
    }
}
