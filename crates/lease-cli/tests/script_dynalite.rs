//! `lease acquire`, `refresh`, `release`, `inspect`, `list` and `table` end to end: the built
//! binary against dynalite (`LEASE_DYNALITE_ENDPOINT`), as a shell script uses them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Server, assert_one_line_error, code, describe, stderr};
use serde_json::Value;

fn json(output: &std::process::Output) -> Value {
    assert!(output.status.success(), "{}", describe(output));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn acquire_refresh_release_by_token() {
    let server = Server::dynalite();
    let acquired = json(&server.run(&["acquire", "backup", "--duration", "10s"]));
    let token = acquired["token"].as_str().unwrap().to_owned();
    let fence = acquired["fencing_token"].as_u64().unwrap();
    let fence_arg = fence.to_string();
    assert_eq!(acquired["key"], "backup");
    assert_eq!(acquired["sort_key"], "LOCK");
    assert!(acquired["expires_at"].as_str().unwrap().ends_with('Z'));

    // Inspect and list show the fingerprint, never the token.
    let inspected = server.run(&["inspect", "backup"]);
    let text = String::from_utf8_lossy(&inspected.stdout).into_owned();
    assert!(text.contains("held") && text.contains("tok:"), "{text}");
    assert!(text.contains(&fence.to_string()), "{text}");
    assert!(!text.contains(&token), "inspect printed the token: {text}");
    let listed = server.run(&["list"]);
    assert!(!String::from_utf8_lossy(&listed.stdout).contains(&token));

    // Refresh with the token on stdin: printed without the token.
    let refreshed = server.run_with_stdin(
        &[
            "refresh",
            "backup",
            "--duration",
            "20s",
            "--fencing-token",
            &fence_arg,
        ],
        &format!("{token}\n"),
    );
    let refreshed_text = String::from_utf8_lossy(&refreshed.stdout).into_owned();
    assert!(!refreshed_text.contains(&token), "{refreshed_text}");
    let refreshed: Value = serde_json::from_str(&refreshed_text).unwrap();
    assert!(
        refreshed["expires_at_epoch_seconds"].as_i64()
            > acquired["expires_at_epoch_seconds"].as_i64(),
        "{refreshed} vs {acquired}"
    );

    // Another token neither refreshes nor releases it.
    let output = server.run(&[
        "refresh",
        "backup",
        "--token",
        "not-the-token",
        "--fencing-token",
        &fence_arg,
    ]);
    assert_eq!(code(&output), 76);
    assert_one_line_error(&output, "not ours any more");
    let output = server.run(&[
        "release",
        "backup",
        "--token",
        "not-the-token",
        "--fencing-token",
        &fence_arg,
    ]);
    assert_eq!(code(&output), 76);
    assert_eq!(json_stdout(&output)["outcome"], "not_held");
    assert_eq!(server.inspect("backup")["state"], "held");

    // Release with the token as a flag; a second release is still "released" (idempotent).
    let released = json(&server.run(&[
        "release",
        "backup",
        "--token",
        &token,
        "--fencing-token",
        &fence_arg,
    ]));
    assert_eq!(released["outcome"], "released");
    let again = json(&server.run(&[
        "release",
        "backup",
        "--token",
        &token,
        "--fencing-token",
        &fence_arg,
    ]));
    assert_eq!(again["outcome"], "released");
    let inspected = server.inspect("backup");
    assert_eq!(inspected["state"], "released");
    assert_eq!(inspected["fencing_token"].as_u64(), Some(fence));

    // After the release the token refreshes nothing.
    let output = server.run(&[
        "refresh",
        "backup",
        "--token",
        &token,
        "--fencing-token",
        &fence_arg,
    ]);
    assert_eq!(code(&output), 76);

    // The next holder gets a greater fencing token.
    let next = json(&server.run(&["acquire", "backup", "--no-wait"]));
    assert!(next["fencing_token"].as_u64().unwrap() > fence);
}

fn json_stdout(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn missing_token_is_a_usage_error() {
    let server = Server::dynalite();
    let output = server.run(&["release", "backup"]);
    assert_eq!(code(&output), 64);
    assert_one_line_error(&output, "no lease token");
}

#[test]
fn a_shell_script_passes_the_lease_through_the_environment() {
    let server = Server::dynalite();
    let lease = common::LEASE;
    let script = format!(
        "set -e
         eval \"$('{lease}' acquire nightly --duration 10s --output env)\"
         test -n \"$LEASE_TOKEN\" && test -n \"$LEASE_FENCING_TOKEN\"
         echo \"key=$LEASE_KEY\"
         '{lease}' refresh --duration 10s > /dev/null
         '{lease}' release --output env"
    );
    let output = common::output_within(server.shell(&script), common::PATIENCE);
    assert!(output.status.success(), "{}", describe(&output));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("key=nightly"), "{stdout}");
    assert!(
        stdout.contains("export LEASE_RELEASE_OUTCOME='released'"),
        "{stdout}"
    );
    assert_eq!(server.inspect("nightly")["state"], "released");
}

#[test]
fn list_shows_the_leases_with_a_prefix_and_a_limit() {
    let server = Server::dynalite();
    for key in ["CACHE#a", "CACHE#b", "CACHE#c", "JOB#x"] {
        assert!(
            server
                .run(&["acquire", key, "--duration", "30s"])
                .status
                .success()
        );
    }
    assert!(
        server
            .run(&["--sort-key", "OTHER", "acquire", "CACHE#z"])
            .status
            .success()
    );

    let keys = |output: &std::process::Output| -> Vec<String> {
        json(output)
            .as_array()
            .unwrap()
            .iter()
            .map(|lease| lease["key"].as_str().unwrap().to_owned())
            .collect()
    };
    let output = server.run(&["list", "--prefix", "CACHE#", "--output", "json"]);
    assert_eq!(keys(&output), ["CACHE#a", "CACHE#b", "CACHE#c"]);
    // The same over many pages of two items.
    let output = server.run(&[
        "list",
        "--prefix",
        "CACHE#",
        "--output",
        "json",
        "--page-size",
        "2",
    ]);
    assert_eq!(keys(&output), ["CACHE#a", "CACHE#b", "CACHE#c"]);

    let output = server.run(&["list"]);
    let table = String::from_utf8(output.stdout).unwrap();
    assert!(table.starts_with("KEY"), "{table}");
    assert_eq!(table.lines().count(), 5, "{table}");
    assert!(
        table.lines().all(|line| !line.contains("CACHE#z")),
        "{table}"
    );

    let output = server.run(&["list", "--prefix", "CACHE#", "--limit", "2"]);
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(String::from_utf8_lossy(&output.stdout).lines().count(), 3);
    assert!(
        stderr(&output).contains("raise --limit"),
        "{}",
        describe(&output)
    );

    let output = server.run(&["list", "--prefix", "NOPE#"]);
    assert!(
        String::from_utf8(output.stdout)
            .unwrap()
            .contains("no leases")
    );
}

/// An item at the lock sort key that is not a readable lease is listed as malformed, saying
/// why (as `lease inspect` does), never left out; the application's own items at other sort
/// keys are not leases. A missing table is a store failure (74) with what to do.
#[test]
fn list_shows_malformed_items_and_fails_on_a_missing_table() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let server = Server::dynalite();
    assert!(server.run(&["acquire", "job-a"]).status.success());
    server.put_item(&[
        ("pk", AttributeValue::S("job-b".to_owned())),
        ("sk", AttributeValue::S("LOCK".to_owned())),
        ("lease_expires_at", AttributeValue::N("0".to_owned())),
    ]);
    server.put_item(&[
        ("pk", AttributeValue::S("job-a".to_owned())),
        ("sk", AttributeValue::S("META".to_owned())),
        ("s3_key", AttributeValue::S("isr/0123abcd.html".to_owned())),
    ]);
    let listed = json(&server.run(&["list", "--output", "json"]));
    let leases = listed.as_array().unwrap();
    assert_eq!(leases.len(), 2, "{listed}");
    assert_eq!(
        (leases[0]["key"].as_str(), leases[0]["state"].as_str()),
        (Some("job-a"), Some("held"))
    );
    assert_eq!(
        (leases[1]["key"].as_str(), leases[1]["state"].as_str()),
        (Some("job-b"), Some("malformed"))
    );
    let error = leases[1]["error"].as_str().unwrap();
    assert!(error.contains("\"lease_token\" is missing"), "{error}");
    let output = server.run(&["list"]);
    assert_eq!(code(&output), 0, "{}", describe(&output));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.lines()
            .any(|line| line.starts_with("job-b: ") && line.contains("lease_token")),
        "{text}"
    );

    let missing = Server {
        table: common::unique("lease-cli-missing"),
        ..server
    };
    let output = missing.run(&["list"]);
    assert_eq!(code(&output), 74, "{}", describe(&output));
    assert_one_line_error(
        &output,
        &format!("cannot list the leases in table {}", missing.table),
    );
    assert_one_line_error(
        &output,
        &format!("'lease --table {} table create'", missing.table),
    );
}

