//! Fencing tokens.

use std::fmt;

/// A fencing token: a number that is strictly greater for every later acquisition of the same
/// lease key, across expiry takeovers, releases and deletions of the item (under the assumptions
/// in docs/correctness.md, in the source repository).
///
/// Pass it along with every write the lease protects; a resource that remembers the largest
/// token it has seen can then reject writes from a holder whose lease has ended (a "zombie"
/// that paused past its expiry). Stored as `lease_fence` (DynamoDB `N`); the first acquisition of
/// a key (or the first after the item was deleted) starts from the acquirer's wall clock in
/// epoch milliseconds, every later one adds one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FencingToken(u64);

impl FencingToken {
    /// A fencing token with the given value.
    #[must_use]
    pub const fn new(value: u64) -> Self {
        Self(value)
    }

    /// The token's value.
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for FencingToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}
