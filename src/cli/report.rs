//! `resultpipe report`: flags to settings (the size policy, and with `--env` the CI
//! variables, read in `cli/mod.rs`), then [`crate::pipeline::report`].

use std::path::PathBuf;

use clap::Args;

use super::{Bars, Failure, PolicyArgs, Verbosity, ci_metadata, exit};
use crate::pipeline::report::{ReportSettings, run as report};

/// `report`'s flags.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// Subunit files (v2 or v1, plain or gzipped), `-` for stdin, or directories
    /// holding a `.stestr` / `.testrepository` (its latest run). Several inputs are one
    /// run, in order: a test seen again (a rerun) is another attempt of it.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// The page to write (one self-contained HTML file).
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: PathBuf,
    /// A dstat or dool CSV taken during the run: its CPU, memory, net and disk lanes go
    /// under the timeline.
    #[arg(long, value_name = "FILE")]
    pub dstat: Option<PathBuf>,
    /// The page's title (default: "Test run" and the first input's name).
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,
    /// Show CI metadata from the environment in the page: Zuul's variables (as
    /// `stackviz-export -e`) and GitHub's, GitLab's and Jenkins' common ones.
    #[arg(short = 'e', long)]
    pub env: bool,
    /// An earlier run of the same suite to compare with: a stream, a repository
    /// directory (its latest run) or DIR@N (its run N). The page marks new failures,
    /// fixed tests, new clusters and duration changes.
    #[arg(long, value_name = "INPUT")]
    pub baseline: Option<PathBuf>,
    /// The size policy.
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// Runs `report`; returns the exit code.
pub fn run(args: ReportArgs, v: Verbosity) -> Result<u8, Failure> {
    let settings = ReportSettings {
        inputs: args.inputs,
        output: args.output,
        dstat: args.dstat,
        title: args.title,
        ci: if args.env { ci_metadata() } else { Vec::new() },
        policy: args.policy.policy(),
        baseline: args.baseline,
    };
    let stats = report(&settings, &Bars::new(v.quiet))?;
    if !v.quiet {
        eprintln!(
            "wrote {} ({} tests, {} attempts, {:.1} MB{})",
            settings.output.display(),
            stats.tests,
            stats.attempts,
            stats.bytes as f64 / 1e6,
            if stats.cut + stats.dropped > 0 {
                format!(
                    "; {} log(s) cut to head and tail, {} left out: see Run info",
                    stats.cut, stats.dropped
                )
            } else {
                String::new()
            }
        );
    }
    Ok(exit::OK)
}
