//! Acquiring with `--wait` / `--no-wait`: one attempt, then (if the lease is held and waiting is
//! allowed) the library's waiting acquire for what is left of `--wait`.

use std::future::Future;
use std::time::Instant;

use lease_dynamodb_sdk::{LeaseError, LeaseKey, WaitPolicy};

use crate::cli::AcquireOptions;
use crate::output::describe_holder;

/// Acquires with `attempt`: first `attempt(None)` (one attempt that says who holds the lease);
/// if the lease is held and `options` allow waiting, reports the wait on stderr (`verbose`)
/// and calls `attempt(Some(policy))` with a policy for the rest of `--wait` (or without
/// timeout).
///
/// # Errors
/// As `attempt`'s.
pub(crate) async fn acquire_waiting<T, F, Fut>(
    key: &LeaseKey,
    options: &AcquireOptions,
    verbose: bool,
    mut attempt: F,
) -> Result<T, LeaseError>
where
    F: FnMut(Option<WaitPolicy>) -> Fut,
    Fut: Future<Output = Result<T, LeaseError>>,
{
    let started = Instant::now();
    let (what, holder) = match attempt(None).await {
        Err(LeaseError::Held { holder, .. }) if !options.no_wait => {
            ("lease", describe_holder(&holder))
        }
        Err(LeaseError::HeldKeys { held, .. }) if !options.no_wait => (
            "leases",
            held.iter()
                .map(|(key, holder)| format!("{}: {}", key.partition(), describe_holder(holder)))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        Err(LeaseError::NoPermit {
            permits,
            earliest_expiry,
            ..
        }) if !options.no_wait => (
            "a permit of semaphore",
            format!(
                "all {permits} permits{}",
                earliest_expiry.map_or_else(String::new, |at| format!(
                    ", the first expiring {}",
                    crate::output::utc(at)
                ))
            ),
        ),
        other => return other,
    };
    if verbose {
        let limit = options.wait.map_or_else(
            || "until acquired".to_owned(),
            |t| format!("at most {}", crate::duration::format_duration(t)),
        );
        eprintln!(
            "lease: waiting for {what} {} ({limit}), held by {holder}",
            key.partition(),
        );
    }
    let policy = match options.wait {
        Some(timeout) => WaitPolicy::with_timeout(timeout.saturating_sub(started.elapsed())),
        None => WaitPolicy::without_timeout(),
    };
    match attempt(Some(policy)).await {
        // A semaphore still full at the end of the wait: the wait timed out.
        Err(LeaseError::NoPermit { key, .. }) => Err(LeaseError::WaitTimedOut {
            key,
            holder: lease_dynamodb_sdk::snapshot::Holder::Unknown,
        }),
        other => other,
    }
}
