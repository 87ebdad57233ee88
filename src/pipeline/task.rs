//! A task: one run's inputs and the outputs wanted from them, as a queue worker
//! receives it (`schemas/task.v1.json`). [`parse`] validates a task's JSON against the
//! schema; [`run`] fetches the inputs once and builds every output with the same jobs
//! the command line runs, and says whether a failure is worth retrying.
//!
//! Outputs are idempotent: files are renamed into place (a redelivered task rewrites
//! the same bytes), and Treeherder jobs get the same `taskId`s (from the job settings
//! and the input, as `pulse publish` gives them).

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Error, NoProgress};
use crate::emit::report::SizePolicy;
use crate::emit::report::policy::parse_size;
use crate::emit::stackviz::Layout;
use crate::emit::stackviz_config::Zuul;
use crate::ingest::fetch::{self, FetchSettings, Scope};
use crate::ingest::source::{InputError, sources_for};
use crate::model::error_chain;
use crate::sinks::Secret;
use crate::sinks::pulse::SharedPublisher;
use crate::sinks::splunk_hec::HecSettings;
use crate::sinks::treeherder_http::HawkCredentials;
use crate::treeherder::schema::{JobSchema, SchemaVersion};
use crate::treeherder::settings::{ConfigFile, job_spec};

/// The task schema (JSON Schema 2020-12), as `resultpipe task schema` prints it.
pub const SCHEMA: &str = include_str!("../../schemas/task.v1.json");

/// The schema version this build reads.
pub const SCHEMA_VERSION: u32 = 1;

/// A task, validated.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// The schema version it was written for.
    #[serde(default)]
    pub version: Option<u32>,
    /// Its id.
    pub id: String,
    /// Paths and URLs: one run.
    pub inputs: Vec<String>,
    /// A dstat log (path or URL).
    #[serde(default)]
    pub dstat: Option<String>,
    /// What to build.
    pub outputs: Outputs,
}

/// The outputs a task asks for.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outputs {
    /// stackviz data.
    pub stackviz: Option<StackvizOutput>,
    /// The run report.
    pub report: Option<ReportOutput>,
    /// The triage summary as JSON.
    pub summary: Option<SummaryOutput>,
    /// Treeherder jobs on Pulse or over REST.
    pub treeherder: Option<TreeherderOutput>,
    /// Run events to Splunk HEC.
    pub splunk: Option<SplunkOutput>,
}

/// `outputs.stackviz`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackvizOutput {
    /// The output directory.
    pub dir: String,
    /// `current` (default) or `seed`.
    #[serde(default)]
    pub layout: Option<String>,
    /// Gzip the data files.
    #[serde(default)]
    pub gzip: bool,
}

/// `outputs.report`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportOutput {
    /// The page's path.
    pub path: String,
    /// The page's title.
    #[serde(default)]
    pub title: Option<String>,
    /// `--failed-log-cap`.
    #[serde(default)]
    pub failed_log_cap: Option<Value>,
    /// `--passed-log-head`.
    #[serde(default)]
    pub passed_log_head: Option<Value>,
    /// `--passed-log-tail`.
    #[serde(default)]
    pub passed_log_tail: Option<Value>,
    /// `--total-log-cap`.
    #[serde(default)]
    pub total_log_cap: Option<Value>,
    /// `--keep-all-logs`.
    #[serde(default)]
    pub keep_all_logs: bool,
    /// CI details for Run info.
    #[serde(default)]
    pub env: Map<String, Value>,
}

/// `outputs.summary`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummaryOutput {
    /// The JSON file's path.
    pub path: String,
}

/// `outputs.treeherder`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreeherderOutput {
    /// Job settings keyed as `pulse publish`'s long flags.
    pub job: Map<String, Value>,
    /// `2016`, `2025` or `2026` (default).
    #[serde(default)]
    pub schema_version: Option<String>,
    /// Publish to Pulse.
    #[serde(default)]
    pub pulse: Option<PulseOutput>,
    /// POST to Treeherder's REST API.
    #[serde(default)]
    pub submit: Option<SubmitOutput>,
}

