//! Transactions on the in-memory store and writes guarded by a lease: the guard passes while
//! the lease is held and fails after expiry, takeover and release; a cancelled transaction
//! writes nothing, across items and tables; DynamoDB's whole-request rejections (two
//! operations on one item, item count, unknown table); per-item cancellation reasons; the
//! table description for `check_table`; faults on a guarded commit.

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

use lease_memory::LeaseKey;
use std::sync::Arc;
use std::time::Duration;

use lease_memory::store::expr::{Attr, Condition, Operand, UpdateAction, UpdateValue, Value};
use lease_memory::{
    Lease, LeaseConfig, LeaseError, LeaseManager, MemoryStore, ReleaseOutcome, clock::TestClock,
    config::RetryPolicy, error::InvalidInput, error::Operation, fault::Fault, fault::FaultRule,
    fault::FaultyStore, fault::RequestKind, snapshot::StoredState, store::AttributeValue,
    store::Item, store::Planner, store::Request, store::Store, store::StoreErrorKind,
    store::StoreResponse, token::LeaseToken,
};
use lease_memory::{
    error::CancellationReason, store::DeleteRequest, store::OnConditionFailure, store::PutRequest,
    store::UpdateRequest, table::KeyAttribute, table::KeyRole, table::Replication,
    table::ReplicationCheck, table::ScalarType, table::TableCheckError, table::TableDescription,
    table::TtlCheck, table::TtlStatus, transaction::ConditionCheckRequest,
    transaction::TransactItem, transaction::TransactRequest,
};

const TABLE: &str = "locks";
const LEASE: Duration = Duration::from_secs(30);

fn s(v: &str) -> AttributeValue {
    AttributeValue::string(v)
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::number(v)
}

fn item(pairs: &[(&str, AttributeValue)]) -> Item {
    pairs
        .iter()
        .map(|(k, v)| ((*k).into(), v.clone()))
        .collect()
}

fn key(pk: &str, sk: &str) -> Item {
    item(&[("pk", s(pk)), ("sk", s(sk))])
}

fn config() -> LeaseConfig {
    LeaseConfig::builder(TABLE).build().unwrap()
}

struct World {
    store: MemoryStore,
    clock: Arc<TestClock>,
}

impl World {
    fn new() -> Self {
        Self {
            store: MemoryStore::for_config(&config()),
            clock: Arc::new(TestClock::at_epoch_seconds(1_000).frozen()),
        }
    }

    fn manager(&self, token: &'static str) -> LeaseManager<MemoryStore> {
        LeaseManager::new(self.store.clone(), config())
            .with_clock(self.clock.clone())
            .with_token_source(move || LeaseToken::new(token))
    }

    fn meta(&self) -> Option<Item> {
        self.store.get_item(TABLE, &key("CACHE#A", "META"))
    }

    async fn state(&self) -> StoredState {
        let reader = self.manager("reader");
        reader
            .inspect(LeaseKey::lock("CACHE#A"))
            .await
            .unwrap()
            .state
    }
}

fn put_meta(generation: i64) -> TransactItem {
    TransactItem::Put(PutRequest::new(
        TABLE,
        item(&[
            ("pk", s("CACHE#A")),
            ("sk", s("META")),
            ("generation", n(generation)),
        ]),
    ))
}

#[tokio::test]
async fn the_guard_passes_while_the_lease_is_held() {
    let world = World::new();
    let manager = world.manager("tok-a");
    let lease = manager.try_acquire("CACHE#A", LEASE).await.unwrap();
    world.clock.advance(Duration::from_secs(29));
    manager.commit(&lease, vec![put_meta(1)]).await.unwrap();
    assert_eq!(world.meta().unwrap()["generation"], n(1));
    // The lease is still held, by the same token.
    assert!(world.state().await.is_held());
    assert_eq!(
        manager.release(&lease).await.unwrap(),
        ReleaseOutcome::Released
    );
}

#[tokio::test]
async fn the_guard_fails_once_the_lease_has_expired() {
    let world = World::new();
    let manager = world.manager("tok-a");
    let lease = manager.try_acquire("CACHE#A", LEASE).await.unwrap();
    world.clock.advance(LEASE);
    let err = manager.commit(&lease, vec![put_meta(1)]).await.unwrap_err();
    assert!(err.is_not_owned(), "{err:?}");
    assert_eq!(world.meta(), None);
}

