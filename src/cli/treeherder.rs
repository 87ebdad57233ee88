//! `resultpipe treeherder job` (pulse-job documents from runs) and
//! `resultpipe treeherder validate` (check anyone's jobs against a pulse-job schema).
//!
//! Job settings come from flags, then a JSON config file (`--config`, keys are the long
//! flag names), then the environment variables CI systems set (see [`ENV`]), then
//! defaults: flags win.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde_json::Value;

use super::inputs::{InputError, all_sources, read_source, read_text, sources_for};
use super::{Failure, Verbosity, exit, show_progress};
use crate::emit::output::write_file;
use crate::sinks::Secret;
use crate::sinks::retry::Backoff;
use crate::sinks::treeherder_http::{Endpoint, HawkCredentials, submit};
use crate::treeherder::job::{
    JobSpec, Machine, RunSummary, pulse_job, sanitize_task_id, sanitize_word,
};
use crate::treeherder::schema::{JobSchema, SchemaVersion, Violation};

#[derive(Debug, Clone, Subcommand)]
pub enum TreeherderCommand {
    /// Write pulse-job documents (JSON lines, one job per input run), validated first.
    #[command(after_help = super::exit_help::LOCAL)]
    Job(Box<JobArgs>),
    /// Validate JSON documents or JSON lines against a pulse-job schema (exit 2 if any
    /// job is invalid).
    #[command(after_help = super::exit_help::VALIDATE)]
    Validate(ValidateArgs),
    /// POST a collection (a JSON array, or JSON lines) to Treeherder's REST API, signed
    /// with Hawk; credentials from TREEHERDER_CLIENT_ID and TREEHERDER_SECRET.
    #[command(after_help = super::exit_help::DELIVERY)]
    Submit(SubmitArgs),
}

#[derive(Debug, Clone, Args)]
pub struct SubmitArgs {
    /// Treeherder base URL, e.g. https://treeherder.example.org
    #[arg(long, env = "TREEHERDER_URL")]
    pub server: String,
    /// Treeherder project (repository name) the collection is for.
    #[arg(long)]
    pub project: String,
    /// Which collection the file holds.
    #[arg(value_enum)]
    pub endpoint: Endpoint,
    /// The collection: a JSON array of items, or JSON lines; `-` for stdin.
    pub file: PathBuf,
    /// Hawk client id. Required: here or in the environment.
    #[arg(long, env = "TREEHERDER_CLIENT_ID")]
    pub client_id: Option<String>,
    /// A file holding the Hawk secret; without it, the secret is read from the
    /// environment variable TREEHERDER_SECRET (never from the command line).
    #[arg(long, value_name = "FILE")]
    pub secret_file: Option<PathBuf>,
    /// Tries in all (the first included) on connection errors, 408, 429 and 5xx.
    #[arg(long, default_value_t = 5)]
    pub attempts: u32,
}

#[derive(Debug, Clone, Args)]
pub struct SchemaArgs {
    /// Pulse-job schema version to validate against.
    #[arg(long, value_enum, default_value = "2026")]
    pub schema_version: SchemaVersion,
    /// Validate against this JSON schema file instead.
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,
}

