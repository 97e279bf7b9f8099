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
///
/// [`SystemClock`] is the manager's default; `TestClock` (cargo feature `test-util`) is for
/// tests. A clock of your own implements `now`, and `monotonic` too unless the system's
/// monotonic clock ([`Instant::now`], the default) is the one that runs with your wall clock:
///
/// ```
/// use std::time::SystemTime;
/// use lease::clock::Clock;
///
/// /// Wall-clock time from the host's synchronised clock, read through our own service.
/// struct FleetClock;
///
/// impl Clock for FleetClock {
///     fn now(&self) -> SystemTime {
///         SystemTime::now() // ... or the fleet's time service
///     }
///     // `monotonic`: the system's `Instant::now`, by default.
/// }
/// # let _ = FleetClock.now();
/// ```
///
/// An `Arc` of a clock is a clock. A closure is not, so that a clock that takes its monotonic
/// time from the system says so in an `impl` of its own:
///
/// ```compile_fail,E0277
/// # use lease::clock::Clock;
/// fn takes(_: impl Clock) {}
/// takes(std::time::SystemTime::now);
/// ```
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

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> SystemTime {
        (**self).now()
    }

    fn monotonic(&self) -> Instant {
        (**self).monotonic()
    }
}
