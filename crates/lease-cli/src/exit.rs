//! Exit statuses and one-line failures.

use std::error::Error as StdError;

use lease_dynamodb_sdk::{
    LeaseConfig, LeaseError, error::InvalidInput, store::StoreError, store::StoreErrorKind,
};

use crate::output;

/// Exit statuses (sysexits.h where one fits), as documented in `--help` and the README.
pub(crate) mod status {
    /// Usage error: a bad option, duration, key or table configuration (EX_USAGE).
    pub(crate) const USAGE: u8 = 64;
    /// The item at the key is not a readable lease, or the table does not fit (EX_DATAERR).
    pub(crate) const DATA: u8 = 65;
    /// Internal error (EX_SOFTWARE).
    pub(crate) const INTERNAL: u8 = 70;
    /// The lease is held by someone else, and we do not wait.
    pub(crate) const HELD: u8 = 73;
    /// The store failed (EX_IOERR).
    pub(crate) const STORE: u8 = 74;
    /// Timed out waiting for the lease (EX_TEMPFAIL).
    pub(crate) const WAIT_TIMED_OUT: u8 = 75;
    /// The lease was lost, or is not ours.
    pub(crate) const LOST: u8 = 76;
    /// The command could not be executed (as shells do).
    pub(crate) const CANNOT_EXECUTE: u8 = 126;
    /// The command was not found (as shells do).
    pub(crate) const NOT_FOUND: u8 = 127;

    /// The status for death by signal `signal`, as shells report it: 128 + the signal number.
    pub(crate) fn signalled(signal: i32) -> u8 {
        u8::try_from(128 + signal.clamp(0, 127)).unwrap_or(u8::MAX)
    }
}

/// Why a command failed: its exit status and a one-line message for stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// The exit status.
    pub(crate) status: u8,
    /// What went wrong and what to do, on one line.
    pub(crate) message: String,
}

impl Failure {
    /// A failure with `status` and `message` (made one line).
    pub(crate) fn new(status: u8, message: impl Into<String>) -> Self {
        Self {
            status,
            message: one_line(&message.into()),
        }
    }

    /// A usage error (64).
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self::new(status::USAGE, message)
    }

    /// An internal error (70).
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(status::INTERNAL, message)
    }

    /// A store failure (74) for `table`, with a hint by kind.
    pub(crate) fn store(context: &str, error: &StoreError, table: &str) -> Self {
        Self::new(
            status::STORE,
            format!(
                "{context}: {}{}",
                chain(error),
                store_hint(error.kind(), table)
            ),
        )
    }

    /// The failure for a lease operation's error: status by kind, message with the error's
    /// causes and a hint.
    pub(crate) fn lease(error: &LeaseError, config: &LeaseConfig) -> Self {
        let table = config.table_name();
        match error {
            LeaseError::Held { key, holder } => Self::new(
                status::HELD,
                format!(
                    "lease {} is held by {}; not waiting (--no-wait)",
                    key.partition(),
                    output::describe_holder(holder)
                ),
            ),
            LeaseError::HeldKeys { held, .. } => Self::new(
                status::HELD,
                format!(
                    "{} of the set {} held ({}); none was acquired; not waiting (--no-wait)",
                    if held.len() == 1 {
                        "1 key".to_owned()
                    } else {
                        format!("{} keys", held.len())
                    },
                    if held.len() == 1 { "is" } else { "are" },
                    held.iter()
                        .map(|(key, holder)| format!(
                            "{} by {}",
                            key.partition(),
                            output::describe_holder(holder)
                        ))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            ),
            LeaseError::NoPermit {
                key,
                permits,
                earliest_expiry,
            } => Self::new(
                status::HELD,
                format!(
                    "all {permits} permits of semaphore {} are held{}; not waiting (--no-wait)",
                    key.partition(),
                    earliest_expiry.map_or_else(String::new, |at| format!(
                        " (the first expires {} unless renewed)",
                        output::utc(at)
                    ))
                ),
            ),
            LeaseError::WaitTimedOut { key, .. }
                if key.sort() == Some(lease_dynamodb_sdk::semaphore::PERMIT_SORT_KEY_PREFIX) =>
            {
                Self::new(
                    status::WAIT_TIMED_OUT,
                    format!(
                        "timed out waiting for a permit of semaphore {}: all its permits are still held",
                        key.partition()
                    ),
                )
            }
            LeaseError::WaitTimedOut { key, holder } => Self::new(
                status::WAIT_TIMED_OUT,
                format!(
                    "timed out waiting for lease {}, still held by {}",
                    key.partition(),
                    output::describe_holder(holder)
                ),
            ),
            LeaseError::NotOwned { key } => Self::new(
                status::LOST,
                format!(
                    "lease {} is not ours any more (expired, taken over or released)",
                    key.partition()
                ),
            ),
            LeaseError::InvalidInput { reason, .. } => Self::new(
                status::USAGE,
                format!("{}{}", chain(error), input_hint(reason)),
            ),
            LeaseError::MalformedItem { .. } => Self::new(
                status::DATA,
                format!(
                    "{}; check the item format options (--token-attribute, --expiry-unit, ...) against the table's other users",
                    chain(error)
                ),
            ),
            LeaseError::Store { source, .. } | LeaseError::OutcomeUnknown { source, .. } => {
                Self::new(
                    status::STORE,
                    format!("{}{}", chain(error), store_hint(source.kind(), table)),
                )
            }
            _ => Self::internal(chain(error)),
        }
    }
}

