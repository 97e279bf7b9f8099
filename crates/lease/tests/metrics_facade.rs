//! The `metrics` feature: each event is emitted through the `metrics` facade, by the right
//! amount, under the documented names, with units and descriptions. Each test installs its own
//! `DebuggingRecorder` as its thread's recorder and runs a current-thread runtime (every task
//! on that thread), so tests running in parallel do not see each other's events.
//!
//! Run with `cargo test -p lease-manager --features metrics --test metrics_facade`.

#![cfg(feature = "metrics")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::future::Future;

use common::{World, ms, secs, settle};
use lease_memory::{GuardOptions, ReleaseOutcome};
use metrics::Unit;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

const COUNTERS: [&str; 6] = [
    "lease_acquired_total",
    "lease_contended_total",
    "lease_renewed_total",
    "lease_renew_failures_total",
    "lease_lost_total",
    "lease_released_total",
];
const GAUGE: &str = "lease_active_guards";

/// Runs `test` on a paused current-thread runtime with a fresh recorder as this thread's
/// recorder (`metrics::with_local_recorder`); the test reads the recorder through the
/// snapshotter it is given.
fn recorded<F: Future<Output = ()>>(test: impl FnOnce(Snapshotter) -> F) {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || runtime.block_on(test(snapshotter)));
}

/// What was emitted since the last snapshot, by name: unit, description and value. (Taking
/// a snapshot resets counters and gauges to zero: a gauge's value is its change since.)
#[derive(Debug)]
struct Emitted(BTreeMap<String, (Option<Unit>, Option<String>, DebugValue)>);

impl Emitted {
    fn take(snapshotter: &Snapshotter) -> Self {
        let mut emitted = BTreeMap::new();
        for (key, unit, description, value) in snapshotter.snapshot().into_vec() {
            assert!(key.key().labels().next().is_none(), "labels: {key:?}");
            let name = key.key().name().to_owned();
            let previous = emitted.insert(name, (unit, description.map(|d| d.to_string()), value));
            assert!(previous.is_none(), "emitted twice: {key:?}");
        }
        Self(emitted)
    }

    /// A counter's increments; 0 if it was not emitted at all.
    fn counter(&self, name: &str) -> u64 {
        match self.0.get(name) {
            None => 0,
            Some((_, _, DebugValue::Counter(n))) => *n,
            Some(other) => panic!("{name} is not a counter: {other:?}"),
        }
    }

    fn gauge(&self, name: &str) -> Option<f64> {
        match self.0.get(name) {
            None => None,
            Some((_, _, DebugValue::Gauge(value))) => Some(value.into_inner()),
            Some(other) => panic!("{name} is not a gauge: {other:?}"),
        }
    }

    /// Every metric emitted is one of ours, counted in `Unit::Count`, with a description.
    fn assert_documented(&self) {
        for (name, (unit, description, _)) in &self.0 {
            assert!(
                COUNTERS.contains(&name.as_str()) || name == GAUGE,
                "unknown metric {name}"
            );
            assert_eq!(*unit, Some(Unit::Count), "{name}");
            assert!(
                description.as_ref().is_some_and(|d| !d.is_empty()),
                "{name} has no description"
            );
        }
    }
}

/// An acquire, a contended acquire by another manager, and a release: one increment each, of
/// the counter the manager's own snapshot moves, and nothing else.
#[test]
fn acquire_contention_and_release_are_counted_once_each() {
    recorded(|snapshotter| async move {
        let w = World::new();
        let a = w.manager("a", &w.faulty());
        let b = w.manager("b", &w.faulty());

        let lease = a.try_acquire(w.key(), secs(10)).await.unwrap();
        assert!(
            b.try_acquire(w.key(), secs(10))
                .await
                .unwrap_err()
                .is_held()
        );
        assert_eq!(a.release(&lease).await.unwrap(), ReleaseOutcome::Released);

        let emitted = Emitted::take(&snapshotter);
        emitted.assert_documented();
        let counts = COUNTERS.map(|name| emitted.counter(name));
        assert_eq!(counts, [1, 1, 0, 0, 0, 1], "{emitted:?}");
        assert_eq!(emitted.gauge(GAUGE), None, "{emitted:?}");
        // The facade counts what the two managers' snapshots count, summed.
        let (am, bm) = (a.metrics(), b.metrics());
        assert_eq!(
            [
                am.acquired + bm.acquired,
                am.contended + bm.contended,
                am.released + bm.released
            ],
            [1, 1, 1]
        );
    });
}

/// A guard: acquired, renewed twice, released; the gauge counts it while its driver runs.
#[test]
fn a_guard_counts_renewals_and_runs_in_the_gauge() {
    recorded(|snapshotter| async move {
        let w = World::new();
        let m = w.manager("m", &w.faulty());
        let guard = m
            .acquire_guard(
                w.key(),
                secs(10),
                GuardOptions::default().renew_every(secs(3)),
            )
            .await
            .unwrap();
        w.sleep_until(ms(6_500)).await; // renewed at t=3 and t=6

        let running = Emitted::take(&snapshotter);
        running.assert_documented();
        let counts = COUNTERS.map(|name| running.counter(name));
        assert_eq!(counts, [1, 0, 2, 0, 0, 0], "{running:?}");
        assert_eq!(running.gauge(GAUGE), Some(1.0), "{running:?}");
        assert_eq!(m.metrics().active_guards, 1);

        assert_eq!(guard.release().await.unwrap(), ReleaseOutcome::Released);
        settle(|| m.metrics().active_guards == 0).await;
        let released = Emitted::take(&snapshotter);
        let counts = COUNTERS.map(|name| released.counter(name));
        assert_eq!(counts, [0, 0, 0, 0, 0, 1], "{released:?}");
        // The change since the last snapshot: the one running guard stopped.
        assert_eq!(released.gauge(GAUGE), Some(-1.0), "{released:?}");
        let metrics = m.metrics();
        assert_eq!(
            (metrics.acquired, metrics.renewed, metrics.released),
            (1, 2, 1)
        );
    });
}

/// A guard whose lease is deleted behind its back: its next renewal fails and it is lost.
#[test]
fn a_lost_guard_counts_the_failed_renewal_and_the_loss() {
    recorded(|snapshotter| async move {
        let w = World::new();
        let m = w.manager("m", &w.faulty());
        let guard = m
            .acquire_guard(
                w.key(),
                secs(10),
                GuardOptions::default().renew_every(secs(3)),
            )
            .await
            .unwrap();
        w.delete(&w.key());
        assert!(guard.lost().await.is_not_owned());
        drop(guard);
        settle(|| m.metrics().active_guards == 0).await;

        let emitted = Emitted::take(&snapshotter);
        emitted.assert_documented();
        let counts = COUNTERS.map(|name| emitted.counter(name));
        assert_eq!(counts, [1, 0, 0, 1, 1, 0], "{emitted:?}");
        // Started and stopped since the recorder was installed.
        assert_eq!(emitted.gauge(GAUGE), Some(0.0), "{emitted:?}");
        let metrics = m.metrics();
        assert_eq!(
            (metrics.acquired, metrics.renew_failures, metrics.lost),
            (1, 1, 1)
        );
    });
}
