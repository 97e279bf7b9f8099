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
/// wall-clock time is a start time plus the tokio time elapsed since the clock was made; plus
/// the moves a test asks for.
///
/// In production this reads the same as [`SystemClock`] (tokio's clock is the system's
/// monotonic clock), except that the wall clock does not follow NTP steps. In tests under
/// tokio's paused clock (`#[tokio::test(start_paused = true)]`), wall-clock and monotonic time
/// move together as tokio auto-advances, so a lease guard's timers (scheduled with tokio) and
/// the times written to the store agree: a 10-minute scenario runs in milliseconds, and
/// deterministically.
///
/// Faults of the holder's own clocks, for tests:
/// - [`jump`](Self::jump): both clocks move forward at once and tokio's timers do not notice:
///   the process was paused (a GC pause, `SIGSTOP`) and has just woken, before any timer ran;
/// - [`suspend`](Self::suspend): the wall clock moves forward and the monotonic clock does not:
///   the machine was suspended (Linux `CLOCK_MONOTONIC` stops meanwhile);
/// - [`step_wall`](Self::step_wall): the wall clock alone steps forward or back (an NTP step).
///
/// Make it inside the runtime whose clock it should follow (with a paused clock, `start` is
/// the paused instant).
#[derive(Debug)]
pub struct TokioClock {
    start_wall: OffsetDateTime,
    start: tokio::time::Instant,
    moves: Mutex<Moves>,
}

/// What [`TokioClock`]'s fault methods added to tokio's clock.
#[derive(Clone, Copy, Debug, Default)]
struct Moves {
    /// Added to both clocks.
    both: Duration,
    /// Added to the wall clock alone.
    wall: time::Duration,
}

impl TokioClock {
    /// A clock whose wall-clock time starts at `start` (UTC) now.
    #[must_use]
    pub fn starting_at(start: OffsetDateTime) -> Self {
        Self {
            start_wall: start,
            start: tokio::time::Instant::now(),
            moves: Mutex::default(),
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

    /// Moves both clocks forward by `by`, without tokio's timers noticing: as if the process
    /// had been paused for `by` and had just woken up, before any timer fired.
    pub fn jump(&self, by: Duration) {
        let mut moves = self.lock();
        moves.both = moves.both.saturating_add(by);
    }

    /// Moves the wall clock forward by `by` while the monotonic clock stands still: as if the
    /// machine had been suspended for `by` (Linux's `CLOCK_MONOTONIC`, which `Instant` reads,
    /// does not advance during suspend).
    pub fn suspend(&self, by: Duration) {
        self.step_wall(time::Duration::try_from(by).unwrap_or(time::Duration::MAX));
    }

    /// Steps the wall clock alone by `by` (negative: backwards), as an NTP step would.
    pub fn step_wall(&self, by: time::Duration) {
        let mut moves = self.lock();
        moves.wall = moves.wall.saturating_add(by);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Moves> {
        self.moves
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    fn now(&self) -> OffsetDateTime {
        let moves = *self.lock();
        let elapsed = tokio::time::Instant::now()
            .saturating_duration_since(self.start)
            .saturating_add(moves.both);
        self.start_wall
            .saturating_add(time::Duration::try_from(elapsed).unwrap_or(time::Duration::MAX))
            .saturating_add(moves.wall)
    }

    fn monotonic(&self) -> Instant {
        let now = tokio::time::Instant::now().into_std();
        let both = self.lock().both;
        now.checked_add(both).unwrap_or(now)
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
