//! The SDK store's decoding of any HTTP answer: a real `aws_sdk_dynamodb::Client` whose HTTP
//! connector answers from the fuzzer's bytes (status, headers, body), under every operation a
//! service or the CLI calls (acquire, refresh, release, inspect, a multi-key acquire, a permit,
//! the current leader, listing the table, checking the table). The manager retries and cleans
//! up as it does on the wire (its `RetryPolicy`; tokio's clock is paused, so waits take no
//! time), each request taking the next canned answer (the last one again when they run out).
//!
//! Bodies lean towards what DynamoDB sends (success bodies with `Attributes`, `Item`, `Items`,
//! `Table`; error bodies with `__type`, a message, an old item, cancellation reasons), with
//! attribute values of every type, numbers as any string or as JSON numbers, truncated
//! bodies, any bytes, and any status. Two bearer tokens are planted: ours (the token of every
//! lease this manager asks for or holds) and another holder's, in the token attribute of items
//! (as a string or inside any other type); and ours wherever a server's own text can quote
//! the request (an error message or code, a header, a reason's message, raw bytes) when the
//! request carried it.
//!
//! Properties:
//! - nothing panics;
//! - neither token appears in the `Debug` or `Display` of any result, error or not, nor in an
//!   error's `report()` or the `Display` of any error in its chain of sources;
//! - an acquire that gives a lease was answered with a success status and `Attributes` whose
//!   fencing token is the lease's;
//! - a refresh or release gives its answer for our lease and key only.

#![no_main]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::error::Error as StdError;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arbitrary::{Result, Unstructured};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::{HttpRequest, HttpResponse};
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorFuture, SharedHttpConnector, http_client_fn,
};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use lease_dynamodb_sdk::clock::TestClock;
use lease_dynamodb_sdk::dynamodb::{ListOptions, list_leases};
use lease_dynamodb_sdk::token::LeaseToken;
use lease_dynamodb_sdk::{
    DynamoDbLeaseManager, DynamoDbStore, FencingToken, Lease, LeaseConfig, LeaseKey, LeaseManager,
    check_table,
};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};

/// Our token: the token of every lease the manager asks for or holds.
const OURS: &str = "ours-7f3a9c2e1b5d-SECRET";
/// Where a server's own text (a message, an error code, noise) quotes our token: replaced by
/// it when the request carried it (a server can only quote what it was sent, or what it
/// stores: items hold either token anywhere), by `ECHO` otherwise.
const QUOTE: &str = "@@QUOTE@@";
/// Another holder's token.
const THEIRS: &str = "theirs-4c8e2a6f0d1b-SECRET";
/// The manager's clock (epoch seconds, frozen).
const NOW: i64 = 1_000;
/// More requests than this in one run are answered with a connection reset: a server that
/// sends `LastEvaluatedKey` forever would otherwise page without end (the canned answers are
/// ready at once, so the store's request timeout, a timer, never fires).
const MAX_REQUESTS: usize = 64;

/// One canned HTTP answer.
#[derive(Clone, Debug)]
struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

/// The answers of the current run, shared with the connector.
#[derive(Clone, Debug, Default)]
struct Script {
    answers: Arc<Mutex<(VecDeque<Answer>, Option<Answer>, usize)>>,
}

impl Script {
    fn load(&self, answers: Vec<Answer>) {
        let mut script = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        *script = (answers.into(), None, 0);
    }
}

impl HttpConnector for Script {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let sent_ours = request
            .body()
            .bytes()
            .is_some_and(|body| contains(body, OURS.as_bytes()));
        let quoted = if sent_ours { OURS } else { "ECHO" };
        let mut script = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        let (queue, last, sent) = &mut *script;
        *sent += 1;
        let answer = if *sent > MAX_REQUESTS {
            None
        } else {
            match queue.pop_front() {
                Some(answer) => {
                    *last = Some(answer.clone());
                    Some(answer)
                }
                None => last.clone(),
            }
        };
        let Some(answer) = answer else {
            return HttpConnectorFuture::ready(Err(ConnectorError::io(
                "connection reset (the fuzz target's request bound)".into(),
            )));
        };
        let status = StatusCode::try_from(answer.status).unwrap_or_else(|_| {
            StatusCode::try_from(500).unwrap_or_else(|_| unreachable!("500 is a status"))
        });
        let body = replace(&answer.body, QUOTE.as_bytes(), quoted.as_bytes());
        let mut response = HttpResponse::new(status, SdkBody::from(body));
        for (name, value) in answer.headers {
            // A header value HTTP does not allow is left out (a server cannot send it).
            let _ = response
                .headers_mut()
                .try_insert(name, value.replace(QUOTE, quoted));
        }
        HttpConnectorFuture::ready(Ok(response))
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        if rest.starts_with(from) {
            out.extend_from_slice(to);
            rest = &rest[from.len()..];
        } else {
            out.push(rest[0]);
            rest = &rest[1..];
        }
    }
    out
}

