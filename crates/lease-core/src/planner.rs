//! The planner: turns lease operations into requests and interprets the answers.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::acquire::AcquirePlan;
use crate::attribute::{AttributeValue, Item};
use crate::config::LeaseConfig;
use crate::error::{InvalidInput, LeaseError, Operation};
use crate::expr::{Attr, TOKEN_LABEL, UpdateAction, Value};
use crate::inspect::InspectPlan;
use crate::key::LeaseKey;
use crate::lease::{Deadline, Lease, PendingLease};
use crate::now::Now;
use crate::refresh::RefreshPlan;
use crate::release::ReleasePlan;
use crate::text::Text;
use crate::token::LeaseToken;
use crate::validate;
use crate::wire_time;

/// Plans lease operations for one [`LeaseConfig`]: each method checks its input and returns a
/// plan holding the [`Request`](crate::Request) to send; the plan's `interpret` turns the
/// store's answer into the operation's typed result.
///
/// The planner never reads a clock and never makes a token: `now` (wall-clock time) and the token
/// are parameters. It is cheap to share (`&self` methods, no interior state).
///
/// ```
/// use std::time::Duration;
/// use lease_core::{AttributeValue, Item, LeaseConfig, LeaseKey, LeaseToken, Planner, StoreResponse};
/// use lease_core::wire_time::from_epoch_seconds;
///
/// let planner = Planner::new(LeaseConfig::builder("locks").build()?);
/// let now = from_epoch_seconds(1000).ok_or("time out of range")?;
/// let plan = planner.acquire(LeaseKey::new("CACHE#A", "LOCK"), Duration::from_secs(30), now, LeaseToken::new("tok"))?;
/// // A store executes `plan.request()` (an `UpdateItem` with `ReturnValues` `UPDATED_NEW`)
/// // and answers with the attributes it set; here the answer is made up (the first acquire of a key:
/// // the fencing token is one more than `now` in epoch milliseconds):
/// let updated = Item::from([("lease_fence".into(), AttributeValue::number(1_000_001))]);
/// let lease = plan.interpret(Ok(StoreResponse::Applied { attributes: Some(updated) }))?;
/// assert_eq!(lease.expires_at_epoch_seconds(), 1030);
/// assert_eq!(Some(lease.fence().get()), Some(1_000_001));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Planner {
    config: LeaseConfig,
    attrs: Attrs,
    /// The configured lock sort key, shared by every lock key.
    lock_sort_key: Text,
    /// The configured sort key attribute name.
    sort_key_name: Text,
    /// The configured table name, shared by every request.
    table_name: Arc<str>,
}

/// The configuration's attribute references, made once: a request holds shared copies.
#[derive(Clone, Debug)]
struct Attrs {
    pk: Attr,
    tok: Attr,
    exp: Attr,
    fence: Attr,
    ttl: Attr,
    value: Attr,
}

impl Planner {
    /// A planner for the given configuration.
    #[must_use]
    pub fn new(config: LeaseConfig) -> Self {
        let attrs = Attrs {
            pk: Attr::new("pk", config.partition_key_attribute()),
            tok: Attr::new(TOKEN_LABEL, config.token_attribute()),
            exp: Attr::new("exp", config.expires_at_attribute()),
            fence: Attr::new("fence", config.fence_attribute()),
            ttl: Attr::new("ttl", config.ttl_attribute()),
            value: Attr::new("val", config.value_attribute()),
        };
        let lock_sort_key = Text::new(config.lock_sort_key());
        let sort_key_name = Text::new(config.sort_key_attribute());
        let table_name = Arc::from(config.table_name());
        Self {
            config,
            attrs,
            lock_sort_key,
            sort_key_name,
            table_name,
        }
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &LeaseConfig {
        &self.config
    }

    /// Plans an acquire of `key` (a [`LeaseKey`], or a partition key under the lock sort key:
    /// `"CACHE#A"`) for `duration` at time `now` with a fresh `token`.
    ///
    /// # Errors
    /// [`LeaseError::InvalidInput`] (nothing to send) for an empty or oversized key, a zero or
    /// over-long duration, a duration not longer than the clock skew bound, an empty token, or
    /// an expiry out of range.
    pub fn acquire(
        &self,
        key: impl Into<LeaseKey>,
        duration: Duration,
        now: impl Into<Now>,
        token: LeaseToken,
    ) -> Result<AcquirePlan<'_>, LeaseError> {
        let key = self.resolve(key);
        let now = now.into();
        match self.check(&key, &token, duration, now) {
            Ok(times) => Ok(AcquirePlan::new(self, key, token, now, times)),
            Err(reason) => Err(invalid(Operation::Acquire, key, reason)),
        }
    }

