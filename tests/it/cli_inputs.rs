//! What every command does with its inputs, as a user coming from the Python tools
//! meets it: gzip read as gzip whatever the name, `exists` enumeration that is not a
//! result, runs without tests that never look green, missing inputs that are errors,
//! and output directories that cannot be written.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::subunit::{Packet, test_run, write};
use crate::support::{RunText, dir_files, gzip, oct_case, resultpipe, stackviz_export, testdata};

const REV: &str = "9c6e4c31ad26efdad0b9af47a2b530bc414ce2c3";
const SAMPLE: &str = "stackviz/own_stestr_2workers/input/testrepository.subunit";
const LISTED: &str = "subunit/real-markdown-stestr/live-run2/stream.subunit";

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `src` gzipped into `dir/name`.
fn gz_copy(src: &Path, dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, gzip(&std::fs::read(src).unwrap())).unwrap();
    p
}

/// Runs `resultpipe ARGS`, which must succeed, and returns its stdout.
fn stdout_of(args: &[&str]) -> String {
    let o = resultpipe().args(args).out();
    assert_eq!(o.code, Some(0), "{args:?}: {}", o.stderr);
    o.stdout
}

fn summary(args: &[&str]) -> crate::support::Output {
    resultpipe().arg("summary").args(args).out()
}

fn job(inputs: &[&str], extra: &[&str]) -> crate::support::Output {
    resultpipe()
        .args(["treeherder", "job"])
        .args(inputs)
        .args(["--project", "p", "--revision", REV])
        .args(extra)
        .out()
}

fn jobs(o: &crate::support::Output) -> Vec<Value> {
    o.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn gzipped_subunit_reads_as_the_plain_stream_in_every_command() {
    let plain = testdata(SAMPLE);
    let tmp = tempfile::tempdir().unwrap();
    // the same basename (exports are named after it), and a misleading one
    std::fs::create_dir(tmp.path().join("gz")).unwrap();
    let gz = gz_copy(&plain, &tmp.path().join("gz"), "testrepository.subunit");
    let named = gz_copy(&plain, tmp.path(), "testrepository.subunit.gz");

    let want = summary(&[s(&plain)]);
    assert_eq!(want.code, Some(1), "{}", want.stderr);
    // 22 records: a setUpClass that failed on both workers is one test, two attempts
    assert!(
        want.stdout.starts_with("21 tests (22 attempts): "),
        "{}",
        want.stdout
    );
    for input in [&gz, &named] {
        let got = summary(&[s(input)]);
        assert_eq!(
            (got.code, &got.stdout),
            (want.code, &want.stdout),
            "{input:?}"
        );
    }
    // stdin, gzipped
    let got = resultpipe()
        .args(["summary", "-"])
        .stdin(std::fs::File::open(&named).unwrap())
        .out();
    assert_eq!((got.code, &got.stdout), (want.code, &want.stdout));

    // stackviz-export: byte for byte the export of the plain file
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for (input, out) in [(&plain, &a), (&gz, &b)] {
        let o = stackviz_export()
            .args(["--layout", "current", "-f", s(input), s(out)])
            .out();
        assert_eq!(o.code, Some(0), "{}", o.stderr);
    }
    assert_eq!(dir_files(&a), dir_files(&b));

    // treeherder job: the same result and summary
    let (p, g) = (job(&[s(&plain)], &[]), job(&[s(&named)], &[]));
    assert_eq!((p.code, g.code), (Some(0), Some(0)), "{}", g.stderr);
    let (p, g) = (&jobs(&p)[0], &jobs(&g)[0]);
    assert_eq!(g["result"], "fail");
    assert_eq!(p["result"], g["result"]);
    assert_eq!(p["jobInfo"]["summary"], g["jobInfo"]["summary"]);
    assert_eq!(p["timeStarted"], g["timeStarted"]);

    // splunk send: the same events
    let events = |input: &Path| {
        stdout_of(&[
            "splunk",
            "send",
            s(input),
            "--dry-run",
            "--run",
            "r",
            "--id",
            "i",
        ])
    };
    assert_eq!(events(&plain), events(&named));
}

#[test]
fn gzipped_oct_results_dstat_logs_and_job_files_read_as_plain_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let db = oct_case("live-2turrets-errors-timers/results.sqlite");
    let gz = gz_copy(&db, tmp.path(), "results.sqlite");
    let csv = |input: &Path, out: &str| {
        let out = tmp.path().join(out);
        stdout_of(&["oct", "results-to-csv", s(input), s(&out)]);
        std::fs::read(out).unwrap()
    };
    assert_eq!(csv(&db, "plain.csv"), csv(&gz, "gz.csv"));
    let report = |input: &Path, out: &str| {
        let out = tmp.path().join(out);
        let o = resultpipe()
            .args(["oct", "report", s(input), "-o", s(&out)])
            .out();
        assert_eq!(o.code, Some(0), "{}", o.stderr);
        let mut v: Value =
            serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
        v.as_object_mut().unwrap().remove("source");
        (o.stdout.lines().take(5).collect::<Vec<_>>().join("\n"), v)
    };
    assert_eq!(report(&db, "r1"), report(&gz, "r2"));
    let events = |input: &Path| {
        stdout_of(&[
            "splunk",
            "send",
            s(input),
            "--dry-run",
            "--run",
            "r",
            "--id",
            "i",
        ])
    };
    let e = events(&db);
    assert!(e.lines().count() > 100, "{e}");
    assert_eq!(e, events(&gz));

    // a gzipped dstat log is copied decompressed
    let dstat = testdata("stackviz/own_stestr_2workers/input/dstat-csv.log");
    let dgz = gz_copy(&dstat, tmp.path(), "dstat.csv.gz");
    let export = |d: &Path, out: &str| {
        let out = tmp.path().join(out);
        let o = stackviz_export()
            .args([
                "--layout",
                "current",
                "--dstat",
                s(d),
                "-f",
                s(&testdata(SAMPLE)),
                s(&out),
            ])
            .out();
        assert_eq!(o.code, Some(0), "{}", o.stderr);
        std::fs::read(out.join("dstat.csv")).unwrap()
    };
    let plain_copy = export(&dstat, "d1");
    assert!(plain_copy.starts_with(b"\"Dstat"), "a text copy");
    assert_eq!(plain_copy, export(&dgz, "d2"));

    // job files: validate and publish --dry-run read them gzipped
    let o = job(&[s(&testdata(SAMPLE))], &[]);
    let jobs_file = tmp.path().join("jobs.jsonl");
    std::fs::write(&jobs_file, &o.stdout).unwrap();
    let jobs_gz = gz_copy(&jobs_file, tmp.path(), "jobs.jsonl.gz");
    for f in [&jobs_file, &jobs_gz] {
        let v = resultpipe().args(["treeherder", "validate", s(f)]).out();
        assert_eq!(v.code, Some(0), "{}{}", v.stdout, v.stderr);
        assert!(v.stdout.starts_with("1 valid, 0 invalid"), "{}", v.stdout);
    }
    let dry = |f: &Path| {
        stdout_of(&[
            "pulse",
            "publish",
            s(f),
            "--exchange",
            "exchange/u/x",
            "--dry-run",
        ])
    };
    assert_eq!(dry(&jobs_file), dry(&jobs_gz));
}