/// `outputs.treeherder.submit`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitOutput {
    /// Tries in all on connection errors, 408, 429 and 5xx.
    #[serde(default)]
    pub attempts: Option<u32>,
}

/// `outputs.splunk`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplunkOutput {
    /// The events' index.
    pub index: Option<String>,
    /// The events' source.
    pub source: Option<String>,
    /// The events' sourcetype (default `resultpipe:run`).
    pub sourcetype: Option<String>,
    /// The events' host.
    pub host: Option<String>,
    /// The reporter's id (default: the worker's).
    pub id: Option<String>,
    /// The run's name.
    pub run: Option<String>,
    /// The run's project.
    pub project: Option<String>,
    /// Indexer acknowledgment.
    #[serde(default)]
    pub ack: bool,
    /// Most events in one request.
    pub batch_events: Option<usize>,
    /// Most bytes in one request body.
    pub batch_bytes: Option<usize>,
    /// Gzip the bodies (default true).
    pub gzip: Option<bool>,
}

/// `outputs.treeherder.pulse`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PulseOutput {
    /// The exchange.
    pub exchange: String,
    /// The routing key (default `<destination>.<project>._`).
    #[serde(default)]
    pub routing_key: Option<String>,
    /// The default routing key's first word (default `treeherder`).
    #[serde(default)]
    pub destination: Option<String>,
    /// Only check that the exchange exists.
    #[serde(default)]
    pub passive: bool,
    /// Jobs no queue is bound for count as published.
    #[serde(default)]
    pub allow_unroutable: bool,
}

/// Why a task failed, in the two kinds a queue treats differently.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TaskError {
    /// Retrying cannot help (an invalid task, an input that is missing, not found or
    /// not a run): dead-letter it.
    #[error("{0}")]
    Permanent(String),
    /// Retrying later may work (an input server or broker down, a full disk): return
    /// it to the queue.
    #[error("{0}")]
    Transient(String),
}

impl TaskError {
    /// Whether it is [`TaskError::Permanent`].
    pub fn is_permanent(&self) -> bool {
        matches!(self, TaskError::Permanent(_))
    }

    /// A job's error, by its kind: input errors are permanent unless fetching an input
    /// failed in a way that may pass; output and delivery errors are transient.
    fn from_job(what: &str, e: Error) -> TaskError {
        match e {
            Error::Input(inner) => {
                let text = error_chain(inner.as_ref());
                match inner.downcast_ref::<InputError>() {
                    Some(InputError::Fetch(f)) if f.transient => {
                        TaskError::Transient(format!("{what}: {text}"))
                    }
                    _ => TaskError::Permanent(format!("{what}: {text}")),
                }
            }
            Error::Output(inner) | Error::Delivery(inner) => {
                TaskError::Transient(format!("{what}: {}", error_chain(inner.as_ref())))
            }
        }
    }
}

fn validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let schema: Value = serde_json::from_str(SCHEMA).expect("the task schema is JSON");
        jsonschema::validator_for(&schema).expect("the task schema is a valid schema")
    })
}

/// Reads and validates one task. Every rule it breaks is named, with where in the
/// document (`/outputs/report: "path" is a required property`).
pub fn parse(body: &[u8]) -> Result<Task, TaskError> {
    let doc: Value = serde_json::from_slice(body)
        .map_err(|e| TaskError::Permanent(format!("the task is not JSON: {e}")))?;
    if let Some(v) = doc.get("version").and_then(Value::as_u64)
        && v > u64::from(SCHEMA_VERSION)
    {
        return Err(TaskError::Permanent(format!(
            "the task is for schema version {v}; this worker reads version {SCHEMA_VERSION}"
        )));
    }
    let errors: Vec<String> = validator()
        .iter_errors(&doc)
        .take(8)
        .map(|e| {
            let at = e.instance_path().to_string();
            format!("{}: {e}", if at.is_empty() { "/" } else { &at })
        })
        .collect();
    if !errors.is_empty() {
        return Err(TaskError::Permanent(format!(
            "the task does not match the task schema (version {SCHEMA_VERSION}): {}",
            errors.join("; ")
        )));
    }
    serde_json::from_value(doc)
        .map_err(|e| TaskError::Permanent(format!("the task cannot be read: {e}")))
}

