//! The lease lifecycle as pure state machines: what happens to a lease *over time*.
//!
//! The planner turns one operation into one request and interprets its answer. A lease that is
//! kept, waited for or retried needs more: timers, retries, a schedule, the decision that a
//! lease is lost. Those decisions live here, as machines in the style of `quinn-proto`: they
//! never read a clock, sleep, spawn or send; a driver feeds them inputs and carries out their
//! outputs.
//!
//! - Inputs: `handle_*` calls: the store's answer to a request
//!   (`handle_response(id, answer, now)`), the passing of time (`handle_timeout(now)`), and
//!   commands (such as [`Keeper::release`]).
//! - Outputs: `poll_*` calls: the next request to send ([`Transmit`], `poll_transmit(now)`),
//!   the next instant something is due (`poll_timeout() -> Option<Instant>`), and events
//!   (`poll_event()`).
//!
//! Every `now` is a [`Now`](crate::Now): the holder's wall clock (for the times a request
//! writes) and its monotonic clock (for every timer and deadline). A `Now` without a monotonic
//! reading counts as past every deadline: a machine that cannot tell the time does not keep a
//! lease. `handle_timeout` may be called early, late or repeatedly; a machine acts on what is
//! due at the reading it is given, so a driver that was paused (a GC pause, `SIGSTOP`, a
//! suspended machine) sees every deadline it slept through at its next input.
//!
//! Machines:
//! - [`Keeper`]: a held lease renewed until its holder lets go (the `lease` crate's
//!   `LeaseGuard`);
//! - [`Machine`]s that run one operation to its result: [`AcquireOp`] (with the give-back of
//!   a lease it cannot use and the holder read of a single try), [`RefreshOp`],
//!   [`ReleaseOp`], [`InspectOp`], [`CommitOp`], and [`WaitOp`] (a waiting acquire: attempts,
//!   the holder's known expiry, jittered backoff, a timeout, as the [`WaitPolicy`] says).
//!   [`PermitOp`] acquires a permit of a counting semaphore (a `Query` of its slots, then the
//!   acquire of a free one, waiting while it is full if asked).
//!   [`AcquireSetOp`], [`RefreshSetOp`] and [`ReleaseSetOp`] do the same for a
//!   [`LeaseSet`](crate::LeaseSet) (several keys held together, one transaction each).
//!   Which failures are sent again, how often and after what backoff is the [`RetryPolicy`]'s.
//! - [`Observer`]: the leader of an election, read by read and judged by the observer's clock
//!   (never shown past its lease);
//! - [`WaitQueue`]: the waiters of one process in line per key, so that only the first talks
//!   to the table and a release in the process hands the lease to the next at once (a
//!   [`Turn`] for a [`WaitOp`]).
//!
//! Randomness comes in from the caller: tokens from a [`TokenSource`](crate::TokenSource), the
//! wait's jitter and the keeper's renewal jitter from a seed.
//!
//! Each sends at most one request at a time.

mod acquire_op;
mod exchange;
mod jitter;
mod keeper;
mod kept;
mod machine;
mod observer;
mod ops;
mod patience;
mod permit_op;
mod renew_policy;
mod retry;
mod set_ops;
mod status;
mod wait_op;
mod wait_policy;
mod wait_queue;

pub use acquire_op::AcquireOp;
pub use keeper::{Ending, Finished, Keeper, KeeperEvent};
pub use kept::{Kept, ReleaseStep};
pub use machine::{Machine, OpEvent};
pub use observer::Observer;
pub use ops::{CommitOp, InspectOp, RefreshOp, ReleaseOp};
pub use permit_op::PermitOp;
pub use renew_policy::{DEFAULT_RENEW_JITTER, MAX_RENEW_JITTER, MIN_RETRY_DELAY, RenewPolicy};
pub use retry::RetryPolicy;
pub use set_ops::{AcquireSetOp, RefreshSetOp, ReleaseSetOp};
pub use status::{LeaseStatus, LossReason};
pub use wait_op::WaitOp;
pub use wait_policy::{MIN_POLL_DELAY, WaitPolicy};
pub use wait_queue::{Turn, WaitQueue, WaiterId};

use crate::request::Request;

/// Names one request a machine asked to send, so that its answer finds its way back (and an
/// answer to a request the machine gave up on is recognised and ignored).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(u64);

impl RequestId {
    /// The id's number: ids of one machine count up from 0 in the order the requests were
    /// planned (a retry gets a new id).
    #[must_use]
    pub fn get(self) -> u64 {
        self.0
    }
}

/// A request a machine asks its driver to send to the store now. Send it, then hand the
/// store's answer (or its error) back with the same `id`.
#[derive(Clone, Copy, Debug)]
#[must_use = "a machine waits for the answer to every request it asks for"]
#[expect(
    clippy::exhaustive_structs,
    reason = "driver protocol: a driver reads every field, so a new one is a breaking change on purpose"
)]
pub struct Transmit<'a> {
    /// The id to answer with.
    pub id: RequestId,
    /// The request, to send as it is (`Debug` shows its token as a fingerprint).
    pub request: &'a Request,
}

/// A machine's request ids, counting up.
#[derive(Debug, Default)]
pub(crate) struct Ids(u64);

impl Ids {
    /// Ids from `first` on (a machine made by another continues its numbering, so that no two
    /// of its requests share an id).
    pub(crate) fn starting_at(first: u64) -> Self {
        Self(first)
    }

    /// The next id.
    pub(crate) fn next(&mut self) -> RequestId {
        let id = RequestId(self.0);
        self.0 = self.0.wrapping_add(1);
        id
    }

    /// The number the next id will have.
    pub(crate) fn peek(&self) -> u64 {
        self.0
    }
}
