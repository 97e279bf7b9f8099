//! The contract suite on dynalite (endpoint in `LEASE_DYNALITE_ENDPOINT`).

mod dynalite {
    lease_contract_tests::contract_tests!(lease_contract_tests::ServerBackend::dynalite());
}
