//! A run's lifecycle as Splunk HTTP Event Collector events (see
//! `docs/splunk-events.md`): read from subunit runs and OCT results, then printed as
//! HEC envelopes (a dry run) or delivered in gzipped batches.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::Error;
use crate::emit::hec::Envelope;
use crate::ingest::oct::{CellRef, OctDb, OctError, visit_timers};
use crate::ingest::source::{InputError, NoProgress, read_source, sources_for};
use crate::model::run_events::{EventLog, RunEvent};
use crate::sinks::splunk_hec::{Delivery, HecSettings, deliver_rendered};

/// Which runs to report, and how their events are labelled.
#[derive(Debug, Clone, Default)]
pub struct SendSettings {
    /// Subunit files, `-`, repositories or OCT `results.sqlite` files.
    pub inputs: Vec<PathBuf>,
    /// HEC's `index` for the events.
    pub index: Option<String>,
    /// HEC's `source`.
    pub source: Option<String>,
    /// HEC's `sourcetype`.
    pub sourcetype: Option<String>,
    /// HEC's `host`.
    pub host: Option<String>,
    /// The reporter's id in every event.
    pub id: String,
    /// The run's name (default: see [`default_run_name`]).
    pub run: Option<String>,
    /// A project: the run is then named `<project>_<run>`.
    pub project: Option<String>,
}

/// A run's events and how each is wrapped for HEC.
#[derive(Debug, Clone)]
pub struct RunEvents {
    /// The envelope's metadata.
    pub envelope: Envelope,
    /// The events, in time order.
    pub events: Vec<RunEvent>,
}

/// Whether `path` is an SQLite database (an OCT `results.sqlite`), gzipped or not.
fn is_sqlite(path: &Path) -> bool {
    path.as_os_str() != "-"
        && crate::ingest::input::head(path, 16).is_ok_and(|h| h == b"SQLite format 3\0")
}

/// The run's default name: for OCT results the name of their directory (OCT names it
/// after the run: `results/results_<date>`), else the first input's file name.
pub fn default_run_name(first: &Path) -> String {
    if is_sqlite(first) {
        let dir = first
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map_or_else(|| std::path::absolute("."), std::path::absolute);
        if let Some(name) = dir.ok().as_deref().and_then(Path::file_name) {
            return name.to_string_lossy().into_owned();
        }
    }
    if first.as_os_str() == "-" {
        return "stdin".into();
    }
    first.file_name().map_or_else(
        || first.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Reads every input (all are checked to exist first) into the run's events.
pub fn read(settings: &SendSettings) -> Result<RunEvents, Error> {
    let first = settings
        .inputs
        .first()
        .ok_or_else(|| Error::input("no input"))?;
    let run_name = settings
        .run
        .clone()
        .unwrap_or_else(|| default_run_name(first));
    let envelope = Envelope {
        host: settings.host.clone(),
        source: settings.source.clone(),
        sourcetype: settings.sourcetype.clone(),
        index: settings.index.clone(),
        id: settings.id.clone(),
        run: match &settings.project {
            Some(p) => format!("{p}_{run_name}"),
            None => run_name,
        },
    };
    for input in settings.inputs.iter().filter(|i| !is_sqlite(i)) {
        sources_for(input).map_err(Error::input)?;
    }
    let mut log = EventLog::default();
    for input in &settings.inputs {
        if is_sqlite(input) {
            read_oct(input, &mut log)?;
            continue;
        }
        for source in sources_for(input).map_err(Error::input)? {
            read_source(
                &source,
                &NoProgress,
                |_, _| (),
                &mut |r, _, ()| {
                    let error = r.status.is_failure().then(|| {
                        let full = r.traceback().map(|a| a.text()).unwrap_or_default();
                        (r.last_traceback_line().unwrap_or_default(), full)
                    });
                    log.add_record(r, error);
                },
                &mut |_| {},
            )
            .map_err(|e| Error::input(InputError::new(&source.label(), e)))?;
        }
    }
    if log.untimed > 0 {
        tracing::warn!(
            "{} record(s) without any timestamp cannot be placed in time: no events for them",
            log.untimed
        );
    }
    Ok(RunEvents {
        envelope,
        events: log.finish(),
    })
}

/// Writes every envelope as a JSON line (`--dry-run`). A closed `out` ends it quietly.
pub fn print(run: &RunEvents, out: &mut dyn Write) {
    let mut out = std::io::BufWriter::new(out);
    let mut line = String::new();
    for e in &run.events {
        line.clear();
        run.envelope.write(&mut line, e);
        line.push('\n');
        if out.write_all(line.as_bytes()).is_err() {
            return; // a closed pipe
        }
    }
    let _ = out.flush();
}

/// Sends the events; says what was delivered, or fails loudly with the number of
/// events lost.
pub fn send(
    run: &RunEvents,
    settings: &HecSettings,
    out: &mut dyn Write,
) -> Result<Delivery, Error> {
    let (env, events) = (&run.envelope, &run.events);
    let started = Instant::now();
    let total = events.len() as u64;
    let mut next = events.iter();
    let delivery = deliver_rendered(settings, |line| match next.next() {
        Some(e) => {
            env.write(line, e);
            true
        }
        None => false,
    });
    let secs = started.elapsed().as_secs_f64();
    let lost = total - delivery.delivered.min(total);
    match delivery.error {
        None => {
            let _ = writeln!(
                out,
                "splunk: delivered {} event(s) in {} batch(es) to {} in {secs:.2} s ({}{}{})",
                delivery.delivered,
                delivery.batches,
                crate::sinks::pulse::redact_url(&settings.url),
                if delivery.gzip {
                    "gzip"
                } else {
                    "uncompressed"
                },
                if settings.ack.is_some() {
                    ", acknowledged"
                } else {
                    ""
                },
                if delivery.retries > 0 {
                    format!(", {} retried request(s)", delivery.retries)
                } else {
                    String::new()
                },
            );
            Ok(delivery)
        }
        Some(e) => {
            tracing::error!(
                "splunk: {lost} of {total} event(s) lost: {} delivered{}",
                delivery.delivered,
                if settings.ack.is_some() {
                    " (acknowledged)"
                } else {
                    ""
                }
            );
            Err(Error::delivery(e))
        }
    }
}

/// One `jobFinish`/`jobFail` per OCT transaction, its turret as the worker.
fn read_oct(path: &Path, log: &mut EventLog) -> Result<(), Error> {
    let db = OctDb::open(path).map_err(Error::input)?;
    let mut skipped = 0u64;
    let mut timers: Vec<(String, f64)> = Vec::new();
    db.for_each_raw_row(|r| -> Result<(), OctError> {
        let num = |c: CellRef<'_>| c.as_f64().filter(|f| f.is_finite());
        let (Some(time), Some(took)) = (num(r.epoch), num(r.scriptrun_time)) else {
            skipped += 1;
            return Ok(());
        };
        let text = |c: CellRef<'_>| match c {
            CellRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
            _ => None,
        };
        let child = text(r.turret_name).unwrap_or_else(|| "Noname".into());
        let error = text(r.error);
        if let CellRef::Text(t) = r.custom_timers {
            let _ = visit_timers(t, &mut |name, v| {
                if let Some(x) = v.as_f64() {
                    timers.push((name.to_owned(), x));
                }
            });
        }
        log.add_transaction(time, &child, took, error.as_deref(), timers.drain(..));
        Ok(())
    })
    .map_err(Error::input)?;
    if skipped > 0 {
        tracing::warn!(
            "{}: {skipped} row(s) without a usable epoch or scriptrun_time: no events for them",
            db.path()
        );
    }
    Ok(())
}
