//! The lease-set machines alone (several keys held together, one transaction each): exact
//! instants in, transactions and results out, answers made up here. The lease duration is 10 s
//! and the skew bound 1 s (deadline: send + 9 s).

#![allow(clippy::unwrap_used, clippy::expect_used)]
// Tests need `Instant` values, and only `Instant::now` makes one: it is read once per test, as
// an origin; every instant a machine sees is that origin plus an exact offset.
#![allow(clippy::disallowed_methods)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use lease_core::lifecycle::{AcquireSetOp, Machine, OpEvent, RefreshSetOp, ReleaseSetOp};
use lease_core::{
    AttributeValue, CancellationReason, Holder, InvalidInput, Item, LeaseConfig, LeaseError,
    LeaseKey, LeaseSet, LeaseToken, Planner, ReleaseOutcome, Request, RetryPolicy, StoreError,
    StoreErrorKind, StoreResponse, TransactItem,
};

mod common;

use common::{Clocks, T0, ms};

const FLOOR: i64 = T0 * 1000;

fn planner() -> Arc<Planner> {
    Arc::new(Planner::new(LeaseConfig::builder("locks").build().unwrap()))
}

fn keys() -> [LeaseKey; 2] {
    [
        LeaseKey::new("JOB#A", "LOCK"),
        LeaseKey::new("JOB#B", "LOCK"),
    ]
}

fn acquire(c: &Clocks, retry: RetryPolicy) -> AcquireSetOp {
    AcquireSetOp::new(
        planner(),
        keys(),
        Duration::from_secs(10),
        c.at(Duration::ZERO),
        LeaseToken::new("tok-a"),
        retry,
    )
    .unwrap()
}

fn applied() -> Result<StoreResponse, StoreError> {
    Ok(StoreResponse::Applied { attributes: None })
}

fn cancelled(reasons: Vec<CancellationReason>) -> Result<StoreResponse, StoreError> {
    Ok(StoreResponse::TransactionCanceled { reasons })
}

fn failed(item: Option<Item>) -> CancellationReason {
    CancellationReason::ConditionalCheckFailed { old_item: item }
}

fn lease_item(token: &str, expires: i64, fence: i64) -> Item {
    Item::from([
        ("pk".into(), AttributeValue::string("JOB#B")),
        ("sk".into(), AttributeValue::string("LOCK")),
        ("lease_token".into(), AttributeValue::string(token)),
        ("lease_expires_at".into(), AttributeValue::number(expires)),
        ("lease_fence".into(), AttributeValue::number(fence)),
    ])
}

/// Sends what the machine asks for at `t` and answers it with `answer`, read at `t + rtt`.
fn exchange<M: Machine>(
    m: &mut M,
    c: &Clocks,
    t: Duration,
    rtt: Duration,
    answer: Result<StoreResponse, StoreError>,
) -> Vec<TransactItem> {
    let transmit = m.poll_transmit(c.at(t)).expect("a request is due");
    let (id, request) = (transmit.id, transmit.request.clone());
    m.handle_response(id, answer, c.at(t + rtt));
    match request {
        Request::Transact(transaction) => transaction.items,
        other => panic!("not a transaction: {other:?}"),
    }
}

/// The value of `placeholder` in each item of a transaction.
fn values(items: &[TransactItem], placeholder: &str) -> Vec<AttributeValue> {
    items
        .iter()
        .map(|item| item.render().values[placeholder].clone())
        .collect()
}

fn events<M: Machine>(m: &mut M) -> Vec<OpEvent> {
    std::iter::from_fn(|| m.poll_event()).collect()
}

fn acquired(c: &Clocks) -> LeaseSet {
    let mut op = acquire(c, RetryPolicy::never());
    exchange(&mut op, c, Duration::ZERO, ms(5), applied());
    op.poll_output().unwrap().unwrap()
}

