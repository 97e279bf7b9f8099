//! Counters of lease events, per manager, for a user to read or export; with the `metrics`
//! feature, also emitted through the `metrics` facade (the names are in [`MetricsSnapshot`]'s
//! documentation).

use std::sync::atomic::{AtomicU64, Ordering};

use lease_core::{Lease, LeaseError, ReleaseOutcome};

// The names under which the `metrics` feature emits the counters (and the gauge).
const ACQUIRED: &str = "lease_acquired_total";
const CONTENDED: &str = "lease_contended_total";
const RENEWED: &str = "lease_renewed_total";
const RENEW_FAILURES: &str = "lease_renew_failures_total";
const LOST: &str = "lease_lost_total";
const RELEASED: &str = "lease_released_total";
#[cfg(feature = "metrics")]
const ACTIVE_GUARDS: &str = "lease_active_guards";

/// The counters of one [`LeaseManager`](crate::LeaseManager), read with
/// [`LeaseManager::metrics`](crate::LeaseManager::metrics). Each is the number of events since
/// the manager was made; counters only grow (export them as monotonic counters).
///
/// Events of plain calls ([`acquire`](crate::LeaseManager::acquire),
/// [`refresh`](crate::LeaseManager::refresh), [`release`](crate::LeaseManager::release)) and of
/// lease guards (whose renewals are refreshes) are counted alike.
///
/// # Through the `metrics` facade (cargo feature `metrics`)
///
/// With the crate's `metrics` feature (off by default), every event is also emitted through the
/// [`metrics`](https://docs.rs/metrics/0.24) facade, to the recorder (exporter: Prometheus,
/// StatsD, OpenTelemetry, ...) the application installs; without a recorder, nothing is
/// recorded. Counters are monotonic, without labels, and summed over every manager of the
/// process (this snapshot is one manager's):
///
/// | metric | kind | unit | field | counts |
/// |---|---|---|---|---|
/// | `lease_acquired_total` | counter | count | [`acquired`](Self::acquired) | acquires that succeeded |
/// | `lease_contended_total` | counter | count | [`contended`](Self::contended) | acquire attempts that found the lease held by another holder |
/// | `lease_renewed_total` | counter | count | [`renewed`](Self::renewed) | refreshes (renewals) that succeeded |
/// | `lease_renew_failures_total` | counter | count | [`renew_failures`](Self::renew_failures) | refreshes (renewals) that failed |
/// | `lease_lost_total` | counter | count | [`lost`](Self::lost) | leases that guards reported lost |
/// | `lease_released_total` | counter | count | [`released`](Self::released) | releases that released a lease of ours |
/// | `lease_active_guards` | gauge | count | [`active_guards`](Self::active_guards) | guards whose driver task is running now |
///
/// Each is counted when the event happens, to the recorder in effect then (the global one, or
/// a thread's local one, as the facade's macros do). The descriptions and units above are
/// given to the recorder in effect when a manager is made ([`LeaseManager::new`]), so install
/// the recorder before making managers.
///
/// [`LeaseManager::new`]: crate::LeaseManager::new
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct MetricsSnapshot {
    /// Acquires that succeeded (a waiting acquire counts once, when it succeeds).
    pub acquired: u64,
    /// Acquire attempts that found the lease held by another holder (each attempt of a waiting
    /// acquire counts).
    pub contended: u64,
    /// Refreshes (renewals) that succeeded.
    pub renewed: u64,
    /// Refreshes (renewals) that failed, for any reason (the lease was not ours any more, or
    /// the store failed after the manager's retries).
    pub renew_failures: u64,
    /// Leases that lease guards reported lost: taken over or expired
    /// ([`LossReason::NotOwned`](crate::LossReason::NotOwned)), or not confirmed before their
    /// safe deadline ([`LossReason::Unconfirmed`](crate::LossReason::Unconfirmed)). Guards
    /// ended by [`shutdown`](crate::LeaseManager::shutdown) are not counted here.
    pub lost: u64,
    /// Releases that released a lease of ours ([`ReleaseOutcome::Released`]), guards' releases
    /// included.
    pub released: u64,
    /// Lease guards whose driver task is running now (a gauge, not a counter): guards not yet
    /// released, dropped or shut down, and lost guards not yet released or dropped.
    pub active_guards: u64,
}

/// The live counters.
#[derive(Debug)]
pub(crate) struct Metrics {
    acquired: AtomicU64,
    contended: AtomicU64,
    renewed: AtomicU64,
    renew_failures: AtomicU64,
    lost: AtomicU64,
    released: AtomicU64,
}

