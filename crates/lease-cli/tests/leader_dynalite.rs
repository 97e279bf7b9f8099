//! `lease leader` end to end: the built binary against dynalite, while this test campaigns
//! with the library on the same table.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc::channel;
use std::time::Duration;

use common::{Server, code, describe, wait_within};
use lease_dynamodb_sdk::{DynamoDbStore, GuardOptions, LeaseConfig, LeaseManager, ReleaseOutcome};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

/// A child process killed when the test ends, whether it passes or panics (a failed assertion
/// must not leave `lease leader --follow` running).
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn json(output: &std::process::Output) -> Value {
    assert!(output.status.success(), "{}", describe(output));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test]
async fn leader_shows_and_follows_the_leader_of_an_election() {
    let server = Server::dynalite();
    let config = LeaseConfig::builder(server.table.as_str()).build().unwrap();
    let manager = LeaseManager::new(DynamoDbStore::new(server.client()), config);

    let none = json(&server.run(&["leader", "shard-7", "--output", "json"]));
    assert_eq!(none["leading"], false, "{none}");

    let leadership = manager
        .campaign(
            "shard-7",
            "host-a:7000",
            Duration::from_secs(30),
            GuardOptions::default(),
        )
        .await
        .unwrap();
    let shown = server.run(&["leader", "shard-7"]);
    let text = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert!(shown.status.success(), "{}", describe(&shown));
    assert!(text.contains("leader \"host-a:7000\""), "{text}");
    assert!(
        text.contains(&leadership.fence().get().to_string()),
        "{text}"
    );

    // Following: the leader now, then no leader once it resigns.
    let mut child = KillOnDrop(
        server
            .lease(&[
                "leader", "shard-7", "--follow", "--every", "100ms", "--output", "json",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let (tx, lines) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = || -> Value {
        let line = lines.recv_timeout(Duration::from_secs(20)).unwrap();
        serde_json::from_str(&line).unwrap()
    };
    let first = next();
    assert_eq!(first["leading"], true, "{first}");
    assert_eq!(first["value"], "host-a:7000", "{first}");
    assert_eq!(leadership.resign().await.unwrap(), ReleaseOutcome::Released);
    let after = next();
    assert_eq!(after["leading"], false, "{after}");

    kill(
        Pid::from_raw(i32::try_from(child.0.id()).unwrap()),
        Signal::SIGINT,
    )
    .unwrap();
    let status = wait_within(&mut child.0, Duration::from_secs(20));
    assert_eq!(status.code(), Some(0));

    // An election whose value attribute is renamed is read with --value-attribute.
    let renamed = LeaseConfig::builder(server.table.as_str())
        .value_attribute_name("who")
        .build()
        .unwrap();
    let other = LeaseManager::new(DynamoDbStore::new(server.client()), renamed);
    let leadership = other
        .campaign(
            "shard-8",
            "host-b",
            Duration::from_secs(30),
            GuardOptions::default(),
        )
        .await
        .unwrap();
    let shown = json(&server.run(&[
        "--value-attribute",
        "who",
        "leader",
        "shard-8",
        "--output",
        "json",
    ]));
    assert_eq!(shown["value"], "host-b", "{shown}");
    drop(leadership);

    // A bad name is refused before any request, with the usage status.
    let refused = server.run(&["leader", ""]);
    assert_eq!(code(&refused), 64, "{}", describe(&refused));
}