#[test]
fn list_json_is_one_array() {
    let server = Server::dynalite();
    // An empty table: an empty array, not nothing.
    let output = server.run(&["list", "--output", "json"]);
    assert_eq!(code(&output), 0, "{}", describe(&output));
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim_end(), "[]");

    // Acquired out of key order: listed in key order.
    let acquired = json(&server.run(&["acquire", "job-b", "--duration", "30s"]));
    let token = acquired["token"].as_str().unwrap();
    json(&server.run(&["acquire", "job-a", "--duration", "30s"]));
    let output = server.run(&["list", "--output", "json"]);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(text.lines().count(), 1, "not one line: {text}");
    assert!(!text.contains(token), "list printed a token: {text}");
    let listed = json(&output);
    let leases = listed.as_array().unwrap();
    assert_eq!(leases.len(), 2, "{text}");
    for lease in leases {
        let mut fields: Vec<&str> = lease
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            [
                "expires_at",
                "expires_in_seconds",
                "fencing_token",
                "holder",
                "key",
                "sort_key",
                "state"
            ],
            "{text}"
        );
        assert_eq!(lease["sort_key"], "LOCK");
        assert_eq!(lease["state"], "held");
        assert!(lease["holder"].as_str().unwrap().starts_with("tok:"));
        assert!(lease["expires_at"].as_str().unwrap().ends_with('Z'));
        assert!(lease["expires_in_seconds"].as_i64().unwrap() > 0);
        assert!(lease["fencing_token"].as_u64().is_some());
    }
    // Sorted by key.
    assert_eq!(
        (leases[0]["key"].as_str(), leases[1]["key"].as_str()),
        (Some("job-a"), Some("job-b"))
    );
}

