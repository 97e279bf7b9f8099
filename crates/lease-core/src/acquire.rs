//! Acquire: one conditional `UpdateItem`.
//!
//! Compatible with TableTheory's `Acquire`: the item gets `{lease_token, lease_expires_at[,
//! ttl]}` at `{pk, sk}`, under the condition `attribute_not_exists(#pk) OR #exp <= :now`. Three
//! additions make it safer:
//! - `SET #fence = if_not_exists(#fence, :floor) + :one`: a fencing token that only grows
//!   (`:floor` is the wall clock in epoch milliseconds, for an item that has none);
//! - `OR #tok = :tok`: a retry of the same acquire (same fresh token) after its response was
//!   lost finds its own write and succeeds, instead of reporting its own lease as held;
//! - an update, not a put: attributes acquire does not own are never erased, and the old item
//!   comes back on condition failure (`ALL_OLD`), so a failed acquire can say who holds the
//!   lease without a second read.

use crate::attribute::{AttributeValue, Item};
use crate::error::{self, DecodeError, LeaseError, Operation};
use crate::expr::{Comparator, Condition, Operand, UpdateAction, UpdateValue, Value};
use crate::fence::FencingToken;
use crate::holder::{Holder, HolderRecord};
use crate::key::LeaseKey;
use crate::lease::{Lease, PendingLease};
use crate::now::Now;
use crate::planner::{Planner, WriteTimes};
use crate::request::{OnConditionFailure, Request, ReturnValues, UpdateRequest};
use crate::response::{StoreError, StoreResponse};
use crate::token::LeaseToken;
use std::time::SystemTime;

/// A planned acquire: send [`request`](Self::request), then pass the answer to
/// [`interpret`](Self::interpret). Sending the same request again after a timeout is safe: a
/// write that landed is recognised by its token.
#[must_use = "a plan does nothing until its request is sent and the answer interpreted"]
pub struct AcquirePlan<'p> {
    planner: &'p Planner,
    request: Request,
    lease: PendingLease,
    now: Now,
}

impl<'p> AcquirePlan<'p> {
    pub(crate) fn new(
        planner: &'p Planner,
        key: LeaseKey,
        token: LeaseToken,
        now: Now,
        times: WriteTimes,
    ) -> Self {
        let update = vec![
            UpdateAction::set(planner.token_attr(), Planner::token_value(&token)),
            UpdateAction::set(
                planner.expires_attr(),
                Value::new("exp", AttributeValue::number(times.expires)),
            ),
            UpdateAction::Set(
                planner.fence_attr(),
                UpdateValue::Plus(
                    Box::new(UpdateValue::IfNotExists(
                        planner.fence_attr(),
                        Value::new(
                            "floor",
                            AttributeValue::N(itoa::Buffer::new().format(times.floor).into()),
                        ),
                    )),
                    Box::new(UpdateValue::Operand(Operand::Value(Value::new(
                        "one",
                        AttributeValue::number(1),
                    )))),
                ),
            ),
            planner.ttl_action(times.ttl),
        ];
        let condition = Condition::not_exists(planner.pk_attr())
            .or(Condition::compare(
                planner.expires_attr(),
                Comparator::Le,
                planner.now_value(now.wall),
            ))
            .or(Condition::compare(
                planner.token_attr(),
                Comparator::Eq,
                Planner::token_value(&token),
            ));
        let request = Request::Update(UpdateRequest {
            table_name: planner.table_name(),
            key: planner.key_item(&key),
            update,
            condition: Some(condition),
            return_values: ReturnValues::UpdatedNew,
            on_condition_failure: OnConditionFailure::ReturnOldItem,
        });
        Self {
            planner,
            request,
            lease: PendingLease::held(key, token, times.expires_at, times.deadline),
            now,
        }
    }

    /// The same acquire, also writing `value` to the item's value attribute (default
    /// `lease_value`): what a campaign for leadership proclaims (its name or address). Renewals
    /// keep it; the next acquire with a value replaces it.
    ///
    /// # Errors
    /// [`LeaseError::InvalidInput`] ([`InvalidInput::EmptyValue`](error::InvalidInput::EmptyValue),
    /// [`ValueTooLong`](error::InvalidInput::ValueTooLong)) before anything is sent.
    pub fn proclaiming(mut self, value: &str) -> Result<Self, LeaseError> {
        if let Err(reason) = crate::validate::value(value) {
            return Err(LeaseError::InvalidInput {
                operation: Operation::Acquire,
                key: self.lease.key().clone(),
                reason,
            });
        }
        write_value(self.planner, &mut self.request, value);
        Ok(self)
    }

