//! What a store answers: an outcome, or a classified error.

use std::error::Error as StdError;
use std::fmt;

use crate::attribute::Item;
use crate::transact::CancellationReason;

/// A store's answer to a [`Request`](crate::Request) that reached the table.
///
/// `Debug` shows the items as they are, lease tokens included (an acquire's `UPDATED_NEW`
/// answer holds the new holder's token, a failed condition's old item the current holder's):
/// log requests, not responses.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreResponse {
    /// The write was applied. `attributes` holds what `ReturnValues` asked for (`None` when
    /// nothing was asked or the store returned nothing).
    Applied {
        /// Returned attributes, if requested.
        attributes: Option<Item>,
    },
    /// The write's condition failed (DynamoDB's `ConditionalCheckFailedException`); nothing was
    /// written. `old_item` is the current item when `ALL_OLD` was asked for and the store
    /// supports it (dynalite does not); `None` also when there is no item.
    ConditionFailed {
        /// The item as it is, if returned.
        old_item: Option<Item>,
    },
    /// The answer to a `GetItem`: the item, or `None` if there is none.
    Item(Option<Item>),
    /// The answer to a `Query`: every item it matched, in sort key order.
    Items(Vec<Item>),
    /// A transaction was cancelled (DynamoDB's `TransactionCanceledException`): nothing was
    /// written. `reasons` has one entry per item of the request, in the request's order.
    /// (A transaction that went through answers [`Applied`](Self::Applied) with no
    /// attributes.)
    TransactionCanceled {
        /// Why each item did or did not go through, in the request's order.
        reasons: Vec<CancellationReason>,
    },
}

/// How a store failed: the classes that decide what a caller may do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// Throttled (`ProvisionedThroughputExceeded`, `ThrottlingException`, `RequestLimitExceeded`):
    /// the request was not applied; retry with backoff.
    Throttled,
    /// No answer in time: the request may or may not have been applied.
    Timeout,
    /// The store could not be reached, or answered with a server error (HTTP 5xx): the request may
    /// or may not have been applied.
    Unavailable,
    /// The request was never sent: the connection was refused, or the host or network is
    /// unreachable. Not applied; may pass later.
    Unreachable,
    /// The request was rejected as malformed (`ValidationException`): not applied.
    Validation,
    /// The table does not exist (`ResourceNotFoundException`): not applied.
    ResourceNotFound,
    /// Credentials are missing, or rejected by the service (`AccessDenied`,
    /// `UnrecognizedClientException`): not applied.
    AccessDenied,
    /// The store does not support the operation (`UnknownOperationException`, as dynalite
    /// answers `TransactWriteItems`, `DescribeTimeToLive` and `UpdateTimeToLive`): not applied.
    Unsupported,
    /// The store's client is set up so that no request can be sent (for example an SDK client
    /// without a region): nothing was sent, and sending again will not help until the
    /// configuration is fixed.
    Misconfigured,
    /// Any other failure.
    Other,
}

impl StoreErrorKind {
    /// Whether the request may have been applied although no success was seen
    /// ([`Timeout`](Self::Timeout), [`Unavailable`](Self::Unavailable), [`Other`](Self::Other)).
    #[must_use]
    pub fn outcome_may_be_applied(self) -> bool {
        matches!(self, Self::Timeout | Self::Unavailable | Self::Other)
    }

    /// Whether the same request may succeed if sent again later.
    #[must_use]
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            Self::Throttled | Self::Timeout | Self::Unavailable | Self::Unreachable
        )
    }
}

impl fmt::Display for StoreErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Throttled => "throttled",
            Self::Timeout => "timed out",
            Self::Unavailable => "unavailable",
            Self::Unreachable => "unreachable",
            Self::Validation => "request rejected as invalid",
            Self::ResourceNotFound => "table not found",
            Self::AccessDenied => "access denied",
            Self::Unsupported => "operation not supported",
            Self::Misconfigured => "client misconfigured",
            Self::Other => "failed",
        })
    }
}

/// A store failure: its [kind](StoreErrorKind), a message from the store (for example the AWS
/// error code and message), and the underlying error, if any.
///
/// `Debug` shows the underlying error's chain of `Display` messages, never its `Debug`: an SDK
/// error's `Debug` carries the raw HTTP response, whose body may hold a lease's bearer token
/// (an acquire's `UPDATED_NEW` answer, another holder's item). The error itself stays
/// reachable through [`source`](StdError::source) for callers that downcast it.
pub struct StoreError {
    kind: StoreErrorKind,
    message: String,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl StoreError {
    /// A store error of the given kind with a message.
    #[must_use]
    pub fn new(kind: StoreErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// Attaches the underlying error.
    #[must_use]
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// The kind of failure.
    #[must_use]
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }

    /// The store's message.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Debug for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = f.debug_struct("StoreError");
        shown
            .field("kind", &self.kind)
            .field("message", &self.message);
        if let Some(source) = &self.source {
            shown.field("source", &SourceChain(source.as_ref()));
        }
        shown.finish()
    }
}

/// An error and its sources, each by its `Display` message, as `"outer: inner: ..."`.
struct SourceChain<'a>(&'a (dyn StdError + 'static));

impl fmt::Debug for SourceChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = self.0.to_string();
        let mut next = self.0.source();
        while let Some(error) = next {
            text.push_str(": ");
            text.push_str(&error.to_string());
            next = error.source();
        }
        fmt::Debug::fmt(&text, f)
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            write!(f, "store {}", self.kind)
        } else {
            write!(f, "store {}: {}", self.kind, self.message)
        }
    }
}

impl StdError for StoreError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error whose `Debug` carries a secret (as an SDK error's raw HTTP response does) but
    /// whose `Display` does not.
    #[derive(Debug)]
    struct Raw {
        #[allow(dead_code)] // read by `Debug` only, which is the point
        body: &'static str,
        inner: Inner,
    }

    #[derive(Debug)]
    struct Inner;

    impl fmt::Display for Raw {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("response error")
        }
    }

    impl fmt::Display for Inner {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("failed to parse the answer")
        }
    }

    impl StdError for Raw {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&self.inner)
        }
    }

    impl StdError for Inner {}

    #[test]
    fn debug_shows_the_source_chain_by_display_never_its_debug() {
        let error = StoreError::new(
            StoreErrorKind::Timeout,
            "UpdateItem: the answer was unreadable",
        )
        .with_source(Raw {
            body: r#"{"lease_token":{"S":"0b7e3c1a-SECRET"}}"#,
            inner: Inner,
        });
        let shown = format!("{error:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(
            shown.contains("response error: failed to parse the answer"),
            "{shown}"
        );
        assert!(
            shown.contains("Timeout") && shown.contains("unreadable"),
            "{shown}"
        );
        assert!(error.source().is_some(), "the source stays reachable");
        let alone = format!("{:?}", StoreError::new(StoreErrorKind::Other, "m"));
        assert!(!alone.contains("source"), "{alone}");
    }
}