#[tokio::test]
async fn the_guard_fails_after_a_takeover_and_after_release() {
    let world = World::new();
    let a = world.manager("tok-a");
    let b = world.manager("tok-b");
    let lease_a = a.try_acquire("CACHE#A", LEASE).await.unwrap();
    world.clock.advance(LEASE);
    let lease_b = b.try_acquire("CACHE#A", LEASE).await.unwrap();
    // A's clock would still call its lease valid if it were slow; the token says no.
    let err = a.commit(&lease_a, vec![put_meta(1)]).await.unwrap_err();
    assert!(err.is_not_owned(), "{err:?}");
    assert_eq!(world.meta(), None);

    b.commit(&lease_b, vec![put_meta(2)]).await.unwrap();
    assert_eq!(b.release(&lease_b).await.unwrap(), ReleaseOutcome::Released);
    let err = b.commit(&lease_b, vec![put_meta(3)]).await.unwrap_err();
    assert!(err.is_not_owned(), "{err:?}");
    assert_eq!(world.meta().unwrap()["generation"], n(2));
}

#[tokio::test]
async fn commit_and_release_writes_and_releases_together() {
    let world = World::new();
    let manager = world.manager("tok-a");
    let lease = manager.try_acquire("CACHE#A", LEASE).await.unwrap();
    let fence = lease.fence();
    manager
        .commit_and_release(&lease, vec![put_meta(1)])
        .await
        .unwrap();
    assert_eq!(world.meta().unwrap()["generation"], n(1));
    let StoredState::Released(info) = world.state().await else {
        panic!("not released");
    };
    assert_eq!(info.fence, Some(fence));
    // Anyone may take the lease at once, and the fencing token still grows.
    let next = world
        .manager("tok-b")
        .try_acquire("CACHE#A", LEASE)
        .await
        .unwrap();
    assert!(next.fence() > fence);
    // A second commit-and-release of the old lease is refused, and writes nothing.
    let err = manager
        .commit_and_release(&lease, vec![put_meta(9)])
        .await
        .unwrap_err();
    assert!(err.is_not_owned(), "{err:?}");
    assert_eq!(world.meta().unwrap()["generation"], n(1));
    assert!(world.state().await.is_held());
}

#[tokio::test]
async fn a_cancelled_commit_writes_nothing_anywhere() {
    let world = World::new();
    world.store.create_table("data", "id", None).unwrap();
    world
        .store
        .put_item_unconditionally("data", item(&[("id", s("x")), ("v", n(1))]))
        .unwrap();
    let manager = world.manager("tok-a");
    let lease = manager.try_acquire("CACHE#A", LEASE).await.unwrap();
    let lock_before = world.store.get_item(TABLE, &key("CACHE#A", "LOCK"));

    // The caller's own condition fails (the META item must not exist yet, and it does).
    world
        .store
        .put_item_unconditionally(TABLE, item(&[("pk", s("CACHE#A")), ("sk", s("META"))]))
        .unwrap();
    let create_meta = TransactItem::Put(
        PutRequest::new(
            TABLE,
            item(&[
                ("pk", s("CACHE#A")),
                ("sk", s("META")),
                ("generation", n(1)),
            ]),
        )
        .condition(Condition::not_exists(Attr::new("pk", "pk")))
        .on_condition_failure(OnConditionFailure::ReturnOldItem),
    );
    let bump_data = TransactItem::Update(UpdateRequest::new(
        "data",
        item(&[("id", s("x"))]),
        vec![UpdateAction::Set(
            Attr::new("v", "v"),
            UpdateValue::Plus(
                Box::new(UpdateValue::Operand(Operand::Attr(Attr::new("v", "v")))),
                Box::new(UpdateValue::Operand(Operand::Value(Value::new(
                    "one",
                    n(1),
                )))),
            ),
        )],
    ));
    let delete_other = TransactItem::Delete(DeleteRequest::new(TABLE, key("CACHE#B", "META")));
    world
        .store
        .put_item_unconditionally(TABLE, key("CACHE#B", "META"))
        .unwrap();

    let err = manager
        .commit_and_release(
            &lease,
            vec![bump_data.clone(), create_meta, delete_other.clone()],
        )
        .await
        .unwrap_err();
    let LeaseError::TransactionCanceled { reasons, .. } = &err else {
        panic!("not a cancellation: {err:?}");
    };
    assert_eq!(
        reasons,
        &[
            CancellationReason::None,
            CancellationReason::None,
            CancellationReason::ConditionalCheckFailed {
                old_item: Some(item(&[("pk", s("CACHE#A")), ("sk", s("META"))]))
            },
            CancellationReason::None,
        ]
    );
    // Nothing was written: not the release, not the update in the other table, not the
    // delete.
    assert_eq!(
        world.store.get_item(TABLE, &key("CACHE#A", "LOCK")),
        lock_before
    );
    assert_eq!(
        world
            .store
            .get_item("data", &item(&[("id", s("x"))]))
            .unwrap()["v"],
        n(1)
    );
    assert!(
        world
            .store
            .get_item(TABLE, &key("CACHE#B", "META"))
            .is_some()
    );

    // The same writes, once the caller's condition holds, all land.
    manager
        .commit(&lease, vec![bump_data, delete_other, put_meta(2)])
        .await
        .unwrap();
    assert_eq!(
        world
            .store
            .get_item("data", &item(&[("id", s("x"))]))
            .unwrap()["v"],
        n(2)
    );
    assert!(
        world
            .store
            .get_item(TABLE, &key("CACHE#B", "META"))
            .is_none()
    );
    assert_eq!(world.meta().unwrap()["generation"], n(2));
}

