//! Treeherder jobs: one pulse-job document per run (validated before anything is
//! written), validating anyone's documents, and submitting a REST collection.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::Error;
use crate::emit::output::write_file;
use crate::ingest::source::{
    InputError, Progress, all_sources, read_source, read_text, sources_for,
};
use crate::model::retry::Backoff;
use crate::sinks::treeherder_http::{Endpoint, HawkCredentials, submit as post};
use crate::treeherder::checks::client_checks;
use crate::treeherder::job::{JobSpec, RunSummary, parse_jobs, pulse_job};
use crate::treeherder::schema::{JobSchema, SchemaVersion, Violation};

/// Jobs from runs: which runs, and everything a job needs besides its run.
#[derive(Debug, Clone)]
pub struct JobsSettings {
    /// Subunit files, `-`, or directories holding a repository (its latest run).
    pub inputs: Vec<PathBuf>,
    /// The job's settings.
    pub spec: JobSpec,
    /// The schema version to shape `origin` for.
    pub version: SchemaVersion,
    /// An input that cannot be read gets a job with result `exception` (and a summary
    /// saying why) instead of failing the job.
    pub unreadable_as_exception: bool,
}

/// One pulse-job document per input run, each with the name of its input. Every input
/// must exist before any is read (unless unreadable ones become exception jobs).
pub fn jobs_from_runs(
    settings: &JobsSettings,
    progress: &dyn Progress,
) -> Result<Vec<(String, Value)>, Error> {
    let (spec, version) = (&settings.spec, settings.version);
    if !settings.unreadable_as_exception {
        all_sources(&settings.inputs).map_err(Error::input)?;
    }
    let mut jobs = Vec::new();
    for input in &settings.inputs {
        let sources = match sources_for(input) {
            Ok(s) => s,
            Err(e) if settings.unreadable_as_exception => {
                let label = input.display().to_string();
                let why = e.one_line();
                tracing::error!("{why}; its job says result exception");
                let run = RunSummary {
                    unreadable: Some(why),
                    ..RunSummary::default()
                };
                jobs.push((label.clone(), pulse_job(spec, &run, &label, version)));
                continue;
            }
            Err(e) => return Err(Error::input(e)),
        };
        for source in sources {
            let label = source.label();
            let mut run = RunSummary::default();
            match read_source(
                &source,
                progress,
                |_, _| (),
                &mut |r, _, ()| run.add(r),
                &mut |_| {},
            ) {
                Ok(report) => {
                    run.listed_not_run = report.listed_not_run.len() as u64;
                    run.other_bytes = report.passthrough_bytes;
                    if run.total() == 0 {
                        tracing::warn!("{label}: no test results in it");
                    }
                }
                Err(e) if settings.unreadable_as_exception => {
                    let why = InputError::new(&label, e).one_line();
                    tracing::error!("{why}; its job says result exception");
                    run.unreadable = Some(why);
                }
                Err(e) => return Err(Error::input(InputError::new(&label, e))),
            }
            let doc = pulse_job(spec, &run, &label, version);
            jobs.push((label, doc));
        }
    }
    Ok(jobs)
}

/// Fails (an input error listing every rule broken) unless every job is valid; `what`
/// says what was not done then ("nothing written").
pub fn check_all(schema: &JobSchema, jobs: &[(String, Value)], what: &str) -> Result<(), Error> {
    let mut msg = String::new();
    for (i, (label, doc)) in jobs.iter().enumerate() {
        for v in schema.violations(doc) {
            msg.push_str(&format!("\n  {label}: job {i}: {v}"));
        }
    }
    if msg.is_empty() {
        Ok(())
    } else {
        Err(Error::input(format!(
            "job(s) not valid for {}; {what}:{msg}",
            schema.source
        )))
    }
}

