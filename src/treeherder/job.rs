//! Pulse-job documents from runs: a run's summary (counts, time span, first failures)
//! plus the CI's settings give one job per run, shaped for the chosen schema version.

use serde_json::{Map, Value, json};

use crate::model::time::rfc3339;
use crate::model::triage::{Outcome, Triage};
use crate::model::{Status, TestRecord, Timestamp, test_name};
use crate::treeherder::schema::SchemaVersion;

/// The jobs in a text: one JSON object, a JSON array of objects, or JSON lines. A line
/// that is not JSON is returned as an error in its place.
pub fn parse_jobs(text: &str) -> Vec<Result<Value, String>> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => items.into_iter().map(Ok).collect(),
        Ok(v) => vec![Ok(v)],
        Err(_) => text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str::<Value>(l).map_err(|e| format!("not JSON: {e}")))
            .collect(),
    }
}

/// How many failures a job's summary names.
const SUMMARY_FAILURES: usize = 5;

/// What a job needs to know about a run.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    /// Passed (success, xfail).
    pub passed: u64,
    /// Failed (fail, uxsuccess, never finished).
    pub failed: u64,
    /// Skipped.
    pub skipped: u64,
    /// Anything else.
    pub other: u64,
    /// The run's first start.
    pub start: Option<Timestamp>,
    /// The run's last stop.
    pub stop: Option<Timestamp>,
    /// (test name, last line of its traceback) of the first failed attempts.
    pub first_failures: Vec<(String, String)>,
    /// Tests the input listed (`exists`) that no result followed.
    pub listed_not_run: u64,
    /// Bytes of the input that were not test results (when no test ran, they are
    /// what the summary points at: a discovery failure's traceback, say).
    pub other_bytes: u64,
    /// Why the input could not be read, when it could not.
    pub unreadable: Option<String>,
    /// Every test's attempts: a test that failed and then passed is flaky, not failed.
    pub triage: Triage,
}

impl RunSummary {
    /// Counts one record.
    pub fn add(&mut self, r: &TestRecord) {
        self.triage.add(r);
        match r.status {
            Status::Success | Status::XFail => self.passed += 1,
            Status::Fail | Status::UxSuccess | Status::InProgress | Status::Unknown => {
                self.failed += 1;
                // more than are shown: a failure that later passed (flaky) is left out
                if self.first_failures.len() < SUMMARY_FAILURES * 10 {
                    let last = r
                        .last_traceback_line()
                        .unwrap_or_else(|| r.status.as_str().to_owned());
                    self.first_failures
                        .push((test_name(&r.id).into_owned(), last));
                }
            }
            Status::Skip => self.skipped += 1,
            Status::Exists => self.other += 1,
        }
        for t in [r.start, r.stop].into_iter().flatten() {
            self.start = Some(self.start.map_or(t, |s| s.min(t)));
            self.stop = Some(self.stop.map_or(t, |s| s.max(t)));
        }
    }

    /// Tests with a result.
    pub fn total(&self) -> u64 {
        self.passed + self.failed + self.skipped + self.other
    }

    /// Tests (passed, failed, skipped, flaky): by each test's outcome when the records
    /// were added one by one, else the counts as set.
    pub fn tests(&self) -> (u64, u64, u64, u64) {
        if self.triage.tests.is_empty() {
            return (self.passed, self.failed, self.skipped, 0);
        }
        let (mut p, mut f, mut s, mut k) = (0, 0, 0, 0);
        for t in &self.triage.tests {
            match (t.outcome(), t.status()) {
                (Outcome::Flaky, _) => k += 1,
                (Outcome::Failed, _) => f += 1,
                (_, Status::Success | Status::XFail) => p += 1,
                (_, Status::Skip) => s += 1,
                _ => {}
            }
        }
        (p, f, s, k)
    }

