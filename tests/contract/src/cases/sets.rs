//! Lease sets: several keys acquired, refreshed and released together, one transaction each.

use lease::{
    LeaseError, LeaseKey, ReleaseOutcome, config::MAX_SET_KEYS, error::InvalidInput,
    error::Operation, snapshot::Holder, store::AttributeValue, store::StoreErrorKind,
};

use super::format::{n, s};
use super::secs;
use crate::backend::Backend;
use crate::harness::{Env, TIME_BASE};

/// The stored token, expiry and fencing token of the item at `key`.
async fn stored<S: lease::store::Store + Clone + 'static>(
    env: &Env<S>,
    key: &LeaseKey,
) -> Option<(AttributeValue, AttributeValue, Option<AttributeValue>)> {
    let item = env.raw_item(key).await?;
    Some((
        item.get("lease_token")?.clone(),
        item.get("lease_expires_at")?.clone(),
        item.get("lease_fence").cloned(),
    ))
}

/// A set is acquired all or nothing in one transaction: every key gets the set's token and
/// expiry and its own fencing token, and when some keys are held the error names each of them
/// (with its holder where the store returns old items) and nothing is written, the free keys
/// included. Refresh moves every key; a release frees them all; the next holder's fencing tokens
/// are greater, also within the same millisecond (the proposal is raised past the stored one).
/// A set one of whose keys was taken over refreshes as `NotOwned` without writing, and its
/// release frees the keys still held and says `NotHeld`. Where the store has no transactions
/// (dynalite), an acquire of a set is `StoreErrorKind::Unsupported` and writes nothing.
pub async fn lease_sets_are_all_or_nothing<B: Backend>(backend: &B) {
    let env = Env::new(backend, "lease_sets", |c| c).await;
    let name = backend.name();
    let [a_key, b_key, c_key, d_key, e_key] =
        ["A", "B", "C", "D", "E"].map(|p| env.key(&format!("JOB#{p}")));
    let a = env.manager("a");
    let b = env.manager("b");
    let result = a
        .try_acquire_set([a_key.clone(), b_key.clone(), c_key.clone()], secs(30))
        .await;
    if !backend.capabilities().supports_transactions {
        let err = result.unwrap_err();
        assert!(
            matches!(&err, LeaseError::Store { operation: Operation::Acquire, source, .. } if source.kind() == StoreErrorKind::Unsupported),
            "{name}: {err:?}"
        );
        for key in [&a_key, &b_key, &c_key] {
            assert_eq!(env.raw_item(key).await, None, "{name}: {key}");
        }
        return;
    }
    let set = result.unwrap();
    let first_fence = (TIME_BASE * 1000) as u64;
    assert_eq!(set.len(), 3, "{name}");
    assert_eq!(
        set.keys().cloned().collect::<Vec<_>>(),
        vec![a_key.clone(), b_key.clone(), c_key.clone()],
        "{name}: the keys in the order asked for"
    );
    for lease in set.leases() {
        assert_eq!(lease.fence().get(), first_fence, "{name}: {}", lease.key());
        assert_eq!(
            stored(&env, lease.key()).await,
            Some((s("a-1"), n(TIME_BASE + 30), Some(n(first_fence as i64)))),
            "{name}: {}",
            lease.key()
        );
    }

    // Some keys held: named, nothing written (E stays absent, D keeps b's lease).
    let d = b.try_acquire(d_key.clone(), secs(30)).await.unwrap();
    let err = b
        .try_acquire_set([c_key.clone(), d_key.clone(), e_key.clone()], secs(30))
        .await
        .unwrap_err();
    assert!(err.is_held(), "{name}: {err:?}");
    let LeaseError::HeldKeys { key, held } = &err else {
        panic!("{name}: {err:?}");
    };
    assert_eq!(key, &c_key, "{name}");
    let held_keys: Vec<&LeaseKey> = held.iter().map(|(k, _)| k).collect();
    assert_eq!(held_keys, vec![&c_key, &d_key], "{name}");
    if backend.capabilities().returns_old_item_on_condition_failure {
        for (_, holder) in held {
            let Holder::Known(info) = holder else {
                panic!("{name}: holder not named: {err:?}");
            };
            assert_eq!(
                lease::store::wire_time::epoch_seconds_floor(info.expires_at),
                TIME_BASE + 30,
                "{name}"
            );
        }
    }
    assert_eq!(env.raw_item(&e_key).await, None, "{name}: E written");
    assert_eq!(
        stored(&env, &d_key).await.map(|(t, ..)| t),
        Some(s("b-1")),
        "{name}"
    );
    assert_eq!(b.release(&d).await.unwrap(), ReleaseOutcome::Released);

    // Refresh moves every key; release frees them all.
    env.advance(secs(5));
    let set = a.refresh_set(&set, secs(30)).await.unwrap();
    for key in [&a_key, &b_key, &c_key] {
        assert_eq!(
            stored(&env, key).await.map(|(_, e, _)| e),
            Some(n(TIME_BASE + 35)),
            "{name}: {key}"
        );
    }
    assert_eq!(a.release_set(&set).await.unwrap(), ReleaseOutcome::Released);
    for key in [&a_key, &b_key, &c_key] {
        assert_eq!(
            stored(&env, key).await.map(|(_, e, _)| e),
            Some(n(0)),
            "{name}: {key} released"
        );
    }

    // The next set at the same millisecond: greater fencing tokens for every key.
    let next = b
        .try_acquire_set([c_key.clone(), a_key.clone(), b_key.clone()], secs(30))
        .await
        .unwrap();
    for lease in next.leases() {
        assert!(
            lease.fence().get() > first_fence,
            "{name}: {} {:?}",
            lease.key(),
            lease.fence()
        );
        assert_eq!(
            stored(&env, lease.key()).await.and_then(|(.., f)| f),
            Some(n(lease.fence().get() as i64)),
            "{name}"
        );
    }

    // One key taken over after expiry: refresh writes nothing; release frees the others.
    env.advance(secs(31));
    let c = env
        .manager("c")
        .try_acquire(c_key.clone(), secs(30))
        .await
        .unwrap();
    let err = b.refresh_set(&next, secs(30)).await.unwrap_err();
    assert!(
        matches!(&err, LeaseError::NotOwned { key } if key == &c_key),
        "{name}: {err:?}"
    );
    assert_eq!(b.release_set(&next).await.unwrap(), ReleaseOutcome::NotHeld);
    for key in [&a_key, &b_key] {
        assert_eq!(
            stored(&env, key).await.map(|(_, e, _)| e),
            Some(n(0)),
            "{name}: {key} released"
        );
    }
    assert_eq!(
        stored(&env, &c_key).await.map(|(t, ..)| t),
        Some(s("c-1")),
        "{name}: the new holder's lease was touched"
    );
    assert!(c.fence() > next.fence(&c_key).unwrap(), "{name}");
}

