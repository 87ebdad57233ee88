//! The run report (`resultpipe report`, `stackviz-export --html`): the page in a real
//! headless Chromium driven by playwright-core (`tests/browser/report.mjs`, axe-core for
//! accessibility), the file's contents decoded here (index and chunks), determinism
//! against a golden file, the size policy, and the command's errors.
//!
//! Expected test statuses come from the generator's plan (`small-truth.json`, written
//! by `scripts/gen/gen_report_run.py` with the stream), not from our own reading.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use serde_json::Value;

use crate::support::subunit::{Packet, test_run, write};
use crate::support::{Output, RunText, dir_files, resultpipe, stackviz_export, testdata};

fn small() -> PathBuf {
    testdata("report/small.subunit")
}

fn small_dstat() -> PathBuf {
    testdata("report/small-dstat.csv")
}

/// Writes the report of `inputs` (with `extra` flags) to `out`; asserts it worked.
fn report(inputs: &[&Path], out: &Path, extra: &[&str]) -> Output {
    let o = resultpipe()
        .arg("report")
        .args(inputs)
        .arg("-o")
        .arg(out)
        .args(extra)
        .out();
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    o
}

/// The page's index (decoded from `RP.start("...")`) and its chunks, decompressed.
fn decode(page: &Path) -> (Value, Vec<Vec<u8>>) {
    let html = std::fs::read_to_string(page).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let gunzip = |text: &str| {
        let z = b64.decode(text).unwrap();
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&z[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    };
    let start = html.find("RP.start(\"").unwrap() + "RP.start(\"".len();
    let end = start + html[start..].find('"').unwrap();
    let index: Value = serde_json::from_slice(&gunzip(&html[start..end])).unwrap();
    let mut chunks = Vec::new();
    let mut rest = html.as_str();
    while let Some(at) = rest.find("<script type=\"application/octet-stream\" id=\"rp-c") {
        rest = &rest[at..];
        let id: usize = rest["<script type=\"application/octet-stream\" id=\"rp-c".len()..]
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(id, chunks.len(), "chunks in order");
        let body = rest.find('>').unwrap() + 1;
        let close = rest.find("</script>").unwrap();
        chunks.push(gunzip(&rest[body..close]));
        rest = &rest[close..];
    }
    assert_eq!(index["chunks"].as_u64(), Some(chunks.len() as u64));
    (index, chunks)
}

/// Every attachment of every attempt, by (test id, attempt, name): its kept bytes and
/// its size before the policy.
fn attachments(
    index: &Value,
    chunks: &[Vec<u8>],
) -> BTreeMap<(String, usize, String), (Vec<u8>, u64)> {
    let strings = index["strings"].as_array().unwrap();
    let names = index["tests"]["name"].as_array().unwrap();
    let ids = &index["tests"]["id"];
    let at = &index["attempts"];
    let atts = &index["atts"];
    let n = |v: &Value, k: usize| v.as_array().unwrap()[k].as_i64().unwrap();
    let mut out = BTreeMap::new();
    for (t, list) in index["tests"]["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let id = ids
            .get(t.to_string())
            .unwrap_or(&names[t])
            .as_str()
            .unwrap()
            .to_owned();
        for (k, a) in list.as_array().unwrap().iter().enumerate() {
            let a = a.as_u64().unwrap() as usize;
            let first = n(&at["att"], a) as usize;
            for x in first..first + n(&at["natt"], a) as usize {
                let name = strings[n(&atts["name"], x) as usize]
                    .as_str()
                    .unwrap()
                    .to_owned();
                let chunk = n(&atts["chunk"], x);
                let bytes = if chunk < 0 {
                    Vec::new()
                } else {
                    let off = n(&atts["off"], x) as usize;
                    let len = n(&atts["len"], x) as usize;
                    chunks[chunk as usize][off..off + len].to_vec()
                };
                out.insert((id.clone(), k, name), (bytes, n(&atts["orig"], x) as u64));
            }
        }
    }
    out
}

/// Runs the browser driver on `page`; its JSON findings.
fn browser(page: &Path, shots: &Path, mode: Option<&str>) -> Value {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").is_dir()
            && dir.join("node_modules/axe-core").is_dir(),
        "playwright-core and axe-core are needed: scripts/test.sh installs them (npm ci in tests/browser)"
    );
    let o = Command::new("node")
        .arg(dir.join("report.mjs"))
        .arg(page)
        .arg(shots)
        .args(mode)
        .output()
        .expect("node is needed for the browser tests (scripts/test.sh says how to get it)");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

/// The generator's plan: per test id, its attempts' statuses.
fn truth() -> Vec<(String, Vec<String>)> {
    let t: Value =
        serde_json::from_slice(&std::fs::read(testdata("report/small-truth.json")).unwrap())
            .unwrap();
    t["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_owned(),
                t["attempts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a["status"].as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect()
}

fn label(status: &str) -> &'static str {
    match status {
        "success" => "passed",
        "fail" => "failed",
        "skip" => "skipped",
        "xfail" => "expected failure",
        "uxsuccess" => "unexpected success",
        "inprogress" | "unknown" => "unfinished",
        "exists" => "listed",
        s => panic!("status {s}"),
    }
}

/// How the page labels a test with these attempts: flaky when one failed and a later
/// one passed, else by its last attempt.
fn kind(attempts: &[String]) -> &'static str {
    let last = attempts.last().unwrap();
    if last == "success" && attempts.iter().any(|a| a == "fail") {
        "flaky"
    } else {
        label(last)
    }
}

fn no_violations(v: &Value, what: &str) {
    assert_eq!(
        v.as_array().map(Vec::len),
        Some(0),
        "axe-core, {what}: {v:#}"
    );
}

/// The 14-test run of `gen_report_run.py` with its dstat log, opened from `file://`:
/// every view, every interaction the issue names, axe-core in both themes.
#[test]
fn the_14_test_report_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    // smaller head and tail than the defaults, so that passing tests' logs are cut
    report(
        &[&small()],
        &page,
        &[
            "--dstat",
            small_dstat().to_str().unwrap(),
            "--passed-log-head",
            "1K",
            "--passed-log-tail",
            "1K",
        ],
    );
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/report-screenshots");
    let r = browser(&page, &shots, None);
    assert_eq!(r["fatal"], Value::Null, "{}", r["fatal"]);

    // nothing left the page, nothing ran that should not
    assert_eq!(r["requests"], serde_json::json!([]), "network requests");
    assert_eq!(
        r["dialogs"],
        serde_json::json!([]),
        "a hostile name ran script"
    );
    assert_eq!(r["errors"], serde_json::json!([]), "page errors");
    assert_eq!(
        r["console"],
        serde_json::json!([]),
        "console errors/warnings"
    );

    // the header: counts per final status, as the generator planned them
    let plan = truth();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, attempts) in &plan {
        *counts.entry(kind(attempts)).or_default() += 1;
    }
    assert_eq!(r["verdict"], "Failed");
    let summary = r["summary"].as_str().unwrap();
    assert!(
        summary.contains(&format!("{} tests", plan.len())),
        "{summary}"
    );
    for (l, n) in &counts {
        assert!(summary.contains(&format!("{n} {l}")), "{l}: {summary}");
    }
    let chips = strings(&r["chips"]);
    assert_eq!(chips.len(), counts.len(), "{chips:?}");
    for (l, n) in &counts {
        assert!(chips.contains(&format!("{l} {n}")), "{l} {n}: {chips:?}");
    }

    // failures first, each with the first line of its message
    let failing: Vec<&String> = plan
        .iter()
        .filter(|(_, a)| matches!(a.last().unwrap().as_str(), "fail" | "uxsuccess"))
        .map(|(id, _)| id)
        .collect();
    let failures = r["failures"].as_array().unwrap();
    assert_eq!(failures.len(), failing.len());
    for f in failures {
        let name = f["name"].as_str().unwrap();
        assert!(failing.iter().any(|id| id.starts_with(name)), "{name}");
        if f["status"] == "failed" {
            assert!(
                f["message"]
                    .as_str()
                    .unwrap()
                    .contains("tempest.lib.exceptions."),
                "{f}"
            );
        } else {
            assert_eq!(f["message"], "passed, but was marked as expected to fail");
        }
    }

    // the table: every test, with its status; the first rows are the failures
    let rows = r["rows"].as_array().unwrap();
    assert_eq!(rows.len(), plan.len());
    for (id, attempts) in &plan {
        let row = rows
            .iter()
            .find(|row| row["title"].as_str() == Some(id.as_str()))
            .unwrap_or_else(|| panic!("{id} not in the table"));
        assert_eq!(row["status"], kind(attempts), "{id}");
    }
    assert!(
        rows[..failing.len()]
            .iter()
            .all(|r| r["status"] == "failed" || r["status"] == "unexpected success")
    );

    // filters and sort, in the hash
    assert_eq!(
        r["afterChip"]["shown"],
        format!("{} of 14 tests", 14 - counts["passed"])
    );
    assert_eq!(r["afterChip"]["hash"], "#hide=passed");
    assert_eq!(r["afterWorker"]["hash"], "#w=worker-1");
    assert_eq!(r["afterName"]["hash"], "#q=script");
    assert_eq!(r["afterName"]["rows"].as_array().unwrap().len(), 1);
    assert!(
        r["afterName"]["rows"][0]
            .as_str()
            .unwrap()
            .contains("test_name_<script>alert(1)</script>")
    );
    assert_eq!(r["afterDuration"]["hash"], "#d=2");
    let durations: Vec<String> = strings(&r["sortedByDuration"]);
    let secs = |s: &str| -> f64 {
        let (n, unit) = s.split_once(' ').unwrap();
        n.parse::<f64>().unwrap() * if unit == "ms" { 1e-3 } else { 1.0 }
    };
    assert!(
        durations.windows(2).all(|w| secs(&w[0]) >= secs(&w[1])),
        "{durations:?}"
    );
    assert_eq!(r["sortHash"], "#desc=1&sort=dur");

    // a test opened by click: traceback first, its text shown
    let d = &r["detail"];
    assert_eq!(strings(&d["tabs"])[0], "traceback");
    assert_eq!(d["selected"], "traceback");
    let log = strings(&d["log"]);
    assert_eq!(log[0], "1Traceback (most recent call last):");
    assert!(
        log.iter().any(|l| l.contains("TimeoutException")),
        "{log:?}"
    );
    assert!(
        d["hash"]
            .as_str()
            .unwrap()
            .starts_with("#t=tempest.api.compute")
    );
    assert_eq!(d["focus"], "detail-h");
    // a line link
    assert!(
        r["lineLink"]["hash"]
            .as_str()
            .unwrap()
            .ends_with("&a=traceback&l=3"),
        "{}",
        r["lineLink"]
    );
    assert!(r["lineLink"]["target"].as_str().unwrap().starts_with("3 "));
    assert_eq!(r["closedByEscape"], true);

    // ANSI colours: spans with colour classes, no escape bytes left in the text
    let ansi = &r["ansi"];
    assert!(ansi.is_object(), "no log with ANSI colours was found");
    assert!(!ansi["spans"].as_array().unwrap().is_empty());
    assert_eq!(ansi["rawEscapes"], false);

    // a log cut by the size policy says so, where and how much; find marks its hits
    let cut = &r["cut"];
    assert!(cut.is_object(), "no cut log found");
    assert!(
        cut["note"]
            .as_str()
            .unwrap()
            .contains(" omitted when the report was made; the first "),
        "{cut}"
    );
    assert_eq!(cut["omittedLine"].as_array().unwrap().len(), 1, "{cut}");
    assert!(
        cut["omittedLine"][0]
            .as_str()
            .unwrap()
            .contains(" omitted]")
    );
    let find = &r["find"];
    let hits = find["hits"].as_u64().unwrap();
    assert!(hits > 0, "{find}");
    assert!(
        find["count"].as_str().unwrap().ends_with(" match"),
        "{find}"
    );
    assert!(find["target"].as_str().unwrap().contains("DEBUG"), "{find}");
    assert_eq!(r["wrap"], true);

    // hostile names and logs are text
    assert_eq!(
        r["hostile"]["heading"],
        "tempest.api.compute.test_markup.MarkupTestJSON.test_name_<script>alert(1)</script>"
    );
    assert_eq!(
        r["hostile"]["logHasMarkup"], true,
        "the markup is shown as written"
    );
    assert_eq!(r["hostile"]["injectedElements"], 0);

    // the timeline: one lane per worker, the dstat lanes, all painted; hover and click
    let tl = &r["timeline"];
    let lanes: Vec<&str> = tl["lanes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l[0].as_str().unwrap())
        .collect();
    assert_eq!(lanes, ["worker-0", "worker-1"]);
    let res: Vec<&str> = tl["resourceLanes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l[0].as_str().unwrap())
        .collect();
    assert_eq!(
        res,
        ["CPU %", "memory used", "net/total B/s", "dsk/total B/s"]
    );
    for (what, ink) in [
        ("lane", &tl["ink"]["lanes"]),
        ("resource lane", &tl["ink"]["resources"]),
    ] {
        for n in ink.as_array().unwrap() {
            assert!(n.as_u64().unwrap() > 200, "a {what} is not painted: {ink}");
        }
    }
    let hover = tl["hover"].as_str().expect("hovering a bar shows its test");
    assert!(hover.starts_with(tl["clicked"].as_str().unwrap()), "{tl}");
    assert_eq!(tl["untimed"], "");
    let balance = r["balance"].as_array().unwrap();
    assert_eq!(balance.len(), 3, "a header and a row per worker");
    // slowest, histogram, run info, downloads
    assert_eq!(r["slowest"].as_array().unwrap().len(), 14);
    assert!(r["slowest"][0].as_str().unwrap().contains("test_unicode"));
    assert!(r["histogram"].as_str().unwrap().starts_with("Durations: "));
    let info = r["runinfo"].as_str().unwrap();
    assert!(info.contains("small.subunit\tsubunit v2"), "{info}");
    assert!(
        info.contains("small-dstat.csv: Dstat 0.8.0 on ci-node, 29 samples"),
        "{info}"
    );
    assert!(
        info.contains("passing tests' larger ones cut to their first 1.0 KiB and last 1.0 KiB"),
        "{info}"
    );
    assert!(!info.contains(" 0 attachments cut"), "{info}");
    assert!(
        info.contains("Where:\n") && info.contains(": pythonlogging:'' cut ("),
        "each cut named: {info}"
    );
    let csv = r["csv"].as_str().unwrap();
    assert_eq!(csv.lines().count(), 15);
    assert!(csv.starts_with("test,status,attempts,worker,start,duration_s,message\r\n"));
    assert_eq!(r["json"].as_array().unwrap().len(), 14);
    let flaky = r["json"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["test"].as_str().unwrap().contains("test_update_server_4"))
        .unwrap();
    let statuses: Vec<&str> = flaky["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["fail", "success"], "every attempt kept");

    // keyboard: Tab reaches a failure, focus visible, Enter opens it
    let k = &r["keyboard"];
    assert!(k["reachedFailure"].is_string(), "{k}");
    assert_eq!(k["focusRing"], "solid");
    assert_eq!(k["opened"], k["reachedFailure"]);

    // a permalink (test id, line) in a new page, dark by the OS preference
    let p = &r["permalink"];
    assert_eq!(p["heading"], failures[0]["name"]);
    assert!(p["target"].as_str().unwrap().starts_with("2 "), "{p}");
    assert_eq!(p["theme"], "dark");
    assert!(r["permalinkByName"].as_str().unwrap().starts_with("5 "));

    // accessibility, both themes, with the detail open too
    for key in ["axeLight", "axeDark", "axeDetail", "axeDarkDetail"] {
        no_violations(&r[key], key);
    }
    assert_eq!(r["themeAfterToggle"], "dark");
    assert!(r["domNodes"].as_u64().unwrap() < 5000);

    for shot in [
        "1-overview-light",
        "2-overview-dark",
        "3-detail-traceback",
        "4-log-ansi",
        "4b-log-cut-find",
        "5-hostile",
        "6-timeline",
        "7-runinfo",
        "8-permalink-dark",
    ] {
        let len = std::fs::metadata(shots.join(format!("{shot}.png"))).map_or(0, |m| m.len());
        assert!(len > 10_000, "screenshot {shot}");
    }
}

/// A run with every status the model knows, a test that never finished, one without
/// timestamps and one listed but never run: all shown, and the run is not green.
#[test]
fn every_status_unfinished_and_untimed_tests_are_shown() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Vec::new();
    write(
        &mut s,
        &Packet {
            status: 1,
            id: "pkg.T.test_listed_only",
            secs: Some(1_700_000_000),
            ..Packet::default()
        },
    );
    for (k, (id, status)) in [
        ("test_pass", 3),
        ("test_fail", 6),
        ("test_skip", 5),
        ("test_xfail", 7),
        ("test_ux", 4),
    ]
    .into_iter()
    .enumerate()
    {
        test_run(
            &mut s,
            &format!("pkg.T.{id}"),
            "worker-0",
            1_700_000_000 + k as u32,
            status,
            b"Traceback (most recent call last):\nValueError: x\n",
        );
    }
    write(
        &mut s,
        &Packet {
            status: 3,
            id: "pkg.T.test_untimed",
            ..Packet::default()
        },
    );
    write(
        &mut s,
        &Packet {
            status: 2,
            id: "pkg.T.test_unfinished",
            secs: Some(1_700_000_009),
            tags: &["worker-1"],
            ..Packet::default()
        },
    );
    let stream = dir.path().join("all.subunit");
    std::fs::write(&stream, &s).unwrap();
    let page = dir.path().join("all.html");
    report(&[&stream], &page, &[]);
    let r = browser(&page, &dir.path().join("shots"), Some("--overview"));
    assert_eq!(r["verdict"], "Failed");
    let chips = strings(&r["chips"]);
    for want in [
        "failed 1",
        "unexpected success 1",
        "unfinished 1",
        "passed 2",
        "skipped 1",
        "expected failure 1",
    ] {
        assert!(chips.contains(&want.to_owned()), "{want}: {chips:?}");
    }
    let rows = r["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 7);
    let unfinished = rows
        .iter()
        .find(|r| r[1].as_str().unwrap().contains("test_unfinished"))
        .unwrap();
    assert_eq!(unfinished[0], "unfinished");
    let untimed = rows
        .iter()
        .find(|r| r[1].as_str().unwrap().contains("test_untimed"))
        .unwrap();
    assert_eq!(untimed[2], "–", "no duration without times");
    // the test without times is listed apart; the unfinished one runs to the end of
    // the run on its worker's lane
    let note = r["untimed"].as_str().unwrap();
    assert_eq!(
        note,
        "1 attempt without a start or end time, not on the timeline: pkg.T.test_untimed"
    );
    let lanes: Vec<&str> = r["lanes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l[0].as_str().unwrap())
        .collect();
    assert_eq!(lanes, ["worker-0", "worker-1"]);
    let info = r["runinfo"].as_str().unwrap();
    assert!(
        info.contains("1 test listed but never run") && info.contains("pkg.T.test_listed_only"),
        "{info}"
    );
    no_violations(&r["axeLight"], "every status");

    // no tests at all: the page says so, and is not green
    let empty = dir.path().join("empty.subunit");
    std::fs::write(&empty, b"").unwrap();
    let page = dir.path().join("empty.html");
    let o = report(&[&empty], &page, &[]);
    assert!(o.stderr.contains("no test results"), "{}", o.stderr);
    let r = browser(&page, &dir.path().join("shots-empty"), Some("--overview"));
    assert_eq!(r["verdict"], "No tests ran");
    assert_eq!(strings(&r["noFailures"]), ["No tests ran."]);
}

/// `resultpipe report` of the 14-test run and its dstat log, run from the project's
/// directory with relative paths (input labels are part of the page) to `out`.
fn report_small_from_the_project(out: &Path) {
    let o = resultpipe()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "report",
            "testdata/report/small.subunit",
            "--dstat",
            "testdata/report/small-dstat.csv",
            "-o",
        ])
        .arg(out)
        .out();
    assert_eq!(o.code, Some(0), "{}", o.stderr);
}

/// The same inputs give the same bytes, and the small run's page is the golden file
/// (reviewed; after a deliberate change to the page, regenerate it with
/// `RESULTPIPE_BLESS=1 cargo nextest run golden` and look at it again).
#[test]
fn the_page_is_deterministic_and_matches_its_golden_file() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.html");
    let b = dir.path().join("b.html");
    for out in [&a, &b] {
        report_small_from_the_project(out);
    }
    let page = std::fs::read(&a).unwrap();
    assert_eq!(
        page,
        std::fs::read(&b).unwrap(),
        "two runs, two different pages"
    );
    let golden = testdata("report/small.html");
    if std::env::var_os("RESULTPIPE_BLESS").is_some() {
        std::fs::write(&golden, &page).unwrap();
    }
    assert!(
        page == std::fs::read(&golden).unwrap(),
        "the page differs from testdata/report/small.html (see this test's doc)"
    );
    // the app is within its budget
    let html = String::from_utf8(page).unwrap();
    let app_end = html.find("<script>RP.start(\"").unwrap();
    assert!(app_end < 150_000, "app {app_end} bytes");
    assert!(html.contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'sha256-"));
}

/// `stackviz-export --html DEST` writes the same report as `resultpipe report` of the
/// same inputs beside data that is unchanged by the flag.
#[test]
fn stackviz_export_html_writes_the_report_beside_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let (plain, with) = (dir.path().join("plain"), dir.path().join("with"));
    let run = |out: &Path, html: bool| {
        let mut c = stackviz_export();
        c.current_dir(env!("CARGO_MANIFEST_DIR")).args([
            "-f",
            "testdata/report/small.subunit",
            "--dstat",
            "testdata/report/small-dstat.csv",
        ]);
        if html {
            c.arg("--html").arg(out);
        }
        let o = c.arg(out).out();
        assert_eq!(o.code, Some(0), "{}", o.stderr);
        o
    };
    run(&plain, false);
    let o = run(&with, true);
    assert!(o.stdout.contains("Wrote the run report"), "{}", o.stdout);
    let mut files = dir_files(&with);
    let index = files
        .iter()
        .position(|(n, _)| n == "index.html")
        .expect("index.html written");
    let (_, page) = files.remove(index);
    assert_eq!(files, dir_files(&plain), "the data is the same with --html");
    let alone = dir.path().join("alone.html");
    report_small_from_the_project(&alone);
    assert!(
        page == std::fs::read(&alone).unwrap(),
        "--html and report differ"
    );
    // resultpipe stackviz takes it too
    let again = dir.path().join("again");
    let o = resultpipe()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "stackviz",
            "-f",
            "testdata/report/small.subunit",
            "--dstat",
            "testdata/report/small-dstat.csv",
            "--html",
        ])
        .arg(&again)
        .arg(&again)
        .out();
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert!(std::fs::read(again.join("index.html")).unwrap() == page);
}

