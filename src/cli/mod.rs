//! The command-line edge: clap argument types, the settings built and checked from
//! them (secrets and CI variables read here, nowhere else), logging and progress bars,
//! and the mapping of a job's outcome or error to the documented exit codes. The work
//! itself is in [`crate::pipeline`]. Command modules share flags only through this
//! module ([`JobOptions`], [`SchemaArgs`]).

pub mod convert;
pub mod oct;
pub mod pulse;
pub mod report;
pub mod splunk;
pub mod stackviz;
pub mod summary;
pub mod task;
pub mod treeherder;

use std::fmt;
use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::emit::report::policy::parse_size;
use crate::pipeline;
use crate::treeherder::job::JobSpec;
use crate::treeherder::schema::{JobSchema, SchemaVersion};
use crate::treeherder::settings::{CI_VARIABLES, ConfigFile, SettingSource, job_spec};

/// Exit codes (README "Exit codes").
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// The run has test failures (`summary`).
    pub const FAILURES: u8 = 1;
    /// Usage or input error.
    pub const USAGE: u8 = 2;
    /// Delivery failed after retries.
    pub const DELIVERY: u8 = 3;
}

/// A failure that ends a command, with its exit code.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub code: u8,
    /// What went wrong (printed with its causes).
    pub error: Box<dyn std::error::Error + Send + Sync>,
}

impl From<pipeline::Error> for Failure {
    fn from(e: pipeline::Error) -> Failure {
        let code = match e {
            pipeline::Error::Input(_) | pipeline::Error::Output(_) => exit::USAGE,
            pipeline::Error::Delivery(_) => exit::DELIVERY,
        };
        Failure {
            code,
            error: e.into_inner(),
        }
    }
}

impl Failure {
    /// A usage or input error (exit 2).
    pub fn input(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Failure {
        Failure {
            code: exit::USAGE,
            error: error.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error)
    }
}

/// Prints `error: ...` and each `caused by: ...` once, to stderr.
pub fn report(failure: &Failure) {
    eprintln!("error: {}", failure.error);
    let mut source = failure.error.source();
    while let Some(s) = source {
        eprintln!("caused by: {s}");
        source = s.source();
    }
}

/// `-q` and `-v`, the same on every command (and anywhere on the command line).
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct Verbosity {
    /// Only print errors; no progress bar.
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "verbose",
        display_order = 1000
    )]
    pub quiet: bool,
    /// More detail on stderr: -v what is done and how long it took, -vv debugging.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, display_order = 1001)]
    pub verbose: u8,
}

/// Whether to draw progress bars: only on a terminal, never under CI or `--quiet`.
pub fn show_progress(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none()
}

/// Reading progress as a bar on stderr (indicatif), drawn only where [`show_progress`]
/// allows it.
pub struct Bars {
    enabled: bool,
    bar: std::sync::Mutex<Option<indicatif::ProgressBar>>,
}

impl Bars {
    /// Bars for a command run with `-q` or not.
    pub fn new(quiet: bool) -> Bars {
        Bars {
            enabled: show_progress(quiet),
            bar: std::sync::Mutex::new(None),
        }
    }

