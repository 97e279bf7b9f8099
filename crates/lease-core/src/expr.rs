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

use crate::attribute::{AttributeValue, CompactString};

/// A reference to an attribute by name, with the placeholder label it renders under.
///
/// The name is shared (`Arc<str>`): a [`Planner`](crate::Planner) makes each of its attribute
/// references once, and every request it plans holds copies of the pointer, not of the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attr {
    /// Placeholder label without the `#` (for example `exp` renders as `#exp`).
    pub label: &'static str,
    /// The attribute's real name in the item (for example `lease_expires_at`).
    pub name: CompactString,
}

impl Attr {
    /// An attribute reference rendered as `#label`.
    #[must_use]
    pub fn new(label: &'static str, name: impl Into<CompactString>) -> Self {
        Self {
            label,
            name: name.into(),
        }
    }
}

/// A literal value, with the placeholder label it renders under.
#[derive(Clone, Debug, PartialEq, Eq)]
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

/// One side of a comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
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
