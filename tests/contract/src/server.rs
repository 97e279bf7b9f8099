//! A real DynamoDB-compatible server (dynalite, moto) through the SDK store.

use std::time::Duration;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use lease::LeaseConfig;
use lease_dynamodb_sdk::{DynamoDbStore, create_lock_table};

use crate::backend::{Backend, Capabilities};

/// The SDK store against a server whose endpoint is in an environment variable.
#[derive(Clone, Debug)]
pub struct ServerBackend {
    name: &'static str,
    endpoint_variable: &'static str,
    capabilities: Capabilities,
}

impl ServerBackend {
    /// dynalite, at `LEASE_DYNALITE_ENDPOINT`: no old item on condition failure.
    #[must_use]
    pub fn dynalite() -> Self {
        Self {
            name: "dynalite",
            endpoint_variable: "LEASE_DYNALITE_ENDPOINT",
            capabilities: Capabilities {
                returns_old_item_on_condition_failure: false,
                cross_type_comparison_is_false: true,
                supports_transactions: false,
                updated_new_is_exactly_the_set_attributes: true,
                race_rounds: 500,
            },
        }
    }

    /// moto (serialized behind one lock), at `LEASE_MOTO_ENDPOINT`: a comparison across types
    /// is an HTTP 500, and `UPDATED_NEW` is a diff of the item (see [`Capabilities`]). About five
    /// times slower than dynalite, so the race runs fewer rounds.
    #[must_use]
    pub fn moto() -> Self {
        Self {
            name: "moto",
            endpoint_variable: "LEASE_MOTO_ENDPOINT",
            capabilities: Capabilities {
                returns_old_item_on_condition_failure: true,
                cross_type_comparison_is_false: false,
                supports_transactions: true,
                updated_new_is_exactly_the_set_attributes: false,
                race_rounds: 100,
            },
        }
    }

    /// The server's endpoint. A missing variable fails the test: a store is never skipped
    /// silently. `scripts/test.sh` starts the servers and sets the variables.
    fn endpoint(&self) -> String {
        match std::env::var(self.endpoint_variable) {
            Ok(endpoint) if !endpoint.is_empty() => endpoint,
            _ => panic!(
                "{} is not set: the {} contract tests need a running server. \
                 Run scripts/test.sh, which starts dynalite and moto and sets it, \
                 or `eval \"$(scripts/servers.sh start)\"` before cargo test.",
                self.endpoint_variable, self.name
            ),
        }
    }

    /// An SDK client for the server, with test credentials (the servers accept any).
    #[must_use]
    pub fn client(&self) -> aws_sdk_dynamodb::Client {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(self.endpoint())
            .credentials_provider(Credentials::new(
                "test",
                "test",
                None,
                None,
                "contract-tests",
            ))
            .timeout_config(
                aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                    .operation_timeout(Duration::from_secs(30))
                    .build(),
            )
            .build();
        aws_sdk_dynamodb::Client::from_conf(config)
    }
}

impl Backend for ServerBackend {
    type Store = DynamoDbStore;

    fn name(&self) -> &'static str {
        self.name
    }

    fn capabilities(&self) -> Capabilities {
        self.capabilities
    }

    async fn open(&self, config: &LeaseConfig) -> DynamoDbStore {
        let client = self.client();
        if let Err(e) = create_lock_table(&client, config).await {
            panic!(
                "{}: cannot create table {}: {e}",
                self.name,
                config.table_name()
            );
        }
        DynamoDbStore::new(client)
    }
}
