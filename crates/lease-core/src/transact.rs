//! Transactions as plain data: DynamoDB's `TransactWriteItems`, and why one was cancelled.
//!
//! A [`TransactRequest`] is a list of [`TransactItem`]s (condition checks and conditional
//! writes) applied all together or not at all. A store answers with
//! [`StoreResponse::Applied`](crate::StoreResponse::Applied) (no attributes: a transaction
//! returns none) or with
//! [`StoreResponse::TransactionCanceled`](crate::StoreResponse::TransactionCanceled), which
//! holds one [`CancellationReason`] per item, in the order of the request's items.

use std::sync::Arc;

use crate::attribute::Item;
use crate::expr::Condition;
use crate::render::{Rendered, Renderer};
use crate::request::{DeleteRequest, OnConditionFailure, PutRequest, UpdateRequest};

/// DynamoDB's limit on the items of one `TransactWriteItems` request.
pub const MAX_TRANSACT_ITEMS: usize = 100;

/// A `TransactWriteItems` request: every item's condition is checked, then every write is
/// applied, atomically; if any condition fails, nothing is written.
///
/// DynamoDB's rules, which stores enforce (a request that breaks them is rejected as a
/// [`Validation`](crate::StoreErrorKind::Validation) error and nothing is written):
/// - 1 to [`MAX_TRANSACT_ITEMS`] items;
/// - no two items on the same item (same table and key), a condition check included: to
///   commit writes and release a lease in one transaction, release with
///   [`Planner::release_in_transaction`](crate::Planner::release_in_transaction) instead of
///   adding a guard on the lease item.
///
/// `Debug` hides the lease tokens of planned items as [`Request`](crate::Request)'s does; values
/// of items you built yourself are shown as they are.
#[derive(Clone, Debug, PartialEq, Eq)]
#[expect(
    clippy::exhaustive_structs,
    reason = "store protocol: a store reads every field, so a new one is a breaking change on purpose"
)]
pub struct TransactRequest {
    /// The items, in order. Cancellation reasons come back in this order.
    pub items: Vec<TransactItem>,
}

/// One item of a [`TransactRequest`].
///
/// The writes are the single-item requests: a [`PutRequest`], [`UpdateRequest`] or
/// [`DeleteRequest`], with these differences inside a transaction:
/// - an update's [`return_values`](UpdateRequest::return_values) is ignored (a transaction
///   returns no attributes);
/// - `on_condition_failure` ([`OnConditionFailure::ReturnOldItem`]) asks for the item in the
///   [`CancellationReason::ConditionalCheckFailed`] of this item.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransactItem {
    /// `ConditionCheck`: a condition on an item, which writes nothing.
    ConditionCheck(ConditionCheckRequest),
    /// `Put`.
    Put(PutRequest),
    /// `Update`.
    Update(UpdateRequest),
    /// `Delete`.
    Delete(DeleteRequest),
}

impl TransactItem {
    /// The table the item goes to.
    #[must_use]
    pub fn table_name(&self) -> &str {
        match self {
            Self::ConditionCheck(r) => &r.table_name,
            Self::Put(r) => &r.table_name,
            Self::Update(r) => &r.table_name,
            Self::Delete(r) => &r.table_name,
        }
    }

    /// The item's condition, if any (a condition check always has one).
    #[must_use]
    pub fn condition(&self) -> Option<&Condition> {
        match self {
            Self::ConditionCheck(r) => Some(&r.condition),
            Self::Put(r) => r.condition.as_ref(),
            Self::Update(r) => r.condition.as_ref(),
            Self::Delete(r) => r.condition.as_ref(),
        }
    }

    /// What the item returns when its condition fails.
    #[must_use]
    pub fn on_condition_failure(&self) -> OnConditionFailure {
        match self {
            Self::ConditionCheck(r) => r.on_condition_failure,
            Self::Put(r) => r.on_condition_failure,
            Self::Update(r) => r.on_condition_failure,
            Self::Delete(r) => r.on_condition_failure,
        }
    }

