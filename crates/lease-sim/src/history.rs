//! [`History`]: what happened in a run, as the checker needs it: holder intervals, writes to
//! the fenced resource, store writes, disturbances, liveness probes.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use lease_core::Lease;

/// Who acted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Who {
    /// An actor running lease-core's machines.
    Actor(usize),
    /// The TableTheory writer.
    Foreign,
    /// The liveness probe of one key.
    Probe(usize),
    /// An observer of an election.
    Observer(usize),
}

/// How an interval ended, as the holder saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// The holder let go (release or drop): it stopped working then.
    LetGo,
    /// The library reported the lease lost (a guard's event).
    Lost(String),
    /// The holder saw its lease invalid (plain operations) and stopped.
    SawInvalid,
}

/// A lease's deadlines: the monotonic instant and the wall clock in nanoseconds since the
/// epoch (what `Lease::is_valid_at` compares).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadlines {
    /// Monotonic.
    pub monotonic: Instant,
    /// Wall, nanoseconds since the epoch.
    pub wall_nanos: i128,
}

impl Deadlines {
    /// The deadlines of `lease`, if it has them.
    #[must_use]
    pub fn of(lease: &Lease) -> Option<Self> {
        Some(Self {
            monotonic: lease.valid_until()?,
            wall_nanos: lease_core::wire_time::epoch_nanos(lease.valid_until_wall()?),
        })
    }
}

/// A holder interval: from the instant an acquire returned success to the holder's end.
#[derive(Clone, Debug)]
pub struct Interval {
    /// The holder.
    pub who: Who,
    /// The key's index.
    pub key: usize,
    /// The lease token (bearer).
    pub token: String,
    /// The fencing token (none for the TableTheory writer).
    pub fence: Option<u64>,
    /// Whether a keeper (guard) kept it.
    pub guarded: bool,
    /// When the acquire returned success.
    pub start: Duration,
    /// The deadlines of the acquired lease.
    pub deadlines: Deadlines,
    /// Each renewal: when its success was handed to the holder, and the new deadlines.
    pub renewals: Vec<(Duration, Deadlines)>,
    /// When and how the holder's interval ended, as it saw it (none: crashed, or the run ended).
    pub ended: Option<(Duration, EndReason)>,
    /// For the TableTheory writer: the true time its own safe end passed (no local deadlines).
    pub foreign_end: Option<Duration>,
    /// The lease set it is one key of (the token's keys are [`History::set_keys`]'s), if any.
    pub set: Option<String>,
}

/// A write to the fenced resource, made when the holder's library view said it held the lease.
#[derive(Clone, Debug)]
pub struct Write {
    /// The interval it was made under.
    pub interval: usize,
    /// When.
    pub at: Duration,
    /// Whether the fenced resource accepted it (its fence was at least the highest seen).
    pub accepted: bool,
}

/// A store write that was applied, with the token it carried.
#[derive(Clone, Debug)]
pub struct Applied {
    /// When the store applied it.
    pub at: Duration,
    /// The request's kind.
    pub kind: &'static str,
    /// The lease token it carried.
    pub token: String,
}

/// The store's state after a step that changed it (set runs): the lease token stored at each
/// key, as the table holds it (read from the table, not from what any client was told).
#[derive(Clone, Debug)]
pub struct StoreStep {
    /// When.
    pub at: Duration,
    /// What changed it: a request's ordinal and kind, or a TTL deletion (no ordinal).
    pub by: Option<(u64, &'static str)>,
    /// The token at each key (`K0`, `K1`, …) after the step.
    pub tokens: Vec<Option<String>>,
}

/// A waiting acquire of an actor in a shared process (in line with the process's other
/// waiters).
#[derive(Clone, Debug)]
pub struct Wait {
    /// The waiter.
    pub who: Who,
    /// Its process.
    pub process: usize,
    /// The key's index.
    pub key: usize,
    /// When it began (it joined the line then).
    pub start: Duration,
    /// When it returned (with the lease or not); none if it never did.
    pub end: Option<Duration>,
}

/// A lease let go in a shared process (its release answered, or its keeper finished): the
/// process's line was told then.
#[derive(Clone, Copy, Debug)]
pub struct LocalRelease {
    /// The process.
    pub process: usize,
    /// The key's index.
    pub key: usize,
    /// When the line was told.
    pub at: Duration,
}

/// A leader an observer showed (a change of what it shows).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shown {
    /// The leader's fencing token.
    pub fence: Option<u64>,
    /// The stored expiry, in wall-clock nanoseconds since the epoch.
    pub expires_nanos: i128,
    /// The value the leader proclaimed.
    pub value: Option<String>,
}

