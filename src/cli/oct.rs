//! `resultpipe oct report RESULTS.sqlite [--config config.json] -o DIR`, and OCT's own
//! argument shapes: `rebuild-results RESULTS_DIR CONFIG [-f RESULTS_FILE]` (alias
//! `rebuild`) and `results-to-csv RESULT_FILE OUTPUT_FILE [-d DELIM]` (alias `to-csv`);
//! the work is [`crate::pipeline::oct_report`] and [`crate::pipeline::oct_csv`].

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{Failure, exit};
use crate::pipeline::oct_csv::{self, CsvSettings};
use crate::pipeline::oct_report::{self, ReportSettings};

/// `resultpipe oct`'s commands.
#[derive(Debug, Clone, Subcommand)]
pub enum OctCommand {
    /// Write DIR/results.html and DIR/results.json for a results.sqlite.
    #[command(after_help = super::exit_help::LOCAL)]
    Report(ReportArgs),
    /// OCT's shape: rebuild RESULTS_DIR/results.html (and results.json) from CONFIG and
    /// RESULTS_DIR/results.sqlite (or -f).
    #[command(name = "rebuild-results", visible_alias = "rebuild", after_help = super::exit_help::LOCAL)]
    RebuildResults(RebuildArgs),
    /// Export the results table to CSV, byte-identical to OCT's `results-to-csv`.
    #[command(name = "results-to-csv", visible_alias = "to-csv", after_help = super::exit_help::LOCAL)]
    ResultsToCsv(CsvArgs),
}

/// `oct results-to-csv`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct CsvArgs {
    /// The results.sqlite file.
    pub result_file: PathBuf,
    /// The CSV file to write.
    pub output_file: PathBuf,
    /// Field delimiter (one character).
    #[arg(short, long, default_value = ";")]
    pub delimiter: String,
}

/// `oct report`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// The results.sqlite file.
    pub results_file: PathBuf,
    /// OCT's config.json: `results_ts_interval` and `run_time` are read from it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Directory for results.html and results.json (created if missing).
    #[arg(short = 'o', long = "output-dir")]
    pub output_dir: PathBuf,
    /// `--interval`.
    #[command(flatten)]
    pub settings: IntervalArgs,
}

/// `oct rebuild-results`'s arguments (OCT's own).
#[derive(Debug, Clone, Args)]
pub struct RebuildArgs {
    /// The directory containing the results; the report is written there.
    pub results_dir: PathBuf,
    /// The configuration file (OCT's config.json).
    pub config_file: PathBuf,
    /// The sqlite result file [default: RESULTS_DIR/results.sqlite].
    #[arg(short = 'f', long = "results-file")]
    pub results_file: Option<PathBuf>,
    /// `--interval`.
    #[command(flatten)]
    pub settings: IntervalArgs,
}

/// The report's own flags.
#[derive(Debug, Clone, Args)]
pub struct IntervalArgs {
    /// Time-series interval in seconds [default: the config's results_ts_interval, else 10].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub interval: Option<u32>,
}

/// Runs an `oct` command; returns the exit code.
pub fn run(cmd: OctCommand) -> Result<u8, Failure> {
    let settings = match cmd {
        OctCommand::Report(a) => ReportSettings {
            results_file: a.results_file,
            config: a.config,
            output_dir: a.output_dir,
            interval: a.settings.interval,
        },
        OctCommand::RebuildResults(a) => ReportSettings {
            results_file: a
                .results_file
                .unwrap_or_else(|| a.results_dir.join("results.sqlite")),
            config: Some(a.config_file),
            output_dir: a.results_dir,
            interval: a.settings.interval,
        },
        OctCommand::ResultsToCsv(a) => {
            let delimiter = match a.delimiter.as_bytes() {
                [b] if b.is_ascii() => *b,
                _ => {
                    return Err(Failure::input(format!(
                        "--delimiter must be one ASCII character, not {:?}",
                        a.delimiter
                    )));
                }
            };
            oct_csv::run(&CsvSettings {
                result_file: a.result_file,
                output_file: a.output_file,
                delimiter,
            })?;
            return Ok(exit::OK);
        }
    };
    oct_report::run(&settings, &mut std::io::stdout().lock())?;
    Ok(exit::OK)
}
