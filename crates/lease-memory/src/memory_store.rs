//! [`MemoryStore`]: tables behind one lock, and its [`Store`] implementation.

use std::collections::BTreeMap;
use std::fmt;
use std::future::{Future, ready};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use lease_core::expr::Condition;
use lease_core::{
    DeleteRequest, GetRequest, KeyAttribute, KeyRole, OnConditionFailure, PutRequest, QueryRequest,
    Replication, ReturnValues, ScalarType, TableDescription, TtlStatus, UpdateRequest,
};
use lease_core::{
    Item, LeaseConfig, Request, Store, StoreError, StoreErrorKind, StoreResponse, TokenSource,
};

use crate::memory_error::{MemoryError, invalid_key, validation};
use crate::memory_table::{KeySchema, MAX_KEY_ATTRIBUTE_NAME_BYTES, Table, is_valid_table_name};
#[cfg(feature = "manager")]
use crate::tokens::MemoryTokens;
use crate::{eval, transact, update, value};

/// Tables by name. A B-tree: a lookup among the usual one or two tables is a string comparison
/// or two, cheaper than hashing the name.
pub(crate) type Tables = BTreeMap<String, Table>;

/// An in-memory table store with DynamoDB's conditional-write semantics.
///
/// It executes lease [`Request`]s as DynamoDB does: conditions are evaluated on the current
/// item and the write is applied only if they hold, atomically per item; a failed condition
/// answers [`StoreResponse::ConditionFailed`] (with the current item when the request asks for
/// it); malformed requests answer a [`StoreErrorKind::Validation`] error and an unknown table a
/// [`StoreErrorKind::ResourceNotFound`] error. Nothing here fails for any other reason: there
/// is no throttling, no timeout, no TTL deletion.
///
/// Clones share the same tables (the state is behind an [`Arc`]), so a test can keep one clone
/// to inspect what a `LeaseManager` on another clone wrote. It is safe to
/// use from many tasks and threads at once: every request is evaluated and applied under one
/// lock, which is never held across an `.await`.
///
/// `Debug` shows the tables and their item counts, never the items (they hold lease tokens).
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

struct Inner {
    tables: Mutex<Tables>,
    requests: AtomicU64,
    /// The tokens of managers on this store that were not given a token source.
    #[cfg(feature = "manager")]
    tokens: Arc<dyn TokenSource>,
}

#[allow(
    clippy::derivable_impls,
    reason = "derivable only without the manager feature, which drops the token source"
)]
impl Default for Inner {
    fn default() -> Self {
        Self {
            tables: Mutex::default(),
            requests: AtomicU64::default(),
            #[cfg(feature = "manager")]
            tokens: Arc::new(MemoryTokens),
        }
    }
}

impl MemoryStore {
    /// A store with no tables.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A store with `config`'s table, keyed by `config`'s partition and sort key attributes:
    /// ready for a `LeaseManager` on `config`.
    #[must_use]
    pub fn for_config(config: &LeaseConfig) -> Self {
        let store = Self::new();
        let schema = KeySchema::new(
            config.partition_key_attribute(),
            Some(config.sort_key_attribute()),
        );
        store
            .lock()
            .insert(config.table_name().to_owned(), Table::new(schema));
        store
    }

    /// Creates an empty table keyed by `partition_key_attribute` and, if given,
    /// `sort_key_attribute`. Key attributes hold strings (`S`).
    ///
    /// # Errors
    /// - [`MemoryError::InvalidTableName`] unless the name is 3 to 255 characters of
    ///   `a-z A-Z 0-9 _ - .`.
    /// - [`MemoryError::InvalidKeyAttributeName`] for an empty key attribute name or one longer
    ///   than 255 bytes; [`MemoryError::DuplicateKeyAttributeName`] if both keys share a name.
    /// - [`MemoryError::TableExists`] if the table exists already.
    pub fn create_table(
        &self,
        table_name: &str,
        partition_key_attribute: &str,
        sort_key_attribute: Option<&str>,
    ) -> Result<(), MemoryError> {
        if !is_valid_table_name(table_name) {
            return Err(MemoryError::InvalidTableName {
                table: table_name.to_owned(),
            });
        }
        for name in std::iter::once(partition_key_attribute).chain(sort_key_attribute) {
            if name.is_empty() || name.len() > MAX_KEY_ATTRIBUTE_NAME_BYTES {
                return Err(MemoryError::InvalidKeyAttributeName {
                    name: name.to_owned(),
                });
            }
        }
        if sort_key_attribute == Some(partition_key_attribute) {
            return Err(MemoryError::DuplicateKeyAttributeName {
                name: partition_key_attribute.to_owned(),
            });
        }
        let mut tables = self.lock();
        if tables.contains_key(table_name) {
            return Err(MemoryError::TableExists {
                table: table_name.to_owned(),
            });
        }
        let schema = KeySchema::new(partition_key_attribute, sort_key_attribute);
        tables.insert(table_name.to_owned(), Table::new(schema));
        Ok(())
    }

