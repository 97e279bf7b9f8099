//! A fake HTTP connector for a real `aws_sdk_dynamodb::Client`: answers each request with the
//! next canned (status, JSON body) and records what was sent. Shared by the canned-HTTP tests.

// Test code: helpers outside `#[test]` functions may unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::{HttpRequest, HttpResponse};
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorFuture, SharedHttpConnector, http_client_fn,
};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

/// One request as sent: its `X-Amz-Target` operation and JSON body.
#[derive(Debug)]
pub struct Sent {
    pub target: String,
    pub body: String,
}

/// Answers each request with the next canned (status, JSON body) and records what was sent.
#[derive(Clone, Debug, Default)]
pub struct Canned {
    answers: Arc<Mutex<VecDeque<(u16, &'static str)>>>,
    sent: Arc<Mutex<Vec<Sent>>>,
}

impl Canned {
    pub fn new(answers: &[(u16, &'static str)]) -> Self {
        let canned = Self::default();
        canned
            .answers
            .lock()
            .unwrap()
            .extend(answers.iter().copied());
        canned
    }

    pub fn sent(&self) -> Vec<Sent> {
        std::mem::take(&mut *self.sent.lock().unwrap())
    }

    pub fn client(&self) -> Client {
        let connector = SharedHttpConnector::new(self.clone());
        let config = aws_sdk_dynamodb::Config::builder()
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "canned"))
            .retry_config(RetryConfig::disabled())
            .http_client(http_client_fn(move |_, _| connector.clone()))
            .build();
        Client::from_conf(config)
    }
}

impl HttpConnector for Canned {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        self.sent.lock().unwrap().push(Sent {
            target: request
                .headers()
                .get("x-amz-target")
                .unwrap_or_default()
                .to_owned(),
            body: String::from_utf8_lossy(request.body().bytes().unwrap_or_default()).into_owned(),
        });
        let (status, body) = self
            .answers
            .lock()
            .unwrap()
            .pop_front()
            .expect("a canned answer for every request");
        let mut response =
            HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body));
        response
            .headers_mut()
            .insert("content-type", "application/x-amz-json-1.0");
        HttpConnectorFuture::ready(Ok(response))
    }
}
