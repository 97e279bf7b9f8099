//! Store requests as plain data: what to send, never how.

use std::sync::Arc;

use crate::attribute::Item;
use crate::expr::{Condition, UpdateAction};
use crate::render::{Rendered, Renderer};
use crate::transact::TransactRequest;

/// One DynamoDB request, as data. A store executes it and answers with a
/// [`StoreResponse`](crate::StoreResponse) or a [`StoreError`](crate::StoreError).
///
/// `Debug` shows every value except a lease's bearer token: a value labelled
/// [`TOKEN_LABEL`](crate::expr::TOKEN_LABEL) (`:tok`, as every request a
/// [`Planner`](crate::Planner) makes labels it) shows as the token's fingerprint. A token you put
/// into an item yourself (a `PutRequest`'s item, a key) is shown as it is.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Request {
    /// `PutItem`
    Put(PutRequest),
    /// `UpdateItem`
    Update(UpdateRequest),
    /// `DeleteItem`
    Delete(DeleteRequest),
    /// `GetItem`
    Get(GetRequest),
    /// `TransactWriteItems`: several checks and writes, all applied or none.
    Transact(TransactRequest),
    /// `Query`: the items of one partition whose sort key begins with a prefix (a semaphore's
    /// permit slots).
    Query(QueryRequest),
}

impl Request {
    /// The table the request goes to. A transaction may span tables: this is its first
    /// item's table (empty for a transaction without items); see
    /// [`TransactItem::table_name`](crate::TransactItem::table_name).
    #[must_use]
    pub fn table_name(&self) -> &str {
        match self {
            Self::Put(r) => &r.table_name,
            Self::Update(r) => &r.table_name,
            Self::Delete(r) => &r.table_name,
            Self::Get(r) => &r.table_name,
            Self::Query(r) => &r.table_name,
            Self::Transact(r) => r.items.first().map_or("", |item| item.table_name()),
        }
    }

    /// The request's condition, if any. `None` for a transaction: each of its items has its
    /// own ([`TransactItem::condition`](crate::TransactItem::condition)).
    #[must_use]
    pub fn condition(&self) -> Option<&Condition> {
        match self {
            Self::Put(r) => r.condition.as_ref(),
            Self::Update(r) => r.condition.as_ref(),
            Self::Delete(r) => r.condition.as_ref(),
            Self::Get(_) | Self::Transact(_) | Self::Query(_) => None,
        }
    }

    /// The expression strings and placeholder maps of this request, as DynamoDB takes them.
    /// Stores that evaluate the AST directly (`lease-memory`) do not need this.
    ///
    /// A transaction has no request-wide expressions (the result is empty): each item renders
    /// its own with [`TransactItem::render`](crate::TransactItem::render).
    #[must_use]
    pub fn render(&self) -> Rendered {
        let mut r = Renderer::default();
        if let Self::Update(update) = self {
            r.update(&update.update);
        }
        if let Some(condition) = self.condition() {
            r.condition(condition);
        }
        r.finish()
    }
}

/// What a write returns when its condition fails: DynamoDB's
/// `ReturnValuesOnConditionCheckFailure`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[expect(
    clippy::exhaustive_enums,
    reason = "store protocol: a store handles every variant, so a new one is a breaking change on purpose"
)]
pub enum OnConditionFailure {
    /// Return nothing (`NONE`).
    ReturnNothing,
    /// Return the item as it was (`ALL_OLD`), so the caller learns the current holder without a
    /// second read. Stores that do not support it answer without the item.
    ReturnOldItem,
}

/// What a successful update returns: DynamoDB's `ReturnValues`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[expect(
    clippy::exhaustive_enums,
    reason = "store protocol: a store handles every variant, so a new one is a breaking change on purpose"
)]
pub enum ReturnValues {
    /// `NONE`
    None,
    /// `ALL_NEW`: the whole item after the update.
    AllNew,
    /// `UPDATED_NEW`: the attributes the update sets, as they are after it (not the key
    /// attributes, not removed ones).
    UpdatedNew,
    /// `ALL_OLD`: the whole item before the write.
    AllOld,
}

