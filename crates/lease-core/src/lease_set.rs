//! A lease on several keys at once, held together: acquired, refreshed and released in one
//! `TransactWriteItems` each.
//!
//! An acquire of a set is one transaction of one conditional update per key. Each update is the
//! single acquire's (`SET #tok = :tok, #exp = :exp, #ttl = :ttl`), with one change: a
//! transaction returns no attributes, so the fencing token cannot be read from the answer.
//! Instead each key's new fencing token is proposed (`:fence`, the wall clock in epoch
//! milliseconds, or one more than a fencing token learned from the store) and written with
//! `SET #fence = :fence` under the condition
//!
//! ```text
//! ((attribute_not_exists(#pk) OR #exp <= :now) AND (attribute_not_exists(#fence) OR #fence < :fence))
//!   OR (#tok = :tok AND (attribute_not_exists(#fence) OR #fence <= :fence))
//! ```
//!
//! so the fencing token of every key still only grows, and the holder knows it without a read.
//! A proposal at or below the stored fencing token fails its condition; the old item (returned
//! with the cancellation) names the stored token, and the next attempt proposes one more. The
//! `#tok = :tok` branch makes a resend after a lost answer idempotent: it finds its own token
//! and writes its fencing tokens again. A resend raises its proposals to its own wall clock
//! (an item deleted since the first send starts again from there, as a single acquire's floor
//! does), and the own-token branch never lowers a stored token, so a stray earlier copy cannot
//! undo a later one.
//!
//! All or nothing: the transaction either writes every key or none, so nobody ever holds part
//! of a set, and two acquirers of overlapping sets cannot deadlock. Stores without
//! transactions (dynalite) answer [`StoreErrorKind::Unsupported`](crate::StoreErrorKind::Unsupported).
//!
//! Refresh is one transaction of the single refreshes (each conditioned on `#tok = :tok AND
//! #exp > :now`); release one transaction of the single releases (each conditioned on the
//! token), sent again without the keys that are no longer held, so that those still held are
//! released.

use std::time::{Instant, SystemTime};

use crate::attribute::AttributeValue;
use crate::error::{self, DecodeError, InvalidInput, LeaseError, Operation};
use crate::expr::{Comparator, Condition, UpdateAction, Value};
use crate::fence::FencingToken;
use crate::holder::{Holder, HolderRecord};
use crate::key::LeaseKey;
use crate::lease::{Lease, PendingLease, ReleaseOutcome};
use crate::now::Now;
use crate::planner::{Planner, invalid};
use crate::request::{Request, UpdateRequest};
use crate::response::{StoreError, StoreErrorKind, StoreResponse};
use crate::token::LeaseToken;
use crate::transact::{CancellationReason, MAX_TRANSACT_ITEMS, TransactItem, TransactRequest};
use crate::wire_time::ExpiryUnit;

/// The most keys one lease set may hold: DynamoDB's limit on the items of one transaction.
pub const MAX_SET_KEYS: usize = MAX_TRANSACT_ITEMS;

/// A lease on several keys, held together: every key was acquired in one transaction, with one
/// token, one expiry and one local safe deadline, and a fencing token per key.
///
/// Made by an acquire of a set ([`AcquireSetOp`](crate::lifecycle::AcquireSetOp), the `lease`
/// crate's `LeaseManager::try_acquire_set`); refreshed and released as a whole. The keys keep
/// the order they were asked for in.
///
/// `Debug` shows the token's fingerprint only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseSet {
    /// One lease per key, in the order asked for; never empty; one token, expiry and deadline.
    leases: Vec<Lease>,
}

impl LeaseSet {
    /// The set of `leases` (not empty, one token): what an acquire or refresh gives.
    pub(crate) fn of(leases: Vec<Lease>) -> Self {
        Self { leases }
    }

    /// The lease of each key, in the order the keys were asked for: each with its own key and
    /// fencing token, and the set's token, expiry and deadline.
    #[must_use]
    pub fn leases(&self) -> &[Lease] {
        &self.leases
    }

    /// The keys, in the order they were asked for.
    pub fn keys(&self) -> impl Iterator<Item = &LeaseKey> {
        self.leases.iter().map(Lease::key)
    }

