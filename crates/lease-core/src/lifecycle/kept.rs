//! [`Kept`]: what a [`Keeper`](super::Keeper) keeps: a [`Lease`], or a [`LeaseSet`] (several
//! keys renewed and released together, one transaction each).

use std::fmt;
use std::time::{Duration, Instant};

use crate::error::LeaseError;
use crate::fence::FencingToken;
use crate::key::LeaseKey;
use crate::lease::{Lease, ReleaseOutcome};
use crate::lease_set::{self, LeaseSet, ReleaseSetAnswer, transient_cancellation};
use crate::now::Now;
use crate::planner::Planner;
use crate::request::Request;
use crate::response::{StoreError, StoreResponse};
use crate::token::LeaseToken;
use crate::{refresh, release};

mod sealed {
    /// Only this crate's lease types are kept.
    #[expect(
        unnameable_types,
        reason = "the sealed-trait pattern: nobody outside may implement `Kept`"
    )]
    pub trait Sealed {}
    impl Sealed for crate::Lease {}
    impl Sealed for crate::LeaseSet {}
}

/// What the release of a kept lease does next ([`Kept::release_answer`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum ReleaseStep {
    /// The release is over, with this result.
    Done(Result<ReleaseOutcome, LeaseError>),
    /// Send this request too (a set releases the keys still held without those no longer
    /// held).
    Again(Request),
}

/// What a [`Keeper`](super::Keeper) keeps, renews and releases: a [`Lease`] (one
/// `UpdateItem` per renewal and release) or a [`LeaseSet`] (one `TransactWriteItems` each).
/// Sealed: implemented for these two only.
pub trait Kept: sealed::Sealed + Clone + fmt::Debug + Send + Sync + 'static {
    /// Whether a renewal answered [`LeaseError::NotOwned`] still leaves something to release:
    /// not for a lease (it is someone else's), but for a set (the keys not lost are still
    /// ours).
    const RELEASE_WHEN_NOT_OWNED: bool;

    /// The key named in errors and logs (a set's first key).
    fn key(&self) -> &LeaseKey;

    /// The bearer token.
    fn token(&self) -> &LeaseToken;

    /// The fencing token of [`key`](Self::key), for logs.
    fn fence(&self) -> FencingToken;

    /// When it expires in the store, as written (see [`Lease::expires_at_epoch_seconds`]).
    fn expires_at_epoch_seconds(&self) -> i64;

    /// The local safe deadline on the monotonic clock (see [`Lease::valid_until`]).
    fn valid_until(&self) -> Option<Instant>;

    /// Whether the holder may still work under it at `now` (see [`Lease::is_valid_at`]).
    fn is_valid_at(&self, now: Now) -> bool;

    /// The monotonic instant its last write was sent at: renewals are counted from there.
    fn written_at(&self) -> Option<Instant>;

    /// The renewal for `duration` at `now`: the request, and what it gives if it succeeds.
    ///
    /// # Errors
    /// [`LeaseError::InvalidInput`] as for a refresh.
    fn plan_renewal(
        &self,
        planner: &Planner,
        duration: Duration,
        now: Now,
    ) -> Result<(Request, Self), LeaseError>;

    /// The renewal's final answer: `pending` renewed, or why not ([`LeaseError::NotOwned`]
    /// when it is not ours any more).
    ///
    /// # Errors
    /// As a refresh's.
    fn renewal_answer(
        pending: Self,
        answer: Result<StoreResponse, StoreError>,
    ) -> Result<Self, LeaseError>;

    /// The release at `now`.
    ///
    /// # Errors
    /// [`LeaseError::InvalidInput`] as for a release.
    fn plan_release(&self, planner: &Planner, now: Now) -> Result<Request, LeaseError>;

    /// The release's final answer, read at `now`: done, or one more request (a set without the
    /// keys no longer held, which are then dropped from `self`).
    fn release_answer(
        &mut self,
        planner: &Planner,
        answer: Result<StoreResponse, StoreError>,
        now: Now,
    ) -> ReleaseStep;

    /// An answer as a request's retries see it: a set's cancelled transaction that wrote
    /// nothing and may pass (`TransactionConflict`, throttling) counts as throttled.
    fn as_retried(answer: Result<StoreResponse, StoreError>) -> Result<StoreResponse, StoreError> {
        answer
    }
}

