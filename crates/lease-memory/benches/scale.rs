//! Many leases held by one process (issue 14): N lease guards on one [`LeaseManager`] over a
//! [`MemoryStore`], on tokio's paused clock, for N = 1 000, 10 000 and 100 000, each with the
//! renewal jitter off and with the default jitter (0.2), side by side.
//!
//! Run with `cargo bench -p lease-memory --bench scale` (about a minute on 2 cores); see
//! `docs/performance.md`, "Many leases per process". `LEASE_SCALE_SIZES` (default
//! `1000,10000,100000`), `LEASE_SCALE_HOLD_SECS` (default 300, virtual seconds) and
//! `LEASE_SCALE_VARIANTS` (default `no-jitter,default`; the controls `spread-no-jitter` and
//! `same-seed` on request) change the sizes, how long the leases are held and the renewal
//! schedules compared.
//!
//! Each case runs in a fresh child process (this binary again, with `LEASE_SCALE_CASE` set), so
//! that its resident memory is not made smaller by memory an earlier case freed. A case:
//!
//! 1. builds a current-thread tokio runtime with the clock paused, a manager with the default
//!    configuration, its store's tokens and a [`TestClock`] (which follows tokio's clock);
//! 2. acquires N plain leases (no guard) on a second store and keeps that store: the resident
//!    memory this adds is the in-memory table's share of a lease (a service on DynamoDB does
//!    not have it);
//! 3. acquires N guards of 30 s (renewed every 10 s by default) on distinct keys, all at the
//!    same virtual instant (the control `spread-no-jitter`: spread over 10 s), keeps them in a `Vec`, and lets every driver task run once: the
//!    resident memory added (`VmRSS` from `/proc/self/status`, read before and after) divided
//!    by N is the **resident memory per held lease**: guard, driver task, timer, keeper and the
//!    lease's item in the table. Resident memory, not an allocation count: it is what the
//!    process costs, allocator overhead and fragmentation included;
//! 4. holds them for `LEASE_SCALE_HOLD_SECS` of virtual time: process CPU time
//!    (`CLOCK_PROCESS_CPUTIME_ID`) over that phase divided by the renewals sent is the **CPU
//!    per renewal**, store included (planning, the store's evaluation, the answer, the keeper,
//!    the driver task's wake-ups and tokio's timers). Every request is counted by the instant
//!    it reaches the store, in 10 ms bins of virtual time: the **largest number of renewals
//!    sent in any one second** is the largest sum over 100 consecutive bins (a sliding
//!    window), over the whole hold, over its first minute and over its last minute;
//! 5. shuts the manager down (`LeaseManager::shutdown`, which releases every lease): its wall
//!    and CPU time is the **shutdown time**.
//!
//! The child checks that every guard is still held after the hold (no renewal failed, none
//! lost) and that the shutdown released every lease; it fails otherwise.
//!
//! [`LeaseManager`]: lease_memory::LeaseManager
//! [`MemoryStore`]: lease_memory::MemoryStore
//! [`TestClock`]: lease_memory::clock::TestClock

use std::error::Error;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use cpu_time::ProcessTime;
use lease_memory::{
    GuardOptions, LeaseConfig, LeaseManager, MemoryStore,
    clock::TestClock,
    store::{Request, Store, StoreError, StoreResponse},
    token::TokenSource,
};

type Res<T> = Result<T, Box<dyn Error>>;

/// Set in a child process: the case it runs, `N:VARIANT`.
const CASE_ENV: &str = "LEASE_SCALE_CASE";
const DURATION: Duration = Duration::from_secs(30);
/// Requests are counted in bins of this many milliseconds of virtual time.
const BIN_MS: u64 = 10;
const BINS_PER_SECOND: usize = 100;

/// The renewal schedules compared by default (`LEASE_SCALE_VARIANTS`): the jitter off (every
/// renewal exactly one period after the last, as before issue 14), and the default options
/// (jitter 0.2). Two controls on request: `spread-no-jitter` (the jitter off, the guards
/// acquired spread evenly over one renew period instead of at once, in the order they are
/// allocated) and `same-seed` (jitter 0.2, every guard with the same seed: the jitter is
/// computed, but the guards stay in step).
const VARIANTS: &str = "no-jitter,default";

/// The guard options of a variant.
fn options(variant: &str) -> Res<GuardOptions> {
    match variant {
        "no-jitter" | "spread-no-jitter" => Ok(GuardOptions::default().renew_jitter(0.0)),
        "default" => Ok(GuardOptions::default()),
        "same-seed" => Ok(GuardOptions::default().renew_jitter_seed(1)),
        other => Err(format!("unknown variant {other:?}").into()),
    }
}

