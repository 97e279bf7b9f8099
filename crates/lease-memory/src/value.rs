//! Attribute values as DynamoDB accepts and compares them.
//!
//! - Validation: numbers must be DynamoDB numbers ([`number`]), sets must be non-empty and
//!   free of duplicates (numbers in an `NS` are duplicates if numerically equal).
//! - Normalization: stored numbers take DynamoDB's canonical form (`"1.50"` is stored as
//!   `"1.5"`).
//! - Equality (`=`): same type and same value; numbers numerically, sets regardless of order,
//!   lists element by element, maps key by key.
//! - Order (`<`, `<=`, `>`, `>=`): only `S` (by UTF-8 bytes), `N` (numerically) and `B` (by
//!   bytes), and only within one type.

use std::borrow::Cow;
use std::cmp::Ordering;

use lease_core::{AttributeValue, Text};

use crate::number::{self, NumberError};

/// Why DynamoDB would reject a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ValueError {
    /// An `N` (or an element of an `NS`) is not a valid number.
    #[error(transparent)]
    Number(#[from] NumberError),
    /// A set has no elements.
    #[error("an attribute value may not contain an empty set")]
    EmptySet,
    /// A set has the same element twice.
    #[error("an input set contains duplicates")]
    DuplicateInSet,
}

/// Checks `value` as DynamoDB checks request values, without changing it.
pub(crate) fn validate(value: &AttributeValue) -> Result<(), ValueError> {
    match value {
        AttributeValue::N(n) => number::check(n).map_err(Into::into),
        AttributeValue::Ss(set) => check_set(set, |a, b| a == b),
        AttributeValue::Bs(set) => check_set(set, |a, b| a == b),
        AttributeValue::Ns(set) => {
            for n in set {
                number::check(n)?;
            }
            check_set(set, |a, b| number::compare(a, b) == Some(Ordering::Equal))
        }
        AttributeValue::L(list) => list.iter().try_for_each(validate),
        AttributeValue::M(map) => map.values().try_for_each(validate),
        _ => Ok(()),
    }
}

/// Checks `value` and rewrites its numbers into DynamoDB's canonical form, as stored.
pub(crate) fn normalize(value: &mut AttributeValue) -> Result<(), ValueError> {
    match value {
        AttributeValue::N(n) => canonicalize(n),
        AttributeValue::Ns(set) => {
            set.iter_mut().try_for_each(canonicalize)?;
            check_set(set, |a, b| a == b)
        }
        AttributeValue::L(list) => list.iter_mut().try_for_each(normalize),
        AttributeValue::M(map) => map.values_mut().try_for_each(normalize),
        other => validate(other),
    }
}

fn canonicalize(n: &mut Text) -> Result<(), ValueError> {
    if let Cow::Owned(canonical) = number::canonical(n)? {
        *n = canonical.into();
    }
    Ok(())
}

fn check_set<T>(set: &[T], same: impl Fn(&T, &T) -> bool) -> Result<(), ValueError> {
    if set.is_empty() {
        return Err(ValueError::EmptySet);
    }
    for (i, element) in set.iter().enumerate() {
        if set[..i].iter().any(|earlier| same(earlier, element)) {
            return Err(ValueError::DuplicateInSet);
        }
    }
    Ok(())
}

