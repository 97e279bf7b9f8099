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
//! the loops run in alternating blocks (raw, lease, lease, raw, raw, ...), so drift of the
//! machine or the server affects both alike. A block is `LEASE_BENCH_PAIRS` pairs in all, shared
//! evenly by the mode's tasks. Per block it measures wall-clock pairs/s and the process's CPU
//! time per pair (client side only: dynalite is another process), and prints the medians, the
//! ratios lease/raw, and the range of the ratios within each round (a measure of noise).
//! Targets: throughput ≥ 0.95× raw, CPU per pair ≤ 1.05× raw (issue 14). Missed targets are
//! reported, not failed: the exit status is non-zero only on errors.
//!
//! ```sh
//! eval "$(scripts/servers.sh start)"   # sets LEASE_DYNALITE_ENDPOINT
//! cargo bench -p lease-dynamodb-sdk --bench sdk_vs_raw
//! ```
//! `LEASE_BENCH_BLOCKS` (default 5) and `LEASE_BENCH_PAIRS` (pairs per block, default 2000)
//! change the run's size. The runtime is tokio's current-thread runtime (all tasks on one
//! thread); `LEASE_BENCH_RUNTIME=multi` uses the multi-threaded one (one worker per core)
//! instead. `scripts/bench.sh` runs every benchmark; see docs/performance.md.

mod raw;
mod same_requests;

use std::error::Error;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Intercept, Region};
use aws_sdk_dynamodb::error::DisplayErrorContext;
use cpu_time::ProcessTime;
use lease_dynamodb_sdk::{
    DynamoDbStore, LeaseConfig, LeaseManager, ReleaseOutcome, create_lock_table, store::Store,
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

fn since_epoch() -> Result<Duration, BoxError> {
    Ok(SystemTime::now().duration_since(SystemTime::UNIX_EPOCH)?)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Loop {
    Raw,
    Lease,
}

impl Loop {
    fn name(self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::Lease => "lease",
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

    /// One mode: warm-up, then `blocks` rounds of alternating blocks; prints each block.
    async fn mode(&self, tasks: u32, blocks: u32, pairs: u32) -> Result<Summary, BoxError> {
        println!();
        println!("{tasks} task(s):");
        self.block(Loop::Raw, tasks, WARM_UP_PAIRS).await?;
        self.block(Loop::Lease, tasks, WARM_UP_PAIRS).await?;
        let (mut raw, mut lease) = (Vec::new(), Vec::new());
        for i in 0..blocks {
            // raw, lease | lease, raw | raw, lease ...: a linear drift cancels out.
            let order = if i % 2 == 0 {
                [Loop::Raw, Loop::Lease]
            } else {
                [Loop::Lease, Loop::Raw]
            };
            for which in order {
                let block = self.block(which, tasks, pairs).await?;
                println!(
                    "  block {} {:<5} {:>8.1} pairs/s {:>8.1} µs CPU/pair",
                    i + 1,
                    which.name(),
                    block.pairs_per_second,
                    block.cpu_us_per_pair
                );
                match which {
                    Loop::Raw => raw.push(block),
                    Loop::Lease => lease.push(block),
                }
            }
        }
        Ok(Summary::of(tasks, &raw, &lease))
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
        manager: LeaseManager::new(DynamoDbStore::new(client.clone()), config),
        client: client.clone(),
        table: table.clone(),
    };
    println!(
        "sdk_vs_raw: {blocks} blocks × {pairs} acquire+release pairs per loop and mode, tasks \
         {modes:?} (each its own key), one shared client, {runtime} runtime, dynalite at \
         {endpoint}; both loops checked to send identical requests"
    );
    let mut summaries = Vec::new();
    for &tasks in &modes {
        summaries.push(bench.mode(tasks, blocks, pairs).await?);
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

/// The medians of one mode's blocks, and the range of the ratios lease/raw within each round
/// (raw and lease blocks run back to back), a measure of noise.
#[derive(Debug)]
struct Summary {
    tasks: u32,
    raw_rate: f64,
    lease_rate: f64,
    raw_cpu: f64,
    lease_cpu: f64,
    rate_range: (f64, f64),
    cpu_range: (f64, f64),
}

impl Summary {
    fn of(tasks: u32, raw: &[Block], lease: &[Block]) -> Self {
        let rate = |b: &[Block]| median(b.iter().map(|b| b.pairs_per_second));
        let cpu = |b: &[Block]| median(b.iter().map(|b| b.cpu_us_per_pair));
        let range = |ratio: fn(&Block, &Block) -> f64| {
            raw.iter()
                .zip(lease)
                .map(|(r, l)| ratio(l, r))
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
                    (lo.min(x), hi.max(x))
                })
        };
        Self {
            tasks,
            raw_rate: rate(raw),
            lease_rate: rate(lease),
            raw_cpu: cpu(raw),
            lease_cpu: cpu(lease),
            rate_range: range(|l, r| l.pairs_per_second / r.pairs_per_second),
            cpu_range: range(|l, r| l.cpu_us_per_pair / r.cpu_us_per_pair),
        }
    }
}

/// Prints each mode's medians and the ratios lease/raw against the targets.
fn report(summaries: &[Summary]) {
    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    let range = |(lo, hi): (f64, f64)| format!("{lo:.2}..{hi:.2}");
    println!();
    println!(
        "{:<7} {:<30} {:>14} {:>14}",
        "tasks", "median of blocks", "pairs/s", "µs CPU/pair"
    );
    for s in summaries {
        let (rate_ratio, cpu_ratio) = (s.lease_rate / s.raw_rate, s.lease_cpu / s.raw_cpu);
        let tasks = s.tasks;
        println!(
            "{tasks:<7} {:<30} {:>14.1} {:>14.1}",
            "raw aws-sdk-dynamodb loop", s.raw_rate, s.raw_cpu
        );
        println!(
            "{tasks:<7} {:<30} {:>14.1} {:>14.1}",
            "LeaseManager<DynamoDbStore>", s.lease_rate, s.lease_cpu
        );
        println!(
            "{tasks:<7} {:<30} {rate_ratio:>14.3} {cpu_ratio:>14.3}",
            "lease / raw"
        );
        println!(
            "{tasks:<7} {:<30} {:>14} {:>14}",
            "target",
            format!("≥ 0.950 {}", verdict(rate_ratio >= 0.95)),
            format!("≤ 1.050 {}", verdict(cpu_ratio <= 1.05))
        );
        println!(
            "{tasks:<7} {:<30} {:>14} {:>14}",
            "lease / raw within each round",
            range(s.rate_range),
            range(s.cpu_range)
        );
    }
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
