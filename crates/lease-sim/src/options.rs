//! [`Options`]: everything a seed decides about a run, drawn before it starts and printed with
//! every failure.

use std::time::Duration;

use lease_core::lifecycle::MAX_RENEW_JITTER;
use lease_core::{ExpiryUnit, RenewPolicy, RetryPolicy, WaitPolicy};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use crate::stream;

/// How an actor takes and keeps its lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A waiting acquire, then a keeper that renews (the `lease` crate's `acquire_guard` with a
    /// wait policy).
    GuardWaiting,
    /// One try, then a keeper (`acquire_guard` without a wait policy).
    GuardOnce,
    /// One try, then the lease by hand: refreshes every renew period, checks
    /// `Lease::is_valid_at` before each write, releases (the plain operations).
    Plain,
}

/// One lease of a scripted actor: when it starts acquiring, which key, how long it works once
/// it holds the lease, and whether it drops its guard instead of releasing.
#[derive(Clone, Copy, Debug)]
pub struct Turn {
    /// When it starts acquiring (true time).
    pub at: Duration,
    /// The key.
    pub key: usize,
    /// How long it works under the lease.
    pub work: Duration,
    /// Whether it drops its guard instead of releasing.
    pub drop: bool,
}

/// One actor's settings.
#[derive(Clone, Debug)]
pub struct ActorOptions {
    /// How it holds leases.
    pub mode: Mode,
    /// The lease duration it asks for.
    pub duration: Duration,
    /// Its keeper's (or its own, in plain mode) renew period and retry delays.
    pub renew: RenewPolicy,
    /// How it sends each request again.
    pub retry: RetryPolicy,
    /// How it waits (waiting mode).
    pub wait: WaitPolicy,
    /// The longest it works under one lease.
    pub max_work: Duration,
    /// The longest between two writes to the fenced resource.
    pub max_write_gap: Duration,
    /// The longest it rests between two leases.
    pub max_rest: Duration,
    /// The share of guarded leases it drops instead of releasing.
    pub drop_share: f64,
    /// Its wall clock's offset from true time, in nanoseconds (within half the skew bound).
    pub skew_nanos: i64,
    /// A fixed script (scripted schedules): these leases, in order, then nothing. `None`:
    /// random rests, keys and work.
    pub turns: Option<Vec<Turn>>,
    /// The process (one `LeaseManager` and its clones) it runs in: actors of one process share
    /// its line of waiters (lease-core's `WaitQueue`, the `lease` crate's in-process handover)
    /// and crash together. `None`: a process of its own, without a line.
    pub process: Option<usize>,
    /// An election run ([`Options::elections`]): its leases are elections' (sort key
    /// `LEADER`), and every acquire proclaims the actor's name (`a{index}`).
    pub campaigns: bool,
    /// A set actor ([`Options::sets`]): it acquires lease sets of 2 or 3 keys (drawn at random,
    /// named in a random order) with lease-core's `AcquireSetOp` (waiting in waiting mode, one
    /// try otherwise), holds them by hand (`RefreshSetOp` every renew period,
    /// `LeaseSet::is_valid_at` checked before each write to each key's fenced resource) and
    /// releases them with `ReleaseSetOp`.
    pub sets: bool,
    /// A semaphore actor ([`Options::semaphore`]): the number of permits it asks for. It
    /// acquires a permit of the semaphore [`SEMAPHORE`] with lease-core's `PermitOp` (waiting in
    /// waiting mode, one try otherwise) and holds the permit (a lease on a slot) as its mode
    /// says, like a single lease.
    pub permits: Option<u32>,
}

/// The semaphore's name in semaphore runs (its slots are the run's keys: key `k` is the slot
/// item `{pk: S, sk: PERMIT#000k}`).
pub const SEMAPHORE: &str = "S";

/// The most permits an actor of a semaphore run asks for; the run has one more slot key, so
/// that a permit taken beyond `N` (a bug) is still a key the checker judges.
pub const MAX_SIM_PERMITS: u32 = 3;

/// An observer of an election (leader election runs): lease-core's `Observer`, on a clock of
/// its own.
#[derive(Clone, Copy, Debug)]
pub struct ObserverOptions {
    /// The key (election `K{key}`) it follows.
    pub key: usize,
    /// How often it reads.
    pub every: Duration,
    /// Its wall clock's offset from true time, in nanoseconds (within half the skew bound).
    pub skew_nanos: i64,
}