impl SchemaArgs {
    pub fn load(&self) -> Result<JobSchema, Failure> {
        match &self.schema {
            Some(p) => JobSchema::from_file(p).map_err(Failure::input),
            None => Ok(JobSchema::builtin(self.schema_version)),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// JSON files (an object, an array of objects, or JSON lines; plain or gzipped);
    /// `-` for stdin.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub schema: SchemaArgs,
}

#[derive(Debug, Clone, Args)]
pub struct JobArgs {
    /// Subunit files (v2 or v1, plain or gzipped), `-` for stdin, or directories
    /// holding a `.stestr` / `.testrepository` (its latest run).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Where to write the jobs (JSON lines); `-` is stdout.
    #[arg(short, long, default_value = "-")]
    pub output: PathBuf,
    /// Write REST job items (for `treeherder submit ... jobs`) instead of pulse jobs;
    /// the pulse job is still validated first.
    #[arg(long)]
    pub rest: bool,
    #[command(flatten)]
    pub job: JobOptions,
}

/// Everything a job needs besides its run; shared by `treeherder job` and
/// `pulse publish`. Settings left out here come from `--config`, then from the CI
/// variables named in the help (see [`ENV`] and [`annotate_env`]).
#[derive(Debug, Clone, Args)]
pub struct JobOptions {
    /// JSON object of settings (keys as the long flags: {"project": ..., "job-symbol": ...}).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub schema: SchemaArgs,
    /// Treeherder project (repository name). Required: here, in --config or in the
    /// environment.
    #[arg(long)]
    pub project: Option<String>,
    /// Revision of the push (40 hex digits). Required: here, in --config or in the
    /// environment.
    #[arg(long)]
    pub revision: Option<String>,
    /// Push id (hg pushlog id or pull request number).
    #[arg(long)]
    pub push_id: Option<u64>,
    /// Origin kind for the 2016/2025 schemas: hg.mozilla.org (default) or github.com.
    #[arg(long)]
    pub origin_kind: Option<String>,
    /// GitHub owner (2016/2025 schemas, github origin).
    #[arg(long)]
    pub github_owner: Option<String>,
    /// Task id (default: a stable id from the push, job and input); made valid.
    #[arg(long)]
    pub task_id: Option<String>,
    /// Which try of the task this is, 0 for the first (default 0).
    #[arg(long)]
    pub retry_id: Option<u64>,
    /// Build system name (default resultpipe).
    #[arg(long)]
    pub build_system: Option<String>,
    /// The job's name, shown when it is selected (default "tests").
    #[arg(long)]
    pub job_name: Option<String>,
    /// The job's symbol in the Treeherder grid (default T).
    #[arg(long)]
    pub job_symbol: Option<String>,
    /// Name of the group the job is shown in.
    #[arg(long)]
    pub group_name: Option<String>,
    /// Group symbol (`?` = no group, the default).
    #[arg(long)]
    pub group_symbol: Option<String>,
    /// Tier 1 to 3 (Treeherder's default: 1); tiers 2 and 3 are hidden by default.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=3))]
    pub tier: Option<u8>,
    /// build, test (default) or other.
    #[arg(long)]
    pub job_kind: Option<String>,
    /// unscheduled, pending, running or completed (default).
    #[arg(long)]
    pub state: Option<String>,
    /// Override the result (default: fail when a test failed, never finished or no
    /// test ran; success otherwise; exception for an unreadable input with
    /// --unreadable-as-exception).
    #[arg(long)]
    pub result: Option<String>,
    /// Why the job ran (e.g. "scheduled", "retrigger").
    #[arg(long)]
    pub reason: Option<String>,
    /// Who the job belongs to (an email or user name).
    #[arg(long)]
    pub owner: Option<String>,
    /// Product name (e.g. firefox).
    #[arg(long)]
    pub product: Option<String>,
    /// Label (option collection: opt, debug, asan, ...); repeatable.
    #[arg(long = "label")]
    pub labels: Vec<String>,
    /// Platform of both machines (e.g. linux64); --build-platform/--run-platform win.
    #[arg(long)]
    pub platform: Option<String>,
    /// Operating system of both machines (e.g. linux); --build-os/--run-os win.
    #[arg(long)]
    pub os: Option<String>,
    /// Architecture of both machines (e.g. x86_64); --build-arch/--run-arch win.
    #[arg(long)]
    pub arch: Option<String>,
    /// Platform of the machine that built what was tested (default: --platform).
    #[arg(long)]
    pub build_platform: Option<String>,
    /// Operating system of the build machine (default: --os).
    #[arg(long)]
    pub build_os: Option<String>,
    /// Architecture of the build machine (default: --arch).
    #[arg(long)]
    pub build_arch: Option<String>,
    /// Platform of the machine that ran the tests (default: --platform).
    #[arg(long)]
    pub run_platform: Option<String>,
    /// Operating system of the machine that ran the tests (default: --os).
    #[arg(long)]
    pub run_os: Option<String>,
    /// Architecture of the machine that ran the tests (default: --arch).
    #[arg(long)]
    pub run_arch: Option<String>,
    /// Machine name (made to match `^[\w-]+$`: dots become dashes).
    #[arg(long)]
    pub machine_name: Option<String>,
    /// Log: NAME=URL; repeatable.
    #[arg(long = "log-url", value_name = "NAME=URL")]
    pub log_urls: Vec<String>,
    /// Job info link: TEXT=URL (label "artifact uploaded") or LABEL=TEXT=URL; repeatable.
    #[arg(long = "link", value_name = "[LABEL=]TEXT=URL")]
    pub links: Vec<String>,
    /// An input that cannot be read (missing, unreadable) still gets a job, with result
    /// exception and a summary saying why, instead of failing the command (for CIs that
    /// report a run whose results are missing).
    #[arg(long)]
    pub unreadable_as_exception: bool,
    /// A run in which no test ran gets result success instead of fail.
    #[arg(long)]
    pub allow_empty: bool,
}

/// Environment variables read for settings a flag or the config file did not give,
/// first match wins.
pub const ENV: &[(&str, &[&str])] = &[
    ("project", &["TREEHERDER_PROJECT"]),
    (
        "revision",
        &[
            "TREEHERDER_REVISION",
            "GITHUB_SHA",
            "CI_COMMIT_SHA",
            "GIT_COMMIT",
        ],
    ),
    (
        "job-name",
        &[
            "TREEHERDER_JOB_NAME",
            "JOB_NAME",
            "CI_JOB_NAME",
            "GITHUB_JOB",
        ],
    ),
    ("job-symbol", &["TREEHERDER_JOB_SYMBOL"]),
    ("group-name", &["TREEHERDER_GROUP_NAME"]),
    ("group-symbol", &["TREEHERDER_GROUP_SYMBOL"]),
    (
        "owner",
        &[
            "TREEHERDER_OWNER",
            "GITHUB_ACTOR",
            "GITLAB_USER_LOGIN",
            "BUILD_USER_ID",
        ],
    ),
    ("reason", &["TREEHERDER_REASON"]),
    (
        "machine-name",
        &[
            "TREEHERDER_MACHINE_NAME",
            "NODE_NAME",
            "RUNNER_NAME",
            "CI_RUNNER_DESCRIPTION",
        ],
    ),
    ("platform", &["TREEHERDER_PLATFORM"]),
    ("os", &["TREEHERDER_OS"]),
    ("arch", &["TREEHERDER_ARCH"]),
    ("tier", &["TREEHERDER_TIER"]),
    ("retry-id", &["TREEHERDER_RETRY_ID", "GITHUB_RUN_ATTEMPT"]),
];

struct Settings {
    config: serde_json::Map<String, Value>,
}

impl Settings {
    fn load(path: Option<&Path>) -> Result<Settings, Failure> {
        let config = match path {
            None => serde_json::Map::new(),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| {
                    Failure::input(format!("{}: cannot read config: {e}", p.display()))
                })?;
                match serde_json::from_str::<Value>(&text) {
                    Ok(Value::Object(m)) => m,
                    Ok(_) => {
                        return Err(Failure::input(format!(
                            "{}: config must be a JSON object",
                            p.display()
                        )));
                    }
                    Err(e) => {
                        return Err(Failure::input(format!(
                            "{}: config is not JSON: {e}",
                            p.display()
                        )));
                    }
                }
            }
        };
        Ok(Settings { config })
    }

