//! Input checks that run before any request is planned.

use std::time::Duration;

use crate::error::InvalidInput;
use crate::key::LeaseKey;
use crate::token::LeaseToken;

/// DynamoDB's limit on a partition key value, in UTF-8 bytes.
pub const MAX_PARTITION_KEY_BYTES: usize = 2048;
/// DynamoDB's limit on a sort key value, in UTF-8 bytes.
pub const MAX_SORT_KEY_BYTES: usize = 1024;
/// The longest lease token accepted, in UTF-8 bytes: 1024. Tokens are UUIDs (36 bytes) or a
/// caller's own short strings; anything near DynamoDB's 400 KB item limit is a mistake that
/// DynamoDB would reject only after the fact (a `ValidationException`).
pub const MAX_TOKEN_BYTES: usize = 1024;
/// The longest value a campaign may proclaim, in UTF-8 bytes: 2048 (a host name, an address,
/// a small identifier; not a payload).
pub const MAX_VALUE_BYTES: usize = 2048;
/// The longest lease duration accepted: 10 years (anything longer is taken for a unit mistake).
pub const MAX_LEASE_DURATION: Duration = Duration::from_secs(10 * 366 * 24 * 3600);

/// Checks a key: non-empty parts within DynamoDB's size limits.
pub(crate) fn key(key: &LeaseKey) -> Result<(), InvalidInput> {
    if key.partition().is_empty() {
        return Err(InvalidInput::EmptyPartitionKey);
    }
    // A key without a sort key gets the lock sort key, which the configuration checked.
    let sort = key.sort().unwrap_or_default();
    if key.sort().is_some_and(str::is_empty) {
        return Err(InvalidInput::EmptySortKey);
    }
    if key.partition().len() > MAX_PARTITION_KEY_BYTES {
        return Err(InvalidInput::PartitionKeyTooLong {
            len: key.partition().len(),
        });
    }
    if sort.len() > MAX_SORT_KEY_BYTES {
        return Err(InvalidInput::SortKeyTooLong { len: sort.len() });
    }
    Ok(())
}

/// Checks a lease duration: above zero, at most the maximum.
pub(crate) fn duration(duration: Duration) -> Result<(), InvalidInput> {
    if duration.is_zero() {
        return Err(InvalidInput::ZeroDuration);
    }
    if duration > MAX_LEASE_DURATION {
        return Err(InvalidInput::DurationTooLong { duration });
    }
    Ok(())
}

/// Checks a proclaimed value: not empty, within the size limit.
pub(crate) fn value(value: &str) -> Result<(), InvalidInput> {
    if value.is_empty() {
        return Err(InvalidInput::EmptyValue);
    }
    if value.len() > MAX_VALUE_BYTES {
        return Err(InvalidInput::ValueTooLong { len: value.len() });
    }
    Ok(())
}

/// Checks a token: not empty, within the size limit.
pub(crate) fn token(token: &LeaseToken) -> Result<(), InvalidInput> {
    let len = token.expose_secret().len();
    if len == 0 {
        return Err(InvalidInput::EmptyToken);
    }
    if len > MAX_TOKEN_BYTES {
        return Err(InvalidInput::TokenTooLong { len });
    }
    Ok(())
}