impl ActorOptions {
    /// An actor in `mode` with lease `duration`, renewing every `renew_every`, writing every
    /// 100 ms, on a script; defaults otherwise.
    #[must_use]
    pub fn scripted(
        mode: Mode,
        duration: Duration,
        renew_every: Duration,
        turns: Vec<Turn>,
    ) -> Self {
        let mut renew = RenewPolicy::default();
        renew = renew.renew_every(renew_every);
        Self {
            mode,
            duration,
            renew,
            retry: RetryPolicy::default(),
            wait: WaitPolicy::with_timeout(Duration::from_secs(60)),
            max_work: duration,
            max_write_gap: Duration::from_millis(100),
            max_rest: Duration::ZERO,
            drop_share: 0.0,
            skew_nanos: 0,
            turns: Some(turns),
            process: None,
            campaigns: false,
            sets: false,
            permits: None,
        }
    }
}

/// The store's faults: the chance that one request meets each, drawn per request ordinal.
#[derive(Clone, Debug)]
pub struct FaultRates {
    /// The request never reaches the table; the client times out.
    pub drop: f64,
    /// The request is applied, and the client gets a 5xx or a timeout instead of the answer.
    pub apply_then_error: f64,
    /// The request is applied; its answer is lost (the client times out).
    pub answer_lost: f64,
    /// The request is applied; its answer is slow: 0.5 s to 15 s, possibly past the client's
    /// timeout (the client then has a timeout; the late answer is stale).
    pub slow: f64,
    /// The request is applied and answered; the same answer comes again 1 ms to 10 s later.
    pub duplicate: f64,
    /// Requests per second one key accepts; the rest are throttled. `None`: no limit.
    pub throttle_per_key: Option<u32>,
}

/// Faults of the actors' own clocks and processes, per run.
#[derive(Clone, Debug)]
pub struct ClockFaultCounts {
    /// Pauses (the process runs nothing, its clocks run on).
    pub pauses: usize,
    /// Suspends (the process runs nothing, its monotonic clock stops, its wall clock runs on).
    pub suspends: usize,
    /// Wall-clock steps (within the skew bound).
    pub steps: usize,
    /// Crashes (an actor stops for good, without releasing).
    pub crashes: usize,
}

