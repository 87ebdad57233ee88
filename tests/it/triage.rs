//! Triage against the generator's plan: `gen_report_run.py` runs at several seeds, sizes
//! and cause counts (`testdata/report/triage-s*.subunit`, their baselines and `--truth`
//! files): the clusters are exactly the root causes, the flaky tests exactly the planned
//! ones, and the baseline classes exactly as planned. The expected answers come from the
//! truth files, never from our own reading.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::support::testdata;
use resultpipe::ingest::source::{NoProgress, Source, read_source};
use resultpipe::model::clean_test_name;
use resultpipe::model::triage::Triage;

fn triage(path: &Path) -> Triage {
    let mut t = Triage::default();
    read_source(
        &Source::File(path.to_owned()),
        &NoProgress,
        |_, _| (),
        &mut |r, _, ()| t.add(r),
        &mut |_| {},
    )
    .unwrap();
    t
}

/// An attempt as planned: (status, cause).
type Attempt = (String, Option<String>);

struct Planned {
    /// per test (cleaned id): its attempts
    tests: Vec<(String, Vec<Attempt>)>,
    baseline: BTreeMap<String, Vec<String>>,
}

fn planned(seed: u32) -> Planned {
    let v: Value = serde_json::from_slice(
        &std::fs::read(testdata(&format!("report/triage-s{seed}-truth.json"))).unwrap(),
    )
    .unwrap();
    let attempts = |a: &Value| -> Vec<Attempt> {
        a.as_array()
            .unwrap()
            .iter()
            .map(|x| {
                (
                    x["status"].as_str().unwrap().to_owned(),
                    x["cause"].as_str().map(str::to_owned),
                )
            })
            .collect()
    };
    let mut tests = Vec::new();
    let mut baseline = BTreeMap::new();
    for t in v["tests"].as_array().unwrap() {
        let id = clean_test_name(t["id"].as_str().unwrap()).into_owned();
        if let Some(b) = t.get("baseline").filter(|b| b.is_array()) {
            baseline.insert(
                id.clone(),
                attempts(b).into_iter().map(|(s, _)| s).collect(),
            );
        }
        tests.push((id, attempts(&t["attempts"])));
    }
    Planned { tests, baseline }
}

fn failing(statuses: &[String]) -> bool {
    matches!(
        statuses.last().map(String::as_str),
        Some("fail" | "uxsuccess")
    )
}

