//! Wall-clock and monotonic time, injected.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

/// A source of time. The manager reads it once per operation: wall-clock time for the `:now`
/// of conditions and the stored expiry, monotonic time for the lease's local safe deadline
/// ([`Lease::valid_until`](crate::Lease::valid_until)).
pub trait Clock: Send + Sync {
    /// The current wall-clock time (UTC).
    fn now(&self) -> OffsetDateTime;

    /// The current monotonic instant. Defaults to [`Instant::now`].
    fn monotonic(&self) -> Instant {
        Instant::now()
    }
}

/// The system clocks ([`OffsetDateTime::now_utc`] and [`Instant::now`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// Any `Fn() -> OffsetDateTime` is a clock (wall-clock time; monotonic time from the system).
impl<F> Clock for F
where
    F: Fn() -> OffsetDateTime + Send + Sync,
{
    fn now(&self) -> OffsetDateTime {
        self()
    }
}

/// Clocks that only move when told to: for deterministic tests. [`advance`](Self::advance)
/// moves wall-clock and monotonic time together; [`set`](Self::set) steps the wall clock alone,
/// as an NTP correction would.
#[derive(Debug)]
pub struct ManualClock {
    state: Mutex<ManualState>,
}

#[derive(Debug)]
struct ManualState {
    wall: OffsetDateTime,
    monotonic: Instant,
}

impl ManualClock {
    /// Clocks showing `start` (wall) and the current instant (monotonic).
    #[must_use]
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            state: Mutex::new(ManualState {
                wall: start,
                monotonic: Instant::now(),
            }),
        }
    }

    /// Clocks showing `secs` whole epoch seconds (UTC). Out-of-range values show the epoch.
    #[must_use]
    pub fn at_epoch_seconds(secs: i64) -> Self {
        Self::new(OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH))
    }

    /// Sets the wall-clock time; monotonic time does not move.
    pub fn set(&self, now: OffsetDateTime) {
        self.lock().wall = now;
    }

    /// Moves both clocks forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut state = self.lock();
        state.wall = state
            .wall
            .saturating_add(time::Duration::try_from(by).unwrap_or(time::Duration::MAX));
        state.monotonic = state.monotonic.checked_add(by).unwrap_or(state.monotonic);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ManualState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        self.lock().wall
    }

    fn monotonic(&self) -> Instant {
        self.lock().monotonic
    }
}

/// Clocks that follow tokio's clock: monotonic time is [`tokio::time::Instant::now`], and
/// wall-clock time is a start time plus the tokio time elapsed since the clock was made.
///
/// In production this reads the same as [`SystemClock`] (tokio's clock is the system's
/// monotonic clock), except that the wall clock does not follow NTP steps. In tests under
/// tokio's paused clock (`#[tokio::test(start_paused = true)]`), wall-clock and monotonic time
/// move together as tokio auto-advances, so a lease guard's timers (scheduled with tokio) and
/// the times written to the store agree: a 10-minute scenario runs in milliseconds, and
/// deterministically.
///
/// Make it inside the runtime whose clock it should follow (with a paused clock, `start` is
/// the paused instant).
#[derive(Clone, Copy, Debug)]
pub struct TokioClock {
    start_wall: OffsetDateTime,
    start: tokio::time::Instant,
}

impl TokioClock {
    /// A clock whose wall-clock time starts at `start` (UTC) now.
    #[must_use]
    pub fn starting_at(start: OffsetDateTime) -> Self {
        Self {
            start_wall: start,
            start: tokio::time::Instant::now(),
        }
    }

    /// A clock whose wall-clock time starts at `secs` whole epoch seconds (UTC) now.
    /// Out-of-range values start at the epoch.
    #[must_use]
    pub fn at_epoch_seconds(secs: i64) -> Self {
        Self::starting_at(
            OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH),
        )
    }

    /// A clock whose wall-clock time starts at the system's current time.
    #[must_use]
    pub fn new() -> Self {
        Self::starting_at(OffsetDateTime::now_utc())
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    fn now(&self) -> OffsetDateTime {
        let elapsed = tokio::time::Instant::now().saturating_duration_since(self.start);
        self.start_wall
            .saturating_add(time::Duration::try_from(elapsed).unwrap_or(time::Duration::MAX))
    }

    fn monotonic(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> OffsetDateTime {
        (**self).now()
    }

    fn monotonic(&self) -> Instant {
        (**self).monotonic()
    }
}
