//! Helpers for the end-to-end tests: the built `lease` binary against a real server (dynalite
//! or moto, endpoints from `LEASE_DYNALITE_ENDPOINT` / `LEASE_MOTO_ENDPOINT`), a fresh table per
//! test, polling with bounded timeouts, and a TCP proxy that can be cut to simulate an outage.

#![allow(dead_code, unreachable_pub)]

pub mod library_names;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use tempfile::TempDir;

/// The built binary.
pub const LEASE: &str = env!("CARGO_BIN_EXE_lease");

/// A bound for everything a test waits for: generous, so that a slow machine only makes a
/// test slower, never wrong.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A unique name: `prefix-<pid>-<nanos>-<n>`.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh scratch directory (`lease-cli-test-*` in the temp dir), removed with everything in
/// it when the returned guard is dropped, also when the test fails. Keep the guard alive while
/// anything uses the directory: `let dir = scratch(); let file = dir.path().join("file");`.
pub fn scratch() -> TempDir {
    tempfile::Builder::new()
        .prefix("lease-cli-test-")
        .tempdir()
        .unwrap()
}

/// A fresh lock table on a server, and `lease` commands configured for it.
#[derive(Clone, Debug)]
pub struct Server {
    pub endpoint: String,
    pub table: String,
}

impl Server {
    /// dynalite, with a fresh table created by `lease table create`.
    pub fn dynalite() -> Self {
        Self::new("LEASE_DYNALITE_ENDPOINT", "dynalite")
    }

    /// moto, with a fresh table created by `lease table create`.
    pub fn moto() -> Self {
        Self::new("LEASE_MOTO_ENDPOINT", "moto")
    }

    fn new(variable: &str, name: &str) -> Self {
        let endpoint = match std::env::var(variable) {
            Ok(endpoint) if !endpoint.is_empty() => endpoint,
            _ => panic!(
                "{variable} is not set: the lease CLI's {name} tests need a running server. \
                 Run scripts/test.sh, which starts dynalite and moto and sets it, \
                 or `eval \"$(scripts/servers.sh start)\"` before cargo test."
            ),
        };
        let server = Self {
            endpoint,
            table: unique("lease-cli"),
        };
        let created = server.run(&["table", "create"]);
        assert!(
            created.status.success(),
            "table create: {}",
            describe(&created)
        );
        server
    }

    /// The same table through another endpoint (a proxy).
    pub fn via(&self, endpoint: &str) -> Self {
        Self {
            endpoint: endpoint.to_owned(),
            table: self.table.clone(),
        }
    }

    /// `lease ARGS` for this server and table, with test credentials and nothing from the
    /// environment that could change what it does.
    pub fn lease(&self, args: &[&str]) -> Command {
        let mut command = Command::new(LEASE);
        command.args(args);
        self.configure(&mut command);
        command
    }

    /// `sh -c SCRIPT` with the environment of [`lease`](Self::lease).
    pub fn shell(&self, script: &str) -> Command {
        let mut command = Command::new("sh");
        command.arg("-c").arg(script);
        self.configure(&mut command);
        command
    }

    fn configure(&self, command: &mut Command) {
        command
            .env("LEASE_ENDPOINT", &self.endpoint)
            .env("LEASE_TABLE", &self.table)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/nonexistent/lease-cli-test")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/lease-cli-test")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env_remove("AWS_PROFILE")
            .env_remove("LEASE_KEY")
            .env_remove("LEASE_TOKEN")
            .stdin(Stdio::null());
    }

    /// Runs `lease ARGS` to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        output_within(self.lease(args), PATIENCE)
    }

    /// Runs `lease ARGS` with `input` on stdin.
    pub fn run_with_stdin(&self, args: &[&str], input: &str) -> Output {
        let mut command = self.lease(args);
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        collect(child, PATIENCE)
    }

    /// An SDK client for the server.
    pub fn client(&self) -> aws_sdk_dynamodb::Client {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new(
                "test",
                "test",
                None,
                None,
                "lease-cli-tests",
            ))
            .build();
        aws_sdk_dynamodb::Client::from_conf(config)
    }

    /// Writes the lock item of `key` as another holder would: token `intruder`, expiring in
    /// 60 s, fencing token 1. The holder's next renewal finds the lease not ours.
    pub fn overwrite_lock(&self, key: &str) {
        let expires = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 60;
        self.put_item(&[
            ("pk", AttributeValue::S(key.to_owned())),
            ("sk", AttributeValue::S("LOCK".to_owned())),
            ("lease_token", AttributeValue::S("intruder".to_owned())),
            ("lease_expires_at", AttributeValue::N(expires.to_string())),
            ("lease_fence", AttributeValue::N("1".to_owned())),
        ]);
    }

    /// Puts an item with `attributes` into the table.
    pub fn put_item(&self, attributes: &[(&str, AttributeValue)]) {
        let client = self.client();
        let mut put = client.put_item().table_name(&self.table);
        for (name, value) in attributes {
            put = put.item(*name, value.clone());
        }
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(put.send())
            .unwrap();
    }

    /// `lease inspect KEY --output json`, parsed.
    pub fn inspect(&self, key: &str) -> serde_json::Value {
        let output = self.run(&["inspect", key, "--output", "json"]);
        assert!(output.status.success(), "inspect: {}", describe(&output));
        serde_json::from_slice(&output.stdout).unwrap()
    }
}

