//! `lease run` end to end: the built binary against dynalite (`LEASE_DYNALITE_ENDPOINT`).
//!
//! Mutual exclusion of two runs, no survivor of the command's process group after the lease is
//! lost (taken over, or the store unreachable: fault class B25), signals while waiting and while
//! running, and the documented exit statuses. Leases are 3 s; loss is simulated by overwriting
//! the lock item, or by cutting a TCP proxy in front of dynalite. Outcomes are checked by
//! polling with bounded timeouts, never by timing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Stdio;

use aws_sdk_dynamodb::types::AttributeValue;
use common::{
    PATIENCE, Proxy, Server, assert_one_line_error, code, describe, eventually, is_running,
    pids_in, scratch, stderr, stderr_lines, unique, wait_for_line, wait_within,
};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// `path` quoted for `sh -c`.
fn quoted(path: &std::path::Path) -> String {
    format!("'{}'", path.display())
}

#[test]
fn two_runs_on_one_key_never_overlap() {
    let server = Server::dynalite();
    let dir = scratch();
    let marks = dir.path().join("marks");
    let m = quoted(&marks);
    // Each command runs past half the lease, so it is renewed while it runs.
    let script = format!("echo start $$ >> {m}; sleep 1.6; echo stop $$ >> {m}");
    let mut runs: Vec<_> = (0..3)
        .map(|_| {
            server
                .lease(&[
                    "run",
                    "report",
                    "--duration",
                    "3s",
                    "--wait",
                    "60s",
                    "--",
                    "sh",
                    "-c",
                    &script,
                ])
                .spawn()
                .unwrap()
        })
        .collect();
    for run in &mut runs {
        assert!(wait_within(run, PATIENCE).success());
    }
    let text = std::fs::read_to_string(&marks).unwrap();
    let lines: Vec<(&str, &str)> = text
        .lines()
        .map(|line| line.split_once(' ').unwrap())
        .collect();
    assert_eq!(lines.len(), 6, "{text}");
    // start A, stop A, start B, stop B, ...: no command started before the previous one stopped.
    for pair in lines.chunks(2) {
        assert_eq!(pair[0].0, "start", "{text}");
        assert_eq!(pair[1].0, "stop", "{text}");
        assert_eq!(pair[0].1, pair[1].1, "interleaved commands: {text}");
    }
    assert_eq!(server.inspect("report")["state"], "released");
}