    /// Treeherder's result for the run: `exception` when the input could not be read,
    /// `fail` when a test failed, never finished or was listed and not run in the end
    /// (a flaky test, failed then passed, is not a failure), or when no test ran (unless
    /// `allow_empty`), `success` otherwise.
    pub fn result(&self, allow_empty: bool) -> &'static str {
        if self.unreadable.is_some() {
            "exception"
        } else if self.tests().1 > 0
            || self.listed_not_run > 0
            || (self.total() == 0 && !allow_empty)
        {
            "fail"
        } else {
            "success"
        }
    }

    /// The human summary for `jobInfo.summary`.
    pub fn text(&self) -> String {
        if let Some(why) = &self.unreadable {
            return format!("the results could not be read: {why}");
        }
        let (passed, failed, skipped, flaky) = self.tests();
        let mut s = if self.total() == 0 {
            let mut s = "no tests ran".to_owned();
            if self.other_bytes > 0 {
                s.push_str(&format!(
                    " (the input holds {} bytes that are not test results; see the log)",
                    self.other_bytes
                ));
            }
            s
        } else {
            format!("passed {passed}, failed {failed}, skipped {skipped}")
        };
        if flaky > 0 {
            s.push_str(&format!(", flaky {flaky} (failed, then passed on a rerun)"));
        }
        if self.listed_not_run > 0 {
            s.push_str(&format!(", {} listed but not run", self.listed_not_run));
        }
        let still_failed = |name: &str| {
            self.triage
                .test(name)
                .is_none_or(|t| t.outcome() == Outcome::Failed)
        };
        let listed: Vec<&(String, String)> = self
            .first_failures
            .iter()
            .filter(|(n, _)| still_failed(n))
            .take(SUMMARY_FAILURES)
            .collect();
        for (name, line) in &listed {
            s.push_str(&format!("\nFAIL {name}: {line}"));
        }
        if failed as usize > listed.len() {
            s.push_str(&format!(
                "\n... and {} more failures",
                failed as usize - listed.len()
            ));
        }
        for t in self.triage.flaky().take(SUMMARY_FAILURES) {
            let attempts: Vec<&str> = t.attempts.iter().map(|a| a.as_str()).collect();
            s.push_str(&format!("\nFLAKY {}: {}", t.id, attempts.join(", ")));
        }
        if flaky as usize > SUMMARY_FAILURES {
            s.push_str(&format!(
                "\n... and {} more flaky tests",
                flaky as usize - SUMMARY_FAILURES
            ));
        }
        s
    }
}

/// A machine (`buildMachine` / `runMachine`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Machine {
    /// The platform (`linux64`).
    pub platform: String,
    /// The operating system (`linux`).
    pub os: String,
    /// The architecture (`x86_64`).
    pub architecture: String,
    /// The machine's name.
    pub name: Option<String>,
}

/// The settings of a job, validated and defaulted (everything but the run).
#[derive(Debug, Clone, Default)]
pub struct JobSpec {
    /// The Treeherder project (repository name).
    pub project: String,
    /// The push's revision (40 hex digits).
    pub revision: String,
    /// The push's id (pushlog id or pull request number).
    pub push_id: Option<u64>,
    /// `hg.mozilla.org` or `github.com` (2016/2025 schemas).
    pub origin_kind: String,
    /// The GitHub owner (github origins, 2016/2025 schemas).
    pub github_owner: Option<String>,
    /// The task id (default: a stable one from the push, the job and the input).
    pub task_id: Option<String>,
    /// Which try of the task this is.
    pub retry_id: u64,
    /// The build system's name.
    pub build_system: String,
    /// The job's name.
    pub job_name: String,
    /// The job's symbol.
    pub job_symbol: String,
    /// The group's name.
    pub group_name: Option<String>,
    /// The group's symbol (`?`: no group).
    pub group_symbol: String,
    /// The tier (1 to 3).
    pub tier: Option<u8>,
    /// `build`, `test` or `other`.
    pub job_kind: String,
    /// `unscheduled`, `pending`, `running` or `completed`.
    pub state: String,
    /// The result, overriding the run's.
    pub result: Option<String>,
    /// Why the job ran.
    pub reason: Option<String>,
    /// Who the job belongs to.
    pub owner: Option<String>,
    /// The product's name.
    pub product: Option<String>,
    /// Labels (the option collection: `opt`, `debug`, ...).
    pub labels: Vec<String>,
    /// The machine that built what was tested.
    pub build_machine: Option<Machine>,
    /// The machine that ran the tests.
    pub run_machine: Option<Machine>,
    /// (name, url)
    pub logs: Vec<(String, String)>,
    /// (label, link text, url)
    pub links: Vec<(String, String, String)>,
    /// A run without tests is a success rather than a failure.
    pub allow_empty: bool,
}

/// Makes `s` a valid taskId: only `[A-Za-z0-9/+-]`, at most 50 characters.
pub fn sanitize_task_id(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '/' | '+' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    out.truncate(50);
    if out.is_empty() { "job".into() } else { out }
}

/// Makes `s` match `^[\w-]+$` (machine names, labels): other characters become `-`.
pub fn sanitize_word(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if let Some((i, _)) = out.char_indices().nth(max) {
        out.truncate(i);
    }
    out
}

