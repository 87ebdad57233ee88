//! The JUnit XML reader on the real reports of `testdata/junit/cases/` (80 reports from
//! real producers and public fixture suites) and the malformed variants of
//! `testdata/junit/synthetic/`, against the facts Python's expat-based ElementTree read
//! from each (`input_facts.json`, from `../shared/refdata/junit`), against python-subunit's
//! `junitxml2subunit` (its tests beside each report) and against the GitHub reporters'
//! own expected readings; the JUnit and subunit we write, read by python-subunit, lxml,
//! junitparser and JUnit's consumers' rules (`tests/junit_consumers.py`).

use std::path::Path;

use resultpipe::ingest::{self, Format, ReadReport};
use resultpipe::model::{Status, TestRecord};
use serde_json::Value;

use crate::support::testdata;

fn read(path: &Path) -> std::io::Result<(Vec<TestRecord>, ReadReport, Vec<u8>)> {
    let mut records = Vec::new();
    let mut other = Vec::new();
    let report = ingest::read_records(
        std::fs::File::open(path)?,
        Format::Auto,
        &mut |r| records.push(r),
        &mut |b| other.extend_from_slice(b),
    )?;
    Ok((records, report, other))
}

/// Runs `resultpipe ARGS... -o OUT`, which must succeed (`what` names the case).
fn convert(args: &[&std::ffi::OsStr], out: &Path, what: &str) {
    let o = crate::support::resultpipe()
        .args(args)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn facts(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("input_facts.json")).unwrap()).unwrap()
}

fn count(f: &Value, key: &str) -> usize {
    f[key].as_u64().unwrap_or(0) as usize
}

fn own(r: &TestRecord) -> bool {
    !r.tags.iter().any(|t| t == "junit:rerun")
}

#[test]
fn every_real_report_reads_with_the_testcases_and_statuses_expat_sees() {
    let mut seen = 0;
    for entry in std::fs::read_dir(testdata("junit/cases")).unwrap() {
        let dir = entry.unwrap().path();
        let f = facts(&dir);
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let input = dir.join("input.xml");
        if !input.exists() {
            continue;
        }
        seen += 1;
        let result = read(&input);
        if f["expat_wellformed"] != true {
            // malformed: never a panic; an error, or a problem saying where
            match result {
                Err(e) => assert!(!e.to_string().is_empty(), "{name}"),
                Ok((_, report, _)) => {
                    assert!(report.problem_count > 0 || report.records > 0, "{name}")
                }
            }
            continue;
        }
        if !matches!(f["root"].as_str(), Some("testsuites" | "testsuite")) {
            // well-formed XML that is not JUnit (a <suites> root, say): an error naming it
            let e = result
                .err()
                .unwrap_or_else(|| panic!("{name}: read as JUnit"));
            assert!(
                e.to_string().contains("not a JUnit XML report"),
                "{name}: {e}"
            );
            continue;
        }
        let (records, report, _) = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(report.format, Some(Format::JUnit), "{name}");
        assert_eq!(report.error_count, 0, "{name}: {:?}", report.problems);
        let cases: Vec<&TestRecord> = records.iter().filter(|r| own(r)).collect();
        assert_eq!(
            cases.len(),
            count(&f, "testcase_elements"),
            "{name}: testcases"
        );
        let reruns = records.len() - cases.len();
        let rerun_elements = count(&f, "cases_with_flakyFailure")
            + count(&f, "cases_with_flakyError")
            + count(&f, "cases_with_rerunFailure")
            + count(&f, "cases_with_rerunError");
        // each case with such children has at least one of them
        assert!(
            reruns >= rerun_elements.min(1) * usize::from(rerun_elements > 0),
            "{name}"
        );
        let failed = cases.iter().filter(|r| r.status == Status::Fail).count();
        let (fails, errors) = (
            count(&f, "cases_with_failure"),
            count(&f, "cases_with_error"),
        );
        assert!(
            failed >= fails.max(errors) && failed <= fails + errors,
            "{name}: {failed} failed, facts {fails} failure + {errors} error"
        );
        let skipped = cases.iter().filter(|r| r.status == Status::Skip).count();
        let with_skip = count(&f, "cases_with_skipped");
        assert!(skipped <= with_skip + cases.len(), "{name}");
        // a case with <skipped> and no failure/error is skipped
        assert!(
            skipped + fails + errors >= with_skip,
            "{name}: {skipped} skipped of {with_skip}"
        );
        for r in &records {
            assert!(
                r.start.is_some() && r.stop.is_some(),
                "{name}: {} untimed",
                r.id
            );
            assert!(r.stop >= r.start, "{name}: {}", r.id);
        }
    }
    assert!(seen >= 80, "{seen} reports");
}

