//! The stackviz export (`stackviz-export`): every input read into records, each record
//! rendered in the chosen layout while the next ones are read, data files written
//! atomically, `config.json` last, so an interrupted export never looks complete.

use std::collections::HashSet;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::report::{self, ReportBuilder, SizePolicy};
use super::{Context, Error};
use crate::emit::output::{AtomicFile, write_file};
use crate::emit::stackviz::{DatasetFiles, DatasetWriter, Layout, RecordRenderer};
use crate::emit::stackviz_config::{Exported, Zuul, current_config, seed_config};
use crate::ingest::fetch;
use crate::ingest::repository::Repository;
use crate::ingest::source::{
    InputError, Progress, Source, fetched_source, python_basename, read_source,
};

/// What to export, and how (`stackviz-export`'s flags, validated).
#[derive(Debug, Clone)]
pub struct ExportSettings {
    /// The layout to write.
    pub layout: Layout,
    /// gzip every data file (`-z`).
    pub gzip: bool,
    /// Zuul metadata for today's `config.json` (`-e`; all `None` without it).
    pub zuul: Zuul,
    /// Subunit files (`-f`), in order.
    pub stream_files: Vec<PathBuf>,
    /// Directories holding a repository (`-r`).
    pub repositories: Vec<PathBuf>,
    /// Read a stream from standard input (`-i`).
    pub stdin: bool,
    /// The dstat log to copy (`--dstat`).
    pub dstat: Option<PathBuf>,
    /// Every run of each repository, not only the latest.
    pub all_runs: bool,
    /// A missing input or any reading problem is an error.
    pub strict: bool,
    /// Also write the run report of the same inputs (`--html`).
    pub html: Option<HtmlSettings>,
    /// The output directory (created when missing).
    pub output: PathBuf,
}

/// The run report written beside the export (`--html`).
#[derive(Debug, Clone, Default)]
pub struct HtmlSettings {
    /// The page to write.
    pub output: PathBuf,
    /// Its title (default: "Test run" and the first input's name).
    pub title: Option<String>,
    /// CI metadata to show.
    pub ci: Vec<(String, String)>,
    /// What of the attachments to keep.
    pub policy: SizePolicy,
}

/// One provider: an input with its name and the datasets it yields.
struct Provider {
    /// Name used in file names (before the layout's prefix).
    name: String,
    description: String,
    datasets: Vec<Source>,
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Stdin,
    Repo,
}

impl Provider {
    fn file_stem(&self, layout: Layout) -> String {
        match (layout, self.kind) {
            (Layout::Current, _) => self.name.clone(),
            (Layout::Seed, Kind::File) => format!("file_{}", self.name),
            (Layout::Seed, Kind::Repo) => format!("repo_{}", self.name),
            (Layout::Seed, Kind::Stdin) => "stdin".into(),
        }
    }
}

/// What the export wrote.
#[derive(Debug, Clone, Default)]
pub struct ExportOutcome {
    /// Datasets exported.
    pub datasets: usize,
    /// Problems found (missing inputs, reading problems), each already logged.
    pub problems: u64,
    /// Test records exported, over all datasets.
    pub records: u64,
    /// Of them, failures.
    pub failures: u64,
}

