//! Writes guarded by the lease, in one transaction with a check of the lease item.

use lease::{
    LeaseError, LeaseKey, error::Operation, snapshot::StoredState, store::PutRequest,
    store::StoreErrorKind, transaction::TransactItem,
};

use super::format::{item, n, s};
use super::secs;
use crate::backend::Backend;
use crate::harness::Env;

fn meta(env_table: &str, generation: i64) -> TransactItem {
    TransactItem::Put(PutRequest::new(
        env_table,
        item(&[
            ("pk", s("CACHE#A")),
            ("sk", s("META")),
            ("generation", n(generation)),
        ]),
    ))
}

/// A write committed with the lease lands while the lease is held, and is rejected as
/// `NotOwned` (nothing written) once the lease has expired. FaceTheory's "commit the metadata
/// and drop the lock" lands only while held and releases the lease. Where the store has no
/// transactions (dynalite), the commit is `StoreErrorKind::Unsupported` and writes nothing.
pub async fn guarded_commit_lands_only_while_held<B: Backend>(backend: &B) {
    let env = Env::new(backend, "guarded_commit", |c| c).await;
    let table = env.config.table_name().to_owned();
    let key = env.key("CACHE#A");
    let meta_key = LeaseKey::new("CACHE#A", "META");
    let m = env.manager("a");
    let lease = m.try_acquire(key.clone(), secs(30)).await.unwrap();
    let name = backend.name();
    let result = m.commit(&lease, vec![meta(&table, 1)]).await;
    if !backend.capabilities().supports_transactions {
        let err = result.unwrap_err();
        assert!(
            matches!(&err, LeaseError::Store { operation: Operation::Commit, source, .. } if source.kind() == StoreErrorKind::Unsupported),
            "{name}: {err:?}"
        );
        assert_eq!(env.raw_item(&meta_key).await, None, "{name}");
        return;
    }
    result.unwrap();
    let generation = |i: Option<lease::store::Item>| i.and_then(|i| i.get("generation").cloned());
    assert_eq!(
        generation(env.raw_item(&meta_key).await),
        Some(n(1)),
        "{name}"
    );
    env.advance(secs(30));
    let err = m.commit(&lease, vec![meta(&table, 2)]).await.unwrap_err();
    assert!(err.is_not_owned(), "{name}: {err:?}");
    assert_eq!(
        generation(env.raw_item(&meta_key).await),
        Some(n(1)),
        "{name}: rejected commit wrote"
    );
    let lease = m.try_acquire(key.clone(), secs(30)).await.unwrap();
    m.commit_and_release(&lease, vec![meta(&table, 3)])
        .await
        .unwrap();
    assert_eq!(
        generation(env.raw_item(&meta_key).await),
        Some(n(3)),
        "{name}"
    );
    let state = m.inspect(key).await.unwrap().state;
    assert!(
        matches!(state, StoredState::Released(_)),
        "{name}: {state:?}"
    );
}
