//! [`DynamoDbStore`]: executes lease requests with aws-sdk-dynamodb.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::query::QueryInput;
use lease::{
    store::RenderCache, store::Request, store::Store, store::StoreError, store::StoreErrorKind,
    store::StoreResponse,
};

use crate::api::{DynamoDbApi, misconfigured};
use crate::classify::classify;
use crate::convert::{Input, SdkItem, optional_item_from_sdk, request_to_input};
use crate::redact::Secrets;

/// A [`Store`] on DynamoDB: each lease [`Request`] becomes one SDK call (`PutItem`,
/// `UpdateItem`, `DeleteItem`, `GetItem` or `TransactWriteItems`) on the wrapped [`DynamoDbApi`], by default an
/// [`aws_sdk_dynamodb::Client`].
///
/// The store converts and classifies only; what a lease means lives in `lease-core`. A failed
/// condition is [`StoreResponse::ConditionFailed`] (with the old item when DynamoDB returns it);
/// every other failure is a [`StoreError`] classified by
/// [`StoreErrorKind`](crate::store::StoreErrorKind).
///
/// Region, credentials and timeouts are the client's: configure them on the client. The
/// client's own retries are turned off ([`DynamoDbApi::disable_retries`]): each lease request
/// is one attempt, and the lease manager's [`RetryPolicy`](crate::config::RetryPolicy) resends
/// it, seeing every attempt, so that an attempt that may have been applied (its answer lost)
/// is never hidden behind a later one that was refused (the outcome is then
/// [`LeaseError::OutcomeUnknown`](crate::LeaseError::OutcomeUnknown), and an acquire gives
/// its lease back). Every request is also bounded by the store's own
/// [request timeout](Self::with_request_timeout) (default [`DEFAULT_REQUEST_TIMEOUT`]),
/// because the SDK's defaults set none: a store that accepts a connection and never answers must not hang a lease
/// operation. A request that runs out of time is a [`StoreErrorKind::Timeout`] (its outcome
/// is unknown; every lease request is safe to send again).
///
/// Cloning is cheap when the client's is (an SDK client is an `Arc` inside).
#[derive(Clone, Debug)]
pub struct DynamoDbStore<C = Client> {
    api: C,
    request_timeout: Option<Duration>,
    /// Why no request can be sent, found when the store was made
    /// ([`DynamoDbApi::misconfiguration`]).
    misconfiguration: Option<&'static str>,
    /// The expressions of the request shapes sent so far, each rendered once (shared by
    /// clones).
    templates: Arc<RenderCache>,
}

/// The default bound on one request: 10 seconds.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

impl<C: DynamoDbApi> DynamoDbStore<C> {
    /// A store that sends its requests through `api` (usually an [`aws_sdk_dynamodb::Client`]),
    /// each bounded by [`DEFAULT_REQUEST_TIMEOUT`].
    ///
    /// If `api` can send no request at all (an SDK client without a region), every request
    /// fails at once with [`StoreErrorKind::Misconfigured`], naming the problem, instead of
    /// being sent, retried, and reported as an unknown outcome.
    pub fn new(mut api: C) -> Self {
        api.disable_retries();
        let misconfiguration = api.misconfiguration();
        Self {
            api,
            request_timeout: Some(DEFAULT_REQUEST_TIMEOUT),
            misconfiguration,
            templates: Arc::new(RenderCache::new()),
        }
    }
}

impl<C> DynamoDbStore<C> {
    /// Bounds every request (SDK retries included) by `timeout`; `None` leaves only the
    /// client's own timeouts (if you configured some with `TimeoutConfig`). Keep it below your
    /// lease durations, so that a hung renewal is retried before the lease's safe deadline.
    /// A zero timeout could never be met: every request then fails at once with
    /// [`StoreErrorKind::Misconfigured`], unsent.
    #[must_use]
    pub fn with_request_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The bound on one request, if any.
    pub fn request_timeout(&self) -> Option<Duration> {
        self.request_timeout
    }

