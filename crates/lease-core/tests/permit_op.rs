//! The semaphore's machine alone ([`PermitOp`]): exact instants in, requests and results out,
//! answers made up here. Lease 10 s, skew bound 1 s.

#![allow(clippy::unwrap_used, clippy::expect_used)]
// Tests need `Instant` values, and only `Instant::now` makes one: it is read once per test, as
// an origin; every instant a machine sees is that origin plus an exact offset.
#![allow(clippy::disallowed_methods)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use lease_core::lifecycle::{Machine, PermitOp};
use lease_core::{
    AttributeValue, InvalidInput, Item, LeaseConfig, LeaseError, LeaseToken, Planner, Request,
    RetryPolicy, StoreError, StoreErrorKind, StoreResponse, WaitPolicy, permit_index,
};

mod common;

use common::{Clocks, T0, ms};

fn planner() -> Arc<Planner> {
    Arc::new(Planner::new(LeaseConfig::builder("locks").build().unwrap()))
}

fn permit(c: &Clocks, permits: u32) -> PermitOp {
    PermitOp::new(
        planner(),
        "pool",
        permits,
        Duration::from_secs(10),
        c.at(Duration::ZERO),
        LeaseToken::new("tok-a"),
        RetryPolicy::never(),
    )
    .unwrap()
}

/// A slot item held until `expires` (epoch seconds).
fn slot(index: u32, token: &str, expires: i64) -> Item {
    Item::from([
        ("pk".into(), AttributeValue::string("pool")),
        (
            "sk".into(),
            AttributeValue::string(format!("PERMIT#{index:04}")),
        ),
        ("lease_token".into(), AttributeValue::string(token)),
        ("lease_expires_at".into(), AttributeValue::number(expires)),
        ("lease_fence".into(), AttributeValue::number(5)),
    ])
}

fn granted() -> Result<StoreResponse, StoreError> {
    let fence = Item::from([("lease_fence".into(), AttributeValue::number(7))]);
    Ok(StoreResponse::Applied {
        attributes: Some(fence),
    })
}

/// Sends what the machine asks for at `t` and answers it with `answer`, read at `t + rtt`.
fn exchange(
    m: &mut PermitOp,
    c: &Clocks,
    t: Duration,
    rtt: Duration,
    answer: Result<StoreResponse, StoreError>,
) -> Request {
    let transmit = m.poll_transmit(c.at(t)).expect("a request is due");
    let (id, request) = (transmit.id, transmit.request.clone());
    m.handle_response(id, answer, c.at(t + rtt));
    request
}

/// The slot an acquire request writes.
fn slot_of(request: &Request) -> u32 {
    let Request::Update(update) = request else {
        panic!("not an update: {request:?}");
    };
    update.key["sk"].as_s().and_then(permit_index).unwrap()
}

#[test]
fn an_acquire_is_one_query_and_one_write_of_a_free_slot() {
    let c = Clocks(Instant::now());
    let mut op = permit(&c, 3);
    let held = vec![slot(0, "x", T0 + 5), slot(2, "y", T0 + 5)];
    let query = exchange(&mut op, &c, ms(0), ms(5), Ok(StoreResponse::Items(held)));
    let Request::Query(query) = query else {
        panic!("{query:?}");
    };
    assert!(query.consistent_read);
    assert_eq!(
        query.render().condition.as_deref(),
        Some("#pk = :pk AND begins_with(#sk, :prefix)")
    );
    let write = exchange(&mut op, &c, ms(5), ms(5), granted());
    assert_eq!(slot_of(&write), 1, "the only free slot");
    let lease = op.poll_output().unwrap().unwrap();
    assert_eq!(lease.key().sort(), Some("PERMIT#0001"));
    assert_eq!(lease.fence().get(), 7);
}

#[test]
fn expired_released_and_out_of_range_slots_are_free_or_ignored() {
    let c = Clocks(Instant::now());
    let mut op = permit(&c, 2);
    // Slot 0 expired, slot 1 released, slot 5 (above N) held: both below N are free.
    let items = vec![slot(0, "x", T0), slot(1, "y", 0), slot(5, "z", T0 + 60)];
    exchange(&mut op, &c, ms(0), ms(5), Ok(StoreResponse::Items(items)));
    let write = exchange(&mut op, &c, ms(5), ms(5), granted());
    assert!(slot_of(&write) < 2);
    assert!(op.poll_output().unwrap().is_ok());
}

