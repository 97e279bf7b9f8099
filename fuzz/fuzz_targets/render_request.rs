//! Rendering requests into DynamoDB expression strings with placeholder maps
//! (`Request::render`, `TransactItem::render`): every request the planner makes (acquire,
//! refresh, release, inspect, lease check, release in a transaction, commit) under a
//! configuration with fuzzed attribute names, lock sort key and table name, validation on
//! or off; and requests whose condition and update expressions are fuzzed trees, with labels
//! that collide (`a`, `a1`, `a11`) and any names and values.
//!
//! Properties:
//! - nothing panics;
//! - a configuration builds exactly when its names are valid (non-empty, at most 255 bytes,
//!   distinct; a lock sort key of 1 to 1024 bytes; a valid table name);
//! - the expression strings hold nothing but DynamoDB's grammar (keywords, operators,
//!   parentheses, commas) and placeholders: no attribute name and no value is ever spliced
//!   into them, whatever the name (`a) OR (b`, `#pk`, `:now`);
//! - every `#name` placeholder in the strings is in the names map and every `:value`
//!   placeholder in the values map, and every entry of the maps is used (nothing missing,
//!   nothing unused);
//! - the strings mean the request's trees: parsing them back (DynamoDB's precedence, the
//!   placeholders looked up in the maps) gives the same condition and update, up to the
//!   associativity of `AND`, `OR` and `+`;
//! - the renderings (`Debug`) of a planned request and its rendered form depend on the bearer
//!   token only through its fingerprint;
//! - a `RenderCache` (each request shape rendered once, its values filled in) answers every
//!   request exactly as `Request::render` does.

#![no_main]

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use arbitrary::{Result, Unstructured};
use lease_core::expr::{Attr, Comparator, Condition, Operand, UpdateAction, UpdateValue, Value};
use lease_core::wire_time::ExpiryUnit;
use lease_core::{
    AttributeValue, ConditionCheckRequest, DeleteRequest, Item, LeaseConfig, LeaseKey, LeaseToken,
    MAX_ATTRIBUTE_NAME_BYTES, MAX_SORT_KEY_BYTES, Now, OnConditionFailure, Planner, PutRequest,
    RenderCache, Rendered, Request, ReturnValues, StoreResponse, Text, TransactItem, UpdateRequest,
};
use lease_fuzz::{twin_token, without_fingerprints};
use libfuzzer_sys::fuzz_target;

fn origin() -> Instant {
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// Names that look like expression text, placeholders or keywords.
const HOSTILE: [&str; 12] = [
    "a) OR (b",
    "#pk",
    ":now",
    "#tok",
    "attribute_exists",
    "AND",
    "x y",
    "lease_token = :tok",
    "名前",
    "pk",
    "sk",
    "",
];

/// Labels that collide once numbered (`a` reused becomes `a1`, which is also a label).
const LABELS: [&str; 9] = ["a", "a1", "a11", "k", "k1", "pk", "tok", "now", "x_y"];

fn name(u: &mut Unstructured<'_>, default: &str) -> Result<String> {
    Ok(match u.int_in_range(0..=4)? {
        0 | 1 => default.to_owned(),
        2 => (*u.choose(&HOSTILE)?).to_owned(),
        3 => lease_fuzz::long_string(u, MAX_ATTRIBUTE_NAME_BYTES + 2)?,
        _ => lease_fuzz::string(u, 12)?,
    })
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let _ = if u.arbitrary().unwrap_or(true) {
        planned(&mut u)
    } else {
        fuzzed_tree(&mut u)
    };
});

