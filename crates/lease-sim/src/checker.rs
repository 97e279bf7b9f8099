//! [`check`]: the properties, judged over a run's history in true time.
//!
//! The checker does not trust what the library reported. A holder interval runs from the
//! instant its acquire returned success to the earliest of:
//! - its **safe deadline**, computed here from the lease's deadlines and the holder's own
//!   clocks (the first true instant at which `Lease::is_valid_at` fails by its monotonic or wall
//!   clock; a renewal answered before that instant moves it to the renewed lease's);
//! - the loss the library reported (a keeper's `Lost` event);
//! - the instant the holder let go (it called release, dropped its guard, or saw its lease
//!   invalid by hand). The holder stops acting then: its stop signal is raised before the
//!   release is sent. (Taking the release's *return* instead would count as an overlap the
//!   time a release's answer spends on its way back while the next holder's answer arrives.)
//!
//! Properties:
//! - **S1** per key, holder intervals never overlap (ours, the TableTheory writer's, the probes');
//! - **S2** fencing tokens strictly increase in interval order, and every write to the fenced
//!   resource (made only when the holder's library view said it held the lease) falls inside its
//!   holder's interval and is accepted;
//! - **S3** no renewal or acquire carrying a lease's token is applied after that lease's
//!   release returned;
//! - **S5** a lease set's keys are held together or not at all: in the store's own states
//!   (read from the table after every step that changed a key's token), a step that gives a
//!   key a set's token gives it to every key of the set (and the intervals of S1–S4 cover
//!   every key a set holds, with single holders of the same keys);
//! - **S6** at most `N` permits (semaphore runs, whose keys are one semaphore's slots): a
//!   permit's slot index is below the `N` its holder asked for, and at every instant the holders
//!   of permits are at most the largest `N` among them (with S1 per slot, each implies the
//!   other; both are checked, the count as the property states it);
//! - **S4** a keeper reports its lease lost (or has let go) no later than the instant its safe
//!   deadline passes on the holder's monotonic clock (the timer a shell has), or, if the process
//!   was paused or suspended then, than its resume;
//! - **L1** once the faults are over and every earlier lease has expired or been let go, a
//!   waiter gets each key within the bound the probe states;
//! - **L4** a permit acquire asks only for a slot its `Query` showed free (a slot it reads
//!   held is refused by the slot's condition: safe, but a permit lost while others are free);
//! - **L2** a holder that no fault touched (no store fault on its requests, no pause, suspend,
//!   step or crash, no TTL deletion or TableTheory write on its key) and whose renew period
//!   leaves room for a round trip is never reported lost, and never sees its lease invalid;
//! - every machine finishes.

use std::time::Duration;

use lease_core::LeaseConfig;

use crate::clock::ActorClock;
use crate::history::{Deadlines, EndReason, History, Interval, Who};
use crate::plan::Plan;