    /// The wrapped client.
    pub fn api(&self) -> &C {
        &self.api
    }
}

impl<C: DynamoDbApi> Store for DynamoDbStore<C> {
    async fn execute(&self, request: &Request) -> Result<StoreResponse, StoreError> {
        if let Some(problem) = self.misconfiguration {
            return Err(misconfigured(problem));
        }
        if self.request_timeout == Some(Duration::ZERO) {
            return Err(misconfigured(
                "the store's request timeout is zero, so no request could ever be answered in \
                 time: give a positive timeout (DynamoDbStore::with_request_timeout), or None",
            ));
        }
        // The SDK's futures are deeply nested types. Boxed here, they stay out of the type of
        // every future built on this store (the manager's, a guard's, the caller's own `async
        // fn`), whose layout the compiler would otherwise compute through all of them: a
        // service's `async fn` calling `with_lease` hit rustc's query depth limit. The box is
        // small: `send` holds the SDK's future (about 6.4 KB) in a box of its own, made when it
        // is called, so that no copy of that size is moved into this one.
        let send: Pin<Box<dyn Future<Output = Result<StoreResponse, StoreError>> + Send + '_>> =
            Box::pin(self.send(request));
        let Some(limit) = self.request_timeout else {
            return send.await;
        };
        match tokio::time::timeout(limit, send).await {
            Ok(answer) => answer,
            Err(_) => Err(StoreError::new(
                StoreErrorKind::Timeout,
                format!("no answer within the store's request timeout of {limit:?}"),
            )),
        }
    }
}

impl<C: DynamoDbApi> DynamoDbStore<C> {
    /// Converts, calls and classifies, without the time bound. The SDK's future is boxed where
    /// it is made: held inline, it would make this future as large (about 6.4 KB), and
    /// [`execute`](Store::execute) would copy all of it into its box before the first poll.
    async fn send(&self, request: &Request) -> Result<StoreResponse, StoreError> {
        // The request's bearer tokens, for the error path only (rendered again there: an
        // error is rare, and the success path makes no copy of them).
        let secrets = || {
            request_to_input(request, &self.templates)
                .map(|input| Secrets::of(&input))
                .unwrap_or_default()
        };
        match request_to_input(request, &self.templates)? {
            Input::Put(input) => match Box::pin(self.api.put_item(input)).await {
                Ok(out) => applied(out.attributes),
                Err(e) => classify(e, secrets),
            },
            Input::Update(input) => match Box::pin(self.api.update_item(input)).await {
                Ok(out) => applied(out.attributes),
                Err(e) => classify(e, secrets),
            },
            Input::Delete(input) => match Box::pin(self.api.delete_item(input)).await {
                Ok(out) => applied(out.attributes),
                Err(e) => classify(e, secrets),
            },
            Input::Get(input) => match Box::pin(self.api.get_item(input)).await {
                Ok(out) => Ok(StoreResponse::Item(optional_item_from_sdk(out.item)?)),
                Err(e) => classify(e, secrets),
            },
            Input::Transact(input) => match Box::pin(self.api.transact_write_items(input)).await {
                Ok(_) => Ok(StoreResponse::Applied { attributes: None }),
                Err(e) => classify(e, secrets),
            },
            Input::Query(input) => self.query(input).await,
        }
    }

    /// A `Query`, page by page (each from the last page's `LastEvaluatedKey`), into one answer.
    async fn query(&self, first: QueryInput) -> Result<StoreResponse, StoreError> {
        let mut items = Vec::new();
        let mut input = first;
        loop {
            let next = input.clone();
            let out = match self.api.query(input).await {
                Ok(out) => out,
                Err(e) => return classify(e, Secrets::none),
            };
            for item in out.items.unwrap_or_default() {
                if let Some(item) = optional_item_from_sdk(Some(item))? {
                    items.push(item);
                }
            }
            match out.last_evaluated_key {
                Some(start) if !start.is_empty() => {
                    input = next;
                    input.exclusive_start_key = Some(start);
                }
                _ => return Ok(StoreResponse::Items(items)),
            }
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
