//! What the suite needs from a store under test.

use std::future::Future;

use lease::{LeaseConfig, Store};

/// What a store can do beyond the basics every store must do.
#[derive(Clone, Copy, Debug)]
pub struct Capabilities {
    /// A failed conditional write returns the old item (`ReturnValuesOnConditionCheckFailure =
    /// ALL_OLD`). dynalite does not; DynamoDB, moto and lease-memory do.
    pub returns_old_item_on_condition_failure: bool,
    /// A comparison between values of different types (an `N` with an `S`) in a condition is
    /// simply false, as in DynamoDB, dynalite and lease-memory. moto answers HTTP 500 instead.
    pub cross_type_comparison_is_false: bool,
    /// `TransactWriteItems` is supported (DynamoDB, moto, lease-memory). dynalite answers
    /// `UnknownOperationException`, which the SDK store reports as
    /// `StoreErrorKind::Unsupported`.
    pub supports_transactions: bool,
    /// Rounds of the 16-task acquire race (a slow server gets fewer).
    pub race_rounds: usize,
}

/// A store under test: opens a store on a fresh table shaped by a configuration.
pub trait Backend: Sync {
    /// The store type.
    type Store: Store + Clone + 'static;

    /// The store's name as it appears in test names (`memory`, `dynalite`, `moto`).
    fn name(&self) -> &'static str;

    /// What the store can do.
    fn capabilities(&self) -> Capabilities;

    /// A store on a new, empty table with the configuration's table name and key attributes.
    fn open(&self, config: &LeaseConfig) -> impl Future<Output = Self::Store> + Send;
}
