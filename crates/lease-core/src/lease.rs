//! A held lease and the outcome of releasing one.

use std::time::{Instant, SystemTime};

use crate::wire_time;

use crate::fence::FencingToken;
use crate::key::LeaseKey;
use crate::now::Now;
use crate::token::LeaseToken;

/// A lease this process holds (or held): its key, its bearer token, its expiry, its fencing
/// token and its local safe deadline.
///
/// Every `Lease` has a fencing token: an acquire gives one only once the store's answer names
/// it (before, there is a [`PendingLease`]), and a lease handed over from elsewhere
/// ([`Lease::new`]) comes with its own.
///
/// `Debug` shows the token's fingerprint only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    parts: PendingLease,
    fence: FencingToken,
}

/// The lease an acquire will hold if the store applies it: everything but the fencing token,
/// which only the store's answer gives ([`AcquirePlan::lease`](crate::AcquirePlan::lease)).
///
/// `Debug` shows the token's fingerprint only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingLease {
    key: LeaseKey,
    token: LeaseToken,
    expires_at: SystemTime,
    deadline: Option<Deadline>,
}

impl Deadline {
    /// Whether both deadlines are ahead of `now` (see [`Lease::is_valid_at`]).
    pub(crate) fn is_valid_at(&self, now: Now) -> bool {
        now.monotonic.is_some_and(|monotonic| {
            monotonic < self.monotonic && wire_time::epoch_nanos(now.wall) < self.wall_nanos
        })
    }
}

/// The local safe deadline of a lease, on both of the holder's clocks, and the clock readings
/// of the write it comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Deadline {
    /// On the monotonic clock: send instant + duration − skew bound.
    pub(crate) monotonic: Instant,
    /// On the wall clock, in nanoseconds since the Unix epoch: send time + duration − skew
    /// bound. Catches a monotonic clock that stood still while the machine was suspended
    /// (Linux `CLOCK_MONOTONIC`), when the wall clock did not. (Kept as a number: it is
    /// compared on every check, and calendar arithmetic costs more than the check.)
    pub(crate) wall_nanos: i128,
    /// The readings of both clocks when the write was sent (the wall reading, in nanoseconds
    /// since the epoch, corrected so that it never ran slower than the monotonic clock since
    /// the lease was acquired): the reference the next refresh measures a wall-clock step
    /// against.
    pub(crate) sent: (Instant, i128),
}

impl Lease {
    /// A lease value from its parts, for a lease handed over from elsewhere with its fencing
    /// token (a script, another language's service: `lease acquire` prints all four), to
    /// refresh or release it. Refresh and release condition on the token only; `expires_at` is
    /// informational. Such a lease has no [`valid_until`](Self::valid_until) until it is
    /// refreshed.
    #[must_use]
    pub fn new(
        key: LeaseKey,
        token: LeaseToken,
        fence: FencingToken,
        expires_at: SystemTime,
    ) -> Self {
        PendingLease::held(key, token, expires_at, None).with_fence(fence)
    }

    pub(crate) fn held(
        key: LeaseKey,
        token: LeaseToken,
        expires_at: SystemTime,
        fence: FencingToken,
        deadline: Option<Deadline>,
    ) -> Self {
        PendingLease::held(key, token, expires_at, deadline).with_fence(fence)
    }

    /// Everything but the fencing token.
    pub(crate) fn parts(&self) -> &PendingLease {
        &self.parts
    }

    /// The deadline and the readings of the write this lease comes from.
    pub(crate) fn deadline(&self) -> Option<Deadline> {
        self.parts.deadline
    }

    /// The lease's key.
    #[must_use]
    pub fn key(&self) -> &LeaseKey {
        self.parts.key()
    }

    /// The bearer token that refresh and release condition on.
    #[must_use]
    pub fn token(&self) -> &LeaseToken {
        self.parts.token()
    }

    /// When the lease expires in the store, as written: never earlier than the acquire or
    /// refresh time plus the duration asked for (rounded up to the configured unit).
    #[must_use]
    pub fn expires_at(&self) -> SystemTime {
        self.parts.expires_at()
    }

    /// [`expires_at`](Self::expires_at) as whole epoch seconds (rounded up): the stored
    /// `lease_expires_at` value in TableTheory's format (its `Lease.ExpiresAt`), that is with
    /// the default [`ExpiryUnit::Seconds`](crate::ExpiryUnit::Seconds); with milliseconds the
    /// stored value is [`expires_at`](Self::expires_at) in epoch milliseconds.
    #[must_use]
    pub fn expires_at_epoch_seconds(&self) -> i64 {
        self.parts.expires_at_epoch_seconds()
    }

