//! The caller's reading of its clocks, passed to every plan.

use std::time::Instant;

use std::time::SystemTime;

/// When an operation is planned: wall-clock time (for the `:now` of conditions and the stored
/// expiry) and, optionally, the monotonic instant the request is about to be sent (for the
/// lease's local safe deadline, [`Lease::valid_until`](crate::Lease::valid_until)).
///
/// An `SystemTime` alone converts into a `Now` without a monotonic instant; the lease then
/// has no local deadline. The manager always supplies both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[expect(
    clippy::exhaustive_structs,
    reason = "complete: a reading of the wall clock and, optionally, the monotonic clock"
)]
pub struct Now {
    /// Wall-clock time (UTC).
    pub wall: SystemTime,
    /// Monotonic time at which the request is sent, if known.
    pub monotonic: Option<Instant>,
}

impl Now {
    /// Both clock readings.
    #[must_use]
    pub fn new(wall: SystemTime, monotonic: Instant) -> Self {
        Self {
            wall,
            monotonic: Some(monotonic),
        }
    }
}

impl From<SystemTime> for Now {
    fn from(wall: SystemTime) -> Self {
        Self {
            wall,
            monotonic: None,
        }
    }
}
