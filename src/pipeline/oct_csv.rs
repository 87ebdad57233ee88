//! OCT's `results-to-csv`: the `result` table as OCT's CSV in one pass; rows go to an
//! unnamed scratch file next to the output and the header, known only at the end, is
//! put in front; the output appears atomically.

use std::path::{Path, PathBuf};

use super::Error;
use crate::emit::oct_csv::OctCsv;
use crate::emit::output::AtomicFile;
use crate::ingest::oct::{OctDb, OctError};

/// What to convert.
#[derive(Debug, Clone)]
pub struct CsvSettings {
    /// The `results.sqlite` (gzipped or not).
    pub result_file: PathBuf,
    /// The CSV file to write.
    pub output_file: PathBuf,
    /// The field delimiter (one ASCII character; OCT's default is `;`).
    pub delimiter: u8,
}

/// Writes the `result` table of `settings.result_file` as OCT's CSV, atomically.
/// Returns the number of rows written.
pub fn run(a: &CsvSettings) -> Result<u64, Error> {
    let delim = a.delimiter;
    let db = OctDb::open(&a.result_file).map_err(Error::input)?;
    let dir = a
        .output_file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = a
        .output_file
        .file_name()
        .ok_or_else(|| Error::input("OUTPUT_FILE needs a file name"))?;
    let write_err =
        |e: std::io::Error| Error::output(format!("cannot write {}: {e}", a.output_file.display()));
    let mut file = AtomicFile::create(dir, &name.to_string_lossy(), false).map_err(write_err)?;
    let mut csv = OctCsv::new(scratch_file(dir).map_err(write_err)?, delim);
    let rows = db
        .for_each_raw_row_pipelined(|r| csv.row(r).map_err(CsvError::Write))
        .map_err(|e| match e {
            CsvError::Read(e) => Error::input(e),
            CsvError::Write(e) => write_err(e),
        })?;
    for ex in &csv.bad_examples {
        tracing::warn!(
            "{}: row id {}: {}; row kept without timers",
            db.path(),
            ex.id,
            ex.what
        );
    }
    if csv.bad_count > 0 {
        tracing::warn!(
            "{}: {} row(s) with unreadable custom_timers (kept, timers empty)",
            db.path(),
            csv.bad_count
        );
    }
    csv.finish(&mut file).map_err(write_err)?;
    file.commit().map_err(write_err)?;
    tracing::info!(
        "{}: {rows} rows written to {}",
        db.path(),
        a.output_file.display()
    );
    Ok(rows)
}

enum CsvError {
    Read(OctError),
    Write(std::io::Error),
}

impl From<OctError> for CsvError {
    fn from(e: OctError) -> CsvError {
        CsvError::Read(e)
    }
}

/// An unnamed scratch file next to the output (same file system, no leftovers: the
/// name is removed as soon as the file is open).
fn scratch_file(dir: &Path) -> std::io::Result<std::fs::File> {
    let path = dir.join(format!(".resultpipe-csv-body-{}", std::process::id()));
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(f)
}
