//! Counters of lease events, per manager, for a user to read or export.

use std::sync::atomic::{AtomicU64, Ordering};

use lease_core::{Lease, LeaseError, ReleaseOutcome};

/// The counters of one [`LeaseManager`](crate::LeaseManager), read with
/// [`LeaseManager::metrics`](crate::LeaseManager::metrics). Each is the number of events since
/// the manager was made; counters only grow (export them as monotonic counters).
///
/// Events of plain calls ([`acquire`](crate::LeaseManager::acquire),
/// [`refresh`](crate::LeaseManager::refresh), [`release`](crate::LeaseManager::release)) and of
/// lease guards (whose renewals are refreshes) are counted alike.
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
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    acquired: AtomicU64,
    contended: AtomicU64,
    renewed: AtomicU64,
    renew_failures: AtomicU64,
    lost: AtomicU64,
    released: AtomicU64,
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
            Ok(_) => bump(&self.acquired),
            Err(LeaseError::Held { .. }) => bump(&self.contended),
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
        bump(&self.contended);
    }

    pub(crate) fn record_lost(&self) {
        bump(&self.lost);
    }

    pub(crate) fn record_renewed(&self) {
        bump(&self.renewed);
    }

    pub(crate) fn record_renew_failure(&self) {
        bump(&self.renew_failures);
    }

    pub(crate) fn record_released(&self) {
        bump(&self.released);
    }
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}
