//! `resultpipe treeherder job|validate|submit`: flags to settings, then
//! [`crate::pipeline::treeherder`].

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::{Bars, Failure, JobOptions, SchemaArgs, Verbosity, exit};
use crate::pipeline::treeherder::{self as job, SubmitSettings};
use crate::sinks::Secret;
use crate::sinks::treeherder_http::{Endpoint, HawkCredentials};

/// `resultpipe treeherder`'s commands.
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

/// `treeherder submit`'s flags.
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
    pub endpoint: EndpointArg,
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

/// The collections `treeherder submit` posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EndpointArg {
    /// Jobs (`/jobs/`).
    Jobs,
    /// Pushes, as resultsets were called (`/resultset/`).
    Resultset,
    /// Job artifacts (`/artifact/`).
    Artifact,
}

impl From<EndpointArg> for Endpoint {
    fn from(e: EndpointArg) -> Endpoint {
        match e {
            EndpointArg::Jobs => Endpoint::Jobs,
            EndpointArg::Resultset => Endpoint::Resultset,
            EndpointArg::Artifact => Endpoint::Artifact,
        }
    }
}

/// `treeherder validate`'s flags.
#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// JSON files (an object, an array of objects, or JSON lines; plain or gzipped);
    /// `-` for stdin.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Which schema validates.
    #[command(flatten)]
    pub schema: SchemaArgs,
}

/// `treeherder job`'s flags.
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
    /// How jobs are made from runs.
    #[command(flatten)]
    pub job: JobOptions,
}

/// Runs a `treeherder` command; returns the exit code.
pub fn run(cmd: TreeherderCommand, v: Verbosity) -> Result<u8, Failure> {
    let mut out = std::io::stdout().lock();
    match cmd {
        TreeherderCommand::Job(a) => {
            let schema = a.job.schema.load()?;
            let settings = a.job.jobs(a.inputs.clone())?;
            job::write_jobs(
                &settings,
                &schema,
                a.rest,
                &a.output,
                &Bars::new(v.quiet),
                &mut out,
            )?;
            Ok(exit::OK)
        }
        TreeherderCommand::Validate(a) => {
            let found = job::validate(&a.files, &a.schema.load()?, &mut out)?;
            Ok(if found.invalid > 0 {
                exit::USAGE
            } else {
                exit::OK
            })
        }
        TreeherderCommand::Submit(a) => {
            let endpoint = Endpoint::from(a.endpoint);
            // the collection is read and checked before credentials are looked for
            let items = job::load_collection(&a.file, endpoint)?;
            let settings = SubmitSettings {
                server: a.server.clone(),
                project: a.project.clone(),
                endpoint,
                credentials: credentials(&a)?,
                attempts: a.attempts,
            };
            job::submit(&settings, &items, &mut out)?;
            Ok(exit::OK)
        }
    }
}

/// The Hawk credentials: the id from `--client-id` or `TREEHERDER_CLIENT_ID`, the secret
/// from `--secret-file` or `TREEHERDER_SECRET`. Never printed.
fn credentials(a: &SubmitArgs) -> Result<HawkCredentials, Failure> {
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
    Ok(HawkCredentials {
        id,
        key: Secret::new(key),
    })
}