    fn bar(&self) -> std::sync::MutexGuard<'_, Option<indicatif::ProgressBar>> {
        self.bar.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl crate::ingest::source::Progress for Bars {
    fn start(&self, label: &str, len: Option<u64>) {
        if !self.enabled {
            return;
        }
        use indicatif::{ProgressBar, ProgressStyle};
        let bar = match len {
            Some(n) => ProgressBar::new(n).with_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{msg} {spinner} {bytes} {bytes_per_sec}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        *self.bar() = Some(bar.with_message(label.to_owned()));
    }

    fn advance(&self, bytes: u64) {
        if self.enabled
            && let Some(b) = self.bar().as_ref()
        {
            b.inc(bytes);
        }
    }

    fn finish(&self) {
        if let Some(b) = self.bar().take() {
            b.finish_and_clear();
        }
    }
}

/// Sets up `tracing` on stderr: warnings by default, errors only with `--quiet`,
/// info with `-v`, debug with `-vv`. Lines start with the level (`ERROR`, `WARN`,
/// `INFO`, `DEBUG`) at the first column.
pub fn init_logging(v: Verbosity) {
    let level = match (v.quiet, v.verbose) {
        (true, _) => tracing::Level::ERROR,
        (false, 0) => tracing::Level::WARN,
        (false, 1) => tracing::Level::INFO,
        _ => tracing::Level::DEBUG,
    };
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    // Our own events only: libraries' logs (lapin's, say) can carry message bodies.
    let filter = tracing_subscriber::filter::Targets::new().with_target("resultpipe", level);
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .event_format(LevelFirst);
    let _ = tracing_subscriber::registry()
        .with(tracing_subscriber::Layer::with_filter(layer, filter))
        .try_init();
}

/// `LEVEL message`: the level unpadded at the first column, no time, no target.
struct LevelFirst;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for LevelFirst
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> fmt::Result {
        let level = *event.metadata().level();
        let (name, color) = match level {
            tracing::Level::ERROR => ("ERROR", "31"),
            tracing::Level::WARN => ("WARN", "33"),
            tracing::Level::INFO => ("INFO", "32"),
            tracing::Level::DEBUG => ("DEBUG", "34"),
            tracing::Level::TRACE => ("TRACE", "35"),
        };
        if writer.has_ansi_escapes() {
            write!(writer, "\x1b[{color}m{name}\x1b[0m ")?;
        } else {
            write!(writer, "{name} ")?;
        }
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// What every `--help` ends with.
pub mod exit_help {
    /// Every exit code (commands that set none of their own).
    pub const ALL: &str = "\
Exit codes:
  0  success
  1  the run has test failures, or ran no tests (summary)
  2  usage or input error: bad flags, an input missing or unreadable, --strict problems
  3  delivery failed: a job not confirmed by the broker, a submission refused or still
     failing after retries, Splunk events lost";
    /// `summary`'s exit codes.
    pub const SUMMARY: &str = "\
Exit codes:
  0  every test passed (or was skipped); a test that failed and then passed on a
     later attempt is flaky and passes (unless --fail-on-flaky)
  1  a test failed, succeeded unexpectedly or never finished in the end, or was
     listed and not run; or no test ran (unless --allow-empty)
  2  usage or input error: bad flags, an input missing or unreadable";
    /// `stackviz-export`'s exit codes.
    pub const EXPORT: &str = "\
Exit codes:
  0  exported (problems found while reading are warnings)
  2  usage or input error: bad flags, an unreadable input or output directory;
     with --strict also a missing -f file or any problem found while reading";
    /// `report`'s exit codes.
    pub const REPORT: &str = "\
Exit codes:
  0  the page was written (whatever the run's result: the page shows it)
  2  usage or input error: bad flags, an input missing or unreadable, an output that
     cannot be written";
    /// Exit codes of commands that only read and write files.
    pub const LOCAL: &str = "\
Exit codes:
  0  success
  2  usage or input error: bad flags, an input missing or unreadable, an output that
     cannot be written, invalid jobs";
    /// `worker`'s exit codes.
    pub const WORKER: &str = "\
Exit codes:
  0  stopped by SIGTERM/SIGINT (tasks in flight finished or returned to the queue), or
     --max-tasks reached
  2  usage error: bad flags, no broker URL, the broker refused the credentials";
    /// Exit codes of commands that only print what is built in.
    pub const PRINT: &str = "\
Exit codes:
  0  success";
    /// `treeherder validate`'s exit codes.
    pub const VALIDATE: &str = "\
Exit codes:
  0  every job is valid
  2  a job is invalid, an input holds no jobs, or an input is missing or unreadable";
    /// Exit codes of commands that deliver (publish, send, submit).
    pub const DELIVERY: &str = "\
Exit codes:
  0  success: everything was delivered (or --dry-run, or reporting switched off)
  2  usage or input error: bad flags, an input missing or unreadable, invalid jobs,
     no credentials
  3  delivery failed: not everything was confirmed or accepted (after retries)";
}

/// Finishes a command tree before parsing: every command's help ends with its exit
/// codes (those that set none get the full table), and flags that job settings also
/// take from the environment name the variables.
pub fn finish_command(cmd: clap::Command) -> clap::Command {
    let cmd = if cmd.get_after_help().is_none() {
        cmd.after_help(exit_help::ALL)
    } else {
        cmd
    };
    let cmd = annotate_env(cmd);
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    names
        .iter()
        .fold(cmd, |cmd, n| cmd.mut_subcommand(n, finish_command))
}

/// `resultpipe`'s command line.
#[derive(Debug, Parser)]
#[command(
    name = "resultpipe",
    version,
    about = "Fast, lossless results ETL for test and load-test runs"
)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
    /// `-q` / `-v`.
    #[command(flatten)]
    pub verbosity: Verbosity,
}

/// `resultpipe`'s commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate stackviz data (the same command as `stackviz-export`).
    #[command(after_help = exit_help::EXPORT)]
    Stackviz(Box<stackviz::StackvizArgs>),
    /// Print a run summary; exit 1 when the run has failures or ran no tests.
    #[command(after_help = exit_help::SUMMARY)]
    Summary(summary::SummaryArgs),
    /// Write the run report: one self-contained HTML page (tests, failures, logs,
    /// timeline with resource lanes) that opens offline, even at 10 000 tests.
    #[command(after_help = exit_help::REPORT)]
    Report(Box<report::ReportArgs>),
    /// OCT load-test results (results.sqlite): the HTML report and OCT's CSV.
    Oct {
        /// The `oct` command to run.
        #[command(subcommand)]
        command: oct::OctCommand,
    },
    /// Pulse (AMQP): publish Treeherder jobs to an exchange.
    Pulse {
        /// The `pulse` command to run.
        #[command(subcommand)]
        command: pulse::PulseCommand,
    },
    /// Splunk HTTP Event Collector: run and job events.
    Splunk {
        /// The `splunk` command to run.
        #[command(subcommand)]
        command: splunk::SplunkCommand,
    },
    /// Treeherder jobs: generate pulse-job documents from runs, validate documents,
    /// submit collections over REST.
    Treeherder {
        /// The `treeherder` command to run.
        #[command(subcommand)]
        command: treeherder::TreeherderCommand,
    },
    /// Write any run (subunit, a repository, JUnit XML) as JUnit XML (the dialect
    /// Jenkins, GitLab and GitHub's reporters read).
    #[command(after_help = exit_help::LOCAL)]
    Junit(convert::JunitArgs),
    /// Write any run (subunit, a repository, JUnit XML) as a subunit v2 stream.
    #[command(after_help = exit_help::LOCAL)]
    Subunit(convert::SubunitArgs),
    /// Tasks for workers: submit them to a RabbitMQ queue, print their schema.
    Task {
        /// The `task` command to run.
        #[command(subcommand)]
        command: task::TaskCommand,
    },
    /// Take tasks from a RabbitMQ queue and build their outputs, at least once: a task
    /// is acknowledged only when every output is durable. Runs until SIGTERM/SIGINT.
    #[command(after_help = exit_help::WORKER)]
    Worker(Box<task::WorkerArgs>),
}

/// Parses argv for the command `C`, its help finished by [`finish_command`].
fn parse<C: clap::CommandFactory + clap::FromArgMatches>() -> C {
    let matches = finish_command(C::command()).get_matches();
    C::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// Runs the `resultpipe` binary; returns the process exit code.
pub fn main_resultpipe() -> u8 {
    let cli: Cli = parse();
    let v = cli.verbosity;
    init_logging(v);
    let result = match cli.command {
        Command::Stackviz(args) => stackviz::run(*args, v),
        Command::Summary(args) => summary::run(args, v),
        Command::Report(args) => report::run(*args, v),
        Command::Oct { command } => oct::run(command),
        Command::Pulse { command } => pulse::run(command, v),
        Command::Splunk { command } => splunk::run(command),
        Command::Treeherder { command } => treeherder::run(command, v),
        Command::Junit(args) => convert::junit(args, v),
        Command::Subunit(args) => convert::subunit(args, v),
        Command::Task { command } => task::run(command, v),
        Command::Worker(args) => task::worker_cmd(*args, v),
    };
    finish(result)
}

/// The `stackviz-export` binary's command line: the export's flags plus `-q`/`-v`.
#[derive(Debug, Parser)]
#[command(
    name = "stackviz-export",
    version,
    about = "Generates JSON data files for a StackViz site.",
    after_help = exit_help::EXPORT
)]
pub struct StackvizExportCli {
    /// The export's flags.
    #[command(flatten)]
    pub args: stackviz::StackvizArgs,
    /// `-q` / `-v`.
    #[command(flatten)]
    pub verbosity: Verbosity,
}

