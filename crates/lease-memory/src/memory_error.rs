//! Errors of the store's own API, and the store errors its requests answer with.

use lease_core::{StoreError, StoreErrorKind};

/// An error of [`MemoryStore`](crate::MemoryStore)'s table management and test helpers.
///
/// Requests executed through [`Store`](lease_core::Store) never return this type: they answer with a
/// [`StoreError`] classified as DynamoDB would classify it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MemoryError {
    /// A table of this name exists already.
    #[error("table {table:?} already exists")]
    TableExists {
        /// The table name.
        table: String,
    },
    /// No table of this name exists.
    #[error("table {table:?} does not exist")]
    TableNotFound {
        /// The table name.
        table: String,
    },
    /// The table name is not 3 to 255 characters of `a-z A-Z 0-9 _ - .`, as DynamoDB requires.
    #[error(
        "invalid table name {table:?}: DynamoDB table names are 3 to 255 characters of a-z, A-Z, 0-9, '_', '-' and '.'"
    )]
    InvalidTableName {
        /// The name given.
        table: String,
    },
    /// A key attribute name is empty or longer than DynamoDB's 255 bytes.
    #[error("invalid key attribute name {name:?}: key attribute names are 1 to 255 bytes")]
    InvalidKeyAttributeName {
        /// The name given.
        name: String,
    },
    /// The partition key and the sort key were given the same attribute name.
    #[error("the partition key and the sort key are both named {name:?}")]
    DuplicateKeyAttributeName {
        /// The shared name.
        name: String,
    },
    /// An item or key does not match the table's key schema.
    #[error("invalid key for table {table:?}")]
    InvalidKey {
        /// The table name.
        table: String,
        /// What is wrong with the key.
        #[source]
        reason: KeyError,
    },
}

/// Why an item or key does not match a table's key schema. Key attributes are strings (`S`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A key attribute is missing.
    #[error("key attribute {attribute:?} is missing")]
    Missing {
        /// The key attribute's name.
        attribute: String,
    },
    /// A key attribute is not a string (`S`).
    #[error("key attribute {attribute:?} is of type {found}, expected S")]
    WrongType {
        /// The key attribute's name.
        attribute: String,
        /// The type found (DynamoDB's descriptor, such as `N`).
        found: &'static str,
    },
    /// A key attribute is the empty string, which DynamoDB rejects.
    #[error("key attribute {attribute:?} is an empty string")]
    Empty {
        /// The key attribute's name.
        attribute: String,
    },
    /// A key value is longer than DynamoDB allows: 2048 bytes for a partition key, 1024 bytes
    /// for a sort key.
    #[error("key attribute {attribute:?} is {len} bytes long; DynamoDB allows at most {max}")]
    TooLong {
        /// The key attribute's name.
        attribute: String,
        /// Its length in UTF-8 bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// A key given to `GetItem`, `UpdateItem` or `DeleteItem` has an attribute that is not part
    /// of the key schema.
    #[error("attribute {attribute:?} is not part of the key schema")]
    NotKeyAttribute {
        /// The attribute's name.
        attribute: String,
    },
}

/// A `ValidationException`: the request was rejected and not applied.
pub(crate) fn validation(message: impl Into<String>) -> StoreError {
    StoreError::new(StoreErrorKind::Validation, message)
}

/// The `ValidationException` DynamoDB answers for a key that does not match the schema.
pub(crate) fn invalid_key(reason: &KeyError) -> StoreError {
    validation(format!(
        "One or more parameter values were invalid: the provided key element does not match the schema: {reason}"
    ))
}
