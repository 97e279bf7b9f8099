//! The SDK store's overhead over hand-written `aws-sdk-dynamodb` calls, against a live dynalite.
//!
//! Two loops share one SDK client:
//! - **lease**: `LeaseManager<DynamoDbStore>` (system clock, UUIDv4 tokens, default retry policy)
//!   acquires and releases a key: one conditional `UpdateItem` each (docs/wire-format.md);
//! - **raw** ([`raw`]): what a hand-written lease does with the SDK alone: read the clock, make
//!   a UUIDv4 token, send the same two conditional `UpdateItem`s with the fluent builders, and
//!   read the fencing token from the acquire's answer.
//!
//! Each loop runs in two modes, one after the other: **1 task** (one request in flight at a
//! time) and **8 tasks** (8 concurrent tasks, each with its own key, all sharing the one client
//! and, for lease, clones of the one manager). `LEASE_BENCH_TASKS` (default `1,8`) lists the
//! task counts to run.
//!
//! Before measuring, [`same_requests::check`] runs one pair of each at the same time and with
//! the same token and fails the run unless both hand identical inputs to the SDK. Then, per mode,
//! the loops run in rounds of one block each, in an order that rotates every round (raw, lease |
//! lease, raw | raw, lease ...), so drift of the machine or the server affects all alike. A block is `LEASE_BENCH_PAIRS` pairs in all, shared
//! evenly by the mode's tasks. Per block it measures wall-clock pairs/s and the process's CPU
//! time per pair (client side only: dynalite is another process), and prints the medians of the
//! blocks and, per loop, its ratios to the raw loop's block of the same round: their median
//! (the comparison: paired by round, so that a change of the machine's load between rounds
//! cancels out) and their range (a measure of noise).
//! Targets: throughput ≥ 0.95× raw, CPU per pair ≤ 1.05× raw (issue 14). Missed targets are
//! reported, not failed: the exit status is non-zero only on errors.
//!
//! ```sh
//! eval "$(scripts/servers.sh start)"   # sets LEASE_DYNALITE_ENDPOINT
//! cargo bench -p lease-dynamodb-sdk --bench sdk_vs_raw
//! ```
//! `LEASE_BENCH_BLOCKS` (default 5) and `LEASE_BENCH_PAIRS` (pairs per block, default 2000)
//! change the run's size. `LEASE_BENCH_DECOMPOSE=1` adds two loops to the alternation, to tell
//! apart where the lease loop's extra CPU goes (docs/performance.md):
//! - **store**: the lease path without the manager: lease-core's `Planner` plans each request,
//!   `DynamoDbStore::execute` sends it, the plan interprets the answer (no operation machines,
//!   retries, clock readings after the answer, metrics or logging);
//! - **raw+core**: the raw loop, plus lease-core planning and rendering the same two requests
//!   (`Planner::acquire` / `release`, `RenderCache::render` as the store renders) and dropping
//!   them: lease-core's request building, in the cache conditions of the real loop.
//!
//! `LEASE_BENCH_ONLY=raw` (or `lease`, `store`) runs that one loop alone (its ratios are then
//! to itself): for profiling one loop at a time (`valgrind --tool=callgrind`, `perf`), whose
//! totals then belong to that loop alone.
//!
//! The runtime is tokio's current-thread runtime (all tasks on one thread);
//! `LEASE_BENCH_RUNTIME=multi` uses the multi-threaded one (one worker per core) instead.
//! `scripts/bench.sh` runs every benchmark; see docs/performance.md.

mod raw;
mod same_requests;

use std::error::Error;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Intercept, Region};
use aws_sdk_dynamodb::error::DisplayErrorContext;
use cpu_time::ProcessTime;
use lease_dynamodb_sdk::token::LeaseToken;
use lease_dynamodb_sdk::{
    DynamoDbStore, FencingToken, Lease, LeaseConfig, LeaseManager, ReleaseOutcome,
    create_lock_table, store::Planner, store::RenderCache, store::Store,
};
use tokio::task::JoinSet;

type BoxError = Box<dyn Error + Send + Sync>;

const ENDPOINT_VARIABLE: &str = "LEASE_DYNALITE_ENDPOINT";
/// The lease duration of every acquire.
const DURATION: Duration = Duration::from_secs(30);
/// Pairs of each loop run before measuring each mode (connection set-up, warm-up of dynalite's
/// JIT).
const WARM_UP_PAIRS: u32 = 1000;

