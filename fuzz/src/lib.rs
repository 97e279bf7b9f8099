//! Shared input builders and checks of the fuzz targets (`fuzz_targets/`).
//!
//! Each builder draws from libFuzzer's bytes through [`Unstructured`]; when the bytes run out,
//! `arbitrary` answers with zeros and empty values, so every builder ends. Builders lean
//! towards the inputs lease-core reads (the configured attribute names, numbers near `now`),
//! and keep a path to anything at all (any name, any string as a number).

use std::time::{Duration, SystemTime};

use arbitrary::{Result, Unstructured};
use lease_core::wire_time::{self, ExpiryUnit};
use lease_core::{
    AttributeValue, CancellationReason, Item, LeaseConfig, StoreError, StoreErrorKind,
    StoreResponse, Text,
};

/// The wall clock most inputs are read at: 2027-01-15 (epoch seconds).
pub const T0: i64 = 1_800_000_000;

/// Every store error kind.
pub const ERROR_KINDS: [StoreErrorKind; 10] = [
    StoreErrorKind::Throttled,
    StoreErrorKind::Timeout,
    StoreErrorKind::Unavailable,
    StoreErrorKind::Unreachable,
    StoreErrorKind::Validation,
    StoreErrorKind::ResourceNotFound,
    StoreErrorKind::AccessDenied,
    StoreErrorKind::Unsupported,
    StoreErrorKind::Misconfigured,
    StoreErrorKind::Other,
];

/// Attribute names that are nobody's: foreign attributes of an item.
const FOREIGN_NAMES: [&str; 6] = ["data", "owner", "PK", "lease_token ", "ttl2", ""];

/// A string of any content, up to `max` bytes (`arbitrary`'s, cut at a char boundary).
pub fn string(u: &mut Unstructured<'_>, max: usize) -> Result<String> {
    let mut s: String = u.arbitrary()?;
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    Ok(s)
}

/// A string that is sometimes far longer than the bytes at hand: `arbitrary`'s, or one
/// repeated up to `max` bytes (DynamoDB's limits are in the kilobytes).
pub fn long_string(u: &mut Unstructured<'_>, max: usize) -> Result<String> {
    let base = string(u, 64)?;
    if base.is_empty() || !u.arbitrary::<bool>()? {
        return Ok(base);
    }
    let want = u.int_in_range(0..=max)?;
    let mut s = base.repeat(want / base.len() + 1);
    let mut end = want.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    Ok(s)
}

/// A wall-clock time: near [`T0`] (the usual), anywhere an `i64` of seconds reaches, or at
/// the edges `SystemTime` and the epoch make.
pub fn wall_time(u: &mut Unstructured<'_>) -> Result<SystemTime> {
    let nanos: u32 = u.int_in_range(0..=999_999_999)?;
    let secs = match u.int_in_range(0..=4)? {
        0 | 1 => T0 + i64::from(u.int_in_range(-100_000..=100_000)?),
        2 => 0,
        3 => u.arbitrary::<i32>()?.into(),
        _ => u.arbitrary()?,
    };
    let base = wire_time::from_epoch_seconds(secs).unwrap_or(SystemTime::UNIX_EPOCH);
    Ok(base
        .checked_add(Duration::from_nanos(nanos.into()))
        .unwrap_or(base))
}

/// A lease duration: usually seconds to minutes, sometimes zero, sub-skew, or huge.
pub fn duration(u: &mut Unstructured<'_>) -> Result<Duration> {
    Ok(match u.int_in_range(0..=5)? {
        0..=2 => Duration::from_millis(u.int_in_range(1..=120_000)?),
        3 => Duration::from_nanos(u.arbitrary()?),
        4 => Duration::ZERO,
        _ => Duration::new(u.arbitrary()?, u.int_in_range(0..=999_999_999)?),
    })
}

/// A number as DynamoDB's `N` carries it: a string. Whole numbers near `now` in `unit`
/// (a live or just-expired lease), `0` (released), numbers at the edges of `i64` and `u64`,
/// forms that are not whole numbers (`1.5`, `1e3`, `+7`, ` 7`), and any string at all.
pub fn number(u: &mut Unstructured<'_>, now: SystemTime, unit: ExpiryUnit) -> Result<Text> {
    const ODD: [&str; 16] = [
        "0",
        "-0",
        "+7",
        " 7",
        "7 ",
        "1.5",
        "1e3",
        "1E3",
        "0x10",
        "",
        "-",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775809",
        "18446744073709551616",
        "00000000000000000000000000042",
    ];
    Ok(match u.int_in_range(0..=6)? {
        0 | 1 => {
            let at = unit.floor(now);
            let delta = i64::from(u.int_in_range(-120_000..=120_000)?);
            Text::from(at.saturating_add(delta).to_string())
        }
        2 => Text::from(u.arbitrary::<i64>()?.to_string()),
        3 => Text::from(u.arbitrary::<u64>()?.to_string()),
        4 => Text::from(*u.choose(&ODD)?),
        5 => Text::from(format!(
            "{}{}",
            u.choose(&ODD)?,
            u.int_in_range(0..=9_999u32)?
        )),
        _ => Text::from(string(u, 40)?),
    })
}

