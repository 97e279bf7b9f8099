//! [`WaitQueue`]: the waiters of one process for the leases it wants, in line per key.

use std::collections::{HashMap, VecDeque};

use crate::holder::{Holder, HolderRecord};
use crate::key::LeaseKey;
use crate::lease::Lease;
use crate::token::LeaseToken;

/// One waiter's place in a [`WaitQueue`], as [`WaitQueue::join`] gave it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WaiterId(u64);

/// What a waiter is told to do ([`WaitOp::take_turn`](super::WaitOp::take_turn)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Turn {
    /// It is first in line and the lease may be free: attempt now.
    Attempt,
    /// It is first in line, and a holder in this process has the lease: wait for its release
    /// (the queue will say [`Attempt`](Self::Attempt)), or as the wait policy says for a known
    /// holder (until its expiry, polling at most every `max_delay`).
    Behind(Holder),
    /// Another waiter of this process is first: send nothing until told (or at the wait's
    /// deadline, for its last attempt).
    Queued,
}

/// The holder of a line's lease in this process, as far as the queue knows.
#[derive(Debug)]
struct LocalHolder {
    token: LeaseToken,
    info: HolderRecord,
}

/// The waiters for one key, first first.
#[derive(Debug)]
struct Line<W> {
    waiters: VecDeque<(WaiterId, W)>,
    holder: Option<LocalHolder>,
}

impl<W> Line<W> {
    /// What the first waiter is told to do.
    fn first_turn(&self) -> Turn {
        match &self.holder {
            Some(holder) => Turn::Behind(Holder::Known(holder.info)),
            None => Turn::Attempt,
        }
    }
}

/// The waiters of one process (one `LeaseManager` and its clones) for leases, in line per key.
/// `W` is the driver's handle to reach a waiter.
///
/// Waiters for the same key in one process do not each poll the table: they stand in line,
/// first come first served, and only the first talks to the table (its [`WaitOp`] attempts and
/// polls as its policy says). When a lease is acquired or released in the process, the queue
/// says who must be told, and what:
/// - a release in the process (a plain release, a guard's, a transaction's) tells the first
///   waiter to attempt at once ([`Turn::Attempt`]): the handover costs one acquire request and
///   no poll delay;
/// - an acquire by the first waiter makes the next one first, behind a holder it knows
///   ([`Turn::Behind`]): it sleeps as its policy says for a known holder (until the expiry,
///   polling at most every `max_delay`) instead of sending an attempt bound to fail;
/// - a waiter that leaves the line (it timed out, failed, or its future was dropped) passes
///   the turn to the next.
///
/// The queue is only an optimisation in front of the conditional write, never a substitute for
/// it: every lease is still taken by the store's conditional acquire, so a wrong or late
/// signal costs a request or a poll delay, never safety. It holds a line only while waiters
/// stand in it (the holder is remembered only for them), so a process that holds many leases
/// and waits for none keeps nothing here.
///
/// Pure, like the machines: the driver keeps the queue behind a lock, and delivers each
/// [`Turn`] it returns to the waiter's handle `W` (the `lease` crate: a channel to the waiting
/// task; the simulator: an actor's index).
///
/// [`WaitOp`]: super::WaitOp
///
/// Every method that changes who is first returns the waiter to tell and its [`Turn`]; the
/// driver must deliver it (a waiter that is never told waits until its deadline).
#[derive(Debug)]
pub struct WaitQueue<W> {
    lines: HashMap<LeaseKey, Line<W>>,
    next_id: u64,
}

impl<W> Default for WaitQueue<W> {
    fn default() -> Self {
        Self {
            lines: HashMap::new(),
            next_id: 0,
        }
    }
}

impl<W: Clone> WaitQueue<W> {
    /// An empty queue.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether no one waits for any lease: the acquires and releases of a process that does
    /// not wait need not tell the queue anything.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The number of waiters in line for `key` (the resolved key, with its sort key).
    #[must_use]
    pub fn waiting(&self, key: &LeaseKey) -> usize {
        self.lines.get(key).map_or(0, |line| line.waiters.len())
    }

    /// Puts a waiter for `key` (resolved, with its sort key) at the end of its line; returns
    /// its id and what it must do first: [`Turn::Attempt`] or [`Turn::Behind`] if it is first,
    /// [`Turn::Queued`] otherwise.
    pub fn join(&mut self, key: &LeaseKey, waiter: W) -> (WaiterId, Turn) {
        let id = WaiterId(self.next_id);
        self.next_id = self.next_id.wrapping_add(1);
        let line = self.lines.entry(key.clone()).or_insert_with(|| Line {
            waiters: VecDeque::new(),
            holder: None,
        });
        line.waiters.push_back((id, waiter));
        let turn = if line.waiters.len() == 1 {
            line.first_turn()
        } else {
            Turn::Queued
        };
        (id, turn)
    }

    /// Waiter `id` gave up waiting for `key` (timed out, failed, or was dropped). If it was
    /// first, returns the next waiter and its turn. Unknown ids are ignored.
    pub fn leave(&mut self, key: &LeaseKey, id: WaiterId) -> Option<(W, Turn)> {
        let line = self.lines.get_mut(key)?;
        let was_first = line.waiters.front().is_some_and(|(first, _)| *first == id);
        line.waiters.retain(|(waiter, _)| *waiter != id);
        self.next_after(key, was_first)
    }

    /// `lease` was acquired in this process: by waiter `by` (which then leaves the line), or
    /// by an acquire that did not wait (`None`). The lease's holder is remembered while the
    /// line lasts; if the first waiter changed, returns the new first and its turn
    /// ([`Turn::Behind`] the new holder).
    pub fn acquired(&mut self, lease: &Lease, by: Option<WaiterId>) -> Option<(W, Turn)> {
        let key = lease.key();
        let line = self.lines.get_mut(key)?;
        line.holder = Some(LocalHolder {
            token: lease.token().clone(),
            info: HolderRecord {
                token: lease.token().fingerprint(),
                expires_at: lease.expires_at(),
                fence: Some(lease.fence()),
                released: false,
            },
        });
        let was_first = match by {
            Some(id) => {
                let first = line.waiters.front().is_some_and(|(first, _)| *first == id);
                line.waiters.retain(|(waiter, _)| *waiter != id);
                first
            }
            None => false,
        };
        self.next_after(key, was_first)
    }

    /// The lease at `key` with token `token` was let go in this process (released, or its
    /// guard ended). Unless the queue knows another holder has the lease, returns the first
    /// waiter, told to [`Attempt`](Turn::Attempt) now.
    pub fn released(&mut self, key: &LeaseKey, token: &LeaseToken) -> Option<(W, Turn)> {
        let line = self.lines.get_mut(key)?;
        match &line.holder {
            Some(holder) if holder.token != *token => return None,
            _ => line.holder = None,
        }
        line.waiters
            .front()
            .map(|(_, waiter)| (waiter.clone(), Turn::Attempt))
    }

    /// After the first waiter of `key`'s line may have changed: drops an empty line, and
    /// returns the new first and its turn if `first_left`.
    fn next_after(&mut self, key: &LeaseKey, first_left: bool) -> Option<(W, Turn)> {
        let line = self.lines.get(key)?;
        let Some((_, waiter)) = line.waiters.front() else {
            self.lines.remove(key);
            return None;
        };
        first_left.then(|| (waiter.clone(), line.first_turn()))
    }
}