/// A task's id as far as it can be read from a body that may not be a valid task
/// (for logs and dead-letter headers).
pub fn peek_id(body: &[u8]) -> Option<String> {
    let doc: Value = serde_json::from_slice(body).ok()?;
    let id = doc.get("id")?.as_str()?;
    Some(id.chars().take(128).collect())
}

/// What a worker gives every task: secrets from its environment, fetch limits.
#[derive(Debug, Clone, Default)]
pub struct Resources {
    /// The Pulse broker for Treeherder jobs (`PULSE_URL`); tasks that publish fail
    /// without it.
    pub pulse_url: Option<Secret>,
    /// Connection attempts when publishing jobs.
    pub pulse_attempts: u32,
    /// A connection to publish jobs on, kept across tasks (else one per task).
    pub pulse_publisher: Option<SharedPublisher>,
    /// How inputs are fetched.
    pub fetch: FetchSettings,
    /// Treeherder's REST API for `treeherder.submit` outputs: its base URL and the
    /// Hawk credentials.
    pub treeherder: Option<(String, HawkCredentials)>,
    /// Splunk HEC for `splunk` outputs (URL, token, TLS; batching and acks are the
    /// task's).
    pub hec: Option<HecSettings>,
    /// The reporter's id in Splunk events when the task gives none.
    pub splunk_id: String,
}

/// One output built: its kind and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// `stackviz`, `report`, `summary` or `treeherder`.
    pub kind: &'static str,
    /// Its path, or for Treeherder the exchange and the jobs' taskIds.
    pub location: String,
}

/// A task done: what was built, counted and timed.
#[derive(Debug, Clone, Default)]
pub struct Done {
    /// The outputs, in the order they were built.
    pub outputs: Vec<Built>,
    /// Counts: `records`, `failures`, `tests`, `attempts`, `jobs`, ... (those known).
    pub counts: Map<String, Value>,
    /// Fetching the URL inputs.
    pub fetch: Duration,
    /// Bytes fetched (decoded).
    pub fetched_bytes: u64,
    /// Reading the run and writing the files.
    pub build: Duration,
    /// Publishing jobs.
    pub publish: Duration,
}

/// `{task_id}` and `{input_name}` in `template` replaced; any other `{...}` is an
/// error, so a typo does not make a directory named after it.
pub fn expand(template: &str, task_id: &str, input_name: &str) -> Result<PathBuf, TaskError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        let close = after.find('}').ok_or_else(|| {
            TaskError::Permanent(format!("output path {template:?}: an unclosed '{{'"))
        })?;
        match &after[..=close] {
            "{task_id}" => out.push_str(task_id),
            "{input_name}" => out.push_str(input_name),
            other => {
                return Err(TaskError::Permanent(format!(
                    "output path {template:?}: unknown placeholder {other} (there are \
                     {{task_id}} and {{input_name}})"
                )));
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(PathBuf::from(out))
}

/// The first input's file name, `.gz` dropped: what `{input_name}` stands for.
pub fn input_name(input: &str) -> String {
    let name = if fetch::is_url(input) {
        fetch::url_file_name(input)
    } else {
        crate::ingest::source::python_basename(std::path::Path::new(input.trim_end_matches('/')))
    };
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    if name.is_empty() || name == "." || name == ".." {
        "input".into()
    } else {
        name.to_owned()
    }
}

fn size(v: &Option<Value>, default: usize, key: &str) -> Result<usize, TaskError> {
    match v {
        None => Ok(default),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| TaskError::Permanent(format!("report.{key}: {n} is not a size"))),
        Some(Value::String(s)) => {
            parse_size(s).map_err(|e| TaskError::Permanent(format!("report.{key}: {e}")))
        }
        Some(other) => Err(TaskError::Permanent(format!(
            "report.{key}: {other} is not a size"
        ))),
    }
}

