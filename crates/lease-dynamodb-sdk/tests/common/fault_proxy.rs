//! A fault-injecting HTTP/1.1 proxy on loopback, between a real SDK client and a test server
//! (dynalite). It reads each request to its end (headers and `Content-Length` body) before it
//! decides what to do with it, so a fault hits one request even on a kept-alive connection:
//!
//! | [`Fault`] | the request | the client |
//! |---|---|---|
//! | `Pass` | forwarded | gets the answer |
//! | `DropResponse` | forwarded and answered (applied) | is reset (TCP RST) instead of answered |
//! | `Reset` | not forwarded | is reset (TCP RST) |
//! | `Delay(d)` | forwarded and answered (applied) | gets the answer `d` later (if still there) |
//! | `Blackhole` | not forwarded | never answered; the connection stays open until the client closes it |
//! | `Throttle` | not forwarded | gets DynamoDB's throttling answer (HTTP 400 `ProvisionedThroughputExceededException`) |
//!
//! The standing fault ([`FaultProxy::set`]) applies to every request; faults queued with
//! [`FaultProxy::once`] apply to the next requests, one each, before it. Every request is logged
//! ([`FaultProxy::log`]) with the fault it met and the upstream's HTTP status, before the
//! client can see the outcome: a test that has its answer (or error) can read the log.
//!
//! Each upstream exchange uses a fresh connection (no stale kept-alive upstream). The proxy runs
//! on its own one-thread tokio runtime, so it keeps serving whatever the test's runtime does;
//! dropping it closes every connection. Declared by the test files that use it
//! (`#[path = "common/fault_proxy.rs"] mod fault_proxy;`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does with a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Forward it and pass the answer back.
    Pass,
    /// Forward it (the server applies it), read the answer, then reset the client's connection
    /// instead of answering: the client cannot know that the request was applied.
    DropResponse,
    /// Reset the client's connection without forwarding the request.
    Reset,
    /// Forward it, then hold the answer this long before passing it back (past the client's
    /// timeout, the client has gone and the late answer is lost).
    Delay(Duration),
    /// Read the request, never forward it, never answer.
    Blackhole,
    /// Answer as DynamoDB does when a table's throughput is exceeded, without forwarding.
    Throttle,
}

impl Fault {
    /// Whether a request that meets this fault reaches the server.
    pub(crate) fn forwards(self) -> bool {
        matches!(self, Self::Pass | Self::DropResponse | Self::Delay(_))
    }
}

/// One request the proxy read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Exchange {
    /// The DynamoDB operation, from `X-Amz-Target` (`UpdateItem`).
    pub(crate) operation: String,
    /// The fault it met.
    pub(crate) fault: Fault,
    /// The server's HTTP status, if the request was forwarded and answered.
    pub(crate) status: Option<u16>,
    /// The request's body (test data: it holds lease tokens).
    pub(crate) body: String,
}

#[derive(Debug)]
struct State {
    standing: Fault,
    next: VecDeque<Fault>,
    log: Vec<Exchange>,
}

type Shared = Arc<Mutex<State>>;

fn lock(state: &Shared) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A bound on one upstream exchange: a test server that hangs must not pin a task for ever.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(10);

/// The proxy: listens on `127.0.0.1` (a free port), forwards to a loopback upstream.
#[derive(Debug)]
pub(crate) struct FaultProxy {
    endpoint: String,
    state: Shared,
    runtime: Option<tokio::runtime::Runtime>,
}

impl FaultProxy {
    /// Starts a proxy to the `http://127.0.0.1:port` (or `http://localhost:port`) endpoint
    /// `upstream`, passing everything through.
    pub(crate) fn start(upstream: &str) -> Self {
        let target = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        assert!(
            target.starts_with("127.0.0.1:") || target.starts_with("localhost:"),
            "the fault proxy forwards to a loopback http:// endpoint only, not {upstream:?}"
        );
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("fault-proxy")
            .enable_all()
            .build()
            .expect("a runtime for the fault proxy");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let endpoint = format!("http://{}", listener.local_addr().expect("its address"));
        let listener = {
            let _entered = runtime.enter();
            TcpListener::from_std(listener).expect("a tokio listener")
        };
        let state = Arc::new(Mutex::new(State {
            standing: Fault::Pass,
            next: VecDeque::new(),
            log: Vec::new(),
        }));
        runtime.spawn(accept(listener, Arc::from(target), Arc::clone(&state)));
        Self {
            endpoint,
            state,
            runtime: Some(runtime),
        }
    }

