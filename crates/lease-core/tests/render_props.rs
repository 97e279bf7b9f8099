//! Properties of rendering, over generated expression trees with hostile attribute names:
//!
//! - the text parses back (with DynamoDB's precedence `NOT` > `AND` > `OR`) to the tree it came
//!   from once every placeholder is replaced by its map entry, so parentheses and placeholders are
//!   right;
//! - every `#name`/`:value` in the text is defined in its map and every map entry is used in the
//!   text (DynamoDB rejects both undefined and unused placeholders);
//! - one label and one name (or value) never get two placeholders;
//! - no character of an attribute name or value ever reaches the text.

#[path = "render_props/text.rs"]
mod text;

use std::time::Duration;

use lease_core::expr::{Attr, Comparator, Condition, Operand, UpdateAction, UpdateValue, Value};
use lease_core::{
    AttributeValue, Item, Lease, LeaseConfig, LeaseKey, LeaseToken, OnConditionFailure, Planner,
    Rendered, Request, ReturnValues, UpdateRequest,
};
use proptest::prelude::*;
use proptest::sample::select;
use text::check_rendered;

// ----------------------------------------------------------------------------------------------
// Generators

/// Placeholder labels, including ones that collide with the numbered suffixes the renderer adds
/// when a label is reused for a different name (`k` → `#k`, `#k1`; `k1` → `#k1`).
const NAME_LABELS: [&str; 6] = ["pk", "exp", "tok", "ttl", "k", "k1"];
const VALUE_LABELS: [&str; 6] = ["now", "tok", "exp", "ttl", "v", "v1"];

/// Characters that are not part of any rendered expression. Every generated name and string
/// value contains at least one, so any leak into the text is visible.
const FOREIGN: [char; 24] = [
    '§', '¶', '"', '\'', '`', ';', '|', '$', '@', '!', '?', '%', '&', '~', '^', '[', ']', '{', '}',
    '\\', '/', '.', '-', '🔒',
];

/// Pieces of expression syntax that would change a condition if a name were spliced into it.
const FRAGMENTS: [&str; 11] = [
    "a) OR (b",
    "#pk",
    ":now",
    "x = :y",
    "attribute_exists(#z)",
    ") OR (",
    "NOT ",
    "SET #a = :b",
    ", #ttl = :ttl",
    "REMOVE #exp",
    "",
];

/// A hostile string: a fragment, a foreign character, a fragment.
fn hostile() -> impl Strategy<Value = String> {
    (
        select(&FRAGMENTS[..]),
        select(&FOREIGN[..]),
        select(&FRAGMENTS[..]),
    )
        .prop_map(|(a, c, b)| format!("{a}{c}{b}"))
}

/// Names from a small fixed pool (so names repeat, under the same and different labels) or new.
fn name() -> impl Strategy<Value = String> {
    const POOL: [&str; 4] = ["a) OR (b§", "lease_expires_at§", "§", "ttl, #pk = :now🔒"];
    prop_oneof![
        3 => select(&POOL[..]).prop_map(String::from),
        1 => hostile(),
    ]
}

fn attribute_value() -> impl Strategy<Value = AttributeValue> {
    prop_oneof![
        select(vec![
            AttributeValue::number(1000),
            AttributeValue::number(1030),
            AttributeValue::string("tok§"),
            AttributeValue::Bool(true),
            AttributeValue::Null,
        ]),
        any::<i64>().prop_map(AttributeValue::number),
        hostile().prop_map(AttributeValue::string),
    ]
}

fn attr() -> impl Strategy<Value = Attr> {
    (select(&NAME_LABELS[..]), name()).prop_map(|(label, name)| Attr::new(label, name))
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
    leaf.prop_recursive(6, 40, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.and(b)),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.or(b)),
            inner.prop_map(Condition::not),
        ]
    })
}

/// A `SET` value. DynamoDB's grammar allows one `+` of two operands (`#a + :b`,
/// `if_not_exists(#a, :z) + :b`), not chains, so only those are generated (the AST can nest
/// `Plus`; DynamoDB and `lease-memory` reject that).
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
        1..5,
    )
}

