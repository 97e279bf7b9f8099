//! The command line: every command, option and help text (clap derive).

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use clap_complete::Shell;
use lease_dynamodb_sdk::config::defaults;

use crate::duration::{parse_duration, parse_positive_duration};

/// The exit statuses, shown at the end of `lease --help` and `lease run --help` (and in the
/// README).
const EXIT_STATUSES: &str = "\
Exit statuses:
  0        success (run: the command's own status)
  1-125    run: the command's own exit status
  64       usage error: a bad option, duration, key or table configuration
  65       the item at the key is not a readable lease; table check: the table does not fit
  70       internal error
  73       the lease is held by someone else (--no-wait)
  74       store error: endpoint unreachable, access denied, no such table, throttled,
           outcome unknown; completions, man: the output could not be written
  75       timed out waiting for the lease (--wait)
  76       lease lost. run: the lease was lost (or could not be confirmed) while the command
           ran, and the command was stopped; refresh: the lease is not ours any more;
           release: nothing of ours was there to release
  126      run: the command could not be executed
  127      run: the command was not found
  128+N    run: the command was killed by signal N, or lease got signal N while waiting
           for the lease (the command was not started)";

const MAIN_EXAMPLES: &str = "\
Examples:
  lease --table locks table create
  lease --table locks run nightly-report --no-wait -- /usr/local/bin/report
  */5 * * * * lease run --table locks --no-wait nightly-report -- /usr/local/bin/report

AWS settings come from the standard environment (AWS_REGION, AWS_PROFILE, credentials, ...).
lease run, acquire and the others print one-line errors on stderr.";

const RUN_HELP: &str = "\
Acquires the lease KEY (waiting for it as --wait says), then runs COMMAND in its own process
group with LEASE_KEY, LEASE_FENCING_TOKEN and LEASE_EXPIRES_AT (epoch seconds, at the start) in
its environment, renews the lease in the background, releases it when COMMAND exits, and exits
with COMMAND's status.

If the lease is lost (taken over, released or deleted by someone else), lease sends SIGTERM to
COMMAND's whole process group, then SIGKILL after --kill-after, and exits with status 76 and a
one-line reason. If renewals fail (store unreachable), COMMAND is stopped so that it is gone by
the lease's safe deadline: SIGTERM once the deadline is less than --kill-after away, SIGKILL at
the deadline. Processes COMMAND leaves behind in its group are stopped the same way before the
lease is released. Signals that would end lease (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1,
SIGUSR2, SIGALRM and the other catchable ones) are forwarded to COMMAND's process group while it
runs; while still waiting for the lease they end lease at once, without starting COMMAND.

COMMAND runs in its own process group: an interactive command that reads from the terminal is
stopped by the terminal (SIGTTIN). lease run needs Unix.";

const RUN_EXAMPLES: &str = "\
Examples:
  lease --table locks run nightly-report --no-wait -- /usr/local/bin/report
  lease --table locks run deploy --wait 10m --duration 1m --kill-after 30s -- ./deploy.sh prod
  lease --table locks run migrate -- sh -c 'echo \"fencing token $LEASE_FENCING_TOKEN\"; ./migrate'";

const ACQUIRE_HELP: &str = "\
Acquires the lease KEY (waiting for it as --wait says) and prints it, WITH ITS BEARER TOKEN: whoever
has the token can refresh and release the lease, so keep the output secret. Nothing renews the
lease: refresh it before it expires, and release it when done. To run a command under a lease
that is renewed for you, use lease run.";

const ACQUIRE_EXAMPLES: &str = "\
Examples:
  lease --table locks acquire backup --duration 5m > lease.json
  eval \"$(lease --table locks acquire backup --duration 5m --output env)\"
  # ... work, then (from LEASE_KEY, LEASE_TOKEN and LEASE_FENCING_TOKEN):
  lease --table locks refresh --duration 5m
  lease --table locks release";

const REFRESH_EXAMPLES: &str = "\
Examples:
  lease --table locks refresh backup --duration 5m --token \"$TOKEN\" --fencing-token \"$FENCE\"
  printf '%s\\n' \"$TOKEN\" | lease --table locks refresh backup --duration 5m --fencing-token \"$FENCE\"
  lease --table locks refresh --duration 5m    # LEASE_KEY, LEASE_TOKEN, LEASE_FENCING_TOKEN from acquire --output env";

const RELEASE_EXAMPLES: &str = "\
Examples:
  lease --table locks release backup --token \"$TOKEN\" --fencing-token \"$FENCE\"
  printf '%s\\n' \"$TOKEN\" | lease --table locks release backup --fencing-token \"$FENCE\"
  lease --table locks release                  # LEASE_KEY, LEASE_TOKEN, LEASE_FENCING_TOKEN from acquire --output env";

const INSPECT_EXAMPLES: &str = "\
Examples:
  lease --table locks inspect nightly-report
  lease --table locks inspect nightly-report --output json";

const LEADER_EXAMPLES: &str = "\
Examples:
  lease --table locks leader shard-7
  lease --table locks leader shard-7 --follow --every 2s --output json";

const LIST_EXAMPLES: &str = "\
Examples:
  lease --table locks list
  lease --table locks list --prefix CACHE# --limit 20 --output json
  lease --table locks list --output json | jq length";

const TABLE_CREATE_EXAMPLES: &str = "\
Examples:
  lease --table locks table create
  lease --table locks --ttl-attribute expires table create
  lease --endpoint http://127.0.0.1:8000 --table locks table create";

const TABLE_CHECK_EXAMPLES: &str = "\
Examples:
  lease --table locks table check";

const COMPLETIONS_HELP: &str = "\
Prints the completion script for SHELL on stdout, generated from lease's own command line: it
completes commands, options and option values. Install it where the shell loads completions
from (see the examples), or load it from the shell's startup file.";

const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  lease completions bash > ~/.local/share/bash-completion/completions/lease
  lease completions zsh > ~/.zfunc/_lease    # ~/.zshrc: fpath+=(~/.zfunc) before compinit
  lease completions fish > ~/.config/fish/completions/lease.fish
  eval (lease completions elvish | slurp)                          # in ~/.config/elvish/rc.elv
  lease completions powershell | Out-String | Invoke-Expression    # in $PROFILE";

const MAN_HELP: &str = "\
Prints the man page (roff) of lease, or of one of its commands, on stdout; with --dir, writes
every page into DIR instead: lease.1, lease-run.1, lease-table-create.1, ... (creating DIR if
needed).";

const MAN_EXAMPLES: &str = "\
Examples:
  lease man | man -l -
  lease man table create | man -l -
  lease man --dir ~/.local/share/man/man1     # then: man lease, man lease-run";

/// Options that contradict each other, by argument id: with `--no-ttl`, no TTL is written, so
/// its buffer would be silently ignored. (`--ttl-attribute` still counts: the writes remove
/// that attribute.) Declared with `conflicts_with` as well, but clap checks those only between
/// options given on the same side of the subcommand name (`lease --no-ttl run --ttl-buffer 2h`
/// passes: clap issues #1204, #5899), so [`parse_from`] checks them again.
const CONFLICTS: [(&str, &str); 1] = [("no_ttl", "ttl_buffer")];

/// Parses the command line `args` (the program name first), as [`Parser::try_parse_from`] does,
/// and also rejects the [`CONFLICTS`] between options given on both sides of a subcommand name.
///
/// # Errors
/// clap's error for a usage error, `--help` or `--version`; an
/// [`ArgumentConflict`](ErrorKind::ArgumentConflict) for two options that contradict each other.
pub(crate) fn parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut command = Cli::command();
    let matches = command.try_get_matches_from_mut(args)?;
    check_conflicts(&mut command, &matches)?;
    Cli::from_arg_matches(&matches)
}