/// Requests the planner makes under a fuzzed configuration.
fn planned(u: &mut Unstructured<'_>) -> Result<()> {
    use lease_core::defaults as d;
    let table = match u.int_in_range(0..=3)? {
        0 => lease_fuzz::string(u, 8)?,
        _ => "locks".to_owned(),
    };
    let names = [
        name(u, d::PARTITION_KEY_ATTRIBUTE)?,
        name(u, d::SORT_KEY_ATTRIBUTE)?,
        name(u, d::TOKEN_ATTRIBUTE)?,
        name(u, d::EXPIRES_AT_ATTRIBUTE)?,
        name(u, d::TTL_ATTRIBUTE)?,
        name(u, d::FENCE_ATTRIBUTE)?,
        name(u, d::VALUE_ATTRIBUTE)?,
    ];
    let lock = match u.int_in_range(0..=3)? {
        0 => lease_fuzz::long_string(u, MAX_SORT_KEY_BYTES + 2)?,
        1 => (*u.choose(&HOSTILE)?).to_owned(),
        _ => d::LOCK_SORT_KEY.to_owned(),
    };
    let include_ttl = u.arbitrary()?;
    let unit = if u.arbitrary()? {
        ExpiryUnit::Milliseconds
    } else {
        ExpiryUnit::Seconds
    };
    let built = LeaseConfig::builder(table.as_str())
        .key_attribute_names(names[0].as_str(), names[1].as_str())
        .lease_attribute_names(names[2].as_str(), names[3].as_str(), names[4].as_str())
        .fence_attribute_name(names[5].as_str())
        .value_attribute_name(names[6].as_str())
        .lock_sort_key(lock.as_str())
        .include_ttl(include_ttl)
        .expiry_unit(unit)
        .build();
    let distinct = names.iter().collect::<BTreeSet<_>>().len() == names.len();
    let valid = (3..=255).contains(&table.len())
        && table
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && names
            .iter()
            .all(|n| !n.is_empty() && n.len() <= MAX_ATTRIBUTE_NAME_BYTES)
        && distinct
        && !lock.is_empty()
        && lock != lease_core::ELECTION_SORT_KEY
        && lock.len() <= MAX_SORT_KEY_BYTES;
    let config = match built {
        Ok(config) => {
            assert!(valid, "an invalid configuration was built: {config:?}");
            config
        }
        Err(error) => {
            assert!(!valid, "a valid configuration was refused: {error}");
            return Ok(());
        }
    };
    let planner = Planner::new(config);

    let key = if u.arbitrary()? {
        LeaseKey::lock(lease_fuzz::string(u, 40)?)
    } else {
        LeaseKey::new(lease_fuzz::string(u, 40)?, lease_fuzz::string(u, 20)?)
    };
    let token = match u.int_in_range(0..=1)? {
        0 => "0b7e3c1a-9d2f-4c55-8e61-3f0c2a9b7d10".to_owned(),
        _ => lease_fuzz::string(u, 40)?,
    };
    let duration = lease_fuzz::duration(u)?;
    let wall = lease_fuzz::wall_time(u)?;
    let now = Now::new(
        wall,
        origin() + Duration::from_millis(u.int_in_range(0..=1_000_000)?),
    );
    let writes: Vec<TransactItem> = (0..u.int_in_range(0..=3)?)
        .map(|_| transact_item(u))
        .collect::<Result<_>>()?;
    let fence = u.arbitrary::<u64>()?;

    let shown = plan_all(&planner, &key, &token, duration, now, &writes, fence);
    if let Some(twin) = twin_token(&token) {
        let twin_shown = plan_all(&planner, &key, &twin, duration, now, &writes, fence);
        assert_eq!(
            without_fingerprints(&shown),
            without_fingerprints(&twin_shown),
            "a request's rendering depends on the token beyond its fingerprint"
        );
    }
    Ok(())
}

