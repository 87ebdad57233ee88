//! The `resultpipe` binary: `summary` and `stackviz` as a user runs them.

use crate::support::{testdata, text};
use std::process::{Command, Output};

fn resultpipe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_resultpipe"))
        .args(args)
        .env("CI", "true")
        .output()
        .unwrap()
}

#[test]
fn summary_of_a_failing_run_lists_failures_and_exits_1() {
    let input = testdata("stackviz/own_stestr_2workers/input/testrepository.subunit");
    let o = resultpipe(&["summary", input.to_str().unwrap()]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}{}", text(&o.stderr));
    assert!(
        out.starts_with(
            "21 tests (22 attempts): 9 success, 1 uxsuccess, 3 skip, 7 fail, 1 xfail\n"
        ),
        "{out}"
    );
    // the heading counts what it lists
    let listed = out
        .split("\nFailures (9: 1 uxsuccess, 8 fail):\n")
        .nth(1)
        .expect(&out)
        .lines()
        .take_while(|l| !l.is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("    "))
        .count();
    assert_eq!(listed, 9, "{out}");
    // the failure's last traceback line is shown under its name
    let i = out
        .find("svcases.test_basic.PlainTests.test_fail_assert [fail]")
        .expect(&out);
    assert!(
        out[i..]
            .lines()
            .nth(1)
            .unwrap()
            .contains("MismatchError: {'a': 1} != {'a': 2}"),
        "{out}"
    );
    assert!(out.contains("Slowest 10 tests:"), "{out}");
    let slow: Vec<f64> = out
        .split("Slowest 10 tests:\n")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| l.starts_with("  "))
        .map(|l| l.trim().split('s').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(slow.len(), 10);
    assert!(slow.windows(2).all(|w| w[0] >= w[1]), "{slow:?}");
}

