//! The cases the differential test generates: an optional initial item and 1–4 requests on one
//! key, built from small pools so that conditions and updates often meet the attributes they
//! name, and that both stores accept or reject alike.
//!
//! Requests are generated with placeholder addresses ([`TABLE`], partition key value [`KEY`]);
//! [`addressed`] points them at a real table and a fresh key per run.
//!
//! What is generated:
//! - Attributes: `a`, `b`, `c`. Conditions and `SET` operands also read the key attributes
//!   (`pk`, `sk`); an update target is rarely `sk` (a `ValidationException`).
//! - Values: strings (the empty string, ASCII, a 2-byte UTF-8 character) and numbers (integers,
//!   and spellings DynamoDB stores in canonical form: `1.50`, `-0`, `10e2`, `007`, `1E-3`, so
//!   that normalization and numeric equality are exercised). Stored items also hold `BOOL`s
//!   (cross-type comparisons, `+` on a non-number).
//! - `UpdateItem`: 1–3 actions, mostly on distinct attributes (sometimes two on one, a
//!   `ValidationException`): `SET` a literal, `if_not_exists(#x, :d)`, `#x + :n`,
//!   `if_not_exists(#x, :z) + :one`, a copy `#x`; `REMOVE`. An optional condition, any
//!   `ReturnValues`, either `OnConditionFailure`.
//! - Conditions: `attribute_exists`, `attribute_not_exists`, comparisons (`= <> < <= > >=`) of an
//!   attribute with a literal (on either side) or with another attribute (the same attribute on
//!   both sides is a `ValidationException`), under `AND`, `OR`, `NOT`, up to 3 levels deep.
//! - `PutItem` (an item of 0–3 attributes) and `DeleteItem`, each with an optional condition and
//!   either `OnConditionFailure`; consistent `GetItem`. Rarely a malformed key (an extra
//!   attribute, or a sort key of type `N`): a `ValidationException`.
//!
//! Shaped around where dynalite departs from DynamoDB (lease-memory follows DynamoDB there):
//! - Two attributes are compared only under `attribute_exists` of the first, never both
//!   missing ([`comparison`]).
//! - A `BOOL` literal only with `=` and `<>`, never with `<`, `<=`, `>`, `>=`
//!   ([`comparison`]).
//! - No `NOT` directly under `NOT` ([`condition`]).
//! - Strings hold characters of the Basic Multilingual Plane only: dynalite orders `S` values
//!   as JavaScript strings (UTF-16 code units: `toLexiStr` in `dynalite/db/index.js` returns the
//!   string itself, which `compare` orders with `<`), DynamoDB by their UTF-8 bytes (Developer
//!   Guide, "Comparison operator and function reference": "Strings are compared based on their
//!   UTF-8 binary encoding"), as lease-memory does. The two orders differ only between a
//!   character above U+FFFF and one in U+E000–U+FFFF.
//!
//! Left out because DynamoDB's behaviour is not documented and the two stores differ: a number
//! with a leading `+` (`"+1"`: lease-memory accepts it, dynalite rejects it, as big.js does),
//! and a literal compared with a literal (lease-memory evaluates it).

use std::fmt;
use std::sync::Arc;

use lease::store::expr::{Attr, Comparator, Condition, Operand, UpdateAction, UpdateValue, Value};
use lease::{store::AttributeValue, store::Item, store::Request, store::Text};
use lease::{
    store::DeleteRequest, store::GetRequest, store::OnConditionFailure, store::PutRequest,
    store::ReturnValues, store::UpdateRequest,
};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};

/// The table name requests are generated with.
pub(crate) const TABLE: &str = "differential-placeholder";
/// The partition key value requests are generated with.
pub(crate) const KEY: &str = "KEY";
/// The partition key attribute (the lease configuration's default).
pub(crate) const PK: &str = "pk";
/// The sort key attribute (the lease configuration's default).
pub(crate) const SK: &str = "sk";
/// The sort key value of every request.
const SORT: &str = "LOCK";

/// Non-key attribute names.
const NAMES: &[&str] = &["a", "b", "c"];
/// Names a condition or an update operand may read: the non-key attributes and the keys.
const READ_NAMES: &[&str] = &["pk", "sk", "a", "b", "c"];
/// Strings: empty, ASCII (upper case sorts before lower case), and `é` (two UTF-8 bytes).
const STRINGS: &[&str] = &["", "x", "y", "ab", "B", "é"];
/// Numbers: canonical integers, and spellings DynamoDB stores in canonical form (`1.50` as
/// `1.5`, `-0` as `0`, `10e2` as `1000`, `007` as `7`, `1E-3` as `0.001`).
const NUMBERS: &[&str] = &[
    "0", "1", "2", "3", "7", "10", "-1", "-3", "1.5", "1.50", "-0", "10e2", "1000", "007", "0.001",
    "1E-3", "-2.5",
];
const COMPARATORS: &[Comparator] = &Comparator::ALL;
const RETURN_VALUES: &[ReturnValues] = &[
    ReturnValues::None,
    ReturnValues::AllOld,
    ReturnValues::AllNew,
    ReturnValues::UpdatedNew,
];
const ON_FAILURE: &[OnConditionFailure] = &[
    OnConditionFailure::ReturnNothing,
    OnConditionFailure::ReturnOldItem,
];

