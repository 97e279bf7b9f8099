//! Conversions between lease-core data and the SDK's: attribute values and items in both
//! directions, and [`Request`]s into SDK operation inputs.
//!
//! Nothing here panics: a value the other side cannot represent (an SDK `Unknown` variant from
//! a newer service, a core variant this crate does not know) is a classified [`StoreError`].

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::operation::delete_item::DeleteItemInput;
use aws_sdk_dynamodb::operation::get_item::GetItemInput;
use aws_sdk_dynamodb::operation::put_item::PutItemInput;
use aws_sdk_dynamodb::operation::query::QueryInput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_sdk_dynamodb::operation::update_item::UpdateItemInput;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeValue as SdkValue, ReturnValue, ReturnValuesOnConditionCheckFailure,
};
use lease::{
    store::AttributeValue, store::Item, store::Request, store::StoreError, store::StoreErrorKind,
    store::Text,
};
use lease::{
    store::Expressions, store::OnConditionFailure, store::RenderCache, store::Rendered,
    store::ReturnValues,
};

use crate::transact::transact_input;

/// An item in the SDK's representation.
pub(crate) type SdkItem = HashMap<String, SdkValue>;

/// One SDK operation input, ready to send: what a [`Request`] becomes.
#[derive(Debug)]
pub(crate) enum Input {
    /// `PutItem`.
    Put(PutItemInput),
    /// `UpdateItem`.
    Update(UpdateItemInput),
    /// `DeleteItem`.
    Delete(DeleteItemInput),
    /// `GetItem`.
    Get(GetItemInput),
    /// `TransactWriteItems`.
    Transact(TransactWriteItemsInput),
    /// `Query` (its first page).
    Query(QueryInput),
}

