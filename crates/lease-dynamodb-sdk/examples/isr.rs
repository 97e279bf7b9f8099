//! ISR-style regeneration under leases: the library's main job, on real input.
//!
//! Many concurrent requests hit a few stale pages. Each request that finds its page stale tries
//! to acquire the page's lease (`CACHE#<page>` / `LOCK`) for a few seconds, as a lease guard
//! (`LeaseManager::acquire_guard`), which renews the lease in the background while the
//! regeneration runs. The one that gets it checks the page again, regenerates it (simulated
//! work, cancelled if the lease is lost), writes the page's metadata item (`CACHE#<page>` /
//! `META`) and releases the lease. The others, by `--on-contention`:
//! - `stale` (default, FaceTheory's policy): serve the stale page at once;
//! - `wait`: wait for the lease (a waiting acquire: `GuardOptions::wait` with a `WaitPolicy`),
//!   then find the page fresh and serve it, releasing the lease at once.
//!
//! This repeats for several rounds; each round makes every page stale again.
//!
//! The report shows, per page, regenerations and **duplicate regenerations** (a second
//! regeneration of the same page in the same round, or two at once: must be 0), acquire attempts
//! and contention, p50/p99 latency of the lease operations, and the manager's counters
//! (renewals among them: with `--work-ms` above a third of `--lease-ms`, every regeneration is
//! renewed at least once). The exit status is 1 if any duplicate happened, a lease was lost,
//! or a regeneration longer than the renew period was not renewed.
//!
//! ```sh
//! cargo run -p lease-dynamodb-sdk --example isr                     # embedded in-memory store
//! cargo run -p lease-dynamodb-sdk --example isr -- --endpoint http://127.0.0.1:18000
//! # regeneration past half the lease (renewed), waiters wait instead of serving stale:
//! cargo run -p lease-dynamodb-sdk --example isr -- --lease-ms 3000 --work-ms 2000 --on-contention wait
//! ```

use lease_dynamodb_sdk::LeaseKey;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use lease_dynamodb_sdk::{
    GuardOptions, LeaseConfig, LeaseError, LeaseGuard, LeaseManager, WaitPolicy,
    metrics::MetricsSnapshot, store::AttributeValue, store::Item, store::Store,
    store::StoreResponse,
};
use lease_dynamodb_sdk::{store::GetRequest, store::PutRequest, store::Request};

/// What a request does when another request holds the page's lease.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum OnContention {
    /// Serve the stale page at once.
    Stale,
    /// Wait for the lease (then find the page fresh).
    Wait,
}

/// Command-line options.
#[derive(Parser, Debug, Clone)]
#[command(about = "ISR-style page regeneration under leases, with a duplicate-regeneration report")]
struct Args {
    /// DynamoDB endpoint (e.g. http://127.0.0.1:18000). Without it, the in-memory store is used.
    #[arg(long)]
    endpoint: Option<String>,
    /// Table name (created if missing).
    #[arg(long, default_value = "lease-isr-demo")]
    table: String,
    /// Number of pages.
    #[arg(long, default_value_t = 4)]
    pages: usize,
    /// Concurrent requests per round (spread over the pages).
    #[arg(long, default_value_t = 64)]
    requests: usize,
    /// Rounds; every page is stale at the start of each round.
    #[arg(long, default_value_t = 5)]
    rounds: u64,
    /// Lease duration in milliseconds.
    #[arg(long, default_value_t = 5000)]
    lease_ms: u64,
    /// Simulated regeneration time in milliseconds. Above a third of --lease-ms, the guard
    /// renews the lease while the regeneration runs.
    #[arg(long, default_value_t = 50)]
    work_ms: u64,
    /// What a request does when the page's lease is held by another request.
    #[arg(long, value_enum, default_value_t = OnContention::Stale)]
    on_contention: OnContention,
    /// Control experiment: regenerate without taking the lease, to show that the report does
    /// catch duplicate regenerations (expect a non-zero count and exit status 1).
    #[arg(long)]
    unsafe_no_lease: bool,
}

