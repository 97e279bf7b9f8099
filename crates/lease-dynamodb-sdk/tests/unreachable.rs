//! A real SDK client against a port where nothing listens: the request is never sent, so the
//! error says "unreachable" (not applied) rather than "outcome unknown"; a client without
//! credentials says "access denied"; and a client without a region says "misconfigured" before
//! sending anything. No server needed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use aws_credential_types::provider::{ProvideCredentials, error::CredentialsError, future};
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region, retry::RetryConfig};
use lease_dynamodb_sdk::{
    DynamoDbStore, LeaseConfig, LeaseError, LeaseManager, config::RetryPolicy,
    store::StoreErrorKind,
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
        .try_acquire("CACHE#A", Duration::from_secs(30))
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
        .try_acquire("CACHE#A", Duration::from_secs(30))
        .await
        .unwrap_err();
    let LeaseError::Store { source, .. } = &err else {
        panic!("expected a not-applied store error, got {err:?}");
    };
    assert_eq!(source.kind(), StoreErrorKind::AccessDenied, "{source}");
}

/// The most common misconfiguration (no `AWS_REGION` when the client was loaded): the SDK would
/// fail every request with a connector-level error indistinguishable from a network failure;
/// the store and the table functions say what is wrong before sending anything.
#[tokio::test]
async fn a_client_without_a_region_is_misconfigured() {
    let sdk = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(closed_endpoint())
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(sdk);
    let config = LeaseConfig::builder("locks").build().unwrap();

    let manager = LeaseManager::new(DynamoDbStore::new(client.clone()), config.clone());
    let err = manager
        .try_acquire("CACHE#A", Duration::from_secs(30))
        .await
        .unwrap_err();
    let LeaseError::Store { source, .. } = &err else {
        panic!("expected a not-applied store error, got {err:?}");
    };
    assert_eq!(source.kind(), StoreErrorKind::Misconfigured, "{source}");
    assert!(source.message().contains("no region"), "{source}");

    let err = lease_dynamodb_sdk::create_lock_table(&client, &config)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Misconfigured, "{err}");
    let err = lease_dynamodb_sdk::dynamodb::enable_ttl(&client, &config)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Misconfigured, "{err}");
    match lease_dynamodb_sdk::check_table(&client, &config).await {
        Err(lease_dynamodb_sdk::dynamodb::TableCheckFailure::Describe { source, .. }) => {
            assert_eq!(source.kind(), StoreErrorKind::Misconfigured, "{source}");
        }
        other => panic!("expected Describe(Misconfigured), got {other:?}"),
    }
}

/// An endpoint URL the SDK cannot apply (`not a url`): the SDK fails each request before
/// sending it, printing the whole request, bearer token included, into its error. The store
/// says "misconfigured" (not sent, not retried, not an unknown outcome), and neither the
/// error's text nor its `Debug` nor any source in its chain shows the token.
#[tokio::test]
async fn an_endpoint_the_sdk_cannot_apply_is_misconfigured_and_shows_no_token() {
    for endpoint in ["not a url", "http://[::1"] {
        let sdk = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .build();
        let client = aws_sdk_dynamodb::Client::from_conf(sdk);
        let config = LeaseConfig::builder("locks").build().unwrap();
        let manager = LeaseManager::new(DynamoDbStore::new(client), config)
            .with_token_source(|| lease_dynamodb_sdk::token::LeaseToken::new("secret-token-value"));
        let err = manager
            .try_acquire("CACHE#A", Duration::from_secs(30))
            .await
            .unwrap_err();
        let LeaseError::Store { source, .. } = &err else {
            panic!("expected a not-applied store error, got {err:?}");
        };
        assert_eq!(source.kind(), StoreErrorKind::Misconfigured, "{source}");
        let mut shown = format!("{err} {err:?}");
        let mut next = std::error::Error::source(&err);
        while let Some(e) = next {
            shown.push_str(&format!(" | {e} {e:?}"));
            next = e.source();
        }
        assert!(!shown.contains("secret-token-value"), "{shown}");
        assert!(shown.contains("request omitted"), "{shown}");
    }
}
