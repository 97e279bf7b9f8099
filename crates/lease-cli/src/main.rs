//! # `lease`: the flock(1) of DynamoDB
//!
//! Runs commands under DynamoDB leases, from shell scripts, cron and deploy pipelines, on the
//! lease library (`lease-dynamodb-sdk`): `lease run KEY -- CMD ARGS...` acquires the lease,
//! renews it while the command runs, stops the command's whole process group if the lease is
//! lost, releases it when the command exits, and exits with the command's status. `acquire`,
//! `refresh` and `release` hand a lease from one command of a script to the next; `inspect` and
//! `list` show who holds what; `table create` and `table check` set up the lock table.
//!
//! The lease semantics are the library's; this crate only maps the command line to it, supervises
//! the command's process group, and prints. Unix only (process groups and signals).
//!
//! Map: [`cli`] (the command line and its help), [`connect`] (options to configuration and
//! client), [`run`] with [`supervise`], [`group`] and [`signals`] (`lease run`), [`wait`]
//! (`--wait` / `--no-wait`), [`script`] (`acquire`, `refresh`, `release`), [`inspect`],
//! [`list`] (items converted by `lease_dynamodb_sdk::dynamodb::item_from_sdk`), [`table`], [`output`] (JSON, `export` lines, times),
//! [`duration`], [`exit`] (exit statuses and one-line failures), [`generate`] (`completions`,
//! `man`).

#[cfg(not(unix))]
compile_error!("lease-cli supports Unix only: `lease run` relies on process groups and signals");

mod cli;
mod connect;
mod duration;
mod exit;
mod generate;
mod group;
mod inspect;
mod leader;
mod list;
mod output;
mod run;
mod script;
mod signals;
mod supervise;
mod table;
mod wait;

use std::process::ExitCode;

use clap::CommandFactory;
use clap::error::ErrorKind;

use crate::cli::{Cli, Command};
use crate::exit::{Failure, one_line, status};

fn main() -> ExitCode {
    let cli = match cli::parse_from(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("lease: cannot start: {e}");
            return ExitCode::from(status::INTERNAL);
        }
    };
    let result = runtime.block_on(dispatch(cli));
    // Do not wait for the SDK's background work (connection pools) to wind down.
    runtime.shutdown_background();
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Failure { status, message }) => {
            eprintln!("lease: {message}");
            ExitCode::from(status)
        }
    }
}

/// Runs the command; returns the exit status.
async fn dispatch(cli: Cli) -> Result<u8, Failure> {
    let Cli {
        store,
        format,
        verbose,
        command,
    } = cli;
    match command {
        Command::Run(args) => run::run(&store, &format, verbose, args).await,
        Command::Acquire(args) => script::acquire(&store, &format, verbose, args).await,
        Command::Refresh(args) => script::refresh(&store, &format, args).await,
        Command::Release(args) => script::release(&store, &format, args).await,
        Command::Inspect(args) => inspect::inspect(&store, &format, args).await,
        Command::List(args) => list::list(&store, &format, args).await,
        Command::Leader(args) => leader::leader(&store, &format, args).await,
        Command::Table(command) => table::table(&store, &format, command).await,
        Command::Completions(args) => generate::completions(&args),
        Command::Man(args) => generate::man(&args),
    }
}

/// Help and version go to stdout with status 0; a usage error is one line on stderr, status 64.
fn usage_error(error: &clap::Error) -> ExitCode {
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        let _ = error.print();
        return ExitCode::from(0);
    }
    let rendered = error.render().to_string();
    let command = usage_command(&rendered);
    let message = if error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        let mut found = Some(Cli::command());
        for word in command.split_whitespace().skip(1) {
            found = found.and_then(|c| c.find_subcommand(word).cloned());
        }
        let choices = found
            .map(|c| {
                c.get_subcommands()
                    .map(|s| s.get_name().to_owned())
                    .filter(|name| name != "help")
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        format!("'{command}' needs a command: {choices}")
    } else {
        // The first paragraph: the error, with the arguments it lists on the next lines.
        let first = rendered
            .lines()
            .skip_while(|line| line.trim().is_empty())
            .take_while(|line| !line.trim().is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let first = first.strip_prefix("error: ").unwrap_or(&first).to_owned();
        if first.is_empty() {
            "invalid command line".to_owned()
        } else {
            first
        }
    };
    eprintln!("lease: {}; see '{command} --help'", one_line(&message));
    ExitCode::from(status::USAGE)
}

/// The command a usage line names: `lease run` from `Usage: lease run [OPTIONS] ...`.
fn usage_command(rendered: &str) -> String {
    rendered
        .lines()
        .find_map(|line| line.trim().strip_prefix("Usage: "))
        .map(|usage| {
            usage
                .split_whitespace()
                .take_while(|word| !word.starts_with(['[', '<', '-']))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|command| !command.is_empty())
        .unwrap_or_else(|| "lease".to_owned())
}