/// Per-page counters.
#[derive(Default)]
struct PageStats {
    regenerations: AtomicU64,
    duplicates: AtomicU64,
    in_progress: AtomicU64,
    acquire_attempts: AtomicU64,
    contended: AtomicU64,
    served_stale: AtomicU64,
    served_fresh: AtomicU64,
}

/// Shared state of one run.
struct Run<S> {
    manager: Arc<LeaseManager<S>>,
    args: Args,
    pages: Vec<PageStats>,
    /// Regenerations per (page, round), to catch a second regeneration in the same round.
    per_round: Vec<Vec<AtomicU64>>,
    latencies_us: std::sync::Mutex<Vec<u64>>,
    run_id: String,
}

impl<S: Store + 'static> Run<S> {
    fn page_key(&self, page: usize) -> String {
        format!("CACHE#{}/page-{page}", self.run_id)
    }

    fn record(&self, started: Instant) {
        let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        if let Ok(mut l) = self.latencies_us.lock() {
            l.push(us);
        }
    }

    /// The generation of the page's metadata item, 0 if none.
    async fn generation(&self, page: usize) -> Result<u64, String> {
        let request = Request::Get(GetRequest {
            table_name: self.args.table.as_str().into(),
            key: self.meta_key(page),
            consistent_read: true,
        });
        match self.manager.store().execute(&request).await {
            Ok(StoreResponse::Item(None)) => Ok(0),
            Ok(StoreResponse::Item(Some(item))) => item
                .get("generation")
                .and_then(AttributeValue::as_n)
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| format!("META of page {page} has no numeric generation")),
            Ok(other) => Err(format!("unexpected answer to GetItem: {other:?}")),
            Err(e) => Err(format!("reading META of page {page}: {e}")),
        }
    }

    fn meta_key(&self, page: usize) -> Item {
        let config = self.manager.config();
        Item::from([
            (
                config.partition_key_attribute().into(),
                AttributeValue::string(self.page_key(page)),
            ),
            (
                config.sort_key_attribute().into(),
                AttributeValue::string("META"),
            ),
        ])
    }

    async fn write_meta(&self, page: usize, generation: u64) -> Result<(), String> {
        let mut item = self.meta_key(page);
        item.insert(
            "generation".into(),
            AttributeValue::N(generation.to_string().into()),
        );
        let request = Request::Put(PutRequest::new(self.args.table.as_str(), item));
        match self.manager.store().execute(&request).await {
            Ok(StoreResponse::Applied { .. }) => Ok(()),
            Ok(other) => Err(format!("unexpected answer to PutItem: {other:?}")),
            Err(e) => Err(format!("writing META of page {page}: {e}")),
        }
    }

    /// One request for `page` in `round`.
    async fn request(&self, page: usize, round: u64) -> Result<(), String> {
        let stats = &self.pages[page];
        if self.generation(page).await? >= round {
            stats.served_fresh.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        if self.args.unsafe_no_lease {
            return self.regenerate(page, round).await;
        }
        stats.acquire_attempts.fetch_add(1, Ordering::Relaxed);
        let key = LeaseKey::lock(self.page_key(page));
        let duration = Duration::from_millis(self.args.lease_ms);
        let started = Instant::now();
        let mut acquired = self
            .manager
            .acquire_guard(key.clone(), duration, GuardOptions::default())
            .await;
        self.record(started);
        if let Err(LeaseError::Held { .. }) = &acquired {
            stats.contended.fetch_add(1, Ordering::Relaxed);
            if self.args.on_contention == OnContention::Stale {
                stats.served_stale.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
            acquired = self
                .manager
                .acquire_guard(
                    key,
                    duration,
                    GuardOptions::default().wait(self.wait_policy()),
                )
                .await;
        }
        let guard = acquired.map_err(|e| format!("acquire: {e}"))?;
        // Someone may have regenerated between our read and our acquire (always, for a waiter).
        let regenerated = if self.generation(page).await? < round {
            self.regenerate_under(&guard, page, round).await
        } else {
            stats.served_fresh.fetch_add(1, Ordering::Relaxed);
            Ok(())
        };
        let started = Instant::now();
        let released = guard.release().await;
        self.record(started);
        regenerated?;
        released.map(|_| ()).map_err(|e| format!("release: {e}"))
    }

    /// How a request that found the lease held waits for it (`--on-contention wait`): polling
    /// at most every 100 ms for the regenerator's release (or until its lease's expiry), long
    /// enough for the regeneration and every other waiter of the page.
    fn wait_policy(&self) -> WaitPolicy {
        let timeout = Duration::from_millis(
            self.args.lease_ms + self.args.work_ms.saturating_mul(2) + 10_000,
        );
        WaitPolicy::with_timeout(timeout).max_delay(Duration::from_millis(100))
    }

    /// Regenerates under `guard`: the work is cancelled if the lease is lost (the guard
    /// reports it no later than the lease's safe deadline).
    async fn regenerate_under(
        &self,
        guard: &LeaseGuard<S>,
        page: usize,
        round: u64,
    ) -> Result<(), String> {
        tokio::select! {
            biased;
            reason = guard.lost() => Err(format!("lease of page {page} lost during regeneration: {reason}")),
            done = self.regenerate(page, round) => done,
        }
    }

    /// Regenerates `page` for `round` (simulated work), counting duplicates: a regeneration that
    /// overlaps another of the same page, or a second one in the same round.
    async fn regenerate(&self, page: usize, round: u64) -> Result<(), String> {
        let stats = &self.pages[page];
        let mut duplicate = stats.in_progress.fetch_add(1, Ordering::SeqCst) > 0;
        let slot = usize::try_from(round).unwrap_or(usize::MAX);
        if let Some(count) = self.per_round[page].get(slot) {
            duplicate |= count.fetch_add(1, Ordering::SeqCst) > 0;
        }
        if duplicate {
            stats.duplicates.fetch_add(1, Ordering::Relaxed);
        }
        stats.regenerations.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(self.args.work_ms)).await;
        let written = self.write_meta(page, round).await;
        stats.in_progress.fetch_sub(1, Ordering::SeqCst);
        stats.served_fresh.fetch_add(1, Ordering::Relaxed);
        written
    }
}

