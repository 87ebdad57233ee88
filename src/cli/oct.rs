//! `resultpipe oct report RESULTS.sqlite [--config config.json] -o DIR`, and OCT's own
//! argument shapes: `rebuild-results RESULTS_DIR CONFIG [-f RESULTS_FILE]` (alias
//! `rebuild`) and `results-to-csv RESULT_FILE OUTPUT_FILE [-d DELIM]` (alias `to-csv`).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::{Failure, exit};
use crate::emit::oct_csv::OctCsv;
use crate::emit::oct_report::{Report, utc_datetime};
use crate::emit::output::{AtomicFile, write_file};
use crate::ingest::oct::{OctDb, OctError};
use crate::model::load::Series;
use crate::model::load_stats::{SeriesStats, StatsError, compile};

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
    #[command(flatten)]
    pub settings: ReportSettings,
}

#[derive(Debug, Clone, Args)]
pub struct RebuildArgs {
    /// The directory containing the results; the report is written there.
    pub results_dir: PathBuf,
    /// The configuration file (OCT's config.json).
    pub config_file: PathBuf,
    /// The sqlite result file [default: RESULTS_DIR/results.sqlite].
    #[arg(short = 'f', long = "results-file")]
    pub results_file: Option<PathBuf>,
    #[command(flatten)]
    pub settings: ReportSettings,
}

#[derive(Debug, Clone, Args)]
pub struct ReportSettings {
    /// Time-series interval in seconds [default: the config's results_ts_interval, else 10].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub interval: Option<u32>,
}

/// The interval when neither the flag nor the config gives one (OCT's new-project
/// template uses 10).
pub const DEFAULT_INTERVAL_S: u32 = 10;

pub fn run(cmd: OctCommand) -> Result<u8, Failure> {
    match cmd {
        OctCommand::Report(a) => report(
            &a.results_file,
            a.config.as_deref(),
            &a.output_dir,
            &a.settings,
        ),
        OctCommand::RebuildResults(a) => {
            let file = a
                .results_file
                .clone()
                .unwrap_or_else(|| a.results_dir.join("results.sqlite"));
            report(&file, Some(&a.config_file), &a.results_dir, &a.settings)
        }
        OctCommand::ResultsToCsv(a) => to_csv(a),
    }
}

/// What the report takes from OCT's config.json.
#[derive(Debug, Default)]
struct ReportConfig {
    interval_s: Option<u32>,
    run_time: Option<serde_json::Value>,
}

fn read_config(path: &Path) -> Result<ReportConfig, Failure> {
    let text = std::fs::read(path)
        .map_err(|e| Failure::input(format!("cannot read config {}: {e}", path.display())))?;
    let v: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| Failure::input(format!("config {}: not valid JSON: {e}", path.display())))?;
    let Some(obj) = v.as_object() else {
        return Err(Failure::input(format!(
            "config {}: not a JSON object",
            path.display()
        )));
    };
    let mut cfg = ReportConfig::default();
    match obj.get("results_ts_interval") {
        None => tracing::warn!(
            "config {}: no results_ts_interval; using {DEFAULT_INTERVAL_S} s",
            path.display()
        ),
        Some(v) => match v.as_f64() {
            Some(x) if x >= 1.0 && x.fract() == 0.0 && x <= f64::from(u32::MAX) => {
                cfg.interval_s = Some(x as u32)
            }
            _ => {
                return Err(Failure::input(format!(
                    "config {}: results_ts_interval must be a whole number of seconds >= 1, not {v}",
                    path.display()
                )));
            }
        },
    }
    match obj.get("run_time") {
        None => tracing::warn!(
            "config {}: no run_time; the report shows the measured duration",
            path.display()
        ),
        Some(v) => cfg.run_time = Some(v.clone()),
    }
    if obj.get("testing").and_then(serde_json::Value::as_bool) == Some(true) {
        tracing::warn!(
            "config {}: \"testing\": true would make OCT read /tmp/results.sqlite; reading the given file",
            path.display()
        );
    }
    Ok(cfg)
}

