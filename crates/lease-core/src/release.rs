//! Release: one `DeleteItem` conditioned on the token.
//!
//! Wire-compatible with TableTheory's `Release` (condition `#tok = :tok`), but a failed condition
//! is reported as [`ReleaseOutcome::NotHeld`] instead of being swallowed, so the caller can tell
//! "released" from "was not ours any more".

use crate::error::{LeaseError, Operation};
use crate::expr::{Comparator, Condition};
use crate::key::LeaseKey;
use crate::lease::{Lease, ReleaseOutcome};
use crate::planner::Planner;
use crate::request::{DeleteRequest, OnConditionFailure, Request};
use crate::response::{StoreError, StoreResponse};

/// A planned release: send [`request`](Self::request), then pass the answer to
/// [`interpret`](Self::interpret).
#[must_use = "a plan does nothing until its request is sent and the answer interpreted"]
pub struct ReleasePlan<'p> {
    request: Request,
    key: LeaseKey,
    _planner: &'p Planner,
}

impl<'p> ReleasePlan<'p> {
    pub(crate) fn new(planner: &'p Planner, lease: &Lease) -> Self {
        let condition = Condition::compare(
            planner.token_attr(),
            Comparator::Eq,
            Planner::token_value(lease.token()),
        );
        let request = Request::Delete(DeleteRequest {
            table_name: planner.config().table_name().into(),
            key: planner.key_item(lease.key()),
            condition: Some(condition),
            on_condition_failure: OnConditionFailure::ReturnNothing,
        });
        Self {
            request,
            key: lease.key().clone(),
            _planner: planner,
        }
    }

    /// The request to send.
    #[must_use]
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// Interprets the store's answer.
    ///
    /// # Errors
    /// - [`LeaseError::Store`] when the store failed.
    /// - [`LeaseError::UnexpectedResponse`] when the store answered a write with a read.
    pub fn interpret(
        self,
        response: Result<StoreResponse, StoreError>,
    ) -> Result<ReleaseOutcome, LeaseError> {
        match response {
            Ok(StoreResponse::Applied { .. }) => Ok(ReleaseOutcome::Released),
            Ok(StoreResponse::ConditionFailed { .. }) => Ok(ReleaseOutcome::NotHeld),
            Ok(StoreResponse::Item(_)) => Err(LeaseError::UnexpectedResponse {
                operation: Operation::Release,
                key: self.key,
                detail: "an item was returned for a DeleteItem",
            }),
            Err(source) => Err(LeaseError::Store {
                operation: Operation::Release,
                key: self.key,
                source,
            }),
        }
    }
}

/// Shows the key only: the request holds the bearer token.
impl std::fmt::Debug for ReleasePlan<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReleasePlan")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}
