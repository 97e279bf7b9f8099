//! Supervising the command while the lease is held: forwarding signals to its process group,
//! and stopping the whole group (SIGTERM, then SIGKILL) when the lease is lost, or is at risk
//! so close to its safe deadline that a graceful stop would not end in time.
//!
//! When to stop, from what the lease guard reports:
//! - **Lost** because the lease is not ours any more (taken over, released, deleted): SIGTERM
//!   now, SIGKILL `kill_after` later.
//! - **At risk** (renewals failing) when the lease's safe deadline is less than `kill_after`
//!   away, or **lost** because no renewal could be confirmed before it: SIGTERM, and SIGKILL at
//!   the safe deadline at the latest, so that nothing of the command runs once another host may
//!   take the lease over.
//!
//! Processes the command leaves in its group when it exits are stopped the same way (SIGTERM,
//! SIGKILL `kill_after` later) before the lease is released.

use std::fmt;
use std::io;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

use lease_dynamodb_sdk::{
    LeaseError, LeaseGuard, LeaseStatus, LossReason, status::Kept, store::Store,
};
use nix::sys::signal::Signal;
use tokio::process::Child;
use tokio::time::Instant;

use crate::duration::format_duration;
use crate::exit::chain;
use crate::group::ProcessGroup;
use crate::signals::Signals;

/// How long to wait for the group to disappear after SIGKILL.
const AFTER_KILL: Duration = Duration::from_secs(5);

/// Why `lease run` stopped the command.
#[derive(Debug, Clone)]
pub(crate) enum StopReason {
    /// The lease guard reported the lease lost.
    Lost(LossReason),
    /// Renewals were failing and the safe deadline was less than `kill_after` away.
    AtRisk {
        /// The last renewal's error.
        last_error: Arc<LeaseError>,
        /// `--kill-after`.
        kill_after: Duration,
    },
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Lost(reason) => write!(f, "lost: {reason}"),
            Self::AtRisk {
                last_error,
                kill_after,
            } => write!(
                f,
                "at risk: renewals failing (last error: {}) and its safe deadline less than --kill-after {} away",
                chain(last_error.as_ref()),
                format_duration(*kill_after)
            ),
        }
    }
}

/// How the supervised command ended.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// How the command's main process ended.
    pub(crate) status: io::Result<ExitStatus>,
    /// Why `lease run` stopped the command, if it did.
    pub(crate) stopped: Option<StopReason>,
    /// Whether SIGKILL was sent to the group.
    pub(crate) killed: bool,
    /// Whether processes of the group were still there when `lease run` stopped waiting for
    /// them (after SIGKILL).
    pub(crate) survivors: bool,
}

/// A stop in progress: SIGTERM was sent; SIGKILL is due at `kill_at`.
#[derive(Debug)]
struct Stop {
    reason: StopReason,
    kill_at: Instant,
    killed: bool,
}

