//! Request semantics of `MemoryStore`, through the `Store` trait.

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

use lease_memory::store::expr::{
    Attr, Comparator, Condition, Operand, UpdateAction, UpdateValue, Value,
};
use lease_memory::{
    KeyError, MemoryError, MemoryStore, store::AttributeValue, store::Item, store::Request,
    store::Store, store::StoreErrorKind, store::StoreResponse,
};
use lease_memory::{
    store::DeleteRequest, store::GetRequest, store::OnConditionFailure, store::PutRequest,
    store::ReturnValues, store::UpdateRequest,
};
use proptest::prelude::*;

const TABLE: &str = "tbl";

fn s(v: &str) -> AttributeValue {
    AttributeValue::string(v)
}

fn n(v: &str) -> AttributeValue {
    AttributeValue::N(v.into())
}

fn item(pairs: &[(&str, AttributeValue)]) -> Item {
    pairs
        .iter()
        .map(|(k, v)| ((*k).into(), v.clone()))
        .collect()
}

fn key(pk: &str) -> Item {
    item(&[("pk", s(pk)), ("sk", s("LOCK"))])
}

fn with(pk: &str, extra: &[(&str, AttributeValue)]) -> Item {
    let mut item = key(pk);
    item.extend(extra.iter().map(|(k, v)| ((*k).into(), v.clone())));
    item
}

fn store() -> MemoryStore {
    let store = MemoryStore::new();
    store.create_table(TABLE, "pk", Some("sk")).unwrap();
    store
}

fn put(item: Item, condition: Option<Condition>, on_fail: OnConditionFailure) -> Request {
    Request::Put(PutRequest {
        table_name: TABLE.into(),
        item,
        condition,
        on_condition_failure: on_fail,
    })
}

fn plain_put(item: Item) -> Request {
    put(item, None, OnConditionFailure::ReturnNothing)
}

fn update(key: Item, update: Vec<UpdateAction>, return_values: ReturnValues) -> Request {
    Request::Update(UpdateRequest {
        table_name: TABLE.into(),
        key,
        update,
        condition: None,
        return_values,
        on_condition_failure: OnConditionFailure::ReturnNothing,
    })
}

fn delete(key: Item, condition: Option<Condition>, on_fail: OnConditionFailure) -> Request {
    Request::Delete(DeleteRequest {
        table_name: TABLE.into(),
        key,
        condition,
        on_condition_failure: on_fail,
    })
}

fn get(key: Item) -> Request {
    Request::Get(GetRequest {
        table_name: TABLE.into(),
        key,
        consistent_read: true,
    })
}

/// Executes on the store; the future is already complete.
fn exec(
    store: &MemoryStore,
    request: &Request,
) -> Result<StoreResponse, lease_memory::store::StoreError> {
    let mut future = std::pin::pin!(store.execute(request));
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(answer) => answer,
        std::task::Poll::Pending => panic!("MemoryStore::execute must be ready at once"),
    }
}

fn applied(store: &MemoryStore, request: &Request) -> Option<Item> {
    match exec(store, request) {
        Ok(StoreResponse::Applied { attributes }) => attributes,
        other => panic!("expected Applied, got {other:?}"),
    }
}

fn failed(store: &MemoryStore, request: &Request) -> Option<Item> {
    match exec(store, request) {
        Ok(StoreResponse::ConditionFailed { old_item }) => old_item,
        other => panic!("expected ConditionFailed, got {other:?}"),
    }
}

fn rejected(store: &MemoryStore, request: &Request) -> StoreErrorKind {
    match exec(store, request) {
        Err(e) => e.kind(),
        other => panic!("expected an error, got {other:?}"),
    }
}

fn read(store: &MemoryStore, key: Item) -> Option<Item> {
    match exec(store, &get(key)) {
        Ok(StoreResponse::Item(item)) => item,
        other => panic!("expected Item, got {other:?}"),
    }
}

fn attr(name: &str) -> Attr {
    Attr::new("a", name)
}

fn token_is(token: &str) -> Condition {
    Condition::compare(attr("tok"), Comparator::Eq, Value::new("tok", s(token)))
}

