//! Counting semaphores: at most `N` holders under one name, each holding a permit.
//!
//! A semaphore named `S` with `N` permits is `N` permit slots: the lease items at partition key
//! `S` and sort keys `PERMIT#0000` to `PERMIT#<N-1>` ([`permit_key`]). A permit is a lease on
//! one slot, acquired with the single acquire's conditional write, so it renews, is lost and is
//! released exactly like a lease, with its own token, expiry and fencing token. Finding a free
//! slot costs one strongly consistent `Query` of the partition (sort keys beginning with
//! [`PERMIT_SORT_KEY_PREFIX`]); the acquire then takes a free slot (absent, expired or
//! released), chosen among the free ones by the acquire's token, so that acquirers racing for
//! permits spread over the slots. One attempt: one `Query` and one conditional `UpdateItem`.
//!
//! Changing `N` between acquires is defined: an acquire only takes slots below its own `N`, and
//! slots at or above it are neither taken nor counted. Permits held in slots above a smaller
//! new `N` stay held until they are released or expire, so once they are, at most the new `N`
//! are held.

use std::time::SystemTime;

use crate::error::{DecodeError, InvalidInput, LeaseError, Operation};
use crate::holder::HolderRecord;
use crate::key::LeaseKey;
use crate::planner::{Planner, invalid};
use crate::request::{QueryRequest, Request};
use crate::response::{StoreError, StoreResponse};
use crate::text::Text;

/// The sort key prefix of permit slots: `PERMIT#`, followed by the slot's number in four
/// digits (`PERMIT#0000`).
pub const PERMIT_SORT_KEY_PREFIX: &str = "PERMIT#";

/// The most permits a semaphore may have: 1 000 (one `Query` page reads every slot of a
/// semaphore: 1 000 lease items are far below DynamoDB's 1 MB page).
pub const MAX_PERMITS: u32 = 1000;

/// The key of permit slot `index` of the semaphore `name`: partition key `name`, sort key
/// `PERMIT#` and `index` in four digits.
#[must_use]
pub fn permit_key(name: impl Into<Text>, index: u32) -> LeaseKey {
    LeaseKey::new(name, format!("{PERMIT_SORT_KEY_PREFIX}{index:04}"))
}

/// The slot number a permit slot's sort key names, if it is one (`PERMIT#` and digits).
#[must_use]
pub fn permit_index(sort_key: &str) -> Option<u32> {
    let digits = sort_key.strip_prefix(PERMIT_SORT_KEY_PREFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Whether a lock may not be taken at `sort_key`: the election sort key (`LEADER`), or a
/// permit slot's (`PERMIT#` prefix).
#[must_use]
pub fn is_reserved_sort_key(sort_key: &str) -> bool {
    sort_key == crate::election::ELECTION_SORT_KEY || sort_key.starts_with(PERMIT_SORT_KEY_PREFIX)
}

/// Which slot an attempt takes, from the slots read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SlotChoice {
    /// Take this free slot.
    Free(u32),
    /// Every slot below `permits` is held; the earliest of their expiries, if any expires (a
    /// slot that is not a readable lease never does).
    Full(Option<SystemTime>),
    /// No slot is free, and this one is not a readable lease: it will never free by itself.
    Malformed(u32, DecodeError),
}

impl Planner {
    /// The semaphore's name as a key (its partition key, under the permit prefix), checked:
    /// a non-empty name, 1 to [`MAX_PERMITS`] permits.
    pub(crate) fn semaphore_key(&self, name: &Text, permits: u32) -> Result<LeaseKey, LeaseError> {
        let key = LeaseKey::new(name.clone(), PERMIT_SORT_KEY_PREFIX);
        crate::validate::key(&key)
            .map_err(|reason| invalid(Operation::Acquire, key.clone(), reason))?;
        if permits == 0 || permits > MAX_PERMITS {
            return Err(invalid(
                Operation::Acquire,
                key,
                InvalidInput::InvalidPermits { permits },
            ));
        }
        Ok(key)
    }

    /// The strongly consistent `Query` of the semaphore `name`'s permit slots.
    pub(crate) fn permits_query(&self, name: &str) -> Request {
        Request::Query(QueryRequest {
            table_name: self.table_name(),
            partition_attribute: self.config().partition_key_attribute().to_owned(),
            partition_value: name.to_owned(),
            sort_prefix: Some((
                self.config().sort_key_attribute().to_owned(),
                PERMIT_SORT_KEY_PREFIX.to_owned(),
            )),
            consistent_read: true,
        })
    }

    /// The slot to take among `permits` slots, given the items a `Query` read, at wall-clock
    /// time `now` (free: absent, expired or released); `pick` (the acquire's token's hash)
    /// chooses among the free ones.
    pub(crate) fn choose_slot(
        &self,
        items: &[crate::Item],
        permits: u32,
        now: SystemTime,
        pick: u64,
    ) -> SlotChoice {
        let sort_name = self.config().sort_key_attribute();
        let mut held = vec![false; usize::try_from(permits).unwrap_or(0)];
        let mut earliest: Option<SystemTime> = None;
        let mut malformed: Option<(u32, DecodeError)> = None;
        for item in items {
            let Some(index) = item
                .get(sort_name)
                .and_then(crate::AttributeValue::as_s)
                .and_then(permit_index)
            else {
                continue;
            };
            let Some(slot) = usize::try_from(index).ok().and_then(|i| held.get_mut(i)) else {
                continue;
            };
            match HolderRecord::decode(item, self.config(), now) {
                Ok(info) if info.expires_at > now => {
                    *slot = true;
                    earliest = Some(earliest.map_or(info.expires_at, |e| e.min(info.expires_at)));
                }
                Ok(_) => {}
                // Not a readable lease: never free by itself (as for a single lease).
                Err(error) => {
                    *slot = true;
                    malformed.get_or_insert((index, error));
                }
            }
        }
        let free: Vec<u32> = (0..permits)
            .filter(|i| {
                !usize::try_from(*i)
                    .ok()
                    .and_then(|i| held.get(i))
                    .copied()
                    .unwrap_or(true)
            })
            .collect();
        if free.is_empty() {
            return match malformed {
                Some((index, error)) => SlotChoice::Malformed(index, error),
                None => SlotChoice::Full(earliest),
            };
        }
        let at = usize::try_from(pick % u64::try_from(free.len()).unwrap_or(1)).unwrap_or(0);
        SlotChoice::Free(free.get(at).copied().unwrap_or(0))
    }
}

/// The items a `Query`'s answer holds, or the error (operation acquire, naming the semaphore).
pub(crate) fn query_items(
    key: &LeaseKey,
    answer: Result<StoreResponse, StoreError>,
) -> Result<Vec<crate::Item>, LeaseError> {
    match answer {
        Ok(StoreResponse::Items(items)) => Ok(items),
        Ok(_) => Err(LeaseError::UnexpectedResponse {
            operation: Operation::Acquire,
            key: key.clone(),
            detail: "a Query was not answered with items",
        }),
        // A read changes nothing: its failure is never an unknown outcome.
        Err(source) => Err(LeaseError::Store {
            operation: Operation::Acquire,
            key: key.clone(),
            source,
        }),
    }
}
