//! The summary job: every input read, its records counted into a [`SummaryReport`],
//! the report written. A run in which no test ran is not a pass (unless allowed).

use std::io::Write;
use std::path::PathBuf;

use super::Error;
use crate::emit::summary::{SummaryReport, TAIL_BYTES};
use crate::ingest::source::{InputError, Progress, all_sources, read_source};

/// What to summarize.
#[derive(Debug, Clone, Default)]
pub struct SummarySettings {
    /// Subunit files (v2 or v1, plain or gzipped), `-` for stdin, or directories
    /// holding a repository (its latest run).
    pub inputs: Vec<PathBuf>,
    /// A run in which no test ran passes.
    pub allow_empty: bool,
}

/// What the summary found.
#[derive(Debug)]
pub struct SummaryOutcome {
    /// The report, as written.
    pub report: SummaryReport,
    /// Whether the run passes: nothing failed, and some test ran (or that is allowed).
    pub passed: bool,
}

/// Reads every input (all are checked to exist first), writes the summary to `out`.
pub fn run(
    settings: &SummarySettings,
    progress: &dyn Progress,
    out: &mut dyn Write,
) -> Result<SummaryOutcome, Error> {
    let mut report = SummaryReport::default();
    for source in all_sources(&settings.inputs).map_err(Error::input)? {
        let label = source.label();
        let before = report.total();
        let mut tail: Vec<u8> = Vec::new();
        let read = read_source(
            &source,
            progress,
            |_, _| (),
            &mut |r, _, ()| report.add(r),
            &mut |bytes| {
                tail.extend_from_slice(bytes);
                if tail.len() > 2 * TAIL_BYTES {
                    tail.drain(..tail.len() - TAIL_BYTES);
                }
            },
        )
        .map_err(|e| Error::input(InputError::new(&label, e)))?;
        report.add_listed_not_run(read.listed_not_run.len() as u64);
        if report.total() == before {
            tracing::warn!("{label}: no test results in it");
        }
        report.add_other_output(label, tail);
    }
    out.write_all(report.render().as_bytes())
        .and_then(|()| out.flush())
        .map_err(Error::output)?;
    let empty = report.total() == 0 && !settings.allow_empty;
    Ok(SummaryOutcome {
        passed: !report.failed() && !empty,
        report,
    })
}