    /// Plans a refresh of `lease` for `duration` from wall-clock time `now`: the new expiry is
    /// `now + duration` (rounded up to whole seconds), not the old expiry plus `duration`, so a
    /// shorter duration shortens the lease (TableTheory's semantics).
    ///
    /// For a lease this process acquired or refreshed with both clocks (one with a
    /// [`valid_until`](Lease::valid_until)), the wall-clock reading is first corrected for a
    /// step backwards (an NTP step) since the lease's last write: it is taken as
    /// `max(now.wall, wall at the last write + monotonic time elapsed since)`, so that, as far as
    /// this lease is concerned, the wall clock never runs slower than the monotonic clock. A
    /// clock stepped back can then neither back-date nor shorten the stored expiry while the
    /// refresh reports success. (A lease made with [`Lease::new`] has no reference, and is
    /// refreshed from `now` as it is.)
    ///
    /// # Errors
    /// [`LeaseError::InvalidInput`] as for [`acquire`](Self::acquire).
    pub fn refresh(
        &self,
        lease: &Lease,
        duration: Duration,
        now: impl Into<Now>,
    ) -> Result<RefreshPlan<'_>, LeaseError> {
        let key = lease.key();
        let now = corrected(lease, now.into());
        match self.check(key, lease.token(), duration, now) {
            Ok(times) => Ok(RefreshPlan::new(self, lease, now, times)),
            Err(reason) => Err(invalid(Operation::Refresh, key.clone(), reason)),
        }
    }

    /// Plans a release of `lease` at wall-clock time `now`: an update conditioned on the
    /// lease's token that marks the lease released (expiry 0) and keeps the item, so that its
    /// fencing token survives.
    ///
    /// # Errors
    /// [`LeaseError::InvalidInput`] for an empty or oversized key or an empty token.
    pub fn release<'a>(
        &'a self,
        lease: &'a Lease,
        now: impl Into<Now>,
    ) -> Result<ReleasePlan<'a>, LeaseError> {
        self.release_pending(lease.parts(), now)
    }

    /// [`release`](Self::release) of what an acquire may have written (its fencing token is
    /// not needed: the release conditions on the token).
    pub(crate) fn release_pending<'a>(
        &'a self,
        lease: &'a PendingLease,
        now: impl Into<Now>,
    ) -> Result<ReleasePlan<'a>, LeaseError> {
        let now = now.into();
        self.check_holder(lease.key(), lease.token())
            .and_then(|()| self.release_ttl(now))
            .map(|gc_ttl| ReleasePlan::new(self, lease, gc_ttl))
            .map_err(|reason| invalid(Operation::Release, lease.key().clone(), reason))
    }

    /// Plans a strongly consistent read of the lease at `key`, for
    /// [`InspectPlan::interpret`].
    ///
    /// # Errors
    /// [`LeaseError::InvalidInput`] for an empty or oversized key.
    pub fn inspect(&self, key: impl Into<LeaseKey>) -> Result<InspectPlan<'_>, LeaseError> {
        let key = self.resolve(key);
        match validate::key(&key) {
            Ok(()) => Ok(InspectPlan::new(self, key)),
            Err(reason) => Err(invalid(Operation::Inspect, key, reason)),
        }
    }

    /// Checks the key and token of a lease being released or guarded.
    pub(crate) fn check_holder(
        &self,
        key: &LeaseKey,
        token: &LeaseToken,
    ) -> Result<(), InvalidInput> {
        validate::key(key)?;
        validate::token(token)
    }

    /// The TTL a released item gets, so that DynamoDB may collect it: `now` (whole epoch
    /// seconds, rounded down) plus the buffer; `None` when TTL is not written.
    pub(crate) fn release_ttl(&self, now: Now) -> Result<Option<i64>, InvalidInput> {
        match self.ttl_after(wire_time::epoch_seconds_floor(now.wall)) {
            Some(None) => Err(InvalidInput::TimeOutOfRange),
            Some(Some(ttl)) => Ok(Some(ttl)),
            None => Ok(None),
        }
    }

    /// Checks the input and computes the stored expiry (configured unit), TTL (whole epoch
    /// seconds), local deadline and fencing floor.
    fn check(
        &self,
        key: &LeaseKey,
        token: &LeaseToken,
        duration: Duration,
        now: Now,
    ) -> Result<WriteTimes, InvalidInput> {
        validate::key(key)?;
        validate::token(token)?;
        validate::duration(duration)?;
        let skew = self.config.max_clock_skew();
        if duration <= skew {
            return Err(InvalidInput::DurationNotAboveSkew {
                duration,
                max_clock_skew: skew,
            });
        }
        let unit = self.config.expiry_unit();
        let expiry = now
            .wall
            .checked_add(duration)
            .ok_or(InvalidInput::TimeOutOfRange)?;
        let expires = unit.ceil(expiry).ok_or(InvalidInput::TimeOutOfRange)?;
        let expires_at = unit.to_time(expires).ok_or(InvalidInput::TimeOutOfRange)?;
        let expires_secs = wire_time::expiry_epoch_seconds(now.wall, duration)
            .ok_or(InvalidInput::TimeOutOfRange)?;
        let ttl = match self.ttl_after(expires_secs) {
            Some(None) => return Err(InvalidInput::TimeOutOfRange),
            Some(Some(ttl)) => Some(ttl),
            None => None,
        };
        let window = duration.saturating_sub(skew);
        let deadline = match now.monotonic {
            Some(sent) => {
                let sent_wall = wire_time::epoch_nanos(now.wall);
                Some(Deadline {
                    monotonic: sent
                        .checked_add(window)
                        .ok_or(InvalidInput::TimeOutOfRange)?,
                    wall_nanos: sent_wall
                        .saturating_add(i128::try_from(window.as_nanos()).unwrap_or(i128::MAX)),
                    sent: (sent, sent_wall),
                })
            }
            None => None,
        };
        Ok(WriteTimes {
            expires,
            expires_at,
            ttl,
            deadline,
            floor: fence_floor(now.wall),
        })
    }

    /// The TTL attribute for an item that may be deleted after `secs` (whole epoch seconds):
    /// `None` when TTL is not written, `Some(None)` on overflow.
    fn ttl_after(&self, secs: i64) -> Option<Option<i64>> {
        if !self.config.writes_ttl() {
            return None;
        }
        let buffer = i64::try_from(wire_time::seconds_ceil(self.config.ttl_buffer())).ok();
        Some(buffer.and_then(|b| secs.checked_add(b)))
    }

    /// The configured table name, for a request.
    pub(crate) fn table_name(&self) -> Arc<str> {
        Arc::clone(&self.table_name)
    }

    /// The lease key a request's key item names (the partition and sort key values under the
    /// configured attribute names; empty values if they are missing). For error messages
    /// only, so that a machine need not keep a copy of the key for the rare error.
    pub(crate) fn key_in(&self, request: &crate::request::Request) -> LeaseKey {
        use crate::request::Request;
        let item = match request {
            Request::Update(update) => &update.key,
            Request::Put(put) => &put.item,
            Request::Delete(delete) => &delete.key,
            Request::Get(get) => &get.key,
            Request::Transact(_) | Request::Query(_) => return LeaseKey::new("", ""),
        };
        let value = |name: &str| match item.get(name) {
            Some(AttributeValue::S(value)) => value.clone(),
            _ => Text::default(),
        };
        LeaseKey::new(value(&self.attrs.pk.name), value(&self.sort_key_name))
    }

    /// `key` with the configured lock sort key filled in if it has none
    /// ([`LeaseKey::lock`], or a partition key given as `"CACHE#A"`): the key a lease and
    /// every error name. The same as [`LeaseConfig::resolve_key`](crate::LeaseConfig::resolve_key),
    /// without a copy of the lock sort key.
    #[must_use]
    pub fn resolve(&self, key: impl Into<LeaseKey>) -> LeaseKey {
        key.into().resolved(&self.lock_sort_key)
    }

    /// The key attributes of `key`'s item.
    pub(crate) fn key_item(&self, key: &LeaseKey) -> Item {
        let mut item = Item::new();
        item.insert(
            self.attrs.pk.name.clone(),
            AttributeValue::S(key.partition_value().clone()),
        );
        item.insert(
            self.sort_key_name.clone(),
            AttributeValue::S(key.sort_value().unwrap_or(&self.lock_sort_key).clone()),
        );
        item
    }

    /// `#pk`: the partition key attribute.
    pub(crate) fn pk_attr(&self) -> Attr {
        self.attrs.pk.clone()
    }

    /// `#tok`: the token attribute.
    pub(crate) fn token_attr(&self) -> Attr {
        self.attrs.tok.clone()
    }

    /// `#exp`: the expiry attribute.
    pub(crate) fn expires_attr(&self) -> Attr {
        self.attrs.exp.clone()
    }

    /// `#fence`: the fencing token attribute.
    pub(crate) fn fence_attr(&self) -> Attr {
        self.attrs.fence.clone()
    }

    /// `#val`: the attribute of the value a holder proclaims.
    pub(crate) fn value_attr(&self) -> Attr {
        self.attrs.value.clone()
    }

    /// `SET #ttl = :ttl` when TTL is written, else `REMOVE #ttl` (a TTL left by another writer
    /// could delete a live lease).
    pub(crate) fn ttl_action(&self, ttl: Option<i64>) -> UpdateAction {
        match ttl {
            Some(ttl) => UpdateAction::set(
                self.ttl_attr(),
                Value::new("ttl", AttributeValue::number(ttl)),
            ),
            None => UpdateAction::Remove(self.ttl_attr()),
        }
    }

    /// `#ttl`: the TTL attribute.
    pub(crate) fn ttl_attr(&self) -> Attr {
        self.attrs.ttl.clone()
    }

    /// `:now`: `now` in the configured expiry unit, rounded down.
    pub(crate) fn now_value(&self, now: SystemTime) -> Value {
        Value::new(
            "now",
            AttributeValue::number(self.config.expiry_unit().floor(now)),
        )
    }

    /// `:tok`: the token.
    pub(crate) fn token_value(token: &LeaseToken) -> Value {
        Value::new(TOKEN_LABEL, AttributeValue::S(token.value().clone()))
    }
}