/// How a variant shows in the table.
fn label(variant: &str) -> &str {
    match variant {
        "no-jitter" => "jitter 0 (off)",
        "default" => "default (jitter 0.2)",
        "spread-no-jitter" => "jitter 0, acquired spread over a period",
        "same-seed" => "jitter 0.2, one seed for all (in step)",
        other => other,
    }
}

fn main() -> Res<()> {
    let hold = Duration::from_secs(env_or("LEASE_SCALE_HOLD_SECS", "300")?.parse()?);
    if let Ok(case) = std::env::var(CASE_ENV) {
        let (n, variant) = case.split_once(':').ok_or("bad case")?;
        let result = run_case(n.parse()?, variant, hold)?;
        println!("scale-result {}", result.to_line());
        return Ok(());
    }
    let sizes: Vec<usize> = env_or("LEASE_SCALE_SIZES", "1000,10000,100000")?
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let variants = env_or("LEASE_SCALE_VARIANTS", VARIANTS)?;
    println!(
        "scale: N guards of {DURATION:?} on one manager over a MemoryStore, paused clock, held {hold:?} (virtual); one child process per case"
    );
    let mut results = Vec::new();
    for &n in &sizes {
        for variant in variants.split(',') {
            let output = Command::new(std::env::current_exe()?)
                .env(CASE_ENV, format!("{n}:{variant}"))
                .output()?;
            let stdout = String::from_utf8_lossy(&output.stdout);
            let line = stdout.lines().find_map(|l| l.strip_prefix("scale-result "));
            match (output.status.success(), line) {
                (true, Some(line)) => {
                    let result = CaseResult::from_line(line)?;
                    eprintln!("  done: {}", result.to_line());
                    results.push(result);
                }
                _ => {
                    return Err(format!(
                        "case {n}:{variant} failed ({}): {}{}",
                        output.status,
                        stdout,
                        String::from_utf8_lossy(&output.stderr)
                    )
                    .into());
                }
            }
        }
    }
    print_table(&results);
    Ok(())
}

fn env_or(name: &str, default: &str) -> Res<String> {
    match std::env::var(name) {
        Ok(value) => Ok(value),
        Err(std::env::VarError::NotPresent) => Ok(default.to_owned()),
        Err(e) => Err(e.into()),
    }
}

/// What one case measured.
#[derive(Debug, Default)]
struct CaseResult {
    n: usize,
    variant: String,
    /// Resident bytes added per held lease (guard, task, keeper, and its item in the table).
    rss_per_lease: f64,
    /// The same, after the hold (every lease renewed many times).
    rss_per_lease_after: f64,
    /// Resident bytes added per plain lease in a `MemoryStore` (the table's share).
    table_per_lease: f64,
    /// CPU µs per `acquire_guard` (acquire + starting the guard).
    acquire_cpu_us: f64,
    /// Renewals sent during the hold.
    renewals: u64,
    /// CPU µs per renewal over the hold.
    cpu_per_renewal_us: f64,
    /// Wall seconds of the hold.
    hold_wall_s: f64,
    /// The largest number of renewals in any one second: whole hold, first minute, last
    /// minute; and the mean per second.
    max_1s: u64,
    max_1s_first_min: u64,
    max_1s_last_min: u64,
    mean_per_s: f64,
    /// `shutdown()`: wall and CPU milliseconds.
    shutdown_wall_ms: f64,
    shutdown_cpu_ms: f64,
}

impl CaseResult {
    fn to_line(&self) -> String {
        format!(
            "n={} variant={} rss_per_lease={:.0} rss_per_lease_after={:.0} table_per_lease={:.0} \
             acquire_cpu_us={:.2} \
             renewals={} cpu_per_renewal_us={:.3} hold_wall_s={:.2} max_1s={} \
             max_1s_first_min={} max_1s_last_min={} mean_per_s={:.0} shutdown_wall_ms={:.1} \
             shutdown_cpu_ms={:.1}",
            self.n,
            self.variant,
            self.rss_per_lease,
            self.rss_per_lease_after,
            self.table_per_lease,
            self.acquire_cpu_us,
            self.renewals,
            self.cpu_per_renewal_us,
            self.hold_wall_s,
            self.max_1s,
            self.max_1s_first_min,
            self.max_1s_last_min,
            self.mean_per_s,
            self.shutdown_wall_ms,
            self.shutdown_cpu_ms,
        )
    }

