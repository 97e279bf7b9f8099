//! A set actor's leases ([`ActorOptions::sets`](crate::options::ActorOptions::sets)): lease
//! sets of 2 or 3 keys, acquired with lease-core's `AcquireSetOp` (waiting or one try), held by
//! hand (`RefreshSetOp` every renew period, `LeaseSet::is_valid_at` checked before each round
//! of writes, one write to each key's fenced resource with that key's fencing token) and
//! released with `ReleaseSetOp`, as a caller of the `lease` crate's `acquire_set`,
//! `refresh_set` and `release_set` does.
//!
//! A set held is one holder interval per key, all starting at the acquire's answer, sharing the
//! set's token, deadlines and renewals: the checker judges each key's intervals (set holders
//! and single holders alike) as it judges any, and the set's keys together against the store.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lease_core::lifecycle::{
    AcquireSetOp, Machine, OpEvent, RefreshSetOp, ReleaseSetOp, RequestId,
};
use lease_core::{
    CancellationReason, LeaseError, LeaseKey, LeaseSet, Now, ReleaseOutcome, StoreError,
    StoreResponse,
};
use rand::RngExt;

use super::{Actor, Ctx, Kind, State, describe_op_event, end, is_release};
use crate::history::{Deadlines, EndReason, Interval, Write};
use crate::options::Mode;

/// An acquire of a set under way.
#[derive(Debug)]
pub(super) struct SetAcquiring {
    /// The machine.
    pub(super) op: AcquireSetOp,
    /// The keys (indexes), in the order asked for.
    keys: Vec<usize>,
    /// The request it awaits, if one is out.
    awaiting: Option<RequestId>,
    /// Its last answer was a cancellation for a failed condition: if it sends an acquire
    /// again at once (no wait, no give-back), it proposes higher fencing tokens.
    behind: bool,
}

impl SetAcquiring {
    pub(super) fn handle_response(
        &mut self,
        id: RequestId,
        answer: Result<StoreResponse, StoreError>,
        now: Now,
    ) {
        if self.awaiting == Some(id) {
            self.awaiting = None;
            self.behind = matches!(
                &answer,
                Ok(StoreResponse::TransactionCanceled { reasons })
                    if reasons.iter().any(CancellationReason::is_condition_failure)
            );
        }
        self.op.handle_response(id, answer, now);
    }
}

/// A lease set held by hand.
#[derive(Debug)]
pub(super) struct SetHold {
    set: LeaseSet,
    /// The keys (indexes), in the set's order.
    keys: Vec<usize>,
    /// The holder interval of each key, in the set's order.
    intervals: Vec<usize>,
    work_until: Duration,
    next_write: Duration,
    next_refresh: Duration,
    refresh: Option<RefreshSetOp>,
    /// Why the set was found lost (a refresh answered `NotOwned` or `Lapsed`).
    lost: Option<String>,
    /// Stopped (and the intervals ended); letting go once the refresh in flight is answered.
    stopping: bool,
}

impl SetHold {
    pub(super) fn handle_response(
        &mut self,
        id: RequestId,
        answer: Result<StoreResponse, StoreError>,
        now: Now,
    ) {
        if let Some(op) = &mut self.refresh {
            op.handle_response(id, answer, now);
        }
    }

    /// When it next has something to do (true time), given how to place a monotonic instant.
    pub(super) fn next_wake(
        &self,
        on_clock: impl Fn(Option<Instant>) -> Option<Duration>,
    ) -> [Option<Duration>; 3] {
        let refresh = match &self.refresh {
            Some(op) => on_clock(op.poll_timeout()),
            None => Some(self.next_refresh),
        };
        if self.stopping {
            [refresh.filter(|_| self.refresh.is_some()), None, None]
        } else {
            [refresh, Some(self.work_until), Some(self.next_write)]
        }
    }
}

/// A lease set's release under way.
#[derive(Debug)]
pub(super) struct SetReleasing {
    /// The machine.
    pub(super) op: ReleaseSetOp,
    set: LeaseSet,
    keys: Vec<usize>,
}