#[test]
fn nested_suites_flaky_reruns_and_output_are_kept() {
    // PHPUnit nests suites 3 deep: all 12 testcases (python-subunit's reader: 2)
    let (records, _, _) = read(&testdata("junit/cases/dorny-phpunit/input.xml")).unwrap();
    assert_eq!(records.len(), 12);
    assert!(
        records
            .iter()
            .all(|r| r.tags.iter().any(|t| t.starts_with("suite:")))
    );
    // nextest retries: every attempt is a record, earlier ones tagged, with their output
    let (records, _, _) = read(&testdata(
        "junit/cases/own-nextest-0.9.143-retries/input.xml",
    ))
    .unwrap();
    let reruns: Vec<&TestRecord> = records.iter().filter(|r| !own(r)).collect();
    assert!(!reruns.is_empty());
    assert!(reruns.iter().all(|r| r.status == Status::Fail));
    // pytest with logging: per-case stdout and stderr attachments; errors tagged
    let (records, _, _) = read(&testdata(
        "junit/cases/own-pytest9-xunit2-logging-all/input.xml",
    ))
    .unwrap();
    assert!(records.iter().any(|r| r.attachment("stdout").is_some()));
    assert!(
        records
            .iter()
            .any(|r| r.tags.iter().any(|t| t == "junit:error"))
    );
    let fail = records.iter().find(|r| r.status == Status::Fail).unwrap();
    assert!(
        fail.attachment("traceback")
            .is_some_and(|a| !a.data.is_empty())
    );
    // the suite's hostname is each testcase's `host:` tag; its zoned timestamp is the
    // first testcase's start
    let first = &records[0];
    assert!(
        first.tags.iter().any(|t| t == "host:vm"),
        "{:?}",
        first.tags
    );
    assert!(!first.tags.iter().any(|t| t == "junit:no-zone"));
    assert_eq!(
        first.start,
        resultpipe::ingest::junit::parse_timestamp("2026-11-22T15:19:57.022185+00:00").map(|t| t.0)
    );
    // a timestamp without a zone is read as UTC and says so; suites without one carry
    // no such tag
    let (records, _, _) = read(&testdata(
        "junit/cases/jenkins-various-timestamps/input.xml",
    ))
    .unwrap();
    let naive: Vec<&TestRecord> = records
        .iter()
        .filter(|r| r.tags.iter().any(|t| t == "junit:no-zone"))
        .collect();
    assert!(!naive.is_empty() && naive.len() < records.len());
    // testcases with neither name nor classname stay apart, numbered by place
    let (records, _, _) = read(&testdata("junit/cases/enricomi-no-attributes/input.xml")).unwrap();
    let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "(testcase #1)",
            "(testcase #2)",
            "(testcase #3)",
            "(testcase #4)"
        ]
    );
}

#[test]
fn malformed_reports_keep_what_came_before_the_damage() {
    let dir = testdata("junit/synthetic");
    let full = read(&testdata("junit/cases/own-pytest9-default/input.xml"))
        .unwrap()
        .0
        .len();
    for (case, want) in [
        ("bom-utf8", Some(full)),
        ("crlf", Some(full)),
        ("time-missing", Some(full)),
        ("time-with-commas", Some(full)),
        ("time-odd-values", Some(full)),
        ("raw-control-chars", Some(full)),
        ("latin1-declared", Some(full)),
        ("latin1-undeclared", Some(full)),
        ("huge-system-out", Some(full)),
        ("doctype-external-entity", Some(full)),
        ("concatenated-documents", Some(2 * full)),
        ("two-root-elements", Some(2 * full)),
        ("truncated", None),
    ] {
        let (records, report, _) =
            read(&dir.join(case).join("input.xml")).unwrap_or_else(|e| panic!("{case}: {e}"));
        match want {
            Some(n) => assert_eq!(records.len(), n, "{case}: {:?}", report.problems),
            None => assert!(!records.is_empty() && records.len() < 2 * full, "{case}"),
        }
        if case == "truncated" {
            assert!(records.len() < full);
            let p = &report.problems[0];
            assert!(
                p.message.contains("truncated") && p.message.contains("kept"),
                "{p:?}"
            );
        }
    }
    // what the fuzzer found stays fixed (no panic)
    for entry in std::fs::read_dir(testdata("junit/fuzz")).unwrap() {
        let path = entry.unwrap().path();
        let _ = read(&path);
    }
    // a report with no testcase, or an empty file, converts to nothing: exit 2, no file
    // (an empty stream or report downstream would look green); --allow-empty writes it
    let tmp = tempfile::tempdir().unwrap();
    for input in [
        "junit/synthetic/empty-file/input.xml",
        "junit/cases/dorny-jest-empty-testsuite/input.xml",
    ] {
        for cmd in ["subunit", "junit"] {
            let out = tmp.path().join(format!("{cmd}-{}", input.len()));
            let o = crate::support::resultpipe()
                .args([cmd, "-o"])
                .arg(&out)
                .arg(testdata(input))
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{cmd} {input}: {err}");
            assert!(
                err.contains("no test results in") && err.contains(input),
                "{err}"
            );
            assert!(!out.exists(), "{cmd} {input}: wrote {}", out.display());
            let o = crate::support::resultpipe()
                .args([cmd, "--allow-empty", "-o"])
                .arg(&out)
                .arg(testdata(input))
                .output()
                .unwrap();
            assert!(
                o.status.success() && out.exists(),
                "{cmd} {input} --allow-empty"
            );
        }
    }
    // not JUnit at all: an error that says so
    let e = ingest::read_records(
        &b"<html><body>502 Bad Gateway</body></html>"[..],
        Format::Auto,
        &mut |_| {},
        &mut |_| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("not a JUnit XML report"), "{e}");
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(200))]

    /// Cut anywhere, a report keeps every testcase that ended before the cut (and never
    /// one that did not); a byte changed anywhere never panics the reader.
    #[test]
    fn cut_or_damaged_reports_keep_what_came_before(
        case in 0usize..4,
        at in 0.0f64..1.0,
        byte in proptest::num::u8::ANY,
    ) {
        let name = [
            "own-pytest9-xunit2-logging-all",
            "own-nextest-0.9.143-retries",
            "dorny-phpunit",
            "own-surefire-2.22.3-rerun",
        ][case];
        let data = std::fs::read(testdata(&format!("junit/cases/{name}/input.xml"))).unwrap();
        let cut = ((data.len() as f64) * at) as usize;
        let ended = data[..cut].windows(11).filter(|w| *w == b"</testcase>").count()
            + data[..cut]
                .windows(2)
                .enumerate()
                .filter(|(i, w)| *w == b"/>" && data[..*i].rsplit(|b| *b == b'<').next().is_some_and(|t| t.starts_with(b"testcase")))
                .count();
        let mut cases = 0usize;
        let _ = ingest::read_records(&data[..cut], Format::Auto, &mut |r| {
            if own(&r) {
                cases += 1;
            }
        }, &mut |_| {});
        proptest::prop_assert!(cases <= ended + 1, "{name} cut at {cut}: {cases} > {ended}");
        proptest::prop_assert!(cases + 1 >= ended, "{name} cut at {cut}: {cases} < {ended}");
        let mut damaged = data.clone();
        if !damaged.is_empty() {
            let i = cut.min(damaged.len() - 1);
            damaged[i] = byte;
        }
        let _ = ingest::read_records(&damaged[..], Format::Auto, &mut |_| {}, &mut |_| {});
    }
}