/// Plans every kind of request for `key` and `token`, checks each rendering; returns the
/// `Debug` of every request and rendering.
fn plan_all(
    planner: &Planner,
    key: &LeaseKey,
    token: &str,
    duration: Duration,
    now: Now,
    writes: &[TransactItem],
    fence: u64,
) -> String {
    let config = planner.config();
    let mut shown = String::new();
    // A request of the lease's own: checked, and it names configured attributes only.
    let own = |item: &Rendered| {
        for name in item.names.values() {
            assert!(
                lease_fuzz::config_names(config).contains(&name.as_str()),
                "a planned request names {name:?}, which is not a configured attribute"
            );
        }
    };
    let show = |request: &Request| -> String {
        let mut out = format!("{request:?}\n");
        if let Request::Transact(transaction) = request {
            for (index, item) in transaction.items.iter().enumerate() {
                let rendered = check_item(item);
                if index == 0 {
                    own(&rendered);
                }
                out.push_str(&format!("{rendered:?}\n"));
            }
        } else {
            let rendered = check_request(request);
            own(&rendered);
            out.push_str(&format!("{rendered:?}\n"));
        }
        out
    };
    if let Ok(plan) = planner.inspect(key.clone()) {
        shown.push_str(&show(plan.request()));
    }
    let Ok(plan) = planner.acquire(key.clone(), duration, now, LeaseToken::new(token)) else {
        return shown;
    };
    shown.push_str(&show(plan.request()));
    let fence_item = Item::from([(
        Text::from(config.fence_attribute()),
        AttributeValue::N(Text::from(fence.to_string())),
    )]);
    let Ok(lease) = plan.interpret(Ok(StoreResponse::Applied {
        attributes: Some(fence_item),
    })) else {
        panic!("an acquire answered with its fencing token failed");
    };
    if let Ok(plan) = planner.refresh(&lease, duration, now) {
        shown.push_str(&show(plan.request()));
    }
    if let Ok(plan) = planner.release(&lease, now) {
        shown.push_str(&show(plan.request()));
    }
    if let Ok(check) = planner.lease_check(&lease, now) {
        let item = check.transact_item();
        let rendered = check_item(&item);
        own(&rendered);
        shown.push_str(&format!("{item:?}\n{rendered:?}\n"));
    }
    if let Ok(item) = planner.release_in_transaction(&lease, now) {
        let rendered = check_item(&item);
        own(&rendered);
        shown.push_str(&format!("{item:?}\n{rendered:?}\n"));
    }
    for releases in [false, true] {
        let plan = if releases {
            planner.commit_and_release(&lease, now, writes.to_vec())
        } else {
            planner.commit(&lease, now, writes.to_vec())
        };
        if let Ok(plan) = plan {
            shown.push_str(&show(plan.request()));
        }
    }
    shown
}

/// Requests with fuzzed expression trees.
fn fuzzed_tree(u: &mut Unstructured<'_>) -> Result<()> {
    let table = std::sync::Arc::<str>::from("t");
    let key = Item::from([(Text::from("pk"), AttributeValue::string("x"))]);
    let request = match u.int_in_range(0..=3)? {
        0 => Request::Update(UpdateRequest {
            table_name: table,
            key,
            update: (0..u.int_in_range(0..=4)?)
                .map(|_| update_action(u))
                .collect::<Result<_>>()?,
            condition: maybe_condition(u)?,
            return_values: ReturnValues::None,
            on_condition_failure: OnConditionFailure::ReturnNothing,
        }),
        1 => Request::Put(PutRequest {
            table_name: table,
            item: key,
            condition: maybe_condition(u)?,
            on_condition_failure: OnConditionFailure::ReturnNothing,
        }),
        2 => Request::Delete(DeleteRequest {
            table_name: table,
            key,
            condition: maybe_condition(u)?,
            on_condition_failure: OnConditionFailure::ReturnNothing,
        }),
        _ => {
            let item = transact_item(u)?;
            check_item(&item);
            return Ok(());
        }
    };
    check_request(&request);
    Ok(())
}

fn transact_item(u: &mut Unstructured<'_>) -> Result<TransactItem> {
    let table = std::sync::Arc::<str>::from(if u.arbitrary()? { "locks" } else { "other" });
    let mut key = Item::new();
    for _ in 0..u.int_in_range(0..=2)? {
        key.insert(
            Text::from(name(u, "pk")?),
            AttributeValue::string(lease_fuzz::string(u, 8)?),
        );
    }
    Ok(match u.int_in_range(0..=3)? {
        0 => TransactItem::ConditionCheck(ConditionCheckRequest {
            table_name: table,
            key,
            condition: condition(u, 3)?,
            on_condition_failure: OnConditionFailure::ReturnOldItem,
        }),
        1 => TransactItem::Put(PutRequest {
            table_name: table,
            item: key,
            condition: maybe_condition(u)?,
            on_condition_failure: OnConditionFailure::ReturnNothing,
        }),
        2 => TransactItem::Update(UpdateRequest {
            table_name: table,
            key,
            update: (0..u.int_in_range(0..=3)?)
                .map(|_| update_action(u))
                .collect::<Result<_>>()?,
            condition: maybe_condition(u)?,
            return_values: ReturnValues::None,
            on_condition_failure: OnConditionFailure::ReturnNothing,
        }),
        _ => TransactItem::Delete(DeleteRequest {
            table_name: table,
            key,
            condition: maybe_condition(u)?,
            on_condition_failure: OnConditionFailure::ReturnNothing,
        }),
    })
}