    /// The lease of `key` in this set, if the set holds it. A key without a sort key
    /// (`LeaseKey::lock("A")`, `"A".into()`) names the set's key with that partition key, if
    /// the set has exactly one (the set's keys are resolved: `A` was held as `A/LOCK`).
    #[must_use]
    pub fn get(&self, key: &LeaseKey) -> Option<&Lease> {
        if let Some(lease) = self.leases.iter().find(|lease| lease.key() == key) {
            return Some(lease);
        }
        if key.sort().is_some() {
            return None;
        }
        let mut same = self
            .leases
            .iter()
            .filter(|lease| lease.key().partition() == key.partition());
        let lease = same.next()?;
        same.next().is_none().then_some(lease)
    }

    /// The fencing token of `key` in this set (a partition key alone as in [`get`](Self::get)):
    /// strictly greater than that of every earlier acquisition of the key. `None` if the set
    /// does not hold `key`.
    #[must_use]
    pub fn fence(&self, key: &LeaseKey) -> Option<FencingToken> {
        self.get(key).map(Lease::fence)
    }

    /// How many keys the set holds (1 to [`MAX_SET_KEYS`]).
    #[must_use]
    pub fn len(&self) -> usize {
        self.leases.len()
    }

    /// Always `false`: a set holds at least one key.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.leases.is_empty()
    }

    /// The bearer token every key of the set holds.
    #[must_use]
    pub fn token(&self) -> &LeaseToken {
        self.first().token()
    }

    /// When the keys expire in the store, as written (see [`Lease::expires_at`]).
    #[must_use]
    pub fn expires_at(&self) -> SystemTime {
        self.first().expires_at()
    }

    /// The local safe deadline on the monotonic clock, the same for every key (see
    /// [`Lease::valid_until`]).
    #[must_use]
    pub fn valid_until(&self) -> Option<Instant> {
        self.first().valid_until()
    }

    /// The local safe deadline on the wall clock (see [`Lease::valid_until_wall`]).
    #[must_use]
    pub fn valid_until_wall(&self) -> Option<SystemTime> {
        self.first().valid_until_wall()
    }

    /// Whether the holder may still work under every key of the set at `now` (see
    /// [`Lease::is_valid_at`]).
    #[must_use]
    pub fn is_valid_at(&self, now: Now) -> bool {
        self.leases.iter().all(|lease| lease.is_valid_at(now))
    }

    /// The set without the leases at `indexes` (of [`leases`](Self::leases)); `None` if none
    /// is left.
    pub(crate) fn without(&self, indexes: &[usize]) -> Option<Self> {
        let leases: Vec<Lease> = self
            .leases
            .iter()
            .enumerate()
            .filter(|(index, _)| !indexes.contains(index))
            .map(|(_, lease)| lease.clone())
            .collect();
        (!leases.is_empty()).then_some(Self { leases })
    }

    pub(crate) fn first(&self) -> &Lease {
        // `of` is only called with at least one lease; `leases` is private.
        #[expect(clippy::indexing_slicing, reason = "a set is never empty")]
        &self.leases[0]
    }
}

/// A planned acquire of a set: the transaction, the leases it gives, and the proposed fencing
/// tokens (one per key, fixed for every resend).
#[derive(Debug)]
pub(crate) struct AcquireSetPlan {
    pub(crate) request: Request,
    pub(crate) pending: Vec<PendingLease>,
    pub(crate) proposals: Vec<u64>,
    pub(crate) wall: SystemTime,
}

/// What the answer to an acquire of a set says.
#[derive(Debug)]
pub(crate) enum AcquireSetAnswer {
    /// Every key is held, with these fencing tokens.
    Acquired(LeaseSet),
    /// No key is held by another, but the proposed fencing tokens of some keys were not above
    /// the stored ones: propose these (one per key) and send again.
    Repropose(Vec<u64>),
    /// The acquire failed.
    Failed(LeaseError),
}

