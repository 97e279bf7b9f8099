//! [`ActorClock`]: an actor's own wall and monotonic clocks, as functions of true time.
//!
//! True time `t` is the simulator's (a `Duration` since the run began). An actor's wall clock
//! reads `T0 + t + skew(t)`, where the skew is its offset (within half the skew bound) and
//! changes only at steps; its monotonic clock reads `origin + t − stalled(t)`, where `stalled`
//! is the time it spent suspended (a suspended machine's `CLOCK_MONOTONIC` stops). The plan
//! knows every step and suspend in advance, so the clocks answer for any `t`, and the checker
//! can compute when a lease's deadline passed by the actor's own clocks, independently of what
//! the library reported.

use std::time::{Duration, Instant};

use lease_core::Now;

/// The wall-clock origin of every run (epoch seconds).
pub const T0: i64 = 1_800_000_000;

/// An actor's clocks.
#[derive(Clone, Debug)]
pub struct ActorClock {
    origin: Instant,
    /// The initial skew, then `(at, new skew)` steps in time order (nanoseconds).
    skew: i64,
    steps: Vec<(Duration, i64)>,
    /// Suspends, `[start, end)` in true time, in order, not overlapping.
    suspends: Vec<(Duration, Duration)>,
}

impl ActorClock {
    /// Clocks with `skew` nanoseconds of wall-clock offset, these steps and suspends.
    pub fn new(
        origin: Instant,
        skew: i64,
        mut steps: Vec<(Duration, i64)>,
        mut suspends: Vec<(Duration, Duration)>,
    ) -> Self {
        steps.sort_by_key(|(at, _)| *at);
        suspends.sort_by_key(|(start, _)| *start);
        // Merge overlapping suspends.
        let mut merged: Vec<(Duration, Duration)> = Vec::with_capacity(suspends.len());
        for (start, end) in suspends {
            match merged.last_mut() {
                Some((_, last_end)) if start <= *last_end => *last_end = (*last_end).max(end),
                _ => merged.push((start, end)),
            }
        }
        Self {
            origin,
            skew,
            steps,
            suspends: merged,
        }
    }

    /// The reading of both clocks at true time `t`.
    pub fn now(&self, t: Duration) -> Now {
        let wall = lease_core::wire_time::from_epoch_nanos(self.wall_nanos(t))
            .unwrap_or(std::time::UNIX_EPOCH);
        Now::new(wall, self.monotonic(t))
    }

    /// The monotonic clock at `t`.
    pub fn monotonic(&self, t: Duration) -> Instant {
        self.origin + t.saturating_sub(self.stalled(t))
    }

    /// The wall clock at `t`, in nanoseconds since the epoch.
    pub fn wall_nanos(&self, t: Duration) -> i128 {
        i128::from(T0) * 1_000_000_000 + t.as_nanos() as i128 + i128::from(self.skew_at(t))
    }

    /// Whether the machine is suspended at `t`.
    pub fn suspended_at(&self, t: Duration) -> Option<Duration> {
        self.suspends
            .iter()
            .find(|(start, end)| *start <= t && t < *end)
            .map(|(_, end)| *end)
    }

    fn skew_at(&self, t: Duration) -> i64 {
        self.steps
            .iter()
            .take_while(|(at, _)| *at <= t)
            .last()
            .map_or(self.skew, |(_, skew)| *skew)
    }

    /// Time spent suspended before `t`.
    fn stalled(&self, t: Duration) -> Duration {
        self.suspends
            .iter()
            .map(|(start, end)| {
                if t <= *start {
                    Duration::ZERO
                } else {
                    t.min(*end) - *start
                }
            })
            .sum()
    }

    /// The first true time at which the monotonic clock reads `target` or later.
    pub fn when_monotonic(&self, target: Instant) -> Duration {
        let mut want = target.saturating_duration_since(self.origin);
        // Walk the suspends in order: each one that starts before the target is reached
        // delays it by its length.
        for (start, end) in &self.suspends {
            if *start >= want {
                break;
            }
            want += *end - *start;
        }
        want
    }

    /// The first true time at or after `from` at which the wall clock reads `target` (nanos
    /// since the epoch) or later, if any.
    pub fn when_wall(&self, from: Duration, target: i128) -> Option<Duration> {
        // Segments of constant skew: [from, first step), [step, next step), ...
        let mut bounds: Vec<(Duration, i64)> = vec![(from, self.skew_at(from))];
        bounds.extend(self.steps.iter().filter(|(at, _)| *at > from).copied());
        for (i, (start, skew)) in bounds.iter().enumerate() {
            let end = bounds.get(i + 1).map(|(at, _)| *at);
            let base = i128::from(T0) * 1_000_000_000 + i128::from(*skew);
            let at = target - base;
            let at = if at <= start.as_nanos() as i128 {
                *start
            } else {
                Duration::from_nanos(u64::try_from(at).unwrap_or(u64::MAX))
            };
            if end.is_none_or(|end| at < end) {
                return Some(at);
            }
        }
        None
    }

    /// The first true time at or after `from` at which a lease with these deadlines (monotonic
    /// instant, wall nanoseconds) is no longer valid by this actor's clocks.
    ///
    /// A wall clock stepped back can make the lease valid again later: see
    /// [`last_valid`](Self::last_valid), which the checker uses.
    pub fn first_invalid(&self, from: Duration, monotonic: Instant, wall: i128) -> Duration {
        let by_monotonic = self.when_monotonic(monotonic).max(from);
        match self.when_wall(from, wall) {
            Some(by_wall) => by_monotonic.min(by_wall),
            None => by_monotonic,
        }
    }
}