/// One generated case: the item at the key before the requests (if any), and the requests.
#[derive(Clone)]
pub(crate) struct Case {
    /// Non-key attributes of the initial item, written with an unconditional `PutItem`; `None`:
    /// no item at the key.
    pub(crate) initial: Option<Item>,
    /// The requests, sent in order to both stores.
    pub(crate) steps: Vec<Request>,
}

/// Each request as DynamoDB receives it (rendered expressions), one per line.
impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.initial {
            Some(item) => writeln!(f, "initial item: {item:?}")?,
            None => writeln!(f, "initial item: none")?,
        }
        for (i, step) in self.steps.iter().enumerate() {
            writeln!(f, "  {}. {}", i + 1, describe(step))?;
        }
        Ok(())
    }
}

/// A request as DynamoDB receives it: operation, rendered expressions, values and options.
pub(crate) fn describe(request: &Request) -> String {
    let rendered = request.render();
    let mut out = match request {
        Request::Put(put) => format!("PutItem {:?}", put.item),
        Request::Update(update) => format!(
            "UpdateItem key={:?} {:?} ReturnValues={:?}",
            update.key,
            rendered.update.as_deref().unwrap_or(""),
            update.return_values
        ),
        Request::Delete(delete) => format!("DeleteItem key={:?}", delete.key),
        Request::Get(get) => format!("GetItem key={:?} consistent", get.key),
        other => format!("{other:?}"),
    };
    if let Some(condition) = &rendered.condition {
        out.push_str(&format!(" IF {condition:?}"));
    }
    if !rendered.values.is_empty() {
        out.push_str(&format!(" values={:?}", rendered.values));
    }
    if let Some(on_failure) = on_condition_failure(request) {
        out.push_str(&format!(" OnConditionFailure={on_failure:?}"));
    }
    out
}

/// What a write asks for when its condition fails; `None` for a read.
pub(crate) fn on_condition_failure(request: &Request) -> Option<OnConditionFailure> {
    match request {
        Request::Put(r) => Some(r.on_condition_failure),
        Request::Update(r) => Some(r.on_condition_failure),
        Request::Delete(r) => Some(r.on_condition_failure),
        _ => None,
    }
}

/// `request`, sent to `table`, with the partition key value `partition` instead of [`KEY`].
pub(crate) fn addressed(request: &Request, table: &Arc<str>, partition: &str) -> Request {
    let mut request = request.clone();
    let (table_name, key) = match &mut request {
        Request::Put(r) => (&mut r.table_name, &mut r.item),
        Request::Update(r) => (&mut r.table_name, &mut r.key),
        Request::Delete(r) => (&mut r.table_name, &mut r.key),
        Request::Get(r) => (&mut r.table_name, &mut r.key),
        other => panic!("not generated: {other:?}"),
    };
    *table_name = table.clone();
    key.insert(PK.into(), AttributeValue::string(partition));
    request
}

/// The key item at [`KEY`].
pub(crate) fn key() -> Item {
    Item::from([
        (PK.into(), AttributeValue::string(KEY)),
        (SK.into(), AttributeValue::string(SORT)),
    ])
}

/// An unconditional `PutItem` of `attributes` at [`KEY`]: how a case writes its initial item.
pub(crate) fn put_unconditionally(attributes: &Item) -> Request {
    let mut item = attributes.clone();
    item.extend(key());
    Request::Put(PutRequest::new(TABLE, item))
}

/// A consistent `GetItem` at [`KEY`]: how a case reads the item back.
pub(crate) fn consistent_get() -> Request {
    Request::Get(GetRequest {
        table_name: TABLE.into(),
        key: key(),
        consistent_read: true,
    })
}

/// A whole case.
pub(crate) fn case() -> impl Strategy<Value = Case> {
    (
        proptest::option::weighted(0.7, attributes()),
        vec(step(), 1..=4),
    )
        .prop_map(|(initial, steps)| Case { initial, steps })
}

fn step() -> impl Strategy<Value = Request> {
    prop_oneof![
        5 => update(),
        2 => put(),
        2 => delete(),
        1 => request_key().prop_map(|key| Request::Get(GetRequest {
            table_name: TABLE.into(),
            key,
            consistent_read: true,
        })),
    ]
}