impl Planner {
    /// The keys of a set, resolved and checked: 1 to [`MAX_SET_KEYS`] keys, no key twice.
    pub(crate) fn set_keys(
        &self,
        operation: Operation,
        keys: impl IntoIterator<Item = impl Into<LeaseKey>>,
    ) -> Result<Vec<LeaseKey>, LeaseError> {
        let keys: Vec<LeaseKey> = keys.into_iter().map(|key| self.resolve(key)).collect();
        let Some(first) = keys.first() else {
            return Err(invalid(
                operation,
                LeaseKey::new("", ""),
                InvalidInput::NoKeys,
            ));
        };
        if keys.len() > MAX_SET_KEYS {
            let count = keys.len();
            return Err(invalid(
                operation,
                first.clone(),
                InvalidInput::TooManyKeys { count },
            ));
        }
        for (index, key) in keys.iter().enumerate() {
            if key
                .sort()
                .is_some_and(crate::semaphore::is_reserved_sort_key)
            {
                return Err(invalid(
                    operation,
                    key.clone(),
                    InvalidInput::ReservedSortKey,
                ));
            }
            if keys.iter().take(index).any(|earlier| earlier == key) {
                return Err(invalid(
                    operation,
                    key.clone(),
                    InvalidInput::DuplicateKey { index },
                ));
            }
        }
        Ok(keys)
    }

    /// Plans an acquire of every key of `keys` for `duration` at `now` with one fresh `token`,
    /// proposing for each key the fencing token of `proposals` (or, where `None` is given, the
    /// wall clock in epoch milliseconds).
    pub(crate) fn acquire_set(
        &self,
        keys: &[LeaseKey],
        duration: std::time::Duration,
        now: Now,
        token: &LeaseToken,
        proposals: Option<&[u64]>,
    ) -> Result<AcquireSetPlan, LeaseError> {
        let floor = u64::try_from(ExpiryUnit::Milliseconds.floor(now.wall)).unwrap_or(0);
        let mut items = Vec::with_capacity(keys.len());
        let mut pending = Vec::with_capacity(keys.len());
        let mut chosen = Vec::with_capacity(keys.len());
        for (index, key) in keys.iter().enumerate() {
            let (request, lease) = self
                .acquire(key.clone(), duration, now, token.clone())?
                .into_parts();
            let proposal = proposals
                .and_then(|p| p.get(index).copied())
                .unwrap_or(floor)
                .max(1);
            let Request::Update(update) = request else {
                continue;
            };
            items.push(TransactItem::Update(
                self.set_acquire_update(update, token, now, proposal),
            ));
            pending.push(lease);
            chosen.push(proposal);
        }
        Ok(AcquireSetPlan {
            request: Request::Transact(TransactRequest { items }),
            pending,
            proposals: chosen,
            wall: now.wall,
        })
    }

    /// The single acquire's `update`, with the fencing token proposed instead of counted, and
    /// the condition of an acquire of a set.
    fn set_acquire_update(
        &self,
        mut update: UpdateRequest,
        token: &LeaseToken,
        now: Now,
        proposal: u64,
    ) -> UpdateRequest {
        let fence = Value::new(
            "fence",
            AttributeValue::N(itoa::Buffer::new().format(proposal).into()),
        );
        for action in &mut update.update {
            if let UpdateAction::Set(attr, _) = action
                && *attr == self.fence_attr()
            {
                *action = UpdateAction::set(self.fence_attr(), fence.clone());
            }
        }
        let free = Condition::not_exists(self.pk_attr()).or(Condition::compare(
            self.expires_attr(),
            Comparator::Le,
            self.now_value(now.wall),
        ));
        let fence_below = Condition::not_exists(self.fence_attr()).or(Condition::compare(
            self.fence_attr(),
            Comparator::Lt,
            fence.clone(),
        ));
        let own = Condition::compare(
            self.token_attr(),
            Comparator::Eq,
            Planner::token_value(token),
        )
        .and(
            Condition::not_exists(self.fence_attr()).or(Condition::compare(
                self.fence_attr(),
                Comparator::Le,
                fence,
            )),
        );
        update.condition = Some(free.and(fence_below).or(own));
        update
    }

    /// Plans a refresh of every key of `set` for `duration` at `now`: one transaction of the
    /// single refreshes, and the set it gives.
    pub(crate) fn refresh_set(
        &self,
        set: &LeaseSet,
        duration: std::time::Duration,
        now: Now,
    ) -> Result<(Request, LeaseSet), LeaseError> {
        let mut items = Vec::with_capacity(set.len());
        let mut refreshed = Vec::with_capacity(set.len());
        for lease in set.leases() {
            let (request, lease) = self.refresh(lease, duration, now)?.into_parts();
            if let Request::Update(update) = request {
                items.push(TransactItem::Update(update));
                refreshed.push(lease);
            }
        }
        Ok((
            Request::Transact(TransactRequest { items }),
            LeaseSet::of(refreshed),
        ))
    }

