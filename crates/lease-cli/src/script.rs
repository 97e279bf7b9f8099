//! `lease acquire`, `lease refresh`, `lease release`: leases held by a script, which passes the
//! bearer token from one command to the next. Only `acquire` prints the token.

use std::io::{BufRead, IsTerminal};

use lease_dynamodb_sdk::{
    FencingToken, Lease, ReleaseOutcome, snapshot::StoredState, token::LeaseToken,
};

use crate::cli::{
    AcquireArgs, FormatArgs, HeldLease, RefreshArgs, ReleaseArgs, ScriptOutput, StoreArgs,
};
use crate::connect::Connection;
use crate::exit::{Failure, status};
use crate::output::{LeaseView, ReleaseView};
use crate::wait::acquire_waiting;

/// `lease acquire`: prints the lease with its token.
///
/// # Errors
/// As the acquire's ([`Failure::lease`]).
pub(crate) async fn acquire(
    store: &StoreArgs,
    format: &FormatArgs,
    verbose: bool,
    args: AcquireArgs,
) -> Result<u8, Failure> {
    let connection = Connection::open(store, format).await?;
    let manager = connection.manager();
    let key = manager.config().resolve_key(args.key);
    let duration = args.acquire.duration;
    let lease = acquire_waiting(&key, &args.acquire, verbose, |wait| {
        let manager = manager.clone();
        let key = key.clone();
        async move {
            match wait {
                Some(policy) => manager.acquire(key, duration, &policy).await,
                None => manager.try_acquire(key, duration).await,
            }
        }
    })
    .await
    .map_err(|e| Failure::lease(&e, manager.config()))?;
    let view = LeaseView::with_token(&lease);
    print(args.output, view.json()?, view.env());
    Ok(0)
}

/// `lease refresh`: extends the lease to now + `--duration`; prints it without the token.
///
/// # Errors
/// 76 if the lease is not ours any more; otherwise as the refresh's ([`Failure::lease`]).
pub(crate) async fn refresh(
    store: &StoreArgs,
    format: &FormatArgs,
    args: RefreshArgs,
) -> Result<u8, Failure> {
    let (token, given_fence) = held(&args.lease)?;
    let connection = Connection::open(store, format).await?;
    let manager = connection.manager();
    // Refresh conditions on the token only; the fencing token printed is the stored one, read
    // after the refresh, never the one given.
    let lease = Lease::new(
        manager.config().resolve_key(args.lease.key),
        token,
        given_fence.unwrap_or(FencingToken::new(0)),
        std::time::SystemTime::now(),
    );
    let refreshed = manager
        .refresh(&lease, args.duration)
        .await
        .map_err(|e| Failure::lease(&e, manager.config()))?;
    let stored = match manager.inspect(refreshed.key().clone()).await {
        Ok(snapshot) => match snapshot.state {
            StoredState::Held(info) if info.token == refreshed.token().fingerprint() => info.fence,
            _ => None,
        },
        Err(e) => {
            eprintln!(
                "lease: warning: refreshed, but could not read the fencing token back: {}",
                e.report()
            );
            None
        }
    };
    if let (Some(given), Some(stored)) = (given_fence, stored)
        && given != stored
    {
        eprintln!(
            "lease: warning: the lease's fencing token is {stored}, not the {given} given (check --fencing-token or LEASE_FENCING_TOKEN)"
        );
    }
    let view = LeaseView::without_token(&refreshed).with_fence(stored);
    print(args.output, view.json()?, view.env());
    Ok(0)
}

/// `lease release`: releases the lease if it is still ours; prints the outcome.
///
/// # Errors
/// 76 if nothing of ours was there (the outcome is printed too); otherwise as the release's
/// ([`Failure::lease`]).
pub(crate) async fn release(
    store: &StoreArgs,
    format: &FormatArgs,
    args: ReleaseArgs,
) -> Result<u8, Failure> {
    let (token, _) = held(&args.lease)?;
    let connection = Connection::open(store, format).await?;
    let manager = connection.manager();
    let key = manager.config().resolve_key(args.lease.key);
    // A release conditions on the token only: the fencing token plays no part.
    let lease = Lease::new(
        key.clone(),
        token,
        FencingToken::new(0),
        std::time::SystemTime::now(),
    );
    let outcome = manager
        .release(&lease)
        .await
        .map_err(|e| Failure::lease(&e, manager.config()))?;
    let view = ReleaseView::new(&key, outcome);
    print(args.output, view.json()?, view.env());
    match outcome {
        ReleaseOutcome::Released => Ok(0),
        // NotHeld, and any outcome a later library adds: not a plain release.
        _ => Err(Failure::new(
            status::LOST,
            format!(
                "nothing released: lease {} is not held with this token (expired and taken over, released before with another token, or gone)",
                key.partition()
            ),
        )),
    }
}

fn print(output: ScriptOutput, json: String, env: String) {
    match output {
        ScriptOutput::Json => println!("{json}"),
        ScriptOutput::Env => println!("{env}"),
    }
}

/// The token (from `--token` / `LEASE_TOKEN`, or else the first line of stdin: the token
/// alone, or the JSON line `lease acquire` prints) and the fencing token, if given
/// (`--fencing-token` / `LEASE_FENCING_TOKEN`, or the JSON line's).
///
/// # Errors
/// A usage failure when there is no token (or stdin is a terminal), or the JSON line is not
/// `acquire`'s.
fn held(lease: &HeldLease) -> Result<(LeaseToken, Option<FencingToken>), Failure> {
    let (token, fence, key) = read_held(lease)?;
    if let Some(key) = key
        && key != lease.key
    {
        return Err(Failure::usage(format!(
            "the lease on stdin is lease acquire's output for key {key:?}, not {:?}: give the key it was acquired with",
            lease.key
        )));
    }
    Ok((token, fence))
}

/// [`held`], with the key named by acquire's JSON line, if one was read.
fn read_held(
    lease: &HeldLease,
) -> Result<(LeaseToken, Option<FencingToken>, Option<String>), Failure> {
    let missing = || {
        Failure::usage(
            "no lease token: pass --token, set LEASE_TOKEN, or give the token (or lease acquire's JSON line) as the first line of stdin",
        )
    };
    let given_fence = lease.fencing_token.map(FencingToken::new);
    let text = match &lease.token {
        Some(token) => token.clone(),
        None => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                return Err(missing());
            }
            let mut line = String::new();
            stdin.lock().read_line(&mut line).map_err(|e| {
                Failure::usage(format!("cannot read the lease token from stdin: {e}"))
            })?;
            line
        }
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(missing());
    }
    if text.starts_with('{') {
        let acquired: Acquired = serde_json::from_str(text).map_err(|e| {
            Failure::usage(format!(
                "the lease token looks like JSON, but not like lease acquire's output ({e}): give the token alone, or the line acquire printed"
            ))
        })?;
        let fence = given_fence.or(acquired.fencing_token.map(FencingToken::new));
        return Ok((LeaseToken::new(acquired.token), fence, acquired.key));
    }
    Ok((LeaseToken::new(text), given_fence, None))
}

/// The fields of `lease acquire`'s JSON line that a later command reads.
#[derive(serde::Deserialize)]
struct Acquired {
    key: Option<String>,
    token: String,
    fencing_token: Option<u64>,
}