/// DynamoDB's `=`: same type and equal value.
pub(crate) fn equal(a: &AttributeValue, b: &AttributeValue) -> bool {
    use AttributeValue as V;
    match (a, b) {
        (V::S(x), V::S(y)) => x == y,
        (V::N(x), V::N(y)) => number::compare(x, y) == Some(Ordering::Equal),
        (V::B(x), V::B(y)) => x == y,
        (V::Bool(x), V::Bool(y)) => x == y,
        (V::Null, V::Null) => true,
        (V::Ss(x), V::Ss(y)) => same_set(x, y, |p, q| p == q),
        (V::Bs(x), V::Bs(y)) => same_set(x, y, |p, q| p == q),
        (V::Ns(x), V::Ns(y)) => {
            same_set(x, y, |p, q| number::compare(p, q) == Some(Ordering::Equal))
        }
        (V::L(x), V::L(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equal(p, q)),
        (V::M(x), V::M(y)) => {
            x.len() == y.len() && x.iter().all(|(k, p)| y.get(k).is_some_and(|q| equal(p, q)))
        }
        _ => false,
    }
}

/// Stores `value` in `slot`. A string or number replacing one of its own type is copied into
/// the stored buffer when the stored one is on the heap (longer than 24 bytes, such as a
/// UUID token), which saves an allocation whenever the new value fits: a lease's token is
/// rewritten at the same length on every acquire.
pub(crate) fn assign(slot: &mut AttributeValue, value: Cow<'_, AttributeValue>) {
    match (slot, value) {
        (AttributeValue::S(stored), Cow::Borrowed(AttributeValue::S(new)))
        | (AttributeValue::N(stored), Cow::Borrowed(AttributeValue::N(new))) => {
            stored.clone_from(new);
        }
        (slot, value) => *slot = value.into_owned(),
    }
}

/// Sets are equal when they have the same elements, in any order (elements are distinct).
fn same_set<T>(x: &[T], y: &[T], same: impl Fn(&T, &T) -> bool) -> bool {
    x.len() == y.len() && x.iter().all(|p| y.iter().any(|q| same(p, q)))
}

/// DynamoDB's order: `S` by UTF-8 bytes, `N` numerically, `B` by bytes. `None` for any other
/// type, for two different types, or for an invalid stored number.
pub(crate) fn order(a: &AttributeValue, b: &AttributeValue) -> Option<Ordering> {
    match (a, b) {
        (AttributeValue::S(x), AttributeValue::S(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (AttributeValue::N(x), AttributeValue::N(y)) => number::compare(x, y),
        (AttributeValue::B(x), AttributeValue::B(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// Whether values of this type can be ordered (`S`, `N`, `B`).
pub(crate) fn is_orderable(value: &AttributeValue) -> bool {
    matches!(
        value,
        AttributeValue::S(_) | AttributeValue::N(_) | AttributeValue::B(_)
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn n(s: &str) -> AttributeValue {
        AttributeValue::N(s.into())
    }

    fn s(s: &str) -> AttributeValue {
        AttributeValue::S(s.into())
    }

    #[test]
    fn equality_needs_the_same_type() {
        assert!(equal(&n("6"), &n("6.0")));
        assert!(!equal(&s("6"), &n("6")));
        assert!(!equal(&n("6"), &AttributeValue::Ns(vec!["6".into()])));
        assert!(equal(&AttributeValue::Null, &AttributeValue::Null));
        assert!(!equal(
            &AttributeValue::Bool(true),
            &AttributeValue::Bool(false)
        ));
    }

    #[test]
    fn sets_are_equal_in_any_order_lists_are_not() {
        let ns = |v: &[&str]| AttributeValue::Ns(v.iter().map(|x| (*x).into()).collect());
        assert!(equal(&ns(&["1", "2.0"]), &ns(&["2", "1"])));
        assert!(!equal(&ns(&["1", "2"]), &ns(&["1", "3"])));
        let l = |v: Vec<AttributeValue>| AttributeValue::L(v);
        assert!(equal(&l(vec![n("1"), s("a")]), &l(vec![n("1.0"), s("a")])));
        assert!(!equal(&l(vec![n("1"), s("a")]), &l(vec![s("a"), n("1")])));
        let m = |k: &str, v| AttributeValue::M(BTreeMap::from([(k.into(), v)]));
        assert!(equal(&m("a", n("1")), &m("a", n("1.00"))));
        assert!(!equal(&m("a", n("1")), &m("b", n("1"))));
    }

    #[test]
    fn order_is_by_bytes_or_number_within_one_type() {
        assert_eq!(order(&s("B"), &s("a")), Some(Ordering::Less));
        assert_eq!(order(&s("é"), &s("z")), Some(Ordering::Greater));
        assert_eq!(order(&n("10"), &n("9")), Some(Ordering::Greater));
        assert_eq!(
            order(&AttributeValue::B(vec![1]), &AttributeValue::B(vec![0xff])),
            Some(Ordering::Less)
        );
        assert_eq!(order(&s("1"), &n("1")), None);
        assert_eq!(
            order(&AttributeValue::Bool(false), &AttributeValue::Bool(true)),
            None
        );
    }

    #[test]
    fn invalid_values_are_rejected_and_numbers_normalized() {
        assert_eq!(validate(&n("1x")), Err(NumberError::NotANumber.into()));
        assert_eq!(
            validate(&AttributeValue::Ss(vec![])),
            Err(ValueError::EmptySet)
        );
        assert_eq!(
            validate(&AttributeValue::Ns(vec!["1".into(), "1.0".into()])),
            Err(ValueError::DuplicateInSet)
        );
        let mut nested = AttributeValue::L(vec![n("1.50"), AttributeValue::Ns(vec!["2e1".into()])]);
        normalize(&mut nested).unwrap();
        assert_eq!(
            nested,
            AttributeValue::L(vec![n("1.5"), AttributeValue::Ns(vec!["20".into()])])
        );
        let mut bad = AttributeValue::M(BTreeMap::from([("a".into(), n("--1"))]));
        assert!(normalize(&mut bad).is_err());
    }
}
