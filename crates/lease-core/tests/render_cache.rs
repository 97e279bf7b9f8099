//! `RenderCache` renders exactly what `Request::render` renders, byte for byte, whatever the
//! cache holds: for the planner's requests (every kind, hostile and plain configurations, with
//! and without TTL, with a proclaimed value), and for generated trees whose values change from
//! one request to the next (labels reused for equal and for different values included).

#[path = "render_props/text.rs"]
#[allow(dead_code)]
mod text;

use std::collections::BTreeMap;
use std::time::Duration;

use lease_core::expr::{Attr, Comparator, Condition, Operand, UpdateAction, UpdateValue, Value};
use lease_core::{
    AttributeValue, DeleteRequest, Expressions, GetRequest, Item, Lease, LeaseConfig, LeaseKey,
    LeaseToken, OnConditionFailure, Planner, PutRequest, RenderCache, Rendered, Request,
    ReturnValues, UpdateRequest,
};
use proptest::prelude::*;
use proptest::sample::select;

/// Whether the cache's answer is the full rendering: the same text, and the same maps with
/// each placeholder once.
fn check(cached: &Expressions<'_>, rendered: &Rendered) -> Result<(), TestCaseError> {
    prop_assert_eq!(cached.condition.as_deref(), rendered.condition.as_deref());
    prop_assert_eq!(cached.update.as_deref(), rendered.update.as_deref());
    let names: BTreeMap<String, String> = cached
        .names
        .iter()
        .map(|(p, n)| (p.clone(), n.clone()))
        .collect();
    prop_assert_eq!(names.len(), cached.names.len(), "a name placeholder twice");
    prop_assert_eq!(&names, &rendered.names);
    let values: BTreeMap<String, AttributeValue> = cached
        .values
        .iter()
        .map(|(p, v)| (p.to_string(), v.clone().into_owned()))
        .collect();
    prop_assert_eq!(
        values.len(),
        cached.values.len(),
        "a value placeholder twice"
    );
    prop_assert_eq!(&values, &rendered.values);
    Ok(())
}

/// Renders `request` through `cache` and checks it against the full rendering.
fn through(cache: &RenderCache, request: &Request) -> Result<(), TestCaseError> {
    check(&cache.render(request), &request.render())
}

// ----------------------------------------------------------------------------------------------
// The planner's requests

fn planner_requests(planner: &Planner, pk: &str, token: &str, second: u64) -> Vec<Request> {
    let now = std::time::UNIX_EPOCH + Duration::from_secs(second);
    let d = Duration::from_secs(30);
    let key = LeaseKey::new(pk, "LOCK");
    let lease = Lease::new(
        key.clone(),
        LeaseToken::new(token),
        lease_core::FencingToken::new(1),
        now,
    );
    let mut out = Vec::new();
    if let Ok(plan) = planner.acquire(key.clone(), d, now, LeaseToken::new(token)) {
        out.push(plan.request().clone());
    }
    if let Ok(plan) = planner
        .acquire(key.clone(), d, now, LeaseToken::new(token))
        .and_then(|plan| plan.proclaiming(&format!("leader {second}")))
    {
        out.push(plan.request().clone());
    }
    if let Ok(plan) = planner.refresh(&lease, d, now) {
        out.push(plan.request().clone());
    }
    if let Ok(plan) = planner.release(&lease, now) {
        out.push(plan.request().clone());
    }
    if let Ok(plan) = planner.inspect(key) {
        out.push(plan.request().clone());
    }
    out
}

#[test]
fn the_planners_requests_render_as_in_full_every_time() -> Result<(), TestCaseError> {
    for include_ttl in [true, false] {
        let planner = Planner::new(
            LeaseConfig::builder("locks")
                .include_ttl(include_ttl)
                .build()
                .map_err(|e| TestCaseError::fail(e.to_string()))?,
        );
        let cache = RenderCache::new();
        for second in 1000..1010 {
            let token = format!("token-{second}-0123456789abcdef0123456789");
            let requests = planner_requests(&planner, &format!("CACHE#{second}"), &token, second);
            assert_eq!(requests.len(), 5);
            for request in &requests {
                through(&cache, request)?;
            }
        }
        // acquire, acquire with a value, refresh, release (a read has no expressions).
        assert_eq!(cache.shapes(), 4, "include_ttl {include_ttl}");
    }
    Ok(())
}