/// Runs the `stackviz-export` binary; returns the process exit code.
pub fn main_stackviz_export() -> u8 {
    let cli: StackvizExportCli = parse();
    init_logging(cli.verbosity);
    finish(stackviz::run(cli.args, cli.verbosity))
}
fn finish(result: Result<u8, Failure>) -> u8 {
    match result {
        Ok(code) => code,
        Err(f) => {
            if let Some(io) = f.error.downcast_ref::<std::io::Error>()
                && io.kind() == std::io::ErrorKind::BrokenPipe
            {
                return exit::OK;
            }
            report(&f);
            f.code
        }
    }
}

/// Which pulse-job schema validates (`--schema-version`, `--schema`).
#[derive(Debug, Clone, Args)]
pub struct SchemaArgs {
    /// Pulse-job schema version to validate against.
    #[arg(long, value_enum, default_value = "2026")]
    pub schema_version: SchemaVersionArg,
    /// Validate against this JSON schema file instead.
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,
}

/// `--schema-version`'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaVersionArg {
    /// 2016-07: draft-04, `origin.kind` required, `extra` allowed.
    #[value(name = "2016")]
    V2016,
    /// 2025-06: draft-06, `origin.kind` required.
    #[value(name = "2025")]
    V2025,
    /// 2026-04 (current Treeherder): `origin` is `{project, revision, id?}`.
    #[value(name = "2026")]
    V2026,
}

