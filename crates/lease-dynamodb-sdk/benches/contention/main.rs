//! Handover under contention (issue 14), against a live dynalite: W tasks in one process
//! compete for one key with the waiting acquire, through the public API only.
//!
//! Each task loops: `manager.acquire(key, 10 s, &policy)` (the waiting acquire), hold the lease
//! 50 ms (a tokio sleep), `manager.release(&lease)`. A task that has released rejoins the
//! contention only once another task has acquired the lease, so that W − 1 tasks are waiting at
//! every release and each handover goes to a waiter, not back to the task that released (with
//! W = 1 the task acquires again at once: the uncontended baseline). Without that gate the
//! releasing task, whose first attempt is immediate, would win almost every time against
//! waiters that poll.
//!
//! Variants (each on its own key, in one table created for the run):
//! - **one shared manager**: all tasks use clones of one `LeaseManager<DynamoDbStore>` (one SDK
//!   client); W = 1, 4, 16;
//! - **one manager per task**: each task has its own client, store and manager: stands for W
//!   separate processes; W = 4, 16 (with W = 1 the two are the same, so it runs once);
//! - W = 16, both kinds, with `max_delay` 10 ms instead of the default 1 s.
//!
//! The policy is `WaitPolicy::with_timeout(60 s)`: the default delays (initial 50 ms, at most
//! `max_delay` = 1 s between polls, jitter 0.2); the timeout only keeps a broken run from
//! hanging. Each variant runs `LEASE_CONTENTION_WARMUP_SECS` (default 2) before its measuring
//! window of `LEASE_CONTENTION_SECS` (default 18), then stops: waiters are dropped (which
//! cancels their wait), holders release. It reports, over the window:
//! - **handovers/s**: acquisitions returned in the window, each one after the previous holder's
//!   release (the first acquisition of a variant is not a handover);
//! - **requests per handover**: every HTTP request the SDK clients transmitted during the
//!   window (an SDK interceptor, `read_before_transmit`, on every client of the variant: one
//!   count per attempt, SDK retries included), divided by the handovers, with the split by
//!   operation (on dynalite every failed acquire is an `UpdateItem` plus a `GetItem`, because
//!   dynalite returns no old item on a failed condition and the wait reads the holder; on
//!   DynamoDB it is the `UpdateItem` alone);
//! - **handover latency** p50, p99 and maximum: from the return of a release to the return of
//!   the next acquire (any task's), as seen by the tasks (`Instant` after each `.await`);
//! - acquisitions per task (min–max): fairness.
//!
//! It checks that fencing tokens grow with every acquisition (exclusivity), and prints the
//! issue's targets for one shared manager, W = 16, default policy (≥ 16 handovers/s, ≤ 2.2
//! requests per handover, p50 ≤ 10 ms, p99 ≤ 50 ms) as met or missed, never failing on them:
//! the exit status is non-zero only on errors.
//!
//! ```sh
//! eval "$(scripts/servers.sh start)"   # from the worktree; sets LEASE_DYNALITE_ENDPOINT
//! cargo bench -p lease-dynamodb-sdk --bench contention
//! scripts/servers.sh stop
//! ```
//! A full run (seven variants) takes about 2.5 minutes with the defaults.
//! `LEASE_CONTENTION_VARIANTS` (comma-separated names, as printed: `w1`, `shared-w4`,
//! `per-task-w4`, `shared-w16`, `per-task-w16`, `shared-w16-10ms`, `per-task-w16-10ms`) runs
//! only those. The runtime is tokio's multi-threaded one, one worker per core. See
//! docs/performance.md.

use std::error::Error;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use aws_sdk_dynamodb::error::{BoxError as SdkBoxError, DisplayErrorContext};
use lease_dynamodb_sdk::{
    DynamoDbStore, FencingToken, LeaseConfig, LeaseManager, ReleaseOutcome, WaitPolicy,
    create_lock_table,
};
use tokio::sync::watch;
use tokio::task::JoinSet;

