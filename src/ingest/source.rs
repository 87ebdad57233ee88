//! Where a run comes from (a file, stdin, a repository's run) and reading it into
//! records: parsing and grouping run on a thread of their own while the caller consumes
//! the records, and every problem is reported with the input's name and where in it.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use crate::ingest::{self, Format, ReadReport};
use crate::model::{RecordBuilder, RecordPool, TestRecord};

/// One subunit source. An input names a file, `-` (stdin), a directory holding a
/// repository (its latest run) or `DIR@N` (the repository's run N).
#[derive(Debug, Clone)]
pub enum Source {
    /// A file (subunit v2 or v1, gzipped or not).
    File(PathBuf),
    /// Standard input.
    Stdin,
    /// One run file of a repository (subunit v1).
    RepoRun {
        /// The run file.
        path: PathBuf,
    },
    /// An input fetched over HTTP(S), read from its spool file.
    Fetched {
        /// The URL as shown (no password or query).
        label: String,
        /// The spool file.
        spool: std::sync::Arc<crate::ingest::fetch::Spool>,
    },
}

impl From<&crate::ingest::repository::Run> for Source {
    fn from(run: &crate::ingest::repository::Run) -> Source {
        Source::RepoRun {
            path: run.path.clone(),
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
            Source::Fetched { label, .. } => label.clone(),
        }
    }

    fn format(&self) -> Format {
        match self {
            Source::RepoRun { .. } => Format::V1,
            _ => Format::Auto,
        }
    }
}

