//! What the commands print: leases as JSON or shell `export` lines, lease snapshots for people
//! or as JSON, times in UTC and relative to now. Only [`LeaseView::with_token`] shows a token.

use std::time::{Duration, SystemTime};

use lease_dynamodb_sdk::{
    Lease, LeaseKey, LeaseSnapshot, ReleaseOutcome, snapshot::Holder, snapshot::HolderRecord,
    snapshot::StoredState,
};
use serde::Serialize;

use crate::duration::format_duration;
use crate::exit::Failure;

/// `at` in RFC 3339 UTC: `2025-06-01T12:00:30Z` (with milliseconds when it has any).
pub(crate) fn utc(at: SystemTime) -> String {
    let whole_second = at.duration_since(SystemTime::UNIX_EPOCH).map_or_else(
        |before| before.duration().subsec_nanos(),
        |after| after.subsec_nanos(),
    ) == 0;
    if whole_second {
        humantime::format_rfc3339_seconds(at).to_string()
    } else {
        humantime::format_rfc3339_millis(at).to_string()
    }
}

/// `at` relative to `now`: `in 25s`, `1m 5s ago`, `now`.
pub(crate) fn relative(at: SystemTime, now: SystemTime) -> String {
    match at.duration_since(now) {
        Ok(ahead) if ahead >= Duration::from_millis(1) => format!("in {}", format_duration(ahead)),
        Err(behind) if behind.duration() >= Duration::from_millis(1) => {
            format!("{} ago", format_duration(behind.duration()))
        }
        _ => "now".to_owned(),
    }
}