/// python-subunit's own reader (`subunit-ls`, `subunit-stats` from PyPI) on what
/// `resultpipe subunit` writes of a report.
fn python_subunit(tool: &str, stream: &Path) -> String {
    let o = std::process::Command::new(tool)
        .arg("--no-passthrough")
        .stdin(std::fs::File::open(stream).unwrap())
        .output()
        .unwrap_or_else(|e| {
            panic!("{tool} (pip install python-subunit; scripts/test.sh does): {e}")
        });
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Every real and synthetic report that has testcases, as `resultpipe subunit` writes
/// it: read back the same by us, and read by python-subunit (`subunit-ls`,
/// `subunit-stats`, run once on all the streams one after the other) with every id and
/// the same counts.
#[test]
fn junit_to_subunit_is_read_by_python_subunit_and_back_by_us() {
    let tmp = tempfile::tempdir().unwrap();
    let all = tmp.path().join("all.subunit");
    let mut concatenated = Vec::new();
    let (mut ids, mut total, mut failed) = (Vec::new(), 0, 0);
    let mut converted = 0;
    for kind in ["cases", "synthetic"] {
        for entry in std::fs::read_dir(testdata(&format!("junit/{kind}"))).unwrap() {
            let input = entry.unwrap().path().join("input.xml");
            let case = input.display().to_string();
            let Ok((records, _, _)) = read(&input) else {
                continue; // not JUnit: tested above
            };
            if records.is_empty() {
                continue; // nothing to write: tested above
            }
            converted += 1;
            let stream = tmp.path().join("one.subunit");
            convert(&["subunit".as_ref(), input.as_ref()], &stream, &case);
            // our reader reads back the same records
            let (back, report, _) = read(&stream).unwrap();
            assert_eq!(report.format, Some(Format::V2));
            assert_eq!(
                back.len(),
                records.len(),
                "{case}: records after the round trip"
            );
            for (b, r) in back.iter().zip(&records) {
                assert!(b == r, "{case}: after the round trip\n{b:?}\nwas\n{r:?}");
            }
            // (subunit-ls prints ids a line each: an id with newlines spans lines)
            ids.extend(records.iter().flat_map(|r| r.id.lines().map(str::to_owned)));
            total += records.len();
            failed += records.iter().filter(|r| r.status == Status::Fail).count();
            concatenated.extend(std::fs::read(&stream).unwrap());
        }
    }
    assert!(converted >= 85, "{converted} reports");
    std::fs::write(&all, &concatenated).unwrap();
    let mut py: Vec<String> = python_subunit("subunit-ls", &all)
        .lines()
        .map(str::to_owned)
        .collect();
    ids.sort();
    ids.dedup();
    py.sort();
    py.dedup();
    assert_eq!(py, ids, "subunit-ls");
    let stats = python_subunit("subunit-stats", &all);
    let stat = |label: &str| -> usize {
        stats
            .lines()
            .find_map(|l| l.strip_prefix(label))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {label} in {stats}"))
    };
    assert_eq!(stat("Total tests:"), total, "{stats}");
    assert_eq!(stat("Failed tests:"), failed, "{stats}");
}

/// What a record is in a round trip: id, status, worker, tags (those JUnit readers add
/// left out) and traceback text.
fn essence(r: &TestRecord) -> (String, Status, Option<String>, Vec<String>, String) {
    let mut tags: Vec<String> = r
        .tags
        .iter()
        .filter(|t| !t.starts_with("suite:") && !t.starts_with("junit:"))
        .cloned()
        .collect();
    tags.sort();
    // the traceback as the run model finds it (`traceback`, or e.g. a subtest's
    // `traceback (i=2)`): JUnit has one failure text, read back as `traceback`
    let tb = r
        .traceback()
        .map(|a| String::from_utf8_lossy(&a.data).trim().to_owned())
        .unwrap_or_default();
    (r.id.clone(), r.status, r.route_code.clone(), tags, tb)
}

/// Subunit runs of every kind (all statuses, attachments, two workers, tempest, a
/// triage run with reruns) that the JUnit writer's tests write.
const SUBUNIT_RUNS: [&str; 5] = [
    "subunit/statuses/stream.subunit",
    "subunit/attachments/stream.subunit",
    "stackviz/own_stestr_2workers/input/testrepository.subunit",
    "stackviz/tempest_fixture/input/tempest.subunit",
    "report/triage-s1.subunit",
];

#[test]
fn subunit_to_junit_to_records_keeps_ids_statuses_attempts_tags_and_text() {
    let tmp = tempfile::tempdir().unwrap();
    for input in SUBUNIT_RUNS {
        let path = testdata(input);
        let (records, _, other) = read(&path).unwrap();
        let xml = tmp.path().join("out.xml");
        convert(&["junit".as_ref(), path.as_ref()], &xml, input);
        // well-formed for an independent parser (Python's expat)
        let o = std::process::Command::new("python3")
            .args([
                "-c",
                "import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])",
            ])
            .arg(&xml)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{input}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let (back, report, back_other) = read(&xml).unwrap();
        assert_eq!(report.format, Some(Format::JUnit));
        // the output that belonged to no test comes back as such
        assert_eq!(
            String::from_utf8_lossy(&back_other),
            String::from_utf8_lossy(&other),
            "{input}"
        );
        // the same records: every attempt's id, status and traceback; the last attempt's
        // worker and tags too (JUnit has properties per testcase, not per rerun)
        let finals = |rs: &[TestRecord]| {
            let mut last: std::collections::BTreeMap<String, &TestRecord> = Default::default();
            let mut all: Vec<(String, Status, String)> = Vec::new();
            for r in rs.iter().filter(|r| r.status.is_final()) {
                let e = essence(r);
                all.push((e.0.clone(), e.1, e.4));
                let keep = last.get(&r.id).is_none_or(|l| l.start <= r.start);
                if keep {
                    last.insert(r.id.clone(), r);
                }
            }
            all.sort();
            let last: Vec<_> = last.values().map(|r| essence(r)).collect();
            (all, last)
        };
        let (want_all, want_last) = finals(&records);
        let (got_all, got_last) = finals(&back);
        assert_eq!(got_all.len(), want_all.len(), "{input}");
        for (g, w) in got_all.iter().zip(&want_all) {
            assert_eq!(g, w, "{input}");
        }
        for (g, w) in got_last.iter().zip(&want_last) {
            assert_eq!(g, w, "{input}");
        }
        // stdout and every other attachment's text is in the test's system-out
        for r in records.iter().filter(|r| r.status.is_final()) {
            let b = back
                .iter()
                .find(|b| b.id == r.id && b.start == r.start)
                .unwrap_or_else(|| panic!("{input}: {} at {:?}", r.id, r.start));
            for a in r
                .attachments
                .iter()
                .filter(|a| !matches!(a.name.as_str(), "traceback" | "reason" | "stderr"))
            {
                // binary attachments go as base64: their text is not expected
                let Ok(text) = std::str::from_utf8(&a.data) else {
                    continue;
                };
                if text
                    .chars()
                    .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
                {
                    continue;
                }
                let out = b
                    .attachment("stdout")
                    .map(|s| String::from_utf8_lossy(&s.data).into_owned())
                    .unwrap_or_default();
                assert!(
                    out.contains(text.trim()),
                    "{input}: {} lost {}",
                    r.id,
                    a.name
                );
            }
        }
    }
}

#[test]
fn junit_to_subunit_to_junit_keeps_the_report() {
    let tmp = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for entry in std::fs::read_dir(testdata("junit/cases")).unwrap() {
        let dir = entry.unwrap().path();
        let case = dir.file_name().unwrap().to_string_lossy().into_owned();
        let input = dir.join("input.xml");
        match read(&input) {
            Ok((records, report, _)) if report.error_count == 0 && !records.is_empty() => {}
            _ => continue, // not JUnit, damaged or empty: tested above
        }
        checked += 1;
        let stream = tmp.path().join("s.subunit");
        let xml = tmp.path().join("back.xml");
        for (cmd, from, to) in [("subunit", &input, &stream), ("junit", &stream, &xml)] {
            convert(&[cmd.as_ref(), from.as_ref()], to, &format!("{case} {cmd}"));
        }
        let (first, _, _) = read(&input).unwrap();
        let (back, _, _) = read(&xml).unwrap();
        let key = |r: &TestRecord| {
            let (id, status, _, _, tb) = essence(r);
            let out = r.attachment("stdout").map(|a| !a.data.is_empty());
            (id, status, tb, out, r.duration_micros().map(|d| d / 1000))
        };
        let mut a: Vec<_> = first.iter().map(key).collect();
        let mut b: Vec<_> = back.iter().map(key).collect();
        a.sort();
        b.sort();
        assert_eq!(a, b, "{case}");
    }
    assert!(checked >= 70, "{checked} reports");
}

/// `junit --format subunit2junitxml` against what python-subunit 1.4.6's
/// `subunit2junitxml --no-passthrough` (junitxml 0.7) wrote for the same streams
/// (`testdata/junit/subunit2xml/`).
#[test]
fn subunit2junitxml_format_is_python_subunits_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let mut same = 0;
    for entry in std::fs::read_dir(testdata("junit/subunit2xml")).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let case = dir.file_name().unwrap().to_string_lossy().into_owned();
        let out = tmp.path().join(format!("{case}.xml"));
        // (--allow-empty: a v1 text stream is no subunit v2 to that tool, so it writes a
        // report without tests, which we refuse by default)
        convert(
            &[
                "junit".as_ref(),
                "--format".as_ref(),
                "subunit2junitxml".as_ref(),
                "--allow-empty".as_ref(),
                dir.join("input.subunit").as_ref(),
            ],
            &out,
            &case,
        );
        let ours = std::fs::read_to_string(&out).unwrap();
        let theirs = std::fs::read_to_string(dir.join("subunit2junitxml-nopass.xml")).unwrap();
        assert!(
            ours == theirs,
            "{case}: differs from subunit2junitxml:\n{ours}\n---\n{theirs}"
        );
        same += 1;
    }
    assert_eq!(same, 9);
    // without --allow-empty, the v1 stream is refused, saying why
    let o = crate::support::resultpipe()
        .args(["junit", "--format", "subunit2junitxml"])
        .arg(testdata(
            "junit/subunit2xml/v1-text-passthrough/input.subunit",
        ))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("reads subunit v2 only"), "{err}");
}