type BoxError = Box<dyn Error + Send + Sync>;

const ENDPOINT_VARIABLE: &str = "LEASE_DYNALITE_ENDPOINT";
/// The lease duration of every acquire: far beyond `max_delay`, so that waiters poll for an
/// early release instead of waiting for the expiry.
const DURATION: Duration = Duration::from_secs(10);
/// How long each winner holds the lease before releasing it.
const HOLD: Duration = Duration::from_millis(50);
/// Bounds a wait, so that a broken run ends instead of hanging; never reached in a sound run.
const WAIT_TIMEOUT: Duration = Duration::from_secs(60);

/// Requests transmitted by the SDK clients of one variant, by operation.
#[derive(Debug, Default)]
struct Counts {
    update: AtomicU64,
    get: AtomicU64,
    other: AtomicU64,
}

/// A snapshot of [`Counts`].
#[derive(Clone, Copy, Debug, Default)]
struct Requests {
    update: u64,
    get: u64,
    other: u64,
}

impl Requests {
    fn total(self) -> u64 {
        self.update + self.get + self.other
    }

    fn since(self, earlier: Self) -> Self {
        Self {
            update: self.update - earlier.update,
            get: self.get - earlier.get,
            other: self.other - earlier.other,
        }
    }
}

/// An SDK interceptor that counts every HTTP request a client transmits (each attempt, so SDK
/// retries count), by the operation in its `X-Amz-Target` header.
#[derive(Clone, Debug, Default)]
struct RequestCounter(Arc<Counts>);

impl RequestCounter {
    fn snapshot(&self) -> Requests {
        Requests {
            update: self.0.update.load(Ordering::Relaxed),
            get: self.0.get.load(Ordering::Relaxed),
            other: self.0.other.load(Ordering::Relaxed),
        }
    }
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "contention::RequestCounter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), SdkBoxError> {
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or("");
        let counter = if target.ends_with(".UpdateItem") {
            &self.0.update
        } else if target.ends_with(".GetItem") {
            &self.0.get
        } else {
            &self.0.other
        };
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// A client for `endpoint` with test credentials, counting its requests with `counter`.
fn client(endpoint: &str, counter: &RequestCounter) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "bench"))
        .interceptor(counter.clone())
        .build();
    Client::from_conf(config)
}

/// How the tasks of a variant get their managers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Managers {
    /// Clones of one manager (one client).
    Shared,
    /// One client, store and manager per task (separate processes).
    PerTask,
}

#[derive(Clone, Debug)]
struct Variant {
    name: &'static str,
    tasks: usize,
    managers: Managers,
    /// `None`: the default policy.
    max_delay: Option<Duration>,
}

impl Variant {
    fn policy(&self) -> WaitPolicy {
        let policy = WaitPolicy::with_timeout(WAIT_TIMEOUT);
        match self.max_delay {
            Some(delay) => policy.max_delay(delay),
            None => policy,
        }
    }

    fn describe(&self) -> String {
        let managers = match (self.tasks, self.managers) {
            (1, _) => "one task",
            (_, Managers::Shared) => "one shared manager",
            (_, Managers::PerTask) => "one manager per task",
        };
        let policy = match self.max_delay {
            Some(d) => format!("max_delay {d:?}"),
            None => "default policy".to_owned(),
        };
        format!("{managers}, {policy}")
    }
}

fn variants() -> Vec<Variant> {
    let ms10 = Some(Duration::from_millis(10));
    let v = |name, tasks, managers, max_delay| Variant {
        name,
        tasks,
        managers,
        max_delay,
    };
    vec![
        v("w1", 1, Managers::Shared, None),
        v("shared-w4", 4, Managers::Shared, None),
        v("per-task-w4", 4, Managers::PerTask, None),
        v("shared-w16", 16, Managers::Shared, None),
        v("per-task-w16", 16, Managers::PerTask, None),
        v("shared-w16-10ms", 16, Managers::Shared, ms10),
        v("per-task-w16-10ms", 16, Managers::PerTask, ms10),
    ]
}

