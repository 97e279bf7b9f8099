//! [`run`]: the event loop. True time moves from event to event; nothing else moves it.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lease_core::lifecycle::{Machine, Observer, RequestId, WaitOp};
use lease_core::{
    LeaseConfig, LeaseKey, LeaseToken, Planner, Request, RetryPolicy, StoreError, StoreErrorKind,
    StoreResponse, TokenSource, WaitPolicy,
};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use crate::actor::{Actor, Ctx, Kind, Line, Send};
use crate::checker::{self, Report};
use crate::clock::ActorClock;
use crate::foreign::Foreign;
use crate::history::{
    Applied, Deadlines, History, Interval, Observed, Probe, Shown, StoreStep, Who,
};
use crate::plan::{ClockFaultKind, Plan, StoreFault};
use crate::store::SimStore;
use crate::stream;

/// What one run gives.
#[derive(Debug)]
pub struct Outcome {
    /// The checker's verdict.
    pub report: Report,
    /// Requests sent in all (the ordinals a shrinker can address).
    pub requests: u64,
    /// Events processed.
    pub events: u64,
    /// What happened.
    pub history: History,
}

/// Something due at an instant of true time.
#[derive(Debug)]
enum Event {
    /// An actor's timer or workload.
    Wake { who: Who, generation: u64 },
    /// A request reaches the store.
    Arrive { ordinal: u64 },
    /// An answer reaches its client.
    Answer {
        ordinal: u64,
        answer: Result<StoreResponse, StoreError>,
    },
    /// A client's request timeout.
    Timeout { ordinal: u64 },
    /// A pause or suspend begins (the plan's clock fault).
    Pause { actor: usize, length: Duration },
    /// An actor crashes.
    Crash { actor: usize },
    /// DynamoDB's TTL sweeper looks at the table.
    Sweep,
    /// The faulty phase ends.
    Horizon,
    /// The liveness probes start.
    Probe,
}

/// A request on its way.
#[derive(Debug)]
struct Flight {
    who: Who,
    id: Option<RequestId>,
    /// The sending actor's machine number ([`Send::machine`]).
    machine: u64,
    request: Request,
    kind: Kind,
    token: Option<String>,
    fault: StoreFault,
    /// Whether an answer or a timeout reached the client already.
    settled: bool,
}

/// An observer of an election (leader election runs): lease-core's `Observer`, driven as the
/// `lease` crate's `LeaseManager::observe` drives it.
struct ObserverRun {
    key: usize,
    machine: Observer,
    clock: ActorClock,
    in_flight: Option<RequestId>,
}

/// A liveness probe: one waiting acquire per key once the faults are over.
struct ProbeRun {
    key: usize,
    machine: WaitOp,
    clock: ActorClock,
    start: Duration,
    in_flight: Option<RequestId>,
    index: usize,
}

struct World<'p> {
    plan: &'p Plan,
    now: Duration,
    queue: BinaryHeap<Reverse<(Duration, u64)>>,
    events: BTreeMap<u64, Event>,
    seq: u64,
    store: SimStore,
    actors: Vec<Actor>,
    foreign: Option<Foreign>,
    probes: Vec<ProbeRun>,
    observers: Vec<ObserverRun>,
    flights: BTreeMap<u64, Flight>,
    ordinal: u64,
    history: History,
    finishing: bool,
    rng: Xoshiro256PlusPlus,
    processed: u64,
    /// Requests sent so far per (actor, kind), for aimed faults.
    sent_by_kind: BTreeMap<(usize, &'static str), usize>,
}

/// The lease configuration of a run.
fn config_of(plan: &Plan) -> LeaseConfig {
    let options = &plan.options;
    let builder = LeaseConfig::builder("locks")
        .max_clock_skew(options.skew_bound)
        .expiry_unit(options.expiry_unit);
    let builder = match options.ttl_buffer {
        Some(buffer) => builder.ttl_buffer(buffer),
        None => builder.include_ttl(false),
    };
    match builder.build() {
        Ok(config) => config,
        Err(error) => panic!(
            "seed {}: the simulator made an invalid configuration: {error}",
            options.seed
        ),
    }
}