    /// The flag's value, else the config file's, else the first CI variable set.
    fn get(&self, flag: &Option<String>, key: &str) -> Option<String> {
        if let Some(v) = flag {
            return Some(v.clone());
        }
        match self.config.get(key) {
            Some(Value::String(s)) => return Some(s.clone()),
            Some(Value::Number(n)) => return Some(n.to_string()),
            _ => {}
        }
        let vars = ENV
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(&[][..], |(_, v)| *v);
        vars.iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
    }

    fn list(&self, flag: &[String], key: &str) -> Vec<String> {
        if !flag.is_empty() {
            return flag.to_vec();
        }
        match self.config.get(key) {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        }
    }

    fn number<T: std::str::FromStr>(
        &self,
        flag: Option<T>,
        key: &str,
    ) -> Result<Option<T>, Failure> {
        if flag.is_some() {
            return Ok(flag);
        }
        match self.get(&None, key) {
            None => Ok(None),
            Some(s) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| Failure::input(format!("{key}: not a number: {s:?}"))),
        }
    }
}

fn job_spec(a: &JobOptions) -> Result<JobSpec, Failure> {
    let s = Settings::load(a.config.as_deref())?;
    let need = |key: &str, flag: &Option<String>| {
        s.get(flag, key).ok_or_else(|| {
            Failure::input(format!(
                "--{key} is required (or set it in --config or the environment)"
            ))
        })
    };
    let machine = |p: &Option<String>, o: &Option<String>, ar: &Option<String>, prefix: &str| {
        let platform = s
            .get(p, &format!("{prefix}platform"))
            .or_else(|| s.get(&a.platform, "platform"))?;
        let os = s
            .get(o, &format!("{prefix}os"))
            .or_else(|| s.get(&a.os, "os"))?;
        let architecture = s
            .get(ar, &format!("{prefix}arch"))
            .or_else(|| s.get(&a.arch, "arch"))?;
        Some(Machine {
            platform: sanitize_word(&platform, 100),
            os: sanitize_word(&os, 25),
            architecture: sanitize_word(&architecture, 25),
            name: s
                .get(&a.machine_name, "machine-name")
                .map(|n| sanitize_word(&n, 50)),
        })
    };
    let pairs = |items: Vec<String>, what: &str| -> Result<Vec<(String, String)>, Failure> {
        items
            .iter()
            .map(|i| {
                i.split_once('=')
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .ok_or_else(|| Failure::input(format!("--{what} {i:?}: expected NAME=URL")))
            })
            .collect()
    };
    let links = s
        .list(&a.links, "link")
        .into_iter()
        .map(|l| {
            let parts: Vec<&str> = l.splitn(3, '=').collect();
            match parts.as_slice() {
                [text, url] if url.contains("://") => {
                    Ok(("artifact uploaded".into(), (*text).into(), (*url).into()))
                }
                [label, text, url] => Ok(((*label).into(), (*text).into(), (*url).into())),
                _ => Err(Failure::input(format!(
                    "--link {l:?}: expected [LABEL=]TEXT=URL"
                ))),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(JobSpec {
        project: need("project", &a.project)?,
        revision: need("revision", &a.revision)?,
        push_id: s.number(a.push_id, "push-id")?,
        origin_kind: s
            .get(&a.origin_kind, "origin-kind")
            .unwrap_or_else(|| "hg.mozilla.org".into()),
        github_owner: s.get(&a.github_owner, "github-owner"),
        task_id: s.get(&a.task_id, "task-id").map(|t| sanitize_task_id(&t)),
        retry_id: s.number(a.retry_id, "retry-id")?.unwrap_or(0),
        build_system: s
            .get(&a.build_system, "build-system")
            .unwrap_or_else(|| "resultpipe".into()),
        job_name: s
            .get(&a.job_name, "job-name")
            .unwrap_or_else(|| "tests".into()),
        job_symbol: s
            .get(&a.job_symbol, "job-symbol")
            .unwrap_or_else(|| "T".into()),
        group_name: s.get(&a.group_name, "group-name"),
        group_symbol: s
            .get(&a.group_symbol, "group-symbol")
            .unwrap_or_else(|| "?".into()),
        tier: s.number(a.tier, "tier")?,
        job_kind: s
            .get(&a.job_kind, "job-kind")
            .unwrap_or_else(|| "test".into()),
        state: s
            .get(&a.state, "state")
            .unwrap_or_else(|| "completed".into()),
        result: s.get(&a.result, "result"),
        reason: s.get(&a.reason, "reason"),
        owner: s.get(&a.owner, "owner"),
        product: s.get(&a.product, "product"),
        labels: s
            .list(&a.labels, "label")
            .iter()
            .map(|l| sanitize_word(l, 50))
            .collect(),
        build_machine: machine(&a.build_platform, &a.build_os, &a.build_arch, "build-"),
        run_machine: machine(&a.run_platform, &a.run_os, &a.run_arch, "run-"),
        logs: pairs(s.list(&a.log_urls, "log-url"), "log-url")?,
        links,
        allow_empty: a.allow_empty,
    })
}

pub fn run(cmd: TreeherderCommand, v: Verbosity) -> Result<u8, Failure> {
    match cmd {
        TreeherderCommand::Job(a) => job(*a, v),
        TreeherderCommand::Validate(a) => validate(a),
        TreeherderCommand::Submit(a) => submit_cmd(a),
    }
}

/// Appends `[env: A, B, ...]` to the help of every job setting that CI variables can
/// give (the variables of [`ENV`], first set wins), so that `--help` names them.
pub fn annotate_env(mut cmd: clap::Command) -> clap::Command {
    for (key, vars) in ENV {
        let id = key.replace('-', "_");
        if cmd.get_arguments().any(|a| a.get_id() == id.as_str()) {
            cmd = cmd.mut_arg(id, |a| {
                let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
                a.help(format!("{help} [env: {}]", vars.join(", ")))
            });
        }
    }
    cmd
}

/// One pulse-job document per input run, each with the name of its input.
pub fn jobs_from_runs(
    inputs: &[PathBuf],
    opts: &JobOptions,
    v: Verbosity,
) -> Result<Vec<(String, Value)>, Failure> {
    let spec = job_spec(opts)?;
    let version = opts.schema.schema_version;
    let progress = show_progress(v.quiet);
    if !opts.unreadable_as_exception {
        // Every input must be there before anything is read.
        all_sources(inputs).map_err(Failure::input)?;
    }
    let mut jobs = Vec::new();
    for input in inputs {
        let sources = match sources_for(input) {
            Ok(s) => s,
            Err(e) if opts.unreadable_as_exception => {
                let label = input.display().to_string();
                let why = e.one_line();
                tracing::error!("{why}; its job says result exception");
                let run = RunSummary {
                    unreadable: Some(why),
                    ..RunSummary::default()
                };
                jobs.push((label.clone(), pulse_job(&spec, &run, &label, version)));
                continue;
            }
            Err(e) => return Err(Failure::input(e)),
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
                Err(e) if opts.unreadable_as_exception => {
                    let why = InputError::new(&label, e).one_line();
                    tracing::error!("{why}; its job says result exception");
                    run.unreadable = Some(why);
                }
                Err(e) => return Err(Failure::input(InputError::new(&label, e))),
            }
            let doc = pulse_job(&spec, &run, &label, version);
            jobs.push((label, doc));
        }
    }
    Ok(jobs)
}

/// Fails (exit 2, listing every rule broken) unless every job is valid.
pub fn check_all(schema: &JobSchema, jobs: &[(String, Value)], what: &str) -> Result<(), Failure> {
    let mut msg = String::new();
    for (i, (label, doc)) in jobs.iter().enumerate() {
        for v in schema.violations(doc) {
            msg.push_str(&format!("\n  {label}: job {i}: {v}"));
        }
    }
    if msg.is_empty() {
        Ok(())
    } else {
        Err(Failure::input(format!(
            "job(s) not valid for {}; {what}:{msg}",
            schema.source
        )))
    }
}

fn job(a: JobArgs, v: Verbosity) -> Result<u8, Failure> {
    let schema = a.job.schema.load()?;
    let jobs = jobs_from_runs(&a.inputs, &a.job, v)?;
    check_all(&schema, &jobs, "nothing written")?;
    let mut out = String::new();
    for (_, doc) in &jobs {
        let doc = if a.rest {
            crate::treeherder::rest::rest_job(doc)
        } else {
            doc.clone()
        };
        out.push_str(&serde_json::to_string(&doc).expect("a Value serialises"));
        out.push('\n');
    }
    if a.output.as_os_str() == "-" {
        std::io::stdout()
            .lock()
            .write_all(out.as_bytes())
            .map_err(Failure::input)?;
    } else {
        let dir = a
            .output
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = a
            .output
            .file_name()
            .ok_or_else(|| Failure::input("--output needs a file name"))?;
        write_file(dir, &name.to_string_lossy(), false, out.as_bytes())
            .map_err(|e| Failure::input(format!("cannot write {}: {e}", a.output.display())))?;
    }
    Ok(exit::OK)
}

/// The jobs in a text: one JSON object, a JSON array of objects, or JSON lines. A line
/// that is not JSON is returned as an error in its place.
pub fn parse_jobs(text: &str) -> Vec<Result<Value, String>> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => items.into_iter().map(Ok).collect(),
        Ok(v) => vec![Ok(v)],
        Err(_) => text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str::<Value>(l).map_err(|e| format!("not JSON: {e}")))
            .collect(),
    }
}

