//! What a person asks of a red run, answered from its records alone: each test's
//! attempts and outcome (a failed attempt followed by a passed one is **flaky**, not a
//! failure), the failures grouped in clusters by [`Signature`], and, given an earlier
//! run of the same suite, what is new, fixed, still failing, added and removed.
//!
//! Tests are keyed by their cleaned name (`[id-…]` attributes dropped), as everywhere
//! else in the project. See `docs/triage.md`.

use std::collections::HashMap;

use super::signature::{Signature, signature};
use super::{Status, TestRecord, test_name};

/// What a test came to in the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Its last attempt failed, succeeded unexpectedly or never finished.
    Failed,
    /// A failed attempt, then a passed one.
    Flaky,
    /// Its last attempt passed (and none failed before).
    Passed,
    /// Skipped, an expected failure, or only listed.
    Other,
}

/// One test: its attempts in the order they were read.
#[derive(Debug, Clone)]
pub struct TestHistory {
    /// The cleaned name.
    pub id: String,
    /// Every attempt's status.
    pub attempts: Vec<Status>,
    /// The signature of every attempt that failed (`fail`), by attempt.
    pub signatures: Vec<Option<usize>>,
    /// The last attempt's duration (µs), when it had both times.
    pub duration_us: Option<i64>,
}

impl TestHistory {
    /// The last attempt's status.
    pub fn status(&self) -> Status {
        *self.attempts.last().unwrap_or(&Status::Unknown)
    }

    /// What it came to; see [`Outcome`].
    pub fn outcome(&self) -> Outcome {
        let last = self.status();
        if last.is_failure() {
            return Outcome::Failed;
        }
        let failed_then_passed = self
            .attempts
            .iter()
            .position(|s| s.is_failure())
            .is_some_and(|f| self.attempts[f + 1..].contains(&Status::Success));
        match last {
            _ if failed_then_passed => Outcome::Flaky,
            Status::Success => Outcome::Passed,
            _ => Outcome::Other,
        }
    }
}

/// Failures with the same signature.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// The signature.
    pub signature: Signature,
    /// The tests with an attempt that failed with it, in the order they failed.
    pub tests: Vec<usize>,
    /// One failure's message as written (its exception line).
    pub example: String,
}

/// A run's triage; see the module's documentation.
#[derive(Debug, Clone, Default)]
pub struct Triage {
    /// Every test, in the order first seen.
    pub tests: Vec<TestHistory>,
    index: HashMap<String, usize>,
    /// The clusters, in the order first seen (see [`Triage::clusters`] for the order
    /// to show them in).
    clusters: Vec<Cluster>,
    by_signature: HashMap<Signature, usize>,
}

/// The text a failure's signature is taken from: its traceback, else its first text
/// attachment (a `reason`, a message), else nothing.
fn failure_text(r: &TestRecord) -> String {
    if let Some(tb) = r.traceback() {
        return tb.text();
    }
    r.attachments
        .iter()
        .find(|a| {
            super::text::parse_mime(a.mime.as_deref().unwrap_or("text/plain")).0
                && !a.data.is_empty()
        })
        .map(|a| a.text())
        .unwrap_or_default()
}

impl Triage {
    /// Adds a record: an attempt of its test.
    pub fn add(&mut self, r: &TestRecord) {
        let id = test_name(&r.id);
        let t = match self.index.get(id.as_ref()) {
            Some(&t) => t,
            None => {
                let t = self.tests.len();
                self.tests.push(TestHistory {
                    id: id.clone().into_owned(),
                    attempts: Vec::new(),
                    signatures: Vec::new(),
                    duration_us: None,
                });
                self.index.insert(id.into_owned(), t);
                t
            }
        };
        let cluster = (r.status == Status::Fail).then(|| {
            let text = failure_text(r);
            let sig = signature(&text);
            match self.by_signature.get(&sig) {
                Some(&c) => {
                    if self.clusters[c].tests.last() != Some(&t)
                        && !self.clusters[c].tests.contains(&t)
                    {
                        self.clusters[c].tests.push(t);
                    }
                    c
                }
                None => {
                    let c = self.clusters.len();
                    self.clusters.push(Cluster {
                        signature: sig.clone(),
                        tests: vec![t],
                        example: super::text::exception_line(&text).to_owned(),
                    });
                    self.by_signature.insert(sig, c);
                    c
                }
            }
        });
        let h = &mut self.tests[t];
        h.attempts.push(r.status);
        h.signatures.push(cluster);
        h.duration_us = r.duration_micros();
    }

    /// The test named `id` (cleaned), if the run has it.
    pub fn test(&self, id: &str) -> Option<&TestHistory> {
        self.index.get(id).map(|&t| &self.tests[t])
    }

