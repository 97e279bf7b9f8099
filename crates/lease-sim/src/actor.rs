//! [`Actor`]: one process taking and keeping leases with lease-core's machines, and acting on
//! what they report.
//!
//! An actor rests, acquires a lease on a key (a waiting acquire, or one try), works under it
//! (writing to the key's fenced resource, each time only if its library view says it may:
//! its keeper's `status_at(now)` is held, or, by hand, `Lease::is_valid_at(now)`), and lets
//! go; then again, until the faulty phase ends. It drives the machines as the `lease` crate's
//! shell does: one request in flight at a time, each answer handed back with a fresh reading of
//! its own clocks, woken at the machine's `poll_timeout`. Nothing here decides whether a lease
//! is held: that is the machines' job, and the checker's to judge.

mod permit;
mod set;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lease_core::lifecycle::{
    AcquireOp, Keeper, KeeperEvent, Machine, OpEvent, PermitOp, RefreshOp, ReleaseOp, RequestId,
    Transmit, Turn as LineTurn, WaitOp, WaitQueue, WaiterId,
};
use lease_core::{
    Lease, LeaseError, LeaseKey, LeaseToken, Now, Planner, ReleaseOutcome, Request, StoreError,
    StoreResponse, TokenSource,
};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use crate::clock::ActorClock;
use crate::history::{Deadlines, EndReason, History, Interval, LocalRelease, Wait, Who, Write};
use crate::options::{ActorOptions, Mode, Turn};
use crate::store::Register;

/// What kind of request an actor sent (for the store's record and the trace).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An acquire (or a waiting acquire's attempt).
    Acquire,
    /// A refresh (a keeper's renewal, or by hand).
    Refresh,
    /// A release (or an acquire's give-back).
    Release,
    /// A read (a single try's holder read).
    Read,
    /// The TableTheory writer's requests.
    Foreign,
    /// A `Query` of a semaphore's slots (a permit acquire's read).
    Query,
}

impl Kind {
    /// A name for records.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Acquire => "acquire",
            Self::Refresh => "refresh",
            Self::Release => "release",
            Self::Read => "read",
            Self::Foreign => "foreign",
            Self::Query => "query",
        }
    }
}

/// A request an actor asks the world to send.
#[derive(Debug)]
pub struct Send {
    /// The machine's id for it (none for the TableTheory writer, routed by ordinal).
    pub id: Option<RequestId>,
    /// Which of the actor's machines sent it (they are numbered as they are made), so that a
    /// stale answer goes back to the machine that sent the request, if it still runs.
    pub machine: u64,
    /// The request.
    pub request: Request,
    /// What it is.
    pub kind: Kind,
    /// The lease token it carries, if any.
    pub token: Option<String>,
}

/// What an actor's step touches in the world.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// The record.
    pub history: &'a mut History,
    /// The fenced resources, per key.
    pub registers: &'a mut [Register],
    /// The requests to send.
    pub sends: Vec<Send>,
    /// The faulty phase is over: finish what is held, take no new lease.
    pub finishing: bool,
    /// Turns the actor's line gave to other waiters of its process, to deliver.
    pub told: Vec<(usize, LineTurn)>,
}

/// The line of waiters of a process, shared by its actors (single-threaded).
pub type Line = Rc<RefCell<WaitQueue<usize>>>;

/// The acquire machine in use.
#[derive(Debug)]
enum Acquiring {
    Waiting(Box<WaitOp>),
    Once(Box<AcquireOp>),
    /// A permit of the semaphore (semaphore runs): the key is the slot it gets.
    Permit(Box<PermitOp>),
}

/// What the actor is doing.
#[derive(Debug)]
enum State {
    Resting {
        until: Duration,
    },
    Acquiring {
        machine: Acquiring,
        key: usize,
    },
    Guarded {
        keeper: Box<Keeper>,
        key: usize,
        interval: usize,
        work_until: Duration,
        next_write: Duration,
    },
    Ending {
        keeper: Box<Keeper>,
        interval: usize,
    },
    Plain(Box<PlainHold>),
    PlainReleasing {
        op: Box<ReleaseOp>,
        token: String,
        lease: Box<Lease>,
        key: usize,
    },
    /// A set actor's acquire ([`set`]).
    AcquiringSet(Box<set::SetAcquiring>),
    /// A lease set held by hand.
    SetHeld(Box<set::SetHold>),
    /// A lease set's release.
    SetReleasing(Box<set::SetReleasing>),
    Done,
}

/// A lease held by hand.
#[derive(Debug)]
struct PlainHold {
    lease: Lease,
    key: usize,
    interval: usize,
    work_until: Duration,
    next_write: Duration,
    next_refresh: Duration,
    refresh: Option<RefreshOp>,
    /// Stopped (and the interval ended); letting go once the refresh in flight is answered.
    stopping: bool,
}

