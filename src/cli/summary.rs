//! `resultpipe summary`: flags to settings, then [`crate::pipeline::summary`]; exit 1
//! when the run failed or ran no tests.

use std::path::PathBuf;

use clap::Args;

use super::{Bars, Failure, Verbosity, exit};
use crate::pipeline::summary::{SummarySettings, run as summarize};

/// `summary`'s flags.
#[derive(Debug, Clone, Args)]
pub struct SummaryArgs {
    /// Subunit files (v2 or v1, plain or gzipped), `-` for stdin, or directories
    /// holding a `.stestr` / `.testrepository` (its latest run).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// A run in which no test ran exits 0 instead of 1.
    #[arg(long)]
    pub allow_empty: bool,
    /// A flaky test (failed, then passed on a later attempt) makes the run exit 1.
    #[arg(long)]
    pub fail_on_flaky: bool,
    /// An earlier run of the same suite to compare with: a stream, a repository
    /// directory (its latest run) or DIR@N (its run N). Adds new failures, fixed, still
    /// failing, new and removed tests.
    #[arg(long, value_name = "INPUT")]
    pub baseline: Option<PathBuf>,
    /// `text`, or `json`: the whole analysis (counts, failures, clusters, flaky tests,
    /// slowest, and the baseline comparison) for scripts; see docs/triage.md.
    #[arg(long, value_enum, default_value = "text")]
    pub format: SummaryFormat,
}

/// `--format`'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SummaryFormat {
    /// For people.
    Text,
    /// For scripts.
    Json,
}

/// Runs `summary`; returns the exit code.
pub fn run(args: SummaryArgs, v: Verbosity) -> Result<u8, Failure> {
    let settings = SummarySettings {
        inputs: args.inputs,
        allow_empty: args.allow_empty,
        fail_on_flaky: args.fail_on_flaky,
        baseline: args.baseline,
        json: args.format == SummaryFormat::Json,
    };
    let outcome = summarize(
        &settings,
        &Bars::new(v.quiet),
        &mut std::io::stdout().lock(),
    )?;
    Ok(if outcome.passed {
        exit::OK
    } else {
        exit::FAILURES
    })
}
