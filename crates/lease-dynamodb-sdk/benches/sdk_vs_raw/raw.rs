//! The raw loop: what a hand-written lease sends with `aws-sdk-dynamodb` alone.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use crate::{BoxError, DURATION};

/// The default TTL buffer of `LeaseConfig` (TableTheory's), in seconds.
const TTL_BUFFER_SECS: u64 = 3600;

/// One acquire + release of `pk` with `token`, at the times `now` gives (since the epoch, read
/// once per request, as the manager does). Reads the fencing token from the acquire's answer,
/// as a hand-written lease would.
///
/// # Errors
/// Any SDK error (a failed condition included), or an answer without a fencing token.
pub(crate) async fn pair(
    client: &Client,
    table: &str,
    pk: &str,
    token: &str,
    now: impl Fn() -> Result<Duration, BoxError>,
) -> Result<(), BoxError> {
    let acquired = acquire(client, table, pk, token, now()?)
        .send()
        .await
        .map_err(|e| format!("raw acquire: {}", DisplayErrorContext(e)))?;
    let fence = acquired
        .attributes()
        .and_then(|item| item.get("lease_fence"))
        .and_then(|fence| fence.as_n().ok())
        .and_then(|fence| fence.parse::<u64>().ok());
    if fence.is_none() {
        return Err("raw acquire: no numeric lease_fence in the new item".into());
    }
    release(client, table, pk, token, now()?)
        .send()
        .await
        .map_err(|e| format!("raw release: {}", DisplayErrorContext(e)))?;
    Ok(())
}

/// docs/wire-format.md, "Acquire: UpdateItem", at `now` (since the epoch).
fn acquire(
    client: &Client,
    table: &str,
    pk: &str,
    token: &str,
    now: Duration,
) -> UpdateItemFluentBuilder {
    let expires = ceil_secs(now + DURATION);
    client
        .update_item()
        .table_name(table)
        .key("pk", s(pk))
        .key("sk", s("LOCK"))
        .update_expression(
            "SET #tok = :tok, #exp = :exp, #fence = if_not_exists(#fence, :floor) + :one, \
             #ttl = :ttl",
        )
        .condition_expression("attribute_not_exists(#pk) OR #exp <= :now OR #tok = :tok")
        .expression_attribute_names("#pk", "pk")
        .expression_attribute_names("#tok", "lease_token")
        .expression_attribute_names("#exp", "lease_expires_at")
        .expression_attribute_names("#fence", "lease_fence")
        .expression_attribute_names("#ttl", "ttl")
        .expression_attribute_values(":tok", s(token))
        .expression_attribute_values(":exp", n(expires))
        .expression_attribute_values(":floor", n(now.as_millis()))
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":ttl", n(expires + TTL_BUFFER_SECS))
        .expression_attribute_values(":now", n(now.as_secs()))
        .return_values(ReturnValue::UpdatedNew)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
}

/// docs/wire-format.md, "Release: UpdateItem", at `now` (since the epoch).
fn release(
    client: &Client,
    table: &str,
    pk: &str,
    token: &str,
    now: Duration,
) -> UpdateItemFluentBuilder {
    client
        .update_item()
        .table_name(table)
        .key("pk", s(pk))
        .key("sk", s("LOCK"))
        .update_expression("SET #exp = :released, #ttl = :ttl")
        .condition_expression("#tok = :tok")
        .expression_attribute_names("#exp", "lease_expires_at")
        .expression_attribute_names("#ttl", "ttl")
        .expression_attribute_names("#tok", "lease_token")
        .expression_attribute_values(":released", n(0))
        .expression_attribute_values(":ttl", n(now.as_secs() + TTL_BUFFER_SECS))
        .expression_attribute_values(":tok", s(token))
        .return_values(ReturnValue::None)
}

/// Whole seconds, rounded up.
fn ceil_secs(t: Duration) -> u64 {
    t.as_secs() + u64::from(t.subsec_nanos() > 0)
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}
