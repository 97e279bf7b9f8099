//! Pumping an operation's [`Machine`] with the store and tokio's timer: the whole of what the
//! manager does for an operation, besides counting and logging it.

use std::time::{Duration, Instant};

use lease_core::lifecycle::{Machine, OpEvent};
use lease_core::{FencingToken, Holder, Now};
use tracing::{debug, warn};

use super::LeaseManager;
use crate::handover::{Interrupts, Uninterrupted};
use lease_core::Store;

impl<S: Store> LeaseManager<S> {
    /// Runs `machine` to its result: sends each request it asks for (one at a time) and hands
    /// the answer back at a fresh reading of the clocks (or the send's, for a machine that
    /// does not [read the clock on answers](Machine::reads_clock_on_answer)), sleeps until its timers (on tokio's
    /// timer, for the time left by the manager's clock), logs its events. `first` is the
    /// reading it was planned at.
    ///
    /// The machine's monotonic readings never go back, and a timer the driver slept to counts
    /// as reached even if the clock did not move (a frozen test clock): a retry's backoff
    /// cannot wait for ever.
    pub(crate) async fn drive<M: Machine>(&self, machine: &mut M, first: Now) -> M::Output {
        self.drive_with(machine, first, &Uninterrupted).await
    }

    /// [`drive`](Self::drive), handing the machine what `interrupts` brings between its steps
    /// (a waiting acquire's [turns](lease_core::lifecycle::Turn)): at once while it sleeps,
    /// and after the answer while a request is out. A machine with nothing to send and no timer
    /// (a waiter in line without a timeout) waits for an interruption.
    pub(crate) async fn drive_with<M: Machine, I: Interrupts<M>>(
        &self,
        machine: &mut M,
        first: Now,
        interrupts: &I,
    ) -> M::Output {
        let mut floor = first.monotonic;
        let mut now = first;
        loop {
            interrupts.apply(machine, now);
            while let Some(event) = machine.poll_event() {
                self.record_event(event);
            }
            if let Some(output) = machine.poll_output() {
                return output;
            }
            if let Some(transmit) = machine.poll_transmit(now) {
                let id = transmit.id;
                let answer = self.store().execute(transmit.request).await;
                if machine.reads_clock_on_answer() {
                    now = self.reading_after(&mut floor);
                }
                machine.handle_response(id, answer, now);
                continue;
            }
            // Nothing to send and no result: a retry's backoff or a wait is due at
            // `poll_timeout`, unless an interruption comes first.
            if let Some(at) = machine.poll_timeout() {
                // The time left, by the same (floored) clock the machine reads.
                let read = self.reading_after(&mut floor).monotonic;
                let wait = read.map_or(Duration::ZERO, |read| at.saturating_duration_since(read));
                tokio::select! {
                    () = tokio::time::sleep(wait) => {
                        floor = Some(floor.map_or(at, |floor| floor.max(at)));
                    }
                    () = interrupts.arrived() => {}
                }
            } else {
                interrupts.arrived().await;
            }
            now = self.reading_after(&mut floor);
            machine.handle_timeout(now);
        }
    }

    /// A reading of the clocks whose monotonic part is no earlier than `floor`, which it moves.
    fn reading_after(&self, floor: &mut Option<Instant>) -> Now {
        let mut now = self.clock_reading();
        if let (Some(read), Some(at_least)) = (now.monotonic, *floor) {
            now.monotonic = Some(read.max(at_least));
        }
        *floor = now.monotonic;
        now
    }
}

impl<S> LeaseManager<S> {
    /// Counts and logs an operation's event.
    fn record_event(&self, event: OpEvent) {
        match event {
            OpEvent::Retrying {
                error,
                attempt,
                backoff,
            } => debug!(attempt, ?backoff, error = %error, "retrying lease request"),
            OpEvent::Contended {
                key,
                holder,
                retry_in,
            } => {
                self.shared.metrics.record_contended();
                let holder_fence = match &holder {
                    Holder::Known(info) => info.fence.map(FencingToken::get),
                    _ => None,
                };
                debug!(key = %key, holder_fence = ?holder_fence, delay = ?retry_in, "lease contended; waiting");
            }
            OpEvent::AttemptFailed {
                key,
                error,
                retry_in,
            } => debug!(key = %key, error = %error, delay = ?retry_in, "acquire failed; waiting"),
            OpEvent::GaveBack {
                key,
                outcome: Ok(outcome),
            } => {
                debug!(%key, ?outcome, "released the lease of an acquire whose outcome was unknown or came too late")
            }
            OpEvent::GaveBack {
                key,
                outcome: Err(error),
            } => {
                warn!(%key, error = %error.report(), "could not release the lease of an acquire whose outcome was unknown or came too late; the lease may stay blocked until it expires")
            }
            _ => {}
        }
    }
}