impl Default for Metrics {
    /// Zero counters; with the `metrics` feature, the facade's metrics are described (names,
    /// units, descriptions) to the recorder in effect.
    fn default() -> Self {
        #[cfg(feature = "metrics")]
        describe();
        Self {
            acquired: AtomicU64::new(0),
            contended: AtomicU64::new(0),
            renewed: AtomicU64::new(0),
            renew_failures: AtomicU64::new(0),
            lost: AtomicU64::new(0),
            released: AtomicU64::new(0),
        }
    }
}

impl Metrics {
    /// The counters, with `active_guards` from the guard registry.
    pub(crate) fn snapshot(&self, active_guards: usize) -> MetricsSnapshot {
        let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
        MetricsSnapshot {
            acquired: read(&self.acquired),
            contended: read(&self.contended),
            renewed: read(&self.renewed),
            renew_failures: read(&self.renew_failures),
            lost: read(&self.lost),
            released: read(&self.released),
            active_guards: u64::try_from(active_guards).unwrap_or(u64::MAX),
        }
    }

    pub(crate) fn record_acquire(&self, result: &Result<Lease, LeaseError>) {
        match result {
            Ok(_) => bump(&self.acquired, ACQUIRED),
            Err(LeaseError::Held { .. }) => bump(&self.contended, CONTENDED),
            Err(_) => {}
        }
    }

    pub(crate) fn record_refresh(&self, result: &Result<Lease, LeaseError>) {
        match result {
            Ok(_) => self.record_renewed(),
            Err(_) => self.record_renew_failure(),
        }
    }

    pub(crate) fn record_release(&self, result: &Result<ReleaseOutcome, LeaseError>) {
        if let Ok(ReleaseOutcome::Released) = result {
            self.record_released();
        }
    }

    pub(crate) fn record_contended(&self) {
        bump(&self.contended, CONTENDED);
    }

    pub(crate) fn record_lost(&self) {
        bump(&self.lost, LOST);
    }

    pub(crate) fn record_renewed(&self) {
        bump(&self.renewed, RENEWED);
    }

    pub(crate) fn record_renew_failure(&self) {
        bump(&self.renew_failures, RENEW_FAILURES);
    }

    pub(crate) fn record_released(&self) {
        bump(&self.released, RELEASED);
    }
}

/// One more event: in the manager's `counter` and, with the `metrics` feature, in the facade's
/// counter `name`.
fn bump(counter: &AtomicU64, name: &'static str) {
    counter.fetch_add(1, Ordering::Relaxed);
    #[cfg(feature = "metrics")]
    metrics::counter!(name).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = name;
}

/// One running guard driver task, for as long as it lives: with the `metrics` feature, one in
/// the facade's `lease_active_guards` gauge (the recorder's at the start, also at the end).
/// Without it, nothing.
#[derive(Debug)]
pub(crate) struct RunningGuard {
    #[cfg(feature = "metrics")]
    gauge: metrics::Gauge,
}

impl RunningGuard {
    /// A driver task starts.
    pub(crate) fn start() -> Self {
        #[cfg(feature = "metrics")]
        {
            let gauge = metrics::gauge!(ACTIVE_GUARDS);
            gauge.increment(1.0);
            Self { gauge }
        }
        #[cfg(not(feature = "metrics"))]
        Self {}
    }
}

#[cfg(feature = "metrics")]
impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.gauge.decrement(1.0);
    }
}

/// Gives the recorder in effect the unit and description of each metric.
#[cfg(feature = "metrics")]
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge};
    describe_counter!(ACQUIRED, Unit::Count, "Lease acquires that succeeded.");
    describe_counter!(
        CONTENDED,
        Unit::Count,
        "Lease acquire attempts that found the lease held by another holder."
    );
    describe_counter!(
        RENEWED,
        Unit::Count,
        "Lease refreshes (renewals) that succeeded."
    );
    describe_counter!(
        RENEW_FAILURES,
        Unit::Count,
        "Lease refreshes (renewals) that failed: not ours any more, or the store failed."
    );
    describe_counter!(
        LOST,
        Unit::Count,
        "Leases that lease guards reported lost: taken over, expired or not confirmed in time."
    );
    describe_counter!(
        RELEASED,
        Unit::Count,
        "Releases that released a lease of ours."
    );
    describe_gauge!(
        ACTIVE_GUARDS,
        Unit::Count,
        "Lease guards whose driver task is running (renewing, or lost and not yet dropped)."
    );
}
