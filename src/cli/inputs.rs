//! Opening inputs (files, stdin, repository runs), reading them into records with an
//! optional progress bar, and reporting what went wrong where.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};

use crate::ingest::{self, Format, ReadReport};
use crate::model::TestRecord;

/// One subunit source.
#[derive(Debug, Clone)]
pub enum Source {
    File(PathBuf),
    Stdin,
    /// One run file of a repository (subunit v1).
    RepoRun {
        path: PathBuf,
        id: u64,
    },
}

impl From<&crate::ingest::repository::Run> for Source {
    fn from(run: &crate::ingest::repository::Run) -> Source {
        Source::RepoRun {
            path: run.path.clone(),
            id: run.id,
        }
    }
}

impl Source {
    /// How problems name this input.
    pub fn label(&self) -> String {
        match self {
            Source::File(p) => p.display().to_string(),
            Source::Stdin => "<stdin>".into(),
            Source::RepoRun { path, .. } => path.display().to_string(),
        }
    }

    fn format(&self) -> Format {
        match self {
            Source::RepoRun { .. } => Format::V1,
            _ => Format::Auto,
        }
    }
}

/// `os.path.basename`: everything after the last `/` (empty for `dir/`).
pub fn python_basename(p: &Path) -> String {
    let s = p.to_string_lossy();
    match s.rfind('/') {
        Some(i) => s[i + 1..].to_owned(),
        None => s.into_owned(),
    }
}

/// Reads `source` into records, drawing progress when `progress` is set, and logs every
/// problem found (with the input's name and the offset or line).
pub fn read_source(
    source: &Source,
    progress: bool,
    on_record: &mut impl FnMut(TestRecord),
    on_passthrough: &mut impl FnMut(&[u8]),
) -> io::Result<ReadReport> {
    let label = source.label();
    let (reader, len): (Box<dyn Read>, Option<u64>) = match source {
        Source::File(p) | Source::RepoRun { path: p, .. } => {
            let f = File::open(p)?;
            let len = f.metadata().ok().map(|m| m.len());
            (Box::new(f), len)
        }
        Source::Stdin => (Box::new(io::stdin().lock()), None),
    };
    let bar = progress.then(|| {
        let bar = match len {
            Some(n) => ProgressBar::new(n).with_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{msg} {spinner} {bytes} {bytes_per_sec}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        bar.with_message(label.clone())
    });
    let report = match &bar {
        Some(bar) => ingest::read_records(
            bar.wrap_read(reader),
            source.format(),
            on_record,
            on_passthrough,
        ),
        None => ingest::read_records(reader, source.format(), on_record, on_passthrough),
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let report = report?;
    log_report(&label, &report);
    Ok(report)
}

/// Logs the problems of one read: each kept one, then a count.
pub fn log_report(label: &str, report: &ReadReport) {
    if report.format == Some(Format::V1) {
        tracing::debug!("{label}: read as subunit v1 text");
    }
    for p in &report.problems {
        tracing::warn!("{label}: {p}");
    }
    if report.problem_count > report.problems.len() as u64 {
        tracing::warn!(
            "{label}: ... and {} more problems",
            report.problem_count - report.problems.len() as u64
        );
    }
    if report.problem_count > 0 {
        tracing::warn!(
            "{label}: {} problem(s) while reading ({} corrupt region(s)); every valid packet was kept",
            report.problem_count,
            report.error_count
        );
    }
}