/// Rejects the [`CONFLICTS`] in the innermost subcommand's matches, which hold every global
/// option, wherever it was given.
fn check_conflicts(command: &mut clap::Command, matches: &ArgMatches) -> Result<(), clap::Error> {
    if let Some((name, inner)) = matches.subcommand()
        && let Some(subcommand) = command.find_subcommand_mut(name)
    {
        return check_conflicts(subcommand, inner);
    }
    let given = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
    let Some((first, second)) = CONFLICTS.into_iter().find(|(a, b)| given(a) && given(b)) else {
        return Ok(());
    };
    let shown = |id: &str| {
        command
            .get_arguments()
            .find(|arg| arg.get_id() == id)
            .map_or_else(|| id.to_owned(), ToString::to_string)
    };
    let message = format!(
        "the argument '{}' cannot be used with '{}'",
        shown(first),
        shown(second)
    );
    Err(command.error(ErrorKind::ArgumentConflict, message))
}

/// `lease`: the flock(1) of DynamoDB.
#[derive(Parser, Debug)]
#[command(
    name = "lease",
    version,
    about = "Run commands under DynamoDB leases (locks), and manage leases from the shell",
    long_about = "Run commands under DynamoDB leases (locks), and manage leases from the shell: \
                  the flock(1) of DynamoDB. Leases use the lease library's item format \
                  (compatible with TableTheory's lease package).",
    after_help = MAIN_EXAMPLES,
    after_long_help = format!("{MAIN_EXAMPLES}\n\n{EXIT_STATUSES}"),
    propagate_version = true
)]
pub(crate) struct Cli {
    /// Where the lock table is.
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    /// The lock table's item format.
    #[command(flatten)]
    pub(crate) format: FormatArgs,
    /// Print progress (waiting, acquired, released) on stderr.
    #[arg(short, long, global = true)]
    pub(crate) verbose: bool,
    /// The command.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Where the lock table is; AWS settings come from the standard environment.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Store")]
pub(crate) struct StoreArgs {
    /// The lock table's name.
    #[arg(long, global = true, env = "LEASE_TABLE", value_name = "NAME")]
    pub(crate) table: Option<String>,
    /// A DynamoDB endpoint other than AWS's (dynalite, moto, DynamoDB Local).
    #[arg(long, global = true, env = "LEASE_ENDPOINT", value_name = "URL")]
    pub(crate) endpoint: Option<String>,
    /// The AWS region (default: AWS_REGION, or the profile's region).
    #[arg(long, global = true, value_name = "REGION")]
    pub(crate) region: Option<String>,
    /// The AWS profile (default: AWS_PROFILE, or "default").
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) profile: Option<String>,
    /// The longest wait for one DynamoDB request attempt (above zero).
    #[arg(long, global = true, default_value = "10s", value_parser = parse_positive_duration, value_name = "DURATION")]
    pub(crate) request_timeout: Duration,
}

