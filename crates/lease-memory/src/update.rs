//! Update actions (`SET`, `REMOVE`), with DynamoDB's semantics.
//!
//! - Every right-hand side is evaluated against the item **before** the update, then all
//!   actions are applied; if any value cannot be computed nothing is written.
//! - `SET a = :v` writes the literal (numbers in canonical form); `SET a = #b` copies `b`,
//!   which must exist; `if_not_exists(#b, :v)` is `b` if present, else `:v`; `x + y` adds two
//!   numbers exactly. A missing operand or a non-number in `+` is a `ValidationException`, as
//!   in DynamoDB.
//! - `REMOVE a` deletes the attribute (a no-op if absent).
//!
//! [`check`] rejects, whatever the item, what DynamoDB rejects up front: an action on a key
//! attribute, two actions on the same attribute ("two document paths overlap"), `x + y + z`
//! (not DynamoDB syntax), a literal non-number in `+`, invalid literals and empty names.

use std::borrow::Cow;

use lease_core::ReturnValues;
use lease_core::expr::{Attr, Operand, UpdateAction, UpdateValue};
use lease_core::{AttributeValue, Item, StoreError, Text};
use smallvec::SmallVec;

use crate::eval::{MAX_OPERATORS, check_attr};
use crate::memory_error::validation;
use crate::memory_table::KeySchema;
use crate::number;
use crate::value;

/// The computed changes of one update, in order. Inline up to four (a lease write has at most
/// four actions), so computing them allocates nothing.
pub(crate) type Changes<'a> = SmallVec<[Change<'a>; 4]>;

/// One computed change.
pub(crate) enum Change<'a> {
    /// Set the attribute to the value: borrowed from the request when it is a literal there, so
    /// that applying it can reuse the stored value's buffer.
    Set(&'a Text, Cow<'a, AttributeValue>),
    /// Remove the attribute.
    Remove(&'a str),
}

fn target(action: &UpdateAction) -> &Attr {
    match action {
        UpdateAction::Set(attr, _) | UpdateAction::Remove(attr) => attr,
    }
}

/// Rejects update actions DynamoDB would reject before looking at any item.
///
/// # Errors
/// A `Validation` [`StoreError`] naming the problem.
pub(crate) fn check(actions: &[UpdateAction], schema: &KeySchema) -> Result<(), StoreError> {
    if actions.len() > MAX_OPERATORS {
        return Err(validation(format!(
            "Invalid UpdateExpression: more than {MAX_OPERATORS} actions"
        )));
    }
    for (i, action) in actions.iter().enumerate() {
        let attr = target(action);
        check_attr(attr)?;
        if schema.is_key_attribute(&attr.name) {
            return Err(validation(format!(
                "One or more parameter values were invalid: cannot update attribute {:?}: this attribute is part of the key",
                attr.name
            )));
        }
        if actions[..i].iter().any(|a| target(a).name == attr.name) {
            return Err(validation(format!(
                "Invalid UpdateExpression: two document paths overlap with each other: {:?}",
                attr.name
            )));
        }
        if let UpdateAction::Set(_, value) = action {
            check_value(value, false)?;
        }
    }
    Ok(())
}

fn check_value(value: &UpdateValue, in_plus: bool) -> Result<(), StoreError> {
    match value {
        UpdateValue::Operand(Operand::Attr(attr)) => check_attr(attr),
        UpdateValue::Operand(Operand::Value(v)) => {
            check_literal(&v.value, v.label)?;
            if in_plus && !matches!(v.value, AttributeValue::N(_)) {
                return Err(validation(format!(
                    "Invalid UpdateExpression: incorrect operand type for operator or function; operator: +, operand type: {}",
                    v.value.type_name()
                )));
            }
            Ok(())
        }
        UpdateValue::IfNotExists(attr, v) => {
            check_attr(attr)?;
            check_literal(&v.value, v.label)
        }
        UpdateValue::Plus(a, b) => {
            if in_plus {
                return Err(validation(
                    "Invalid UpdateExpression: syntax error: only two operands can be added",
                ));
            }
            check_value(a, true)?;
            check_value(b, true)
        }
    }
}

fn check_literal(v: &AttributeValue, label: &str) -> Result<(), StoreError> {
    value::validate(v).map_err(|e| {
        validation(format!(
            "ExpressionAttributeValues contains an invalid value for :{label}: {e}"
        ))
    })
}

