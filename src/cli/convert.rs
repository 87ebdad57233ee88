//! `resultpipe subunit` and `resultpipe junit`: flags to settings, then
//! [`crate::pipeline::convert`].

use std::path::PathBuf;

use clap::Args;

use super::{Bars, Failure, Verbosity, exit};
use crate::pipeline::convert::{JunitSettings, SubunitSettings, to_junit, to_subunit};

/// `subunit`'s flags.
#[derive(Debug, Clone, Args)]
pub struct SubunitArgs {
    /// Inputs: subunit v2 or v1 streams, `-` for stdin, `.stestr`/`.testrepository`
    /// directories (their latest run) or DIR@N, JUnit XML reports, http(s) URLs; plain
    /// or gzipped. Several are one run.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Write the stream to this file (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write the stream even when the inputs hold no test result (else that is an
    /// error, exit 2, and nothing is written).
    #[arg(long)]
    pub allow_empty: bool,
}

/// Runs `subunit`; returns the exit code.
pub fn subunit(args: SubunitArgs, v: Verbosity) -> Result<u8, Failure> {
    if args.output.is_none() && std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        return Err(Failure::input(
            "subunit is binary: give -o FILE or redirect stdout",
        ));
    }
    let settings = SubunitSettings {
        inputs: args.inputs,
        output: args.output,
        allow_empty: args.allow_empty,
    };
    let done = to_subunit(
        &settings,
        &Bars::new(v.quiet),
        &mut std::io::stdout().lock(),
    )?;
    tracing::info!(
        "wrote {} record(s) and {} byte(s) of other output",
        done.records,
        done.other_bytes
    );
    Ok(exit::OK)
}

/// `junit`'s flags.
#[derive(Debug, Clone, Args)]
pub struct JunitArgs {
    /// Inputs: subunit v2 or v1 streams, `-` for stdin, `.stestr`/`.testrepository`
    /// directories (their latest run) or DIR@N, JUnit XML reports, http(s) URLs; plain
    /// or gzipped. Several are one run.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Write the report to this file (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The report's name (default: the first input's file name).
    #[arg(long)]
    pub name: Option<String>,
    /// `rich` (default), or `subunit2junitxml`: what python-subunit's `subunit2junitxml
    /// --no-passthrough` writes, byte for byte (its lossy shape, for drop-in use).
    #[arg(long, value_enum, default_value = "rich")]
    pub format: JunitFormat,
    /// Write the report even when the inputs hold no test result (else that is an
    /// error, exit 2, and nothing is written).
    #[arg(long)]
    pub allow_empty: bool,
}

/// `junit --format`'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum JunitFormat {
    /// The Jenkins/nextest dialect, with everything the run has.
    Rich,
    /// python-subunit's subunit2junitxml output.
    Subunit2junitxml,
}

/// Runs `junit`; returns the exit code.
pub fn junit(args: JunitArgs, v: Verbosity) -> Result<u8, Failure> {
    let settings = JunitSettings {
        inputs: args.inputs,
        output: args.output,
        name: args.name,
        subunit2junitxml: args.format == JunitFormat::Subunit2junitxml,
        allow_empty: args.allow_empty,
    };
    let done = to_junit(
        &settings,
        &Bars::new(v.quiet),
        &mut std::io::stdout().lock(),
    )?;
    tracing::info!("wrote {} record(s)", done.records);
    Ok(exit::OK)
}