/// The lease item's format: must be the same for every user of the table.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Item format (the same for every user of the table)")]
pub(crate) struct FormatArgs {
    /// The sort key value of lease items.
    #[arg(long, global = true, default_value = defaults::LOCK_SORT_KEY, value_name = "VALUE")]
    pub(crate) sort_key: String,
    /// The partition key attribute.
    #[arg(long, global = true, default_value = defaults::PARTITION_KEY_ATTRIBUTE, value_name = "NAME")]
    pub(crate) partition_key_attribute: String,
    /// The sort key attribute.
    #[arg(long, global = true, default_value = defaults::SORT_KEY_ATTRIBUTE, value_name = "NAME")]
    pub(crate) sort_key_attribute: String,
    /// The token attribute.
    #[arg(long, global = true, default_value = defaults::TOKEN_ATTRIBUTE, value_name = "NAME")]
    pub(crate) token_attribute: String,
    /// The expiry attribute.
    #[arg(long, global = true, default_value = defaults::EXPIRES_AT_ATTRIBUTE, value_name = "NAME")]
    pub(crate) expires_at_attribute: String,
    /// The TTL attribute (written with every lease, or with --no-ttl removed by every write;
    /// `table create` enables TTL on it where the store supports TTL).
    #[arg(long, global = true, default_value = defaults::TTL_ATTRIBUTE, value_name = "NAME")]
    pub(crate) ttl_attribute: String,
    /// The fencing token attribute.
    #[arg(long, global = true, default_value = defaults::FENCE_ATTRIBUTE, value_name = "NAME")]
    pub(crate) fence_attribute: String,
    /// The attribute of the value an election's leader proclaims (`lease leader`).
    #[arg(long, global = true, default_value = defaults::VALUE_ATTRIBUTE, value_name = "NAME")]
    pub(crate) value_attribute: String,
    /// Time added to a lease's expiry for its TTL attribute (above zero; --no-ttl writes none).
    #[arg(long, global = true, default_value = "1h", value_parser = parse_duration, value_name = "DURATION", conflicts_with = "no_ttl")]
    pub(crate) ttl_buffer: Duration,
    /// Write no TTL attribute (for stores without TTL, such as dynalite); every write removes
    /// the TTL attribute (--ttl-attribute) another writer may have left, so that it cannot
    /// delete a live lease.
    #[arg(long, global = true)]
    pub(crate) no_ttl: bool,
    /// The unit of the stored expiry.
    #[arg(long, global = true, value_enum, default_value_t = ExpiryUnitArg::Seconds)]
    pub(crate) expiry_unit: ExpiryUnitArg,
    /// The largest clock difference between hosts using the table: leases must be longer, and
    /// holders stop this long before the expiry.
    #[arg(long, global = true, default_value = "1s", value_parser = parse_duration, value_name = "DURATION")]
    pub(crate) max_clock_skew: Duration,
}