fn update() -> impl Strategy<Value = Request> {
    (
        request_key(),
        actions(),
        proptest::option::weighted(0.6, condition()),
        select(RETURN_VALUES),
        select(ON_FAILURE),
    )
        .prop_map(
            |(key, update, condition, return_values, on_condition_failure)| {
                Request::Update(UpdateRequest {
                    table_name: TABLE.into(),
                    key,
                    update,
                    condition,
                    return_values,
                    on_condition_failure,
                })
            },
        )
}

fn put() -> impl Strategy<Value = Request> {
    (
        attributes(),
        item_key(),
        proptest::option::weighted(0.6, condition()),
        select(ON_FAILURE),
    )
        .prop_map(|(mut item, key, condition, on_condition_failure)| {
            item.extend(key);
            Request::Put(PutRequest {
                table_name: TABLE.into(),
                item,
                condition,
                on_condition_failure,
            })
        })
}

fn delete() -> impl Strategy<Value = Request> {
    (
        request_key(),
        proptest::option::weighted(0.6, condition()),
        select(ON_FAILURE),
    )
        .prop_map(|(key, condition, on_condition_failure)| {
            Request::Delete(DeleteRequest {
                table_name: TABLE.into(),
                key,
                condition,
                on_condition_failure,
            })
        })
}

/// The key of an `UpdateItem`, `DeleteItem` or `GetItem`: usually right, rarely with an extra
/// attribute or a sort key of the wrong type.
fn request_key() -> impl Strategy<Value = Item> {
    prop_oneof![
        18 => Just(key()),
        1 => Just({
            let mut key = key();
            key.insert("a".into(), AttributeValue::string("x"));
            key
        }),
        1 => Just(wrong_type_key()),
    ]
}

/// The key attributes of a `PutItem`'s item: usually right, rarely a sort key of type `N`.
fn item_key() -> impl Strategy<Value = Item> {
    prop_oneof![19 => Just(key()), 1 => Just(wrong_type_key())]
}

fn wrong_type_key() -> Item {
    let mut key = key();
    key.insert(SK.into(), AttributeValue::number(1));
    key
}

/// Non-key attributes of an item: 0–3 of `a`, `b`, `c`.
fn attributes() -> impl Strategy<Value = Item> {
    btree_map(select(NAMES).prop_map(Text::new), stored_value(), 0..=3)
}

fn string() -> impl Strategy<Value = AttributeValue> {
    select(STRINGS).prop_map(AttributeValue::string)
}

fn number() -> impl Strategy<Value = AttributeValue> {
    select(NUMBERS).prop_map(|n| AttributeValue::N(n.into()))
}

/// A literal in a `SET` or a condition: `S` or `N`.
fn literal() -> impl Strategy<Value = AttributeValue> {
    prop_oneof![string(), number()]
}

/// A value stored in an item: `S`, `N`, sometimes `BOOL`.
fn stored_value() -> impl Strategy<Value = AttributeValue> {
    prop_oneof![4 => string(), 4 => number(), 1 => any::<bool>().prop_map(AttributeValue::Bool)]
}

fn attr(name: &'static str) -> Attr {
    Attr::new(name, name)
}

fn read_attr() -> impl Strategy<Value = Attr> {
    select(READ_NAMES).prop_map(attr)
}

/// 1–3 update actions: mostly on distinct non-key attributes; sometimes two on one attribute
/// or one on the sort key (both a `ValidationException`).
fn actions() -> impl Strategy<Value = Vec<UpdateAction>> {
    let distinct = subsequence(NAMES, 1..=NAMES.len())
        .prop_shuffle()
        .prop_flat_map(|targets| {
            targets
                .into_iter()
                .map(|target| action(Just(target)))
                .collect::<Vec<_>>()
        });
    let any_targets = vec(
        action(prop_oneof![8 => select(NAMES), 1 => Just(SK)]),
        1..=3,
    );
    prop_oneof![6 => distinct, 1 => any_targets]
}

fn action(target: impl Strategy<Value = &'static str>) -> impl Strategy<Value = UpdateAction> {
    (target, set_value(), 0..4u8).prop_map(|(target, value, remove)| {
        if remove == 0 {
            UpdateAction::Remove(attr(target))
        } else {
            UpdateAction::Set(attr(target), value)
        }
    })
}