impl ReportOutput {
    fn policy(&self) -> Result<SizePolicy, TaskError> {
        let d = SizePolicy::default();
        Ok(SizePolicy {
            failed_cap: size(&self.failed_log_cap, d.failed_cap, "failed_log_cap")?,
            passed_head: size(&self.passed_log_head, d.passed_head, "passed_log_head")?,
            passed_tail: size(&self.passed_log_tail, d.passed_tail, "passed_log_tail")?,
            total_cap: size(&self.total_log_cap, d.total_cap, "total_log_cap")?,
            keep_all: self.keep_all_logs,
        })
    }

    fn ci(&self) -> Vec<(String, String)> {
        self.env
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
            .collect()
    }
}

/// Builds every output of `task`. The URL inputs are fetched first (once each); then
/// the stackviz data and the report in one pass over the run, the summary, and last
/// the Treeherder jobs (so nothing is announced to Treeherder for a run whose files
/// could not be written). A run without test results is a permanent failure.
pub fn run(task: &Task, res: &Resources) -> Result<Done, TaskError> {
    let mut done = Done::default();
    let scope = Scope::enter(res.fetch);
    let started = Instant::now();
    // every input and the dstat log checked (and fetched) before anything is written
    for input in task.inputs.iter().chain(&task.dstat) {
        if fetch::is_url(input) {
            crate::ingest::source::fetched_source(input)
                .map_err(|e| TaskError::from_job("input", Error::input(e)))?;
        } else {
            sources_for(std::path::Path::new(input))
                .map_err(|e| TaskError::from_job("input", Error::input(e)))?;
        }
    }
    done.fetch = started.elapsed();
    done.fetched_bytes = scope.fetched().iter().map(|(_, f)| f.bytes).sum();
    let dstat_path = match &task.dstat {
        // fetched above: the scope hands out its spool
        Some(d) if fetch::is_url(d) => Some(
            fetch::fetch_input(d)
                .map_err(|e| TaskError::from_job("dstat", Error::input(InputError::from(e))))?
                .spool
                .path(),
        ),
        Some(d) => Some(PathBuf::from(d)),
        None => None,
    };

    let name = input_name(&task.inputs[0]);
    let path = |t: &str| expand(t, &task.id, &name);
    let inputs: Vec<PathBuf> = task.inputs.iter().map(PathBuf::from).collect();
    let o = &task.outputs;
    let build_started = Instant::now();
    let mut sink = std::io::sink();
    let report = match &o.report {
        Some(r) => Some((path(&r.path)?, r)),
        None => None,
    };
    let html = match &report {
        Some((p, r)) => Some(super::export::HtmlSettings {
            output: p.clone(),
            title: r.title.clone(),
            ci: r.ci(),
            policy: r.policy()?,
        }),
        None => None,
    };
    let mut records: Option<u64> = None;
    if let Some(s) = &o.stackviz {
        let dir = path(&s.dir)?;
        let layout = match s.layout.as_deref() {
            None | Some("current") => Layout::Current,
            Some("seed") => Layout::Seed,
            Some(other) => {
                return Err(TaskError::Permanent(format!(
                    "stackviz.layout {other:?}: current or seed"
                )));
            }
        };
        let (repositories, stream_files): (Vec<PathBuf>, Vec<PathBuf>) = inputs
            .iter()
            .cloned()
            .partition(|p| !fetch::is_url(&p.to_string_lossy()) && p.is_dir());
        if let Some(p) = stream_files
            .iter()
            .find(|p| !fetch::is_url(&p.to_string_lossy()) && !p.is_file())
        {
            return Err(TaskError::Permanent(format!(
                "stackviz takes files, URLs and repository directories, not {}",
                p.display()
            )));
        }
        let settings = super::export::ExportSettings {
            layout,
            gzip: s.gzip,
            zuul: Zuul::default(),
            stream_files,
            repositories,
            stdin: false,
            dstat: dstat_path.clone(),
            all_runs: false,
            strict: false,
            html: html.clone(),
            output: dir.clone(),
        };
        let out = super::export::run(&settings, &NoProgress, &mut sink)
            .map_err(|e| TaskError::from_job("stackviz", e))?;
        records = Some(out.records);
        done.counts.insert("records".into(), json!(out.records));
        done.counts.insert("failures".into(), json!(out.failures));
        done.counts.insert("datasets".into(), json!(out.datasets));
        done.outputs.push(Built {
            kind: "stackviz",
            location: dir.display().to_string(),
        });
        if let Some((p, _)) = &report {
            done.outputs.push(Built {
                kind: "report",
                location: p.display().to_string(),
            });
        }
    } else if let (Some((p, _)), Some(h)) = (&report, &html) {
        let settings = super::report::ReportSettings {
            inputs: inputs.clone(),
            output: p.clone(),
            dstat: dstat_path.clone(),
            title: h.title.clone(),
            ci: h.ci.clone(),
            policy: h.policy,
            baseline: None,
        };
        let stats = super::report::run(&settings, &NoProgress)
            .map_err(|e| TaskError::from_job("report", e))?;
        records = Some(stats.attempts as u64);
        done.counts.insert("tests".into(), json!(stats.tests));
        done.counts.insert("attempts".into(), json!(stats.attempts));
        done.outputs.push(Built {
            kind: "report",
            location: p.display().to_string(),
        });
    }
    if records == Some(0) {
        return Err(TaskError::Permanent(format!(
            "no test results in {}: not a run",
            task.inputs.join(", ")
        )));
    }
    if let Some(s) = &o.summary {
        let p = path(&s.path)?;
        let mut text = Vec::new();
        let settings = super::summary::SummarySettings {
            inputs: inputs.clone(),
            allow_empty: false,
            fail_on_flaky: false,
            baseline: None,
            json: true,
        };
        let outcome = super::summary::run(&settings, &NoProgress, &mut text)
            .map_err(|e| TaskError::from_job("summary", e))?;
        if outcome.report.total() == 0 {
            return Err(TaskError::Permanent(format!(
                "no test results in {}: not a run",
                task.inputs.join(", ")
            )));
        }
        write_atomically(&p, &text)
            .map_err(|e| TaskError::Transient(format!("summary: {}: {e}", p.display())))?;
        done.counts
            .insert("tests".into(), json!(outcome.report.total()));
        done.counts.insert("passed".into(), json!(outcome.passed));
        done.outputs.push(Built {
            kind: "summary",
            location: p.display().to_string(),
        });
    }
    done.build = build_started.elapsed();
    // the run was read on threads now gone: what they freed goes back before the jobs
    // and events read it again
    super::release_free_memory();
    if let Some(t) = &o.treeherder {
        let publish_started = Instant::now();
        let (taskids, places) = publish_jobs(t, &inputs, res)?;
        done.counts.insert("jobs".into(), json!(taskids.len()));
        done.outputs.push(Built {
            kind: "treeherder",
            location: format!("{} {}", places.join(" "), taskids.join(",")),
        });
        done.publish += publish_started.elapsed();
    }
    if let Some(sp) = &o.splunk {
        let publish_started = Instant::now();
        let delivered = send_events(sp, &inputs, res)?;
        done.counts.insert("events".into(), json!(delivered));
        done.outputs.push(Built {
            kind: "splunk",
            location: res
                .hec
                .as_ref()
                .map(|h| crate::sinks::pulse::redact_url(&h.url))
                .unwrap_or_default(),
        });
        done.publish += publish_started.elapsed();
    }
    drop(scope);
    Ok(done)
}

