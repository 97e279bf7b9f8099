//! A semaphore actor's acquires ([`ActorOptions::permits`](crate::options::ActorOptions::permits)):
//! one permit of the semaphore [`SEMAPHORE`] with lease-core's `PermitOp` (waiting in waiting
//! mode, one try otherwise), as the `lease` crate's `acquire_permit` does. The permit is a
//! lease on a slot key, held like any single lease (a keeper, or by hand); its interval's key
//! is the slot's index, so S1–S4 judge each slot as a key, and the checker's at-most-`N`
//! property judges the slots together.

use std::sync::Arc;
use std::time::Duration;

use lease_core::lifecycle::PermitOp;
use lease_core::{AttributeValue, Lease, Now, Request, StoreError, StoreResponse, permit_index};

use super::{Acquiring, Actor, Ctx, State};
use crate::history::Who;
use crate::options::{Mode, SEMAPHORE};

impl Actor {
    /// Starts an acquire of one of `permits` permits.
    pub(super) fn start_permit(
        &mut self,
        permits: u32,
        now: Now,
        t: Duration,
        ctx: &mut Ctx<'_>,
    ) -> State {
        let token = self.tokens.next_token();
        self.machine += 1;
        ctx.history.note(t, || {
            format!(
                "{} acquires a permit of {SEMAPHORE} (N = {permits})",
                self.name
            )
        });
        match PermitOp::new(
            Arc::clone(&self.planner),
            SEMAPHORE,
            permits,
            self.options.duration,
            now,
            token,
            self.options.retry,
        ) {
            Ok(op) => {
                let op = if self.options.mode == Mode::GuardWaiting {
                    op.waiting(self.options.wait.clone())
                } else {
                    op
                };
                State::Acquiring {
                    machine: Acquiring::Permit(Box::new(op)),
                    // Not known until the permit comes: the slot's index.
                    key: usize::MAX,
                }
            }
            // Options are valid by construction; a bad input would be a simulator bug.
            Err(_) => State::Done,
        }
    }

    /// The slot (key index) of a permit acquired with `permits` at `t`, or none when it is
    /// beyond the run's slot keys (recorded for the checker; the actor stops, the permit
    /// expires).
    pub(super) fn permit_slot(
        &mut self,
        lease: &Lease,
        permits: u32,
        t: Duration,
        ctx: &mut Ctx<'_>,
    ) -> Option<usize> {
        let index = lease.key().sort().and_then(permit_index);
        let slot = index
            .and_then(|index| usize::try_from(index).ok())
            .filter(|slot| *slot < self.keys);
        let Some(slot) = slot else {
            ctx.history
                .stray_permits
                .push((t, index.unwrap_or(u32::MAX), permits));
            ctx.history.note(t, || {
                format!(
                    "{} got a permit on {} (N = {permits})",
                    self.name,
                    lease.key()
                )
            });
            return None;
        };
        ctx.history.tally.permits_acquired += 1;
        let others =
            ctx.history.permits.iter().any(|(interval, n)| {
                *n != permits && ctx.history.intervals[*interval].ended.is_none()
            });
        if others {
            ctx.history.tally.mixed_permits += 1;
        }
        Some(slot)
    }

    /// A `Query` answer its permit acquire awaits came at `t`: notes the slots it shows held
    /// (an expiry after the actor's wall clock), as the acquire will read them.
    pub(super) fn note_query_view(
        &mut self,
        answer: &Result<StoreResponse, StoreError>,
        t: Duration,
    ) {
        let (
            State::Acquiring {
                machine: Acquiring::Permit(_),
                ..
            },
            Ok(StoreResponse::Items(items)),
        ) = (&self.state, answer)
        else {
            return;
        };
        let config = self.planner.config();
        let wall = self.clock.now(t).wall;
        let held = items
            .iter()
            .filter_map(|item| {
                let slot = match item.get(config.sort_key_attribute()) {
                    Some(AttributeValue::S(sk)) => permit_index(sk)?,
                    _ => return None,
                };
                let expiry = match item.get(config.expires_at_attribute()) {
                    Some(AttributeValue::N(n)) => n.parse::<i64>().ok()?,
                    _ => return None,
                };
                let expires = config.expiry_unit().to_time(expiry)?;
                (expires > wall).then_some(slot)
            })
            .collect();
        self.query_view = Some(held);
    }

    /// The first request of a permit acquire after its `Query` was answered: if it is the
    /// acquire of a slot that answer showed held, records it (L4).
    pub(super) fn judge_slot_choice(&mut self, request: &Request, t: Duration, ctx: &mut Ctx<'_>) {
        let Some(held) = self.query_view.take() else {
            return;
        };
        let Request::Update(update) = request else {
            return;
        };
        let sort = self.planner.config().sort_key_attribute();
        let slot = match update.key.get(sort) {
            Some(AttributeValue::S(sk)) => permit_index(sk),
            _ => None,
        };
        if let Some(slot) = slot.filter(|slot| held.contains(slot)) {
            ctx.history
                .held_slot_asks
                .push((t, Who::Actor(self.index), slot));
            ctx.history.note(t, || {
                format!(
                    "{} asks for slot {slot}, which its query showed held",
                    self.name
                )
            });
        }
    }
}
