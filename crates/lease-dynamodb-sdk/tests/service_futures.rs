//! A service's own `async fn`s built on the guard API of a `DynamoDbLeaseManager` compile and
//! can be spawned. They once did not: the SDK's deeply nested futures were part of the type of
//! every future built on the store, and computing the layout of a service's `async fn` calling
//! `with_lease` or `acquire_guard` overflowed rustc's query depth limit ("queries overflow the
//! depth limit!", under `cargo check` and clippy), in a user's crate though not in this one's
//! doctests. The store now boxes the SDK's future. This file is the user's crate: if it
//! compiles under `cargo clippy --all-targets` (part of the test command), the problem is gone.
//! No server needed: the futures are built, never polled.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use lease_dynamodb_sdk::LeaseKey;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use lease_dynamodb_sdk::{
    DynamoDbLeaseManager, DynamoDbStore, FencingToken, GuardOptions, LeaseConfig, LeaseManager,
    ScopedOutcome, WaitPolicy,
};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The README's "Keeping a lease while you work" job.
async fn nightly_report(manager: Arc<DynamoDbLeaseManager>) -> Result<(), BoxError> {
    let key = LeaseKey::lock("cron#nightly-report");
    let options = GuardOptions::default().wait(WaitPolicy::with_timeout(Duration::from_secs(60)));
    let outcome = manager
        .with_lease(key, Duration::from_secs(30), options, |lease| async move {
            generate_report(lease.fence()).await
        })
        .await?;
    match outcome {
        ScopedOutcome::WorkSucceeded(()) => Ok(()),
        ScopedOutcome::WorkFailed(e) => Err(e.into()),
        ScopedOutcome::LeaseLost(reason) => Err(format!("lease lost: {reason:?}").into()),
        other => Err(format!("{other:?}").into()),
    }
}

async fn generate_report(_fence: FencingToken) -> Result<(), std::io::Error> {
    Ok(())
}

/// A guard held across the work, released at the end.
async fn guarded_job(manager: Arc<DynamoDbLeaseManager>) -> Result<(), BoxError> {
    let key = LeaseKey::lock("job#guarded");
    let guard = manager
        .acquire_guard(key, Duration::from_secs(30), GuardOptions::default())
        .await?;
    let _outcome = guard.release().await?;
    Ok(())
}

fn manager() -> Arc<DynamoDbLeaseManager> {
    let sdk = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url("http://127.0.0.1:9")
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(sdk);
    let config = LeaseConfig::builder("locks").build().unwrap();
    Arc::new(LeaseManager::new(DynamoDbStore::new(client), config))
}

fn spawnable<F: Future + Send + 'static>(future: F) -> F {
    future
}

#[test]
fn service_async_fns_on_the_guard_api_build_and_are_send() {
    let manager = manager();
    drop(spawnable(nightly_report(Arc::clone(&manager))));
    drop(spawnable(guarded_job(manager)));
}