/// A conditional `PutItem`: writes the whole item (replacing any item with the same key).
///
/// Build one with [`PutRequest::new`] and the builder methods; the fields are public for the
/// stores that execute it.
///
/// ```
/// # use lease_core::{AttributeValue, Item, PutRequest, TransactItem};
/// # use lease_core::expr::{Attr, Condition};
/// let item: Item = [
///     ("pk".into(), AttributeValue::string("CACHE#A")),
///     ("sk".into(), AttributeValue::string("META")),
/// ]
/// .into();
/// let put = PutRequest::new("locks", item)
///     .condition(Condition::not_exists(Attr::new("#sk", "sk")));
/// let write: TransactItem = put.into(); // for LeaseManager::commit
/// # let _ = write;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[expect(
    clippy::exhaustive_structs,
    reason = "store protocol: a store reads every field, so a new one is a breaking change on purpose"
)]
pub struct PutRequest {
    /// Table name (shared: a planner's requests point to one copy).
    pub table_name: Arc<str>,
    /// The complete item, key attributes included.
    pub item: Item,
    /// The condition the current item must meet.
    pub condition: Option<Condition>,
    /// What to return when the condition fails.
    pub on_condition_failure: OnConditionFailure,
}

impl PutRequest {
    /// A `PutItem` of `item` (the complete item, key attributes included) into `table_name`,
    /// without a condition, returning nothing when a condition fails.
    #[must_use]
    pub fn new(table_name: impl Into<Arc<str>>, item: Item) -> Self {
        Self {
            table_name: table_name.into(),
            item,
            condition: None,
            on_condition_failure: OnConditionFailure::ReturnNothing,
        }
    }

    /// Writes only if the current item meets `condition`.
    #[must_use]
    pub fn condition(mut self, condition: Condition) -> Self {
        self.condition = Some(condition);
        self
    }

    /// What to return when the condition fails (default
    /// [`ReturnNothing`](OnConditionFailure::ReturnNothing)).
    #[must_use]
    pub fn on_condition_failure(mut self, on_failure: OnConditionFailure) -> Self {
        self.on_condition_failure = on_failure;
        self
    }
}

/// A conditional `UpdateItem` (an upsert if the item does not exist and the condition allows).
///
/// Build one with [`UpdateRequest::new`] and the builder methods; the fields are public for
/// the stores that execute it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[expect(
    clippy::exhaustive_structs,
    reason = "store protocol: a store reads every field, so a new one is a breaking change on purpose"
)]
pub struct UpdateRequest {
    /// Table name (shared: a planner's requests point to one copy).
    pub table_name: Arc<str>,
    /// The item's key attributes.
    pub key: Item,
    /// The update actions, applied in order.
    pub update: Vec<UpdateAction>,
    /// The condition the current item must meet.
    pub condition: Option<Condition>,
    /// What a successful update returns.
    pub return_values: ReturnValues,
    /// What to return when the condition fails.
    pub on_condition_failure: OnConditionFailure,
}

impl UpdateRequest {
    /// An `UpdateItem` of the item at `key` (its key attributes) in `table_name`, applying
    /// `update` in order, without a condition, returning nothing.
    #[must_use]
    pub fn new(table_name: impl Into<Arc<str>>, key: Item, update: Vec<UpdateAction>) -> Self {
        Self {
            table_name: table_name.into(),
            key,
            update,
            condition: None,
            return_values: ReturnValues::None,
            on_condition_failure: OnConditionFailure::ReturnNothing,
        }
    }

    /// Updates only if the current item meets `condition`.
    #[must_use]
    pub fn condition(mut self, condition: Condition) -> Self {
        self.condition = Some(condition);
        self
    }

    /// What a successful update returns (default [`ReturnValues::None`]). Ignored inside a
    /// transaction, which returns no item.
    #[must_use]
    pub fn return_values(mut self, return_values: ReturnValues) -> Self {
        self.return_values = return_values;
        self
    }

    /// What to return when the condition fails (default
    /// [`ReturnNothing`](OnConditionFailure::ReturnNothing)).
    #[must_use]
    pub fn on_condition_failure(mut self, on_failure: OnConditionFailure) -> Self {
        self.on_condition_failure = on_failure;
        self
    }
}