fn validate(a: ValidateArgs) -> Result<u8, Failure> {
    let schema = a.schema.load()?;
    let (mut valid, mut bad) = (0usize, 0usize);
    let mut out = std::io::stdout().lock();
    let mut empty = Vec::new();
    for file in &a.files {
        let (label, text) = read_text(file)?;
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
                valid += 1;
                continue;
            }
            bad += 1;
            for v in violations {
                let _ = writeln!(out, "{label}: job {i}: {v}");
            }
        }
    }
    let _ = writeln!(out, "{valid} valid, {bad} invalid ({})", schema.source);
    if !empty.is_empty() {
        return Err(Failure::input(format!(
            "no jobs in {}: nothing was validated",
            empty.join(", ")
        )));
    }
    Ok(if bad > 0 { exit::USAGE } else { exit::OK })
}

/// treeherder-client's own checks before sending: required fields present and not
/// empty, and its maximum lengths.
pub fn client_checks(endpoint: Endpoint, items: &[Value]) -> Vec<String> {
    fn need(problems: &mut Vec<String>, i: usize, item: &Value, path: &[&str], max: Option<usize>) {
        match path
            .iter()
            .try_fold(item, |v, k| v.get(k))
            .and_then(|v| v.as_str())
        {
            None | Some("") => problems.push(format!("item {i}: {} is required", path.join("."))),
            Some(s) => {
                if let Some(max) = max.filter(|&m| s.chars().count() > m) {
                    problems.push(format!(
                        "item {i}: {} is longer than {max} characters",
                        path.join(".")
                    ));
                }
            }
        }
    }
    let mut p = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match endpoint {
            Endpoint::Jobs => {
                need(&mut p, i, item, &["project"], None);
                need(&mut p, i, item, &["revision"], Some(40));
                if item.get("job").is_some_and(Value::is_object) {
                    need(&mut p, i, item, &["job", "job_guid"], Some(50));
                } else {
                    p.push(format!("item {i}: job must be an object"));
                }
            }
            Endpoint::Resultset => {
                need(&mut p, i, item, &["revision"], Some(40));
                need(&mut p, i, item, &["author"], Some(150));
                match item.get("revisions").and_then(Value::as_array) {
                    Some(revs) => {
                        for r in revs {
                            need(&mut p, i, r, &["revision"], Some(50));
                            need(&mut p, i, r, &["repository"], None);
                        }
                    }
                    None => p.push(format!("item {i}: revisions must be a list")),
                }
            }
            Endpoint::Artifact => {
                for k in ["type", "name", "job_guid"] {
                    need(&mut p, i, item, &[k], None);
                }
                if item
                    .get("blob")
                    .is_none_or(|b| b.is_null() || b.as_str() == Some(""))
                {
                    p.push(format!("item {i}: blob is required"));
                }
            }
        }
    }
    p
}

