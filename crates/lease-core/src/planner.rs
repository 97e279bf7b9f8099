//! The planner: turns lease operations into requests and interprets the answers.

use std::time::Duration;

use time::OffsetDateTime;

use crate::acquire::AcquirePlan;
use crate::attribute::{AttributeValue, Item};
use crate::config::LeaseConfig;
use crate::error::{InvalidInput, LeaseError, Operation};
use crate::expr::{Attr, Value};
use crate::key::LeaseKey;
use crate::lease::Lease;
use crate::refresh::RefreshPlan;
use crate::release::ReleasePlan;
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
/// use lease_core::{LeaseConfig, LeaseKey, LeaseToken, Planner, StoreResponse};
/// use time::OffsetDateTime;
///
/// let planner = Planner::new(LeaseConfig::builder("locks").build()?);
/// let now = OffsetDateTime::from_unix_timestamp(1000)?;
/// let plan = planner.acquire(LeaseKey::new("CACHE#A", "LOCK"), Duration::from_secs(30), now, LeaseToken::new("tok"))?;
/// // A store executes `plan.request()`; here the answer is made up:
/// let lease = plan.interpret(Ok(StoreResponse::Applied { attributes: None }))?;
/// assert_eq!(lease.expires_at_epoch_seconds(), 1030);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Planner {
    config: LeaseConfig,
}

impl Planner {
    /// A planner for the given configuration.
    #[must_use]
    pub fn new(config: LeaseConfig) -> Self {
        Self { config }
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &LeaseConfig {
        &self.config
    }

    /// The key of the lease for `partition` under the configured lock sort key (TableTheory's
    /// `Acquire(pk)` key).
    #[must_use]
    pub fn lock_key(&self, partition: impl Into<String>) -> LeaseKey {
        LeaseKey::new(partition, self.config.lock_sort_key())
    }

    /// Plans an acquire of `key` for `duration` at wall-clock time `now` with a fresh `token`.
    ///
    /// # Errors
    /// [`LeaseError::InvalidInput`] (nothing to send) for an empty or oversized key, a zero or
    /// over-long duration, an empty token, or an expiry out of range.
    pub fn acquire(
        &self,
        key: LeaseKey,
        duration: Duration,
        now: OffsetDateTime,
        token: LeaseToken,
    ) -> Result<AcquirePlan<'_>, LeaseError> {
        match self.check(&key, &token, duration, now) {
            Ok(times) => Ok(AcquirePlan::new(self, key, token, now, times)),
            Err(reason) => Err(invalid(Operation::Acquire, key, reason)),
        }
    }

    /// Plans a refresh of `lease` for `duration` from wall-clock time `now`: the new expiry is
    /// `now + duration` (rounded up to whole seconds), not the old expiry plus `duration`.
    ///
    /// # Errors
    /// [`LeaseError::InvalidInput`] as for [`acquire`](Self::acquire).
    pub fn refresh(
        &self,
        lease: &Lease,
        duration: Duration,
        now: OffsetDateTime,
    ) -> Result<RefreshPlan<'_>, LeaseError> {
        let key = lease.key();
        match self.check(key, lease.token(), duration, now) {
            Ok(times) => Ok(RefreshPlan::new(self, lease, now, times)),
            Err(reason) => Err(invalid(Operation::Refresh, key.clone(), reason)),
        }
    }

    /// Plans a release of `lease`: a delete conditioned on the lease's token.
    ///
    /// # Errors
    /// [`LeaseError::InvalidInput`] for an empty or oversized key or an empty token.
    pub fn release(&self, lease: &Lease) -> Result<ReleasePlan<'_>, LeaseError> {
        let strict = self.config.validate_input();
        validate::key(lease.key(), strict)
            .and_then(|()| validate::token(lease.token(), strict))
            .map_err(|reason| invalid(Operation::Release, lease.key().clone(), reason))?;
        Ok(ReleasePlan::new(self, lease))
    }

    /// Checks the input and computes the stored expiry and TTL (whole epoch seconds).
    fn check(
        &self,
        key: &LeaseKey,
        token: &LeaseToken,
        duration: Duration,
        now: OffsetDateTime,
    ) -> Result<WriteTimes, InvalidInput> {
        let strict = self.config.validate_input();
        validate::key(key, strict)?;
        validate::token(token, strict)?;
        validate::duration(duration, strict)?;
        let expires =
            wire_time::expiry_epoch_seconds(now, duration).ok_or(InvalidInput::TimeOutOfRange)?;
        let expires_at =
            wire_time::from_epoch_seconds(expires).ok_or(InvalidInput::TimeOutOfRange)?;
        let ttl = if self.config.writes_ttl() {
            let buffer = i64::try_from(wire_time::seconds_ceil(self.config.ttl_buffer()))
                .map_err(|_| InvalidInput::TimeOutOfRange)?;
            Some(
                expires
                    .checked_add(buffer)
                    .ok_or(InvalidInput::TimeOutOfRange)?,
            )
        } else {
            None
        };
        Ok(WriteTimes {
            expires,
            expires_at,
            ttl,
        })
    }

    /// The key attributes of `key` as an item.
    pub(crate) fn key_item(&self, key: &LeaseKey) -> Item {
        let mut item = Item::new();
        item.insert(
            self.config.partition_key_attribute().into(),
            AttributeValue::string(key.partition()),
        );
        item.insert(
            self.config.sort_key_attribute().into(),
            AttributeValue::string(key.sort()),
        );
        item
    }

    /// `#pk`: the partition key attribute.
    pub(crate) fn pk_attr(&self) -> Attr {
        Attr::new("pk", self.config.partition_key_attribute())
    }

    /// `#tok`: the token attribute.
    pub(crate) fn token_attr(&self) -> Attr {
        Attr::new("tok", self.config.token_attribute())
    }

    /// `#exp`: the expiry attribute.
    pub(crate) fn expires_attr(&self) -> Attr {
        Attr::new("exp", self.config.expires_at_attribute())
    }

    /// `#ttl`: the TTL attribute.
    pub(crate) fn ttl_attr(&self) -> Attr {
        Attr::new("ttl", self.config.ttl_attribute())
    }

    /// `:now`: the whole epoch seconds of `now`, rounded down.
    pub(crate) fn now_value(now: OffsetDateTime) -> Value {
        Value::new(
            "now",
            AttributeValue::number(wire_time::epoch_seconds_floor(now)),
        )
    }

    /// `:tok`: the token.
    pub(crate) fn token_value(token: &LeaseToken) -> Value {
        Value::new("tok", AttributeValue::string(token.expose_secret()))
    }
}

fn invalid(operation: Operation, key: LeaseKey, reason: InvalidInput) -> LeaseError {
    LeaseError::InvalidInput {
        operation,
        key,
        reason,
    }
}

/// The times a write stores: expiry and TTL in whole epoch seconds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WriteTimes {
    /// `lease_expires_at`, rounded up.
    pub(crate) expires: i64,
    /// The same instant.
    pub(crate) expires_at: OffsetDateTime,
    /// `ttl`, when TTL is written.
    pub(crate) ttl: Option<i64>,
}
