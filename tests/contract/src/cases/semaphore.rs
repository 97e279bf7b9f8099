//! Counting semaphores: at most N permits of one name held at once, each a lease on a slot.

use lease::{
    LeaseError, LeaseKey, ReleaseOutcome, error::InvalidInput, semaphore::MAX_PERMITS,
    semaphore::PERMIT_SORT_KEY_PREFIX, semaphore::permit_index,
};

use super::secs;
use crate::backend::Backend;
use crate::harness::{Env, TIME_BASE};

/// The slot number of a permit.
fn slot(lease: &lease::Lease) -> u32 {
    lease.key().sort().and_then(permit_index).unwrap()
}

/// At most N permits are held; a full semaphore says when the earliest permit expires; a
/// release or an expiry frees a permit; an acquire costs one `Query` and one `UpdateItem`;
/// shrinking N admits no more than the new N once the permits above it are gone, and growing
/// it admits more at once.
pub async fn a_semaphore_admits_at_most_n_holders<B: Backend>(backend: &B) {
    let env = Env::new(backend, "semaphore", |c| c).await;
    let name = backend.name();
    let m = |who: &str| env.manager(who);
    let (a, b, c) = (m("a"), m("b"), m("c"));

    let before = env.store.requests();
    let pa = a.try_acquire_permit("pool", 2, secs(30)).await.unwrap();
    assert_eq!(
        env.store.requests() - before,
        2,
        "{name}: one Query, one UpdateItem"
    );
    let pb = b.try_acquire_permit("pool", 2, secs(10)).await.unwrap();
    assert_ne!(slot(&pa), slot(&pb), "{name}");
    assert!(slot(&pa) < 2 && slot(&pb) < 2, "{name}");
    assert!(
        pa.key().sort().unwrap().starts_with(PERMIT_SORT_KEY_PREFIX),
        "{name}"
    );
    let err = c.try_acquire_permit("pool", 2, secs(30)).await.unwrap_err();
    let LeaseError::NoPermit {
        permits,
        earliest_expiry,
        ..
    } = &err
    else {
        panic!("{name}: {err:?}");
    };
    assert!(err.is_no_permit(), "{name}");
    assert_eq!(*permits, 2, "{name}");
    assert_eq!(
        earliest_expiry.map(lease::store::wire_time::epoch_seconds_floor),
        Some(TIME_BASE + 10),
        "{name}: b's permit expires first"
    );

    // A release frees a permit; a permit refreshes like a lease.
    assert_eq!(a.release(&pa).await.unwrap(), ReleaseOutcome::Released);
    let pc = c.try_acquire_permit("pool", 2, secs(30)).await.unwrap();
    assert_eq!(slot(&pc), slot(&pa), "{name}: the freed slot");
    let pc = c.refresh(&pc, secs(30)).await.unwrap();

    // Shrinking to 1: slot 0 held or not, the slot above never counts.
    let (d, e) = (m("d"), m("e"));
    assert_eq!(b.release(&pb).await.unwrap(), ReleaseOutcome::Released);
    assert_eq!(c.release(&pc).await.unwrap(), ReleaseOutcome::Released);
    let pd = d.try_acquire_permit("pool", 1, secs(30)).await.unwrap();
    assert_eq!(slot(&pd), 0, "{name}");
    let err = e.try_acquire_permit("pool", 1, secs(30)).await.unwrap_err();
    assert!(err.is_no_permit(), "{name}: {err:?}");
    // Growing to 3: admitted at once.
    let pe = e.try_acquire_permit("pool", 3, secs(30)).await.unwrap();
    assert!(slot(&pe) >= 1 && slot(&pe) < 3, "{name}");

    // An expired permit is free again.
    env.advance(secs(31));
    let f = m("f");
    let pf = f.try_acquire_permit("pool", 1, secs(30)).await.unwrap();
    assert_eq!(slot(&pf), 0, "{name}");
    assert!(
        pf.fence() > pd.fence(),
        "{name}: fencing tokens grow per slot"
    );
    // Another semaphore is another partition.
    assert!(
        f.try_acquire_permit("other", 1, secs(30)).await.is_ok(),
        "{name}"
    );
}

/// Bad semaphores are refused before any request, and a plain lock cannot take a permit slot.
pub async fn semaphore_input_is_checked_before_any_request<B: Backend>(backend: &B) {
    let env = Env::new(backend, "semaphore_input", |c| c).await;
    let name = backend.name();
    let m = env.manager("a");
    let reason = |err: LeaseError| match err {
        LeaseError::InvalidInput { reason, .. } => reason,
        other => panic!("{name}: {other:?}"),
    };
    for permits in [0, MAX_PERMITS + 1] {
        let err = m
            .try_acquire_permit("pool", permits, secs(30))
            .await
            .unwrap_err();
        assert_eq!(
            reason(err),
            InvalidInput::InvalidPermits { permits },
            "{name}"
        );
    }
    let err = m.try_acquire_permit("", 2, secs(30)).await.unwrap_err();
    assert_eq!(reason(err), InvalidInput::EmptyPartitionKey, "{name}");
    let err = m
        .try_acquire(LeaseKey::new("pool", "PERMIT#0000"), secs(30))
        .await
        .unwrap_err();
    assert_eq!(reason(err), InvalidInput::ReservedSortKey, "{name}");
    assert_eq!(env.store.requests(), 0, "{name}: a request was sent");
}
