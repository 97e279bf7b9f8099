//! What a successful `UpdateItem` returns for each `ReturnValues` mode, sent as raw requests.
//!
//! DynamoDB's API reference for `UpdateItem`: `NONE` returns nothing; `ALL_OLD` all of the
//! item's attributes as they were before the update; `ALL_NEW` all of them as they are after;
//! `UPDATED_NEW` only the updated attributes, as they are after. So `UPDATED_NEW` holds the
//! attributes the update `SET`s, never the key attributes, untouched attributes or removed
//! ones. Acquire relies on it: its fencing token comes from the `UPDATED_NEW` answer. moto
//! answers `UPDATED_NEW` with a diff of the item instead (see
//! [`Capabilities::updated_new_is_exactly_the_set_attributes`](crate::Capabilities)); its
//! answers are written out too.
//!
//! Every expected answer is written out here, never computed by the store under test.

use lease::store::ReturnValues;
use lease::store::expr::{Attr, Operand, UpdateAction, UpdateValue, Value};
use lease::{
    Lease, LeaseKey, ReleaseOutcome, store::Item, store::OnConditionFailure, store::Planner,
    store::Request, store::Store, store::StoreResponse, store::UpdateRequest, token::LeaseToken,
};

use super::format::{item, n, s};
use super::secs;
use crate::backend::Backend;
use crate::harness::{Env, TIME_BASE};

/// The item the updates start from, at key `(partition, ITEM)`.
fn before(partition: &str) -> Item {
    item(&[
        ("pk", s(partition)),
        ("sk", s("ITEM")),
        ("name", s("old")),
        ("same", s("same")),
        ("count", n(41)),
        ("gone", s("bye")),
        ("kept", s("untouched")),
    ])
}

fn key(partition: &str) -> LeaseKey {
    LeaseKey::new(partition, "ITEM")
}

/// `SET #name = :name, #same = :same, #count = if_not_exists(#count, :zero) + :one,
/// #fresh = if_not_exists(#fresh, :start) + :one REMOVE #gone`. On [`before`], `same` is set to
/// the value it has, and `fresh` is absent (so `if_not_exists` takes the default).
fn actions() -> Vec<UpdateAction> {
    let counter = |label, name: &str, default_label, default: i64| {
        UpdateAction::Set(
            Attr::new(label, name),
            UpdateValue::Plus(
                Box::new(UpdateValue::IfNotExists(
                    Attr::new(label, name),
                    Value::new(default_label, n(default)),
                )),
                Box::new(UpdateValue::Operand(Operand::Value(Value::new(
                    "one",
                    n(1),
                )))),
            ),
        )
    };
    vec![
        UpdateAction::set(Attr::new("name", "name"), Value::new("name", s("new"))),
        UpdateAction::set(Attr::new("same", "same"), Value::new("same", s("same"))),
        counter("count", "count", "zero", 0),
        counter("fresh", "fresh", "start", 100),
        UpdateAction::Remove(Attr::new("gone", "gone")),
    ]
}

/// Sends [`actions`] to `(partition, ITEM)` without a condition, asking for `return_values`,
/// and returns the attributes of the `Applied` answer.
async fn update<B: Backend>(
    env: &Env<B::Store>,
    backend: &B,
    partition: &str,
    return_values: ReturnValues,
) -> Option<Item> {
    let request = Request::Update(UpdateRequest {
        table_name: env.config.table_name().into(),
        key: env.key_item(&key(partition)),
        update: actions(),
        condition: None,
        return_values,
        on_condition_failure: OnConditionFailure::ReturnNothing,
    });
    match env.store.execute(&request).await {
        Ok(StoreResponse::Applied { attributes }) => attributes,
        other => panic!(
            "{}: UpdateItem {return_values:?} on {partition}: unexpected answer {other:?}",
            backend.name()
        ),
    }
}

/// The updated item as stored: the same whatever `ReturnValues` asked for.
fn after_update(partition: &str) -> Item {
    item(&[
        ("pk", s(partition)),
        ("sk", s("ITEM")),
        ("name", s("new")),
        ("same", s("same")),
        ("count", n(42)),
        ("fresh", n(101)),
        ("kept", s("untouched")),
    ])
}