struct Harness {
    runtime: tokio::runtime::Runtime,
    script: Script,
    client: Client,
    manager: DynamoDbLeaseManager,
    config: LeaseConfig,
}

thread_local! {
    static HARNESS: RefCell<Option<Harness>> = const { RefCell::new(None) };
}

fn harness() -> Harness {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let script = Script::default();
    let connector = SharedHttpConnector::new(script.clone());
    let sdk_config = aws_sdk_dynamodb::Config::builder()
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "fuzz"))
        .retry_config(RetryConfig::disabled())
        .http_client(http_client_fn(move |_, _| connector.clone()))
        .build();
    let client = Client::from_conf(sdk_config);
    let config = LeaseConfig::builder("locks")
        .build()
        .unwrap_or_else(|e| panic!("config: {e}"));
    let manager = LeaseManager::new(DynamoDbStore::new(client.clone()), config.clone())
        .with_clock(TestClock::at_epoch_seconds(NOW).frozen())
        .with_token_source(|| LeaseToken::new(OURS));
    Harness {
        runtime,
        script,
        client,
        manager,
        config,
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(op) = u.int_in_range(0..=9u8) else {
        return;
    };
    let Ok(answers) = answers(&mut u) else {
        return;
    };
    HARNESS.with(|cell| {
        let mut slot = cell.borrow_mut();
        let harness = slot.get_or_insert_with(harness);
        run(harness, op, answers);
    });
});

fn run(h: &Harness, op: u8, answers: Vec<Answer>) {
    h.script.load(answers.clone());
    let key = h.config.resolve_key(LeaseKey::lock("CACHE#A"));
    let held = Lease::new(
        key.clone(),
        LeaseToken::new(OURS),
        FencingToken::new(1_000_007),
        std::time::UNIX_EPOCH + Duration::from_secs(1_030),
    );
    let d = Duration::from_secs(30);
    let m = &h.manager;
    h.runtime.block_on(async {
        match op {
            0 => {
                let result = m.try_acquire(key.clone(), d).await;
                if let Ok(lease) = &result {
                    assert_eq!(lease.key(), &key);
                    assert_eq!(lease.token().expose_secret(), OURS);
                    assert!(
                        proves_fence(&answers, lease.fence()),
                        "a lease from answers that do not prove its fencing token: {lease:?}"
                    );
                }
                shows_no_token(&result);
            }
            1 => {
                let result = m.refresh(&held, d).await;
                if let Ok(lease) = &result {
                    assert_eq!(lease.key(), &key);
                    assert_eq!(lease.token().expose_secret(), OURS);
                    assert_eq!(lease.fence(), held.fence(), "a refresh changed the fence");
                }
                shows_no_token(&result);
            }
            2 => shows_no_token(&m.release(&held).await),
            3 => shows_no_token(&m.inspect(key.clone()).await),
            4 => shows_no_token(&m.try_acquire_set(["CACHE#A", "CACHE#B"], d).await),
            5 => shows_no_token(&m.try_acquire_permit("POOL", 3, d).await),
            6 => shows_no_token(&m.leader("ELECTION").await),
            7 => shows_no_token(&list_leases(&h.client, &h.config, &ListOptions::new()).await),
            8 => shows_no_token(&check_table(&h.client, &h.config).await),
            _ => {
                // A guard's first renewal: acquire, then refresh with the next answers.
                let result = m.try_acquire(key.clone(), d).await;
                shows_no_token(&result);
                if let Ok(lease) = result {
                    shows_no_token(&m.refresh(&lease, d).await);
                    shows_no_token(&m.release(&lease).await);
                }
            }
        }
    });
}

