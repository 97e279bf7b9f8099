//! [`Machine`]: an operation that runs to one result, and what it reports on the way.

use std::time::{Duration, Instant};

use super::{RequestId, Transmit};
use crate::error::LeaseError;
use crate::holder::Holder;
use crate::key::LeaseKey;
use crate::lease::ReleaseOutcome;
use crate::now::Now;
use crate::response::{StoreError, StoreResponse};

/// An operation as a state machine that runs to one result ([`poll_output`](Self::poll_output)):
/// the single operations ([`AcquireOp`](super::AcquireOp), [`RefreshOp`](super::RefreshOp),
/// [`ReleaseOp`](super::ReleaseOp), [`InspectOp`](super::InspectOp),
/// [`CommitOp`](super::CommitOp)) and the waiting acquire ([`WaitOp`](super::WaitOp)).
///
/// # Run loop
/// Until [`poll_output`](Self::poll_output) gives the result:
/// 1. send the request [`poll_transmit`](Self::poll_transmit) returns, if any, and hand its
///    answer to [`handle_response`](Self::handle_response) with its id, read at a fresh `now`;
/// 2. otherwise sleep until [`poll_timeout`](Self::poll_timeout) and call
///    [`handle_timeout`](Self::handle_timeout);
/// 3. drain [`poll_event`](Self::poll_event) for logs.
///
/// A machine always has a next step: a request to send, an instant to wake at, or its result
/// (while no answer is awaited); the one exception is a [`WaitOp`](super::WaitOp) in line
/// without a timeout, which waits for its [`Turn`](super::Turn). It sends one request at a time, reads no clock, and plans every
/// request at the `now` it is given.
pub trait Machine {
    /// The operation's result.
    type Output;

    /// The request to send now, if one is due. The machine then waits for its answer.
    fn poll_transmit(&mut self, now: Now) -> Option<Transmit<'_>>;

    /// The store's answer to the request sent as `id`, read at `now`. An answer that is not
    /// awaited (a duplicate, or one the machine gave up on) is ignored.
    fn handle_response(
        &mut self,
        id: RequestId,
        answer: Result<StoreResponse, StoreError>,
        now: Now,
    );

    /// Processes what is due at `now` (a retry's backoff, a wait). Safe to call at any time.
    fn handle_timeout(&mut self, now: Now);

    /// When the machine next has something to do without an answer, if ever.
    fn poll_timeout(&self) -> Option<Instant>;

    /// What happened on the way, for logs.
    fn poll_event(&mut self) -> Option<OpEvent>;

    /// The result, once: `None` before the machine is done, and after the result was taken.
    fn poll_output(&mut self) -> Option<Self::Output>;

    /// Whether an answer must come with a reading of the clocks taken after it arrived (to
    /// check a lease's deadline against it). When `false`, a driver may hand the machine the
    /// reading it sent the request at (one clock reading less per request); the machine then
    /// schedules a retry's backoff from the send.
    fn reads_clock_on_answer(&self) -> bool {
        true
    }
}

/// What an operation reports on its way to its result ([`Machine::poll_event`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum OpEvent {
    /// A request failed in a way that may pass, and will be sent again, unchanged, after
    /// `backoff` ([`RetryPolicy`](super::RetryPolicy)).
    Retrying {
        /// The failure.
        error: StoreError,
        /// The attempt that failed (1-based).
        attempt: u32,
        /// The wait before the next attempt.
        backoff: Duration,
    },
    /// An attempt of a waiting acquire found the lease held by another holder; the next
    /// attempt is due in `retry_in`.
    Contended {
        /// The lease's key.
        key: LeaseKey,
        /// What the attempt learned of the holder.
        holder: Holder,
        /// When the next attempt is due, from now.
        retry_in: Duration,
    },
    /// An attempt of a waiting acquire failed in a way that may pass (a transient store
    /// failure, an unknown outcome, an answer past the deadline); the next attempt is due in
    /// `retry_in`.
    AttemptFailed {
        /// The lease's key.
        key: LeaseKey,
        /// The failure, as its message.
        error: String,
        /// When the next attempt is due, from now.
        retry_in: Duration,
    },
    /// An acquire whose lease cannot be used (its outcome stayed unknown, or it was answered
    /// past the lease's safe deadline) gave the lease back: a release conditioned on its own
    /// token, so nothing of anyone else's is touched.
    GaveBack {
        /// The lease's key.
        key: LeaseKey,
        /// The release's result.
        outcome: Result<ReleaseOutcome, LeaseError>,
    },
}
