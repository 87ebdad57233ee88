//! The summary job: every input read, its records counted into a [`SummaryReport`],
//! the report written. A run in which no test ran is not a pass (unless allowed).

use std::io::Write;
use std::path::PathBuf;

use super::Error;
use crate::emit::summary::{SummaryReport, TAIL_BYTES};
use crate::ingest::source::{InputError, Progress, all_sources, read_source};
use crate::model::triage::Triage;

/// What to summarize.
#[derive(Debug, Clone, Default)]
pub struct SummarySettings {
    /// Subunit files (v2 or v1, plain or gzipped), `-` for stdin, or directories
    /// holding a repository (its latest run).
    pub inputs: Vec<PathBuf>,
    /// A run in which no test ran passes.
    pub allow_empty: bool,
    /// A flaky test (failed, then passed) fails the run.
    pub fail_on_flaky: bool,
    /// An earlier run of the same suite to compare with.
    pub baseline: Option<PathBuf>,
    /// Print JSON (the whole analysis) instead of text.
    pub json: bool,
}

/// Reads every input into one run's triage (a test seen again is another attempt).
pub fn read_triage(inputs: &[PathBuf], progress: &dyn Progress) -> Result<Triage, Error> {
    let mut t = Triage::default();
    for source in all_sources(inputs).map_err(Error::input)? {
        let label = source.label();
        read_source(
            &source,
            progress,
            |_, _| (),
            &mut |r, _, ()| t.add(r),
            &mut |_| {},
        )
        .map_err(|e| Error::input(InputError::new(&label, e)))?;
    }
    Ok(t)
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
    let baseline = match &settings.baseline {
        Some(b) => Some(read_triage(std::slice::from_ref(b), progress)?),
        None => None,
    };
    let empty = report.total() == 0 && !settings.allow_empty;
    let flaky_fails = settings.fail_on_flaky && report.has_flaky();
    let passed = !(report.failed() || empty || flaky_fails);
    let text = if settings.json {
        let mut t = serde_json::to_string_pretty(&report.to_json(baseline.as_ref(), passed))
            .expect("JSON serialises");
        t.push('\n');
        t
    } else {
        let mut t = report.render();
        if let Some(b) = &baseline {
            t.push_str(&report.render_baseline(b));
        }
        t
    };
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(Error::output)?;
    Ok(SummaryOutcome { passed, report })
}
