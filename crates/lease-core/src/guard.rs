//! Guards for the holder's own writes: transaction items on the lease item that let a
//! transaction commit only while the lease is held.
//!
//! A lease alone does not stop a holder whose lease has expired (a long pause, a slow clock)
//! from writing: its writes simply happen after someone else took over. A write that goes into
//! the same DynamoDB transaction as a guard on the lease item cannot: the transaction commits
//! only if the lease item still holds the holder's token and has not expired
//! (`#tok = :tok AND #exp > :now`), atomically with the writes.
//!
//! Two guards:
//! - [`Planner::lease_check`]: a `ConditionCheck` on the lease item, which writes nothing to it. The
//!   lease stays held after the commit.
//! - [`Planner::release_in_transaction`]: an `Update` of the lease item that marks it released
//!   under the same condition, to commit and let go of the lease in one transaction
//!   (FaceTheory's "commit metadata and drop the lock" flow). DynamoDB rejects two operations
//!   on one item in one transaction, so this replaces the condition check; it does not go
//!   beside it.
//!
//! When the guard fails, DynamoDB cancels the transaction and its cancellation reason at the
//! guard's position is `ConditionalCheckFailed`: the lease was not held, and nothing was
//! written. [`LeaseCheck::check_failed`] reads that from the reasons.

use crate::error::{LeaseError, Operation};
use crate::expr::{Comparator, Condition};
use crate::key::LeaseKey;
use crate::lease::Lease;
use crate::now::Now;
use crate::planner::{Planner, invalid};
use crate::release::release_update;
use crate::request::OnConditionFailure;
use crate::transact::{CancellationReason, ConditionCheckRequest, TransactItem};

/// A condition check on a held lease's item, to add to a transaction: the transaction commits
/// only if the item still holds the lease's token and has not expired
/// (`#tok = :tok AND #exp > :now`, `:now` being the wall-clock time the guard was planned
/// at, in the configured expiry unit).
///
/// Made by [`Planner::lease_check`]. The check carries the lease's bearer token; `Debug` shows the
/// key only.
#[derive(Clone, PartialEq, Eq)]
pub struct LeaseCheck {
    check: ConditionCheckRequest,
    key: LeaseKey,
}

impl LeaseCheck {
    /// The key of the lease the guard checks.
    #[must_use]
    pub fn key(&self) -> &LeaseKey {
        &self.key
    }

    /// The condition check, as data (`lease_dynamodb_sdk::dynamodb::lease_check_transact_item` turns it into
    /// an SDK `TransactWriteItem`).
    #[must_use]
    pub fn condition_check(&self) -> &ConditionCheckRequest {
        &self.check
    }

    /// The condition check, by value.
    #[must_use]
    pub fn into_condition_check(self) -> ConditionCheckRequest {
        self.check
    }

    /// The condition check as a transaction item.
    #[must_use]
    pub fn transact_item(&self) -> TransactItem {
        TransactItem::ConditionCheck(self.check.clone())
    }

    /// Whether the guard, placed at position `index` (0-based) of a transaction, is what
    /// cancelled it: `reasons` (the cancellation reasons, one per item, in order) has a failed
    /// condition at `index`. Then the lease was not held when the transaction ran (it
    /// expired, was taken over or released), and the caller's answer is
    /// [`LeaseError::NotOwned`].
    #[must_use]
    pub fn check_failed(&self, reasons: &[CancellationReason], index: usize) -> bool {
        check_failed(reasons, index)
    }

    /// The error for a transaction that was cancelled with `reasons`, the guard being at
    /// position `index`: [`LeaseError::NotOwned`] if the guard failed
    /// ([`check_failed`](Self::check_failed)), else [`LeaseError::TransactionCanceled`] with
    /// the reasons.
    #[must_use]
    pub fn cancellation_error(&self, reasons: Vec<CancellationReason>, index: usize) -> LeaseError {
        cancellation_error(self.key.clone(), reasons, index)
    }
}

/// Shows the key only: the check holds the bearer token.
impl std::fmt::Debug for LeaseCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseCheck")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// Whether the item at `index` of a cancelled transaction failed its condition.
pub(crate) fn check_failed(reasons: &[CancellationReason], index: usize) -> bool {
    reasons
        .get(index)
        .is_some_and(CancellationReason::is_condition_failure)
}

/// `NotOwned` if the guard at `index` failed, else `TransactionCanceled`.
pub(crate) fn cancellation_error(
    key: LeaseKey,
    reasons: Vec<CancellationReason>,
    index: usize,
) -> LeaseError {
    if check_failed(&reasons, index) {
        LeaseError::NotOwned { key }
    } else {
        LeaseError::TransactionCanceled { key, reasons }
    }
}