fn update_request(update: Vec<UpdateAction>, condition: Option<Condition>) -> Request {
    Request::Update(UpdateRequest {
        table_name: "tbl".into(),
        key: Item::new(),
        update,
        condition,
        return_values: ReturnValues::None,
        on_condition_failure: OnConditionFailure::ReturnNothing,
    })
}

fn check_no_foreign_chars(text: &str) -> Result<(), TestCaseError> {
    for c in FOREIGN {
        prop_assert!(!text.contains(c), "{c:?} leaked into {text:?}");
    }
    Ok(())
}

/// Parses the rendered condition (and update) back, checks it means the tree, and checks that
/// the maps hold exactly the placeholders the text uses.
fn check_round_trip(
    request: &Request,
    condition: Option<&Condition>,
    update: Option<&[UpdateAction]>,
) -> Result<(), TestCaseError> {
    let rendered = request.render();
    for text in [&rendered.condition, &rendered.update]
        .into_iter()
        .flatten()
    {
        check_no_foreign_chars(text)?;
    }
    check_rendered(&rendered, condition, update)
}

// ----------------------------------------------------------------------------------------------
// The checker itself, on fixed cases

fn exists(label: &'static str, name: &str) -> Condition {
    Condition::exists(Attr::new(label, name))
}

fn delete_with(condition: &Condition) -> Request {
    Request::Delete(lease_core::DeleteRequest::new("tbl", Item::new()).condition(condition.clone()))
}

#[test]
fn suffixed_labels_round_trip() {
    // `k` reused for three names, and a `k1` label that collides with the first suffix.
    let condition = exists("k", "one")
        .and(exists("k", "two"))
        .and(exists("k1", "three").or(exists("k", "one").not()))
        .and(exists("k", "three"));
    let rendered = delete_with(&condition).render();
    assert_eq!(rendered.names.len(), 4, "{rendered:?}");
    check_rendered(&rendered, Some(&condition), None).unwrap();

    let v = |label, n| Value::new(label, AttributeValue::number(n));
    let actions = vec![
        UpdateAction::set(Attr::new("k", "one"), v("v", 1)),
        UpdateAction::set(Attr::new("k", "two"), v("v", 2)),
        UpdateAction::set(Attr::new("k1", "three"), v("v1", 1)),
        UpdateAction::Remove(Attr::new("k", "four")),
    ];
    let request = update_request(actions.clone(), Some(exists("k", "two")));
    check_round_trip(&request, Some(&exists("k", "two")), Some(&actions)).unwrap();
}

#[test]
fn a_get_renders_no_expression_and_no_placeholders() {
    let get = Request::Get(lease_core::GetRequest {
        table_name: "tbl".into(),
        key: Item::from([("pk".into(), AttributeValue::string("a) OR (b"))]),
        consistent_read: true,
    });
    assert_eq!(get.render(), Rendered::default());
    assert_eq!(get.table_name(), "tbl");
    assert!(get.condition().is_none());
}

#[test]
fn the_checker_rejects_broken_renderings() {
    // (a OR b) AND c: the parentheses matter.
    let condition = exists("a", "a").or(exists("b", "b")).and(exists("c", "c"));
    let good = delete_with(&condition).render();
    check_rendered(&good, Some(&condition), None).unwrap();
    let broken = |edit: &dyn Fn(&mut Rendered)| {
        let mut r = good.clone();
        edit(&mut r);
        check_rendered(&r, Some(&condition), None).is_err()
    };
    assert!(broken(&|r| {
        r.condition =
            Some("attribute_exists(#a) OR attribute_exists(#b) AND attribute_exists(#c)".into());
    }));
    assert!(broken(&|r| {
        r.names.insert("#unused".into(), "x".into());
    }));
    assert!(broken(&|r| {
        r.names.remove("#c");
    }));
    assert!(broken(&|r| {
        r.names.insert("#c".into(), "a".into());
    }));
    assert!(broken(&|r| {
        r.condition =
            Some("(attribute_exists(#a) OR attribute_exists(a§)) AND attribute_exists(#c)".into());
    }));

    // Two placeholders for one label and name: means the same, but is not what we promise.
    let twice = exists("c", "c").and(exists("c", "c"));
    let mut r = delete_with(&twice).render();
    check_rendered(&r, Some(&twice), None).unwrap();
    r.names.insert("#c1".into(), "c".into());
    r.condition = Some("attribute_exists(#c) AND attribute_exists(#c1)".into());
    assert!(check_rendered(&r, Some(&twice), None).is_err());
}