/// Our reading of the `enricomi-*` fixtures against EnricoMi's
/// publish-unit-test-result-action's own expected parse of each (a GitHub reporter's
/// view, `upstream-expected.results.json`): runs by state.
#[test]
fn the_github_reporters_fixtures_read_as_it_reads_them() {
    let mut checked = 0;
    for entry in std::fs::read_dir(testdata("junit/cases")).unwrap() {
        let dir = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let Ok(text) = std::fs::read_to_string(dir.join("upstream-expected.results.json")) else {
            continue;
        };
        let stats: Value = serde_json::from_str::<Value>(&text).unwrap()["stats"].clone();
        let n = |k: &str| stats[k].as_i64().unwrap();
        let Ok((records, _, _)) = read(&dir.join("input.xml")) else {
            // the action reports a parse error for it too
            assert!(!stats["errors"].as_array().unwrap().is_empty(), "{name}");
            checked += 1;
            continue;
        };
        let cases: Vec<&TestRecord> = records.iter().filter(|r| own(r)).collect();
        let count = |f: &dyn Fn(&TestRecord) -> bool| cases.iter().filter(|r| f(r)).count() as i64;
        let error = |r: &TestRecord| r.tags.iter().any(|t| t == "junit:error");
        let ours = (
            cases.len() as i64,
            count(&|r| r.status == Status::Success),
            count(&|r| matches!(r.status, Status::Skip | Status::XFail)),
            count(&|r| r.status == Status::Fail && !error(r)),
            count(&|r| r.status == Status::Fail && error(r)),
        );
        let theirs = (
            n("runs"),
            n("runs_succ"),
            n("runs_skip"),
            n("runs_fail"),
            n("runs_error"),
        );
        match name.as_str() {
            // a testcase with several result elements: the action counts each element
            // as a result (so "-2 passed"); we take the strongest (failure > error >
            // skipped), one result per testcase
            "enricomi-multiresult" => assert_eq!(ours.0, theirs.0, "{name}: {ours:?} {theirs:?}"),
            // a suite with counts and no testcase: the action reports the counts; we
            // cannot make up tests, so the run is empty (never green) and says why
            "enricomi-no-cases-but-tests" => {
                assert_eq!(ours.0, 0);
                let (_, report, _) = read(&dir.join("input.xml")).unwrap();
                assert!(
                    report
                        .problems
                        .iter()
                        .any(|p| p.message.contains("says it has 6 test(s)")),
                    "{:?}",
                    report.problems
                );
            }
            // `status="disabled"` (GoogleTest, Catch2) with no child: the action, like
            // Jenkins and GitLab, sees no failure or skip element and counts a pass; a
            // disabled test did not run, so we count it skipped (as mikepenz's
            // action does)
            "enricomi-tst-disabled" => {
                let xml = std::fs::read_to_string(dir.join("input.xml")).unwrap();
                let disabled = xml.matches("status='disabled'").count() as i64;
                assert!(disabled > 0);
                assert_eq!(
                    (ours.0, ours.1 + disabled, ours.2 - disabled, ours.3, ours.4),
                    theirs,
                    "{name}"
                );
            }
            _ => assert_eq!(ours, theirs, "{name}"),
        }
        checked += 1;
    }
    assert!(checked >= 15, "{checked}");
}

