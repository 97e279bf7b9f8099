//! The one trait a store implements.

use std::future::Future;
use std::sync::Arc;

use lease_core::{Request, StoreError, StoreResponse};

use lease_core::TokenSource;

use crate::tokens::UuidTokens;

/// Something that executes lease requests against a table: DynamoDB through
/// `lease-dynamodb-sdk`, an in-memory table through `lease-memory`, or a wrapper that injects
/// faults.
///
/// A store only executes: it never decides what a lease means. It must
/// - apply a write only if its condition holds, atomically per item, and answer
///   [`StoreResponse::ConditionFailed`] otherwise (with the old item when the request asks for it
///   and the store can return it);
/// - answer a `GetItem` with [`StoreResponse::Item`];
/// - classify failures by [`StoreErrorKind`](lease_core::StoreErrorKind), telling throttling
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

    /// The token source a [`LeaseManager`](crate::LeaseManager) on this store uses unless it
    /// is given one ([`with_token_source`](crate::LeaseManager::with_token_source)).
    ///
    /// Tokens must be unique among all holders that can meet in the store's table. The
    /// default, [`UuidTokens`] (a kernel read per token), is right for any table shared
    /// between processes; a store whose table lives inside one process (`lease-memory`) may
    /// return a cheaper source. A wrapper store should return its inner store's; one that does
    /// not gets `UuidTokens`, which is always safe, only slower.
    fn default_token_source(&self) -> Arc<dyn TokenSource> {
        Arc::new(UuidTokens)
    }
}

impl<S: Store + ?Sized> Store for Arc<S> {
    fn execute(
        &self,
        request: &Request,
    ) -> impl Future<Output = Result<StoreResponse, StoreError>> + Send {
        (**self).execute(request)
    }

    fn default_token_source(&self) -> Arc<dyn TokenSource> {
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

    fn default_token_source(&self) -> Arc<dyn TokenSource> {
        (**self).default_token_source()
    }
}