#[tokio::test]
async fn a_failed_guard_and_failed_writes_each_get_their_reason() {
    let world = World::new();
    let manager = world.manager("tok-a");
    let lease = manager.try_acquire("CACHE#A", LEASE).await.unwrap();
    world.clock.advance(LEASE);
    let guard = manager.lease_check(&lease).unwrap();
    let must_be_absent = TransactItem::ConditionCheck(
        ConditionCheckRequest::new(
            TABLE,
            key("CACHE#A", "LOCK2"),
            Condition::exists(Attr::new("pk", "pk")),
        )
        .on_condition_failure(OnConditionFailure::ReturnOldItem),
    );
    let request = Request::Transact(TransactRequest {
        items: vec![
            put_meta(1),
            TransactItem::ConditionCheck(guard),
            must_be_absent,
        ],
    });
    let answer = world.store.execute(&request).await.unwrap();
    let StoreResponse::TransactionCanceled { reasons } = answer else {
        panic!("not cancelled: {answer:?}");
    };
    assert_eq!(
        reasons,
        [
            CancellationReason::None,
            // The guard asked for no item.
            CancellationReason::ConditionalCheckFailed { old_item: None },
            // No item to return.
            CancellationReason::ConditionalCheckFailed { old_item: None },
        ]
    );
    let planner = Planner::new(config());
    let guard = planner.lease_check(&lease, std::time::UNIX_EPOCH).unwrap();
    assert!(guard.check_failed(&reasons, 1));
    assert_eq!(world.meta(), None);
}

#[tokio::test]
async fn an_update_that_cannot_be_computed_cancels_with_a_validation_reason() {
    let world = World::new();
    world
        .store
        .put_item_unconditionally(
            TABLE,
            item(&[("pk", s("X")), ("sk", s("Y")), ("v", s("text"))]),
        )
        .unwrap();
    let request = Request::Transact(TransactRequest {
        items: vec![
            put_meta(1),
            TransactItem::Update(UpdateRequest::new(
                TABLE,
                key("X", "Y"),
                vec![UpdateAction::Set(
                    Attr::new("v", "v"),
                    UpdateValue::Plus(
                        Box::new(UpdateValue::Operand(Operand::Attr(Attr::new("v", "v")))),
                        Box::new(UpdateValue::Operand(Operand::Value(Value::new(
                            "one",
                            n(1),
                        )))),
                    ),
                )],
            )),
        ],
    });
    let StoreResponse::TransactionCanceled { reasons } =
        world.store.execute(&request).await.unwrap()
    else {
        panic!("not cancelled");
    };
    assert_eq!(reasons[0], CancellationReason::None);
    assert_eq!(reasons[1].code(), "ValidationError");
    assert_eq!(world.meta(), None);
}

