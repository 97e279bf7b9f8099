//! Decoding a stored lease item: `HolderRecord::decode` / `decode_strict`,
//! `LeaseSnapshot::decode` and an inspect's interpretation of the same item, on arbitrary
//! items (every attribute type; numbers as any string) under the default, millisecond,
//! renamed and unvalidated configurations, read at any wall-clock time.
//!
//! Properties:
//! - nothing panics;
//! - strict decoding succeeds only where lenient decoding does, with the same result, and
//!   fails only where it does or on a foreign attribute;
//! - `LeaseSnapshot::decode` is strict decoding plus a state that follows from it (released,
//!   held: expiry after `now`, or expired), and an inspect answered with the item says the
//!   same (or `MalformedItem` with the same error);
//! - a decoded holder's fingerprint is the stored token's, is `tok:` and 8 hex digits, never
//!   contains the stored token's text, and is the only trace of the token in any rendering
//!   (`Debug`, `Display`) of the holder, the snapshot or a `Held` error;
//! - a decoded expiry is never beyond the horizon (longest lease + skew bound + 1 s + one
//!   unit), a released one is the epoch, and the fencing token is there iff the item has one.

#![no_main]

use std::time::{Duration, SystemTime};

use arbitrary::Unstructured;
use lease_core::{
    AttributeValue, Holder, HolderRecord, Item, LeaseConfig, LeaseError, LeaseKey, LeaseSnapshot,
    StoredState, MAX_LEASE_DURATION, Planner, StoreResponse, TokenFingerprint,
};
use lease_fuzz::{is_fingerprint, twin_token, without_fingerprints};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(config) = lease_fuzz::config(&mut u) else {
        return;
    };
    let Ok(now) = lease_fuzz::wall_time(&mut u) else {
        return;
    };
    let Ok(item) = lease_fuzz::item(&mut u, &config, now) else {
        return;
    };
    check(&config, &item, now);
});

fn check(config: &LeaseConfig, item: &Item, now: SystemTime) {
    let lenient = HolderRecord::decode(item, config, now);
    let strict = HolderRecord::decode_strict(item, config, now);
    match (&strict, &lenient) {
        (Ok(s), Ok(l)) => assert_eq!(s, l, "strict and lenient decoding differ"),
        (Ok(_), Err(error)) => panic!("strict decoding accepted what lenient rejects: {error}"),
        (Err(s), Ok(_)) => assert!(
            matches!(s, lease_core::DecodeError::ForeignAttribute { .. }),
            "strict decoding rejected a lenient success for another reason: {s}"
        ),
        (Err(s), Err(l)) => assert_eq!(s, l, "strict and lenient decoding fail differently"),
    }

    let key = LeaseKey::new("CACHE#A", config.lock_sort_key());
    let snapshot = LeaseSnapshot::decode(key.clone(), item, config, now);
    match (&snapshot, &strict) {
        (Ok(snapshot), Ok(info)) => {
            assert_eq!(snapshot.key, key);
            let expected = if info.released {
                StoredState::Released(*info)
            } else if info.expires_at > now {
                StoredState::Held(*info)
            } else {
                StoredState::Expired(*info)
            };
            assert_eq!(snapshot.state, expected, "the snapshot's state");
        }
        (Err(s), Err(d)) => assert_eq!(s, d, "snapshot and strict decoding fail differently"),
        (s, d) => panic!("snapshot and strict decoding disagree: {s:?} / {d:?}"),
    }

    // An inspect answered with this item reads it the same way.
    let planner = Planner::new(config.clone());
    if let Ok(plan) = planner.inspect(key.clone()) {
        let read = plan.interpret(Ok(StoreResponse::Item(Some(item.clone()))), now);
        match (&read, &snapshot) {
            (Ok(read), Ok(snapshot)) => assert_eq!(read, snapshot),
            (Err(LeaseError::MalformedItem { key: k, error }), Err(expected)) => {
                assert_eq!(k, &key);
                assert_eq!(error, expected);
            }
            (r, s) => panic!("inspect and snapshot disagree: {r:?} / {s:?}"),
        }
    }

    if let Ok(info) = &lenient {
        check_holder(config, item, now, &key, info);
    }
}

fn check_holder(
    config: &LeaseConfig,
    item: &Item,
    now: SystemTime,
    key: &LeaseKey,
    info: &HolderRecord,
) {
    let Some(AttributeValue::S(token)) = item.get(config.token_attribute()) else {
        panic!("decoded without an S token: {item:?}");
    };
    let token = token.as_str();
    assert_eq!(
        info.token,
        TokenFingerprint::of(token),
        "the fingerprint is the stored token's"
    );
    let shown = info.token.to_string();
    assert!(is_fingerprint(&shown), "fingerprint shown as {shown:?}");
    assert_eq!(format!("{:?}", info.token), shown);
    // A token that could be part of `tok:` and 8 hex digits may be there by chance.
    let could_be_hex =
        token.len() <= 12 && token.bytes().all(|b| b"tok:0123456789abcdef".contains(&b));
    assert!(
        could_be_hex || !shown.contains(token),
        "the fingerprint {shown} contains the token {token:?}"
    );

    // Every rendering depends on the token only through its fingerprint: the same holder with
    // another token's fingerprint renders the same, fingerprints aside.
    if let Some(twin) = twin_token(token) {
        let other = HolderRecord {
            token: TokenFingerprint::of(&twin),
            ..*info
        };
        let renderings = |info: HolderRecord| {
            let state = if info.released {
                StoredState::Released(info)
            } else {
                StoredState::Held(info)
            };
            // A snapshot's Debug is its key's and its state's.
            let snapshot = (key.clone(), state);
            let held = LeaseError::Held {
                key: key.clone(),
                holder: Holder::Known(info),
            };
            [
                format!("{info:?}"),
                format!("{snapshot:?}"),
                Holder::Known(info).to_string(),
                format!("{held}"),
                format!("{held:?}"),
                held.report().to_string(),
            ]
        };
        for (a, b) in renderings(*info).iter().zip(renderings(other)) {
            assert_eq!(
                without_fingerprints(a),
                without_fingerprints(&b),
                "a rendering depends on the token beyond its fingerprint"
            );
        }
    }

    // The expiry: never beyond the horizon; the epoch when released.
    let horizon = MAX_LEASE_DURATION
        .saturating_add(config.max_clock_skew())
        .saturating_add(Duration::from_secs(3));
    if let Some(latest) = now.checked_add(horizon) {
        assert!(
            info.expires_at <= latest,
            "an expiry beyond the horizon was accepted: {:?} at {now:?}",
            info.expires_at
        );
    }
    if info.released {
        assert_eq!(info.expires_at, SystemTime::UNIX_EPOCH);
    }
    assert_eq!(
        info.fence.is_some(),
        item.contains_key(config.fence_attribute()),
        "the fencing token is decoded iff the item has one"
    );
    if let (Some(fence), Some(AttributeValue::N(raw))) =
        (info.fence, item.get(config.fence_attribute()))
    {
        assert_eq!(raw.parse::<u64>().ok(), Some(fence.get()));
    }
}
