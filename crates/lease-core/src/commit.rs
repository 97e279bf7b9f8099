//! A guarded commit: the caller's writes and a guard on the lease item in one transaction.
//!
//! The guard is the transaction's first item (position 0): a condition check
//! ([`Planner::commit`]) or the release of the lease ([`Planner::commit_and_release`]), both
//! conditioned on `#tok = :tok AND #exp > :now`. The caller's writes follow in their order.

use crate::attribute::{AttributeValue, Item};
use crate::error::{self, InvalidInput, LeaseError, Operation};
use crate::guard::cancellation_error;
use crate::key::LeaseKey;
use crate::lease::Lease;
use crate::now::Now;
use crate::planner::{Planner, invalid};
use crate::request::Request;
use crate::response::{StoreError, StoreResponse};
use crate::transact::{MAX_TRANSACT_ITEMS, TransactItem, TransactRequest};

/// The position of the guard in a [`CommitPlan`]'s transaction.
pub const COMMIT_LEASE_CHECK_INDEX: usize = 0;

/// A planned guarded commit: send [`request`](Self::request) (a
/// [`Request::Transact`]), then pass the answer to [`interpret`](Self::interpret).
///
/// Unlike the lease operations, a commit is not always safe to send again after a timeout:
/// if the first try landed, the retry's guard or the caller's own conditions may fail, and a
/// commit that released the lease fails its guard for sure. A store failure that may have
/// applied the transaction is reported as [`LeaseError::OutcomeUnknown`]; read the written
/// items to settle it.
#[must_use = "a plan does nothing until its request is sent and the answer interpreted"]
pub struct CommitPlan<'p> {
    request: Request,
    key: LeaseKey,
    releases: bool,
    _planner: &'p Planner,
}

impl<'p> CommitPlan<'p> {
    /// The transaction to send: the guard at [`COMMIT_LEASE_CHECK_INDEX`], then the caller's writes.
    #[must_use]
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The key of the lease guarding the commit.
    #[must_use]
    pub fn key(&self) -> &LeaseKey {
        &self.key
    }

    /// Whether the commit also releases the lease ([`Planner::commit_and_release`]).
    #[must_use]
    pub fn releases(&self) -> bool {
        self.releases
    }

    /// Interprets the store's answer: `Ok(())` when the transaction was applied (the caller's
    /// writes are in, and the lease is released if the plan [releases](Self::releases) it).
    ///
    /// # Errors
    /// - [`LeaseError::NotOwned`] when the guard failed: the lease expired, was taken over,
    ///   released, or is gone; nothing was written.
    /// - [`LeaseError::TransactionCanceled`] when the transaction was cancelled for another
    ///   reason (one of the caller's conditions failed, a `TransactionConflict`, ...), with
    ///   the reasons; nothing was written.
    /// - [`LeaseError::OutcomeUnknown`] / [`LeaseError::Store`] when the store failed (maybe
    ///   applied / not applied); a store without transactions answers
    ///   [`StoreErrorKind::Unsupported`](crate::StoreErrorKind::Unsupported) inside
    ///   [`LeaseError::Store`].
    /// - [`LeaseError::UnexpectedResponse`] when the store's answer does not fit a
    ///   transaction.
    pub fn interpret(self, response: Result<StoreResponse, StoreError>) -> Result<(), LeaseError> {
        interpret(self.key, response)
    }

    /// The transaction and the key, for a machine that keeps them apart ([`interpret`]).
    pub(crate) fn into_parts(self) -> (Request, LeaseKey) {
        (self.request, self.key)
    }
}

/// [`CommitPlan::interpret`] of a commit under the lease at `key`.
pub(crate) fn interpret(
    key: LeaseKey,
    response: Result<StoreResponse, StoreError>,
) -> Result<(), LeaseError> {
    let unexpected = |key, detail| LeaseError::UnexpectedResponse {
        operation: Operation::Commit,
        key,
        detail,
    };
    match response {
        Ok(StoreResponse::Applied { .. }) => Ok(()),
        Ok(StoreResponse::TransactionCanceled { reasons }) => {
            Err(cancellation_error(key, reasons, COMMIT_LEASE_CHECK_INDEX))
        }
        Ok(StoreResponse::ConditionFailed { .. }) => Err(unexpected(
            key,
            "a single-item condition failure was returned for a transaction",
        )),
        Ok(StoreResponse::Item(_) | StoreResponse::Items(_)) => {
            Err(unexpected(key, "an item was returned for a transaction"))
        }
        Err(source) => Err(error::store_failure(Operation::Commit, key, source)),
    }
}