/// The unit of the stored expiry.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExpiryUnitArg {
    /// Whole epoch seconds (TableTheory's format).
    Seconds,
    /// Epoch milliseconds (sub-second leases; not readable by TableTheory's code).
    Milliseconds,
}

/// The commands.
#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Run a command while holding a lease; stop it if the lease is lost.
    #[command(long_about = RUN_HELP, after_help = RUN_EXAMPLES, after_long_help = format!("{RUN_EXAMPLES}\n\n{EXIT_STATUSES}"))]
    Run(RunArgs),
    /// Acquire a lease and print it with its bearer token (for scripts).
    #[command(long_about = ACQUIRE_HELP, after_help = ACQUIRE_EXAMPLES)]
    Acquire(AcquireArgs),
    /// Refresh (extend) a lease acquired with `lease acquire`.
    #[command(after_help = REFRESH_EXAMPLES)]
    Refresh(RefreshArgs),
    /// Release a lease acquired with `lease acquire`.
    #[command(after_help = RELEASE_EXAMPLES)]
    Release(ReleaseArgs),
    /// Show who holds a lease (token fingerprint, never the token), until when, its fencing token.
    #[command(after_help = INSPECT_EXAMPLES)]
    Inspect(InspectArgs),
    /// List the leases in the table (a consistent scan).
    #[command(after_help = LIST_EXAMPLES)]
    List(ListArgs),
    /// Show the leader of an election (its proclaimed value, fencing token, expiry), or follow it.
    #[command(after_help = LEADER_EXAMPLES)]
    Leader(LeaderArgs),
    /// Create or check the lock table.
    #[command(subcommand)]
    Table(TableCommand),
    /// Print the shell completion script for bash, zsh, fish, elvish or powershell.
    #[command(long_about = COMPLETIONS_HELP, after_help = COMPLETIONS_EXAMPLES)]
    Completions(CompletionsArgs),
    /// Print the man page, or write every page into a directory.
    #[command(long_about = MAN_HELP, after_help = MAN_EXAMPLES)]
    Man(ManArgs),
}

/// How long a lease lasts, and how to wait for it.
#[derive(Args, Debug, Clone)]
pub(crate) struct AcquireOptions {
    /// The lease's duration (`run` renews it every third of it; a lease from `acquire` lasts
    /// this long unless `refresh` extends it).
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "DURATION")]
    pub(crate) duration: Duration,
    /// Wait at most this long for a lease someone else holds [default: wait until acquired].
    #[arg(long, value_parser = parse_duration, value_name = "DURATION", conflicts_with = "no_wait")]
    pub(crate) wait: Option<Duration>,
    /// Do not wait: exit with status 73 if someone else holds the lease.
    #[arg(long)]
    pub(crate) no_wait: bool,
}

/// `lease run`.
#[derive(Args, Debug)]
pub(crate) struct RunArgs {
    /// The lease's key (the item's partition key value). Several keys are held together, all
    /// or nothing (one DynamoDB transaction; not on dynalite): the command gets LEASE_KEYS (one
    /// key per line) and LEASE_FENCING_TOKENS (one KEY=N per line), not LEASE_KEY or
    /// LEASE_FENCING_TOKEN.
    #[arg(value_name = "KEY", required = true, num_args = 1..)]
    pub(crate) keys: Vec<String>,
    /// Duration and waiting.
    #[command(flatten)]
    pub(crate) acquire: AcquireOptions,
    /// How often to renew the lease [default: a third of --duration].
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub(crate) renew_every: Option<Duration>,
    /// At most N concurrent runs across hosts: hold one of N permits of the semaphore KEY
    /// (items KEY/PERMIT#0000 to KEY/PERMIT#<N-1>) instead of the lease KEY. The command gets
    /// the permit's slot number in LEASE_PERMIT.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub(crate) permits: Option<u32>,
    /// After SIGTERM to the command's process group, wait this long before SIGKILL.
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    pub(crate) kill_after: Duration,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, num_args = 1.., value_name = "COMMAND")]
    pub(crate) command: Vec<OsString>,
}