impl Kept for Lease {
    const RELEASE_WHEN_NOT_OWNED: bool = false;

    fn fence(&self) -> FencingToken {
        Lease::fence(self)
    }

    fn expires_at_epoch_seconds(&self) -> i64 {
        Lease::expires_at_epoch_seconds(self)
    }

    fn key(&self) -> &LeaseKey {
        Lease::key(self)
    }

    fn token(&self) -> &LeaseToken {
        Lease::token(self)
    }

    fn valid_until(&self) -> Option<Instant> {
        Lease::valid_until(self)
    }

    fn is_valid_at(&self, now: Now) -> bool {
        Lease::is_valid_at(self, now)
    }

    fn written_at(&self) -> Option<Instant> {
        self.deadline().map(|deadline| deadline.sent.0)
    }

    fn plan_renewal(
        &self,
        planner: &Planner,
        duration: Duration,
        now: Now,
    ) -> Result<(Request, Self), LeaseError> {
        Ok(planner.refresh(self, duration, now)?.into_parts())
    }

    fn renewal_answer(
        pending: Self,
        answer: Result<StoreResponse, StoreError>,
    ) -> Result<Self, LeaseError> {
        refresh::interpret(pending, answer)
    }

    fn plan_release(&self, planner: &Planner, now: Now) -> Result<Request, LeaseError> {
        Ok(planner.release(self, now)?.into_request())
    }

    fn release_answer(
        &mut self,
        _: &Planner,
        answer: Result<StoreResponse, StoreError>,
        _: Now,
    ) -> ReleaseStep {
        ReleaseStep::Done(release::interpret(|| self.key().clone(), answer))
    }
}

impl Kept for LeaseSet {
    const RELEASE_WHEN_NOT_OWNED: bool = true;

    fn fence(&self) -> FencingToken {
        self.first().fence()
    }

    fn expires_at_epoch_seconds(&self) -> i64 {
        self.first().expires_at_epoch_seconds()
    }

    fn key(&self) -> &LeaseKey {
        self.first().key()
    }

    fn token(&self) -> &LeaseToken {
        LeaseSet::token(self)
    }

    fn valid_until(&self) -> Option<Instant> {
        LeaseSet::valid_until(self)
    }

    fn is_valid_at(&self, now: Now) -> bool {
        LeaseSet::is_valid_at(self, now)
    }

    fn written_at(&self) -> Option<Instant> {
        self.first().deadline().map(|deadline| deadline.sent.0)
    }

    fn plan_renewal(
        &self,
        planner: &Planner,
        duration: Duration,
        now: Now,
    ) -> Result<(Request, Self), LeaseError> {
        planner.refresh_set(self, duration, now)
    }

    fn renewal_answer(
        pending: Self,
        answer: Result<StoreResponse, StoreError>,
    ) -> Result<Self, LeaseError> {
        lease_set::interpret_refresh(pending, answer)
    }

    fn plan_release(&self, planner: &Planner, now: Now) -> Result<Request, LeaseError> {
        let leases: Vec<_> = self.leases().iter().map(|l| l.parts().clone()).collect();
        planner.release_set(&leases, now)
    }

    fn release_answer(
        &mut self,
        planner: &Planner,
        answer: Result<StoreResponse, StoreError>,
        now: Now,
    ) -> ReleaseStep {
        let leases: Vec<_> = self.leases().iter().map(|l| l.parts().clone()).collect();
        match lease_set::interpret_release(&leases, answer) {
            ReleaseSetAnswer::Done(result) => ReleaseStep::Done(result),
            ReleaseSetAnswer::Without(not_held) => {
                let kept = self.without(&not_held);
                match kept {
                    None => ReleaseStep::Done(Ok(ReleaseOutcome::NotHeld)),
                    Some(rest) => {
                        *self = rest;
                        match self.plan_release(planner, now) {
                            Ok(request) => ReleaseStep::Again(request),
                            Err(error) => ReleaseStep::Done(Err(error)),
                        }
                    }
                }
            }
        }
    }

    fn as_retried(answer: Result<StoreResponse, StoreError>) -> Result<StoreResponse, StoreError> {
        match transient_cancellation(&answer) {
            Some(error) => Err(error),
            None => answer,
        }
    }
}
