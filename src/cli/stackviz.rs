//! `stackviz-export` / `resultpipe stackviz`: the flags of the real tool plus
//! `--layout`, `--all-runs`, `--strict`, and the export job itself.

use std::collections::HashSet;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::inputs::{InputError, Source, python_basename, read_source};
use super::{Failure, Verbosity, exit, show_progress};
use crate::emit::output::{AtomicFile, write_file};
use crate::emit::pyjson::{key, sep, write_str};
use crate::emit::stackviz::{DatasetFiles, DatasetWriter, Layout, RecordRenderer, write_object};
use crate::ingest::repository::Repository;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LayoutArg {
    /// The layout stackviz's manual page describes (2016): config.json with a
    /// `tempest` list and stats inline, tempest_<P>_<n>_{raw,details,tree}.json,
    /// dstat_log.csv; read by the stackviz front-end of that time.
    Seed,
    /// Today's layout, byte for byte what stackviz-export writes now: config.json
    /// with datasets and artifacts, <P>-<n>-{raw,details,stats}.json, dstat.csv;
    /// read by today's stackviz front-end (the one OpenStack CI publishes).
    Current,
}

/// Generates JSON data files for a StackViz site.
#[derive(Debug, Clone, Args)]
pub struct StackvizArgs {
    /// Enable gzip compression for data files (config.json stays plain).
    #[arg(short = 'z', long = "gzip")]
    pub gzip: bool,
    /// Include Zuul metadata from environment variables (current layout).
    #[arg(short = 'e', long = "env")]
    pub env: bool,
    /// Include the given direct subunit stream; can be used multiple times.
    #[arg(short = 'f', long = "stream-file", value_name = "STREAM_FILE")]
    pub stream_files: Vec<PathBuf>,
    /// A directory containing a `.stestr` or `.testrepository` to include; can be used
    /// multiple times.
    #[arg(short = 'r', long = "repository", value_name = "REPOSITORY")]
    pub repositories: Vec<PathBuf>,
    /// Read a direct subunit stream from standard input.
    #[arg(short = 'i', long = "stdin")]
    pub stdin: bool,
    /// The path to the DStat log file (CSV-formatted) to include.
    #[arg(long, value_name = "DSTAT")]
    pub dstat: Option<PathBuf>,
    /// Which stackviz layout to write (see the possible values).
    #[arg(long, value_enum, default_value = "seed")]
    pub layout: LayoutArg,
    /// Export every run of each repository, not only the latest.
    #[arg(long)]
    pub all_runs: bool,
    /// Treat a missing input or any reading problem as an error (exit 2).
    #[arg(long)]
    pub strict: bool,
    /// The output directory. Will be created if it doesn't already exist.
    pub path: PathBuf,
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

struct Exported {
    provider: usize,
    index: usize,
    files: DatasetFiles,
}

/// Runs the export. Returns the exit code.
pub fn run(args: StackvizArgs, v: Verbosity) -> Result<u8, Failure> {
    let layout = match args.layout {
        LayoutArg::Seed => Layout::Seed,
        LayoutArg::Current => Layout::Current,
    };
    let mut problems = 0u64;
    let providers = collect_providers(&args, &mut problems)?;
    fs::create_dir_all(&args.path).map_err(|e| {
        Failure::input(PathError(
            format!("cannot create output directory {}", args.path.display()),
            e,
        ))
    })?;
    let out_dir = args.path.as_path();
    let write_err = |what: String| {
        move |e: io::Error| Failure {
            code: exit::USAGE,
            error: Box::new(PathError(what, e)),
        }
    };
    let mut stdout = io::stdout().lock();

    let dstat_name = match &args.dstat {
        Some(p) => {
            let _ = writeln!(stdout, "Exporting DStat log");
            let _ = stdout.flush();
            match copy_dstat(p, out_dir, layout, args.gzip) {
                Ok(name) => Some((name, python_basename(p))),
                Err(DstatError::Input(e))
                    if e.kind() == io::ErrorKind::NotFound && !args.strict =>
                {
                    tracing::warn!("dstat file {} not found; exporting without it", p.display());
                    problems += 1;
                    None
                }
                Err(DstatError::Input(e)) => {
                    return Err(Failure::input(InputError::new(&p.display().to_string(), e)));
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

    let progress = show_progress(v.quiet);
    let mut exported = Vec::new();
    for (pi, provider) in providers.iter().enumerate() {
        let _ = writeln!(
            stdout,
            "Exporting Tempest provider: {} ({})",
            provider.description,
            provider.datasets.len()
        );
        let _ = stdout.flush();
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
            )
            .map_err(|e| match e {
                ExportError::Input(e) => Failure::input(InputError::new(&source.label(), e)),
                ExportError::Output(e) => write_err(format!(
                    "cannot write the export to the output directory {}",
                    out_dir.display()
                ))(e),
            })?;
            exported.push(Exported {
                provider: pi,
                index,
                files,
            });
        }
    }

    let config = match layout {
        Layout::Current => current_config(
            &providers,
            &exported,
            dstat_name.as_ref(),
            args.gzip,
            args.env,
        ),
        Layout::Seed => seed_config(
            &providers,
            &exported,
            dstat_name.as_ref().map(|d| d.0.as_str()),
        ),
    };
    write_file(out_dir, "config.json", false, &config).map_err(write_err(format!(
        "cannot write config.json to the output directory {}",
        out_dir.display()
    )))?;
    if args.strict && problems > 0 {
        return Err(Failure::input(format!(
            "{problems} problem(s) found and --strict is set (the export was written)"
        )));
    }
    Ok(exit::OK)
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct PathError(String, #[source] io::Error);

/// Whether exporting a dataset failed on its input or on the output directory.
enum ExportError {
    Input(io::Error),
    Output(io::Error),
}

enum DstatError {
    Input(io::Error),
    Output(io::Error),
}

fn collect_providers(args: &StackvizArgs, problems: &mut u64) -> Result<Vec<Provider>, Failure> {
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
        let repo = Repository::open(dir).map_err(Failure::input)?;
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
        if !file.exists() {
            if args.strict {
                return Err(Failure::input(format!(
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
    progress: bool,
    problems: &mut u64,
) -> Result<DatasetFiles, ExportError> {
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
        &mut |r, bytes, rendered| writer.record_prerendered(r, bytes, &rendered),
        &mut on_pass,
    )
    .map_err(ExportError::Input)?;
    if let Some(e) = pass_err {
        return Err(ExportError::Output(e));
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
/// decompressed first.
fn copy_dstat(src: &Path, dir: &Path, layout: Layout, gzip: bool) -> Result<String, DstatError> {
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
    written.map_err(DstatError::Output)
}

fn json_str(s: &str) -> Vec<u8> {
    let mut v = Vec::new();
    write_str(&mut v, s);
    v
}

fn artifact(
    out: &mut Vec<u8>,
    path: &str,
    name: &str,
    kind: &str,
    content: &str,
    primary: bool,
    gzip: bool,
) {
    let (p, n, k, c) = (
        json_str(path),
        json_str(name),
        json_str(kind),
        json_str(content),
    );
    let primary: &[u8] = if primary { b"true" } else { b"false" };
    let mut fields: Vec<(&str, &[u8])> = vec![
        ("path", &p),
        ("artifact_name", &n),
        ("artifact_type", &k),
        ("content_type", &c),
        ("primary", primary),
    ];
    let gz = json_str("gzip");
    if gzip {
        fields.push(("content_encoding", &gz));
    }
    write_object(out, &fields);
}

fn current_config(
    providers: &[Provider],
    exported: &[Exported],
    dstat: Option<&(String, String)>,
    gzip: bool,
    env: bool,
) -> Vec<u8> {
    let mut arts = Vec::new();
    arts.push(b'[');
    let mut first = true;
    if let Some((path, name)) = dstat {
        sep(&mut arts, &mut first);
        artifact(&mut arts, path, name, "dstat", "text/csv", false, gzip);
    }
    for e in exported {
        let name = &providers[e.provider].name;
        let kinds = [
            (&e.files.raw, "subunit", true),
            (&e.files.details, "subunit-details", false),
            (&e.files.third, "subunit-stats", false),
        ];
        for (path, kind, primary) in kinds {
            sep(&mut arts, &mut first);
            artifact(
                &mut arts,
                path,
                name,
                kind,
                "application/json",
                primary,
                gzip,
            );
        }
    }
    arts.push(b']');
    let var = |v: &str| -> Vec<u8> {
        match std::env::var(v) {
            Ok(val) if env => json_str(&val),
            _ => b"null".to_vec(),
        }
    };
    let null: &[u8] = b"null";
    let (name, pipeline, change_id, revision, project) = (
        var("JOB_NAME"),
        var("ZUUL_PIPELINE"),
        var("ZUUL_CHANGE"),
        var("ZUUL_PATCHSET"),
        var("ZUUL_PROJECT"),
    );
    let mut dataset = Vec::new();
    write_object(
        &mut dataset,
        &[
            ("name", &name),
            ("url", null),
            ("status", null),
            ("ci_username", null),
            ("pipeline", &pipeline),
            ("change_id", &change_id),
            ("revision", &revision),
            ("change_project", &project),
            ("change_subject", null),
            ("artifacts", &arts),
        ],
    );
    let mut datasets = vec![b'['];
    datasets.extend_from_slice(&dataset);
    datasets.push(b']');
    let mut out = Vec::new();
    write_object(&mut out, &[("deployer", b"false"), ("datasets", &datasets)]);
    out
}

fn seed_config(providers: &[Provider], exported: &[Exported], dstat: Option<&str>) -> Vec<u8> {
    let mut list = vec![b'['];
    let mut first = true;
    for (id, e) in exported.iter().enumerate() {
        sep(&mut list, &mut first);
        let p = &providers[e.provider];
        let name = if p.datasets.len() > 1 {
            format!("{} ({})", p.description, e.index)
        } else {
            p.description.clone()
        };
        let stats = e.files.inline_stats.clone().unwrap_or_default();
        let (n, tree, raw, details, idj) = (
            json_str(&name),
            json_str(&e.files.third),
            json_str(&e.files.raw),
            json_str(&e.files.details),
            id.to_string(),
        );
        let dj = dstat.map(json_str);
        let mut fields: Vec<(&str, &[u8])> = vec![
            ("stats", &stats),
            ("name", &n),
            ("tree", &tree),
            ("raw", &raw),
            ("details", &details),
            ("id", idj.as_bytes()),
        ];
        if let Some(d) = &dj {
            fields.push(("dstat", d));
        }
        write_object(&mut list, &fields);
    }
    list.push(b']');
    let mut out = Vec::new();
    out.push(b'{');
    key(&mut out, "tempest");
    out.extend_from_slice(&list);
    out.push(b'}');
    out
}
