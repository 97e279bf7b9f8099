//! Reading rendered expression text back: a tokenizer and a parser for the grammar the renderer
//! emits (DynamoDB precedence: `NOT` > `AND` > `OR`; one `+` per `SET` value), resolving each
//! placeholder through the maps, and the tree each text should mean.

use std::collections::{BTreeMap, BTreeSet};

use lease_core::expr::{Attr, Condition, Operand, UpdateAction, UpdateValue, Value};
use lease_core::{AttributeValue, Rendered};
use proptest::prelude::*;

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Open,
    Close,
    Comma,
    Plus,
    Word(String),
    Name(String),
    Val(String),
    Cmp(String),
}

/// Splits rendered text into tokens; any character outside the expression grammar is an error.
fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let word_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        i += 1;
        match c {
            ' ' => {}
            '(' => out.push(Tok::Open),
            ')' => out.push(Tok::Close),
            ',' => out.push(Tok::Comma),
            '+' => out.push(Tok::Plus),
            '=' => out.push(Tok::Cmp("=".into())),
            '<' | '>' => {
                let op = match (c, next) {
                    ('<', Some('=')) | ('>', Some('=')) => format!("{c}="),
                    ('<', Some('>')) => "<>".into(),
                    _ => c.to_string(),
                };
                i += op.len() - 1;
                out.push(Tok::Cmp(op));
            }
            '#' | ':' => {
                let start = i - 1;
                while i < chars.len() && word_char(chars[i]) {
                    i += 1;
                }
                if i == start + 1 {
                    return Err(format!("empty placeholder at {start} in {text:?}"));
                }
                let placeholder: String = chars[start..i].iter().collect();
                out.push(if c == '#' {
                    Tok::Name(placeholder)
                } else {
                    Tok::Val(placeholder)
                });
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i - 1;
                while i < chars.len() && word_char(chars[i]) {
                    i += 1;
                }
                out.push(Tok::Word(chars[start..i].iter().collect()));
            }
            other => return Err(format!("unexpected {other:?} at {} in {text:?}", i - 1)),
        }
    }
    Ok(out)
}

/// A resolved operand: the real attribute name or the literal value.
#[derive(Clone, Debug, PartialEq)]
enum Opnd {
    Name(String),
    Value(AttributeValue),
}

/// A condition with `AND`/`OR` chains flattened, so associativity does not matter.
#[derive(Clone, Debug, PartialEq)]
enum Cond {
    Exists(String),
    NotExists(String),
    Cmp(Opnd, String, Opnd),
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
}

/// A resolved update action: a `SET` value is one term, or two added.
#[derive(Clone, Debug, PartialEq)]
enum Act {
    Set(String, Vec<Term>),
    Remove(String),
}

#[derive(Clone, Debug, PartialEq)]
enum Term {
    Opnd(Opnd),
    IfNotExists(String, AttributeValue),
}

fn chain(children: Vec<Cond>, and: bool) -> Cond {
    let mut flat = Vec::new();
    for child in children {
        match (child, and) {
            (Cond::And(inner), true) | (Cond::Or(inner), false) => flat.extend(inner),
            (other, _) => flat.push(other),
        }
    }
    if and { Cond::And(flat) } else { Cond::Or(flat) }
}

struct Parser<'r> {
    toks: Vec<Tok>,
    pos: usize,
    rendered: &'r Rendered,
    used_names: BTreeSet<String>,
    used_values: BTreeSet<String>,
}

impl<'r> Parser<'r> {
    fn new(rendered: &'r Rendered) -> Self {
        Self {
            toks: Vec::new(),
            pos: 0,
            rendered,
            used_names: BTreeSet::new(),
            used_values: BTreeSet::new(),
        }
    }