/// One acquisition, in the order the acquires returned.
#[derive(Clone, Copy, Debug)]
struct Acquisition {
    task: usize,
    fence: FencingToken,
    acquired: Instant,
    released: Option<Instant>,
}

/// What the tasks of a variant share: the acquisitions so far, and their number (to let a task
/// that released rejoin after the next acquisition).
#[derive(Debug)]
struct Log {
    acquisitions: Mutex<Vec<Acquisition>>,
    count: watch::Sender<usize>,
}

impl Log {
    /// Records an acquisition that returned at `at`; returns its index.
    fn acquired(&self, task: usize, fence: FencingToken, at: Instant) -> usize {
        let mut all = self
            .acquisitions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        all.push(Acquisition {
            task,
            fence,
            acquired: at,
            released: None,
        });
        let index = all.len() - 1;
        self.count.send_replace(all.len());
        index
    }

    fn released(&self, index: usize, at: Instant) {
        let mut all = self
            .acquisitions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        all[index].released = Some(at);
    }
}

/// Resolves once the run is told to stop (or the sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// One contender: acquire (waiting), hold, release, until told to stop.
async fn contender(
    task: usize,
    manager: LeaseManager<DynamoDbStore>,
    key: String,
    policy: WaitPolicy,
    log: Arc<Log>,
    gate: bool,
    mut stop: watch::Receiver<bool>,
) -> Result<(), String> {
    let mut count = log.count.subscribe();
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        let lease = tokio::select! {
            lease = manager.acquire(key.as_str(), DURATION, &policy) => {
                lease.map_err(|e| format!("task {task}: acquire: {}", e.report()))?
            }
            () = stopped(&mut stop) => return Ok(()),
        };
        let index = log.acquired(task, lease.fence(), Instant::now());
        tokio::time::sleep(HOLD).await;
        match manager.release(&lease).await {
            Ok(ReleaseOutcome::Released) => log.released(index, Instant::now()),
            Ok(other) => return Err(format!("task {task}: release did not release: {other:?}")),
            Err(e) => return Err(format!("task {task}: release: {}", e.report())),
        }
        if gate {
            tokio::select! {
                _ = count.wait_for(|n| *n > index + 1) => {}
                () = stopped(&mut stop) => return Ok(()),
            }
        }
    }
}

/// The figures of one variant, over its measuring window.
#[derive(Debug)]
struct Outcome {
    variant: Variant,
    window: Duration,
    handovers: usize,
    requests: Requests,
    /// Handover latencies, sorted.
    latencies: Vec<Duration>,
    /// Handovers whose acquire returned before the previous holder's release did (counted as 0).
    early: usize,
    /// Acquisitions per task in the window: least and most.
    per_task: (usize, usize),
}

impl Outcome {
    fn rate(&self) -> f64 {
        self.handovers as f64 / self.window.as_secs_f64()
    }

    fn per_handover(&self, n: u64) -> f64 {
        n as f64 / self.handovers.max(1) as f64
    }

    /// Nearest-rank percentile of the handover latencies, in ms.
    fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let rank = (p * self.latencies.len() as f64).ceil() as usize;
        let index = rank.clamp(1, self.latencies.len()) - 1;
        self.latencies[index].as_secs_f64() * 1e3
    }
}

/// Sleeps `duration`, failing if a task ends meanwhile (tasks only end on errors or on stop).
async fn run_for(
    tasks: &mut JoinSet<Result<(), String>>,
    duration: Duration,
) -> Result<(), BoxError> {
    tokio::select! {
        () = tokio::time::sleep(duration) => Ok(()),
        Some(ended) = tasks.join_next() => match ended {
            Ok(Ok(())) => Err("a task ended before the run did".into()),
            Ok(Err(e)) => Err(e.into()),
            Err(e) => Err(format!("a task failed: {e}").into()),
        },
    }
}