/// Removes what a worker that died while building `task` left behind: temporary files
/// of its outputs (see [`crate::emit::output::remove_stale_temps`]; those of another
/// machine once older than 15 minutes). A worker calls it before building a task
/// delivered again. Returns how many were removed.
pub fn remove_stale_temps(task: &Task) -> usize {
    let age = Duration::from_secs(15 * 60);
    let name = input_name(&task.inputs[0]);
    let mut places: Vec<(PathBuf, Option<String>)> = Vec::new();
    let o = &task.outputs;
    if let Some(s) = &o.stackviz
        && let Ok(dir) = expand(&s.dir, &task.id, &name)
    {
        places.push((dir, None));
    }
    for path in [
        o.report.as_ref().map(|r| &r.path),
        o.summary.as_ref().map(|s| &s.path),
    ]
    .into_iter()
    .flatten()
    {
        if let Ok(p) = expand(path, &task.id, &name)
            && let Some(file) = p.file_name().and_then(|f| f.to_str())
        {
            places.push((
                super::report::parent_dir(&p).to_path_buf(),
                Some(file.to_owned()),
            ));
        }
    }
    places
        .iter()
        .map(|(dir, file)| {
            crate::emit::output::remove_stale_temps(dir, file.as_deref(), age).unwrap_or(0)
        })
        .sum()
}