    /// The fencing token of this acquisition: strictly greater than that of every earlier
    /// acquisition of the key. Send it with every write the lease protects.
    #[must_use]
    pub fn fence(&self) -> FencingToken {
        self.fence
    }

    /// The local, monotonic deadline by which the holder must stop work: the instant the
    /// acquire (or last refresh) request was sent, plus the duration, minus the clock skew bound.
    /// Until then no other host can take the lease over, whatever its clock says (within the
    /// bound). `None` when the lease was planned without a monotonic reading.
    ///
    /// The same deadline also holds on the wall clock ([`valid_until_wall`](Self::valid_until_wall)):
    /// [`is_valid_at`](Self::is_valid_at) checks both, so that a holder whose monotonic clock
    /// stood still while the machine was suspended still stops in time.
    #[must_use]
    pub fn valid_until(&self) -> Option<Instant> {
        self.parts.valid_until()
    }

    /// The local safe deadline on the wall clock: the wall-clock time the acquire (or last
    /// refresh) request was sent, plus the duration, minus the clock skew bound. `None` when the
    /// lease was planned without a monotonic reading.
    #[must_use]
    pub fn valid_until_wall(&self) -> Option<SystemTime> {
        self.parts.valid_until_wall()
    }

    /// Whether the holder may still work under the lease at `now`: both local safe deadlines
    /// are ahead, the monotonic one ([`valid_until`](Self::valid_until)) by `now.monotonic`
    /// and the wall-clock one ([`valid_until_wall`](Self::valid_until_wall)) by `now.wall`.
    /// `false` when the lease has no deadline or `now` has no monotonic reading: a lease
    /// whose deadline cannot be checked is not valid.
    ///
    /// The wall-clock bound matters when the monotonic clock stops while the wall clock goes
    /// on: on Linux, `Instant` does not advance while the machine is suspended, and a paused
    /// virtual machine can behave alike. Such a holder would otherwise believe its lease valid
    /// for as long as it was suspended.
    #[must_use]
    pub fn is_valid_at(&self, now: Now) -> bool {
        self.parts.is_valid_at(now)
    }
}

impl PendingLease {
    pub(crate) fn held(
        key: LeaseKey,
        token: LeaseToken,
        expires_at: SystemTime,
        deadline: Option<Deadline>,
    ) -> Self {
        Self {
            key,
            token,
            expires_at,
            deadline,
        }
    }

    /// The lease, once the store's answer has named its fencing token.
    pub(crate) fn with_fence(self, fence: FencingToken) -> Lease {
        Lease { parts: self, fence }
    }

    /// The key being acquired.
    #[must_use]
    pub fn key(&self) -> &LeaseKey {
        &self.key
    }

    /// The bearer token the acquire writes.
    #[must_use]
    pub fn token(&self) -> &LeaseToken {
        &self.token
    }

    /// When the lease will expire in the store, as the acquire writes it (see
    /// [`Lease::expires_at`]).
    #[must_use]
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// [`expires_at`](Self::expires_at) as whole epoch seconds, rounded up (see
    /// [`Lease::expires_at_epoch_seconds`]).
    #[must_use]
    pub fn expires_at_epoch_seconds(&self) -> i64 {
        wire_time::ExpiryUnit::Seconds
            .ceil(self.expires_at)
            .unwrap_or(i64::MAX)
    }

    /// The local safe deadline on the monotonic clock (see [`Lease::valid_until`]).
    #[must_use]
    pub fn valid_until(&self) -> Option<Instant> {
        self.deadline.map(|d| d.monotonic)
    }

    /// The local safe deadline on the wall clock (see [`Lease::valid_until_wall`]).
    #[must_use]
    pub fn valid_until_wall(&self) -> Option<SystemTime> {
        self.deadline
            .and_then(|d| wire_time::from_epoch_nanos(d.wall_nanos))
    }

    /// Whether both local safe deadlines are ahead of `now` (see [`Lease::is_valid_at`]).
    #[must_use]
    pub fn is_valid_at(&self, now: Now) -> bool {
        self.deadline
            .is_some_and(|deadline| deadline.is_valid_at(now))
    }
}

/// The outcome of a release that reached the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
// Not exhaustive: a later release may tell "released, but it had expired" apart.
#[non_exhaustive]
pub enum ReleaseOutcome {
    /// The lease item held our token and is now marked released (its expiry set to 0, so anyone
    /// may acquire it at once; the item keeps its fencing token). Releasing again is also
    /// `Released`: release is idempotent, so a retried release has a definite answer.
    Released,
    /// Nothing was changed: the item is gone, or holds another token (the lease expired and was
    /// taken over). TableTheory's release reports this case as success; here the caller can tell.
    NotHeld,
}
