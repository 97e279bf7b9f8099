//! The SDK store's overhead over hand-written `aws-sdk-dynamodb` calls, against a live dynalite.
//!
//! Two single-task loops share one SDK client (one request in flight at a time):
//! - **lease**: `LeaseManager<DynamoDbStore>` (system clock, UUIDv4 tokens, default retry policy)
//!   acquires and releases one key: one conditional `UpdateItem` each (docs/wire-format.md);
//! - **raw** ([`raw`]): what a hand-written lease does with the SDK alone: read the clock, make
//!   a UUIDv4 token, send the same two conditional `UpdateItem`s with the fluent builders, and
//!   read the fencing token from the acquire's answer.
//!
//! Before measuring, [`same_requests::check`] runs one pair of each at the same time and with
//! the same token and fails the run unless both hand identical inputs to the SDK. Then the loops
//! run in alternating blocks (raw, lease, lease, raw, raw, ...), so drift of the machine or the
//! server affects both alike. Per block it measures wall-clock pairs/s and the process's CPU
//! time per pair (client side only: dynalite is another process), and prints the medians, the
//! ratios lease/raw, and the range of the ratios within each round (a measure of noise). Targets: throughput ≥ 0.95× raw, CPU per pair ≤ 1.10× raw. Missed
//! targets are reported, not failed: the exit status is non-zero only on errors.
//!
//! ```sh
//! eval "$(scripts/servers.sh start)"   # sets LEASE_DYNALITE_ENDPOINT
//! cargo bench -p lease-dynamodb-sdk --bench sdk_vs_raw
//! ```
//! `LEASE_BENCH_BLOCKS` (default 5) and `LEASE_BENCH_PAIRS` (pairs per block, default 2000)
//! change the run's size. `scripts/bench.sh` runs every benchmark; see docs/performance.md.

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

type BoxError = Box<dyn Error>;

const ENDPOINT_VARIABLE: &str = "LEASE_DYNALITE_ENDPOINT";
/// The lease duration of every acquire.
const DURATION: Duration = Duration::from_secs(30);
/// Pairs of each loop run before measuring (connection set-up, warm-up of dynalite's JIT).
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

/// The measurements of one block of pairs.
#[derive(Clone, Copy, Debug)]
struct Block {
    pairs_per_second: f64,
    cpu_us_per_pair: f64,
}

struct Bench {
    client: Client,
    table: String,
    manager: LeaseManager<DynamoDbStore>,
}

impl Bench {
    async fn block(&self, which: Loop, pairs: u32) -> Result<Block, BoxError> {
        let (wall, cpu) = (Instant::now(), ProcessTime::try_now()?);
        for _ in 0..pairs {
            match which {
                Loop::Raw => {
                    let token = uuid::Uuid::new_v4().to_string();
                    raw::pair(&self.client, &self.table, "BENCH#raw", &token, since_epoch).await?;
                }
                Loop::Lease => lease_pair(&self.manager, "BENCH#lease").await?,
            }
        }
        let (cpu, wall) = (cpu.try_elapsed()?, wall.elapsed());
        Ok(Block {
            pairs_per_second: f64::from(pairs) / wall.as_secs_f64(),
            cpu_us_per_pair: cpu.as_secs_f64() * 1e6 / f64::from(pairs),
        })
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
    let blocks = env_u32("LEASE_BENCH_BLOCKS", 5)?;
    let pairs = env_u32("LEASE_BENCH_PAIRS", 2000)?;
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
        "sdk_vs_raw: {blocks} blocks × {pairs} acquire+release pairs per loop, one task, one \
         shared client, dynalite at {endpoint}; both loops checked to send identical requests"
    );
    bench.block(Loop::Raw, WARM_UP_PAIRS).await?;
    bench.block(Loop::Lease, WARM_UP_PAIRS).await?;

    let (mut raw, mut lease) = (Vec::new(), Vec::new());
    for i in 0..blocks {
        // raw, lease | lease, raw | raw, lease ...: a linear drift cancels out.
        let order = if i % 2 == 0 {
            [Loop::Raw, Loop::Lease]
        } else {
            [Loop::Lease, Loop::Raw]
        };
        for which in order {
            let block = bench.block(which, pairs).await?;
            let name = if which == Loop::Raw { "raw" } else { "lease" };
            println!(
                "  block {} {name:<5} {:>8.1} pairs/s {:>8.1} µs CPU/pair",
                i + 1,
                block.pairs_per_second,
                block.cpu_us_per_pair
            );
            match which {
                Loop::Raw => raw.push(block),
                Loop::Lease => lease.push(block),
            }
        }
    }
    report(&raw, &lease);

    if let Err(e) = client.delete_table().table_name(&table).send().await {
        eprintln!(
            "note: could not delete table {table}: {}",
            DisplayErrorContext(e)
        );
    }
    Ok(())
}

/// Prints the medians of the blocks, the ratios lease/raw against the targets, and the spread
/// of the ratios within each round (raw and lease blocks run back to back), a measure of noise.
fn report(raw: &[Block], lease: &[Block]) {
    let rate = |b: &[Block]| median(b.iter().map(|b| b.pairs_per_second));
    let cpu = |b: &[Block]| median(b.iter().map(|b| b.cpu_us_per_pair));
    let (raw_rate, lease_rate) = (rate(raw), rate(lease));
    let (raw_cpu, lease_cpu) = (cpu(raw), cpu(lease));
    let (rate_ratio, cpu_ratio) = (lease_rate / raw_rate, lease_cpu / raw_cpu);
    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    let spread = |ratio: fn(&Block, &Block) -> f64| {
        let ratios = raw.iter().zip(lease).map(|(r, l)| ratio(l, r));
        let (min, max) = ratios.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(x), hi.max(x))
        });
        format!("{min:.2}..{max:.2}")
    };
    println!();
    println!(
        "{:<30} {:>14} {:>14}",
        "median of blocks", "pairs/s", "µs CPU/pair"
    );
    println!(
        "{:<30} {raw_rate:>14.1} {raw_cpu:>14.1}",
        "raw aws-sdk-dynamodb loop"
    );
    println!(
        "{:<30} {lease_rate:>14.1} {lease_cpu:>14.1}",
        "LeaseManager<DynamoDbStore>"
    );
    println!("{:<30} {rate_ratio:>14.3} {cpu_ratio:>14.3}", "lease / raw");
    println!(
        "{:<30} {:>14} {:>14}",
        "target",
        format!("≥ 0.950 {}", verdict(rate_ratio >= 0.95)),
        format!("≤ 1.100 {}", verdict(cpu_ratio <= 1.10))
    );
    println!(
        "{:<30} {:>14} {:>14}",
        "lease / raw within each round",
        spread(|l, r| l.pairs_per_second / r.pairs_per_second),
        spread(|l, r| l.cpu_us_per_pair / r.cpu_us_per_pair)
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sdk_vs_raw: error: {e}");
            ExitCode::FAILURE
        }
    }
}
