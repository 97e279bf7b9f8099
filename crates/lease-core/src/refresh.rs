//! Refresh: one conditional `UpdateItem`.
//!
//! Compatible with TableTheory's `Refresh`: condition `#tok = :tok AND #exp > :now`, update
//! `SET #exp = :exp[, #ttl = :ttl]`. The new expiry is `now + duration` rounded up. With TTL off,
//! `REMOVE #ttl` drops a TTL another writer left, which could otherwise delete the live lease
//! (seed-spec W9). The fencing token is never changed. Sending the request again after a
//! timeout is safe: a refresh that landed leaves a condition the retry meets.

use crate::attribute::AttributeValue;
use crate::error::{self, LeaseError, Operation};
use crate::expr::{UpdateAction, Value};
use crate::lease::Lease;
use crate::now::Now;
use crate::planner::{Planner, WriteTimes};
use crate::request::{OnConditionFailure, Request, ReturnValues, UpdateRequest};
use crate::response::{StoreError, StoreResponse};

/// A planned refresh: send [`request`](Self::request), then pass the answer to
/// [`interpret`](Self::interpret).
#[must_use = "a plan does nothing until its request is sent and the answer interpreted"]
pub struct RefreshPlan<'p> {
    request: Request,
    lease: Lease,
    _planner: &'p Planner,
}

impl<'p> RefreshPlan<'p> {
    pub(crate) fn new(planner: &'p Planner, lease: &Lease, now: Now, times: WriteTimes) -> Self {
        let update = vec![
            UpdateAction::set(
                planner.expires_attr(),
                Value::new("exp", AttributeValue::number(times.expires)),
            ),
            planner.ttl_action(times.ttl),
        ];
        let condition = planner.held_condition(lease, now);
        let request = Request::Update(UpdateRequest {
            table_name: planner.table_name(),
            key: planner.key_item(lease.key()),
            update,
            condition: Some(condition),
            return_values: ReturnValues::None,
            on_condition_failure: OnConditionFailure::ReturnNothing,
        });
        Self {
            request,
            lease: Lease::held(
                lease.key().clone(),
                lease.token().clone(),
                times.expires_at,
                lease.fence(),
                times.deadline,
            ),
            _planner: planner,
        }
    }

    /// The request to send (again, if a try timed out).
    #[must_use]
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// Interprets the store's answer: the refreshed lease, with its new expiry and deadline and
    /// the same fencing token.
    ///
    /// # Errors
    /// - [`LeaseError::NotOwned`] when the condition failed: the item is gone, holds another
    ///   token, or the lease has expired.
    /// - [`LeaseError::OutcomeUnknown`] / [`LeaseError::Store`] when the store failed (maybe
    ///   applied / not applied).
    /// - [`LeaseError::UnexpectedResponse`] when the store answered a write with a read.
    pub fn interpret(
        self,
        response: Result<StoreResponse, StoreError>,
    ) -> Result<Lease, LeaseError> {
        interpret(self.lease, response)
    }

    /// The request and the lease it gives if it succeeds, for a machine that keeps them apart
    /// ([`interpret`]).
    pub(crate) fn into_parts(self) -> (Request, Lease) {
        (self.request, self.lease)
    }
}

/// [`RefreshPlan::interpret`] of the plan whose refreshed lease is `lease`.
pub(crate) fn interpret(
    lease: Lease,
    response: Result<StoreResponse, StoreError>,
) -> Result<Lease, LeaseError> {
    let key = lease.key();
    match response {
        Ok(StoreResponse::Applied { .. }) => Ok(lease),
        Ok(StoreResponse::ConditionFailed { .. }) => Err(LeaseError::NotOwned { key: key.clone() }),
        Ok(StoreResponse::TransactionCanceled { .. }) => Err(LeaseError::UnexpectedResponse {
            operation: Operation::Refresh,
            key: key.clone(),
            detail: "a transaction cancellation was returned for an UpdateItem",
        }),
        Ok(StoreResponse::Item(_) | StoreResponse::Items(_)) => {
            Err(LeaseError::UnexpectedResponse {
                operation: Operation::Refresh,
                key: key.clone(),
                detail: "an item was returned for an UpdateItem",
            })
        }
        Err(source) => Err(error::store_failure(
            Operation::Refresh,
            key.clone(),
            source,
        )),
    }
}

/// Shows the refreshed lease only: the request holds the bearer token.
impl std::fmt::Debug for RefreshPlan<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshPlan")
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}