    fn from_line(line: &str) -> Res<Self> {
        let mut r = Self::default();
        for field in line.split_whitespace() {
            let (k, v) = field.split_once('=').ok_or("bad field")?;
            match k {
                "n" => r.n = v.parse()?,
                "variant" => v.clone_into(&mut r.variant),
                "rss_per_lease" => r.rss_per_lease = v.parse()?,
                "rss_per_lease_after" => r.rss_per_lease_after = v.parse()?,
                "table_per_lease" => r.table_per_lease = v.parse()?,
                "acquire_cpu_us" => r.acquire_cpu_us = v.parse()?,
                "renewals" => r.renewals = v.parse()?,
                "cpu_per_renewal_us" => r.cpu_per_renewal_us = v.parse()?,
                "hold_wall_s" => r.hold_wall_s = v.parse()?,
                "max_1s" => r.max_1s = v.parse()?,
                "max_1s_first_min" => r.max_1s_first_min = v.parse()?,
                "max_1s_last_min" => r.max_1s_last_min = v.parse()?,
                "mean_per_s" => r.mean_per_s = v.parse()?,
                "shutdown_wall_ms" => r.shutdown_wall_ms = v.parse()?,
                "shutdown_cpu_ms" => r.shutdown_cpu_ms = v.parse()?,
                _ => return Err(format!("unknown field {k}").into()),
            }
        }
        Ok(r)
    }
}

fn print_table(results: &[CaseResult]) {
    println!();
    println!(
        "| N | renewal schedule | resident per held lease: acquired / after the hold (the table's share) | acquire_guard CPU | CPU per renewal | renewals | most renewals in 1 s: whole hold / first min / last min (mean/s) | shutdown wall (CPU) |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|");
    for r in results {
        println!(
            "| {} | {} | {:.2} / {:.2} KiB ({:.2} KiB) | {:.2} µs | {:.2} µs | {} | {} / {} / {} ({:.0}) | {:.1} ms ({:.1} ms) |",
            r.n,
            label(&r.variant),
            r.rss_per_lease / 1024.0,
            r.rss_per_lease_after / 1024.0,
            r.table_per_lease / 1024.0,
            r.acquire_cpu_us,
            r.cpu_per_renewal_us,
            r.renewals,
            r.max_1s,
            r.max_1s_first_min,
            r.max_1s_last_min,
            r.mean_per_s,
            r.shutdown_wall_ms,
            r.shutdown_cpu_ms,
        );
    }
}

/// The process's resident set size in bytes (`VmRSS` in `/proc/self/status`).
fn rss() -> Res<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .ok_or("no VmRSS in /proc/self/status (Linux only)")?;
    let kib: u64 = line.trim().trim_end_matches("kB").trim().parse()?;
    Ok(kib * 1024)
}

fn cpu() -> Res<ProcessTime> {
    Ok(ProcessTime::try_now()?)
}

#[expect(clippy::cast_precision_loss, reason = "figures for a report")]
fn per(total: f64, n: u64) -> f64 {
    total / n as f64
}

#[expect(clippy::cast_precision_loss, reason = "figures for a report")]
fn as_f64(n: usize) -> f64 {
    n as f64
}

/// A store that counts every request by the instant (virtual time, since `start`) it arrives,
/// while `active`.
#[derive(Clone)]
struct Counting {
    inner: MemoryStore,
    start: tokio::time::Instant,
    active: Arc<AtomicBool>,
    bins: Arc<[AtomicU32]>,
}