#[test]
fn an_acquire_is_one_transaction_of_conditional_updates_proposing_the_fencing_tokens() {
    let c = Clocks(Instant::now());
    let mut op = acquire(&c, RetryPolicy::never());
    let items = exchange(&mut op, &c, Duration::ZERO, ms(5), applied());
    assert_eq!(items.len(), 2);
    for item in &items {
        let rendered = item.render();
        assert_eq!(
            rendered.condition.as_deref(),
            Some(
                "(attribute_not_exists(#pk) OR #exp <= :now) AND (attribute_not_exists(#fence) \
                 OR #fence < :fence) OR #tok = :tok AND (attribute_not_exists(#fence) OR \
                 #fence <= :fence)"
            )
        );
        assert_eq!(
            rendered.update.as_deref(),
            Some("SET #tok = :tok, #exp = :exp, #fence = :fence, #ttl = :ttl")
        );
    }
    assert_eq!(
        values(&items, ":fence"),
        vec![AttributeValue::number(FLOOR); 2]
    );
    let set = op.poll_output().unwrap().unwrap();
    assert_eq!(set.keys().cloned().collect::<Vec<_>>(), keys().to_vec());
    // A partition key alone names the key held under the lock sort key.
    assert_eq!(
        set.fence(&LeaseKey::lock("JOB#A")),
        set.fence(&LeaseKey::new("JOB#A", "LOCK"))
    );
    assert!(set.fence(&LeaseKey::lock("JOB#A")).is_some());
    assert!(set.fence(&LeaseKey::new("JOB#A", "OTHER")).is_none());
    assert!(set.fence(&LeaseKey::lock("JOB#C")).is_none());
    for lease in set.leases() {
        assert_eq!(lease.fence().get(), FLOOR as u64);
        assert_eq!(lease.token(), &LeaseToken::new("tok-a"));
    }
    assert_eq!(set.valid_until(), Some(c.0 + ms(9_000)));
    assert!(set.is_valid_at(c.at(ms(8_999))));
    assert!(!set.is_valid_at(c.at(ms(9_000))));
}

/// A resend raises its proposals to its own wall clock (found by the simulator, seed 1756: a
/// resend that kept its first send's proposals wrote a lower fencing token than another
/// holder's, after TTL had deleted the item in between); the own-token branch of the condition
/// never lowers a stored fencing token, so an earlier copy landing late cannot undo it.
#[test]
fn a_resend_after_a_timeout_raises_its_fencing_tokens_to_its_own_clock() {
    let c = Clocks(Instant::now());
    let mut op = acquire(&c, RetryPolicy::default());
    let first = exchange(
        &mut op,
        &c,
        Duration::ZERO,
        ms(1_500),
        Err(StoreError::new(StoreErrorKind::Timeout, "made up")),
    );
    let at = op.poll_timeout().unwrap();
    let resent_at = at - c.0;
    let resend = exchange(&mut op, &c, resent_at, ms(5), applied());
    let floor = FLOOR + i64::try_from(resent_at.as_millis()).unwrap();
    assert_eq!(
        values(&first, ":fence"),
        vec![AttributeValue::number(FLOOR); 2]
    );
    assert_eq!(
        values(&resend, ":fence"),
        vec![AttributeValue::number(floor); 2]
    );
    assert_ne!(values(&resend, ":now"), values(&first, ":now"));
    let set = op.poll_output().unwrap().unwrap();
    assert!(set.leases().iter().all(|l| l.fence().get() == floor as u64));
}

#[test]
fn a_transaction_conflict_is_sent_again() {
    let c = Clocks(Instant::now());
    let mut op = acquire(&c, RetryPolicy::default());
    let conflict = CancellationReason::Other {
        code: "TransactionConflict".into(),
        message: None,
    };
    exchange(
        &mut op,
        &c,
        Duration::ZERO,
        ms(5),
        cancelled(vec![CancellationReason::None, conflict]),
    );
    assert!(matches!(
        events(&mut op).as_slice(),
        [OpEvent::Retrying { error, .. }] if error.kind() == StoreErrorKind::Throttled
    ));
    let at = op.poll_timeout().unwrap();
    exchange(&mut op, &c, at - c.0, ms(5), applied());
    assert!(op.poll_output().unwrap().is_ok());
}