    fn start(&mut self, text: &str) -> Result<(), String> {
        self.toks = tokenize(text)?;
        self.pos = 0;
        Ok(())
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Result<Tok, String> {
        let tok = self.toks.get(self.pos).cloned().ok_or("unexpected end")?;
        self.pos += 1;
        Ok(tok)
    }

    fn expect(&mut self, tok: &Tok) -> Result<(), String> {
        let got = self.next()?;
        if got == *tok {
            Ok(())
        } else {
            Err(format!("expected {tok:?}, got {got:?}"))
        }
    }

    fn at_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w == word)
    }

    fn done(&self) -> Result<(), String> {
        match self.peek() {
            None => Ok(()),
            Some(tok) => Err(format!("trailing {tok:?}")),
        }
    }

    fn name(&mut self) -> Result<String, String> {
        match self.next()? {
            Tok::Name(p) => {
                let name = self
                    .rendered
                    .names
                    .get(&p)
                    .ok_or(format!("undefined {p}"))?;
                self.used_names.insert(p);
                Ok(name.clone())
            }
            other => Err(format!("expected a #name, got {other:?}")),
        }
    }

    fn value(&mut self) -> Result<AttributeValue, String> {
        match self.next()? {
            Tok::Val(p) => {
                let value = self
                    .rendered
                    .values
                    .get(&p)
                    .ok_or(format!("undefined {p}"))?;
                self.used_values.insert(p);
                Ok(value.clone())
            }
            other => Err(format!("expected a :value, got {other:?}")),
        }
    }

    fn operand(&mut self) -> Result<Opnd, String> {
        match self.peek() {
            Some(Tok::Name(_)) => self.name().map(Opnd::Name),
            Some(Tok::Val(_)) => self.value().map(Opnd::Value),
            other => Err(format!("expected an operand, got {other:?}")),
        }
    }

    fn or(&mut self) -> Result<Cond, String> {
        let mut children = vec![self.and()?];
        while self.at_word("OR") {
            self.pos += 1;
            children.push(self.and()?);
        }
        Ok(if children.len() == 1 {
            children.remove(0)
        } else {
            chain(children, false)
        })
    }

    fn and(&mut self) -> Result<Cond, String> {
        let mut children = vec![self.unary()?];
        while self.at_word("AND") {
            self.pos += 1;
            children.push(self.unary()?);
        }
        Ok(if children.len() == 1 {
            children.remove(0)
        } else {
            chain(children, true)
        })
    }

    fn unary(&mut self) -> Result<Cond, String> {
        if self.at_word("NOT") {
            self.pos += 1;
            return Ok(Cond::Not(Box::new(self.unary()?)));
        }
        match self.peek() {
            Some(Tok::Open) => {
                self.pos += 1;
                let inner = self.or()?;
                self.expect(&Tok::Close)?;
                Ok(inner)
            }
            Some(Tok::Word(w)) if w == "attribute_exists" || w == "attribute_not_exists" => {
                let exists = w == "attribute_exists";
                self.pos += 1;
                self.expect(&Tok::Open)?;
                let name = self.name()?;
                self.expect(&Tok::Close)?;
                Ok(if exists {
                    Cond::Exists(name)
                } else {
                    Cond::NotExists(name)
                })
            }
            _ => {
                let left = self.operand()?;
                let op = match self.next()? {
                    Tok::Cmp(op) => op,
                    other => return Err(format!("expected a comparator, got {other:?}")),
                };
                let right = self.operand()?;
                Ok(Cond::Cmp(left, op, right))
            }
        }
    }

    fn term(&mut self) -> Result<Term, String> {
        if self.at_word("if_not_exists") {
            self.pos += 1;
            self.expect(&Tok::Open)?;
            let name = self.name()?;
            self.expect(&Tok::Comma)?;
            let value = self.value()?;
            self.expect(&Tok::Close)?;
            return Ok(Term::IfNotExists(name, value));
        }
        self.operand().map(Term::Opnd)
    }

    fn update(&mut self) -> Result<Vec<Act>, String> {
        let mut acts = Vec::new();
        if self.at_word("SET") {
            self.pos += 1;
            loop {
                let target = self.name()?;
                self.expect(&Tok::Cmp("=".into()))?;
                let mut terms = vec![self.term()?];
                if self.peek() == Some(&Tok::Plus) {
                    self.pos += 1;
                    terms.push(self.term()?);
                }
                acts.push(Act::Set(target, terms));
                if self.peek() != Some(&Tok::Comma) {
                    break;
                }
                self.pos += 1;
            }
        }
        if self.at_word("REMOVE") {
            self.pos += 1;
            acts.push(Act::Remove(self.name()?));
            while self.peek() == Some(&Tok::Comma) {
                self.pos += 1;
                acts.push(Act::Remove(self.name()?));
            }
        }
        if acts.is_empty() {
            return Err("empty update".into());
        }
        Ok(acts)
    }
}