/// A way our reading of a report differs from python-subunit 1.4.6's `junitxml2subunit`
/// (its tests, read with python-subunit's own parser, are in
/// `py-junitxml2subunit.tests.json` beside each input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum VsPython {
    /// Testcases in nested suites: it reads only the testcases directly in the root
    /// suite or in the root's child suites (PHPUnit: 2 of 12); we read every depth.
    Nested,
    /// A testcase without a `name`: it drops it without a word, even a failing one
    /// (Surefire's failed `@BeforeAll` has only a classname); we keep it, named by its
    /// classname, or `suite.(testcase #N)` when it has neither.
    Unnamed,
    /// A report expat refuses (truncated, two roots, raw control characters, an
    /// undeclared Latin-1 byte, an external entity) or that crashes it (`time="NaN"`):
    /// it writes nothing, or what came before the crash, and fails; we keep every
    /// testcase we can read and report the damage with its byte offset.
    TheyFail,
    /// XML that is not JUnit (a `<suites>` root; Jenkins' XXE probe, an `<r>` root with
    /// an external entity): it exits 0 with no test, or fails on the entity; we refuse
    /// it, naming the root element (exit 2).
    NotJUnit,
    /// `status="disabled"` (GoogleTest, Catch2) with no child: it sees a success; the
    /// test did not run, so we count it skipped.
    Disabled,
    /// pytest's `<skipped type="pytest.xfail">`: a skip to it; an expected failure to
    /// us (subunit's `xfail`).
    XFail,
    /// `time="1,234.567"` (Surefire 2.x): 0 s to it; 1234.567 s to us, as Jenkins reads.
    GroupedTime,
    /// `time="-345345"`: a test that ends before it starts, to it; 0 s to us (Jenkins
    /// clamps at 0 too).
    NegativeTime,
    /// Anything else: a test it reads that we lose, or a difference nobody stated.
    Unexplained,
}