/// A client for `endpoint` with test credentials, and `interceptor` if given.
fn client(endpoint: &str, interceptor: Option<impl Intercept + 'static>) -> Client {
    let mut config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "bench"));
    if let Some(interceptor) = interceptor {
        config = config.interceptor(interceptor);
    }
    Client::from_conf(config.build())
}

/// One acquire + release through the manager.
async fn lease_pair<S: Store>(manager: &LeaseManager<S>, pk: &str) -> Result<(), BoxError> {
    let lease = manager.try_acquire(pk, DURATION).await?;
    match manager.release(&lease).await? {
        ReleaseOutcome::Released => Ok(()),
        other => Err(format!("release did not release: {other:?}").into()),
    }
}

/// One acquire + release planned by lease-core and sent by the store, without the manager.
async fn store_pair<S: Store>(planner: &Planner, store: &S, pk: &str) -> Result<(), BoxError> {
    let token = LeaseToken::new(uuid::Uuid::new_v4().to_string());
    let plan = planner.acquire(pk, DURATION, SystemTime::now(), token)?;
    let answer = store.execute(plan.request()).await;
    let lease = plan.interpret(answer)?;
    let plan = planner.release(&lease, SystemTime::now())?;
    let answer = store.execute(plan.request()).await;
    match plan.interpret(answer)? {
        ReleaseOutcome::Released => Ok(()),
        other => Err(format!("release did not release: {other:?}").into()),
    }
}

/// lease-core's planning and rendering (by `templates`, as the store renders) of an acquire and
/// a release of `pk` with `token`, whose results are dropped.
fn plan_and_render(
    planner: &Planner,
    templates: &RenderCache,
    pk: &str,
    token: &str,
) -> Result<(), BoxError> {
    let now = SystemTime::now();
    let plan = planner.acquire(pk, DURATION, now, LeaseToken::new(token))?;
    drop(std::hint::black_box(templates.render(plan.request())));
    let lease = Lease::new(
        planner.resolve(pk),
        LeaseToken::new(token),
        FencingToken::new(1),
        now + DURATION,
    );
    let plan = planner.release(&lease, SystemTime::now())?;
    drop(std::hint::black_box(templates.render(plan.request())));
    Ok(())
}

fn since_epoch() -> Result<Duration, BoxError> {
    Ok(SystemTime::now().duration_since(SystemTime::UNIX_EPOCH)?)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Loop {
    Raw,
    Lease,
    Store,
    RawCore,
}

impl Loop {
    fn name(self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::Lease => "lease",
            Self::Store => "store",
            Self::RawCore => "raw+core",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Raw => "raw aws-sdk-dynamodb loop",
            Self::Lease => "LeaseManager<DynamoDbStore>",
            Self::Store => "Planner + DynamoDbStore",
            Self::RawCore => "raw + lease-core plan/render",
        }
    }
}

/// The measurements of one block of pairs.
#[derive(Clone, Copy, Debug)]
struct Block {
    pairs_per_second: f64,
    cpu_us_per_pair: f64,
}

#[derive(Clone)]
struct Bench {
    client: Client,
    table: String,
    manager: LeaseManager<DynamoDbStore>,
    planner: Arc<Planner>,
    /// The raw+core loop's rendering cache.
    templates: Arc<RenderCache>,
}

impl Bench {
    /// `pairs` pairs of `which` on `pk`, one after the other.
    async fn pairs(&self, which: Loop, pk: &str, pairs: u32) -> Result<(), BoxError> {
        for _ in 0..pairs {
            match which {
                Loop::Raw => {
                    let token = uuid::Uuid::new_v4().to_string();
                    raw::pair(&self.client, &self.table, pk, &token, since_epoch).await?;
                }
                Loop::Lease => lease_pair(&self.manager, pk).await?,
                Loop::Store => store_pair(&self.planner, self.manager.store(), pk).await?,
                Loop::RawCore => {
                    let token = uuid::Uuid::new_v4().to_string();
                    plan_and_render(&self.planner, &self.templates, pk, &token)?;
                    raw::pair(&self.client, &self.table, pk, &token, since_epoch).await?;
                }
            }
        }
        Ok(())
    }