fn check_on(pk: &str, sk: &str) -> TransactItem {
    TransactItem::ConditionCheck(ConditionCheckRequest::new(
        TABLE,
        key(pk, sk),
        Condition::not_exists(Attr::new("pk", "pk")),
    ))
}

#[tokio::test]
async fn requests_dynamodb_rejects_as_a_whole_write_nothing() {
    let world = World::new();
    let put_lock = TransactItem::Put(PutRequest::new(
        TABLE,
        item(&[("pk", s("CACHE#A")), ("sk", s("LOCK")), ("x", n(1))]),
    ));
    let cases: Vec<(Vec<TransactItem>, StoreErrorKind, &str)> = vec![
        (
            vec![put_meta(1), check_on("CACHE#A", "LOCK"), put_lock.clone()],
            StoreErrorKind::Validation,
            "multiple operations on one item",
        ),
        (
            vec![put_meta(1), put_meta(2)],
            StoreErrorKind::Validation,
            "multiple operations on one item",
        ),
        (vec![], StoreErrorKind::Validation, "between 1 and 100"),
        (
            (0..101)
                .map(|i| check_on(&format!("K{i}"), "LOCK"))
                .collect(),
            StoreErrorKind::Validation,
            "between 1 and 100",
        ),
        (
            vec![
                put_meta(1),
                TransactItem::Delete(DeleteRequest::new("missing", key("A", "B"))),
            ],
            StoreErrorKind::ResourceNotFound,
            "missing",
        ),
        (
            vec![
                put_meta(1),
                TransactItem::Delete(DeleteRequest::new(TABLE, item(&[("pk", s("A"))]))),
            ],
            StoreErrorKind::Validation,
            "does not match the schema",
        ),
        (
            vec![
                put_meta(1),
                TransactItem::Update(UpdateRequest::new(
                    TABLE,
                    key("A", "B"),
                    vec![UpdateAction::set(
                        Attr::new("sk", "sk"),
                        Value::new("v", s("C")),
                    )],
                )),
            ],
            StoreErrorKind::Validation,
            "part of the key",
        ),
    ];
    for (items, kind, words) in cases {
        let err = world
            .store
            .execute(&Request::Transact(TransactRequest { items }))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
        assert!(err.message().contains(words), "{words:?} not in {err}");
        assert_eq!(world.meta(), None);
    }
    // One hundred items on distinct items are fine.
    let hundred: Vec<TransactItem> = (0..100)
        .map(|i| check_on(&format!("K{i}"), "LOCK"))
        .collect();
    let answer = world
        .store
        .execute(&Request::Transact(TransactRequest { items: hundred }))
        .await
        .unwrap();
    assert_eq!(answer, StoreResponse::Applied { attributes: None });
}