/// Runs `plan` to its end and judges it. With `trace`, the history keeps a readable trace.
#[must_use]
pub fn run(plan: &Plan, trace: bool) -> Outcome {
    #[allow(
        clippy::disallowed_methods,
        reason = "the one origin of the run's Instants; nothing depends on its value"
    )]
    let origin = Instant::now();
    let options = &plan.options;
    let config = config_of(plan);
    let planner = Arc::new(Planner::new(config.clone()));
    let clocks = actor_clocks(plan, origin);
    let actors: Vec<Actor> = options
        .actors
        .iter()
        .zip(clocks)
        .enumerate()
        .map(|(i, (actor, clock))| {
            Actor::new(
                i,
                actor.clone(),
                clock,
                Arc::clone(&planner),
                options.keys,
                stream(options.seed, &format!("actor{i}")),
            )
        })
        .collect();
    // The actors of one process share its line of waiters.
    let mut actors = actors;
    let mut lines: BTreeMap<usize, Line> = BTreeMap::new();
    for (actor, options) in actors.iter_mut().zip(&options.actors) {
        if let Some(process) = options.process {
            actor.share_line(Rc::clone(lines.entry(process).or_default()));
        }
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(stream(options.seed, "world"));
    let foreign = (options.foreign_writer
        && options.expiry_unit == lease_core::ExpiryUnit::Seconds)
        .then(|| {
            let half = i64::try_from(options.skew_bound.as_nanos() / 2).unwrap_or(0);
            let clock = ActorClock::new(
                origin,
                rng.random_range(-half..=half),
                Vec::new(),
                Vec::new(),
            );
            let duration = options.skew_bound * 2 + Duration::from_secs(rng.random_range(4..=12));
            Foreign::new(
                clock,
                config.clone(),
                options.keys,
                duration,
                stream(options.seed, "foreign"),
            )
        });
    let mut world = World {
        plan,
        now: Duration::ZERO,
        queue: BinaryHeap::new(),
        events: BTreeMap::new(),
        seq: 0,
        store: SimStore::new(
            &config,
            options.keys,
            options.no_old_item,
            options.faults.throttle_per_key,
        ),
        actors,
        foreign,
        probes: Vec::new(),
        observers: Vec::new(),
        flights: BTreeMap::new(),
        ordinal: 0,
        history: History {
            trace: trace.then(Vec::new),
            ..History::default()
        },
        finishing: false,
        rng,
        processed: 0,
        sent_by_kind: BTreeMap::new(),
    };
    world.start(&planner, origin);
    world.run_loop();
    world.finish(&config)
}

/// Each actor's clocks, with the plan's steps and suspends.
fn actor_clocks(plan: &Plan, origin: Instant) -> Vec<ActorClock> {
    plan.options
        .actors
        .iter()
        .enumerate()
        .map(|(i, actor)| {
            let mut steps = Vec::new();
            let mut suspends = Vec::new();
            for fault in plan.clock_faults.iter().filter(|f| f.actor == i) {
                match fault.kind {
                    ClockFaultKind::Step(to) => steps.push((fault.at, to)),
                    ClockFaultKind::Suspend(length) => suspends.push((fault.at, fault.at + length)),
                    ClockFaultKind::Pause(_) | ClockFaultKind::Crash => {}
                }
            }
            ActorClock::new(origin, actor.skew_nanos, steps, suspends)
        })
        .collect()
}