fn report(
    results_file: &Path,
    config: Option<&Path>,
    out_dir: &Path,
    settings: &ReportSettings,
) -> Result<u8, Failure> {
    let cfg = match config {
        Some(p) => read_config(p)?,
        None => ReportConfig::default(),
    };
    let interval_s = settings
        .interval
        .or(cfg.interval_s)
        .unwrap_or(DEFAULT_INTERVAL_S);
    let started = std::time::Instant::now();
    let db = OctDb::open(results_file).map_err(Failure::input)?;
    let run = db.load_run().map_err(Failure::input)?;
    tracing::info!(
        "read {} rows in {:.2?}",
        run.transactions,
        started.elapsed()
    );
    for p in &run.problems {
        tracing::warn!("{}: {p}", db.path());
    }
    let stats = compile_all(&run.series, interval_s)
        .map_err(|e| Failure::input(format!("{}: {e}", db.path())))?;
    tracing::info!("statistics done at {:.2?}", started.elapsed());
    let source = results_file.display().to_string();
    let rep = Report {
        source: &source,
        run: &run,
        stats: &stats,
        interval_s,
        run_time: cfg.run_time.as_ref(),
    };
    let html = rep
        .html()
        .map_err(|e| Failure::input(format!("cannot render the report: {e}")))?;
    let mut json = serde_json::to_vec_pretty(&rep.json()).expect("a JSON value serializes");
    json.push(b'\n');
    std::fs::create_dir_all(out_dir)
        .map_err(|e| Failure::input(format!("cannot create {}: {e}", out_dir.display())))?;
    let write_err =
        |e: std::io::Error| Failure::input(format!("cannot write to {}: {e}", out_dir.display()));
    write_file(out_dir, "results.json", false, &json).map_err(write_err)?;
    write_file(out_dir, "results.html", false, html.as_bytes()).map_err(write_err)?;
    tracing::info!("report written at {:.2?}", started.elapsed());

    let mut out = std::io::stdout().lock();
    let span = run.span_ns();
    let lines = [
        format!("transactions: {}", run.transactions),
        format!("timers: {}", run.timer_points),
        format!("errors: {}", run.errors),
        format!(
            "test start: {}",
            span.map_or("-".into(), |s| utc_datetime(s.0))
        ),
        format!(
            "test finish: {}",
            span.map_or("-".into(), |s| utc_datetime(s.1))
        ),
    ];
    let skipped = run.bad_rows + run.bad_timer_rows + run.bad_timer_values;
    let mut text = lines.join("\n");
    if run.transactions == 0 {
        text.push_str("\nNo results: the report says so");
    }
    if skipped > 0 {
        text.push_str(&format!(
            "\nskipped: {} row(s) without time or value, {} row(s) with unreadable timers, {} timer value(s) not numbers",
            run.bad_rows, run.bad_timer_rows, run.bad_timer_values
        ));
    }
    text.push_str(&format!(
        "\nreport: {}\nreport data: {}\n",
        out_dir.join("results.html").display(),
        out_dir.join("results.json").display()
    ));
    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
    Ok(exit::OK)
}

/// Every series' statistics, several series at a time (polars sorts on the same
/// cores); the result keeps the series' order.
fn compile_all(series: &[Series], interval_s: u32) -> Result<Vec<SeriesStats>, StatsError> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    let mut done: Vec<(usize, Result<SeriesStats, StatsError>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers.min(series.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(s) = series.get(i) else { break mine };
                        mine.push((i, compile(s, interval_s)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a statistics worker panicked"))
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
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
    let mut file = AtomicFile::create(dir, &name.to_string_lossy(), false).map_err(write_err)?;
    let mut csv = OctCsv::new(scratch_file(dir).map_err(write_err)?, delim);
    let rows = db
        .for_each_raw_row_pipelined(|r| csv.row(r).map_err(CsvError::Write))
        .map_err(|e| match e {
            CsvError::Read(e) => Failure::input(e),
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
    Ok(exit::OK)
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
