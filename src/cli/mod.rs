//! The command-line edge: clap argument types, validated settings, logging setup, and
//! the mapping of failures to documented exit codes.

pub mod inputs;
pub mod oct;
pub mod pulse;
pub mod splunk;
pub mod stackviz;
pub mod summary;
pub mod treeherder;

use std::fmt;
use std::io::IsTerminal;

use clap::{Args, Parser, Subcommand};

/// Exit codes (README "Exit codes").
pub mod exit {
    pub const OK: u8 = 0;
    /// The run has test failures (`summary`).
    pub const FAILURES: u8 = 1;
    /// Usage or input error.
    pub const USAGE: u8 = 2;
    /// Delivery failed after retries.
    pub const DELIVERY: u8 = 3;
}

/// A failure that ends a command, with its exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub error: Box<dyn std::error::Error + Send + Sync>,
}

impl Failure {
    pub fn input(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Failure {
        Failure {
            code: exit::USAGE,
            error: error.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error)
    }
}

/// Prints `error: ...` and each `caused by: ...` once, to stderr.
pub fn report(failure: &Failure) {
    eprintln!("error: {}", failure.error);
    let mut source = failure.error.source();
    while let Some(s) = source {
        eprintln!("caused by: {s}");
        source = s.source();
    }
}

/// `-q` and `-v`, the same on every command (and anywhere on the command line).
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct Verbosity {
    /// Only print errors; no progress bar.
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "verbose",
        display_order = 1000
    )]
    pub quiet: bool,
    /// More detail on stderr: -v what is done and how long it took, -vv debugging.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, display_order = 1001)]
    pub verbose: u8,
}

/// Whether to draw progress bars: only on a terminal, never under CI or `--quiet`.
pub fn show_progress(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none()
}

/// Sets up `tracing` on stderr: warnings by default, errors only with `--quiet`,
/// info with `-v`, debug with `-vv`. Lines start with the level (`ERROR`, `WARN`,
/// `INFO`, `DEBUG`) at the first column.
pub fn init_logging(v: Verbosity) {
    let level = match (v.quiet, v.verbose) {
        (true, _) => tracing::Level::ERROR,
        (false, 0) => tracing::Level::WARN,
        (false, 1) => tracing::Level::INFO,
        _ => tracing::Level::DEBUG,
    };
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    // Our own events only: libraries' logs (lapin's, say) can carry message bodies.
    let filter = tracing_subscriber::filter::Targets::new().with_target("resultpipe", level);
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .event_format(LevelFirst);
    let _ = tracing_subscriber::registry()
        .with(tracing_subscriber::Layer::with_filter(layer, filter))
        .try_init();
}