/// An actor.
#[derive(Debug)]
pub struct Actor {
    /// Its index.
    pub index: usize,
    /// Its options.
    pub options: ActorOptions,
    /// Its clocks.
    pub clock: ActorClock,
    planner: Arc<Planner>,
    tokens: Arc<dyn TokenSource>,
    keys: usize,
    rng: Xoshiro256PlusPlus,
    state: State,
    /// The request its machine waits for.
    in_flight: Option<RequestId>,
    /// The number of its current machine (see [`Send::machine`]).
    machine: u64,
    /// When a pause (or suspend) ends, while one lasts.
    pub paused_until: Option<Duration>,
    /// Stopped for good.
    pub crashed: bool,
    /// The generation of its pending wake (older wakes are ignored).
    pub wake_gen: u64,
    name: String,
    /// A scripted actor's turns still to come, and the one under way.
    script: Option<std::collections::VecDeque<Turn>>,
    turn: Option<Turn>,
    /// Its process's line of waiters, if it shares one ([`ActorOptions::process`]).
    line: Option<Line>,
    /// Its place in that line while it waits, and the index of its wait's record.
    place: Option<(LeaseKey, WaiterId, usize)>,
    /// The latest turn the line gave it, not yet taken (taken at its next step, as a task
    /// takes it when it next runs).
    pending_turn: Option<LineTurn>,
    /// The slots its permit acquire's last `Query` answer showed held (live by its wall
    /// clock), until the acquire's next request: the slot it then asks for must not be one.
    query_view: Option<Vec<u32>>,
}

impl Actor {
    /// Actor `index` with these options and clocks, on `planner`'s table, drawing its choices
    /// from `seed`.
    pub fn new(
        index: usize,
        options: ActorOptions,
        clock: ActorClock,
        planner: Arc<Planner>,
        keys: usize,
        seed: u64,
    ) -> Self {
        let name = format!("a{index}");
        let counter = AtomicU64::new(0);
        let prefix = name.clone();
        let tokens: Arc<dyn TokenSource> = Arc::new(move || {
            LeaseToken::new(format!(
                "{prefix}-{}",
                counter.fetch_add(1, Ordering::Relaxed) + 1
            ))
        });
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut script: Option<std::collections::VecDeque<Turn>> =
            options.turns.clone().map(Into::into);
        let (first, turn) = match &mut script {
            Some(turns) => match turns.pop_front() {
                Some(turn) => (turn.at, Some(turn)),
                None => (Duration::MAX, None),
            },
            None => (Duration::from_millis(rng.random_range(0..=500)), None),
        };
        let state = if script.is_some() && turn.is_none() {
            State::Done
        } else {
            State::Resting { until: first }
        };
        Self {
            index,
            options,
            clock,
            planner,
            tokens,
            keys,
            rng,
            state,
            in_flight: None,
            machine: 0,
            paused_until: None,
            crashed: false,
            wake_gen: 0,
            name,
            script,
            turn,
            line: None,
            place: None,
            pending_turn: None,
            query_view: None,
        }
    }

    /// Makes the actor one of a process's, sharing its line of waiters.
    pub fn share_line(&mut self, line: Line) {
        self.line = Some(line);
    }

    /// The line gave the actor `turn`: it takes it at its next step.
    pub fn give_turn(&mut self, turn: LineTurn) {
        self.pending_turn = Some(turn);
    }

    /// `lease` (on key `key`) was let go: tells the line, and records it if the store
    /// confirmed the release (`released`).
    fn released_locally(
        &mut self,
        key: usize,
        lease: &Lease,
        released: bool,
        t: Duration,
        ctx: &mut Ctx<'_>,
    ) {
        if let Some(process) = self.options.process
            && released
        {
            ctx.history.local_releases.push(LocalRelease {
                process,
                key,
                at: t,
            });
        }
        self.tell_line(t, ctx, |line| line.released(lease.key(), lease.token()));
    }

    /// Tells the line `change`, and queues the turn it gives for delivery.
    fn tell_line(
        &mut self,
        t: Duration,
        ctx: &mut Ctx<'_>,
        change: impl FnOnce(&mut WaitQueue<usize>) -> Option<(usize, LineTurn)>,
    ) {
        let Some(line) = &self.line else {
            return;
        };
        let told = change(&mut line.borrow_mut());
        if let Some((to, turn)) = told {
            ctx.history.tally.turns += 1;
            ctx.history
                .note(t, || format!("{}'s line tells a{to}: {turn:?}", self.name));
            ctx.told.push((to, turn));
        }
    }

    /// Who it is, for records.
    #[must_use]
    pub fn who(&self) -> Who {
        Who::Actor(self.index)
    }

