//! Fencing tokens, inspection, resent requests, malformed items, the safe deadline.

use std::time::Duration;

use lease::store::StoreResponse;
use lease::{
    LeaseError, ReleaseOutcome, error::DecodeError, snapshot::StoredState, store::Planner,
    store::Store, token::LeaseToken,
};

use super::format::{item, n, s};
use super::secs;
use crate::backend::Backend;
use crate::harness::{Env, TIME_BASE};

/// Fencing tokens only grow: across an expiry takeover, a release and re-acquire, the item's
/// deletion (DynamoDB TTL, or TableTheory's release), and a TableTheory writer's `PutItem` that
/// overwrites the item without a fencing token (fault class B22, peer defect S03). The
/// restart after deletion relies on the wall clock (milliseconds) having moved past the old
/// token, as `docs/correctness.md` states.
pub async fn fencing_tokens_only_grow<B: Backend>(backend: &B) {
    let env = Env::new(backend, "fencing", |c| c).await;
    let key = env.key("CACHE#A");
    let name = backend.name();
    let mut fences = Vec::new();
    let a = env
        .manager("a")
        .try_acquire(key.clone(), secs(10))
        .await
        .unwrap();
    fences.push(a.fence());
    env.advance(secs(10));
    let b = env
        .manager("b")
        .try_acquire(key.clone(), secs(10))
        .await
        .unwrap();
    fences.push(b.fence());
    assert_eq!(
        env.manager("b").release(&b).await.unwrap(),
        ReleaseOutcome::Released
    );
    let c = env
        .manager("c")
        .try_acquire(key.clone(), secs(10))
        .await
        .unwrap();
    fences.push(c.fence());
    env.advance(secs(20));
    env.delete_raw(&key).await;
    env.advance(Duration::from_millis(1));
    let d = env
        .manager("d")
        .try_acquire(key.clone(), secs(10))
        .await
        .unwrap();
    fences.push(d.fence());
    env.advance(secs(20));
    env.put_raw(item(&[
        ("pk", s("CACHE#A")),
        ("sk", s("LOCK")),
        ("lease_token", s("go-writer")),
        ("lease_expires_at", n(TIME_BASE + 60)),
    ]))
    .await;
    env.advance(secs(20));
    let e = env.manager("e").try_acquire(key, secs(10)).await.unwrap();
    fences.push(e.fence());
    assert!(!fences.is_empty(), "{name}: {fences:?}");
    assert!(
        fences.windows(2).all(|w| w[0] < w[1]),
        "{name}: not increasing: {fences:?}"
    );
}

/// `inspect` reports absent, held (with the holder's fingerprint, expiry and fencing token),
/// expired and released, with a consistent read; the snapshot holds no token.
pub async fn inspect_reports_every_state<B: Backend>(backend: &B) {
    let env = Env::new(backend, "inspect", |c| c).await;
    let key = env.key("CACHE#A");
    let m = env.manager("a");
    let name = backend.name();
    assert_eq!(
        m.inspect(key.clone()).await.unwrap().state,
        StoredState::Absent,
        "{name}"
    );
    let lease = m.try_acquire(key.clone(), secs(30)).await.unwrap();
    let StoredState::Held(info) = m.inspect(key.clone()).await.unwrap().state else {
        panic!("{name}: expected held");
    };
    assert_eq!(info.token, lease.token().fingerprint());
    assert_eq!(info.expires_at, lease.expires_at());
    assert_eq!(info.fence, Some(lease.fence()));
    env.advance(secs(30));
    let state = m.inspect(key.clone()).await.unwrap().state;
    assert!(
        matches!(state, StoredState::Expired(_)),
        "{name}: {state:?}"
    );
    assert_eq!(m.release(&lease).await.unwrap(), ReleaseOutcome::Released);
    let state = m.inspect(key).await.unwrap().state;
    assert!(
        matches!(state, StoredState::Released(i) if i.fence == Some(lease.fence())),
        "{name}"
    );
}

/// An acquire request sent twice (its first response lost, as after a timeout: the SDK or the
/// manager sends it again) succeeds both times and keeps the lease: the acquirer recognises its
/// own write instead of reporting its own lease as held (fault class B02, seed weakness W5).
pub async fn resent_acquire_is_recognised<B: Backend>(backend: &B) {
    let env = Env::new(backend, "resent_acquire", |c| c).await;
    let planner = Planner::new(env.config.clone());
    let now = env.now();
    let plan = planner
        .acquire(env.key("CACHE#A"), secs(30), now, LeaseToken::new("a-1"))
        .unwrap();
    let first = env.store.execute(plan.request()).await.unwrap();
    assert!(
        matches!(first, StoreResponse::Applied { .. }),
        "{}",
        backend.name()
    );
    let second = env.store.execute(plan.request()).await;
    let lease = plan.interpret(second).unwrap();
    assert_eq!(lease.token().expose_secret(), "a-1");
    assert!(
        env.manager("b")
            .try_acquire(env.key("CACHE#A"), secs(30))
            .await
            .unwrap_err()
            .is_held()
    );
}

