//! Wall-clock and monotonic time, injected: the [`Clock`] a manager reads, the system's, the
//! test clock (`TestClock`, with the cargo feature `test-util`, which `lease-memory` turns on),
//! and [`Now`] (a reading of both clocks).

use std::time::{Instant, SystemTime};

pub use lease_core::Now;

#[cfg(feature = "test-util")]
pub use crate::test_clock::TestClock;

/// A source of time. The manager reads it once per operation: wall-clock time for the `:now`
/// of conditions and the stored expiry, monotonic time for the lease's local safe deadline
/// ([`Lease::valid_until`](crate::Lease::valid_until)).
pub trait Clock: Send + Sync {
    /// The current wall-clock time (UTC).
    fn now(&self) -> SystemTime;

    /// The current monotonic instant. Defaults to [`Instant::now`].
    fn monotonic(&self) -> Instant {
        Instant::now()
    }
}

/// The system clocks ([`SystemTime::now`] and [`Instant::now`]).
#[derive(Clone, Copy, Debug, Default)]
#[expect(
    clippy::exhaustive_structs,
    reason = "a unit struct: `SystemClock` is how it is made"
)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// Any `Fn() -> SystemTime` is a clock (wall-clock time; monotonic time from the system).
impl<F> Clock for F
where
    F: Fn() -> SystemTime + Send + Sync,
{
    fn now(&self) -> SystemTime {
        self()
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> SystemTime {
        (**self).now()
    }

    fn monotonic(&self) -> Instant {
        (**self).monotonic()
    }
}
