//! The guard's driver: the task that pumps its [`Keeper`](lease_core::lifecycle::Keeper) with
//! the store and tokio's timers. It decides nothing: every decision is the keeper's.

use std::future::pending;
use std::sync::Arc;

use lease_core::lifecycle::{Kept, RequestId};
use lease_core::{StoreError, StoreErrorKind};
use tokio_util::sync::CancellationToken;

use super::shared::Shared;
use crate::in_flight::{Answer, InFlight, answer};
use crate::manager::LeaseManager;
use lease_core::Store;

/// What woke the driver.
enum Wake {
    /// A command (release, drop) or a status read that may have changed what is due.
    Command,
    /// The manager is shutting down.
    Shutdown,
    /// The store answered the request in flight.
    Answer(RequestId, Answer),
    /// A timer the keeper asked for.
    Timer,
}

/// Marks the driver gone when it ends or is dropped (its runtime shut down, even before the
/// task first ran), so that a release waiting for it drives the keeper itself. Made before
/// the task is spawned and moved into it.
pub(super) struct Alive<L: Kept>(Arc<Shared<L>>);

impl<L: Kept> Alive<L> {
    pub(super) fn new(shared: &Arc<Shared<L>>) -> Self {
        Self(Arc::clone(shared))
    }
}

impl<L: Kept> Drop for Alive<L> {
    fn drop(&mut self) {
        self.0.driver_gone();
    }
}

/// The driver task of a guard: [`drive`] until the keeper is finished, with the manager's
/// shutdown signal.
pub(super) async fn run<S: Store + 'static, L: Kept>(
    alive: Alive<L>,
    manager: LeaseManager<S>,
    shutdown: CancellationToken,
) {
    let shared = Arc::clone(&alive.0);
    drive(shared, manager, Some(shutdown)).await;
    drop(alive);
}

/// Runs until the keeper is finished: sends its requests (one at a time) and hands the
/// answers back, wakes it at its timers, passes on the manager's shutdown. `shutdown` is
/// `None` when driven from a release after the driver task died.
async fn drive<S: Store + 'static, L: Kept>(
    shared: Arc<Shared<L>>,
    manager: LeaseManager<S>,
    shutdown: Option<CancellationToken>,
) {
    let mut in_flight: Option<InFlight> = None;
    let mut shutting_down = shutdown.is_none();
    loop {
        let (transmit, timeout, finished) = shared.with(|keeper, now| {
            if let Some((id, _)) = &in_flight
                && !keeper.is_awaiting(*id)
            {
                // Abandoned (the safe deadline passed): its answer no longer matters.
                in_flight = None;
            }
            keeper.handle_timeout(now);
            let transmit = match &in_flight {
                None => keeper.poll_transmit(now).map(|t| (t.id, t.request.clone())),
                Some(_) => None,
            };
            (transmit, keeper.poll_timeout(), keeper.is_finished())
        });
        if finished {
            return;
        }
        if let Some((id, request)) = transmit {
            let manager = manager.clone();
            in_flight = Some((
                id,
                Box::pin(async move { manager.store().execute(&request).await }),
            ));
        }
        let wake = tokio::select! {
            biased;
            () = shared.wake.notified() => Wake::Command,
            () = cancelled(shutdown.as_ref()), if !shutting_down => Wake::Shutdown,
            (id, answer) = answer(&mut in_flight) => Wake::Answer(id, answer),
            () = shared.sleep_until(timeout) => Wake::Timer,
        };
        match wake {
            Wake::Command | Wake::Timer => {}
            Wake::Shutdown => {
                shutting_down = true;
                shared.with(|keeper, now| keeper.shutdown(now));
            }
            Wake::Answer(id, answer) => {
                in_flight = None;
                shared.with(|keeper, now| keeper.handle_response(id, answer, now));
            }
        }
    }
}

/// Drives the keeper from a release, after its driver task died with its runtime: the answer
/// to a request it had in flight is lost, and is reported to the keeper as a timeout (which
/// sends it again: every lease request is safe to send twice).
pub(super) async fn drive_orphan<S: Store + 'static, L: Kept>(
    shared: Arc<Shared<L>>,
    manager: LeaseManager<S>,
) {
    shared.with(|keeper, now| {
        if let Some(id) = keeper.in_flight() {
            let lost = StoreError::new(
                StoreErrorKind::Timeout,
                "the lease guard's driver stopped before the answer came",
            );
            keeper.handle_response(id, Err(lost), now);
        }
    });
    drive(shared, manager, None).await;
}

async fn cancelled(token: Option<&CancellationToken>) {
    match token {
        Some(token) => token.cancelled().await,
        None => pending().await,
    }
}