async fn run_variant(
    variant: &Variant,
    endpoint: &str,
    config: &LeaseConfig,
    warm_up: Duration,
    window: Duration,
) -> Result<Outcome, BoxError> {
    let counter = RequestCounter::default();
    let new_manager = || {
        LeaseManager::new(
            DynamoDbStore::new(client(endpoint, &counter)),
            config.clone(),
        )
    };
    let managers: Vec<_> = match variant.managers {
        Managers::Shared => {
            let manager = new_manager();
            (0..variant.tasks).map(|_| manager.clone()).collect()
        }
        Managers::PerTask => (0..variant.tasks).map(|_| new_manager()).collect(),
    };
    let key = format!("BENCH#contention-{}", variant.name);
    let log = Arc::new(Log {
        acquisitions: Mutex::new(Vec::new()),
        count: watch::Sender::new(0),
    });
    let (stop, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    for (task, manager) in managers.into_iter().enumerate() {
        tasks.spawn(contender(
            task,
            manager,
            key.clone(),
            variant.policy(),
            Arc::clone(&log),
            variant.tasks > 1,
            stop_rx.clone(),
        ));
    }

    run_for(&mut tasks, warm_up).await?;
    let (start, before) = (Instant::now(), counter.snapshot());
    run_for(&mut tasks, window).await?;
    let (end, after) = (Instant::now(), counter.snapshot());
    stop.send_replace(true);
    while let Some(ended) = tasks.join_next().await {
        ended.map_err(|e| format!("a task failed: {e}"))??;
    }

    let all = log
        .acquisitions
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let mut latencies = Vec::new();
    let mut early = 0;
    let mut per_task = vec![0usize; variant.tasks];
    for pair in all.windows(2) {
        let (previous, next) = (pair[0], pair[1]);
        if next.fence <= previous.fence {
            return Err(format!(
                "fencing tokens did not grow: {:?} after {:?} (two holders?)",
                next.fence, previous.fence
            )
            .into());
        }
        if next.acquired < start || next.acquired >= end {
            continue;
        }
        let released = previous
            .released
            .ok_or("an acquisition followed one that was never released")?;
        if next.acquired < released {
            early += 1;
        }
        latencies.push(next.acquired.saturating_duration_since(released));
        per_task[next.task] += 1;
    }
    latencies.sort();
    let least = per_task.iter().copied().min().unwrap_or(0);
    let most = per_task.iter().copied().max().unwrap_or(0);
    Ok(Outcome {
        variant: variant.clone(),
        window: end - start,
        handovers: latencies.len(),
        requests: after.since(before),
        latencies,
        early,
        per_task: (least, most),
    })
}

fn env_secs(name: &str, default: u64) -> Result<Duration, BoxError> {
    match std::env::var(name) {
        Ok(v) => match v.parse::<f64>() {
            Ok(s) if s > 0.0 && s.is_finite() => Ok(Duration::from_secs_f64(s)),
            _ => Err(format!("{name}={v:?} is not a positive number of seconds").into()),
        },
        Err(_) => Ok(Duration::from_secs(default)),
    }
}

fn selected_variants() -> Result<Vec<Variant>, BoxError> {
    let all = variants();
    let Ok(names) = std::env::var("LEASE_CONTENTION_VARIANTS") else {
        return Ok(all);
    };
    names
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|name| {
            all.iter()
                .find(|v| v.name == name)
                .cloned()
                .ok_or_else(|| format!("LEASE_CONTENTION_VARIANTS: no variant {name:?}").into())
        })
        .collect()
}

