//! Errors: configuration, input, decoding, and the outcome of a lease operation.

use std::fmt;
use std::time::Duration;

use crate::holder::Holder;
use crate::key::LeaseKey;
use crate::response::StoreError;

/// A configuration that cannot be used. Returned by
/// [`LeaseConfigBuilder::build`](crate::LeaseConfigBuilder::build).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The table name is not 3 to 255 characters of `a-z A-Z 0-9 _ - .`.
    #[error(
        "invalid table name {name:?}: DynamoDB table names are 3 to 255 characters of a-z, A-Z, 0-9, '_', '-' and '.'"
    )]
    InvalidTableName {
        /// The name given.
        name: String,
    },
    /// An attribute name is empty.
    #[error("the {role} attribute name is empty")]
    EmptyAttributeName {
        /// Which attribute (`partition key`, `sort key`, `token`, `expires-at`, `ttl`).
        role: &'static str,
    },
    /// An attribute name is longer than DynamoDB's 255 bytes.
    #[error("the {role} attribute name is {len} bytes long; DynamoDB allows at most 255")]
    AttributeNameTooLong {
        /// Which attribute.
        role: &'static str,
        /// Its length in bytes.
        len: usize,
    },
    /// Two roles were given the same attribute name.
    #[error(
        "the {first} and {second} attributes are both named {name:?}; each needs its own attribute"
    )]
    DuplicateAttributeName {
        /// The shared name.
        name: String,
        /// The first role using it.
        first: &'static str,
        /// The second role using it.
        second: &'static str,
    },
    /// The lock sort key value is empty.
    #[error("the lock sort key is empty")]
    EmptyLockSortKey,
    /// The lock sort key value is longer than DynamoDB's 1024 bytes for a sort key.
    #[error("the lock sort key is {len} bytes long; DynamoDB allows at most 1024")]
    LockSortKeyTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The TTL buffer is longer than [`MAX_TTL_BUFFER`](crate::config::MAX_TTL_BUFFER).
    #[error("TTL buffer {buffer:?} is longer than the 10-year maximum (a unit mistake?)")]
    TtlBufferTooLong {
        /// The buffer given.
        buffer: Duration,
    },
}

/// Input that is rejected before any request is planned or sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidInput {
    /// The partition key value is empty.
    #[error("the partition key is empty")]
    EmptyPartitionKey,
    /// The sort key value is empty.
    #[error("the sort key is empty")]
    EmptySortKey,
    /// The partition key value is longer than DynamoDB's 2048 bytes.
    #[error("the partition key is {len} bytes long; DynamoDB allows at most 2048")]
    PartitionKeyTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The sort key value is longer than DynamoDB's 1024 bytes.
    #[error("the sort key is {len} bytes long; DynamoDB allows at most 1024")]
    SortKeyTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The lease duration is zero.
    #[error("the lease duration must be greater than zero")]
    ZeroDuration,
    /// The lease duration is longer than [`MAX_LEASE_DURATION`](crate::MAX_LEASE_DURATION).
    #[error("the lease duration {duration:?} is longer than the 10-year maximum (a unit mistake?)")]
    DurationTooLong {
        /// The duration given.
        duration: Duration,
    },
    /// The clock reading plus the duration (or the TTL buffer) is outside the representable
    /// range of times.
    #[error("the lease expiry is out of the representable range of times")]
    TimeOutOfRange,
    /// The lease token is empty.
    #[error("the lease token is empty")]
    EmptyToken,
}

/// A stored item that cannot be read as a lease.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A lease attribute is missing.
    #[error("attribute {attribute:?} is missing")]
    MissingAttribute {
        /// The attribute name.
        attribute: String,
    },
    /// A lease attribute has the wrong DynamoDB type.
    #[error("attribute {attribute:?} is of type {found}, expected {expected}")]
    WrongType {
        /// The attribute name.
        attribute: String,
        /// The type expected (`S` or `N`).
        expected: &'static str,
        /// The type found.
        found: &'static str,
    },
    /// A number attribute is not a whole number of epoch seconds in range.
    #[error("attribute {attribute:?} = {value:?} is not whole epoch seconds")]
    InvalidEpochSeconds {
        /// The attribute name.
        attribute: String,
        /// The stored value.
        value: String,
    },
}

/// The lease operation an error belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// Acquire.
    Acquire,
    /// Refresh (renew).
    Refresh,
    /// Release.
    Release,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Acquire => "acquire",
            Self::Refresh => "refresh",
            Self::Release => "release",
        })
    }
}

/// Why a lease operation did not succeed. Every variant names the lease's key.
///
/// The expected outcomes of contention are their own variants, to match on or test with the
/// predicates: [`Held`](Self::Held) ([`is_held`](Self::is_held)) and
/// [`NotOwned`](Self::NotOwned) ([`is_not_owned`](Self::is_not_owned)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LeaseError {
    /// Acquire: the lease is held by someone else and has not expired (TableTheory's
    /// `LeaseHeldError`). `holder` says what the store told about the current holder.
    #[error("lease {key} is held by another holder{holder}")]
    Held {
        /// The lease's key.
        key: LeaseKey,
        /// What is known of the current holder.
        holder: Holder,
    },
    /// Refresh: the lease is no longer this token's: it expired, was taken over, or is gone
    /// (TableTheory's `LeaseNotOwnedError`).
    #[error("lease {key} is not owned by this holder (expired, taken over, or released)")]
    NotOwned {
        /// The lease's key.
        key: LeaseKey,
    },
    /// The input was rejected before any request was sent.
    #[error("invalid {operation} of lease {key}: {reason}")]
    InvalidInput {
        /// The operation.
        operation: Operation,
        /// The lease's key.
        key: LeaseKey,
        /// What is wrong.
        #[source]
        reason: InvalidInput,
    },
    /// The store failed. See [`StoreError::kind`] for whether the request may have been applied.
    #[error("{operation} of lease {key} failed")]
    Store {
        /// The operation.
        operation: Operation,
        /// The lease's key.
        key: LeaseKey,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// The store answered in a way that does not fit the request (for example an item for a
    /// write). Indicates a bug in a store implementation.
    #[error("{operation} of lease {key}: unexpected store response: {detail}")]
    UnexpectedResponse {
        /// The operation.
        operation: Operation,
        /// The lease's key.
        key: LeaseKey,
        /// What was unexpected.
        detail: &'static str,
    },
}

impl LeaseError {
    /// Whether this is [`LeaseError::Held`]: someone else holds the lease.
    #[must_use]
    pub fn is_held(&self) -> bool {
        matches!(self, Self::Held { .. })
    }

    /// Whether this is [`LeaseError::NotOwned`]: the lease is no longer ours.
    #[must_use]
    pub fn is_not_owned(&self) -> bool {
        matches!(self, Self::NotOwned { .. })
    }

    /// Whether this is [`LeaseError::InvalidInput`].
    #[must_use]
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, Self::InvalidInput { .. })
    }

    /// The key of the lease the error is about.
    #[must_use]
    pub fn key(&self) -> &LeaseKey {
        match self {
            Self::Held { key, .. }
            | Self::NotOwned { key }
            | Self::InvalidInput { key, .. }
            | Self::Store { key, .. }
            | Self::UnexpectedResponse { key, .. } => key,
        }
    }
}
