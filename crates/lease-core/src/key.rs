//! The key of one lease item.

use std::fmt;

use crate::text::Text;

/// The key of one lease: the item's partition key value and sort key value (both DynamoDB `S`).
///
/// Compatible with TableTheory's `lease.Key{PK, SK}`: a lease for `CACHE#A` under the default
/// configuration lives at `pk = "CACHE#A"`, `sk = "LOCK"`.
///
/// Most leases are named by their partition key alone: `"CACHE#A"` (a `&str` or `String`)
/// converts into the key [`LeaseKey::lock`] makes, whose sort key is the table's lock sort key
/// (`LeaseConfig::lock_sort_key`, `LOCK` by default), filled in when the key is used: a
/// [`Lease`](crate::Lease) and every error name the key with its sort key. [`LeaseKey::new`]
/// names both parts.
///
/// Construction never fails: keys are checked (non-empty, within DynamoDB's size limits of 2048
/// bytes for a partition key and 1024 bytes for a sort key) when a request is planned, so that the
/// error can name the key and no request is sent.
///
/// Both values are [`Text`]: text of up to 24 bytes (such as `LOCK`) is stored inline, so
/// cloning it, or putting it into a request, allocates nothing.
///
/// # Equality
/// Two keys are equal when both parts are. A key made with [`lock`](Self::lock) (or from
/// `"CACHE#A"`) has no sort key until it is used, so it equals no key with a sort key, not
/// even the one it is filled in to: `LeaseKey::lock("A") != LeaseKey::new("A", "LOCK")`. The
/// keys the library hands back (a [`Lease`](crate::Lease)'s, an error's, a snapshot's) always
/// have their sort key; to compare one with a key of your own, fill yours in first with
/// [`LeaseConfig::resolve_key`](crate::LeaseConfig::resolve_key):
///
/// ```
/// # use lease_core::{LeaseConfig, LeaseKey};
/// let config = LeaseConfig::builder("locks").build()?;
/// let key = LeaseKey::new("CACHE#A", "LOCK"); // as a lease or an error names it
/// assert_ne!(key, LeaseKey::lock("CACHE#A"));
/// assert_eq!(key, config.resolve_key("CACHE#A"));
/// # Ok::<(), lease_core::ConfigError>(())
/// ```
///
/// # Display
/// `CACHE#A/LOCK`: the two parts joined by `/`, each quoted like a Rust string (`"a/b"`,
/// `""`) when it could be misread: when it is empty, contains `/`, `"`, `\`, whitespace or a
/// control character, or is longer than 200 bytes (then cut, and followed by its length). So
/// the text names one key whatever the parts: `"a/b"/c` and `a/"b/c"` are two keys. A key
/// without its sort key yet shows its partition key alone.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LeaseKey {
    partition: Text,
    sort: Option<Text>,
}

impl LeaseKey {
    /// The key with the given partition key value and sort key value.
    #[must_use]
    pub fn new(partition: impl Into<Text>, sort: impl Into<Text>) -> Self {
        Self {
            partition: partition.into(),
            sort: Some(sort.into()),
        }
    }

    /// The key of the lease for `partition` under the table's lock sort key
    /// (`LeaseConfig::lock_sort_key`, `LOCK` by default), which is filled in when the key is
    /// used. `"CACHE#A".into()` makes the same key.
    #[must_use]
    pub fn lock(partition: impl Into<Text>) -> Self {
        Self {
            partition: partition.into(),
            sort: None,
        }
    }

    /// The partition key value (`pk` by default).
    #[must_use]
    pub fn partition(&self) -> &str {
        &self.partition
    }

    /// The sort key value (`sk` by default); `None` for a key made with [`lock`](Self::lock)
    /// (the table's lock sort key).
    #[must_use]
    pub fn sort(&self) -> Option<&str> {
        self.sort.as_deref()
    }

    /// The partition key value as [`Text`] (for a request's key).
    #[must_use]
    pub fn partition_value(&self) -> &Text {
        &self.partition
    }

    /// The sort key value as [`Text`] (for a request's key); `None` as for
    /// [`sort`](Self::sort).
    #[must_use]
    pub fn sort_value(&self) -> Option<&Text> {
        self.sort.as_ref()
    }

    /// This key with `lock_sort_key` as its sort key if it has none.
    pub(crate) fn resolved(self, lock_sort_key: &Text) -> Self {
        match self.sort {
            Some(_) => self,
            None => Self {
                partition: self.partition,
                sort: Some(lock_sort_key.clone()),
            },
        }
    }
}

impl From<&str> for LeaseKey {
    fn from(partition: &str) -> Self {
        Self::lock(partition)
    }
}

impl From<String> for LeaseKey {
    fn from(partition: String) -> Self {
        Self::lock(partition)
    }
}

impl From<&String> for LeaseKey {
    fn from(partition: &String) -> Self {
        Self::lock(partition)
    }
}

impl From<Text> for LeaseKey {
    fn from(partition: Text) -> Self {
        Self::lock(partition)
    }
}

impl From<&LeaseKey> for LeaseKey {
    fn from(key: &LeaseKey) -> Self {
        key.clone()
    }
}