fn print_outcome(o: &Outcome) {
    let total = o.requests.total();
    let mut by_operation = format!(
        "({:.2} upd + {:.2} get",
        o.per_handover(o.requests.update),
        o.per_handover(o.requests.get)
    );
    if o.requests.other > 0 {
        by_operation += &format!(" + {:.2} other", o.per_handover(o.requests.other));
    }
    by_operation += ")";
    println!(
        "{:<18} {:>3} {:>7.1} {:>7.2} {by_operation:<28} {:>8.1} {:>8.1} {:>8.1} {:>5} {:>5}..{:<5} {}",
        o.variant.name,
        o.variant.tasks,
        o.rate(),
        o.per_handover(total),
        o.percentile_ms(0.50),
        o.percentile_ms(0.99),
        o.latencies
            .last()
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1e3),
        o.handovers,
        o.per_task.0,
        o.per_task.1,
        o.variant.describe(),
    );
    if o.early > 0 {
        println!(
            "{:<18} ({} handovers: the acquire returned before the previous holder's release \
             did; counted as 0 ms)",
            "", o.early
        );
    }
}

fn print_targets(outcomes: &[Outcome]) {
    let Some(o) = outcomes.iter().find(|o| o.variant.name == "shared-w16") else {
        return;
    };
    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    let (rate, requests) = (o.rate(), o.per_handover(o.requests.total()));
    let (p50, p99) = (o.percentile_ms(0.50), o.percentile_ms(0.99));
    println!();
    println!("targets (issue 14), one shared manager, W = 16, default policy:");
    println!(
        "  handovers/s           {rate:>7.1}  (>= 16)   {}",
        verdict(rate >= 16.0)
    );
    println!(
        "  requests per handover {requests:>7.2}  (<= 2.2)  {}",
        verdict(requests <= 2.2)
    );
    println!(
        "  handover p50          {p50:>7.1}  (<= 10 ms) {}",
        verdict(p50 <= 10.0)
    );
    println!(
        "  handover p99          {p99:>7.1}  (<= 50 ms) {}",
        verdict(p99 <= 50.0)
    );
}

fn since_epoch() -> Result<Duration, BoxError> {
    Ok(SystemTime::now().duration_since(SystemTime::UNIX_EPOCH)?)
}

async fn run() -> Result<(), BoxError> {
    let endpoint = match std::env::var(ENDPOINT_VARIABLE) {
        Ok(e) if !e.is_empty() => e,
        _ => {
            return Err(format!(
                "{ENDPOINT_VARIABLE} is not set: this benchmark needs a running dynalite. Run \
                 scripts/bench.sh, or `eval \"$(scripts/servers.sh start)\"` first."
            )
            .into());
        }
    };
    let warm_up = env_secs("LEASE_CONTENTION_WARMUP_SECS", 2)?;
    let window = env_secs("LEASE_CONTENTION_SECS", 18)?;
    let variants = selected_variants()?;

    let admin = client(&endpoint, &RequestCounter::default());
    let table = format!(
        "lease-contention-{}-{}",
        std::process::id(),
        since_epoch()?.as_millis()
    );
    let config = LeaseConfig::builder(table.clone()).build()?;
    create_lock_table(&admin, &config).await?;

    println!(
        "contention: W tasks acquire one key (waiting acquire), hold it {HOLD:?}, release; \
         dynalite at {endpoint}; per variant {warm_up:?} warm-up, then {window:?} measured"
    );
    println!(
        "{:<18} {:>3} {:>7} {:>7} {:<28} {:>8} {:>8} {:>8} {:>5} {:>12}",
        "variant",
        "W",
        "hand/s",
        "req/h",
        "(requests by operation)",
        "p50 ms",
        "p99 ms",
        "max ms",
        "n",
        "per task"
    );
    let mut outcomes = Vec::new();
    for variant in &variants {
        let outcome = run_variant(variant, &endpoint, &config, warm_up, window).await?;
        print_outcome(&outcome);
        outcomes.push(outcome);
    }
    print_targets(&outcomes);

    if let Err(e) = admin.delete_table().table_name(&table).send().await {
        eprintln!(
            "note: could not delete table {table}: {}",
            DisplayErrorContext(e)
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("contention: error: {e}");
            ExitCode::FAILURE
        }
    }
}