/// A run and its rerun stream as two inputs: the retried test has both attempts.
#[test]
fn a_run_and_its_rerun_are_one_run_with_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let (mut first, mut rerun) = (Vec::new(), Vec::new());
    test_run(
        &mut first,
        "pkg.T.test_a",
        "worker-0",
        1_700_000_000,
        6,
        b"Traceback (most recent call last):\nIOError: flaky\n",
    );
    test_run(
        &mut first,
        "pkg.T.test_b",
        "worker-1",
        1_700_000_000,
        3,
        b"",
    );
    // the rerun passes with a long log: kept whole, as the failure's would be
    let long_log: Vec<u8> = (0..500)
        .flat_map(|l| format!("rerun log line {l}\n").into_bytes())
        .collect();
    rerun.extend(stream_with_log("pkg.T.test_a", 100, 3, &long_log));
    let (a, b) = (
        dir.path().join("run.subunit"),
        dir.path().join("rerun.subunit"),
    );
    std::fs::write(&a, &first).unwrap();
    std::fs::write(&b, &rerun).unwrap();
    let page = dir.path().join("r.html");
    report(&[&a, &b], &page, &[]);
    let (ix, _) = decode(&page);
    assert_eq!(
        ix["tests"]["name"],
        serde_json::json!(["pkg.T.test_a", "pkg.T.test_b"])
    );
    assert_eq!(ix["tests"]["attempts"], serde_json::json!([[0, 2], [1]]));
    let status =
        |a: usize| ix["statuses"][ix["attempts"]["status"][a].as_u64().unwrap() as usize].clone();
    assert_eq!((status(0), status(2)), ("fail".into(), "success".into()));
    assert_eq!(ix["attempts"]["input"], serde_json::json!([0, 0, 1]));
    assert_eq!(ix["inputs"].as_array().unwrap().len(), 2);
    let (ix, chunks) = decode(&page);
    let atts = attachments(&ix, &chunks);
    let (kept, orig) = &atts[&("pkg.T.test_a".to_owned(), 1, "log".to_owned())];
    assert_eq!(
        (kept.as_slice(), *orig),
        (long_log.as_slice(), long_log.len() as u64),
        "a flaky test's passing rerun keeps its whole log"
    );
}