/// What to do about a store error of `kind`, as a `; ...` suffix.
fn store_hint(kind: StoreErrorKind, table: &str) -> String {
    match kind {
        StoreErrorKind::ResourceNotFound => format!(
            "; create the table with 'lease --table {table} table create', or check --table, --region and --endpoint"
        ),
        StoreErrorKind::AccessDenied => {
            "; check the AWS credentials and their DynamoDB permissions".to_owned()
        }
        // Unreachable: nothing was sent (connection refused, no route to the host).
        StoreErrorKind::Unavailable | StoreErrorKind::Unreachable => {
            "; check --endpoint, --region and the network".to_owned()
        }
        // The library's message may speak of "the store's request timeout": --request-timeout.
        StoreErrorKind::Timeout => {
            "; check --endpoint, --region and the network, or allow more time with --request-timeout"
                .to_owned()
        }
        StoreErrorKind::Throttled => "; try again later".to_owned(),
        // The library's message speaks of the SDK client's settings: the region, or the
        // endpoint URL (from AWS_ENDPOINT_URL, which the CLI does not check itself).
        StoreErrorKind::Misconfigured => {
            "; give a region with --region, AWS_REGION or the profile, and check --endpoint or AWS_ENDPOINT_URL".to_owned()
        }
        _ => String::new(),
    }
}

/// The options that set what `reason` rejects, as a `; ...` suffix: the library's messages
/// speak of its own settings ("the clock skew bound", "the renew period").
fn input_hint(reason: &InvalidInput) -> &'static str {
    match reason {
        InvalidInput::ZeroDuration | InvalidInput::DurationTooLong { .. } => "; check --duration",
        InvalidInput::DurationNotAboveSkew { .. } => {
            "; pass a --duration longer than --max-clock-skew"
        }
        InvalidInput::InvalidRenewPeriod { .. } => {
            "; pass a --renew-every below half the --duration and below --duration minus --max-clock-skew"
        }
        InvalidInput::EmptyToken | InvalidInput::TokenTooLong { .. } => {
            "; check --token, LEASE_TOKEN or the token on standard input"
        }
        _ => "",
    }
}

/// An error and its causes on one line, `outer: inner: innermost`, leaving out a cause that
/// adds no word to what is already said (the SDK's "service error" layers repeat the AWS error
/// code and message that the store error already names).
pub(crate) fn chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let shown = cause.to_string();
        let said = words(&text);
        let adds = words(&shown).iter().any(|word| !said.contains(word));
        if adds && shown != "service error" {
            text.push_str(": ");
            text.push_str(&shown);
        }
        source = cause.source();
    }
    one_line(&text)
}

/// The lowercase alphanumeric words of `text`.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// `text` with line breaks and runs of whitespace made single spaces.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The library's names no message may contain, shared with the integration tests.
#[cfg(test)]
#[path = "../tests/common/library_names.rs"]
mod library_names;
#[cfg(test)]
pub(crate) use library_names::assert_names_no_library_item;

#[cfg(test)]
mod tests {
    use lease_dynamodb_sdk::{LeaseKey, error::Operation, snapshot::Holder};

    use super::*;

    fn config() -> LeaseConfig {
        LeaseConfig::builder("locks").build().unwrap()
    }

    fn key() -> LeaseKey {
        LeaseKey::new("job", "LOCK")
    }

