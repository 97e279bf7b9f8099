//! Transactions: lease-core's [`TransactItem`]s as SDK `TransactWriteItem`s, and DynamoDB's
//! cancellation reasons back as [`CancellationReason`]s.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_sdk_dynamodb::types::{
    CancellationReason as SdkCancellationReason, ConditionCheck, Delete, Put, TransactWriteItem,
    Update,
};
use lease::{
    error::CancellationReason, store::Rendered, transaction::ConditionCheckRequest,
    transaction::TransactItem, transaction::TransactRequest,
};
use lease::{store::StoreError, store::StoreErrorKind};

use crate::convert::{self, expression_maps, map_to_sdk, not_built, on_failure};
use crate::redact::Secrets;

/// The SDK transaction item for a lease guard: a `ConditionCheck` on the lease item with its
/// own condition expression (`#tok = :tok AND #exp > :now`) and placeholder maps. Add it to
/// your own `TransactWriteItems` so that it commits only while the lease is held; get the
/// check from [`LeaseManager::lease_check`](crate::LeaseManager::lease_check) or
/// [`Planner::lease_check`](crate::store::Planner::lease_check).
///
/// If DynamoDB cancels the transaction with `ConditionalCheckFailed` in the cancellation
/// reason at this item's position, the lease was not held: treat it as
/// [`LeaseError::NotOwned`](crate::LeaseError::NotOwned).
///
/// # Errors
/// [`StoreErrorKind::Validation`] if the check holds a value the SDK cannot express, or the
/// SDK rejects it (an empty key or table name). Checks made by the planner always convert.
pub fn lease_check_transact_item(
    check: &ConditionCheckRequest,
) -> Result<TransactWriteItem, StoreError> {
    transact_item(&TransactItem::ConditionCheck(check.clone()))
}

/// The SDK transaction item for any [`TransactItem`] (a condition check, or a put, update or
/// delete as lease-core describes them), with its own expression strings and placeholder maps
/// ([`TransactItem::render`]). `OnConditionFailure::ReturnOldItem` becomes
/// `ReturnValuesOnConditionCheckFailure = ALL_OLD`; an update's `return_values` is dropped (a
/// transaction returns no attributes).
///
/// # Errors
/// [`StoreErrorKind::Validation`] if the item holds a value the SDK cannot express or the SDK
/// rejects it; [`StoreErrorKind::Unsupported`] for a kind of item this crate does not know.
pub fn transact_item(item: &TransactItem) -> Result<TransactWriteItem, StoreError> {
    let Rendered {
        condition,
        update,
        names,
        values,
    } = item.render();
    let (names, values) = expression_maps(names, values)?;
    let on_failure = on_failure(item.on_condition_failure());
    let built = TransactWriteItem::builder();
    let built = match item {
        TransactItem::ConditionCheck(r) => built.condition_check(
            ConditionCheck::builder()
                .table_name(&*r.table_name)
                .set_key(Some(map_to_sdk(&r.key)?))
                .set_condition_expression(condition)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .set_return_values_on_condition_check_failure(on_failure)
                .build()
                .map_err(not_built)?,
        ),
        TransactItem::Put(r) => built.put(
            Put::builder()
                .table_name(&*r.table_name)
                .set_item(Some(map_to_sdk(&r.item)?))
                .set_condition_expression(condition)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .set_return_values_on_condition_check_failure(on_failure)
                .build()
                .map_err(not_built)?,
        ),
        TransactItem::Update(r) => built.update(
            Update::builder()
                .table_name(&*r.table_name)
                .set_key(Some(map_to_sdk(&r.key)?))
                .set_update_expression(update)
                .set_condition_expression(condition)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .set_return_values_on_condition_check_failure(on_failure)
                .build()
                .map_err(not_built)?,
        ),
        TransactItem::Delete(r) => built.delete(
            Delete::builder()
                .table_name(&*r.table_name)
                .set_key(Some(map_to_sdk(&r.key)?))
                .set_condition_expression(condition)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .set_return_values_on_condition_check_failure(on_failure)
                .build()
                .map_err(not_built)?,
        ),
        _ => {
            return Err(StoreError::new(
                StoreErrorKind::Unsupported,
                "a transaction item kind this version of lease-dynamodb-sdk does not support (not sent)",
            ));
        }
    };
    Ok(built.build())
}

/// The `TransactWriteItems` input for `request`: its items in order. The request's
/// idempotency token (`ClientRequestToken`) is left to the SDK, which makes one per call and
/// reuses it for its own retries.
///
/// # Errors
/// As [`transact_item`], naming the item's position.
pub(crate) fn transact_input(
    request: &TransactRequest,
) -> Result<TransactWriteItemsInput, StoreError> {
    let items = request
        .items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            transact_item(item).map_err(|e| {
                StoreError::new(
                    e.kind(),
                    format!("transaction item {index}: {}", e.message()),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    TransactWriteItemsInput::builder()
        .set_transact_items(Some(items))
        .build()
        .map_err(not_built)
}

/// DynamoDB's cancellation reasons as lease-core's, in order: code `None` is
/// [`CancellationReason::None`], `ConditionalCheckFailed` is
/// [`CancellationReason::ConditionalCheckFailed`] (with the old item when DynamoDB returned
/// one this SDK version can read), any other code (`TransactionConflict` included) is
/// [`CancellationReason::Other`]; a reason without a code is `Other` with an empty code.
pub(crate) fn reasons_from_sdk(
    reasons: &[SdkCancellationReason],
    secrets: &Secrets,
) -> Vec<CancellationReason> {
    reasons
        .iter()
        .map(|reason| match reason.code() {
            Some("None") => CancellationReason::None,
            Some("ConditionalCheckFailed") => {
                let old_item = match convert::optional_item_from_sdk(reason.item().cloned()) {
                    Ok(item) => item,
                    Err(e) => {
                        tracing::warn!(error = %e, "old item of a failed transaction condition is unreadable; reporting it without the item");
                        None
                    }
                };
                CancellationReason::ConditionalCheckFailed { old_item }
            }
            code => CancellationReason::Other {
                code: secrets.hide(code.unwrap_or_default()).into_owned(),
                message: reason
                    .message()
                    .map(|message| secrets.hide(message).into_owned()),
            },
        })
        .collect()
}
