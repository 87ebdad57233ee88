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

use clap::{Parser, Subcommand};

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

/// Whether to draw progress bars: only on a terminal, never under CI or `--quiet`.
pub fn show_progress(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none()
}

/// Sets up `tracing` on stderr: warnings by default, errors only with `--quiet`,
/// debug with `-v`.
pub fn init_logging(quiet: bool, verbose: u8) {
    let level = match (quiet, verbose) {
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
        .with_target(false)
        .without_time()
        .with_ansi(color);
    let _ = tracing_subscriber::registry()
        .with(tracing_subscriber::Layer::with_filter(layer, filter))
        .try_init();
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
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate stackviz data (the same command as `stackviz-export`).
    Stackviz(Box<stackviz::StackvizArgs>),
    /// Print a run summary; exit 1 when the run has failures.
    Summary(summary::SummaryArgs),
    /// OCT load-test results (results.sqlite).
    Oct {
        #[command(subcommand)]
        command: oct::OctCommand,
        /// Only print errors.
        #[arg(short, long, global = true)]
        quiet: bool,
        /// More detail on stderr (-v: phases and timings, -vv: debug).
        #[arg(short, long, global = true, action = clap::ArgAction::Count)]
        verbose: u8,
    },
    /// Pulse (AMQP): publish Treeherder jobs to an exchange.
    Pulse {
        #[command(subcommand)]
        command: pulse::PulseCommand,
        /// Only print errors; no progress bar.
        #[arg(short, long, global = true)]
        quiet: bool,
    },
    /// Splunk HTTP Event Collector: run and job events.
    Splunk {
        #[command(subcommand)]
        command: splunk::SplunkCommand,
        /// Only print errors.
        #[arg(short, long, global = true)]
        quiet: bool,
    },
    /// Treeherder jobs: generate pulse-job documents from runs, validate documents.
    Treeherder {
        #[command(subcommand)]
        command: treeherder::TreeherderCommand,
        /// Only print errors; no progress bar.
        #[arg(short, long, global = true)]
        quiet: bool,
    },
}

/// Runs the `resultpipe` binary; returns the process exit code.
pub fn main_resultpipe() -> u8 {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Stackviz(args) => {
            init_logging(args.quiet, args.verbose);
            stackviz::run(*args)
        }
        Command::Summary(args) => {
            init_logging(args.quiet, 0);
            summary::run(args)
        }
        Command::Oct {
            command,
            quiet,
            verbose,
        } => {
            init_logging(quiet, verbose);
            oct::run(command)
        }
        Command::Pulse { command, quiet } => {
            init_logging(quiet, 0);
            pulse::run(command, quiet)
        }
        Command::Splunk { command, quiet } => {
            init_logging(quiet, 0);
            splunk::run(command)
        }
        Command::Treeherder { command, quiet } => {
            init_logging(quiet, 0);
            treeherder::run(command, quiet)
        }
    };
    finish(result)
}

/// Runs the `stackviz-export` binary; returns the process exit code.
pub fn main_stackviz_export() -> u8 {
    let args = stackviz::StackvizArgs::parse();
    init_logging(args.quiet, args.verbose);
    finish(stackviz::run(args))
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
