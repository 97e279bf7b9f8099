//! The narrow seam over the DynamoDB calls of this crate: the five a lease store makes, and the
//! `Scan` of [`list_leases`](crate::dynamodb::list_leases).

use std::future::Future;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::delete_item::{
    DeleteItemError, DeleteItemInput, DeleteItemOutput,
};
use aws_sdk_dynamodb::operation::get_item::{GetItemError, GetItemInput, GetItemOutput};
use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemInput, PutItemOutput};
use aws_sdk_dynamodb::operation::query::{QueryError, QueryInput, QueryOutput};
use aws_sdk_dynamodb::operation::scan::{ScanError, ScanInput, ScanOutput};
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsError, TransactWriteItemsInput, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::operation::update_item::{
    UpdateItemError, UpdateItemInput, UpdateItemOutput,
};
use lease::{store::StoreError, store::StoreErrorKind};

/// The DynamoDB operations that [`DynamoDbStore`](crate::DynamoDbStore) uses (four item
/// operations, `TransactWriteItems` and `Query`), and the `Scan` of
/// [`list_leases`](crate::dynamodb::list_leases), in the SDK's own input, output and error
/// types.
///
/// [`aws_sdk_dynamodb::Client`] implements it by sending each input unchanged. Other
/// implementations wrap a client (to add metrics, or inject faults) or replace it in tests; the
/// crate's unit tests use a `mockall` mock of this trait.
#[cfg_attr(test, mockall::automock)]
pub trait DynamoDbApi: Send + Sync {
    /// Sends a `PutItem`.
    ///
    /// # Errors
    /// The SDK's error, unchanged (a failed condition is a `ConditionalCheckFailedException`).
    fn put_item(
        &self,
        input: PutItemInput,
    ) -> impl Future<Output = Result<PutItemOutput, SdkError<PutItemError, HttpResponse>>> + Send;

    /// Sends an `UpdateItem`.
    ///
    /// # Errors
    /// The SDK's error, unchanged.
    fn update_item(
        &self,
        input: UpdateItemInput,
    ) -> impl Future<Output = Result<UpdateItemOutput, SdkError<UpdateItemError, HttpResponse>>> + Send;

    /// Sends a `DeleteItem`.
    ///
    /// # Errors
    /// The SDK's error, unchanged.
    fn delete_item(
        &self,
        input: DeleteItemInput,
    ) -> impl Future<Output = Result<DeleteItemOutput, SdkError<DeleteItemError, HttpResponse>>> + Send;

    /// Sends a `GetItem`.
    ///
    /// # Errors
    /// The SDK's error, unchanged.
    fn get_item(
        &self,
        input: GetItemInput,
    ) -> impl Future<Output = Result<GetItemOutput, SdkError<GetItemError, HttpResponse>>> + Send;

    /// Sends a `TransactWriteItems`.
    ///
    /// # Errors
    /// The SDK's error, unchanged (a cancelled transaction is a
    /// `TransactionCanceledException` with its cancellation reasons).
    fn transact_write_items(
        &self,
        input: TransactWriteItemsInput,
    ) -> impl Future<
        Output = Result<TransactWriteItemsOutput, SdkError<TransactWriteItemsError, HttpResponse>>,
    > + Send;

    /// Sends a `Query` (one page: the store sends one per page of a semaphore's permit slots,
    /// each from the last page's `LastEvaluatedKey`).
    ///
    /// # Errors
    /// The SDK's error, unchanged.
    fn query(
        &self,
        input: QueryInput,
    ) -> impl Future<Output = Result<QueryOutput, SdkError<QueryError, HttpResponse>>> + Send;

    /// Sends a `Scan` (one page: [`list_leases`](crate::dynamodb::list_leases) sends one per
    /// page, each from the last page's `LastEvaluatedKey`).
    ///
    /// # Errors
    /// The SDK's error, unchanged.
    fn scan(
        &self,
        input: ScanInput,
    ) -> impl Future<Output = Result<ScanOutput, SdkError<ScanError, HttpResponse>>> + Send;