// ----------------------------------------------------------------------------------------------
// What the text should mean

fn expected_operand(operand: &Operand) -> Opnd {
    match operand {
        Operand::Attr(a) => Opnd::Name(a.name.to_string()),
        Operand::Value(v) => Opnd::Value(v.value.clone()),
    }
}

fn expected_condition(condition: &Condition) -> Cond {
    match condition {
        Condition::AttributeExists(a) => Cond::Exists(a.name.to_string()),
        Condition::AttributeNotExists(a) => Cond::NotExists(a.name.to_string()),
        Condition::Compare(l, op, r) => {
            Cond::Cmp(expected_operand(l), op.symbol().into(), expected_operand(r))
        }
        Condition::And(operands) => chain(operands.iter().map(expected_condition).collect(), true),
        Condition::Or(operands) => chain(operands.iter().map(expected_condition).collect(), false),
        Condition::Not(inner) => Cond::Not(Box::new(expected_condition(inner))),
    }
}

fn expected_terms(value: &UpdateValue, out: &mut Vec<Term>) {
    match value {
        UpdateValue::Operand(o) => out.push(Term::Opnd(expected_operand(o))),
        UpdateValue::IfNotExists(a, v) => {
            out.push(Term::IfNotExists(a.name.to_string(), v.value.clone()))
        }
        UpdateValue::Plus(a, b) => {
            expected_terms(a, out);
            expected_terms(b, out);
        }
    }
}

/// SET actions in order, then REMOVE actions in order (the renderer groups them by clause).
fn expected_update(actions: &[UpdateAction]) -> Vec<Act> {
    let mut sets = Vec::new();
    let mut removes = Vec::new();
    for action in actions {
        match action {
            UpdateAction::Set(a, v) => {
                let mut terms = Vec::new();
                expected_terms(v, &mut terms);
                sets.push(Act::Set(a.name.to_string(), terms));
            }
            UpdateAction::Remove(a) => removes.push(Act::Remove(a.name.to_string())),
        }
    }
    sets.extend(removes);
    sets
}

