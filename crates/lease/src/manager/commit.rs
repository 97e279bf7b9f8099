//! Writes guarded by the lease: a condition check on the lease item in the caller's
//! `TransactWriteItems`, or the caller's writes committed with it (issue 3).

use std::sync::Arc;

use lease_core::lifecycle::CommitOp;
use lease_core::{ConditionCheckRequest, Lease, LeaseError, Operation, TransactItem};
use tracing::debug;

use super::LeaseManager;
use lease_core::Store;

impl<S: Store> LeaseManager<S> {
    /// A guard for writes made while holding `lease`, at this manager's clock: a condition
    /// check on the lease item (`#tok = :tok AND #exp > :now`) to add to your own
    /// `TransactWriteItems`, so that it commits only while the lease is held
    /// ([`Planner::lease_check`](crate::store::Planner::lease_check)). `lease_dynamodb_sdk::dynamodb::lease_check_transact_item` turns it into an SDK
    /// `TransactWriteItem`. Plan it just before sending the transaction.
    ///
    /// If the transaction is cancelled with `ConditionalCheckFailed` at the guard's position,
    /// the lease was not held (treat it as [`LeaseError::NotOwned`]) and nothing was written.
    ///
    /// # Errors
    /// [`LeaseError::InvalidInput`] for an empty or oversized key or an empty token.
    pub fn lease_check(&self, lease: &Lease) -> Result<ConditionCheckRequest, LeaseError> {
        Ok(self
            .planner()
            .lease_check(lease, self.now())?
            .into_condition_check())
    }

    /// The release of `lease` as a transaction item, at this manager's clock
    /// ([`Planner::release_in_transaction`](crate::store::Planner::release_in_transaction)): an update that marks the lease item released,
    /// conditioned on the lease being held (`#tok = :tok AND #exp > :now`). Put it in your own
    /// transaction in place of a [`lease_check`](Self::lease_check) to commit and release together
    /// (DynamoDB rejects two operations on the lease item in one transaction);
    /// `lease_dynamodb_sdk::dynamodb::transact_item` turns it into an SDK `TransactWriteItem`.
    ///
    /// # Errors
    /// [`LeaseError::InvalidInput`] for an empty or oversized key or an empty token;
    /// [`LeaseError::Guarded`] if a running guard of this manager keeps the lease.
    pub fn release_in_transaction(&self, lease: &Lease) -> Result<TransactItem, LeaseError> {
        self.not_guarded(Operation::Release, lease)?;
        self.planner().release_in_transaction(lease, self.now())
    }

    /// Commits `writes` in one transaction with a guard on `lease` (first item, see
    /// [`Planner::commit`](crate::store::Planner::commit)): the writes are applied, all together, only if the lease is still
    /// held; the lease stays held. The writes may not touch the lease item itself (use
    /// [`commit_and_release`](Self::commit_and_release) to release it in the same
    /// transaction).
    ///
    /// The transaction is sent again only after throttling (nothing applied), as the retry
    /// policy allows; never after a timeout or a server error.
    ///
    /// # Errors
    /// - [`LeaseError::NotOwned`] if the guard failed: the lease expired, was taken over,
    ///   released, or is gone. Nothing was written.
    /// - [`LeaseError::TransactionCanceled`] if the transaction was cancelled for another
    ///   reason (one of `writes`' conditions failed, a conflicting transaction), with one
    ///   reason per item (the guard first). Nothing was written.
    /// - [`LeaseError::InvalidInput`] before any request for an empty key or token, more than
    ///   99 writes, or a write on the lease item.
    /// - [`LeaseError::OutcomeUnknown`] if the store failed in a way that may have applied the
    ///   transaction; [`LeaseError::Store`] if it did not (a store without transactions
    ///   answers [`StoreErrorKind::Unsupported`](lease_core::StoreErrorKind::Unsupported)).
    pub async fn commit(&self, lease: &Lease, writes: Vec<TransactItem>) -> Result<(), LeaseError> {
        self.send_commit(lease, writes, false).await
    }

    /// Commits `writes` and releases `lease` in one transaction (FaceTheory's "commit the
    /// metadata and drop the lock"): the lease item is marked released under the condition
    /// that the lease is still held ([`Planner::commit_and_release`](crate::store::Planner::commit_and_release)), so the writes are
    /// applied only while it is, and the lease is released when they are.
    ///
    /// # Errors
    /// As [`commit`](Self::commit), and [`LeaseError::Guarded`] before any request if a
    /// running guard of this manager keeps the lease (release it through the guard). After an
    /// error other than [`LeaseError::OutcomeUnknown`] the lease was not released by this call.
    pub async fn commit_and_release(
        &self,
        lease: &Lease,
        writes: Vec<TransactItem>,
    ) -> Result<(), LeaseError> {
        self.not_guarded(Operation::Commit, lease)?;
        let result = self.send_commit(lease, writes, true).await;
        if result.is_ok() {
            self.shared.handover.released(lease.key(), lease.token());
        }
        result
    }

    /// Sends the transaction of `writes` under `lease` (releasing it too, with `releases`):
    /// lease-core's [`CommitOp`], which sends it again only after a failure that certainly
    /// applied nothing and may pass later (throttling), never after a timeout or a server
    /// error: if it landed, a second copy would fail its guard and hide the success.
    async fn send_commit(
        &self,
        lease: &Lease,
        writes: Vec<TransactItem>,
        releases: bool,
    ) -> Result<(), LeaseError> {
        let now = self.now();
        let mut op = CommitOp::new(
            Arc::clone(self.planner()),
            lease,
            now,
            writes,
            releases,
            self.retry_policy(),
        )?;
        let result = self.drive(&mut op, now).await;
        let key = lease.key();
        match &result {
            Ok(()) => debug!(%key, releases, "guarded commit applied"),
            Err(e) => debug!(%key, releases, error = %e.report(), "guarded commit not applied"),
        }
        result
    }
}