#[test]
fn the_cache_keeps_no_token() {
    let planner = Planner::new(LeaseConfig::builder("locks").build().unwrap());
    let cache = RenderCache::new();
    let secret = "s3cr3t-token-that-must-not-stay";
    for request in planner_requests(&planner, "CACHE#A", secret, 1000) {
        let _ = cache.render(&request);
    }
    let shown = format!("{cache:?}");
    assert!(!shown.contains(secret), "{shown}");
    assert_eq!(shown, "RenderCache { shapes: 4 }");
    // Nor does an answer's `Debug` show it, cached or rendered in full.
    for request in planner_requests(&planner, "CACHE#A", secret, 1001) {
        let cached = format!("{:?}", cache.render(&request));
        let full = format!("{:?}", Expressions::from(request.render()));
        for shown in [cached, full] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}

#[test]
fn more_shapes_than_the_cache_keeps_still_render_in_full() -> Result<(), TestCaseError> {
    let cache = RenderCache::new();
    const LABELS: [&str; 20] = [
        "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r",
        "s", "t",
    ];
    for round in 0..3 {
        for (i, label) in LABELS.iter().enumerate() {
            let condition = Condition::compare(
                Attr::new(label, format!("name{i}")),
                Comparator::Eq,
                Value::new("v", AttributeValue::number(round * 100 + i as i64)),
            );
            let request =
                Request::Delete(DeleteRequest::new("tbl", Item::new()).condition(condition));
            through(&cache, &request)?;
        }
    }
    assert_eq!(cache.shapes(), 16);
    Ok(())
}

#[test]
fn a_label_reused_for_different_values_is_numbered_as_in_full() -> Result<(), TestCaseError> {
    let cache = RenderCache::new();
    let request = |a: i64, b: i64| {
        let condition = Condition::compare(
            Attr::new("x", "x"),
            Comparator::Eq,
            Value::new("v", AttributeValue::number(a)),
        )
        .or(Condition::compare(
            Attr::new("y", "y"),
            Comparator::Eq,
            Value::new("v", AttributeValue::number(b)),
        ));
        Request::Delete(DeleteRequest::new("tbl", Item::new()).condition(condition))
    };
    // Equal first: the shape is kept with one `:v`; then different values need `:v` and `:v1`.
    for (a, b) in [(1, 1), (1, 2), (3, 3), (4, 5), (6, 6)] {
        let r = request(a, b);
        through(&cache, &r)?;
        let expected = if a == b { 1 } else { 2 };
        assert_eq!(r.render().values.len(), expected);
    }
    assert_eq!(cache.shapes(), 1);
    Ok(())
}

#[test]
fn kinds_do_not_share_shapes() -> Result<(), TestCaseError> {
    let cache = RenderCache::new();
    let condition = Condition::exists(Attr::new("pk", "pk"));
    let put = Request::Put(PutRequest::new("tbl", Item::new()).condition(condition.clone()));
    let delete =
        Request::Delete(DeleteRequest::new("tbl", Item::new()).condition(condition.clone()));
    let update = Request::Update(
        UpdateRequest::new("tbl", Item::new(), Vec::new())
            .condition(condition)
            .return_values(ReturnValues::AllNew)
            .on_condition_failure(OnConditionFailure::ReturnOldItem),
    );
    let get = Request::Get(GetRequest {
        table_name: "tbl".into(),
        key: Item::new(),
        consistent_read: true,
    });
    for request in [&put, &delete, &update, &get, &put, &update] {
        through(&cache, request)?;
    }
    assert_eq!(cache.shapes(), 3);
    Ok(())
}

// ----------------------------------------------------------------------------------------------
// Generated trees, their values changed

const NAME_LABELS: [&str; 6] = ["pk", "exp", "tok", "ttl", "k", "k1"];
const VALUE_LABELS: [&str; 6] = ["now", "tok", "exp", "ttl", "v", "v1"];

fn attribute_value() -> impl Strategy<Value = AttributeValue> {
    prop_oneof![
        select(vec![
            AttributeValue::number(1000),
            AttributeValue::number(1030),
            AttributeValue::string("tok"),
            AttributeValue::Bool(true),
            AttributeValue::Null,
        ]),
        (0i64..4).prop_map(AttributeValue::number),
    ]
}

fn attr() -> impl Strategy<Value = Attr> {
    (select(&NAME_LABELS[..]), select(vec!["a", "b", "a) OR (b"]))
        .prop_map(|(label, name)| Attr::new(label, name))
}

fn value() -> impl Strategy<Value = Value> {
    (select(&VALUE_LABELS[..]), attribute_value()).prop_map(|(label, v)| Value::new(label, v))
}

fn operand() -> impl Strategy<Value = Operand> {
    prop_oneof![
        attr().prop_map(Operand::Attr),
        value().prop_map(Operand::Value)
    ]
}

fn condition() -> impl Strategy<Value = Condition> {
    let comparator = select(Comparator::ALL.to_vec());
    let leaf = prop_oneof![
        attr().prop_map(Condition::AttributeExists),
        attr().prop_map(Condition::AttributeNotExists),
        (operand(), comparator, operand()).prop_map(|(l, op, r)| Condition::Compare(l, op, r)),
    ];
    leaf.prop_recursive(5, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.and(b)),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.or(b)),
            inner.prop_map(Condition::not),
        ]
    })
}