#[test]
fn a_full_semaphore_names_the_earliest_expiry() {
    let c = Clocks(Instant::now());
    let mut op = permit(&c, 2);
    let items = vec![slot(0, "x", T0 + 9), slot(1, "y", T0 + 4)];
    exchange(&mut op, &c, ms(0), ms(5), Ok(StoreResponse::Items(items)));
    let error = op.poll_output().unwrap().unwrap_err();
    match error {
        LeaseError::NoPermit {
            permits,
            earliest_expiry,
            ..
        } => {
            assert_eq!(permits, 2);
            assert_eq!(
                earliest_expiry,
                lease_core::wire_time::from_epoch_seconds(T0 + 4)
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(op.poll_transmit(c.at(ms(5))).is_none());
}

#[test]
fn a_lost_race_queries_again() {
    let c = Clocks(Instant::now());
    let mut op = permit(&c, 1);
    exchange(
        &mut op,
        &c,
        ms(0),
        ms(5),
        Ok(StoreResponse::Items(Vec::new())),
    );
    // Another acquirer took slot 0 between the Query and the write.
    let taken = Ok(StoreResponse::ConditionFailed {
        old_item: Some(slot(0, "other", T0 + 10)),
    });
    exchange(&mut op, &c, ms(5), ms(5), taken);
    assert!(op.poll_output().is_none());
    let again = exchange(
        &mut op,
        &c,
        ms(10),
        ms(5),
        Ok(StoreResponse::Items(vec![slot(0, "other", T0 + 10)])),
    );
    assert!(matches!(again, Request::Query(_)));
    assert!(op.poll_output().unwrap().unwrap_err().is_no_permit());
}

#[test]
fn a_waiting_acquire_sleeps_until_the_earliest_expiry_then_takes_the_slot() {
    let c = Clocks(Instant::now());
    let mut op = permit(&c, 1).waiting(WaitPolicy::with_timeout(Duration::from_secs(30)));
    exchange(
        &mut op,
        &c,
        ms(0),
        ms(5),
        Ok(StoreResponse::Items(vec![slot(0, "x", T0 + 1)])),
    );
    assert!(op.poll_output().is_none());
    // The holder expires at T0 + 1 s: the next attempt is due then (below max_delay of 1 s),
    // counted from the answer's reading at 5 ms.
    let due = op.poll_timeout().unwrap();
    assert_eq!(due, c.0 + ms(1_000));
    assert!(op.poll_transmit(c.at(ms(900))).is_none(), "asleep");
    op.handle_timeout(c.at(ms(1_000)));
    exchange(
        &mut op,
        &c,
        ms(1_000),
        ms(5),
        Ok(StoreResponse::Items(vec![slot(0, "x", T0 + 1)])),
    );
    // Read at 1.005 s: the slot has expired.
    let write = exchange(&mut op, &c, ms(1_005), ms(5), granted());
    assert_eq!(slot_of(&write), 0);
    assert!(op.poll_output().unwrap().is_ok());
}

#[test]
fn a_wait_ends_at_its_timeout_with_no_permit() {
    let c = Clocks(Instant::now());
    let mut op = permit(&c, 1).waiting(WaitPolicy::with_timeout(ms(1_500)));
    let full = || Ok(StoreResponse::Items(vec![slot(0, "x", T0 + 60)]));
    exchange(&mut op, &c, ms(0), ms(5), full());
    let mut t = ms(5);
    for _ in 0..5 {
        if op.poll_output().is_some() {
            panic!("ended early");
        }
        let due = op.poll_timeout().unwrap();
        assert!(due <= c.0 + ms(1_500), "never past the timeout");
        t = due - c.0;
        op.handle_timeout(c.at(t));
        exchange(&mut op, &c, t, ms(5), full());
        if t >= ms(1_500) {
            break;
        }
    }
    assert_eq!(t, ms(1_500));
    assert!(op.poll_output().unwrap().unwrap_err().is_no_permit());
}

#[test]
fn a_failed_query_is_a_store_error_and_bad_input_sends_nothing() {
    let c = Clocks(Instant::now());
    let mut op = permit(&c, 2);
    exchange(
        &mut op,
        &c,
        ms(0),
        ms(5),
        Err(StoreError::new(StoreErrorKind::Timeout, "made up")),
    );
    let error = op.poll_output().unwrap().unwrap_err();
    assert!(error.is_store(), "a read changes nothing: {error:?}");

    for permits in [0, 1001] {
        let error = PermitOp::new(
            planner(),
            "pool",
            permits,
            Duration::from_secs(10),
            c.at(Duration::ZERO),
            LeaseToken::new("tok-a"),
            RetryPolicy::never(),
        )
        .unwrap_err();
        assert!(
            matches!(error, LeaseError::InvalidInput { reason: InvalidInput::InvalidPermits { permits: p }, .. } if p == permits)
        );
    }
}

#[test]
fn a_full_semaphore_with_an_unreadable_slot_says_so() {
    let c = Clocks(Instant::now());
    let mut op = permit(&c, 2).waiting(WaitPolicy::with_timeout(Duration::from_secs(30)));
    let mut broken = slot(1, "x", T0 + 60);
    broken.remove("lease_expires_at");
    exchange(
        &mut op,
        &c,
        ms(0),
        ms(5),
        Ok(StoreResponse::Items(vec![slot(0, "y", T0 + 60), broken])),
    );
    match op.poll_output().unwrap().unwrap_err() {
        LeaseError::MalformedItem { key, .. } => assert_eq!(key.sort(), Some("PERMIT#0001")),
        other => panic!("{other:?}"),
    }
}