#[test]
fn a_fencing_token_stored_ahead_of_the_proposal_is_passed_by_the_next_attempt() {
    let c = Clocks(Instant::now());
    let mut op = acquire(&c, RetryPolicy::never());
    // B is free (released) but its fencing token is ahead of this clock.
    let ahead = lease_item("tok-old", 0, FLOOR + 5);
    exchange(
        &mut op,
        &c,
        Duration::ZERO,
        ms(5),
        cancelled(vec![CancellationReason::None, failed(Some(ahead))]),
    );
    assert!(op.poll_output().is_none());
    let again = exchange(&mut op, &c, ms(5), ms(5), applied());
    assert_eq!(
        values(&again, ":fence"),
        vec![
            AttributeValue::number(FLOOR),
            AttributeValue::number(FLOOR + 6)
        ]
    );
    let set = op.poll_output().unwrap().unwrap();
    assert_eq!(set.fence(&keys()[1]).unwrap().get(), (FLOOR + 6) as u64);
    assert_eq!(set.fence(&keys()[0]).unwrap().get(), FLOOR as u64);
}

#[test]
fn a_key_whose_fencing_token_is_the_largest_is_malformed() {
    let c = Clocks(Instant::now());
    let mut op = acquire(&c, RetryPolicy::never());
    let mut last = lease_item("tok-old", 0, 0);
    last.insert(
        "lease_fence".into(),
        AttributeValue::N(u64::MAX.to_string().into()),
    );
    exchange(
        &mut op,
        &c,
        Duration::ZERO,
        ms(5),
        cancelled(vec![CancellationReason::None, failed(Some(last))]),
    );
    let error = op.poll_output().unwrap().unwrap_err();
    assert!(error.is_malformed_item(), "{error:?}");
    assert_eq!(error.key(), &keys()[1]);
}

#[test]
fn held_keys_are_named_with_their_holders_and_nothing_is_acquired() {
    let c = Clocks(Instant::now());
    let mut op = acquire(&c, RetryPolicy::never());
    exchange(
        &mut op,
        &c,
        Duration::ZERO,
        ms(5),
        cancelled(vec![
            CancellationReason::None,
            failed(Some(lease_item("tok-b", T0 + 20, 3))),
        ]),
    );
    let error = op.poll_output().unwrap().unwrap_err();
    assert!(error.is_held());
    let LeaseError::HeldKeys { key, held } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(key, &keys()[1]);
    assert_eq!(held.len(), 1);
    let (held_key, Holder::Known(info)) = &held[0] else {
        panic!("{error:?}");
    };
    assert_eq!(held_key, &keys()[1]);
    assert_eq!(info.fence.map(|f| f.get()), Some(3));
    assert!(
        op.poll_transmit(c.at(ms(5))).is_none(),
        "no give-back: nothing written"
    );
}

#[test]
fn an_unknown_outcome_gives_back_every_key() {
    let c = Clocks(Instant::now());
    let mut op = acquire(&c, RetryPolicy::never());
    exchange(
        &mut op,
        &c,
        Duration::ZERO,
        ms(5),
        Err(StoreError::new(StoreErrorKind::Timeout, "made up")),
    );
    assert!(op.poll_output().is_none(), "given back first");
    let release = exchange(&mut op, &c, ms(5), ms(5), applied());
    assert_eq!(release.len(), 2);
    for item in &release {
        assert_eq!(item.render().condition.as_deref(), Some("#tok = :tok"));
    }
    assert!(matches!(
        events(&mut op).as_slice(),
        [OpEvent::GaveBack {
            outcome: Ok(ReleaseOutcome::Released),
            ..
        }]
    ));
    assert!(op.poll_output().unwrap().unwrap_err().is_outcome_unknown());
}

