//! `lease completions SHELL` and `lease man`, end to end: the built binary's scripts and pages
//! name the real commands and options. No server needed; the bash test runs the script in bash.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::{LEASE, PATIENCE, assert_one_line_error, code, describe, output_within, scratch};

/// The commands of `lease` (without clap's `help`).
const COMMANDS: [&str; 10] = [
    "run",
    "acquire",
    "refresh",
    "release",
    "inspect",
    "list",
    "leader",
    "table",
    "completions",
    "man",
];

fn lease(args: &[&str]) -> std::process::Output {
    let mut command = Command::new(LEASE);
    command
        .args(args)
        .env_remove("LEASE_TABLE")
        .env_remove("LEASE_ENDPOINT");
    output_within(command, PATIENCE)
}

/// Stdout of a command that must succeed.
fn stdout_of(args: &[&str]) -> String {
    let output = lease(args);
    assert_eq!(code(&output), 0, "{args:?}: {}", describe(&output));
    assert!(output.stderr.is_empty(), "{args:?}: {}", describe(&output));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn bash_completion_names_every_command() {
    let script = stdout_of(&["completions", "bash"]);
    assert!(script.contains("complete -F _lease"), "{script}");
    // The words offered after `lease`: every command, and the global options.
    let top = script
        .split("\n        lease)\n")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .unwrap_or_else(|| panic!("no top-level case in: {script}"));
    let words: Vec<&str> = top
        .trim()
        .trim_start_matches("opts=\"")
        .trim_end_matches('"')
        .split_whitespace()
        .collect();
    for word in COMMANDS
        .iter()
        .chain(&["--table", "--endpoint", "--verbose"])
    {
        assert!(words.contains(word), "{word} not offered: {top}");
    }
}

/// The script, loaded into bash, completes what a user types: commands, `table`'s commands,
/// and a command's options.
#[test]
fn bash_completes_commands_and_options() {
    let complete = |line: &[&str]| -> Vec<String> {
        // _lease COMMAND CURRENT PREVIOUS, with COMP_WORDS / COMP_CWORD as bash sets them.
        let words = line
            .iter()
            .map(|w| format!("'{w}'"))
            .collect::<Vec<_>>()
            .join(" ");
        let current = line.last().unwrap();
        let previous = line[line.len() - 2];
        let program = format!(
            "source <(\"$LEASE\" completions bash) || exit 9\n\
             COMP_WORDS=({words}); COMP_CWORD={}\n\
             _lease lease '{current}' '{previous}'\n\
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            line.len() - 1
        );
        let mut bash = Command::new("bash");
        bash.args(["--noprofile", "--norc", "-c", &program])
            .env("LEASE", LEASE);
        let output = output_within(bash, PATIENCE);
        assert_eq!(code(&output), 0, "{line:?}: {}", describe(&output));
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    };
    let offered = complete(&["lease", ""]);
    for command in COMMANDS {
        assert!(
            offered.iter().any(|w| w == command),
            "{command}: {offered:?}"
        );
    }
    assert_eq!(complete(&["lease", "acq"]), ["acquire"]);
    let table = complete(&["lease", "table", ""]);
    for command in ["create", "check"] {
        assert!(table.iter().any(|w| w == command), "{command}: {table:?}");
    }
    let mut no = complete(&["lease", "run", "--no-"]);
    no.sort();
    assert_eq!(no, ["--no-ttl", "--no-wait"]);
    let shells = complete(&["lease", "completions", ""]);
    for shell in ["bash", "elvish", "fish", "powershell", "zsh"] {
        assert!(shells.iter().any(|w| w == shell), "{shell}: {shells:?}");
    }
}

#[test]
fn every_shell_has_a_script_naming_the_commands() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = stdout_of(&["completions", shell]);
        for command in COMMANDS {
            assert!(script.contains(command), "{shell}: no {command}");
        }
        // fish writes `-l kill-after`.
        assert!(script.contains("kill-after"), "{shell}: no run option");
    }
}

#[test]
fn the_man_page_is_roff_and_names_every_command() {
    let page = stdout_of(&["man"]);
    assert!(page.contains("\n.TH lease 1 "), "{page}");
    assert!(page.contains("\n.SH NAME\n"), "{page}");
    assert!(page.contains("\n.SH SYNOPSIS\n"), "{page}");
    assert!(page.contains("\n.SH SUBCOMMANDS\n"), "{page}");
    for command in COMMANDS {
        // roff escapes the hyphen: lease\-run(1), the page that documents `lease run`.
        assert!(
            page.contains(&format!("\nlease\\-{command}(1)\n")),
            "{command}: {page}"
        );
    }
    assert!(!page.contains("lease\\-help(1)"), "{page}");
    // Options with their environment variables, and the exit statuses of --help.
    assert!(page.contains("\\fB\\-\\-table\\fR"), "{page}");
    assert!(page.contains("LEASE_TABLE"), "{page}");
    assert!(page.contains("Exit statuses:"), "{page}");
}

#[test]
fn each_command_has_its_own_page() {
    let page = stdout_of(&["man", "run"]);
    assert!(page.contains("\n.TH lease-run 1 "), "{page}");
    assert!(page.contains("\\-\\-kill\\-after"), "{page}");
    let page = stdout_of(&["man", "table", "create"]);
    assert!(page.contains("\n.TH lease-table-create 1 "), "{page}");

    for (args, needle) in [
        (&["man", "frobnicate"][..], "run, acquire, refresh"),
        (&["man", "table", "drop"], "create, check"),
        (&["man", "--dir", "/tmp", "run"], "--dir"),
        (&["completions", "tcsh"], "tcsh"),
        (&["completions"], "<SHELL>"),
    ] {
        let output = lease(args);
        assert_eq!(code(&output), 64, "{args:?}: {}", describe(&output));
        assert_one_line_error(&output, needle);
    }
}

#[test]
fn man_dir_writes_every_page() {
    let scratch = scratch();
    let dir = scratch.path().join("man").join("man1");
    let output = lease(&["man", "--dir", dir.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}", describe(&output));
    assert!(output.stdout.is_empty(), "{}", describe(&output));
    let mut written: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    let mut expected: Vec<String> = COMMANDS
        .iter()
        .map(|c| format!("lease-{c}.1"))
        .chain(["lease.1", "lease-table-create.1", "lease-table-check.1"].map(String::from))
        .collect();
    expected.sort();
    assert_eq!(written, expected);
    for name in &written {
        let page = std::fs::read_to_string(dir.join(name)).unwrap();
        let title = name.trim_end_matches(".1");
        assert!(
            page.contains(&format!("\n.TH {title} 1 ")),
            "{name}: {page}"
        );
    }
    // The page on stdout is the page in the directory.
    assert_eq!(
        stdout_of(&["man", "run"]),
        std::fs::read_to_string(dir.join("lease-run.1")).unwrap()
    );
}

#[test]
fn man_dir_that_cannot_be_written_exits_74() {
    let scratch = scratch();
    let file = scratch.path().join("file");
    std::fs::write(&file, "not a directory").unwrap();
    let output = lease(&["man", "--dir", file.to_str().unwrap()]);
    assert_eq!(code(&output), 74, "{}", describe(&output));
    assert_one_line_error(&output, "cannot write");
}
