//! [`Plan`]: the faults of a run. Clock and process faults are listed up front; store faults
//! are decided per request ordinal from the seed, statelessly, so that switching one off (to
//! shrink a failing schedule) leaves every other fault where it was.

use std::collections::BTreeSet;
use std::time::Duration;

use lease_core::StoreErrorKind;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use crate::options::Options;
use crate::{mix, stream};

/// A fault of an actor's clock or process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockFaultKind {
    /// The process runs nothing for this long; its clocks run on.
    Pause(Duration),
    /// The machine is suspended this long: the process runs nothing, its monotonic clock stops,
    /// its wall clock runs on.
    Suspend(Duration),
    /// The wall clock steps to this offset from true time (nanoseconds, within half the skew
    /// bound).
    Step(i64),
    /// The process stops for good, without releasing anything.
    Crash,
}

/// A clock or process fault, at a true time, of one actor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockFault {
    /// When.
    pub at: Duration,
    /// Whose.
    pub actor: usize,
    /// What.
    pub kind: ClockFaultKind,
}

/// What happens to one request on its way to the store and back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreFault {
    /// Nothing.
    None,
    /// Never reaches the table; the client times out.
    Drop,
    /// Applied; the client gets this error instead of the answer.
    ApplyThenError(StoreErrorKind),
    /// Applied; the answer is lost, the client times out.
    AnswerLost,
    /// Applied; the answer takes this long to come back.
    SlowAnswer(Duration),
    /// Applied and answered; the same answer comes again this much later (a driver that hands
    /// every answer to its machine must see it ignored).
    Duplicated(Duration),
}

/// A store fault aimed at one request of a scripted schedule: actor `actor`'s `nth` request
/// (from 0) of kind `kind` (`acquire`, `refresh`, `release`, `read`).
#[derive(Clone, Copy, Debug)]
pub struct AimedFault {
    /// The actor.
    pub actor: usize,
    /// The request's kind.
    pub kind: &'static str,
    /// Which one of that actor's requests of that kind.
    pub nth: usize,
    /// The fault.
    pub fault: StoreFault,
}

/// The faults of a run.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The options.
    pub options: Options,
    /// Clock and process faults, in time order.
    pub clock_faults: Vec<ClockFault>,
    /// Store faults switched off (by request ordinal), by the shrinker.
    pub disabled_requests: BTreeSet<u64>,
    /// Store faults aimed at given requests (scripted schedules).
    pub aimed: Vec<AimedFault>,
}

impl Plan {
    /// The plan of `seed`.
    #[must_use]
    pub fn of_seed(seed: u64) -> Self {
        let options = Options::of_seed(seed);
        let clock_faults = clock_faults(&options);
        Self {
            options,
            clock_faults,
            disabled_requests: BTreeSet::new(),
            aimed: Vec::new(),
        }
    }

    /// A scripted plan: these options and clock faults, no random store faults, these aimed
    /// ones.
    #[must_use]
    pub fn scripted(
        options: Options,
        mut clock_faults: Vec<ClockFault>,
        aimed: Vec<AimedFault>,
    ) -> Self {
        clock_faults.sort_by_key(|f| (f.at, f.actor));
        Self {
            options,
            clock_faults,
            disabled_requests: BTreeSet::new(),
            aimed,
        }
    }

    /// The fault of request `ordinal` (counted over the whole run, in the order requests reach
    /// the network).
    #[must_use]
    pub fn store_fault(&self, ordinal: u64) -> StoreFault {
        if self.disabled_requests.contains(&ordinal) {
            return StoreFault::None;
        }
        let rates = &self.options.faults;
        let mut rng =
            Xoshiro256PlusPlus::seed_from_u64(mix(stream(self.options.seed, "store"), ordinal));
        let draw: f64 = rng.random();
        let mut bound = rates.drop;
        if draw < bound {
            return StoreFault::Drop;
        }
        bound += rates.apply_then_error;
        if draw < bound {
            let kind = if rng.random_bool(0.5) {
                StoreErrorKind::Timeout
            } else {
                StoreErrorKind::Unavailable
            };
            return StoreFault::ApplyThenError(kind);
        }
        bound += rates.answer_lost;
        if draw < bound {
            return StoreFault::AnswerLost;
        }
        bound += rates.slow;
        if draw < bound {
            return StoreFault::SlowAnswer(Duration::from_millis(rng.random_range(500..=15_000)));
        }
        bound += rates.duplicate;
        if draw < bound {
            return StoreFault::Duplicated(Duration::from_millis(rng.random_range(1..=10_000)));
        }
        StoreFault::None
    }

    /// The network latency of request `ordinal`, one way.
    #[must_use]
    pub fn latency(&self, ordinal: u64, back: bool) -> Duration {
        let (low, high) = self.options.latency;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(mix(
            stream(self.options.seed, if back { "back" } else { "there" }),
            ordinal,
        ));
        let span = u64::try_from((high - low).as_micros()).unwrap_or(0);
        low + Duration::from_micros(rng.random_range(0..=span))
    }

    /// The faults that can be switched off, for the shrinker: every clock fault, and every
    /// store fault among the first `requests` ordinals.
    #[must_use]
    pub fn active_store_faults(&self, requests: u64) -> Vec<u64> {
        (0..requests)
            .filter(|n| self.store_fault(*n) != StoreFault::None)
            .collect()
    }
}

/// A fault that stops a process for a while, by its length.
type StopKind = fn(Duration) -> ClockFaultKind;

/// The clock and process faults of a run, in time order.
fn clock_faults(options: &Options) -> Vec<ClockFault> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(stream(options.seed, "clock"));
    let counts = &options.clock_faults;
    let actors = options.actors.len();
    let horizon = u64::try_from(options.horizon.as_millis())
        .unwrap_or(1)
        .max(1);
    let longest = u64::try_from(options.longest_duration().as_millis())
        .unwrap_or(1)
        .max(2);
    let half_bound = i64::try_from(options.skew_bound.as_nanos() / 2).unwrap_or(0);
    let mut faults = Vec::new();
    let at = |rng: &mut Xoshiro256PlusPlus| Duration::from_millis(rng.random_range(0..horizon));
    let stops: [(usize, StopKind); 2] = [
        (counts.pauses, ClockFaultKind::Pause),
        (counts.suspends, ClockFaultKind::Suspend),
    ];
    for (count, kind) in stops {
        for _ in 0..count {
            let (when, actor) = (at(&mut rng), rng.random_range(0..actors));
            let length = Duration::from_millis(rng.random_range(100..=2 * longest));
            faults.push(ClockFault {
                at: when,
                actor,
                kind: kind(length),
            });
        }
    }
    for _ in 0..counts.steps {
        let (when, actor) = (at(&mut rng), rng.random_range(0..actors));
        let to = rng.random_range(-half_bound..=half_bound);
        faults.push(ClockFault {
            at: when,
            actor,
            kind: ClockFaultKind::Step(to),
        });
    }
    for _ in 0..counts.crashes {
        let (when, actor) = (at(&mut rng), rng.random_range(0..actors));
        faults.push(ClockFault {
            at: when,
            actor,
            kind: ClockFaultKind::Crash,
        });
    }
    faults.sort_by_key(|f| (f.at, f.actor));
    faults
}
