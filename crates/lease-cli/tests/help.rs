//! `--help` on every command, with an example; usage errors are one line with status 64. No
//! server needed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::ErrorKind;
use std::net::TcpListener;
use std::process::{Command, Stdio};

use common::{LEASE, PATIENCE, assert_one_line_error, code, output_within};

fn lease(args: &[&str]) -> std::process::Output {
    let mut command = Command::new(LEASE);
    command
        .args(args)
        .env_remove("LEASE_TABLE")
        .env_remove("LEASE_ENDPOINT");
    output_within(command, PATIENCE)
}

/// Every command line that has its own help: the top level and each subcommand.
const COMMANDS: [&[&str]; 11] = [
    &[],
    &["run"],
    &["acquire"],
    &["refresh"],
    &["release"],
    &["inspect"],
    &["list"],
    &["table", "create"],
    &["table", "check"],
    &["completions"],
    &["man"],
];

#[test]
fn every_command_has_help_with_an_example() {
    for command in COMMANDS {
        let args: Vec<&str> = command.iter().copied().chain(["--help"]).collect();
        let output = lease(&args);
        assert_eq!(code(&output), 0, "{args:?}");
        let help = String::from_utf8(output.stdout).unwrap();
        assert!(help.contains("Examples:"), "{args:?}: {help}");
        assert!(help.contains("lease"), "{args:?}: {help}");
    }
}

#[test]
fn run_and_main_help_document_the_exit_statuses() {
    for args in [&["--help"][..], &["run", "--help"]] {
        let help = String::from_utf8(lease(args).stdout).unwrap();
        for status in [
            "64", "65", "70", "73", "74", "75", "76", "126", "127", "128+N",
        ] {
            assert!(
                help.contains(&format!("  {status} ")),
                "{args:?}: {status} missing"
            );
        }
    }
    let help = String::from_utf8(lease(&["acquire", "--help"]).stdout).unwrap();
    assert!(help.contains("BEARER TOKEN"), "{help}");
}

#[test]
fn usage_errors_are_one_line_with_status_64() {
    for (args, needle) in [
        (&["run", "job"][..], "<COMMAND>"),
        (
            &["run", "job", "--duration", "soon", "--", "true"],
            "--duration",
        ),
        (
            &["run", "job", "--wait", "1s", "--no-wait", "--", "true"],
            "--no-wait",
        ),
        (&["frobnicate"], "frobnicate"),
        (&["inspect", "job"], "--table"),
        (
            &[
                "--table",
                "nosuch",
                "table",
                "check",
                "--no-ttl",
                "--ttl-buffer",
                "2h",
            ],
            "'--no-ttl' cannot be used with '--ttl-buffer <DURATION>'",
        ),
        // Across the subcommand name, where clap's own conflict check does not look.
        (
            &["--no-ttl", "run", "job", "--ttl-buffer", "2h", "--", "true"],
            "'--no-ttl' cannot be used with '--ttl-buffer <DURATION>'",
        ),
        (&["table"], "needs a command: create, check"),
        (&[], "needs a command: run, acquire"),
    ] {
        let output = lease(args);
        assert_eq!(code(&output), 64, "{args:?}");
        assert_one_line_error(&output, needle);
    }
}

/// A default shown in an option's help closes its text: `[default: 1s]` in the middle of a
/// sentence ("... [default: 1s]. Leases must be longer") reads as a glitch.
#[test]
fn defaults_close_the_option_help() {
    for command in COMMANDS {
        for flag in ["-h", "--help"] {
            let args: Vec<&str> = command.iter().copied().chain([flag]).collect();
            let help = String::from_utf8(lease(&args).stdout).unwrap();
            for line in help.lines() {
                let mut rest = line;
                while let Some(start) = rest.find("[default: ") {
                    let after = &rest[start..];
                    let end = after.find(']').unwrap_or(after.len() - 1);
                    rest = &after[end + 1..];
                    assert!(
                        rest.trim().is_empty() || rest.trim_start().starts_with('['),
                        "{args:?}: text after a default in {line:?}"
                    );
                }
            }
        }
    }
}

/// A command line, the environment it adds, the variables it removes, and what its error says.
type Case<'a> = (
    &'a [&'a str],
    &'a [(&'a str, &'a str)],
    &'a [&'a str],
    &'a str,
);