#[test]
fn unknown_table_is_resource_not_found_for_every_request() {
    let store = store();
    let elsewhere = |mut r: Request| {
        match &mut r {
            Request::Put(p) => p.table_name = "nope".into(),
            Request::Update(u) => u.table_name = "nope".into(),
            Request::Delete(d) => d.table_name = "nope".into(),
            Request::Get(g) => g.table_name = "nope".into(),
            _ => unreachable!(),
        }
        r
    };
    for request in [
        plain_put(key("A")),
        update(key("A"), vec![], ReturnValues::None),
        delete(key("A"), None, OnConditionFailure::ReturnNothing),
        get(key("A")),
    ] {
        assert_eq!(
            rejected(&store, &elsewhere(request)),
            StoreErrorKind::ResourceNotFound
        );
    }
    // A name that cannot be a table name is a validation error, as in DynamoDB.
    let mut bad = get(key("A"));
    if let Request::Get(g) = &mut bad {
        g.table_name = "a b".into();
    }
    assert_eq!(rejected(&store, &bad), StoreErrorKind::Validation);
    assert_eq!(store.requests_executed(), 5);
}

#[test]
fn keys_are_validated_against_the_schema() {
    let store = store();
    let cases = [
        plain_put(item(&[("pk", s("A"))])),
        plain_put(item(&[("pk", n("1")), ("sk", s("LOCK"))])),
        plain_put(item(&[("pk", s("")), ("sk", s("LOCK"))])),
        plain_put(item(&[("pk", s(&"x".repeat(2049))), ("sk", s("LOCK"))])),
        get(with("A", &[("extra", s("x"))])),
        get(item(&[("pk", s("A"))])),
        delete(
            with("A", &[("extra", s("x"))]),
            None,
            OnConditionFailure::ReturnNothing,
        ),
        update(with("A", &[("extra", s("x"))]), vec![], ReturnValues::None),
        update(
            item(&[("pk", s("A")), ("sk", s(""))]),
            vec![],
            ReturnValues::None,
        ),
    ];
    for request in &cases {
        assert_eq!(
            rejected(&store, request),
            StoreErrorKind::Validation,
            "{request:?}"
        );
    }
    assert!(store.items(TABLE).is_empty(), "nothing was written");
    assert_eq!(store.requests_executed(), cases.len() as u64);
}

#[test]
fn a_failed_condition_returns_the_old_item_only_when_asked() {
    let store = store();
    let stored = with("A", &[("tok", s("mine"))]);
    applied(&store, &plain_put(stored.clone()));
    let replacement = with("A", &[("tok", s("theirs"))]);
    let wrong = || Some(token_is("other"));
    assert_eq!(
        failed(
            &store,
            &put(
                replacement.clone(),
                wrong(),
                OnConditionFailure::ReturnOldItem
            )
        ),
        Some(stored.clone())
    );
    assert_eq!(
        failed(
            &store,
            &put(replacement, wrong(), OnConditionFailure::ReturnNothing)
        ),
        None
    );
    assert_eq!(
        failed(
            &store,
            &delete(key("A"), wrong(), OnConditionFailure::ReturnOldItem)
        ),
        Some(stored.clone())
    );
    assert_eq!(
        failed(
            &store,
            &delete(key("A"), wrong(), OnConditionFailure::ReturnNothing)
        ),
        None
    );
    let mut u = update(
        key("A"),
        vec![UpdateAction::set(attr("x"), Value::new("x", s("y")))],
        ReturnValues::AllNew,
    );
    if let Request::Update(r) = &mut u {
        r.condition = wrong();
        r.on_condition_failure = OnConditionFailure::ReturnOldItem;
    }
    assert_eq!(failed(&store, &u), Some(stored.clone()));
    // No item: nothing to return, even when asked.
    assert_eq!(
        failed(
            &store,
            &delete(key("B"), wrong(), OnConditionFailure::ReturnOldItem)
        ),
        None
    );
    assert_eq!(store.items(TABLE), [stored], "nothing was written");
}

