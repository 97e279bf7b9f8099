//! One table: its key schema, key extraction, and its items stored by key.
//!
//! Items live in a hash map keyed by the key values. Lookups borrow the key values from the
//! request (no allocation); only inserting a new item allocates its key.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use foldhash::fast::RandomState;

use lease_core::{AttributeValue, Item};

use crate::memory_error::KeyError;

/// DynamoDB's limit on a partition key value, in UTF-8 bytes.
const MAX_PARTITION_KEY_BYTES: usize = 2048;
/// DynamoDB's limit on a sort key value, in UTF-8 bytes.
const MAX_SORT_KEY_BYTES: usize = 1024;

/// DynamoDB's limit on an attribute name used as a key, in UTF-8 bytes.
pub(crate) const MAX_KEY_ATTRIBUTE_NAME_BYTES: usize = 255;

/// Whether `name` is a valid DynamoDB table name: 3 to 255 characters of `a-z A-Z 0-9 _ - .`.
pub(crate) fn is_valid_table_name(name: &str) -> bool {
    (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// The key attributes of a table (both `S`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct KeySchema {
    partition: String,
    sort: Option<String>,
}

impl KeySchema {
    pub(crate) fn new(partition: impl Into<String>, sort: Option<impl Into<String>>) -> Self {
        Self {
            partition: partition.into(),
            sort: sort.map(Into::into),
        }
    }

    /// The partition key attribute's name.
    pub(crate) fn partition(&self) -> &str {
        &self.partition
    }

    /// The sort key attribute's name, if the table has a sort key.
    pub(crate) fn sort(&self) -> Option<&str> {
        self.sort.as_deref()
    }

    /// Whether `name` is a key attribute.
    pub(crate) fn is_key_attribute(&self, name: &str) -> bool {
        self.partition == name || self.sort.as_deref() == Some(name)
    }

    /// The key of a whole item (`PutItem`): the key attributes must be present and valid; other
    /// attributes are the item's.
    pub(crate) fn key_of_item<'a>(&self, item: &'a Item) -> Result<KeyRef<'a>, KeyError> {
        let partition = key_value(item, &self.partition, MAX_PARTITION_KEY_BYTES)?;
        let sort = match &self.sort {
            Some(name) => Some(key_value(item, name, MAX_SORT_KEY_BYTES)?),
            None => None,
        };
        Ok(KeyRef { partition, sort })
    }

    /// The key of a `GetItem`, `UpdateItem` or `DeleteItem`: exactly the key attributes.
    pub(crate) fn exact_key<'a>(&self, key: &'a Item) -> Result<KeyRef<'a>, KeyError> {
        if let Some(extra) = key.keys().find(|name| !self.is_key_attribute(name)) {
            return Err(KeyError::NotKeyAttribute {
                attribute: extra.to_string(),
            });
        }
        self.key_of_item(key)
    }
}

fn key_value<'a>(item: &'a Item, name: &str, max: usize) -> Result<&'a str, KeyError> {
    let attribute = || name.to_owned();
    match item.get(name) {
        None => Err(KeyError::Missing {
            attribute: attribute(),
        }),
        Some(AttributeValue::S(s)) if s.is_empty() => Err(KeyError::Empty {
            attribute: attribute(),
        }),
        Some(AttributeValue::S(s)) if s.len() > max => Err(KeyError::TooLong {
            attribute: attribute(),
            len: s.len(),
            max,
        }),
        Some(AttributeValue::S(s)) => Ok(s),
        Some(other) => Err(KeyError::WrongType {
            attribute: attribute(),
            found: other.type_name(),
        }),
    }
}

/// A key borrowed from a request or an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct KeyRef<'a> {
    partition: &'a str,
    sort: Option<&'a str>,
}

impl KeyRef<'_> {
    /// The key as the map stores it (allocates).
    pub(crate) fn to_owned_key(self) -> OwnedKey {
        OwnedKey {
            partition: self.partition.to_owned(),
            sort: self.sort.map(str::to_owned),
        }
    }
}

/// A key as the map stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OwnedKey {
    partition: String,
    sort: Option<String>,
}

impl OwnedKey {
    /// The key, borrowed, for lookups.
    pub(crate) fn borrowed(&self) -> KeyRef<'_> {
        self.as_key()
    }
}

/// Lets the map, keyed by [`OwnedKey`], be searched with a [`KeyRef`]: both hash and compare
/// as the `KeyRef` they view.
trait AsKey {
    fn as_key(&self) -> KeyRef<'_>;
}

impl AsKey for OwnedKey {
    fn as_key(&self) -> KeyRef<'_> {
        KeyRef {
            partition: &self.partition,
            sort: self.sort.as_deref(),
        }
    }
}

impl AsKey for KeyRef<'_> {
    fn as_key(&self) -> KeyRef<'_> {
        *self
    }
}

impl<'a> Borrow<dyn AsKey + 'a> for OwnedKey {
    fn borrow(&self) -> &(dyn AsKey + 'a) {
        self
    }
}

impl Hash for OwnedKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_key().hash(state);
    }
}