impl Store for Counting {
    fn execute(
        &self,
        request: &Request,
    ) -> impl Future<Output = Result<StoreResponse, StoreError>> + Send {
        if self.active.load(Ordering::Relaxed) {
            let ms = self.start.elapsed().as_millis();
            let bin = usize::try_from(ms / u128::from(BIN_MS)).unwrap_or(usize::MAX);
            if let Some(count) = self.bins.get(bin) {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.inner.execute(request)
    }

    fn default_token_source(&self) -> Option<Arc<dyn TokenSource>> {
        self.inner.default_token_source()
    }
}

/// The largest sum of `window` consecutive counts.
fn max_window(counts: &[u32], window: usize) -> u64 {
    let mut sum: u64 = 0;
    let mut max = 0;
    for (i, c) in counts.iter().enumerate() {
        sum += u64::from(*c);
        if i >= window {
            sum -= u64::from(counts[i - window]);
        }
        max = max.max(sum);
    }
    max
}

fn run_case(n: usize, variant: &str, hold: Duration) -> Res<CaseResult> {
    let options = options(variant)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()?;
    runtime.block_on(async move {
        let config = LeaseConfig::builder("locks").build()?;
        let start = tokio::time::Instant::now();
        let bin_count = usize::try_from(hold.as_millis() / u128::from(BIN_MS))? + 2 * 60 * 100;
        let bins: Arc<[AtomicU32]> = (0..bin_count).map(|_| AtomicU32::new(0)).collect();
        let active = Arc::new(AtomicBool::new(false));
        let store = Counting {
            inner: MemoryStore::for_config(&config),
            start,
            active: Arc::clone(&active),
            bins: Arc::clone(&bins),
        };
        let clock = Arc::new(TestClock::at_epoch_seconds(1_800_000_000));
        let manager = LeaseManager::new(store, config.clone()).with_clock(Arc::clone(&clock));
        let table_only = LeaseManager::new(MemoryStore::for_config(&config), config)
            .with_clock(Arc::clone(&clock));
        let n64 = u64::try_from(n)?;

        // The table's share: N plain leases, kept in the store, the `Lease` values dropped.
        let base = rss()?;
        for i in 0..n {
            table_only
                .try_acquire(format!("TABLE#/page/{i}"), DURATION)
                .await?;
        }
        let with_table = rss()?;

        // N guards, acquired at the same virtual instant.
        let mut guards = Vec::with_capacity(n);
        let cpu0 = cpu()?;
        let spread = variant.starts_with("spread");
        for i in 0..n {
            if spread {
                // Guard i at i/N of the renew period (10 s): apart from the start, in the order
                // they were allocated.
                let at = Duration::from_secs(10).mul_f64(per(as_f64(i), n64));
                tokio::time::sleep_until(start + at).await;
            }
            guards.push(
                manager
                    .acquire_guard(format!("CACHE#/page/{i}"), DURATION, options.clone())
                    .await?,
            );
        }
        let acquire_cpu = cpu0.try_elapsed()?;
        // Every driver task runs once (and sets its timer).
        tokio::time::sleep(Duration::from_millis(1)).await;
        let held = rss()?;

        // The hold: from here on, every request is a renewal, counted.
        let hold_start = tokio::time::Instant::now();
        let renewed_before = manager.metrics().renewed;
        active.store(true, Ordering::Relaxed);
        let (cpu1, wall1) = (cpu()?, Instant::now());
        tokio::time::sleep_until(hold_start + hold).await;
        let (hold_cpu, hold_wall) = (cpu1.try_elapsed()?, wall1.elapsed());
        let after_hold = rss()?;
        let metrics = manager.metrics();
        if metrics.renew_failures != 0 || metrics.lost != 0 || metrics.active_guards != n64 {
            return Err(format!("not every guard renewed: {metrics:?}").into());
        }
        if guards.iter().any(|g| !g.is_valid()) {
            return Err("a guard is not held after the hold".into());
        }
        active.store(false, Ordering::Relaxed);
        let first = usize::try_from((hold_start - start).as_millis() / u128::from(BIN_MS))?;
        let last = usize::try_from((hold_start + hold - start).as_millis() / u128::from(BIN_MS))?;
        let counts: Vec<u32> = bins[first..=last]
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        let renewals: u64 = counts.iter().map(|c| u64::from(*c)).sum();
        if renewals != metrics.renewed - renewed_before {
            return Err(format!(
                "{renewals} requests during the hold, {} renewals counted by the manager",
                metrics.renewed - renewed_before
            )
            .into());
        }
        let minute = 60 * BINS_PER_SECOND;
        let head = &counts[..minute.min(counts.len())];
        let tail = &counts[counts.len().saturating_sub(minute)..];

        // Shutdown.
        let (cpu2, wall2) = (cpu()?, Instant::now());
        manager.shutdown().await;
        let (shutdown_cpu, shutdown_wall) = (cpu2.try_elapsed()?, wall2.elapsed());
        if manager.metrics().released != n64 {
            return Err(format!("shutdown released {:?}", manager.metrics()).into());
        }
        drop(guards);

        #[expect(clippy::cast_precision_loss, reason = "figures for a report")]
        Ok(CaseResult {
            n,
            variant: variant.to_owned(),
            rss_per_lease: per(held as f64 - with_table as f64, n64),
            rss_per_lease_after: per(after_hold as f64 - with_table as f64, n64),
            table_per_lease: per(with_table as f64 - base as f64, n64),
            acquire_cpu_us: per(acquire_cpu.as_secs_f64() * 1e6, n64),
            renewals,
            cpu_per_renewal_us: per(hold_cpu.as_secs_f64() * 1e6, renewals.max(1)),
            hold_wall_s: hold_wall.as_secs_f64(),
            max_1s: max_window(&counts, BINS_PER_SECOND),
            max_1s_first_min: max_window(head, BINS_PER_SECOND),
            max_1s_last_min: max_window(tail, BINS_PER_SECOND),
            mean_per_s: renewals as f64 / hold.as_secs_f64(),
            shutdown_wall_ms: shutdown_wall.as_secs_f64() * 1e3,
            shutdown_cpu_ms: shutdown_cpu.as_secs_f64() * 1e3,
        })
    })
}