#[test]
fn put_replaces_the_whole_item_and_get_reads_it() {
    let store = store();
    applied(
        &store,
        &plain_put(with("A", &[("old", s("1")), ("kept", s("no"))])),
    );
    applied(&store, &plain_put(with("A", &[("new", n("2"))])));
    assert_eq!(read(&store, key("A")), Some(with("A", &[("new", n("2"))])));
    assert_eq!(read(&store, key("B")), None);
}

#[test]
fn conditions_see_the_current_item() {
    let store = store();
    let create = || {
        put(
            with("A", &[("tok", s("t1"))]),
            Some(Condition::not_exists(attr("pk"))),
            OnConditionFailure::ReturnNothing,
        )
    };
    applied(&store, &create());
    failed(&store, &create());
    // `<>` holds when the attribute is missing (DynamoDB's semantics).
    let not_other = Condition::compare(attr("missing"), Comparator::Ne, Value::new("v", s("x")));
    applied(
        &store,
        &put(
            with("A", &[("tok", s("t2"))]),
            Some(not_other),
            OnConditionFailure::ReturnNothing,
        ),
    );
    applied(
        &store,
        &delete(
            key("A"),
            Some(token_is("t2")),
            OnConditionFailure::ReturnNothing,
        ),
    );
    assert_eq!(read(&store, key("A")), None);
    // A conditional delete of nothing: the condition sees no item.
    failed(
        &store,
        &delete(
            key("A"),
            Some(token_is("t2")),
            OnConditionFailure::ReturnNothing,
        ),
    );
    applied(
        &store,
        &delete(
            key("A"),
            Some(Condition::not_exists(attr("pk"))),
            OnConditionFailure::ReturnNothing,
        ),
    );
}

#[test]
fn numbers_are_stored_canonically_and_compared_exactly() {
    let store = store();
    applied(
        &store,
        &plain_put(with("A", &[("x", n("2.00")), ("y", n("1E2"))])),
    );
    assert_eq!(
        read(&store, key("A")),
        Some(with("A", &[("x", n("2")), ("y", n("100"))]))
    );
    let equal_two = Condition::compare(attr("x"), Comparator::Eq, Value::new("v", n("2.0")));
    applied(
        &store,
        &delete(key("A"), Some(equal_two), OnConditionFailure::ReturnNothing),
    );
    assert_eq!(
        rejected(&store, &plain_put(with("A", &[("x", n("1.2.3"))]))),
        StoreErrorKind::Validation
    );
    assert_eq!(
        rejected(
            &store,
            &plain_put(with("A", &[("x", AttributeValue::Ss(vec![]))]))
        ),
        StoreErrorKind::Validation
    );
    let bad_literal = Condition::compare(attr("x"), Comparator::Eq, Value::new("v", n("two")));
    assert_eq!(
        rejected(
            &store,
            &put(
                key("A"),
                Some(bad_literal),
                OnConditionFailure::ReturnNothing
            )
        ),
        StoreErrorKind::Validation
    );
    assert_eq!(read(&store, key("A")), None);
}

fn counter() -> UpdateAction {
    UpdateAction::Set(
        attr("count"),
        UpdateValue::Plus(
            Box::new(UpdateValue::IfNotExists(
                attr("count"),
                Value::new("zero", n("0")),
            )),
            Box::new(UpdateValue::Operand(Operand::Value(Value::new(
                "one",
                n("1"),
            )))),
        ),
    )
}

#[test]
fn update_is_an_upsert_with_return_values() {
    let store = store();
    let created = applied(
        &store,
        &update(key("A"), vec![counter()], ReturnValues::AllNew),
    );
    assert_eq!(created, Some(with("A", &[("count", n("1"))])));
    let before = applied(
        &store,
        &update(key("A"), vec![counter()], ReturnValues::AllOld),
    );
    assert_eq!(before, Some(with("A", &[("count", n("1"))])));
    let none = applied(
        &store,
        &update(key("A"), vec![counter()], ReturnValues::None),
    );
    assert_eq!(none, None);
    assert_eq!(
        read(&store, key("A")),
        Some(with("A", &[("count", n("3"))]))
    );
    // ALL_OLD of an item that did not exist is nothing.
    assert_eq!(
        applied(
            &store,
            &update(key("B"), vec![counter()], ReturnValues::AllOld)
        ),
        None
    );
    // REMOVE, and an update with no actions creates the bare key.
    let remove = vec![UpdateAction::Remove(attr("count"))];
    assert_eq!(
        applied(&store, &update(key("A"), remove, ReturnValues::AllNew)),
        Some(key("A"))
    );
    assert_eq!(
        applied(&store, &update(key("C"), vec![], ReturnValues::AllNew)),
        Some(key("C"))
    );
}