async fn run<S: Store + 'static>(
    manager: Arc<LeaseManager<S>>,
    args: Args,
    store_name: &str,
) -> ExitCode {
    let run_id = format!(
        "{:x}",
        std::process::id() ^ u32::try_from(time_seed()).unwrap_or(0)
    );
    let run = Arc::new(Run {
        pages: (0..args.pages).map(|_| PageStats::default()).collect(),
        per_round: (0..args.pages)
            .map(|_| (0..=args.rounds).map(|_| AtomicU64::new(0)).collect())
            .collect(),
        latencies_us: std::sync::Mutex::new(Vec::new()),
        manager,
        args: args.clone(),
        run_id,
    });
    let started = Instant::now();
    let mut errors = Vec::new();
    for round in 1..=args.rounds {
        let tasks: Vec<_> = (0..args.requests)
            .map(|i| {
                let run = run.clone();
                tokio::spawn(async move { run.request(i % run.args.pages, round).await })
            })
            .collect();
        for task in tasks {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => errors.push(e),
                Err(e) => errors.push(format!("request task failed: {e}")),
            }
        }
    }
    report(&run, store_name, started.elapsed(), &errors)
}

fn report<S: Store>(
    run: &Run<S>,
    store_name: &str,
    elapsed: Duration,
    errors: &[String],
) -> ExitCode {
    let args = &run.args;
    let metrics = run.manager.metrics();
    println!(
        "ISR regeneration on {store_name}: {} pages, {} rounds x {} concurrent requests, lease {} ms, work {} ms, on contention: {:?}, {:.2} s",
        args.pages,
        args.rounds,
        args.requests,
        args.lease_ms,
        args.work_ms,
        args.on_contention,
        elapsed.as_secs_f64()
    );
    println!(
        "{:<10} {:>13} {:>10} {:>9} {:>9} {:>12} {:>12}",
        "page",
        "regenerations",
        "duplicates",
        "attempts",
        "contended",
        "served-stale",
        "served-fresh"
    );
    let mut totals: BTreeMap<&str, u64> = BTreeMap::new();
    for (i, p) in run.pages.iter().enumerate() {
        let row = [
            ("regenerations", p.regenerations.load(Ordering::Relaxed)),
            ("duplicates", p.duplicates.load(Ordering::Relaxed)),
            ("attempts", p.acquire_attempts.load(Ordering::Relaxed)),
            ("contended", p.contended.load(Ordering::Relaxed)),
            ("stale", p.served_stale.load(Ordering::Relaxed)),
            ("fresh", p.served_fresh.load(Ordering::Relaxed)),
        ];
        for (name, value) in row {
            *totals.entry(name).or_default() += value;
        }
        println!(
            "{:<10} {:>13} {:>10} {:>9} {:>9} {:>12} {:>12}",
            format!("page-{i}"),
            row[0].1,
            row[1].1,
            row[2].1,
            row[3].1,
            row[4].1,
            row[5].1
        );
    }
    let mut latencies = run
        .latencies_us
        .lock()
        .map(|l| l.clone())
        .unwrap_or_default();
    latencies.sort_unstable();
    let pct = |q: f64| {
        let idx = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies.get(idx).copied().unwrap_or(0)
    };
    println!(
        "lease operations: {} (acquire + release), p50 {} us, p99 {} us",
        latencies.len(),
        pct(0.50),
        pct(0.99)
    );
    print_metrics(&metrics);
    let duplicates = totals.get("duplicates").copied().unwrap_or(0);
    let regenerations = totals.get("regenerations").copied().unwrap_or(0);
    let expected = args.rounds * args.pages as u64;
    println!(
        "total regenerations {regenerations} (expected {expected}), duplicate regenerations {duplicates}"
    );
    for e in errors.iter().take(5) {
        eprintln!("error: {e}");
    }
    // A regeneration longer than the renew period (a third of the lease) must have renewed.
    let renewals_missing = !args.unsafe_no_lease
        && args.work_ms * 3 > args.lease_ms
        && metrics.renewed < regenerations;
    if duplicates > 0
        || !errors.is_empty()
        || regenerations < expected
        || metrics.lost > 0
        || renewals_missing
    {
        eprintln!(
            "FAILED: duplicates {duplicates}, errors {}, regenerations {regenerations}/{expected}, leases lost {}, renewals {}{}",
            errors.len(),
            metrics.lost,
            metrics.renewed,
            if renewals_missing {
                " (fewer than regenerations)"
            } else {
                ""
            }
        );
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn print_metrics(m: &MetricsSnapshot) {
    println!(
        "lease manager: acquired {}, attempts that found the lease held {} (each poll of a waiting acquire counts), renewed {}, renew failures {}, lost {}, released {}",
        m.acquired, m.contended, m.renewed, m.renew_failures, m.lost, m.released
    );
}

fn time_seed() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
        & 0xffff_ffff
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if args.pages == 0 || args.requests == 0 || args.lease_ms == 0 {
        eprintln!("error: --pages, --requests and --lease-ms must be greater than zero");
        return ExitCode::from(2);
    }
    let config = match LeaseConfig::builder(args.table.clone()).build() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match args.endpoint.clone() {
        None => {
            let store = lease_memory::MemoryStore::for_config(&config);
            run(Arc::new(LeaseManager::new(store, config)), args, "memory").await
        }
        Some(endpoint) => {
            let sdk_config = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .endpoint_url(&endpoint)
                .load()
                .await;
            let client = aws_sdk_dynamodb::Client::new(&sdk_config);
            if let Err(e) = lease_dynamodb_sdk::create_lock_table(&client, &config).await {
                eprintln!(
                    "error: cannot create or find table {}: {e}",
                    config.table_name()
                );
                return ExitCode::FAILURE;
            }
            let store = lease_dynamodb_sdk::DynamoDbStore::new(client);
            run(Arc::new(LeaseManager::new(store, config)), args, &endpoint).await
        }
    }
}