#[test]
fn table_check_and_create_are_commands() {
    let server = Server::dynalite();
    // dynalite cannot enable TTL; without TTL the table fits.
    let output = server.run(&["--no-ttl", "table", "check"]);
    assert_eq!(code(&output), 0, "{}", describe(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("fits"));
    // Creating an existing table is fine.
    let output = server.run(&["table", "create"]);
    assert_eq!(code(&output), 0, "{}", describe(&output));
    // A table whose key does not fit.
    let output = server.run(&[
        "--sort-key-attribute",
        "range",
        "--no-ttl",
        "table",
        "check",
    ]);
    assert_eq!(code(&output), 65, "{}", describe(&output));
    assert_one_line_error(&output, "range");
    // No table.
    let missing = Server {
        table: common::unique("lease-cli-missing"),
        ..server
    };
    let output = missing.run(&["table", "check"]);
    assert_eq!(code(&output), 74, "{}", describe(&output));
    assert_one_line_error(
        &output,
        &format!("'lease --table {} table create'", missing.table),
    );
    assert_names_no_library_item(&output);
}

/// What a shell user cannot call: the library's names, in neither stream.
fn assert_names_no_library_item(output: &std::process::Output) {
    common::library_names::assert_names_no_library_item(&format!(
        "{}{}",
        stderr(output),
        String::from_utf8_lossy(&output.stdout)
    ));
}

#[test]
fn table_check_names_the_cli_option_for_a_ttl_mismatch() {
    let server = Server::dynalite();
    // dynalite reports TTL as disabled, while lease writes TTL by default.
    let output = server.run(&["table", "check"]);
    assert_eq!(code(&output), 65, "{}", describe(&output));
    assert_one_line_error(&output, "TTL is not enabled");
    assert_one_line_error(&output, "--no-ttl");
    assert_one_line_error(&output, "lease table create");
    assert_names_no_library_item(&output);
    // dynalite has no TTL: no promise that 'lease table create' enables it here.
    let message = stderr(&output);
    assert!(!message.contains("enables it"), "{message}");
    assert!(
        message.contains("where the store supports TTL"),
        "{message}"
    );
}

#[test]
fn table_create_on_a_store_without_ttl_points_to_no_ttl() {
    let server = Server::dynalite();
    let output = server.run(&["table", "create"]);
    assert_eq!(code(&output), 0, "{}", describe(&output));
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.contains("this store has no TTL"), "{said}");
    assert!(said.contains("--no-ttl"), "{said}");
    // ... and with it, the table fits.
    let output = server.run(&["--no-ttl", "table", "check"]);
    assert_eq!(code(&output), 0, "{}", describe(&output));
}

#[test]
fn acquire_output_pipes_into_refresh_and_release_and_the_fence_printed_is_the_stored_one() {
    let server = Server::dynalite();
    let acquired = server.run(&["acquire", "piped", "--duration", "30s"]);
    let line = String::from_utf8_lossy(&acquired.stdout).into_owned();
    let fence = json(&acquired)["fencing_token"].as_u64().unwrap();

    // acquire's JSON line on stdin; a wrong fencing token given is not echoed back.
    let refreshed = server.run_with_stdin(
        &[
            "refresh",
            "piped",
            "--duration",
            "30s",
            "--fencing-token",
            "1",
        ],
        &line,
    );
    assert_eq!(json(&refreshed)["fencing_token"].as_u64(), Some(fence));
    assert!(
        stderr(&refreshed).contains(&format!("fencing token is {fence}, not the 1 given")),
        "{}",
        describe(&refreshed)
    );
    // Without a fencing token: refresh prints the stored one; release needs none.
    let refreshed = server.run_with_stdin(&["refresh", "piped"], &line);
    assert_eq!(json(&refreshed)["fencing_token"].as_u64(), Some(fence));
    let released = server.run_with_stdin(&["release", "piped"], &line);
    assert_eq!(json(&released)["outcome"], "released");

    // acquire's line for another key is refused (release conditions on the token, so it
    // would only have said "not held").
    let output = server.run_with_stdin(&["release", "other-key"], &line);
    assert_eq!(code(&output), 64, "{}", describe(&output));
    assert_one_line_error(&output, "for key \"piped\"");

    // JSON that is not acquire's is refused before any request.
    let output = server.run_with_stdin(&["release", "piped"], "{\"tok\": 1}\n");
    assert_eq!(code(&output), 64);
    assert_one_line_error(&output, "not like lease acquire's output");
}