    /// Whether it is done (let go of everything after the faulty phase).
    #[must_use]
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// What it is doing, for the record of machines still busy at the end.
    #[must_use]
    pub fn describe(&self) -> String {
        match &self.state {
            State::Resting { .. } => "resting".into(),
            State::Acquiring { .. } => "acquiring".into(),
            State::Guarded { keeper, .. } => format!("guarded ({})", keeper.status()),
            State::Ending { keeper, .. } => format!("letting go ({})", keeper.status()),
            State::Plain(_) => "holding by hand".into(),
            State::PlainReleasing { .. } => "releasing by hand".into(),
            State::AcquiringSet(_) => "acquiring a lease set".into(),
            State::SetHeld(_) => "holding a lease set by hand".into(),
            State::SetReleasing(_) => "releasing a lease set".into(),
            State::Done => "done".into(),
        }
    }

    /// The answer to request `id`, sent by machine number `machine`, arrived at `t`. Request
    /// ids are numbered per machine, so an answer is the current request's only if both match:
    /// an answer to an earlier machine's request (one the actor stopped waiting for when that
    /// machine was abandoned) is not the current machine's, whatever its id.
    pub fn answer(
        &mut self,
        machine: u64,
        id: RequestId,
        answer: Result<StoreResponse, StoreError>,
        t: Duration,
        ctx: &mut Ctx<'_>,
    ) {
        if machine != self.machine {
            ctx.history.note(t, || {
                format!(
                    "{} ignores an answer to #{} of an earlier machine",
                    self.name,
                    id.get()
                )
            });
            return;
        }
        if self.in_flight != Some(id) {
            ctx.history.note(t, || {
                format!("{} ignores a stale answer to #{}", self.name, id.get())
            });
            return;
        }
        self.in_flight = None;
        self.note_query_view(&answer, t);
        self.hand_to_machine(id, answer, t, ctx);
    }

    /// An answer its driver no longer waits for (it came after the client's timeout, or a
    /// second time), sent by machine number `machine` as `id`, handed at `t` to that machine if
    /// it still runs: the machine must ignore it ([`Machine::handle_response`]).
    pub fn stale_answer(
        &mut self,
        machine: u64,
        id: RequestId,
        answer: Result<StoreResponse, StoreError>,
        t: Duration,
        ctx: &mut Ctx<'_>,
    ) {
        if machine != self.machine {
            return;
        }
        ctx.history.tally.stale_answers += 1;
        ctx.history.note(t, || {
            format!(
                "{} hands a stale answer to #{} to its machine",
                self.name,
                id.get()
            )
        });
        self.hand_to_machine(id, answer, t, ctx);
    }

    /// Gives the current machine an answer at `t` (read on the actor's clocks), then lets the
    /// actor act on what the machine does with it.
    fn hand_to_machine(
        &mut self,
        id: RequestId,
        answer: Result<StoreResponse, StoreError>,
        t: Duration,
        ctx: &mut Ctx<'_>,
    ) {
        let now = self.clock.now(t);
        match &mut self.state {
            State::Acquiring {
                machine: Acquiring::Waiting(m),
                ..
            } => m.handle_response(id, answer, now),
            State::Acquiring {
                machine: Acquiring::Once(m),
                ..
            } => m.handle_response(id, answer, now),
            State::Acquiring {
                machine: Acquiring::Permit(m),
                ..
            } => m.handle_response(id, answer, now),
            State::Guarded { keeper, .. } | State::Ending { keeper, .. } => {
                keeper.handle_response(id, answer, now)
            }
            State::Plain(hold) => {
                if let Some(op) = &mut hold.refresh {
                    op.handle_response(id, answer, now);
                }
            }
            State::PlainReleasing { op, .. } => op.handle_response(id, answer, now),
            State::AcquiringSet(acquiring) => acquiring.handle_response(id, answer, now),
            State::SetHeld(hold) => hold.handle_response(id, answer, now),
            State::SetReleasing(releasing) => releasing.op.handle_response(id, answer, now),
            State::Resting { .. } | State::Done => {}
        }
        self.step(t, ctx);
    }

    /// The actor runs at `t` (a timer, or its workload).
    pub fn wake(&mut self, t: Duration, ctx: &mut Ctx<'_>) {
        self.step(t, ctx);
    }

    /// Moves the actor on at `t` as far as it can without an answer.
    fn step(&mut self, t: Duration, ctx: &mut Ctx<'_>) {
        if let Some(turn) = self.pending_turn.take()
            && let State::Acquiring {
                machine: Acquiring::Waiting(m),
                ..
            } = &mut self.state
        {
            m.take_turn(turn, self.clock.now(t));
        }
        // Each transition may enable the next (an acquire's lease starts a keeper, a release
        // ends in rest): loop until nothing changes.
        for _ in 0..64 {
            if !self.advance(t, ctx) {
                return;
            }
        }
    }