/// Whether some success answer's `Attributes` hold `fence` as the fencing token.
fn proves_fence(answers: &[Answer], fence: FencingToken) -> bool {
    answers.iter().any(|answer| {
        (200..300).contains(&answer.status)
            && serde_json::from_slice::<Value>(&answer.body).is_ok_and(|body| {
                body.get("Attributes")
                    .and_then(|a| a.get("lease_fence"))
                    .and_then(|f| f.get("N"))
                    .and_then(Value::as_str)
                    .and_then(|n| n.parse::<u64>().ok())
                    == Some(fence.get())
            })
    })
}

/// Checks that no rendering of `result` shows a planted token.
fn shows_no_token<T: std::fmt::Debug, E: StdError + 'static>(result: &Result<T, E>) {
    let mut shown = format!("{result:?}");
    if let Err(error) = result {
        shown.push_str(&format!(" {error}"));
        let mut next = error.source();
        while let Some(source) = next {
            shown.push_str(&format!(" {source} {source:?}"));
            next = source.source();
        }
        if let Some(lease_error) =
            (error as &(dyn StdError + 'static)).downcast_ref::<lease_dynamodb_sdk::LeaseError>()
        {
            shown.push_str(&format!(" {}", lease_error.report()));
        }
    }
    for token in [OURS, THEIRS] {
        assert!(!shown.contains(token), "a bearer token is shown: {shown}");
    }
}

// ---- Answers from the fuzzer's bytes ----

fn answers(u: &mut Unstructured<'_>) -> Result<Vec<Answer>> {
    let count = u.int_in_range(1..=4usize)?;
    (0..count).map(|_| answer(u)).collect()
}

fn answer(u: &mut Unstructured<'_>) -> Result<Answer> {
    let shape = u.int_in_range(0..=9u8)?;
    let (mut status, body) = match shape {
        0..=3 => (200, success_body(u)?.to_string().into_bytes()),
        4..=6 => (400, error_body(u)?.to_string().into_bytes()),
        7 => {
            // A valid body cut short.
            let whole = if u.arbitrary()? {
                success_body(u)?
            } else {
                error_body(u)?
            };
            let mut bytes = whole.to_string().into_bytes();
            let cut = u.int_in_range(0..=bytes.len())?;
            bytes.truncate(cut);
            (200, bytes)
        }
        8 => {
            let mut bytes: Vec<u8> = u.arbitrary()?;
            if u.arbitrary()? {
                bytes.extend_from_slice(QUOTE.as_bytes());
            }
            (200, bytes)
        }
        _ => (200, Vec::new()),
    };
    status = match u.int_in_range(0..=7u8)? {
        0..=3 => status,
        4 => *u.choose(&[200, 400, 404, 413, 500, 503, 504])?,
        5 => u.int_in_range(100..=599)?,
        6 => 500,
        _ => u.arbitrary()?,
    };
    let mut headers = Vec::new();
    match u.int_in_range(0..=5u8)? {
        0 => {}
        1 => headers.push(("content-type", "text/html".to_owned())),
        _ => headers.push(("content-type", "application/x-amz-json-1.0".to_owned())),
    }
    if u.ratio(1, 6)? {
        headers.push(("x-amzn-errortype", error_code(u)?));
    }
    if u.ratio(1, 8)? {
        headers.push(("x-amz-crc32", u.arbitrary::<u32>()?.to_string()));
    }
    if u.ratio(1, 4)? {
        headers.push(("x-amzn-requestid", "FUZZREQUEST".to_owned()));
    }
    Ok(Answer {
        status,
        headers,
        body,
    })
}

fn success_body(u: &mut Unstructured<'_>) -> Result<Value> {
    let mut body = Map::new();
    match u.int_in_range(0..=5u8)? {
        0 => {
            body.insert("Attributes".into(), acquired(u)?);
        }
        1 => {
            body.insert("Attributes".into(), item(u, 0)?);
        }
        2 => {
            body.insert("Item".into(), item(u, 0)?);
        }
        3 => {
            let count = u.int_in_range(0..=3usize)?;
            let items = (0..count)
                .map(|_| item(u, 0))
                .collect::<Result<Vec<_>>>()?;
            body.insert("Count".into(), json!(items.len()));
            body.insert("Items".into(), Value::Array(items));
            if u.ratio(1, 4)? {
                // Key attributes only, as DynamoDB sends them (the next page's request sends
                // them back: a token in them would be one the server quotes back to us).
                let key = json!({
                    "pk": { "S": *u.choose(&["POOL", "CACHE#A", ""])? },
                    "sk": { "S": *u.choose(&["PERMIT#0001", "LOCK", "x"])? },
                });
                body.insert("LastEvaluatedKey".into(), key);
            }
        }
        4 => {
            body.insert("Table".into(), table(u)?);
        }
        _ => {}
    }
    if u.ratio(1, 8)? {
        body.insert(text(u, true)?, value(u, false, 0)?);
    }
    Ok(Value::Object(body))
}

/// An acquire's answer as DynamoDB gives it (`UPDATED_NEW`), with fuzzed parts.
fn acquired(u: &mut Unstructured<'_>) -> Result<Value> {
    let mut item = Map::new();
    if u.ratio(7, 8)? {
        let token = if u.ratio(3, 4)? { OURS } else { THEIRS };
        item.insert("lease_token".into(), json!({ "S": token }));
    }
    if u.ratio(7, 8)? {
        item.insert("lease_expires_at".into(), json!({ "N": number(u)? }));
    }
    if u.ratio(7, 8)? {
        item.insert("lease_fence".into(), json!({ "N": number(u)? }));
    }
    if u.ratio(1, 2)? {
        item.insert("ttl".into(), json!({ "N": number(u)? }));
    }
    Ok(Value::Object(item))
}

fn table(u: &mut Unstructured<'_>) -> Result<Value> {
    let mut table = json!({
        "TableName": "locks",
        "TableStatus": *u.choose(&["ACTIVE", "CREATING", "UPDATING", "ARCHIVED", "X"])?,
        "KeySchema": [
            { "AttributeName": "pk", "KeyType": "HASH" },
            { "AttributeName": "sk", "KeyType": "RANGE" }
        ],
        "AttributeDefinitions": [
            { "AttributeName": "pk", "AttributeType": "S" },
            { "AttributeName": "sk", "AttributeType": *u.choose(&["S", "N", "B", "Q"])? }
        ]
    });
    if u.ratio(1, 3)? {
        table["Replicas"] = json!([{
            "RegionName": "eu-west-1",
            "ReplicaStatus": "ACTIVE"
        }]);
        if u.arbitrary()? {
            table["MultiRegionConsistency"] = json!(*u.choose(&["EVENTUAL", "STRONG", "X"])?);
        }
    }
    Ok(table)
}

fn error_body(u: &mut Unstructured<'_>) -> Result<Value> {
    let mut body = Map::new();
    let code = error_code(u)?;
    let prefix = *u.choose(&[
        "com.amazonaws.dynamodb.v20120810#",
        "com.amazon.coral.validate#",
        "",
    ])?;
    body.insert("__type".into(), json!(format!("{prefix}{code}")));
    if u.ratio(3, 4)? {
        let field = if u.arbitrary()? { "message" } else { "Message" };
        body.insert(field.into(), json!(message(u)?));
    }
    if u.ratio(1, 3)? {
        body.insert("Item".into(), item(u, 0)?);
    }
    if u.ratio(1, 3)? {
        let count = u.int_in_range(0..=3usize)?;
        let mut reasons = Vec::new();
        for _ in 0..count {
            let mut reason = Map::new();
            if u.ratio(7, 8)? {
                let code = *u.choose(&[
                    "None",
                    "ConditionalCheckFailed",
                    "TransactionConflict",
                    "ValidationError",
                    "ThrottlingError",
                ])?;
                reason.insert("Code".into(), json!(code));
            }
            if u.arbitrary()? {
                reason.insert("Message".into(), json!(message(u)?));
            }
            if u.arbitrary()? {
                reason.insert("Item".into(), item(u, 0)?);
            }
            reasons.push(Value::Object(reason));
        }
        body.insert("CancellationReasons".into(), Value::Array(reasons));
    }
    Ok(Value::Object(body))
}

fn error_code(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(match u.int_in_range(0..=16u8)? {
        0..=2 => "ConditionalCheckFailedException".to_owned(),
        3..=4 => "TransactionCanceledException".to_owned(),
        5 => "ValidationException".to_owned(),
        6 => "ResourceNotFoundException".to_owned(),
        7 => "ProvisionedThroughputExceededException".to_owned(),
        8 => "ThrottlingException".to_owned(),
        9 => "InternalServerError".to_owned(),
        10 => "AccessDeniedException".to_owned(),
        11 => "UnknownOperationException".to_owned(),
        12 => "RequestLimitExceeded".to_owned(),
        13 => "TransactionConflictException".to_owned(),
        14 => "SerializationException".to_owned(),
        15 => QUOTE.to_owned(),
        _ => text(u, true)?,
    })
}

/// A server's message: any text, sometimes quoting our token.
fn message(u: &mut Unstructured<'_>) -> Result<String> {
    let mut message = text(u, true)?;
    if u.ratio(1, 3)? {
        message.push_str(QUOTE);
        message.push_str(&text(u, true)?);
    }
    Ok(message)
}

/// An item: the lease attributes (any of them, of any type), sometimes another attribute.
fn item(u: &mut Unstructured<'_>, depth: u8) -> Result<Value> {
    let mut item = Map::new();
    for name in [
        "pk",
        "sk",
        "lease_token",
        "lease_expires_at",
        "lease_fence",
        "ttl",
        "lease_value",
    ] {
        if u.ratio(3, 4)? {
            let token = name == "lease_token";
            let v = match (name, u.int_in_range(0..=3u8)?) {
                ("pk", 0..=2) => json!({ "S": *u.choose(&["CACHE#A", "CACHE#B", "POOL", "ELECTION", ""])? }),
                ("sk", 0..=2) => json!({ "S": *u.choose(&["LOCK", "LEADER", "PERMIT#0000", "PERMIT#0002", "PERMIT#9999", "PERMIT#x"])? }),
                ("lease_token", 0..=2) => json!({ "S": *u.choose(&[OURS, THEIRS])? }),
                ("lease_value", 0..=2) => json!({ "S": *u.choose(&["host-a", "", "x"])? }),
                (_, 0..=2) if !token => json!({ "N": number(u)? }),
                _ => value(u, token, depth)?,
            };
            item.insert(name.into(), v);
        }
    }
    if u.ratio(1, 6)? {
        item.insert(text(u, false)?, value(u, false, depth)?);
    }
    Ok(Value::Object(item))
}

/// Any attribute value; `token`: it stands where a token is stored, and may hold one.
fn value(u: &mut Unstructured<'_>, token: bool, depth: u8) -> Result<Value> {
    let s = |u: &mut Unstructured<'_>| -> Result<String> {
        if token && u.arbitrary()? {
            Ok((*u.choose(&[OURS, THEIRS])?).to_owned())
        } else {
            text(u, false)
        }
    };
    Ok(match u.int_in_range(0..=13u8)? {
        0 => json!({ "S": s(u)? }),
        1 => json!({ "N": number(u)? }),
        2 => json!({ "N": u.arbitrary::<i64>()? }),
        3 => json!({ "BOOL": u.arbitrary::<bool>()? }),
        4 => json!({ "NULL": true }),
        5 => json!({ "B": s(u)? }),
        6 => json!({ "SS": [s(u)?, s(u)?] }),
        7 => json!({ "NS": [number(u)?] }),
        8 => json!({ "BS": [s(u)?] }),
        9 if depth < 2 => json!({ "L": [value(u, token, depth + 1)?] }),
        10 if depth < 2 => json!({ "M": { "a": value(u, token, depth + 1)? } }),
        11 => json!({ "ZZ": s(u)? }),
        12 => json!({ "S": s(u)?, "N": number(u)? }),
        _ => json!(s(u)?),
    })
}

/// A number as DynamoDB's string: near the manager's clock and the fencing tokens it expects,
/// or any text.
fn number(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(match u.int_in_range(0..=7u8)? {
        0 => (NOW + i64::from(u.int_in_range(-5..=60i8)?)).to_string(),
        1 => (1_000_000u64 + u64::from(u.arbitrary::<u8>()?)).to_string(),
        2 => u.arbitrary::<u64>()?.to_string(),
        3 => u.arbitrary::<i64>()?.to_string(),
        4 => "1e3".to_owned(),
        5 => "1030.5".to_owned(),
        6 => "-0".to_owned(),
        _ => text(u, false)?,
    })
}

/// Short text; `may_quote`: it may hold our token (a server's own text).
fn text(u: &mut Unstructured<'_>, may_quote: bool) -> Result<String> {
    let len = u.int_in_range(0..=12usize)?;
    let mut text = String::with_capacity(len);
    for _ in 0..len {
        text.push(u.arbitrary::<char>()?);
    }
    if may_quote && u.ratio(1, 8)? {
        text.push_str(QUOTE);
    }
    Ok(text)
}