#[test]
fn an_acquire_answered_past_its_deadline_is_lapsed_and_given_back() {
    let c = Clocks(Instant::now());
    let mut op = acquire(&c, RetryPolicy::never());
    exchange(&mut op, &c, Duration::ZERO, ms(9_000), applied());
    assert!(op.poll_output().is_none());
    exchange(&mut op, &c, ms(9_000), ms(5), applied());
    assert!(op.poll_output().unwrap().unwrap_err().is_lapsed());
}

#[test]
fn a_release_frees_the_keys_still_held_when_some_are_not() {
    let c = Clocks(Instant::now());
    let set = acquired(&c);
    let mut op = ReleaseSetOp::new(planner(), &set, c.at(ms(10)), RetryPolicy::never()).unwrap();
    let first = exchange(
        &mut op,
        &c,
        ms(10),
        ms(5),
        cancelled(vec![CancellationReason::None, failed(None)]),
    );
    assert_eq!(first.len(), 2);
    assert!(op.poll_output().is_none());
    let second = exchange(&mut op, &c, ms(15), ms(5), applied());
    assert_eq!(second.len(), 1, "only the key still held");
    assert_eq!(
        second[0].render().values[":tok"],
        AttributeValue::string("tok-a")
    );
    assert_eq!(op.poll_output().unwrap().unwrap(), ReleaseOutcome::NotHeld);
}

#[test]
fn a_release_of_keys_all_held_is_released() {
    let c = Clocks(Instant::now());
    let set = acquired(&c);
    let mut op = ReleaseSetOp::new(planner(), &set, c.at(ms(10)), RetryPolicy::never()).unwrap();
    exchange(&mut op, &c, ms(10), ms(5), applied());
    assert_eq!(op.poll_output().unwrap().unwrap(), ReleaseOutcome::Released);
}

#[test]
fn a_refresh_with_a_key_lost_is_not_owned_naming_it() {
    let c = Clocks(Instant::now());
    let set = acquired(&c);
    let planner = planner();
    let mut op = RefreshSetOp::new(
        &planner,
        &set,
        Duration::from_secs(10),
        c.at(ms(3_000)),
        RetryPolicy::never(),
    )
    .unwrap();
    exchange(
        &mut op,
        &c,
        ms(3_000),
        ms(5),
        cancelled(vec![CancellationReason::None, failed(None)]),
    );
    let error = op.poll_output().unwrap().unwrap_err();
    assert!(
        matches!(&error, LeaseError::NotOwned { key } if key == &keys()[1]),
        "{error:?}"
    );

    let mut op = RefreshSetOp::new(
        &planner,
        &set,
        Duration::from_secs(10),
        c.at(ms(3_000)),
        RetryPolicy::never(),
    )
    .unwrap();
    exchange(&mut op, &c, ms(3_000), ms(5), applied());
    let refreshed = op.poll_output().unwrap().unwrap();
    assert_eq!(refreshed.valid_until(), Some(c.0 + ms(12_000)));
    assert_eq!(
        refreshed
            .leases()
            .iter()
            .map(|l| l.fence())
            .collect::<Vec<_>>(),
        set.leases().iter().map(|l| l.fence()).collect::<Vec<_>>()
    );
}

#[test]
fn bad_sets_are_refused_before_any_request() {
    let c = Clocks(Instant::now());
    let make = |keys: Vec<LeaseKey>| {
        AcquireSetOp::new(
            planner(),
            keys,
            Duration::from_secs(10),
            c.at(Duration::ZERO),
            LeaseToken::new("tok-a"),
            RetryPolicy::never(),
        )
        .unwrap_err()
    };
    let reason = |error: LeaseError| match error {
        LeaseError::InvalidInput { reason, .. } => reason,
        other => panic!("{other:?}"),
    };
    assert_eq!(reason(make(Vec::new())), InvalidInput::NoKeys);
    assert_eq!(
        reason(make(vec![LeaseKey::lock("A"), LeaseKey::new("A", "LOCK")])),
        InvalidInput::DuplicateKey { index: 1 }
    );
    assert_eq!(
        reason(make(
            (0..101).map(|i| LeaseKey::lock(format!("K{i}"))).collect()
        )),
        InvalidInput::TooManyKeys { count: 101 }
    );
    // 100 keys are one transaction.
    let op = AcquireSetOp::new(
        planner(),
        (0..100).map(|i| LeaseKey::lock(format!("K{i}"))),
        Duration::from_secs(10),
        c.at(Duration::ZERO),
        LeaseToken::new("tok-a"),
        RetryPolicy::never(),
    );
    assert!(op.is_ok());
}