    /// One transition at `t`; whether the state changed.
    fn advance(&mut self, t: Duration, ctx: &mut Ctx<'_>) -> bool {
        let now = self.clock.now(t);
        let state = std::mem::replace(&mut self.state, State::Done);
        let (next, changed) = match state {
            State::Resting { until } => {
                if ctx.finishing {
                    (State::Done, true)
                } else if t >= until && self.options.sets && self.keys >= 2 {
                    (self.start_set_acquire(now, t, ctx), true)
                } else if t >= until {
                    (self.start_acquire(now, t, ctx), true)
                } else {
                    (State::Resting { until }, false)
                }
            }
            State::Acquiring { mut machine, key } => {
                let output = match &mut machine {
                    Acquiring::Waiting(m) => {
                        self.pump_machine(&mut **m, now, Kind::Acquire, t, ctx)
                    }
                    Acquiring::Once(m) => self.pump_machine(&mut **m, now, Kind::Acquire, t, ctx),
                    Acquiring::Permit(m) => self.pump_machine(&mut **m, now, Kind::Acquire, t, ctx),
                };
                match output {
                    None => (State::Acquiring { machine, key }, false),
                    Some(result) => (self.acquired(result, key, now, t, ctx), true),
                }
            }
            State::Guarded {
                keeper,
                key,
                interval,
                work_until,
                next_write,
            } => self.guarded(keeper, key, interval, work_until, next_write, now, t, ctx),
            State::Ending {
                mut keeper,
                interval,
            } => {
                if self.in_flight.is_some_and(|id| !keeper.is_awaiting(id)) {
                    self.in_flight = None;
                }
                keeper.handle_timeout(now);
                let finished = self.drain_keeper(&mut keeper, interval, t, ctx);
                if finished {
                    (self.rest(t, ctx), true)
                } else {
                    self.pump_keeper(&mut keeper, interval, now, t, ctx);
                    let finished = self.drain_keeper(&mut keeper, interval, t, ctx);
                    if finished {
                        (self.rest(t, ctx), true)
                    } else {
                        (State::Ending { keeper, interval }, false)
                    }
                }
            }
            State::Plain(hold) => self.plain(hold, now, t, ctx),
            State::PlainReleasing {
                mut op,
                token,
                lease,
                key,
            } => match self.pump_machine(&mut *op, now, Kind::Release, t, ctx) {
                None => (
                    State::PlainReleasing {
                        op,
                        token,
                        lease,
                        key,
                    },
                    false,
                ),
                Some(result) => {
                    if result.is_ok() {
                        let released = matches!(result, Ok(ReleaseOutcome::Released));
                        self.released_locally(key, &lease, released, t, ctx);
                    }
                    ctx.history.released.insert(token, t);
                    ctx.history
                        .note(t, || format!("{} released by hand: {result:?}", self.name));
                    (self.rest(t, ctx), true)
                }
            },
            State::AcquiringSet(acquiring) => self.acquiring_set(acquiring, now, t, ctx),
            State::SetHeld(hold) => self.set_held(hold, now, t, ctx),
            State::SetReleasing(releasing) => self.set_releasing(releasing, now, t, ctx),
            State::Done => (State::Done, false),
        };
        self.state = next;
        changed
    }

    fn start_acquire(&mut self, now: Now, t: Duration, ctx: &mut Ctx<'_>) -> State {
        if let Some(permits) = self.options.permits {
            return self.start_permit(permits, now, t, ctx);
        }
        let key = match self.turn {
            Some(turn) => turn.key,
            None => self.rng.random_range(0..self.keys),
        };
        let lease_key = if self.options.campaigns {
            lease_core::election_key(format!("K{key}"))
        } else {
            LeaseKey::new(format!("K{key}"), "LOCK")
        };
        // In an election run every acquire proclaims the actor's name.
        let value = self.options.campaigns.then(|| self.name.clone());
        let planner = Arc::clone(&self.planner);
        let token = self.tokens.next_token();
        self.machine += 1;
        let options = &self.options;
        let machine = match options.mode {
            Mode::GuardWaiting => {
                let wait = WaitOp::new(
                    planner,
                    lease_key.clone(),
                    options.duration,
                    options.wait.clone(),
                    options.retry,
                    Arc::clone(&self.tokens),
                    self.rng.random(),
                    now,
                )
                .and_then(|w| match &value {
                    Some(value) => w.proclaiming(value.clone()),
                    None => Ok(w),
                });
                wait.map(|mut w| {
                    if let (Some(line), Some(process)) = (&self.line, self.options.process) {
                        let (id, turn) = line.borrow_mut().join(&lease_key, self.index);
                        w.take_turn(turn, now);
                        let record = ctx.history.waits.len();
                        ctx.history.waits.push(Wait {
                            who: Who::Actor(self.index),
                            process,
                            key,
                            start: t,
                            end: None,
                        });
                        self.place = Some((lease_key, id, record));
                    }
                    Acquiring::Waiting(Box::new(w))
                })
            }
            Mode::GuardOnce | Mode::Plain => AcquireOp::new(
                planner,
                lease_key,
                options.duration,
                now,
                token,
                options.retry,
            )
            .and_then(|op| match &value {
                Some(value) => op.proclaiming(value.clone()),
                None => Ok(op),
            })
            .map(|op| Acquiring::Once(Box::new(op.reading_holder()))),
        };
        match machine {
            Ok(machine) => State::Acquiring { machine, key },
            // Options are valid by construction; a bad input would be a simulator bug.
            Err(_) => State::Done,
        }
    }