/// Any attribute value of any type, nested up to `depth` levels in lists and maps.
pub fn value(
    u: &mut Unstructured<'_>,
    now: SystemTime,
    unit: ExpiryUnit,
    depth: u32,
) -> Result<AttributeValue> {
    let kinds = if depth == 0 { 8 } else { 10 };
    Ok(match u.int_in_range(0..=kinds - 1)? {
        0 => AttributeValue::S(Text::from(string(u, 80)?)),
        1 => AttributeValue::N(number(u, now, unit)?),
        2 => AttributeValue::B(u.arbitrary()?),
        3 => AttributeValue::Bool(u.arbitrary()?),
        4 => AttributeValue::Null,
        5 => AttributeValue::Ss(
            (0..u.int_in_range(0..=3)?)
                .map(|_| string(u, 20).map(Text::from))
                .collect::<Result<_>>()?,
        ),
        6 => AttributeValue::Ns(
            (0..u.int_in_range(0..=3)?)
                .map(|_| number(u, now, unit))
                .collect::<Result<_>>()?,
        ),
        7 => AttributeValue::Bs(u.arbitrary()?),
        8 => AttributeValue::L(
            (0..u.int_in_range(0..=3)?)
                .map(|_| value(u, now, unit, depth - 1))
                .collect::<Result<_>>()?,
        ),
        _ => AttributeValue::M(
            (0..u.int_in_range(0..=3)?)
                .map(|_| Ok((Text::from(string(u, 20)?), value(u, now, unit, depth - 1)?)))
                .collect::<Result<_>>()?,
        ),
    })
}

/// The six attribute names `config` knows, in its order: partition key, sort key, token,
/// expiry, TTL, fencing token.
pub fn config_names(config: &LeaseConfig) -> [&str; 6] {
    [
        config.partition_key_attribute(),
        config.sort_key_attribute(),
        config.token_attribute(),
        config.expires_at_attribute(),
        config.ttl_attribute(),
        config.fence_attribute(),
    ]
}

/// A value for the attribute `name` of a lease item under `config`: usually of the type the
/// attribute has in a lease (`S` keys and token, `N` times and fence), sometimes any value.
pub fn lease_value(
    u: &mut Unstructured<'_>,
    config: &LeaseConfig,
    name: &str,
    now: SystemTime,
) -> Result<AttributeValue> {
    let unit = config.expiry_unit();
    if u.int_in_range(0..=3)? == 0 {
        return value(u, now, unit, 2);
    }
    let names = config_names(config);
    Ok(if names[..3].contains(&name) {
        AttributeValue::S(Text::from(string(u, 80)?))
    } else if name == config.ttl_attribute() {
        AttributeValue::N(number(u, now, ExpiryUnit::Seconds)?)
    } else if name == config.fence_attribute() && u.arbitrary()? {
        AttributeValue::N(Text::from(u.arbitrary::<u64>()?.to_string()))
    } else {
        AttributeValue::N(number(u, now, unit)?)
    })
}

/// An item as a store may hold it: mostly the lease attributes of `config` (each present or
/// not), with foreign and arbitrary attributes now and then.
pub fn item(u: &mut Unstructured<'_>, config: &LeaseConfig, now: SystemTime) -> Result<Item> {
    let mut item = Item::new();
    for name in config_names(config) {
        if u.int_in_range(0..=7)? != 0 {
            let value = lease_value(u, config, name, now)?;
            item.insert(Text::from(name), value);
        }
    }
    for _ in 0..u.int_in_range(0..=2)? {
        let name = if u.arbitrary()? {
            Text::from(*u.choose(&FOREIGN_NAMES)?)
        } else {
            Text::from(string(u, 40)?)
        };
        let value = value(u, now, config.expiry_unit(), 2)?;
        item.insert(name, value);
    }
    Ok(item)
}

/// A store error of any kind, with a message from a fixed set (a message is the store's
/// text, shown as it is: it never comes from a lease).
pub fn store_error(u: &mut Unstructured<'_>) -> Result<StoreError> {
    const MESSAGES: [&str; 3] = ["", "made up", "ConditionalCheckFailed: (HTTP 400)"];
    Ok(StoreError::new(
        *u.choose(&ERROR_KINDS)?,
        *u.choose(&MESSAGES)?,
    ))
}

