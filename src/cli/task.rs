//! `resultpipe task submit|schema` and `resultpipe worker`: flags to settings (the
//! broker URL from `RESULTPIPE_AMQP_URL` or `--url-file`, the Pulse URL for
//! Treeherder outputs from `PULSE_URL` or `--pulse-url-file`; never argv), then
//! [`crate::sinks::task_queue`] and [`crate::pipeline::worker`].

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::{Args, Subcommand};

use super::{Failure, Verbosity, exit, secret, secret_url};
use crate::emit::report::policy::parse_size;
use crate::ingest::fetch::FetchSettings;
use crate::model::retry::Backoff;
use crate::pipeline::task::{self, Resources};
use crate::pipeline::worker::{self, WorkerSettings};
use crate::sinks::Secret;
use crate::sinks::pulse::Outcome;
use crate::sinks::splunk_hec::HecSettings;
use crate::sinks::task_queue::{QueueSpec, submit};
use crate::sinks::treeherder_http::HawkCredentials;

/// `resultpipe task`'s commands.
#[derive(Debug, Clone, Subcommand)]
pub enum TaskCommand {
    /// Publish tasks (JSON lines, validated) to the task queue with publisher confirms.
    #[command(after_help = super::exit_help::DELIVERY)]
    Submit(SubmitArgs),
    /// Print the task schema (JSON Schema) this build reads.
    #[command(after_help = super::exit_help::PRINT)]
    Schema,
}

/// Where the queue is and how it is declared (the same for submit and worker).
#[derive(Debug, Clone, Args)]
pub struct QueueArgs {
    /// The task queue (a durable quorum queue, declared if missing; used as it is if an
    /// operator declared it with other arguments).
    #[arg(long)]
    pub queue: String,
    /// Deliveries of one task before the broker dead-letters it to `<queue>.dead`
    /// (when the queue is declared here).
    #[arg(long, default_value_t = 5)]
    pub delivery_limit: u32,
    /// A file holding the broker URL (amqp:// or amqps://, password included); without
    /// it, the URL is read from the environment variable RESULTPIPE_AMQP_URL (never
    /// from the command line).
    #[arg(long, value_name = "FILE")]
    pub url_file: Option<PathBuf>,
}

impl QueueArgs {
    fn spec(&self) -> Result<QueueSpec, Failure> {
        if self.queue.is_empty() || self.queue.len() > 200 {
            return Err(Failure::input("--queue: 1 to 200 characters"));
        }
        if self.delivery_limit == 0 {
            return Err(Failure::input("--delivery-limit must be at least 1"));
        }
        Ok(QueueSpec {
            name: self.queue.clone(),
            delivery_limit: self.delivery_limit,
        })
    }
}

/// `task submit`'s flags.
#[derive(Debug, Clone, Args)]
pub struct SubmitArgs {
    /// A file of tasks, one JSON object per line (`-`: stdin). Blank lines and lines
    /// starting with `#` are skipped.
    pub file: PathBuf,
    /// The queue.
    #[command(flatten)]
    pub queue: QueueArgs,
    /// Validate and count the tasks; do not connect.
    #[arg(long)]
    pub dry_run: bool,
}