/// The item the update creates where there was none.
fn after_create(partition: &str) -> Item {
    item(&[
        ("pk", s(partition)),
        ("sk", s("ITEM")),
        ("name", s("new")),
        ("same", s("same")),
        ("count", n(1)),
        ("fresh", n(101)),
    ])
}

/// `UPDATED_NEW` on an existing item returns exactly the `SET` attributes with their new values
/// (`count` = 41 + 1, `fresh` = 100 + 1 from `if_not_exists`, and `same`, set to the value it
/// had): not the key attributes, not the untouched `kept`, not the removed `gone`. moto leaves
/// out `same`, whose value did not change.
pub async fn updated_new_returns_only_the_set_attributes<B: Backend>(backend: &B) {
    let env = Env::new(backend, "updated_new_existing", |c| c).await;
    let name = backend.name();
    env.put_raw(before("RV#1")).await;
    let returned = update(&env, backend, "RV#1", ReturnValues::UpdatedNew).await;
    let expected = if backend
        .capabilities()
        .updated_new_is_exactly_the_set_attributes
    {
        item(&[
            ("name", s("new")),
            ("same", s("same")),
            ("count", n(42)),
            ("fresh", n(101)),
        ])
    } else {
        item(&[("name", s("new")), ("count", n(42)), ("fresh", n(101))])
    };
    assert_eq!(returned, Some(expected), "{name}");
    assert_eq!(
        env.raw_item(&key("RV#1")).await,
        Some(after_update("RV#1")),
        "{name}"
    );
}

/// `UPDATED_NEW` when the update creates the item returns the `SET` attributes only
/// (`count` = 0 + 1): not the key attributes the new item gets from the request's key. moto
/// returns the key attributes too.
pub async fn updated_new_on_a_new_item_returns_the_set_attributes<B: Backend>(backend: &B) {
    let env = Env::new(backend, "updated_new_created", |c| c).await;
    let name = backend.name();
    let returned = update(&env, backend, "RV#1", ReturnValues::UpdatedNew).await;
    let set = [
        ("name", s("new")),
        ("same", s("same")),
        ("count", n(1)),
        ("fresh", n(101)),
    ];
    let expected = if backend
        .capabilities()
        .updated_new_is_exactly_the_set_attributes
    {
        item(&set)
    } else {
        item(&[&[("pk", s("RV#1")), ("sk", s("ITEM"))], &set[..]].concat())
    };
    assert_eq!(returned, Some(expected), "{name}");
    assert_eq!(
        env.raw_item(&key("RV#1")).await,
        Some(after_create("RV#1")),
        "{name}"
    );
}

/// `ALL_NEW` returns the whole item after the update, key attributes included, both on an
/// existing item and on one the update creates.
pub async fn all_new_returns_the_whole_item_after<B: Backend>(backend: &B) {
    let env = Env::new(backend, "all_new", |c| c).await;
    let name = backend.name();
    env.put_raw(before("RV#1")).await;
    let returned = update(&env, backend, "RV#1", ReturnValues::AllNew).await;
    assert_eq!(
        returned,
        Some(after_update("RV#1")),
        "{name}: existing item"
    );
    let returned = update(&env, backend, "RV#2", ReturnValues::AllNew).await;
    assert_eq!(returned, Some(after_create("RV#2")), "{name}: new item");
}

/// `ALL_OLD` returns the whole item as it was before the update, key attributes included, and
/// nothing when the update creates the item.
pub async fn all_old_returns_the_whole_item_before<B: Backend>(backend: &B) {
    let env = Env::new(backend, "all_old", |c| c).await;
    let name = backend.name();
    env.put_raw(before("RV#1")).await;
    let returned = update(&env, backend, "RV#1", ReturnValues::AllOld).await;
    assert_eq!(returned, Some(before("RV#1")), "{name}: existing item");
    let returned = update(&env, backend, "RV#2", ReturnValues::AllOld).await;
    assert_eq!(returned, None, "{name}: new item");
    assert_eq!(
        env.raw_item(&key("RV#1")).await,
        Some(after_update("RV#1")),
        "{name}"
    );
    assert_eq!(
        env.raw_item(&key("RV#2")).await,
        Some(after_create("RV#2")),
        "{name}"
    );
}