fn update_value() -> impl Strategy<Value = UpdateValue> {
    let leaf = || {
        prop_oneof![
            operand().prop_map(UpdateValue::Operand),
            (attr(), value()).prop_map(|(a, v)| UpdateValue::IfNotExists(a, v)),
        ]
    };
    prop_oneof![
        2 => leaf(),
        1 => (leaf(), leaf()).prop_map(|(a, b)| UpdateValue::Plus(Box::new(a), Box::new(b))),
    ]
}

fn actions() -> impl Strategy<Value = Vec<UpdateAction>> {
    prop::collection::vec(
        prop_oneof![
            3 => (attr(), update_value()).prop_map(|(a, v)| UpdateAction::Set(a, v)),
            1 => attr().prop_map(UpdateAction::Remove),
        ],
        0..5,
    )
}

/// Replaces the values of a tree, in order, by `fresh` (cyclically).
struct Revalue<'a> {
    fresh: &'a [AttributeValue],
    next: usize,
}

impl Revalue<'_> {
    fn value(&mut self, value: &mut Value) {
        if let Some(v) = self.fresh.get(self.next % self.fresh.len().max(1)) {
            value.value = v.clone();
        }
        self.next += 1;
    }

    fn operand(&mut self, operand: &mut Operand) {
        if let Operand::Value(v) = operand {
            self.value(v);
        }
    }

    fn update_value(&mut self, update: &mut UpdateValue) {
        match update {
            UpdateValue::Operand(o) => self.operand(o),
            UpdateValue::IfNotExists(_, v) => self.value(v),
            UpdateValue::Plus(a, b) => {
                self.update_value(a);
                self.update_value(b);
            }
        }
    }

    fn condition(&mut self, condition: &mut Condition) {
        match condition {
            Condition::AttributeExists(_) | Condition::AttributeNotExists(_) => {}
            Condition::Compare(l, _, r) => {
                self.operand(l);
                self.operand(r);
            }
            Condition::And(both) | Condition::Or(both) => {
                let [a, b] = &mut **both;
                self.condition(a);
                self.condition(b);
            }
            Condition::Not(inner) => self.condition(inner),
        }
    }

    fn request(&mut self, request: &mut Request) {
        if let Request::Update(update) = request {
            for action in &mut update.update {
                if let UpdateAction::Set(_, v) = action {
                    self.update_value(v);
                }
            }
            if let Some(c) = &mut update.condition {
                self.condition(c);
            }
        }
    }
}

fn update_request(update: Vec<UpdateAction>, condition: Option<Condition>) -> Request {
    Request::Update(UpdateRequest::new("tbl", Item::new(), update)).map_condition(condition)
}

trait WithCondition {
    fn map_condition(self, condition: Option<Condition>) -> Self;
}

impl WithCondition for Request {
    fn map_condition(self, condition: Option<Condition>) -> Self {
        match (self, condition) {
            (Request::Update(u), Some(c)) => Request::Update(u.condition(c)),
            (request, _) => request,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// One tree, sent again and again with other values (the way a planner's requests
    /// differ), and other trees in between: every answer is the full rendering.
    #[test]
    fn same_shape_other_values_render_as_in_full(
        actions in actions(),
        condition in prop::option::of(condition()),
        others in prop::collection::vec((actions(), prop::option::of(condition())), 0..3),
        fresh in prop::collection::vec(prop::collection::vec(attribute_value(), 1..6), 1..6),
    ) {
        let cache = RenderCache::new();
        let model = update_request(actions, condition);
        through(&cache, &model)?;
        for (other_actions, other_condition) in others {
            through(&cache, &update_request(other_actions, other_condition))?;
        }
        for values in &fresh {
            let mut request = model.clone();
            Revalue { fresh: values, next: 0 }.request(&mut request);
            through(&cache, &request)?;
            through(&cache, &model)?;
        }
    }
}