    /// Plans a release of the `leases` (of one set) at `now`: one transaction of the single
    /// releases.
    pub(crate) fn release_set(
        &self,
        leases: &[PendingLease],
        now: Now,
    ) -> Result<Request, LeaseError> {
        let mut items = Vec::with_capacity(leases.len());
        for lease in leases {
            if let Request::Update(update) = self.release_pending(lease, now)?.into_request() {
                items.push(TransactItem::Update(update));
            }
        }
        Ok(Request::Transact(TransactRequest { items }))
    }
}

/// Whether a cancelled transaction failed only for reasons that wrote nothing and may pass when
/// sent again (`TransactionConflict`, throttling), with no condition failure: then it is sent
/// again, as a throttled request is.
pub(crate) fn transient_cancellation(
    answer: &Result<StoreResponse, StoreError>,
) -> Option<StoreError> {
    let Ok(StoreResponse::TransactionCanceled { reasons }) = answer else {
        return None;
    };
    let transient = |code: &str| {
        matches!(
            code,
            "TransactionConflict"
                | "ThrottlingError"
                | "ProvisionedThroughputExceeded"
                | "RequestLimitExceeded"
        )
    };
    let mut codes = reasons
        .iter()
        .filter(|r| !matches!(r, CancellationReason::None));
    let all_transient = codes.clone().all(|r| transient(r.code()));
    let first = codes.next()?;
    all_transient.then(|| {
        StoreError::new(
            StoreErrorKind::Throttled,
            format!(
                "the transaction was cancelled: {} (nothing was written)",
                first.code()
            ),
        )
    })
}

/// Interprets the final answer to an acquire of a set planned as `plan`.
pub(crate) fn interpret_acquire(
    planner: &Planner,
    plan: &AcquireSetPlan,
    answer: Result<StoreResponse, StoreError>,
) -> AcquireSetAnswer {
    let first_key = || {
        plan.pending
            .first()
            .map_or_else(|| LeaseKey::new("", ""), |l| l.key().clone())
    };
    match answer {
        Ok(StoreResponse::Applied { .. }) => AcquireSetAnswer::Acquired(LeaseSet::of(
            plan.pending
                .iter()
                .zip(&plan.proposals)
                .map(|(lease, fence)| lease.clone().with_fence(FencingToken::new(*fence)))
                .collect(),
        )),
        Ok(StoreResponse::TransactionCanceled { reasons }) => {
            cancelled_acquire(planner, plan, reasons, first_key)
        }
        Ok(_) => AcquireSetAnswer::Failed(LeaseError::UnexpectedResponse {
            operation: Operation::Acquire,
            key: first_key(),
            detail: "a single-item answer was returned for a transaction",
        }),
        Err(source) => AcquireSetAnswer::Failed(error::store_failure(
            Operation::Acquire,
            first_key(),
            source,
        )),
    }
}