#[test]
fn lease_taken_over_stops_the_whole_process_group() {
    let server = Server::dynalite();
    let dir = scratch();
    let pids = dir.path().join("pids");
    let p = quoted(&pids);
    let script = format!("echo $$ > {p}; sleep 1000 & echo $! >> {p}; wait");
    let mut run = server
        .lease(&[
            "run",
            "job",
            "--duration",
            "3s",
            "--kill-after",
            "5s",
            "--",
            "sh",
            "-c",
            &script,
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = stderr_lines(&mut run);
    let pids = pids_in(&pids, 2);
    assert!(pids.iter().all(|&pid| is_running(pid)));

    server.overwrite_lock("job");

    let status = wait_within(&mut run, PATIENCE);
    assert_eq!(status.code(), Some(76));
    let message = wait_for_line(&lines, "lease: ").join("\n");
    assert!(message.contains("lost: not ours any more"), "{message}");
    assert!(message.contains("stopped the command"), "{message}");
    for pid in pids {
        assert!(
            !is_running(pid),
            "process {pid} survived the loss of the lease"
        );
    }
    // The other holder's lease is untouched.
    let item = server.inspect("job");
    assert_eq!(
        (item["state"].as_str(), item["fencing_token"].as_u64()),
        (Some("held"), Some(1))
    );
}

#[test]
fn a_command_that_ignores_sigterm_is_killed_after_the_grace_period() {
    let server = Server::dynalite();
    let dir = scratch();
    let pids = dir.path().join("pids");
    let p = quoted(&pids);
    // `trap "" TERM` is inherited by the background sleep too: only SIGKILL ends them.
    let script = format!("trap '' TERM; echo $$ > {p}; sleep 1000 & echo $! >> {p}; wait");
    let mut run = server
        .lease(&[
            "-v",
            "run",
            "job",
            "--duration",
            "3s",
            "--kill-after",
            "1s",
            "--",
            "sh",
            "-c",
            &script,
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = stderr_lines(&mut run);
    let pids = pids_in(&pids, 2);

    server.overwrite_lock("job");

    wait_for_line(&lines, "sending SIGKILL");
    assert_eq!(wait_within(&mut run, PATIENCE).code(), Some(76));
    wait_for_line(
        &lines,
        "stopped the command (SIGTERM, then SIGKILL to its process group)",
    );
    for pid in pids {
        assert!(!is_running(pid), "process {pid} survived SIGKILL");
    }
}

/// B25: the store becomes unreachable for the holder; its command (and the command's own
/// children) must be gone before another holder's command starts.
#[test]
fn outage_stops_the_command_before_another_holder_starts() {
    let server = Server::dynalite();
    let mut proxy = Proxy::start(&server.endpoint);
    let dir = scratch();
    let (pids, marks) = (dir.path().join("pids"), dir.path().join("marks"));
    let (p, m) = (quoted(&pids), quoted(&marks));
    // The command's child writes a tick every 50 ms until it is killed.
    let first_script = format!(
        "echo $$ > {p}; (while :; do echo tick >> {m}; sleep 0.05; done) & echo $! >> {p}; wait"
    );
    let mut first = server
        .via(&proxy.endpoint)
        .lease(&[
            "run",
            "job",
            "--duration",
            "3s",
            "--kill-after",
            "10s",
            "--",
            "sh",
            "-c",
            &first_script,
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let first_lines = stderr_lines(&mut first);
    let pids = pids_in(&pids, 2);
    eventually("the first command ticks", || {
        std::fs::read_to_string(&marks).is_ok_and(|t| t.contains("tick"))
    });

    proxy.cut();
    let second_script = format!("echo start >> {m}");
    let mut second = server
        .lease(&[
            "run",
            "job",
            "--wait",
            "60s",
            "--",
            "sh",
            "-c",
            &second_script,
        ])
        .spawn()
        .unwrap();

    assert_eq!(wait_within(&mut first, PATIENCE).code(), Some(76));
    let message = wait_for_line(&first_lines, "lease: ").join("\n");
    assert!(
        message.contains("at risk") || message.contains("could not confirm"),
        "{message}"
    );
    for pid in pids {
        assert!(!is_running(pid), "process {pid} survived the outage");
    }
    assert!(wait_within(&mut second, PATIENCE).success());
    let text = std::fs::read_to_string(&marks).unwrap();
    let start = text
        .lines()
        .position(|l| l == "start")
        .expect("second command ran");
    assert!(
        text.lines().skip(start + 1).all(|l| l != "tick"),
        "the first command still ran after the second started:\n{text}"
    );
}

#[test]
fn sigterm_while_waiting_exits_without_starting_the_command() {
    let server = Server::dynalite();
    let held = server.run(&["acquire", "job", "--duration", "60s"]);
    assert!(held.status.success(), "{}", describe(&held));
    let dir = scratch();
    let started = dir.path().join("started");
    let script = format!("touch {}", quoted(&started));
    let mut run = server
        .lease(&["-v", "run", "job", "--", "sh", "-c", &script])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = stderr_lines(&mut run);
    wait_for_line(&lines, "waiting for lease job");

    kill(
        Pid::from_raw(i32::try_from(run.id()).unwrap()),
        Signal::SIGTERM,
    )
    .unwrap();

    assert_eq!(wait_within(&mut run, PATIENCE).code(), Some(143));
    let message = wait_for_line(&lines, "interrupted").join("\n");
    assert!(message.contains("the command was not started"), "{message}");
    assert!(!started.exists(), "the command started after SIGTERM");
}

#[test]
fn signals_are_forwarded_to_the_command_and_its_status_returned() {
    let server = Server::dynalite();
    for (signal, status) in [
        (Signal::SIGTERM, 7),
        (Signal::SIGHUP, 9),
        (Signal::SIGINT, 5),
        // Signals whose default action would end `lease` and leave the command running
        // without its lease.
        (Signal::SIGUSR1, 11),
        (Signal::SIGUSR2, 12),
        (Signal::SIGALRM, 13),
        (Signal::SIGQUIT, 14),
    ] {
        let key = unique("signal");
        let dir = scratch();
        let (pids, got) = (dir.path().join("pids"), dir.path().join("got"));
        let name = signal.as_str();
        let script = format!(
            "trap 'echo {name} > {g}; exit {status}' {trap}; echo $$ > {p}; sleep 1000 & echo $! >> {p}; wait",
            g = quoted(&got),
            p = quoted(&pids),
            trap = name.trim_start_matches("SIG"),
        );
        let mut run = server
            .lease(&["run", &key, "--", "sh", "-c", &script])
            .spawn()
            .unwrap();
        let pids = pids_in(&pids, 2);

        kill(Pid::from_raw(i32::try_from(run.id()).unwrap()), signal).unwrap();

        assert_eq!(
            wait_within(&mut run, PATIENCE).code(),
            Some(status),
            "{name}"
        );
        assert_eq!(std::fs::read_to_string(&got).unwrap().trim(), name);
        assert!(
            !is_running(pids[1]),
            "{name}: the background child survived"
        );
        assert_eq!(server.inspect(&key)["state"], "released", "{name}");
    }
}

#[test]
fn processes_left_behind_are_stopped_before_the_release() {
    let server = Server::dynalite();
    let dir = scratch();
    let pids = dir.path().join("pids");
    let script = format!("sleep 1000 & echo $! > {}", quoted(&pids));
    let output = server.run(&[
        "run",
        "job",
        "--kill-after",
        "5s",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    assert_eq!(code(&output), 0, "{}", describe(&output));
    assert!(
        stderr(&output).contains("left processes"),
        "{}",
        describe(&output)
    );
    let pid = pids_in(&pids, 1)[0];
    assert!(
        !is_running(pid),
        "the left-behind process survived the release"
    );
    assert_eq!(server.inspect("job")["state"], "released");
}

#[test]
fn the_command_gets_the_lease_in_its_environment() {
    let server = Server::dynalite();
    let output = server.run(&[
        "run",
        "env-job",
        "--",
        "sh",
        "-c",
        "echo \"$LEASE_KEY $LEASE_FENCING_TOKEN $LEASE_EXPIRES_AT ${LEASE_TOKEN:-no-token}\"",
    ]);
    assert_eq!(code(&output), 0, "{}", describe(&output));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let fields: Vec<&str> = stdout.split_whitespace().collect();
    assert_eq!(fields[0], "env-job");
    assert!(fields[1].parse::<u64>().unwrap() > 0, "{stdout}");
    assert!(
        fields[2].parse::<u64>().unwrap() > 1_700_000_000,
        "{stdout}"
    );
    assert_eq!(
        fields[3], "no-token",
        "the bearer token must not reach the command"
    );
}

#[test]
fn exit_statuses_are_as_documented() {
    let server = Server::dynalite();

    // The command's own status, and 128 + signal when it is killed.
    let output = server.run(&["run", "a", "--", "sh", "-c", "exit 3"]);
    assert_eq!(code(&output), 3, "{}", describe(&output));
    assert_eq!(server.inspect("a")["state"], "released");
    let output = server.run(&["run", "a", "--", "sh", "-c", "kill -KILL $$"]);
    assert_eq!(code(&output), 137, "{}", describe(&output));

    // 127: not found (the lease is released again).
    let output = server.run(&["run", "b", "--", "/nonexistent/lease-cli-command"]);
    assert_eq!(code(&output), 127);
    assert_one_line_error(&output, "command not found");
    assert_eq!(server.inspect("b")["state"], "released");

    // 73: held, no wait; 75: timed out waiting.
    assert!(
        server
            .run(&["acquire", "c", "--duration", "60s"])
            .status
            .success()
    );
    let output = server.run(&["run", "c", "--no-wait", "--", "true"]);
    assert_eq!(code(&output), 73);
    assert_one_line_error(&output, "is held by tok:");
    let output = server.run(&["acquire", "c", "--no-wait"]);
    assert_eq!(code(&output), 73);
    let output = server.run(&["run", "c", "--wait", "1s", "--", "true"]);
    assert_eq!(code(&output), 75);
    assert_one_line_error(&output, "timed out waiting for lease c");

    // 74: store error (no such table).
    let missing = Server {
        endpoint: server.endpoint.clone(),
        table: unique("lease-cli-missing"),
    };
    let output = missing.run(&["run", "d", "--", "true"]);
    assert_eq!(code(&output), 74);
    assert_one_line_error(&output, "table create");

    // 64: usage errors.
    for args in [
        &["run", "d", "--duration", "5parsecs", "--", "true"][..],
        &["run", "d"],
        &["run", "d", "--duration", "0s", "--", "true"],
        &[
            "run",
            "d",
            "--duration",
            "3s",
            "--renew-every",
            "2s",
            "--",
            "true",
        ],
        &["--bogus"],
    ] {
        let output = server.run(args);
        assert_eq!(code(&output), 64, "{args:?}: {}", describe(&output));
        assert_one_line_error(&output, "");
    }
    let mut no_table = server.lease(&["run", "d", "--", "true"]);
    no_table.env_remove("LEASE_TABLE");
    let output = common::output_within(no_table, PATIENCE);
    assert_eq!(code(&output), 64);
    assert_one_line_error(&output, "--table");

    // 65: the item at the key is not a readable lease (no token). dynalite returns no old item
    // with a failed acquire, so the acquire reports it held; inspect reads and names it.
    let expires = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 60;
    server.put_item(&[
        ("pk", AttributeValue::S("e".into())),
        ("sk", AttributeValue::S("LOCK".into())),
        ("lease_expires_at", AttributeValue::N(expires.to_string())),
    ]);
    let output = server.run(&["inspect", "e"]);
    assert_eq!(code(&output), 65, "{}", describe(&output));
    assert_one_line_error(&output, "lease_token");
}

#[test]
fn scratch_folders_are_removed_when_dropped() {
    let dir = scratch();
    let path = dir.path().to_owned();
    assert!(
        path.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("lease-cli-test-"),
        "{}",
        path.display()
    );
    std::fs::write(path.join("pids"), "1\n").unwrap();
    drop(dir);
    assert!(!path.exists(), "{} was left behind", path.display());
}

#[test]
fn runs_with_permits_are_at_most_n_at_once() {
    let server = Server::dynalite();
    let dir = scratch();
    let marks = dir.path().join("marks");
    let m = quoted(&marks);
    let script =
        format!("echo start $LEASE_PERMIT >> {m}; sleep 1.6; echo stop $LEASE_PERMIT >> {m}");
    let mut runs: Vec<_> = (0..4)
        .map(|_| {
            server
                .lease(&[
                    "run",
                    "pool",
                    "--permits",
                    "2",
                    "--duration",
                    "3s",
                    "--wait",
                    "60s",
                    "--",
                    "sh",
                    "-c",
                    &script,
                ])
                .spawn()
                .unwrap()
        })
        .collect();
    // While two hold the permits, a run that does not wait is refused.
    let started = std::time::Instant::now();
    while std::fs::read_to_string(&marks)
        .unwrap_or_default()
        .matches("start")
        .count()
        < 2
    {
        assert!(started.elapsed() < PATIENCE, "two runs did not start");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let output = server.run(&["run", "pool", "--permits", "2", "--no-wait", "--", "true"]);
    assert_eq!(code(&output), 73, "{}", describe(&output));
    assert_one_line_error(&output, "permits of semaphore pool are held");
    for run in &mut runs {
        assert!(wait_within(run, PATIENCE).success());
    }
    let text = std::fs::read_to_string(&marks).unwrap();
    let (mut running, mut most) = (0i32, 0i32);
    let mut slots = std::collections::BTreeSet::new();
    for line in text.lines() {
        let (what, slot) = line.split_once(' ').unwrap();
        assert!(["0", "1"].contains(&slot), "slot {slot}: {text}");
        if what == "start" {
            running += 1;
            assert!(slots.insert(slot), "two runs on one permit: {text}");
        } else {
            running -= 1;
            assert!(slots.remove(slot), "{text}");
        }
        most = most.max(running);
    }
    assert_eq!(text.lines().count(), 8, "{text}");
    assert_eq!(most, 2, "at most 2 at once, and 2 did run together: {text}");
}

#[test]
fn a_real_time_signal_does_not_end_lease_and_stops_the_command() {
    let server = Server::dynalite();
    let key = unique("rtsignal");
    let dir = scratch();
    let (pids, got) = (dir.path().join("pids"), dir.path().join("got"));
    let script = format!(
        "trap 'echo TERM > {g}; exit 9' TERM; echo $$ > {p}; sleep 1000 & echo $! >> {p}; wait",
        g = quoted(&got),
        p = quoted(&pids),
    );
    let mut run = server
        .lease(&["run", &key, "--", "sh", "-c", &script])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = stderr_lines(&mut run);
    let pids = pids_in(&pids, 2);
    let sent = std::process::Command::new("kill")
        .args(["-s", "RTMIN+2", &run.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    assert_eq!(
        wait_within(&mut run, PATIENCE).code(),
        Some(9),
        "lease ended by the signal"
    );
    assert_eq!(std::fs::read_to_string(&got).unwrap().trim(), "TERM");
    assert!(!is_running(pids[1]), "the background child survived");
    let message = wait_for_line(&lines, "cannot be forwarded as it is").join("\n");
    assert!(message.contains("SIGTERM"), "{message}");
    assert_eq!(server.inspect(&key)["state"], "released");
}
