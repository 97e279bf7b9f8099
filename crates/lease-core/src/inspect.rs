//! Inspect: a strongly consistent read of one lease, as a read-only snapshot.

use std::time::SystemTime;

use crate::attribute::{AttributeValue, Item};
use crate::config::LeaseConfig;
use crate::error::{self, DecodeError, LeaseError, Operation};
use crate::holder::HolderRecord;
use crate::key::LeaseKey;
use crate::planner::Planner;
use crate::request::{GetRequest, Request};
use crate::response::{StoreError, StoreResponse};
use crate::text::Text;

/// What a lease's item says at one moment. A snapshot carries no bearer token, so it cannot be
/// used to refresh or release anything (fault class B05).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LeaseSnapshot {
    /// The lease's key.
    pub key: LeaseKey,
    /// Its state, judged by the reader's clock.
    pub state: StoredState,
    /// The value the holder's acquire proclaimed (leader election: the leader's name or
    /// address; the item's value attribute, default `lease_value`), if the item has one. It
    /// belongs to the last acquire that wrote one: judge it with [`state`](Self::state).
    pub value: Option<Text>,
}

impl LeaseSnapshot {
    /// The snapshot of the lease at `key` from its stored `item`, judged at the reader's
    /// wall-clock time `now`: released (`lease_expires_at = 0`), held (the expiry is after
    /// `now`) or expired. This is how [`InspectPlan::interpret`] reads an item, for items read
    /// some other way (a `Scan` of the table): decoding is strict, as
    /// [`HolderRecord::decode_strict`].
    ///
    /// # Errors
    /// [`DecodeError`] naming the attribute when `item` is not a readable lease (a missing,
    /// wrong-typed, wrong-unit or foreign attribute).
    pub fn decode(
        key: LeaseKey,
        item: &Item,
        config: &LeaseConfig,
        now: SystemTime,
    ) -> Result<Self, DecodeError> {
        Ok(Self {
            key,
            state: state_of(item, config, now)?,
            value: value_of(item, config)?,
        })
    }
}

/// The proclaimed value of `item`, if it has one.
fn value_of(item: &Item, config: &LeaseConfig) -> Result<Option<Text>, DecodeError> {
    match item.get(config.value_attribute()) {
        None => Ok(None),
        Some(AttributeValue::S(value)) => Ok(Some(value.clone())),
        Some(other) => Err(DecodeError::WrongType {
            attribute: config.value_attribute().into(),
            expected: "S",
            found: other.type_name(),
        }),
    }
}

/// The state of the lease item `item` at `now` ([`LeaseSnapshot::decode`]).
fn state_of(
    item: &Item,
    config: &LeaseConfig,
    now: SystemTime,
) -> Result<StoredState, DecodeError> {
    let info = HolderRecord::decode_strict(item, config, now)?;
    Ok(if info.released {
        StoredState::Released(info)
    } else if info.expires_at > now {
        StoredState::Held(info)
    } else {
        StoredState::Expired(info)
    })
}

/// The state of a lease item at the time of reading.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoredState {
    /// There is no item: the lease is free, and has never been taken or its item was deleted.
    Absent,
    /// Held: the expiry is after the reader's `now`.
    Held(HolderRecord),
    /// Expired and not released: anyone may acquire it.
    Expired(HolderRecord),
    /// Released by its holder: anyone may acquire it; the item keeps the fencing token.
    Released(HolderRecord),
}

impl StoredState {
    /// Whether a lease is held (not absent, expired or released).
    #[must_use]
    pub fn is_held(&self) -> bool {
        matches!(self, Self::Held(_))
    }

    /// The holder information, if there is an item.
    #[must_use]
    pub fn holder(&self) -> Option<&HolderRecord> {
        match self {
            Self::Absent => None,
            Self::Held(info) | Self::Expired(info) | Self::Released(info) => Some(info),
        }
    }
}

/// A planned inspection: send [`request`](Self::request), then pass the answer to
/// [`interpret`](Self::interpret).
#[derive(Debug)]
#[must_use = "a plan does nothing until its request is sent and the answer interpreted"]
pub struct InspectPlan<'p> {
    planner: &'p Planner,
    request: Request,
    key: LeaseKey,
}

impl<'p> InspectPlan<'p> {
    pub(crate) fn new(planner: &'p Planner, key: LeaseKey) -> Self {
        let request = Request::Get(GetRequest {
            table_name: planner.table_name(),
            key: planner.key_item(&key),
            consistent_read: true,
        });
        Self {
            planner,
            request,
            key,
        }
    }

    /// The request to send: a `GetItem` with `ConsistentRead`.
    #[must_use]
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// Interprets the store's answer at the reader's wall-clock time `now`. Decoding is strict:
    /// an item with a missing, wrong-typed, wrong-unit or foreign attribute is an error naming
    /// the attribute.
    ///
    /// # Errors
    /// - [`LeaseError::MalformedItem`] when the item is not a readable lease.
    /// - [`LeaseError::Store`] / [`LeaseError::OutcomeUnknown`] when the read failed.
    /// - [`LeaseError::UnexpectedResponse`] when the store answered a read with a write result.
    pub fn interpret(
        self,
        response: Result<StoreResponse, StoreError>,
        now: SystemTime,
    ) -> Result<LeaseSnapshot, LeaseError> {
        interpret(self.planner, self.key, response, now)
    }

    /// The request and the key, for a machine that keeps them apart ([`interpret`]).
    pub(crate) fn into_parts(self) -> (Request, LeaseKey) {
        (self.request, self.key)
    }
}

/// [`InspectPlan::interpret`] of a read of the lease at `key`.
pub(crate) fn interpret(
    planner: &Planner,
    key: LeaseKey,
    response: Result<StoreResponse, StoreError>,
    now: SystemTime,
) -> Result<LeaseSnapshot, LeaseError> {
    let item = match response {
        Ok(StoreResponse::Item(item)) => item,
        Ok(_) => {
            return Err(LeaseError::UnexpectedResponse {
                operation: Operation::Inspect,
                key,
                detail: "a write result was returned for a GetItem",
            });
        }
        Err(source) => return Err(error::store_failure(Operation::Inspect, key, source)),
    };
    let Some(item) = item else {
        return Ok(LeaseSnapshot {
            key,
            state: StoredState::Absent,
            value: None,
        });
    };
    let config = planner.config();
    match LeaseSnapshot::decode(key.clone(), &item, config, now) {
        Ok(snapshot) => Ok(snapshot),
        Err(error) => Err(LeaseError::MalformedItem { key, error }),
    }
}