/// An observer's change of what it shows, from `at` on.
#[derive(Clone, Debug)]
pub struct Observed {
    /// The observer.
    pub observer: usize,
    /// The key (election) it follows.
    pub key: usize,
    /// When the change was shown.
    pub at: Duration,
    /// The leader shown from then on, or none.
    pub shown: Option<Shown>,
}

/// A liveness probe's result.
#[derive(Clone, Debug)]
pub struct Probe {
    /// The key.
    pub key: usize,
    /// When the probe began.
    pub start: Duration,
    /// When it got the lease, if it did.
    pub acquired: Option<Duration>,
    /// The bound it had to meet.
    pub bound: Duration,
}

/// What a run exercised, for the summary of many runs (a run that meets no fault proves
/// little: these counts show that the faults happened).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Requests sent.
    pub requests: u64,
    /// Requests that met a store fault (drop, applied-then-error, lost, slow, duplicated).
    pub store_faults: u64,
    /// Requests throttled.
    pub throttled: u64,
    /// Clock and process faults (pauses, suspends, steps, crashes).
    pub clock_faults: u64,
    /// Stale answers handed to the machine that sent the request (which must ignore them).
    pub stale_answers: u64,
    /// Items deleted under a holder's feet (TTL sweeps, the TableTheory writer).
    pub key_disturbances: u64,
    /// Holder intervals (a lease handed to an actor or a probe).
    pub intervals: u64,
    /// Intervals that ended with the library reporting the lease lost.
    pub losses: u64,
    /// Writes to the fenced resources.
    pub writes: u64,
    /// Writes the fenced resources rejected (a stale fence: fencing at work).
    pub rejected_writes: u64,
    /// Turns a process's line of waiters gave (in-process handover).
    pub turns: u64,
    /// Leaders the observers of elections showed (changes to a leader).
    pub leaders_shown: u64,
    /// Lease sets acquired (each a holder interval on each of its keys).
    pub sets_acquired: u64,
    /// Answers to set acquires that named keys held by others (`HeldKeys`, whether the acquire
    /// then waited or gave up).
    pub held_keys: u64,
    /// Set acquires sent again with higher fencing tokens, after a key's stored token was found
    /// at or above the proposal.
    pub reproposals: u64,
    /// Set acquires that gave back what they may have written (outcome unknown, or lapsed).
    pub gave_back: u64,
    /// Set refreshes that succeeded.
    pub set_refreshes: u64,
    /// Set releases that found some keys no longer held and released the others.
    pub partial_releases: u64,
    /// Permits of a semaphore acquired (each a holder interval on a slot key).
    pub permits_acquired: u64,
    /// `Query` requests of a semaphore's slots sent.
    pub queries: u64,
    /// Permit acquires that found the semaphore full (`NoPermit` answers, and waits while full).
    pub semaphore_full: u64,
    /// Permits taken on a slot at or above another holder's `N` (the semaphore grown or
    /// shrunk under a holder: actors asking for different numbers of permits).
    pub mixed_permits: u64,
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, other: Self) {
        self.requests += other.requests;
        self.store_faults += other.store_faults;
        self.throttled += other.throttled;
        self.clock_faults += other.clock_faults;
        self.stale_answers += other.stale_answers;
        self.key_disturbances += other.key_disturbances;
        self.intervals += other.intervals;
        self.losses += other.losses;
        self.writes += other.writes;
        self.rejected_writes += other.rejected_writes;
        self.turns += other.turns;
        self.leaders_shown += other.leaders_shown;
        self.sets_acquired += other.sets_acquired;
        self.held_keys += other.held_keys;
        self.reproposals += other.reproposals;
        self.gave_back += other.gave_back;
        self.set_refreshes += other.set_refreshes;
        self.partial_releases += other.partial_releases;
        self.permits_acquired += other.permits_acquired;
        self.queries += other.queries;
        self.semaphore_full += other.semaphore_full;
        self.mixed_permits += other.mixed_permits;
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} requests ({} store faults, {} throttled), {} clock/process faults, {} stale \
             answers handed to machines, {} items deleted under holders, {} leases held ({} \
             reported lost), {} fenced writes ({} rejected by their fence), {} turns given \
             to waiters in line, {} leaders shown by observers; lease sets: {} acquired, {} \
             HeldKeys answers, {} reproposals, {} given back, {} refreshed, {} released in part; \
             semaphores: {} permits acquired, {} queries, {} found full, {} held with \
             another N",
            self.requests,
            self.store_faults,
            self.throttled,
            self.clock_faults,
            self.stale_answers,
            self.key_disturbances,
            self.intervals,
            self.losses,
            self.writes,
            self.rejected_writes,
            self.turns,
            self.leaders_shown,
            self.sets_acquired,
            self.held_keys,
            self.reproposals,
            self.gave_back,
            self.set_refreshes,
            self.partial_releases,
            self.permits_acquired,
            self.queries,
            self.semaphore_full,
            self.mixed_permits
        )
    }
}