impl SchemaArgs {
    /// The version chosen.
    pub fn version(&self) -> SchemaVersion {
        match self.schema_version {
            SchemaVersionArg::V2016 => SchemaVersion::V2016,
            SchemaVersionArg::V2025 => SchemaVersion::V2025,
            SchemaVersionArg::V2026 => SchemaVersion::V2026,
        }
    }

    /// The schema: the file given, else the bundled version.
    pub fn load(&self) -> Result<JobSchema, Failure> {
        match &self.schema {
            Some(p) => JobSchema::from_file(p).map_err(Failure::input),
            None => Ok(JobSchema::builtin(self.version())),
        }
    }
}

/// Everything a job needs besides its run; shared by `treeherder job` and
/// `pulse publish`. Settings left out here come from `--config`, then from the CI
/// variables named in the help (see [`CI_VARIABLES`] and [`finish_command`]).
#[derive(Debug, Clone, Args)]
pub struct JobOptions {
    /// JSON object of settings (keys as the long flags: {"project": ..., "job-symbol": ...}).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Which schema validates the jobs.
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

impl JobOptions {
    /// The job's settings: each from its flag, else `--config`, else the first CI
    /// variable set (see [`CI_VARIABLES`]).
    pub fn spec(&self) -> Result<JobSpec, Failure> {
        let config = match &self.config {
            None => ConfigFile::default(),
            Some(p) => ConfigFile::load(p).map_err(Failure::input)?,
        };
        let mut spec = job_spec(&JobFlags {
            flags: self,
            config,
        })
        .map_err(Failure::input)?;
        spec.allow_empty = self.allow_empty;
        Ok(spec)
    }

    /// The settings of jobs made from `inputs`.
    pub fn jobs(
        &self,
        inputs: Vec<PathBuf>,
    ) -> Result<pipeline::treeherder::JobsSettings, Failure> {
        Ok(pipeline::treeherder::JobsSettings {
            inputs,
            spec: self.spec()?,
            version: self.schema.version(),
            unreadable_as_exception: self.unreadable_as_exception,
        })
    }
}

/// Job settings from the flags, then the config file, then CI variables.
struct JobFlags<'a> {
    flags: &'a JobOptions,
    config: ConfigFile,
}

