//! `resultpipe summary`: counts per status, failures with the last line of their
//! traceback, the ten slowest tests, and the problems found while reading.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::inputs::{read_source, sources_for};
use super::{Failure, exit, show_progress};
use crate::emit::details;
use crate::model::{Status, TestRecord, clean_test_name};

#[derive(Debug, Clone, Args)]
pub struct SummaryArgs {
    /// Subunit files (v2 or v1), `-` for stdin, or directories holding a `.stestr` /
    /// `.testrepository` (latest run).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Only print errors while reading; no progress bar.
    #[arg(short, long)]
    pub quiet: bool,
}

struct Failed {
    name: String,
    status: Status,
    last_line: String,
}

#[derive(Default)]
struct Acc {
    counts: BTreeMap<Status, u64>,
    failures: Vec<Failed>,
    slowest: Vec<(f64, String)>,
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
}

pub fn run(args: SummaryArgs) -> Result<u8, Failure> {
    let mut acc = Acc::default();
    let mut problems = Vec::new();
    let progress = show_progress(args.quiet);
    for input in &args.inputs {
        let sources = sources_for(input).map_err(Failure::input)?;
        for source in sources {
            let report = read_source(
                &source,
                progress,
                |_, _| (),
                &mut |r, _, ()| acc.add(r),
                &mut |_| {},
            )
            .map_err(|e| Failure::input(format!("{}: {e}", source.label())))?;
            for p in &report.problems {
                problems.push(format!("{}: {p}", source.label()));
            }
            if report.problem_count > report.problems.len() as u64 {
                problems.push(format!(
                    "{}: ... and {} more",
                    source.label(),
                    report.problem_count - report.problems.len() as u64
                ));
            }
        }
    }
    let mut out = std::io::stdout().lock();
    let total: u64 = acc.counts.values().sum();
    let mut text = format!("{total} tests:");
    for s in Status::ALL {
        if let Some(n) = acc.counts.get(&s) {
            text.push_str(&format!(" {n} {s},"));
        }
    }
    if text.ends_with(',') {
        text.pop();
    }
    let mut w = String::new();
    w.push_str(&text);
    w.push('\n');
    if !acc.failures.is_empty() {
        w.push_str(&format!("\nFailures ({}):\n", acc.failures.len()));
        for f in &acc.failures {
            w.push_str(&format!("  {} [{}]\n", f.name, f.status));
            if !f.last_line.is_empty() {
                w.push_str(&format!("    {}\n", f.last_line));
            }
        }
    }
    if !acc.slowest.is_empty() {
        w.push_str(&format!("\nSlowest {} tests:\n", acc.slowest.len()));
        for (d, name) in &acc.slowest {
            w.push_str(&format!("  {d:>10.3}s  {name}\n"));
        }
    }
    if !problems.is_empty() {
        w.push_str(&format!("\nProblems while reading ({}):\n", problems.len()));
        for p in &problems {
            w.push_str(&format!("  {p}\n"));
        }
    }
    out.write_all(w.as_bytes()).map_err(Failure::input)?;
    Ok(if acc.failures.is_empty() {
        exit::OK
    } else {
        exit::FAILURES
    })
}
