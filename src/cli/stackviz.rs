//! `stackviz-export` / `resultpipe stackviz`: the flags of the real tool plus
//! `--layout`, `--all-runs` and `--strict`, turned into settings (with `-e`, the Zuul
//! variables are read here), then [`crate::pipeline::export`].

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{Bars, Failure, PolicyArgs, Verbosity, ci_metadata, exit};
use crate::emit::stackviz::Layout;
use crate::emit::stackviz_config::Zuul;
use crate::pipeline::export::{ExportSettings, HtmlSettings, run as export};

/// `--layout`'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LayoutArg {
    /// The layout stackviz's manual page describes (2016): config.json with a
    /// `tempest` list and stats inline, tempest_<P>_<n>_{raw,details,tree}.json,
    /// dstat_log.csv; read by the stackviz front-end of that time.
    Seed,
    /// Today's layout, byte for byte what stackviz-export writes now: config.json
    /// with datasets and artifacts, <P>-<n>-{raw,details,stats}.json, dstat.csv;
    /// read by today's stackviz front-end (the one OpenStack CI publishes).
    Current,
}

/// Generates JSON data files for a StackViz site.
#[derive(Debug, Clone, Args)]
pub struct StackvizArgs {
    /// Enable gzip compression for data files (config.json stays plain).
    #[arg(short = 'z', long = "gzip")]
    pub gzip: bool,
    /// Include Zuul metadata from environment variables (current layout).
    #[arg(short = 'e', long = "env")]
    pub env: bool,
    /// Include the given direct subunit stream; can be used multiple times.
    #[arg(short = 'f', long = "stream-file", value_name = "STREAM_FILE")]
    pub stream_files: Vec<PathBuf>,
    /// A directory containing a `.stestr` or `.testrepository` to include; can be used
    /// multiple times.
    #[arg(short = 'r', long = "repository", value_name = "REPOSITORY")]
    pub repositories: Vec<PathBuf>,
    /// Read a direct subunit stream from standard input.
    #[arg(short = 'i', long = "stdin")]
    pub stdin: bool,
    /// The path to the DStat log file (CSV-formatted) to include.
    #[arg(long, value_name = "DSTAT")]
    pub dstat: Option<PathBuf>,
    /// Which stackviz layout to write (see the possible values).
    #[arg(long, value_enum, default_value = "seed")]
    pub layout: LayoutArg,
    /// Export every run of each repository, not only the latest.
    #[arg(long)]
    pub all_runs: bool,
    /// Treat a missing input or any reading problem as an error (exit 2).
    #[arg(long)]
    pub strict: bool,
    /// Also write the run report of the same inputs and dstat log, one
    /// self-contained page, to DEST/index.html (DEST is usually the output directory).
    #[arg(long, value_name = "DEST")]
    pub html: Option<PathBuf>,
    /// The report's title (with --html).
    #[arg(long, value_name = "TEXT", requires = "html")]
    pub title: Option<String>,
    /// The report's size policy (with --html).
    #[command(flatten, next_help_heading = "Report (--html) options")]
    pub policy: PolicyArgs,
    /// The output directory. Will be created if it doesn't already exist.
    pub path: PathBuf,
}

/// Runs the export; returns the exit code.
pub fn run(args: StackvizArgs, v: Verbosity) -> Result<u8, Failure> {
    let var = |name: &str| args.env.then(|| std::env::var(name).ok()).flatten();
    let settings = ExportSettings {
        layout: match args.layout {
            LayoutArg::Seed => Layout::Seed,
            LayoutArg::Current => Layout::Current,
        },
        gzip: args.gzip,
        zuul: Zuul {
            job_name: var("JOB_NAME"),
            pipeline: var("ZUUL_PIPELINE"),
            change: var("ZUUL_CHANGE"),
            patchset: var("ZUUL_PATCHSET"),
            project: var("ZUUL_PROJECT"),
        },
        stream_files: args.stream_files,
        repositories: args.repositories,
        stdin: args.stdin,
        dstat: args.dstat,
        all_runs: args.all_runs,
        strict: args.strict,
        html: args.html.map(|dest| HtmlSettings {
            output: dest.join("index.html"),
            title: args.title,
            ci: if args.env { ci_metadata() } else { Vec::new() },
            policy: args.policy.policy(),
        }),
        output: args.path,
    };
    export(
        &settings,
        &Bars::new(v.quiet),
        &mut std::io::stdout().lock(),
    )?;
    Ok(exit::OK)
}