fn attr(u: &mut Unstructured<'_>) -> Result<Attr> {
    let label = *u.choose(&LABELS)?;
    let name = match u.int_in_range(0..=2)? {
        0 => (*u.choose(&HOSTILE)?).to_owned(),
        1 => (*u.choose(&["n1", "n2", "n3"])?).to_owned(),
        _ => lease_fuzz::string(u, 12)?,
    };
    Ok(Attr::new(label, name))
}

fn value(u: &mut Unstructured<'_>) -> Result<Value> {
    let label = *u.choose(&LABELS)?;
    let value = if u.arbitrary()? {
        AttributeValue::number(u.int_in_range(0..=2)?)
    } else {
        lease_fuzz::value(u, std::time::SystemTime::UNIX_EPOCH, ExpiryUnit::Seconds, 1)?
    };
    Ok(Value::new(label, value))
}

fn operand(u: &mut Unstructured<'_>) -> Result<Operand> {
    Ok(if u.arbitrary()? {
        Operand::Attr(attr(u)?)
    } else {
        Operand::Value(value(u)?)
    })
}

fn maybe_condition(u: &mut Unstructured<'_>) -> Result<Option<Condition>> {
    Ok(if u.arbitrary()? {
        Some(condition(u, 4)?)
    } else {
        None
    })
}

fn condition(u: &mut Unstructured<'_>, depth: u32) -> Result<Condition> {
    let kinds = if depth == 0 { 2 } else { 5 };
    Ok(match u.int_in_range(0..=kinds)? {
        0 => Condition::exists(attr(u)?),
        1 => Condition::not_exists(attr(u)?),
        2 => Condition::Compare(operand(u)?, *u.choose(&Comparator::ALL)?, operand(u)?),
        3 => condition(u, depth - 1)?.and(condition(u, depth - 1)?),
        4 => condition(u, depth - 1)?.or(condition(u, depth - 1)?),
        _ => condition(u, depth - 1)?.not(),
    })
}

fn update_value(u: &mut Unstructured<'_>, depth: u32) -> Result<UpdateValue> {
    let kinds = if depth == 0 { 1 } else { 2 };
    Ok(match u.int_in_range(0..=kinds)? {
        0 => UpdateValue::Operand(operand(u)?),
        1 => UpdateValue::IfNotExists(attr(u)?, value(u)?),
        _ => UpdateValue::Plus(
            Box::new(update_value(u, depth - 1)?),
            Box::new(update_value(u, depth - 1)?),
        ),
    })
}

fn update_action(u: &mut Unstructured<'_>) -> Result<UpdateAction> {
    Ok(if u.int_in_range(0..=3)? == 0 {
        UpdateAction::Remove(attr(u)?)
    } else {
        UpdateAction::Set(attr(u)?, update_value(u, 3)?)
    })
}

// ---- Checks --------------------------------------------------------------------------------

fn check_request(request: &Request) -> Rendered {
    let rendered = request.render();
    let update = match request {
        Request::Update(update) => Some(update.update.as_slice()),
        _ => None,
    };
    check(&rendered, request.condition(), update);
    check_cached(request, &rendered);
    rendered
}

