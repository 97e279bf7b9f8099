//! Errors: configuration, input, decoding, and the outcome of a lease operation.

use std::fmt;
use std::time::Duration;

use crate::election::ELECTION_SORT_KEY;
use crate::holder::{Holder, HolderSuffix};
use crate::key::LeaseKey;
use crate::lifecycle::LossReason;
use crate::response::StoreError;
use crate::transact::CancellationReason;

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
    /// The lock sort key is the elections' sort key (`LEADER`): a lock and an election of the
    /// same name would share one item.
    #[error(
        "the lock sort key {ELECTION_SORT_KEY:?} is reserved for elections: a lock and an election of the same name would share one item"
    )]
    ReservedLockSortKey,
    /// The lock sort key value is longer than DynamoDB's 1024 bytes for a sort key.
    #[error("the lock sort key is {len} bytes long; DynamoDB allows at most 1024")]
    LockSortKeyTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The clock skew bound is larger than
    /// [`MAX_CLOCK_SKEW_BOUND`](crate::config::MAX_CLOCK_SKEW_BOUND).
    #[error("clock skew bound {skew:?} is larger than one hour")]
    ClockSkewTooLarge {
        /// The bound given.
        skew: Duration,
    },
    /// The TTL buffer is zero. TTL is turned off with
    /// [`LeaseConfigBuilder::include_ttl`](crate::LeaseConfigBuilder::include_ttl)`(false)`,
    /// not with a zero buffer (which turns it off in TableTheory).
    #[error("the TTL buffer is zero; to write no TTL, use include_ttl(false)")]
    ZeroTtlBuffer,
    /// The TTL buffer is longer than [`MAX_TTL_BUFFER`](crate::config::MAX_TTL_BUFFER).
    #[error("TTL buffer {buffer:?} is longer than the 10-year maximum (a unit mistake?)")]
    TtlBufferTooLong {
        /// The buffer given.
        buffer: Duration,
    },
    /// The TTL buffer (rounded up to whole seconds, as written) is shorter than
    /// [`TTL_BUFFER_SKEW_FACTOR`](crate::config::TTL_BUFFER_SKEW_FACTOR) times the clock skew
    /// bound: DynamoDB could delete a released item soon enough after its last acquisition for
    /// the next fencing token, which restarts from the acquirer's clock, to come out below it.
    #[error(
        "TTL buffer {buffer:?} is shorter than {minimum:?} (three times the clock skew bound): \
         a released item could be deleted soon enough for the next fencing token to go down; \
         use a longer buffer (default one hour) or turn TTL off"
    )]
    TtlBufferTooShort {
        /// The buffer given.
        buffer: Duration,
        /// The shortest buffer accepted with the configured skew bound.
        minimum: Duration,
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
    /// The lease duration is not longer than the configured clock skew bound, so the holder
    /// could not safely do any work.
    #[error(
        "the lease duration {duration:?} is not longer than the clock skew bound {max_clock_skew:?}"
    )]
    DurationNotAboveSkew {
        /// The duration given.
        duration: Duration,
        /// The configured bound.
        max_clock_skew: Duration,
    },
    /// The clock reading plus the duration (or the TTL buffer) is outside the representable
    /// range of times.
    #[error("the lease expiry is out of the representable range of times")]
    TimeOutOfRange,
    /// The lease token is empty.
    #[error("the lease token is empty")]
    EmptyToken,
    /// The lease token is longer than [`MAX_TOKEN_BYTES`](crate::MAX_TOKEN_BYTES) (1024 UTF-8
    /// bytes).
    #[error("the lease token is {len} bytes long, over the 1024-byte limit")]
    TokenTooLong {
        /// Its length in UTF-8 bytes.
        len: usize,
    },
    /// The value a campaign proclaims is empty.
    #[error("the proclaimed value is empty")]
    EmptyValue,
    /// The value a campaign proclaims is longer than
    /// [`MAX_VALUE_BYTES`](crate::MAX_VALUE_BYTES) (2048 UTF-8 bytes).
    #[error("the proclaimed value is {len} bytes long, over the 2048-byte limit")]
    ValueTooLong {
        /// Its length in UTF-8 bytes.
        len: usize,
    },
    /// A lease guard's renew period is not well below the lease duration: it must be above
    /// zero, below half the duration (so a failed renewal can be retried before the lease
    /// ends), and below the duration minus the clock skew bound (so the first renewal is sent
    /// before the holder's local safe deadline).
    #[error(
        "the renew period {renew_every:?} is not well below the lease duration {duration:?} \
         (it must be above zero, below half the duration, and below the duration minus the \
         clock skew bound {max_clock_skew:?})"
    )]
    InvalidRenewPeriod {
        /// The renew period given.
        renew_every: Duration,
        /// The lease duration.
        duration: Duration,
        /// The configured clock skew bound.
        max_clock_skew: Duration,
    },
    /// A lease guard's renew jitter ([`RenewPolicy::jitter`](crate::RenewPolicy::jitter)) is
    /// not a fraction from 0 to [`MAX_RENEW_JITTER`](crate::lifecycle::MAX_RENEW_JITTER) (0.5):
    /// it is NaN, infinite, negative or larger.
    #[error("the renew jitter is not a fraction from 0 to 0.5 (NaN, infinite or out of range)")]
    InvalidRenewJitter,
    /// A guarded commit has more items than DynamoDB takes in one transaction
    /// ([`MAX_TRANSACT_ITEMS`](crate::MAX_TRANSACT_ITEMS), the guard included).
    #[error(
        "the transaction has {count} items with the lease's guard; DynamoDB allows at most 100: split the writes"
    )]
    TooManyTransactItems {
        /// Items in the transaction, the guard included.
        count: usize,
    },
    /// A write of a guarded commit is on the lease item itself, which the guard already
    /// covers: DynamoDB rejects two operations on one item in one transaction.
    #[error(
        "write {index} of the transaction is on the lease item, which the guard already covers (DynamoDB rejects two operations on one item); to release the lease in the same transaction, commit with the release as the guard"
    )]
    LeaseItemInTransaction {
        /// The write's position among the caller's writes (0-based).
        index: usize,
    },
    /// A lock (an acquire that proclaims no value) was asked for at a sort key reserved for
    /// elections ([`ELECTION_SORT_KEY`](crate::ELECTION_SORT_KEY), `LEADER`: observers of the
    /// election would report the lock's holder as a leader without a value) or for semaphores
    /// (beginning with [`PERMIT_SORT_KEY_PREFIX`](crate::PERMIT_SORT_KEY_PREFIX), `PERMIT#`:
    /// the lock would take a permit).
    #[error(
        "the sort key is reserved: {ELECTION_SORT_KEY:?} for elections (campaign instead), \
         \"PERMIT#...\" for semaphores (acquire a permit instead)"
    )]
    ReservedSortKey,
    /// A semaphore was given no permits, or more than [`MAX_PERMITS`](crate::MAX_PERMITS)
    /// (1 000).
    #[error("a semaphore has 1 to 1000 permits; {permits} were given")]
    InvalidPermits {
        /// The number of permits given.
        permits: u32,
    },
    /// An acquire of a set was given no key.
    #[error("no keys were given: a set holds 1 to 100 keys")]
    NoKeys,
    /// An acquire of a set was given more keys than one transaction takes
    /// ([`MAX_SET_KEYS`](crate::MAX_SET_KEYS), 100).
    #[error("{count} keys were given; one set holds at most 100 (DynamoDB's transaction limit)")]
    TooManyKeys {
        /// The number of keys given.
        count: usize,
    },
    /// An acquire of a set was given the same key twice (after a partition key alone was
    /// resolved to the lock sort key).
    #[error(
        "key {} of the set (counting from 1) repeats an earlier key (DynamoDB rejects two writes of one item in a transaction)",
        index + 1
    )]
    DuplicateKey {
        /// The position of the second occurrence (0-based).
        index: usize,
    },
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
    /// A number attribute is not a whole number in range (the expiry, in whole epoch
    /// seconds or milliseconds as configured; the fencing token; the TTL).
    #[error("attribute {attribute:?} = {value:?} is not a whole number in range")]
    InvalidNumber {
        /// The attribute name.
        attribute: String,
        /// The stored value.
        value: String,
    },
    /// The expiry is further in the future than any lease can be: most likely written in
    /// another unit (milliseconds read as seconds).
    #[error(
        "attribute {attribute:?} = {value} lies beyond the longest possible lease; is it in {unit}?"
    )]
    ExpiryBeyondHorizon {
        /// The attribute name.
        attribute: String,
        /// The stored value.
        value: i64,
        /// The configured unit.
        unit: &'static str,
    },
    /// The item has an attribute that is neither a key nor a lease attribute (strict
    /// decoding, [`Planner::inspect`](crate::Planner::inspect) only).
    #[error("attribute {attribute:?} is not a lease attribute")]
    ForeignAttribute {
        /// The attribute name.
        attribute: String,
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
    /// Inspect (a consistent read).
    Inspect,
    /// A commit guarded by the lease: planning a guard
    /// ([`Planner::lease_check`](crate::Planner::lease_check),
    /// [`Planner::release_in_transaction`](crate::Planner::release_in_transaction)) or
    /// sending a transaction that contains one ([`CommitPlan`](crate::CommitPlan)).
    Commit,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Acquire => "acquire",
            Self::Refresh => "refresh",
            Self::Release => "release",
            Self::Inspect => "inspect",
            Self::Commit => "guarded commit",
        })
    }
}

