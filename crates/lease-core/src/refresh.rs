//! Refresh: one conditional `UpdateItem`.
//!
//! Wire-compatible with TableTheory's `Refresh`: condition `#tok = :tok AND #exp > :now`, update
//! `SET #exp = :exp[, #ttl = :ttl]`. The new expiry is `now + duration` rounded up.

use time::OffsetDateTime;

use crate::attribute::AttributeValue;
use crate::error::{LeaseError, Operation};
use crate::expr::{Comparator, Condition, UpdateAction, Value};
use crate::lease::Lease;
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
    pub(crate) fn new(
        planner: &'p Planner,
        lease: &Lease,
        now: OffsetDateTime,
        times: WriteTimes,
    ) -> Self {
        let mut update = vec![UpdateAction::set(
            planner.expires_attr(),
            Value::new("exp", AttributeValue::number(times.expires)),
        )];
        if let Some(ttl) = times.ttl {
            update.push(UpdateAction::set(
                planner.ttl_attr(),
                Value::new("ttl", AttributeValue::number(ttl)),
            ));
        }
        let condition = Condition::compare(
            planner.token_attr(),
            Comparator::Eq,
            Planner::token_value(lease.token()),
        )
        .and(Condition::compare(
            planner.expires_attr(),
            Comparator::Gt,
            Planner::now_value(now),
        ));
        let request = Request::Update(UpdateRequest {
            table_name: planner.config().table_name().into(),
            key: planner.key_item(lease.key()),
            update,
            condition: Some(condition),
            return_values: ReturnValues::None,
            on_condition_failure: OnConditionFailure::ReturnNothing,
        });
        Self {
            request,
            lease: Lease::new(lease.key().clone(), lease.token().clone(), times.expires_at),
            _planner: planner,
        }
    }

    /// The request to send.
    #[must_use]
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// Interprets the store's answer: the refreshed lease, with its new expiry.
    ///
    /// # Errors
    /// - [`LeaseError::NotOwned`] when the condition failed: the item is gone, holds another
    ///   token, or the lease has expired.
    /// - [`LeaseError::Store`] when the store failed.
    /// - [`LeaseError::UnexpectedResponse`] when the store answered a write with a read.
    pub fn interpret(
        self,
        response: Result<StoreResponse, StoreError>,
    ) -> Result<Lease, LeaseError> {
        let key = self.lease.key().clone();
        match response {
            Ok(StoreResponse::Applied { .. }) => Ok(self.lease),
            Ok(StoreResponse::ConditionFailed { .. }) => Err(LeaseError::NotOwned { key }),
            Ok(StoreResponse::Item(_)) => Err(LeaseError::UnexpectedResponse {
                operation: Operation::Refresh,
                key,
                detail: "an item was returned for an UpdateItem",
            }),
            Err(source) => Err(LeaseError::Store {
                operation: Operation::Refresh,
                key,
                source,
            }),
        }
    }
}

/// Shows the lease only: the request holds the bearer token.
impl std::fmt::Debug for RefreshPlan<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshPlan")
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}
