//! Bad input: a typed error and no request at all.

use std::time::Duration;

use lease::{Lease, LeaseError, LeaseKey, error::InvalidInput, token::LeaseToken};

use super::secs;
use crate::backend::Backend;
use crate::harness::Env;

fn reason(err: LeaseError) -> InvalidInput {
    match err {
        LeaseError::InvalidInput { reason, .. } => reason,
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

/// Empty key parts, oversized keys, zero and absurd durations, and empty tokens are rejected
/// before any request is sent.
pub async fn invalid_input_sends_no_request<B: Backend>(backend: &B) {
    let env = Env::new(backend, "invalid_input", |c| c).await;
    let m = env.manager("a");
    let name = backend.name();
    let cases: Vec<(LeaseKey, Duration, InvalidInput)> = vec![
        (
            LeaseKey::new("", "LOCK"),
            secs(30),
            InvalidInput::EmptyPartitionKey,
        ),
        (LeaseKey::new("A", ""), secs(30), InvalidInput::EmptySortKey),
        (
            LeaseKey::new("A".repeat(2049), "LOCK"),
            secs(30),
            InvalidInput::PartitionKeyTooLong { len: 2049 },
        ),
        (
            LeaseKey::new("A", "S".repeat(1025)),
            secs(30),
            InvalidInput::SortKeyTooLong { len: 1025 },
        ),
        (
            LeaseKey::new("A", "LOCK"),
            Duration::ZERO,
            InvalidInput::ZeroDuration,
        ),
        (
            LeaseKey::new("A", "LOCK"),
            Duration::from_secs(u64::MAX),
            InvalidInput::DurationTooLong {
                duration: Duration::from_secs(u64::MAX),
            },
        ),
    ];
    for (key, duration, expected) in cases {
        let err = m.try_acquire(key, duration).await.unwrap_err();
        assert_eq!(reason(err), expected, "{name}");
    }
    let held = m.try_acquire(env.key("A"), secs(30)).await.unwrap();
    let sent = env.store.requests();
    assert_eq!(sent, 1, "{name}: invalid input reached the store");
    let empty_token = Lease::new(
        env.key("A"),
        LeaseToken::new(""),
        lease::FencingToken::new(1),
        held.expires_at(),
    );
    assert_eq!(
        reason(m.refresh(&empty_token, secs(30)).await.unwrap_err()),
        InvalidInput::EmptyToken
    );
    assert_eq!(
        reason(m.release(&empty_token).await.unwrap_err()),
        InvalidInput::EmptyToken
    );
    assert_eq!(
        reason(m.refresh(&held, Duration::ZERO).await.unwrap_err()),
        InvalidInput::ZeroDuration
    );
    let empty_key = Lease::new(
        LeaseKey::new("", "LOCK"),
        held.token().clone(),
        lease::FencingToken::new(1),
        held.expires_at(),
    );
    assert_eq!(
        reason(m.release(&empty_key).await.unwrap_err()),
        InvalidInput::EmptyPartitionKey
    );
    assert_eq!(
        env.store.requests(),
        sent,
        "{name}: invalid input reached the store"
    );
}