/// `NONE` returns no attributes, on an existing item and on one the update creates; the update
/// is applied all the same.
pub async fn none_returns_no_attributes<B: Backend>(backend: &B) {
    let env = Env::new(backend, "return_none", |c| c).await;
    let name = backend.name();
    env.put_raw(before("RV#1")).await;
    let returned = update(&env, backend, "RV#1", ReturnValues::None).await;
    assert_eq!(returned, None, "{name}: existing item");
    let returned = update(&env, backend, "RV#2", ReturnValues::None).await;
    assert_eq!(returned, None, "{name}: new item");
    assert_eq!(
        env.raw_item(&key("RV#1")).await,
        Some(after_update("RV#1")),
        "{name}"
    );
    assert_eq!(
        env.raw_item(&key("RV#2")).await,
        Some(after_create("RV#2")),
        "{name}"
    );
}

/// Sends the planner's acquire request for `CACHE#A` with `token` and returns the answer's
/// attributes and the lease it interprets to.
async fn acquire_raw<B: Backend>(
    env: &Env<B::Store>,
    backend: &B,
    token: &str,
) -> (Option<Item>, Lease) {
    let planner = Planner::new(env.config.clone());
    let plan = planner
        .acquire(
            env.key("CACHE#A"),
            secs(30),
            env.now(),
            LeaseToken::new(token),
        )
        .unwrap();
    let response = env.store.execute(plan.request()).await;
    let Ok(StoreResponse::Applied { attributes }) = &response else {
        panic!(
            "{}: acquire {token}: unexpected answer {response:?}",
            backend.name()
        );
    };
    let attributes = attributes.clone();
    (attributes, plan.interpret(response).unwrap())
}

/// The answer to the acquire request itself is exactly the attributes it sets: token, expiry,
/// fencing token (the wall clock in epoch milliseconds + 1 on a fresh key) and TTL; no key
/// attributes (moto adds them on the fresh key, where the whole item is new). After a release,
/// the next acquire's answer carries the fencing token + 1. (`fencing_tokens_only_grow` checks
/// the growth through the manager; this pins the answer itself.)
pub async fn acquire_answer_is_the_set_lease_attributes<B: Backend>(backend: &B) {
    let env = Env::new(backend, "acquire_answer", |c| c).await;
    let name = backend.name();
    let first_fence = TIME_BASE * 1000 + 1;
    let lease_attributes = |token: &str, fence: i64| {
        [
            ("lease_token", s(token)),
            ("lease_expires_at", n(TIME_BASE + 30)),
            ("lease_fence", n(fence)),
            ("ttl", n(TIME_BASE + 30 + 3600)),
        ]
    };

    let (answer, lease) = acquire_raw(&env, backend, "a-1").await;
    let expected = if backend
        .capabilities()
        .updated_new_is_exactly_the_set_attributes
    {
        item(&lease_attributes("a-1", first_fence))
    } else {
        let key = [("pk", s("CACHE#A")), ("sk", s("LOCK"))];
        item(&[&key[..], &lease_attributes("a-1", first_fence)].concat())
    };
    assert_eq!(answer, Some(expected), "{name}: fresh key");
    assert_eq!(Some(lease.fence().get()), Some(first_fence as u64));

    assert_eq!(
        env.manager("a").release(&lease).await.unwrap(),
        ReleaseOutcome::Released,
        "{name}"
    );
    let (answer, lease) = acquire_raw(&env, backend, "a-2").await;
    assert_eq!(
        answer,
        Some(item(&lease_attributes("a-2", first_fence + 1))),
        "{name}: after release"
    );
    assert_eq!(Some(lease.fence().get()), Some(first_fence as u64 + 1));
}
