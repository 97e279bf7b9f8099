//! The key of one lease item.

use std::fmt;

use compact_str::CompactString;

/// The key of one lease: the item's partition key value and sort key value (both DynamoDB `S`).
///
/// Compatible with TableTheory's `lease.Key{PK, SK}`: a lease for `CACHE#A` under the default
/// configuration lives at `pk = "CACHE#A"`, `sk = "LOCK"`.
///
/// Construction never fails: keys are checked (non-empty, within DynamoDB's size limits of 2048
/// bytes for a partition key and 1024 bytes for a sort key) when a request is planned, so that the
/// error can name the key and no request is sent.
///
/// Both values are [`CompactString`]s: text of up to 24 bytes (such as `LOCK`) is stored inline,
/// so cloning it, or putting it into a request, allocates nothing; longer text is on the heap and
/// copied by a clone, like a `String`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LeaseKey {
    partition: CompactString,
    sort: CompactString,
}

impl LeaseKey {
    /// The key with the given partition key value and sort key value.
    #[must_use]
    pub fn new(partition: impl Into<CompactString>, sort: impl Into<CompactString>) -> Self {
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

    /// The partition key value as a [`CompactString`] (for a request's key).
    #[must_use]
    pub fn partition_value(&self) -> &CompactString {
        &self.partition
    }

    /// The sort key value as a [`CompactString`] (for a request's key).
    #[must_use]
    pub fn sort_value(&self) -> &CompactString {
        &self.sort
    }
}

/// Shows `LeaseKey("partition"/"sort")`, each part quoted and, past 200 bytes, cut as in
/// [`Display`](fmt::Display).
impl fmt::Debug for LeaseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (partition, partition_cut) = shown(&self.partition);
        let (sort, sort_cut) = shown(&self.sort);
        write!(
            f,
            "LeaseKey({partition:?}{partition_cut}/{sort:?}{sort_cut})"
        )
    }
}

/// Shows `partition/sort`; an empty part as `""`, and a part longer than 200 bytes cut at a
/// character boundary and marked with its length, so that an error about an empty or
/// oversized key stays readable.
impl fmt::Display for LeaseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_part(f, &self.partition)?;
        f.write_str("/")?;
        write_part(f, &self.sort)
    }
}

fn write_part(f: &mut fmt::Formatter<'_>, part: &str) -> fmt::Result {
    if part.is_empty() {
        return f.write_str("\"\"");
    }
    let (shown, cut) = shown(part);
    write!(f, "{shown}{cut}")
}

/// At most the first 200 bytes of `part` (cut at a character boundary), and `…(N bytes)` if
/// it was cut.
fn shown(part: &str) -> (&str, String) {
    const SHOWN: usize = 200;
    if part.len() <= SHOWN {
        return (part, String::new());
    }
    let mut end = SHOWN;
    while !part.is_char_boundary(end) {
        end -= 1;
    }
    (&part[..end], format!("…({} bytes)", part.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_empty_parts_and_cuts_long_ones() {
        assert_eq!(LeaseKey::new("CACHE#A", "LOCK").to_string(), "CACHE#A/LOCK");
        assert_eq!(LeaseKey::new("", "LOCK").to_string(), "\"\"/LOCK");
        assert_eq!(LeaseKey::new("p", "").to_string(), "p/\"\"");
        let long = "é".repeat(150); // 300 bytes; byte 200 is a character boundary
        let shown = LeaseKey::new(long.as_str(), "LOCK").to_string();
        assert_eq!(shown, format!("{}…(300 bytes)/LOCK", "é".repeat(100)));
        let odd = format!("x{long}"); // 301 bytes; byte 200 is inside a character
        let shown = LeaseKey::new(odd.as_str(), "LOCK").to_string();
        assert_eq!(shown, format!("x{}…(301 bytes)/LOCK", "é".repeat(99)));
    }

    #[test]
    fn debug_quotes_both_parts_and_cuts_long_ones() {
        assert_eq!(
            format!("{:?}", LeaseKey::new("CACHE#A", "LOCK")),
            r#"LeaseKey("CACHE#A"/"LOCK")"#
        );
        let long = "k".repeat(3000);
        assert_eq!(
            format!("{:?}", LeaseKey::new(long.as_str(), "LOCK")),
            format!(r#"LeaseKey("{}"…(3000 bytes)/"LOCK")"#, "k".repeat(200))
        );
    }
}