/// Where we differ from python-subunit's `junitxml2subunit`, per report, and how many
/// tests each way; every report not listed reads test for test the same (ids,
/// statuses, durations to the millisecond).
const VS_PYTHON: &[(&str, &[(VsPython, usize)])] = {
    use VsPython::*;
    const PYTEST: &[(VsPython, usize)] = &[(XFail, 2)];
    &[
        ("dorny-bun-nested-testsuites", &[(Nested, 2)]),
        ("dorny-phpunit", &[(Nested, 10)]),
        ("enricomi-corrupt-xml", &[(TheyFail, 1)]),
        ("enricomi-no-attributes", &[(Unnamed, 4)]),
        ("enricomi-non-junit", &[(NotJUnit, 1)]),
        ("enricomi-testsuite-in-testsuite", &[(Nested, 4)]),
        ("enricomi-testsuite-root", &[(Nested, 4)]),
        ("enricomi-tst-disabled", &[(Disabled, 5)]),
        ("j2s-crate-no-id", &[(Unnamed, 1)]),
        ("jenkins-bad-duration", &[(NegativeTime, 1)]),
        ("jenkins-empty-testcasename", &[(Unnamed, 1)]),
        ("jenkins-nested-testsuites", &[(Nested, 2)]),
        ("jenkins-time-attrs", &[(Nested, 3)]),
        ("jenkins-various-timestamps", &[(Nested, 3)]),
        ("jenkins-xxe-doctype", &[(NotJUnit, 1)]),
        ("mikepenz-disabled", &[(Disabled, 10)]),
        ("mikepenz-summary-escaping", &[(Nested, 1)]),
        ("own-pytest9-default", PYTEST),
        ("own-pytest9-xunit1-logging-all", PYTEST),
        ("own-pytest9-xunit2-logging-all", PYTEST),
        ("testmo-junit-basic-nested", &[(Nested, 3)]),
        // the synthetic variants of own-pytest9-default
        ("bom-utf8", PYTEST),
        ("crlf", PYTEST),
        ("huge-system-out", PYTEST),
        ("latin1-declared", PYTEST),
        ("time-missing", PYTEST),
        ("time-with-commas", &[(XFail, 2), (GroupedTime, 1)]),
        ("concatenated-documents", &[(TheyFail, 38)]),
        ("doctype-external-entity", &[(TheyFail, 19)]),
        ("latin1-undeclared", &[(TheyFail, 19)]),
        ("raw-control-chars", &[(TheyFail, 19)]),
        ("truncated", &[(TheyFail, 12)]),
        ("two-root-elements", &[(TheyFail, 38)]),
        ("time-odd-values", &[(TheyFail, 18)]),
    ]
};

