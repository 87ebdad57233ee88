//! `resultpipe summary`: counts per status, the failures with the last line of their
//! traceback, the ten slowest tests. Problems found while reading go to stderr (once,
//! with where they are); a run in which no test ran says so and is not a pass.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::inputs::{InputError, all_sources, read_source};
use super::{Failure, Verbosity, exit, show_progress};
use crate::emit::details;
use crate::model::{Status, TestRecord, clean_test_name};

#[derive(Debug, Clone, Args)]
pub struct SummaryArgs {
    /// Subunit files (v2 or v1, plain or gzipped), `-` for stdin, or directories
    /// holding a `.stestr` / `.testrepository` (its latest run).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// A run in which no test ran exits 0 instead of 1.
    #[arg(long)]
    pub allow_empty: bool,
}

struct Failed {
    name: String,
    status: Status,
    worker: Option<String>,
    last_line: String,
}

/// How much of the output that is not subunit is kept, to show when no test ran (a
/// discovery failure's traceback is at its end).
const TAIL_BYTES: usize = 4096;
/// Lines of that output shown.
const TAIL_LINES: usize = 15;

#[derive(Default)]
struct Acc {
    counts: BTreeMap<Status, u64>,
    failures: Vec<Failed>,
    slowest: Vec<(f64, String)>,
    listed_not_run: u64,
    /// The last bytes of non-subunit output, per input.
    tails: Vec<(String, Vec<u8>)>,
}

/// The worker a record ran on: its `worker-N` tag, else its route code.
fn worker(r: &TestRecord) -> Option<String> {
    r.tags
        .iter()
        .find(|t| t.starts_with("worker"))
        .cloned()
        .or_else(|| r.route_code.as_ref().map(|rc| format!("route {rc}")))
}

impl Acc {
    fn add(&mut self, r: &TestRecord) {
        *self.counts.entry(r.status).or_default() += 1;
        let name = clean_test_name(&r.id).into_owned();
        if r.status.is_failure() {
            let last_line = details::last_traceback_line(r).unwrap_or_default();
            self.failures.push(Failed {
                name: name.clone(),
                status: r.status,
                worker: worker(r),
                last_line,
            });
        }
        if let Some(d) = r.duration_secs()
            && (self.slowest.len() < 10 || d > self.slowest[self.slowest.len() - 1].0)
        {
            let at = self.slowest.partition_point(|(x, _)| *x >= d);
            self.slowest.insert(at, (d, name));
            self.slowest.truncate(10);
        }
    }

    fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    fn render(&self) -> String {
        let mut w = String::new();
        let total = self.total();
        if total == 0 {
            w.push_str("no tests ran");
        } else {
            let parts: Vec<String> = Status::ALL
                .iter()
                .filter_map(|s| self.counts.get(s).map(|n| format!("{n} {s}")))
                .collect();
            w.push_str(&format!("{total} tests: {}", parts.join(", ")));
        }
        if self.listed_not_run > 0 {
            w.push_str(&format!("; {} listed, not run", self.listed_not_run));
        }
        w.push('\n');
        if !self.failures.is_empty() {
            let mut times: HashMap<&str, usize> = HashMap::new();
            for f in &self.failures {
                *times.entry(f.name.as_str()).or_default() += 1;
            }
            // The heading counts what it lists, by status when they differ (an
            // unexpected success or a test that never finished is listed too).
            let mut by_status: BTreeMap<Status, usize> = BTreeMap::new();
            for f in &self.failures {
                *by_status.entry(f.status).or_default() += 1;
            }
            let mut heading = self.failures.len().to_string();
            if by_status.len() > 1 {
                let parts: Vec<String> =
                    by_status.iter().map(|(s, n)| format!("{n} {s}")).collect();
                heading.push_str(&format!(": {}", parts.join(", ")));
            }
            w.push_str(&format!("\nFailures ({heading}):\n"));
            for f in &self.failures {
                w.push_str(&format!("  {} [{}]", f.name, f.status));
                // The same test failing more than once (on several workers, or
                // retried): say which run of it this is.
                if times[f.name.as_str()] > 1
                    && let Some(worker) = &f.worker
                {
                    w.push_str(&format!(" on {worker}"));
                }
                w.push('\n');
                if !f.last_line.is_empty() {
                    w.push_str(&format!("    {}\n", f.last_line));
                }
            }
        }
        if !self.slowest.is_empty() {
            w.push_str(&format!("\nSlowest {} tests:\n", self.slowest.len()));
            for (d, name) in &self.slowest {
                w.push_str(&format!("  {d:>10.3}s  {name}\n"));
            }
        }
        if total == 0 {
            for (label, tail) in &self.tails {
                let text = String::from_utf8_lossy(tail);
                let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
                let shown = &lines[lines.len().saturating_sub(TAIL_LINES)..];
                if shown.is_empty() {
                    continue;
                }
                w.push_str(&format!(
                    "\n{label} holds output that is not subunit; its last {} line(s):\n",
                    shown.len()
                ));
                for l in shown {
                    w.push_str(&format!("  {l}\n"));
                }
            }
        }
        w
    }
}

pub fn run(args: SummaryArgs, v: Verbosity) -> Result<u8, Failure> {
    let mut acc = Acc::default();
    let progress = show_progress(v.quiet);
    {
        for source in all_sources(&args.inputs).map_err(Failure::input)? {
            let label = source.label();
            let before = acc.total();
            let mut tail: Vec<u8> = Vec::new();
            let report = read_source(
                &source,
                progress,
                |_, _| (),
                &mut |r, _, ()| acc.add(r),
                &mut |bytes| {
                    tail.extend_from_slice(bytes);
                    if tail.len() > 2 * TAIL_BYTES {
                        tail.drain(..tail.len() - TAIL_BYTES);
                    }
                },
            )
            .map_err(|e| Failure::input(InputError::new(&label, e)))?;
            acc.listed_not_run += report.listed_not_run.len() as u64;
            if acc.total() == before {
                tracing::warn!("{label}: no test results in it");
            }
            if !tail.is_empty() {
                let keep = tail.len().min(TAIL_BYTES);
                acc.tails.push((label, tail.split_off(tail.len() - keep)));
            }
        }
    }
    let text = acc.render();
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(Failure::input)?;
    let empty = acc.total() == 0 && !args.allow_empty;
    Ok(
        if !acc.failures.is_empty() || acc.listed_not_run > 0 || empty {
            exit::FAILURES
        } else {
            exit::OK
        },
    )
}