#[test]
fn summary_of_a_passing_run_exits_0_and_reads_repositories() {
    let o = resultpipe(&[
        "summary",
        testdata("stackviz/tempest_fixture/input/tempest.subunit")
            .to_str()
            .unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).starts_with("1 tests: 1 success"),
        "{}",
        text(&o.stdout)
    );
    // a directory is a repository: its latest run (run 1 of the fixtures suite: 3 tests)
    let o = resultpipe(&[
        "summary",
        testdata("subunit/real-fixtures-testr/dot-testrepository")
            .to_str()
            .unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).starts_with("3 tests: 3 success\n"),
        "{}",
        text(&o.stdout)
    );
    // a directory without a repository is a clear input error
    let o = resultpipe(&[
        "summary",
        testdata("subunit/real-fixtures-testr").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("no .stestr or .testrepository repository here"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn summary_reports_problems_with_offsets() {
    let o = resultpipe(&[
        "summary",
        testdata("subunit/malformed-packets/stream.subunit")
            .to_str()
            .unwrap(),
    ]);
    let err = text(&o.stderr);
    assert!(
        err.contains("malformed-packets/stream.subunit: offset "),
        "{err}"
    );
    assert!(err.contains("bad checksum"), "{err}");
}

#[test]
fn resultpipe_stackviz_is_the_same_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_resultpipe"))
        .args([
            "stackviz",
            "--layout",
            "current",
            "-f",
            "input/failure.subunit",
        ])
        .arg(&out)
        .current_dir(testdata("stackviz/stestr_failure"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stdout),
        "Exporting Tempest provider: Subunit File: failure.subunit (1)\n"
    );
    for f in [
        "config.json",
        "failure.subunit-0-raw.json",
        "failure.subunit-0-details.json",
        "failure.subunit-0-stats.json",
    ] {
        let want = std::fs::read(testdata("stackviz/stestr_failure/expected").join(f)).unwrap();
        assert_eq!(std::fs::read(out.join(f)).unwrap(), want, "{f}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let o = resultpipe(&["summary"]);
    assert_eq!(o.status.code(), Some(2));
    let o = Command::new(env!("CARGO_BIN_EXE_stackviz-export"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("<PATH>"), "{}", text(&o.stderr));
    let o = resultpipe(&["summary", "/nonexistent/file.subunit"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        text(&o.stderr),
        "error: cannot read /nonexistent/file.subunit\ncaused by: No such file or directory (os error 2)\n"
    );
}

fn events(o: &Output) -> Vec<serde_json::Value> {
    text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn count(ev: &[serde_json::Value], kind: &str) -> usize {
    ev.iter().filter(|e| e["event"]["type"] == kind).count()
}

#[test]
fn splunk_dry_run_tells_a_test_runs_lifecycle() {
    let input = testdata("stackviz/own_stestr_2workers/input/testrepository.subunit");
    let o = resultpipe(&[
        "splunk",
        "send",
        "--dry-run",
        "--project",
        "proj",
        "--run",
        "r1",
        "--id",
        "me@box",
        "--index",
        "ci",
        input.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let ev = events(&o);
    // 22 tests on 2 workers, 9 of them failing (`summary` says so)
    assert_eq!(count(&ev, "jobStart"), 22);
    assert_eq!(count(&ev, "jobFinish") + count(&ev, "jobFail"), 22);
    assert_eq!(count(&ev, "jobFail"), 9);
    assert_eq!((count(&ev, "newChild"), count(&ev, "endChild")), (2, 2));
    assert_eq!(ev.first().unwrap()["event"]["type"], "start");
    assert_eq!(ev.last().unwrap()["event"]["type"], "stop");
    let times: Vec<f64> = ev.iter().map(|e| e["time"].as_f64().unwrap()).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "events out of time order"
    );
    for e in &ev {
        assert_eq!(e["index"], "ci");
        assert_eq!(e["event"]["run"], "proj_r1");
        assert_eq!(e["event"]["id"], "me@box");
        let kind = e["event"]["type"].as_str().unwrap();
        if kind != "start" && kind != "stop" {
            assert!(
                e["event"]["ChildID"]
                    .as_str()
                    .unwrap()
                    .starts_with("worker-"),
                "{e}"
            );
        }
    }
    let fail = ev
        .iter()
        .find(|e| {
            e["event"]["func"] == "svcases.test_basic.PlainTests.test_fail_assert"
                && e["event"]["type"] == "jobFail"
        })
        .unwrap();
    assert_eq!(
        fail["event"]["error"],
        "testtools.matchers._impl.MismatchError: {'a': 1} != {'a': 2}"
    );
    assert!(
        fail["event"]["traceback"]
            .as_str()
            .unwrap()
            .starts_with("Traceback (most recent call last):")
    );
    assert!(fail["event"]["timetaken"].as_f64().unwrap() > 0.0);
}

#[test]
fn splunk_dry_run_of_oct_results_has_one_job_event_per_transaction() {
    let input = testdata("oct/live-2turrets-errors-timers/results.sqlite");
    let o = resultpipe(&["splunk", "send", "--dry-run", input.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let ev = events(&o);
    // 199 transactions, 28 with an error (OCT's own report says so)
    assert_eq!(count(&ev, "jobFinish") + count(&ev, "jobFail"), 199);
    assert_eq!(count(&ev, "jobFail"), 28);
    let first_job = ev
        .iter()
        .find(|e| e["event"]["func"] == "transaction")
        .unwrap();
    assert_eq!(first_job["event"]["ChildID"], "Noname");
    assert!(first_job["event"]["timers"].is_object());
    assert!(first_job["event"]["timetaken"].as_f64().unwrap() > 0.0);
    // OCT names a results directory after its run: that is the run's default name
    assert!(
        ev.iter()
            .all(|e| e["event"]["run"] == "live-2turrets-errors-timers"),
        "{:?}",
        ev[0]
    );
    // also from within it, and through gzip
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("results_2026.11.30_10.00.00");
    std::fs::create_dir(&run_dir).unwrap();
    std::fs::write(
        run_dir.join("results.sqlite"),
        crate::support::gzip(&std::fs::read(&input).unwrap()),
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_resultpipe"))
        .args(["splunk", "send", "--dry-run", "results.sqlite"])
        .current_dir(&run_dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(events(&o)[0]["event"]["run"], "results_2026.11.30_10.00.00");
}

#[test]
fn splunk_without_a_url_is_switched_off_not_an_error() {
    let input = testdata("stackviz/own_stestr_2workers/input/testrepository.subunit");
    let o = Command::new(env!("CARGO_BIN_EXE_resultpipe"))
        .args(["splunk", "send", input.to_str().unwrap()])
        .env_remove("SPLUNK_HEC_URL")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty());
    assert!(
        text(&o.stderr).contains("reporting is switched off"),
        "{}",
        text(&o.stderr)
    );
}