    /// The request to send (again, if a try timed out).
    #[must_use]
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The lease this acquire will hold if it succeeds (its fencing token is known only from
    /// the store's answer).
    #[must_use]
    pub fn lease(&self) -> &PendingLease {
        &self.lease
    }

    /// The key being acquired.
    #[must_use]
    pub fn key(&self) -> &LeaseKey {
        self.lease.key()
    }

    /// Interprets the store's answer: the lease, with the fencing token read from the updated
    /// item.
    ///
    /// # Errors
    /// - [`LeaseError::Held`] when the condition failed: the lease is held by another token and
    ///   not expired, with the holder when the store returned the old item.
    /// - [`LeaseError::MalformedItem`] when the condition failed on an item that is not a
    ///   readable lease (it will never expire by itself: someone must repair or delete it), or
    ///   when the write applied but the item's fencing token, stored by another program, is
    ///   not a whole number ([`DecodeError::InvalidNumber`]; the lease must then be given back,
    ///   as [`AcquireOp`](crate::lifecycle::AcquireOp) does).
    /// - [`LeaseError::OutcomeUnknown`] when the store failed in a way that may have applied the
    ///   write (send the request again to settle it); [`LeaseError::Store`] when it did not.
    /// - [`LeaseError::UnexpectedResponse`] when the store's answer does not fit the request.
    pub fn interpret(
        self,
        response: Result<StoreResponse, StoreError>,
    ) -> Result<Lease, LeaseError> {
        interpret(self.planner, self.lease, self.now.wall, response)
    }

    /// The request, the lease it gives if it succeeds, and the planning time, for a machine
    /// that keeps them apart ([`interpret`]).
    pub(crate) fn into_parts(self) -> (Request, PendingLease) {
        (self.request, self.lease)
    }
}

/// Adds `SET #val = :val` to an acquire's `request` (a checked value).
pub(crate) fn write_value(planner: &Planner, request: &mut Request, value: &str) {
    if let Request::Update(update) = request {
        update.update.push(UpdateAction::set(
            planner.value_attr(),
            Value::new("val", AttributeValue::string(value)),
        ));
    }
}

/// [`AcquirePlan::interpret`] of the plan whose lease is `lease`, planned at wall-clock time
/// `wall` (the time a holder in an old item is judged at).
pub(crate) fn interpret(
    planner: &Planner,
    lease: PendingLease,
    wall: SystemTime,
    response: Result<StoreResponse, StoreError>,
) -> Result<Lease, LeaseError> {
    let fence = proven_fence(&response, planner, &lease);
    interpret_proven(planner, lease, wall, response, fence)
}

/// [`interpret`], given what [`proven_fence`] says of `response` (for a caller that asked it
/// already).
pub(crate) fn interpret_proven(
    planner: &Planner,
    lease: PendingLease,
    wall: SystemTime,
    response: Result<StoreResponse, StoreError>,
    fence: Option<u64>,
) -> Result<Lease, LeaseError> {
    // The usual answer first, without copying the key.
    if let Some(fence) = fence {
        return Ok(lease.with_fence(FencingToken::new(fence)));
    }
    let key = lease.key().clone();
    let unexpected = |detail| LeaseError::UnexpectedResponse {
        operation: Operation::Acquire,
        key: key.clone(),
        detail,
    };
    match response {
        // The write that answer reports set another token: it answers another acquire (a
        // driver that handed one machine's answer to another), and its fencing token is not
        // ours.
        Ok(StoreResponse::Applied {
            attributes: Some(item),
        }) if names_another_token(&item, planner, &lease) => Err(unexpected(
            "the updated attributes hold another lease token",
        )),
        Ok(StoreResponse::Applied {
            attributes: Some(item),
        }) => match item.get(planner.config().fence_attribute()) {
            // Another program stored a fencing token that is not a whole number (`1.5`, `-3`):
            // the update added one to it. The item is not a readable lease.
            Some(AttributeValue::N(value)) => Err(LeaseError::MalformedItem {
                key,
                error: DecodeError::InvalidNumber {
                    attribute: planner.config().fence_attribute().to_owned(),
                    value: value.to_string(),
                },
            }),
            _ => Err(unexpected(
                "the updated attributes have no whole-number fencing token",
            )),
        },
        Ok(StoreResponse::Applied { attributes: None }) => Err(unexpected(
            "the store returned no attributes for ReturnValues UPDATED_NEW",
        )),
        Ok(StoreResponse::ConditionFailed { old_item: None }) => Err(LeaseError::Held {
            key,
            holder: Holder::Unknown,
        }),
        Ok(StoreResponse::ConditionFailed {
            old_item: Some(item),
        }) => match HolderRecord::decode(&item, planner.config(), wall) {
            Ok(info) => Err(LeaseError::Held {
                key,
                holder: Holder::Known(info),
            }),
            Err(error) => Err(LeaseError::MalformedItem { key, error }),
        },
        Ok(StoreResponse::Item(_) | StoreResponse::Items(_)) => {
            Err(unexpected("an item was returned for an UpdateItem"))
        }
        Ok(StoreResponse::TransactionCanceled { .. }) => Err(unexpected(
            "a transaction cancellation was returned for an UpdateItem",
        )),
        Err(source) => Err(error::store_failure(Operation::Acquire, key, source)),
    }
}

/// The fencing token an answer proves `lease` holds: an applied write whose updated attributes
/// hold a whole-number fencing token and name no other lease token. `None` for every other
/// answer; for an applied one, the write landed without giving the lease (see [`interpret`]'s
/// errors), and what it wrote is the acquirer's to give back.
pub(crate) fn proven_fence(
    response: &Result<StoreResponse, StoreError>,
    planner: &Planner,
    lease: &PendingLease,
) -> Option<u64> {
    match response {
        Ok(StoreResponse::Applied {
            attributes: Some(item),
        }) if !names_another_token(item, planner, lease) => fence_of(item, planner),
        _ => None,
    }
}

/// Whether the updated attributes name a lease token other than `lease`'s: the answer is then
/// not to the acquire that plans `lease` (every acquire sets its own token, which `UPDATED_NEW`
/// returns; an answer without the token is taken as it is).
fn names_another_token(item: &Item, planner: &Planner, lease: &PendingLease) -> bool {
    match item.get(planner.config().token_attribute()) {
        Some(AttributeValue::S(token)) => token.as_str() != lease.token().expose_secret(),
        Some(_) => true,
        None => false,
    }
}

/// The fencing token in the updated attributes, if it holds a whole number.
fn fence_of(item: &Item, planner: &Planner) -> Option<u64> {
    match item.get(planner.config().fence_attribute()) {
        Some(AttributeValue::N(n)) => n.parse::<u64>().ok(),
        _ => None,
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