    /// An acquire's result at `t`.
    fn acquired(
        &mut self,
        result: Result<Lease, LeaseError>,
        key: usize,
        now: Now,
        t: Duration,
        ctx: &mut Ctx<'_>,
    ) -> State {
        let place = self.place.take();
        if let Some((_, _, record)) = &place {
            ctx.history.waits[*record].end = Some(t);
        }
        match (&result, place) {
            (Ok(lease), place) => {
                let by = place.map(|(_, id, _)| id);
                self.tell_line(t, ctx, |line| line.acquired(lease, by));
            }
            (Err(_), Some((key, id, _))) => self.tell_line(t, ctx, |line| line.leave(&key, id)),
            (Err(_), None) => {}
        }
        let lease = match result {
            Ok(lease) => lease,
            Err(error) => {
                if error.is_no_permit() {
                    ctx.history.tally.semaphore_full += 1;
                }
                ctx.history.note(t, || {
                    let what = match self.options.permits {
                        Some(permits) => format!("a permit (N = {permits})"),
                        None => format!("K{key}"),
                    };
                    format!("{} did not get {what}: {error}", self.name)
                });
                return self.rest(t, ctx);
            }
        };
        let Some(deadlines) = Deadlines::of(&lease) else {
            return self.rest(t, ctx);
        };
        let key = match self.options.permits {
            Some(permits) => match self.permit_slot(&lease, permits, t, ctx) {
                Some(slot) => slot,
                None => return State::Done,
            },
            None => key,
        };
        let interval = ctx.history.intervals.len();
        if let Some(permits) = self.options.permits {
            ctx.history.permits.insert(interval, permits);
        }
        ctx.history.intervals.push(Interval {
            who: self.who(),
            key,
            token: lease.token().expose_secret().to_owned(),
            fence: Some(lease.fence().get()),
            guarded: self.options.mode != Mode::Plain,
            start: t,
            deadlines,
            renewals: Vec::new(),
            ended: None,
            foreign_end: None,
            set: None,
        });
        ctx.history.note(t, || {
            format!(
                "{} holds K{key} (fence {:?}, interval {interval})",
                self.name,
                Some(lease.fence().get())
            )
        });
        let work = match self.turn {
            Some(turn) => turn.work,
            None => self
                .options
                .max_work
                .mul_f64(self.rng.random_range(0.0..=1.0)),
        };
        let next_write = t + self.write_gap();
        match self.options.mode {
            Mode::GuardWaiting | Mode::GuardOnce => {
                self.machine += 1;
                match Keeper::new(
                    Arc::clone(&self.planner),
                    lease,
                    self.options.duration,
                    self.options.renew,
                    self.options.retry,
                    self.rng.random(),
                    now,
                ) {
                    Ok(keeper) => State::Guarded {
                        keeper: Box::new(keeper),
                        key,
                        interval,
                        work_until: t + work,
                        next_write,
                    },
                    Err(_) => State::Done,
                }
            }
            Mode::Plain => {
                let next_refresh = self.renewal_due(&lease);
                State::Plain(Box::new(PlainHold {
                    lease,
                    key,
                    interval,
                    work_until: t + work,
                    next_write,
                    next_refresh,
                    refresh: None,
                    stopping: false,
                }))
            }
        }
    }

    /// When a lease acquired or refreshed by hand is due for its next refresh (true time).
    fn renewal_due(&self, lease: &Lease) -> Duration {
        let every = self
            .options
            .renew
            .renew_period(
                self.options.duration,
                self.planner.config().max_clock_skew(),
            )
            .unwrap_or(self.options.duration / 3);
        let window = self
            .options
            .duration
            .saturating_sub(self.planner.config().max_clock_skew());
        match lease.valid_until() {
            Some(until) => self.clock.when_monotonic(until - window + every),
            None => Duration::MAX,
        }
    }

