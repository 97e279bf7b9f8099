//! A real SDK client against a port where nothing listens: the request is never sent, so the
//! error says "unreachable" (not applied) rather than "outcome unknown"; and a client without
//! credentials says "access denied". No server needed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use aws_credential_types::provider::{ProvideCredentials, error::CredentialsError, future};
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region, retry::RetryConfig};
use lease_dynamodb_sdk::{
    DynamoDbStore, LeaseConfig, LeaseError, LeaseManager, RetryPolicy, StoreErrorKind,
};

/// A loopback address with no listener: bind a port, then free it.
fn closed_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// A credentials provider that finds none, as aws-config's default chain does on a machine
/// without credentials.
#[derive(Debug)]
struct NoCredentials;

impl ProvideCredentials for NoCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::ready(Err(CredentialsError::not_loaded(
            "no credentials found in chain",
        )))
    }
}

fn manager(credentials: impl ProvideCredentials + 'static) -> LeaseManager<DynamoDbStore> {
    let builder = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(closed_endpoint())
        .retry_config(RetryConfig::disabled())
        .credentials_provider(credentials);
    let client = aws_sdk_dynamodb::Client::from_conf(builder.build());
    let config = LeaseConfig::builder("locks").build().unwrap();
    LeaseManager::new(DynamoDbStore::new(client), config).with_retry_policy(RetryPolicy::never())
}

#[tokio::test]
async fn connection_refused_is_unreachable_and_not_applied() {
    let credentials = Credentials::new("test", "test", None, None, "test");
    let err = manager(credentials)
        .acquire("CACHE#A", Duration::from_secs(30))
        .await
        .unwrap_err();
    let LeaseError::Store { source, .. } = &err else {
        panic!("expected a not-applied store error, got {err:?}");
    };
    assert_eq!(source.kind(), StoreErrorKind::Unreachable, "{source}");
    assert!(!source.kind().outcome_may_be_applied());
}

#[tokio::test]
async fn missing_credentials_are_access_denied() {
    let err = manager(NoCredentials)
        .acquire("CACHE#A", Duration::from_secs(30))
        .await
        .unwrap_err();
    let LeaseError::Store { source, .. } = &err else {
        panic!("expected a not-applied store error, got {err:?}");
    };
    assert_eq!(source.kind(), StoreErrorKind::AccessDenied, "{source}");
}
