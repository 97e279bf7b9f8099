//! Leader election on a lease: a campaign is a waiting acquire that proclaims a value (the
//! candidate's name or address) in the item's value attribute; the leader is the holder of
//! the election's lease; observers read the item and judge it by their own clock.
//!
//! An election named `N` is the lease at partition key `N` under the sort key
//! [`ELECTION_SORT_KEY`] (`LEADER`), so that a lock and an election of the same name never
//! share an item. The wire format is the lease's, plus the value attribute (default
//! `lease_value`, `S`): docs/wire-format.md.

use std::time::SystemTime;

use crate::fence::FencingToken;
use crate::inspect::{LeaseSnapshot, StoredState};
use crate::key::LeaseKey;
use crate::text::Text;

/// The sort key of every election's item: `LEADER`.
pub const ELECTION_SORT_KEY: &str = "LEADER";

/// The key of the election named `name`: partition key `name`, sort key
/// [`ELECTION_SORT_KEY`].
#[must_use]
pub fn election_key(name: impl Into<Text>) -> LeaseKey {
    LeaseKey::new(name, ELECTION_SORT_KEY)
}

/// The leader of an election, as an observer read it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Leader {
    /// The election's key ([`election_key`]).
    pub key: LeaseKey,
    /// The value the leader proclaimed when it won (its name or address); `None` if the lease
    /// was taken without one (by a plain acquire of the election's key).
    pub value: Option<Text>,
    /// The fencing token of the leader's term: it grows from one term to the next, so it tells
    /// two terms of the same leader apart.
    pub fence: Option<FencingToken>,
    /// When the leader's lease expires unless it renews (the stored expiry, in the configured
    /// unit), by the leader's clock.
    pub expires_at: SystemTime,
}

impl Leader {
    /// The leader a read of the election's item shows: the holder of a lease that is held
    /// (not released, not expired by the reader's clock at the read), or `None`.
    #[must_use]
    pub fn of(snapshot: &LeaseSnapshot) -> Option<Self> {
        let StoredState::Held(info) = &snapshot.state else {
            return None;
        };
        Some(Self {
            key: snapshot.key.clone(),
            value: snapshot.value.clone(),
            fence: info.fence,
            expires_at: info.expires_at,
        })
    }

    /// Whether `a` and `b` show the same term of the same leader (or both no leader): they may
    /// differ only in the expiry, which a renewal moves. A change of term is another leader,
    /// a new term (fencing token) of the same one, or a leader appearing or going.
    #[must_use]
    pub fn same_term(a: Option<&Self>, b: Option<&Self>) -> bool {
        match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => a.key == b.key && a.fence == b.fence && a.value == b.value,
            _ => false,
        }
    }

    /// Whether the leader's lease is still unexpired at the observer's wall-clock time `now`.
    /// An observer that re-judges a leader with this at every reading reports it for no longer
    /// than its lease lasts, give or take the clock difference between the leader's and the
    /// observer's clocks (at most the configured clock skew bound): it never reports a leader
    /// whose lease ran out more than the bound ago.
    #[must_use]
    pub fn is_current_at(&self, now: SystemTime) -> bool {
        now < self.expires_at
    }
}