/// python-subunit names a testcase `classname::name`; we name it `classname.name`
/// (or `name` when it already starts with the class). A class may hold `::` itself
/// (nextest's `crate::module`), so every split is tried.
fn python_id_to_ours(id: &str, ours: &std::collections::HashSet<&str>) -> String {
    for (i, _) in id.match_indices("::") {
        let (class, name) = (&id[..i], &id[i + 2..]);
        let joined = if name.starts_with(class) {
            name.to_owned()
        } else {
            format!("{class}.{name}")
        };
        if ours.contains(joined.as_str()) {
            return joined;
        }
    }
    id.to_owned()
}

/// What differs between our reading of the report in `dir` and python-subunit's.
fn versus_python(dir: &Path) -> std::collections::BTreeMap<VsPython, usize> {
    use std::collections::{BTreeMap, HashMap, HashSet};
    let mut out = BTreeMap::new();
    let mut add = |k: VsPython| *out.entry(k).or_insert(0) += 1;
    let theirs: Vec<Value> = std::fs::read_to_string(dir.join("py-junitxml2subunit.tests.json"))
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or_default();
    let they_failed = dir.join("py-junitxml2subunit.stderr").exists();
    let records = match read(&dir.join("input.xml")) {
        Ok((records, _, _)) => records,
        Err(e) => {
            // we refuse it: it must have found no test either
            assert!(theirs.is_empty(), "{}: {e}", dir.display());
            add(VsPython::NotJUnit);
            return out;
        }
    };
    // python-subunit ignores reruns: its tests are the testcases, which are our records
    // without `junit:rerun`, paired in order when a testcase appears more than once
    let mut by_id: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, r) in records.iter().enumerate().filter(|(_, r)| own(r)) {
        by_id.entry(r.id.as_str()).or_default().push(i);
    }
    let ids: HashSet<&str> = by_id.keys().copied().collect();
    let mut matched = HashSet::new();
    for t in &theirs {
        let id = python_id_to_ours(t["id"].as_str().unwrap(), &ids);
        let next = by_id.get_mut(id.as_str()).and_then(|v| {
            let i = *v.first()?;
            v.remove(0);
            Some(i)
        });
        let Some(i) = next else {
            add(VsPython::Unexplained);
            continue;
        };
        matched.insert(i);
        let r = &records[i];
        let status = t["status"].as_str().unwrap();
        let disabled = r
            .attachment("properties")
            .is_some_and(|a| a.data.windows(15).any(|w| w == b"status=disabled"));
        match (status, r.status.as_str()) {
            (a, b) if a == b => {}
            ("success", "skip") if disabled => add(VsPython::Disabled),
            ("skip", "xfail") => add(VsPython::XFail),
            _ => add(VsPython::Unexplained),
        }
        let theirs = t["duration"].as_f64().unwrap();
        let ours = r.duration_secs().unwrap();
        if (theirs - ours).abs() > 0.0011 {
            add(if theirs == 0.0 && ours >= 1000.0 {
                VsPython::GroupedTime
            } else if theirs < 0.0 && ours == 0.0 {
                VsPython::NegativeTime
            } else {
                VsPython::Unexplained
            });
        }
    }
    for (i, r) in records.iter().enumerate().filter(|(_, r)| own(r)) {
        if matched.contains(&i) {
            continue;
        }
        let nested = r
            .tags
            .iter()
            .any(|t| t.starts_with("suite:") && t.contains('/'));
        let class_level = r
            .tags
            .iter()
            .any(|t| t.strip_prefix("suite:") == Some(&r.id));
        add(if r.id.contains("(testcase #") || class_level {
            VsPython::Unnamed
        } else if they_failed {
            VsPython::TheyFail
        } else if nested {
            VsPython::Nested
        } else {
            VsPython::Unexplained
        });
    }
    out
}

#[test]
fn every_report_against_python_subunits_junitxml2subunit() {
    let mut compared = 0;
    let mut listed = std::collections::HashSet::new();
    for kind in ["cases", "synthetic"] {
        for entry in std::fs::read_dir(testdata(&format!("junit/{kind}"))).unwrap() {
            let dir = entry.unwrap().path();
            if !dir.join("input.xml").exists() {
                continue;
            }
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            if name == "empty-file" {
                continue; // nothing to compare: neither reads a test (tested above)
            }
            let stated: std::collections::BTreeMap<VsPython, usize> = VS_PYTHON
                .iter()
                .find(|(case, _)| *case == name)
                .map(|(case, d)| {
                    listed.insert(*case);
                    d.iter().copied().collect()
                })
                .unwrap_or_default();
            assert_eq!(versus_python(&dir), stated, "{kind}/{name}");
            compared += 1;
        }
    }
    assert!(compared >= 93, "{compared} reports");
    assert_eq!(listed.len(), VS_PYTHON.len(), "a listed report is missing");
}

