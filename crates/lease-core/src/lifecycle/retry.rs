//! Sending one request again: [`RetryPolicy`] and which failures it covers.

use std::time::Duration;

use crate::response::StoreErrorKind;

/// How a request that failed with a transient store error (throttled, timed out, unavailable)
/// is sent again. Every lease request is safe to send again unchanged: an acquire that landed
/// is recognised by its token, a refresh that landed meets its own condition, and release is
/// idempotent. A request that still fails after the last attempt ends in
/// [`LeaseError::OutcomeUnknown`](crate::LeaseError::OutcomeUnknown) (may have been applied) or
/// [`LeaseError::Store`](crate::LeaseError::Store) (was not).
///
/// The AWS SDK retries too (its own standard retry mode); this policy sits above it and also
/// covers other stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1). Default 3.
    pub(crate) max_attempts: u32,
    /// Wait before the second attempt; doubled before each later one. Default 25 ms. Never
    /// below [`MIN_RETRY_DELAY`](super::MIN_RETRY_DELAY) (10 ms), so that a zero backoff
    /// cannot resend back to back to a throttling table.
    pub(crate) initial_backoff: Duration,
    /// The longest wait between attempts. Default 500 ms.
    pub(crate) max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(25),
            max_backoff: Duration::from_millis(500),
        }
    }
}

impl RetryPolicy {
    /// `attempts` in all, the first included (0 counts as 1). Default 3.
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Waits `initial` before the second attempt, doubled before each later one, up to `max`
    /// (defaults 25 ms and 500 ms; never below [`MIN_RETRY_DELAY`](super::MIN_RETRY_DELAY),
    /// 10 ms, so that a zero backoff cannot resend back to back to a throttling table).
    #[must_use]
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }

    /// One attempt, no retries.
    #[must_use]
    pub fn never() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The wait before attempt `attempt + 1`, after `attempt` (1-based) failed, never below
    /// [`MIN_RETRY_DELAY`](super::MIN_RETRY_DELAY); `None` when no attempt is left.
    #[must_use]
    pub fn backoff_after(&self, attempt: u32) -> Option<Duration> {
        if attempt >= self.max_attempts.max(1) {
            return None;
        }
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        Some(
            self.initial_backoff
                .saturating_mul(factor)
                .min(self.max_backoff)
                .max(super::MIN_RETRY_DELAY),
        )
    }
}

/// Which failed requests may be sent again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Resend {
    /// Every transient failure ([`StoreErrorKind::is_transient`]): for the lease's own
    /// requests, which are safe to send twice.
    Transient,
    /// Only failures that certainly applied nothing and may pass (throttling, an unreachable
    /// store): for guarded commits, which must not be sent twice (a second copy of a
    /// transaction that landed would fail its guard and hide the success).
    NotApplied,
}

impl Resend {
    /// Whether a request that failed with `kind` may be sent again.
    pub(crate) fn allows(self, kind: StoreErrorKind) -> bool {
        match self {
            Self::Transient => kind.is_transient(),
            Self::NotApplied => kind.is_transient() && !kind.outcome_may_be_applied(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_stops_after_the_last_attempt() {
        let policy = RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(300),
        };
        let waits: Vec<_> = (1..=5).map(|a| policy.backoff_after(a)).collect();
        assert_eq!(
            waits,
            [
                Some(Duration::from_millis(100)),
                Some(Duration::from_millis(200)),
                Some(Duration::from_millis(300)),
                Some(Duration::from_millis(300)),
                None
            ]
        );
        assert_eq!(RetryPolicy::never().backoff_after(1), None);
    }

    #[test]
    fn commits_are_resent_only_when_nothing_was_applied() {
        for kind in [StoreErrorKind::Throttled, StoreErrorKind::Unreachable] {
            assert!(Resend::Transient.allows(kind) && Resend::NotApplied.allows(kind));
        }
        for kind in [StoreErrorKind::Timeout, StoreErrorKind::Unavailable] {
            assert!(Resend::Transient.allows(kind) && !Resend::NotApplied.allows(kind));
        }
        for kind in [StoreErrorKind::Validation, StoreErrorKind::AccessDenied] {
            assert!(!Resend::Transient.allows(kind) && !Resend::NotApplied.allows(kind));
        }
    }
}
