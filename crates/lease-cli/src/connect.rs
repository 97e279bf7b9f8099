//! From the command line's store and format options to a lease configuration, a DynamoDB
//! client (through `aws-config`: region, profile, credentials from the standard environment)
//! and a lease manager.

use std::sync::Arc;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::Region;
use lease_dynamodb_sdk::{
    DynamoDbLeaseManager, DynamoDbStore, LeaseConfig, LeaseManager, config::ConfigError,
    config::ExpiryUnit,
};

use crate::cli::{ExpiryUnitArg, FormatArgs, StoreArgs};
use crate::exit::Failure;

/// A client for the lock table, and the table's lease configuration.
#[derive(Debug, Clone)]
pub(crate) struct Connection {
    /// The DynamoDB client.
    pub(crate) client: aws_sdk_dynamodb::Client,
    /// The lease configuration (table name, item format).
    pub(crate) config: LeaseConfig,
    /// `--request-timeout`: the bound on one DynamoDB request (the client makes one attempt).
    pub(crate) request_timeout: Duration,
}

impl Connection {
    /// Checks the options and builds the client; sends nothing.
    ///
    /// # Errors
    /// A usage failure (64) when no table is given, the item format options are invalid, the
    /// endpoint is not an http(s) URL with a host, or no AWS region is configured.
    pub(crate) async fn open(store: &StoreArgs, format: &FormatArgs) -> Result<Self, Failure> {
        let config = lease_config(store, format)?;
        // One attempt per SDK call: the lease manager retries lease requests itself (briefly,
        // so that a guard sees a failing store at once and can stop the command in time), and
        // waiting acquires and renewals go on retrying within their own deadlines.
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::standard().with_max_attempts(1))
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_attempt_timeout(store.request_timeout)
                    .build(),
            );
        if let Some(endpoint) = &store.endpoint {
            if !is_endpoint_url(endpoint) {
                return Err(Failure::usage(format!(
                    "invalid endpoint {endpoint:?}: give an http:// or https:// URL with a host, such as http://127.0.0.1:8000; check --endpoint or LEASE_ENDPOINT"
                )));
            }
            loader = loader.endpoint_url(endpoint);
        }
        if let Some(region) = &store.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(profile) = &store.profile {
            loader = loader.profile_name(profile);
        }
        let aws = loader.load().await;
        if aws.region().is_none() {
            return Err(Failure::usage(
                "no AWS region: set AWS_REGION, pass --region, or configure the profile's region",
            ));
        }
        Ok(Self {
            client: aws_sdk_dynamodb::Client::new(&aws),
            config,
            request_timeout: store.request_timeout,
        })
    }

    /// A lease manager on this connection.
    pub(crate) fn manager(&self) -> Arc<DynamoDbLeaseManager> {
        Arc::new(LeaseManager::new(self.store(), self.config.clone()))
    }

    /// The store for lease requests, each bounded by `--request-timeout` (the store's own
    /// default bound would otherwise cut a longer `--request-timeout` short).
    fn store(&self) -> DynamoDbStore {
        DynamoDbStore::new(self.client.clone()).with_request_timeout(Some(self.request_timeout))
    }
}

/// Whether `url` is an endpoint a request can be sent to: an absolute `http` or `https` URI
/// with a host, parsed as the SDK parses it (with the `http` crate). The SDK itself finds a bad
/// endpoint only when it applies it to a request: for every request, after the fact.
fn is_endpoint_url(url: &str) -> bool {
    url.parse::<http::Uri>().is_ok_and(|uri| {
        matches!(uri.scheme_str(), Some("http" | "https"))
            && uri.host().is_some_and(|host| !host.is_empty())
    })
}

/// The lease configuration the options describe.
///
/// # Errors
/// A usage failure (64) when no table is given or the library rejects the configuration.
pub(crate) fn lease_config(store: &StoreArgs, format: &FormatArgs) -> Result<LeaseConfig, Failure> {
    let Some(table) = &store.table else {
        return Err(Failure::usage(
            "no lock table: pass --table NAME or set LEASE_TABLE",
        ));
    };
    LeaseConfig::builder(table.clone())
        .key_attribute_names(
            format.partition_key_attribute.clone(),
            format.sort_key_attribute.clone(),
        )
        .lease_attribute_names(
            format.token_attribute.clone(),
            format.expires_at_attribute.clone(),
            format.ttl_attribute.clone(),
        )
        .fence_attribute_name(format.fence_attribute.clone())
        .value_attribute_name(format.value_attribute.clone())
        .lock_sort_key(format.sort_key.clone())
        .include_ttl(!format.no_ttl)
        .expiry_unit(match format.expiry_unit {
            ExpiryUnitArg::Seconds => ExpiryUnit::Seconds,
            ExpiryUnitArg::Milliseconds => ExpiryUnit::Milliseconds,
        })
        .ttl_buffer(format.ttl_buffer)
        .max_clock_skew(format.max_clock_skew)
        .build()
        .map_err(|e| Failure::usage(config_message(&e)))
}