/// Shows the key only: the request holds the bearer token.
impl std::fmt::Debug for CommitPlan<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitPlan")
            .field("key", &self.key)
            .field("releases", &self.releases)
            .finish_non_exhaustive()
    }
}

impl Planner {
    /// Plans a commit of `writes` under `lease`, at wall-clock time `now`: one transaction of
    /// the lease's [lease check](Self::lease_check) (a condition check on the lease item, at
    /// [`COMMIT_LEASE_CHECK_INDEX`]) followed by `writes`, in order. It is applied only while the
    /// lease is held; the lease stays held.
    ///
    /// # Errors
    /// [`LeaseError::InvalidInput`] (operation [`Operation::Commit`]), nothing to send:
    /// - for an empty or oversized key or an empty token;
    /// - [`InvalidInput::TooManyTransactItems`] for more than 99 writes (the guard is the
    ///   100th item);
    /// - [`InvalidInput::LeaseItemInTransaction`] if a write is on the lease item itself.
    pub fn commit(
        &self,
        lease: &Lease,
        now: impl Into<Now>,
        writes: Vec<TransactItem>,
    ) -> Result<CommitPlan<'_>, LeaseError> {
        let guard = self.lease_check(lease, now)?.transact_item();
        self.commit_plan(lease, guard, writes, false)
    }

    /// Plans a commit of `writes` that also releases `lease`, at wall-clock time `now`: one
    /// transaction of the lease's [release](Self::release_in_transaction) (an update of the
    /// lease item conditioned on the lease being held, at [`COMMIT_LEASE_CHECK_INDEX`]) followed by
    /// `writes`. FaceTheory's "commit metadata and drop the lock in one transaction".
    ///
    /// # Errors
    /// As [`commit`](Self::commit), and [`InvalidInput::TimeOutOfRange`] for a TTL out of
    /// range.
    pub fn commit_and_release(
        &self,
        lease: &Lease,
        now: impl Into<Now>,
        writes: Vec<TransactItem>,
    ) -> Result<CommitPlan<'_>, LeaseError> {
        let guard = self.release_in_transaction(lease, now)?;
        self.commit_plan(lease, guard, writes, true)
    }

    fn commit_plan(
        &self,
        lease: &Lease,
        guard: TransactItem,
        writes: Vec<TransactItem>,
        releases: bool,
    ) -> Result<CommitPlan<'_>, LeaseError> {
        let reject = |reason| Err(invalid(Operation::Commit, lease.key().clone(), reason));
        let count = writes.len().saturating_add(1);
        if count > MAX_TRANSACT_ITEMS {
            return reject(InvalidInput::TooManyTransactItems { count });
        }
        if let Some(index) = writes
            .iter()
            .position(|w| self.is_lease_item(w, lease.key()))
        {
            return reject(InvalidInput::LeaseItemInTransaction { index });
        }
        let mut items = Vec::with_capacity(count);
        items.push(guard);
        items.extend(writes);
        Ok(CommitPlan {
            request: Request::Transact(TransactRequest { items }),
            key: lease.key().clone(),
            releases,
            _planner: self,
        })
    }

    /// Whether `item` is on the lease item at `key` (same table, same key values).
    fn is_lease_item(&self, item: &TransactItem, key: &LeaseKey) -> bool {
        let attributes: &Item = match item {
            TransactItem::ConditionCheck(r) => &r.key,
            TransactItem::Put(r) => &r.item,
            TransactItem::Update(r) => &r.key,
            TransactItem::Delete(r) => &r.key,
        };
        let is = |name: &str, value: &str| {
            attributes.get(name).and_then(AttributeValue::as_s) == Some(value)
        };
        item.table_name() == self.config().table_name()
            && is(self.config().partition_key_attribute(), key.partition())
            && is(
                self.config().sort_key_attribute(),
                key.sort().unwrap_or(self.config().lock_sort_key()),
            )
    }
}