/// How `acquire`, `refresh` and `release` print their result.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScriptOutput {
    /// One line of JSON.
    Json,
    /// Shell `export` lines, for `eval "$(...)"`.
    Env,
}

/// `lease acquire`.
#[derive(Args, Debug)]
pub(crate) struct AcquireArgs {
    /// The lease's key (the item's partition key value).
    #[arg(value_name = "KEY")]
    pub(crate) key: String,
    /// Duration and waiting.
    #[command(flatten)]
    pub(crate) acquire: AcquireOptions,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ScriptOutput::Json)]
    pub(crate) output: ScriptOutput,
}

/// The lease a script holds: its key, its token and its fencing token.
#[derive(Args, Debug)]
pub(crate) struct HeldLease {
    /// The lease's key.
    #[arg(value_name = "KEY", env = "LEASE_KEY")]
    pub(crate) key: String,
    /// The lease's bearer token, as printed by `lease acquire`; prefer stdin or LEASE_TOKEN, as
    /// other users can see a command line [default: the first line of stdin].
    #[arg(
        long,
        env = "LEASE_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub(crate) token: Option<String>,
    /// The lease's fencing token, as printed by `lease acquire` (`LEASE_FENCING_TOKEN` in its
    /// env output). Optional: refresh and release condition on the token only, and refresh
    /// prints the stored fencing token (read back), warning if it differs from this one.
    #[arg(long, env = "LEASE_FENCING_TOKEN", value_name = "N")]
    pub(crate) fencing_token: Option<u64>,
}

/// `lease refresh`.
#[derive(Args, Debug)]
pub(crate) struct RefreshArgs {
    /// The lease.
    #[command(flatten)]
    pub(crate) lease: HeldLease,
    /// The new duration, from now.
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "DURATION")]
    pub(crate) duration: Duration,
    /// Output format (the token is not printed).
    #[arg(long, value_enum, default_value_t = ScriptOutput::Json)]
    pub(crate) output: ScriptOutput,
}

/// `lease release`.
#[derive(Args, Debug)]
pub(crate) struct ReleaseArgs {
    /// The lease.
    #[command(flatten)]
    pub(crate) lease: HeldLease,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ScriptOutput::Json)]
    pub(crate) output: ScriptOutput,
}

/// How `inspect` and `list` print.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ViewOutput {
    /// For people.
    Text,
    /// One line of JSON: inspect prints one object, list one array of objects.
    Json,
}

/// `lease inspect`.
#[derive(Args, Debug)]
pub(crate) struct InspectArgs {
    /// The lease's key.
    #[arg(value_name = "KEY")]
    pub(crate) key: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ViewOutput::Text)]
    pub(crate) output: ViewOutput,
}

/// `lease leader`.
#[derive(Args, Debug)]
pub(crate) struct LeaderArgs {
    /// The election's name (its item is at partition key NAME, sort key LEADER).
    #[arg(value_name = "NAME")]
    pub(crate) name: String,
    /// Keep printing each change of the leader until interrupted (SIGINT, SIGTERM, SIGHUP).
    #[arg(long)]
    pub(crate) follow: bool,
    /// With --follow: read the leader this often (and at the leader's expiry); at least 10ms.
    #[arg(long, default_value = "1s", value_parser = parse_duration, value_name = "DURATION")]
    pub(crate) every: Duration,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ViewOutput::Text)]
    pub(crate) output: ViewOutput,
}

/// `lease list`.
#[derive(Args, Debug)]
pub(crate) struct ListArgs {
    /// Only keys that start with this.
    #[arg(long, value_name = "PREFIX")]
    pub(crate) prefix: Option<String>,
    /// Show at most this many leases (the first ones the scan finds).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..), value_name = "N")]
    pub(crate) limit: u32,
    /// Items the scan reads per request (before filtering; DynamoDB also stops a page at 1 MB).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(i32).range(1..), value_name = "N")]
    pub(crate) page_size: i32,
    /// Output format: a table for people (text), or one JSON array of leases (json).
    ///
    /// json prints one JSON document on one line: an array of leases sorted by key, `[]` when
    /// there are none (`lease list --output json | jq length` counts them). Each lease is an
    /// object with "key" and "sort_key" (strings); "state" ("held", "expired", "released" or
    /// "malformed"); "holder" (the token's fingerprint, like "tok:1a2b3c4d", never the token);
    /// "expires_at" (RFC 3339 UTC) and "expires_in_seconds" (an integer, negative when past),
    /// both null when the lease is released or malformed; "fencing_token" (an integer, null
    /// when unknown); and, for a malformed item only, "error" (why it is not a readable lease).
    #[arg(long, value_enum, default_value_t = ViewOutput::Text)]
    pub(crate) output: ViewOutput,
}