/// A `RenderCache` answers as `Request::render`: one shared by every input (its shapes are
/// the first inputs'; a later request of one of them, with other values, is filled from it),
/// and a fresh one (the request's own shape kept, then filled).
fn check_cached(request: &Request, rendered: &Rendered) {
    static SHARED: std::sync::OnceLock<RenderCache> = std::sync::OnceLock::new();
    let shared = SHARED.get_or_init(RenderCache::new);
    let fresh = RenderCache::new();
    let expected = (
        rendered.condition.as_deref(),
        rendered.update.as_deref(),
        rendered.names.clone(),
        rendered.values.clone(),
    );
    for answer in [
        shared.render(request),
        fresh.render(request),
        fresh.render(request),
    ] {
        let names: BTreeMap<String, String> = answer.names.iter().cloned().collect();
        let values: BTreeMap<String, AttributeValue> = answer
            .values
            .iter()
            .map(|(placeholder, value)| (placeholder.to_string(), value.clone().into_owned()))
            .collect();
        assert_eq!(names.len(), answer.names.len(), "a name placeholder twice");
        assert_eq!(
            values.len(),
            answer.values.len(),
            "a value placeholder twice"
        );
        let got = (
            answer.condition.as_deref(),
            answer.update.as_deref(),
            names,
            values,
        );
        assert_eq!(got, expected);
    }
}

fn check_item(item: &TransactItem) -> Rendered {
    let rendered = item.render();
    let update = match item {
        TransactItem::Update(update) => Some(update.update.as_slice()),
        _ => None,
    };
    check(&rendered, item.condition(), update);
    rendered
}

/// The properties of one rendering of `condition` and `update`.
fn check(rendered: &Rendered, condition: Option<&Condition>, update: Option<&[UpdateAction]>) {
    assert_eq!(rendered.condition.is_some(), condition.is_some());
    assert_eq!(rendered.update.is_some(), update.is_some());
    let mut used_names = BTreeSet::new();
    let mut used_values = BTreeSet::new();
    for text in rendered.condition.iter().chain(&rendered.update) {
        for token in tokens(text) {
            match token {
                Token::Name(p) => {
                    assert!(
                        rendered.names.contains_key(p),
                        "{p} is not in the names map: {text}"
                    );
                    used_names.insert(p.to_owned());
                }
                Token::Value(p) => {
                    assert!(
                        rendered.values.contains_key(p),
                        "{p} is not in the values map: {text}"
                    );
                    used_values.insert(p.to_owned());
                }
                Token::Word(_) | Token::Punct(_) => {}
            }
        }
    }
    let names: BTreeSet<_> = rendered.names.keys().cloned().collect();
    let values: BTreeSet<_> = rendered.values.keys().cloned().collect();
    assert_eq!(names, used_names, "unused entries in the names map");
    assert_eq!(values, used_values, "unused entries in the values map");

    if let (Some(text), Some(condition)) = (&rendered.condition, condition) {
        let mut p = Parser::new(text, rendered);
        let parsed = p.condition();
        assert!(p.at_end(), "trailing text in {text:?}");
        assert_eq!(
            parsed,
            Cond::of(condition),
            "{text:?} does not mean the condition"
        );
    }
    if let (Some(text), Some(update)) = (&rendered.update, update) {
        let parsed = Parser::new(text, rendered).update();
        let sets = update.iter().filter_map(|a| match a {
            UpdateAction::Set(attr, value) => Some(Act::Set(attr.name.to_string(), Val::of(value))),
            UpdateAction::Remove(_) => None,
        });
        let removes = update.iter().filter_map(|a| match a {
            UpdateAction::Remove(attr) => Some(Act::Remove(attr.name.to_string())),
            UpdateAction::Set(..) => None,
        });
        let expected: Vec<Act> = sets.chain(removes).collect();
        assert_eq!(parsed, expected, "{text:?} does not mean the update");
    }
}