    /// The item at `key` in `table`, as stored; `None` if there is none, the table does not
    /// exist, or `key` lacks a valid key attribute. Attributes of `key` other than the key
    /// attributes are ignored, so a whole item works as its own key.
    ///
    /// Not a request: [`requests_executed`](Self::requests_executed) does not count it.
    #[must_use]
    pub fn get_item(&self, table: &str, key: &Item) -> Option<Item> {
        let tables = self.lock();
        let table = tables.get(table)?;
        let key = table.schema().key_of_item(key).ok()?;
        table.get(key).cloned()
    }

    /// Stores `item` as it is, replacing any item with the same key: no condition, and no check
    /// of the non-key attributes (numbers are not validated or normalized). For tests: seed an
    /// item another writer would have written, or a malformed one (an expiry stored as a string,
    /// a missing token), or simulate another writer between two requests.
    ///
    /// Not a request: [`requests_executed`](Self::requests_executed) does not count it.
    ///
    /// ```
    /// use lease_memory::{store::AttributeValue, store::Item, LeaseConfig, MemoryStore};
    ///
    /// let config = LeaseConfig::builder("locks").build()?;
    /// let store = MemoryStore::for_config(&config);
    /// // Another holder's lease, in the default item format. Names are `Text`s:
    /// // write them with `.into()`.
    /// let theirs = Item::from([
    ///     ("pk".into(), AttributeValue::string("CACHE#A")),
    ///     ("sk".into(), AttributeValue::string("LOCK")),
    ///     ("lease_token".into(), AttributeValue::string("someone-else")),
    ///     ("lease_expires_at".into(), AttributeValue::number(4_102_444_800)), // 2100-01-01
    /// ]);
    /// store.put_item_unconditionally("locks", theirs.clone())?;
    /// assert_eq!(store.get_item("locks", &theirs), Some(theirs)); // an item is its own key
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`MemoryError::TableNotFound`], or [`MemoryError::InvalidKey`] if `item` lacks a valid
    /// key attribute.
    pub fn put_item_unconditionally(&self, table: &str, item: Item) -> Result<(), MemoryError> {
        let mut tables = self.lock();
        let table_ref = existing_table(&mut tables, table)?;
        let key = table_ref
            .schema()
            .key_of_item(&item)
            .map_err(|reason| MemoryError::InvalidKey {
                table: table.to_owned(),
                reason,
            })?
            .to_owned_key();
        table_ref.insert(key, item);
        Ok(())
    }

    /// Deletes the item at `key` in `table` with no condition, and returns it (`None` if there
    /// was none). Attributes of `key` other than the key attributes are ignored.
    ///
    /// Not a request: [`requests_executed`](Self::requests_executed) does not count it.
    ///
    /// # Errors
    /// [`MemoryError::TableNotFound`], or [`MemoryError::InvalidKey`] if `key` lacks a valid
    /// key attribute.
    pub fn delete_item_unconditionally(
        &self,
        table: &str,
        key: &Item,
    ) -> Result<Option<Item>, MemoryError> {
        let mut tables = self.lock();
        let table_ref = existing_table(&mut tables, table)?;
        let key =
            table_ref
                .schema()
                .key_of_item(key)
                .map_err(|reason| MemoryError::InvalidKey {
                    table: table.to_owned(),
                    reason,
                })?;
        Ok(table_ref.remove(key))
    }

    /// Every item of `table`, ordered by partition key then sort key (by bytes); empty if the
    /// table does not exist.
    #[must_use]
    pub fn items(&self, table: &str) -> Vec<Item> {
        self.lock()
            .get(table)
            .map(Table::items_by_key)
            .unwrap_or_default()
    }

    /// What `table` looks like, for
    /// [`Planner::check_table`](lease_core::Planner::check_table): its key schema (key attributes
    /// hold strings, `S`), [`Replication::SingleRegion`] (one table, one copy, every write
    /// decided under one lock) and [`TtlStatus::Unsupported`] (this store deletes nothing by
    /// TTL).
    /// `None` if the table does not exist.
    #[must_use]
    pub fn describe_table(&self, table: &str) -> Option<TableDescription> {
        let tables = self.lock();
        let schema = tables.get(table)?.schema();
        let mut key_schema = vec![KeyAttribute::new(
            schema.partition(),
            KeyRole::Hash,
            ScalarType::S,
        )];
        if let Some(sort) = schema.sort() {
            key_schema.push(KeyAttribute::new(sort, KeyRole::Range, ScalarType::S));
        }
        Some(TableDescription {
            key_schema,
            replication: Replication::SingleRegion,
            ttl: TtlStatus::Unsupported,
        })
    }

    /// How many times [`Store::execute`] was called on this store and its clones, whatever the
    /// outcome. Lets a test prove that invalid input sent no request.
    #[must_use]
    pub fn requests_executed(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, Tables> {
        // Nothing panics while the lock is held; if something ever did, the tables are still
        // consistent (every change is computed before it is applied), so carry on.
        self.inner
            .tables
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Executes `request` now, synchronously: what [`Store::execute`] does (its future is
    /// complete at once), for callers without an async runtime, such as a deterministic
    /// simulator that decides itself when each request reaches the table.
    ///
    /// # Errors
    /// As [`Store::execute`]: [`StoreErrorKind::Validation`] for a request DynamoDB would
    /// reject, [`StoreErrorKind::ResourceNotFound`] for an unknown table.
    pub fn execute_now(&self, request: &Request) -> Result<StoreResponse, StoreError> {
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
        if let Some(condition) = request.condition() {
            eval::check(condition)?;
        }
        match request {
            Request::Put(r) => self.put(r),
            Request::Update(r) => self.update(r),
            Request::Delete(r) => self.delete(r),
            Request::Get(r) => self.get(r),
            Request::Transact(r) => transact::execute(&mut self.lock(), r),
            Request::Query(r) => self.query(r),
            _ => Err(StoreError::new(
                StoreErrorKind::Unsupported,
                "lease-memory does not support this request type",
            )),
        }
    }

    fn put(&self, r: &PutRequest) -> Result<StoreResponse, StoreError> {
        let item = stored_item(&r.item)?;
        let mut tables = self.lock();
        let table = request_table(&mut tables, &r.table_name)?;
        let key = table
            .schema()
            .key_of_item(&item)
            .map_err(|e| invalid_key(&e))?;
        let condition = r.condition.as_ref();
        match table.get_mut(key) {
            Some(current) => {
                if !holds(condition, Some(current)) {
                    return Ok(condition_failed(r.on_condition_failure, Some(current)));
                }
                *current = item;
            }
            None => {
                if !holds(condition, None) {
                    return Ok(condition_failed(r.on_condition_failure, None));
                }
                let key = key.to_owned_key();
                table.insert(key, item);
            }
        }
        Ok(StoreResponse::Applied { attributes: None })
    }

    fn update(&self, r: &UpdateRequest) -> Result<StoreResponse, StoreError> {
        let mut tables = self.lock();
        let table = request_table(&mut tables, &r.table_name)?;
        let key = table
            .schema()
            .exact_key(&r.key)
            .map_err(|e| invalid_key(&e))?;
        update::check(&r.update, table.schema())?;
        let condition = r.condition.as_ref();
        let attributes = match table.get_mut(key) {
            Some(current) => {
                if !holds(condition, Some(current)) {
                    return Ok(condition_failed(r.on_condition_failure, Some(current)));
                }
                let changes = update::evaluate(&r.update, current)?;
                let old = (r.return_values == ReturnValues::AllOld).then(|| current.clone());
                let new = update::apply_returning(changes, current, r.return_values);
                old.or(new)
            }
            None => {
                if !holds(condition, None) {
                    return Ok(condition_failed(r.on_condition_failure, None));
                }
                let mut item = r.key.clone();
                let changes = update::evaluate(&r.update, &item)?;
                let new = update::apply_returning(changes, &mut item, r.return_values);
                table.insert(key.to_owned_key(), item);
                new
            }
        };
        Ok(StoreResponse::Applied { attributes })
    }

    fn delete(&self, r: &DeleteRequest) -> Result<StoreResponse, StoreError> {
        let mut tables = self.lock();
        let table = request_table(&mut tables, &r.table_name)?;
        let key = table
            .schema()
            .exact_key(&r.key)
            .map_err(|e| invalid_key(&e))?;
        // Take the item out (one lookup on the usual, successful path); put it back if the
        // condition fails. Both happen under the lock, so no other request sees the gap.
        match table.remove_entry(key) {
            Some((stored_key, current)) => {
                if holds(r.condition.as_ref(), Some(&current)) {
                    return Ok(StoreResponse::Applied { attributes: None });
                }
                let answer = condition_failed(r.on_condition_failure, Some(&current));
                table.insert(stored_key, current);
                Ok(answer)
            }
            None if holds(r.condition.as_ref(), None) => {
                Ok(StoreResponse::Applied { attributes: None })
            }
            None => Ok(condition_failed(r.on_condition_failure, None)),
        }
    }

    /// A `Query` of one partition, by the table's key attributes (a condition on any other
    /// attribute is a `ValidationException`, as in DynamoDB).
    fn query(&self, r: &QueryRequest) -> Result<StoreResponse, StoreError> {
        let mut tables = self.lock();
        let table = request_table(&mut tables, &r.table_name)?;
        let schema = table.schema();
        if r.partition_attribute != schema.partition() {
            return Err(validation(format!(
                "Query condition missed key schema element: {}",
                schema.partition()
            )));
        }
        let prefix = match &r.sort_prefix {
            Some((attribute, prefix)) if Some(attribute.as_str()) == schema.sort() => {
                Some(prefix.as_str())
            }
            Some((attribute, _)) => {
                return Err(validation(format!(
                    "Query key condition not supported: {attribute} is not the table's sort key"
                )));
            }
            None => None,
        };
        Ok(StoreResponse::Items(
            table.query(&r.partition_value, prefix),
        ))
    }

    fn get(&self, r: &GetRequest) -> Result<StoreResponse, StoreError> {
        let mut tables = self.lock();
        let table = request_table(&mut tables, &r.table_name)?;
        let key = table
            .schema()
            .exact_key(&r.key)
            .map_err(|e| invalid_key(&e))?;
        Ok(StoreResponse::Item(table.get(key).cloned()))
    }
}

/// Applies the request at call time; the returned future is already complete.
impl Store for MemoryStore {
    fn execute(
        &self,
        request: &Request,
    ) -> impl Future<Output = Result<StoreResponse, StoreError>> + Send {
        ready(self.execute_now(request))
    }

    /// UUIDv4 strings, unguessable, from `rand`'s thread-local CSPRNG (seeded and reseeded
    /// from the operating system) instead of a `getrandom` system call per token: a
    /// `MemoryStore`'s tables never leave this process, so a `fork` or a restored VM snapshot
    /// copies them together with the generator, and the copies' tokens never meet. Tables
    /// shared between processes (DynamoDB) keep `UuidTokens` (docs/performance.md, in the
    /// source repository, measures both).
    ///
    /// Without the `manager` feature (no entropy in the build), `None`: a manager then uses its
    /// own default.
    fn default_token_source(&self) -> Option<Arc<dyn TokenSource>> {
        #[cfg(feature = "manager")]
        return Some(self.inner.tokens.clone());
        #[cfg(not(feature = "manager"))]
        return None;
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tables = self.lock();
        let item_counts: BTreeMap<&str, usize> = tables
            .iter()
            .map(|(name, table)| (name.as_str(), table.len()))
            .collect();
        f.debug_struct("MemoryStore")
            .field("item_counts", &item_counts)
            .field("requests_executed", &self.requests_executed())
            .finish()
    }
}

fn existing_table<'t>(tables: &'t mut Tables, name: &str) -> Result<&'t mut Table, MemoryError> {
    tables
        .get_mut(name)
        .ok_or_else(|| MemoryError::TableNotFound {
            table: name.to_owned(),
        })
}