/// Runs the export: the dstat log first, then every dataset, `config.json` last. Prints
/// the real tool's progress lines to `out`.
pub fn run(
    args: &ExportSettings,
    progress: &dyn Progress,
    out: &mut dyn Write,
) -> Result<ExportOutcome, Error> {
    let layout = args.layout;
    let mut problems = 0u64;
    let providers = collect_providers(args, &mut problems)?;
    fs::create_dir_all(&args.output).map_err(|e| {
        Error::output(Context::new(
            format!("cannot create output directory {}", args.output.display()),
            e,
        ))
    })?;
    let out_dir = args.output.as_path();
    let write_err = |what: String| move |e: io::Error| Error::output(Context::new(what, e));

    // the log as read for the copy, kept for the report (read once)
    let mut dstat_log: Option<(String, Vec<u8>)> = None;
    let dstat_name = match &args.dstat {
        Some(p) => {
            let _ = writeln!(out, "Exporting DStat log");
            let _ = out.flush();
            match copy_dstat(p, out_dir, layout, args.gzip) {
                Ok((name, bytes)) => {
                    dstat_log = Some((p.display().to_string(), bytes));
                    Some((name, python_basename(p)))
                }
                Err(DstatError::Input(e))
                    if e.kind() == io::ErrorKind::NotFound && !args.strict =>
                {
                    tracing::warn!("dstat file {} not found; exporting without it", p.display());
                    problems += 1;
                    None
                }
                Err(DstatError::Input(e)) => {
                    return Err(Error::input(InputError::new(&p.display().to_string(), e)));
                }
                Err(DstatError::Output(e)) => {
                    return Err(write_err(format!(
                        "cannot write the dstat log to the output directory {}",
                        out_dir.display()
                    ))(e));
                }
            }
        }
        None => None,
    };

    let mut html = match &args.html {
        Some(h) => {
            let dir = report::parent_dir(&h.output);
            fs::create_dir_all(dir)
                .and_then(|()| ReportBuilder::new(dir, h.policy))
                .map(Some)
                .map_err(report::output_error(&h.output))?
        }
        None => None,
    };
    let mut written: Vec<(usize, usize, DatasetFiles)> = Vec::new();
    for (pi, provider) in providers.iter().enumerate() {
        let _ = writeln!(
            out,
            "Exporting Tempest provider: {} ({})",
            provider.description,
            provider.datasets.len()
        );
        let _ = out.flush();
        let stem = provider.file_stem(layout);
        for (index, source) in provider.datasets.iter().enumerate() {
            let files = export_dataset(
                source,
                out_dir,
                layout,
                &stem,
                index,
                args.gzip,
                progress,
                &mut problems,
                html.as_mut(),
            )
            .map_err(|e| match e {
                ExportError::Input(e) => Error::input(InputError::new(&source.label(), e)),
                ExportError::Output(e) => write_err(format!(
                    "cannot write the export to the output directory {}",
                    out_dir.display()
                ))(e),
            })?;
            written.push((pi, index, files));
        }
    }

    let exported: Vec<Exported<'_>> = written
        .iter()
        .map(|(pi, index, files)| {
            let p = &providers[*pi];
            Exported {
                provider_name: &p.name,
                provider_description: &p.description,
                provider_datasets: p.datasets.len(),
                index: *index,
                files,
            }
        })
        .collect();
    let config = match layout {
        Layout::Current => current_config(&exported, dstat_name.as_ref(), args.gzip, &args.zuul),
        Layout::Seed => seed_config(&exported, dstat_name.as_ref().map(|d| d.0.as_str())),
    };
    write_file(out_dir, "config.json", false, &config).map_err(write_err(format!(
        "cannot write config.json to the output directory {}",
        out_dir.display()
    )))?;
    if let (Some(builder), Some(h)) = (html, &args.html) {
        let first = providers.iter().flat_map(|p| &p.datasets).next();
        report::finish(
            builder,
            &report::Page {
                output: &h.output,
                dstat: dstat_log.as_ref().map(|(l, b)| (l.as_str(), b.as_slice())),
                title: h.title.clone(),
                first_input: first.map(Source::label),
                ci: &h.ci,
            },
        )?;
        let _ = writeln!(out, "Wrote the run report {}", h.output.display());
    }
    if args.strict && problems > 0 {
        return Err(Error::input(format!(
            "{problems} problem(s) found and --strict is set (the export was written)"
        )));
    }
    Ok(ExportOutcome {
        datasets: exported.len(),
        problems,
        records: written.iter().map(|(_, _, f)| f.stats.count()).sum(),
        failures: written.iter().map(|(_, _, f)| f.stats.failures()).sum(),
    })
}

/// Whether exporting a dataset failed on its input or on the output directory.
enum ExportError {
    Input(io::Error),
    Output(io::Error),
}

enum DstatError {
    Input(io::Error),
    Output(io::Error),
}

fn collect_providers(args: &ExportSettings, problems: &mut u64) -> Result<Vec<Provider>, Error> {
    let mut providers = Vec::new();
    let mut used = HashSet::new();
    let mut unique = |base: String, what: &str| -> String {
        if used.insert(base.clone()) {
            return base;
        }
        let mut n = 2;
        loop {
            let candidate = format!("{base}_{n}");
            if used.insert(candidate.clone()) {
                tracing::warn!(
                    "{what} has the same name as an earlier input ({base}); exported as {candidate}"
                );
                return candidate;
            }
            n += 1;
        }
    };
    for dir in &args.repositories {
        let repo = Repository::open(dir).map_err(Error::input)?;
        let runs: Vec<Source> = if args.all_runs {
            repo.runs.iter().map(Source::from).collect()
        } else {
            repo.latest().map(Source::from).into_iter().collect()
        };
        if runs.is_empty() {
            tracing::warn!("{}: repository has no runs", repo.dir.display());
        }
        let base = python_basename(dir);
        let name = unique(base.clone(), &dir.display().to_string());
        providers.push(Provider {
            description: format!("Repository: {name}"),
            name,
            datasets: runs,
            kind: Kind::Repo,
        });
    }
    for file in &args.stream_files {
        if let Some(url) = file.to_str().filter(|s| fetch::is_url(s)) {
            // a URL that cannot be fetched is an error even without --strict: a
            // worker must retry it, not export a run without it
            let source = fetched_source(url).map_err(Error::input)?;
            let name = unique(fetch::url_file_name(url), &source.label());
            providers.push(Provider {
                description: format!("Subunit File: {name}"),
                name,
                datasets: vec![source],
                kind: Kind::File,
            });
            continue;
        }
        if !file.exists() {
            if args.strict {
                return Err(Error::input(format!(
                    "input file {} does not exist",
                    file.display()
                )));
            }
            tracing::warn!("input file {} does not exist; skipped", file.display());
            *problems += 1;
            continue;
        }
        let name = unique(python_basename(file), &file.display().to_string());
        providers.push(Provider {
            description: format!("Subunit File: {name}"),
            name,
            datasets: vec![Source::File(file.clone())],
            kind: Kind::File,
        });
    }
    if args.stdin {
        let name = unique("stdin".into(), "standard input");
        providers.push(Provider {
            description: "Subunit Stream (stdin)".into(),
            name,
            datasets: vec![Source::Stdin],
            kind: Kind::Stdin,
        });
    }
    Ok(providers)
}