#[test]
fn clusters_flaky_and_baseline_are_as_the_generator_planned() {
    for seed in 1..=4 {
        let plan = planned(seed);
        let run = triage(&testdata(&format!("report/triage-s{seed}.subunit")));
        let base = triage(&testdata(&format!(
            "report/triage-s{seed}-baseline.subunit"
        )));

        // clusters: one per cause, each exactly the tests that failed from it
        let mut causes: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (id, attempts) in &plan.tests {
            for (_, cause) in attempts {
                if let Some(c) = cause {
                    causes.entry(c).or_default().insert(id);
                }
            }
        }
        let want: BTreeSet<BTreeSet<&str>> = causes.values().cloned().collect();
        let got: BTreeSet<BTreeSet<&str>> = run
            .clusters()
            .iter()
            .map(|(_, c)| c.tests.iter().map(|&t| run.tests[t].id.as_str()).collect())
            .collect();
        assert_eq!(
            run.clusters().len(),
            causes.len(),
            "seed {seed}: {} causes",
            causes.len()
        );
        assert_eq!(got, want, "seed {seed}");
        // and each cluster's signature names the cause's exception and function
        for (_, c) in run.clusters() {
            let first = run.tests[c.tests[0]].id.as_str();
            let cause = causes.iter().find(|(_, ts)| ts.contains(first)).unwrap().0;
            let (exc, func) = cause.split_once(" in ").unwrap();
            assert_eq!(c.signature.exception, exc, "seed {seed}");
            assert_eq!(c.signature.frame.as_ref().unwrap().1, func, "seed {seed}");
        }

        // flaky: a failed attempt, then a passed one
        let want_flaky: BTreeSet<&str> = plan
            .tests
            .iter()
            .filter(|(_, a)| {
                a.len() > 1
                    && a.last().unwrap().0 == "success"
                    && a.iter().any(|(s, _)| s == "fail")
            })
            .map(|(id, _)| id.as_str())
            .collect();
        let got_flaky: BTreeSet<&str> = run.flaky().map(|t| t.id.as_str()).collect();
        assert!(!want_flaky.is_empty(), "seed {seed} plans flaky tests");
        assert_eq!(got_flaky, want_flaky, "seed {seed}");
        for t in run.flaky() {
            let planned: Vec<&str> = plan
                .tests
                .iter()
                .find(|(id, _)| *id == t.id)
                .unwrap()
                .1
                .iter()
                .map(|(s, _)| s.as_str())
                .collect();
            let got: Vec<&str> = t.attempts.iter().map(|s| s.as_str()).collect();
            assert_eq!(got, planned, "every attempt kept, in order");
        }

        // the baseline comparison
        let cmp = run.compare(&base);
        let ids = |v: &[usize]| -> BTreeSet<&str> {
            v.iter().map(|&t| run.tests[t].id.as_str()).collect()
        };
        let mut new_failures = BTreeSet::new();
        let mut fixed = BTreeSet::new();
        let mut still = BTreeSet::new();
        for (id, attempts) in &plan.tests {
            let now: Vec<String> = attempts.iter().map(|(s, _)| s.clone()).collect();
            let then = plan.baseline.get(id);
            match (then.map(|t| failing(t)), failing(&now)) {
                (None | Some(false), true) => {
                    new_failures.insert(id.as_str());
                }
                (Some(true), true) => {
                    still.insert(id.as_str());
                }
                (Some(true), false) if now.last().unwrap() == "success" => {
                    fixed.insert(id.as_str());
                }
                _ => {}
            }
        }
        assert!(
            !new_failures.is_empty() && !fixed.is_empty(),
            "seed {seed} plans changes"
        );
        assert_eq!(
            ids(&cmp.new_failures),
            new_failures,
            "seed {seed}: new failures"
        );
        assert_eq!(ids(&cmp.fixed), fixed, "seed {seed}: fixed");
        assert_eq!(ids(&cmp.still_failing), still, "seed {seed}: still failing");
        let in_base: BTreeSet<&str> = plan.baseline.keys().map(String::as_str).collect();
        let in_run: BTreeSet<&str> = plan.tests.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(
            ids(&cmp.new_tests),
            &in_run - &in_base,
            "seed {seed}: new tests"
        );
        let removed: BTreeSet<&str> = cmp.removed_tests.iter().map(String::as_str).collect();
        assert_eq!(removed, &in_base - &in_run, "seed {seed}: removed tests");
    }
}

fn summary(args: &[&str]) -> crate::support::Output {
    use crate::support::RunText;
    crate::support::resultpipe().arg("summary").args(args).out()
}

