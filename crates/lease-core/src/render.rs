//! Rendering the expression AST into DynamoDB expression strings with placeholders.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use crate::attribute::AttributeValue;
use crate::expr::{Attr, Condition, Operand, Shown, UpdateAction, UpdateValue, Value};

/// Expression strings with their placeholder maps, as DynamoDB's `ConditionExpression`,
/// `UpdateExpression`, `ExpressionAttributeNames` and `ExpressionAttributeValues` take them.
///
/// `Debug` shows the value of a token placeholder (`:tok`) as its fingerprint only.
#[derive(Clone, Default, PartialEq, Eq)]
#[expect(
    clippy::exhaustive_structs,
    reason = "store protocol: a store reads every field, so a new one is a breaking change on purpose"
)]
pub struct Rendered {
    /// `ConditionExpression`, if the request has a condition.
    pub condition: Option<String>,
    /// `UpdateExpression`, for update requests.
    pub update: Option<String>,
    /// `ExpressionAttributeNames`: `#label` to attribute name. Empty when no expression is used.
    pub names: BTreeMap<String, String>,
    /// `ExpressionAttributeValues`: `:label` to value. Empty when no value is used.
    pub values: BTreeMap<String, AttributeValue>,
}

impl fmt::Debug for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let values: BTreeMap<&str, Shown<'_>> = self
            .values
            .iter()
            .map(|(placeholder, value)| {
                (placeholder.as_str(), Shown::placeholder(placeholder, value))
            })
            .collect();
        f.debug_struct("Rendered")
            .field("condition", &self.condition)
            .field("update", &self.update)
            .field("names", &self.names)
            .field("values", &values)
            .finish()
    }
}

/// Collects placeholders while rendering. A label used twice for the same name (or value) shares
/// one placeholder; a label reused for a different name or value gets a numbered suffix, so two
/// different things never share a placeholder.
///
/// Placeholders are written straight into the expression text and looked up from there; a
/// placeholder string is allocated only when it enters a placeholder map for the first time.
#[derive(Default)]
pub(crate) struct Renderer {
    out: Rendered,
}

impl Renderer {
    pub(crate) fn condition(&mut self, condition: &Condition) {
        let mut text = String::with_capacity(64);
        self.write_condition(&mut text, condition, Level::Or);
        self.out.condition = Some(text);
    }

    pub(crate) fn update(&mut self, actions: &[UpdateAction]) {
        let mut text = String::with_capacity(128);
        let mut sets = actions
            .iter()
            .filter(|action| matches!(action, UpdateAction::Set(..)));
        if let Some(UpdateAction::Set(attr, value)) = sets.next() {
            text.push_str("SET ");
            self.write_set(&mut text, attr, value);
            for action in sets {
                if let UpdateAction::Set(attr, value) = action {
                    text.push_str(", ");
                    self.write_set(&mut text, attr, value);
                }
            }
        }
        let mut first_remove = true;
        for action in actions {
            if let UpdateAction::Remove(attr) = action {
                if first_remove {
                    if !text.is_empty() {
                        text.push(' ');
                    }
                    text.push_str("REMOVE ");
                    first_remove = false;
                } else {
                    text.push_str(", ");
                }
                self.write_name(&mut text, attr);
            }
        }
        self.out.update = Some(text);
    }

    pub(crate) fn finish(self) -> Rendered {
        self.out
    }

    /// `#a = value`
    fn write_set(&mut self, out: &mut String, attr: &Attr, value: &UpdateValue) {
        self.write_name(out, attr);
        out.push_str(" = ");
        self.write_update_value(out, value);
    }

    /// Writes the `#name` placeholder of `attr`, adding it to the name map if new.
    fn write_name(&mut self, out: &mut String, attr: &Attr) {
        let start = out.len();
        let mut n = 0usize;
        loop {
            push_placeholder(out, start, '#', attr.label, n);
            let placeholder = &out[start..];
            match self.out.names.get(placeholder) {
                Some(existing) if **existing == *attr.name => return,
                Some(_) => n += 1,
                None => {
                    let placeholder = placeholder.to_owned();
                    self.out.names.insert(placeholder, attr.name.to_string());
                    return;
                }
            }
        }
    }

    /// Writes the `:value` placeholder of `value`, adding it to the value map if new.
    fn write_value(&mut self, out: &mut String, value: &Value) {
        let start = out.len();
        let mut n = 0usize;
        loop {
            push_placeholder(out, start, ':', value.label, n);
            let placeholder = &out[start..];
            match self.out.values.get(placeholder) {
                Some(existing) if *existing == value.value => return,
                Some(_) => n += 1,
                None => {
                    let placeholder = placeholder.to_owned();
                    self.out.values.insert(placeholder, value.value.clone());
                    return;
                }
            }
        }
    }

    fn write_operand(&mut self, out: &mut String, operand: &Operand) {
        match operand {
            Operand::Attr(attr) => self.write_name(out, attr),
            Operand::Value(value) => self.write_value(out, value),
        }
    }

