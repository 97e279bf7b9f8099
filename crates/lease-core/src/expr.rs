//! A small condition/update expression AST.
//!
//! Requests carry their conditions and updates as this tree, never as strings. A store that talks
//! to DynamoDB renders the tree ([`Request::render`](crate::Request::render)) into expression text with `#name` and `:value`
//! placeholders; `lease-memory` evaluates the tree itself. Attribute names only ever appear in
//! `ExpressionAttributeNames`, never spliced into the expression text, so a custom attribute name
//! such as `a) OR (b` cannot change a condition.
//!
//! Each [`Attr`] and [`Value`] carries a short *label* that becomes its placeholder (`#exp`,
//! `:now`), so rendered expressions read like TableTheory's:
//! `attribute_not_exists(#pk) OR #exp <= :now`.

use std::fmt;

use crate::attribute::AttributeValue;
use crate::text::Text;
use crate::token::TokenFingerprint;

/// A reference to an attribute by name, with the placeholder label it renders under.
///
/// The name is shared (`Arc<str>`): a [`Planner`](crate::Planner) makes each of its attribute
/// references once, and every request it plans holds copies of the pointer, not of the text.
#[derive(Clone, Debug, PartialEq, Eq)]
#[expect(
    clippy::exhaustive_structs,
    reason = "store protocol: a store reads every field, so a new one is a breaking change on purpose"
)]
pub struct Attr {
    /// Placeholder label without the `#` (for example `exp` renders as `#exp`).
    pub label: &'static str,
    /// The attribute's real name in the item (for example `lease_expires_at`).
    pub name: Text,
}

impl Attr {
    /// An attribute reference rendered as `#label`.
    #[must_use]
    pub fn new(label: &'static str, name: impl Into<Text>) -> Self {
        Self {
            label,
            name: name.into(),
        }
    }
}

/// The label of a lease's bearer token, as an attribute (`#tok`) and as a value (`:tok`).
pub const TOKEN_LABEL: &str = "tok";

/// A literal value, with the placeholder label it renders under.
///
/// `Debug` shows a value labelled [`TOKEN_LABEL`] (a lease's bearer token) as its
/// [fingerprint](crate::TokenFingerprint) only, so that a request can be logged without its
/// token. ([`Rendered`](crate::Rendered) hides the values of `:tok` and of its numbered
/// variants `:tok1`, `:tok2`, …, which is how the renderer spells a reused label.)
#[derive(Clone, PartialEq, Eq)]
#[expect(
    clippy::exhaustive_structs,
    reason = "store protocol: a store reads every field, so a new one is a breaking change on purpose"
)]
pub struct Value {
    /// Placeholder label without the `:` (for example `now` renders as `:now`).
    pub label: &'static str,
    /// The value.
    pub value: AttributeValue,
}

impl Value {
    /// A value rendered as `:label`.
    #[must_use]
    pub fn new(label: &'static str, value: AttributeValue) -> Self {
        Self { label, value }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Value")
            .field("label", &self.label)
            .field("value", &Shown::new(self.label, &self.value))
            .finish()
    }
}

/// A value for `Debug`: a token's string as its fingerprint, anything else as it is.
pub(crate) struct Shown<'a> {
    value: &'a AttributeValue,
    is_token: bool,
}

impl<'a> Shown<'a> {
    /// `value` under `label`; a token if `label` is [`TOKEN_LABEL`].
    pub(crate) fn new(label: &str, value: &'a AttributeValue) -> Self {
        Self {
            value,
            is_token: label == TOKEN_LABEL,
        }
    }

    /// `value` under the placeholder `placeholder` (`:tok`, or `:tok2` when numbered).
    pub(crate) fn placeholder(placeholder: &str, value: &'a AttributeValue) -> Self {
        let label = placeholder.strip_prefix(':').unwrap_or(placeholder);
        let label = label.trim_end_matches(|c: char| c.is_ascii_digit());
        Self::new(label, value)
    }
}

impl fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value {
            AttributeValue::S(token) if self.is_token => {
                write!(f, "S({})", TokenFingerprint::of(token))
            }
            other => fmt::Debug::fmt(other, f),
        }
    }
}

/// One side of a comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
#[expect(
    clippy::exhaustive_enums,
    reason = "store protocol: a store handles every variant, so a new one is a breaking change on purpose"
)]
pub enum Operand {
    /// The value of an attribute of the stored item (absent if the item or attribute is missing).
    Attr(Attr),
    /// A literal value.
    Value(Value),
}