impl ActorClock {
    /// Whether a lease with these deadlines is valid at `t` by this actor's clocks: what
    /// `Lease::is_valid_at` answers for the reading at `t`.
    pub fn is_valid_at(&self, t: Duration, monotonic: Instant, wall: i128) -> bool {
        self.monotonic(t) < monotonic && self.wall_nanos(t) < wall
    }

    /// The end of the time from `from` on during which a lease with these deadlines can still
    /// be valid by this actor's clocks: the supremum of the instants at which
    /// [`is_valid_at`](Self::is_valid_at) holds (`from` if none).
    ///
    /// Not the first instant at which it is invalid: a wall clock stepped back can make the
    /// lease valid again. That is safe, not a bug: the skew bound relates the clocks' current
    /// readings, so while the holder's wall clock reads below its deadline (expiry minus the
    /// bound), no other clock reads the expiry yet; a holder that did read its clocks in the
    /// invalid stretch reported the lease lost, and lost is final.
    pub fn last_valid(&self, from: Duration, monotonic: Instant, wall: i128) -> Duration {
        // The monotonic clock never goes back: valid by it before this instant only.
        let by_monotonic = self.when_monotonic(monotonic);
        let mut bounds: Vec<(Duration, i64)> = vec![(from, self.skew_at(from))];
        bounds.extend(self.steps.iter().filter(|(at, _)| *at > from).copied());
        let mut last = from;
        for (i, (start, skew)) in bounds.iter().enumerate() {
            if *start >= by_monotonic {
                break;
            }
            let end = bounds
                .get(i + 1)
                .map_or(by_monotonic, |(at, _)| (*at).min(by_monotonic));
            // Within the segment the wall clock reads `base + t`: valid while below `wall`.
            let base = i128::from(T0) * 1_000_000_000 + i128::from(*skew);
            let until = u64::try_from(wall - base).map_or(Duration::ZERO, Duration::from_nanos);
            let valid_until = end.min(until);
            if valid_until > *start {
                last = last.max(valid_until);
            }
        }
        last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[allow(clippy::disallowed_methods, reason = "the one origin a test needs")]
    fn origin() -> Instant {
        Instant::now()
    }

    #[test]
    fn a_suspend_stops_the_monotonic_clock_only() {
        let o = origin();
        let c = ActorClock::new(o, 0, Vec::new(), vec![(s(10), s(14))]);
        assert_eq!(c.monotonic(s(12)), o + s(10));
        assert_eq!(c.monotonic(s(20)), o + s(16));
        assert_eq!(c.wall_nanos(s(20)) - c.wall_nanos(s(0)), 20_000_000_000);
        assert_eq!(c.when_monotonic(o + s(10)), s(10));
        assert_eq!(c.when_monotonic(o + s(11)), s(15));
        assert_eq!(c.suspended_at(s(12)), Some(s(14)));
    }

    /// A wall clock stepped forward past the deadline, then back below it: the lease is
    /// invalid in between and valid again after, until the wall clock reaches the deadline
    /// again (or the monotonic deadline passes).
    #[test]
    fn a_wall_clock_stepped_back_makes_a_lease_valid_again() {
        let o = origin();
        let ms = Duration::from_millis;
        let base = i128::from(T0) * 1_000_000_000;
        // Skew +1 s from 4 s, -1 s from 5 s. Wall deadline T0+5.5 s, monotonic deadline 9 s.
        let c = ActorClock::new(
            o,
            0,
            vec![(s(4), 1_000_000_000), (s(5), -1_000_000_000)],
            Vec::new(),
        );
        let wall = base + 5_500_000_000;
        assert_eq!(c.first_invalid(s(0), o + s(9), wall), ms(4_500));
        assert!(c.is_valid_at(ms(4_400), o + s(9), wall));
        assert!(!c.is_valid_at(ms(4_700), o + s(9), wall));
        assert!(c.is_valid_at(ms(5_500), o + s(9), wall));
        assert!(!c.is_valid_at(ms(6_500), o + s(9), wall));
        assert_eq!(c.last_valid(s(0), o + s(9), wall), ms(6_500));
        // The monotonic deadline comes first.
        assert_eq!(c.last_valid(s(0), o + s(5), wall), ms(4_500));
        assert_eq!(c.last_valid(s(0), o + s(6), wall), s(6));
        // Never valid after `from`.
        assert_eq!(c.last_valid(s(7), o + s(9), wall), s(7));
    }

    #[test]
    fn steps_move_the_wall_clock_and_deadlines_follow() {
        let o = origin();
        let c = ActorClock::new(o, 0, vec![(s(5), -2_000_000_000)], Vec::new());
        let base = i128::from(T0) * 1_000_000_000;
        assert_eq!(c.wall_nanos(s(6)), base + 4_000_000_000);
        // The wall reads T0+4.5 first at 4.5 (before the step).
        assert_eq!(
            c.when_wall(s(0), base + 4_500_000_000),
            Some(Duration::from_millis(4_500))
        );
        // T0+5.5 is read after the step only at 7.5.
        assert_eq!(
            c.when_wall(s(0), base + 5_500_000_000),
            Some(Duration::from_millis(7_500))
        );
        assert_eq!(
            c.first_invalid(s(0), o + s(9), base + 5_500_000_000),
            Duration::from_millis(7_500)
        );
    }
}
