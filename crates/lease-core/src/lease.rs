//! A held lease and the outcome of releasing one.

use time::OffsetDateTime;

use crate::key::LeaseKey;
use crate::token::LeaseToken;

/// A lease this process holds (or held): its key, its bearer token and its expiry.
///
/// `Debug` shows the token's fingerprint only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    key: LeaseKey,
    token: LeaseToken,
    expires_at: OffsetDateTime,
}

impl Lease {
    /// A lease value from its parts, for example to refresh or release a lease whose token was
    /// handed over from elsewhere (a script, another language's service). `expires_at` is only
    /// informational to refresh and release, which condition on the token.
    #[must_use]
    pub fn new(key: LeaseKey, token: LeaseToken, expires_at: OffsetDateTime) -> Self {
        Self {
            key,
            token,
            expires_at,
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

    /// When the lease expires in the store, as written: whole seconds, never earlier than the
    /// acquire or refresh time plus the duration asked for.
    #[must_use]
    pub fn expires_at(&self) -> OffsetDateTime {
        self.expires_at
    }

    /// [`expires_at`](Self::expires_at) as whole epoch seconds: the stored `lease_expires_at`
    /// value (TableTheory's `Lease.ExpiresAt`).
    #[must_use]
    pub fn expires_at_epoch_seconds(&self) -> i64 {
        self.expires_at.unix_timestamp()
    }
}

/// The outcome of a release that reached the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum ReleaseOutcome {
    /// The lease item was ours and is deleted.
    Released,
    /// Nothing was deleted: the item is gone, or holds another token (the lease expired and was
    /// taken over). TableTheory's release reports this case as success; here the caller can tell.
    NotHeld,
}
