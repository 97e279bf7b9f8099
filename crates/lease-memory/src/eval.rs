//! Condition evaluation: walks the [`Condition`] tree against the current item (or no item).
//!
//! The tree is evaluated directly, never rendered and parsed, so precedence is the tree's
//! shape. Semantics are DynamoDB's:
//! - `attribute_exists(a)` / `attribute_not_exists(a)`: whether the item has the attribute (no
//!   item has no attributes).
//! - `=`: both operands present, of the same type, and equal ([`value::equal`]).
//! - `<`, `<=`, `>`, `>=`: both operands present, of the same type `S`, `N` or `B`, and in that
//!   order ([`value::order`]); otherwise false.
//! - `<>` is the negation of `=`: it is **true** when an operand is missing or the types
//!   differ. DynamoDB documents `NE` as "not equal", with values of different types never
//!   equal (`{"S":"6"}` does not equal `{"N":"6"}`), and both servers the contract suite runs
//!   against implement it so: dynalite's comparison returns false for `<>` only when the types
//!   match and the values are equal, and moto evaluates `lhs != rhs` with a missing attribute
//!   as `None`. So `#tok <> :tok` holds on an item without `#tok`, and on no item.
//! - `AND`, `OR`, `NOT`: boolean, on the subtrees.
//!
//! Before evaluation, [`check`] rejects what DynamoDB rejects as a `ValidationException`
//! whatever the item: invalid literal values, empty attribute names, an ordering comparison
//! with a literal that cannot be ordered (`BOOL`, `NULL`, sets, lists, maps), an attribute
//! compared with itself, and expressions of more than 300 operators (DynamoDB's limit, which
//! also bounds the recursion here).

use lease_core::expr::{Attr, Comparator, Condition, Operand};
use lease_core::{AttributeValue, Item, StoreError};

use crate::memory_error::validation;
use crate::value;

/// DynamoDB's limit on operators and functions in one expression.
pub(crate) const MAX_OPERATORS: usize = 300;

/// Rejects conditions DynamoDB would reject before looking at any item.
///
/// # Errors
/// A `Validation` [`StoreError`] naming the problem.
pub(crate) fn check(condition: &Condition) -> Result<(), StoreError> {
    let mut operators = 0;
    check_node(condition, &mut operators)
}

fn check_node(condition: &Condition, operators: &mut usize) -> Result<(), StoreError> {
    *operators += 1;
    if *operators > MAX_OPERATORS {
        return Err(validation(format!(
            "Invalid ConditionExpression: the expression has more than {MAX_OPERATORS} operators or functions"
        )));
    }
    match condition {
        Condition::AttributeExists(attr) | Condition::AttributeNotExists(attr) => check_attr(attr),
        Condition::Compare(left, op, right) => {
            check_operand(left, *op)?;
            check_operand(right, *op)?;
            if let (Operand::Attr(a), Operand::Attr(b)) = (left, right)
                && a.name == b.name
            {
                return Err(validation(format!(
                    "Invalid ConditionExpression: the first operand must be distinct from the remaining operands; operator: {}",
                    op.symbol()
                )));
            }
            Ok(())
        }
        Condition::And(operands) | Condition::Or(operands) => {
            let [a, b] = &**operands;
            check_node(a, operators)?;
            check_node(b, operators)
        }
        Condition::Not(inner) => check_node(inner, operators),
    }
}

pub(crate) fn check_attr(attr: &Attr) -> Result<(), StoreError> {
    if attr.name.is_empty() {
        Err(validation(format!(
            "ExpressionAttributeNames contains an invalid value: empty attribute name for #{}",
            attr.label
        )))
    } else {
        Ok(())
    }
}

fn check_operand(operand: &Operand, op: Comparator) -> Result<(), StoreError> {
    match operand {
        Operand::Attr(attr) => check_attr(attr),
        Operand::Value(v) => {
            value::validate(&v.value).map_err(|e| {
                validation(format!(
                    "ExpressionAttributeValues contains an invalid value for :{}: {e}",
                    v.label
                ))
            })?;
            if is_ordering(op) && !value::is_orderable(&v.value) {
                return Err(validation(format!(
                    "Invalid ConditionExpression: incorrect operand type for operator or function; operator: {}, operand type: {}",
                    op.symbol(),
                    v.value.type_name()
                )));
            }
            Ok(())
        }
    }
}

fn is_ordering(op: Comparator) -> bool {
    !matches!(op, Comparator::Eq | Comparator::Ne)
}

