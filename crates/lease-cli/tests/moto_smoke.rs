//! Smoke test of the commands against moto (`LEASE_MOTO_ENDPOINT`), which, unlike dynalite,
//! has TTL and returns the holder with a failed conditional write.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_sdk_dynamodb::types::AttributeValue;
use common::{Server, assert_one_line_error, code, describe};
use serde_json::Value;

#[test]
fn table_acquire_inspect_release_check_on_moto() {
    let server = Server::moto();

    // table create enabled TTL; table check verifies all of it.
    let output = server.run(&["table", "create"]);
    assert_eq!(code(&output), 0, "{}", describe(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("TTL enabled on \"ttl\""));
    let output = server.run(&["table", "check"]);
    assert_eq!(code(&output), 0, "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("TTL enabled"),
        "{}",
        describe(&output)
    );
    assert!(output.stderr.is_empty(), "{}", describe(&output));

    let output = server.run(&["acquire", "deploy", "--duration", "30s"]);
    assert_eq!(code(&output), 0, "{}", describe(&output));
    let acquired: Value = serde_json::from_slice(&output.stdout).unwrap();
    let token = acquired["token"].as_str().unwrap().to_owned();
    let fence = acquired["fencing_token"].as_u64().unwrap().to_string();

    let inspected = server.inspect("deploy");
    assert_eq!(inspected["state"], "held");
    assert_eq!(inspected["fencing_token"], acquired["fencing_token"]);
    assert!(inspected["holder"].as_str().unwrap().starts_with("tok:"));
    assert!(!inspected.to_string().contains(&token));

    // moto returns the holder with the failed write.
    let output = server.run(&["acquire", "deploy", "--no-wait"]);
    assert_eq!(code(&output), 73);
    assert_one_line_error(&output, "held by tok:");

    let output = server.run(&["run", "deploy", "--no-wait", "--", "true"]);
    assert_eq!(code(&output), 73, "{}", describe(&output));

    let output = server.run(&[
        "release",
        "deploy",
        "--token",
        &token,
        "--fencing-token",
        &fence,
    ]);
    assert_eq!(code(&output), 0, "{}", describe(&output));
    assert_eq!(server.inspect("deploy")["state"], "released");

    let output = server.run(&["run", "deploy", "--no-wait", "--", "sh", "-c", "exit 4"]);
    assert_eq!(code(&output), 4, "{}", describe(&output));

    // An item that is not a readable lease (no token): moto returns it with the failed
    // acquire, which names the attribute.
    let expires = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 60;
    server.put_item(&[
        ("pk", AttributeValue::S("broken".into())),
        ("sk", AttributeValue::S("LOCK".into())),
        ("lease_expires_at", AttributeValue::N(expires.to_string())),
    ]);
    let output = server.run(&["run", "broken", "--no-wait", "--", "true"]);
    assert_eq!(code(&output), 65, "{}", describe(&output));
    assert_one_line_error(&output, "lease_token");

    let output = server.run(&["list", "--prefix", "deploy", "--output", "json"]);
    assert_eq!(code(&output), 0, "{}", describe(&output));
    let listed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(
        (listed[0]["key"].as_str(), listed[0]["state"].as_str()),
        (Some("deploy"), Some("released"))
    );
}

/// A table whose TTL is on another attribute: `table create` says which option fits it, in
/// `lease`'s terms, and exits 65 (the table does not fit), like `table check`.
#[test]
fn table_create_with_ttl_on_another_attribute_names_the_option() {
    let server = Server::moto(); // its table has TTL on "ttl"
    let output = server.run(&["--ttl-attribute", "expires", "table", "create"]);
    assert_eq!(code(&output), 65, "{}", describe(&output));
    assert_one_line_error(&output, "--ttl-attribute \"ttl\"");
    let check = server.run(&["--ttl-attribute", "expires", "table", "check"]);
    assert_eq!(code(&check), 65, "{}", describe(&check));
    assert_eq!(output.stderr, check.stderr, "create and check say the same");
}

#[test]
fn run_holds_several_keys_together_on_moto_and_dynalite_says_unsupported() {
    let server = Server::moto();
    let output = server.run(&[
        "run",
        "ledger-a",
        "ledger-b",
        "--",
        "sh",
        "-c",
        "printf '%s\\n--\\n%s\\n' \"$LEASE_KEYS\" \"$LEASE_FENCING_TOKENS\"",
    ]);
    assert_eq!(code(&output), 0, "{}", describe(&output));
    let printed = String::from_utf8_lossy(&output.stdout).into_owned();
    let (keys, fences) = printed.split_once("--\n").unwrap();
    assert_eq!(keys.trim(), "ledger-a\nledger-b", "{printed}");
    assert!(
        fences.lines().any(|l| l.starts_with("ledger-a=")),
        "{printed}"
    );
    assert!(
        fences.lines().any(|l| l.starts_with("ledger-b=")),
        "{printed}"
    );
    for key in ["ledger-a", "ledger-b"] {
        assert_eq!(server.inspect(key)["state"], "released", "{key}");
    }

    // One key held: nothing is acquired, and the error names the held key.
    let output = server.run(&["acquire", "ledger-b", "--duration", "60s"]);
    assert_eq!(code(&output), 0, "{}", describe(&output));
    let output = server.run(&["run", "ledger-a", "ledger-b", "--no-wait", "--", "true"]);
    assert_eq!(code(&output), 73, "{}", describe(&output));
    assert_one_line_error(&output, "ledger-b by tok:");
    assert_eq!(server.inspect("ledger-a")["state"], "released");

    // --permits takes one name.
    let output = server.run(&["run", "a", "b", "--permits", "2", "--", "true"]);
    assert_eq!(code(&output), 64, "{}", describe(&output));

    // dynalite has no transactions.
    let dynalite = Server::dynalite();
    let output = dynalite.run(&["run", "ledger-a", "ledger-b", "--", "true"]);
    assert_eq!(code(&output), 74, "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("not supported"),
        "{}",
        describe(&output)
    );
}