/// Everything a seed decides.
#[derive(Clone, Debug)]
pub struct Options {
    /// The seed.
    pub seed: u64,
    /// The configured clock skew bound (the fleet's).
    pub skew_bound: Duration,
    /// The stored expiry's unit.
    pub expiry_unit: ExpiryUnit,
    /// The TTL buffer, when TTL is written (and swept).
    pub ttl_buffer: Option<Duration>,
    /// How many keys the actors share.
    pub keys: usize,
    /// The actors.
    pub actors: Vec<ActorOptions>,
    /// Whether a TableTheory writer (PutItem acquire, DeleteItem release, no fencing token)
    /// shares the keys.
    pub foreign_writer: bool,
    /// Whether a failed condition's answer carries no old item (dynalite's shape).
    pub no_old_item: bool,
    /// Whether the actors' driver hands stale answers (after the client's timeout, or a second
    /// copy) to the machine that sent the request, which must ignore them
    /// ([`Machine::handle_response`](lease_core::lifecycle::Machine::handle_response)). The
    /// `lease` crate's driver drops them (the request's future is gone); a driver of users' own
    /// may not.
    pub stale_answers: bool,
    /// How long the faulty phase lasts; the liveness phase follows.
    pub horizon: Duration,
    /// One-way network latency, lowest and highest.
    pub latency: (Duration, Duration),
    /// The client's request timeout.
    pub request_timeout: Duration,
    /// Store faults.
    pub faults: FaultRates,
    /// Clock and process faults.
    pub clock_faults: ClockFaultCounts,
    /// Leader election runs (30 %): every lease is an election's (`K{n}`/`LEADER`) and every
    /// acquire proclaims its actor's name; no TableTheory writer (it writes lock items).
    pub elections: bool,
    /// The observers of an election run (1 or 2).
    pub observers: Vec<ObserverOptions>,
    /// Lease set runs (25 %): 2 to 4 keys, the first two actors and about half the others are
    /// set actors ([`ActorOptions::sets`]), the rest take single leases on the same keys; never
    /// an election run.
    pub sets: bool,
    /// Semaphore runs (15 %, never election or set runs): every actor acquires permits of the
    /// semaphore [`SEMAPHORE`] ([`ActorOptions::permits`]: the run's `N`, 1 to 3, or now and
    /// then another), and the keys are its slots (`N`'s largest + 1 of them).
    pub semaphore: bool,
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

impl Options {
    /// The options of `seed`.
    #[must_use]
    pub fn of_seed(seed: u64) -> Self {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(stream(seed, "options"));
        let skew_bound = ms([200, 500, 1_000, 2_000][rng.random_range(0..4)]);
        let expiry_unit = if rng.random_bool(0.2) {
            ExpiryUnit::Milliseconds
        } else {
            ExpiryUnit::Seconds
        };
        let with_ttl = rng.random_bool(0.7);
        let keys = [1, 1, 2, 3, 4][rng.random_range(0..5)];
        let actor_count = if rng.random_bool(0.1) {
            rng.random_range(9..=16)
        } else {
            rng.random_range(2..=8)
        };
        let actors = (0..actor_count)
            .map(|_| actor_options(&mut rng, skew_bound))
            .collect();
        // A fault-free run now and then: liveness and the no-spurious-loss property get
        // clean runs to judge.
        let intensity: f64 = [0.0, 0.3, 1.0, 2.0][rng.random_range(0..4)];
        let mut rate = |max: f64| rng.random_range(0.0..=max) * intensity;
        let faults = FaultRates {
            drop: rate(0.03),
            apply_then_error: rate(0.03),
            answer_lost: rate(0.02),
            slow: rate(0.02),
            duplicate: 0.0,
            throttle_per_key: None,
        };
        let faults = FaultRates {
            throttle_per_key: (intensity > 0.0 && rng.random_bool(0.3))
                .then(|| rng.random_range(5..=40)),
            ..faults
        };
        let faulty = intensity > 0.0;
        let mut count = |max: usize| {
            if faulty { rng.random_range(0..=max) } else { 0 }
        };
        let clock_faults = ClockFaultCounts {
            pauses: count(4),
            suspends: count(2),
            steps: count(3),
            crashes: count(1),
        };
        let request_timeout = ms(rng.random_range(1_000..=5_000));
        // From the shortest buffer the configuration accepts (three skew bounds, see
        // `lease_core::TTL_BUFFER_SKEW_FACTOR`) to four seconds more.
        let ttl_buffer = with_ttl.then(|| {
            skew_bound * lease_core::TTL_BUFFER_SKEW_FACTOR + ms(rng.random_range(0..=4_000))
        });
        let mut options = Self {
            seed,
            skew_bound,
            expiry_unit,
            ttl_buffer,
            keys,
            actors,
            foreign_writer: rng.random_bool(0.15),
            no_old_item: rng.random_bool(0.3),
            horizon: ms(rng.random_range(20_000..=90_000)),
            latency: (ms(1), ms(rng.random_range(2..=30))),
            request_timeout,
            faults,
            clock_faults,
            stale_answers: false,
            elections: false,
            observers: Vec::new(),
            sets: false,
            semaphore: false,
        };
        // Drawn last, so that the draws above keep their values.
        options.stale_answers = rng.random_bool(0.5);
        options.faults.duplicate = rng.random_range(0.0..=0.03) * intensity;
        // Half the runs put actors in shared processes (in-process handover): 1 to half as
        // many processes as actors, each actor in one of them.
        if rng.random_bool(0.5) {
            let processes = rng.random_range(1..=options.actors.len().div_ceil(2));
            for actor in &mut options.actors {
                actor.process = Some(rng.random_range(0..processes));
            }
        }
        if rng.random_bool(0.3) {
            options.elections = true;
            options.foreign_writer = false;
            for actor in &mut options.actors {
                actor.campaigns = true;
            }
            let half_bound = i64::try_from(skew_bound.as_nanos() / 2).unwrap_or(0);
            options.observers = (0..rng.random_range(1..=2))
                .map(|_| ObserverOptions {
                    key: rng.random_range(0..keys),
                    every: ms(rng.random_range(50..=2_000)),
                    skew_nanos: rng.random_range(-half_bound..=half_bound),
                })
                .collect();
        }
        // Drawn after everything above, so that the other runs keep their draws.
        if rng.random_bool(0.25) {
            options.sets = true;
            options.keys = rng.random_range(2..=4);
            if options.elections {
                options.elections = false;
                options.observers.clear();
                options.foreign_writer = rng.random_bool(0.15);
            }
            for (index, actor) in options.actors.iter_mut().enumerate() {
                actor.campaigns = false;
                actor.sets = index < 2 || rng.random_bool(0.5);
            }
        }
        // Drawn after everything above (and only in runs that are not set runs), so that the
        // other runs keep their draws: a fifth of the others, 15 % of all.
        if !options.sets && rng.random_bool(0.2) {
            options.semaphore = true;
            options.keys = MAX_SIM_PERMITS as usize + 1;
            options.elections = false;
            options.observers.clear();
            // The TableTheory writer writes lock items, not slots.
            options.foreign_writer = false;
            let permits = rng.random_range(1..=MAX_SIM_PERMITS);
            for actor in &mut options.actors {
                actor.campaigns = false;
                // Now and then an actor with another N: the semaphore grows or shrinks
                // under the others.
                actor.permits = Some(if rng.random_bool(0.2) {
                    rng.random_range(1..=MAX_SIM_PERMITS)
                } else {
                    permits
                });
            }
        }
        options
    }