    #[expect(clippy::too_many_arguments, reason = "the state's fields, taken apart")]
    fn guarded(
        &mut self,
        mut keeper: Box<Keeper>,
        key: usize,
        interval: usize,
        work_until: Duration,
        mut next_write: Duration,
        now: Now,
        t: Duration,
        ctx: &mut Ctx<'_>,
    ) -> (State, bool) {
        if self.in_flight.is_some_and(|id| !keeper.is_awaiting(id)) {
            self.in_flight = None;
        }
        keeper.handle_timeout(now);
        self.drain_keeper(&mut keeper, interval, t, ctx);
        // The holder looks before it acts: the status at this reading of its clocks.
        let held = keeper.status_at(now).is_held();
        self.drain_keeper(&mut keeper, interval, t, ctx);
        if !held || t >= work_until || ctx.finishing {
            if held {
                end(ctx.history, interval, t, EndReason::LetGo);
            }
            ctx.history
                .let_go
                .insert(keeper.lease().token().expose_secret().to_owned(), t);
            let drop = match self.turn {
                Some(turn) => turn.drop,
                None => self.rng.random_bool(self.options.drop_share),
            };
            if drop {
                keeper.drop_guard(now);
                ctx.history
                    .note(t, || format!("{} drops its guard of K{key}", self.name));
            } else {
                keeper.release(now);
                ctx.history
                    .note(t, || format!("{} releases K{key}", self.name));
            }
            // A keeper with nothing to send (the lease known not ours) finishes at once.
            if self.drain_keeper(&mut keeper, interval, t, ctx) {
                return (self.rest(t, ctx), true);
            }
            return (State::Ending { keeper, interval }, true);
        }
        if t >= next_write {
            let fence = keeper.lease().fence().get();
            let accepted = ctx.registers[key].write(fence);
            ctx.history.writes.push(Write {
                interval,
                at: t,
                accepted,
            });
            ctx.history.note(t, || {
                format!(
                    "{} writes K{key} with fence {fence}: {}",
                    self.name,
                    if accepted { "accepted" } else { "rejected" }
                )
            });
            next_write = t + self.write_gap();
        }
        self.pump_keeper(&mut keeper, interval, now, t, ctx);
        self.drain_keeper(&mut keeper, interval, t, ctx);
        (
            State::Guarded {
                keeper,
                key,
                interval,
                work_until,
                next_write,
            },
            false,
        )
    }