mod keeper {
    //! A lease set kept by lease-core's `Keeper<LeaseSet>`: renewed and released together.

    use super::*;
    use lease_core::RenewPolicy;
    use lease_core::lifecycle::{Keeper, KeeperEvent};

    fn keeper(c: &Clocks) -> Keeper<LeaseSet> {
        let set = acquired(c);
        Keeper::new(
            planner(),
            set,
            Duration::from_secs(10),
            RenewPolicy::default()
                .renew_every(Duration::from_secs(3))
                .jitter(0.0),
            RetryPolicy::never(),
            7,
            c.at(ms(5)),
        )
        .unwrap()
    }

    fn send(
        k: &mut Keeper<LeaseSet>,
        c: &Clocks,
        t: Duration,
        answer: Result<StoreResponse, StoreError>,
    ) -> Vec<TransactItem> {
        let transmit = k.poll_transmit(c.at(t)).expect("a request is due");
        let (id, request) = (transmit.id, transmit.request.clone());
        k.handle_response(id, answer, c.at(t + ms(5)));
        match request {
            Request::Transact(transaction) => transaction.items,
            other => panic!("not a transaction: {other:?}"),
        }
    }

    #[test]
    fn a_kept_set_renews_every_key_in_one_transaction() {
        let c = Clocks(Instant::now());
        let mut k = keeper(&c);
        assert_eq!(k.poll_timeout(), Some(c.0 + ms(3_000)), "renewal due");
        assert!(k.poll_transmit(c.at(ms(2_999))).is_none());
        let renewal = send(&mut k, &c, ms(3_000), applied());
        assert_eq!(renewal.len(), 2);
        assert!(
            renewal
                .iter()
                .all(|item| item.render().condition.as_deref()
                    == Some("#tok = :tok AND #exp > :now"))
        );
        let renewed = std::iter::from_fn(|| k.poll_event()).find_map(|event| match event {
            KeeperEvent::Renewed { lease, .. } => Some(lease),
            _ => None,
        });
        let renewed = renewed.expect("renewed");
        assert_eq!(renewed.len(), 2);
        assert_eq!(renewed.valid_until(), Some(c.0 + ms(12_000)));
        assert!(k.status().is_held());
    }

    #[test]
    fn a_set_with_a_key_lost_is_lost_and_its_release_frees_the_other_keys() {
        let c = Clocks(Instant::now());
        let mut k = keeper(&c);
        send(
            &mut k,
            &c,
            ms(3_000),
            cancelled(vec![CancellationReason::None, failed(None)]),
        );
        assert!(!k.status().is_held(), "{:?}", k.status());
        k.release(c.at(ms(3_100)));
        let first = send(
            &mut k,
            &c,
            ms(3_100),
            cancelled(vec![CancellationReason::None, failed(None)]),
        );
        assert_eq!(first.len(), 2);
        let second = send(&mut k, &c, ms(3_200), applied());
        assert_eq!(second.len(), 1, "the key still ours");
        let finished = std::iter::from_fn(|| k.poll_event()).find_map(|event| match event {
            KeeperEvent::Finished(finished) => Some(finished),
            _ => None,
        });
        let finished = finished.expect("finished");
        assert!(matches!(
            finished.release,
            Some(Ok(ReleaseOutcome::NotHeld))
        ));
        assert!(finished.lost.is_some(), "lost before the release");
        assert!(k.is_finished());
    }
}