    /// The longest lease any actor asks for.
    #[must_use]
    pub fn longest_duration(&self) -> Duration {
        self.actors
            .iter()
            .map(|a| a.duration)
            .max()
            .unwrap_or_default()
    }
}

/// One actor's options, within what the configuration accepts.
fn actor_options(rng: &mut Xoshiro256PlusPlus, skew: Duration) -> ActorOptions {
    let mode = match rng.random_range(0..10) {
        0..=4 => Mode::GuardWaiting,
        5..=6 => Mode::GuardOnce,
        _ => Mode::Plain,
    };
    let duration = skew + ms(rng.random_range(1_000..=12_000));
    let mut renew = RenewPolicy::default();
    if rng.random_bool(0.5) {
        // A valid period: above zero, below half the duration and below duration − skew.
        let ceiling = (duration / 2).min(duration - skew);
        let top = u64::try_from(ceiling.as_millis()).unwrap_or(1).max(2);
        renew = renew.renew_every(ms(rng.random_range(1..top)));
    }
    let retry_initial = ms(rng.random_range(0..=200));
    let retry_max = ms(rng.random_range(0..=1_500));
    renew = renew.retry_delays(retry_initial, retry_max);
    // The renewal jitter: off, the default, or anything up to the largest accepted.
    renew = match rng.random_range(0..3) {
        0 => renew.jitter(0.0),
        1 => renew,
        _ => renew.jitter(rng.random_range(0.0..=MAX_RENEW_JITTER)),
    };
    let retry = match rng.random_range(0..3) {
        0 => RetryPolicy::never(),
        1 => RetryPolicy::default(),
        _ => RetryPolicy::default()
            .max_attempts(5)
            .backoff(ms(10), ms(200)),
    };
    let wait = WaitPolicy::with_timeout(ms(rng.random_range(500..=30_000)))
        .initial_delay(ms(rng.random_range(0..=100)))
        .max_delay(ms(rng.random_range(50..=2_000)))
        .jitter(rng.random_range(0.0..=0.5));
    let half_bound = i64::try_from(skew.as_nanos() / 2).unwrap_or(0);
    ActorOptions {
        mode,
        duration,
        renew,
        retry,
        wait,
        max_work: duration.mul_f64(rng.random_range(0.1..=3.0)),
        max_write_gap: ms(rng.random_range(20..=500)),
        max_rest: ms(rng.random_range(0..=2_000)),
        drop_share: rng.random_range(0.0..=0.2),
        skew_nanos: rng.random_range(-half_bound..=half_bound),
        turns: None,
        process: None,
        campaigns: false,
        sets: false,
        permits: None,
    }
}