    /// A block of about `pairs` pairs of `which`, shared evenly by `tasks` concurrent tasks,
    /// each on its own key.
    async fn block(&self, which: Loop, tasks: u32, pairs: u32) -> Result<Block, BoxError> {
        let per_task = pairs.div_ceil(tasks);
        let mut set = JoinSet::new();
        let (wall, cpu) = (Instant::now(), ProcessTime::try_now()?);
        for task in 0..tasks {
            let bench = self.clone();
            let pk = format!("BENCH#{}-{task}", which.name());
            set.spawn(async move { bench.pairs(which, &pk, per_task).await });
        }
        while let Some(done) = set.join_next().await {
            done??;
        }
        let (cpu, wall) = (cpu.try_elapsed()?, wall.elapsed());
        let pairs = f64::from(per_task * tasks);
        Ok(Block {
            pairs_per_second: pairs / wall.as_secs_f64(),
            cpu_us_per_pair: cpu.as_secs_f64() * 1e6 / pairs,
        })
    }

    /// One mode: a warm-up block of each loop, then `blocks` rounds with one block of each
    /// loop, in an order that rotates by one every round (raw, lease | lease, raw | ...), so
    /// that a linear drift cancels out; prints each block. `loops[0]` must be the raw loop.
    async fn mode(
        &self,
        tasks: u32,
        loops: &[Loop],
        blocks: u32,
        pairs: u32,
    ) -> Result<Summary, BoxError> {
        println!();
        println!("{tasks} task(s):");
        for &which in loops {
            self.block(which, tasks, WARM_UP_PAIRS).await?;
        }
        let mut results: Vec<Vec<Block>> = vec![Vec::new(); loops.len()];
        for round in 0..blocks as usize {
            for k in 0..loops.len() {
                let index = (round + k) % loops.len();
                let block = self.block(loops[index], tasks, pairs).await?;
                println!(
                    "  block {} {:<8} {:>8.1} pairs/s {:>8.1} µs CPU/pair",
                    round + 1,
                    loops[index].name(),
                    block.pairs_per_second,
                    block.cpu_us_per_pair
                );
                results[index].push(block);
            }
        }
        Ok(Summary::of(tasks, loops, &results))
    }
}

fn env_u32(name: &str, default: u32) -> Result<u32, BoxError> {
    match std::env::var(name) {
        Ok(v) => match v.parse() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("{name}={v:?} is not a positive integer").into()),
        },
        Err(_) => Ok(default),
    }
}

/// `LEASE_BENCH_TASKS`: the task counts of the modes to run (default 1 and 8).
fn task_counts() -> Result<Vec<u32>, BoxError> {
    let Ok(list) = std::env::var("LEASE_BENCH_TASKS") else {
        return Ok(vec![1, 8]);
    };
    list.split(',')
        .map(|n| match n.trim().parse() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("LEASE_BENCH_TASKS={list:?}: not a list of positive integers").into()),
        })
        .collect()
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

async fn run(runtime: &str) -> Result<(), BoxError> {
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
    let blocks = env_u32("LEASE_BENCH_BLOCKS", 5)?;
    let pairs = env_u32("LEASE_BENCH_PAIRS", 2000)?;
    let modes = task_counts()?;
    let only = std::env::var("LEASE_BENCH_ONLY").ok();
    let loops: &[Loop] = if let Some(only) = only.as_deref() {
        match only {
            "raw" => &[Loop::Raw],
            "lease" => &[Loop::Lease],
            "store" => &[Loop::Store],
            _ => return Err(format!("LEASE_BENCH_ONLY={only:?}: raw, lease or store").into()),
        }
    } else if std::env::var("LEASE_BENCH_DECOMPOSE").is_ok_and(|v| v == "1") {
        &[Loop::Raw, Loop::Lease, Loop::Store, Loop::RawCore]
    } else {
        &[Loop::Raw, Loop::Lease]
    };
    let client = client(&endpoint, None::<same_requests::Recorder>);
    let table = format!(
        "lease-bench-{}-{}",
        std::process::id(),
        since_epoch()?.as_millis()
    );
    let config = LeaseConfig::builder(table.clone()).build()?;
    create_lock_table(&client, &config).await?;
    same_requests::check(&endpoint, &config, "BENCH#check").await?;

    let bench = Bench {
        planner: Arc::new(Planner::new(config.clone())),
        templates: Arc::new(RenderCache::new()),
        manager: LeaseManager::new(DynamoDbStore::new(client.clone()), config),
        client: client.clone(),
        table: table.clone(),
    };
    let names: Vec<_> = loops.iter().map(|l| l.name()).collect();
    println!(
        "sdk_vs_raw: {blocks} blocks × {pairs} acquire+release pairs per loop ({}) and mode, \
         tasks {modes:?} (each its own key), one shared client, {runtime} runtime, dynalite at \
         {endpoint}; raw and lease checked to send identical requests",
        names.join(", ")
    );
    let mut summaries = Vec::new();
    for &tasks in &modes {
        summaries.push(bench.mode(tasks, loops, blocks, pairs).await?);
    }
    report(&summaries);

    if let Err(e) = client.delete_table().table_name(&table).send().await {
        eprintln!(
            "note: could not delete table {table}: {}",
            DisplayErrorContext(e)
        );
    }
    Ok(())
}

