//! The contract suite on lease-memory.

mod memory {
    lease_contract_tests::contract_tests!(lease_contract_tests::MemoryBackend);
}