/// As in DynamoDB (and dynalite, whose suite runs against it), an update that creates the
/// item evaluates its right-hand sides against the key: the key attributes exist.
#[test]
fn an_update_that_creates_the_item_reads_its_key() {
    let store = store();
    let copy = vec![
        UpdateAction::Set(attr("a"), UpdateValue::Operand(Operand::Attr(attr("pk")))),
        UpdateAction::Set(
            attr("b"),
            UpdateValue::IfNotExists(attr("sk"), Value::new("d", s("default"))),
        ),
    ];
    assert_eq!(
        applied(&store, &update(key("A"), copy, ReturnValues::UpdatedNew)),
        Some(item(&[("a", s("A")), ("b", s("LOCK"))]))
    );
    // `+` on the (string) key attribute is a type error, not the default.
    let plus = vec![UpdateAction::Set(
        attr("c"),
        UpdateValue::Plus(
            Box::new(UpdateValue::IfNotExists(
                attr("pk"),
                Value::new("z", n("0")),
            )),
            Box::new(UpdateValue::Operand(Operand::Value(Value::new(
                "one",
                n("1"),
            )))),
        ),
    )];
    assert_eq!(
        rejected(&store, &update(key("B"), plus, ReturnValues::None)),
        StoreErrorKind::Validation
    );
    assert_eq!(read(&store, key("B")), None, "nothing written");
}

#[test]
fn updated_new_returns_the_set_attributes_only() {
    let store = store();
    applied(
        &store,
        &plain_put(with("A", &[("gone", s("x")), ("kept", s("y"))])),
    );
    let actions = vec![
        counter(),
        UpdateAction::set(attr("name"), Value::new("v", s("new"))),
        UpdateAction::Remove(attr("gone")),
    ];
    // Not the key, not the untouched attribute, not the removed one; values after the update.
    let expected = item(&[("count", n("1")), ("name", s("new"))]);
    assert_eq!(
        applied(
            &store,
            &update(key("A"), actions.clone(), ReturnValues::UpdatedNew)
        ),
        Some(expected.clone())
    );
    // The same when the update creates the item.
    assert_eq!(
        applied(&store, &update(key("B"), actions, ReturnValues::UpdatedNew)),
        Some(expected)
    );
    assert_eq!(
        read(&store, key("A")),
        Some(with(
            "A",
            &[("count", n("1")), ("kept", s("y")), ("name", s("new"))]
        ))
    );
}

#[test]
fn invalid_updates_are_rejected_and_write_nothing() {
    let store = store();
    applied(&store, &plain_put(with("A", &[("s", s("text"))])));
    let plus = |operand: &str| {
        vec![UpdateAction::Set(
            attr("out"),
            UpdateValue::Plus(
                Box::new(UpdateValue::Operand(Operand::Attr(attr(operand)))),
                Box::new(UpdateValue::Operand(Operand::Value(Value::new(
                    "one",
                    n("1"),
                )))),
            ),
        )]
    };
    for actions in [
        plus("s"),
        plus("missing"),
        vec![UpdateAction::set(attr("pk"), Value::new("v", s("other")))],
        vec![UpdateAction::Remove(attr("sk"))],
    ] {
        assert_eq!(
            rejected(&store, &update(key("A"), actions, ReturnValues::None)),
            StoreErrorKind::Validation
        );
    }
    assert_eq!(store.items(TABLE), [with("A", &[("s", s("text"))])]);
}

