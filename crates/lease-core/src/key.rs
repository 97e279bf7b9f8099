//! The key of one lease item.

use std::fmt;

/// The key of one lease: the item's partition key value and sort key value (both DynamoDB `S`).
///
/// Compatible with TableTheory's `lease.Key{PK, SK}`: a lease for `CACHE#A` under the default
/// configuration lives at `pk = "CACHE#A"`, `sk = "LOCK"`.
///
/// Construction never fails: keys are checked (non-empty, within DynamoDB's size limits of 2048
/// bytes for a partition key and 1024 bytes for a sort key) when a request is planned, so that the
/// error can name the key and no request is sent.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LeaseKey {
    partition: String,
    sort: String,
}

impl LeaseKey {
    /// The key with the given partition key value and sort key value.
    #[must_use]
    pub fn new(partition: impl Into<String>, sort: impl Into<String>) -> Self {
        Self {
            partition: partition.into(),
            sort: sort.into(),
        }
    }

    /// The partition key value (`pk` by default).
    #[must_use]
    pub fn partition(&self) -> &str {
        &self.partition
    }

    /// The sort key value (`sk` by default; `LOCK` for leases taken by partition key only).
    #[must_use]
    pub fn sort(&self) -> &str {
        &self.sort
    }
}

impl fmt::Debug for LeaseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LeaseKey({:?}/{:?})", self.partition, self.sort)
    }
}

impl fmt::Display for LeaseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.partition, self.sort)
    }
}