/// Why a lease operation did not succeed. Every variant names the lease's key.
///
/// `Display` says what failed and never repeats the cause: a variant with a cause
/// ([`InvalidInput`](Self::InvalidInput), [`MalformedItem`](Self::MalformedItem),
/// [`Store`](Self::Store), [`OutcomeUnknown`](Self::OutcomeUnknown), [`Lost`](Self::Lost))
/// returns it from
/// [`source`](std::error::Error::source), so an error-chain printer (`anyhow`'s `{:#}`,
/// `tracing`'s error fields, the `lease` command) shows each reason once. Printed alone, such
/// an error names the operation and the key; walk the chain for the reason, or print
/// [`report`](Self::report).
///
/// The expected outcomes of contention are their own variants, to match on or test with the
/// predicates: [`Held`](Self::Held) ([`is_held`](Self::is_held)) and
/// [`NotOwned`](Self::NotOwned) ([`is_not_owned`](Self::is_not_owned)).
///
/// Each variant a caller handles in the normal course has a predicate, so that code can branch
/// without matching (and without a wildcard arm for this `#[non_exhaustive]` enum):
/// [`is_held`](Self::is_held), [`is_not_owned`](Self::is_not_owned),
/// [`is_wait_timed_out`](Self::is_wait_timed_out), [`is_store`](Self::is_store),
/// [`is_outcome_unknown`](Self::is_outcome_unknown) (and [`store_error`](Self::store_error) for
/// both), [`is_transaction_canceled`](Self::is_transaction_canceled),
/// [`is_lapsed`](Self::is_lapsed), [`is_lost`](Self::is_lost),
/// [`is_malformed_item`](Self::is_malformed_item) and
/// [`is_invalid_input`](Self::is_invalid_input). The other variants
/// ([`Guarded`](Self::Guarded), [`ManagerShutDown`](Self::ManagerShutDown),
/// [`UnexpectedResponse`](Self::UnexpectedResponse)) report a misuse or a bug; match them if
/// you must tell them apart.
///
/// `LeaseError` is not `PartialEq`: [`Store`](Self::Store) and
/// [`OutcomeUnknown`](Self::OutcomeUnknown) carry the store's error, whose underlying error
/// (an AWS SDK error, any `dyn Error`) has no equality, and an equality that ignored it would
/// call two different failures equal. Compare with the predicates, `matches!` and
/// [`key`](Self::key).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LeaseError {
    /// Acquire: the lease is held by someone else and has not expired (TableTheory's
    /// `LeaseHeldError`). `holder` says what the store told about the current holder.
    #[error("lease {key} is already held{}", HolderSuffix(holder))]
    Held {
        /// The lease's key.
        key: LeaseKey,
        /// What is known of the current holder.
        holder: Holder,
    },
    /// An acquire of a set (several keys at once): some of the keys are held by others and have
    /// not expired, so no key was acquired (all or nothing). `held` names each held key with
    /// what the store told about its holder (who, until when); `key` is the first of them.
    #[error("{} of the keys asked for together are already held, lease {key} among them; none was acquired", held.len())]
    HeldKeys {
        /// The first held key.
        key: LeaseKey,
        /// Every held key, in the order asked for, with what is known of its holder.
        held: Vec<(LeaseKey, Holder)>,
    },
    /// An acquire of a semaphore's permit: every permit is held (and, for a waiting acquire,
    /// still was at the end of the wait). `earliest_expiry` is when the first of them expires
    /// unless renewed (by its holder's clock, as stored), so a caller knows when to try again;
    /// `None` when no held permit expires by itself (their items are not readable leases).
    #[error("no permit of semaphore {key} is free (all {permits} are held)")]
    NoPermit {
        /// The semaphore's name, under the permit prefix (`PERMIT#`).
        key: LeaseKey,
        /// The number of permits asked for.
        permits: u32,
        /// When the earliest held permit expires, if any does.
        earliest_expiry: Option<std::time::SystemTime>,
    },
    /// Refresh or a guarded commit: the lease is no longer this token's: it expired, was taken
    /// over, or is gone (TableTheory's `LeaseNotOwnedError`). For a guarded commit, nothing
    /// was written.
    #[error("lease {key} is not owned by this holder (expired, taken over, or released)")]
    NotOwned {
        /// The lease's key.
        key: LeaseKey,
    },
    /// The input was rejected before any request was sent.
    #[error("invalid {operation} of lease {key}")]
    InvalidInput {
        /// The operation.
        operation: Operation,
        /// The lease's key.
        key: LeaseKey,
        /// What is wrong.
        #[source]
        reason: InvalidInput,
    },
    /// The item at the lease's key is not a readable lease (missing or wrong-typed lease
    /// attributes, an expiry in another unit): it is never taken over and never reported as held.
    #[error("the item at lease {key} is not a readable lease")]
    MalformedItem {
        /// The lease's key.
        key: LeaseKey,
        /// What is wrong with the item.
        #[source]
        error: DecodeError,
    },
    /// The store failed in a way that leaves the outcome unknown (a timeout, a lost response, a
    /// server error): the write may or may not have been applied, and retries within the
    /// manager's policy did not settle it. Distinct from [`Held`](Self::Held): nobody is known
    /// to hold the lease.
    #[error("outcome of {operation} of lease {key} is unknown")]
    OutcomeUnknown {
        /// The operation.
        operation: Operation,
        /// The lease's key.
        key: LeaseKey,
        /// The last store error.
        #[source]
        source: StoreError,
    },
    /// The store failed, and the request was not applied. See [`StoreError::kind`].
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
    /// A transaction was cancelled for a reason the operation does not name otherwise. For a
    /// guarded commit: the guard passed (the lease was held), but another item's condition
    /// failed, or DynamoDB reported another reason (such as `TransactionConflict`); when the
    /// guard fails, the error is [`NotOwned`](Self::NotOwned) instead. For a lease set: an item
    /// failed for a reason other than a held key (a `TypeError` on a fencing token stored by
    /// another program, a validation error). Nothing was written.
    #[error(
        "transaction under lease {key} was cancelled: {}",
        reason_codes(reasons)
    )]
    TransactionCanceled {
        /// The lease's key.
        key: LeaseKey,
        /// One reason per item of the transaction, in the order of its items (the guard
        /// first).
        reasons: Vec<CancellationReason>,
    },
    /// A waiting acquire (the `lease` crate's `LeaseManager::acquire`) ran out of
    /// time: the lease was still held by another holder (the last one seen is `holder`) when
    /// the wait policy's timeout passed. Losing a race to another contender while waiting is
    /// not this error: the wait goes on until the timeout.
    #[error(
        "timed out waiting for lease {key}, still held by another holder{}",
        HolderSuffix(holder)
    )]
    WaitTimedOut {
        /// The lease's key.
        key: LeaseKey,
        /// What the last attempt learned of the holder.
        holder: Holder,
    },
    /// The lease is kept by a running lease guard of this manager (the `lease` crate's
    /// `LeaseGuard`): refreshing or releasing it past the guard would leave the guard
    /// believing in a deadline the store no longer has (a shorter refresh would let another
    /// holder in while the guard still reports the lease held). Renew and release it through
    /// the guard. Nothing was sent.
    #[error(
        "{operation} of lease {key} refused: a lease guard of this manager keeps it; use the guard"
    )]
    Guarded {
        /// The operation refused.
        operation: Operation,
        /// The lease's key.
        key: LeaseKey,
    },
    /// The lease manager was shut down (the `lease` crate's `LeaseManager::shutdown`): it
    /// starts no new lease guards. Nothing was sent.
    #[error("the lease manager was shut down; no new guard for lease {key}")]
    ManagerShutDown {
        /// The lease's key.
        key: LeaseKey,
    },
    /// The store granted the acquire (or the refresh), but its answer arrived after the
    /// lease's local safe deadline ([`Lease::valid_until`](crate::Lease::valid_until), on the
    /// monotonic or the wall clock): the answer was late (a slow network, a retry after a
    /// timeout) or the process was paused. From the deadline on another holder may take the
    /// lease over, so it cannot be used. An acquire's lease was released again
    /// (token-conditioned, best effort); after a refresh, release the lease you hold.
    #[error(
        "the {operation} of lease {key} was answered after the lease's safe deadline; the lease cannot be used"
    )]
    Lapsed {
        /// The operation (acquire or refresh).
        operation: Operation,
        /// The lease's key.
        key: LeaseKey,
    },
    /// A kept lease (the `lease` crate's `LeaseGuard`) was lost before its holder let go of
    /// it: taken over, past its safe deadline without a confirmed renewal, or ended by the
    /// manager's shutdown. The work done under it was not protected by the lease to its end.
    /// (A lease that may still be ours was released all the same.)
    #[error("lease {key} was lost before it was released")]
    Lost {
        /// The lease's key.
        key: LeaseKey,
        /// Why it was lost (also the error's source).
        #[source]
        reason: LossReason,
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
    /// The error and its causes on one line, each once: `acquire of lease CACHE#A/LOCK failed:
    /// store throttled: Rate of requests exceeds the allowed throughput`. For a log line or a
    /// message to a person where no error-chain printer is at hand (`Display` alone names the
    /// operation and key only).
    #[must_use]
    pub fn report(&self) -> Report<'_> {
        Report(self)
    }

    /// Whether this is [`LeaseError::Held`] or [`LeaseError::HeldKeys`]: someone else holds
    /// the lease (or, for a set, some of its keys).
    #[must_use]
    pub fn is_held(&self) -> bool {
        matches!(self, Self::Held { .. } | Self::HeldKeys { .. })
    }

    /// Whether this is [`LeaseError::NoPermit`]: every permit of the semaphore is held.
    #[must_use]
    pub fn is_no_permit(&self) -> bool {
        matches!(self, Self::NoPermit { .. })
    }

    /// Whether this is [`LeaseError::NotOwned`]: the lease is no longer ours.
    #[must_use]
    pub fn is_not_owned(&self) -> bool {
        matches!(self, Self::NotOwned { .. })
    }

    /// Whether this is [`LeaseError::Store`]: the store failed and the request was not applied
    /// (a throttled, refused or invalid request, a missing table). Its
    /// [kind](StoreError::kind) is in [`store_error`](Self::store_error). A failure that may
    /// have been applied is [`is_outcome_unknown`](Self::is_outcome_unknown) instead.
    #[must_use]
    pub fn is_store(&self) -> bool {
        matches!(self, Self::Store { .. })
    }

    /// Whether this is [`LeaseError::MalformedItem`]: the item at the lease's key is not a
    /// readable lease (the reason is the error's [`source`](std::error::Error::source)).
    #[must_use]
    pub fn is_malformed_item(&self) -> bool {
        matches!(self, Self::MalformedItem { .. })
    }

    /// The store error behind [`LeaseError::Store`] or [`LeaseError::OutcomeUnknown`], for its
    /// [kind](StoreError::kind); `None` for every other variant.
    #[must_use]
    pub fn store_error(&self) -> Option<&StoreError> {
        match self {
            Self::Store { source, .. } | Self::OutcomeUnknown { source, .. } => Some(source),
            _ => None,
        }
    }

    /// Whether this is [`LeaseError::OutcomeUnknown`]: the write may or may not have landed.
    #[must_use]
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Self::OutcomeUnknown { .. })
    }

    /// Whether this is [`LeaseError::TransactionCanceled`]: a guarded commit was cancelled by
    /// one of the caller's own items, not by the lease's guard.
    #[must_use]
    pub fn is_transaction_canceled(&self) -> bool {
        matches!(self, Self::TransactionCanceled { .. })
    }

    /// Whether this is [`LeaseError::WaitTimedOut`]: a waiting acquire ran out of time while
    /// the lease was held by another holder.
    #[must_use]
    pub fn is_wait_timed_out(&self) -> bool {
        matches!(self, Self::WaitTimedOut { .. })
    }

    /// Whether this is [`LeaseError::Lapsed`]: the store's answer came after the lease's safe
    /// deadline.
    #[must_use]
    pub fn is_lapsed(&self) -> bool {
        matches!(self, Self::Lapsed { .. })
    }

    /// Whether this is [`LeaseError::Lost`]: a kept lease was lost before its holder let go.
    #[must_use]
    pub fn is_lost(&self) -> bool {
        matches!(self, Self::Lost { .. })
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
            | Self::HeldKeys { key, .. }
            | Self::NoPermit { key, .. }
            | Self::NotOwned { key }
            | Self::InvalidInput { key, .. }
            | Self::Store { key, .. }
            | Self::MalformedItem { key, .. }
            | Self::OutcomeUnknown { key, .. }
            | Self::TransactionCanceled { key, .. }
            | Self::WaitTimedOut { key, .. }
            | Self::ManagerShutDown { key }
            | Self::Guarded { key, .. }
            | Self::Lapsed { key, .. }
            | Self::Lost { key, .. }
            | Self::UnexpectedResponse { key, .. } => key,
        }
    }
}

