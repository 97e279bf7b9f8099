//! What is known of a lease's current holder, decoded from a stored item.

use std::fmt;

use time::OffsetDateTime;

use crate::attribute::{AttributeValue, Item};
use crate::config::LeaseConfig;
use crate::error::DecodeError;
use crate::token::TokenFingerprint;
use crate::wire_time;

/// The lease attributes of a stored item, as read. Never carries the bearer token itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HolderInfo {
    /// Fingerprint of the holder's token.
    pub token: TokenFingerprint,
    /// When the lease expires (whole seconds, from `lease_expires_at`).
    pub expires_at: OffsetDateTime,
}

impl HolderInfo {
    /// Reads the token and expiry attributes of `item` as configured.
    ///
    /// # Errors
    /// [`DecodeError`] naming the attribute if the token is missing or not `S`, or the expiry is
    /// missing, not `N`, or not whole epoch seconds.
    pub fn decode(item: &Item, config: &LeaseConfig) -> Result<Self, DecodeError> {
        let token = attribute(item, config.token_attribute(), "S", AttributeValue::as_s)?;
        let name = config.expires_at_attribute();
        let raw = attribute(item, name, "N", AttributeValue::as_n)?;
        let invalid = || DecodeError::InvalidEpochSeconds {
            attribute: name.into(),
            value: raw.into(),
        };
        let secs: i64 = raw.parse().map_err(|_| invalid())?;
        let expires_at = wire_time::from_epoch_seconds(secs).ok_or_else(invalid)?;
        Ok(Self {
            token: TokenFingerprint::of(token),
            expires_at,
        })
    }
}

fn attribute<'a>(
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

/// What a failed acquire learned about the current holder.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Holder {
    /// The store returned no old item (it does not support `ReturnValuesOnConditionCheckFailure`,
    /// as dynalite does not).
    Unknown,
    /// The current holder.
    Known(HolderInfo),
    /// The store returned an item that is not a readable lease.
    Undecodable(DecodeError),
}

impl Holder {
    pub(crate) fn from_old_item(old_item: Option<&Item>, config: &LeaseConfig) -> Self {
        match old_item {
            None => Self::Unknown,
            Some(item) => match HolderInfo::decode(item, config) {
                Ok(info) => Self::Known(info),
                Err(e) => Self::Undecodable(e),
            },
        }
    }
}

/// Renders as a suffix of [`LeaseError::Held`](crate::LeaseError::Held)'s message: empty, or
/// ` (holder tok:…, expires at …)`.
impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown => Ok(()),
            Self::Known(info) => write!(
                f,
                " (holder {}, expires at epoch second {})",
                info.token,
                info.expires_at.unix_timestamp()
            ),
            Self::Undecodable(e) => write!(f, " (stored item is not a readable lease: {e})"),
        }
    }
}