/// FNV-1a, 64 bits: a stable hash (the same in every build), for default task ids.
fn fnv1a(seed: u64, data: &[u8]) -> u64 {
    data.iter().fold(seed, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// A task id that is the same for the same job of the same push (so pending → running →
/// completed updates and retries of a publish refer to one job) and valid by
/// construction: `rp-` and 32 hex digits.
pub fn default_task_id(spec: &JobSpec, input: &str) -> String {
    let key = format!(
        "{}\0{}\0{}\0{}\0{}\0{}\0{}",
        spec.project,
        spec.revision,
        spec.group_symbol,
        spec.job_symbol,
        spec.job_name,
        spec.run_machine
            .as_ref()
            .or(spec.build_machine.as_ref())
            .map_or("", |m| m.platform.as_str()),
        input
    );
    let a = fnv1a(0xcbf2_9ce4_8422_2325, key.as_bytes());
    let b = fnv1a(0x8422_2325_cbf2_9ce4, key.as_bytes());
    format!("rp-{a:016x}{b:016x}")
}

fn machine(m: &Machine) -> Value {
    let mut o = Map::new();
    o.insert("platform".into(), json!(m.platform));
    o.insert("os".into(), json!(m.os));
    o.insert("architecture".into(), json!(m.architecture));
    if let Some(n) = &m.name {
        o.insert("name".into(), json!(n));
    }
    Value::Object(o)
}

/// The pulse-job document for one run.
pub fn pulse_job(spec: &JobSpec, run: &RunSummary, input: &str, version: SchemaVersion) -> Value {
    let mut origin = Map::new();
    if version.origin_has_kind() {
        origin.insert("kind".into(), json!(spec.origin_kind));
        if spec.origin_kind == "github.com"
            && let Some(owner) = &spec.github_owner
        {
            origin.insert("owner".into(), json!(owner));
        }
    }
    origin.insert("project".into(), json!(spec.project));
    origin.insert("revision".into(), json!(spec.revision));
    if let Some(id) = spec.push_id {
        let key = match (version.origin_has_kind(), spec.origin_kind.as_str()) {
            (false, _) => "id",
            (true, "github.com") => "pullRequestID",
            (true, _) => "pushLogID",
        };
        origin.insert(key.into(), json!(id));
    }
    let mut display = Map::new();
    display.insert("jobName".into(), json!(spec.job_name));
    display.insert("jobSymbol".into(), json!(spec.job_symbol));
    display.insert("groupSymbol".into(), json!(spec.group_symbol));
    if let Some(g) = &spec.group_name {
        display.insert("groupName".into(), json!(g));
    }
    let mut job = Map::new();
    let task_id = spec
        .task_id
        .clone()
        .unwrap_or_else(|| default_task_id(spec, input));
    job.insert("taskId".into(), json!(task_id));
    job.insert("retryId".into(), json!(spec.retry_id));
    job.insert("origin".into(), Value::Object(origin));
    job.insert("buildSystem".into(), json!(spec.build_system));
    job.insert("display".into(), Value::Object(display));
    job.insert("state".into(), json!(spec.state));
    if spec.state == "completed" {
        job.insert(
            "result".into(),
            json!(
                spec.result
                    .as_deref()
                    .unwrap_or(run.result(spec.allow_empty))
            ),
        );
    }
    job.insert("jobKind".into(), json!(spec.job_kind));
    if let Some(t) = spec.tier {
        job.insert("tier".into(), json!(t));
    }
    match (&spec.build_machine, &spec.run_machine) {
        (Some(b), Some(r)) => {
            job.insert("buildMachine".into(), machine(b));
            job.insert("runMachine".into(), machine(r));
        }
        (Some(m), None) => {
            job.insert("buildMachine".into(), machine(m));
        }
        (None, Some(m)) => {
            job.insert("runMachine".into(), machine(m));
        }
        (None, None) => {}
    }
    for (k, v) in [
        ("reason", &spec.reason),
        ("owner", &spec.owner),
        ("productName", &spec.product),
    ] {
        if let Some(v) = v {
            job.insert(k.into(), json!(v));
        }
    }
    job.insert("labels".into(), json!(spec.labels));
    if let Some(s) = run.start {
        job.insert("timeScheduled".into(), json!(rfc3339(s)));
        job.insert("timeStarted".into(), json!(rfc3339(s)));
    }
    if let (Some(e), "completed") = (run.stop, spec.state.as_str()) {
        job.insert("timeCompleted".into(), json!(rfc3339(e)));
    }
    if !spec.logs.is_empty() {
        let logs: Vec<Value> = spec
            .logs
            .iter()
            .map(|(n, u)| json!({"name": n, "url": u}))
            .collect();
        job.insert("logs".into(), Value::Array(logs));
    }
    let mut info = Map::new();
    info.insert("summary".into(), json!(run.text()));
    if !spec.links.is_empty() {
        let links: Vec<Value> = spec
            .links
            .iter()
            .map(|(l, t, u)| json!({"label": l, "linkText": t, "url": u}))
            .collect();
        info.insert("links".into(), Value::Array(links));
    }
    job.insert("jobInfo".into(), Value::Object(info));
    job.insert("version".into(), json!(1));
    Value::Object(job)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::treeherder::schema::JobSchema;

    fn spec() -> JobSpec {
        JobSpec {
            project: "mozilla-central".into(),
            revision: "9c6e4c31ad26efdad0b9af47a2b530bc414ce2c3".into(),
            push_id: Some(42),
            origin_kind: "hg.mozilla.org".into(),
            build_system: "resultpipe".into(),
            job_name: "unit tests".into(),
            job_symbol: "T".into(),
            group_symbol: "?".into(),
            job_kind: "test".into(),
            state: "completed".into(),
            run_machine: Some(Machine {
                platform: "linux64".into(),
                os: "linux".into(),
                architecture: "x86_64".into(),
                name: Some(sanitize_word("ci-1.example.org", 50)),
            }),
            logs: vec![(
                "live_backing_log".into(),
                "https://ci.example.org/log.txt".into(),
            )],
            links: vec![(
                "artifact uploaded".into(),
                "report".into(),
                "https://ci.example.org/r.html".into(),
            )],
            ..JobSpec::default()
        }
    }

    fn run(failed: bool) -> RunSummary {
        RunSummary {
            passed: 10,
            failed: u64::from(failed),
            skipped: 2,
            start: Some(Timestamp::new(1_700_000_000, 500_000_000)),
            stop: Some(Timestamp::new(1_700_000_100, 0)),
            first_failures: if failed {
                vec![("a.T.test_x".into(), "AssertionError: 1 != 2".into())]
            } else {
                vec![]
            },
            ..RunSummary::default()
        }
    }

    #[test]
    fn generated_jobs_validate_against_every_schema_version() {
        for v in [
            SchemaVersion::V2016,
            SchemaVersion::V2025,
            SchemaVersion::V2026,
        ] {
            let schema = JobSchema::builtin(v);
            for failed in [false, true] {
                let job = pulse_job(&spec(), &run(failed), "x.subunit", v);
                assert_eq!(schema.violations(&job), vec![], "{v:?}: {job}");
                assert_eq!(job["result"], if failed { "fail" } else { "success" });
            }
        }
        let job = pulse_job(&spec(), &run(true), "x.subunit", SchemaVersion::V2026);
        assert_eq!(
            job["origin"],
            json!({"project": "mozilla-central", "revision": "9c6e4c31ad26efdad0b9af47a2b530bc414ce2c3", "id": 42})
        );
        assert_eq!(job["timeStarted"], "2023-11-14T22:13:20.5Z");
        assert!(
            job["jobInfo"]["summary"]
                .as_str()
                .unwrap()
                .contains("FAIL a.T.test_x: AssertionError: 1 != 2")
        );
        assert_eq!(job["runMachine"]["name"], "ci-1-example-org");
    }

    #[test]
    fn a_run_without_tests_or_with_unrun_tests_is_never_a_success() {
        let empty = RunSummary {
            other_bytes: 932,
            ..RunSummary::default()
        };
        assert_eq!(empty.result(false), "fail");
        assert_eq!(empty.result(true), "success");
        assert!(
            empty
                .text()
                .starts_with("no tests ran (the input holds 932 bytes")
        );
        let unrun = RunSummary {
            listed_not_run: 3,
            ..run(false)
        };
        assert_eq!(unrun.result(true), "fail");
        assert!(
            unrun.text().contains("3 listed but not run"),
            "{}",
            unrun.text()
        );
        let unreadable = RunSummary {
            unreadable: Some("x.subunit: No such file or directory".into()),
            ..RunSummary::default()
        };
        assert_eq!(unreadable.result(false), "exception");
        assert_eq!(
            unreadable.text(),
            "the results could not be read: x.subunit: No such file or directory"
        );
        let job = pulse_job(&spec(), &empty, "x.subunit", SchemaVersion::V2026);
        assert_eq!(job["result"], "fail");
    }

    #[test]
    fn task_ids_are_stable_and_valid() {
        let a = default_task_id(&spec(), "x.subunit");
        assert_eq!(a, default_task_id(&spec(), "x.subunit"));
        assert_ne!(a, default_task_id(&spec(), "y.subunit"));
        assert!(
            a.len() <= 50 && a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "{a}"
        );
        assert_eq!(sanitize_task_id("job_1.2 x"), "job-1-2-x");
        assert_eq!(sanitize_task_id(&"a".repeat(80)).len(), 50);
    }
}