/// How JUnit's consumers read `xml` (`tests/junit_consumers.py`: lxml, strict, and
/// junitparser from PyPI; Jenkins', GitLab's, dorny's and mikepenz's reading rules).
fn consumers(xml: &Path) -> Value {
    let o = std::process::Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/junit_consumers.py"))
        .arg(xml)
        .output()
        .expect("python3");
    assert!(
        o.status.success(),
        "{} (pip install -r tests/requirements.txt; scripts/test.sh does): {}",
        xml.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The XML `resultpipe junit` writes, read by lxml and junitparser and by the rules of
/// Jenkins, GitLab and the GitHub reporters (dorny/test-reporter reads one level of
/// suites and counts errors as failures; mikepenz/action-junit-report counts
/// flaky/rerun elements as retries): each sees every test once, with the state we
/// gave it, the counts on the suites are the counts of their testcases, and the
/// names are our ids.
#[test]
fn our_junit_is_read_by_the_consumers_as_we_wrote_it() {
    use std::collections::BTreeMap;
    let tmp = tempfile::tempdir().unwrap();
    for input in SUBUNIT_RUNS.into_iter().chain([
        "junit/cases/own-nextest-0.9.143-retries/input.xml",
        "junit/cases/own-surefire-2.22.3-rerun/input.xml",
        "junit/cases/own-pytest9-xunit2-logging-all/input.xml",
        "junit/cases/mikepenz-flaky-retries-success-first/input.xml",
        "junit/cases/dorny-phpunit/input.xml",
        "junit/cases/enricomi-unsupported-unicode/input.xml",
        "junit/synthetic/raw-control-chars/input.xml",
    ]) {
        let path = testdata(input);
        let (records, _, _) = read(&path).unwrap();
        let xml = tmp.path().join("out.xml");
        convert(&["junit".as_ref(), path.as_ref()], &xml, input);
        let seen = consumers(&xml);
        // what we wrote: each test's last attempt decides, earlier ones are retries
        let mut last: BTreeMap<&str, &TestRecord> = BTreeMap::new();
        for r in &records {
            last.insert(r.id.as_str(), r);
        }
        let mut want: BTreeMap<&str, i64> = BTreeMap::new();
        for r in last.values() {
            let error = r.tags.iter().any(|t| t == "junit:error");
            let state = match r.status {
                Status::Success => "passed",
                Status::Skip | Status::XFail => "skipped",
                Status::Fail if !error => "failed",
                Status::UxSuccess => "failed",
                _ => "errors",
            };
            *want.entry(state).or_insert(0) += 1;
        }
        let n = |k: &str| want.get(k).copied().unwrap_or(0);
        let tests = last.len() as i64;
        // XML 1.0 cannot hold most control characters: we write U+FFFD for them
        let ids: Vec<String> = last
            .keys()
            .map(|id| {
                id.chars()
                    .map(|c| match c {
                        '\t' | '\n' | '\r' => c,
                        c if (c as u32) < 0x20 => '\u{FFFD}',
                        c => c,
                    })
                    .collect()
            })
            .collect();
        // earlier attempts that failed (JUnit has no element for an earlier pass)
        let retries = records
            .iter()
            .filter(|r| r.status != Status::Success)
            .count() as i64
            - last
                .values()
                .filter(|r| r.status != Status::Success)
                .count() as i64;
        assert_eq!(seen["root"], "testsuites", "{input}");
        for consumer in ["jenkins", "gitlab", "junitparser"] {
            let v = &seen[consumer];
            let got = [
                &v["tests"],
                &v["passed"],
                &v["failed"],
                &v["errors"],
                &v["skipped"],
            ]
            .map(|x| x.as_i64().unwrap());
            let expected = [tests, n("passed"), n("failed"), n("errors"), n("skipped")];
            assert_eq!(got, expected, "{input}: {consumer}: {v}");
        }
        // failure and error are one state to the GitHub reporters
        for consumer in ["dorny", "mikepenz"] {
            let v = &seen[consumer];
            let got = [&v["tests"], &v["passed"], &v["failed"], &v["skipped"]]
                .map(|x| x.as_i64().unwrap());
            let expected = [tests, n("passed"), n("failed") + n("errors"), n("skipped")];
            assert_eq!(got, expected, "{input}: {consumer}: {v}");
        }
        assert_eq!(seen["mikepenz"]["retries"], retries, "{input}");
        for consumer in ["mikepenz", "junitparser"] {
            let got: Vec<&str> = seen[consumer]["ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap())
                .collect();
            assert_eq!(got, ids, "{input}: {consumer} names the tests otherwise");
        }
        let declared = &seen["junitparser"]["declared"];
        assert_eq!(
            [
                &declared["tests"],
                &declared["failures"],
                &declared["errors"],
                &declared["skipped"]
            ]
            .map(|x| x.as_i64().unwrap()),
            [tests, n("failed"), n("errors"), n("skipped")],
            "{input}: the suites' counts"
        );
    }
}

/// pytest's parametrized tests (`test_param[small]`, `[zero]`, ...) are tests of their
/// own in the summary, not attempts of one `test_param`: as many tests as expat counts
/// testcases.
#[test]
fn parametrized_tests_are_counted_apart() {
    let dir = testdata("junit/cases/own-pytest9-default");
    let o = crate::support::resultpipe()
        .arg("summary")
        .arg(dir.join("input.xml"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    let cases = count(&facts(&dir), "testcase_elements");
    assert!(out.starts_with(&format!("{cases} tests: ")), "{out}");
    assert!(out.contains("test_param[neg"), "{out}");
}
