//! The contract cases. Each is `async fn case<B: Backend>(backend: &B)` and panics with the
//! store's name on failure.

mod acquire;
mod concurrency;
mod election;
mod format;
mod refresh;
mod release;
mod return_values;
mod safety;
mod semaphore;
mod sets;
mod transact;
mod validation;

pub use acquire::*;
pub use concurrency::*;
pub use election::*;
pub use format::*;
pub use refresh::*;
pub use release::*;
pub use return_values::*;
pub use safety::*;
pub use semaphore::*;
pub use sets::*;
pub use transact::*;
pub use validation::*;

use std::time::Duration;

/// Whole seconds.
pub(crate) const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}
