//! Acquire: one conditional `PutItem`.
//!
//! Wire-compatible with TableTheory's `Acquire`: the item is `{pk, sk, lease_token,
//! lease_expires_at[, ttl]}` and the condition is `attribute_not_exists(#pk) OR #exp <= :now`.
//! Unlike TableTheory, the request asks for the old item on condition failure, so a failed
//! acquire can say who holds the lease and until when without a second read.

use time::OffsetDateTime;

use crate::attribute::AttributeValue;
use crate::error::{LeaseError, Operation};
use crate::expr::{Comparator, Condition};
use crate::holder::Holder;
use crate::key::LeaseKey;
use crate::lease::Lease;
use crate::planner::{Planner, WriteTimes};
use crate::request::{OnConditionFailure, PutRequest, Request};
use crate::response::{StoreError, StoreResponse};
use crate::token::LeaseToken;

/// A planned acquire: send [`request`](Self::request), then pass the answer to
/// [`interpret`](Self::interpret).
#[must_use = "a plan does nothing until its request is sent and the answer interpreted"]
pub struct AcquirePlan<'p> {
    planner: &'p Planner,
    request: Request,
    lease: Lease,
}

impl<'p> AcquirePlan<'p> {
    pub(crate) fn new(
        planner: &'p Planner,
        key: LeaseKey,
        token: LeaseToken,
        now: OffsetDateTime,
        times: WriteTimes,
    ) -> Self {
        let config = planner.config();
        let mut item = planner.key_item(&key);
        item.insert(
            config.token_attribute().into(),
            AttributeValue::string(token.expose_secret()),
        );
        item.insert(
            config.expires_at_attribute().into(),
            AttributeValue::number(times.expires),
        );
        if let Some(ttl) = times.ttl {
            item.insert(config.ttl_attribute().into(), AttributeValue::number(ttl));
        }
        let condition = Condition::not_exists(planner.pk_attr()).or(Condition::compare(
            planner.expires_attr(),
            Comparator::Le,
            Planner::now_value(now),
        ));
        let request = Request::Put(PutRequest {
            table_name: config.table_name().into(),
            item,
            condition: Some(condition),
            on_condition_failure: OnConditionFailure::ReturnOldItem,
        });
        Self {
            planner,
            request,
            lease: Lease::new(key, token, times.expires_at),
        }
    }

    /// The request to send.
    #[must_use]
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The lease this acquire will hold if it succeeds.
    #[must_use]
    pub fn lease(&self) -> &Lease {
        &self.lease
    }

    /// Interprets the store's answer.
    ///
    /// # Errors
    /// - [`LeaseError::Held`] when the condition failed: the lease is held and not expired.
    /// - [`LeaseError::Store`] when the store failed (the write may have been applied if
    ///   [`StoreErrorKind::outcome_may_be_applied`](crate::StoreErrorKind::outcome_may_be_applied)).
    /// - [`LeaseError::UnexpectedResponse`] when the store answered a write with a read.
    pub fn interpret(
        self,
        response: Result<StoreResponse, StoreError>,
    ) -> Result<Lease, LeaseError> {
        let key = self.lease.key().clone();
        match response {
            Ok(StoreResponse::Applied { .. }) => Ok(self.lease),
            Ok(StoreResponse::ConditionFailed { old_item }) => Err(LeaseError::Held {
                holder: Holder::from_old_item(old_item.as_ref(), self.planner.config()),
                key,
            }),
            Ok(StoreResponse::Item(_)) => Err(LeaseError::UnexpectedResponse {
                operation: Operation::Acquire,
                key,
                detail: "an item was returned for a PutItem",
            }),
            Err(source) => Err(LeaseError::Store {
                operation: Operation::Acquire,
                key,
                source,
            }),
        }
    }
}

/// Shows the lease only: the request holds the bearer token.
impl std::fmt::Debug for AcquirePlan<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcquirePlan")
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}