impl World<'_> {
    fn schedule(&mut self, at: Duration, event: Event) {
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq)));
        self.events.insert(self.seq, event);
    }

    fn start(&mut self, planner: &Arc<Planner>, origin: Instant) {
        for i in 0..self.actors.len() {
            self.reschedule(Who::Actor(i));
        }
        for options in self.plan.options.observers.clone() {
            let Ok(machine) = Observer::new(
                Arc::clone(planner),
                format!("K{}", options.key),
                options.every,
                RetryPolicy::default(),
            ) else {
                continue;
            };
            self.observers.push(ObserverRun {
                key: options.key,
                machine,
                clock: ActorClock::new(origin, options.skew_nanos, Vec::new(), Vec::new()),
                in_flight: None,
            });
            self.observer_step(self.observers.len() - 1);
        }
        if self.foreign.is_some() {
            self.reschedule(Who::Foreign);
        }
        for fault in self.plan.clock_faults.clone() {
            match fault.kind {
                ClockFaultKind::Pause(length) | ClockFaultKind::Suspend(length) => {
                    self.schedule(
                        fault.at,
                        Event::Pause {
                            actor: fault.actor,
                            length,
                        },
                    );
                }
                ClockFaultKind::Crash => {
                    self.schedule(fault.at, Event::Crash { actor: fault.actor })
                }
                ClockFaultKind::Step(_) => {
                    let at = fault.at;
                    self.history.disturb(Who::Actor(fault.actor), at);
                }
            }
        }
        if self.plan.options.ttl_buffer.is_some() {
            self.schedule(Duration::from_secs(1), Event::Sweep);
        }
        self.schedule(self.plan.options.horizon, Event::Horizon);
    }

    fn run_loop(&mut self) {
        // A bound no healthy run comes near: the liveness phase ends every actor.
        let limit = self.plan.options.horizon * 4 + Duration::from_secs(600);
        let (mut last_at, mut same_instant) = (Duration::MAX, 0u32);
        while let Some(Reverse((at, seq))) = self.queue.pop() {
            let Some(event) = self.events.remove(&seq) else {
                continue;
            };
            if at > limit {
                break;
            }
            self.now = at;
            self.processed += 1;
            // Something that reschedules itself at the same instant for ever (a machine that
            // wants a step its driver cannot take, or a simulator bug): report it instead of
            // hanging.
            if at == last_at {
                same_instant += 1;
                if same_instant > 100_000 {
                    self.history.spun = Some((at, format!("{event:?}")));
                    return;
                }
            } else {
                (last_at, same_instant) = (at, 0);
            }
            self.dispatch(event);
        }
    }

    /// Whether `who` is paused now (its events wait for it).
    fn paused(&self, who: Who) -> Option<Duration> {
        match who {
            Who::Actor(i) => self.actors[i]
                .paused_until
                .filter(|until| *until > self.now),
            _ => None,
        }
    }

    fn crashed(&self, who: Who) -> bool {
        matches!(who, Who::Actor(i) if self.actors[i].crashed)
    }

    fn dispatch(&mut self, event: Event) {
        match event {
            Event::Wake { who, generation } => {
                if self.crashed(who) {
                    return;
                }
                if let Some(until) = self.paused(who) {
                    self.schedule(until, Event::Wake { who, generation });
                    return;
                }
                match who {
                    Who::Actor(i) if self.actors[i].wake_gen == generation => {
                        self.with_actor(i, |actor, t, ctx| actor.wake(t, ctx))
                    }
                    Who::Foreign => self.foreign_wake(),
                    Who::Probe(i) => self.probe_step(i),
                    Who::Observer(i) => self.observer_step(i),
                    Who::Actor(_) => {}
                }
            }
            Event::Arrive { ordinal } => self.arrive(ordinal),
            Event::Answer { ordinal, answer } => self.deliver(ordinal, answer),
            Event::Timeout { ordinal } => {
                let settled = self.flights.get(&ordinal).is_none_or(|f| f.settled);
                if !settled {
                    let error = StoreError::new(
                        StoreErrorKind::Timeout,
                        "simulated: no answer before the client's timeout",
                    );
                    self.deliver(ordinal, Err(error));
                }
            }
            Event::Pause { actor, length } => {
                if self.actors[actor].crashed {
                    return;
                }
                let until = self.now + length;
                let current = self.actors[actor].paused_until.unwrap_or_default();
                self.actors[actor].paused_until = Some(current.max(until));
                self.history.disturb(Who::Actor(actor), self.now);
                self.history.disturb(Who::Actor(actor), until);
                let start = self.now;
                self.history
                    .pauses
                    .entry(Who::Actor(actor))
                    .or_default()
                    .push((start, until));
                let at = self.now;
                self.history.note(at, || {
                    format!("a{actor} pauses until {:.3}", until.as_secs_f64())
                });
            }
            Event::Crash { actor } => {
                // A crash ends the actor's process: every actor in it.
                let process = self.plan.options.actors[actor].process;
                for i in 0..self.actors.len() {
                    let same = i == actor
                        || (process.is_some() && self.plan.options.actors[i].process == process);
                    if same && !self.actors[i].crashed {
                        self.actors[i].crashed = true;
                        self.history.disturb(Who::Actor(i), self.now);
                        let at = self.now;
                        self.history.note(at, || format!("a{i} CRASHES"));
                    }
                }
            }
            Event::Sweep => self.sweep(),
            Event::Horizon => self.horizon(),
            Event::Probe => self.start_probes(),
        }
    }

    /// Runs `f` on actor `i` at the current time, then sends what it asked for and schedules
    /// its next wake.
    fn with_actor(&mut self, i: usize, f: impl FnOnce(&mut Actor, Duration, &mut Ctx<'_>)) {
        let t = self.now;
        let mut ctx = Ctx {
            history: &mut self.history,
            registers: &mut self.store.registers,
            sends: Vec::new(),
            finishing: self.finishing,
            told: Vec::new(),
        };
        f(&mut self.actors[i], t, &mut ctx);
        let sends = std::mem::take(&mut ctx.sends);
        let told = std::mem::take(&mut ctx.told);
        for send in sends {
            self.send(Who::Actor(i), send);
        }
        self.reschedule(Who::Actor(i));
        // The turns the process's line gave: each waiter takes its own when it next runs,
        // which is now unless it is paused.
        for (to, turn) in told {
            let actor = &mut self.actors[to];
            if actor.crashed {
                continue;
            }
            actor.give_turn(turn);
            let generation = actor.wake_gen;
            let who = Who::Actor(to);
            self.schedule(self.now, Event::Wake { who, generation });
        }
    }

    /// Puts a request on the network.
    fn send(&mut self, who: Who, send: Send) {
        let ordinal = self.ordinal;
        self.ordinal += 1;
        let mut fault = if self.finishing {
            StoreFault::None
        } else {
            self.plan.store_fault(ordinal)
        };
        if let Who::Actor(actor) = who {
            let count = self
                .sent_by_kind
                .entry((actor, send.kind.name()))
                .or_default();
            let nth = *count;
            *count += 1;
            if let Some(aimed) = self
                .plan
                .aimed
                .iter()
                .find(|a| a.actor == actor && a.kind == send.kind.name() && a.nth == nth)
            {
                fault = aimed.fault;
            }
        }
        if fault != StoreFault::None {
            self.history.disturb(who, self.now);
            self.history.tally.store_faults += 1;
        }
        let latency = self.plan.latency(ordinal, false);
        let t = self.now;
        self.history.note(t, || {
            format!("{who:?} sends #{ordinal} {} ({fault:?})", send.kind.name())
        });
        self.flights.insert(
            ordinal,
            Flight {
                who,
                id: send.id,
                machine: send.machine,
                request: send.request,
                kind: send.kind,
                token: send.token,
                fault,
                settled: false,
            },
        );
        if fault != StoreFault::Drop {
            self.schedule(t + latency, Event::Arrive { ordinal });
        }
        self.schedule(
            t + self.plan.options.request_timeout,
            Event::Timeout { ordinal },
        );
    }

    /// A request reaches the table.
    fn arrive(&mut self, ordinal: u64) {
        let Some(flight) = self.flights.get(&ordinal) else {
            return;
        };
        let faulty = !self.finishing;
        let answer = self.store.arrive(&flight.request, self.now, faulty);
        let (who, kind, token, fault) =
            (flight.who, flight.kind, flight.token.clone(), flight.fault);
        self.record_state(Some((ordinal, kind.name())));
        if matches!(answer, Err(ref e) if e.kind() == StoreErrorKind::Throttled) {
            self.history.disturb(who, self.now);
            self.history.tally.throttled += 1;
        }
        if let (Ok(StoreResponse::Applied { .. }), Some(token)) = (&answer, &token) {
            self.history.applied.push(Applied {
                at: self.now,
                kind: kind.name(),
                token: token.clone(),
            });
        }
        let t = self.now;
        self.history.note(t, || {
            format!(
                "store applies #{ordinal} {}: {}",
                kind.name(),
                summarize(&answer)
            )
        });
        let back = self.plan.latency(ordinal, true);
        match fault {
            StoreFault::AnswerLost => {}
            StoreFault::ApplyThenError(error) => {
                let error = StoreError::new(error, "simulated: applied, then the answer failed");
                self.schedule(
                    t + back,
                    Event::Answer {
                        ordinal,
                        answer: Err(error),
                    },
                );
            }
            StoreFault::SlowAnswer(slow) => {
                self.schedule(t + back + slow, Event::Answer { ordinal, answer })
            }
            StoreFault::Duplicated(later) => {
                self.schedule(
                    t + back,
                    Event::Answer {
                        ordinal,
                        answer: copy(&answer),
                    },
                );
                self.schedule(t + back + later, Event::Answer { ordinal, answer });
            }
            StoreFault::None | StoreFault::Drop => {
                self.schedule(t + back, Event::Answer { ordinal, answer })
            }
        }
    }

    /// An answer (or a timeout) reaches its client; a stale one is dropped by the client.
    fn deliver(&mut self, ordinal: u64, answer: Result<StoreResponse, StoreError>) {
        let Some(flight) = self.flights.get(&ordinal) else {
            return;
        };
        let (who, id, machine) = (flight.who, flight.id, flight.machine);
        if flight.settled {
            self.deliver_stale(who, id, machine, ordinal, answer);
            return;
        }
        if self.crashed(who) {
            return;
        }
        if let Some(until) = self.paused(who) {
            self.schedule(until, Event::Answer { ordinal, answer });
            return;
        }
        if let Some(flight) = self.flights.get_mut(&ordinal) {
            flight.settled = true;
        }
        match (who, id) {
            (Who::Actor(i), Some(id)) => {
                self.with_actor(i, |actor, t, ctx| actor.answer(machine, id, answer, t, ctx))
            }
            (Who::Foreign, _) => {
                if let Some(foreign) = &mut self.foreign
                    && foreign.in_flight == Some(ordinal)
                {
                    foreign.answer(
                        answer,
                        self.now,
                        self.plan.options.skew_bound,
                        &mut self.history,
                    );
                }
                self.reschedule(Who::Foreign);
            }
            (Who::Observer(i), Some(id)) => {
                let observer = &mut self.observers[i];
                if observer.in_flight == Some(id) {
                    observer.in_flight = None;
                    let now = observer.clock.now(self.now);
                    observer.machine.handle_response(id, answer, now);
                }
                self.observer_step(i);
            }
            (Who::Probe(i), Some(id)) => {
                let now = self.probes[i].clock.now(self.now);
                if self.probes[i].in_flight == Some(id) {
                    self.probes[i].in_flight = None;
                    self.probes[i].machine.handle_response(id, answer, now);
                }
                self.probe_step(i);
            }
            _ => {}
        }
    }

    /// An answer to a request whose client already had its answer (or its timeout): with
    /// [`Options::stale_answers`](crate::options::Options::stale_answers) it goes to the machine that sent it, if that still runs, which
    /// must ignore it; otherwise the driver drops it.
    fn deliver_stale(
        &mut self,
        who: Who,
        id: Option<RequestId>,
        machine: u64,
        ordinal: u64,
        answer: Result<StoreResponse, StoreError>,
    ) {
        let (Who::Actor(i), Some(id)) = (who, id) else {
            return;
        };
        if !self.plan.options.stale_answers || self.crashed(who) {
            return;
        }
        if let Some(until) = self.paused(who) {
            self.schedule(until, Event::Answer { ordinal, answer });
            return;
        }
        self.with_actor(i, |actor, t, ctx| {
            actor.stale_answer(machine, id, answer, t, ctx)
        });
    }

    /// Schedules `who`'s next wake (superseding any earlier one).
    fn reschedule(&mut self, who: Who) {
        let at = match who {
            Who::Actor(i) => {
                let actor = &mut self.actors[i];
                actor.wake_gen += 1;
                actor.next_wake().map(|at| (at, actor.wake_gen))
            }
            Who::Foreign => self
                .foreign
                .as_ref()
                .and_then(Foreign::next_wake)
                .map(|at| (at, 0)),
            Who::Probe(i) => {
                let probe = &self.probes[i];
                probe
                    .machine
                    .poll_timeout()
                    .map(|at| (probe.clock.when_monotonic(at), 0))
            }
            Who::Observer(i) => {
                let observer = &self.observers[i];
                observer
                    .machine
                    .poll_timeout()
                    .filter(|_| self.history.observers_stopped.is_none())
                    .map(|at| (observer.clock.when_monotonic(at), 0))
            }
        };
        if let Some((at, generation)) = at {
            self.schedule(at.max(self.now), Event::Wake { who, generation });
        }
    }

    fn foreign_wake(&mut self) {
        let t = self.now;
        let finishing = self.finishing;
        let request = match &mut self.foreign {
            Some(foreign) => foreign.wake(t, finishing, &mut self.history),
            None => return,
        };
        if let Some(request) = request {
            let ordinal = self.ordinal;
            if let Some(foreign) = &mut self.foreign {
                foreign.in_flight = Some(ordinal);
            }
            self.send(
                Who::Foreign,
                Send {
                    id: None,
                    machine: 0,
                    request,
                    kind: Kind::Foreign,
                    token: None,
                },
            );
        }
        self.reschedule(Who::Foreign);
    }

    fn sweep(&mut self) {
        let now_secs = i64::try_from(
            (i128::from(crate::clock::T0) * 1_000_000_000 + self.now.as_nanos() as i128)
                .div_euclid(1_000_000_000),
        )
        .unwrap_or(0);
        let rng = &mut self.rng;
        let deleted = self.store.sweep(now_secs, || rng.random_bool(0.3));
        if !deleted.is_empty() {
            self.record_state(None);
        }
        for (pk, sk) in deleted {
            // A lock item `K{n}`, or a semaphore's slot `PERMIT#000n` (semaphore runs).
            let key = match lease_core::permit_index(&sk) {
                Some(slot) => usize::try_from(slot).unwrap_or(0),
                None => pk.trim_start_matches('K').parse::<usize>().unwrap_or(0),
            };
            self.history
                .key_disturbed
                .entry(key)
                .or_default()
                .push(self.now);
            let t = self.now;
            self.history.note(t, || format!("TTL deletes {pk} {sk}"));
        }
        self.schedule(self.now + Duration::from_secs(1), Event::Sweep);
    }

    /// In a set run, notes the store's state (the token at each key) if a step (`by` a request,
    /// or a TTL deletion) changed it, for the check that a set's keys are written together.
    fn record_state(&mut self, by: Option<(u64, &'static str)>) {
        if !self.plan.options.sets {
            return;
        }
        let tokens = self.store.tokens(self.plan.options.keys);
        let unchanged = match self.history.store_steps.last() {
            Some(last) => last.tokens == tokens,
            None => tokens.iter().all(Option::is_none),
        };
        if !unchanged {
            self.history.store_steps.push(StoreStep {
                at: self.now,
                by,
                tokens,
            });
        }
    }

    /// The faulty phase ends: no new faults; actors finish what they hold and stop.
    fn horizon(&mut self) {
        self.finishing = true;
        let t = self.now;
        self.history
            .note(t, || "HORIZON: faults end; actors finish".into());
        for i in 0..self.actors.len() {
            if !self.actors[i].crashed {
                let generation = self.actors[i].wake_gen;
                self.schedule(
                    self.now,
                    Event::Wake {
                        who: Who::Actor(i),
                        generation,
                    },
                );
            }
        }
        if self.foreign.is_some() {
            self.schedule(
                self.now,
                Event::Wake {
                    who: Who::Foreign,
                    generation: 0,
                },
            );
        }
        // The probes start once every lease taken in the faulty phase has expired or been
        // let go: after the longest lease, and after every pause or suspend still running.
        let paused_tail = self
            .actors
            .iter()
            .filter_map(|a| a.paused_until)
            .max()
            .unwrap_or_default();
        let start = self.now.max(paused_tail)
            + self.plan.options.longest_duration()
            + self.plan.options.skew_bound
            + Duration::from_secs(1);
        self.schedule(start, Event::Probe);
    }

    /// Runs observer `i` at the current time: sends the read that is due, records what it
    /// shows, and schedules its next wake. Observers stop when the liveness phase begins.
    fn observer_step(&mut self, i: usize) {
        if self.history.observers_stopped.is_some() {
            return;
        }
        let observer = &mut self.observers[i];
        let now = observer.clock.now(self.now);
        let mut read = None;
        if observer.in_flight.is_none() {
            if let Some(transmit) = observer.machine.poll_transmit(now) {
                observer.in_flight = Some(transmit.id);
                read = Some((transmit.id, transmit.request.clone()));
            }
        } else {
            observer.machine.handle_timeout(now);
        }
        while let Some(shown) = observer.machine.poll_change() {
            let shown = shown.map(|leader| Shown {
                fence: leader.fence.map(lease_core::FencingToken::get),
                expires_nanos: lease_core::wire_time::epoch_nanos(leader.expires_at),
                value: leader.value.map(|value| value.to_string()),
            });
            let (key, at) = (observer.key, self.now);
            self.history
                .note(at, || format!("observer {i} shows {shown:?}"));
            self.history.observed.push(Observed {
                observer: i,
                key,
                at,
                shown,
            });
        }
        if let Some((id, request)) = read {
            self.send(
                Who::Observer(i),
                Send {
                    id: Some(id),
                    machine: 0,
                    request,
                    kind: Kind::Read,
                    token: None,
                },
            );
        }
        self.reschedule(Who::Observer(i));
    }

    fn start_probes(&mut self) {
        self.history.observers_stopped = Some(self.now);
        #[allow(
            clippy::disallowed_methods,
            reason = "the origin of the probes' Instants; nothing depends on its value"
        )]
        let origin = Instant::now();
        let config = config_of(self.plan);
        let planner = Arc::new(Planner::new(config));
        let policy = WaitPolicy::with_timeout(self.probe_bound() * 4)
            .max_delay(Duration::from_millis(200))
            .jitter_seed(self.plan.options.seed);
        for key in 0..self.plan.options.keys {
            let clock = ActorClock::new(origin, 0, Vec::new(), Vec::new());
            let index = self.probes.len();
            let counter = std::sync::atomic::AtomicU64::new(0);
            let tokens: Arc<dyn TokenSource> = Arc::new(move || {
                LeaseToken::new(format!(
                    "probe{key}-{}",
                    counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
                ))
            });
            let now = clock.now(self.now);
            let lease_key = if self.plan.options.elections {
                lease_core::election_key(format!("K{key}"))
            } else if self.plan.options.semaphore {
                // A slot is a key like any: the probe takes it with a single acquire.
                lease_core::permit_key(crate::options::SEMAPHORE, u32::try_from(key).unwrap_or(0))
            } else {
                LeaseKey::new(format!("K{key}"), "LOCK")
            };
            let Ok(machine) = WaitOp::new(
                Arc::clone(&planner),
                lease_key,
                Duration::from_secs(10),
                policy.clone(),
                RetryPolicy::default(),
                tokens,
                1,
                now,
            ) else {
                continue;
            };
            self.probes.push(ProbeRun {
                key,
                machine,
                clock,
                start: self.now,
                in_flight: None,
                index,
            });
            self.probe_step(index);
        }
    }

    /// How long a probe may take to get a key once faults are over and every earlier lease
    /// has expired or been let go: its first try, a wait for the expiry of a lease it finds
    /// (renewed in the liveness phase at most once more, when its holder lets go), polling
    /// delays, and round trips.
    fn probe_bound(&self) -> Duration {
        self.plan.options.longest_duration()
            + self.plan.options.skew_bound
            + Duration::from_secs(2)
            + self.plan.options.request_timeout * 2
    }

    fn probe_step(&mut self, i: usize) {
        let now = self.probes[i].clock.now(self.now);
        let bound = self.probe_bound();
        let probe = &mut self.probes[i];
        probe.machine.handle_timeout(now);
        while probe.machine.poll_event().is_some() {}
        if let Some(result) = probe.machine.poll_output() {
            let acquired = result.is_ok().then_some(self.now);
            self.history.probes.push(Probe {
                key: probe.key,
                start: probe.start,
                acquired,
                bound,
            });
            if let Ok(lease) = result
                && let Some(deadlines) = Deadlines::of(&lease)
            {
                self.history.intervals.push(Interval {
                    who: Who::Probe(probe.key),
                    key: probe.key,
                    token: lease.token().expose_secret().to_owned(),
                    fence: Some(lease.fence().get()),
                    guarded: false,
                    start: self.now,
                    deadlines,
                    renewals: Vec::new(),
                    ended: Some((self.now, crate::history::EndReason::LetGo)),
                    foreign_end: None,
                    set: None,
                });
            }
            return;
        }
        if probe.in_flight.is_none()
            && let Some(transmit) = probe.machine.poll_transmit(now)
        {
            let send = Send {
                id: Some(transmit.id),
                machine: 0,
                request: transmit.request.clone(),
                kind: Kind::Acquire,
                token: None,
            };
            probe.in_flight = Some(transmit.id);
            let index = probe.index;
            self.send(Who::Probe(index), send);
        }
        self.reschedule(Who::Probe(i));
    }

    fn finish(mut self, config: &LeaseConfig) -> Outcome {
        for actor in &self.actors {
            if !actor.crashed && !actor.is_done() {
                self.history.stuck.push((actor.who(), actor.describe()));
            }
        }
        let clocks: Vec<ActorClock> = self.actors.iter().map(|a| a.clock.clone()).collect();
        let report = checker::check(&self.history, &clocks, self.plan, config);
        let history = &mut self.history;
        let tally = &mut history.tally;
        tally.requests = self.ordinal;
        tally.clock_faults = self.plan.clock_faults.len() as u64;
        tally.key_disturbances = history.key_disturbed.values().map(|v| v.len() as u64).sum();
        tally.intervals = history.intervals.len() as u64;
        tally.losses = history
            .intervals
            .iter()
            .filter(|i| matches!(i.ended, Some((_, crate::history::EndReason::Lost(_)))))
            .count() as u64;
        tally.writes = history.writes.len() as u64;
        tally.rejected_writes = history.writes.iter().filter(|w| !w.accepted).count() as u64;
        tally.leaders_shown = history
            .observed
            .iter()
            .filter(|o| o.shown.is_some())
            .count() as u64;
        Outcome {
            report,
            requests: self.ordinal,
            events: self.processed,
            history: self.history,
        }
    }
}

/// A copy of an answer (a store error's underlying error is not kept: the simulator's have
/// none).
fn copy(answer: &Result<StoreResponse, StoreError>) -> Result<StoreResponse, StoreError> {
    match answer {
        Ok(response) => Ok(response.clone()),
        Err(error) => Err(StoreError::new(error.kind(), error.message())),
    }
}

/// A short account of an answer, for the trace.
fn summarize(answer: &Result<StoreResponse, StoreError>) -> String {
    match answer {
        Ok(StoreResponse::Applied { .. }) => "applied".into(),
        Ok(StoreResponse::ConditionFailed { .. }) => "condition failed".into(),
        Ok(StoreResponse::Item(item)) => {
            format!("item ({})", if item.is_some() { "found" } else { "none" })
        }
        Ok(other) => format!("{other:?}"),
        Err(error) => format!("error: {}", error.kind()),
    }
}