    /// Turns off the client's own retries, so that each call is one attempt: a
    /// [`DynamoDbStore`](crate::DynamoDbStore) calls it once, when it is made, and the lease
    /// manager's [`RetryPolicy`](crate::config::RetryPolicy) resends instead. Retries inside the
    /// client would hide an attempt that may have been applied (its answer lost) behind a later
    /// one that certainly was not (throttled), and the store would report the request as not
    /// applied. The default does nothing (a client without retries of its own).
    fn disable_retries(&mut self) {}

    /// Why no request of this client can be sent, if that is known before sending (checked
    /// once, when a [`DynamoDbStore`](crate::DynamoDbStore) is made, and by the table
    /// functions): for an [`aws_sdk_dynamodb::Client`], a missing region. The default is
    /// `None` (nothing known); a wrapper around a client should forward its client's answer.
    fn misconfiguration(&self) -> Option<&'static str> {
        None
    }
}

/// Sends every field of each input through the fluent builder's `set_*` methods, so the call
/// is exactly the input given (retries, timeouts and credentials are the client's own).
impl DynamoDbApi for Client {
    fn put_item(
        &self,
        input: PutItemInput,
    ) -> impl Future<Output = Result<PutItemOutput, SdkError<PutItemError, HttpResponse>>> + Send
    {
        Client::put_item(self)
            .set_table_name(input.table_name)
            .set_item(input.item)
            .set_expected(input.expected)
            .set_return_values(input.return_values)
            .set_return_consumed_capacity(input.return_consumed_capacity)
            .set_return_item_collection_metrics(input.return_item_collection_metrics)
            .set_conditional_operator(input.conditional_operator)
            .set_condition_expression(input.condition_expression)
            .set_expression_attribute_names(input.expression_attribute_names)
            .set_expression_attribute_values(input.expression_attribute_values)
            .set_return_values_on_condition_check_failure(
                input.return_values_on_condition_check_failure,
            )
            .send()
    }

    fn update_item(
        &self,
        input: UpdateItemInput,
    ) -> impl Future<Output = Result<UpdateItemOutput, SdkError<UpdateItemError, HttpResponse>>> + Send
    {
        Client::update_item(self)
            .set_table_name(input.table_name)
            .set_key(input.key)
            .set_attribute_updates(input.attribute_updates)
            .set_expected(input.expected)
            .set_conditional_operator(input.conditional_operator)
            .set_return_values(input.return_values)
            .set_return_consumed_capacity(input.return_consumed_capacity)
            .set_return_item_collection_metrics(input.return_item_collection_metrics)
            .set_update_expression(input.update_expression)
            .set_condition_expression(input.condition_expression)
            .set_expression_attribute_names(input.expression_attribute_names)
            .set_expression_attribute_values(input.expression_attribute_values)
            .set_return_values_on_condition_check_failure(
                input.return_values_on_condition_check_failure,
            )
            .send()
    }

    fn delete_item(
        &self,
        input: DeleteItemInput,
    ) -> impl Future<Output = Result<DeleteItemOutput, SdkError<DeleteItemError, HttpResponse>>> + Send
    {
        Client::delete_item(self)
            .set_table_name(input.table_name)
            .set_key(input.key)
            .set_expected(input.expected)
            .set_conditional_operator(input.conditional_operator)
            .set_return_values(input.return_values)
            .set_return_consumed_capacity(input.return_consumed_capacity)
            .set_return_item_collection_metrics(input.return_item_collection_metrics)
            .set_condition_expression(input.condition_expression)
            .set_expression_attribute_names(input.expression_attribute_names)
            .set_expression_attribute_values(input.expression_attribute_values)
            .set_return_values_on_condition_check_failure(
                input.return_values_on_condition_check_failure,
            )
            .send()
    }

    fn get_item(
        &self,
        input: GetItemInput,
    ) -> impl Future<Output = Result<GetItemOutput, SdkError<GetItemError, HttpResponse>>> + Send
    {
        Client::get_item(self)
            .set_table_name(input.table_name)
            .set_key(input.key)
            .set_attributes_to_get(input.attributes_to_get)
            .set_consistent_read(input.consistent_read)
            .set_return_consumed_capacity(input.return_consumed_capacity)
            .set_projection_expression(input.projection_expression)
            .set_expression_attribute_names(input.expression_attribute_names)
            .send()
    }

