//! A store request in flight, raced by a driver against its machine's timers and commands
//! (the guard's driver, the election observer's task).

use std::future::{Future, pending};
use std::pin::Pin;

use lease_core::lifecycle::RequestId;
use lease_core::{StoreError, StoreResponse};

/// The store's answer to a request.
pub(crate) type Answer = Result<StoreResponse, StoreError>;

/// A request in flight: its id and the store's answer to come.
pub(crate) type InFlight = (RequestId, Pin<Box<dyn Future<Output = Answer> + Send>>);

/// The answer to the request in flight, if any; never resolves without one.
pub(crate) async fn answer(in_flight: &mut Option<InFlight>) -> (RequestId, Answer) {
    match in_flight {
        Some((id, future)) => (*id, future.as_mut().await),
        None => pending().await,
    }
}