impl JobFlags<'_> {
    fn flag(&self, key: &str) -> Option<String> {
        let f = self.flags;
        let num = |n: Option<u64>| n.map(|n| n.to_string());
        match key {
            "project" => f.project.clone(),
            "revision" => f.revision.clone(),
            "push-id" => num(f.push_id),
            "origin-kind" => f.origin_kind.clone(),
            "github-owner" => f.github_owner.clone(),
            "task-id" => f.task_id.clone(),
            "retry-id" => num(f.retry_id),
            "build-system" => f.build_system.clone(),
            "job-name" => f.job_name.clone(),
            "job-symbol" => f.job_symbol.clone(),
            "group-name" => f.group_name.clone(),
            "group-symbol" => f.group_symbol.clone(),
            "tier" => num(f.tier.map(u64::from)),
            "job-kind" => f.job_kind.clone(),
            "state" => f.state.clone(),
            "result" => f.result.clone(),
            "reason" => f.reason.clone(),
            "owner" => f.owner.clone(),
            "product" => f.product.clone(),
            "platform" => f.platform.clone(),
            "os" => f.os.clone(),
            "arch" => f.arch.clone(),
            "build-platform" => f.build_platform.clone(),
            "build-os" => f.build_os.clone(),
            "build-arch" => f.build_arch.clone(),
            "run-platform" => f.run_platform.clone(),
            "run-os" => f.run_os.clone(),
            "run-arch" => f.run_arch.clone(),
            "machine-name" => f.machine_name.clone(),
            _ => None,
        }
    }
}

impl SettingSource for JobFlags<'_> {
    fn get(&self, key: &str) -> Option<String> {
        if let Some(v) = self.flag(key).or_else(|| self.config.get(key)) {
            return Some(v);
        }
        let vars = CI_VARIABLES
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(&[][..], |(_, v)| *v);
        vars.iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
    }

    fn list(&self, key: &str) -> Vec<String> {
        let flag = match key {
            "label" => &self.flags.labels,
            "log-url" => &self.flags.log_urls,
            "link" => &self.flags.links,
            _ => return Vec::new(),
        };
        if flag.is_empty() {
            self.config.list(key)
        } else {
            flag.clone()
        }
    }
}

