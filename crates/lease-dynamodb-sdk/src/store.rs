//! [`DynamoDbStore`]: executes lease requests with aws-sdk-dynamodb.

use aws_sdk_dynamodb::Client;
use lease::{Request, Store, StoreError, StoreResponse};

use crate::api::DynamoDbApi;
use crate::classify::classify;
use crate::convert::{Input, SdkItem, optional_item_from_sdk, request_to_input};

/// A [`Store`] on DynamoDB: each lease [`Request`] becomes one SDK call (`PutItem`,
/// `UpdateItem`, `DeleteItem`, `GetItem` or `TransactWriteItems`) on the wrapped [`DynamoDbApi`], by default an
/// [`aws_sdk_dynamodb::Client`].
///
/// The store converts and classifies only; what a lease means lives in `lease-core`. A failed
/// condition is [`StoreResponse::ConditionFailed`] (with the old item when DynamoDB returns it);
/// every other failure is a [`StoreError`] classified by
/// [`StoreErrorKind`](lease::StoreErrorKind).
///
/// Retries, timeouts, region and credentials are the client's: configure them on the client.
/// Cloning is cheap when the client's is (an SDK client is an `Arc` inside).
#[derive(Clone, Debug)]
pub struct DynamoDbStore<C = Client> {
    api: C,
}

impl<C> DynamoDbStore<C> {
    /// A store that sends its requests through `api` (usually an [`aws_sdk_dynamodb::Client`]).
    pub fn new(api: C) -> Self {
        Self { api }
    }

    /// The wrapped client.
    pub fn api(&self) -> &C {
        &self.api
    }
}

impl<C: DynamoDbApi> Store for DynamoDbStore<C> {
    async fn execute(&self, request: &Request) -> Result<StoreResponse, StoreError> {
        match request_to_input(request)? {
            Input::Put(input) => match self.api.put_item(input).await {
                Ok(out) => applied(out.attributes),
                Err(e) => classify(e),
            },
            Input::Update(input) => match self.api.update_item(input).await {
                Ok(out) => applied(out.attributes),
                Err(e) => classify(e),
            },
            Input::Delete(input) => match self.api.delete_item(input).await {
                Ok(out) => applied(out.attributes),
                Err(e) => classify(e),
            },
            Input::Get(input) => match self.api.get_item(input).await {
                Ok(out) => Ok(StoreResponse::Item(optional_item_from_sdk(out.item)?)),
                Err(e) => classify(e),
            },
            Input::Transact(input) => match self.api.transact_write_items(input).await {
                Ok(_) => Ok(StoreResponse::Applied { attributes: None }),
                Err(e) => classify(e),
            },
        }
    }
}

/// A successful write, with the attributes DynamoDB returned (if any).
fn applied(attributes: Option<SdkItem>) -> Result<StoreResponse, StoreError> {
    Ok(StoreResponse::Applied {
        attributes: optional_item_from_sdk(attributes)?,
    })
}

#[cfg(test)]
mod tests;
