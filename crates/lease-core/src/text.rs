//! The string type of items, keys and tokens.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

use compact_str::CompactString;

/// A string of an item, a key or a token: an attribute name, an `S` or `N` value, a partition
/// or sort key value.
///
/// Text of up to 24 bytes (attribute names, numbers, `LOCK`, most keys) is stored inline, so
/// cloning it or putting it into a request allocates nothing; longer text is on the heap and a
/// clone copies it, as a `String`'s does. Build one from a `&str` or a `String` (`"pk".into()`),
/// read it as a `&str` ([`as_str`](Self::as_str), or through `Deref`), and look an item's
/// attribute up by `&str` (`item.get("pk")`: `Text` borrows as `str`, and compares, orders and
/// hashes as the `str` it holds).
///
/// (The representation is private: it is `compact_str`'s today, and may change without a
/// breaking release.)
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(CompactString);

impl Text {
    /// The text of `s` (inline when it is at most 24 bytes long).
    #[must_use]
    pub fn new(s: &str) -> Self {
        Self(CompactString::new(s))
    }

    /// The text as a `&str`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The decimal text of `n` (for an `N` value), without a heap allocation.
    pub(crate) fn from_i64(n: i64) -> Self {
        Self(CompactString::new(itoa::Buffer::new().format(n)))
    }
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Self {
        Self::new(s)
    }
}

/// Keeps the `String`'s heap buffer when the text is longer than 24 bytes.
impl From<String> for Text {
    fn from(s: String) -> Self {
        Self(CompactString::from(s))
    }
}

impl From<Text> for String {
    fn from(text: Text) -> Self {
        text.0.into_string()
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

/// The text, as `str`'s `Debug` shows it (quoted, escaped).
impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// The text as it is.
impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::Text;

    #[test]
    fn looks_up_and_compares_as_str() {
        let map = BTreeMap::from([(Text::from("pk"), 1), (Text::from(String::from("sk")), 2)]);
        assert_eq!(map.get("pk"), Some(&1));
        assert_eq!(map.get("sk"), Some(&2));
        assert_eq!(Text::from("LOCK"), "LOCK");
        assert_eq!(Text::from_i64(-1030).as_str(), "-1030");
        assert_eq!(
            format!("{:?} {}", Text::from("a\"b"), Text::from("c")),
            "\"a\\\"b\" c"
        );
        let long = "x".repeat(100);
        assert_eq!(String::from(Text::from(long.clone())), long);
    }
}
