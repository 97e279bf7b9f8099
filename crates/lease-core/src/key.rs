//! The key of one lease item.

use std::fmt;
use std::sync::Arc;

/// The key of one lease: the item's partition key value and sort key value (both DynamoDB `S`).
///
/// Compatible with TableTheory's `lease.Key{PK, SK}`: a lease for `CACHE#A` under the default
/// configuration lives at `pk = "CACHE#A"`, `sk = "LOCK"`.
///
/// Construction never fails: keys are checked (non-empty, within DynamoDB's size limits of 2048
/// bytes for a partition key and 1024 bytes for a sort key) when a request is planned, so that the
/// error can name the key and no request is sent.
///
/// The sort key value is shared (`Arc<str>`): most leases of one configuration have the same
/// one (`LOCK`), and a [`Planner`](crate::Planner)'s lock keys point to one copy of it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LeaseKey {
    partition: String,
    sort: Arc<str>,
}

impl LeaseKey {
    /// The key with the given partition key value and sort key value.
    #[must_use]
    pub fn new(partition: impl Into<String>, sort: impl Into<Arc<str>>) -> Self {
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

/// Shows `partition/sort`; a part longer than 200 bytes is cut at a character boundary and
/// marked with its length, so that an error about an oversized key stays readable.
impl fmt::Display for LeaseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_part(f, &self.partition)?;
        f.write_str("/")?;
        write_part(f, &self.sort)
    }
}

fn write_part(f: &mut fmt::Formatter<'_>, part: &str) -> fmt::Result {
    const SHOWN: usize = 200;
    if part.len() <= SHOWN {
        return f.write_str(part);
    }
    let mut end = SHOWN;
    while !part.is_char_boundary(end) {
        end -= 1;
    }
    write!(f, "{}…({} bytes)", &part[..end], part.len())
}
