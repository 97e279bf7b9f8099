//! Rendering the expression AST into DynamoDB expression strings with placeholders.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::attribute::AttributeValue;
use crate::expr::{Attr, Condition, Operand, UpdateAction, UpdateValue, Value};

/// Expression strings with their placeholder maps, as DynamoDB's `ConditionExpression`,
/// `UpdateExpression`, `ExpressionAttributeNames` and `ExpressionAttributeValues` take them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
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

/// Collects placeholders while rendering. A label used twice for the same name (or value) shares
/// one placeholder; a label reused for a different name or value gets a numbered suffix, so two
/// different things never share a placeholder.
#[derive(Default)]
pub(crate) struct Renderer {
    out: Rendered,
}

impl Renderer {
    pub(crate) fn condition(&mut self, condition: &Condition) {
        let mut text = String::new();
        self.write_condition(&mut text, condition, Level::Or);
        self.out.condition = Some(text);
    }

    pub(crate) fn update(&mut self, actions: &[UpdateAction]) {
        let mut sets = Vec::new();
        let mut removes = Vec::new();
        for action in actions {
            match action {
                UpdateAction::Set(attr, value) => {
                    let mut text = self.name(attr);
                    text.push_str(" = ");
                    self.write_update_value(&mut text, value);
                    sets.push(text);
                }
                UpdateAction::Remove(attr) => removes.push(self.name(attr)),
            }
        }
        let mut text = String::new();
        if !sets.is_empty() {
            text.push_str("SET ");
            text.push_str(&sets.join(", "));
        }
        if !removes.is_empty() {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str("REMOVE ");
            text.push_str(&removes.join(", "));
        }
        self.out.update = Some(text);
    }

    pub(crate) fn finish(self) -> Rendered {
        self.out
    }

    fn name(&mut self, attr: &Attr) -> String {
        let mut n = 0usize;
        loop {
            let placeholder = placeholder('#', attr.label, n);
            match self.out.names.get(&placeholder) {
                Some(existing) if *existing == attr.name => return placeholder,
                Some(_) => n += 1,
                None => {
                    self.out
                        .names
                        .insert(placeholder.clone(), attr.name.clone());
                    return placeholder;
                }
            }
        }
    }

    fn value(&mut self, value: &Value) -> String {
        let mut n = 0usize;
        loop {
            let placeholder = placeholder(':', value.label, n);
            match self.out.values.get(&placeholder) {
                Some(existing) if *existing == value.value => return placeholder,
                Some(_) => n += 1,
                None => {
                    self.out
                        .values
                        .insert(placeholder.clone(), value.value.clone());
                    return placeholder;
                }
            }
        }
    }

    fn operand(&mut self, operand: &Operand) -> String {
        match operand {
            Operand::Attr(attr) => self.name(attr),
            Operand::Value(value) => self.value(value),
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
                let name = self.name(attr);
                let _ = write!(out, "attribute_exists({name})");
            }
            Condition::AttributeNotExists(attr) => {
                let name = self.name(attr);
                let _ = write!(out, "attribute_not_exists({name})");
            }
            Condition::Compare(left, op, right) => {
                let left = self.operand(left);
                let right = self.operand(right);
                let _ = write!(out, "{left} {} {right}", op.symbol());
            }
            Condition::And(a, b) => {
                self.write_condition(out, a, Level::And);
                out.push_str(" AND ");
                self.write_condition(out, b, Level::And);
            }
            Condition::Or(a, b) => {
                self.write_condition(out, a, Level::Or);
                out.push_str(" OR ");
                self.write_condition(out, b, Level::Or);
            }
            Condition::Not(inner) => {
                out.push_str("NOT ");
                self.write_condition(out, inner, Level::Atom);
            }
        }
        if parens {
            out.push(')');
        }
    }

    fn write_update_value(&mut self, out: &mut String, value: &UpdateValue) {
        match value {
            UpdateValue::Operand(operand) => {
                let text = self.operand(operand);
                out.push_str(&text);
            }
            UpdateValue::IfNotExists(attr, default) => {
                let name = self.name(attr);
                let default = self.value(default);
                let _ = write!(out, "if_not_exists({name}, {default})");
            }
            UpdateValue::Plus(a, b) => {
                self.write_update_value(out, a);
                out.push_str(" + ");
                self.write_update_value(out, b);
            }
        }
    }
}

fn placeholder(sigil: char, label: &str, n: usize) -> String {
    if n == 0 {
        format!("{sigil}{label}")
    } else {
        format!("{sigil}{label}{n}")
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