/// A run whose only failure passed on its rerun exits 0 and lists the test as flaky;
/// `--fail-on-flaky` makes it exit 1; JSON says the same.
#[test]
fn summary_flaky_tests_pass_unless_asked_and_json_says_so() {
    use crate::support::subunit::test_run;
    let dir = tempfile::tempdir().unwrap();
    let mut s = Vec::new();
    test_run(&mut s, "pkg.T.test_a", "worker-0", 1_700_000_000, 6, b"Traceback (most recent call last):\n  File \"/src/pkg/t.py\", line 3, in test_a\n    x()\nIOError: flaky disk 42\n");
    test_run(&mut s, "pkg.T.test_b", "worker-1", 1_700_000_000, 3, b"");
    test_run(&mut s, "pkg.T.test_a", "worker-0", 1_700_000_010, 3, b"");
    let f = dir.path().join("flaky.subunit");
    std::fs::write(&f, &s).unwrap();
    let f = f.to_str().unwrap();
    let o = summary(&[f]);
    assert_eq!(o.code, Some(0), "{}", o.stdout);
    assert!(
        o.stdout
            .starts_with("2 tests (3 attempts): 1 success, 1 flaky\n"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains(
            "\nFlaky (1: failed, then passed on a later attempt):\n  pkg.T.test_a [fail, success]\n"
        ),
        "{}",
        o.stdout
    );
    assert!(!o.stdout.contains("Failures"), "{}", o.stdout);
    assert_eq!(summary(&[f, "--fail-on-flaky"]).code, Some(1));

    let o = summary(&[f, "--format", "json"]);
    assert_eq!(o.code, Some(0));
    let v: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["counts"], serde_json::json!({"success": 1, "flaky": 1}));
    assert_eq!(
        v["flaky"],
        serde_json::json!([{"id": "pkg.T.test_a", "attempts": ["fail", "success"]}])
    );
    assert_eq!(
        v["clusters"][0]["tests"],
        serde_json::json!(["pkg.T.test_a"])
    );
    assert_eq!(
        v["clusters"][0]["signature"],
        "IOError in test_a (src/pkg/t.py): flaky disk <n>"
    );
    assert_eq!(v["passed"], true);

    // the same meaning for Treeherder: success, with the flaky test named
    use crate::support::RunText;
    let o = crate::support::resultpipe()
        .args([
            "treeherder",
            "job",
            f,
            "--project",
            "try",
            "--revision",
            "9c6e4c31ad26efdad0b9af47a2b530bc414ce2c3",
        ])
        .out();
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let job: Value = serde_json::from_str(o.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(job["result"], "success");
    assert_eq!(
        job["jobInfo"]["summary"],
        "passed 1, failed 0, skipped 0, flaky 1 (failed, then passed on a rerun)\nFLAKY pkg.T.test_a: fail, success"
    );
}

/// `summary --format json --baseline`: the documented keys, with the baseline as a
/// stream, and a repository's run as DIR@N.
#[test]
fn summary_json_with_a_baseline() {
    let run = testdata("report/triage-s2.subunit");
    let base = testdata("report/triage-s2-baseline.subunit");
    let o = summary(&[
        run.to_str().unwrap(),
        "--format",
        "json",
        "--baseline",
        base.to_str().unwrap(),
    ]);
    assert_eq!(o.code, Some(1), "{}", o.stderr);
    let v: Value = serde_json::from_str(&o.stdout).unwrap();
    let plan = planned(2);
    assert_eq!(v["tests"], plan.tests.len());
    assert_eq!(v["counts"]["flaky"], run_flaky_count(&plan));
    assert_eq!(v["clusters"].as_array().unwrap().len(), 4);
    for key in [
        "new_failures",
        "fixed",
        "still_failing",
        "new_tests",
        "removed_tests",
    ] {
        assert!(v["baseline"][key].is_array(), "{key}");
    }
    let t = triage(&run).compare(&triage(&base));
    assert_eq!(
        v["baseline"]["new_failures"].as_array().unwrap().len(),
        t.new_failures.len()
    );
    assert!(
        v["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["known"].is_boolean())
    );

    // a repository's run by number
    let repo = testdata("subunit/real-markdown-stestr/dot-stestr");
    let at = format!("{}@1", repo.display());
    let o = summary(&[repo.to_str().unwrap(), "--baseline", &at]);
    assert!(
        o.stdout.contains("\nAgainst the baseline: "),
        "{}\n{}",
        o.stdout,
        o.stderr
    );
    let o = summary(&[
        repo.to_str().unwrap(),
        "--baseline",
        &format!("{}@99", repo.display()),
    ]);
    assert_eq!(o.code, Some(2));
    assert!(o.stderr.contains("has no run 99"), "{}", o.stderr);
}

fn run_flaky_count(plan: &Planned) -> usize {
    plan.tests
        .iter()
        .filter(|(_, a)| {
            a.len() > 1 && a.last().unwrap().0 == "success" && a.iter().any(|(s, _)| s == "fail")
        })
        .count()
}