/// Shows `LeaseKey("partition"/"sort")` (`LeaseKey("partition")` for a key made with
/// [`LeaseKey::lock`]), each part quoted and, past 200 bytes, cut as in
/// [`Display`](fmt::Display).
impl fmt::Debug for LeaseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (partition, partition_cut) = shown(&self.partition);
        match &self.sort {
            Some(sort) => {
                let (sort, sort_cut) = shown(sort);
                write!(
                    f,
                    "LeaseKey({partition:?}{partition_cut}/{sort:?}{sort_cut})"
                )
            }
            None => write!(f, "LeaseKey({partition:?}{partition_cut})"),
        }
    }
}

/// Shows `partition/sort` (`partition` alone for a key made with [`LeaseKey::lock`]). A part
/// that could be misread is quoted as a Rust string literal: an empty one (`""`), one with
/// `/`, `"`, `\`, whitespace or a control character, and one longer than 200 bytes, which is
/// cut at a character boundary and followed by its length (`"ab…"…(3000 bytes)`), so that an
/// error about an empty or oversized key stays readable and no two keys look alike.
impl fmt::Display for LeaseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_part(f, &self.partition)?;
        match &self.sort {
            Some(sort) => {
                f.write_str("/")?;
                write_part(f, sort)
            }
            None => Ok(()),
        }
    }
}

fn write_part(f: &mut fmt::Formatter<'_>, part: &str) -> fmt::Result {
    let (shown, cut) = shown(part);
    if cut.is_empty() && is_plain(part) {
        f.write_str(part)
    } else {
        write!(f, "{shown:?}{cut}")
    }
}

/// Whether `part` reads as itself between `/`s: not empty, and without `/`, `"`, `\`,
/// whitespace or control characters.
fn is_plain(part: &str) -> bool {
    !part.is_empty()
        && !part
            .chars()
            .any(|c| matches!(c, '/' | '"' | '\\') || c.is_whitespace() || c.is_control())
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
        assert_eq!(LeaseKey::from("CACHE#A").to_string(), "CACHE#A");
        assert_eq!(format!("{:?}", LeaseKey::lock("A")), r#"LeaseKey("A")"#);
        assert_eq!(
            LeaseKey::lock("A").resolved(&Text::new("LOCK")),
            LeaseKey::new("A", "LOCK")
        );
        let long = "é".repeat(150); // 300 bytes; byte 200 is a character boundary
        let shown = LeaseKey::new(long.as_str(), "LOCK").to_string();
        assert_eq!(shown, format!("\"{}\"…(300 bytes)/LOCK", "é".repeat(100)));
        let odd = format!("x{long}"); // 301 bytes; byte 200 is inside a character
        let shown = LeaseKey::new(odd.as_str(), "LOCK").to_string();
        assert_eq!(shown, format!("\"x{}\"…(301 bytes)/LOCK", "é".repeat(99)));
    }

    /// A part with a `/` (or anything else that could be misread) is quoted, so that no two
    /// keys show alike.
    #[test]
    fn display_is_unambiguous() {
        let shown = |p: &str, s: &str| LeaseKey::new(p, s).to_string();
        assert_eq!(shown("a/b", "c"), r#""a/b"/c"#);
        assert_eq!(shown("a", "b/c"), r#"a/"b/c""#);
        assert_ne!(shown("a/b", "c"), shown("a", "b/c"));
        assert_eq!(LeaseKey::lock("a/b").to_string(), r#""a/b""#);
        assert_ne!(LeaseKey::lock("a/b").to_string(), shown("a", "b"));
        assert_eq!(shown("say \"hi\"", "LOCK"), r#""say \"hi\""/LOCK"#);
        assert_eq!(shown("back\\slash", "LOCK"), r#""back\\slash"/LOCK"#);
        assert_eq!(shown("two words", "LOCK"), r#""two words"/LOCK"#);
        assert_eq!(shown("line\nbreak", "LOCK"), r#""line\nbreak"/LOCK"#);
        assert_eq!(shown("trailing ", "LOCK"), r#""trailing "/LOCK"#);
        // Anything else reads as itself, non-ASCII letters included.
        assert_eq!(
            shown("CACHE#A:ünïcode-1.2_x", "LOCK"),
            "CACHE#A:ünïcode-1.2_x/LOCK"
        );
        // A cut part is quoted, its length after the quote: no part shows like that.
        assert_eq!(shown("x…(300 bytes)", "LOCK"), r#""x…(300 bytes)"/LOCK"#);
        // Distinct keys, distinct texts (for parts of at most 200 bytes).
        let parts = [
            "",
            "a",
            "a/b",
            "b",
            "a/",
            "/b",
            "\"",
            "\"a\"/\"b\"",
            "a b",
            "\\",
        ];
        let mut seen = std::collections::HashMap::new();
        for p in parts {
            for s in parts {
                let key = LeaseKey::new(p, s);
                if let Some(other) = seen.insert(key.to_string(), key.clone()) {
                    panic!("{key:?} and {other:?} both show as {key}");
                }
            }
            let key = LeaseKey::lock(p);
            if let Some(other) = seen.insert(key.to_string(), key.clone()) {
                panic!("{key:?} and {other:?} both show as {key}");
            }
        }
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
