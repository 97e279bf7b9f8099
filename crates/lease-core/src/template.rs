//! A request's expressions rendered once per shape: the expression text and the name map of a
//! request depend only on its kind, its tree and its attribute names, never on its values, so a
//! [`Template`] rendered from one request serves every request of the same shape, filling in
//! only the values.

use std::borrow::Cow;
use std::fmt;

use crate::attribute::AttributeValue;
use crate::expr::{Attr, Condition, Operand, Shown, UpdateAction, UpdateValue, Value};
use crate::render::Rendered;
use crate::request::Request;

/// The most distinct value labels a template holds (one bit each in a mask).
const MAX_VALUE_LABELS: usize = 64;

/// A request's expressions, as [`Request::render`] renders them, borrowed from a kept request
/// shape where one fits ([`RenderCache::render`](crate::RenderCache::render)).
///
/// The same strings and maps as [`Rendered`], byte for byte; the maps are lists of pairs (each
/// placeholder once), in no particular order.
///
/// `Debug` shows the value of a token placeholder (`:tok`) as its fingerprint only, as
/// [`Rendered`]'s does.
#[derive(Clone, Default, PartialEq, Eq)]
#[expect(
    clippy::exhaustive_structs,
    reason = "store protocol: a store reads every field, so a new one is a breaking change on purpose"
)]
pub struct Expressions<'a> {
    /// `ConditionExpression`, if the request has a condition.
    pub condition: Option<Cow<'a, str>>,
    /// `UpdateExpression`, for update requests.
    pub update: Option<Cow<'a, str>>,
    /// `ExpressionAttributeNames`: `#label` to attribute name. Empty when no expression is used.
    /// Borrowed from a kept shape (the same for every request of it).
    pub names: Cow<'a, [(String, String)]>,
    /// `ExpressionAttributeValues`: `:label` to value. Empty when no value is used.
    pub values: Vec<(Cow<'a, str>, Cow<'a, AttributeValue>)>,
}

impl fmt::Debug for Expressions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let values: Vec<(&str, Shown<'_>)> = self
            .values
            .iter()
            .map(|(placeholder, value)| (&**placeholder, Shown::placeholder(placeholder, value)))
            .collect();
        f.debug_struct("Expressions")
            .field("condition", &self.condition)
            .field("update", &self.update)
            .field("names", &self.names)
            .field("values", &values)
            .finish()
    }
}

impl From<Rendered> for Expressions<'_> {
    fn from(rendered: Rendered) -> Self {
        Self {
            condition: rendered.condition.map(Cow::Owned),
            update: rendered.update.map(Cow::Owned),
            names: Cow::Owned(rendered.names.into_iter().collect()),
            values: rendered
                .values
                .into_iter()
                .map(|(placeholder, value)| (Cow::Owned(placeholder), Cow::Owned(value)))
                .collect(),
        }
    }
}

/// The rendered expressions of one request shape, and the shape: a request of the same kind
/// (`PutItem`, `UpdateItem`, `DeleteItem`), with the same tree, the same labels and the same
/// attribute names, renders to the same text and name map. Its values go to the same
/// placeholders as long as each label's values are equal among themselves, as they were in the
/// request the template was made from (the renderer numbers a label reused for a different
/// value, `:v1`; such shapes get no template).
///
/// The template keeps no value of the request it was made from (no token).
#[derive(Clone, Debug)]
pub(crate) struct Template {
    shape: Shape,
    condition: Option<String>,
    update: Option<String>,
    names: Vec<(String, String)>,
    /// The `:label` placeholder of each distinct value label.
    placeholders: Vec<String>,
    /// For each value in the order [`Walk`] meets them, the index of its placeholder.
    slot_of: Vec<usize>,
}

/// The parts of a request its expressions come from; values are replaced by `NULL`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Shape {
    kind: Kind,
    update: Option<Vec<UpdateAction>>,
    condition: Option<Condition>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Put,
    Update,
    Delete,
}

/// A request's kind, its update actions (for an update) and its condition.
type Parts<'r> = (Kind, Option<&'r [UpdateAction]>, Option<&'r Condition>);

/// The kind of `request` and the parts its expressions come from; `None` for a request without
/// request-wide expressions (a `GetItem`, a transaction, a `Query`).
fn parts(request: &Request) -> Option<Parts<'_>> {
    match request {
        Request::Put(put) => Some((Kind::Put, None, put.condition.as_ref())),
        Request::Update(update) => Some((
            Kind::Update,
            Some(update.update.as_slice()),
            update.condition.as_ref(),
        )),
        Request::Delete(delete) => Some((Kind::Delete, None, delete.condition.as_ref())),
        Request::Get(_) | Request::Transact(_) | Request::Query(_) => None,
    }
}