/// A comparison operator, with DynamoDB's semantics (both sides must have the same type, `N`
/// compares as decimal numbers, `S` by UTF-8 bytes; a comparison with a missing attribute or
/// across types is false).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[expect(
    clippy::exhaustive_enums,
    reason = "store protocol: a store handles every variant, so a new one is a breaking change on purpose"
)]
pub enum Comparator {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Comparator {
    /// Every comparator, in the order they are declared (for exhaustive tests).
    pub const ALL: [Self; 6] = [Self::Eq, Self::Ne, Self::Lt, Self::Le, Self::Gt, Self::Ge];

    /// The operator's text in an expression.
    #[must_use]
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "<>",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
        }
    }
}

/// A condition expression. Precedence when rendered is DynamoDB's: `NOT`, then `AND`, then `OR`;
/// the renderer adds parentheses wherever the tree needs them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[expect(
    clippy::exhaustive_enums,
    reason = "store protocol: a store handles every variant, so a new one is a breaking change on purpose"
)]
pub enum Condition {
    /// `attribute_exists(#a)`
    AttributeExists(Attr),
    /// `attribute_not_exists(#a)`
    AttributeNotExists(Attr),
    /// `left <op> right`
    Compare(Operand, Comparator, Operand),
    /// `a AND b`, the two operands in one allocation: `[a, b]`.
    And(Box<[Condition; 2]>),
    /// `a OR b`, the two operands in one allocation: `[a, b]`.
    Or(Box<[Condition; 2]>),
    /// `NOT a`
    Not(Box<Condition>),
}

impl Condition {
    /// `attribute_exists(attr)`
    #[must_use]
    pub fn exists(attr: Attr) -> Self {
        Self::AttributeExists(attr)
    }

    /// `attribute_not_exists(attr)`
    #[must_use]
    pub fn not_exists(attr: Attr) -> Self {
        Self::AttributeNotExists(attr)
    }

    /// `attr <op> value`
    #[must_use]
    pub fn compare(attr: Attr, op: Comparator, value: Value) -> Self {
        Self::Compare(Operand::Attr(attr), op, Operand::Value(value))
    }

    /// `self AND other`
    #[must_use]
    pub fn and(self, other: Self) -> Self {
        Self::And(Box::new([self, other]))
    }

    /// `self OR other`
    #[must_use]
    pub fn or(self, other: Self) -> Self {
        Self::Or(Box::new([self, other]))
    }

    /// `NOT self`
    #[must_use]
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Self {
        Self::Not(Box::new(self))
    }
}

/// The right-hand side of a `SET` action.
#[derive(Clone, Debug, PartialEq, Eq)]
#[expect(
    clippy::exhaustive_enums,
    reason = "store protocol: a store handles every variant, so a new one is a breaking change on purpose"
)]
pub enum UpdateValue {
    /// An attribute or a literal.
    Operand(Operand),
    /// `if_not_exists(#a, :v)`: the attribute's value if present, else the literal.
    IfNotExists(Attr, Value),
    /// `x + y` on numbers.
    Plus(Box<UpdateValue>, Box<UpdateValue>),
}

/// One action of an update expression.
#[derive(Clone, Debug, PartialEq, Eq)]
#[expect(
    clippy::exhaustive_enums,
    reason = "store protocol: a store handles every variant, so a new one is a breaking change on purpose"
)]
pub enum UpdateAction {
    /// `SET #a = value`
    Set(Attr, UpdateValue),
    /// `REMOVE #a`
    Remove(Attr),
}

impl UpdateAction {
    /// `SET attr = :value`
    #[must_use]
    pub fn set(attr: Attr, value: Value) -> Self {
        Self::Set(attr, UpdateValue::Operand(Operand::Value(value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_token_values_under_any_numbering_and_nothing_else() {
        let secret = AttributeValue::string("0b7e3c1a-secret");
        let hidden = format!("{:?}", Value::new(TOKEN_LABEL, secret.clone()));
        assert!(!hidden.contains("secret"), "{hidden}");
        assert!(hidden.contains("tok:"), "{hidden}");
        for placeholder in [":tok", ":tok2", ":tok13"] {
            let shown = format!("{:?}", Shown::placeholder(placeholder, &secret));
            assert!(!shown.contains("secret"), "{placeholder}: {shown}");
        }
        for placeholder in [":token", ":now", ":toks"] {
            let shown = format!("{:?}", Shown::placeholder(placeholder, &secret));
            assert!(shown.contains("secret"), "{placeholder}: {shown}");
        }
        let number = format!("{:?}", Value::new(TOKEN_LABEL, AttributeValue::number(7)));
        assert!(
            number.contains("\"7\""),
            "a non-string value is shown: {number}"
        );
    }
}
