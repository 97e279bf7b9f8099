//! The caller's reading of its clocks, passed to every plan.

use std::time::Instant;

use time::OffsetDateTime;

/// When an operation is planned: wall-clock time (for the `:now` of conditions and the stored
/// expiry) and, optionally, the monotonic instant the request is about to be sent (for the
/// lease's local safe deadline, [`Lease::valid_until`](crate::Lease::valid_until)).
///
/// An `OffsetDateTime` alone converts into a `Now` without a monotonic instant; the lease then
/// has no local deadline. The manager always supplies both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    /// Wall-clock time (UTC).
    pub wall: OffsetDateTime,
    /// Monotonic time at which the request is sent, if known.
    pub monotonic: Option<Instant>,
}

impl Now {
    /// Both clock readings.
    #[must_use]
    pub fn new(wall: OffsetDateTime, monotonic: Instant) -> Self {
        Self {
            wall,
            monotonic: Some(monotonic),
        }
    }
}

impl From<OffsetDateTime> for Now {
    fn from(wall: OffsetDateTime) -> Self {
        Self {
            wall,
            monotonic: None,
        }
    }
}
