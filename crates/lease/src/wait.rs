//! Waiting for a held lease: lease-core's [`WaitOp`], driven by the manager, in line behind
//! the manager's other waiters for the key ([`crate::handover`]).

use std::sync::Arc;
use std::time::Duration;

use lease_core::lifecycle::WaitOp;
use lease_core::{Lease, LeaseError, LeaseKey, Text, WaitPolicy};
use rand::RngExt;
use rand::rngs::Xoshiro256PlusPlus;
use tracing::{Instrument, debug_span};

use crate::manager::LeaseManager;
use lease_core::Store;

/// [`LeaseManager::acquire`]: the wait's machine, with a jitter seed from the
/// operating system (unless the policy fixes one).
pub(crate) async fn acquire_waiting<S: Store>(
    manager: &LeaseManager<S>,
    key: LeaseKey,
    duration: Duration,
    policy: &WaitPolicy,
    value: Option<&Text>,
) -> Result<Lease, LeaseError> {
    let span = debug_span!("lease_wait", key = %key, timeout = ?policy.timeout());
    // The machine prefers the policy's own seed, if it has one.
    let seed = rand::make_rng::<Xoshiro256PlusPlus>().random();
    let now = manager.clock_reading();
    let key = manager.planner().resolve(key);
    crate::manager::not_an_election(&key, value)?;
    let mut wait = WaitOp::new(
        Arc::clone(manager.planner()),
        key.clone(),
        duration,
        policy.clone(),
        manager.retry_policy(),
        manager.token_source(),
        seed,
        now,
    )?;
    if let Some(value) = value {
        wait = wait.proclaiming(value.clone())?;
    }
    // In line behind the manager's other waiters for the key (bad input was refused above,
    // before joining): only the first talks to the table.
    let (place, turns, turn) = manager.shared.handover.join(&key);
    wait.take_turn(turn, now);
    let result = manager
        .drive_with(&mut wait, now, &*turns)
        .instrument(span)
        .await;
    manager.record_acquire(&result);
    match &result {
        Ok(lease) => place.acquired(lease),
        Err(_) => drop(place),
    }
    result
}
