//! Release: one `UpdateItem` conditioned on the token that marks the lease released.
//!
//! TableTheory deletes the item (`DeleteItem` conditioned on `#tok = :tok`) and swallows a
//! failed condition. Here the item is kept with its expiry set to 0 (expired for every reader,
//! TableTheory's included) so that its fencing token survives, its TTL is set to now + buffer so
//! DynamoDB can collect it, and a failed condition is reported as
//! [`ReleaseOutcome::NotHeld`]. The condition is the token alone, so a retried release that
//! already landed is `Released` again: the answer is always definite.

use crate::attribute::AttributeValue;
use crate::error::{self, LeaseError, Operation};
use crate::expr::{Comparator, Condition, UpdateAction, Value};
use crate::holder::RELEASED_EXPIRY;
use crate::key::LeaseKey;
use crate::lease::{PendingLease, ReleaseOutcome};
use crate::planner::Planner;
use crate::request::{OnConditionFailure, Request, ReturnValues, UpdateRequest};
use crate::response::{StoreError, StoreResponse};

/// A planned release: send [`request`](Self::request), then pass the answer to
/// [`interpret`](Self::interpret).
#[must_use = "a plan does nothing until its request is sent and the answer interpreted"]
pub struct ReleasePlan<'p> {
    request: Request,
    /// The lease being released; its key names it in errors.
    lease: &'p PendingLease,
}

impl<'p> ReleasePlan<'p> {
    pub(crate) fn new(planner: &Planner, lease: &'p PendingLease, gc_ttl: Option<i64>) -> Self {
        let condition = Condition::compare(
            planner.token_attr(),
            Comparator::Eq,
            Planner::token_value(lease.token()),
        );
        let request = Request::Update(release_update(planner, lease, gc_ttl, condition));
        Self { request, lease }
    }

    /// The request to send (again, if a try timed out).
    #[must_use]
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// Interprets the store's answer.
    ///
    /// # Errors
    /// - [`LeaseError::OutcomeUnknown`] / [`LeaseError::Store`] when the store failed (maybe
    ///   applied / not applied).
    /// - [`LeaseError::UnexpectedResponse`] when the store answered a write with a read.
    pub fn interpret(
        self,
        response: Result<StoreResponse, StoreError>,
    ) -> Result<ReleaseOutcome, LeaseError> {
        interpret(|| self.lease.key().clone(), response)
    }

    /// The request, for a machine that interprets the answer later ([`interpret`]).
    pub(crate) fn into_request(self) -> Request {
        self.request
    }
}

/// [`ReleasePlan::interpret`] of a release of the lease `key` names (asked for on errors
/// only).
pub(crate) fn interpret(
    key: impl FnOnce() -> LeaseKey,
    response: Result<StoreResponse, StoreError>,
) -> Result<ReleaseOutcome, LeaseError> {
    match response {
        Ok(StoreResponse::Applied { .. }) => Ok(ReleaseOutcome::Released),
        Ok(StoreResponse::ConditionFailed { .. }) => Ok(ReleaseOutcome::NotHeld),
        Ok(StoreResponse::TransactionCanceled { .. }) => Err(LeaseError::UnexpectedResponse {
            operation: Operation::Release,
            key: key(),
            detail: "a transaction cancellation was returned for an UpdateItem",
        }),
        Ok(StoreResponse::Item(_) | StoreResponse::Items(_)) => {
            Err(LeaseError::UnexpectedResponse {
                operation: Operation::Release,
                key: key(),
                detail: "an item was returned for an UpdateItem",
            })
        }
        Err(source) => Err(error::store_failure(Operation::Release, key(), source)),
    }
}

/// The update that marks `lease` released under `condition`: `SET #exp = :released` and the
/// TTL action (`SET #ttl = :ttl` with the collection TTL, or `REMOVE #ttl`), returning
/// nothing.
pub(crate) fn release_update(
    planner: &Planner,
    lease: &PendingLease,
    gc_ttl: Option<i64>,
    condition: Condition,
) -> UpdateRequest {
    let update = vec![
        UpdateAction::set(
            planner.expires_attr(),
            Value::new("released", AttributeValue::number(RELEASED_EXPIRY)),
        ),
        planner.ttl_action(gc_ttl),
    ];
    UpdateRequest {
        table_name: planner.table_name(),
        key: planner.key_item(lease.key()),
        update,
        condition: Some(condition),
        return_values: ReturnValues::None,
        on_condition_failure: OnConditionFailure::ReturnNothing,
    }
}

/// Shows the key only: the request holds the bearer token.
impl std::fmt::Debug for ReleasePlan<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReleasePlan")
            .field("key", self.lease.key())
            .finish_non_exhaustive()
    }
}