impl Actor {
    /// Starts an acquire of a set of 2 or 3 keys (as many as there are, at most), drawn at
    /// random and named in a random order.
    pub(super) fn start_set_acquire(&mut self, now: Now, t: Duration, ctx: &mut Ctx<'_>) -> State {
        let size = self.rng.random_range(2..=self.keys.min(3));
        let mut keys: Vec<usize> = (0..self.keys).collect();
        for i in 0..size {
            let j = self.rng.random_range(i..keys.len());
            keys.swap(i, j);
        }
        keys.truncate(size);
        let token = self.tokens.next_token();
        ctx.history
            .set_keys
            .insert(token.expose_secret().to_owned(), keys.clone());
        ctx.history.note(t, || {
            format!(
                "{} acquires the set {:?}",
                self.name,
                keys.iter().map(|k| format!("K{k}")).collect::<Vec<_>>()
            )
        });
        self.machine += 1;
        let op = AcquireSetOp::new(
            Arc::clone(&self.planner),
            keys.iter().map(|k| LeaseKey::new(format!("K{k}"), "LOCK")),
            self.options.duration,
            now,
            token,
            self.options.retry,
        );
        match op {
            Ok(op) => {
                let op = if self.options.mode == Mode::GuardWaiting {
                    op.waiting(self.options.wait.clone())
                } else {
                    op
                };
                State::AcquiringSet(Box::new(SetAcquiring {
                    op,
                    keys,
                    awaiting: None,
                    behind: false,
                }))
            }
            // Options are valid by construction; a bad input would be a simulator bug.
            Err(_) => State::Done,
        }
    }

    pub(super) fn acquiring_set(
        &mut self,
        mut acquiring: Box<SetAcquiring>,
        now: Now,
        t: Duration,
        ctx: &mut Ctx<'_>,
    ) -> (State, bool) {
        loop {
            while let Some(event) = acquiring.op.poll_event() {
                match &event {
                    OpEvent::Contended { .. } => {
                        ctx.history.tally.held_keys += 1;
                        acquiring.behind = false;
                    }
                    OpEvent::GaveBack { .. } => ctx.history.tally.gave_back += 1,
                    OpEvent::Retrying { .. } => acquiring.behind = false,
                    _ => {}
                }
                let name = &self.name;
                ctx.history
                    .note(t, || format!("{name} {}", describe_op_event(&event)));
            }
            if let Some(result) = acquiring.op.poll_output() {
                if matches!(result, Err(LeaseError::HeldKeys { .. })) {
                    ctx.history.tally.held_keys += 1;
                }
                let keys = std::mem::take(&mut acquiring.keys);
                return (self.acquired_set(result, keys, t, ctx), true);
            }
            if self.in_flight.is_some() {
                return (State::AcquiringSet(acquiring), false);
            }
            let Some(transmit) = acquiring.op.poll_transmit(now) else {
                return (State::AcquiringSet(acquiring), false);
            };
            let kind = if is_release(transmit.request) {
                Kind::Release
            } else {
                if acquiring.behind {
                    ctx.history.tally.reproposals += 1;
                }
                Kind::Acquire
            };
            acquiring.behind = false;
            let id = transmit.id;
            self.send(transmit, kind, ctx);
            acquiring.awaiting = Some(id);
        }
    }

    /// A set acquire's result at `t`: the set held by hand (one interval per key), or rest.
    fn acquired_set(
        &mut self,
        result: Result<LeaseSet, LeaseError>,
        keys: Vec<usize>,
        t: Duration,
        ctx: &mut Ctx<'_>,
    ) -> State {
        let set = match result {
            Ok(set) => set,
            Err(error) => {
                ctx.history
                    .note(t, || format!("{} did not get its set: {error}", self.name));
                return self.rest(t, ctx);
            }
        };
        for lease in set.leases() {
            self.tell_line(t, ctx, |line| line.acquired(lease, None));
        }
        let Some(deadlines) = set.leases().first().and_then(Deadlines::of) else {
            return self.rest(t, ctx);
        };
        ctx.history.tally.sets_acquired += 1;
        let token = set.token().expose_secret().to_owned();
        let mut intervals = Vec::with_capacity(keys.len());
        for (lease, key) in set.leases().iter().zip(&keys) {
            intervals.push(ctx.history.intervals.len());
            ctx.history.intervals.push(Interval {
                who: self.who(),
                key: *key,
                token: token.clone(),
                fence: Some(lease.fence().get()),
                guarded: false,
                start: t,
                deadlines,
                renewals: Vec::new(),
                ended: None,
                foreign_end: None,
                set: Some(token.clone()),
            });
        }
        ctx.history.note(t, || {
            let fences: Vec<String> = set
                .leases()
                .iter()
                .zip(&keys)
                .map(|(lease, key)| format!("K{key} fence {}", lease.fence().get()))
                .collect();
            format!(
                "{} holds the set {} (intervals {intervals:?})",
                self.name,
                fences.join(", ")
            )
        });
        let work = self
            .options
            .max_work
            .mul_f64(self.rng.random_range(0.0..=1.0));
        let next_write = t + self.write_gap();
        let next_refresh = set
            .leases()
            .first()
            .map_or(Duration::MAX, |lease| self.renewal_due(lease));
        State::SetHeld(Box::new(SetHold {
            set,
            keys,
            intervals,
            work_until: t + work,
            next_write,
            next_refresh,
            refresh: None,
            lost: None,
            stopping: false,
        }))
    }

