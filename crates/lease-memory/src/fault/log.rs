//! The request log: every request a [`FaultyStore`](super::FaultyStore) saw, with its outcome.

use std::fmt;

use lease::{store::Request, store::StoreErrorKind};

use super::Fault;

/// What a [`FaultyStore`](super::FaultyStore) decided for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestOutcome {
    /// No fault: the request was passed to the inner store, and its answer to the caller.
    Passed,
    /// A rule injected this fault.
    Faulted(Fault),
    /// An outage was on: the caller got an error of this kind, and the request was not
    /// executed.
    Outage(StoreErrorKind),
}

impl RequestOutcome {
    /// Whether the request was passed to the inner store, where it is applied if its condition
    /// holds: `Passed`, and the faults that execute the request ([`Fault::forwards`]).
    #[must_use]
    pub fn forwards(self) -> bool {
        match self {
            Self::Passed => true,
            Self::Faulted(fault) => fault.forwards(),
            Self::Outage(_) => false,
        }
    }

    /// The injected fault, if a rule injected one.
    #[must_use]
    pub fn fault(self) -> Option<Fault> {
        match self {
            Self::Faulted(fault) => Some(fault),
            Self::Passed | Self::Outage(_) => None,
        }
    }
}

/// One entry of a [`FaultyStore`](super::FaultyStore)'s log: a request and what was decided
/// for it.
///
/// `Debug` shows the request's operation, its table and the outcome, never its key or values
/// (they may carry a lease's bearer token).
#[derive(Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    request: Request,
    outcome: RequestOutcome,
}

impl LoggedRequest {
    pub(super) fn new(request: Request, outcome: RequestOutcome) -> Self {
        Self { request, outcome }
    }

    /// The request, as the caller sent it (a clone, tokens included: do not print it).
    #[must_use]
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// What was decided for it.
    #[must_use]
    pub fn outcome(&self) -> RequestOutcome {
        self.outcome
    }
}

impl fmt::Debug for LoggedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let operation = match &self.request {
            Request::Put(_) => "PutItem",
            Request::Update(_) => "UpdateItem",
            Request::Delete(_) => "DeleteItem",
            Request::Get(_) => "GetItem",
            Request::Transact(_) => "TransactWriteItems",
            Request::Query(_) => "Query",
            _ => "other",
        };
        f.debug_struct("LoggedRequest")
            .field("operation", &operation)
            .field("table", &self.request.table_name())
            .field("outcome", &self.outcome)
            .finish()
    }
}
