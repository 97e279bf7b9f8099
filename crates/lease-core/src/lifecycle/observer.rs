//! [`Observer`]: following the leader of an election, read by read, judged by the observer's
//! own clock.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::exchange::{Answer, earliest, saturating_add};
use super::machine::Machine;
use super::ops::InspectOp;
use super::retry::RetryPolicy;
use super::wait_policy::MIN_POLL_DELAY;
use super::{RequestId, Transmit};
use crate::election::{Leader, election_key};
use crate::error::LeaseError;
use crate::key::LeaseKey;
use crate::now::Now;
use crate::planner::Planner;
use crate::text::Text;

/// Follows the leader of an election: reads the election's item (one strongly consistent
/// `GetItem`, retried as the [`RetryPolicy`] says) every `every` (at least
/// [`MIN_POLL_DELAY`]), judges what it read by the observer's wall clock, and reports each
/// change of the leader it shows ([`poll_change`](Self::poll_change)).
///
/// **It never shows a leader past the leader's lease.** The leader shown is re-judged at every
/// input, and the observer asks to be woken at its expiry
/// ([`poll_timeout`](Self::poll_timeout)): at the reading where the observer's wall clock
/// passes the stored expiry it shows no leader, whether or not a read succeeded meanwhile (a
/// failed read keeps the leader last read, until that expiry). So the leader shown is never one
/// whose lease ran out more than the clock difference between the observer and the leader
/// (at most the configured clock skew bound) ago, given a driver that wakes it on time. A
/// release is seen at the next read: up to `every` late.
///
/// Driven like the other machines: send what [`poll_transmit`](Self::poll_transmit) returns and
/// hand the answer back, wake it at [`poll_timeout`](Self::poll_timeout) with
/// [`handle_timeout`](Self::handle_timeout). It never finishes; drop it to stop.
#[derive(Debug)]
pub struct Observer {
    planner: Arc<Planner>,
    key: LeaseKey,
    every: Duration,
    retry: RetryPolicy,
    /// When the next read is due (monotonic), while none is in flight; `None`: at once.
    next_read: Option<Instant>,
    /// The read under way.
    read: Option<InspectOp>,
    /// The leader shown.
    shown: Option<Leader>,
    /// When the leader shown expires by the monotonic clock, as last judged.
    shown_until: Option<Instant>,
    /// Changes of the leader shown, not yet polled.
    changes: VecDeque<Option<Leader>>,
    /// The last read's error, if the last read failed (shared, so that a driver can hand it to
    /// watchers).
    last_error: Option<Arc<LeaseError>>,
}

impl Observer {
    /// An observer of the election `name` reading every `every` (raised to
    /// [`MIN_POLL_DELAY`]); the first read is due at once.
    ///
    /// # Errors
    /// [`LeaseError::InvalidInput`] for an empty or oversized name (nothing is sent).
    pub fn new(
        planner: Arc<Planner>,
        name: impl Into<Text>,
        every: Duration,
        retry: RetryPolicy,
    ) -> Result<Self, LeaseError> {
        let key = election_key(name);
        // The name is checked as a read of it would be.
        InspectOp::new(Arc::clone(&planner), key.clone(), retry)?;
        Ok(Self {
            planner,
            key,
            every: every.max(MIN_POLL_DELAY),
            retry,
            next_read: None,
            read: None,
            shown: None,
            shown_until: None,
            changes: VecDeque::new(),
            last_error: None,
        })
    }

    /// The leader shown now (as of the last input): `None` when there is none, or before the
    /// first read answered.
    #[must_use]
    pub fn leader(&self) -> Option<&Leader> {
        self.shown.as_ref()
    }

    /// The next change of the leader shown, oldest first: a new leader, a new term, `None`, or
    /// a new expiry of the same term (a renewal read).
    pub fn poll_change(&mut self) -> Option<Option<Leader>> {
        self.changes.pop_front()
    }

    /// The error of the last read, if it failed (the leader shown is then the one last read,
    /// until its expiry).
    #[must_use]
    pub fn last_error(&self) -> Option<&LeaseError> {
        self.last_error.as_deref()
    }

    /// [`last_error`](Self::last_error), shared: for a driver that passes it on to its
    /// watchers (the `lease` crate's `LeaderWatch::read_failed`).
    #[must_use]
    pub fn shared_last_error(&self) -> Option<Arc<LeaseError>> {
        self.last_error.clone()
    }

    /// The read due at `now`, if one is: the `GetItem` to send. Hand its answer to
    /// [`handle_response`](Self::handle_response).
    pub fn poll_transmit(&mut self, now: Now) -> Option<Transmit<'_>> {
        self.handle_timeout(now);
        self.read.as_mut()?.poll_transmit(now)
    }

    /// The store's answer to the read `id`, at `now`.
    pub fn handle_response(&mut self, id: RequestId, answer: Answer, now: Now) {
        if let Some(read) = &mut self.read {
            read.handle_response(id, answer, now);
        }
        self.settle(now);
    }

    /// What is due at `now`: the expiry of the leader shown, the next read, a retry of the
    /// read under way. Safe to call at any time.
    pub fn handle_timeout(&mut self, now: Now) {
        self.judge(now);
        if let Some(read) = &mut self.read {
            read.handle_timeout(now);
            self.settle(now);
            return;
        }
        let due = match (self.next_read, now.monotonic) {
            (None, _) | (_, None) => true,
            (Some(at), Some(read)) => read >= at,
        };
        if due {
            // The key was checked when the observer was made.
            if let Ok(read) =
                InspectOp::new(Arc::clone(&self.planner), self.key.clone(), self.retry)
            {
                self.read = Some(read);
                // An interval too long for the clock means "not for a very long time".
                self.next_read = now.monotonic.map(|at| saturating_add(at, self.every));
            }
        }
    }

    /// When the observer next has something to do without an answer: the expiry of the leader
    /// shown, the next read (while none is in flight), a retry of the read under way.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let read = match &self.read {
            Some(read) => read.poll_timeout(),
            None => self.next_read,
        };
        earliest(read, self.shown_until)
    }

    /// Takes the read's result, if it has one.
    fn settle(&mut self, now: Now) {
        let Some(read) = &mut self.read else {
            return;
        };
        while read.poll_event().is_some() {}
        let Some(result) = read.poll_output() else {
            return;
        };
        self.read = None;
        match result {
            Ok(snapshot) => {
                self.last_error = None;
                self.show(Leader::of(&snapshot), now);
            }
            Err(error) => {
                self.last_error = Some(Arc::new(error));
                self.judge(now);
            }
        }
    }

    /// Re-judges the leader shown at `now`.
    fn judge(&mut self, now: Now) {
        let shown = self.shown.clone();
        self.show(shown, now);
    }

    /// Shows `leader` if it is current at `now` (no leader otherwise), noting a change.
    fn show(&mut self, leader: Option<Leader>, now: Now) {
        let leader = leader.filter(|leader| leader.is_current_at(now.wall));
        self.shown_until = match (&leader, now.monotonic) {
            (Some(leader), Some(at)) => leader
                .expires_at
                .duration_since(now.wall)
                .ok()
                .map(|left| saturating_add(at, left)),
            _ => None,
        };
        if leader != self.shown {
            self.changes.push_back(leader.clone());
            self.shown = leader;
        }
    }
}