/// A property that failed.
#[derive(Clone, Debug)]
pub enum Violation {
    /// S1: two intervals of one key overlap.
    Overlap {
        /// The key.
        key: usize,
        /// The earlier interval (index, holder, true span).
        first: (usize, Who, Duration, Duration),
        /// The later one.
        second: (usize, Who, Duration, Duration),
    },
    /// S2: a fencing token did not grow from one interval to the next.
    FenceOrder {
        /// The key.
        key: usize,
        /// The earlier interval and its fence.
        earlier: (usize, u64),
        /// The later interval and its fence.
        later: (usize, u64),
    },
    /// S2: a write made outside its holder's interval, or refused by the fenced resource.
    Write {
        /// The interval it was made under, and its true span.
        interval: (usize, Who, Duration, Duration),
        /// When.
        at: Duration,
        /// Whether the fenced resource accepted it.
        accepted: bool,
    },
    /// S3: a renewal or acquire applied after its lease's release returned.
    AfterRelease {
        /// The token.
        token: String,
        /// The request.
        kind: &'static str,
        /// When it was applied.
        at: Duration,
        /// When the release returned.
        released: Duration,
    },
    /// S5: a step of the store gave some keys of a lease set its token and left others
    /// without it: the set was held in part.
    PartialSet {
        /// The set's token.
        token: String,
        /// The set's keys.
        keys: Vec<usize>,
        /// The keys holding the token after the step.
        holding: Vec<usize>,
        /// When the step happened.
        at: Duration,
        /// The request (ordinal and kind) that made the step, or none for a TTL deletion.
        by: Option<(u64, &'static str)>,
    },
    /// S6: a permit on a slot at or above the `N` its holder asked for.
    PermitBeyond {
        /// The interval (index, holder), or none for a slot beyond the run's keys.
        interval: Option<(usize, Who)>,
        /// The slot's index.
        slot: u64,
        /// The `N` asked for.
        permits: u32,
        /// When the permit was acquired.
        at: Duration,
    },
    /// S6: more holders of permits at once than the largest `N` among them.
    TooManyPermits {
        /// When (the start of the interval that made them too many).
        at: Duration,
        /// The holders then: interval, holder, slot, the `N` it asked for.
        holders: Vec<(usize, Who, usize, u32)>,
    },
    /// S4: a keeper reported its lease lost later than its deadline on its monotonic clock.
    LateLoss {
        /// The interval.
        interval: (usize, Who),
        /// When the deadline passed (true time).
        deadline: Duration,
        /// When the keeper reported the loss (or let go).
        reported: Duration,
    },
    /// L1: a probe did not get a key within its bound.
    Liveness {
        /// The key.
        key: usize,
        /// When the probe began.
        start: Duration,
        /// When it got the key, if it did.
        acquired: Option<Duration>,
        /// The bound.
        bound: Duration,
    },
    /// L4: a permit acquire asked for a slot its `Query` showed held.
    HeldSlotAsked {
        /// Who.
        who: Who,
        /// The slot.
        slot: u32,
        /// When.
        at: Duration,
    },
    /// L2: an undisturbed holder lost its lease.
    SpuriousLoss {
        /// The interval.
        interval: (usize, Who),
        /// How it ended.
        reason: String,
    },
    /// L3: in a run without faults, a lease let go in a process while a waiter of that
    /// process was in line for it was not handed on within the bound (nobody acquired it):
    /// in-process handover failed.
    SlowHandover {
        /// The process.
        process: usize,
        /// The key.
        key: usize,
        /// When the process's line was told of the release.
        released: Duration,
        /// A waiter of the process that was in line all along.
        waiter: Who,
        /// The bound.
        bound: Duration,
    },
    /// E1: an observer showed a leader past the end of its lease plus the clock skew bound.
    LateLeader {
        /// The observer.
        observer: usize,
        /// The election's key.
        key: usize,
        /// The leader's fencing token.
        fence: Option<u64>,
        /// When the leader's stored expiry passed (true time).
        expired: Duration,
        /// When the observer stopped showing it.
        hidden: Duration,
    },
    /// E2: an observer showed a leader's fencing token with another actor's proclaimed value.
    WrongLeaderValue {
        /// The observer.
        observer: usize,
        /// The election's key.
        key: usize,
        /// The fencing token shown.
        fence: u64,
        /// The value shown.
        value: String,
        /// Who holds that fencing token's interval.
        holder: Who,
    },
    /// A machine (or the simulator) asked to run at one instant again and again, and the
    /// run was cut there: typically a machine that acted on an answer it did not await, and
    /// now wants a step its driver cannot take.
    Spin {
        /// When.
        at: Duration,
        /// The event that kept coming back.
        event: String,
    },
    /// A machine never finished.
    Stuck {
        /// Whose.
        who: Who,
        /// Doing what.
        state: String,
    },
}

impl Violation {
    /// The property's name.
    #[must_use]
    pub fn property(&self) -> &'static str {
        match self {
            Self::Overlap { .. } => "S1 overlap",
            Self::FenceOrder { .. } => "S2 fence order",
            Self::Write { .. } => "S2 write outside the interval",
            Self::AfterRelease { .. } => "S3 write after release",
            Self::PartialSet { .. } => "S5 lease set held in part",
            Self::PermitBeyond { .. } => "S6 permit beyond N",
            Self::TooManyPermits { .. } => "S6 more holders than permits",
            Self::LateLoss { .. } => "S4 late loss",
            Self::Liveness { .. } => "L1 liveness",
            Self::SpuriousLoss { .. } => "L2 spurious loss",
            Self::HeldSlotAsked { .. } => "L4 permit acquire asked for a held slot",
            Self::SlowHandover { .. } => "L3 slow in-process handover",
            Self::LateLeader { .. } => "E1 leader shown past its lease",
            Self::WrongLeaderValue { .. } => "E2 leader shown with another's value",
            Self::Spin { .. } => "event loop spun",
            Self::Stuck { .. } => "machine never finished",
        }
    }
}

