//! `resultpipe pulse publish`: pulse-job documents (from runs, or from JSON / JSON-lines
//! job files) validated, then published with confirms; exit 3 if any job was not
//! confirmed. The broker URL comes from `PULSE_URL` or `--url-file`, never argv.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::Value;

use super::inputs::read_text;
use super::treeherder::{JobOptions, check_all, jobs_from_runs, parse_jobs};
use super::{Failure, Verbosity, exit};
use crate::sinks::Secret;
use crate::sinks::pulse::{Message, Outcome, PulseConfig, parse_broker_url, publish};
use crate::sinks::retry::Backoff;

#[derive(Debug, Clone, Subcommand)]
pub enum PulseCommand {
    /// Publish jobs to a Pulse exchange with publisher confirms.
    #[command(after_help = super::exit_help::DELIVERY)]
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
    /// Do not declare the exchange: fail unless it already exists, then publish.
    #[arg(long)]
    pub passive: bool,
    /// A file holding the broker URL (amqp:// or amqps://, password included); without
    /// it, the URL is read from the environment variable PULSE_URL (never from the
    /// command line).
    #[arg(long, value_name = "FILE")]
    pub url_file: Option<PathBuf>,
    /// Validate and print the jobs and routing keys; do not connect.
    #[arg(long)]
    pub dry_run: bool,
    /// Connection attempts before unconfirmed jobs count as failed.
    #[arg(long, default_value_t = 6)]
    pub attempts: u32,
    /// Publish even when no queue is bound for a job's routing key (nobody receives
    /// it): such jobs count as "published, not routed" instead of failing.
    #[arg(long)]
    pub allow_unroutable: bool,
    #[command(flatten)]
    pub job: JobOptions,
}

pub fn run(cmd: PulseCommand, v: Verbosity) -> Result<u8, Failure> {
    match cmd {
        PulseCommand::Publish(a) => publish_cmd(*a, v),
    }
}

/// Job files are told by their name (`.json`, `.jsonl`, also gzipped) or by their
/// (decompressed) first character, `{` or `[`.
fn is_job_file(path: &std::path::Path) -> bool {
    if path.as_os_str() == "-" {
        return false;
    }
    let name = path.to_string_lossy();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    if name.ends_with(".json") || name.ends_with(".jsonl") {
        return true;
    }
    crate::ingest::input::head(path, 256).is_ok_and(|head| {
        head.iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'{' || *b == b'[')
    })
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
    parse_broker_url(&url).map_err(Failure::input)?;
    Ok(Secret::new(url))
}

fn publish_cmd(a: PublishArgs, v: Verbosity) -> Result<u8, Failure> {
    let schema = a.job.schema.load()?;
    let (files, runs): (Vec<PathBuf>, Vec<PathBuf>) =
        a.inputs.iter().cloned().partition(|p| is_job_file(p));
    let mut jobs: Vec<(String, Value)> = Vec::new();
    for f in &files {
        let (_, text) = read_text(f)?;
        for (i, j) in parse_jobs(&text).into_iter().enumerate() {
            let doc = j.map_err(|e| Failure::input(format!("{}: job {i}: {e}", f.display())))?;
            jobs.push((f.display().to_string(), doc));
        }
    }
    if !runs.is_empty() {
        jobs.extend(jobs_from_runs(&runs, &a.job, v)?);
    }
    if jobs.is_empty() {
        return Err(Failure::input(format!(
            "no jobs in {}: nothing to publish",
            files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
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
    let r = report_outcomes(&outcomes, &jobs, &messages, &a.exchange, a.allow_unroutable);
    let _ = writeln!(
        out,
        "published {}, failed {} (exchange {}){}",
        r.published,
        r.failed,
        a.exchange,
        if r.unrouted > 0 && a.allow_unroutable {
            format!(
                "; {} published, not routed (no queue is bound for them)",
                r.unrouted
            )
        } else {
            String::new()
        }
    );
    Ok(if r.failed > 0 {
        exit::DELIVERY
    } else {
        exit::OK
    })
}

/// What became of the jobs, counted.
struct Tally {
    published: usize,
    unrouted: usize,
    failed: usize,
}

/// Logs what went wrong once per cause, with the number of jobs it cost (a refused
/// connection is one line, not one per job), and counts the outcomes.
fn report_outcomes(
    outcomes: &[Outcome],
    jobs: &[(String, Value)],
    messages: &[Message],
    exchange: &str,
    allow_unroutable: bool,
) -> Tally {
    let mut t = Tally {
        published: 0,
        unrouted: 0,
        failed: 0,
    };
    // cause -> the jobs it hit, in first-seen order
    let mut causes: Vec<(String, Vec<usize>)> = Vec::new();
    let mut unrouted: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, o) in outcomes.iter().enumerate() {
        match o {
            Outcome::Confirmed => t.published += 1,
            Outcome::Unroutable => {
                t.unrouted += 1;
                if allow_unroutable {
                    t.published += 1;
                } else {
                    t.failed += 1;
                }
                let key = messages[i].routing_key.as_str();
                match unrouted.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, v)) => v.push(i),
                    None => unrouted.push((key, vec![i])),
                }
            }
            Outcome::Failed(why) => {
                t.failed += 1;
                match causes.iter_mut().find(|(c, _)| c == why) {
                    Some((_, v)) => v.push(i),
                    None => causes.push((why.clone(), vec![i])),
                }
            }
        }
    }
    let which = |ids: &[usize]| -> String {
        const SHOWN: usize = 3;
        let mut s: Vec<String> = ids
            .iter()
            .take(SHOWN)
            .map(|&i| {
                let task = jobs[i].1["taskId"].as_str().unwrap_or("?");
                format!("taskId {task} from {}", jobs[i].0)
            })
            .collect();
        if ids.len() > SHOWN {
            s.push(format!("{} more", ids.len() - SHOWN));
        }
        s.join(", ")
    };
    for (key, ids) in &unrouted {
        let what = format!(
            "{} job(s) not routed: no queue is bound to exchange {exchange} for routing key \
             {key:?}, so nobody would receive them",
            ids.len()
        );
        if allow_unroutable {
            tracing::warn!("{what}; published anyway (--allow-unroutable)");
        } else {
            tracing::error!(
                "{what}. Bind a queue to the exchange for this key (Treeherder's listener \
                 binds its own), check --exchange, --routing-key and --destination, or \
                 publish anyway with --allow-unroutable ({})",
                which(ids)
            );
        }
    }
    for (why, ids) in &causes {
        tracing::error!("{} job(s) not published: {why} ({})", ids.len(), which(ids));
    }
    t
}