/// The right-hand side of a `SET`. Its operands may read the key attributes: DynamoDB builds an
/// item that does not exist yet from its key before it evaluates the update, so on a new item
/// `SET #x = #pk` copies the key and `if_not_exists(#pk, :d)` is the key (dynalite's suite,
/// which its authors run against DynamoDB, checks this: "should update values from other
/// attributes", "should update indexed attributes" in `test/updateItem.js`).
fn set_value() -> impl Strategy<Value = UpdateValue> {
    let value = |label: &'static str, v: AttributeValue| {
        Box::new(UpdateValue::Operand(Operand::Value(Value::new(label, v))))
    };
    prop_oneof![
        3 => literal().prop_map(|v| UpdateValue::Operand(Operand::Value(Value::new("v", v)))),
        2 => (read_attr(), literal())
            .prop_map(|(a, v)| UpdateValue::IfNotExists(a, Value::new("d", v))),
        1 => (read_attr(), number()).prop_map(move |(a, n)| UpdateValue::Plus(
            Box::new(UpdateValue::Operand(Operand::Attr(a))),
            value("n", n),
        )),
        2 => (read_attr(), number(), number()).prop_map(move |(a, z, one)| UpdateValue::Plus(
            Box::new(UpdateValue::IfNotExists(a, Value::new("z", z))),
            value("one", one),
        )),
        1 => read_attr().prop_map(|a| UpdateValue::Operand(Operand::Attr(a))),
    ]
}

/// A comparison of an attribute with a literal (either side) or with another attribute.
///
/// A comparison of two attributes comes guarded, `attribute_exists(#x) AND #x op #y`, so that
/// it never compares two missing attributes: dynalite's `compare` (`dynalite/db/index.js`)
/// finds two missing values of the same (no) type and equal, so `#x = #y`, `<=` and `>=` hold
/// and `<>` does not (measured with dynalite 4.0.0), while in DynamoDB a comparison with a
/// missing attribute is false except `<>`, which is true, as lease-memory answers (checked
/// against DynamoDB by ScyllaDB's Alternator, scylladb/scylladb#8511, and by ExtendDB,
/// ExtendDB/extenddb#5). With the guard, both answer false when `#x` is missing, and compare
/// as usual otherwise.
///
/// The literal is `S` or `N`, and for `=` and `<>` rarely `BOOL`. Not a `BOOL` with `<`, `<=`,
/// `>`, `>=`: DynamoDB orders only `S`, `N` and `B` and rejects an ordering comparison with a
/// literal of another type (a `ValidationException`, as lease-memory answers; the API
/// reference's `ComparisonOperator`: "`LT`: `AttributeValueList` can contain only one
/// `AttributeValue` element of type String, Number, or Binary"), but dynalite does not check
/// operand types of comparisons in expressions (`checkFunction` in `dynalite/db/
/// conditionParser.js` checks only functions) and evaluates the comparison as false.
fn comparison() -> impl Strategy<Value = Condition> {
    let with_literal = select(COMPARATORS)
        .prop_flat_map(|op| {
            (
                read_attr(),
                Just(op),
                comparison_literal(op),
                prop::bool::weighted(0.2),
            )
        })
        .prop_map(|(a, op, v, literal_first)| {
            let (a, v) = (Operand::Attr(a), Operand::Value(Value::new("c", v)));
            if literal_first {
                Condition::Compare(v, op, a)
            } else {
                Condition::Compare(a, op, v)
            }
        });
    let with_attribute = (read_attr(), select(COMPARATORS), read_attr()).prop_map(|(a, op, b)| {
        Condition::exists(a.clone()).and(Condition::Compare(Operand::Attr(a), op, Operand::Attr(b)))
    });
    prop_oneof![5 => with_literal, 1 => with_attribute]
}

/// A literal to compare with `op`: `S` or `N`; for `=` and `<>` also, rarely, a `BOOL`.
fn comparison_literal(op: Comparator) -> BoxedStrategy<AttributeValue> {
    if matches!(op, Comparator::Eq | Comparator::Ne) {
        prop_oneof![
            8 => literal(),
            1 => any::<bool>().prop_map(AttributeValue::Bool),
        ]
        .boxed()
    } else {
        literal().boxed()
    }
}

/// A condition of up to 3 levels of `AND`, `OR`, `NOT` over existence checks and comparisons.
///
/// Never `NOT` directly under `NOT`: the renderer writes it `NOT NOT x`, which dynalite rejects
/// as a syntax error (its grammar takes `NOT` only before a comparison, a function or a
/// parenthesized condition, `NotConditionExpression` in `dynalite/db/conditionParser.js`),
/// while DynamoDB's documented grammar (`condition ::= ... | NOT condition | ...`, Developer
/// Guide, "Comparison operator and function reference") admits it.
fn condition() -> impl Strategy<Value = Condition> {
    let leaf = prop_oneof![
        1 => read_attr().prop_map(Condition::exists),
        1 => read_attr().prop_map(Condition::not_exists),
        3 => comparison(),
    ];
    leaf.prop_recursive(3, 8, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.and(b)),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.or(b)),
            inner.prop_map(|c| match c {
                Condition::Not(_) => c,
                c => c.not(),
            }),
        ]
    })
}