/// Whether `condition` holds for `item` (`None`: no item at the key).
pub(crate) fn holds(condition: &Condition, item: Option<&Item>) -> bool {
    match condition {
        Condition::AttributeExists(attr) => lookup(item, &attr.name).is_some(),
        Condition::AttributeNotExists(attr) => lookup(item, &attr.name).is_none(),
        Condition::Compare(left, op, right) => {
            compare(operand(left, item), *op, operand(right, item))
        }
        Condition::And(operands) => operands.iter().all(|c| holds(c, item)),
        Condition::Or(operands) => operands.iter().any(|c| holds(c, item)),
        Condition::Not(inner) => !holds(inner, item),
    }
}

fn lookup<'i>(item: Option<&'i Item>, name: &str) -> Option<&'i AttributeValue> {
    item.and_then(|item| item.get(name))
}

fn operand<'a>(operand: &'a Operand, item: Option<&'a Item>) -> Option<&'a AttributeValue> {
    match operand {
        Operand::Attr(attr) => lookup(item, &attr.name),
        Operand::Value(v) => Some(&v.value),
    }
}

fn compare(left: Option<&AttributeValue>, op: Comparator, right: Option<&AttributeValue>) -> bool {
    let (Some(left), Some(right)) = (left, right) else {
        // A missing operand equals nothing, so only `<>` holds (see the module docs).
        return op == Comparator::Ne;
    };
    match op {
        Comparator::Eq => value::equal(left, right),
        Comparator::Ne => !value::equal(left, right),
        Comparator::Lt => value::order(left, right).is_some_and(|o| o.is_lt()),
        Comparator::Le => value::order(left, right).is_some_and(|o| o.is_le()),
        Comparator::Gt => value::order(left, right).is_some_and(|o| o.is_gt()),
        Comparator::Ge => value::order(left, right).is_some_and(|o| o.is_ge()),
    }
}

#[cfg(test)]
mod tests {
    use lease_core::StoreErrorKind;
    use lease_core::expr::Value;

    use super::*;

    const ALL: [Comparator; 6] = Comparator::ALL;