    /// The proxy's endpoint, `http://127.0.0.1:port`, for the client.
    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Sets the standing fault, for every request after the queued ones (from the next request
    /// read; a request already held, delayed or blackholed stays so).
    pub(crate) fn set(&self, fault: Fault) {
        lock(&self.state).standing = fault;
    }

    /// Queues `fault` for one request: the next one not taken by an earlier queued fault.
    pub(crate) fn once(&self, fault: Fault) {
        lock(&self.state).next.push_back(fault);
    }

    /// Every request read so far, in the order the proxy decided on them.
    pub(crate) fn log(&self) -> Vec<Exchange> {
        lock(&self.state).log.clone()
    }

    /// The logged requests of `operation`.
    pub(crate) fn log_of(&self, operation: &str) -> Vec<Exchange> {
        self.log()
            .into_iter()
            .filter(|exchange| exchange.operation == operation)
            .collect()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // Does not block (allowed in an async context); every task, and so every socket, is
        // dropped.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

async fn accept(listener: TcpListener, upstream: Arc<str>, state: Shared) {
    loop {
        match listener.accept().await {
            Ok((client, _)) => {
                let _ = client.set_nodelay(true);
                tokio::spawn(serve(client, Arc::clone(&upstream), Arc::clone(&state)));
            }
            // Out of file descriptors, say: try again shortly rather than spin.
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// Serves one client connection, request by request.
async fn serve(mut client: TcpStream, upstream: Arc<str>, state: Shared) {
    let mut buffer = Vec::new();
    while let Some(request) = read_message(&mut client, &mut buffer, false).await {
        let fault = {
            let mut state = lock(&state);
            let standing = state.standing;
            state.next.pop_front().unwrap_or(standing)
        };
        let response = if fault.forwards() {
            tokio::time::timeout(UPSTREAM_TIMEOUT, forward(&upstream, &request.bytes))
                .await
                .ok()
                .flatten()
        } else {
            None
        };
        lock(&state).log.push(Exchange {
            operation: request.operation(),
            fault,
            status: response.as_ref().and_then(Message::status),
            body: String::from_utf8_lossy(request.body()).into_owned(),
        });
        match (fault, response) {
            (Fault::Blackhole, _) => {
                // Keep the connection open, reading (and discarding) until the client gives up.
                while fill(&mut client, &mut buffer).await {
                    buffer.clear();
                }
                return;
            }
            (Fault::Throttle, _) => {
                if client.write_all(throttled().as_bytes()).await.is_err() {
                    return;
                }
            }
            (Fault::Pass | Fault::Delay(_), Some(response)) => {
                if let Fault::Delay(delay) = fault {
                    tokio::time::sleep(delay).await;
                }
                if client.write_all(&response.bytes).await.is_err() {
                    return;
                }
            }
            // Reset, DropResponse, or an upstream that failed: the client's connection is reset.
            _ => {
                reset(client);
                return;
            }
        }
    }
}

/// DynamoDB's answer to a request over a table's provisioned throughput (the SDK retries it as
/// throttling; the store classifies it as "throttled: not applied").
fn throttled() -> String {
    let body = concat!(
        r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","#,
        r#""message":"Rate of requests exceeds the allowed throughput."}"#,
    );
    format!(
        "HTTP/1.1 400 Bad Request\r\nx-amzn-RequestId: FAULTPROXYTHROTTLED\r\n\
         Content-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Closes `stream` with a TCP RST rather than a FIN.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// Sends `request` upstream on a fresh connection and reads the answer.
async fn forward(upstream: &str, request: &[u8]) -> Option<Message> {
    let mut server = TcpStream::connect(upstream).await.ok()?;
    let _ = server.set_nodelay(true);
    server.write_all(request).await.ok()?;
    let mut buffer = Vec::new();
    read_message(&mut server, &mut buffer, true).await
}

/// One HTTP/1.1 message, as read.
struct Message {
    /// The start line and headers, with the blank line (as text).
    head: String,
    /// Where the body starts in `bytes`.
    body_start: usize,
    /// The whole message (head and body) as it came, to pass on unchanged.
    bytes: Vec<u8>,
}

impl Message {
    fn header(&self, name: &str) -> Option<&str> {
        header(&self.head, name)
    }

    fn body(&self) -> &[u8] {
        &self.bytes[self.body_start..]
    }

    /// A response's status code.
    fn status(&self) -> Option<u16> {
        self.head.split_whitespace().nth(1)?.parse().ok()
    }

    /// A request's DynamoDB operation (`DynamoDB_20120810.UpdateItem` → `UpdateItem`).
    fn operation(&self) -> String {
        self.header("x-amz-target")
            .and_then(|target| target.rsplit('.').next())
            .unwrap_or("?")
            .to_owned()
    }
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// Reads one message from `stream` into `buffer` (which keeps what follows it). The body is
/// `Content-Length` bytes, or chunked; without either, empty for a request (`to_eof` false)
/// and up to the end of the stream for a response (`to_eof` true). `None` if the stream ends
/// or fails first.
async fn read_message(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    to_eof: bool,
) -> Option<Message> {
    let head_end = loop {
        if let Some(at) = find(buffer, b"\r\n\r\n") {
            break at + 4;
        }
        if !fill(stream, buffer).await {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let length = header(&head, "content-length").and_then(|value| value.parse::<usize>().ok());
    let chunked = header(&head, "transfer-encoding")
        .is_some_and(|value| value.to_ascii_lowercase().contains("chunked"));
    let end = if let Some(length) = length {
        while buffer.len() < head_end + length {
            if !fill(stream, buffer).await {
                return None;
            }
        }
        head_end + length
    } else if chunked {
        loop {
            if let Some(body) = chunked_length(&buffer[head_end..]) {
                break head_end + body;
            }
            if !fill(stream, buffer).await {
                return None;
            }
        }
    } else if to_eof {
        while fill(stream, buffer).await {}
        buffer.len()
    } else {
        head_end
    };
    let bytes = buffer.drain(..end).collect();
    Some(Message {
        head,
        body_start: head_end,
        bytes,
    })
}

/// The length of a complete chunked body at the start of `body`, or `None` if it is not all
/// there yet.
fn chunked_length(body: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        let line_end = at + find(&body[at..], b"\r\n")?;
        let size = std::str::from_utf8(&body[at..line_end]).ok()?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            // Optional trailers, then a blank line.
            return Some(line_end + find(&body[line_end..], b"\r\n\r\n")? + 4);
        }
        at = line_end + 2 + size + 2;
        if at > body.len() {
            return None;
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// Reads what is there into `buffer`; `false` at the end of the stream or on an error.
async fn fill(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> bool {
    let mut chunk = [0_u8; 16 * 1024];
    match stream.read(&mut chunk).await {
        Ok(0) | Err(_) => false,
        Ok(read) => {
            buffer.extend_from_slice(&chunk[..read]);
            true
        }
    }
}