/// The checker's verdict.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Every violation found.
    pub violations: Vec<Violation>,
    /// Holder intervals judged.
    pub intervals: usize,
    /// Writes judged.
    pub writes: usize,
}

impl Report {
    /// Whether every property held.
    #[must_use]
    pub fn is_ok(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Judges `history`; `clocks` are the actors' clocks (by index).
#[must_use]
pub fn check(
    history: &History,
    clocks: &[ActorClock],
    plan: &Plan,
    config: &LeaseConfig,
) -> Report {
    let spans: Vec<(Duration, Duration)> = history
        .intervals
        .iter()
        .map(|interval| span(interval, clocks))
        .collect();
    let mut violations = Vec::new();
    overlaps(history, &spans, &mut violations);
    fences(history, &mut violations);
    writes(history, &spans, clocks, &mut violations);
    after_release(history, &mut violations);
    sets_whole(history, &mut violations);
    at_most_n(history, &spans, &mut violations);
    for (at, who, slot) in &history.held_slot_asks {
        violations.push(Violation::HeldSlotAsked {
            who: *who,
            slot: *slot,
            at: *at,
        });
    }
    late_losses(history, clocks, &mut violations);
    liveness(history, &mut violations);
    spurious_losses(history, &spans, plan, config, &mut violations);
    handovers(history, plan, &mut violations);
    observers(history, plan, &mut violations);
    if let Some((at, event)) = &history.spun {
        violations.push(Violation::Spin {
            at: *at,
            event: event.clone(),
        });
    }
    for (who, state) in &history.stuck {
        violations.push(Violation::Stuck {
            who: *who,
            state: state.clone(),
        });
    }
    Report {
        violations,
        intervals: history.intervals.len(),
        writes: history.writes.len(),
    }
}

/// The deadlines an actor's lease had at `t`: the acquired lease's, then each renewal's from
/// the instant it was handed over, if the lease it replaced was still valid then (the keeper
/// checks its deadline before it takes an answer).
fn deadlines_at(interval: &Interval, clock: &ActorClock, t: Duration) -> Deadlines {
    let mut current = interval.deadlines;
    for (at, renewed) in &interval.renewals {
        if *at > t {
            break;
        }
        if clock.is_valid_at(*at, current.monotonic, current.wall_nanos) {
            current = *renewed;
        }
    }
    current
}

/// An interval's true span: `[start, end)`. For an actor, the end is the last instant its
/// lease could be valid by its own clocks (see [`ActorClock::last_valid`]: a wall clock
/// stepped back can make it valid again), or the end it reported, whichever comes first.
fn span(interval: &Interval, clocks: &[ActorClock]) -> (Duration, Duration) {
    let reported = interval.ended.as_ref().map(|(at, _)| *at);
    let end = match interval.who {
        Who::Actor(i) => {
            let clock = &clocks[i];
            let mut current = interval.deadlines;
            let mut end = clock.last_valid(interval.start, current.monotonic, current.wall_nanos);
            for (at, renewed) in &interval.renewals {
                if clock.is_valid_at(*at, current.monotonic, current.wall_nanos) {
                    current = *renewed;
                    end = end.max(clock.last_valid(*at, current.monotonic, current.wall_nanos));
                }
            }
            reported.map_or(end, |reported| reported.min(end))
        }
        Who::Foreign => {
            let own = interval.foreign_end.unwrap_or(interval.start);
            reported.map_or(own, |reported| reported.min(own))
        }
        Who::Probe(_) | Who::Observer(_) => interval.start,
    };
    (interval.start, end.max(interval.start))
}

/// How many keys the intervals name (keys are numbered from 0).
fn key_count(history: &History) -> usize {
    history
        .intervals
        .iter()
        .map(|i| i.key)
        .max()
        .map_or(0, |k| k + 1)
}

fn overlaps(history: &History, spans: &[(Duration, Duration)], out: &mut Vec<Violation>) {
    for key in 0..key_count(history) {
        let mut on_key: Vec<usize> = (0..history.intervals.len())
            .filter(|i| history.intervals[*i].key == key)
            .collect();
        on_key.sort_by_key(|i| (spans[*i].0, spans[*i].1));
        let mut latest: Option<usize> = None;
        for i in on_key {
            if let Some(previous) = latest
                && spans[i].0 < spans[previous].1
            {
                let describe = |j: usize| (j, history.intervals[j].who, spans[j].0, spans[j].1);
                out.push(Violation::Overlap {
                    key,
                    first: describe(previous),
                    second: describe(i),
                });
            }
            if latest.is_none_or(|previous| spans[i].1 > spans[previous].1) {
                latest = Some(i);
            }
        }
    }
}

fn fences(history: &History, out: &mut Vec<Violation>) {
    for key in 0..key_count(history) {
        let mut fenced: Vec<(Duration, usize, u64)> = history
            .intervals
            .iter()
            .enumerate()
            .filter(|(_, interval)| interval.key == key)
            .filter_map(|(i, interval)| interval.fence.map(|fence| (interval.start, i, fence)))
            .collect();
        fenced.sort_by_key(|(start, i, _)| (*start, *i));
        for pair in fenced.windows(2) {
            let [(_, a, fa), (_, b, fb)] = pair else {
                continue;
            };
            if fb <= fa {
                out.push(Violation::FenceOrder {
                    key,
                    earlier: (*a, *fa),
                    later: (*b, *fb),
                });
            }
        }
    }
}

/// S2's writes: each inside its interval's span, valid at its instant by the holder's clocks
/// and the deadlines it had then, and accepted by the fenced register.
fn writes(
    history: &History,
    spans: &[(Duration, Duration)],
    clocks: &[ActorClock],
    out: &mut Vec<Violation>,
) {
    for write in &history.writes {
        let (start, end) = spans[write.interval];
        let interval = &history.intervals[write.interval];
        let valid = match interval.who {
            Who::Actor(i) => {
                let d = deadlines_at(interval, &clocks[i], write.at);
                clocks[i].is_valid_at(write.at, d.monotonic, d.wall_nanos)
            }
            Who::Foreign | Who::Probe(_) | Who::Observer(_) => true,
        };
        let inside = start <= write.at && write.at < end && valid;
        if !inside || !write.accepted {
            let who = history.intervals[write.interval].who;
            out.push(Violation::Write {
                interval: (write.interval, who, start, end),
                at: write.at,
                accepted: write.accepted,
            });
        }
    }
}

fn after_release(history: &History, out: &mut Vec<Violation>) {
    for applied in &history.applied {
        if !matches!(applied.kind, "refresh" | "acquire") {
            continue;
        }
        if let Some(released) = history.released.get(&applied.token)
            && applied.at > *released
        {
            out.push(Violation::AfterRelease {
                token: applied.token.clone(),
                kind: applied.kind,
                at: applied.at,
                released: *released,
            });
        }
    }
}

/// S5: every step of the store that gives a key a lease set's token (the key held another
/// token, or none, before the step) leaves every key of that set with the token. A set's
/// keys may lose its token one by one afterwards (expiry and takeover, TTL deletion, release
/// of the keys still held), but are never *given* it apart.
fn sets_whole(history: &History, out: &mut Vec<Violation>) {
    let mut before: Vec<Option<String>> = Vec::new();
    for step in &history.store_steps {
        let mut judged: Vec<&str> = Vec::new();
        for (key, token) in step.tokens.iter().enumerate() {
            let Some(token) = token else {
                continue;
            };
            let gained = before
                .get(key)
                .is_none_or(|was| was.as_ref() != Some(token));
            if !gained || judged.contains(&token.as_str()) {
                continue;
            }
            let Some(keys) = history.set_keys.get(token) else {
                continue;
            };
            judged.push(token);
            let holding: Vec<usize> = (0..step.tokens.len())
                .filter(|k| step.tokens[*k].as_ref() == Some(token))
                .collect();
            if keys.iter().any(|k| !holding.contains(k)) {
                out.push(Violation::PartialSet {
                    token: token.clone(),
                    keys: keys.clone(),
                    holding,
                    at: step.at,
                    by: step.by,
                });
            }
        }
        before.clone_from(&step.tokens);
    }
}

/// S6: each permit's slot is below its `N`, and the permits held at each instant are at most
/// the largest `N` of their holders (judged at every permit's start, where the count grows).
fn at_most_n(history: &History, spans: &[(Duration, Duration)], out: &mut Vec<Violation>) {
    for (at, slot, permits) in &history.stray_permits {
        out.push(Violation::PermitBeyond {
            interval: None,
            slot: u64::from(*slot),
            permits: *permits,
            at: *at,
        });
    }
    let mut permits: Vec<(usize, u32)> = history.permits.iter().map(|(i, n)| (*i, *n)).collect();
    for (i, n) in &permits {
        let interval = &history.intervals[*i];
        if u64::try_from(interval.key).unwrap_or(u64::MAX) >= u64::from(*n) {
            out.push(Violation::PermitBeyond {
                interval: Some((*i, interval.who)),
                slot: u64::try_from(interval.key).unwrap_or(u64::MAX),
                permits: *n,
                at: interval.start,
            });
        }
    }
    permits.sort_by_key(|(i, _)| spans[*i]);
    let mut active: Vec<(usize, u32)> = Vec::new();
    for (i, n) in permits {
        let start = spans[i].0;
        active.retain(|(j, _)| spans[*j].1 > start);
        if spans[i].1 <= start {
            continue;
        }
        active.push((i, n));
        let most = active.iter().map(|(_, n)| *n).max().unwrap_or(0);
        if active.len() > usize::try_from(most).unwrap_or(usize::MAX) {
            out.push(Violation::TooManyPermits {
                at: start,
                holders: active
                    .iter()
                    .map(|(j, n)| {
                        let interval = &history.intervals[*j];
                        (*j, interval.who, interval.key, *n)
                    })
                    .collect(),
            });
        }
    }
}

fn late_losses(history: &History, clocks: &[ActorClock], out: &mut Vec<Violation>) {
    for (index, interval) in history.intervals.iter().enumerate() {
        let Who::Actor(actor) = interval.who else {
            continue;
        };
        if !interval.guarded {
            continue;
        }
        let Some((reported, _)) = &interval.ended else {
            continue;
        };
        let clock = &clocks[actor];
        let mut deadline = clock.when_monotonic(interval.deadlines.monotonic);
        for (at, renewed) in &interval.renewals {
            if *at < deadline {
                deadline = deadline.max(clock.when_monotonic(renewed.monotonic));
            }
        }
        // A process that was not running at the deadline learns of it when it resumes (after
        // every pause that overlaps the one it was in).
        let resumed = merged(history.pauses.get(&interval.who))
            .into_iter()
            .find(|(start, end)| *start <= deadline && deadline < *end)
            .map_or(deadline, |(_, end)| end);
        if *reported > resumed {
            out.push(Violation::LateLoss {
                interval: (index, interval.who),
                deadline: resumed,
                reported: *reported,
            });
        }
    }
}

/// Pause spans merged where they overlap.
fn merged(pauses: Option<&Vec<(Duration, Duration)>>) -> Vec<(Duration, Duration)> {
    let mut spans: Vec<(Duration, Duration)> = pauses.cloned().unwrap_or_default();
    spans.sort_unstable();
    let mut out: Vec<(Duration, Duration)> = Vec::with_capacity(spans.len());
    for (start, end) in spans {
        match out.last_mut() {
            Some((_, last)) if start <= *last => *last = (*last).max(end),
            _ => out.push((start, end)),
        }
    }
    out
}

fn liveness(history: &History, out: &mut Vec<Violation>) {
    for probe in &history.probes {
        let on_time = probe
            .acquired
            .is_some_and(|at| at.saturating_sub(probe.start) <= probe.bound);
        if !on_time {
            out.push(Violation::Liveness {
                key: probe.key,
                start: probe.start,
                acquired: probe.acquired,
                bound: probe.bound,
            });
        }
    }
}

/// E1 and E2: what the observers of elections showed. E1: each leader shown is hidden again no
/// later than the clock skew bound after its stored expiry passed in true time (the observer
/// judges it by its own clock, within half the bound of true time). E2: a leader shown with a
/// value and a fencing token that an actor's interval holds was proclaimed by that actor (an
/// acquire's value travels with its fence).
fn observers(history: &History, plan: &Plan, out: &mut Vec<Violation>) {
    let bound = plan.options.skew_bound;
    let origin = i128::from(crate::clock::T0) * 1_000_000_000;
    for (index, observed) in history.observed.iter().enumerate() {
        let Some(shown) = &observed.shown else {
            continue;
        };
        let hidden = history.observed[index + 1..]
            .iter()
            .find(|later| later.observer == observed.observer)
            .map(|later| later.at)
            .or(history.observers_stopped)
            .unwrap_or(observed.at);
        let expired = Duration::from_nanos(
            u64::try_from((shown.expires_nanos - origin).max(0)).unwrap_or(u64::MAX),
        );
        if hidden > expired + bound {
            out.push(Violation::LateLeader {
                observer: observed.observer,
                key: observed.key,
                fence: shown.fence,
                expired,
                hidden,
            });
        }
        if let (Some(fence), Some(value)) = (shown.fence, &shown.value) {
            let holder = history
                .intervals
                .iter()
                .find(|i| i.key == observed.key && i.fence == Some(fence))
                .map(|i| i.who);
            if let Some(holder @ Who::Actor(actor)) = holder
                && *value != format!("a{actor}")
            {
                out.push(Violation::WrongLeaderValue {
                    observer: observed.observer,
                    key: observed.key,
                    fence,
                    value: value.clone(),
                    holder,
                });
            }
        }
    }
}

/// L3: in a run without faults (no store, clock or process faults, no throttling), each lease
/// released in a process while a waiter of that process was in line for its key is acquired
/// again (by anyone) within a bound of a few round trips: the release's answer, the first
/// waiter's attempt (and the holder read, when the store returns no old item), once more if
/// that attempt was already out when the release landed. A waiter that kept to its polls
/// instead would take up to its `max_delay` (50 ms to 2 s here).
fn handovers(history: &History, plan: &Plan, out: &mut Vec<Violation>) {
    let options = &plan.options;
    let rates = &options.faults;
    let clean = rates.drop == 0.0
        && rates.apply_then_error == 0.0
        && rates.answer_lost == 0.0
        && rates.slow == 0.0
        && rates.duplicate == 0.0
        && rates.throttle_per_key.is_none()
        && plan.clock_faults.is_empty()
        && plan.aimed.is_empty();
    if !clean {
        return;
    }
    let bound = options.latency.1 * 10 + Duration::from_millis(20);
    for release in &history.local_releases {
        let until = release.at + bound;
        let waiter = history.waits.iter().find(|wait| {
            wait.process == release.process
                && wait.key == release.key
                && wait.start <= release.at
                && wait.end.is_none_or(|end| end > until)
        });
        let Some(waiter) = waiter else {
            continue;
        };
        let handed_on = history
            .intervals
            .iter()
            // From when the release may have landed (its answer takes up to one latency to
            // come back: an acquire that landed right after it may return first).
            .any(|i| {
                i.key == release.key
                    && i.start + options.latency.1 >= release.at
                    && i.start <= until
            });
        if !handed_on {
            out.push(Violation::SlowHandover {
                process: release.process,
                key: release.key,
                released: release.at,
                waiter: waiter.who,
                bound,
            });
        }
    }
}

fn spurious_losses(
    history: &History,
    spans: &[(Duration, Duration)],
    plan: &Plan,
    config: &LeaseConfig,
    out: &mut Vec<Violation>,
) {
    let round_trip = plan.options.latency.1 * 2;
    for (index, interval) in history.intervals.iter().enumerate() {
        let Who::Actor(actor) = interval.who else {
            continue;
        };
        let reason = match &interval.ended {
            Some((_, EndReason::Lost(reason))) => reason.clone(),
            Some((_, EndReason::SawInvalid)) => "saw its lease invalid".to_owned(),
            _ => continue,
        };
        let options = &plan.options.actors[actor];
        let window = options.duration.saturating_sub(config.max_clock_skew());
        let every = options
            .renew
            .renew_period(options.duration, config.max_clock_skew())
            .unwrap_or(window);
        // A renew period that leaves no room for a round trip (and a retry) cannot keep a
        // lease even on a perfect network: not this property's concern.
        if every + round_trip * 4 + Duration::from_millis(50) >= window {
            continue;
        }
        let (start, end) = spans[index];
        let from = start.saturating_sub(options.duration);
        let touched = |times: Option<&Vec<Duration>>| {
            times
                .into_iter()
                .flatten()
                .any(|at| *at >= from && *at <= end)
        };
        let disturbed = touched(history.disturbed.get(&interval.who))
            || touched(history.key_disturbed.get(&interval.key))
            || history
                .pauses
                .get(&interval.who)
                .into_iter()
                .flatten()
                .any(|(s, e)| *s <= end && *e >= from);
        if !disturbed {
            out.push(Violation::SpuriousLoss {
                interval: (index, interval.who),
                reason,
            });
        }
    }
}