pub(crate) fn invalid(operation: Operation, key: LeaseKey, reason: InvalidInput) -> LeaseError {
    LeaseError::InvalidInput {
        operation,
        key,
        reason,
    }
}

/// The times a write stores: expiry (configured unit) and TTL (whole epoch seconds).
#[derive(Clone, Copy, Debug)]
pub(crate) struct WriteTimes {
    /// `lease_expires_at`, rounded up.
    pub(crate) expires: i64,
    /// The same instant.
    pub(crate) expires_at: SystemTime,
    /// `ttl`, when TTL is written.
    pub(crate) ttl: Option<i64>,
    /// The local safe deadline, when the monotonic send time is known.
    pub(crate) deadline: Option<Deadline>,
    /// The fencing token floor: `now` in whole epoch milliseconds (0 before the epoch).
    pub(crate) floor: u64,
}

/// `now` with its wall-clock reading corrected for a step backwards since `lease`'s last
/// write: the wall clock, as far as this lease is concerned, never runs slower than the
/// monotonic clock. Without a reference (a lease made from parts) or without a monotonic
/// reading, `now` as it is.
fn corrected(lease: &Lease, now: Now) -> Now {
    let (Some(previous), Some(monotonic)) = (lease.deadline(), now.monotonic) else {
        return now;
    };
    let (sent_monotonic, sent_wall) = previous.sent;
    let elapsed = monotonic
        .saturating_duration_since(sent_monotonic)
        .as_nanos();
    let floor = sent_wall.saturating_add(i128::try_from(elapsed).unwrap_or(i128::MAX));
    if floor <= wire_time::epoch_nanos(now.wall) {
        return now;
    }
    match wire_time::from_epoch_nanos(floor) {
        Some(floor) => Now::new(floor, monotonic),
        None => now,
    }
}

/// The fencing token a key starts from when its item has none: the wall clock in epoch
/// milliseconds, so that a key whose item was deleted restarts above every token it had.
fn fence_floor(now: SystemTime) -> u64 {
    u64::try_from(wire_time::ExpiryUnit::Milliseconds.floor(now)).unwrap_or(0)
}