#[test]
fn a_cut_short_gzip_keeps_every_record_before_the_cut_and_says_where() {
    let tmp = tempfile::tempdir().unwrap();
    let z = gzip(&std::fs::read(testdata(LISTED)).unwrap());
    let cut = tmp.path().join("cut.subunit.gz");
    std::fs::write(&cut, &z[..z.len() * 2 / 3]).unwrap();
    let o = summary(&[s(&cut)]);
    let n: u64 = o.stdout.split(' ').next().unwrap().parse().unwrap_or(0);
    assert!(n > 100 && n < 970, "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stderr
            .contains("the gzip data is damaged or cut short near compressed byte"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("cut.subunit.gz"), "{}", o.stderr);
    // the tests that were running at the cut, and the ones listed but never reached,
    // keep the run red
    assert_eq!(o.code, Some(1), "{}", o.stdout);
    assert!(o.stdout.contains("listed, not run"), "{}", o.stdout);
}

/// The counts subunit-stats printed for a stream (the real tool's view).
fn subunit_stats(case: &str) -> (u64, u64, u64, u64) {
    let text = std::fs::read_to_string(testdata(case).join("subunit-stats.out")).unwrap();
    let get = |label: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(label))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    (
        get("Total tests:"),
        get("Passed tests:"),
        get("Failed tests:"),
        get("Skipped tests:"),
    )
}