/// `worker`'s flags.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// The queue.
    #[command(flatten)]
    pub queue: QueueArgs,
    /// Tasks run at once.
    #[arg(long, default_value_t = 1)]
    pub concurrency: usize,
    /// Tasks delivered and not yet acknowledged, at most (default: --concurrency).
    #[arg(long)]
    pub prefetch: Option<u16>,
    /// Topic exchange each settled task is announced on, routing key
    /// `<queue>.done|dead|retry` (JSON: task id, outcome, counts, outputs, timings).
    #[arg(long, default_value = "resultpipe.tasks")]
    pub announce_exchange: String,
    /// Announce nothing.
    #[arg(long)]
    pub no_announce: bool,
    /// Seconds tasks in flight may take to finish after SIGTERM/SIGINT before they
    /// are returned to the queue.
    #[arg(long, default_value_t = 30)]
    pub grace: u64,
    /// The most bytes an input fetched over HTTP may have (K, M, G).
    #[arg(long, value_name = "SIZE", default_value = "4G", value_parser = parse_size)]
    pub max_input_size: usize,
    /// Tries per input over HTTP (connection errors, 5xx, 429), the first included.
    #[arg(long, default_value_t = 5)]
    pub fetch_attempts: u32,
    /// A file holding the Pulse broker URL for Treeherder outputs; without it,
    /// PULSE_URL is read (tasks with Treeherder outputs are returned to the queue by
    /// a worker that has neither).
    #[arg(long, value_name = "FILE")]
    pub pulse_url_file: Option<PathBuf>,
    /// Treeherder's base URL for tasks that POST jobs (`treeherder.submit`); the Hawk
    /// client id from TREEHERDER_CLIENT_ID, the secret from TREEHERDER_SECRET or
    /// --treeherder-secret-file.
    #[arg(long, env = "TREEHERDER_URL")]
    pub treeherder_url: Option<String>,
    /// A file holding the Hawk secret (instead of TREEHERDER_SECRET).
    #[arg(long, value_name = "FILE")]
    pub treeherder_secret_file: Option<PathBuf>,
    /// Splunk HEC's base URL for tasks with `splunk` outputs; the token from
    /// SPLUNK_HEC_TOKEN or --hec-token-file.
    #[arg(long, env = "SPLUNK_HEC_URL")]
    pub hec_url: Option<String>,
    /// A file holding the HEC token (instead of SPLUNK_HEC_TOKEN).
    #[arg(long, value_name = "FILE")]
    pub hec_token_file: Option<PathBuf>,
    /// A PEM file with the certificate that signed HEC's.
    #[arg(long, value_name = "FILE")]
    pub hec_ca_cert: Option<PathBuf>,
    /// Stop after this many tasks are settled (done or dead-lettered).
    #[arg(long)]
    pub max_tasks: Option<u64>,
}

impl WorkerArgs {
    fn treeherder(&self) -> Result<Option<(String, HawkCredentials)>, Failure> {
        let Some(server) = self.treeherder_url.clone().filter(|u| !u.is_empty()) else {
            return Ok(None);
        };
        let id = std::env::var("TREEHERDER_CLIENT_ID")
            .ok()
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                Failure::input("--treeherder-url is given but TREEHERDER_CLIENT_ID is not set")
            })?;
        let key = secret(
            self.treeherder_secret_file.as_deref(),
            "TREEHERDER_SECRET",
            "Hawk secret",
        )?
        .ok_or_else(|| {
            Failure::input(
                "--treeherder-url is given but no secret: set TREEHERDER_SECRET or give \
                 --treeherder-secret-file",
            )
        })?;
        Ok(Some((server, HawkCredentials { id, key })))
    }

    fn hec(&self) -> Result<Option<HecSettings>, Failure> {
        let Some(url) = self.hec_url.clone().filter(|u| !u.is_empty()) else {
            return Ok(None);
        };
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(Failure::input(format!(
                "--hec-url must start with http:// or https:// (got {})",
                crate::sinks::pulse::redact_url(&url)
            )));
        }
        let token = secret(
            self.hec_token_file.as_deref(),
            "SPLUNK_HEC_TOKEN",
            "HEC token",
        )?
        .ok_or_else(|| {
            Failure::input(
                "--hec-url is given but no token: set SPLUNK_HEC_TOKEN or give --hec-token-file",
            )
        })?;
        let mut s = HecSettings::new(url, token);
        if let Some(p) = &self.hec_ca_cert {
            s.ca_cert = Some(std::fs::read(p).map_err(|e| {
                Failure::input(format!("{}: cannot read the certificate: {e}", p.display()))
            })?);
        }
        Ok(Some(s))
    }
}

/// Runs a `task` command; returns the exit code.
pub fn run(cmd: TaskCommand, _v: Verbosity) -> Result<u8, Failure> {
    match cmd {
        TaskCommand::Schema => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(task::SCHEMA.as_bytes());
            Ok(exit::OK)
        }
        TaskCommand::Submit(a) => submit_cmd(a),
    }
}

fn amqp_url(q: &QueueArgs) -> Result<Secret, Failure> {
    secret_url(q.url_file.as_deref(), "RESULTPIPE_AMQP_URL", "--url-file")?
        .ok_or_else(|| Failure::input("no broker URL: set RESULTPIPE_AMQP_URL or give --url-file"))
}

