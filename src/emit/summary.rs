//! The text summary of a run: counts per status, the failures with the last line of
//! their traceback (a test that failed more than once names its worker), the ten
//! slowest tests, tests listed and not run, and, when no test ran, the end of what the
//! input held instead.

use std::collections::{BTreeMap, HashMap};

use crate::model::{Status, TestRecord, clean_test_name};

/// How much of the output that is not subunit is kept, to show when no test ran (a
/// discovery failure's traceback is at its end).
pub const TAIL_BYTES: usize = 4096;
/// Lines of that output shown.
const TAIL_LINES: usize = 15;

#[derive(Debug)]
struct Failed {
    name: String,
    status: Status,
    worker: Option<String>,
    last_line: String,
}

/// A run's summary as it is built, record by record, and its text.
#[derive(Debug, Default)]
pub struct SummaryReport {
    counts: BTreeMap<Status, u64>,
    failures: Vec<Failed>,
    slowest: Vec<(f64, String)>,
    listed_not_run: u64,
    /// The last bytes of non-subunit output, per input.
    tails: Vec<(String, Vec<u8>)>,
}

impl SummaryReport {
    /// Counts one record.
    pub fn add(&mut self, r: &TestRecord) {
        *self.counts.entry(r.status).or_default() += 1;
        let name = clean_test_name(&r.id).into_owned();
        if r.status.is_failure() {
            let last_line = r.last_traceback_line().unwrap_or_default();
            self.failures.push(Failed {
                name: name.clone(),
                status: r.status,
                worker: r.worker(),
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

    /// Tests listed (`exists`) that no result followed.
    pub fn add_listed_not_run(&mut self, n: u64) {
        self.listed_not_run += n;
    }

    /// Keeps the end of an input's output that was not subunit, shown when no test ran.
    pub fn add_other_output(&mut self, label: String, mut bytes: Vec<u8>) {
        if !bytes.is_empty() {
            let keep = bytes.len().min(TAIL_BYTES);
            self.tails
                .push((label, bytes.split_off(bytes.len() - keep)));
        }
    }

    /// Records counted.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// Whether the run failed: a test failed, succeeded unexpectedly, never finished
    /// or was listed and not run (stestr's rule, and the listing).
    pub fn failed(&self) -> bool {
        !self.failures.is_empty() || self.listed_not_run > 0
    }

    /// The summary as `resultpipe summary` prints it.
    pub fn render(&self) -> String {
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
