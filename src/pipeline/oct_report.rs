//! The OCT report job: a `results.sqlite` read, each series' statistics computed (several
//! series at a time), `results.html` and `results.json` written.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Context, Error};
use crate::emit::oct_report::{Report, utc_datetime};
use crate::emit::output::write_file;
use crate::ingest::oct::OctDb;
use crate::model::load::Series;
use crate::model::load_stats::{SeriesStats, StatsError, compile};

/// What to report on.
#[derive(Debug, Clone)]
pub struct ReportSettings {
    /// The `results.sqlite` (gzipped or not).
    pub results_file: PathBuf,
    /// OCT's config.json: `results_ts_interval` and `run_time` are read from it.
    pub config: Option<PathBuf>,
    /// Where `results.html` and `results.json` go (created when missing).
    pub output_dir: PathBuf,
    /// The time-series interval in seconds (default: the config's, else 10).
    pub interval: Option<u32>,
}

/// What the report found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportOutcome {
    /// Transactions (rows) in the run.
    pub transactions: u64,
    /// Transactions with an error.
    pub errors: u64,
    /// Rows left out of the statistics or without their timers.
    pub skipped_rows: u64,
}

/// The interval when neither the flag nor the config gives one (OCT's new-project
/// template uses 10).
pub const DEFAULT_INTERVAL_S: u32 = 10;

/// What the report takes from OCT's config.json.
#[derive(Debug, Default)]
struct ReportConfig {
    interval_s: Option<u32>,
    run_time: Option<serde_json::Value>,
}

fn read_config(path: &Path) -> Result<ReportConfig, Error> {
    let text = std::fs::read(path)
        .map_err(|e| Error::input(format!("cannot read config {}: {e}", path.display())))?;
    let v: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| Error::input(format!("config {}: not valid JSON: {e}", path.display())))?;
    let Some(obj) = v.as_object() else {
        return Err(Error::input(format!(
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
                return Err(Error::input(format!(
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

/// Writes `results.html` and `results.json` for a `results.sqlite` into the output
/// directory and prints OCT's console lines (transactions, timers, errors, start,
/// finish) and where the files are to `out`.
pub fn run(settings: &ReportSettings, out: &mut dyn Write) -> Result<ReportOutcome, Error> {
    let results_file = settings.results_file.as_path();
    let out_dir = settings.output_dir.as_path();
    let cfg = match &settings.config {
        Some(p) => read_config(p)?,
        None => ReportConfig::default(),
    };
    let interval_s = settings
        .interval
        .or(cfg.interval_s)
        .unwrap_or(DEFAULT_INTERVAL_S);
    let started = std::time::Instant::now();
    let db = OctDb::open(results_file).map_err(Error::input)?;
    let run = db.load_run().map_err(Error::input)?;
    tracing::info!(
        "read {} rows in {:.2?}",
        run.transactions,
        started.elapsed()
    );
    for p in &run.problems {
        tracing::warn!("{}: {p}", db.path());
    }
    let stats = compile_all(&run.series, interval_s)
        .map_err(|e| Error::input(format!("{}: {e}", db.path())))?;
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
        .map_err(|e| Error::output(Context::new("cannot render the report", e)))?;
    let mut json = serde_json::to_vec_pretty(&rep.json()).expect("a JSON value serializes");
    json.push(b'\n');
    std::fs::create_dir_all(out_dir)
        .map_err(|e| Error::output(format!("cannot create {}: {e}", out_dir.display())))?;
    let write_err =
        |e: std::io::Error| Error::output(format!("cannot write to {}: {e}", out_dir.display()));
    write_file(out_dir, "results.json", false, &json).map_err(write_err)?;
    write_file(out_dir, "results.html", false, html.as_bytes()).map_err(write_err)?;
    tracing::info!("report written at {:.2?}", started.elapsed());

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
    Ok(ReportOutcome {
        transactions: run.transactions,
        errors: run.errors,
        skipped_rows: run.bad_rows + run.bad_timer_rows,
    })
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