    fn plain(
        &mut self,
        mut hold: Box<PlainHold>,
        now: Now,
        t: Duration,
        ctx: &mut Ctx<'_>,
    ) -> (State, bool) {
        if let Some(op) = &mut hold.refresh {
            match self.pump_machine(op, now, Kind::Refresh, t, ctx) {
                None => {}
                Some(Ok(lease)) => {
                    hold.refresh = None;
                    if !hold.stopping {
                        if let Some(deadlines) = Deadlines::of(&lease) {
                            ctx.history.intervals[hold.interval]
                                .renewals
                                .push((t, deadlines));
                        }
                        hold.next_refresh = self.renewal_due(&lease);
                    }
                    hold.lease = lease;
                }
                Some(Err(error)) => {
                    hold.refresh = None;
                    ctx.history.note(t, || {
                        format!("{} refresh by hand failed: {error}", self.name)
                    });
                    hold.next_refresh = t + self.options.renew.retry_delay(1);
                }
            }
        }
        let valid = hold.lease.is_valid_at(now);
        if !hold.stopping && (!valid || t >= hold.work_until || ctx.finishing) {
            // The holder stops working now; it lets go once its refresh (if one is in flight)
            // is answered, as a caller awaiting that refresh would.
            let reason = if valid {
                EndReason::LetGo
            } else {
                EndReason::SawInvalid
            };
            end(ctx.history, hold.interval, t, reason);
            ctx.history
                .let_go
                .insert(hold.lease.token().expose_secret().to_owned(), t);
            hold.stopping = true;
        }
        if hold.stopping {
            if hold.refresh.is_some() {
                return (State::Plain(hold), false);
            }
            self.machine += 1;
            return match ReleaseOp::new(
                Arc::clone(&self.planner),
                &hold.lease,
                now,
                self.options.retry,
            ) {
                Ok(op) => {
                    let token = hold.lease.token().expose_secret().to_owned();
                    (
                        State::PlainReleasing {
                            op: Box::new(op),
                            token,
                            lease: Box::new(hold.lease),
                            key: hold.key,
                        },
                        true,
                    )
                }
                Err(_) => (self.rest(t, ctx), true),
            };
        }
        if t >= hold.next_write {
            let fence = hold.lease.fence().get();
            let accepted = ctx.registers[hold.key].write(fence);
            ctx.history.writes.push(Write {
                interval: hold.interval,
                at: t,
                accepted,
            });
            ctx.history.note(t, || {
                format!(
                    "{} writes K{} by hand with fence {fence}: {}",
                    self.name,
                    hold.key,
                    if accepted { "accepted" } else { "rejected" }
                )
            });
            hold.next_write = t + self.write_gap();
        }
        if t >= hold.next_refresh && hold.refresh.is_none() {
            self.machine += 1;
            match RefreshOp::new(
                Arc::clone(&self.planner),
                &hold.lease,
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
            return (State::Plain(hold), true);
        }
        (State::Plain(hold), false)
    }

    fn rest(&mut self, t: Duration, ctx: &mut Ctx<'_>) -> State {
        if let Some(turns) = &mut self.script {
            self.turn = turns.pop_front();
            return match self.turn {
                Some(turn) if !ctx.finishing => State::Resting {
                    until: turn.at.max(t),
                },
                _ => State::Done,
            };
        }
        if ctx.finishing {
            return State::Done;
        }
        let rest = self
            .options
            .max_rest
            .mul_f64(self.rng.random_range(0.0..=1.0));
        State::Resting { until: t + rest }
    }

    fn write_gap(&mut self) -> Duration {
        self.options
            .max_write_gap
            .mul_f64(self.rng.random_range(0.05..=1.0))
    }

    /// Sends what `machine` asks for (one request at a time) and returns its output, if any.
    fn pump_machine<M: Machine>(
        &mut self,
        machine: &mut M,
        now: Now,
        kind: Kind,
        t: Duration,
        ctx: &mut Ctx<'_>,
    ) -> Option<M::Output> {
        loop {
            while let Some(event) = machine.poll_event() {
                if self.options.permits.is_some()
                    && kind == Kind::Acquire
                    && matches!(event, OpEvent::Contended { .. })
                {
                    ctx.history.tally.semaphore_full += 1;
                }
                let name = &self.name;
                ctx.history
                    .note(t, || format!("{name} {}", describe_op_event(&event)));
            }
            if let Some(output) = machine.poll_output() {
                return Some(output);
            }
            if self.in_flight.is_some() {
                return None;
            }
            let transmit = machine.poll_transmit(now)?;
            self.judge_slot_choice(transmit.request, t, ctx);
            let kind = match transmit.request {
                Request::Get(_) => Kind::Read,
                Request::Query(_) => Kind::Query,
                Request::Update(_) | Request::Transact(_)
                    if kind == Kind::Acquire && is_release(transmit.request) =>
                {
                    Kind::Release
                }
                _ => kind,
            };
            self.send(transmit, kind, ctx);
        }
    }

    /// Puts a machine's request on the network (it is then in flight).
    fn send(&mut self, transmit: Transmit<'_>, kind: Kind, ctx: &mut Ctx<'_>) {
        self.in_flight = Some(transmit.id);
        if kind == Kind::Query {
            ctx.history.tally.queries += 1;
        }
        ctx.sends.push(Send {
            id: Some(transmit.id),
            machine: self.machine,
            request: transmit.request.clone(),
            kind,
            token: token_of(transmit.request),
        });
    }

    /// Sends the keeper's request, if one is due and none is in flight.
    fn pump_keeper(
        &mut self,
        keeper: &mut Keeper,
        _interval: usize,
        now: Now,
        _t: Duration,
        ctx: &mut Ctx<'_>,
    ) {
        if self.in_flight.is_some() {
            return;
        }
        if let Some(transmit) = keeper.poll_transmit(now) {
            let kind = if is_release(transmit.request) {
                Kind::Release
            } else {
                Kind::Refresh
            };
            self.send(transmit, kind, ctx);
        }
    }

    /// Records the keeper's events; whether it finished.
    fn drain_keeper(
        &mut self,
        keeper: &mut Keeper,
        interval: usize,
        t: Duration,
        ctx: &mut Ctx<'_>,
    ) -> bool {
        let mut finished = false;
        while let Some(event) = keeper.poll_event() {
            match &event {
                KeeperEvent::Renewed { lease, .. } => {
                    if let Some(deadlines) = Deadlines::of(lease) {
                        ctx.history.intervals[interval]
                            .renewals
                            .push((t, deadlines));
                    }
                }
                KeeperEvent::Lost(reason) => {
                    end(
                        ctx.history,
                        interval,
                        t,
                        EndReason::Lost(reason.to_string()),
                    );
                }
                KeeperEvent::Finished(end) => {
                    finished = true;
                    // Released, or lost: the next waiter of the process may try now (as the
                    // `lease` crate's guard driver tells the line when it ends).
                    let key = ctx.history.intervals[interval].key;
                    let released = matches!(end.release, Some(Ok(ReleaseOutcome::Released)));
                    self.released_locally(key, keeper.lease(), released, t, ctx);
                    ctx.history
                        .released
                        .insert(keeper.lease().token().expose_secret().to_owned(), t);
                }
                _ => {}
            }
            let name = &self.name;
            ctx.history.note(t, || {
                format!("{name} keeper: {}", describe_keeper_event(&event))
            });
        }
        finished
    }

    /// When the actor next has something to do by itself (true time): its machine's timer,
    /// its next write, the end of its work or rest.
    #[must_use]
    pub fn next_wake(&self) -> Option<Duration> {
        let on_clock = |at: Option<std::time::Instant>| at.map(|at| self.clock.when_monotonic(at));
        let candidates: [Option<Duration>; 3] = match &self.state {
            State::Resting { until } => [Some(*until), None, None],
            State::Acquiring {
                machine: Acquiring::Waiting(m),
                ..
            } => [on_clock(m.poll_timeout()), None, None],
            State::Acquiring {
                machine: Acquiring::Once(m),
                ..
            } => [on_clock(m.poll_timeout()), None, None],
            State::Acquiring {
                machine: Acquiring::Permit(m),
                ..
            } => [on_clock(m.poll_timeout()), None, None],
            State::Guarded {
                keeper,
                work_until,
                next_write,
                ..
            } => [
                on_clock(keeper.poll_timeout()),
                Some(*work_until),
                Some(*next_write),
            ],
            State::Ending { keeper, .. } => [on_clock(keeper.poll_timeout()), None, None],
            State::Plain(hold) => {
                let refresh = match &hold.refresh {
                    Some(op) => on_clock(op.poll_timeout()),
                    None => Some(hold.next_refresh),
                };
                if hold.stopping {
                    [refresh.filter(|_| hold.refresh.is_some()), None, None]
                } else {
                    [refresh, Some(hold.work_until), Some(hold.next_write)]
                }
            }
            State::PlainReleasing { op, .. } => [on_clock(op.poll_timeout()), None, None],
            State::AcquiringSet(acquiring) => [on_clock(acquiring.op.poll_timeout()), None, None],
            State::SetHeld(hold) => hold.next_wake(on_clock),
            State::SetReleasing(releasing) => [on_clock(releasing.op.poll_timeout()), None, None],
            State::Done => [None, None, None],
        };
        candidates.into_iter().flatten().min()
    }
}

/// Ends interval `index` at `t`, unless it has ended.
fn end(history: &mut History, index: usize, t: Duration, reason: EndReason) {
    let interval = &mut history.intervals[index];
    if interval.ended.is_none() {
        interval.ended = Some((t, reason));
    }
}

/// Whether an `UpdateItem` is a release (it sets the expiry to the `:released` value), or a
/// transaction of releases (a lease set's).
fn is_release(request: &Request) -> bool {
    let releases = |u: &lease_core::UpdateRequest| {
        u.update
            .iter()
            .any(|action| format!("{action:?}").contains("released"))
    };
    match request {
        Request::Update(u) => releases(u),
        Request::Transact(t) => t
            .items
            .iter()
            .any(|item| matches!(item, lease_core::TransactItem::Update(u) if releases(u))),
        _ => false,
    }
}

/// The lease token a request carries (the `:tok` value of its condition), for the store's
/// record.
fn token_of(request: &Request) -> Option<String> {
    match request {
        Request::Update(update) => update.condition.as_ref().and_then(find_token),
        Request::Transact(transact) => transact.items.iter().find_map(|item| match item {
            lease_core::TransactItem::Update(update) => {
                update.condition.as_ref().and_then(find_token)
            }
            _ => None,
        }),
        _ => None,
    }
}

fn find_token(condition: &lease_core::expr::Condition) -> Option<String> {
    use lease_core::expr::{Condition, Operand, TOKEN_LABEL};
    match condition {
        Condition::Compare(left, _, right) => {
            [left, right].into_iter().find_map(|operand| match operand {
                Operand::Value(value) if value.label == TOKEN_LABEL => match &value.value {
                    lease_core::AttributeValue::S(s) => Some(s.to_string()),
                    _ => None,
                },
                _ => None,
            })
        }
        Condition::And(pair) | Condition::Or(pair) => pair.iter().find_map(find_token),
        Condition::Not(inner) => find_token(inner),
        Condition::AttributeExists(_) | Condition::AttributeNotExists(_) => None,
    }
}

fn describe_op_event(event: &OpEvent) -> String {
    match event {
        OpEvent::Retrying {
            error,
            attempt,
            backoff,
        } => format!("resends after attempt {attempt} ({error}) in {backoff:?}"),
        OpEvent::Contended { key, retry_in, .. } => {
            format!("finds {key} held; next try in {retry_in:?}")
        }
        OpEvent::AttemptFailed {
            key,
            error,
            retry_in,
        } => format!("attempt on {key} failed ({error}); next in {retry_in:?}"),
        OpEvent::GaveBack { key, outcome } => format!("gave back {key}: {outcome:?}"),
        other => format!("{other:?}"),
    }
}

fn describe_keeper_event(event: &KeeperEvent) -> String {
    match event {
        KeeperEvent::Renewed { lease, .. } => {
            format!("renewed until {:?}", lease.expires_at_epoch_seconds())
        }
        KeeperEvent::RenewalFailed {
            error,
            failures,
            retry_in,
        } => format!("renewal failed {failures}x ({error}); retry in {retry_in:?}"),
        KeeperEvent::Lost(reason) => format!("LOST: {reason}"),
        KeeperEvent::LetGo => "let go".into(),
        KeeperEvent::Finished(finished) => format!(
            "finished: release {:?}, lost before {:?}",
            finished
                .release
                .as_ref()
                .map(|r| r.as_ref().map_err(ToString::to_string)),
            finished.lost
        ),
        other => format!("{other:?}"),
    }
}
