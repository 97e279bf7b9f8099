//! The election observer alone: exact instants, made-up answers. It shows what it read, judged
//! by its own wall clock, and never a leader past the leader's expiry.

#![allow(clippy::unwrap_used, clippy::expect_used)]
// Tests need `Instant` values, and only `Instant::now` makes one: it is read once per test, as
// an origin; every instant the machine sees is that origin plus an exact offset.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{Clocks, T0};

use std::sync::Arc;
use std::time::{Duration, Instant};

use lease_core::lifecycle::Observer;
use lease_core::{
    AttributeValue, FencingToken, Item, LeaseConfig, Planner, RetryPolicy, StoreError,
    StoreErrorKind, StoreResponse,
};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn observer(every: Duration) -> Observer {
    let planner = Arc::new(Planner::new(LeaseConfig::builder("locks").build().unwrap()));
    Observer::new(planner, "jobs", every, RetryPolicy::never()).unwrap()
}

fn item(expires: i64, value: Option<&str>) -> Result<StoreResponse, StoreError> {
    let mut item = Item::from([
        ("pk".into(), AttributeValue::string("jobs")),
        ("sk".into(), AttributeValue::string("LEADER")),
        ("lease_token".into(), AttributeValue::string("t")),
        ("lease_expires_at".into(), AttributeValue::number(expires)),
        ("lease_fence".into(), AttributeValue::number(9)),
    ]);
    if let Some(value) = value {
        item.insert("lease_value".into(), AttributeValue::string(value));
    }
    Ok(StoreResponse::Item(Some(item)))
}

/// Reads at `t` (a read must be due) and answers with `answer` at once.
fn read(o: &mut Observer, c: &Clocks, t: Duration, answer: Result<StoreResponse, StoreError>) {
    let id = o.poll_transmit(c.at(t)).expect("a read is due").id;
    o.handle_response(id, answer, c.at(t));
}

#[test]
fn the_leader_read_is_shown_until_its_expiry_even_when_reads_fail() {
    let c = Clocks(Instant::now());
    let mut o = observer(secs(2));
    read(&mut o, &c, Duration::ZERO, item(T0 + 5, Some("host-a")));
    let shown = o.poll_change().unwrap().unwrap();
    assert_eq!(shown.value.as_deref(), Some("host-a"));
    assert_eq!(shown.fence, Some(FencingToken::new(9)));
    assert_eq!(o.poll_timeout(), Some(c.0 + secs(2)), "the next read");
    // Reads fail from now on: the leader stays shown until its expiry, then goes.
    let unavailable = || Err(StoreError::new(StoreErrorKind::Unreachable, "down"));
    read(&mut o, &c, secs(2), unavailable());
    read(&mut o, &c, secs(4), unavailable());
    assert!(o.last_error().is_some());
    assert_eq!(o.poll_change(), None, "no change while it lasts");
    assert_eq!(o.poll_timeout(), Some(c.0 + secs(5)), "woken at the expiry");
    o.handle_timeout(c.at(secs(5) - Duration::from_nanos(1)));
    assert!(o.leader().is_some());
    o.handle_timeout(c.at(secs(5)));
    assert_eq!(o.poll_change(), Some(None), "gone at the expiry");
    assert_eq!(o.leader(), None);
}

#[test]
fn a_released_or_absent_leader_is_no_leader_and_a_new_term_is_a_change() {
    let c = Clocks(Instant::now());
    let mut o = observer(secs(1));
    assert!(
        o.poll_transmit(c.at(Duration::ZERO)).is_some(),
        "the first read is due at once"
    );
    let mut o = observer(secs(1));
    read(&mut o, &c, Duration::ZERO, Ok(StoreResponse::Item(None)));
    assert_eq!(o.poll_change(), None, "no leader, as before");
    read(&mut o, &c, secs(1), item(T0 + 30, Some("a")));
    assert!(o.poll_change().unwrap().is_some());
    // Renewed: the expiry moved, which is a change of what is shown (a new expiry).
    read(&mut o, &c, secs(2), item(T0 + 40, Some("a")));
    assert_eq!(
        o.poll_change()
            .unwrap()
            .unwrap()
            .expires_at
            .duration_since(lease_core::wire_time::from_epoch_seconds(T0).unwrap())
            .unwrap(),
        secs(40)
    );
    // Released (expiry 0).
    read(&mut o, &c, secs(3), item(0, Some("a")));
    assert_eq!(o.poll_change(), Some(None));
}

#[test]
fn reads_are_never_closer_than_the_minimum_and_bad_names_are_refused() {
    let c = Clocks(Instant::now());
    let mut o = observer(Duration::ZERO);
    read(&mut o, &c, Duration::ZERO, Ok(StoreResponse::Item(None)));
    assert_eq!(
        o.poll_timeout(),
        Some(c.0 + lease_core::lifecycle::MIN_POLL_DELAY)
    );
    let planner = Arc::new(Planner::new(LeaseConfig::builder("locks").build().unwrap()));
    assert!(Observer::new(planner, "", secs(1), RetryPolicy::never()).is_err());
}