/// A conditional `DeleteItem`.
///
/// Build one with [`DeleteRequest::new`] and the builder methods; the fields are public for
/// the stores that execute it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[expect(
    clippy::exhaustive_structs,
    reason = "store protocol: a store reads every field, so a new one is a breaking change on purpose"
)]
pub struct DeleteRequest {
    /// Table name (shared: a planner's requests point to one copy).
    pub table_name: Arc<str>,
    /// The item's key attributes.
    pub key: Item,
    /// The condition the current item must meet.
    pub condition: Option<Condition>,
    /// What to return when the condition fails.
    pub on_condition_failure: OnConditionFailure,
}

impl DeleteRequest {
    /// A `DeleteItem` of the item at `key` (its key attributes) in `table_name`, without a
    /// condition, returning nothing when a condition fails.
    #[must_use]
    pub fn new(table_name: impl Into<Arc<str>>, key: Item) -> Self {
        Self {
            table_name: table_name.into(),
            key,
            condition: None,
            on_condition_failure: OnConditionFailure::ReturnNothing,
        }
    }

    /// Deletes only if the current item meets `condition`.
    #[must_use]
    pub fn condition(mut self, condition: Condition) -> Self {
        self.condition = Some(condition);
        self
    }

    /// What to return when the condition fails (default
    /// [`ReturnNothing`](OnConditionFailure::ReturnNothing)).
    #[must_use]
    pub fn on_condition_failure(mut self, on_failure: OnConditionFailure) -> Self {
        self.on_condition_failure = on_failure;
        self
    }
}

/// A `GetItem`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[expect(
    clippy::exhaustive_structs,
    reason = "store protocol: a store reads every field, so a new one is a breaking change on purpose"
)]
pub struct GetRequest {
    /// Table name (shared: a planner's requests point to one copy).
    pub table_name: Arc<str>,
    /// The item's key attributes.
    pub key: Item,
    /// Strongly consistent read (`ConsistentRead = true`).
    pub consistent_read: bool,
}

/// A `Query` of one partition: the items whose partition key is `partition_value` and, if
/// `sort_prefix` is given, whose sort key begins with it (`#pk = :pk AND begins_with(#sk,
/// :prefix)`), in sort key order. A store answers with
/// [`StoreResponse::Items`](crate::StoreResponse::Items): every item, across DynamoDB's pages
/// (a store follows `LastEvaluatedKey` itself).
#[derive(Clone, Debug, PartialEq, Eq)]
#[expect(
    clippy::exhaustive_structs,
    reason = "store protocol: a store reads every field, so a new one is a breaking change on purpose"
)]
pub struct QueryRequest {
    /// Table name (shared: a planner's requests point to one copy).
    pub table_name: Arc<str>,
    /// The partition key attribute's name.
    pub partition_attribute: String,
    /// The partition key value (`S`).
    pub partition_value: String,
    /// The sort key attribute's name and the prefix its value must begin with, if any.
    pub sort_prefix: Option<(String, String)>,
    /// Strongly consistent read (`ConsistentRead = true`).
    pub consistent_read: bool,
}

impl QueryRequest {
    /// The query's `KeyConditionExpression` with its placeholder maps (`condition` holds the
    /// expression): `#pk = :pk`, and `AND begins_with(#sk, :prefix)` with a prefix.
    #[must_use]
    pub fn render(&self) -> Rendered {
        let mut rendered = Rendered {
            condition: Some("#pk = :pk".to_owned()),
            update: None,
            names: std::collections::BTreeMap::from([(
                "#pk".to_owned(),
                self.partition_attribute.clone(),
            )]),
            values: std::collections::BTreeMap::from([(
                ":pk".to_owned(),
                crate::AttributeValue::string(self.partition_value.as_str()),
            )]),
        };
        if let Some((attribute, prefix)) = &self.sort_prefix {
            rendered.condition = Some("#pk = :pk AND begins_with(#sk, :prefix)".to_owned());
            rendered.names.insert("#sk".to_owned(), attribute.clone());
            rendered.values.insert(
                ":prefix".to_owned(),
                crate::AttributeValue::string(prefix.as_str()),
            );
        }
        rendered
    }
}