/// [`LeaseError::report`]: the error and its [`source`](std::error::Error::source) chain,
/// joined with `": "`.
#[derive(Clone, Copy, Debug)]
pub struct Report<'a>(&'a LeaseError);

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = std::error::Error::source(self.0);
        while let Some(error) = cause {
            write!(f, ": {error}")?;
            cause = error.source();
        }
        Ok(())
    }
}

/// The cancellation reasons' codes, for messages: `[None, ConditionalCheckFailed]`.
fn reason_codes(reasons: &[CancellationReason]) -> String {
    let codes: Vec<&str> = reasons.iter().map(CancellationReason::code).collect();
    format!("[{}]", codes.join(", "))
}

/// A store error as the operation's error: [`LeaseError::OutcomeUnknown`] if the request may
/// have been applied, [`LeaseError::Store`] if it certainly was not.
pub(crate) fn store_failure(operation: Operation, key: LeaseKey, source: StoreError) -> LeaseError {
    // A read changes nothing: there is no outcome to be unsure of.
    if source.kind().outcome_may_be_applied() && operation != Operation::Inspect {
        LeaseError::OutcomeUnknown {
            operation,
            key,
            source,
        }
    } else {
        LeaseError::Store {
            operation,
            key,
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::StoreErrorKind;

    /// One error of each variant.
    fn one_of_each() -> Vec<LeaseError> {
        let key = || LeaseKey::new("CACHE#A", "LOCK");
        let store = || StoreError::new(StoreErrorKind::Throttled, "slow down");
        vec![
            LeaseError::Held {
                key: key(),
                holder: Holder::Unknown,
            },
            LeaseError::HeldKeys {
                key: key(),
                held: vec![(key(), Holder::Unknown)],
            },
            LeaseError::NoPermit {
                key: key(),
                permits: 3,
                earliest_expiry: None,
            },
            LeaseError::NotOwned { key: key() },
            LeaseError::InvalidInput {
                operation: Operation::Acquire,
                key: key(),
                reason: InvalidInput::ZeroDuration,
            },
            LeaseError::MalformedItem {
                key: key(),
                error: DecodeError::MissingAttribute {
                    attribute: "lease_token".into(),
                },
            },
            LeaseError::OutcomeUnknown {
                operation: Operation::Refresh,
                key: key(),
                source: store(),
            },
            LeaseError::Store {
                operation: Operation::Release,
                key: key(),
                source: store(),
            },
            LeaseError::TransactionCanceled {
                key: key(),
                reasons: Vec::new(),
            },
            LeaseError::WaitTimedOut {
                key: key(),
                holder: Holder::Unknown,
            },
            LeaseError::Guarded {
                operation: Operation::Release,
                key: key(),
            },
            LeaseError::ManagerShutDown { key: key() },
            LeaseError::Lapsed {
                operation: Operation::Acquire,
                key: key(),
            },
            LeaseError::Lost {
                key: key(),
                reason: LossReason::NotOwned,
            },
            LeaseError::UnexpectedResponse {
                operation: Operation::Inspect,
                key: key(),
                detail: "an item for a write",
            },
        ]
    }

    /// The variant's name. No wildcard: a new variant must be added here, to `one_of_each`,
    /// and, if callers handle it in the normal course, given a predicate.
    fn variant(error: &LeaseError) -> &'static str {
        match error {
            LeaseError::Held { .. } => "Held",
            LeaseError::HeldKeys { .. } => "HeldKeys",
            LeaseError::NoPermit { .. } => "NoPermit",
            LeaseError::NotOwned { .. } => "NotOwned",
            LeaseError::InvalidInput { .. } => "InvalidInput",
            LeaseError::MalformedItem { .. } => "MalformedItem",
            LeaseError::OutcomeUnknown { .. } => "OutcomeUnknown",
            LeaseError::Store { .. } => "Store",
            LeaseError::TransactionCanceled { .. } => "TransactionCanceled",
            LeaseError::WaitTimedOut { .. } => "WaitTimedOut",
            LeaseError::Guarded { .. } => "Guarded",
            LeaseError::ManagerShutDown { .. } => "ManagerShutDown",
            LeaseError::Lapsed { .. } => "Lapsed",
            LeaseError::Lost { .. } => "Lost",
            LeaseError::UnexpectedResponse { .. } => "UnexpectedResponse",
        }
    }

    /// Each predicate holds for its own variant and no other; `store_error` answers for the
    /// two store failures only; every error names its key.
    #[test]
    fn each_predicate_names_one_variant() {
        type Predicate = fn(&LeaseError) -> bool;
        let predicates: [(&str, Predicate); 11] = [
            ("Held", LeaseError::is_held),
            ("NoPermit", LeaseError::is_no_permit),
            ("NotOwned", LeaseError::is_not_owned),
            ("InvalidInput", LeaseError::is_invalid_input),
            ("MalformedItem", LeaseError::is_malformed_item),
            ("OutcomeUnknown", LeaseError::is_outcome_unknown),
            ("Store", LeaseError::is_store),
            ("TransactionCanceled", LeaseError::is_transaction_canceled),
            ("WaitTimedOut", LeaseError::is_wait_timed_out),
            ("Lapsed", LeaseError::is_lapsed),
            ("Lost", LeaseError::is_lost),
        ];
        for error in one_of_each() {
            let debug = format!("{error:?}");
            let variant = variant(&error);
            for (name, predicate) in predicates {
                let its_own = name == variant || (name, variant) == ("Held", "HeldKeys");
                assert_eq!(predicate(&error), its_own, "{name} on {debug}");
            }
            assert_eq!(
                error.store_error().is_some(),
                matches!(variant, "Store" | "OutcomeUnknown"),
                "{debug}"
            );
            assert_eq!(error.key(), &LeaseKey::new("CACHE#A", "LOCK"));
        }
        let variants: std::collections::BTreeSet<_> = one_of_each().iter().map(variant).collect();
        assert_eq!(variants.len(), 15, "one error of each variant");
    }
}
