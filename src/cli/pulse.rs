//! `resultpipe pulse publish`: flags to settings (the broker URL from `PULSE_URL` or
//! `--url-file`, never argv), then [`crate::pipeline::pulse`]; exit 3 if any job was
//! not published.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{Bars, Failure, JobOptions, Verbosity, exit};
use crate::pipeline::pulse::{
    BrokerSettings, JobSources, is_job_file, prepare, print_dry_run, publish,
};
use crate::sinks::Secret;

/// `resultpipe pulse`'s commands.
#[derive(Debug, Clone, Subcommand)]
pub enum PulseCommand {
    /// Publish jobs to a Pulse exchange with publisher confirms.
    #[command(after_help = super::exit_help::DELIVERY)]
    Publish(Box<PublishArgs>),
}

/// `pulse publish`'s flags.
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
    /// How jobs are made from runs.
    #[command(flatten)]
    pub job: JobOptions,
}

/// Runs a `pulse` command; returns the exit code.
pub fn run(cmd: PulseCommand, v: Verbosity) -> Result<u8, Failure> {
    match cmd {
        PulseCommand::Publish(a) => publish_cmd(*a, v),
    }
}

fn broker_url(a: &PublishArgs) -> Result<Secret, Failure> {
    super::secret_url(a.url_file.as_deref(), "PULSE_URL", "--url-file")?
        .ok_or_else(|| Failure::input("no broker URL: set PULSE_URL or give --url-file"))
}

fn publish_cmd(a: PublishArgs, v: Verbosity) -> Result<u8, Failure> {
    let schema = a.job.schema.load()?;
    // job settings are needed (and checked) only when there are runs to make jobs of
    let has_runs = a.inputs.iter().any(|p| !is_job_file(p));
    let sources = JobSources {
        inputs: a.inputs.clone(),
        runs: if has_runs {
            Some(a.job.jobs(Vec::new())?)
        } else {
            None
        },
        routing_key: a.routing_key.clone(),
        destination: a.destination.clone(),
    };
    let prepared = prepare(&sources, &schema, &Bars::new(v.quiet))?;
    let mut out = std::io::stdout().lock();
    if a.dry_run {
        print_dry_run(&prepared, &a.exchange, &mut out);
        return Ok(exit::OK);
    }
    let broker = BrokerSettings {
        url: broker_url(&a)?,
        exchange: a.exchange.clone(),
        passive: a.passive,
        attempts: a.attempts,
        allow_unroutable: a.allow_unroutable,
    };
    let tally = publish(&prepared, &broker, &mut out)?;
    Ok(if tally.failed > 0 {
        exit::DELIVERY
    } else {
        exit::OK
    })
}