/// Supervises `child`, the leader of `group`, under `guard` until the command's main process
/// exits; then makes sure nothing is left in its group.
pub(crate) async fn supervise<S: Store + 'static, L: Kept>(
    child: &mut Child,
    group: ProcessGroup,
    guard: &LeaseGuard<S, L>,
    signals: &mut Signals,
    kill_after: Duration,
    verbose: bool,
) -> Outcome {
    let mut statuses = guard.subscribe();
    let mut watching = true;
    let mut stop: Option<Stop> = None;
    let status = loop {
        let early_stop_at = if stop.is_none() && statuses.current().is_at_risk() {
            safe_deadline(guard)
                .map(|deadline| deadline.checked_sub(kill_after).unwrap_or(deadline))
        } else {
            None
        };
        let kill_at = stop.as_ref().filter(|s| !s.killed).map(|s| s.kill_at);
        tokio::select! {
            biased;
            changed = statuses.changed(), if watching => {
                let Some(current) = changed else {
                    watching = false;
                    continue;
                };
                if let (LeaseStatus::Lost(reason), None) = (current, &stop) {
                    stop = Some(begin_stop(group, StopReason::Lost(reason), guard, kill_after, verbose));
                }
            }
            () = at(early_stop_at) => {
                let last_error = match statuses.current() {
                    LeaseStatus::AtRisk { last_error, .. } => Some(last_error),
                    _ => None,
                };
                if let Some(last_error) = last_error {
                    let reason = StopReason::AtRisk { last_error, kill_after };
                    stop = Some(begin_stop(group, reason, guard, kill_after, verbose));
                }
            }
            () = at(kill_at) => {
                if let Some(stop) = &mut stop {
                    kill(group, stop, verbose);
                }
            }
            status = child.wait() => break status,
            signal = signals.recv() => {
                if verbose {
                    eprintln!("lease: forwarding {signal} to the command's {group}");
                }
                if signal.forwarded() as i32 != signal.number {
                    eprintln!(
                        "lease: {signal} cannot be forwarded as it is; sending {} to the command's {group} instead",
                        signal.forwarded()
                    );
                }
                group.signal(signal.forwarded());
            }
        }
    };
    let survivors = drain(group, &mut stop, kill_after, verbose).await;
    Outcome {
        status,
        killed: stop.as_ref().is_some_and(|s| s.killed),
        stopped: stop.map(|s| s.reason),
        survivors,
    }
}

/// Sends SIGTERM to the group and schedules SIGKILL.
fn begin_stop<S: Store + 'static, L: Kept>(
    group: ProcessGroup,
    reason: StopReason,
    guard: &LeaseGuard<S, L>,
    kill_after: Duration,
    verbose: bool,
) -> Stop {
    let now = Instant::now();
    let graceful = now + kill_after;
    let kill_at = match &reason {
        StopReason::Lost(LossReason::NotOwned | LossReason::Shutdown) => graceful,
        // No later than the safe deadline: after it another host may take the lease over.
        _ => safe_deadline(guard).map_or(graceful, |deadline| graceful.min(deadline.max(now))),
    };
    if verbose {
        eprintln!(
            "lease: lease {reason}; sending SIGTERM to the command's {group}, SIGKILL in {}",
            format_duration(kill_at - now)
        );
    }
    group.signal(Signal::SIGTERM);
    Stop {
        reason,
        kill_at,
        killed: false,
    }
}

fn kill(group: ProcessGroup, stop: &mut Stop, verbose: bool) {
    if verbose {
        eprintln!("lease: sending SIGKILL to the command's {group}");
    }
    group.signal(Signal::SIGKILL);
    stop.killed = true;
}

/// After the command's main process exited: waits for the rest of its group, stopping it
/// (SIGTERM, then SIGKILL) if needed. Returns whether processes survived SIGKILL.
async fn drain(
    group: ProcessGroup,
    stop: &mut Option<Stop>,
    kill_after: Duration,
    verbose: bool,
) -> bool {
    if group.is_empty() {
        return false;
    }
    let kill_at = match stop {
        Some(stop) if stop.killed => None,
        Some(stop) => Some(stop.kill_at),
        None => {
            eprintln!(
                "lease: warning: the command exited but left processes in its {group}; stopping them (SIGTERM, SIGKILL after {}) before releasing the lease",
                format_duration(kill_after)
            );
            group.signal(Signal::SIGTERM);
            Some(Instant::now() + kill_after)
        }
    };
    if let Some(kill_at) = kill_at {
        if group.wait_empty_until(kill_at).await {
            return false;
        }
        if verbose {
            eprintln!("lease: sending SIGKILL to the command's {group}");
        }
        group.signal(Signal::SIGKILL);
        if let Some(stop) = stop {
            stop.killed = true;
        }
    }
    !group.wait_empty_until(Instant::now() + AFTER_KILL).await
}

/// The lease's safe deadline, on tokio's clock.
fn safe_deadline<S: Store + 'static, L: Kept>(guard: &LeaseGuard<S, L>) -> Option<Instant> {
    Kept::valid_until(&guard.lease()).map(Instant::from_std)
}

/// Sleeps until `deadline`; never wakes without one.
async fn at(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