/// An input that cannot be read, named.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// Opening or reading it failed.
    #[error("cannot read {label}")]
    Read {
        /// The input's name.
        label: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A directory without a usable repository.
    #[error(transparent)]
    Repository(#[from] crate::ingest::repository::RepoError),
    /// A repository without any run.
    #[error("{0}: the repository holds no runs")]
    NoRuns(String),
    /// `DIR@N` where the repository has no run N.
    #[error("{0}: the repository has no run {1}")]
    NoSuchRun(String, u64),
    /// An input over HTTP(S) that could not be fetched.
    #[error(transparent)]
    Fetch(#[from] crate::ingest::fetch::FetchError),
    /// A text input (JSON) that is not UTF-8.
    #[error("{0}: not UTF-8 text (JSON expected)")]
    NotText(String),
}

impl InputError {
    /// A read error of the input named `label`.
    pub fn new(label: &str, source: io::Error) -> InputError {
        InputError::Read {
            label: label.to_owned(),
            source,
        }
    }

    /// The error and its causes on one line (for a job's summary, say).
    pub fn one_line(&self) -> String {
        let mut line = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(s) = source {
            line.push_str(": ");
            line.push_str(&s.to_string());
            source = s.source();
        }
        line
    }
}

/// The sources a command-line input names: `-` is stdin, an `http(s)://` URL is
/// fetched (see [`crate::ingest::fetch`]), a directory is the latest run of the
/// repository in it, anything else a file, which must exist.
pub fn sources_for(input: &Path) -> Result<Vec<Source>, InputError> {
    if input.as_os_str() == "-" {
        Ok(vec![Source::Stdin])
    } else if let Some(url) = input.to_str().filter(|s| crate::ingest::fetch::is_url(s)) {
        Ok(vec![fetched_source(url)?])
    } else if input.is_dir() {
        let repo = crate::ingest::repository::Repository::open(input)?;
        match repo.latest() {
            Some(run) => Ok(vec![Source::from(run)]),
            None => Err(InputError::NoRuns(repo.dir.display().to_string())),
        }
    } else if let Some((dir, run)) = repository_run(input) {
        // DIR@N: run N of the repository in DIR
        let repo = crate::ingest::repository::Repository::open(&dir)?;
        match repo.runs.iter().find(|r| r.id == run) {
            Some(r) => Ok(vec![Source::from(r)]),
            None => Err(InputError::NoSuchRun(repo.dir.display().to_string(), run)),
        }
    } else {
        std::fs::metadata(input).map_err(|e| InputError::new(&input.display().to_string(), e))?;
        Ok(vec![Source::File(input.to_path_buf())])
    }
}

/// The source of a URL input, fetched (once per [`crate::ingest::fetch::Scope`]).
pub fn fetched_source(url: &str) -> Result<Source, InputError> {
    let f = crate::ingest::fetch::fetch_input(url)?;
    Ok(Source::Fetched {
        label: crate::ingest::fetch::display_url(url),
        spool: f.spool,
    })
}

/// `DIR@N` where no file has that name and DIR is a directory: (DIR, N).
fn repository_run(input: &Path) -> Option<(PathBuf, u64)> {
    if input.exists() {
        return None;
    }
    let text = input.to_str()?;
    let (dir, run) = text.rsplit_once('@')?;
    let run = run.parse().ok()?;
    Path::new(dir).is_dir().then(|| (PathBuf::from(dir), run))
}

/// [`sources_for`] every input, before any is read: a missing one is reported before
/// any work is done.
pub fn all_sources(inputs: &[PathBuf]) -> Result<Vec<Source>, InputError> {
    let mut all = Vec::new();
    for input in inputs {
        all.extend(sources_for(input)?);
    }
    Ok(all)
}

/// A whole text input (a job file, a collection), gzipped or not; `-` is stdin.
/// Returns its label for messages and its text.
pub fn read_text(path: &Path) -> Result<(String, String), InputError> {
    let (label, bytes) = if path.as_os_str() == "-" {
        let label = "<stdin>".to_owned();
        let bytes = crate::ingest::input::decompressing(io::stdin())
            .and_then(crate::ingest::input::read_all_from)
            .map_err(|e| InputError::new(&label, e))?;
        (label, bytes)
    } else {
        let label = path.display().to_string();
        let bytes = crate::ingest::input::read_all(path).map_err(|e| InputError::new(&label, e))?;
        (label, bytes)
    };
    match String::from_utf8(bytes) {
        Ok(text) => Ok((label, text)),
        Err(_) => Err(InputError::NotText(label)),
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

/// Records with what `prepare` made of each, handed from the reading thread to the
/// consuming one and back (so their buffers are reused).
struct Batch<T> {
    records: Vec<TestRecord>,
    /// Bytes `prepare` appended, per record: `bytes[spans[i].0..spans[i].1]`.
    bytes: Vec<u8>,
    spans: Vec<(usize, usize, T)>,
}

impl<T> Batch<T> {
    fn new() -> Batch<T> {
        Batch {
            records: Vec::with_capacity(BATCH),
            bytes: Vec::new(),
            spans: Vec::with_capacity(BATCH),
        }
    }
}

enum Msg<T> {
    Records(Batch<T>),
    Passthrough(Vec<u8>),
}

/// Watches reading: a command-line tool draws a progress bar, a worker or a test
/// records or ignores it. Called from the reading thread.
pub trait Progress: Sync {
    /// Reading `label` starts; `len` is its size in bytes when known.
    fn start(&self, label: &str, len: Option<u64>) {
        let _ = (label, len);
    }
    /// `bytes` more bytes were read (before decompression).
    fn advance(&self, bytes: u64) {
        let _ = bytes;
    }
    /// Reading ended.
    fn finish(&self) {}
}

/// Progress nobody watches.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// A reader that tells a [`Progress`] how far it got.
struct Watched<'a, R> {
    inner: R,
    progress: &'a dyn Progress,
}

impl<R: Read> Read for Watched<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.advance(n as u64);
        Ok(n)
    }
}

/// Records per message: few, large messages keep thread hand-offs rare.
const BATCH: usize = 512;

/// Reads `source` into records. Parsing, grouping and `prepare` (e.g. rendering a
/// record's JSON) run on a thread of their own while the caller consumes the records;
/// records and buffers then go back for reuse, so neither side allocates per record.
/// `on_record` gets each record with the bytes `prepare` appended and its result, on
/// the calling thread, in input order. Tells `progress` how far reading got, and logs
/// every problem found with the input's name and the offset or line.
pub fn read_source<T: Send>(
    source: &Source,
    progress: &dyn Progress,
    prepare: impl FnMut(&TestRecord, &mut Vec<u8>) -> T + Send,
    on_record: &mut impl FnMut(&TestRecord, &[u8], T),
    on_passthrough: &mut impl FnMut(&[u8]),
) -> io::Result<ReadReport> {
    read_source_as(source, None, progress, prepare, on_record, on_passthrough)
}

/// [`read_source`], reading a file or stream `as_format` (a repository's runs keep
/// theirs) instead of telling its format from its content.
pub fn read_source_as<T: Send>(
    source: &Source,
    as_format: Option<Format>,
    progress: &dyn Progress,
    mut prepare: impl FnMut(&TestRecord, &mut Vec<u8>) -> T + Send,
    on_record: &mut impl FnMut(&TestRecord, &[u8], T),
    on_passthrough: &mut impl FnMut(&[u8]),
) -> io::Result<ReadReport> {
    let label = source.label();
    let (reader, len): (Box<dyn Read + Send>, Option<u64>) = match source {
        Source::File(p) | Source::RepoRun { path: p, .. } => {
            let f = File::open(p)?;
            let len = f.metadata().ok().map(|m| m.len());
            (Box::new(f), len)
        }
        Source::Fetched { spool, .. } => {
            let f = File::open(spool.path())?;
            let len = f.metadata().ok().map(|m| m.len());
            (Box::new(f), len)
        }
        Source::Stdin => (Box::new(io::stdin()), None),
    };
    progress.start(&label, len);
    let format = match (source.format(), as_format) {
        (Format::Auto, Some(f)) => f,
        (f, _) => f,
    };
    let pool = RecordPool::new();
    let (tx, rx) = mpsc::sync_channel::<Msg<T>>(4);
    let (back_tx, back_rx) = mpsc::channel::<Batch<T>>();
    let report = std::thread::scope(|scope| {
        let worker_pool = pool.clone();
        let worker = scope.spawn(move || {
            let builder = RecordBuilder::with_pool(worker_pool);
            let mut batch = Batch::new();
            let text_tx = tx.clone();
            let mut send_records = |r: TestRecord| {
                let start = batch.bytes.len();
                let t = prepare(&r, &mut batch.bytes);
                batch.spans.push((start, batch.bytes.len(), t));
                batch.records.push(r);
                if batch.records.len() == BATCH {
                    let next = back_rx.try_recv().unwrap_or_else(|_| Batch::new());
                    let full = std::mem::replace(&mut batch, next);
                    let _ = tx.send(Msg::Records(full));
                }
            };
            let mut send_text = |b: &[u8]| {
                let _ = text_tx.send(Msg::Passthrough(b.to_vec()));
            };
            let input = Watched {
                inner: reader,
                progress,
            };
            let result = ingest::read_records_with(
                input,
                format,
                builder,
                &mut send_records,
                &mut send_text,
            );
            if !batch.records.is_empty() {
                let _ = text_tx.send(Msg::Records(batch));
            }
            result
        });
        for msg in rx {
            match msg {
                Msg::Records(mut batch) => {
                    for (r, (a, b, t)) in batch.records.iter().zip(batch.spans.drain(..)) {
                        on_record(r, &batch.bytes[a..b], t);
                    }
                    pool.give(std::mem::take(&mut batch.records));
                    batch.bytes.clear();
                    let _ = back_tx.send(batch);
                }
                Msg::Passthrough(bytes) => on_passthrough(&bytes),
            }
        }
        worker
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("reader thread panicked")))
    });
    progress.finish();
    let report = report?;
    log_report(&label, &report);
    Ok(report)
}

/// Logs the problems of one read: each kept one, then a count.
pub fn log_report(label: &str, report: &ReadReport) {
    if report.format == Some(Format::V1) {
        tracing::debug!("{label}: read as subunit v1 text");
    }
    if report.compression == crate::ingest::input::Compression::Gzip {
        tracing::debug!("{label}: gzip-compressed, read through");
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
    if report.error_count > 0 {
        let kept = if report.format == Some(Format::JUnit) {
            "every testcase completed before the damage was read"
        } else {
            "every valid packet around them was read"
        };
        tracing::warn!(
            "{label}: {} corrupt region(s) skipped; {kept}",
            report.error_count
        );
    }
}