static NULL: AttributeValue = AttributeValue::Null;

impl Template {
    /// The template of `request`'s shape, from its full rendering `rendered`; `None` if the
    /// shape cannot have one (a request without request-wide expressions, a label used for two
    /// different values, too many value labels).
    pub(crate) fn new(request: &Request, rendered: &Rendered) -> Option<Self> {
        let (kind, update, condition) = parts(request)?;
        let mut learner = Learner::default();
        if !walk(&mut learner, update, condition, update, condition) {
            return None;
        }
        let placeholders: Vec<String> = learner
            .labels
            .iter()
            .map(|label| format!(":{label}"))
            .collect();
        // Each label's placeholder is `:label` and holds that label's value: what the renderer
        // did when no label needed numbering. Checked against the rendering itself.
        if placeholders.len() != rendered.values.len()
            || placeholders.len() > MAX_VALUE_LABELS
            || placeholders
                .iter()
                .zip(&learner.first)
                .any(|(placeholder, value)| rendered.values.get(placeholder) != Some(*value))
        {
            return None;
        }
        let mut shape = Shape {
            kind,
            update: update.map(<[UpdateAction]>::to_vec),
            condition: condition.cloned(),
        };
        shape.forget_values();
        Some(Self {
            shape,
            condition: rendered.condition.clone(),
            update: rendered.update.clone(),
            names: rendered
                .names
                .iter()
                .map(|(placeholder, name)| (placeholder.clone(), name.clone()))
                .collect(),
            placeholders,
            slot_of: learner.slot_of,
        })
    }

    /// `request`'s expressions from this template, or `None` if `request` is not of its shape
    /// (or uses one label for different values): render it instead.
    pub(crate) fn fill<'a>(&'a self, request: &'a Request) -> Option<Expressions<'a>> {
        let (kind, update, condition) = parts(request)?;
        if kind != self.shape.kind {
            return None;
        }
        let mut filler = Filler {
            slot_of: &self.slot_of,
            next: 0,
            seen: 0,
            values: self
                .placeholders
                .iter()
                .map(|placeholder| (Cow::Borrowed(placeholder.as_str()), Cow::Borrowed(&NULL)))
                .collect(),
        };
        let model_update = self.shape.update.as_deref();
        let model_condition = self.shape.condition.as_ref();
        if !walk(
            &mut filler,
            model_update,
            model_condition,
            update,
            condition,
        ) || filler.next != self.slot_of.len()
        {
            return None;
        }
        Some(Expressions {
            condition: self.condition.as_deref().map(Cow::Borrowed),
            update: self.update.as_deref().map(Cow::Borrowed),
            names: Cow::Borrowed(&self.names),
            values: filler.values,
        })
    }
}

impl Shape {
    /// Replaces every value by `NULL`: a shape does not depend on them, and must not keep a
    /// token.
    fn forget_values(&mut self) {
        fn value(value: &mut Value) {
            value.value = AttributeValue::Null;
        }
        fn operand(operand: &mut Operand) {
            if let Operand::Value(v) = operand {
                value(v);
            }
        }
        fn update_value(update: &mut UpdateValue) {
            match update {
                UpdateValue::Operand(o) => operand(o),
                UpdateValue::IfNotExists(_, v) => value(v),
                UpdateValue::Plus(a, b) => {
                    update_value(a);
                    update_value(b);
                }
            }
        }
        fn condition(c: &mut Condition) {
            match c {
                Condition::AttributeExists(_) | Condition::AttributeNotExists(_) => {}
                Condition::Compare(l, _, r) => {
                    operand(l);
                    operand(r);
                }
                Condition::And(both) | Condition::Or(both) => {
                    let [a, b] = &mut **both;
                    condition(a);
                    condition(b);
                }
                Condition::Not(inner) => condition(inner),
            }
        }
        for action in self.update.iter_mut().flatten() {
            if let UpdateAction::Set(_, v) = action {
                update_value(v);
            }
        }
        if let Some(c) = &mut self.condition {
            condition(c);
        }
    }
}

/// What a walk does with each value it meets, in order.
trait Values<'r> {
    /// The next value, under `label`; `false` stops the walk (no template fits).
    fn value(&mut self, label: &'static str, value: &'r AttributeValue) -> bool;
}

/// Learns a shape's value labels from the request a template is made from.
#[derive(Default)]
struct Learner<'r> {
    labels: Vec<&'static str>,
    /// The first value of each label.
    first: Vec<&'r AttributeValue>,
    slot_of: Vec<usize>,
}