    fn item(pairs: &[(&str, AttributeValue)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), v.clone()))
            .collect()
    }

    fn n(v: &str) -> AttributeValue {
        AttributeValue::N(v.into())
    }

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.into())
    }

    fn attr(name: &str) -> Attr {
        Attr::new("a", name)
    }

    /// `#a <op> :v` on `stored` (the value of attribute `a`, or no attribute).
    fn cmp(stored: Option<AttributeValue>, op: Comparator, literal: AttributeValue) -> bool {
        let item = item(&stored.map(|v| vec![("a", v)]).unwrap_or_default());
        let c = Condition::compare(attr("a"), op, Value::new("v", literal));
        check(&c).unwrap();
        holds(&c, Some(&item))
    }

    /// The comparators that hold, as symbols.
    fn holding(stored: Option<AttributeValue>, literal: AttributeValue) -> Vec<&'static str> {
        ALL.into_iter()
            .filter(|op| cmp(stored.clone(), *op, literal.clone()))
            .map(Comparator::symbol)
            .collect()
    }

    #[test]
    fn each_comparator_on_numbers() {
        assert_eq!(holding(Some(n("5")), n("5")), ["=", "<=", ">="]);
        assert_eq!(holding(Some(n("4")), n("5")), ["<>", "<", "<="]);
        assert_eq!(holding(Some(n("6")), n("5")), ["<>", ">", ">="]);
    }

    #[test]
    fn each_comparator_on_strings_and_binary_by_bytes() {
        assert_eq!(holding(Some(s("abc")), s("abc")), ["=", "<=", ">="]);
        assert_eq!(holding(Some(s("Z")), s("a")), ["<>", "<", "<="]);
        assert_eq!(holding(Some(s("10")), s("9")), ["<>", "<", "<="]);
        assert_eq!(
            holding(
                Some(AttributeValue::B(vec![2])),
                AttributeValue::B(vec![1, 255])
            ),
            ["<>", ">", ">="]
        );
    }

    #[test]
    fn numbers_compare_as_exact_decimals() {
        assert_eq!(holding(Some(n("2")), n("2.00")), ["=", "<=", ">="]);
        let a = "99999999999999999999999999999999999998";
        let b = "99999999999999999999999999999999999999";
        assert_eq!(holding(Some(n(a)), n(b)), ["<>", "<", "<="]);
    }

    #[test]
    fn across_types_only_not_equal_holds() {
        assert_eq!(holding(Some(s("5")), n("5")), ["<>"]);
        assert_eq!(holding(Some(n("5")), s("5")), ["<>"]);
        assert_eq!(
            holding(Some(AttributeValue::B(b"5".to_vec())), s("5")),
            ["<>"]
        );
    }

    #[test]
    fn with_a_missing_attribute_only_not_equal_holds() {
        assert_eq!(holding(None, n("5")), ["<>"]);
        assert_eq!(holding(None, s("x")), ["<>"]);
        let c = Condition::compare(attr("a"), Comparator::Ne, Value::new("v", s("x")));
        assert!(holds(&c, None), "no item at all");
        let c = Condition::compare(attr("a"), Comparator::Eq, Value::new("v", s("x")));
        assert!(!holds(&c, None));
    }

    #[test]
    fn unorderable_stored_values_fail_ordering_comparisons() {
        assert_eq!(holding(Some(AttributeValue::Bool(true)), n("1")), ["<>"]);
        // An invalid number (only possible through put_item_unconditionally) equals nothing.
        assert_eq!(holding(Some(n("abc")), n("1")), ["<>"]);
    }

    #[test]
    fn existence_functions() {
        let present = item(&[("a", s("x"))]);
        let exists = Condition::exists(attr("a"));
        let not_exists = Condition::not_exists(attr("a"));
        assert!(holds(&exists, Some(&present)));
        assert!(!holds(&not_exists, Some(&present)));
        assert!(!holds(&exists, Some(&item(&[]))));
        assert!(holds(&not_exists, Some(&item(&[]))));
        assert!(!holds(&exists, None));
        assert!(holds(&not_exists, None));
        // NULL is a value: the attribute exists.
        assert!(holds(&exists, Some(&item(&[("a", AttributeValue::Null)]))));
    }

    #[test]
    fn precedence_is_the_tree_s() {
        let t = || Condition::not_exists(attr("missing"));
        let f = || Condition::exists(attr("missing"));
        // (f OR t) AND f = false; f OR (t AND f) = false; (t OR f) AND t = true.
        assert!(!holds(&f().or(t()).and(f()), None));
        assert!(!holds(&f().or(t().and(f())), None));
        assert!(holds(&t().or(f()).and(t()), None));
        // NOT (t AND f) = true; (NOT t) AND f = false.
        assert!(holds(&t().and(f()).not(), None));
        assert!(!holds(&t().not().and(f()), None));
        // t OR f AND f, as t OR (f AND f) = true; as (t OR f) AND f = false.
        assert!(holds(&t().or(f().and(f())), None));
        assert!(!holds(&t().or(f()).and(f()), None));
    }

    #[test]
    fn the_acquire_condition() {
        // attribute_not_exists(#pk) OR #exp <= :now
        let c = Condition::not_exists(attr("pk")).or(Condition::compare(
            attr("exp"),
            Comparator::Le,
            Value::new("now", n("1000")),
        ));
        assert!(holds(&c, None));
        let at = |exp: &str| item(&[("pk", s("A")), ("exp", n(exp))]);
        assert!(holds(&c, Some(&at("1000"))));
        assert!(holds(&c, Some(&at("999"))));
        assert!(!holds(&c, Some(&at("1001"))));
        // An expiry stored as a string never compares with a number: held forever.
        assert!(!holds(&c, Some(&item(&[("pk", s("A")), ("exp", s("1"))]))));
    }

    fn rejected(c: &Condition) -> String {
        let err = check(c).unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Validation);
        err.message().to_owned()
    }

    #[test]
    fn invalid_conditions_are_rejected() {
        let bad_number = Condition::compare(attr("a"), Comparator::Eq, Value::new("v", n("1x")));
        assert!(rejected(&bad_number).contains(":v"));
        let empty_name = Condition::exists(Attr::new("a", ""));
        assert!(rejected(&empty_name).contains("empty attribute name"));
        let bool_order = Condition::compare(
            attr("a"),
            Comparator::Lt,
            Value::new("v", AttributeValue::Bool(true)),
        );
        assert!(rejected(&bool_order).contains("BOOL"));
        let bool_eq = Condition::compare(
            attr("a"),
            Comparator::Eq,
            Value::new("v", AttributeValue::Bool(true)),
        );
        assert!(check(&bool_eq).is_ok());
        let itself = Condition::Compare(
            Operand::Attr(attr("a")),
            Comparator::Eq,
            Operand::Attr(Attr::new("b", "a")),
        );
        assert!(rejected(&itself).contains("distinct"));
        let mut deep = Condition::exists(attr("a"));
        for _ in 0..MAX_OPERATORS {
            deep = deep.not();
        }
        assert!(rejected(&deep).contains("300"));
    }
}
