//! `TransactWriteItems`: every item checked, then every write applied, under the store's one
//! lock, so the transaction is atomic across items and tables.
//!
//! As in DynamoDB:
//! - the request is rejected as a whole ([`StoreErrorKind::Validation`](lease_core::StoreErrorKind),
//!   nothing written) for no items or more than [`MAX_TRANSACT_ITEMS`], two items on the same
//!   item (same table and key, a condition check included), a key that does not match its
//!   table's schema, or an expression DynamoDB rejects up front; an unknown table is
//!   `ResourceNotFound`;
//! - otherwise each item's condition is evaluated against the items as they were before the
//!   transaction. If any condition fails, or an update cannot be computed (`+` on a
//!   non-number), nothing is written and the answer is
//!   [`StoreResponse::TransactionCanceled`] with one reason per item, in order: `None` for the
//!   items that passed, `ConditionalCheckFailed` (with the old item when the item asked for
//!   it) for failed conditions, `ValidationError` for updates that could not be computed;
//! - otherwise every write is applied and the answer is `Applied` with no attributes (an
//!   update's `return_values` is ignored).
//!
//! Not modelled: `TransactionConflict` (there are no concurrent transactions under one lock),
//! idempotency tokens, size limits.

use lease_core::expr::{Condition, UpdateAction};
use lease_core::{
    CancellationReason, MAX_TRANSACT_ITEMS, OnConditionFailure, TransactItem, TransactRequest,
};
use lease_core::{Item, StoreError, StoreResponse};

use crate::memory_error::{invalid_key, validation};
use crate::memory_store::{Tables, holds, request_table, stored_item};
use crate::memory_table::OwnedKey;
use crate::{eval, update};

/// What one item does once its condition holds.
enum Op<'r> {
    /// Nothing (a condition check).
    Check,
    /// Store this item (already validated and normalized).
    Put(Item),
    /// Apply these actions; `key` makes the item if there is none.
    Update {
        key: &'r Item,
        actions: &'r [UpdateAction],
    },
    /// Delete the item.
    Delete,
}

/// One item, checked against its table's schema.
struct Prepared<'r> {
    table: &'r str,
    key: OwnedKey,
    condition: Option<&'r Condition>,
    on_failure: OnConditionFailure,
    op: Op<'r>,
}

/// Executes `request` on `tables`, which the caller holds locked for the whole call.
///
/// # Errors
/// A `Validation` [`StoreError`] for a request DynamoDB rejects as a whole; `ResourceNotFound`
/// for an unknown table.
pub(crate) fn execute(
    tables: &mut Tables,
    request: &TransactRequest,
) -> Result<StoreResponse, StoreError> {
    let count = request.items.len();
    if count == 0 || count > MAX_TRANSACT_ITEMS {
        return Err(validation(format!(
            "1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length between 1 and {MAX_TRANSACT_ITEMS} (it has {count})"
        )));
    }
    let mut prepared: Vec<Prepared<'_>> = Vec::with_capacity(count);
    for item in &request.items {
        let next = prepare(tables, item)?;
        if prepared
            .iter()
            .any(|p| p.table == next.table && p.key == next.key)
        {
            return Err(validation(
                "Transaction request cannot include multiple operations on one item",
            ));
        }
        prepared.push(next);
    }

    // Evaluate everything against the items as they are, before any write.
    let mut reasons = Vec::with_capacity(count);
    let mut changes = Vec::with_capacity(count);
    for p in &prepared {
        let current = tables
            .get(p.table)
            .and_then(|table| table.get(p.key.borrowed()));
        if !holds(p.condition, current) {
            let old_item = match p.on_failure {
                OnConditionFailure::ReturnOldItem => current.cloned(),
                OnConditionFailure::ReturnNothing => None,
            };
            reasons.push(CancellationReason::ConditionalCheckFailed { old_item });
            changes.push(None);
            continue;
        }
        match &p.op {
            Op::Update { key, actions } => {
                match update::evaluate(actions, current.unwrap_or(key)) {
                    Ok(computed) => {
                        reasons.push(CancellationReason::None);
                        changes.push(Some(computed));
                    }
                    Err(e) => {
                        reasons.push(CancellationReason::Other {
                            code: "ValidationError".into(),
                            message: Some(e.message().to_owned()),
                        });
                        changes.push(None);
                    }
                }
            }
            _ => {
                reasons.push(CancellationReason::None);
                changes.push(None);
            }
        }
    }
    if reasons.iter().any(|r| *r != CancellationReason::None) {
        return Ok(StoreResponse::TransactionCanceled { reasons });
    }

    for (p, computed) in prepared.into_iter().zip(changes) {
        let table = request_table(tables, p.table)?;
        match p.op {
            Op::Check => {}
            Op::Put(item) => table.insert(p.key, item),
            Op::Update { key, .. } => {
                let computed = computed.unwrap_or_default();
                match table.get_mut(p.key.borrowed()) {
                    Some(current) => update::apply(computed, current),
                    None => {
                        let mut item = key.clone();
                        update::apply(computed, &mut item);
                        table.insert(p.key, item);
                    }
                }
            }
            Op::Delete => {
                table.remove(p.key.borrowed());
            }
        }
    }
    Ok(StoreResponse::Applied { attributes: None })
}

/// Checks one item against its table: the table exists, the key fits the schema, the
/// expressions are ones DynamoDB accepts.
fn prepare<'r>(tables: &mut Tables, item: &'r TransactItem) -> Result<Prepared<'r>, StoreError> {
    if let Some(condition) = item.condition() {
        eval::check(condition)?;
    }
    let table_name = item.table_name();
    let table = request_table(tables, table_name)?;
    let schema = table.schema();
    let exact_key = |key: &Item| {
        schema
            .exact_key(key)
            .map(|k| k.to_owned_key())
            .map_err(|e| invalid_key(&e))
    };
    let (key, op) = match item {
        TransactItem::ConditionCheck(r) => (exact_key(&r.key)?, Op::Check),
        TransactItem::Put(r) => {
            let stored = stored_item(&r.item)?;
            let key = schema
                .key_of_item(&stored)
                .map_err(|e| invalid_key(&e))?
                .to_owned_key();
            (key, Op::Put(stored))
        }
        TransactItem::Update(r) => {
            update::check(&r.update, schema)?;
            let op = Op::Update {
                key: &r.key,
                actions: &r.update,
            };
            (exact_key(&r.key)?, op)
        }
        TransactItem::Delete(r) => (exact_key(&r.key)?, Op::Delete),
        _ => {
            return Err(validation(
                "lease-memory does not support this kind of transaction item",
            ));
        }
    };
    Ok(Prepared {
        table: table_name,
        key,
        condition: item.condition(),
        on_failure: item.on_condition_failure(),
        op,
    })
}
