//! `resultpipe oct results-to-csv RESULT_FILE OUTPUT_FILE [-d DELIM]` (alias `to-csv`),
//! OCT's own argument shape. (The report commands are the rest of the OCT issue.)

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{Failure, exit};
use crate::emit::oct_csv::OctCsvWriter;
use crate::emit::output::AtomicFile;
use crate::ingest::oct::{BadTimers, OctDb};

#[derive(Debug, Clone, Subcommand)]
pub enum OctCommand {
    /// Export the results table to CSV, byte-identical to OCT's `results-to-csv`.
    #[command(name = "results-to-csv", visible_alias = "to-csv")]
    ResultsToCsv(CsvArgs),
}

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

pub fn run(cmd: OctCommand) -> Result<u8, Failure> {
    match cmd {
        OctCommand::ResultsToCsv(a) => to_csv(a),
    }
}

fn to_csv(a: CsvArgs) -> Result<u8, Failure> {
    let delim = match a.delimiter.as_bytes() {
        [b] if b.is_ascii() => *b,
        _ => {
            return Err(Failure::input(format!(
                "--delimiter must be one ASCII character, not {:?}",
                a.delimiter
            )));
        }
    };
    let db = OctDb::open(&a.result_file).map_err(Failure::input)?;
    // first pass: the timer names in order of first appearance
    let timers = db.timer_names().map_err(Failure::input)?;
    let dir = a
        .output_file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = a
        .output_file
        .file_name()
        .ok_or_else(|| Failure::input("OUTPUT_FILE needs a file name"))?;
    let write_err = |e: std::io::Error| {
        Failure::input(format!("cannot write {}: {e}", a.output_file.display()))
    };
    let file = AtomicFile::create(dir, &name.to_string_lossy(), false).map_err(write_err)?;
    let mut w = OctCsvWriter::new(file, delim, timers).map_err(write_err)?;
    let mut io_err = None;
    let mut bad = BadTimers::default();
    let rows = db
        .for_each_row(&mut bad, |r| {
            if io_err.is_none()
                && let Err(e) = w.row(&r)
            {
                io_err = Some(e);
            }
        })
        .map_err(Failure::input)?;
    if let Some(e) = io_err {
        return Err(write_err(e));
    }
    w.finish().map_err(write_err)?.commit().map_err(write_err)?;
    for ex in &bad.examples {
        tracing::warn!("{}: {ex}; row kept without timers", db.path());
    }
    if bad.count > 0 {
        tracing::warn!(
            "{}: {} row(s) with unreadable custom_timers (kept, timers empty)",
            db.path(),
            bad.count
        );
    }
    tracing::info!(
        "{}: {rows} rows written to {}",
        db.path(),
        a.output_file.display()
    );
    Ok(exit::OK)
}