#[tokio::test]
async fn the_manager_refuses_a_write_on_the_lease_item_before_sending() {
    let world = World::new();
    let manager = world.manager("tok-a");
    let lease = manager.try_acquire("CACHE#A", LEASE).await.unwrap();
    let sent = world.store.requests_executed();
    let on_lock = TransactItem::Update(UpdateRequest::new(
        TABLE,
        key("CACHE#A", "LOCK"),
        vec![UpdateAction::set(
            Attr::new("x", "x"),
            Value::new("x", n(1)),
        )],
    ));
    let err = manager
        .commit(&lease, vec![put_meta(1), on_lock])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            LeaseError::InvalidInput {
                operation: Operation::Commit,
                reason: InvalidInput::LeaseItemInTransaction { index: 1 },
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(world.store.requests_executed(), sent);
}

/// A guarded commit over DynamoDB's 100 items (the guard counts), and a commit-and-release
/// that writes the lease item, are refused by the manager before anything is sent.
#[tokio::test]
async fn the_manager_refuses_a_transaction_dynamodb_would_reject_before_sending() {
    let world = World::new();
    let manager = world.manager("tok-a");
    let lease = manager.try_acquire("CACHE#A", LEASE).await.unwrap();
    let sent = world.store.requests_executed();
    let hundred: Vec<TransactItem> = (0..100).map(put_meta).collect();
    let err = manager.commit(&lease, hundred).await.unwrap_err();
    assert!(
        matches!(
            err,
            LeaseError::InvalidInput {
                operation: Operation::Commit,
                reason: InvalidInput::TooManyTransactItems { count: 101 },
                ..
            }
        ),
        "{err:?}"
    );
    let on_lock = TransactItem::Delete(DeleteRequest::new(TABLE, key("CACHE#A", "LOCK")));
    let err = manager
        .commit_and_release(&lease, vec![on_lock])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            LeaseError::InvalidInput {
                reason: InvalidInput::LeaseItemInTransaction { index: 0 },
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(world.store.requests_executed(), sent);
    assert_eq!(world.meta(), None);
    assert!(matches!(world.state().await, StoredState::Held(_)));
}

#[tokio::test]
async fn the_store_describes_its_tables_for_check_table() {
    let world = World::new();
    let description = world.store.describe_table(TABLE).unwrap();
    assert_eq!(
        description,
        TableDescription {
            key_schema: vec![
                KeyAttribute::new("pk", KeyRole::Hash, ScalarType::S),
                KeyAttribute::new("sk", KeyRole::Range, ScalarType::S),
            ],
            replication: Replication::SingleRegion,
            ttl: TtlStatus::Unsupported,
        }
    );
    let check = Planner::new(config()).check_table(&description).unwrap();
    assert_eq!(check.ttl, TtlCheck::Unverified);
    assert_eq!(check.replication, ReplicationCheck::SingleRegion);

    world.store.create_table("flat", "id", None).unwrap();
    let flat = world.store.describe_table("flat").unwrap();
    let planner = Planner::new(
        LeaseConfig::builder("flat")
            .key_attribute_names("id", "sk")
            .build()
            .unwrap(),
    );
    assert_eq!(
        planner.check_table(&flat).unwrap_err(),
        TableCheckError::MissingSortKey {
            expected: "sk".into()
        }
    );
    assert_eq!(world.store.describe_table("nope"), None);
}

fn faulty_manager(
    faulty: &FaultyStore<MemoryStore>,
    clock: &Arc<TestClock>,
) -> LeaseManager<FaultyStore<MemoryStore>> {
    LeaseManager::new(faulty.clone(), config())
        .with_clock(clock.clone())
        .with_token_source(|| LeaseToken::new("tok-a"))
        .with_retry_policy(
            RetryPolicy::default()
                .max_attempts(3)
                .backoff(Duration::from_millis(1), Duration::from_millis(1)),
        )
}

async fn held(manager: &LeaseManager<FaultyStore<MemoryStore>>) -> Lease {
    manager.try_acquire("CACHE#A", LEASE).await.unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_commit_whose_answer_is_lost_is_outcome_unknown_and_not_resent() {
    let world = World::new();
    let faulty = FaultyStore::new(world.store.clone());
    let manager = faulty_manager(&faulty, &world.clock);
    let lease = held(&manager).await;
    faulty.push_rule(
        FaultRule::new(Fault::ApplyThenError(StoreErrorKind::Timeout))
            .matching(RequestKind::Transact)
            .times(1),
    );
    let err = manager
        .commit_and_release(&lease, vec![put_meta(1)])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            LeaseError::OutcomeUnknown {
                operation: Operation::Commit,
                ..
            }
        ),
        "{err:?}"
    );
    // It landed, and was sent once: a resend would have failed its guard (released).
    assert_eq!(world.meta().unwrap()["generation"], n(1));
    let commits = faulty
        .log()
        .iter()
        .filter(|logged| RequestKind::Transact.matches(logged.request()))
        .count();
    assert_eq!(commits, 1);
}

#[tokio::test(start_paused = true)]
async fn a_throttled_commit_is_resent() {
    let world = World::new();
    let faulty = FaultyStore::new(world.store.clone());
    let manager = faulty_manager(&faulty, &world.clock);
    let lease = held(&manager).await;
    faulty.push_rule(
        FaultRule::new(Fault::Transient(StoreErrorKind::Throttled))
            .matching(RequestKind::Write)
            .times(1),
    );
    manager.commit(&lease, vec![put_meta(1)]).await.unwrap();
    assert_eq!(world.meta().unwrap()["generation"], n(1));
    assert_eq!(faulty.log().len(), 3); // acquire, throttled commit, commit
}