/// Computes every change against `item` as it is before the update. For an update that
/// creates the item, `item` is its key: as in DynamoDB, a new item starts from its key, whose
/// attributes the right-hand sides can read (`SET #a = #pk`).
///
/// # Errors
/// A `Validation` [`StoreError`] if an operand is missing or `+` meets a non-number.
pub(crate) fn evaluate<'a>(
    actions: &'a [UpdateAction],
    item: &Item,
) -> Result<Changes<'a>, StoreError> {
    let mut changes = Changes::new();
    for action in actions {
        changes.push(match action {
            UpdateAction::Set(attr, UpdateValue::Operand(Operand::Value(v))) => {
                Change::Set(&attr.name, literal(&v.value)?)
            }
            UpdateAction::Set(attr, value) => {
                Change::Set(&attr.name, Cow::Owned(compute(value, item)?.into_owned()))
            }
            UpdateAction::Remove(attr) => Change::Remove(&attr.name),
        });
    }
    Ok(changes)
}

/// The value of `value` against `item`; borrowed when it is a stored value or a canonical
/// literal, so that an operand of `+` is never copied.
fn compute<'v>(
    value: &'v UpdateValue,
    item: &'v Item,
) -> Result<Cow<'v, AttributeValue>, StoreError> {
    match value {
        UpdateValue::Operand(Operand::Attr(attr)) => lookup(item, attr)
            .map(Cow::Borrowed)
            .ok_or_else(|| {
                validation(format!(
                    "The provided expression refers to an attribute that does not exist in the item: {:?}",
                    attr.name
                ))
            }),
        UpdateValue::Operand(Operand::Value(v)) => literal(&v.value),
        UpdateValue::IfNotExists(attr, v) => match lookup(item, attr) {
            Some(present) => Ok(Cow::Borrowed(present)),
            None => literal(&v.value),
        },
        UpdateValue::Plus(a, b) => match (&*compute(a, item)?, &*compute(b, item)?) {
            (AttributeValue::N(x), AttributeValue::N(y)) => number::add(x, y)
                .map(|sum| Cow::Owned(AttributeValue::N(sum)))
                .map_err(|e| validation(format!("Invalid UpdateExpression: {e}"))),
            (x, y) => Err(validation(format!(
                "An operand in the update expression has an incorrect data type: {} + {}",
                x.type_name(),
                y.type_name()
            ))),
        },
    }
}

fn lookup<'i>(item: &'i Item, attr: &Attr) -> Option<&'i AttributeValue> {
    item.get(&*attr.name)
}

/// A literal as stored: numbers in canonical form (borrowed when already canonical). Literals
/// were validated by [`check`].
#[inline]
fn literal(v: &AttributeValue) -> Result<Cow<'_, AttributeValue>, StoreError> {
    if let AttributeValue::N(n) = v {
        return match number::canonical(n) {
            Ok(Cow::Borrowed(_)) => Ok(Cow::Borrowed(v)),
            Ok(Cow::Owned(canonical)) => Ok(Cow::Owned(AttributeValue::N(canonical.into()))),
            Err(e) => Err(validation(e.to_string())),
        };
    }
    let mut v = v.clone();
    value::normalize(&mut v).map_err(|e| validation(e.to_string()))?;
    Ok(Cow::Owned(v))
}

/// Applies computed changes to `item`.
pub(crate) fn apply(changes: Changes<'_>, item: &mut Item) {
    apply_collecting(changes, item, None);
}

/// [`apply`], also copying every value it sets into `updated` when given: what
/// `UPDATED_NEW` returns, without looking each attribute up again.
fn apply_collecting(changes: Changes<'_>, item: &mut Item, mut updated: Option<&mut Item>) {
    for change in changes {
        match change {
            Change::Set(name, value) => {
                let slot = match item.get_mut(name.as_str()) {
                    Some(slot) => {
                        value::assign(slot, value);
                        slot
                    }
                    None => item.entry(name.clone()).or_insert(value.into_owned()),
                };
                if let Some(updated) = updated.as_deref_mut() {
                    updated.insert(name.clone(), slot.clone());
                }
            }
            Change::Remove(name) => {
                item.remove(name);
            }
        }
    }
}

