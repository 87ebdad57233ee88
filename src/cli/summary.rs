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
}

/// Runs `summary`; returns the exit code.
pub fn run(args: SummaryArgs, v: Verbosity) -> Result<u8, Failure> {
    let settings = SummarySettings {
        inputs: args.inputs,
        allow_empty: args.allow_empty,
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