    fn transact_write_items(
        &self,
        input: TransactWriteItemsInput,
    ) -> impl Future<
        Output = Result<TransactWriteItemsOutput, SdkError<TransactWriteItemsError, HttpResponse>>,
    > + Send {
        Client::transact_write_items(self)
            .set_transact_items(input.transact_items)
            .set_return_consumed_capacity(input.return_consumed_capacity)
            .set_return_item_collection_metrics(input.return_item_collection_metrics)
            .set_client_request_token(input.client_request_token)
            .send()
    }

    fn scan(
        &self,
        input: ScanInput,
    ) -> impl Future<Output = Result<ScanOutput, SdkError<ScanError, HttpResponse>>> + Send {
        Client::scan(self)
            .set_table_name(input.table_name)
            .set_index_name(input.index_name)
            .set_attributes_to_get(input.attributes_to_get)
            .set_limit(input.limit)
            .set_select(input.select)
            .set_scan_filter(input.scan_filter)
            .set_conditional_operator(input.conditional_operator)
            .set_exclusive_start_key(input.exclusive_start_key)
            .set_return_consumed_capacity(input.return_consumed_capacity)
            .set_total_segments(input.total_segments)
            .set_segment(input.segment)
            .set_projection_expression(input.projection_expression)
            .set_filter_expression(input.filter_expression)
            .set_expression_attribute_names(input.expression_attribute_names)
            .set_expression_attribute_values(input.expression_attribute_values)
            .set_consistent_read(input.consistent_read)
            .send()
    }

    fn query(
        &self,
        input: QueryInput,
    ) -> impl Future<Output = Result<QueryOutput, SdkError<QueryError, HttpResponse>>> + Send {
        Client::query(self)
            .set_table_name(input.table_name)
            .set_index_name(input.index_name)
            .set_select(input.select)
            .set_attributes_to_get(input.attributes_to_get)
            .set_limit(input.limit)
            .set_consistent_read(input.consistent_read)
            .set_key_conditions(input.key_conditions)
            .set_query_filter(input.query_filter)
            .set_conditional_operator(input.conditional_operator)
            .set_scan_index_forward(input.scan_index_forward)
            .set_exclusive_start_key(input.exclusive_start_key)
            .set_return_consumed_capacity(input.return_consumed_capacity)
            .set_projection_expression(input.projection_expression)
            .set_filter_expression(input.filter_expression)
            .set_key_condition_expression(input.key_condition_expression)
            .set_expression_attribute_names(input.expression_attribute_names)
            .set_expression_attribute_values(input.expression_attribute_values)
            .send()
    }

    /// Rebuilds the client from its own configuration with `RetryConfig::disabled()` (same
    /// HTTP client, credentials, region, timeouts).
    fn disable_retries(&mut self) {
        let config = self
            .config()
            .to_builder()
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
            .build();
        *self = Client::from_conf(config);
    }

    /// A client without a region cannot sign any request (the SDK fails each one with
    /// "missing signing region", indistinguishable from a network failure by its type).
    fn misconfiguration(&self) -> Option<&'static str> {
        self.config().region().is_none().then_some(
            "the AWS SDK client has no region, so no request can be signed: set AWS_REGION or \
             the profile's region, or give the client's config a region",
        )
    }
}

/// [`StoreErrorKind::Misconfigured`] if `api` can send no request at all
/// ([`DynamoDbApi::misconfiguration`]).
///
/// # Errors
/// The misconfiguration, as a [`StoreError`].
pub(crate) fn ensure_configured(api: &impl DynamoDbApi) -> Result<(), StoreError> {
    api.misconfiguration()
        .map_or(Ok(()), |problem| Err(misconfigured(problem)))
}

/// The error for a client that can send nothing, because of `problem`.
pub(crate) fn misconfigured(problem: &'static str) -> StoreError {
    StoreError::new(StoreErrorKind::Misconfigured, problem)
}