/// Applies `changes` to `item` and answers what a successful update returns of the item
/// after it: everything for `ALL_NEW`, the attributes the update set (`SET`) for
/// `UPDATED_NEW`, nothing otherwise. `ALL_OLD` is the caller's (it needs the item before).
pub(crate) fn apply_returning(
    changes: Changes<'_>,
    item: &mut Item,
    return_values: ReturnValues,
) -> Option<Item> {
    match return_values {
        ReturnValues::UpdatedNew => {
            let mut updated = Item::new();
            apply_collecting(changes, item, Some(&mut updated));
            Some(updated)
        }
        ReturnValues::AllNew => {
            apply(changes, item);
            Some(item.clone())
        }
        _ => {
            apply(changes, item);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use lease_core::StoreErrorKind;
    use lease_core::expr::Value;

    use super::*;

    fn n(v: &str) -> AttributeValue {
        AttributeValue::N(v.into())
    }

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.into())
    }

    fn item(pairs: &[(&str, AttributeValue)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), v.clone()))
            .collect()
    }

    fn attr(name: &str) -> Attr {
        Attr::new("a", name)
    }

    fn lit(v: AttributeValue) -> UpdateValue {
        UpdateValue::Operand(Operand::Value(Value::new("v", v)))
    }

    fn counter_plus_one(name: &str) -> UpdateAction {
        UpdateAction::Set(
            attr(name),
            UpdateValue::Plus(
                Box::new(UpdateValue::IfNotExists(
                    attr(name),
                    Value::new("zero", n("0")),
                )),
                Box::new(lit(n("1"))),
            ),
        )
    }

    fn run(actions: &[UpdateAction], before: Option<&Item>) -> Result<Item, StoreError> {
        check(actions, &KeySchema::new("pk", Some("sk")))?;
        let mut after = before.cloned().unwrap_or_default();
        let changes = evaluate(actions, &after)?;
        apply(changes, &mut after);
        Ok(after)
    }

    #[test]
    fn if_not_exists_plus_counts_from_the_default() {
        let actions = [counter_plus_one("c")];
        let once = run(&actions, None).unwrap();
        assert_eq!(once, item(&[("c", n("1"))]));
        let twice = run(&actions, Some(&once)).unwrap();
        assert_eq!(twice, item(&[("c", n("2"))]));
        let big = item(&[("c", n("99999999999999999999999999999999999998"))]);
        assert_eq!(
            run(&actions, Some(&big)).unwrap(),
            item(&[("c", n("99999999999999999999999999999999999999"))])
        );
    }

    #[test]
    fn values_are_computed_from_the_item_before_the_update() {
        let before = item(&[("a", n("1")), ("b", n("2"))]);
        let swap = [
            UpdateAction::Set(attr("a"), UpdateValue::Operand(Operand::Attr(attr("b")))),
            UpdateAction::Set(attr("b"), UpdateValue::Operand(Operand::Attr(attr("a")))),
        ];
        assert_eq!(
            run(&swap, Some(&before)).unwrap(),
            item(&[("a", n("2")), ("b", n("1"))])
        );
    }

    #[test]
    fn set_normalizes_numbers_and_remove_deletes() {
        let before = item(&[("x", s("gone")), ("y", s("kept"))]);
        let actions = [
            UpdateAction::set(attr("n"), Value::new("v", n("1.50"))),
            UpdateAction::Remove(attr("x")),
            UpdateAction::Remove(attr("absent")),
        ];
        assert_eq!(
            run(&actions, Some(&before)).unwrap(),
            item(&[("n", n("1.5")), ("y", s("kept"))])
        );
    }

    fn rejected(actions: &[UpdateAction], before: Option<&Item>) -> String {
        let err = run(actions, before).unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Validation);
        err.message().to_owned()
    }

    #[test]
    fn plus_on_missing_or_non_numbers_is_a_validation_error() {
        let plus_attr = [UpdateAction::Set(
            attr("c"),
            UpdateValue::Plus(
                Box::new(UpdateValue::Operand(Operand::Attr(attr("c")))),
                Box::new(lit(n("1"))),
            ),
        )];
        assert!(rejected(&plus_attr, None).contains("does not exist"));
        assert!(rejected(&plus_attr, Some(&item(&[("c", s("1"))]))).contains("data type"));
        let plus_string = [UpdateAction::Set(
            attr("c"),
            UpdateValue::Plus(Box::new(lit(s("1"))), Box::new(lit(n("1")))),
        )];
        assert!(rejected(&plus_string, None).contains("operand type: S"));
        let three = [UpdateAction::Set(
            attr("c"),
            UpdateValue::Plus(
                Box::new(UpdateValue::Plus(
                    Box::new(lit(n("1"))),
                    Box::new(lit(n("1"))),
                )),
                Box::new(lit(n("1"))),
            ),
        )];
        assert!(rejected(&three, None).contains("two operands"));
    }

    #[test]
    fn key_attributes_and_overlaps_are_rejected() {
        let key = [UpdateAction::set(attr("pk"), Value::new("v", s("x")))];
        assert!(rejected(&key, None).contains("part of the key"));
        let remove_key = [UpdateAction::Remove(attr("sk"))];
        assert!(rejected(&remove_key, None).contains("part of the key"));
        let overlap = [
            UpdateAction::set(attr("a"), Value::new("v", s("x"))),
            UpdateAction::Remove(attr("a")),
        ];
        assert!(rejected(&overlap, None).contains("overlap"));
        let bad_literal = [UpdateAction::set(attr("a"), Value::new("v", n("x")))];
        assert!(rejected(&bad_literal, None).contains(":v"));
    }
}
