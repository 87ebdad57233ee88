//! `resultpipe splunk send`: flags to settings (the token from `SPLUNK_HEC_TOKEN` or
//! `--token-file`, never argv; the reporter's id from the user and host), then
//! [`crate::pipeline::splunk`]. Without a URL reporting is switched off (a no-op, not
//! an error); `--dry-run` prints the envelopes as JSON lines.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use super::{Failure, exit};
use crate::pipeline::splunk::{SendSettings, print, read, send as deliver};
use crate::sinks::Secret;
use crate::sinks::splunk_hec::{AckSettings, BatchLimits, HecSettings};

/// `resultpipe splunk`'s commands.
#[derive(Debug, Clone, Subcommand)]
pub enum SplunkCommand {
    /// Send run and job events to a Splunk HTTP Event Collector.
    #[command(after_help = super::exit_help::DELIVERY)]
    Send(Box<SendArgs>),
}

/// `splunk send`'s flags.
#[derive(Debug, Clone, Args)]
pub struct SendArgs {
    /// Subunit files (v2 or v1), `-` for stdin, `.stestr`/`.testrepository` directories,
    /// or OCT results.sqlite files; plain or gzipped.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// HEC base URL, e.g. https://splunk.example.org:8088. Without one, reporting is
    /// switched off and nothing is sent.
    #[arg(long, env = "SPLUNK_HEC_URL")]
    pub url: Option<String>,
    /// A file holding the HEC token; without it, the token is read from the
    /// environment variable SPLUNK_HEC_TOKEN (never from the command line).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Index for the events (must be allowed for the token; left out, HEC uses the
    /// token's default index).
    #[arg(long)]
    pub index: Option<String>,
    /// The events' `source` field (left out, HEC uses the token's default).
    #[arg(long)]
    pub source: Option<String>,
    /// The events' `sourcetype` field.
    #[arg(long, default_value = "resultpipe:run")]
    pub sourcetype: String,
    /// The events' `host` field (left out, HEC uses its default).
    #[arg(long)]
    pub host: Option<String>,
    /// The reporter's id [default: user@hostname].
    #[arg(long)]
    pub id: Option<String>,
    /// The run's name [default: the first input's file name].
    #[arg(long)]
    pub run: Option<String>,
    /// A project: the run is then named `<project>_<run>`.
    #[arg(long)]
    pub project: Option<String>,
    /// Print the events as JSON lines (HEC envelopes) instead of sending them.
    #[arg(long)]
    pub dry_run: bool,
    /// Indexer acknowledgment: send on a channel and count events as delivered only
    /// once HEC acknowledges them (the token must have it switched on).
    #[arg(long)]
    pub ack: bool,
    /// Seconds an accepted batch may wait for its acknowledgment before its events
    /// count as lost.
    #[arg(long, default_value = "300", value_parser = seconds)]
    pub ack_timeout: Duration,
    /// Seconds between two queries of the ack endpoint.
    #[arg(long, default_value = "1", value_parser = seconds)]
    pub ack_poll: Duration,
    /// Tries per batch, the first included, on connection errors, 429 and 5xx.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub attempts: u32,
    /// Seconds between two tries of a batch.
    #[arg(long, default_value = "5", value_parser = seconds)]
    pub retry_delay: Duration,
    /// Seconds one request may take, answer included.
    #[arg(long, default_value = "30", value_parser = seconds)]
    pub timeout: Duration,
    /// Most events in one request.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_events: u64,
    /// Most bytes in one (uncompressed) request body; a larger event travels alone.
    #[arg(long, default_value_t = 512 * 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_bytes: u64,
    /// Send bodies uncompressed (by default they are gzipped, and sent plain if HEC
    /// refuses gzip).
    #[arg(long)]
    pub no_gzip: bool,
    /// A PEM file with the certificate that signed HEC's (e.g. Splunk's own CA).
    #[arg(long)]
    pub ca_cert: Option<PathBuf>,
    /// Accept any certificate from HEC (its default one is self-signed). The traffic
    /// stays encrypted but the server is not authenticated.
    #[arg(long)]
    pub insecure: bool,
}

/// A number of seconds (fractions allowed) as a duration.
fn seconds(s: &str) -> Result<Duration, String> {
    let f: f64 = s
        .parse()
        .map_err(|_| format!("not a number of seconds: {s}"))?;
    Duration::try_from_secs_f64(f).map_err(|_| format!("not a usable number of seconds: {s}"))
}

/// Runs a `splunk` command; returns the exit code.
pub fn run(cmd: SplunkCommand) -> Result<u8, Failure> {
    match cmd {
        SplunkCommand::Send(a) => send(*a),
    }
}

fn send(a: SendArgs) -> Result<u8, Failure> {
    let url = a.url.clone().filter(|u| !u.is_empty());
    if url.is_none() && !a.dry_run {
        eprintln!("splunk: reporting is switched off (no --url or SPLUNK_HEC_URL): nothing sent");
        return Ok(exit::OK);
    }
    let settings = SendSettings {
        inputs: a.inputs.clone(),
        index: a.index.clone(),
        source: a.source.clone(),
        sourcetype: Some(a.sourcetype.clone()),
        host: a.host.clone(),
        id: a.id.clone().unwrap_or_else(super::default_id),
        run: a.run.clone(),
        project: a.project.clone(),
    };
    let events = read(&settings)?;
    let mut out = std::io::stdout().lock();
    if a.dry_run {
        print(&events, &mut out);
        return Ok(exit::OK);
    }
    let url = url.expect("no URL means switched off or --dry-run, handled above");
    let hec = hec_settings(&a, url, read_token(&a)?)?;
    deliver(&events, &hec, &mut out)?;
    Ok(exit::OK)
}

/// The HEC token: `--token-file`, else `$SPLUNK_HEC_TOKEN`. Never printed.
fn read_token(a: &SendArgs) -> Result<Secret, Failure> {
    let token = match &a.token_file {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| Failure::input(format!("{}: cannot read the token: {e}", p.display())))?,
        None => std::env::var("SPLUNK_HEC_TOKEN").map_err(|_| {
            Failure::input("no HEC token: set SPLUNK_HEC_TOKEN or give --token-file")
        })?,
    };
    let token = token.trim();
    if token.is_empty() {
        return Err(Failure::input(
            "the HEC token is empty (SPLUNK_HEC_TOKEN or --token-file)",
        ));
    }
    Ok(Secret::new(token))
}

fn hec_settings(a: &SendArgs, url: String, token: Secret) -> Result<HecSettings, Failure> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(Failure::input(format!(
            "--url must start with http:// or https://, e.g. https://splunk.example.org:8088 (got {})",
            crate::sinks::pulse::redact_url(&url)
        )));
    }
    let ca_cert = match &a.ca_cert {
        Some(p) => Some(std::fs::read(p).map_err(|e| {
            Failure::input(format!("{}: cannot read the certificate: {e}", p.display()))
        })?),
        None => None,
    };
    let mut s = HecSettings::new(url, token);
    s.limits = BatchLimits {
        max_events: usize::try_from(a.batch_events).unwrap_or(usize::MAX),
        max_bytes: usize::try_from(a.batch_bytes).unwrap_or(usize::MAX),
    };
    s.attempts = a.attempts;
    s.retry_delay = a.retry_delay;
    s.timeout = a.timeout;
    s.gzip = !a.no_gzip;
    s.ack = a.ack.then_some(AckSettings {
        poll: a.ack_poll,
        timeout: a.ack_timeout,
    });
    s.ca_cert = ca_cert;
    s.insecure = a.insecure;
    Ok(s)
}
