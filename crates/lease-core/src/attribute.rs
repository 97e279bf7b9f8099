//! DynamoDB attribute values and items, as plain data.
//!
//! This mirrors DynamoDB's `AttributeValue` wire types without depending on any AWS crate, so that
//! the core can build requests and read responses with no I/O. Stores convert to and from their own
//! representation (`lease-dynamodb-sdk` to `aws_sdk_dynamodb::types::AttributeValue`,
//! `lease-memory` keeps these values as they are).

use std::collections::BTreeMap;

use crate::text::Text;

/// One item: attribute name to value. Ordered, so that rendering and comparisons are deterministic.
///
/// Names are [`Text`]s, like every string in an [`AttributeValue`]: see there.
pub type Item = BTreeMap<Text, AttributeValue>;

/// A DynamoDB attribute value.
///
/// Numbers (`N`) are kept as DynamoDB sends them: a decimal string of at most 38 significant
/// digits. The core only ever writes whole numbers (`"1030"`).
///
/// Strings, numbers and an item's attribute names are [`Text`]: up to 24 bytes inline, longer
/// on the heap. Build one from a `&str` or `String` with `.into()` (or
/// [`AttributeValue::string`]), so an item literal is `Item::from([("pk".into(), value)])`;
/// read it as a `&str`; look an attribute up by `&str` (`item.get("pk")`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttributeValue {
    /// `S`: a UTF-8 string.
    S(Text),
    /// `N`: a number, as its decimal string.
    N(Text),
    /// `B`: binary data.
    B(Vec<u8>),
    /// `BOOL`: a boolean.
    Bool(bool),
    /// `NULL`: the null value (always `true` on the wire).
    Null,
    /// `SS`: a set of strings.
    Ss(Vec<Text>),
    /// `NS`: a set of numbers, as decimal strings.
    Ns(Vec<Text>),
    /// `BS`: a set of binary values.
    Bs(Vec<Vec<u8>>),
    /// `L`: a list of values.
    L(Vec<AttributeValue>),
    /// `M`: a map of values.
    M(Item),
}

impl AttributeValue {
    /// A number value from a signed integer (`N`).
    #[must_use]
    pub fn number(n: i64) -> Self {
        Self::N(Text::from_i64(n))
    }

    /// A string value (`S`).
    #[must_use]
    pub fn string(s: impl Into<Text>) -> Self {
        Self::S(s.into())
    }

    /// DynamoDB's one- or two-letter type descriptor: `"S"`, `"N"`, `"B"`, `"BOOL"`, `"NULL"`,
    /// `"SS"`, `"NS"`, `"BS"`, `"L"` or `"M"`.
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::S(_) => "S",
            Self::N(_) => "N",
            Self::B(_) => "B",
            Self::Bool(_) => "BOOL",
            Self::Null => "NULL",
            Self::Ss(_) => "SS",
            Self::Ns(_) => "NS",
            Self::Bs(_) => "BS",
            Self::L(_) => "L",
            Self::M(_) => "M",
        }
    }

    /// The string of an `S` value, or `None` for any other type.
    #[must_use]
    pub fn as_s(&self) -> Option<&str> {
        match self {
            Self::S(s) => Some(s),
            _ => None,
        }
    }

    /// The decimal string of an `N` value, or `None` for any other type.
    #[must_use]
    pub fn as_n(&self) -> Option<&str> {
        match self {
            Self::N(n) => Some(n),
            _ => None,
        }
    }
}