/// Everything the checker reads.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// Holder intervals, in start order.
    pub intervals: Vec<Interval>,
    /// Writes to the fenced resources.
    pub writes: Vec<Write>,
    /// Store writes applied, per request.
    pub applied: Vec<Applied>,
    /// When each lease token's holder let go of it (release called or guard dropped).
    pub let_go: BTreeMap<String, Duration>,
    /// When each lease token's release returned (the keeper finished, the release answered).
    pub released: BTreeMap<String, Duration>,
    /// When each actor's process was not running (pauses and suspends), `[start, end)`.
    pub pauses: BTreeMap<Who, Vec<(Duration, Duration)>>,
    /// When something disturbed each actor (a store fault on its request, a clock or process
    /// fault): losses near these are expected.
    pub disturbed: BTreeMap<Who, Vec<Duration>>,
    /// When the keys were disturbed for everyone (a TTL deletion, the TableTheory writer).
    pub key_disturbed: BTreeMap<usize, Vec<Duration>>,
    /// Liveness probes.
    pub probes: Vec<Probe>,
    /// The waiting acquires of actors in shared processes.
    pub waits: Vec<Wait>,
    /// The leases let go in shared processes.
    pub local_releases: Vec<LocalRelease>,
    /// The keys of each lease set's token (set runs), from the moment its acquire began.
    pub set_keys: BTreeMap<String, Vec<usize>>,
    /// The number of permits each permit's holder asked for (semaphore runs), by interval
    /// index: the interval's key is the slot's index.
    pub permits: BTreeMap<usize, u32>,
    /// Permits an acquire returned on a slot beyond the simulator's keys (a slot index at or
    /// above `N` the checker cannot place on a key): when, the slot, the `N` asked for.
    pub stray_permits: Vec<(Duration, u32, u32)>,
    /// Permit acquires that asked for a slot their `Query` showed held: when, who, the slot.
    pub held_slot_asks: Vec<(Duration, Who, u32)>,
    /// The store's states, each after a step that changed a key's token (set runs).
    pub store_steps: Vec<StoreStep>,
    /// What the observers of elections showed, change by change.
    pub observed: Vec<Observed>,
    /// When the observers stopped (the liveness phase began).
    pub observers_stopped: Option<Duration>,
    /// When the event loop was cut because one event kept coming back at the same instant,
    /// and that event.
    pub spun: Option<(Duration, String)>,
    /// Machines still busy when the run ended (actor, state).
    pub stuck: Vec<(Who, String)>,
    /// A readable trace, when asked for.
    pub trace: Option<Vec<String>>,
    /// Counts of what was exercised (completed when the run ends).
    pub tally: Tally,
}

impl History {
    /// Notes a line of the trace, if one is kept.
    pub fn note(&mut self, at: Duration, line: impl FnOnce() -> String) {
        if let Some(trace) = &mut self.trace {
            trace.push(format!("{:>10.3} {}", at.as_secs_f64(), line()));
        }
    }

    /// Notes that `who` was disturbed at `at`.
    pub fn disturb(&mut self, who: Who, at: Duration) {
        self.disturbed.entry(who).or_default().push(at);
    }
}
