//! [`Patience`]: the wait of an acquire that finds what it wants busy until a known expiry (a
//! full semaphore, a held key of a lease set): its deadline, and when to try again.

use std::time::{Instant, SystemTime};

use super::exchange::{at_most, saturating_add};
use super::wait_policy::{MIN_POLL_DELAY, WaitPolicy};
use crate::now::Now;

/// How long a waiting acquire goes on, and when it tries again, as its [`WaitPolicy`] says.
#[derive(Debug)]
pub(crate) struct Patience {
    policy: WaitPolicy,
    /// Whether the first reading was seen (the wait's clock starts there).
    started: bool,
    /// When the timeout passes, once started (`None`: no timeout).
    deadline: Option<Instant>,
}

impl Patience {
    pub(crate) fn new(policy: WaitPolicy) -> Self {
        Self {
            policy,
            started: false,
            deadline: None,
        }
    }

    /// Starts the wait's clock at the first reading (later calls change nothing).
    pub(crate) fn start(&mut self, now: Now) {
        if self.started {
            return;
        }
        self.started = true;
        if let (Some(timeout), Some(at)) = (self.policy.timeout(), now.monotonic) {
            self.deadline = Some(saturating_add(at, timeout));
        }
    }

    /// The next attempt after an attempt answered "busy" at `now`, whose holders expire at
    /// `earliest` at the soonest (by their clock, as stored): at that expiry by this clock, at
    /// most the policy's `max_delay` away, at least [`MIN_POLL_DELAY`], never past the
    /// deadline. `None` when the wait is over: the deadline has passed, or `now` has no
    /// monotonic reading.
    pub(crate) fn next_attempt(&self, earliest: Option<SystemTime>, now: Now) -> Option<Instant> {
        let at = now.monotonic?;
        if self.deadline.is_some_and(|deadline| at >= deadline) {
            return None;
        }
        let until_expiry = earliest
            .and_then(|e| e.duration_since(now.wall).ok())
            .unwrap_or(self.policy.max_delay);
        let delay = until_expiry.min(self.policy.max_delay).max(MIN_POLL_DELAY);
        Some(match self.deadline {
            Some(deadline) => at_most(at, delay, deadline),
            None => saturating_add(at, delay),
        })
    }
}