#[test]
fn exists_packets_list_tests_and_are_never_results() {
    let (total, passed, failed, skipped) = subunit_stats("subunit/real-markdown-stestr/live-run2");
    assert_eq!((total, failed), (970, 0));
    let o = summary(&[s(&testdata(LISTED))]);
    assert_eq!(o.code, Some(0), "{}{}", o.stdout, o.stderr);
    assert!(
        o.stdout.starts_with(&format!(
            "{total} tests: {passed} success, {skipped} skip\n"
        )),
        "{}",
        o.stdout
    );
    assert!(!o.stdout.contains("exists"), "{}", o.stdout);
    assert_eq!(o.stderr, "", "nothing to warn about");

    // stackviz: one raw entry per test run, none for the listing
    let tmp = tempfile::tempdir().unwrap();
    let e = stackviz_export()
        .args([
            "--layout",
            "current",
            "-f",
            s(&testdata(LISTED)),
            s(tmp.path()),
        ])
        .out();
    assert_eq!(e.code, Some(0), "{}", e.stderr);
    let raw: Vec<Value> = serde_json::from_slice(
        &std::fs::read(tmp.path().join("stream.subunit-0-raw.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(raw.len() as u64, total);
    assert!(raw.iter().all(|r| r["status"] != "exists"));
    let stats: Value = serde_json::from_slice(
        &std::fs::read(tmp.path().join("stream.subunit-0-stats.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(stats["count"], total);

    // splunk: one jobStart and one job end per test, not per listing
    let o = resultpipe()
        .args(["splunk", "send", s(&testdata(LISTED)), "--dry-run"])
        .out();
    let kinds: Vec<String> = o
        .stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["event"]["type"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    let count = |k: &str| kinds.iter().filter(|x| *x == k).count() as u64;
    assert_eq!(count("jobStart"), total, "{:?}", &kinds[..5]);
    assert_eq!(count("jobFinish") + count("jobFail"), total);

    // treeherder: the counts of the run, not of the listing
    let j = job(&[s(&testdata(LISTED))], &[]);
    let j = &jobs(&j)[0];
    assert_eq!(j["result"], "success");
    assert_eq!(
        j["jobInfo"]["summary"],
        format!("passed {passed}, failed 0, skipped {skipped}")
    );
}

#[test]
fn a_listed_test_that_never_ran_is_named_and_keeps_the_run_red() {
    // python-subunit's own fixture: six tests listed, five run, one only listed
    let stream = testdata("subunit/statuses/stream.subunit");
    let o = summary(&[s(&stream)]);
    assert_eq!(o.code, Some(1));
    assert!(o.stdout.contains("; 1 listed, not run\n"), "{}", o.stdout);
    assert!(
        o.stderr
            .contains("1 test(s) listed, not run (enumerated by `exists` packets; no result followed): pkg.test_mod.T.test_only_exists"),
        "{}",
        o.stderr
    );
    // the real tool counts the five run tests and the fixture; so do we
    let (total, ..) = subunit_stats("subunit/statuses");
    assert!(
        o.stdout.starts_with(&format!("{total} tests: ")),
        "{}",
        o.stdout
    );

    let j = job(&[s(&stream)], &[]);
    let j = &jobs(&j)[0];
    assert_eq!(j["result"], "fail");
    assert!(
        j["jobInfo"]["summary"]
            .as_str()
            .unwrap()
            .contains("1 listed but not run"),
        "{}",
        j["jobInfo"]["summary"]
    );

    // an enumeration packet carrying a file: the bytes are kept, and said so
    let mut bytes = Vec::new();
    write(
        &mut bytes,
        &Packet {
            status: 1,
            id: "t.a",
            file: Some(("stdout", "text/plain", b"listing chatter\n")),
            ..Packet::default()
        },
    );
    test_run(&mut bytes, "t.a", "worker-0", 100, 3, b"");
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("x.subunit");
    std::fs::write(&f, bytes).unwrap();
    let e = stackviz_export()
        .args([
            "--layout",
            "current",
            "-f",
            s(&f),
            s(&tmp.path().join("out")),
        ])
        .out();
    assert_eq!(e.code, Some(0), "{}", e.stderr);
    assert_eq!(
        std::fs::read(tmp.path().join("out/x.subunit-0-passthrough.txt")).unwrap(),
        b"listing chatter\n"
    );
    assert!(
        e.stderr
            .contains("enumeration (exists) packet carries file"),
        "{}",
        e.stderr
    );
}

#[test]
fn a_run_without_tests_is_not_a_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty.subunit");
    std::fs::write(&empty, b"").unwrap();
    let noise = tmp.path().join("noise.bin");
    std::fs::write(
        &noise,
        (0..4096u32)
            .map(|i| (i * 7919 % 251) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let discovery = testdata("subunit/real-discovery-failure/stream.subunit");
    assert_eq!(subunit_stats("subunit/real-discovery-failure").0, 0);
    for input in [&empty, &noise, &discovery] {
        let o = summary(&[s(input)]);
        assert_eq!(o.code, Some(1), "{input:?}: {}", o.stdout);
        assert!(o.stdout.starts_with("no tests ran\n"), "{}", o.stdout);
        assert!(o.stderr.contains("no test results in it"), "{}", o.stderr);
        let o = summary(&["--allow-empty", s(input)]);
        assert_eq!(o.code, Some(0), "{input:?}: {}", o.stdout);
        let j = job(&[s(input)], &[]);
        assert_eq!(j.code, Some(0), "{}", j.stderr);
        let j = &jobs(&j)[0];
        assert_eq!(j["result"], "fail", "{input:?}");
        assert!(
            j["jobInfo"]["summary"]
                .as_str()
                .unwrap()
                .starts_with("no tests ran")
        );
        let j = job(&[s(input)], &["--allow-empty"]);
        assert_eq!(jobs(&j)[0]["result"], "success");
    }
    // where discovery failed, the summary shows why
    let o = summary(&[s(&discovery)]);
    assert!(
        o.stdout.contains("holds output that is not subunit")
            && o.stdout
                .contains("ModuleNotFoundError: No module named 'twisted'"),
        "{}",
        o.stdout
    );
}

#[test]
fn a_missing_input_is_an_error_in_every_command() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope.subunit");
    let m = s(&missing);
    let out = s(tmp.path());
    let runs: Vec<(&str, Vec<&str>)> = vec![
        ("summary", vec!["summary", m]),
        (
            "treeherder job",
            vec!["treeherder", "job", m, "--project", "p", "--revision", REV],
        ),
        (
            "pulse publish",
            vec![
                "pulse",
                "publish",
                m,
                "--exchange",
                "exchange/u/x",
                "--project",
                "p",
                "--revision",
                REV,
                "--dry-run",
            ],
        ),
        ("splunk send", vec!["splunk", "send", m, "--dry-run"]),
        ("treeherder validate", vec!["treeherder", "validate", m]),
        (
            "treeherder submit",
            vec![
                "treeherder",
                "submit",
                "--server",
                "http://127.0.0.1:9",
                "--project",
                "p",
                "jobs",
                m,
            ],
        ),
        ("oct report", vec!["oct", "report", m, "-o", out]),
        (
            "oct results-to-csv",
            vec!["oct", "results-to-csv", m, "x.csv"],
        ),
    ];
    for (what, args) in runs {
        let o = resultpipe().args(&args).out();
        assert_eq!(o.code, Some(2), "{what}: {}{}", o.stdout, o.stderr);
        assert!(o.stderr.contains(m), "{what}: {}", o.stderr);
        assert!(o.stdout.is_empty(), "{what}: {}", o.stdout);
    }
    // and a missing one among good ones stops the command before it does anything
    let o = summary(&[s(&testdata(SAMPLE)), m]);
    assert_eq!((o.code, o.stdout.as_str()), (Some(2), ""));

    // for CIs that report a run whose results are missing: opt in to an exception job
    let o = job(&[s(&testdata(SAMPLE)), m], &["--unreadable-as-exception"]);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let j = jobs(&o);
    assert_eq!(
        (j[0]["result"].as_str(), j[1]["result"].as_str()),
        (Some("fail"), Some("exception"))
    );
    let why = j[1]["jobInfo"]["summary"].as_str().unwrap();
    assert!(
        why.starts_with("the results could not be read: cannot read ")
            && why.contains("nope.subunit"),
        "{why}"
    );

    // stackviz-export -f keeps its documented warning (the real tool skips silently)
    let o = stackviz_export()
        .args(["-f", m, s(&tmp.path().join("sv"))])
        .out();
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert!(o.stderr.contains("does not exist; skipped"), "{}", o.stderr);
}

#[test]
fn an_output_directory_that_cannot_be_written_is_named_as_the_problem() {
    // /proc exists and takes no new files, not even from root
    let o = stackviz_export()
        .args(["--layout", "current", "-f", s(&testdata(SAMPLE)), "/proc"])
        .out();
    assert_eq!(o.code, Some(2));
    assert!(
        o.stderr
            .starts_with("error: cannot write the export to the output directory /proc\n"),
        "{}",
        o.stderr
    );
    assert!(!o.stderr.contains("cannot export"), "{}", o.stderr);
}

#[test]
fn oct_report_of_a_directory_or_a_corrupt_file_says_so_once() {
    let dir = oct_case("live-2turrets-errors-timers");
    let tmp = tempfile::tempdir().unwrap();
    let o = resultpipe()
        .args(["oct", "report", s(&dir), "-o", s(tmp.path())])
        .out();
    assert_eq!(o.code, Some(2));
    assert!(
        o.stderr
            .contains("is a directory, not a results.sqlite file"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("oct rebuild-results"), "{}", o.stderr);
    let bad = tmp.path().join("results.sqlite");
    let mut bytes = std::fs::read(dir.join("results.sqlite")).unwrap();
    for b in &mut bytes[100..4096] {
        *b = 0x5a;
    }
    std::fs::write(&bad, bytes).unwrap();
    let o = resultpipe()
        .args(["oct", "report", s(&bad), "-o", s(&tmp.path().join("r"))])
        .out();
    assert_eq!(o.code, Some(2), "{}", o.stderr);
    let first = o.stderr.lines().next().unwrap().to_owned();
    let message = first.rsplit(": ").next().unwrap();
    assert_eq!(o.stderr.matches(message).count(), 1, "{}", o.stderr);
}

#[test]
fn a_test_that_failed_on_two_workers_names_the_worker() {
    let mut bytes = Vec::new();
    test_run(
        &mut bytes,
        "pkg.T.test_flaky",
        "worker-0",
        100,
        6,
        b"Traceback\nAssertionError: zero\n",
    );
    test_run(
        &mut bytes,
        "pkg.T.test_flaky",
        "worker-1",
        100,
        6,
        b"Traceback\nAssertionError: one\n",
    );
    test_run(
        &mut bytes,
        "pkg.T.test_once",
        "worker-1",
        103,
        6,
        b"Traceback\nValueError: x\n",
    );
    test_run(&mut bytes, "pkg.T.test_ok", "worker-0", 103, 3, b"");
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("x.subunit");
    std::fs::write(&f, bytes).unwrap();
    let o = summary(&[s(&f)]);
    assert_eq!(o.code, Some(1));
    assert!(
        o.stdout
            .starts_with("3 tests (4 attempts): 1 success, 2 fail\n"),
        "{}",
        o.stdout
    );
    let failures: Vec<&str> = o
        .stdout
        .split("Failures (3):\n")
        .nth(1)
        .expect(&o.stdout)
        .lines()
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(
        failures,
        [
            "  pkg.T.test_flaky [fail] on worker-0",
            "    AssertionError: zero",
            "  pkg.T.test_flaky [fail] on worker-1",
            "    AssertionError: one",
            "  pkg.T.test_once [fail]",
            "    ValueError: x",
        ]
    );
}

#[test]
fn reading_problems_are_printed_once_on_stderr_from_the_first_column() {
    let o = summary(&[s(&testdata("subunit/malformed-packets/stream.subunit"))]);
    assert!(!o.stdout.contains("offset"), "{}", o.stdout);
    let problems: Vec<&str> = o
        .stderr
        .lines()
        .filter(|l| l.contains("bad checksum"))
        .collect();
    assert!(!problems.is_empty(), "{}", o.stderr);
    for l in o.stderr.lines() {
        assert!(
            l.starts_with("WARN ") || l.starts_with("ERROR ") || l.starts_with("error: "),
            "{l:?}"
        );
    }
    let first = problems[0];
    assert_eq!(o.stderr.matches(first).count(), 1, "{}", o.stderr);
    // the summary keeps nothing, so it says nothing about keeping bytes
    assert!(!o.stderr.contains("kept"), "{}", o.stderr);
}

#[test]
fn a_job_file_without_jobs_is_an_error_not_a_success() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("jobs.jsonl");
    std::fs::write(&empty, "\n").unwrap();
    let o = resultpipe()
        .args(["treeherder", "validate", s(&empty)])
        .out();
    assert_eq!(o.code, Some(2), "{}", o.stdout);
    assert!(
        o.stderr.contains("no jobs in ") && o.stderr.contains("jobs.jsonl"),
        "{}",
        o.stderr
    );
    let o = resultpipe()
        .args([
            "pulse",
            "publish",
            s(&empty),
            "--exchange",
            "exchange/u/x",
            "--dry-run",
        ])
        .out();
    assert_eq!(o.code, Some(2), "{}", o.stdout);
    assert!(o.stderr.contains("nothing to publish"), "{}", o.stderr);
}