/// Writes `data` to `path` through a temporary file in the same directory, renamed
/// into place.
fn write_atomically(path: &std::path::Path, data: &[u8]) -> std::io::Result<()> {
    let dir = super::report::parent_dir(path);
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| std::io::Error::other("the path has no file name"))?;
    crate::emit::output::write_file(dir, name, false, data).map(|_| ())
}

/// Makes, validates and publishes (or POSTs) the jobs; their taskIds, and where they
/// went.
fn publish_jobs(
    t: &TreeherderOutput,
    inputs: &[PathBuf],
    res: &Resources,
) -> Result<(Vec<String>, Vec<String>), TaskError> {
    let version = match t.schema_version.as_deref() {
        None | Some("2026") => SchemaVersion::V2026,
        Some("2025") => SchemaVersion::V2025,
        Some("2016") => SchemaVersion::V2016,
        Some(other) => {
            return Err(TaskError::Permanent(format!(
                "treeherder.schema_version {other:?}: 2016, 2025 or 2026"
            )));
        }
    };
    let config = ConfigFile::from_map(t.job.clone());
    let mut spec =
        job_spec(&config).map_err(|e| TaskError::Permanent(format!("treeherder.job: {e}")))?;
    spec.allow_empty = t.job.get("allow-empty").and_then(Value::as_bool) == Some(true);
    let sources = super::pulse::JobSources {
        inputs: inputs.to_vec(),
        runs: Some(super::treeherder::JobsSettings {
            inputs: Vec::new(),
            spec,
            version,
            unreadable_as_exception: false,
        }),
        routing_key: t.pulse.as_ref().and_then(|p| p.routing_key.clone()),
        destination: t
            .pulse
            .as_ref()
            .and_then(|p| p.destination.clone())
            .unwrap_or_else(|| "treeherder".into()),
    };
    let schema = JobSchema::builtin(version);
    let prepared = super::pulse::prepare(&sources, &schema, &NoProgress)
        .map_err(|e| TaskError::from_job("treeherder", e))?;
    let taskids: Vec<String> = prepared
        .jobs
        .iter()
        .map(|(_, doc)| doc["taskId"].as_str().unwrap_or_default().to_owned())
        .collect();
    let mut places = Vec::new();
    if let Some(submit) = &t.submit {
        let (server, credentials) = res.treeherder.clone().ok_or_else(|| {
            TaskError::Transient(
                "treeherder: this worker has no Treeherder to POST to (give --treeherder-url \
                 and TREEHERDER_CLIENT_ID / TREEHERDER_SECRET); another worker may"
                    .into(),
            )
        })?;
        let items: Vec<Value> = prepared
            .jobs
            .iter()
            .map(|(_, doc)| crate::treeherder::rest::rest_job(doc))
            .collect();
        let project = t
            .job
            .get("project")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let settings = super::treeherder::SubmitSettings {
            server: server.clone(),
            project: project.to_owned(),
            endpoint: crate::sinks::treeherder_http::Endpoint::Jobs,
            credentials,
            attempts: submit.attempts.unwrap_or(5),
        };
        super::treeherder::submit(&settings, &items, &mut std::io::sink())
            .map_err(|e| TaskError::from_job("treeherder", e))?;
        places.push(format!(
            "{}/api/project/{project}/jobs/",
            server.trim_end_matches('/')
        ));
    }
    let Some(pulse) = &t.pulse else {
        return Ok((taskids, places));
    };
    let url = res.pulse_url.clone().ok_or_else(|| {
        TaskError::Transient(
            "treeherder: this worker has no Pulse broker (set PULSE_URL or give \
             --pulse-url-file); another worker may"
                .into(),
        )
    })?;
    let broker = super::pulse::BrokerSettings {
        url,
        exchange: pulse.exchange.clone(),
        passive: pulse.passive,
        attempts: res.pulse_attempts.max(1),
        allow_unroutable: pulse.allow_unroutable,
    };
    let tally = super::pulse::publish_via(
        &prepared,
        &broker,
        res.pulse_publisher.as_ref(),
        &mut std::io::sink(),
    )
    .map_err(|e| TaskError::from_job("treeherder", e))?;
    if tally.failed > 0 {
        return Err(TaskError::Transient(format!(
            "treeherder: {} of {} job(s) not confirmed by the broker",
            tally.failed,
            prepared.jobs.len()
        )));
    }
    places.push(pulse.exchange.clone());
    Ok((taskids, places))
}