#[derive(Debug, PartialEq)]
enum Token<'a> {
    Name(&'a str),
    Value(&'a str),
    Word(&'a str),
    Punct(&'a str),
}

const WORDS: [&str; 8] = [
    "attribute_exists",
    "attribute_not_exists",
    "if_not_exists",
    "AND",
    "OR",
    "NOT",
    "SET",
    "REMOVE",
];

const PUNCT: [&str; 10] = ["<>", "<=", ">=", "=", "<", ">", "(", ")", ",", "+"];

/// The tokens of an expression. Panics on anything that is not a placeholder, a keyword of
/// [`WORDS`], an operator or punctuation of [`PUNCT`], or a single space between them: the
/// text holds no name and no value.
fn tokens(text: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    let ident = |s: &str| {
        s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(s.len())
    };
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix(' ') {
            rest = after;
            continue;
        }
        let sigil = rest.as_bytes()[0];
        if sigil == b'#' || sigil == b':' {
            let len = 1 + ident(&rest[1..]);
            assert!(len > 1, "a bare {} in {text:?}", sigil as char);
            let (p, after) = rest.split_at(len);
            out.push(if sigil == b'#' {
                Token::Name(p)
            } else {
                Token::Value(p)
            });
            rest = after;
        } else if let Some(p) = PUNCT.iter().find(|p| rest.starts_with(**p)) {
            out.push(Token::Punct(p));
            rest = &rest[p.len()..];
        } else {
            let len = ident(rest);
            let word = &rest[..len];
            assert!(
                len > 0 && WORDS.contains(&word),
                "{:?} in {text:?} is neither grammar nor a placeholder",
                &rest[..rest.len().min(20)]
            );
            out.push(Token::Word(word));
            rest = &rest[len..];
        }
    }
    out
}

/// A condition as it reads: `AND` and `OR` flattened into lists, names and values resolved.
#[derive(Debug, PartialEq)]
enum Cond {
    Exists(String),
    NotExists(String),
    Compare(Op, &'static str, Op),
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
}

#[derive(Debug, PartialEq)]
enum Op {
    Name(String),
    Value(AttributeValue),
}

#[derive(Debug, PartialEq)]
enum Val {
    Op(Op),
    IfNotExists(String, AttributeValue),
    Plus(Vec<Val>),
}

#[derive(Debug, PartialEq)]
enum Act {
    Set(String, Val),
    Remove(String),
}

impl Op {
    fn of(operand: &Operand) -> Self {
        match operand {
            Operand::Attr(a) => Op::Name(a.name.to_string()),
            Operand::Value(v) => Op::Value(v.value.clone()),
        }
    }
}

impl Cond {
    fn of(condition: &Condition) -> Self {
        match condition {
            Condition::AttributeExists(a) => Cond::Exists(a.name.to_string()),
            Condition::AttributeNotExists(a) => Cond::NotExists(a.name.to_string()),
            Condition::Compare(l, c, r) => Cond::Compare(Op::of(l), c.symbol(), Op::of(r)),
            Condition::And(pair) => {
                Cond::And(pair.iter().flat_map(|c| Cond::of(c).ands()).collect())
            }
            Condition::Or(pair) => Cond::Or(pair.iter().flat_map(|c| Cond::of(c).ors()).collect()),
            Condition::Not(inner) => Cond::Not(Box::new(Cond::of(inner))),
        }
    }

    fn ands(self) -> Vec<Cond> {
        match self {
            Cond::And(list) => list,
            other => vec![other],
        }
    }

    fn ors(self) -> Vec<Cond> {
        match self {
            Cond::Or(list) => list,
            other => vec![other],
        }
    }
}

impl Val {
    fn of(value: &UpdateValue) -> Self {
        match value {
            UpdateValue::Operand(o) => Val::Op(Op::of(o)),
            UpdateValue::IfNotExists(a, v) => Val::IfNotExists(a.name.to_string(), v.value.clone()),
            UpdateValue::Plus(a, b) => Val::Plus(
                [Val::of(a), Val::of(b)]
                    .into_iter()
                    .flat_map(Val::terms)
                    .collect(),
            ),
        }
    }

    fn terms(self) -> Vec<Val> {
        match self {
            Val::Plus(list) => list,
            other => vec![other],
        }
    }
}

/// A recursive-descent parser of rendered expressions, with DynamoDB's precedence (`NOT`,
/// then `AND`, then `OR`; `+` left to right).
struct Parser<'a> {
    tokens: Vec<Token<'a>>,
    at: usize,
    names: &'a BTreeMap<String, String>,
    values: &'a BTreeMap<String, AttributeValue>,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, rendered: &'a Rendered) -> Self {
        Self {
            tokens: tokens(text),
            at: 0,
            names: &rendered.names,
            values: &rendered.values,
        }
    }

    fn at_end(&self) -> bool {
        self.at == self.tokens.len()
    }

    fn peek(&self) -> Option<&Token<'a>> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> &Token<'a> {
        let token = self
            .tokens
            .get(self.at)
            .unwrap_or_else(|| panic!("the expression ends early: {:?}", self.tokens));
        self.at += 1;
        token
    }

    fn eat(&mut self, token: Token<'_>) -> bool {
        if self.peek() == Some(&token) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, token: Token<'_>) {
        assert!(
            self.eat(token),
            "expected another token at {} of {:?}",
            self.at,
            self.tokens
        );
    }

    fn name(&mut self) -> String {
        match *self.next() {
            Token::Name(p) => self.names[p].clone(),
            ref other => panic!("expected a name, found {other:?}"),
        }
    }

    fn value(&mut self) -> AttributeValue {
        match *self.next() {
            Token::Value(p) => self.values[p].clone(),
            ref other => panic!("expected a value, found {other:?}"),
        }
    }

    fn operand(&mut self) -> Op {
        match *self.peek().unwrap_or(&Token::Word("")) {
            Token::Name(_) => Op::Name(self.name()),
            Token::Value(_) => Op::Value(self.value()),
            ref other => panic!("expected an operand, found {other:?}"),
        }
    }

    fn condition(&mut self) -> Cond {
        let mut list = vec![self.and()];
        while self.eat(Token::Word("OR")) {
            list.push(self.and());
        }
        if list.len() == 1 {
            list.remove(0)
        } else {
            Cond::Or(list.into_iter().flat_map(Cond::ors).collect())
        }
    }

    fn and(&mut self) -> Cond {
        let mut list = vec![self.not()];
        while self.eat(Token::Word("AND")) {
            list.push(self.not());
        }
        if list.len() == 1 {
            list.remove(0)
        } else {
            Cond::And(list.into_iter().flat_map(Cond::ands).collect())
        }
    }

    fn not(&mut self) -> Cond {
        if self.eat(Token::Word("NOT")) {
            return Cond::Not(Box::new(self.not()));
        }
        if self.eat(Token::Punct("(")) {
            let inner = self.condition();
            self.expect(Token::Punct(")"));
            return inner;
        }
        for (word, exists) in [("attribute_exists", true), ("attribute_not_exists", false)] {
            if self.eat(Token::Word(word)) {
                self.expect(Token::Punct("("));
                let name = self.name();
                self.expect(Token::Punct(")"));
                return if exists {
                    Cond::Exists(name)
                } else {
                    Cond::NotExists(name)
                };
            }
        }
        let left = self.operand();
        let op = match *self.next() {
            Token::Punct(p) if ["=", "<>", "<", "<=", ">", ">="].contains(&p) => Comparator::ALL
                .iter()
                .map(|c| c.symbol())
                .find(|s| *s == p)
                .unwrap_or_else(|| unreachable!()),
            ref other => panic!("expected a comparator, found {other:?}"),
        };
        let right = self.operand();
        Cond::Compare(left, op, right)
    }

    fn update(&mut self) -> Vec<Act> {
        let mut actions = Vec::new();
        if self.eat(Token::Word("SET")) {
            loop {
                let name = self.name();
                self.expect(Token::Punct("="));
                actions.push(Act::Set(name, self.update_value()));
                if !self.eat(Token::Punct(",")) {
                    break;
                }
            }
        }
        if self.eat(Token::Word("REMOVE")) {
            loop {
                actions.push(Act::Remove(self.name()));
                if !self.eat(Token::Punct(",")) {
                    break;
                }
            }
        }
        assert!(
            self.at_end(),
            "trailing text in the update: {:?}",
            self.tokens
        );
        actions
    }

    fn update_value(&mut self) -> Val {
        let mut terms = vec![self.term()];
        while self.eat(Token::Punct("+")) {
            terms.push(self.term());
        }
        if terms.len() == 1 {
            terms.remove(0)
        } else {
            Val::Plus(terms)
        }
    }

    fn term(&mut self) -> Val {
        if self.eat(Token::Word("if_not_exists")) {
            self.expect(Token::Punct("("));
            let name = self.name();
            self.expect(Token::Punct(","));
            let value = self.value();
            self.expect(Token::Punct(")"));
            return Val::IfNotExists(name, value);
        }
        Val::Op(self.operand())
    }
}
