//! A held lease and the outcome of releasing one.

use std::time::Instant;

use time::OffsetDateTime;

use crate::fence::FencingToken;
use crate::key::LeaseKey;
use crate::token::LeaseToken;

/// A lease this process holds (or held): its key, its bearer token, its expiry, its fencing
/// token and its local safe deadline.
///
/// `Debug` shows the token's fingerprint only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    key: LeaseKey,
    token: LeaseToken,
    expires_at: OffsetDateTime,
    fence: Option<FencingToken>,
    valid_until: Option<Instant>,
}

impl Lease {
    /// A lease value from its parts, for example to refresh or release a lease whose token was
    /// handed over from elsewhere (a script, another language's service). Refresh and release
    /// condition on the token only; `expires_at` is informational. Such a lease has no
    /// [`fence`](Self::fence) and no [`valid_until`](Self::valid_until) until it is refreshed.
    #[must_use]
    pub fn new(key: LeaseKey, token: LeaseToken, expires_at: OffsetDateTime) -> Self {
        Self {
            key,
            token,
            expires_at,
            fence: None,
            valid_until: None,
        }
    }

    /// The same lease with `fence` as its fencing token.
    pub(crate) fn with_fence(mut self, fence: FencingToken) -> Self {
        self.fence = Some(fence);
        self
    }

    pub(crate) fn held(
        key: LeaseKey,
        token: LeaseToken,
        expires_at: OffsetDateTime,
        fence: Option<FencingToken>,
        valid_until: Option<Instant>,
    ) -> Self {
        Self {
            key,
            token,
            expires_at,
            fence,
            valid_until,
        }
    }

    /// The lease's key.
    #[must_use]
    pub fn key(&self) -> &LeaseKey {
        &self.key
    }

    /// The bearer token that refresh and release condition on.
    #[must_use]
    pub fn token(&self) -> &LeaseToken {
        &self.token
    }

    /// When the lease expires in the store, as written: never earlier than the acquire or
    /// refresh time plus the duration asked for (rounded up to the configured unit).
    #[must_use]
    pub fn expires_at(&self) -> OffsetDateTime {
        self.expires_at
    }

    /// [`expires_at`](Self::expires_at) as whole epoch seconds (rounded up): the stored
    /// `lease_expires_at` value in TableTheory's format (its `Lease.ExpiresAt`), that is with
    /// the default [`ExpiryUnit::Seconds`](crate::ExpiryUnit::Seconds); with milliseconds the
    /// stored value is [`expires_at`](Self::expires_at) in epoch milliseconds.
    #[must_use]
    pub fn expires_at_epoch_seconds(&self) -> i64 {
        let secs = self.expires_at.unix_timestamp();
        if self.expires_at.nanosecond() > 0 {
            secs.saturating_add(1)
        } else {
            secs
        }
    }

    /// The fencing token of this acquisition: strictly greater than that of every earlier
    /// acquisition of the key. `None` only for a lease made with [`Lease::new`].
    #[must_use]
    pub fn fence(&self) -> Option<FencingToken> {
        self.fence
    }

    /// The local, monotonic deadline by which the holder must stop work: the instant the
    /// acquire (or last refresh) request was sent, plus the duration, minus the clock skew bound.
    /// Until then no other host can take the lease over, whatever its clock says (within the
    /// bound). `None` when the lease was planned without a monotonic reading.
    #[must_use]
    pub fn valid_until(&self) -> Option<Instant> {
        self.valid_until
    }

    /// Whether the local safe deadline is still ahead of `now` (`false` when unknown).
    #[must_use]
    pub fn is_valid_at(&self, now: Instant) -> bool {
        self.valid_until.is_some_and(|until| now < until)
    }
}

/// The outcome of a release that reached the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum ReleaseOutcome {
    /// The lease item held our token and is now marked released (its expiry set to 0, so anyone
    /// may acquire it at once; the item keeps its fencing token). Releasing again is also
    /// `Released`: release is idempotent, so a retried release has a definite answer.
    Released,
    /// Nothing was changed: the item is gone, or holds another token (the lease expired and was
    /// taken over). TableTheory's release reports this case as success; here the caller can tell.
    NotHeld,
}