/// `--keep-all-logs` keeps every attachment byte for byte; the default policy caps
/// passing tests' logs and records every cut in the page.
#[test]
fn the_size_policy_is_honoured_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    // a run with big logs: 40 tests of 20 KB each, 4 failing
    let mut s = Vec::new();
    let mut originals = BTreeMap::new();
    for k in 0..40u32 {
        let id = format!("pkg.T.test_{k:02}");
        let log: String = (0..400)
            .map(|l| format!("{id} line {l:04} some log text here\n"))
            .collect();
        let status = if k % 10 == 3 { 6 } else { 3 };
        s.extend(stream_with_log(&id, k, status, log.as_bytes()));
        originals.insert(id, log);
    }
    let stream = dir.path().join("big.subunit");
    std::fs::write(&stream, &s).unwrap();

    let all = dir.path().join("all.html");
    report(&[&stream], &all, &["--keep-all-logs"]);
    let (ix, chunks) = decode(&all);
    let atts = attachments(&ix, &chunks);
    assert_eq!(atts.len(), 40);
    for ((id, _, name), (bytes, orig)) in &atts {
        assert_eq!(name, "log");
        assert_eq!(bytes, originals[id].as_bytes(), "{id}: not kept whole");
        assert_eq!(*orig as usize, bytes.len());
    }
    assert_eq!(ix["policy"]["keepAll"], true);
    assert_eq!(
        (
            ix["policy"]["cut"].as_u64(),
            ix["policy"]["dropped"].as_u64()
        ),
        (Some(0), Some(0))
    );

    // defaults: failing logs whole (under 1 MiB), passing ones head 2 KiB + tail 2 KiB
    let def = dir.path().join("default.html");
    let o = report(&[&stream], &def, &[]);
    assert!(
        o.stderr
            .contains("36 log(s) cut to head and tail, 0 left out"),
        "{}",
        o.stderr
    );
    let (ix, chunks) = decode(&def);
    for ((id, _, _), (bytes, orig)) in &attachments(&ix, &chunks) {
        let full = originals[id].as_bytes();
        assert_eq!(*orig as usize, full.len());
        if id.ends_with('3') {
            assert_eq!(bytes, full, "{id} failed: kept whole");
        } else {
            assert!(
                bytes.len() <= 4096 && bytes.len() > 3000,
                "{id}: {}",
                bytes.len()
            );
            let text = std::str::from_utf8(bytes).unwrap();
            let head_end = text.find('\n').unwrap();
            assert!(full.starts_with(&bytes[..head_end]));
            assert!(full.ends_with(&bytes[bytes.len() - 100..]));
        }
    }
    assert_eq!(ix["policy"]["cut"], 36);
    assert_eq!(
        ix["policy"]["cutBytes"].as_u64().unwrap() + ix["policy"]["kept"].as_u64().unwrap(),
        originals.values().map(|l| l.len() as u64).sum::<u64>()
    );

    // a total cap: passing logs past it are left out, and counted
    let capped = dir.path().join("capped.html");
    let o = report(
        &[&stream],
        &capped,
        &[
            "--total-log-cap",
            "100K",
            "--passed-log-head",
            "16K",
            "--passed-log-tail",
            "16K",
        ],
    );
    let (ix, _) = decode(&capped);
    let dropped = ix["policy"]["dropped"].as_u64().unwrap();
    assert!(dropped > 20, "{}", ix["policy"]);
    assert!(
        o.stderr.contains(&format!("{dropped} left out")),
        "{}",
        o.stderr
    );
    // past the cap only failing tests' logs are still kept (at most head + tail each)
    let failing_logs: u64 = originals
        .iter()
        .filter(|(id, _)| id.ends_with('3'))
        .map(|(_, l)| l.len() as u64)
        .sum();
    assert!(
        ix["policy"]["kept"].as_u64().unwrap() <= 100 * 1024 + failing_logs,
        "{}",
        ix["policy"]
    );
}