    pub(super) fn set_held(
        &mut self,
        mut hold: Box<SetHold>,
        now: Now,
        t: Duration,
        ctx: &mut Ctx<'_>,
    ) -> (State, bool) {
        if let Some(op) = &mut hold.refresh {
            match self.pump_machine(op, now, Kind::Refresh, t, ctx) {
                None => {}
                Some(Ok(set)) => {
                    hold.refresh = None;
                    ctx.history.tally.set_refreshes += 1;
                    if !hold.stopping {
                        if let Some(deadlines) = set.leases().first().and_then(Deadlines::of) {
                            for interval in &hold.intervals {
                                ctx.history.intervals[*interval]
                                    .renewals
                                    .push((t, deadlines));
                            }
                        }
                        hold.next_refresh = set
                            .leases()
                            .first()
                            .map_or(Duration::MAX, |lease| self.renewal_due(lease));
                    }
                    hold.set = set;
                }
                Some(Err(error)) => {
                    hold.refresh = None;
                    ctx.history
                        .note(t, || format!("{} set refresh failed: {error}", self.name));
                    if matches!(
                        error,
                        LeaseError::NotOwned { .. } | LeaseError::Lapsed { .. }
                    ) {
                        // The set is lost: stop, and release the keys still held.
                        hold.lost = Some(error.to_string());
                    } else {
                        hold.next_refresh = t + self.options.renew.retry_delay(1);
                    }
                }
            }
        }
        let valid = hold.set.is_valid_at(now);
        if !hold.stopping
            && (!valid || hold.lost.is_some() || t >= hold.work_until || ctx.finishing)
        {
            let reason = match (&hold.lost, valid) {
                (Some(lost), _) => EndReason::Lost(lost.clone()),
                (None, false) => EndReason::SawInvalid,
                (None, true) => EndReason::LetGo,
            };
            for interval in &hold.intervals {
                end(ctx.history, *interval, t, reason.clone());
            }
            ctx.history
                .let_go
                .insert(hold.set.token().expose_secret().to_owned(), t);
            hold.stopping = true;
        }
        if hold.stopping {
            if hold.refresh.is_some() {
                return (State::SetHeld(hold), false);
            }
            self.machine += 1;
            ctx.history
                .note(t, || format!("{} releases its set", self.name));
            return match ReleaseSetOp::new(
                Arc::clone(&self.planner),
                &hold.set,
                now,
                self.options.retry,
            ) {
                Ok(op) => (
                    State::SetReleasing(Box::new(SetReleasing {
                        op,
                        set: hold.set,
                        keys: hold.keys,
                    })),
                    true,
                ),
                Err(_) => (self.rest(t, ctx), true),
            };
        }
        if t >= hold.next_write {
            for ((lease, key), interval) in hold
                .set
                .leases()
                .iter()
                .zip(&hold.keys)
                .zip(&hold.intervals)
            {
                let fence = lease.fence().get();
                let accepted = ctx.registers[*key].write(fence);
                ctx.history.writes.push(Write {
                    interval: *interval,
                    at: t,
                    accepted,
                });
                ctx.history.note(t, || {
                    format!(
                        "{} writes K{key} under its set with fence {fence}: {}",
                        self.name,
                        if accepted { "accepted" } else { "rejected" }
                    )
                });
            }
            hold.next_write = t + self.write_gap();
        }
        if t >= hold.next_refresh && hold.refresh.is_none() {
            self.machine += 1;
            match RefreshSetOp::new(
                &self.planner,
                &hold.set,
                self.options.duration,
                now,
                self.options.retry,
            ) {
                Ok(mut op) => {
                    let _ = self.pump_machine(&mut op, now, Kind::Refresh, t, ctx);
                    hold.refresh = Some(op);
                }
                Err(_) => hold.next_refresh = Duration::MAX,
            }
            return (State::SetHeld(hold), true);
        }
        (State::SetHeld(hold), false)
    }

    pub(super) fn set_releasing(
        &mut self,
        mut releasing: Box<SetReleasing>,
        now: Now,
        t: Duration,
        ctx: &mut Ctx<'_>,
    ) -> (State, bool) {
        let Some(result) = self.pump_machine(&mut releasing.op, now, Kind::Release, t, ctx) else {
            return (State::SetReleasing(releasing), false);
        };
        if result.is_ok() {
            let released = matches!(result, Ok(ReleaseOutcome::Released));
            if matches!(result, Ok(ReleaseOutcome::NotHeld)) {
                ctx.history.tally.partial_releases += 1;
            }
            for (lease, key) in releasing.set.leases().iter().zip(&releasing.keys) {
                self.released_locally(*key, lease, released, t, ctx);
            }
        }
        ctx.history
            .released
            .insert(releasing.set.token().expose_secret().to_owned(), t);
        ctx.history
            .note(t, || format!("{} released its set: {result:?}", self.name));
        (self.rest(t, ctx), true)
    }
}