    /// This item's own expression strings and placeholder maps: in a transaction each item
    /// carries its own `ConditionExpression`, `UpdateExpression`, `ExpressionAttributeNames`
    /// and `ExpressionAttributeValues`.
    #[must_use]
    pub fn render(&self) -> Rendered {
        let mut r = Renderer::default();
        if let Self::Update(update) = self {
            r.update(&update.update);
        }
        if let Some(condition) = self.condition() {
            r.condition(condition);
        }
        r.finish()
    }
}

impl From<ConditionCheckRequest> for TransactItem {
    fn from(check: ConditionCheckRequest) -> Self {
        Self::ConditionCheck(check)
    }
}

impl From<PutRequest> for TransactItem {
    fn from(put: PutRequest) -> Self {
        Self::Put(put)
    }
}

impl From<UpdateRequest> for TransactItem {
    fn from(update: UpdateRequest) -> Self {
        Self::Update(update)
    }
}

impl From<DeleteRequest> for TransactItem {
    fn from(delete: DeleteRequest) -> Self {
        Self::Delete(delete)
    }
}

/// A `ConditionCheck`: a condition on one item, checked inside a transaction, that writes
/// nothing. If the condition fails the whole transaction is cancelled.
///
/// Build one with [`ConditionCheckRequest::new`]; the fields are public for the stores that
/// execute it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[expect(
    clippy::exhaustive_structs,
    reason = "store protocol: a store reads every field, so a new one is a breaking change on purpose"
)]
pub struct ConditionCheckRequest {
    /// Table name (shared: a planner's requests point to one copy).
    pub table_name: Arc<str>,
    /// The item's key attributes.
    pub key: Item,
    /// The condition the current item must meet.
    pub condition: Condition,
    /// What to return when the condition fails.
    pub on_condition_failure: OnConditionFailure,
}

impl ConditionCheckRequest {
    /// A check that the item at `key` (its key attributes) in `table_name` meets `condition`,
    /// returning nothing when it does not.
    #[must_use]
    pub fn new(table_name: impl Into<Arc<str>>, key: Item, condition: Condition) -> Self {
        Self {
            table_name: table_name.into(),
            key,
            condition,
            on_condition_failure: OnConditionFailure::ReturnNothing,
        }
    }

    /// What to return when the condition fails (default
    /// [`ReturnNothing`](OnConditionFailure::ReturnNothing)).
    #[must_use]
    pub fn on_condition_failure(mut self, on_failure: OnConditionFailure) -> Self {
        self.on_condition_failure = on_failure;
        self
    }
}

/// Why one item of a cancelled transaction did not go through: one entry of DynamoDB's
/// `CancellationReasons`, which has one entry per item of the request, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CancellationReason {
    /// Nothing was wrong with this item (code `None`): the transaction was cancelled because
    /// of another item.
    None,
    /// The item's condition failed (code `ConditionalCheckFailed`). `old_item` is the item as
    /// it was, when the transaction item asked for it
    /// ([`OnConditionFailure::ReturnOldItem`]) and the store returned it; `None` also when
    /// there is no item.
    ConditionalCheckFailed {
        /// The item as it was, if returned.
        old_item: Option<Item>,
    },
    /// Any other reason, with DynamoDB's code: for example `TransactionConflict` (another
    /// transaction or write was in progress on the item: nothing was written, and sending the
    /// transaction again may succeed), `ValidationError`, `ItemCollectionSizeLimitExceeded`,
    /// `ProvisionedThroughputExceeded` or `ThrottlingError`.
    Other {
        /// DynamoDB's code for the reason.
        code: String,
        /// DynamoDB's message, if any.
        message: Option<String>,
    },
}

impl CancellationReason {
    /// Whether this item's condition failed.
    #[must_use]
    pub fn is_condition_failure(&self) -> bool {
        matches!(self, Self::ConditionalCheckFailed { .. })
    }

    /// DynamoDB's code for this reason: `None`, `ConditionalCheckFailed`, or the other code.
    #[must_use]
    pub fn code(&self) -> &str {
        match self {
            Self::None => "None",
            Self::ConditionalCheckFailed { .. } => "ConditionalCheckFailed",
            Self::Other { code, .. } => code,
        }
    }
}
