//! `lease run`: acquire, run the command in its own process group under a renewed lease
//! ([`supervise`](crate::supervise)), release, exit with the command's status.

use std::ffi::OsStr;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::Duration;

use lease_dynamodb_sdk::{
    DynamoDbLeaseManager, DynamoDbStore, GuardOptions, LeaseGuard, LeaseKey, ReleaseOutcome,
    status::Kept,
};

use crate::cli::{FormatArgs, RunArgs, StoreArgs};
use crate::connect::Connection;
use crate::exit::{Failure, chain, status};
use crate::group::{self, ProcessGroup};
use crate::output::utc;
use crate::signals::{Received, Signals};
use crate::supervise::{Outcome, supervise};
use crate::wait::acquire_waiting;

/// The longest wait for the release after the command was stopped (the store may be down).
const RELEASE_AFTER_STOP: Duration = Duration::from_secs(5);

/// Runs `lease run`; returns the exit status.
///
/// # Errors
/// A [`Failure`] with the status and reason: usage, held, timed out, store error, interrupted
/// while waiting, command not found, lease lost.
pub(crate) async fn run(
    store: &StoreArgs,
    format: &FormatArgs,
    verbose: bool,
    args: RunArgs,
) -> Result<u8, Failure> {
    // First, so that a signal while connecting or waiting ends `lease` without the command.
    let mut signals = Signals::install()?;
    if args.keys.len() > 1 && args.permits.is_some() {
        return Err(Failure::usage(
            "--permits takes one semaphore name: give one KEY with --permits",
        ));
    }
    if args.keys.len() > 1 && args.keys.iter().any(|key| key.contains('\n')) {
        return Err(Failure::usage(
            "a KEY of several holds a line break, which LEASE_KEYS (one key per line) could not tell apart",
        ));
    }
    let connection = Connection::open(store, format).await?;
    let manager = connection.manager();
    let keys: Vec<LeaseKey> = args
        .keys
        .iter()
        .map(|key| manager.config().resolve_key(key.clone()))
        .collect();
    let Some(key) = keys.first().cloned() else {
        return Err(Failure::usage("no KEY given"));
    };
    let mut options = GuardOptions::default();
    if let Some(every) = args.renew_every {
        options = options.renew_every(every);
    }
    let duration = args.acquire.duration;
    if keys.len() > 1 {
        let acquire = acquire_waiting(&key, &args.acquire, verbose, |wait| {
            let manager = manager.clone();
            let keys = keys.clone();
            let options = match wait {
                Some(policy) => options.clone().wait(policy),
                None => options.clone(),
            };
            async move { manager.acquire_set_guard(keys, duration, options).await }
        });
        let guard = tokio::select! {
            biased;
            signal = signals.recv() => return Err(interrupted(signal, &key)),
            acquired = acquire => acquired.map_err(|e| Failure::lease(&e, manager.config()))?,
        };
        let set = guard.lease();
        let names: Vec<&str> = set.keys().map(LeaseKey::partition).collect();
        let fences: Vec<String> = set
            .leases()
            .iter()
            .map(|lease| format!("{}={}", lease.key().partition(), lease.fence()))
            .collect();
        // No LEASE_KEY or LEASE_FENCING_TOKEN: one key's fencing token sent with another
        // key's writes is the mistake they would invite.
        let env = vec![
            ("LEASE_KEYS", names.join("\n")),
            (
                "LEASE_EXPIRES_AT",
                set.leases()
                    .first()
                    .map_or(0, |l| l.expires_at_epoch_seconds())
                    .to_string(),
            ),
            ("LEASE_FENCING_TOKENS", fences.join("\n")),
        ];
        // Messages name the whole set.
        let label = LeaseKey::lock(names.join(", "));
        let what = format!(
            "leases {} (fencing tokens {})",
            names.join(", "),
            fences.join(", ")
        );
        return run_command(
            &manager,
            guard,
            &label,
            env,
            what,
            &mut signals,
            &args,
            verbose,
        )
        .await;
    }
    let acquire = acquire_waiting(&key, &args.acquire, verbose, |wait| {
        let manager = manager.clone();
        let key = key.clone();
        let options = match wait {
            Some(policy) => options.clone().wait(policy),
            None => options.clone(),
        };
        let permits = args.permits;
        async move {
            match permits {
                Some(permits) => {
                    manager
                        .acquire_permit_guard(key.partition(), permits, duration, options)
                        .await
                }
                None => manager.acquire_guard(key, duration, options).await,
            }
        }
    });
    let guard = tokio::select! {
        biased;
        signal = signals.recv() => return Err(interrupted(signal, &key)),
        acquired = acquire => acquired.map_err(|e| Failure::lease(&e, manager.config()))?,
    };
    let lease = guard.lease();
    let permit = lease
        .key()
        .sort()
        .and_then(lease_dynamodb_sdk::semaphore::permit_index)
        .filter(|_| args.permits.is_some());
    let mut env = vec![
        ("LEASE_KEY", key.partition().to_owned()),
        (
            "LEASE_EXPIRES_AT",
            lease.expires_at_epoch_seconds().to_string(),
        ),
        ("LEASE_FENCING_TOKEN", lease.fence().get().to_string()),
    ];
    if let Some(slot) = permit {
        env.push(("LEASE_PERMIT", slot.to_string()));
    }
    let what = format!(
        "{} {} (fencing token {}, expires {})",
        permit.map_or_else(
            || "lease".to_owned(),
            |slot| format!("permit {slot} of semaphore")
        ),
        key.partition(),
        lease.fence(),
        utc(lease.expires_at())
    );
    run_command(
        &manager,
        guard,
        &key,
        env,
        what,
        &mut signals,
        &args,
        verbose,
    )
    .await
}