fn stream_with_log(id: &str, k: u32, status: u16, log: &[u8]) -> Vec<u8> {
    let mut s = Vec::new();
    let tags = ["worker-0"];
    let base = Packet {
        id,
        tags: &tags,
        secs: Some(1_700_000_000 + k),
        ..Packet::default()
    };
    write(
        &mut s,
        &Packet {
            status: 2,
            ..base.clone()
        },
    );
    write(
        &mut s,
        &Packet {
            file: Some(("log", "text/plain; charset=utf8", log)),
            ..base.clone()
        },
    );
    write(
        &mut s,
        &Packet {
            status,
            secs: Some(1_700_000_001 + k),
            ..base
        },
    );
    s
}

/// Errors: a missing input or dstat log is exit 2 naming it, before anything is written.
#[test]
fn missing_inputs_are_errors_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("r.html");
    let o = resultpipe()
        .arg("report")
        .arg("nope.subunit")
        .arg("-o")
        .arg(&page)
        .out();
    assert_eq!(o.code, Some(2));
    assert!(o.stderr.contains("nope.subunit"), "{}", o.stderr);
    let o = resultpipe()
        .arg("report")
        .arg(small())
        .args(["--dstat", "nope.csv", "-o"])
        .arg(&page)
        .out();
    assert_eq!(o.code, Some(2));
    assert!(o.stderr.contains("nope.csv"), "{}", o.stderr);
    assert!(!page.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no scratch file left"
    );
}