/// Bad sets are refused before any request: no keys, a key twice (also as a partition key and
/// its resolved form), more than 100 keys.
pub async fn lease_set_input_is_checked_before_any_request<B: Backend>(backend: &B) {
    let env = Env::new(backend, "lease_set_input", |c| c).await;
    let name = backend.name();
    let m = env.manager("a");
    let reason = |err: LeaseError| match err {
        LeaseError::InvalidInput { reason, .. } => reason,
        other => panic!("{name}: {other:?}"),
    };
    let none: [LeaseKey; 0] = [];
    let err = m.try_acquire_set(none, secs(30)).await.unwrap_err();
    assert_eq!(reason(err), InvalidInput::NoKeys, "{name}");
    let err = m
        .try_acquire_set([LeaseKey::from("JOB#A"), env.key("JOB#A")], secs(30))
        .await
        .unwrap_err();
    assert_eq!(
        reason(err),
        InvalidInput::DuplicateKey { index: 1 },
        "{name}"
    );
    let many: Vec<String> = (0..=MAX_SET_KEYS).map(|i| format!("JOB#{i}")).collect();
    let err = m.try_acquire_set(many, secs(30)).await.unwrap_err();
    assert_eq!(
        reason(err),
        InvalidInput::TooManyKeys {
            count: MAX_SET_KEYS + 1
        },
        "{name}"
    );
    let err = m
        .try_acquire_set(["JOB#A", ""], secs(30))
        .await
        .unwrap_err();
    assert_eq!(reason(err), InvalidInput::EmptyPartitionKey, "{name}");
    assert_eq!(env.store.requests(), 0, "{name}: a request was sent");
}
