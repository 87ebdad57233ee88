//! The summary of a run: counts per status (tests; flaky ones apart), the failures with
//! the last line of their traceback (a test that failed more than once names its
//! worker), the flaky tests with their attempts, the failure clusters, the ten slowest
//! tests, tests listed and not run, and, when no test ran, the end of what the input
//! held instead. As text, or as JSON (`--format json`, see `docs/triage.md`), with the
//! comparison against a baseline run when one is given.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use crate::model::triage::{Outcome, Triage};
use crate::model::{Status, TestRecord, test_name};

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
    failures: Vec<Failed>,
    slowest: Vec<(f64, String)>,
    listed_not_run: u64,
    /// The last bytes of non-subunit output, per input.
    tails: Vec<(String, Vec<u8>)>,
    /// Attempts, flaky tests and clusters.
    triage: Triage,
    /// Records (attempts) read.
    records: u64,
}

impl SummaryReport {
    /// Counts one record.
    pub fn add(&mut self, r: &TestRecord) {
        self.records += 1;
        self.triage.add(r);
        let name = test_name(&r.id).into_owned();
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

    /// Records (attempts) counted.
    pub fn total(&self) -> u64 {
        self.records
    }

    /// The run's triage.
    pub fn triage(&self) -> &Triage {
        &self.triage
    }

    /// Whether the run failed: a test failed, succeeded unexpectedly or never finished
    /// in the end (stestr's rule; a failure that passed on a later attempt is flaky, not
    /// a failure), or was listed and not run.
    pub fn failed(&self) -> bool {
        self.triage.failed() || self.listed_not_run > 0
    }

    /// Whether a test is flaky.
    pub fn has_flaky(&self) -> bool {
        self.triage.flaky().next().is_some()
    }

    /// The failures to list: attempts of tests that failed in the end.
    fn failures(&self) -> Vec<&Failed> {
        self.failures
            .iter()
            .filter(|f| {
                self.triage
                    .test(&f.name)
                    .is_none_or(|t| t.outcome() == Outcome::Failed)
            })
            .collect()
    }

    /// The summary as `resultpipe summary` prints it.
    pub fn render(&self) -> String {
        let mut w = String::new();
        let total = self.total();
        let tests = self.triage.tests.len() as u64;
        if total == 0 {
            w.push_str("no tests ran");
        } else {
            let parts: Vec<String> = self
                .triage
                .counts()
                .iter()
                .filter(|(_, n)| *n > 0)
                .map(|(s, n)| format!("{n} {s}"))
                .collect();
            if tests == total {
                w.push_str(&format!("{total} tests: {}", parts.join(", ")));
            } else {
                w.push_str(&format!(
                    "{tests} tests ({total} attempts): {}",
                    parts.join(", ")
                ));
            }
        }
        if self.listed_not_run > 0 {
            w.push_str(&format!("; {} listed, not run", self.listed_not_run));
        }
        w.push('\n');
        let failures = self.failures();
        if !failures.is_empty() {
            let mut times: HashMap<&str, usize> = HashMap::new();
            for f in &failures {
                *times.entry(f.name.as_str()).or_default() += 1;
            }
            // The heading counts what it lists, by status when they differ (an
            // unexpected success or a test that never finished is listed too).
            let mut by_status: BTreeMap<Status, usize> = BTreeMap::new();
            for f in &failures {
                *by_status.entry(f.status).or_default() += 1;
            }
            let mut heading = failures.len().to_string();
            if by_status.len() > 1 {
                let parts: Vec<String> =
                    by_status.iter().map(|(s, n)| format!("{n} {s}")).collect();
                heading.push_str(&format!(": {}", parts.join(", ")));
            }
            w.push_str(&format!("\nFailures ({heading}):\n"));
            for f in &failures {
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
        let flaky: Vec<_> = self.triage.flaky().collect();
        if !flaky.is_empty() {
            w.push_str(&format!(
                "\nFlaky ({}: failed, then passed on a later attempt):\n",
                flaky.len()
            ));
            for t in flaky {
                let attempts: Vec<&str> = t.attempts.iter().map(|s| s.as_str()).collect();
                w.push_str(&format!("  {} [{}]\n", t.id, attempts.join(", ")));
            }
        }
        let clusters = self.triage.clusters();
        if clusters.len() > 1 || clusters.first().is_some_and(|(_, c)| c.tests.len() > 1) {
            w.push_str(&format!("\nFailure clusters ({}):\n", clusters.len()));
            for (_, c) in clusters {
                w.push_str(&format!("  {} test(s): {}\n", c.tests.len(), c.signature));
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

    /// The whole analysis as JSON (`summary --format json`; its shape is in
    /// `docs/triage.md`), compared with `baseline` when given.
    pub fn to_json(&self, baseline: Option<&Triage>, passed: bool) -> Value {
        let t = &self.triage;
        let mut counts = serde_json::Map::new();
        for (s, n) in t.counts() {
            counts.insert(s.to_owned(), json!(n));
        }
        let cmp = baseline.map(|b| t.compare(b));
        let ids =
            |v: &[usize]| -> Vec<&str> { v.iter().map(|&k| t.tests[k].id.as_str()).collect() };
        let clusters: Vec<Value> = t
            .clusters()
            .iter()
            .map(|(k, c)| {
                let mut v = json!({
                    "signature": c.signature.to_string(),
                    "exception": c.signature.exception,
                    "frame": c.signature.frame.as_ref().map(|(file, func)| json!({"file": file, "function": func})),
                    "message": c.signature.message,
                    "example": c.example,
                    "tests": ids(&c.tests),
                });
                if let Some(cmp) = &cmp {
                    v["known"] = json!(cmp.known_clusters[*k]);
                }
                v
            })
            .collect();
        let flaky: Vec<Value> = t
            .flaky()
            .map(|h| json!({"id": h.id, "attempts": h.attempts.iter().map(|s| s.as_str()).collect::<Vec<_>>()}))
            .collect();
        let failures: Vec<Value> = self
            .failures()
            .iter()
            .map(|f| json!({"id": f.name, "status": f.status.as_str(), "worker": f.worker, "message": f.last_line}))
            .collect();
        let mut out = json!({
            "tests": t.tests.len(),
            "attempts": self.records,
            "passed": passed,
            "counts": counts,
            "listed_not_run": self.listed_not_run,
            "failures": failures,
            "clusters": clusters,
            "flaky": flaky,
            "slowest": self.slowest.iter().map(|(d, n)| json!({"id": n, "seconds": d})).collect::<Vec<_>>(),
        });
        if let Some(c) = cmp {
            let mut changes = c.duration_change_us.clone();
            changes.sort_by_key(|(k, d)| (std::cmp::Reverse(d.abs()), *k));
            out["baseline"] = json!({
                "new_failures": ids(&c.new_failures),
                "fixed": ids(&c.fixed),
                "still_failing": ids(&c.still_failing),
                "new_tests": ids(&c.new_tests),
                "removed_tests": c.removed_tests,
                "duration_changes": changes.iter().take(20).map(|(k, d)| json!({"id": t.tests[*k].id, "seconds": *d as f64 / 1e6})).collect::<Vec<_>>(),
            });
        }
        out
    }

    /// The comparison with a baseline, as text lines (after the summary).
    pub fn render_baseline(&self, baseline: &Triage) -> String {
        let t = &self.triage;
        let c = t.compare(baseline);
        let mut w = String::new();
        let mut section = |title: &str, list: &[usize]| {
            if list.is_empty() {
                return;
            }
            w.push_str(&format!("\n{title} ({}):\n", list.len()));
            for &k in list {
                w.push_str(&format!("  {}\n", t.tests[k].id));
            }
        };
        section("New failures, against the baseline", &c.new_failures);
        section("Fixed since the baseline", &c.fixed);
        section("Still failing", &c.still_failing);
        w.push_str(&format!(
            "\nAgainst the baseline: {} new failure(s), {} fixed, {} still failing, {} new test(s), {} removed\n",
            c.new_failures.len(),
            c.fixed.len(),
            c.still_failing.len(),
            c.new_tests.len(),
            c.removed_tests.len()
        ));
        w
    }
}
