//! [`TestClock`]: the clock for tests (cargo feature `test-util`).

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use lease_core::wire_time::{epoch_nanos, from_epoch_nanos};

use crate::clock::Clock;

/// The clock for tests: tokio's clock, plus the moves the test makes.
///
/// By default it **follows tokio's clock**: monotonic time is [`tokio::time::Instant::now`], and
/// wall-clock time is the start time plus the tokio time elapsed since the clock was made. Under
/// tokio's paused clock (`#[tokio::test(start_paused = true)]`), time moves only when every task
/// waits and tokio auto-advances to the next timer, so wall-clock and monotonic time, the
/// manager's timers (guards, waits, retries) and the times written to the store all agree, and a
/// 10-minute scenario runs in milliseconds, the same way every run. On a runtime with real time,
/// it reads real time (from the start time you gave).
///
/// [`frozen`](Self::frozen) makes a clock that ignores tokio's time and moves only when told:
/// for tests against real servers on a real-time runtime that assert exact times. Single
/// operations work on it (a retry's backoff, slept on tokio's timer, counts as passed); guards
/// need a clock that follows tokio's, since they keep time across many sleeps.
///
/// The moves, all without tokio's timers noticing:
/// - [`advance`](Self::advance): both clocks move forward at once: to the code under test, the
///   process was paused (a GC pause, `SIGSTOP`) and has just woken, before any timer fired;
/// - [`suspend`](Self::suspend): the wall clock moves forward and the monotonic clock does not:
///   the machine was suspended (Linux's `CLOCK_MONOTONIC`, which `Instant` reads, stops);
/// - [`step_wall`](Self::step_wall) and [`set`](Self::set): the wall clock alone steps forward
///   or back, as an NTP step would.
///
/// Make it inside the runtime whose clock it should follow (with a paused clock, the start is
/// the paused instant). It is `Send + Sync`: share it with an `Arc` between managers (as
/// [`LeaseManager::with_clock`](crate::LeaseManager::with_clock)) and the test.
///
/// ```
/// use std::{sync::Arc, time::{Duration, SystemTime, UNIX_EPOCH}};
/// use lease_memory::{clock::Clock, clock::TestClock};
///
/// let clock = Arc::new(TestClock::at_epoch_seconds(1_800_000_000).frozen());
/// clock.advance(Duration::from_secs(30));
/// let epoch_seconds = |t: SystemTime| t.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs());
/// assert_eq!(epoch_seconds(clock.now()), Some(1_800_000_030));
/// clock.step_wall_back(Duration::from_secs(100)); // an NTP step back
/// assert_eq!(epoch_seconds(clock.now()), Some(1_799_999_930));
/// ```
#[derive(Debug)]
pub struct TestClock {
    start_wall: SystemTime,
    start: tokio::time::Instant,
    frozen: bool,
    moves: Mutex<Moves>,
}

/// What [`TestClock`]'s moves added to its readings.
#[derive(Clone, Copy, Debug, Default)]
struct Moves {
    /// Added to both clocks.
    both: Duration,
    /// Added to the wall clock alone, in nanoseconds (negative: steps back).
    wall: i128,
}

impl TestClock {
    /// A clock whose wall-clock time is `start` (UTC) now, following tokio's clock from here.
    #[must_use]
    pub fn starting_at(start: SystemTime) -> Self {
        Self {
            start_wall: start,
            start: tokio::time::Instant::now(),
            frozen: false,
            moves: Mutex::default(),
        }
    }

    /// A clock whose wall-clock time is `secs` whole epoch seconds (UTC) now. Out-of-range
    /// values start at the epoch.
    #[must_use]
    pub fn at_epoch_seconds(secs: i64) -> Self {
        Self::starting_at(
            lease_core::wire_time::from_epoch_seconds(secs).unwrap_or(std::time::UNIX_EPOCH),
        )
    }

    /// The same clock, but frozen: it ignores tokio's time and moves only when told.
    #[must_use]
    pub fn frozen(mut self) -> Self {
        self.frozen = true;
        self
    }

    /// Moves both clocks forward by `by`, without tokio's timers noticing: as if the process had
    /// been paused for `by` and had just woken up, before any timer fired.
    pub fn advance(&self, by: Duration) {
        let mut moves = self.lock();
        moves.both = moves.both.saturating_add(by);
    }

    /// Moves the wall clock forward by `by` while the monotonic clock stands still: as if the
    /// machine had been suspended for `by`.
    pub fn suspend(&self, by: Duration) {
        self.step_wall(by);
    }

    /// Steps the wall clock alone forward by `by`, as an NTP step would.
    pub fn step_wall(&self, by: Duration) {
        self.step_wall_nanos(nanos(by));
    }

    /// Steps the wall clock alone back by `by`, as an NTP step would.
    pub fn step_wall_back(&self, by: Duration) {
        self.step_wall_nanos(nanos(by).saturating_neg());
    }

    /// Sets the wall-clock time to `now`; the monotonic clock does not move.
    pub fn set(&self, now: SystemTime) {
        let step = epoch_nanos(now).saturating_sub(epoch_nanos(self.now()));
        self.step_wall_nanos(step);
    }

    fn step_wall_nanos(&self, by: i128) {
        let mut moves = self.lock();
        moves.wall = moves.wall.saturating_add(by);
    }

    /// The time elapsed on tokio's clock since the clock was made (zero when frozen).
    fn followed(&self) -> Duration {
        if self.frozen {
            Duration::ZERO
        } else {
            tokio::time::Instant::now().saturating_duration_since(self.start)
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Moves> {
        self.moves
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Clock for TestClock {
    fn now(&self) -> SystemTime {
        let moves = *self.lock();
        let elapsed = self.followed().saturating_add(moves.both);
        let at = epoch_nanos(self.start_wall)
            .saturating_add(nanos(elapsed))
            .saturating_add(moves.wall);
        // A reading beyond the range of `SystemTime` stays at the start.
        from_epoch_nanos(at).unwrap_or(self.start_wall)
    }

    fn monotonic(&self) -> Instant {
        let start = self.start.into_std();
        let elapsed = self.followed().saturating_add(self.lock().both);
        start.checked_add(elapsed).unwrap_or(start)
    }
}

/// `by` in nanoseconds (saturating).
fn nanos(by: Duration) -> i128 {
    i128::try_from(by.as_nanos()).unwrap_or(i128::MAX)
}
