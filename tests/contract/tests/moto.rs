//! The contract suite on moto (endpoint in `LEASE_MOTO_ENDPOINT`).

mod moto {
    lease_contract_tests::contract_tests!(lease_contract_tests::ServerBackend::moto());
}