/// A cancelled acquire of a set: the keys held by others (with their holders), or the
/// fencing tokens to propose instead, or a malformed item.
fn cancelled_acquire(
    planner: &Planner,
    plan: &AcquireSetPlan,
    reasons: Vec<CancellationReason>,
    first_key: impl Fn() -> LeaseKey,
) -> AcquireSetAnswer {
    if reasons.len() != plan.pending.len() {
        return AcquireSetAnswer::Failed(LeaseError::UnexpectedResponse {
            operation: Operation::Acquire,
            key: first_key(),
            detail: "a transaction cancellation with a reason count other than the item count",
        });
    }
    let mut held = Vec::new();
    let mut proposals = plan.proposals.clone();
    let mut behind = false;
    for ((reason, lease), proposal) in reasons.iter().zip(&plan.pending).zip(&mut proposals) {
        let CancellationReason::ConditionalCheckFailed { old_item } = reason else {
            continue;
        };
        let Some(item) = old_item else {
            held.push((lease.key().clone(), Holder::Unknown));
            continue;
        };
        match HolderRecord::decode(item, planner.config(), plan.wall) {
            Err(error) => {
                return AcquireSetAnswer::Failed(LeaseError::MalformedItem {
                    key: lease.key().clone(),
                    error,
                });
            }
            Ok(info) if info.expires_at > plan.wall => {
                held.push((lease.key().clone(), Holder::Known(info)));
            }
            Ok(info) if info.fence.is_some_and(|fence| fence.get() == u64::MAX) => {
                // No fencing token greater than the stored one exists.
                return AcquireSetAnswer::Failed(LeaseError::MalformedItem {
                    key: lease.key().clone(),
                    error: DecodeError::InvalidNumber {
                        attribute: planner.config().fence_attribute().to_owned(),
                        value: format!(
                            "{} (the largest fencing token: none can follow it)",
                            u64::MAX
                        ),
                    },
                });
            }
            Ok(info) => {
                // Free, so the fencing token was not below the proposal: propose one more
                // than the stored one.
                let stored = info.fence.map_or(0, FencingToken::get);
                *proposal = stored.saturating_add(1).max(proposal.saturating_add(1));
                behind = true;
            }
        }
    }
    if let Some((key, _)) = held.first() {
        let key = key.clone();
        return AcquireSetAnswer::Failed(LeaseError::HeldKeys { key, held });
    }
    if behind {
        return AcquireSetAnswer::Repropose(proposals);
    }
    AcquireSetAnswer::Failed(LeaseError::TransactionCanceled {
        key: first_key(),
        reasons,
    })
}

/// Interprets the final answer to a refresh of a set that gives `refreshed`.
pub(crate) fn interpret_refresh(
    refreshed: LeaseSet,
    answer: Result<StoreResponse, StoreError>,
) -> Result<LeaseSet, LeaseError> {
    let key_at = |index: usize| {
        refreshed
            .leases()
            .get(index)
            .unwrap_or(refreshed.first())
            .key()
            .clone()
    };
    match answer {
        Ok(StoreResponse::Applied { .. }) => Ok(refreshed),
        Ok(StoreResponse::TransactionCanceled { reasons }) => {
            match reasons
                .iter()
                .position(CancellationReason::is_condition_failure)
            {
                Some(index) => Err(LeaseError::NotOwned { key: key_at(index) }),
                None => Err(LeaseError::TransactionCanceled {
                    key: key_at(0),
                    reasons,
                }),
            }
        }
        Ok(_) => Err(LeaseError::UnexpectedResponse {
            operation: Operation::Refresh,
            key: key_at(0),
            detail: "a single-item answer was returned for a transaction",
        }),
        Err(source) => Err(error::store_failure(Operation::Refresh, key_at(0), source)),
    }
}

/// What the answer to a release of a set says.
#[derive(Debug)]
pub(crate) enum ReleaseSetAnswer {
    /// Done: every key still held was released.
    Done(Result<ReleaseOutcome, LeaseError>),
    /// These keys (indexes into the released leases) were no longer held; release the others.
    Without(Vec<usize>),
}

/// Interprets the final answer to a release of `leases`.
pub(crate) fn interpret_release(
    leases: &[PendingLease],
    answer: Result<StoreResponse, StoreError>,
) -> ReleaseSetAnswer {
    let first_key = || {
        leases
            .first()
            .map_or_else(|| LeaseKey::new("", ""), |l| l.key().clone())
    };
    match answer {
        Ok(StoreResponse::Applied { .. }) => ReleaseSetAnswer::Done(Ok(ReleaseOutcome::Released)),
        Ok(StoreResponse::TransactionCanceled { reasons }) => {
            let not_held: Vec<usize> = reasons
                .iter()
                .enumerate()
                .filter(|(_, r)| r.is_condition_failure())
                .map(|(index, _)| index)
                .collect();
            if not_held.is_empty() || reasons.len() != leases.len() {
                ReleaseSetAnswer::Done(Err(LeaseError::TransactionCanceled {
                    key: first_key(),
                    reasons,
                }))
            } else {
                ReleaseSetAnswer::Without(not_held)
            }
        }
        Ok(_) => ReleaseSetAnswer::Done(Err(LeaseError::UnexpectedResponse {
            operation: Operation::Release,
            key: first_key(),
            detail: "a single-item answer was returned for a transaction",
        })),
        Err(source) => ReleaseSetAnswer::Done(Err(error::store_failure(
            Operation::Release,
            first_key(),
            source,
        ))),
    }
}