impl<'r> Values<'r> for Learner<'r> {
    fn value(&mut self, label: &'static str, value: &'r AttributeValue) -> bool {
        match self.labels.iter().position(|known| *known == label) {
            Some(slot) if self.first.get(slot) == Some(&value) => {
                self.slot_of.push(slot);
                true
            }
            // One label, two values: the renderer numbers the second one.
            Some(_) => false,
            None => {
                self.slot_of.push(self.labels.len());
                self.labels.push(label);
                self.first.push(value);
                true
            }
        }
    }
}

/// Fills a template's placeholders with a request's values.
struct Filler<'t, 'r> {
    slot_of: &'t [usize],
    /// The index of the next value.
    next: usize,
    /// The placeholders filled so far, one bit each.
    seen: u64,
    values: Vec<(Cow<'t, str>, Cow<'r, AttributeValue>)>,
}

impl<'r> Values<'r> for Filler<'_, 'r> {
    fn value(&mut self, _label: &'static str, value: &'r AttributeValue) -> bool {
        // The label itself was compared with the template's by the walk.
        let Some(&slot) = self.slot_of.get(self.next) else {
            return false;
        };
        self.next += 1;
        let Some((_, filled)) = self.values.get_mut(slot) else {
            return false;
        };
        let bit = 1u64 << slot;
        if self.seen & bit != 0 {
            // The label's value again: it must be the same value.
            return **filled == *value;
        }
        self.seen |= bit;
        *filled = Cow::Borrowed(value);
        true
    }
}

/// Walks a model's parts and a request's side by side: `true` if they have the same shape,
/// each of the request's values handed to `values` in order.
fn walk<'r>(
    values: &mut impl Values<'r>,
    model_update: Option<&[UpdateAction]>,
    model_condition: Option<&Condition>,
    update: Option<&'r [UpdateAction]>,
    condition: Option<&'r Condition>,
) -> bool {
    let updates_match = match (model_update, update) {
        (Some(model), Some(update)) => {
            model.len() == update.len()
                && model
                    .iter()
                    .zip(update)
                    .all(|(m, u)| same_action(values, m, u))
        }
        (None, None) => true,
        _ => false,
    };
    updates_match
        && match (model_condition, condition) {
            (Some(model), Some(condition)) => same_condition(values, model, condition),
            (None, None) => true,
            _ => false,
        }
}

fn same_attr(model: &Attr, attr: &Attr) -> bool {
    model.label == attr.label && model.name == attr.name
}

fn same_value<'r>(values: &mut impl Values<'r>, model: &Value, value: &'r Value) -> bool {
    model.label == value.label && values.value(value.label, &value.value)
}

fn same_operand<'r>(values: &mut impl Values<'r>, model: &Operand, operand: &'r Operand) -> bool {
    match (model, operand) {
        (Operand::Attr(m), Operand::Attr(a)) => same_attr(m, a),
        (Operand::Value(m), Operand::Value(v)) => same_value(values, m, v),
        _ => false,
    }
}

fn same_condition<'r>(
    values: &mut impl Values<'r>,
    model: &Condition,
    condition: &'r Condition,
) -> bool {
    match (model, condition) {
        (Condition::AttributeExists(m), Condition::AttributeExists(a))
        | (Condition::AttributeNotExists(m), Condition::AttributeNotExists(a)) => same_attr(m, a),
        (Condition::Compare(ml, mop, mr), Condition::Compare(l, op, r)) => {
            mop == op && same_operand(values, ml, l) && same_operand(values, mr, r)
        }
        (Condition::And(m), Condition::And(c)) | (Condition::Or(m), Condition::Or(c)) => {
            let ([ma, mb], [a, b]) = (&**m, &**c);
            same_condition(values, ma, a) && same_condition(values, mb, b)
        }
        (Condition::Not(m), Condition::Not(c)) => same_condition(values, m, c),
        _ => false,
    }
}

fn same_update_value<'r>(
    values: &mut impl Values<'r>,
    model: &UpdateValue,
    value: &'r UpdateValue,
) -> bool {
    match (model, value) {
        (UpdateValue::Operand(m), UpdateValue::Operand(o)) => same_operand(values, m, o),
        (UpdateValue::IfNotExists(ma, mv), UpdateValue::IfNotExists(a, v)) => {
            same_attr(ma, a) && same_value(values, mv, v)
        }
        (UpdateValue::Plus(ma, mb), UpdateValue::Plus(a, b)) => {
            same_update_value(values, ma, a) && same_update_value(values, mb, b)
        }
        _ => false,
    }
}

fn same_action<'r>(
    values: &mut impl Values<'r>,
    model: &UpdateAction,
    action: &'r UpdateAction,
) -> bool {
    match (model, action) {
        (UpdateAction::Set(ma, mv), UpdateAction::Set(a, v)) => {
            same_attr(ma, a) && same_update_value(values, mv, v)
        }
        (UpdateAction::Remove(m), UpdateAction::Remove(a)) => same_attr(m, a),
        _ => false,
    }
}