    /// Tests per final status, the flaky ones apart (their final status is a pass).
    pub fn counts(&self) -> Vec<(&'static str, u64)> {
        let mut counts: Vec<(&'static str, u64)> =
            Status::ALL.iter().map(|s| (s.as_str(), 0)).collect();
        let mut flaky = 0;
        for t in &self.tests {
            if t.outcome() == Outcome::Flaky {
                flaky += 1;
            } else if let Some(c) = counts.iter_mut().find(|(n, _)| *n == t.status().as_str()) {
                c.1 += 1;
            }
        }
        counts.retain(|(_, n)| *n > 0);
        counts.push(("flaky", flaky));
        counts
    }

    /// Whether the run failed: a test failed in the end (flaky tests do not count).
    pub fn failed(&self) -> bool {
        self.tests.iter().any(|t| t.outcome() == Outcome::Failed)
    }

    /// The flaky tests.
    pub fn flaky(&self) -> impl Iterator<Item = &TestHistory> {
        self.tests.iter().filter(|t| t.outcome() == Outcome::Flaky)
    }

    /// The clusters, largest first (ties: the one seen first); their ids are their
    /// positions in [`Triage::all_clusters`].
    pub fn clusters(&self) -> Vec<(usize, &Cluster)> {
        let mut c: Vec<(usize, &Cluster)> = self.clusters.iter().enumerate().collect();
        c.sort_by(|a, b| b.1.tests.len().cmp(&a.1.tests.len()).then(a.0.cmp(&b.0)));
        c
    }

    /// Every cluster, in the order first seen.
    pub fn all_clusters(&self) -> &[Cluster] {
        &self.clusters
    }

    /// Whether a cluster with `signature` is in this run.
    pub fn has_signature(&self, signature: &Signature) -> bool {
        self.by_signature.contains_key(signature)
    }

    /// This run against an earlier one of the same suite.
    pub fn compare(&self, baseline: &Triage) -> Comparison {
        let failing = |t: &TestHistory| t.outcome() == Outcome::Failed;
        let mut c = Comparison::default();
        for (k, t) in self.tests.iter().enumerate() {
            match baseline.test(&t.id) {
                None => {
                    c.new_tests.push(k);
                    if failing(t) {
                        c.new_failures.push(k);
                    }
                }
                Some(b) => {
                    match (failing(b), failing(t)) {
                        (false, true) => c.new_failures.push(k),
                        (true, true) => c.still_failing.push(k),
                        (true, false)
                            if matches!(t.outcome(), Outcome::Passed | Outcome::Flaky) =>
                        {
                            c.fixed.push(k)
                        }
                        _ => {}
                    }
                    if let (Some(now), Some(then)) = (t.duration_us, b.duration_us) {
                        c.duration_change_us.push((k, now - then));
                    }
                }
            }
        }
        for b in &baseline.tests {
            if self.test(&b.id).is_none() {
                c.removed_tests.push(b.id.clone());
            }
        }
        c.known_clusters = self
            .clusters
            .iter()
            .map(|cl| baseline.has_signature(&cl.signature))
            .collect();
        c
    }
}

/// A run against its baseline. Tests are positions in the run's [`Triage::tests`].
#[derive(Debug, Clone, Default)]
pub struct Comparison {
    /// Failing now, passed (or absent) in the baseline.
    pub new_failures: Vec<usize>,
    /// Failed in the baseline, pass now.
    pub fixed: Vec<usize>,
    /// Failing in both.
    pub still_failing: Vec<usize>,
    /// Not in the baseline.
    pub new_tests: Vec<usize>,
    /// In the baseline only (cleaned names).
    pub removed_tests: Vec<String>,
    /// Per test in both with times in both: now minus then (µs).
    pub duration_change_us: Vec<(usize, i64)>,
    /// Per cluster (in the order first seen): whether the baseline had it.
    pub known_clusters: Vec<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Attachment;

    fn record(id: &str, status: Status, tb: &str) -> TestRecord {
        TestRecord {
            id: id.to_owned(),
            route_code: None,
            status,
            start: None,
            stop: None,
            tags: Vec::new(),
            attachments: if tb.is_empty() {
                Vec::new()
            } else {
                vec![Attachment {
                    name: "traceback".into(),
                    mime: Some("text/x-traceback; charset=utf8".into()),
                    data: tb.as_bytes().to_vec(),
                    complete: true,
                }]
            },
            runnable: true,
        }
    }

    #[test]
    fn flaky_failed_and_clusters() {
        let mut t = Triage::default();
        let tb = |n: u32| {
            format!(
                "Traceback (most recent call last):\n  File \"/src/p/w.py\", line {n}, in wait\n    x\np.Timeout: timed out after {n} s\n"
            )
        };
        t.add(&record("p.T.a[id-1]", Status::Fail, &tb(3)));
        t.add(&record("p.T.b", Status::Fail, &tb(40)));
        t.add(&record("p.T.c", Status::Success, ""));
        t.add(&record("p.T.d", Status::Fail, "p.Conflict: port in use\n"));
        t.add(&record("p.T.a[id-1]", Status::Success, ""));
        assert_eq!(t.tests.len(), 4);
        assert_eq!(t.test("p.T.a").unwrap().outcome(), Outcome::Flaky);
        assert_eq!(t.test("p.T.b").unwrap().outcome(), Outcome::Failed);
        assert_eq!(t.counts(), vec![("success", 1), ("fail", 2), ("flaky", 1)]);
        let c = t.clusters();
        assert_eq!(c.len(), 2);
        assert_eq!(
            c[0].1.tests,
            vec![0, 1],
            "a flaky test's failure is in its cluster"
        );
        assert_eq!(c[0].1.signature.message, "timed out after <n> s");
        assert!(t.failed());

        let mut base = Triage::default();
        base.add(&record("p.T.a", Status::Success, ""));
        base.add(&record("p.T.c", Status::Fail, "p.Conflict: port in use\n"));
        base.add(&record("p.T.e", Status::Success, ""));
        let cmp = t.compare(&base);
        assert_eq!(cmp.new_failures, vec![1, 3]);
        assert_eq!(cmp.fixed, vec![2]);
        assert_eq!(cmp.still_failing, Vec::<usize>::new());
        assert_eq!(cmp.new_tests, vec![1, 3]);
        assert_eq!(cmp.removed_tests, vec!["p.T.e".to_owned()]);
        assert_eq!(cmp.known_clusters, vec![false, true]);
    }
}