#[test]
fn tables_without_a_sort_key() {
    let store = MemoryStore::new();
    store.create_table("flat", "id", None).unwrap();
    let request = Request::Put(PutRequest::new(
        "flat",
        item(&[("id", s("1")), ("sk", s("just an attribute"))]),
    ));
    applied(&store, &request);
    assert_eq!(
        store
            .get_item("flat", &item(&[("id", s("1"))]))
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn table_management_errors() {
    let store = store();
    assert_eq!(
        store.create_table(TABLE, "pk", None),
        Err(MemoryError::TableExists {
            table: TABLE.into()
        })
    );
    assert!(matches!(
        store.create_table("x", "pk", None),
        Err(MemoryError::InvalidTableName { .. })
    ));
    assert!(matches!(
        store.create_table("ok_name", "", None),
        Err(MemoryError::InvalidKeyAttributeName { .. })
    ));
    assert!(matches!(
        store.create_table("ok_name", "k", Some("k")),
        Err(MemoryError::DuplicateKeyAttributeName { .. })
    ));
}

#[test]
fn helpers_read_and_write_directly_without_counting_requests() {
    let store = store();
    // A malformed lease item: expiry as a string, no token.
    let malformed = with("B", &[("lease_expires_at", s("soon"))]);
    store
        .put_item_unconditionally(TABLE, malformed.clone())
        .unwrap();
    store
        .put_item_unconditionally(TABLE, with("A", &[("n", n("not a number"))]))
        .unwrap();
    assert_eq!(store.get_item(TABLE, &key("B")), Some(malformed.clone()));
    assert_eq!(
        store.get_item(TABLE, &malformed),
        Some(malformed.clone()),
        "a whole item is its own key"
    );
    let keys: Vec<_> = store.items(TABLE).iter().map(|i| i["pk"].clone()).collect();
    assert_eq!(keys, [s("A"), s("B")], "ordered by key");
    assert_eq!(
        store.delete_item_unconditionally(TABLE, &key("B")),
        Ok(Some(malformed))
    );
    assert_eq!(
        store.delete_item_unconditionally(TABLE, &key("B")),
        Ok(None)
    );
    assert_eq!(
        store.put_item_unconditionally(TABLE, item(&[("pk", s("A"))])),
        Err(MemoryError::InvalidKey {
            table: TABLE.into(),
            reason: KeyError::Missing {
                attribute: "sk".into()
            }
        })
    );
    assert!(matches!(
        store.put_item_unconditionally("nope", key("A")),
        Err(MemoryError::TableNotFound { .. })
    ));
    assert_eq!(store.get_item("nope", &key("A")), None);
    assert!(store.items("nope").is_empty());
    assert_eq!(store.requests_executed(), 0);
}

#[test]
fn clones_share_tables_and_debug_hides_items() {
    let store = store();
    let clone = store.clone();
    applied(
        &clone,
        &plain_put(with("A", &[("lease_token", s("secret-token"))])),
    );
    assert_eq!(store.items(TABLE).len(), 1);
    assert_eq!(store.requests_executed(), 1);
    let shown = format!("{store:?}");
    assert!(
        shown.contains("tbl") && !shown.contains("secret-token"),
        "{shown}"
    );
}

/// Canonical DynamoDB numbers (no exponent, no leading or trailing zeros): stored as written.
fn canonical_number() -> impl Strategy<Value = String> {
    "-?(0|[1-9][0-9]{0,18})(\\.[0-9]{0,10}[1-9])?".prop_filter("-0 is not canonical", |v| v != "-0")
}

fn s_or_n() -> impl Strategy<Value = AttributeValue> {
    prop_oneof![
        any::<String>().prop_map(|v| AttributeValue::S(v.into())),
        canonical_number().prop_map(|v| AttributeValue::N(v.into())),
    ]
}

proptest! {
    #[test]
    fn put_then_get_round_trips_any_item_of_strings_and_numbers(
        pk in "\\PC{1,40}",
        sk in "\\PC{1,40}",
        attributes in proptest::collection::btree_map("\\PC{1,20}", s_or_n(), 0..12),
    ) {
        let store = store();
        let mut stored: Item = attributes.into_iter().map(|(k, v)| (k.into(), v)).collect();
        stored.insert("pk".into(), s(&pk));
        stored.insert("sk".into(), s(&sk));
        prop_assert_eq!(applied(&store, &plain_put(stored.clone())), None);
        let key = item(&[("pk", s(&pk)), ("sk", s(&sk))]);
        prop_assert_eq!(read(&store, key), Some(stored));
    }
}
