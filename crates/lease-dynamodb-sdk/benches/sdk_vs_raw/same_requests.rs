//! The check that makes the comparison fair: both loops send identical requests.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept};
use aws_sdk_dynamodb::error::BoxError as SdkBoxError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemInput;
use aws_sdk_dynamodb::operation::get_item::GetItemInput;
use aws_sdk_dynamodb::operation::put_item::PutItemInput;
use aws_sdk_dynamodb::operation::update_item::UpdateItemInput;
use lease_dynamodb_sdk::{
    DynamoDbStore, LeaseConfig, LeaseManager, clock::TestClock, token::LeaseToken,
};

use crate::{BoxError, client, lease_pair, raw};

/// One operation input, as handed to the SDK.
#[derive(Debug, PartialEq)]
enum Sent {
    Put(PutItemInput),
    Update(UpdateItemInput),
    Delete(DeleteItemInput),
    Get(GetItemInput),
    /// Any other operation, by its input's `Debug`.
    Other(String),
}

/// An SDK interceptor that records every operation's input before it is serialized.
#[derive(Clone, Debug, Default)]
pub(crate) struct Recorder(Arc<Mutex<Vec<Sent>>>);

impl Recorder {
    fn take(&self) -> Vec<Sent> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "sdk_vs_raw::Recorder"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), SdkBoxError> {
        let input = context.input();
        let sent = if let Some(i) = input.downcast_ref::<UpdateItemInput>() {
            Sent::Update(i.clone())
        } else if let Some(i) = input.downcast_ref::<PutItemInput>() {
            Sent::Put(i.clone())
        } else if let Some(i) = input.downcast_ref::<DeleteItemInput>() {
            Sent::Delete(i.clone())
        } else if let Some(i) = input.downcast_ref::<GetItemInput>() {
            Sent::Get(i.clone())
        } else {
            Sent::Other(format!("{input:?}"))
        };
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(sent);
        Ok(())
    }
}

/// Runs one acquire + release through the store and one through the raw loop, at the same
/// fixed time and with the same token, on a client that records what each hands to the SDK;
/// fails unless the two are identical, field by field.
///
/// # Errors
/// Any failure of either pair, or requests that differ.
pub(crate) async fn check(endpoint: &str, config: &LeaseConfig, pk: &str) -> Result<(), BoxError> {
    let token = "same-requests-check";
    let now = Duration::from_millis(1_700_000_000_250);
    let recorder = Recorder::default();
    let client = client(endpoint, Some(recorder.clone()));

    let wall = std::time::UNIX_EPOCH + now;
    let manager = LeaseManager::new(DynamoDbStore::new(client.clone()), config.clone())
        .with_clock(TestClock::starting_at(wall).frozen())
        .with_token_source(move || LeaseToken::new(token));
    lease_pair(&manager, pk).await?;
    let ours = recorder.take();

    raw::pair(&client, config.table_name(), pk, token, || Ok(now)).await?;
    let theirs = recorder.take();

    if ours.len() != 2 || ours != theirs {
        return Err(format!(
            "the raw loop does not send the store's requests (update sdk_vs_raw/raw.rs to \
             match docs/wire-format.md):\n store: {ours:#?}\n raw:   {theirs:#?}"
        )
        .into());
    }
    Ok(())
}