/// Every `(label, name)` and `(label, value)` pair the tree uses.
#[derive(Default)]
struct Uses {
    names: BTreeSet<(&'static str, String)>,
    values: Vec<(&'static str, AttributeValue)>,
}

impl Uses {
    fn attr(&mut self, a: &Attr) {
        self.names.insert((a.label, a.name.to_string()));
    }

    fn value(&mut self, v: &Value) {
        if !self.values.contains(&(v.label, v.value.clone())) {
            self.values.push((v.label, v.value.clone()));
        }
    }

    fn operand(&mut self, o: &Operand) {
        match o {
            Operand::Attr(a) => self.attr(a),
            Operand::Value(v) => self.value(v),
        }
    }

    fn condition(&mut self, c: &Condition) {
        match c {
            Condition::AttributeExists(a) | Condition::AttributeNotExists(a) => self.attr(a),
            Condition::Compare(l, _, r) => {
                self.operand(l);
                self.operand(r);
            }
            Condition::And(operands) | Condition::Or(operands) => {
                for operand in operands.iter() {
                    self.condition(operand);
                }
            }
            Condition::Not(inner) => self.condition(inner),
        }
    }

    fn update_value(&mut self, v: &UpdateValue) {
        match v {
            UpdateValue::Operand(o) => self.operand(o),
            UpdateValue::IfNotExists(a, v) => {
                self.attr(a);
                self.value(v);
            }
            UpdateValue::Plus(a, b) => {
                self.update_value(a);
                self.update_value(b);
            }
        }
    }

    fn actions(&mut self, actions: &[UpdateAction]) {
        for action in actions {
            match action {
                UpdateAction::Set(a, v) => {
                    self.attr(a);
                    self.update_value(v);
                }
                UpdateAction::Remove(a) => self.attr(a),
            }
        }
    }
}

/// The placeholder maps never hold more entries for one name (value) than the labels it is used
/// under: one label and one name always share one placeholder.
fn check_placeholders_per_use(rendered: &Rendered, uses: &Uses) -> Result<(), TestCaseError> {
    let mut labels_per_name: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, name) in &uses.names {
        *labels_per_name.entry(name).or_default() += 1;
    }
    let mut placeholders_per_name: BTreeMap<&str, usize> = BTreeMap::new();
    for name in rendered.names.values() {
        *placeholders_per_name.entry(name).or_default() += 1;
    }
    for (name, count) in placeholders_per_name {
        let labels = labels_per_name.get(name).copied().unwrap_or_default();
        prop_assert!(
            count <= labels,
            "{name:?}: {count} placeholders, {labels} labels"
        );
    }
    for value in rendered.values.values() {
        let count = rendered.values.values().filter(|v| *v == value).count();
        let labels = uses.values.iter().filter(|(_, v)| v == value).count();
        prop_assert!(
            count <= labels,
            "{value:?}: {count} placeholders, {labels} labels"
        );
    }
    Ok(())
}

/// Parses the rendered condition (and update) back, checks it means the tree, and checks that
/// the maps hold exactly the placeholders the text uses. Any character outside the expression
/// grammar (a leaked name or value) fails the tokenizer.
pub(crate) fn check_rendered(
    rendered: &Rendered,
    condition: Option<&Condition>,
    update: Option<&[UpdateAction]>,
) -> Result<(), TestCaseError> {
    let mut parser = Parser::new(rendered);
    let mut uses = Uses::default();

    prop_assert_eq!(rendered.condition.is_some(), condition.is_some());
    if let (Some(text), Some(condition)) = (&rendered.condition, condition) {
        parser.start(text).map_err(TestCaseError::fail)?;
        let parsed = parser.or().map_err(TestCaseError::fail)?;
        parser.done().map_err(TestCaseError::fail)?;
        prop_assert_eq!(parsed, expected_condition(condition), "text {:?}", text);
        uses.condition(condition);
    }

    prop_assert_eq!(rendered.update.is_some(), update.is_some());
    if let (Some(text), Some(actions)) = (&rendered.update, update) {
        parser.start(text).map_err(TestCaseError::fail)?;
        let parsed = parser.update().map_err(TestCaseError::fail)?;
        parser.done().map_err(TestCaseError::fail)?;
        prop_assert_eq!(parsed, expected_update(actions), "text {:?}", text);
        uses.actions(actions);
    }

    // No undefined placeholder (the parser resolved each one) and no unused map entry.
    let defined_names: BTreeSet<String> = rendered.names.keys().cloned().collect();
    let defined_values: BTreeSet<String> = rendered.values.keys().cloned().collect();
    prop_assert_eq!(&parser.used_names, &defined_names, "unused #names");
    prop_assert_eq!(&parser.used_values, &defined_values, "unused :values");
    check_placeholders_per_use(rendered, &uses)
}
