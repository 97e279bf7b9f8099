//! `lease-sim`: runs the simulator over many seeds, or replays one.
//!
//! ```text
//! lease-sim --seeds 10000              # seeds 0..10000 on every core; ends "N seeds, V violations"
//! lease-sim --seeds 1000 --start 5000  # seeds 5000..6000
//! lease-sim --seed 42                  # one seed: its options, its verdict, a shrunk plan if it fails
//! lease-sim --seed 42 --trace          # the same, with every event
//! lease-sim --scripted                 # the fault-class schedules
//! ```

use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use clap::Parser;
use lease_sim::history::Tally;
use lease_sim::{Plan, run, scripted, shrink};

/// Deterministic simulation of the lease lifecycle.
#[derive(Parser, Debug)]
#[command(name = "lease-sim", version)]
struct Args {
    /// How many seeds to run (from --start).
    #[arg(long, default_value_t = 1_000)]
    seeds: u64,
    /// The first seed.
    #[arg(long, default_value_t = 0)]
    start: u64,
    /// Worker threads (default: the machine's cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Replay one seed, with its options and verdict (and a shrunk plan if it fails).
    #[arg(long, conflicts_with_all = ["seeds", "start", "scripted"])]
    seed: Option<u64>,
    /// With --seed: print every event of the run.
    #[arg(long, requires = "seed")]
    trace: bool,
    /// Run the scripted fault-class schedules.
    #[arg(long)]
    scripted: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.scripted {
        return scripted_schedules();
    }
    if let Some(seed) = args.seed {
        return replay(seed, args.trace);
    }
    many(args.start, args.seeds, args.threads)
}

fn scripted_schedules() -> ExitCode {
    let all = scripted::all();
    let failures = scripted::failures();
    for scripted in &all {
        let failed = failures.iter().find(|(name, _)| *name == scripted.name);
        match failed {
            Some((_, why)) => println!("FAIL {}: {why}", scripted.name),
            None => println!("ok   {}", scripted.name),
        }
    }
    println!(
        "{} scripted schedules, {} failed",
        all.len(),
        failures.len()
    );
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn replay(seed: u64, trace: bool) -> ExitCode {
    let plan = Plan::of_seed(seed);
    println!("seed {seed}");
    println!("options: {:#?}", plan.options);
    println!("clock and process faults: {:#?}", plan.clock_faults);
    let outcome = run(&plan, true);
    let lines = outcome.history.trace.clone().unwrap_or_default();
    if trace {
        for line in &lines {
            println!("{line}");
        }
    }
    println!(
        "{} events; exercised: {}",
        outcome.events, outcome.history.tally
    );
    if outcome.report.is_ok() {
        println!("1 seeds, 0 violations");
        return ExitCode::SUCCESS;
    }
    for violation in &outcome.report.violations {
        println!("VIOLATION {}: {violation:?}", violation.property());
    }
    let first = outcome.report.violations[0].property();
    let shrunk = shrink::shrink(&plan, first);
    println!(
        "shrunk to {} clock faults: {:#?}",
        shrunk.clock_faults.len(),
        shrunk.clock_faults
    );
    let kept = shrunk.active_store_faults(outcome.requests).len();
    println!(
        "and {kept} store faults (by request ordinal): {:?}",
        shrunk.active_store_faults(outcome.requests)
    );
    if !trace {
        let tail = lines.len().saturating_sub(60);
        println!("last events (replay with --trace for all):");
        for line in &lines[tail..] {
            println!("{line}");
        }
    }
    println!("1 seeds, {} violations", outcome.report.violations.len());
    ExitCode::FAILURE
}

fn many(start: u64, seeds: u64, threads: Option<usize>) -> ExitCode {
    let threads = threads
        .or_else(|| std::thread::available_parallelism().ok().map(Into::into))
        .unwrap_or(1)
        .max(1);
    let next = AtomicU64::new(start);
    let end = start.saturating_add(seeds);
    let violations = AtomicUsize::new(0);
    let failing: Mutex<Vec<(u64, String)>> = Mutex::new(Vec::new());
    let by_property: Mutex<std::collections::BTreeMap<&'static str, usize>> = Mutex::default();
    let done = AtomicU64::new(0);
    let tally: Mutex<Tally> = Mutex::default();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if seed >= end {
                        return;
                    }
                    let outcome = run(&Plan::of_seed(seed), false);
                    *tally
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) +=
                        outcome.history.tally;
                    if !outcome.report.is_ok() {
                        violations.fetch_add(outcome.report.violations.len(), Ordering::Relaxed);
                        let mut counts = by_property
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        for violation in &outcome.report.violations {
                            *counts.entry(violation.property()).or_default() += 1;
                        }
                        drop(counts);
                        let first = &outcome.report.violations[0];
                        let line = format!("{}: {first:?}", first.property());
                        failing
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push((seed, line));
                    }
                    let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if finished.is_multiple_of(100_000) {
                        eprintln!("lease-sim: {finished} seeds");
                    }
                }
            });
        }
    });
    let mut failing = failing
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    failing.sort_by_key(|(seed, _)| *seed);
    for (seed, line) in failing.iter().take(20) {
        println!("seed {seed} FAILED {line}");
        println!("  replay: scripts/sim.sh --seed {seed}");
    }
    for (property, count) in by_property
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
    {
        println!("  {property}: {count}");
    }
    let tally = tally
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    println!("exercised: {tally}");
    let violations = violations.into_inner();
    println!("{seeds} seeds, {violations} violations");
    if violations == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