/// The SDK input for `request`, with its expressions rendered by `templates` (as
/// [`Request::render`] renders them; each request shape once).
///
/// Empty `ExpressionAttributeNames`/`ExpressionAttributeValues` are left unset (DynamoDB rejects
/// empty maps); `OnConditionFailure::ReturnOldItem` becomes
/// `ReturnValuesOnConditionCheckFailure = ALL_OLD`.
///
/// A transaction becomes a `TransactWriteItems` input, each item with its own expressions
/// (`crate::transact`).
///
/// # Errors
/// [`StoreErrorKind::Validation`] (nothing was sent) if the request holds a value this crate
/// cannot express in the SDK, or the SDK rejects the input; [`StoreErrorKind::Unsupported`]
/// for a kind of request this crate does not know.
pub(crate) fn request_to_input(
    request: &Request,
    templates: &RenderCache,
) -> Result<Input, StoreError> {
    if let Request::Transact(transact) = request {
        return transact_input(transact).map(Input::Transact);
    }
    if let Request::Query(query) = request {
        let Rendered {
            condition,
            names,
            values,
            ..
        } = query.render();
        let (names, values) = expression_maps(names, values)?;
        return QueryInput::builder()
            .table_name(&*query.table_name)
            .set_key_condition_expression(condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .consistent_read(query.consistent_read)
            .build()
            .map(Input::Query)
            .map_err(not_built);
    }
    let Expressions {
        condition,
        update,
        names,
        values,
    } = templates.render(request);
    let condition = condition.map(Cow::into_owned);
    let update = update.map(Cow::into_owned);
    let names = (!names.is_empty()).then(|| match names {
        Cow::Borrowed(names) => names.iter().cloned().collect::<SdkNames>(),
        Cow::Owned(names) => names.into_iter().collect::<SdkNames>(),
    });
    let values = if values.is_empty() {
        None
    } else {
        Some(
            values
                .into_iter()
                .map(|(placeholder, value)| {
                    let converted = match value {
                        Cow::Borrowed(value) => value_to_sdk(value),
                        Cow::Owned(value) => value_into_sdk(value),
                    };
                    match converted {
                        Ok(v) => Ok((placeholder.into_owned(), v)),
                        Err(e) => Err(in_attribute(&placeholder, e)),
                    }
                })
                .collect::<Result<SdkItem, StoreError>>()?,
        )
    };
    let input = match request {
        Request::Put(put) => Input::Put(
            PutItemInput::builder()
                .table_name(&*put.table_name)
                .set_item(Some(map_to_sdk(&put.item)?))
                .set_condition_expression(condition)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .set_return_values_on_condition_check_failure(on_failure(put.on_condition_failure))
                .build()
                .map_err(not_built)?,
        ),
        Request::Update(up) => Input::Update(
            UpdateItemInput::builder()
                .table_name(&*up.table_name)
                .set_key(Some(map_to_sdk(&up.key)?))
                .set_update_expression(update)
                .set_condition_expression(condition)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .set_return_values(return_values(up.return_values))
                .set_return_values_on_condition_check_failure(on_failure(up.on_condition_failure))
                .build()
                .map_err(not_built)?,
        ),
        Request::Delete(del) => Input::Delete(
            DeleteItemInput::builder()
                .table_name(&*del.table_name)
                .set_key(Some(map_to_sdk(&del.key)?))
                .set_condition_expression(condition)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .set_return_values_on_condition_check_failure(on_failure(del.on_condition_failure))
                .build()
                .map_err(not_built)?,
        ),
        Request::Get(get) => Input::Get(
            GetItemInput::builder()
                .table_name(&*get.table_name)
                .set_key(Some(map_to_sdk(&get.key)?))
                .consistent_read(get.consistent_read)
                .build()
                .map_err(not_built)?,
        ),
        _ => {
            return Err(StoreError::new(
                StoreErrorKind::Unsupported,
                "a request kind this version of lease-dynamodb-sdk does not support (not sent)",
            ));
        }
    };
    Ok(input)
}

/// `ExpressionAttributeNames` in the SDK's representation.
pub(crate) type SdkNames = HashMap<String, String>;

/// `ExpressionAttributeNames` and `ExpressionAttributeValues` in the SDK's representation, each
/// `None` when empty (DynamoDB rejects empty maps).
///
/// # Errors
/// [`StoreErrorKind::Validation`] if a value cannot be expressed in the SDK.
pub(crate) fn expression_maps(
    names: BTreeMap<String, String>,
    values: BTreeMap<String, AttributeValue>,
) -> Result<(Option<SdkNames>, Option<SdkItem>), StoreError> {
    let names = (!names.is_empty()).then(|| names.into_iter().collect::<SdkNames>());
    let values = if values.is_empty() {
        None
    } else {
        Some(map_into_sdk(values)?)
    };
    Ok((names, values))
}

/// `ReturnValuesOnConditionCheckFailure`: `ALL_OLD`, or unset (DynamoDB's default `NONE`).
pub(crate) fn on_failure(
    on_failure: OnConditionFailure,
) -> Option<ReturnValuesOnConditionCheckFailure> {
    match on_failure {
        OnConditionFailure::ReturnOldItem => Some(ReturnValuesOnConditionCheckFailure::AllOld),
        OnConditionFailure::ReturnNothing => None,
    }
}

/// `ReturnValues` of an update.
fn return_values(values: ReturnValues) -> Option<ReturnValue> {
    Some(match values {
        ReturnValues::None => ReturnValue::None,
        ReturnValues::AllNew => ReturnValue::AllNew,
        ReturnValues::UpdatedNew => ReturnValue::UpdatedNew,
        ReturnValues::AllOld => ReturnValue::AllOld,
    })
}

pub(crate) fn not_built(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::new(
        StoreErrorKind::Validation,
        "the SDK rejected the request input (not sent)",
    )
    .with_source(e)
}

/// A core item (or any name-to-value map) in the SDK's representation.
///
/// # Errors
/// [`StoreErrorKind::Validation`] naming the attribute if a value cannot be expressed in the SDK.
pub(crate) fn map_to_sdk<K: AsRef<str>>(
    map: &BTreeMap<K, AttributeValue>,
) -> Result<SdkItem, StoreError> {
    map.iter()
        .map(|(name, value)| {
            let name = name.as_ref();
            value_to_sdk(value)
                .map(|v| (name.to_owned(), v))
                .map_err(|e| in_attribute(name, e))
        })
        .collect()
}

/// [`map_to_sdk`], taking the map: `String`s move into the SDK's values uncopied (a
/// [`Text`] is copied into a new `String`, the SDK's type).
///
/// # Errors
/// As [`map_to_sdk`].
pub(crate) fn map_into_sdk<K: AsRef<str> + Into<String>>(
    map: BTreeMap<K, AttributeValue>,
) -> Result<SdkItem, StoreError> {
    map.into_iter()
        .map(|(name, value)| match value_into_sdk(value) {
            Ok(v) => Ok((name.into(), v)),
            Err(e) => Err(in_attribute(name.as_ref(), e)),
        })
        .collect()
}

/// A core attribute value in the SDK's representation (a string or number is copied once,
/// into the SDK's `String`).
///
/// # Errors
/// [`StoreErrorKind::Validation`] for a core variant this crate does not know.
pub(crate) fn value_to_sdk(value: &AttributeValue) -> Result<SdkValue, StoreError> {
    match value {
        AttributeValue::S(s) => Ok(SdkValue::S(s.as_str().to_owned())),
        AttributeValue::N(n) => Ok(SdkValue::N(n.as_str().to_owned())),
        other => value_into_sdk(other.clone()),
    }
}

/// [`value_to_sdk`], taking the value: its bytes move into the SDK's value (strings are copied
/// from [`Text`] into the SDK's `String`).
///
/// # Errors
/// As [`value_to_sdk`].
pub(crate) fn value_into_sdk(value: AttributeValue) -> Result<SdkValue, StoreError> {
    Ok(match value {
        AttributeValue::S(s) => SdkValue::S(s.into()),
        AttributeValue::N(n) => SdkValue::N(n.into()),
        AttributeValue::B(b) => SdkValue::B(Blob::new(b)),
        AttributeValue::Bool(b) => SdkValue::Bool(b),
        AttributeValue::Null => SdkValue::Null(true),
        AttributeValue::Ss(v) => SdkValue::Ss(v.into_iter().map(String::from).collect()),
        AttributeValue::Ns(v) => SdkValue::Ns(v.into_iter().map(String::from).collect()),
        AttributeValue::Bs(v) => SdkValue::Bs(v.into_iter().map(Blob::new).collect()),
        AttributeValue::L(v) => SdkValue::L(
            v.into_iter()
                .map(value_into_sdk)
                .collect::<Result<_, _>>()?,
        ),
        AttributeValue::M(m) => SdkValue::M(map_into_sdk(m)?),
        other => {
            return Err(StoreError::new(
                StoreErrorKind::Validation,
                format!(
                    "attribute type {} is not supported by lease-dynamodb-sdk (not sent)",
                    other.type_name()
                ),
            ));
        }
    })
}

/// An SDK item (from `GetItem`, `Scan`, `Query`, ...) as a core item, every attribute with its
/// type, so that `lease-core` can decode it (for example with `HolderRecord::decode`) exactly as
/// it decodes the items the store reads itself.
///
/// # Errors
/// [`StoreErrorKind::Other`] naming the attribute if a value is of a type this SDK version does
/// not know (`Unknown`).
pub fn item_from_sdk(item: SdkItem) -> Result<Item, StoreError> {
    item.into_iter()
        .map(|(name, value)| match value_from_sdk(value) {
            Ok(v) => Ok((name.into(), v)),
            Err(e) => Err(in_attribute(&name, e)),
        })
        .collect()
}

/// An optional SDK item (a response's `Attributes` or `Item`) as a core item.
///
/// # Errors
/// As [`item_from_sdk`].
pub(crate) fn optional_item_from_sdk(item: Option<SdkItem>) -> Result<Option<Item>, StoreError> {
    item.map(item_from_sdk).transpose()
}

/// An SDK attribute value as a core value. `NULL` is `NULL` whatever its flag (DynamoDB only
/// sends `true`).
///
/// # Errors
/// [`StoreErrorKind::Other`] for the SDK's `Unknown` variant (a type added to DynamoDB after this
/// SDK version) or any variant this crate does not know.
pub(crate) fn value_from_sdk(value: SdkValue) -> Result<AttributeValue, StoreError> {
    Ok(match value {
        SdkValue::S(s) => AttributeValue::S(s.into()),
        SdkValue::N(n) => AttributeValue::N(n.into()),
        SdkValue::B(b) => AttributeValue::B(b.into_inner()),
        SdkValue::Bool(b) => AttributeValue::Bool(b),
        SdkValue::Null(_) => AttributeValue::Null,
        SdkValue::Ss(v) => AttributeValue::Ss(v.into_iter().map(Text::from).collect()),
        SdkValue::Ns(v) => AttributeValue::Ns(v.into_iter().map(Text::from).collect()),
        SdkValue::Bs(v) => AttributeValue::Bs(v.into_iter().map(Blob::into_inner).collect()),
        SdkValue::L(v) => AttributeValue::L(
            v.into_iter()
                .map(value_from_sdk)
                .collect::<Result<_, _>>()?,
        ),
        SdkValue::M(m) => AttributeValue::M(item_from_sdk(m)?),
        _ => {
            return Err(StoreError::new(
                StoreErrorKind::Other,
                "DynamoDB returned an attribute value of a type this SDK version does not know",
            ));
        }
    })
}

/// Prefixes an error's message with the attribute it is about.
fn in_attribute(name: &str, e: StoreError) -> StoreError {
    StoreError::new(e.kind(), format!("attribute {name:?}: {}", e.message()))
}

#[cfg(test)]
mod tests {
    use lease::{store::GetRequest, store::PutRequest};

    use super::*;

    fn every_variant() -> Item {
        let nested: Item = [
            ("s".into(), AttributeValue::string("x")),
            ("n".into(), AttributeValue::N("-1.5e3".into())),
        ]
        .into();
        [
            ("s", AttributeValue::string("héllo")),
            (
                "n",
                AttributeValue::N("12345678901234567890123456789012345678".into()),
            ),
            ("b", AttributeValue::B(vec![0, 1, 255])),
            ("bool_t", AttributeValue::Bool(true)),
            ("bool_f", AttributeValue::Bool(false)),
            ("null", AttributeValue::Null),
            ("ss", AttributeValue::Ss(vec!["a".into(), "b".into()])),
            ("ns", AttributeValue::Ns(vec!["1".into(), "2.5".into()])),
            ("bs", AttributeValue::Bs(vec![vec![1], vec![2, 3]])),
            (
                "l",
                AttributeValue::L(vec![
                    AttributeValue::number(7),
                    AttributeValue::L(vec![AttributeValue::Null]),
                    AttributeValue::M(nested.clone()),
                ]),
            ),
            ("m", AttributeValue::M(nested)),
            ("m_empty", AttributeValue::M(BTreeMap::new())),
            ("l_empty", AttributeValue::L(vec![])),
        ]
        .into_iter()
        .map(|(k, v)| (k.into(), v))
        .collect()
    }

    #[test]
    fn every_attribute_value_variant_round_trips() {
        let item = every_variant();
        let sdk = map_to_sdk(&item).unwrap();
        assert_eq!(sdk["s"], SdkValue::S("héllo".into()));
        assert_eq!(sdk["null"], SdkValue::Null(true));
        assert_eq!(sdk["b"], SdkValue::B(Blob::new(vec![0, 1, 255])));
        assert_eq!(
            sdk["bs"],
            SdkValue::Bs(vec![Blob::new(vec![1]), Blob::new(vec![2, 3])])
        );
        assert_eq!(item_from_sdk(sdk).unwrap(), item);
    }

    /// The inputs built from a warm cache (each request shape rendered once, its values filled
    /// in) are the inputs built from a full rendering, field for field.
    #[test]
    fn a_warm_cache_builds_the_inputs_a_full_rendering_builds() {
        use std::time::Duration;

        use lease::store::Planner;
        use lease::{Lease, LeaseConfig, LeaseKey, token::LeaseToken};

        let planner = Planner::new(LeaseConfig::builder("locks").build().unwrap());
        let warm = RenderCache::new();
        for second in 1000..1005 {
            let now = std::time::UNIX_EPOCH + Duration::from_secs(second);
            let token = format!("0b7e3c1a-0000-4000-8000-00000000{second:04}");
            let plan = planner
                .acquire(
                    format!("CACHE#{second}").as_str(),
                    Duration::from_secs(30),
                    now,
                    LeaseToken::new(token.clone()),
                )
                .unwrap();
            let lease = Lease::new(
                LeaseKey::new(format!("CACHE#{second}"), "LOCK"),
                LeaseToken::new(token),
                lease::FencingToken::new(7),
                now + Duration::from_secs(30),
            );
            let release = planner.release(&lease, now).unwrap();
            for request in [plan.request(), release.request()] {
                let (Input::Update(cached), Input::Update(full)) = (
                    request_to_input(request, &warm).unwrap(),
                    request_to_input(request, &RenderCache::new()).unwrap(),
                ) else {
                    panic!("not UpdateItem inputs");
                };
                assert_eq!(cached, full);
                let values = cached.expression_attribute_values().unwrap();
                assert!(
                    values
                        .values()
                        .any(|v| *v == SdkValue::N(second.to_string())
                            || matches!(v, SdkValue::S(s) if s.ends_with(&format!("{second:04}"))))
                );
            }
        }
        assert_eq!(warm.shapes(), 2);
    }

    #[test]
    fn sdk_null_false_reads_as_null() {
        assert_eq!(
            value_from_sdk(SdkValue::Null(false)).unwrap(),
            AttributeValue::Null
        );
    }

    #[test]
    fn get_is_consistent_and_leaves_expression_maps_unset() {
        let key: Item = [("pk".into(), AttributeValue::string("A"))].into();
        let request = Request::Get(GetRequest {
            table_name: "locks".into(),
            key,
            consistent_read: true,
        });
        let Input::Get(input) = request_to_input(&request, &RenderCache::new()).unwrap() else {
            panic!("not a GetItem input");
        };
        assert_eq!(input.table_name(), Some("locks"));
        assert_eq!(input.consistent_read(), Some(true));
        assert_eq!(input.expression_attribute_names(), None);
        assert_eq!(input.projection_expression(), None);
        assert_eq!(input.key().unwrap()["pk"], SdkValue::S("A".into()));
    }

    #[test]
    fn unconditional_put_sets_no_expression_and_no_return_on_failure() {
        let request = Request::Put(PutRequest::new("locks", every_variant()));
        let Input::Put(input) = request_to_input(&request, &RenderCache::new()).unwrap() else {
            panic!("not a PutItem input");
        };
        assert_eq!(input.condition_expression(), None);
        assert_eq!(input.expression_attribute_names(), None);
        assert_eq!(input.expression_attribute_values(), None);
        assert_eq!(input.return_values_on_condition_check_failure(), None);
        assert_eq!(
            item_from_sdk(input.item().unwrap().clone()).unwrap(),
            every_variant()
        );
    }
}