/// Reads the run's events and sends them; how many were delivered.
fn send_events(sp: &SplunkOutput, inputs: &[PathBuf], res: &Resources) -> Result<u64, TaskError> {
    let mut hec = res.hec.clone().ok_or_else(|| {
        TaskError::Transient(
            "splunk: this worker has no HEC to send to (give --hec-url and SPLUNK_HEC_TOKEN); \
             another worker may"
                .into(),
        )
    })?;
    let d = crate::sinks::splunk_hec::BatchLimits::default();
    hec.limits = crate::sinks::splunk_hec::BatchLimits {
        max_events: sp.batch_events.unwrap_or(d.max_events),
        max_bytes: sp.batch_bytes.unwrap_or(d.max_bytes),
    };
    hec.gzip = sp.gzip.unwrap_or(true);
    hec.ack = sp.ack.then(crate::sinks::splunk_hec::AckSettings::default);
    let settings = super::splunk::SendSettings {
        inputs: inputs.to_vec(),
        index: sp.index.clone(),
        source: sp.source.clone(),
        sourcetype: Some(
            sp.sourcetype
                .clone()
                .unwrap_or_else(|| "resultpipe:run".into()),
        ),
        host: sp.host.clone(),
        id: sp.id.clone().unwrap_or_else(|| res.splunk_id.clone()),
        run: sp.run.clone(),
        project: sp.project.clone(),
    };
    let events = super::splunk::read(&settings).map_err(|e| TaskError::from_job("splunk", e))?;
    let delivery = super::splunk::send(&events, &hec, &mut std::io::sink())
        .map_err(|e| TaskError::from_job("splunk", e))?;
    Ok(delivery.delivered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smallest_task_is_read() {
        let t = parse(
            br#"{"id": "run-42", "inputs": ["https://logs.example.org/42/testrepository.subunit.gz"],
                "outputs": {"stackviz": {"dir": "/srv/stackviz/{task_id}", "layout": "current"},
                "report": {"path": "/srv/reports/{task_id}.html"}}}"#,
        )
        .unwrap();
        assert_eq!(t.id, "run-42");
        assert_eq!(
            t.outputs.stackviz.as_ref().unwrap().layout.as_deref(),
            Some("current")
        );
        assert_eq!(
            expand(&t.outputs.report.unwrap().path, &t.id, "x").unwrap(),
            PathBuf::from("/srv/reports/run-42.html")
        );
    }

    #[test]
    fn invalid_tasks_say_where_and_why() {
        for (body, says) in [
            (&b"{"[..], "not JSON"),
            (
                br#"{"id": "a", "inputs": [], "outputs": {"report": {"path": "x"}}}"#,
                "/inputs",
            ),
            (
                br#"{"id": "../x", "inputs": ["a"], "outputs": {"report": {"path": "x"}}}"#,
                "/id",
            ),
            (
                br#"{"id": "a", "inputs": ["a"], "outputs": {"report": {}}}"#,
                "/outputs/report",
            ),
            (
                br#"{"id": "a", "inputs": ["a"], "outputs": {}}"#,
                "/outputs",
            ),
            (
                br#"{"id": "a", "inputs": ["a"], "outputs": {"csv": {}}}"#,
                "csv",
            ),
            (
                br#"{"version": 2, "id": "a", "inputs": ["a"], "outputs": {}}"#,
                "version 2",
            ),
        ] {
            let e = parse(body).unwrap_err();
            assert!(e.is_permanent());
            assert!(e.to_string().contains(says), "{e} lacks {says}");
        }
    }

    #[test]
    fn the_sample_tasks_are_valid() {
        let text = include_str!("../../testdata/tasks/tasks.jsonl");
        for (n, line) in text.lines().enumerate() {
            let t = parse(line.as_bytes()).unwrap_or_else(|e| panic!("line {}: {e}", n + 1));
            assert!(!t.inputs.is_empty());
        }
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_are_read_or_refused(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = parse(&bytes);
            let _ = peek_id(&bytes);
        }

        #[test]
        fn any_change_to_a_task_is_read_or_refused(
            line in 0usize..4,
            at in 0usize..1000,
            with in "[{}\\[\\]\",:0-9a-z_./-]{0,6}",
        ) {
            let text = include_str!("../../testdata/tasks/tasks.jsonl");
            let task = text.lines().nth(line).unwrap();
            let at = task.char_indices().map(|(i, _)| i).nth(at % task.len()).unwrap_or(0);
            let changed = format!("{}{with}{}", &task[..at], &task[at..]);
            if let Ok(t) = parse(changed.as_bytes()) {
                let name = input_name(&t.inputs[0]);
                if let Some(r) = &t.outputs.report {
                    let _ = expand(&r.path, &t.id, &name);
                }
            }
        }
    }

    #[test]
    fn paths_take_only_known_placeholders() {
        assert_eq!(
            expand("/o/{task_id}/{input_name}.html", "t1", "run.subunit").unwrap(),
            PathBuf::from("/o/t1/run.subunit.html")
        );
        assert!(
            expand("/o/{taskid}", "t", "n")
                .unwrap_err()
                .to_string()
                .contains("{taskid}")
        );
        assert!(expand("/o/{task_id", "t", "n").is_err());
        assert_eq!(
            input_name("https://h/42/testrepository.subunit.gz"),
            "testrepository.subunit"
        );
        assert_eq!(input_name("/a/.stestr/"), ".stestr");
        assert_eq!(input_name("x.subunit"), "x.subunit");
    }
}