/// Waits for `child` to exit, at most `timeout` (then kills it and fails).
pub fn wait_within(child: &mut Child, timeout: Duration) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("process {} did not exit within {timeout:?}", child.id());
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `command` to completion (stdout and stderr captured), at most `timeout`.
pub fn output_within(mut command: Command, timeout: Duration) -> Output {
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    collect(command.spawn().unwrap(), timeout)
}

fn collect(mut child: Child, timeout: Duration) -> Output {
    let stdout = reader(child.stdout.take());
    let stderr = reader(child.stderr.take());
    let status = wait_within(&mut child, timeout);
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

fn reader(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buffer = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut buffer);
        }
        buffer
    })
}

/// Stderr lines of a running child, as they come.
pub fn stderr_lines(child: &mut Child) -> Receiver<String> {
    let (lines, receiver) = channel();
    let stderr = child.stderr.take().expect("stderr must be piped");
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

/// Waits for a line containing `needle`; returns the lines seen up to and with it.
pub fn wait_for_line(lines: &Receiver<String>, needle: &str) -> Vec<String> {
    let deadline = Instant::now() + PATIENCE;
    let mut seen = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) => {
                let found = line.contains(needle);
                seen.push(line);
                if found {
                    return seen;
                }
            }
            Err(_) => break,
        }
    }
    panic!("no line with {needle:?} on stderr; saw {seen:?}");
}

/// Polls `condition` until it holds, at most [`PATIENCE`].
pub fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// The pids written one per line to `file`, once it has `count` of them.
pub fn pids_in(file: &Path, count: usize) -> Vec<i32> {
    let mut pids = Vec::new();
    eventually(&format!("{} has {count} pids", file.display()), || {
        pids = std::fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| line.trim().parse().ok())
            .collect();
        pids.len() >= count
    });
    pids
}

/// Whether process `pid` is running (exists and is not a zombie).
pub fn is_running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the first field after the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// The exit code, failing with the output if there is none.
pub fn code(output: &Output) -> i32 {
    output
        .status
        .code()
        .unwrap_or_else(|| panic!("killed by a signal: {}", describe(output)))
}

/// Stdout and stderr as text.
pub fn describe(output: &Output) -> String {
    format!(
        "status {:?}, stdout {:?}, stderr {:?}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Stderr as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts that stderr is exactly one line starting `lease: ` (an error, not a panic or dump)
/// and contains `needle`.
pub fn assert_one_line_error(output: &Output, needle: &str) {
    let text = stderr(output);
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines.len(), 1, "not one line: {}", describe(output));
    assert!(lines[0].starts_with("lease: "), "{}", describe(output));
    assert!(
        lines[0].contains(needle),
        "no {needle:?}: {}",
        describe(output)
    );
    assert!(!text.contains("panicked"), "{}", describe(output));
}

/// A TCP proxy to `upstream` on a free loopback port, which [`cut`](Self::cut) turns into an
/// unreachable endpoint: connections are reset and new ones refused.
pub struct Proxy {
    pub endpoint: String,
    stopped: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<TcpStream>>>,
    acceptor: Option<thread::JoinHandle<()>>,
}

impl Proxy {
    /// Starts a proxy to the `http://host:port` endpoint `upstream`.
    pub fn start(upstream: &str) -> Self {
        let target = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let stopped = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let acceptor = {
            let stopped = Arc::clone(&stopped);
            let connections = Arc::clone(&connections);
            thread::spawn(move || {
                while !stopped.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((client, _)) => {
                            let Ok(server) = TcpStream::connect(&target) else {
                                continue;
                            };
                            client.set_nonblocking(false).unwrap();
                            pipe(&client, &server, &connections);
                        }
                        Err(_) => thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        Self {
            endpoint,
            stopped,
            connections,
            acceptor: Some(acceptor),
        }
    }

    /// Closes the listener (new connections are refused) and every open connection.
    pub fn cut(&mut self) {
        self.stopped.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            acceptor.join().unwrap();
        }
        for connection in self.connections.lock().unwrap().drain(..) {
            let _ = connection.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
    }
}

/// Copies bytes both ways between `a` and `b` on two threads; remembers both for `cut`.
fn pipe(a: &TcpStream, b: &TcpStream, connections: &Mutex<Vec<TcpStream>>) {
    let mut open = connections.lock().unwrap();
    for (from, to) in [(a, b), (b, a)] {
        let (mut from, mut to) = (from.try_clone().unwrap(), to.try_clone().unwrap());
        thread::spawn(move || {
            let _ = std::io::copy(&mut from, &mut to);
            let _ = to.shutdown(Shutdown::Both);
            let _ = from.shutdown(Shutdown::Both);
        });
    }
    open.push(a.try_clone().unwrap());
    open.push(b.try_clone().unwrap());
}