impl Planner {
    /// A lease check for writes made while holding `lease`, planned at wall-clock time `now`: a
    /// condition check on the lease item, `#tok = :tok AND #exp > :now` (the same condition
    /// as refresh), to add to the caller's own transaction. The transaction then commits only
    /// while the lease is held; if the guard fails, DynamoDB cancels it with
    /// `ConditionalCheckFailed` at the guard's position and nothing is written
    /// ([`LeaseCheck::check_failed`]).
    ///
    /// The check must not share a transaction with another operation on the lease item
    /// (DynamoDB rejects that); to commit and release together, use
    /// [`release_in_transaction`](Self::release_in_transaction) instead. Plan the guard just
    /// before sending the transaction: `:now` is fixed when it is planned.
    ///
    /// ```
    /// use lease_core::{
    ///     CancellationReason, FencingToken, Lease, LeaseConfig, LeaseKey, LeaseToken, Planner,
    ///     TransactItem,
    /// };
    /// use lease_core::wire_time::from_epoch_seconds;
    ///
    /// let planner = Planner::new(LeaseConfig::builder("locks").build()?);
    /// let lease = Lease::new(
    ///     LeaseKey::new("CACHE#A", "LOCK"),
    ///     LeaseToken::new("tok"),
    ///     FencingToken::new(7),
    ///     from_epoch_seconds(1030).ok_or("time out of range")?,
    /// );
    /// let guard = planner.lease_check(&lease, from_epoch_seconds(1000).ok_or("time out of range")?)?;
    /// let rendered = guard.transact_item().render();
    /// assert_eq!(rendered.condition.as_deref(), Some("#tok = :tok AND #exp > :now"));
    ///
    /// // The transaction [guard, own write] was cancelled by the guard:
    /// let reasons = [
    ///     CancellationReason::ConditionalCheckFailed { old_item: None },
    ///     CancellationReason::None,
    /// ];
    /// assert!(guard.check_failed(&reasons, 0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`LeaseError::InvalidInput`] (operation [`Operation::Commit`]) for an empty or
    /// oversized key or an empty token.
    pub fn lease_check(
        &self,
        lease: &Lease,
        now: impl Into<Now>,
    ) -> Result<LeaseCheck, LeaseError> {
        let now = now.into();
        self.check_holder(lease.key(), lease.token())
            .map_err(|reason| invalid(Operation::Commit, lease.key().clone(), reason))?;
        Ok(LeaseCheck {
            check: ConditionCheckRequest {
                table_name: self.table_name(),
                key: self.key_item(lease.key()),
                condition: self.held_condition(lease, now),
                on_condition_failure: OnConditionFailure::ReturnNothing,
            },
            key: lease.key().clone(),
        })
    }

    /// A release of `lease` to put in a transaction, planned at wall-clock time `now`: an
    /// `Update` of the lease item that marks it released, exactly as
    /// [`release`](Self::release) does (expiry 0, TTL now plus the buffer or removed, fencing
    /// token kept), but under the guard's condition `#tok = :tok AND #exp > :now`, so the
    /// transaction commits only while the lease is held, and releases it when it does.
    ///
    /// This is the guard for "commit and release in one transaction": DynamoDB rejects a
    /// condition check and a write on the same item in one transaction, so use this item in
    /// place of [`lease_check`](Self::lease_check). If its condition fails, the transaction is cancelled
    /// with `ConditionalCheckFailed` at its position: the lease was not held, nothing was
    /// written, and the lease was not released by this transaction.
    ///
    /// # Errors
    /// [`LeaseError::InvalidInput`] (operation [`Operation::Commit`]) for an empty or
    /// oversized key, an empty token, or a TTL out of range.
    pub fn release_in_transaction(
        &self,
        lease: &Lease,
        now: impl Into<Now>,
    ) -> Result<TransactItem, LeaseError> {
        let now = now.into();
        let gc_ttl = self
            .check_holder(lease.key(), lease.token())
            .and_then(|()| self.release_ttl(now))
            .map_err(|reason| invalid(Operation::Commit, lease.key().clone(), reason))?;
        let condition = self.held_condition(lease, now);
        Ok(TransactItem::Update(release_update(
            self,
            lease.parts(),
            gc_ttl,
            condition,
        )))
    }

    /// `#tok = :tok AND #exp > :now`: the lease item holds `lease`'s token and has not
    /// expired at `now`.
    pub(crate) fn held_condition(&self, lease: &Lease, now: Now) -> Condition {
        Condition::compare(
            self.token_attr(),
            Comparator::Eq,
            Planner::token_value(lease.token()),
        )
        .and(Condition::compare(
            self.expires_attr(),
            Comparator::Gt,
            self.now_value(now.wall),
        ))
    }
}
