//! `resultpipe treeherder job` and `treeherder validate` as CI scripts call them.

use crate::support::{testdata, text};
use std::process::Output;

use serde_json::Value;

fn resultpipe(args: &[&str], env: &[(&str, &str)]) -> Output {
    crate::support::resultpipe()
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

const REV: &str = "9c6e4c31ad26efdad0b9af47a2b530bc414ce2c3";

fn jobs(o: &Output) -> Vec<Value> {
    text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn one_valid_job_per_input_with_results_from_the_run() {
    let failing = testdata("stackviz/own_stestr_2workers/input/testrepository.subunit");
    let passing = testdata("stackviz/tempest_fixture/input/tempest.subunit");
    let repo = testdata("subunit/real-fixtures-testr/dot-testrepository");
    let o = resultpipe(
        &[
            "treeherder",
            "job",
            failing.to_str().unwrap(),
            passing.to_str().unwrap(),
            repo.to_str().unwrap(),
            "--project",
            "mozilla-central",
            "--revision",
            REV,
            "--job-symbol",
            "U",
            "--group-symbol",
            "PY",
            "--group-name",
            "Python units",
            "--platform",
            "linux64",
            "--os",
            "linux",
            "--arch",
            "x86_64",
            "--label",
            "opt",
            "--log-url",
            "log=https://ci.example.org/log.txt",
            "--link",
            "report=https://ci.example.org/r.html",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let j = jobs(&o);
    assert_eq!(j.len(), 3);
    assert_eq!(j[0]["result"], "fail");
    assert_eq!(j[1]["result"], "success");
    assert_eq!(j[2]["result"], "success");
    // tests, not records: the setUpClass that failed on both workers is one test
    assert!(
        j[0]["jobInfo"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("passed 10, failed 8, skipped 3")
    );
    assert_eq!(j[1]["timeStarted"], "2018-09-28T02:46:35.6268Z");
    assert_eq!(j[0]["display"]["groupName"], "Python units");
    assert_eq!(j[0]["jobInfo"]["links"][0]["linkText"], "report");
    // distinct, stable task ids
    assert_ne!(j[0]["taskId"], j[1]["taskId"]);
    let again = resultpipe(
        &[
            "treeherder",
            "job",
            passing.to_str().unwrap(),
            "--project",
            "mozilla-central",
            "--revision",
            REV,
            "--job-symbol",
            "U",
            "--group-symbol",
            "PY",
            "--platform",
            "linux64",
            "--os",
            "linux",
            "--arch",
            "x86_64",
        ],
        &[],
    );
    assert_eq!(jobs(&again)[0]["taskId"], j[1]["taskId"]);
    // what we write validates with our own validator too
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jobs.jsonl");
    std::fs::write(&file, &o.stdout).unwrap();
    let v = resultpipe(&["treeherder", "validate", file.to_str().unwrap()], &[]);
    assert_eq!(v.status.code(), Some(0), "{}", text(&v.stdout));
    assert!(text(&v.stdout).ends_with("3 valid, 0 invalid (pulse-job 2026)\n"));
}

#[test]
fn older_schema_versions_get_an_origin_kind() {
    let input = testdata("stackviz/tempest_fixture/input/tempest.subunit");
    for v in ["2016", "2025"] {
        let o = resultpipe(
            &[
                "treeherder",
                "job",
                input.to_str().unwrap(),
                "--schema-version",
                v,
                "--project",
                "try",
                "--revision",
                REV,
                "--push-id",
                "7",
            ],
            &[],
        );
        assert_eq!(o.status.code(), Some(0), "{v}: {}", text(&o.stderr));
        let j = &jobs(&o)[0];
        assert_eq!(j["origin"]["kind"], "hg.mozilla.org");
        assert_eq!(j["origin"]["pushLogID"], 7);
    }
}

#[test]
fn settings_come_from_flags_then_config_then_ci_environment() {
    let input = testdata("stackviz/tempest_fixture/input/tempest.subunit");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("th.json");
    std::fs::write(
        &config,
        r#"{"project": "from-config", "job-name": "config name", "tier": 2, "label": ["debug"]}"#,
    )
    .unwrap();
    let env = [
        ("GITHUB_SHA", REV),
        ("TREEHERDER_PROJECT", "from-env"),
        ("JOB_NAME", "env name"),
    ];
    let o = resultpipe(
        &[
            "treeherder",
            "job",
            input.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--job-name",
            "flag name",
        ],
        &env,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let j = &jobs(&o)[0];
    assert_eq!(j["origin"]["project"], "from-config");
    assert_eq!(j["origin"]["revision"], REV);
    assert_eq!(j["display"]["jobName"], "flag name");
    assert_eq!(j["tier"], 2);
    assert_eq!(j["labels"], serde_json::json!(["debug"]));
}

#[test]
fn invalid_settings_are_caught_before_anything_is_written() {
    let input = testdata("stackviz/tempest_fixture/input/tempest.subunit");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("jobs.jsonl");
    let o = resultpipe(
        &[
            "treeherder",
            "job",
            input.to_str().unwrap(),
            "--project",
            "mozilla-central",
            "--revision",
            "not-a-sha",
            "-o",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("/origin/revision"),
        "{}",
        text(&o.stderr)
    );
    assert!(!out.exists());
}

#[test]
fn unreadable_input_is_an_error_or_on_request_an_exception_job() {
    let args = [
        "treeherder",
        "job",
        "/nonexistent/run.subunit",
        "--project",
        "p",
        "--revision",
        REV,
    ];
    let o = resultpipe(&args, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(o.stdout.is_empty());
    assert!(
        text(&o.stderr).starts_with("error: cannot read /nonexistent/run.subunit"),
        "{}",
        text(&o.stderr)
    );
    let o = resultpipe(&[&args[..], &["--unreadable-as-exception"]].concat(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(jobs(&o)[0]["result"], "exception");
    assert!(
        text(&o.stderr).contains("/nonexistent/run.subunit"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn validate_reports_index_path_and_rule_and_exits_2() {
    // Treeherder's own samples carry the placeholder project "set by test", which the
    // schema's pattern rejects.
    let o = resultpipe(
        &[
            "treeherder",
            "validate",
            testdata("treeherder/samples/pulse-jobs.2026.json")
                .to_str()
                .unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    let out = text(&o.stdout);
    assert!(
        out.contains("pulse-jobs.2026.json: job 0: /origin/project: "),
        "{out}"
    );
    assert!(
        out.ends_with("0 valid, 30 invalid (pulse-job 2026)\n"),
        "{out}"
    );
    let o = resultpipe(
        &[
            "treeherder",
            "validate",
            "--schema-version",
            "2025",
            testdata("treeherder/samples/pulse-jobs.2026.json")
                .to_str()
                .unwrap(),
        ],
        &[],
    );
    assert!(
        text(&o.stdout).contains("job 0: /origin: "),
        "{}",
        text(&o.stdout)
    );
    // JSON lines with a broken line
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("x.jsonl");
    std::fs::write(&f, "{\"taskId\": \"a\"}\n{oops\n").unwrap();
    let o = resultpipe(&["treeherder", "validate", f.to_str().unwrap()], &[]);
    let out = text(&o.stdout);
    assert!(out.contains("job 1: /: not JSON"), "{out}");
    assert!(out.contains("job 0: /: "), "{out}");
    assert_eq!(o.status.code(), Some(2));
}