fn submit_cmd(a: SubmitArgs) -> Result<u8, Failure> {
    let spec = a.queue.spec()?;
    let (label, text) = crate::ingest::source::read_text(&a.file).map_err(Failure::input)?;
    let mut tasks: Vec<Vec<u8>> = Vec::new();
    let mut invalid = 0usize;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match task::parse(line.as_bytes()) {
            Ok(_) => tasks.push(line.as_bytes().to_vec()),
            Err(e) => {
                invalid += 1;
                eprintln!("error: {label}:{}: {e}", n + 1);
            }
        }
    }
    let mut out = std::io::stdout().lock();
    if a.dry_run {
        let _ = writeln!(
            out,
            "dry run: {} valid task(s), {invalid} invalid, nothing published",
            tasks.len()
        );
        return Ok(if invalid > 0 { exit::USAGE } else { exit::OK });
    }
    if tasks.is_empty() {
        return Err(Failure::input(format!(
            "{label}: no valid task to submit ({invalid} invalid)"
        )));
    }
    let url = amqp_url(&a.queue)?;
    let outcomes = submit(&url, &spec, &tasks, Backoff::default()).map_err(|e| Failure {
        code: exit::DELIVERY,
        error: e.into(),
    })?;
    let confirmed = outcomes
        .iter()
        .filter(|o| **o == Outcome::Confirmed)
        .count();
    let mut causes: Vec<(String, usize)> = Vec::new();
    for o in &outcomes {
        let why = match o {
            Outcome::Confirmed => continue,
            Outcome::Unroutable => "returned: no queue took it".to_owned(),
            Outcome::Failed(why) => why.clone(),
        };
        match causes.iter_mut().find(|(w, _)| *w == why) {
            Some((_, n)) => *n += 1,
            None => causes.push((why, 1)),
        }
    }
    for (why, n) in &causes {
        eprintln!("error: {n} task(s) not submitted: {why}");
    }
    let _ = writeln!(
        out,
        "submitted {confirmed}, failed {}, invalid {invalid} (queue {})",
        outcomes.len() - confirmed,
        spec.name
    );
    Ok(if confirmed < outcomes.len() {
        exit::DELIVERY
    } else if invalid > 0 {
        exit::USAGE
    } else {
        exit::OK
    })
}

/// Runs `resultpipe worker`; returns the exit code.
pub fn worker_cmd(a: WorkerArgs, _v: Verbosity) -> Result<u8, Failure> {
    let spec = a.queue.spec()?;
    let url = amqp_url(&a.queue)?;
    let pulse_url = secret_url(a.pulse_url_file.as_deref(), "PULSE_URL", "--pulse-url-file")?;
    if a.concurrency == 0 {
        return Err(Failure::input("--concurrency must be at least 1"));
    }
    let prefetch = a
        .prefetch
        .unwrap_or_else(|| u16::try_from(a.concurrency).unwrap_or(u16::MAX));
    if usize::from(prefetch) < a.concurrency {
        return Err(Failure::input(format!(
            "--prefetch {prefetch} is less than --concurrency {}: the extra slots would \
             never get a task",
            a.concurrency
        )));
    }
    let fetch = FetchSettings {
        max_bytes: a.max_input_size as u64,
        backoff: Backoff {
            attempts: a.fetch_attempts.max(1),
            ..FetchSettings::default().backoff
        },
        ..FetchSettings::default()
    };
    let settings = WorkerSettings {
        url,
        queue: spec,
        concurrency: a.concurrency,
        prefetch,
        announce: (!a.no_announce && !a.announce_exchange.is_empty())
            .then(|| a.announce_exchange.clone()),
        grace: Duration::from_secs(a.grace),
        reconnect: Backoff {
            first: Duration::from_millis(500),
            max: Duration::from_secs(15),
            attempts: u32::MAX,
        },
        max_tasks: a.max_tasks,
        resources: Resources {
            pulse_url,
            pulse_attempts: 6,
            pulse_publisher: None,
            fetch,
            treeherder: a.treeherder()?,
            hec: a.hec()?,
            splunk_id: super::default_id(),
        },
    };
    let out: worker::OutcomeWriter = Arc::new(Mutex::new(std::io::stdout()));
    let tally = worker::run(settings, out)?;
    tracing::info!(
        "worker stopped: {} done, {} dead-lettered, {} returned to the queue",
        tally.done,
        tally.dead,
        tally.returned
    );
    Ok(exit::OK)
}