/// The request's table, or the error DynamoDB answers: `ValidationException` for a name that
/// cannot be a table name, `ResourceNotFoundException` for a table that does not exist.
pub(crate) fn request_table<'t>(
    tables: &'t mut Tables,
    name: &str,
) -> Result<&'t mut Table, StoreError> {
    tables.get_mut(name).ok_or_else(|| {
        if is_valid_table_name(name) {
            StoreError::new(
                StoreErrorKind::ResourceNotFound,
                format!("Requested resource not found: table {name:?} does not exist"),
            )
        } else {
            validation(format!(
                "invalid table name {name:?}: table names are 3 to 255 characters of a-z, A-Z, 0-9, '_', '-' and '.'"
            ))
        }
    })
}

/// A `PutItem`'s item as stored: attribute names non-empty, values valid, numbers canonical.
pub(crate) fn stored_item(item: &Item) -> Result<Item, StoreError> {
    let mut item = item.clone();
    for (name, value) in &mut item {
        if name.is_empty() {
            return Err(validation(
                "One or more parameter values were invalid: an attribute name is empty",
            ));
        }
        value::normalize(value).map_err(|e| {
            validation(format!(
                "One or more parameter values were invalid: attribute {name:?}: {e}"
            ))
        })?;
    }
    Ok(item)
}

pub(crate) fn holds(condition: Option<&Condition>, item: Option<&Item>) -> bool {
    condition.is_none_or(|c| eval::holds(c, item))
}

pub(crate) fn condition_failed(
    on_failure: OnConditionFailure,
    current: Option<&Item>,
) -> StoreResponse {
    StoreResponse::ConditionFailed {
        old_item: match on_failure {
            OnConditionFailure::ReturnOldItem => current.cloned(),
            OnConditionFailure::ReturnNothing => None,
        },
    }
}