    #[test]
    fn statuses_by_kind_of_error() {
        let store = |kind| LeaseError::Store {
            operation: Operation::Acquire,
            key: key(),
            source: StoreError::new(kind, "boom"),
        };
        let cases = [
            (
                LeaseError::Held {
                    key: key(),
                    holder: Holder::Unknown,
                },
                status::HELD,
            ),
            (
                LeaseError::WaitTimedOut {
                    key: key(),
                    holder: Holder::Unknown,
                },
                status::WAIT_TIMED_OUT,
            ),
            (LeaseError::NotOwned { key: key() }, status::LOST),
            (
                LeaseError::InvalidInput {
                    operation: Operation::Acquire,
                    key: key(),
                    reason: InvalidInput::ZeroDuration,
                },
                status::USAGE,
            ),
            (store(StoreErrorKind::AccessDenied), status::STORE),
            (LeaseError::ManagerShutDown { key: key() }, status::INTERNAL),
        ];
        for (error, expected) in cases {
            let failure = Failure::lease(&error, &config());
            assert_eq!(failure.status, expected, "{error}");
            assert!(!failure.message.contains('\n'));
        }
    }

    #[test]
    fn store_errors_show_their_cause_and_a_hint() {
        let error = LeaseError::Store {
            operation: Operation::Acquire,
            key: key(),
            source: StoreError::new(
                StoreErrorKind::ResourceNotFound,
                "ResourceNotFoundException:\n no such table",
            ),
        };
        let message = Failure::lease(&error, &config()).message;
        assert!(
            message.contains("acquire of lease job/LOCK failed"),
            "{message}"
        );
        assert!(message.contains("no such table"), "{message}");
        assert!(
            message.contains("lease --table locks table create"),
            "{message}"
        );
        assert!(!message.contains('\n'), "{message}");
    }

    #[test]
    fn invalid_input_names_the_options_to_change() {
        let invalid = |reason| LeaseError::InvalidInput {
            operation: Operation::Acquire,
            key: key(),
            reason,
        };
        let second = std::time::Duration::from_secs(1);
        for (reason, options) in [
            (InvalidInput::ZeroDuration, &["--duration"][..]),
            (
                InvalidInput::DurationNotAboveSkew {
                    duration: second,
                    max_clock_skew: second,
                },
                &["--duration", "--max-clock-skew"],
            ),
            (
                InvalidInput::InvalidRenewPeriod {
                    renew_every: 9 * second,
                    duration: 10 * second,
                    max_clock_skew: second,
                },
                &["--renew-every", "--duration", "--max-clock-skew"],
            ),
        ] {
            let failure = Failure::lease(&invalid(reason), &config());
            assert_eq!(failure.status, status::USAGE);
            for option in options {
                assert!(failure.message.contains(option), "{failure:?}");
            }
            assert_names_no_library_item(&failure.message);
        }
    }

    #[test]
    fn store_timeouts_name_the_request_timeout_option() {
        let error = LeaseError::OutcomeUnknown {
            operation: Operation::Acquire,
            key: key(),
            source: StoreError::new(
                StoreErrorKind::Timeout,
                "no answer within the store's request timeout of 10s",
            ),
        };
        let message = Failure::lease(&error, &config()).message;
        assert!(message.contains("--request-timeout"), "{message}");
        assert_names_no_library_item(&message);
        let unreachable = Failure::store(
            "cannot check table locks",
            &StoreError::new(StoreErrorKind::Unavailable, "could not connect"),
            "locks",
        );
        assert!(
            unreachable.message.contains("--endpoint"),
            "{unreachable:?}"
        );
        let refused = Failure::store(
            "cannot list the leases in table locks",
            &StoreError::new(
                StoreErrorKind::Unreachable,
                "Scan was not sent: could not connect (connection refused)",
            ),
            "locks",
        );
        assert!(refused.message.contains("--endpoint"), "{refused:?}");
    }

    #[test]
    fn a_client_without_a_region_names_the_region_option() {
        let error = LeaseError::Store {
            operation: Operation::Acquire,
            key: key(),
            source: StoreError::new(
                StoreErrorKind::Misconfigured,
                "the AWS SDK client has no region, so no request can be signed",
            ),
        };
        let failure = Failure::lease(&error, &config());
        assert_eq!(failure.status, status::STORE);
        assert!(failure.message.contains("--region"), "{failure:?}");
    }

    #[test]
    fn signalled_statuses_are_as_shells_report_them() {
        assert_eq!(status::signalled(15), 143);
        assert_eq!(status::signalled(9), 137);
        assert_eq!(status::signalled(2), 130);
    }
}