/// `LEVEL message`: the level unpadded at the first column, no time, no target.
struct LevelFirst;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for LevelFirst
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> fmt::Result {
        let level = *event.metadata().level();
        let (name, color) = match level {
            tracing::Level::ERROR => ("ERROR", "31"),
            tracing::Level::WARN => ("WARN", "33"),
            tracing::Level::INFO => ("INFO", "32"),
            tracing::Level::DEBUG => ("DEBUG", "34"),
            tracing::Level::TRACE => ("TRACE", "35"),
        };
        if writer.has_ansi_escapes() {
            write!(writer, "\x1b[{color}m{name}\x1b[0m ")?;
        } else {
            write!(writer, "{name} ")?;
        }
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// What every `--help` ends with.
pub mod exit_help {
    pub const ALL: &str = "\
Exit codes:
  0  success
  1  the run has test failures, or ran no tests (summary)
  2  usage or input error: bad flags, an input missing or unreadable, --strict problems
  3  delivery failed: a job not confirmed by the broker, a submission refused or still
     failing after retries, Splunk events lost";
    pub const SUMMARY: &str = "\
Exit codes:
  0  every test passed (or was skipped)
  1  a test failed, succeeded unexpectedly or never finished; or no test ran
     (unless --allow-empty)
  2  usage or input error: bad flags, an input missing or unreadable";
    pub const EXPORT: &str = "\
Exit codes:
  0  exported (problems found while reading are warnings)
  2  usage or input error: bad flags, an unreadable input or output directory;
     with --strict also a missing -f file or any problem found while reading";
    pub const LOCAL: &str = "\
Exit codes:
  0  success
  2  usage or input error: bad flags, an input missing or unreadable, an output that
     cannot be written, invalid jobs";
    pub const VALIDATE: &str = "\
Exit codes:
  0  every job is valid
  2  a job is invalid, an input holds no jobs, or an input is missing or unreadable";
    pub const DELIVERY: &str = "\
Exit codes:
  0  success: everything was delivered (or --dry-run, or reporting switched off)
  2  usage or input error: bad flags, an input missing or unreadable, invalid jobs,
     no credentials
  3  delivery failed: not everything was confirmed or accepted (after retries)";
}

/// Finishes a command tree before parsing: every command's help ends with its exit
/// codes (those that set none get the full table), and flags that job settings also
/// take from the environment name the variables.
pub fn finish_command(cmd: clap::Command) -> clap::Command {
    let cmd = if cmd.get_after_help().is_none() {
        cmd.after_help(exit_help::ALL)
    } else {
        cmd
    };
    let cmd = treeherder::annotate_env(cmd);
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    names
        .iter()
        .fold(cmd, |cmd, n| cmd.mut_subcommand(n, finish_command))
}

#[derive(Debug, Parser)]
#[command(
    name = "resultpipe",
    version,
    about = "Fast, lossless results ETL for test and load-test runs"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub verbosity: Verbosity,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate stackviz data (the same command as `stackviz-export`).
    #[command(after_help = exit_help::EXPORT)]
    Stackviz(Box<stackviz::StackvizArgs>),
    /// Print a run summary; exit 1 when the run has failures or ran no tests.
    #[command(after_help = exit_help::SUMMARY)]
    Summary(summary::SummaryArgs),
    /// OCT load-test results (results.sqlite): the HTML report and OCT's CSV.
    Oct {
        #[command(subcommand)]
        command: oct::OctCommand,
    },
    /// Pulse (AMQP): publish Treeherder jobs to an exchange.
    Pulse {
        #[command(subcommand)]
        command: pulse::PulseCommand,
    },
    /// Splunk HTTP Event Collector: run and job events.
    Splunk {
        #[command(subcommand)]
        command: splunk::SplunkCommand,
    },
    /// Treeherder jobs: generate pulse-job documents from runs, validate documents,
    /// submit collections over REST.
    Treeherder {
        #[command(subcommand)]
        command: treeherder::TreeherderCommand,
    },
}

/// Parses argv for the command `C`, its help finished by [`finish_command`].
fn parse<C: clap::CommandFactory + clap::FromArgMatches>() -> C {
    let matches = finish_command(C::command()).get_matches();
    C::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// Runs the `resultpipe` binary; returns the process exit code.
pub fn main_resultpipe() -> u8 {
    let cli: Cli = parse();
    let v = cli.verbosity;
    init_logging(v);
    let result = match cli.command {
        Command::Stackviz(args) => stackviz::run(*args, v),
        Command::Summary(args) => summary::run(args, v),
        Command::Oct { command } => oct::run(command),
        Command::Pulse { command } => pulse::run(command, v),
        Command::Splunk { command } => splunk::run(command),
        Command::Treeherder { command } => treeherder::run(command, v),
    };
    finish(result)
}

/// The `stackviz-export` binary's command line: the export's flags plus `-q`/`-v`.
#[derive(Debug, Parser)]
#[command(
    name = "stackviz-export",
    version,
    about = "Generates JSON data files for a StackViz site.",
    after_help = exit_help::EXPORT
)]
pub struct StackvizExportCli {
    #[command(flatten)]
    pub args: stackviz::StackvizArgs,
    #[command(flatten)]
    pub verbosity: Verbosity,
}

/// Runs the `stackviz-export` binary; returns the process exit code.
pub fn main_stackviz_export() -> u8 {
    let cli: StackvizExportCli = parse();
    init_logging(cli.verbosity);
    finish(stackviz::run(cli.args, cli.verbosity))
}
fn finish(result: Result<u8, Failure>) -> u8 {
    match result {
        Ok(code) => code,
        Err(f) => {
            if let Some(io) = f.error.downcast_ref::<std::io::Error>()
                && io.kind() == std::io::ErrorKind::BrokenPipe
            {
                return exit::OK;
            }
            report(&f);
            f.code
        }
    }
}
