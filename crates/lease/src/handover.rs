//! In-process handover: the manager's waiters stand in line per key (lease-core's
//! [`WaitQueue`]), only the first talks to the table, and a release by this manager hands the
//! lease to the next waiter at once (one acquire request, no poll delay).
//!
//! The queue decides; this module keeps it behind a lock shared by the manager's clones and
//! delivers each [`Turn`] it returns to the waiting task's [`TurnSlot`]. A waiter's [`Place`]
//! leaves the line when it is dropped, so a cancelled wait (its future dropped) passes the turn
//! on. The line is only an optimisation in front of the conditional write (docs/lifecycle.md,
//! "In-process handover").

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use lease_core::lifecycle::{Turn, WaitOp, WaitQueue, WaiterId};
use lease_core::{Lease, LeaseKey, LeaseToken, Now};
use tokio::sync::Notify;

/// Where a waiting task receives its turns: the latest undelivered one, and a wake-up.
#[derive(Debug, Default)]
pub(crate) struct TurnSlot {
    turn: Mutex<Option<Turn>>,
    arrived: Notify,
}

impl TurnSlot {
    /// Leaves `turn` for the task (replacing one it has not taken: the latest knowledge wins)
    /// and wakes it.
    fn give(&self, turn: Turn) {
        *self.turn.lock().unwrap_or_else(PoisonError::into_inner) = Some(turn);
        self.arrived.notify_one();
    }

    /// The turn left for the task, if any.
    fn take(&self) -> Option<Turn> {
        self.turn
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// What can interrupt the driving of a machine between its steps ([`LeaseManager::drive_with`]
/// (crate::LeaseManager)): a waiting acquire's turns, or nothing.
pub(crate) trait Interrupts<M> {
    /// Hands `machine` what arrived, at `now`, if anything did.
    fn apply(&self, machine: &mut M, now: Now);

    /// Resolves when something may have arrived.
    fn arrived(&self) -> impl Future<Output = ()> + Send;
}

/// No interruptions: a single operation.
pub(crate) struct Uninterrupted;

impl<M> Interrupts<M> for Uninterrupted {
    fn apply(&self, _machine: &mut M, _now: Now) {}

    async fn arrived(&self) {
        std::future::pending::<()>().await;
    }
}

impl Interrupts<WaitOp> for TurnSlot {
    fn apply(&self, machine: &mut WaitOp, now: Now) {
        if let Some(turn) = self.take() {
            machine.take_turn(turn, now);
        }
    }

    async fn arrived(&self) {
        self.arrived.notified().await;
    }
}

/// The line of a manager and its clones.
#[derive(Debug, Default)]
pub(crate) struct Handover {
    queue: Mutex<WaitQueue<Arc<TurnSlot>>>,
    /// Whether anyone may be in line: lets acquires and releases of a manager that has no
    /// waiters skip the lock.
    busy: AtomicBool,
}

impl Handover {
    /// Puts a waiter for `key` (resolved) in line; its place, and its first turn.
    pub(crate) fn join(&self, key: &LeaseKey) -> (Place<'_>, Arc<TurnSlot>, Turn) {
        let slot = Arc::new(TurnSlot::default());
        let (id, turn) = {
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            let joined = queue.join(key, Arc::clone(&slot));
            self.busy.store(true, Ordering::Release);
            joined
        };
        let place = Place {
            handover: self,
            key: key.clone(),
            id,
            left: false,
        };
        (place, slot, turn)
    }

    /// `lease` was acquired by this manager without waiting.
    pub(crate) fn acquired(&self, lease: &Lease) {
        if self.busy.load(Ordering::Acquire) {
            self.with(|queue| queue.acquired(lease, None));
        }
    }

    /// The lease at `key` with `token` was let go by this manager.
    pub(crate) fn released(&self, key: &LeaseKey, token: &LeaseToken) {
        if self.busy.load(Ordering::Acquire) {
            self.with(|queue| queue.released(key, token));
        }
    }

    /// Runs `change` on the queue, keeps `busy` in step, and delivers the turn it returns.
    fn with(
        &self,
        change: impl FnOnce(&mut WaitQueue<Arc<TurnSlot>>) -> Option<(Arc<TurnSlot>, Turn)>,
    ) {
        let told = {
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            let told = change(&mut queue);
            self.busy.store(!queue.is_empty(), Ordering::Release);
            told
        };
        if let Some((slot, turn)) = told {
            slot.give(turn);
        }
    }
}

/// A waiter's place in line; leaves the line when dropped (a wait that ended without the
/// lease, or whose future was dropped), passing the turn on.
#[derive(Debug)]
pub(crate) struct Place<'a> {
    handover: &'a Handover,
    key: LeaseKey,
    id: WaiterId,
    left: bool,
}

impl Place<'_> {
    /// The waiter acquired `lease`: it leaves the line, and the next waiter is first behind it.
    pub(crate) fn acquired(mut self, lease: &Lease) {
        self.left = true;
        let id = self.id;
        self.handover.with(|queue| queue.acquired(lease, Some(id)));
    }
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        if !self.left {
            let (key, id) = (&self.key, self.id);
            self.handover.with(|queue| queue.leave(key, id));
        }
    }
}