/// Runs the command under `guard` (a lease, a permit or a set), with `env` in its
/// environment, and releases what the guard keeps when it ends.
#[expect(clippy::too_many_arguments, reason = "one call site per kind of guard")]
async fn run_command<L: Kept>(
    manager: &DynamoDbLeaseManager,
    guard: LeaseGuard<DynamoDbStore, L>,
    key: &LeaseKey,
    env: Vec<(&str, String)>,
    what: String,
    signals: &mut Signals,
    args: &RunArgs,
    verbose: bool,
) -> Result<u8, Failure> {
    if let Some(signal) = signals.pending() {
        release_quietly(guard, key).await;
        return Err(interrupted(signal, key));
    }
    if verbose {
        eprintln!("lease: acquired {what}; running the command");
    }
    let Some((program, arguments)) = args.command.split_first() else {
        release_quietly(guard, key).await;
        return Err(Failure::usage("no command given after --"));
    };
    group::adopt_orphans();
    let mut command = tokio::process::Command::new(program);
    command.args(arguments).envs(env).process_group(0);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            release_quietly(guard, key).await;
            return Err(spawn_failure(program, &e));
        }
    };
    let Some(group) = child.id().and_then(ProcessGroup::led_by) else {
        release_quietly(guard, key).await;
        return Err(Failure::internal("the command's process id is unknown"));
    };
    let outcome = supervise(&mut child, group, &guard, signals, args.kill_after, verbose).await;
    finish(manager, guard, outcome, key, verbose).await
}