/// The `treeherder job` job: the jobs of the runs, validated, written as JSON lines to
/// `output` (atomically), or to `out` when `output` is `-`. With `rest`, the REST job
/// items are written instead (the pulse jobs are still validated first). Returns the
/// number of jobs.
pub fn write_jobs(
    settings: &JobsSettings,
    schema: &JobSchema,
    rest: bool,
    output: &Path,
    progress: &dyn Progress,
    out: &mut dyn Write,
) -> Result<usize, Error> {
    let jobs = jobs_from_runs(settings, progress)?;
    check_all(schema, &jobs, "nothing written")?;
    let mut text = String::new();
    for (_, doc) in &jobs {
        let doc = if rest {
            crate::treeherder::rest::rest_job(doc)
        } else {
            doc.clone()
        };
        text.push_str(&serde_json::to_string(&doc).expect("a Value serialises"));
        text.push('\n');
    }
    if output.as_os_str() == "-" {
        out.write_all(text.as_bytes()).map_err(Error::output)?;
    } else {
        let dir = output
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = output
            .file_name()
            .ok_or_else(|| Error::input("--output needs a file name"))?;
        write_file(dir, &name.to_string_lossy(), false, text.as_bytes())
            .map_err(|e| Error::output(format!("cannot write {}: {e}", output.display())))?;
    }
    Ok(jobs.len())
}

/// What validating found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Validation {
    /// Valid jobs.
    pub valid: usize,
    /// Jobs that break a rule (or are not JSON).
    pub invalid: usize,
}

/// Validates the jobs in `files` (an object, an array of objects or JSON lines each;
/// `-` is stdin), printing `FILE: job INDEX: /path: rule` for each broken rule and
/// `N valid, M invalid` to `out`. An input without jobs is an error.
pub fn validate(
    files: &[PathBuf],
    schema: &JobSchema,
    out: &mut dyn Write,
) -> Result<Validation, Error> {
    let mut v = Validation::default();
    let mut empty = Vec::new();
    for file in files {
        let (label, text) = read_text(file).map_err(Error::input)?;
        let jobs = parse_jobs(&text);
        if jobs.is_empty() {
            empty.push(label.clone());
        }
        for (i, job) in jobs.into_iter().enumerate() {
            let violations = match job {
                Ok(doc) => schema.violations(&doc),
                Err(e) => vec![Violation {
                    path: String::new(),
                    rule: e,
                }],
            };
            if violations.is_empty() {
                v.valid += 1;
                continue;
            }
            v.invalid += 1;
            for rule in violations {
                let _ = writeln!(out, "{label}: job {i}: {rule}");
            }
        }
    }
    let _ = writeln!(
        out,
        "{} valid, {} invalid ({})",
        v.valid, v.invalid, schema.source
    );
    if !empty.is_empty() {
        return Err(Error::input(format!(
            "no jobs in {}: nothing was validated",
            empty.join(", ")
        )));
    }
    Ok(v)
}

/// A collection to submit: read (`-` is stdin; a JSON array or JSON lines, gzipped or
/// not) and checked as treeherder-client checked it before sending.
pub fn load_collection(file: &Path, endpoint: Endpoint) -> Result<Vec<Value>, Error> {
    let (label, text) = read_text(file).map_err(Error::input)?;
    let items = parse_jobs(&text)
        .into_iter()
        .enumerate()
        .map(|(i, r)| r.map_err(|e| Error::input(format!("{label}: item {i}: {e}"))))
        .collect::<Result<Vec<Value>, _>>()?;
    let problems = client_checks(endpoint, &items);
    if !problems.is_empty() {
        return Err(Error::input(format!(
            "{label}: not sent:\n  {}",
            problems.join("\n  ")
        )));
    }
    Ok(items)
}

/// Where and how to submit a collection.
#[derive(Debug, Clone)]
pub struct SubmitSettings {
    /// Treeherder's base URL.
    pub server: String,
    /// The project (repository name).
    pub project: String,
    /// Which collection it is.
    pub endpoint: Endpoint,
    /// The Hawk credentials.
    pub credentials: HawkCredentials,
    /// Tries in all on connection errors, 408, 429 and 5xx.
    pub attempts: u32,
}

/// POSTs `items` as one Hawk-signed collection; prints what the server answered.
pub fn submit(
    settings: &SubmitSettings,
    items: &[Value],
    out: &mut dyn Write,
) -> Result<(), Error> {
    let mut body = Vec::new();
    crate::emit::pyjson::write_value(&mut body, &Value::Array(items.to_vec()));
    let backoff = Backoff {
        attempts: settings.attempts.max(1),
        ..Backoff::default()
    };
    let reply = post(
        &settings.server,
        &settings.project,
        settings.endpoint,
        &body,
        &settings.credentials,
        backoff,
    )
    .map_err(Error::delivery)?;
    let _ = writeln!(
        out,
        "submitted {} {} item(s): {}",
        items.len(),
        settings.endpoint.path(),
        reply.trim()
    );
    Ok(())
}