    fn write_condition(&mut self, out: &mut String, condition: &Condition, context: Level) {
        let level = Level::of(condition);
        let parens = level < context;
        if parens {
            out.push('(');
        }
        match condition {
            Condition::AttributeExists(attr) => {
                out.push_str("attribute_exists(");
                self.write_name(out, attr);
                out.push(')');
            }
            Condition::AttributeNotExists(attr) => {
                out.push_str("attribute_not_exists(");
                self.write_name(out, attr);
                out.push(')');
            }
            Condition::Compare(left, op, right) => {
                self.write_operand(out, left);
                out.push(' ');
                out.push_str(op.symbol());
                out.push(' ');
                self.write_operand(out, right);
            }
            Condition::And(operands) => {
                let [a, b] = &**operands;
                self.write_condition(out, a, Level::And);
                out.push_str(" AND ");
                self.write_condition(out, b, Level::And);
            }
            Condition::Or(operands) => {
                let [a, b] = &**operands;
                self.write_condition(out, a, Level::Or);
                out.push_str(" OR ");
                self.write_condition(out, b, Level::Or);
            }
            Condition::Not(inner) => {
                out.push_str("NOT ");
                // `NOT NOT a` is in DynamoDB's grammar, but dynalite rejects it as a syntax
                // error: `NOT (NOT a)` means the same and every parser takes it.
                let nested = matches!(**inner, Condition::Not(_));
                if nested {
                    out.push('(');
                }
                self.write_condition(out, inner, Level::Atom);
                if nested {
                    out.push(')');
                }
            }
        }
        if parens {
            out.push(')');
        }
    }

    fn write_update_value(&mut self, out: &mut String, value: &UpdateValue) {
        match value {
            UpdateValue::Operand(operand) => self.write_operand(out, operand),
            UpdateValue::IfNotExists(attr, default) => {
                out.push_str("if_not_exists(");
                self.write_name(out, attr);
                out.push_str(", ");
                self.write_value(out, default);
                out.push(')');
            }
            UpdateValue::Plus(a, b) => {
                self.write_update_value(out, a);
                out.push_str(" + ");
                self.write_update_value(out, b);
            }
        }
    }
}

/// Replaces what `out` holds from `start` on with the placeholder `{sigil}{label}`, or
/// `{sigil}{label}{n}` for `n > 0`.
fn push_placeholder(out: &mut String, start: usize, sigil: char, label: &str, n: usize) {
    out.truncate(start);
    out.push(sigil);
    out.push_str(label);
    if n > 0 {
        let _ = write!(out, "{n}");
    }
}

/// Binding strength, weakest first: a child weaker than its context needs parentheses.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Or,
    And,
    Atom,
}

impl Level {
    fn of(condition: &Condition) -> Self {
        match condition {
            Condition::Or(..) => Self::Or,
            Condition::And(..) => Self::And,
            _ => Self::Atom,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::Comparator;

    fn render(condition: &Condition) -> Rendered {
        let mut r = Renderer::default();
        r.condition(condition);
        r.finish()
    }

    fn a(label: &'static str) -> Condition {
        Condition::exists(Attr::new(label, label))
    }

    #[test]
    fn precedence_gets_parentheses_only_where_needed() {
        let c = a("x").or(a("y")).and(a("z"));
        assert_eq!(
            render(&c).condition.as_deref(),
            Some("(attribute_exists(#x) OR attribute_exists(#y)) AND attribute_exists(#z)")
        );
        let c = a("x").and(a("y")).or(a("z"));
        assert_eq!(
            render(&c).condition.as_deref(),
            Some("attribute_exists(#x) AND attribute_exists(#y) OR attribute_exists(#z)")
        );
        let c = a("x").and(a("y")).not();
        assert_eq!(
            render(&c).condition.as_deref(),
            Some("NOT (attribute_exists(#x) AND attribute_exists(#y))")
        );
        let c = a("x").not().not().and(a("y").not());
        assert_eq!(
            render(&c).condition.as_deref(),
            Some("NOT (NOT attribute_exists(#x)) AND NOT attribute_exists(#y)")
        );
    }

    #[test]
    fn hostile_attribute_names_stay_in_the_name_map() {
        let c = Condition::compare(
            Attr::new("tok", "a) OR (b"),
            Comparator::Eq,
            Value::new("tok", AttributeValue::string("t")),
        );
        let r = render(&c);
        assert_eq!(r.condition.as_deref(), Some("#tok = :tok"));
        assert_eq!(r.names.get("#tok").map(String::as_str), Some("a) OR (b"));
    }

    #[test]
    fn a_reused_label_for_a_different_name_gets_its_own_placeholder() {
        let c =
            Condition::exists(Attr::new("k", "one")).and(Condition::exists(Attr::new("k", "two")));
        let r = render(&c);
        assert_eq!(
            r.condition.as_deref(),
            Some("attribute_exists(#k) AND attribute_exists(#k1)")
        );
        assert_eq!(r.names.len(), 2);
    }
}