/// Releases the lease after the command ended, and turns the outcome into the exit status.
async fn finish<L: Kept>(
    manager: &DynamoDbLeaseManager,
    guard: LeaseGuard<DynamoDbStore, L>,
    outcome: Outcome,
    key: &LeaseKey,
    verbose: bool,
) -> Result<u8, Failure> {
    let name = key.partition();
    if outcome.survivors {
        eprintln!(
            "lease: warning: processes of the command's group were still there after SIGKILL"
        );
    }
    if let Some(reason) = outcome.stopped {
        // Bounded: the store may be what failed. The lease expires anyway.
        let _ = tokio::time::timeout(RELEASE_AFTER_STOP, guard.release()).await;
        let how = if outcome.killed {
            "SIGTERM, then SIGKILL"
        } else {
            "SIGTERM"
        };
        return Err(Failure::new(
            status::LOST,
            format!("lease {name} {reason}; stopped the command ({how} to its process group)"),
        ));
    }
    let status = outcome
        .status
        .map_err(|e| Failure::internal(format!("cannot wait for the command: {e}")))?;
    if let Some(reason) = guard.status().loss_reason().cloned() {
        let _ = tokio::time::timeout(RELEASE_AFTER_STOP, guard.release()).await;
        return Err(Failure::new(
            status::LOST,
            format!("lease {name} lost as the command exited: {reason}"),
        ));
    }
    let expires_at = Kept::expires_at_epoch_seconds(&guard.lease());
    match guard.release().await {
        Ok(ReleaseOutcome::Released) => {
            if verbose {
                eprintln!("lease: released lease {name}");
            }
        }
        // NotHeld, and any outcome a later library adds: not a plain release.
        Ok(_) => {
            return Err(Failure::new(
                status::LOST,
                format!(
                    "lease {name} was not ours any more when the command exited (taken over or deleted since the last renewal)"
                ),
            ));
        }
        Err(e) => eprintln!(
            "lease: warning: could not release lease {name} (it expires at {}): {}",
            lease_dynamodb_sdk::store::wire_time::from_epoch_seconds(expires_at)
                .map_or_else(|| expires_at.to_string(), utc),
            Failure::lease(&e, manager.config()).message
        ),
    }
    Ok(exit_status(status))
}

/// The exit status `lease` reports for the command's: its code, or 128 + the signal that
/// killed it.
fn exit_status(status: ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code & 0xff).unwrap_or(u8::MAX),
        (None, Some(signal)) => status::signalled(signal),
        (None, None) => status::INTERNAL,
    }
}

/// The failure for a signal received before the command started.
fn interrupted(signal: Received, key: &LeaseKey) -> Failure {
    Failure::new(
        status::signalled(signal.number),
        format!(
            "interrupted by {signal} while waiting for lease {}; the command was not started",
            key.partition()
        ),
    )
}

/// The failure for a command that could not be started, as shells report it.
fn spawn_failure(program: &OsStr, error: &io::Error) -> Failure {
    let name = program.to_string_lossy();
    match error.kind() {
        io::ErrorKind::NotFound => {
            Failure::new(status::NOT_FOUND, format!("command not found: {name}"))
        }
        _ => Failure::new(
            status::CANNOT_EXECUTE,
            format!("cannot execute {name}: {}", chain(error)),
        ),
    }
}

/// Releases a lease whose command never ran; a failure is only reported.
async fn release_quietly<L: Kept>(guard: LeaseGuard<DynamoDbStore, L>, key: &LeaseKey) {
    if let Ok(Err(e)) = tokio::time::timeout(RELEASE_AFTER_STOP, guard.release()).await {
        eprintln!(
            "lease: warning: could not release lease {}: {}",
            key.partition(),
            chain(&e)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_statuses_follow_the_shell() {
        assert_eq!(exit_status(ExitStatus::from_raw(3 << 8)), 3);
        assert_eq!(exit_status(ExitStatus::from_raw(0)), 0);
        assert_eq!(exit_status(ExitStatus::from_raw(9)), 137);
        assert_eq!(exit_status(ExitStatus::from_raw(15)), 143);
    }

    #[test]
    fn spawn_failures_are_126_and_127() {
        let missing = io::Error::from(io::ErrorKind::NotFound);
        assert_eq!(spawn_failure(OsStr::new("nope"), &missing).status, 127);
        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        assert_eq!(spawn_failure(OsStr::new("nope"), &denied).status, 126);
    }
}