/// `lease table ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum TableCommand {
    /// Create the lock table (string keys, on-demand billing) and enable TTL where the store
    /// supports it. An existing table with the right key is fine.
    #[command(after_help = TABLE_CREATE_EXAMPLES)]
    Create,
    /// Check that the table fits the item format: key names and types, and TTL.
    #[command(after_help = TABLE_CHECK_EXAMPLES)]
    Check,
}

/// `lease completions`.
#[derive(Args, Debug)]
pub(crate) struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum, value_name = "SHELL")]
    pub(crate) shell: Shell,
}

/// `lease man`.
#[derive(Args, Debug)]
pub(crate) struct ManArgs {
    /// The command whose page to print (`run`, `table create`, ...) [default: lease itself].
    #[arg(value_name = "COMMAND")]
    pub(crate) command: Vec<String>,
    /// Write every page (lease.1 and one per command) into this directory.
    #[arg(long, value_name = "DIR", conflicts_with = "command")]
    pub(crate) dir: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_takes_the_command_after_double_dash() {
        let cli = Cli::try_parse_from([
            "lease",
            "--table",
            "locks",
            "run",
            "job",
            "--no-wait",
            "--",
            "sh",
            "-c",
            "exit 3",
        ])
        .unwrap();
        let Command::Run(run) = cli.command else {
            panic!("not run: {:?}", cli.command)
        };
        assert_eq!(run.keys, ["job"]);
        assert!(run.acquire.no_wait);
        assert_eq!(run.command, ["sh", "-c", "exit 3"]);
        assert_eq!(run.kill_after, Duration::from_secs(10));
    }

    #[test]
    fn wait_and_no_wait_conflict() {
        let parsed = Cli::try_parse_from([
            "lease",
            "run",
            "job",
            "--wait",
            "1s",
            "--no-wait",
            "--",
            "true",
        ]);
        assert!(parsed.is_err());
    }

    #[test]
    fn no_ttl_conflicts_with_the_ttl_buffer() {
        for args in [
            &[
                "lease",
                "--table",
                "t",
                "table",
                "check",
                "--no-ttl",
                "--ttl-buffer",
                "2h",
            ][..],
            &["lease", "--ttl-buffer", "2h", "--no-ttl", "table", "create"],
            &["lease", "--no-ttl", "inspect", "job", "--ttl-buffer", "2h"],
            &[
                "lease",
                "run",
                "job",
                "--no-ttl",
                "--ttl-buffer",
                "2h",
                "--",
                "true",
            ],
        ] {
            let error = parse_from(args).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::ArgumentConflict, "{args:?}");
            let message = error.render().to_string();
            assert!(message.contains("--no-ttl"), "{args:?}: {message}");
            assert!(message.contains("Usage: lease "), "{args:?}: {message}");
        }
        // The defaults do not conflict, and neither does the TTL attribute: with --no-ttl,
        // writes remove it (a TTL another writer left could delete a live lease).
        let cli = parse_from(["lease", "--no-ttl", "table", "check"]).unwrap();
        assert!(cli.format.no_ttl);
        let cli = parse_from([
            "lease",
            "--no-ttl",
            "run",
            "job",
            "--ttl-attribute",
            "expires",
            "--",
            "true",
        ])
        .unwrap();
        assert!(cli.format.no_ttl);
        assert_eq!(cli.format.ttl_attribute, "expires");
    }

    #[test]
    fn duration_defaults_are_the_library_defaults() {
        let cli = Cli::try_parse_from(["lease", "inspect", "job"]).unwrap();
        assert_eq!(cli.format.ttl_buffer, defaults::TTL_BUFFER);
        assert_eq!(cli.format.max_clock_skew, defaults::MAX_CLOCK_SKEW);
    }

    #[test]
    fn run_needs_a_command() {
        assert!(Cli::try_parse_from(["lease", "run", "job"]).is_err());
    }

    #[test]
    fn help_documents_every_exit_status() {
        let help = Cli::command().render_long_help().to_string();
        for status in [
            "64", "65", "70", "73", "74", "75", "76", "126", "127", "128+N",
        ] {
            assert!(help.contains(status), "{status} missing from --help");
        }
    }
}
