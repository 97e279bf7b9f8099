//! Reading a stored lease item: who holds it, until when, with which fencing token.

use std::fmt;

use std::time::SystemTime;

use crate::attribute::{AttributeValue, Item};
use crate::config::LeaseConfig;
use crate::error::DecodeError;
use crate::fence::FencingToken;
use crate::token::TokenFingerprint;
use crate::validate::MAX_LEASE_DURATION;

/// The stored expiry value that marks a released lease (`lease_expires_at = 0`): expired for
/// every reader, TableTheory's included, while the item keeps its fencing token.
pub const RELEASED_EXPIRY: i64 = 0;

/// The lease attributes of a stored item, as read. Never carries the bearer token itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[expect(
    clippy::exhaustive_structs,
    reason = "the lease attributes of the item format shared with TableTheory; a new one would be a format change"
)]
pub struct HolderRecord {
    /// Fingerprint of the holder's token.
    pub token: TokenFingerprint,
    /// When the lease expires, from `lease_expires_at` (in the configured unit). The Unix
    /// epoch for a released lease.
    pub expires_at: SystemTime,
    /// The fencing token of the holder's acquisition; `None` for items written by
    /// TableTheory's code, which has none.
    pub fence: Option<FencingToken>,
    /// Whether the lease was released (`lease_expires_at = 0`).
    pub released: bool,
}

impl HolderRecord {
    /// Reads the lease attributes of `item` as configured, leniently: attributes that are not
    /// lease attributes are ignored. `now` is the reader's wall clock, to recognise an expiry
    /// written in another unit.
    ///
    /// # Errors
    /// [`DecodeError`] naming the attribute if the token is missing or not `S`; the expiry is
    /// missing, not `N`, not a whole number, or further in the future than the longest lease
    /// allows; or the fencing token or TTL (when present) is not a whole number `N`.
    pub fn decode(item: &Item, config: &LeaseConfig, now: SystemTime) -> Result<Self, DecodeError> {
        let token = required(item, config.token_attribute(), "S", AttributeValue::as_s)?;
        let exp_name = config.expires_at_attribute();
        let raw = required(item, exp_name, "N", AttributeValue::as_n)?;
        let value = whole_number::<i64>(exp_name, raw)?;
        let unit = config.expiry_unit();
        let invalid = || DecodeError::InvalidNumber {
            attribute: exp_name.into(),
            value: raw.into(),
        };
        // The latest expiry any writer within the skew bound can store: the longest lease,
        // written by a clock up to the skew bound ahead, rounded up by one unit. Checked on the
        // raw number, so a value in another unit is named as such even when it is beyond the
        // representable range of times.
        let slack = MAX_LEASE_DURATION
            .saturating_add(config.max_clock_skew())
            .saturating_add(std::time::Duration::from_secs(1));
        // A horizon before the unit's range (a reader's clock some 292 million years before
        // the epoch, in milliseconds) is below every value; one after the range of times, above.
        let beyond = now.checked_add(slack).is_some_and(|h| match unit.ceil(h) {
            Some(h) => value > h,
            None => h < SystemTime::UNIX_EPOCH,
        });
        if beyond {
            return Err(DecodeError::ExpiryBeyondHorizon {
                attribute: exp_name.into(),
                value,
                unit: unit.name(),
            });
        }
        let expires_at = unit.to_time(value).ok_or_else(invalid)?;
        let fence = optional_number::<u64>(item, config.fence_attribute())?.map(FencingToken::new);
        optional_number::<i64>(item, config.ttl_attribute())?;
        Ok(Self {
            token: TokenFingerprint::of(token),
            expires_at,
            fence,
            released: value == RELEASED_EXPIRY,
        })
    }

    /// Like [`decode`](Self::decode), and also rejects any attribute that is neither a key
    /// attribute nor a lease attribute of `config`.
    ///
    /// # Errors
    /// As [`decode`](Self::decode), plus [`DecodeError::ForeignAttribute`].
    pub fn decode_strict(
        item: &Item,
        config: &LeaseConfig,
        now: SystemTime,
    ) -> Result<Self, DecodeError> {
        let info = Self::decode(item, config, now)?;
        let known = [
            config.partition_key_attribute(),
            config.sort_key_attribute(),
            config.token_attribute(),
            config.expires_at_attribute(),
            config.ttl_attribute(),
            config.fence_attribute(),
            config.value_attribute(),
        ];
        if let Some(foreign) = item.keys().find(|name| !known.contains(&name.as_str())) {
            return Err(DecodeError::ForeignAttribute {
                attribute: foreign.to_string(),
            });
        }
        // The proclaimed value (leader election), when present, is a string.
        let value = config.value_attribute();
        if let Some(other) = item.get(value).filter(|v| v.as_s().is_none()) {
            return Err(DecodeError::WrongType {
                attribute: value.into(),
                expected: "S",
                found: other.type_name(),
            });
        }
        Ok(info)
    }
}

fn required<'a>(
    item: &'a Item,
    name: &str,
    expected: &'static str,
    get: fn(&AttributeValue) -> Option<&str>,
) -> Result<&'a str, DecodeError> {
    let value = item
        .get(name)
        .ok_or_else(|| DecodeError::MissingAttribute {
            attribute: name.into(),
        })?;
    get(value).ok_or_else(|| DecodeError::WrongType {
        attribute: name.into(),
        expected,
        found: value.type_name(),
    })
}

fn optional_number<T: std::str::FromStr>(
    item: &Item,
    name: &str,
) -> Result<Option<T>, DecodeError> {
    match item.get(name) {
        None => Ok(None),
        Some(AttributeValue::N(raw)) => whole_number(name, raw).map(Some),
        Some(other) => Err(DecodeError::WrongType {
            attribute: name.into(),
            expected: "N",
            found: other.type_name(),
        }),
    }
}

fn whole_number<T: std::str::FromStr>(name: &str, raw: &str) -> Result<T, DecodeError> {
    raw.parse().map_err(|_| DecodeError::InvalidNumber {
        attribute: name.into(),
        value: raw.into(),
    })
}

/// What a failed acquire learned about the current holder.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Holder {
    /// The store returned no old item (it does not support `ReturnValuesOnConditionCheckFailure`,
    /// as dynalite does not). [`inspect`](crate::Planner::inspect) reads it.
    Unknown,
    /// The current holder.
    Known(HolderRecord),
}

/// Shows what is known of the holder: `holder unknown`, or `holder tok:…, expires at epoch
/// second …, fencing token …` (the fencing token only when the item has one).
impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown => f.write_str("holder unknown"),
            Self::Known(info) => {
                write!(
                    f,
                    "holder {}, expires at epoch second {}",
                    info.token,
                    crate::wire_time::epoch_seconds_floor(info.expires_at)
                )?;
                if let Some(fence) = info.fence {
                    write!(f, ", fencing token {fence}")?;
                }
                Ok(())
            }
        }
    }
}

/// [`Holder`] as the end of an error message: nothing when unknown, otherwise ` (holder …)`.
pub(crate) struct HolderSuffix<'a>(pub(crate) &'a Holder);

impl fmt::Display for HolderSuffix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Holder::Unknown => Ok(()),
            known @ Holder::Known(_) => write!(f, " ({known})"),
        }
    }
}
