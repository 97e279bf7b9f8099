//! `lease completions` and `lease man`: shell completion scripts and man pages, generated from
//! the command line's definition ([`cli`](crate::cli)) by `clap_complete` and `clap_mangen`, so
//! they always match `--help`.

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;
use clap_mangen::Man;

use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::exit::{Failure, status};

/// The command's name, as installed (the binary of this crate).
const BIN_NAME: &str = "lease";

/// Runs `lease completions`: prints the script for the shell on stdout.
///
/// # Errors
/// 74 if stdout cannot be written.
pub(crate) fn completions(args: &CompletionsArgs) -> Result<u8, Failure> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), BIN_NAME, &mut script);
    print(&script)?;
    Ok(0)
}

/// Runs `lease man`: prints the page of lease or of one of its commands on stdout, or writes
/// every page into `--dir`.
///
/// # Errors
/// 64 for a command that does not exist; 74 if stdout or a page file cannot be written.
pub(crate) fn man(args: &ManArgs) -> Result<u8, Failure> {
    let root = man_command();
    if let Some(dir) = &args.dir {
        write_pages(&root, dir)?;
        return Ok(0);
    }
    let mut command = root;
    for word in &args.command {
        let choices = names(&command);
        command = command.find_subcommand(word).cloned().ok_or_else(|| {
            Failure::usage(format!(
                "no command '{} {word}' has a man page; its commands: {}",
                bin_name(&command),
                choices.join(", ")
            ))
        })?;
    }
    print(&render(&command)?)?;
    Ok(0)
}

/// The command line as the man pages show it: built (so that each command knows its full name,
/// `lease-table-create`), without clap's `help` command (`--help` is documented on every page).
fn man_command() -> clap::Command {
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    command
}

/// The page of `command` (section 1), in roff.
fn render(command: &clap::Command) -> Result<Vec<u8>, Failure> {
    let mut page = Vec::new();
    // Every page says which program and version it documents (not `run 0.1.0`).
    Man::new(command.clone())
        .source(format!("{BIN_NAME} {}", env!("CARGO_PKG_VERSION")))
        .render(&mut page)
        .map_err(|e| Failure::internal(format!("cannot render the man page: {e}")))?;
    let page = String::from_utf8(page)
        .map_err(|e| Failure::internal(format!("cannot render the man page: {e}")))?;
    Ok(preformat_extra(&page).into_bytes())
}

/// The page with its EXTRA section (the examples and exit statuses of `--help`, laid out in
/// columns) shown as written, not filled into paragraphs: clap_mangen writes it as text lines,
/// which man joins and wraps. (No text line of a page starts with `.`: roff escapes those.)
fn preformat_extra(page: &str) -> String {
    let mut out = String::with_capacity(page.len() + 8);
    let mut in_extra = false;
    for line in page.lines() {
        if line.starts_with(".SH ") && in_extra {
            out.push_str(".fi\n");
            in_extra = false;
        }
        out.push_str(line);
        out.push('\n');
        if line == ".SH EXTRA" {
            out.push_str(".nf\n");
            in_extra = true;
        }
    }
    if in_extra {
        out.push_str(".fi\n");
    }
    out
}

/// Writes the page of `command` and of each of its commands, recursively, into `dir` (created
/// if missing), each as `<name>.1`.
fn write_pages(command: &clap::Command, dir: &Path) -> Result<(), Failure> {
    let failed = |what: &Path, e: std::io::Error| {
        Failure::new(
            status::STORE,
            format!("cannot write {}: {e}", what.display()),
        )
    };
    std::fs::create_dir_all(dir).map_err(|e| failed(dir, e))?;
    let mut pending = vec![command.clone()];
    while let Some(command) = pending.pop() {
        pending.extend(
            command
                .get_subcommands()
                .filter(|c| !c.is_hide_set())
                .cloned(),
        );
        let path = dir.join(format!("{}.1", page_name(&command)));
        std::fs::write(&path, render(&command)?).map_err(|e| failed(&path, e))?;
    }
    Ok(())
}

/// `lease-table-create` for `lease table create`, as the pages refer to each other.
fn page_name(command: &clap::Command) -> &str {
    command
        .get_display_name()
        .unwrap_or_else(|| command.get_name())
}

/// `lease table` for the `table` command.
fn bin_name(command: &clap::Command) -> &str {
    command.get_bin_name().unwrap_or(BIN_NAME)
}

/// The names of `command`'s commands.
fn names(command: &clap::Command) -> Vec<&str> {
    command
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(clap::Command::get_name)
        .collect()
}

/// Writes `bytes` to stdout.
fn print(bytes: &[u8]) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|e| Failure::new(status::STORE, format!("cannot write to stdout: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_a_page_named_as_the_pages_refer_to_it() {
        let root = man_command();
        assert_eq!(page_name(&root), "lease");
        let table = root.find_subcommand("table").unwrap();
        let create = table.find_subcommand("create").unwrap();
        assert_eq!(page_name(create), "lease-table-create");
        assert_eq!(bin_name(table), "lease table");
        assert!(!names(&root).contains(&"help"));
    }

    #[test]
    fn the_extra_section_is_not_filled() {
        let page = ".TH lease 1\n.SH EXTRA\nExamples:\n  lease run\n.SH VERSION\nv1\n";
        assert_eq!(
            preformat_extra(page),
            ".TH lease 1\n.SH EXTRA\n.nf\nExamples:\n  lease run\n.fi\n.SH VERSION\nv1\n"
        );
        let last = ".SH EXTRA\nExamples:\n";
        assert_eq!(preformat_extra(last), ".SH EXTRA\n.nf\nExamples:\n.fi\n");
        let page = String::from_utf8(render(&man_command()).unwrap()).unwrap();
        assert!(page.contains(".SH EXTRA\n.nf\n"), "{page}");
    }
}