/// A refresh or release request sent twice gives the same answer both times.
pub async fn resent_refresh_and_release_are_idempotent<B: Backend>(backend: &B) {
    let env = Env::new(backend, "resent_refresh", |c| c).await;
    let m = env.manager("a");
    let lease = m.try_acquire(env.key("CACHE#A"), secs(30)).await.unwrap();
    let planner = Planner::new(env.config.clone());
    env.advance(secs(5));
    let refresh = planner.refresh(&lease, secs(30), env.now()).unwrap();
    let first = env.store.execute(refresh.request()).await.unwrap();
    assert!(matches!(first, StoreResponse::Applied { .. }));
    let second = env.store.execute(refresh.request()).await;
    let refreshed = refresh.interpret(second).unwrap();
    assert_eq!(
        refreshed.expires_at_epoch_seconds(),
        TIME_BASE + 35,
        "{}",
        backend.name()
    );
    let release = planner.release(&refreshed, env.now()).unwrap();
    let first = env.store.execute(release.request()).await;
    assert!(
        matches!(first, Ok(StoreResponse::Applied { .. })),
        "{}",
        backend.name()
    );
    let second = env.store.execute(release.request()).await;
    assert_eq!(
        release.interpret(second).unwrap(),
        ReleaseOutcome::Released,
        "{}",
        backend.name()
    );
}

/// An item at a lock key whose expiry is not a number is never taken over and never reported
/// as an ordinary "held": acquire says `MalformedItem` naming the attribute where the store
/// returns the old item, `Held` with `Holder::Unknown` where it cannot (dynalite) —
/// `try_acquire`, which reads the item then, says `MalformedItem` there too — and
/// `inspect` names the attribute on every store (fault classes B15, S01; seed weakness W8).
/// moto answers the mismatched comparison with HTTP 500, which reaches the caller as
/// `OutcomeUnknown` (a server error) — never as a lease.
pub async fn malformed_item_is_reported<B: Backend>(backend: &B) {
    let env = Env::new(backend, "malformed", |c| c).await;
    let key = env.key("CACHE#A");
    env.put_raw(item(&[
        ("pk", s("CACHE#A")),
        ("sk", s("LOCK")),
        ("lease_token", s("x")),
        ("lease_expires_at", s("20s")),
    ]))
    .await;
    let m = env.manager("a");
    let name = backend.name();
    let err = m.try_acquire(key.clone(), secs(30)).await.unwrap_err();
    let caps = backend.capabilities();
    if !caps.cross_type_comparison_is_false {
        assert!(err.is_outcome_unknown(), "{name}: {err:?}");
    } else if caps.returns_old_item_on_condition_failure {
        let LeaseError::MalformedItem { error, .. } = err else {
            panic!("{name}: expected MalformedItem, got {err:?}");
        };
        assert!(
            matches!(error, DecodeError::WrongType { ref attribute, .. } if attribute == "lease_expires_at"),
            "{name}: {error:?}"
        );
    } else {
        // Where the store returned no old item, try_acquire reads it: MalformedItem too.
        assert!(
            matches!(err, LeaseError::MalformedItem { .. }),
            "{name}: {err:?}"
        );
    }
    if caps.cross_type_comparison_is_false {
        // try_acquire reads the item where the store returned none: MalformedItem everywhere.
        let err = m.try_acquire(key.clone(), secs(30)).await.unwrap_err();
        assert!(
            matches!(err, LeaseError::MalformedItem { .. }),
            "{name}: {err:?}"
        );
    }
    let err = m.inspect(key).await.unwrap_err();
    assert!(
        matches!(
            err,
            LeaseError::MalformedItem {
                error: DecodeError::WrongType { .. },
                ..
            }
        ),
        "{name}: {err:?}"
    );
}

/// Acquire takes over an expired lease item without erasing attributes it does not own; a
/// strict `inspect` then names the foreign attribute.
pub async fn acquire_keeps_foreign_attributes<B: Backend>(backend: &B) {
    let env = Env::new(backend, "foreign", |c| c).await;
    let key = env.key("CACHE#A");
    env.put_raw(item(&[
        ("pk", s("CACHE#A")),
        ("sk", s("LOCK")),
        ("lease_token", s("old")),
        ("lease_expires_at", n(TIME_BASE - 1)),
        ("owner_note", s("do not erase")),
    ]))
    .await;
    let m = env.manager("a");
    m.try_acquire(key.clone(), secs(30)).await.unwrap();
    let stored = env.raw_item(&key).await.unwrap();
    assert_eq!(
        stored.get("owner_note"),
        Some(&s("do not erase")),
        "{}",
        backend.name()
    );
    let err = m.inspect(key).await.unwrap_err();
    assert!(
        matches!(err, LeaseError::MalformedItem { error: DecodeError::ForeignAttribute { ref attribute }, .. } if attribute == "owner_note"),
        "{}: {err:?}",
        backend.name()
    );
}

/// The lease's local safe deadline is the send instant plus the duration minus the clock skew
/// bound, and moves on refresh; a lease not longer than the bound is refused before sending.
pub async fn safe_deadline_accounts_for_clock_skew<B: Backend>(backend: &B) {
    let env = Env::new(backend, "deadline", |c| c.max_clock_skew(secs(2))).await;
    let m = env.manager("a");
    let sent = env.monotonic();
    let lease = m.try_acquire(env.key("CACHE#A"), secs(30)).await.unwrap();
    assert_eq!(
        lease.valid_until(),
        Some(sent + secs(28)),
        "{}",
        backend.name()
    );
    env.advance(secs(10));
    let lease = m.refresh(&lease, secs(30)).await.unwrap();
    assert_eq!(
        lease.valid_until(),
        Some(sent + secs(38)),
        "{}",
        backend.name()
    );
    let before = env.store.requests();
    let err = m
        .try_acquire(env.key("CACHE#B"), secs(2))
        .await
        .unwrap_err();
    assert!(err.is_invalid_input(), "{}: {err:?}", backend.name());
    assert_eq!(env.store.requests(), before);
}
