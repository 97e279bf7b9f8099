//! The in-memory store as a backend.

use lease::LeaseConfig;
use lease_memory::MemoryStore;

use crate::backend::{Backend, Capabilities};

/// `lease-memory`'s [`MemoryStore`], one store per table.
#[derive(Clone, Copy, Debug, Default)]
pub struct MemoryBackend;

impl Backend for MemoryBackend {
    type Store = MemoryStore;

    fn name(&self) -> &'static str {
        "memory"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            returns_old_item_on_condition_failure: true,
            cross_type_comparison_is_false: true,
            supports_transactions: true,
            updated_new_is_exactly_the_set_attributes: true,
            race_rounds: 500,
        }
    }

    async fn open(&self, config: &LeaseConfig) -> MemoryStore {
        MemoryStore::for_config(config)
    }
}