#[allow(clippy::too_many_arguments)]
fn export_dataset(
    source: &Source,
    dir: &Path,
    layout: Layout,
    stem: &str,
    index: usize,
    gzip: bool,
    progress: &dyn Progress,
    problems: &mut u64,
    mut html: Option<&mut ReportBuilder>,
) -> Result<DatasetFiles, ExportError> {
    if let Some(b) = html.as_deref_mut() {
        b.begin_input(&source.label());
    }
    let mut html_err: Option<io::Error> = None;
    let mut writer =
        DatasetWriter::create(dir, layout, stem, index, gzip).map_err(ExportError::Output)?;
    let pass_name = match layout {
        Layout::Current => format!("{stem}-{index}-passthrough.txt"),
        Layout::Seed => format!("tempest_{stem}_{index}_passthrough.txt"),
    };
    let mut passthrough: Option<AtomicFile> = None;
    let mut pass_err: Option<io::Error> = None;
    let mut on_pass = |bytes: &[u8]| {
        if pass_err.is_some() {
            return;
        }
        let r = (|| {
            if passthrough.is_none() {
                passthrough = Some(AtomicFile::create(dir, &pass_name, false)?);
            }
            passthrough.as_mut().expect("just created").write_all(bytes)
        })();
        if let Err(e) = r {
            pass_err = Some(e);
        }
    };
    let mut renderer = RecordRenderer::new(layout);
    let report = read_source(
        source,
        progress,
        |r, out| renderer.render(r, out),
        &mut |r, bytes, rendered| {
            if let Some(b) = html.as_deref_mut()
                && html_err.is_none()
                && let Err(e) = b.add_record(r)
            {
                html_err = Some(e);
            }
            writer.record_prerendered(r, bytes, &rendered)
        },
        &mut on_pass,
    )
    .map_err(ExportError::Input)?;
    if let Some(e) = pass_err.or(html_err) {
        return Err(ExportError::Output(e));
    }
    if let Some(b) = html {
        b.end_input(report.clone());
    }
    let label = source.label();
    if report.records == 0 {
        tracing::warn!("{label}: no test results in it; its dataset is empty");
    }
    if let Some(p) = passthrough {
        p.commit().map_err(ExportError::Output)?;
        tracing::warn!(
            "{label}: {} bytes of non-subunit output kept in {}",
            report.passthrough_bytes,
            dir.join(&pass_name).display()
        );
    }
    let files = writer.finish().map_err(ExportError::Output)?;
    let n = files.notes;
    if n.binary > 0 {
        tracing::warn!(
            "{label}: {} attachment(s) are not text; exported as data: URIs (base64)",
            n.binary
        );
    }
    if n.undecodable > 0 {
        tracing::warn!(
            "{label}: {} attachment(s) had bytes invalid in their charset; replaced with U+FFFD",
            n.undecodable
        );
    }
    if n.unknown_charset > 0 {
        tracing::warn!(
            "{label}: {} attachment(s) name an unknown charset; read as UTF-8",
            n.unknown_charset
        );
    }
    if n.untimed_records > 0 {
        tracing::warn!(
            "{label}: {} record(s) lack a start or end timestamp; exported with null timestamps/duration",
            n.untimed_records
        );
    }
    *problems += report.problem_count;
    Ok(files)
}

/// Copies the dstat log: current layout `dstat.csv` with CRLF turned into LF (as the real
/// tool's text-mode copy), seed layout `dstat_log.csv` byte for byte. A gzipped log is
/// decompressed first. Returns the file's name and the log's bytes.
fn copy_dstat(
    src: &Path,
    dir: &Path,
    layout: Layout,
    gzip: bool,
) -> Result<(String, Vec<u8>), DstatError> {
    let data = crate::ingest::input::read_all(src).map_err(DstatError::Input)?;
    let written = match layout {
        Layout::Seed => write_file(dir, "dstat_log.csv", gzip, &data),
        Layout::Current => {
            let mut out = Vec::with_capacity(data.len());
            let mut i = 0;
            while i < data.len() {
                if data[i] == b'\r' && data.get(i + 1) == Some(&b'\n') {
                    i += 1;
                    continue;
                }
                out.push(data[i]);
                i += 1;
            }
            write_file(dir, "dstat.csv", gzip, &out)
        }
    };
    written.map(|name| (name, data)).map_err(DstatError::Output)
}
