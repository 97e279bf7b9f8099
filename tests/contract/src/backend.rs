//! What the suite needs from a store under test.

use std::future::Future;

use lease::{LeaseConfig, store::Store};

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
    /// A successful `UpdateItem` with `ReturnValues = UPDATED_NEW` returns exactly the attributes
    /// the update `SET`s, with their new values, as DynamoDB's API reference documents ("only the
    /// updated attributes, as they appear after") and as DynamoDB, dynalite and lease-memory do:
    /// no key attributes when the update creates the item, and a `SET` whose value equals the
    /// old one included. (dynalite's own suite, which its authors run against live DynamoDB,
    /// checks both.) moto 5.2.5 diffs the item before and after instead
    /// (`moto/dynamodb/responses.py`, `_build_updated_new_attributes`): on a new item it returns
    /// the key attributes too, and it leaves out a `SET` attribute whose value did not change.
    /// Acquire reads only the fencing token, which every acquire changes, so both shapes work.
    pub updated_new_is_exactly_the_set_attributes: bool,
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