/// Appends `[env: A, B, ...]` to the help of every job setting that CI variables can
/// give (the variables of [`CI_VARIABLES`], first set wins), so that `--help` names
/// them.
fn annotate_env(mut cmd: clap::Command) -> clap::Command {
    // only the commands that take job settings ([`JobOptions`]) read these variables
    if !cmd
        .get_arguments()
        .any(|a| a.get_id() == "unreadable_as_exception")
    {
        return cmd;
    }
    for (key, vars) in CI_VARIABLES {
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

/// The CI variables `--env` shows in the page, by CI (name shown, variable). Zuul's
/// are the ones `stackviz-export -e` reads.
pub const REPORT_CI_VARIABLES: &[(&str, &str)] = &[
    ("Zuul job", "JOB_NAME"),
    ("Zuul pipeline", "ZUUL_PIPELINE"),
    ("Zuul project", "ZUUL_PROJECT"),
    ("Zuul change", "ZUUL_CHANGE"),
    ("Zuul patchset", "ZUUL_PATCHSET"),
    ("Zuul branch", "ZUUL_BRANCH"),
    ("Zuul build", "ZUUL_UUID"),
    ("GitHub repository", "GITHUB_REPOSITORY"),
    ("GitHub workflow", "GITHUB_WORKFLOW"),
    ("GitHub job", "GITHUB_JOB"),
    ("GitHub run", "GITHUB_RUN_ID"),
    ("GitHub ref", "GITHUB_REF_NAME"),
    ("GitHub commit", "GITHUB_SHA"),
    ("GitLab project", "CI_PROJECT_PATH"),
    ("GitLab pipeline", "CI_PIPELINE_ID"),
    ("GitLab job", "CI_JOB_NAME"),
    ("GitLab job URL", "CI_JOB_URL"),
    ("GitLab ref", "CI_COMMIT_REF_NAME"),
    ("GitLab commit", "CI_COMMIT_SHA"),
    ("Jenkins build", "BUILD_NUMBER"),
    ("Jenkins build URL", "BUILD_URL"),
    ("Jenkins node", "NODE_NAME"),
    ("Jenkins commit", "GIT_COMMIT"),
    ("Jenkins branch", "GIT_BRANCH"),
];

/// The CI variables of [`REPORT_CI_VARIABLES`] that are set (and not empty), in order;
/// one shown only once when two CIs share its variable.
pub fn ci_metadata() -> Vec<(String, String)> {
    let mut seen = std::collections::HashSet::new();
    REPORT_CI_VARIABLES
        .iter()
        .filter(|(_, var)| seen.insert(*var))
        .filter_map(|(label, var)| {
            let v = std::env::var(var).ok().filter(|v| !v.trim().is_empty())?;
            Some((format!("{label} ({var})"), v))
        })
        .collect()
}

/// A broker URL (password included) from `file`, else from the environment variable
/// `var`, checked; `None` if neither gives one.
pub fn secret_url(
    file: Option<&std::path::Path>,
    var: &str,
    flag: &str,
) -> Result<Option<crate::sinks::Secret>, Failure> {
    let Some(url) = secret(file, var, "broker URL")? else {
        return Ok(None);
    };
    crate::sinks::pulse::parse_broker_url(url.expose())
        .map_err(|e| Failure::input(format!("broker URL ({var} or {flag}): {e}")))?;
    Ok(Some(url))
}

/// A secret from `file`, else from the environment variable `var`; `None` if neither.
pub fn secret(
    file: Option<&std::path::Path>,
    var: &str,
    what: &str,
) -> Result<Option<crate::sinks::Secret>, Failure> {
    let value = match file {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| Failure::input(format!("{}: cannot read the {what}: {e}", p.display())))?,
        None => match std::env::var(var) {
            Ok(v) => v,
            Err(_) => return Ok(None),
        },
    };
    let value = value.trim();
    Ok((!value.is_empty()).then(|| crate::sinks::Secret::new(value)))
}

/// `user@hostname`, as the original reporter's default id.
pub fn default_id() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(user_from_passwd)
        .unwrap_or_else(|| "unknown".into());
    format!("{user}@{}", pipeline::host_name())
}

/// The login name of this process's real uid, from /proc and /etc/passwd.
fn user_from_passwd() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .to_owned();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        (f.nth(1)? == uid).then(|| name.to_owned())
    })
}

/// What of the logs the page keeps. Sizes are bytes, or take `K`, `M`, `G` (1024-based).
#[derive(Debug, Clone, Args)]
pub struct PolicyArgs {
    /// Each attachment of a failing, unfinished or flaky attempt is kept whole up to
    /// this size; a larger one keeps its first and last halves of it.
    #[arg(long, value_name = "SIZE", default_value = "1M", value_parser = parse_size)]
    pub failed_log_cap: usize,
    /// A passing or skipped test's attachment larger than head + tail keeps only its
    /// first SIZE...
    #[arg(long, value_name = "SIZE", default_value = "2K", value_parser = parse_size)]
    pub passed_log_head: usize,
    /// ...and its last SIZE.
    #[arg(long, value_name = "SIZE", default_value = "2K", value_parser = parse_size)]
    pub passed_log_tail: usize,
    /// Past this much kept in all, passing tests' attachments are left out and failing
    /// tests' keep head and tail only.
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = parse_size)]
    pub total_log_cap: usize,
    /// Keep every attachment whole (the caps are ignored; the page can get large).
    #[arg(long)]
    pub keep_all_logs: bool,
}

impl PolicyArgs {
    /// The policy the flags set.
    pub fn policy(&self) -> crate::emit::report::SizePolicy {
        crate::emit::report::SizePolicy {
            failed_cap: self.failed_log_cap,
            passed_head: self.passed_log_head,
            passed_tail: self.passed_log_tail,
            total_cap: self.total_log_cap,
            keep_all: self.keep_all_logs,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::emit::report::policy::parse_size;

    #[test]
    fn sizes_take_binary_units() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("2K"), Ok(2048));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("64mb"), Ok(64 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert!(parse_size("1T").is_err());
        assert!(parse_size("K").is_err());
        assert!(parse_size("-1").is_err());
    }
}