/// Bad input on the command line or in the environment is a usage error (64), found before
/// any request: the endpoint is a listening socket that nobody accepts on, and after every case
/// no connection is waiting there. A good command line does connect to it (the control).
#[test]
fn bad_input_exits_64_before_connecting() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let lease_with = |args: &[&str], env: &[(&str, &str)], unset: &[&str]| {
        let mut command = Command::new(LEASE);
        command
            .args(args)
            .env("LEASE_ENDPOINT", &endpoint)
            .env("LEASE_TABLE", "locks")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/nonexistent/lease-cli-test")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/lease-cli-test")
            .env_remove("AWS_DEFAULT_REGION")
            .env_remove("AWS_PROFILE")
            .env_remove("LEASE_KEY")
            .env_remove("LEASE_TOKEN")
            .stdin(Stdio::null());
        command.envs(env.iter().copied());
        for name in unset {
            command.env_remove(name);
        }
        output_within(command, PATIENCE)
    };
    let long_key = "k".repeat(2049);
    let long_table = "t".repeat(256);
    let long_token = "x".repeat(1025);
    let cases: [Case; 32] = [
        // Keys, durations and renew periods the library rejects.
        (&["acquire", ""], &[], &[], "the partition key is empty"),
        (&["acquire", &long_key], &[], &[], "2049 bytes"),
        (
            &["release", "--token", "t", "--fencing-token", "1"],
            &[("LEASE_KEY", "")],
            &[],
            "the partition key is empty",
        ),
        (
            &["acquire", "job", "--duration", "0s"],
            &[],
            &[],
            "--duration",
        ),
        (
            &["acquire", "job", "--duration", "1s"],
            &[],
            &[],
            "--max-clock-skew",
        ),
        (
            &["acquire", "job", "--duration", "11years"],
            &[],
            &[],
            "10-year maximum",
        ),
        (
            &[
                "refresh",
                "job",
                "--token",
                "t",
                "--fencing-token",
                "7",
                "--duration",
                "0s",
            ],
            &[],
            &[],
            "--duration",
        ),
        (
            &[
                "run",
                "job",
                "--duration",
                "3s",
                "--renew-every",
                "2s",
                "--",
                "true",
            ],
            &[],
            &[],
            "--renew-every",
        ),
        // Durations and values the command line cannot read, and options that conflict.
        (
            &["acquire", "job", "--duration", "soon"],
            &[],
            &[],
            "--duration",
        ),
        (
            &["acquire", "job", "--duration", "30"],
            &[],
            &[],
            "--duration",
        ),
        (
            &["acquire", "job", "--wait", "1s", "--no-wait"],
            &[],
            &[],
            "--no-wait",
        ),
        (
            &["--no-ttl", "acquire", "job", "--ttl-buffer", "2h"],
            &[],
            &[],
            "cannot be used with",
        ),
        (&["list", "--limit", "0"], &[], &[], "--limit"),
        (
            &["--expiry-unit", "weeks", "inspect", "job"],
            &[],
            &[],
            "--expiry-unit",
        ),
        // Tokens: empty, blank, or none at all (stdin is empty).
        (
            &["refresh", "job"],
            &[("LEASE_TOKEN", "")],
            &[],
            "no lease token",
        ),
        (
            &["release", "job"],
            &[("LEASE_TOKEN", "  ")],
            &[],
            "no lease token",
        ),
        (&["release", "job"], &[], &[], "no lease token"),
        // A semaphore has 1 to 1000 permits.
        (
            &["run", "job", "--permits", "0", "--", "true"],
            &[],
            &[],
            "1..=1000",
        ),
        // Table configuration, from options and from LEASE_TABLE.
        (&["inspect", "job"], &[], &["LEASE_TABLE"], "--table"),
        (
            &["inspect", "job"],
            &[("LEASE_TABLE", "a b")],
            &[],
            "invalid table name",
        ),
        (
            &["inspect", "job"],
            &[("LEASE_TABLE", "ab")],
            &[],
            "invalid table name",
        ),
        (
            &["inspect", "job"],
            &[("LEASE_TABLE", &long_table)],
            &[],
            "invalid table name",
        ),
        (
            &["--token-attribute", "pk", "inspect", "job"],
            &[],
            &[],
            "both named",
        ),
        (
            &["--sort-key", "", "inspect", "job"],
            &[],
            &[],
            "--sort-key",
        ),
        (
            &["--ttl-buffer", "2s", "inspect", "job"],
            &[],
            &[],
            "--ttl-buffer",
        ),
        (
            &["--max-clock-skew", "2h", "inspect", "job"],
            &[],
            &[],
            "--max-clock-skew",
        ),
        // No AWS region anywhere (environment, profile; instance metadata is off).
        (&["inspect", "job"], &[], &["AWS_REGION"], "no AWS region"),
        // An endpoint the SDK cannot send to: refused before anything is built. (Sent, the
        // SDK's error printed the whole request, token included.)
        (
            &[
                "release",
                "job",
                "--token",
                "my-secret-token",
                "--fencing-token",
                "7",
            ],
            &[("LEASE_ENDPOINT", "not a url")],
            &[],
            "invalid endpoint \"not a url\"",
        ),
        (
            &["inspect", "job", "--endpoint", "http://[::1"],
            &[],
            &[],
            "--endpoint",
        ),
        (
            &["inspect", "job", "--endpoint", "127.0.0.1:8000"],
            &[],
            &[],
            "http://127.0.0.1:8000",
        ),
        // A token over the 1024-byte limit.
        (
            &[
                "release",
                "job",
                "--token",
                &long_token,
                "--fencing-token",
                "7",
            ],
            &[],
            &[],
            "check --token",
        ),
        // A request timeout that could never be met.
        (
            &["acquire", "job", "--request-timeout", "0s"],
            &[],
            &[],
            "is zero",
        ),
    ];
    for (args, env, unset, needle) in cases {
        let output = lease_with(args, env, unset);
        assert_eq!(code(&output), 64, "{args:?} {env:?}");
        let printed = format!("{output:?}");
        assert!(!printed.contains("my-secret-token"), "{printed}");
        assert_one_line_error(&output, needle);
        match listener.accept() {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            other => panic!("{args:?} {env:?} connected to the endpoint: {other:?}"),
        }
    }

    // The control: a good command line connects (and, with nobody answering, times out: 74).
    let output = lease_with(&["inspect", "job", "--request-timeout", "100ms"], &[], &[]);
    assert_eq!(code(&output), 74, "{}", common::describe(&output));
    assert!(listener.accept().is_ok(), "the control did not connect");
}