/// A transaction cancellation reason of any kind.
pub fn cancellation_reason(
    u: &mut Unstructured<'_>,
    config: &LeaseConfig,
    now: SystemTime,
) -> Result<CancellationReason> {
    Ok(match u.int_in_range(0..=3)? {
        0 => CancellationReason::None,
        1 => CancellationReason::ConditionalCheckFailed { old_item: None },
        2 => CancellationReason::ConditionalCheckFailed {
            old_item: Some(item(u, config, now)?),
        },
        _ => CancellationReason::Other {
            code: string(u, 30)?,
            message: if u.arbitrary()? {
                Some(string(u, 30)?)
            } else {
                None
            },
        },
    })
}

/// Any answer a store may give to any request: each [`StoreResponse`] with arbitrary items,
/// or an error of any kind.
pub fn answer(
    u: &mut Unstructured<'_>,
    config: &LeaseConfig,
    now: SystemTime,
) -> Result<std::result::Result<StoreResponse, StoreError>> {
    let maybe_item = |u: &mut Unstructured<'_>| -> Result<Option<Item>> {
        if u.int_in_range(0..=4)? == 0 {
            Ok(None)
        } else {
            item(u, config, now).map(Some)
        }
    };
    Ok(match u.int_in_range(0..=5)? {
        0 => Ok(StoreResponse::Applied {
            attributes: maybe_item(u)?,
        }),
        1 => Ok(StoreResponse::ConditionFailed {
            old_item: maybe_item(u)?,
        }),
        2 => Ok(StoreResponse::Item(maybe_item(u)?)),
        3 => Ok(StoreResponse::TransactionCanceled {
            reasons: (0..u.int_in_range(0..=4)?)
                .map(|_| cancellation_reason(u, config, now))
                .collect::<Result<_>>()?,
        }),
        _ => Err(store_error(u)?),
    })
}

/// A configuration as the targets read items under: the default, milliseconds, renamed
/// attributes (with a lock sort key and skew bound of their own), or a short TTL buffer; any
/// of them with a fuzzed skew bound.
pub fn config(u: &mut Unstructured<'_>) -> Result<LeaseConfig> {
    let mut builder = LeaseConfig::builder("locks");
    match u.int_in_range(0..=3)? {
        0 => {}
        1 => builder = builder.expiry_unit(ExpiryUnit::Milliseconds),
        2 => {
            builder = builder
                .key_attribute_names("PK", "SK")
                .lease_attribute_names("owner", "until", "expires")
                .fence_attribute_name("fence#n")
                .lock_sort_key("MUTEX")
                .max_clock_skew(Duration::from_millis(250));
        }
        _ => builder = builder.ttl_buffer(Duration::from_secs(10)),
    }
    if u.arbitrary()? {
        builder = builder.max_clock_skew(Duration::from_millis(u.int_in_range(0..=3_600_000)?));
    }
    if u.arbitrary()? {
        builder = builder.include_ttl(false);
    }
    // A skew bound too large for the default TTL buffer is a configuration error: keep the
    // default instead.
    match builder.clone().build() {
        Ok(config) => Ok(config),
        Err(_) => Ok(builder
            .max_clock_skew(lease_core::defaults::MAX_CLOCK_SKEW)
            .build()
            .unwrap_or_else(|error| panic!("the fallback configuration is valid: {error}"))),
    }
}

/// `shown` with every fingerprint (`tok:` and 8 hex digits) replaced by `tok:********`, to
/// compare renderings of values that differ only in their token.
pub fn without_fingerprints(shown: &str) -> String {
    let mut out = String::with_capacity(shown.len());
    let mut rest = shown;
    while let Some(at) = rest.find("tok:") {
        let (before, after) = rest.split_at(at);
        out.push_str(before);
        let hex = &after[4..];
        if hex.len() >= 8 && hex.as_bytes()[..8].iter().all(u8::is_ascii_hexdigit) {
            out.push_str("tok:********");
            rest = &hex[8..];
        } else {
            out.push_str("tok:");
            rest = hex;
        }
    }
    out.push_str(rest);
    out
}

/// A token of the same length as `token` and different from it (`None` for the empty one).
pub fn twin_token(token: &str) -> Option<String> {
    if token.is_empty() {
        return None;
    }
    let a = "a".repeat(token.len());
    Some(if a == token {
        "b".repeat(token.len())
    } else {
        a
    })
}

/// Whether the fingerprint `shown` (a `TokenFingerprint`'s `Display`) is `tok:` and 8
/// lowercase hex digits.
pub fn is_fingerprint(shown: &str) -> bool {
    shown.len() == 12
        && shown.starts_with("tok:")
        && shown[4..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