/// One loop's medians over a mode's blocks, and its ratios to the raw loop's block of the same
/// round: their median (the comparison, paired by round so that a change of the machine's load
/// between rounds cancels out) and their range (a measure of noise).
#[derive(Debug)]
struct Row {
    which: Loop,
    rate: f64,
    cpu: f64,
    rate_ratios: Ratios,
    cpu_ratios: Ratios,
}

/// The median and range of per-round ratios.
#[derive(Clone, Copy, Debug)]
struct Ratios {
    median: f64,
    min: f64,
    max: f64,
}

impl Ratios {
    fn of(ratios: impl Iterator<Item = f64> + Clone) -> Self {
        let (min, max) = ratios
            .clone()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
                (lo.min(x), hi.max(x))
            });
        Self {
            median: median(ratios),
            min,
            max,
        }
    }
}

/// A mode's rows, the raw loop's first.
#[derive(Debug)]
struct Summary {
    tasks: u32,
    rows: Vec<Row>,
}

impl Summary {
    fn of(tasks: u32, loops: &[Loop], results: &[Vec<Block>]) -> Self {
        let raw = &results[0];
        let rows = loops
            .iter()
            .zip(results)
            .map(|(&which, blocks)| {
                let paired = blocks.iter().zip(raw);
                Row {
                    which,
                    rate: median(blocks.iter().map(|b| b.pairs_per_second)),
                    cpu: median(blocks.iter().map(|b| b.cpu_us_per_pair)),
                    rate_ratios: Ratios::of(
                        paired
                            .clone()
                            .map(|(b, r)| b.pairs_per_second / r.pairs_per_second),
                    ),
                    cpu_ratios: Ratios::of(
                        paired.map(|(b, r)| b.cpu_us_per_pair / r.cpu_us_per_pair),
                    ),
                }
            })
            .collect();
        Self { tasks, rows }
    }
}

/// Prints each mode's medians, the ratios to the raw loop, and the lease loop's against the
/// targets.
fn report(summaries: &[Summary]) {
    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    let range = |r: Ratios| format!("{:.2}..{:.2}", r.min, r.max);
    println!();
    println!(
        "{:<5} {:<30} {:>9} {:>11} {:>14} {:>14}",
        "tasks", "median of blocks", "pairs/s", "µs CPU/pair", "×raw pairs/s", "×raw CPU/pair"
    );
    for s in summaries {
        for row in &s.rows {
            print!(
                "{:<5} {:<30} {:>9.1} {:>11.1}",
                s.tasks,
                row.which.describe(),
                row.rate,
                row.cpu
            );
            if row.which == Loop::Raw {
                println!();
                continue;
            }
            let (rate, cpu) = (row.rate_ratios.median, row.cpu_ratios.median);
            println!(" {rate:>14.3} {cpu:>14.3}");
            println!(
                "{:<5} {:<30} {:>9} {:>11} {:>14} {:>14}",
                "",
                "  range over the rounds",
                "",
                "",
                range(row.rate_ratios),
                range(row.cpu_ratios)
            );
            if row.which == Loop::Lease {
                println!(
                    "{:<5} {:<30} {:>9} {:>11} {:>14} {:>14}",
                    "",
                    "  target",
                    "",
                    "",
                    format!("≥ 0.95 {}", verdict(rate >= 0.95)),
                    format!("≤ 1.05 {}", verdict(cpu <= 1.05))
                );
            }
        }
    }
    println!(
        "(×raw: the median over the rounds of the loop's block divided by the raw loop's block \
         of the same round)"
    );
}

fn main() -> ExitCode {
    let flavour = std::env::var("LEASE_BENCH_RUNTIME").unwrap_or_default();
    let runtime = match flavour.as_str() {
        "" | "current" => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        "multi" => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
        other => {
            eprintln!("sdk_vs_raw: error: LEASE_BENCH_RUNTIME={other:?}: `current` or `multi`");
            return ExitCode::FAILURE;
        }
    };
    let name = if flavour == "multi" {
        "multi-threaded"
    } else {
        "current-thread"
    };
    let result = runtime
        .map_err(BoxError::from)
        .and_then(|runtime| runtime.block_on(run(name)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sdk_vs_raw: error: {e}");
            ExitCode::FAILURE
        }
    }
}
