//! The subunit reader against python-subunit's own view of the reference fixtures
//! (`testdata/subunit/*/events.jsonl`), and the v1 repository reader against stestr's
//! and testrepository's own v1→v2 conversions of the same runs.

use std::fs;
use std::path::{Path, PathBuf};

use resultpipe::ingest::{self, EventSink, Format, subunit_v2};
use resultpipe::model::time::write_isoformat;
use resultpipe::model::{Event, Problem, TestRecord};
use serde_json::{Value, json};

fn dir(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/subunit")
        .join(case)
}

#[derive(Default)]
struct Events {
    events: Vec<Value>,
    text: Vec<u8>,
    problems: Vec<Problem>,
}

impl EventSink for Events {
    fn event(&mut self, ev: &Event<'_>, _offset: u64) {
        let mut m = serde_json::Map::new();
        m.insert("runnable".into(), json!(ev.runnable));
        if let Some(id) = ev.test_id {
            m.insert("test_id".into(), json!(id));
        }
        if ev.status != resultpipe::model::Status::Unknown {
            m.insert("status".into(), json!(ev.status.as_str()));
        }
        if let Some(tags) = ev.tags {
            let mut t: Vec<&str> = tags.to_vec();
            t.sort();
            t.dedup();
            m.insert("tags".into(), json!(t));
        }
        if let Some(ts) = ev.timestamp {
            let mut s = String::new();
            write_isoformat(&mut s, ts.micros_rounded());
            m.insert("timestamp".into(), json!(s));
        }
        if let Some(rc) = ev.route_code {
            m.insert("route_code".into(), json!(rc));
        }
        if let Some(f) = ev.file {
            m.insert("file_name".into(), json!(f.name));
            m.insert("file_len".into(), json!(f.data.len()));
            match std::str::from_utf8(f.data) {
                Ok(s) => m.insert("file_text".into(), json!(s)),
                Err(_) => m.insert("file_hex".into(), json!(hex(f.data))),
            };
            if f.eof {
                m.insert("eof".into(), json!(true));
            }
            if let Some(mime) = f.mime {
                m.insert("mime_type".into(), json!(mime));
            }
        }
        self.events.push(Value::Object(m));
    }
    fn passthrough(&mut self, bytes: &[u8], _offset: u64) {
        self.text.extend_from_slice(bytes);
    }
    fn problem(&mut self, problem: Problem) {
        self.problems.push(problem);
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Python's synthetic parser-error tests and its re-chunked non-subunit text are not
/// packets (ours reports the former as problems and keeps the latter as passthrough);
/// top-level `stdout` files are left out on both sides, since python cannot tell them
/// apart from injected text.
fn comparable_event(e: &Value) -> bool {
    e["test_id"] != "subunit.parser" && !(e["file_name"] == "stdout" && e.get("test_id").is_none())
}

fn python_events(case: &str) -> Vec<Value> {
    fs::read_to_string(dir(case).join("events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(comparable_event)
        .collect()
}

fn ours(case: &str) -> Events {
    let data = fs::read(dir(case).join("stream.subunit")).unwrap();
    let mut e = Events::default();
    subunit_v2::read_slice(&data, &mut e);
    e.events.retain(comparable_event);
    e
}

/// Every packet python-subunit decoded, we decode identically, in order.
fn assert_superset(case: &str, extra_ids: &[&str]) -> Events {
    let want = python_events(case);
    let got = ours(case);
    let mut it = got.events.iter();
    for w in &want {
        assert!(
            it.any(|g| g == w),
            "{case}: python's event {w} not found (in order) in ours"
        );
    }
    let extra: Vec<&Value> = got.events.iter().filter(|g| !want.contains(g)).collect();
    let extra_names: Vec<&str> = extra.iter().filter_map(|e| e["test_id"].as_str()).collect();
    assert_eq!(
        extra_names, extra_ids,
        "{case}: events we recover beyond python"
    );
    got
}

#[test]
fn valid_streams_decode_exactly_as_python() {
    for case in [
        "empty",
        "statuses",
        "attachments",
        "route-codes",
        "lenient-fields",
        "v1-converted",
        "interleaved",
    ] {
        let got = ours(case);
        let want = python_events(case);
        assert_eq!(got.events.len(), want.len(), "{case}");
        for (g, w) in got.events.iter().zip(&want) {
            assert_eq!(g, w, "{case}");
        }
        assert!(
            got.problems
                .iter()
                .all(|p| p.severity == resultpipe::model::Severity::Warning),
            "{case}: {:?}",
            got.problems
        );
    }
}

#[test]
fn interleaved_text_is_kept_byte_for_byte() {
    let got = ours("interleaved");
    let want: Vec<u8> = fs::read_to_string(dir("interleaved").join("events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["file_name"] == "stdout" && e.get("test_id").is_none())
        .flat_map(|e| match e.get("file_text") {
            Some(t) => t.as_str().unwrap().as_bytes().to_vec(),
            None => (0..e["file_hex"].as_str().unwrap().len() / 2)
                .map(|i| {
                    u8::from_str_radix(&e["file_hex"].as_str().unwrap()[2 * i..2 * i + 2], 16)
                        .unwrap()
                })
                .collect(),
        })
        .collect();
    assert_eq!(got.text, want);
}

#[test]
fn corrupt_packets_never_cost_a_valid_one() {
    // python loses ok_03 after the too-short/too-long lengths; the 4-byte-length packet has
    // a valid CRC and is kept too.
    let got = assert_superset("malformed-packets", &["pkg.T.ok_03", "pkg.T.bad_len4"]);
    assert!(got.problems.len() >= 6, "{:?}", got.problems);
    assert_superset("bad-crc", &[]);
    // python swallows this packet as text after a dangling UTF-8 lead byte
    assert_superset("dangling-utf8-lead", &["pkg.T.swallowed"]);
    // python crashes on a zero length; we recover what follows
    assert_superset(
        "ref-crash-short-length",
        &["pkg.T.after_1", "pkg.T.after_2"],
    );
    let t = assert_superset("truncated", &[]);
    assert_eq!(t.problems.len(), 1, "{:?}", t.problems);
    assert!(
        t.problems[0].to_string().contains("offset"),
        "{}",
        t.problems[0]
    );
    assert_superset("ref-crash-no-details", &[]);
    assert_superset("ref-crash-bad-utf8-traceback", &[]);
}

#[test]
fn bad_crc_problems_name_their_offsets() {
    let got = ours("bad-crc");
    assert_eq!(got.problems.len(), 2, "{:?}", got.problems);
    for p in &got.problems {
        assert!(p.to_string().starts_with("offset "), "{p}");
        assert!(p.message.contains("bad checksum"), "{p}");
    }
}

fn records(path: &Path, format: Format) -> Vec<TestRecord> {
    let mut out = Vec::new();
    ingest::read_records(
        fs::File::open(path).unwrap(),
        format,
        &mut |r| out.push(r),
        &mut |_| {},
    )
    .unwrap();
    out
}

/// The fields a v1 round trip keeps.
fn comparable(r: &TestRecord) -> Value {
    let mut tags = r.tags.clone();
    tags.sort();
    let mut atts: Vec<(String, String)> = r
        .attachments
        .iter()
        .map(|a| {
            (
                a.name.clone(),
                String::from_utf8_lossy(&a.data).into_owned(),
            )
        })
        .collect();
    atts.sort();
    json!({
        "id": r.id, "status": r.status.as_str(), "tags": tags,
        "start": r.start.map(|t| t.micros_rounded()), "stop": r.stop.map(|t| t.micros_rounded()),
        "attachments": atts,
    })
}

#[test]
fn v1_run_files_read_like_the_real_tools_convert_them() {
    let cases = [
        (
            "real-markdown-stestr/dot-stestr/2",
            "real-markdown-stestr/repo-run2-as-v2/stream.subunit",
            970,
        ),
        (
            "real-markdown-stestr/dot-stestr/3",
            "real-markdown-stestr/repo-last-as-v2/stream.subunit",
            88,
        ),
        (
            "real-fixtures-testr/dot-testrepository/0",
            "real-fixtures-testr/repo-run0-as-v2/stream.subunit",
            142,
        ),
        (
            "real-fixtures-testr/dot-testrepository/1",
            "real-fixtures-testr/repo-last-as-v2/stream.subunit",
            3,
        ),
    ];
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/subunit");
    for (v1, v2, n) in cases {
        let a = records(&base.join(v1), Format::Auto);
        let b = records(&base.join(v2), Format::V2);
        assert_eq!(a.len(), n, "{v1}");
        assert_eq!(b.len(), n, "{v2}");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(comparable(x), comparable(y), "{v1}");
        }
    }
}

#[test]
fn live_multiplexed_stream_groups_by_route_code() {
    let base = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/subunit/real-markdown-stestr/live-run2/stream.subunit");
    let recs = records(&base, Format::Auto);
    let run: Vec<&TestRecord> = recs
        .iter()
        .filter(|r| r.status != resultpipe::model::Status::Exists)
        .collect();
    assert_eq!(run.len(), 970);
    assert!(
        run.iter()
            .all(|r| r.route_code.is_some() && r.tags.iter().any(|t| t.starts_with("worker-")))
    );
    assert_eq!(
        run.iter()
            .filter(|r| r.status == resultpipe::model::Status::Skip)
            .count(),
        65
    );
}