/// What is wrong with the table options, in `lease`'s terms.
fn config_message(error: &ConfigError) -> String {
    match error {
        // The library's message names its builder method (include_ttl(false)).
        ConfigError::ZeroTtlBuffer => {
            "invalid table options: --ttl-buffer is zero; to write no TTL, pass --no-ttl".to_owned()
        }
        other => format!("invalid table options: {other}{}", config_hint(other)),
    }
}

/// The option that sets what `error` rejects, as a `; ...` suffix, where the library's message
/// names its own setting rather than the option.
fn config_hint(error: &ConfigError) -> &'static str {
    match error {
        ConfigError::InvalidTableName { .. } => "; check --table",
        ConfigError::ClockSkewTooLarge { .. } => "; check --max-clock-skew",
        ConfigError::TtlBufferTooLong { .. } | ConfigError::TtlBufferTooShort { .. } => {
            "; check --ttl-buffer (and --max-clock-skew)"
        }
        ConfigError::EmptyLockSortKey
        | ConfigError::LockSortKeyTooLong { .. }
        | ConfigError::ReservedLockSortKey => "; check --sort-key",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::Cli;

    fn config_of(args: &[&str]) -> Result<LeaseConfig, Failure> {
        let cli = Cli::try_parse_from(
            ["lease"]
                .iter()
                .chain(args)
                .chain(&["inspect", "job"])
                .copied(),
        )
        .unwrap();
        lease_config(&cli.store, &cli.format)
    }

    #[test]
    fn defaults_are_the_library_defaults() {
        let config = config_of(&["--table", "locks"]).unwrap();
        assert_eq!(config, LeaseConfig::builder("locks").build().unwrap());
    }

    #[test]
    fn format_options_reach_the_configuration() {
        let config = config_of(&[
            "--table",
            "locks",
            "--sort-key",
            "MUTEX",
            "--partition-key-attribute",
            "PK",
            "--sort-key-attribute",
            "SK",
            "--token-attribute",
            "owner",
            "--expires-at-attribute",
            "until",
            "--ttl-attribute",
            "expires",
            "--fence-attribute",
            "fence",
            "--ttl-buffer",
            "2h",
            "--expiry-unit",
            "milliseconds",
            "--max-clock-skew",
            "2s",
        ])
        .unwrap();
        assert_eq!(config.lock_sort_key(), "MUTEX");
        assert_eq!(config.partition_key_attribute(), "PK");
        assert_eq!(config.sort_key_attribute(), "SK");
        assert_eq!(config.token_attribute(), "owner");
        assert_eq!(config.expires_at_attribute(), "until");
        assert_eq!(config.ttl_attribute(), "expires");
        assert_eq!(config.fence_attribute(), "fence");
        assert!(config.writes_ttl());
        assert_eq!(config.ttl_buffer(), Duration::from_secs(7200));
        assert_eq!(config.expiry_unit(), ExpiryUnit::Milliseconds);
        assert_eq!(config.max_clock_skew(), Duration::from_secs(2));
        let no_ttl = config_of(&["--table", "locks", "--no-ttl"]).unwrap();
        assert!(!no_ttl.writes_ttl());
    }

    #[test]
    fn missing_table_and_bad_options_are_usage_errors() {
        // LEASE_TABLE may be set in the environment of the tests; an explicit bad name is not.
        let bad_name = config_of(&["--table", "x"]).unwrap_err();
        assert_eq!(bad_name.status, crate::exit::status::USAGE);
        assert!(
            bad_name.message.contains("invalid table name"),
            "{}",
            bad_name.message
        );
        let duplicate = config_of(&["--table", "locks", "--token-attribute", "pk"]).unwrap_err();
        assert_eq!(duplicate.status, crate::exit::status::USAGE);
    }

    #[test]
    fn bad_options_are_named_in_the_message() {
        for (args, option) in [
            (&["--table", "x"][..], "--table"),
            (
                &["--table", "locks", "--max-clock-skew", "2h"],
                "--max-clock-skew",
            ),
            (
                &["--table", "locks", "--ttl-buffer", "11years"],
                "--ttl-buffer",
            ),
            (&["--table", "locks", "--ttl-buffer", "2s"], "--ttl-buffer"),
            (&["--table", "locks", "--ttl-buffer", "0s"], "--no-ttl"),
            (&["--table", "locks", "--sort-key", ""], "--sort-key"),
        ] {
            let failure = config_of(args).unwrap_err();
            assert_eq!(failure.status, crate::exit::status::USAGE, "{args:?}");
            assert!(failure.message.contains(option), "{args:?}: {failure:?}");
            crate::exit::assert_names_no_library_item(&failure.message);
        }
    }

    /// `--request-timeout` bounds lease requests too: the store's own bound (10 s by default)
    /// must not cut a longer one short.
    #[test]
    fn lease_requests_are_bounded_by_the_request_timeout() {
        let client = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
                .build(),
        );
        for seconds in [30, 2] {
            let timeout = Duration::from_secs(seconds);
            let connection = Connection {
                client: client.clone(),
                config: LeaseConfig::builder("locks").build().unwrap(),
                request_timeout: timeout,
            };
            assert_eq!(
                connection.manager().store().request_timeout(),
                Some(timeout)
            );
        }
    }
}
