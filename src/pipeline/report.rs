//! The run report job: every input read as one run (a test seen again is another
//! attempt), the dstat log, and one self-contained HTML page written (see
//! [`crate::emit::report`]). The page is made even for a run without tests (it says
//! so); it is a report, not a verdict.

use std::path::{Path, PathBuf};

use super::Error;
pub use crate::emit::report::{ReportBuilder, ReportStats, SizePolicy};
use crate::emit::report::{ReportMeta, ResourceInput};
use crate::ingest::dstat::read_dstat;
use crate::ingest::source::{InputError, Progress, all_sources, read_source};

/// What to report on, and how.
#[derive(Debug, Clone, Default)]
pub struct ReportSettings {
    /// Subunit files, `-`, repository directories: one run, in order.
    pub inputs: Vec<PathBuf>,
    /// The page to write.
    pub output: PathBuf,
    /// A dstat or dool CSV taken during the run.
    pub dstat: Option<PathBuf>,
    /// The page's title (default: the first input's name).
    pub title: Option<String>,
    /// CI metadata to show (name, value).
    pub ci: Vec<(String, String)>,
    /// What of the attachments to keep.
    pub policy: SizePolicy,
    /// An earlier run of the same suite to compare with.
    pub baseline: Option<PathBuf>,
}

/// The generator's name, as the page shows it.
pub fn generator() -> String {
    concat!("resultpipe ", env!("CARGO_PKG_VERSION")).to_owned()
}

/// The directory a file goes in (`.` for a bare name).
pub fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// The dstat log's name and bytes (gzip decompressed), read once.
pub fn read_dstat_log(path: &Path) -> Result<(String, Vec<u8>), Error> {
    let label = path.display().to_string();
    let bytes = crate::ingest::input::read_all(path)
        .map_err(|e| Error::input(InputError::new(&label, e)))?;
    Ok((label, bytes))
}

/// The dstat log's samples for a run that started in `year` (its `Date:` header wins).
pub fn resources(label: &str, bytes: &[u8], year: Option<i64>) -> ResourceInput {
    let read = read_dstat(bytes, year);
    for p in &read.problems {
        tracing::warn!("{label}: {p}");
    }
    ResourceInput {
        label: label.to_owned(),
        resources: read.resources,
        problems: read.problems,
        problem_count: read.problem_count,
    }
}

/// How a write error of the page `path` reads.
pub fn output_error(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| {
        Error::output(super::Context::new(
            format!("cannot write the report {}", path.display()),
            e,
        ))
    }
}

/// What the page says besides the records, and where it goes.
#[derive(Debug, Clone)]
pub struct Page<'a> {
    /// The page to write.
    pub output: &'a Path,
    /// The dstat log: its name and bytes.
    pub dstat: Option<(&'a str, &'a [u8])>,
    /// The title given, if any.
    pub title: Option<String>,
    /// The first input's name (for the default title).
    pub first_input: Option<String>,
    /// CI metadata.
    pub ci: &'a [(String, String)],
}

/// Adds the dstat log and writes the page of what `builder` holds.
pub fn finish(mut builder: ReportBuilder, page: &Page<'_>) -> Result<ReportStats, Error> {
    if let Some((label, bytes)) = page.dstat {
        let year = builder.start_year();
        builder.set_resources(resources(label, bytes, year));
    }
    let title = page
        .title
        .clone()
        .unwrap_or_else(|| match &page.first_input {
            Some(l) => format!("Test run {}", l.rsplit('/').next().unwrap_or(l)),
            None => "Test run".into(),
        });
    let meta = ReportMeta {
        title,
        ci: page.ci.to_vec(),
        generator: generator(),
    };
    builder
        .finish(&meta, page.output)
        .map_err(output_error(page.output))
}

/// Writes the report of the run; says what it holds.
pub fn run(settings: &ReportSettings, progress: &dyn Progress) -> Result<ReportStats, Error> {
    let sources = all_sources(&settings.inputs).map_err(Error::input)?;
    // read before any work: a missing log is an error before anything is written
    let dstat = settings.dstat.as_deref().map(read_dstat_log).transpose()?;
    let dir = parent_dir(&settings.output);
    let out_err = output_error(&settings.output);
    std::fs::create_dir_all(dir).map_err(&out_err)?;
    let mut builder = ReportBuilder::new(dir, settings.policy).map_err(&out_err)?;
    if let Some(b) = &settings.baseline {
        let baseline = super::summary::read_triage(std::slice::from_ref(b), progress)?;
        builder.set_baseline(&b.display().to_string(), baseline);
    }
    for source in &sources {
        let label = source.label();
        builder.begin_input(&label);
        let mut failed = None;
        let report = read_source(
            source,
            progress,
            |_, _| (),
            &mut |r, _, ()| {
                if failed.is_none()
                    && let Err(e) = builder.add_record(r)
                {
                    failed = Some(e);
                }
            },
            &mut |_| {},
        )
        .map_err(|e| Error::input(InputError::new(&label, e)))?;
        if let Some(e) = failed {
            return Err(out_err(e));
        }
        if report.records == 0 {
            tracing::warn!("{label}: no test results in it");
        }
        builder.end_input(report);
    }
    finish(
        builder,
        &Page {
            output: &settings.output,
            dstat: dstat.as_ref().map(|(l, b)| (l.as_str(), b.as_slice())),
            title: settings.title.clone(),
            first_input: sources.first().map(|s| s.label()),
            ci: &settings.ci,
        },
    )
}