impl Hash for dyn AsKey + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_key().hash(state);
    }
}

impl PartialEq for dyn AsKey + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.as_key() == other.as_key()
    }
}

impl Eq for dyn AsKey + '_ {}

/// A table: key schema and items.
pub(crate) struct Table {
    schema: KeySchema,
    /// Hashed with foldhash (seeded per process): several times faster than the standard
    /// SipHash on lease keys, and this map is not exposed to untrusted input at scale.
    items: HashMap<OwnedKey, Item, RandomState>,
}

impl Table {
    pub(crate) fn new(schema: KeySchema) -> Self {
        Self {
            schema,
            items: HashMap::default(),
        }
    }

    pub(crate) fn schema(&self) -> &KeySchema {
        &self.schema
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn get(&self, key: KeyRef<'_>) -> Option<&Item> {
        self.items.get(&key as &dyn AsKey)
    }

    pub(crate) fn get_mut(&mut self, key: KeyRef<'_>) -> Option<&mut Item> {
        self.items.get_mut(&key as &dyn AsKey)
    }

    /// Stores `item` at `key` (which must be `item`'s key), replacing any item there.
    pub(crate) fn insert(&mut self, key: OwnedKey, item: Item) {
        self.items.insert(key, item);
    }

    pub(crate) fn remove(&mut self, key: KeyRef<'_>) -> Option<Item> {
        self.items.remove(&key as &dyn AsKey)
    }

    /// Removes the item at `key` and returns it with its stored key, to put back unchanged.
    pub(crate) fn remove_entry(&mut self, key: KeyRef<'_>) -> Option<(OwnedKey, Item)> {
        self.items.remove_entry(&key as &dyn AsKey)
    }

    /// The items whose partition key is `partition` and whose sort key (if the table has one)
    /// begins with `prefix`, ordered by sort key (by bytes): a `Query`.
    pub(crate) fn query(&self, partition: &str, prefix: Option<&str>) -> Vec<Item> {
        let mut entries: Vec<(KeyRef<'_>, &Item)> = self
            .items
            .iter()
            .map(|(k, v)| (k.as_key(), v))
            .filter(|(k, _)| {
                k.partition == partition
                    && prefix.is_none_or(|p| k.sort.is_some_and(|s| s.starts_with(p)))
            })
            .collect();
        entries.sort_unstable_by_key(|(k, _)| *k);
        entries.into_iter().map(|(_, v)| v.clone()).collect()
    }

    /// Every item, ordered by key (partition key, then sort key, by bytes).
    pub(crate) fn items_by_key(&self) -> Vec<Item> {
        let mut entries: Vec<(KeyRef<'_>, &Item)> =
            self.items.iter().map(|(k, v)| (k.as_key(), v)).collect();
        entries.sort_unstable_by_key(|(k, _)| *k);
        entries.into_iter().map(|(_, v)| v.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(pairs: &[(&str, AttributeValue)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), v.clone()))
            .collect()
    }

    fn s(v: &str) -> AttributeValue {
        AttributeValue::string(v)
    }

    #[test]
    fn keys_are_extracted_by_schema() {
        let schema = KeySchema::new("pk", Some("sk"));
        let full = item(&[("pk", s("a")), ("sk", s("b")), ("x", s("y"))]);
        let key = schema.key_of_item(&full).unwrap();
        assert_eq!(
            key,
            KeyRef {
                partition: "a",
                sort: Some("b")
            }
        );
        assert_eq!(
            schema.exact_key(&full),
            Err(KeyError::NotKeyAttribute {
                attribute: "x".into()
            })
        );
        assert_eq!(
            schema.key_of_item(&item(&[("pk", s("a"))])),
            Err(KeyError::Missing {
                attribute: "sk".into()
            })
        );
        assert_eq!(
            schema.key_of_item(&item(&[("pk", s("")), ("sk", s("b"))])),
            Err(KeyError::Empty {
                attribute: "pk".into()
            })
        );
        assert_eq!(
            schema.key_of_item(&item(&[("pk", AttributeValue::number(1)), ("sk", s("b"))])),
            Err(KeyError::WrongType {
                attribute: "pk".into(),
                found: "N"
            })
        );
        let long = "x".repeat(1025);
        assert_eq!(
            schema.key_of_item(&item(&[("pk", s(&long)), ("sk", s(&long))])),
            Err(KeyError::TooLong {
                attribute: "sk".into(),
                len: 1025,
                max: 1024
            })
        );
    }

    #[test]
    fn borrowed_keys_find_stored_items() {
        let schema = KeySchema::new("pk", None::<String>);
        let mut table = Table::new(schema.clone());
        let stored = item(&[("pk", s("a")), ("v", s("1"))]);
        let key = schema.key_of_item(&stored).unwrap().to_owned_key();
        table.insert(key, stored.clone());
        let probe = item(&[("pk", s("a"))]);
        let probe_key = schema.exact_key(&probe).unwrap();
        assert_eq!(table.get(probe_key), Some(&stored));
        assert_eq!(table.remove(probe_key), Some(stored));
        assert_eq!(table.len(), 0);
    }
}
