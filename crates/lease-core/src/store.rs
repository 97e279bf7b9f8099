//! [`Store`]: the one trait a store implements. A declaration only: lease-core runs no store.

use std::future::Future;
use std::sync::Arc;

use crate::request::Request;
use crate::response::{StoreError, StoreResponse};
use crate::token::TokenSource;

/// Something that executes lease requests against a table: DynamoDB through
/// `lease-dynamodb-sdk`, an in-memory table through `lease-memory`, or a wrapper that injects
/// faults. Declared here, below any runtime, so that a store can be written (and an in-memory
/// store run) without one; the `lease` crate's manager drives any store.
///
/// A store only executes: it never decides what a lease means. It must
/// - apply a write only if its condition holds, atomically per item, and answer
///   [`StoreResponse::ConditionFailed`] otherwise (with the old item when the request asks for it
///   and the store can return it);
/// - answer a `GetItem` with [`StoreResponse::Item`];
/// - classify failures by [`StoreErrorKind`](crate::StoreErrorKind), telling throttling
///   (not applied) apart from timeouts and server errors (maybe applied).
pub trait Store: Send + Sync {
    /// Executes one request.
    ///
    /// # Errors
    /// [`StoreError`] when the request failed for any reason other than its condition.
    fn execute(
        &self,
        request: &Request,
    ) -> impl Future<Output = Result<StoreResponse, StoreError>> + Send;

    /// The token source a lease manager on this store uses unless it is given one, if the store
    /// has a preference; `None` (the default) gets the manager's own default (the `lease`
    /// crate's `UuidTokens`, a kernel read per token, right for any table shared between
    /// processes).
    ///
    /// Tokens must be unique among all holders that can meet in the store's table. A store
    /// whose table lives inside one process (`lease-memory`) may return a cheaper source. A
    /// wrapper store should return its inner store's.
    fn default_token_source(&self) -> Option<Arc<dyn TokenSource>> {
        None
    }
}

impl<S: Store + ?Sized> Store for Arc<S> {
    fn execute(
        &self,
        request: &Request,
    ) -> impl Future<Output = Result<StoreResponse, StoreError>> + Send {
        (**self).execute(request)
    }

    fn default_token_source(&self) -> Option<Arc<dyn TokenSource>> {
        (**self).default_token_source()
    }
}

impl<S: Store + ?Sized> Store for &S {
    fn execute(
        &self,
        request: &Request,
    ) -> impl Future<Output = Result<StoreResponse, StoreError>> + Send {
        (**self).execute(request)
    }

    fn default_token_source(&self) -> Option<Arc<dyn TokenSource>> {
        (**self).default_token_source()
    }
}
