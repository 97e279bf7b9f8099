//! `--help` on every command, with an example; usage errors are one line with status 64. No
//! server needed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

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
const COMMANDS: [&[&str]; 9] = [
    &[],
    &["run"],
    &["acquire"],
    &["refresh"],
    &["release"],
    &["inspect"],
    &["list"],
    &["table", "create"],
    &["table", "check"],
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
