//! `resultpipe pulse publish`: pulse-job documents (from runs, or from JSON / JSON-lines
//! job files) validated, then published with confirms; exit 3 if any job was not
//! confirmed. The broker URL comes from `PULSE_URL` or `--url-file`, never argv.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::Value;

use super::treeherder::{JobOptions, check_all, jobs_from_runs, parse_jobs};
use super::{Failure, exit};
use crate::sinks::Secret;
use crate::sinks::pulse::{Message, Outcome, PulseConfig, publish, redact_url};
use crate::sinks::retry::Backoff;

#[derive(Debug, Clone, Subcommand)]
pub enum PulseCommand {
    /// Publish jobs to a Pulse exchange with publisher confirms.
    Publish(Box<PublishArgs>),
}

#[derive(Debug, Clone, Args)]
pub struct PublishArgs {
    /// Subunit inputs (a job per run) or job files (.json / .jsonl, or any file whose
    /// first character is `{` or `[`); `-` reads a subunit stream from stdin.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Exchange, `exchange/<user>/<name>` on Pulse; a durable topic exchange.
    #[arg(long, required = true)]
    pub exchange: String,
    /// Routing key (default `<destination>.<project>._`, project from each job).
    #[arg(long)]
    pub routing_key: Option<String>,
    /// First word of the default routing key.
    #[arg(long, default_value = "treeherder")]
    pub destination: String,
    /// Only check that the exchange exists (do not declare it).
    #[arg(long)]
    pub passive: bool,
    /// File holding the broker URL (amqp:// or amqps://); default: $PULSE_URL.
    #[arg(long, value_name = "FILE")]
    pub url_file: Option<PathBuf>,
    /// Validate and print the jobs and routing keys; do not connect.
    #[arg(long)]
    pub dry_run: bool,
    /// Connection attempts before unconfirmed jobs count as failed.
    #[arg(long, default_value_t = 6)]
    pub attempts: u32,
    #[command(flatten)]
    pub job: JobOptions,
}

pub fn run(cmd: PulseCommand, quiet: bool) -> Result<u8, Failure> {
    match cmd {
        PulseCommand::Publish(a) => publish_cmd(*a, quiet),
    }
}

fn is_job_file(path: &std::path::Path) -> bool {
    if path.as_os_str() == "-" {
        return false;
    }
    if path
        .extension()
        .is_some_and(|e| e == "json" || e == "jsonl")
    {
        return true;
    }
    let mut head = [0u8; 256];
    let n = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .unwrap_or(0);
    head[..n]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{' || *b == b'[')
}

fn broker_url(a: &PublishArgs) -> Result<Secret, Failure> {
    let url = match &a.url_file {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| {
                Failure::input(format!("{}: cannot read the broker URL: {e}", p.display()))
            })?
            .trim()
            .to_owned(),
        None => std::env::var("PULSE_URL")
            .map_err(|_| Failure::input("no broker URL: set PULSE_URL or give --url-file"))?,
    };
    if !(url.starts_with("amqp://") || url.starts_with("amqps://")) {
        return Err(Failure::input(format!(
            "broker URL must start with amqp:// or amqps://: {}",
            redact_url(&url)
        )));
    }
    Ok(Secret::new(url))
}

fn publish_cmd(a: PublishArgs, quiet: bool) -> Result<u8, Failure> {
    let schema = a.job.schema.load()?;
    let (files, runs): (Vec<PathBuf>, Vec<PathBuf>) =
        a.inputs.iter().cloned().partition(|p| is_job_file(p));
    let mut jobs: Vec<(String, Value)> = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f)
            .map_err(|e| Failure::input(format!("{}: {e}", f.display())))?;
        for (i, j) in parse_jobs(&text).into_iter().enumerate() {
            let doc = j.map_err(|e| Failure::input(format!("{}: job {i}: {e}", f.display())))?;
            jobs.push((f.display().to_string(), doc));
        }
    }
    if !runs.is_empty() {
        jobs.extend(jobs_from_runs(&runs, &a.job, quiet)?);
    }
    check_all(&schema, &jobs, "nothing published")?;
    let messages: Vec<Message> = jobs
        .iter()
        .map(|(_, doc)| Message {
            routing_key: a.routing_key.clone().unwrap_or_else(|| {
                let project = doc["origin"]["project"].as_str().unwrap_or("_");
                format!("{}.{project}._", a.destination)
            }),
            body: serde_json::to_vec(doc).expect("a Value serialises"),
        })
        .collect();
    let mut out = std::io::stdout().lock();
    if a.dry_run {
        for m in &messages {
            let _ = writeln!(
                out,
                "{}\t{}",
                m.routing_key,
                String::from_utf8_lossy(&m.body)
            );
        }
        let _ = writeln!(
            out,
            "dry run: {} valid job(s) for {}, nothing published",
            messages.len(),
            a.exchange
        );
        return Ok(exit::OK);
    }
    let config = PulseConfig {
        url: broker_url(&a)?,
        exchange: a.exchange.clone(),
        passive: a.passive,
        backoff: Backoff {
            attempts: a.attempts.max(1),
            ..Backoff::default()
        },
    };
    let outcomes = publish(&config, &messages);
    let mut failed = 0;
    for (i, o) in outcomes.iter().enumerate() {
        if let Outcome::Failed(why) = o {
            failed += 1;
            let task = jobs[i].1["taskId"].as_str().unwrap_or("?");
            tracing::error!(
                "job {i} (taskId {task}, from {}): not published: {why}",
                jobs[i].0
            );
        }
    }
    let published = outcomes.len() - failed;
    let _ = writeln!(
        out,
        "published {published}, failed {failed} (exchange {})",
        a.exchange
    );
    Ok(if failed > 0 { exit::DELIVERY } else { exit::OK })
}