// ----------------------------------------------------------------------------------------------
// Properties

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_condition_renders_to_text_that_means_it(condition in condition()) {
        let request = Request::Delete(lease_core::DeleteRequest::new("tbl", Item::new()).condition(condition.clone()));
        check_round_trip(&request, Some(&condition), None)?;
    }

    #[test]
    fn any_update_with_a_condition_shares_consistent_maps(
        actions in actions(),
        condition in prop::option::of(condition()),
    ) {
        let request = update_request(actions.clone(), condition.clone());
        check_round_trip(&request, condition.as_ref(), Some(&actions))?;
    }
}

// ----------------------------------------------------------------------------------------------
// The planner's own requests under generated hostile configurations

/// Six distinct hostile attribute names (a distinct digit prefix each).
fn hostile_names() -> impl Strategy<Value = [String; 6]> {
    prop::array::uniform6(hostile()).prop_map(|names| {
        let mut i = 0;
        names.map(|n| {
            i += 1;
            format!("{i}{n}")
        })
    })
}

fn requests(planner: &Planner, key: &LeaseKey, token: &str) -> Vec<Request> {
    let now = std::time::UNIX_EPOCH + Duration::from_secs(1000);
    let d = Duration::from_secs(30);
    let token = LeaseToken::new(token);
    let lease = Lease::new(
        key.clone(),
        token.clone(),
        lease_core::FencingToken::new(1),
        now,
    );
    let mut out = Vec::new();
    if let Ok(plan) = planner.acquire(key.clone(), d, now, token) {
        out.push(plan.request().clone());
    }
    if let Ok(plan) = planner.refresh(&lease, d, now) {
        out.push(plan.request().clone());
    }
    if let Ok(plan) = planner.release(&lease, now) {
        out.push(plan.request().clone());
    }
    out
}

proptest! {
    #[test]
    fn planner_text_never_depends_on_names_keys_or_tokens(
        names in hostile_names(),
        partition in hostile(),
        sort in hostile(),
        token in hostile(),
        include_ttl in any::<bool>(),
    ) {
        let [pk, sk, tok, exp, ttl, fence] = names.clone();
        let config = LeaseConfig::builder("tbl")
            .key_attribute_names(pk, sk)
            .lease_attribute_names(tok, exp, ttl)
            .fence_attribute_name(fence)
            .include_ttl(include_ttl)
            .build();
        prop_assert!(config.is_ok(), "{config:?}");
        let hostile = Planner::new(config.map_err(|e| TestCaseError::fail(e.to_string()))?);
        let plain = Planner::new(
            LeaseConfig::builder("tbl")
                .include_ttl(include_ttl)
                .build()
                .map_err(|e| TestCaseError::fail(e.to_string()))?,
        );

        let got = requests(&hostile, &LeaseKey::new(partition, sort), &token);
        let want = requests(&plain, &LeaseKey::new("CACHE#A", "LOCK"), "tok");
        prop_assert_eq!(got.len(), 3);
        for (got, want) in got.iter().zip(&want) {
            let (got, want) = (got.render(), want.render());
            prop_assert_eq!(&got.condition, &want.condition);
            prop_assert_eq!(&got.update, &want.update);
            let text = format!(
                "{} {}",
                got.condition.as_deref().unwrap_or_default(),
                got.update.as_deref().unwrap_or_default()
            );
            check_no_foreign_chars(&text)?;
            for name in got.names.values() {
                prop_assert!(names.contains(name), "{name:?} is not a configured name");
            }
            prop_assert_eq!(
                got.names.keys().collect::<Vec<_>>(),
                want.names.keys().collect::<Vec<_>>()
            );
        }
    }
}
