//! Publishing jobs to Pulse (RabbitMQ): jobs from job files or made from runs,
//! validated, then published with confirms and `mandatory`; what went wrong is
//! reported once per cause, with the number of jobs it cost.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::Error;
use super::treeherder::{JobsSettings, check_all, jobs_from_runs};
use crate::ingest::source::{Progress, read_text};
use crate::model::retry::Backoff;
use crate::sinks::Secret;
use crate::sinks::pulse::{Message, Outcome, PulseConfig, SharedPublisher, publish as send};
use crate::treeherder::job::parse_jobs;
use crate::treeherder::schema::JobSchema;

/// What to publish: job files and runs, and how jobs from runs are made.
#[derive(Debug, Clone)]
pub struct JobSources {
    /// Job files (.json / .jsonl, also gzipped, or any file whose first character is
    /// `{` or `[`) and runs (anything else; `-` is a stream on stdin).
    pub inputs: Vec<PathBuf>,
    /// How jobs are made from the runs among `inputs` (its `inputs` are ignored);
    /// needed only when there are runs.
    pub runs: Option<JobsSettings>,
    /// The routing key of every job (default `<destination>.<project>._`).
    pub routing_key: Option<String>,
    /// The first word of the default routing key.
    pub destination: String,
}

/// Jobs ready to publish: each with where it came from, and its message.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// (input, job document)
    pub jobs: Vec<(String, Value)>,
    /// One message per job, in the same order.
    pub messages: Vec<Message>,
}

/// Where and how to publish.
#[derive(Debug, Clone)]
pub struct BrokerSettings {
    /// The broker URL, password included.
    pub url: Secret,
    /// The exchange (`exchange/<user>/<name>` on Pulse).
    pub exchange: String,
    /// Do not declare the exchange: it must exist.
    pub passive: bool,
    /// Connection attempts before unconfirmed jobs count as failed.
    pub attempts: u32,
    /// Jobs no queue is bound for count as published (not routed) instead of failed.
    pub allow_unroutable: bool,
}

/// Job files are told by their name (`.json`, `.jsonl`, also gzipped) or by their
/// (decompressed) first character, `{` or `[`.
pub fn is_job_file(path: &Path) -> bool {
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

/// Reads the job files, makes the jobs of the runs, validates every job (nothing is
/// published unless all are valid) and builds their messages.
pub fn prepare(
    sources: &JobSources,
    schema: &JobSchema,
    progress: &dyn Progress,
) -> Result<Prepared, Error> {
    let (files, runs): (Vec<PathBuf>, Vec<PathBuf>) =
        sources.inputs.iter().cloned().partition(|p| is_job_file(p));
    let mut jobs: Vec<(String, Value)> = Vec::new();
    for f in &files {
        let (_, text) = read_text(f).map_err(Error::input)?;
        for (i, j) in parse_jobs(&text).into_iter().enumerate() {
            let doc = j.map_err(|e| Error::input(format!("{}: job {i}: {e}", f.display())))?;
            jobs.push((f.display().to_string(), doc));
        }
    }
    if !runs.is_empty() {
        let base = sources
            .runs
            .as_ref()
            .ok_or_else(|| Error::input("runs to publish, but no job settings for them"))?;
        let settings = JobsSettings {
            inputs: runs,
            ..base.clone()
        };
        jobs.extend(jobs_from_runs(&settings, progress)?);
    }
    if jobs.is_empty() {
        return Err(Error::input(format!(
            "no jobs in {}: nothing to publish",
            files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    check_all(schema, &jobs, "nothing published")?;
    let messages = jobs
        .iter()
        .map(|(_, doc)| Message {
            routing_key: sources.routing_key.clone().unwrap_or_else(|| {
                let project = doc["origin"]["project"].as_str().unwrap_or("_");
                format!("{}.{project}._", sources.destination)
            }),
            body: serde_json::to_vec(doc).expect("a Value serialises"),
        })
        .collect();
    Ok(Prepared { jobs, messages })
}

/// What `--dry-run` prints: each job's routing key and body, then a count.
pub fn print_dry_run(prepared: &Prepared, exchange: &str, out: &mut dyn Write) {
    for m in &prepared.messages {
        let _ = writeln!(
            out,
            "{}\t{}",
            m.routing_key,
            String::from_utf8_lossy(&m.body)
        );
    }
    let _ = writeln!(
        out,
        "dry run: {} valid job(s) for {exchange}, nothing published",
        prepared.messages.len(),
    );
}

/// Publishes the prepared jobs; prints `published N, failed M` to `out`, and logs each
/// cause of failure once. Jobs not published are counted in the tally's `failed`
/// (they are the caller's to report: the command line exits 3).
pub fn publish(
    prepared: &Prepared,
    broker: &BrokerSettings,
    out: &mut dyn Write,
) -> Result<Tally, Error> {
    publish_via(prepared, broker, None, out)
}

/// [`publish`] on `via`'s connection when given (a worker's, kept open across tasks),
/// else on a connection of its own.
pub fn publish_via(
    prepared: &Prepared,
    broker: &BrokerSettings,
    via: Option<&SharedPublisher>,
    out: &mut dyn Write,
) -> Result<Tally, Error> {
    let config = PulseConfig {
        url: broker.url.clone(),
        exchange: broker.exchange.clone(),
        passive: broker.passive,
        backoff: Backoff {
            attempts: broker.attempts.max(1),
            ..Backoff::default()
        },
    };
    let outcomes = match via {
        Some(p) => p.publish(&config, &prepared.messages),
        None => send(&config, &prepared.messages),
    };
    let r = report_outcomes(
        &outcomes,
        &prepared.jobs,
        &prepared.messages,
        &broker.exchange,
        broker.allow_unroutable,
    );
    let _ = writeln!(
        out,
        "published {}, failed {} (exchange {}){}",
        r.published,
        r.failed,
        broker.exchange,
        if r.unrouted > 0 && broker.allow_unroutable {
            format!(
                "; {} published, not routed (no queue is bound for them)",
                r.unrouted
            )
        } else {
            String::new()
        }
    );
    Ok(r)
}

/// What became of the jobs, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Jobs the broker confirmed (with `allow_unroutable`, the unrouted ones too).
    pub published: usize,
    /// Jobs no queue was bound for.
    pub unrouted: usize,
    /// Jobs not published.
    pub failed: usize,
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