fn submit_cmd(a: SubmitArgs) -> Result<u8, Failure> {
    let (_, text) = read_text(&a.file)?;
    let items = parse_jobs(&text)
        .into_iter()
        .enumerate()
        .map(|(i, r)| r.map_err(|e| Failure::input(format!("{}: item {i}: {e}", a.file.display()))))
        .collect::<Result<Vec<Value>, _>>()?;
    let problems = client_checks(a.endpoint, &items);
    if !problems.is_empty() {
        return Err(Failure::input(format!(
            "{}: not sent:\n  {}",
            a.file.display(),
            problems.join("\n  ")
        )));
    }
    let id = a
        .client_id
        .clone()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            Failure::input("no Hawk client id: set TREEHERDER_CLIENT_ID or give --client-id")
        })?;
    let key = match &a.secret_file {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| Failure::input(format!("{}: cannot read the secret: {e}", p.display())))?
            .trim()
            .to_owned(),
        None => std::env::var("TREEHERDER_SECRET").map_err(|_| {
            Failure::input("no Hawk secret: set TREEHERDER_SECRET or give --secret-file")
        })?,
    };
    let creds = HawkCredentials {
        id,
        key: Secret::new(key),
    };
    let mut body = Vec::new();
    crate::emit::pyjson::write_value(&mut body, &Value::Array(items.clone()));
    let backoff = Backoff {
        attempts: a.attempts.max(1),
        ..Backoff::default()
    };
    match submit(&a.server, &a.project, a.endpoint, &body, &creds, backoff) {
        Ok(reply) => {
            println!(
                "submitted {} {} item(s): {}",
                items.len(),
                a.endpoint.path(),
                reply.trim()
            );
            Ok(exit::OK)
        }
        Err(e) => Err(Failure {
            code: exit::DELIVERY,
            error: Box::new(e),
        }),
    }
}