/// The triage views on the 14-test run and its baseline: clusters as the generator
/// planned its causes, the flaky test labelled with both attempts, new failures and the
/// fixed test marked, a cluster shown in the table, the keys; axe-core in both themes.
#[test]
fn triage_views_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("triage.html");
    let baseline = testdata("report/small-baseline.subunit");
    report(
        &[&small()],
        &page,
        &["--baseline", baseline.to_str().unwrap()],
    );
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/report-screenshots");
    let r = browser(&page, &shots, Some("--triage"));
    assert_eq!(r["fatal"], Value::Null, "{}", r["fatal"]);
    assert_eq!(r["errors"], serde_json::json!([]));
    assert_eq!(r["requests"], serde_json::json!([]));

    // the plan, from the generator's truth file
    let t: Value =
        serde_json::from_slice(&std::fs::read(testdata("report/small-truth.json")).unwrap())
            .unwrap();
    let mut causes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let (mut new_failures, mut fixed, mut flaky) = (Vec::new(), Vec::new(), Vec::new());
    for test in t["tests"].as_array().unwrap() {
        let id = test["id"].as_str().unwrap().to_owned();
        let now: Vec<&str> = test["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["status"].as_str().unwrap())
            .collect();
        let then: Vec<&str> = test["baseline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["status"].as_str().unwrap())
            .collect();
        for a in test["attempts"].as_array().unwrap() {
            if let Some(c) = a["cause"].as_str() {
                causes.entry(c.to_owned()).or_default().push(id.clone());
            }
        }
        let failing = |s: &[&str]| matches!(s.last(), Some(&"fail" | &"uxsuccess"));
        if failing(&now) && !failing(&then) {
            new_failures.push(id.clone());
        }
        if failing(&then) && now.last() == Some(&"success") {
            fixed.push(id.clone());
        }
        if now.len() > 1 && now.last() == Some(&"success") {
            flaky.push(id.clone());
        }
    }

    let clusters = r["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), causes.len());
    for c in clusters {
        let tests = strings(&c["tests"]);
        let sig = c["sig"].as_str().unwrap();
        let (cause, planned) = causes
            .iter()
            .find(|(cause, _)| {
                let (exc, func) = cause.split_once(" in ").unwrap();
                sig.starts_with(&format!("{exc} in {func} ("))
            })
            .unwrap_or_else(|| panic!("no planned cause for {sig}"));
        assert_eq!(&tests, planned, "{cause}");
        assert_eq!(
            c["head"],
            format!(
                "#{} · {} test{}",
                if tests.len() == 3 { 1 } else { 2 },
                tests.len(),
                if tests.len() == 1 { "" } else { "s" }
            )
        );
        assert_eq!(
            c["badge"], "known",
            "the baseline failed from the same causes"
        );
    }
    assert_eq!(strings(&r["newFailures"]), new_failures);
    assert_eq!(strings(&r["newBadges"]), new_failures);
    assert_eq!(strings(&r["fixed"]), fixed);
    assert_eq!(strings(&r["flakyRows"]), flaky);
    // the table's cluster column and new badges
    for row in r["rowClusters"].as_array().unwrap() {
        let id = row[0].as_str().unwrap();
        let want = clusters
            .iter()
            .position(|c| strings(&c["tests"]).iter().any(|t| t == id))
            .map_or(String::new(), |k| format!("#{}", k + 1));
        assert_eq!(row[1].as_str().unwrap(), want, "{id}");
        assert_eq!(
            row[2].as_bool().unwrap(),
            new_failures.iter().any(|t| t == id),
            "{id}"
        );
    }
    assert!(r["summary"].as_str().unwrap().contains(", 1 flaky, "));
    assert_eq!(
        r["flakyDetail"]["status"],
        "flaky failed, then passed on a later attempt"
    );
    let attempts = strings(&r["flakyDetail"]["attempts"]);
    assert_eq!(attempts.len(), 2);
    assert!(attempts[0].starts_with("failed attempt 1 on worker-0, "));
    assert!(attempts[1].starts_with("passed attempt 2 on worker-0, "));
    assert_eq!(r["clusterFilter"]["hash"], "#cl=1");
    assert_eq!(r["clusterFilter"]["shown"], "3 of 14 tests");

    // keys: j j k moves through the failures, Enter opens, Esc closes and gives the
    // focus back, g t goes to the timeline, ? lists the keys
    let k = &r["keys"];
    let failures_in_order: Vec<&String> = causes.values().flatten().collect();
    assert!(
        k["j1"].as_str().unwrap().contains("test_create_server_0"),
        "{k}"
    );
    assert!(
        k["j2"].as_str().unwrap().contains("test_list_server_2"),
        "{k}"
    );
    assert_eq!(k["k"], k["j1"]);
    assert!(!failures_in_order.is_empty());
    assert_eq!(
        k["enter"],
        "tempest.api.compute.test_server_0.Server0TestJSON.test_create_server_0"
    );
    assert_eq!(k["escClosed"], true);
    assert_eq!(k["escFocus"], k["j1"]);
    assert_eq!(k["gt"], "timeline-h");
    assert_eq!(k["help"], true);
    for key in ["j / k", "Enter", "Esc", "g t", "?"] {
        assert!(k["helpText"].as_str().unwrap().contains(key), "{key}");
    }
    assert_eq!(k["helpClosed"], true);
    assert_eq!(k["slash"], "log-search", "/ goes to the log search");

    // full-text search: the one line that holds the string, as text and as a regex;
    // its link opens the test at that line; a bad regex says so
    let show3 = "tempest.api.compute.test_server_0.Server0TestJSON.test_show_server_3";
    for key in ["search", "searchRegex"] {
        let s = &r[key];
        let groups = s["groups"].as_array().unwrap();
        assert_eq!(groups.len(), 1, "{key}: {s}");
        assert!(groups[0]["test"].as_str().unwrap().starts_with(show3));
        let lines = groups[0]["lines"].as_array().unwrap();
        assert_eq!(lines.len(), 1, "{key}: {s}");
        assert!(
            lines[0]["text"]
                .as_str()
                .unwrap()
                .starts_with("traceback:7 Details: {'code': 409, 'message': \"Port 843baee9-b578-"),
            "{s}"
        );
        assert!(
            lines[0]["href"]
                .as_str()
                .unwrap()
                .ends_with("&a=traceback&l=7")
        );
        assert!(
            s["status"]
                .as_str()
                .unwrap()
                .starts_with("1 matching line in 1 test; "),
            "{s}"
        );
    }
    assert!(
        r["searchBad"]["status"]
            .as_str()
            .unwrap()
            .starts_with("Not a valid regular expression")
    );
    assert_eq!(r["searchOpened"]["heading"], show3);
    assert_eq!(r["searchOpened"]["tab"], "traceback");
    assert!(
        r["searchOpened"]["target"]
            .as_str()
            .unwrap()
            .starts_with("7Details: {'code': 409"),
        "{}",
        r["searchOpened"]
    );
    no_violations(&r["axeLight"], "triage, light");
    no_violations(&r["axeDark"], "triage, dark");
}
