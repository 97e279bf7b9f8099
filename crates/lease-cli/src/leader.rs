//! `lease leader`: the current leader of an election (one strongly consistent read, judged by
//! this host's clock), or, with `--follow`, every change of it until a signal (the library's
//! observer: a read every `--every`, and at the leader's expiry).

use std::time::SystemTime;

use lease_dynamodb_sdk::election::Leader;
use serde::Serialize;

use crate::cli::{FormatArgs, LeaderArgs, StoreArgs, ViewOutput};
use crate::connect::Connection;
use crate::exit::Failure;
use crate::output::{json_line, relative, seconds_until, utc};
use crate::signals::Signals;

/// A leader (or none) as `lease leader` shows it.
#[derive(Debug, Serialize)]
struct LeaderView {
    /// The election's name.
    election: String,
    /// Whether there is a leader.
    leading: bool,
    /// The value the leader proclaimed (its name or address).
    value: Option<String>,
    /// The fencing token of the leader's term.
    fencing_token: Option<u64>,
    /// The expiry of the leader's lease, RFC 3339 UTC.
    expires_at: Option<String>,
    /// Seconds from now to the expiry.
    expires_in_seconds: Option<i64>,
    /// The expiry relative to now, for people.
    #[serde(skip)]
    expires_relative: Option<String>,
}

impl LeaderView {
    fn new(election: &str, leader: Option<&Leader>, now: SystemTime) -> Self {
        Self {
            election: election.to_owned(),
            leading: leader.is_some(),
            value: leader
                .and_then(|l| l.value.as_ref())
                .map(ToString::to_string),
            fencing_token: leader.and_then(|l| l.fence).map(|f| f.get()),
            expires_at: leader.map(|l| utc(l.expires_at)),
            expires_in_seconds: leader.map(|l| seconds_until(l.expires_at, now)),
            expires_relative: leader.map(|l| relative(l.expires_at, now)),
        }
    }

    fn text(&self) -> String {
        if !self.leading {
            return format!("{}: no leader", self.election);
        }
        let value = self
            .value
            .as_deref()
            .map_or_else(|| "(no value)".to_owned(), |v| format!("{v:?}"));
        format!(
            "{}: leader {value}, fencing token {}, expires {} ({})",
            self.election,
            self.fencing_token
                .map_or_else(|| "none".to_owned(), |f| f.to_string()),
            self.expires_at.as_deref().unwrap_or("?"),
            self.expires_relative.as_deref().unwrap_or("?"),
        )
    }

    fn print(&self, output: ViewOutput) -> Result<(), Failure> {
        match output {
            ViewOutput::Text => println!("{}", self.text()),
            ViewOutput::Json => println!("{}", json_line(self)?),
        }
        Ok(())
    }
}

/// Runs `lease leader`.
///
/// # Errors
/// As the library's read ([`Failure::lease`]): 64 for a bad name, 65 for an item that is not a
/// readable lease, 74 for a store failure (with `--follow`, only the first read's failure
/// ends it; later ones keep the leader shown until its expiry, and each is printed to stderr as
/// a warning).
pub(crate) async fn leader(
    store: &StoreArgs,
    format: &FormatArgs,
    args: LeaderArgs,
) -> Result<u8, Failure> {
    let connection = Connection::open(store, format).await?;
    let manager = connection.manager();
    let config = manager.config().clone();
    let leader = manager
        .leader(args.name.as_str())
        .await
        .map_err(|e| Failure::lease(&e, &config))?;
    LeaderView::new(&args.name, leader.as_ref(), SystemTime::now()).print(args.output)?;
    if !args.follow {
        return Ok(0);
    }
    let mut signals = Signals::install()?;
    let mut watch = manager
        .observe(args.name.as_str(), args.every)
        .map_err(|e| Failure::lease(&e, &config))?;
    let mut failures = watch.clone();
    // The last warning printed, and when: the same failure is said again at most every 30 s.
    let mut warned: Option<(String, std::time::Instant)> = None;
    let mut shown = leader;
    loop {
        tokio::select! {
            _ = signals.recv() => return Ok(0),
            failed = failures.read_failed() => {
                let Ok(error) = failed else {
                    return Err(Failure::internal("the leader observer stopped"));
                };
                let text = error.report().to_string();
                let repeat = warned.as_ref().is_some_and(|(last, at)| {
                    *last == text && at.elapsed() < std::time::Duration::from_secs(30)
                });
                if !repeat {
                    eprintln!(
                        "lease: warning: could not read the leader of {}: {text}; keeping what was last read (a leader until its expiry, or none)",
                        args.name,
                    );
                    warned = Some((text, std::time::Instant::now()));
                }
            }
            change = watch.changed() => {
                let Ok(change) = change else {
                    return Err(Failure::internal("the leader observer stopped"));
                };
                // The observer's first read repeats what was printed: print a change of term
                // only (a renewal moves the expiry, nothing else).
                if !Leader::same_term(change.as_ref(), shown.as_ref()) {
                    LeaderView::new(&args.name, change.as_ref(), SystemTime::now())
                        .print(args.output)?;
                    shown = change;
                }
            }
        }
    }
}