/// Whole seconds from `now` to `at` (negative when `at` is past), rounded toward zero.
pub(crate) fn seconds_until(at: SystemTime, now: SystemTime) -> i64 {
    match at.duration_since(now) {
        Ok(ahead) => i64::try_from(ahead.as_secs()).unwrap_or(i64::MAX),
        Err(behind) => i64::try_from(behind.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

/// Who holds a lease, for messages: `tok:1a2b3c4d until 2025-06-01T12:00:30Z (in 25s),
/// fencing token 42`, or `another holder` when the store did not say.
pub(crate) fn describe_holder(holder: &Holder) -> String {
    match holder {
        Holder::Known(info) => describe_info(info, SystemTime::now()),
        _ => "another holder".to_owned(),
    }
}

fn describe_info(info: &HolderRecord, now: SystemTime) -> String {
    let mut text = format!(
        "{} until {} ({})",
        info.token,
        utc(info.expires_at),
        relative(info.expires_at, now)
    );
    if let Some(fence) = info.fence {
        text.push_str(&format!(", fencing token {fence}"));
    }
    text
}

/// `value` quoted for a POSIX shell: `'it'\''s'`.
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// `value` as one line of JSON.
pub(crate) fn json_line(value: &impl Serialize) -> Result<String, Failure> {
    serde_json::to_string(value)
        .map_err(|e| Failure::internal(format!("cannot write JSON output: {e}")))
}

/// A lease as `acquire` and `refresh` print it.
#[derive(Debug, Serialize)]
pub(crate) struct LeaseView {
    /// The partition key value.
    key: String,
    /// The lock sort key value.
    sort_key: String,
    /// The bearer token: only `acquire` prints it.
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    /// The fencing token (unknown after a refresh by token).
    #[serde(skip_serializing_if = "Option::is_none")]
    fencing_token: Option<u64>,
    /// The expiry, RFC 3339 UTC.
    expires_at: String,
    /// The expiry in whole epoch seconds, rounded up.
    expires_at_epoch_seconds: i64,
}

impl LeaseView {
    /// The lease with its bearer token (for `acquire` only).
    pub(crate) fn with_token(lease: &Lease) -> Self {
        Self {
            token: Some(lease.token().expose_secret().to_owned()),
            ..Self::without_token(lease)
        }
    }

    /// The lease without its bearer token.
    pub(crate) fn without_token(lease: &Lease) -> Self {
        Self {
            key: lease.key().partition().to_owned(),
            sort_key: lease.key().sort().unwrap_or_default().to_owned(),
            token: None,
            fencing_token: Some(lease.fence().get()),
            expires_at: utc(lease.expires_at()),
            expires_at_epoch_seconds: lease.expires_at_epoch_seconds(),
        }
    }

    /// The same view with `fence` as the fencing token (`None`: unknown, not printed).
    pub(crate) fn with_fence(mut self, fence: Option<lease_dynamodb_sdk::FencingToken>) -> Self {
        self.fencing_token = fence.map(lease_dynamodb_sdk::FencingToken::get);
        self
    }

    /// One line of JSON.
    pub(crate) fn json(&self) -> Result<String, Failure> {
        json_line(self)
    }

    /// Shell `export` lines: `LEASE_KEY`, `LEASE_TOKEN` (if shown), `LEASE_FENCING_TOKEN` (if
    /// known), `LEASE_EXPIRES_AT` (epoch seconds).
    pub(crate) fn env(&self) -> String {
        let mut lines = vec![format!("export LEASE_KEY={}", shell_quote(&self.key))];
        if let Some(token) = &self.token {
            lines.push(format!("export LEASE_TOKEN={}", shell_quote(token)));
        }
        if let Some(fence) = self.fencing_token {
            lines.push(format!("export LEASE_FENCING_TOKEN={fence}"));
        }
        lines.push(format!(
            "export LEASE_EXPIRES_AT={}",
            self.expires_at_epoch_seconds
        ));
        lines.join("\n")
    }
}

/// The outcome of `release`.
#[derive(Debug, Serialize)]
pub(crate) struct ReleaseView {
    key: String,
    sort_key: String,
    /// `released` or `not_held`.
    outcome: &'static str,
}

impl ReleaseView {
    /// The view of `outcome` for `key`.
    pub(crate) fn new(key: &LeaseKey, outcome: ReleaseOutcome) -> Self {
        Self {
            key: key.partition().to_owned(),
            sort_key: key.sort().unwrap_or_default().to_owned(),
            outcome: match outcome {
                ReleaseOutcome::Released => "released",
                ReleaseOutcome::NotHeld => "not_held",
                _ => "other",
            },
        }
    }

    /// One line of JSON.
    pub(crate) fn json(&self) -> Result<String, Failure> {
        json_line(self)
    }

    /// A shell `export` line: `LEASE_RELEASE_OUTCOME`.
    pub(crate) fn env(&self) -> String {
        format!("export LEASE_RELEASE_OUTCOME={}", shell_quote(self.outcome))
    }
}

/// A lease as `inspect` and `list` show it: never its token, only the token's fingerprint.
#[derive(Debug, Serialize)]
pub(crate) struct SnapshotView {
    /// The partition key value.
    pub(crate) key: String,
    /// The sort key value.
    pub(crate) sort_key: String,
    /// `absent`, `held`, `expired`, `released` or `malformed`.
    pub(crate) state: &'static str,
    /// The holder's token fingerprint (`tok:1a2b3c4d`).
    pub(crate) holder: Option<String>,
    /// The expiry, RFC 3339 UTC (none when absent, released or malformed).
    pub(crate) expires_at: Option<String>,
    /// Seconds from now to the expiry, negative when past.
    pub(crate) expires_in_seconds: Option<i64>,
    /// The expiry relative to now, for people (`in 25s`, `3s ago`).
    #[serde(skip)]
    pub(crate) expires_relative: Option<String>,
    /// The fencing token of the last acquisition.
    pub(crate) fencing_token: Option<u64>,
    /// Why the item is not a readable lease.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

impl SnapshotView {
    /// The view of `snapshot`, read at `now`.
    pub(crate) fn new(snapshot: &LeaseSnapshot, now: SystemTime) -> Self {
        let state = match &snapshot.state {
            StoredState::Absent => "absent",
            StoredState::Held(_) => "held",
            StoredState::Expired(_) => "expired",
            StoredState::Released(_) => "released",
            _ => "unknown",
        };
        let info = snapshot.state.holder();
        let live_expiry = info.filter(|i| !i.released).map(|i| i.expires_at);
        Self {
            key: snapshot.key.partition().to_owned(),
            sort_key: snapshot.key.sort().unwrap_or_default().to_owned(),
            state,
            holder: info.map(|i| i.token.to_string()),
            expires_at: live_expiry.map(utc),
            expires_in_seconds: live_expiry.map(|at| seconds_until(at, now)),
            expires_relative: live_expiry.map(|at| relative(at, now)),
            fencing_token: info.and_then(|i| i.fence).map(|f| f.get()),
            error: None,
        }
    }

    /// The view of an item at `key` that is not a readable lease.
    pub(crate) fn malformed(key: &LeaseKey, error: String) -> Self {
        Self {
            key: key.partition().to_owned(),
            sort_key: key.sort().unwrap_or_default().to_owned(),
            state: "malformed",
            holder: None,
            expires_at: None,
            expires_in_seconds: None,
            expires_relative: None,
            fencing_token: None,
            error: Some(error),
        }
    }

    /// One line of JSON.
    pub(crate) fn json(&self) -> Result<String, Failure> {
        json_line(self)
    }

    /// Aligned `name  value` lines for people.
    pub(crate) fn text(&self) -> String {
        let mut lines = vec![
            format!("key            {} (sort key {})", self.key, self.sort_key),
            format!("state          {}", self.state_text()),
        ];
        if let Some(holder) = &self.holder {
            lines.push(format!("holder         {holder} (token fingerprint)"));
        }
        if let (Some(at), Some(relative)) = (&self.expires_at, &self.expires_relative) {
            lines.push(format!("expires at     {at} ({relative})"));
        }
        if let Some(fence) = self.fencing_token {
            lines.push(format!("fencing token  {fence}"));
        }
        if let Some(error) = &self.error {
            lines.push(format!("error          {error}"));
        }
        lines.join("\n")
    }

    /// The state with what it means.
    fn state_text(&self) -> String {
        let meaning = match self.state {
            "absent" => "no lease item: free",
            "held" => "someone holds it",
            "expired" => "free: expired without release",
            "released" => "free: released by its holder",
            "malformed" => "the item is not a readable lease: nobody can acquire it",
            _ => "",
        };
        format!("{} ({meaning})", self.state)
    }
}

#[cfg(test)]
mod tests {
    use lease_dynamodb_sdk::{LeaseKey, token::LeaseToken};

    use super::*;

    /// 2025-06-01T12:00:30Z plus `millis`.
    fn at(millis: i64) -> SystemTime {
        lease_dynamodb_sdk::store::wire_time::from_epoch_nanos(
            i128::from(1_748_779_230_000 + millis) * 1_000_000,
        )
        .unwrap()
    }

    #[test]
    fn times_in_utc_and_relative() {
        assert_eq!(utc(at(0)), "2025-06-01T12:00:30Z");
        assert_eq!(utc(at(250)), "2025-06-01T12:00:30.250Z");
        assert_eq!(relative(at(0), at(-25_000)), "in 25s");
        assert_eq!(relative(at(0), at(65_000)), "1m 5s ago");
        assert_eq!(relative(at(0), at(0)), "now");
    }

    #[test]
    fn only_the_view_with_token_shows_the_token() {
        let lease = Lease::new(
            LeaseKey::new("job", "LOCK"),
            LeaseToken::new("secret-token"),
            lease_dynamodb_sdk::FencingToken::new(1),
            at(0),
        );
        let with = LeaseView::with_token(&lease);
        assert!(with.json().unwrap().contains("\"token\":\"secret-token\""));
        assert!(with.env().contains("export LEASE_TOKEN='secret-token'"));
        let without = LeaseView::without_token(&lease);
        assert!(!without.json().unwrap().contains("secret-token"));
        assert!(!without.env().contains("secret-token"));
        assert!(without.env().contains("export LEASE_EXPIRES_AT=1748779230"));
    }

    #[test]
    fn env_values_are_shell_quoted() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("$(rm -rf /)"), "'$(rm -rf /)'");
    }
}
