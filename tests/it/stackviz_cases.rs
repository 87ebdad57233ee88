//! The golden cases of both stackviz layouts (outputs of the real tools, copied from
//! `../shared/refdata` into `testdata/`), plus the cases where ours deliberately differs:
//! the real tools' crashes, repositories and same-named inputs.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_stackviz-export")
}

struct Run {
    rc: i32,
    stdout: String,
    stderr: String,
    out: tempfile::TempDir,
}

impl Run {
    fn path(&self) -> PathBuf {
        self.out.path().join("out")
    }
    fn read(&self, name: &str) -> Vec<u8> {
        read_maybe_gz(&self.path().join(name))
    }
    fn json(&self, name: &str) -> Value {
        serde_json::from_slice(&self.read(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }
    fn files(&self) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(self.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

fn read_maybe_gz(p: &Path) -> Vec<u8> {
    let data = fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    if p.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&data[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        data
    }
}

fn run(cwd: &Path, args: &[&str], stdin: Option<&Path>, env: &[(String, String)]) -> Run {
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("out");
    let mut cmd = Command::new(bin());
    for a in args {
        cmd.arg(if *a == "OUT" {
            target.as_os_str()
        } else {
            a.as_ref()
        });
    }
    cmd.current_dir(cwd)
        .env_remove("ZUUL_PROJECT")
        .env_remove("JOB_NAME")
        .env("CI", "true");
    for k in ["ZUUL_CHANGE", "ZUUL_PATCHSET", "ZUUL_PIPELINE"] {
        cmd.env_remove(k);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(match stdin {
        Some(p) => Stdio::from(fs::File::open(p).unwrap()),
        None => Stdio::null(),
    });
    let o = cmd.output().unwrap();
    Run {
        rc: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        out,
    }
}

/// JSON as data, every `tags` list as a set; seed configs' `tempest` entries matched by
/// their `raw` file name with `id` ignored (their order followed Python 2 hashing).
fn norm(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = serde_json::Map::new();
            for (k, v) in m {
                let v = match (k.as_str(), v) {
                    ("tags", Value::Array(mut a)) => {
                        a.sort_by_key(|x| x.to_string());
                        Value::Array(a)
                    }
                    ("tempest", Value::Array(a)) => {
                        let mut a: Vec<Value> = a
                            .into_iter()
                            .map(|mut e| {
                                e.as_object_mut().map(|o| o.remove("id"));
                                norm(e)
                            })
                            .collect();
                        a.sort_by_key(|e| e["raw"].to_string());
                        Value::Array(a)
                    }
                    (_, v) => norm(v),
                };
                out.insert(k, v);
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.into_iter().map(norm).collect()),
        v => v,
    }
}

fn load_cases(dir: &str) -> Vec<Value> {
    let text = fs::read_to_string(testdata().join(dir).join("cases.json")).unwrap();
    serde_json::from_str::<Vec<Value>>(&text).unwrap()
}

fn case_env(case: &Value) -> Vec<(String, String)> {
    case["env"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn run_case(dir: &str, case: &Value, extra: &[&str]) -> Run {
    let cdir = testdata().join(dir).join(case["case"].as_str().unwrap());
    let mut args: Vec<&str> = extra.to_vec();
    args.extend(
        case["argv"].as_array().unwrap()[1..]
            .iter()
            .map(|a| a.as_str().unwrap()),
    );
    let stdin = case["stdin"].as_str().map(|s| cdir.join(s));
    run(
        &cdir.join(case["cwd"].as_str().unwrap()),
        &args,
        stdin.as_deref(),
        &case_env(case),
    )
}

/// The one deliberate difference inside otherwise byte-identical cases: `exists`
/// enumeration packets are a listing, not results, so ours exports no record for them
/// (the real tool writes a zero-length `exists` record). The expected files are
/// compared with those records taken out: raw rows with status `exists`, details of
/// tests that were only listed, tree leaves, and the stats' count. Everything else,
/// down to start, end, failures and skips, must still equal the real tool's.
struct Enumeration {
    /// Names that appear only as `exists` rows.
    listed_only: std::collections::HashSet<String>,
    /// `exists` rows.
    rows: u64,
}

impl Enumeration {
    fn of(exp_dir: &Path) -> Enumeration {
        let mut e = Enumeration {
            listed_only: Default::default(),
            rows: 0,
        };
        let mut ran = std::collections::HashSet::new();
        for f in fs::read_dir(exp_dir).unwrap() {
            let f = f.unwrap().path();
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            let name = name.trim_end_matches(".gz");
            if !(name.ends_with("-raw.json") || name.ends_with("_raw.json")) {
                continue;
            }
            let raw: Vec<Value> = serde_json::from_slice(&read_maybe_gz(&f)).unwrap();
            for r in raw {
                let n = r["name"].as_str().unwrap().to_owned();
                if r["status"] == "exists" {
                    e.rows += 1;
                    e.listed_only.insert(n);
                } else {
                    ran.insert(n);
                }
            }
        }
        e.listed_only.retain(|n| !ran.contains(n));
        e
    }

    fn applies(&self) -> bool {
        self.rows > 0
    }

    /// The expected file `name` without the enumeration.
    fn strip(&self, name: &str, v: Value) -> Value {
        let plain = name.trim_end_matches(".gz");
        match v {
            Value::Array(rows) if plain.ends_with("raw.json") => Value::Array(
                rows.into_iter()
                    .filter(|r| r["status"] != "exists")
                    .collect(),
            ),
            Value::Object(mut m) if plain.ends_with("details.json") => {
                m.retain(|k, _| !self.listed_only.contains(k));
                Value::Object(m)
            }
            Value::Object(m) if plain.ends_with("stats.json") => self.stats(Value::Object(m)),
            Value::Object(mut m) if plain == "config.json" => {
                if let Some(Value::Array(list)) = m.get_mut("tempest") {
                    for entry in list {
                        entry["stats"] = self.stats(entry["stats"].take());
                    }
                }
                Value::Object(m)
            }
            v if plain.ends_with("tree.json") => Self::tree(v),
            v => v,
        }
    }

    fn stats(&self, mut v: Value) -> Value {
        if let Some(n) = v["count"].as_u64() {
            v["count"] = Value::from(n - self.rows);
        }
        v
    }

    fn tree(mut v: Value) -> Value {
        if let Some(children) = v.get_mut("children").and_then(Value::as_array_mut) {
            let kept: Vec<Value> = children
                .drain(..)
                .filter(|c| c["status"] != "exists")
                .map(Self::tree)
                .filter(|c| {
                    c.get("status").is_some()
                        || c["children"].as_array().is_some_and(|a| !a.is_empty())
                })
                .collect();
            *children = kept;
        }
        v
    }
}

fn is_deliberate_difference(case: &Value) -> bool {
    case["case"] == "repository" || case["variant"] == "dup_basename"
}

/// Compares every expected file. `bytes`: the current layout must be byte-identical
/// (a multi-tag list may be reordered, which keeps the length).
fn compare_files(dir: &str, case: &Value, run: &Run, bytes: bool) -> Vec<String> {
    let cdir = testdata().join(dir).join(case["case"].as_str().unwrap());
    let exp_dir = cdir.join(case["expected_dir"].as_str().unwrap());
    let enumeration = Enumeration::of(&exp_dir);
    let mut problems = Vec::new();
    for name in case["expected_files"].as_object().unwrap().keys() {
        let got_path = run.path().join(name);
        if !got_path.exists() {
            problems.push(format!("missing {name}"));
            continue;
        }
        let got = read_maybe_gz(&got_path);
        let want = read_maybe_gz(&exp_dir.join(name));
        if got == want {
            continue;
        }
        let plain = name.trim_end_matches(".gz");
        if !plain.ends_with(".json") {
            problems.push(format!("{name} differs (bytes)"));
            continue;
        }
        let (g, w): (Value, Value) = (
            serde_json::from_slice(&got).unwrap(),
            serde_json::from_slice(&want).unwrap(),
        );
        let w = enumeration.strip(name, w);
        if norm(g) != norm(w) {
            problems.push(format!("{name} differs (data)"));
        } else if bytes && got.len() != want.len() && !enumeration.applies() {
            problems.push(format!("{name} differs in formatting"));
        }
    }
    problems
}

fn golden(dir: &str, extra: &[&str], bytes: bool) {
    let mut failed = Vec::new();
    let mut passed = 0;
    for case in load_cases(dir) {
        if case["expected_rc"] != 0 || is_deliberate_difference(&case) {
            continue;
        }
        let name = format!(
            "{}/{}",
            case["case"].as_str().unwrap(),
            case["variant"].as_str().unwrap()
        );
        let r = run_case(dir, &case, extra);
        let mut problems = Vec::new();
        if r.rc != 0 {
            problems.push(format!("rc {}: {}", r.rc, r.stderr));
        }
        let want_stdout = case["expected_stdout"].as_str().unwrap();
        let sorted = |s: &str| {
            let mut l: Vec<String> = s.lines().map(str::to_owned).collect();
            l.sort();
            l
        };
        // Current layout: exact. Seed layout: the old tool's provider order followed
        // Python 2 hashing; ours follows the arguments, so compare the lines as a set.
        if (bytes && r.stdout != want_stdout)
            || (!bytes && sorted(&r.stdout) != sorted(want_stdout))
        {
            problems.push(format!("stdout {:?} != {:?}", r.stdout, want_stdout));
        }
        problems.extend(compare_files(dir, &case, &r, bytes));
        if problems.is_empty() {
            passed += 1;
        } else {
            failed.push(format!("{name}: {}", problems.join("; ")));
        }
    }
    assert!(
        failed.is_empty(),
        "{} failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
    assert!(passed >= 10, "only {passed} cases ran");
}

#[test]
fn current_layout_reproduces_the_real_tool_byte_for_byte() {
    golden("stackviz", &["--layout", "current"], true);
}

#[test]
fn seed_layout_reproduces_the_2016_tool_as_data() {
    golden("stackviz-seed", &[], false);
}

#[test]
fn gzip_works_in_the_current_layout_and_config_names_the_encoding() {
    for case in load_cases("stackviz") {
        if case["expected_rc"] != 0 || is_deliberate_difference(&case) || case["stdin"].is_string()
        {
            continue;
        }
        let r = run_case("stackviz", &case, &["--layout", "current", "-z"]);
        assert_eq!(r.rc, 0, "{}", r.stderr);
        let config = r.json("config.json");
        let cdir = testdata()
            .join("stackviz")
            .join(case["case"].as_str().unwrap());
        let exp_dir = cdir.join(case["expected_dir"].as_str().unwrap());
        let enumeration = Enumeration::of(&exp_dir);
        for art in config["datasets"][0]["artifacts"].as_array().unwrap() {
            assert_eq!(art["content_encoding"], "gzip");
            let path = art["path"].as_str().unwrap();
            assert!(path.ends_with(".gz"), "{path}");
            let got = r.read(path);
            let want = fs::read(exp_dir.join(path.trim_end_matches(".gz"))).unwrap();
            if got != want {
                // only a multi-tag list may differ, in order only
                let (g, w): (Value, Value) = (
                    serde_json::from_slice(&got).unwrap(),
                    serde_json::from_slice(&want).unwrap(),
                );
                let w = enumeration.strip(path, w);
                assert!(
                    norm(g) == norm(w) && (got.len() == want.len() || enumeration.applies()),
                    "{path} differs"
                );
            }
        }
        assert!(
            !r.files().iter().any(|f| f.starts_with('.')),
            "temp files left: {:?}",
            r.files()
        );
    }
}

#[test]
fn where_the_real_tool_crashed_ours_exports_every_record() {
    for (dir, layout) in [("stackviz", "current"), ("stackviz-seed", "seed")] {
        for case in load_cases(dir) {
            if case["expected_rc"] == 0 {
                continue;
            }
            let name = format!(
                "{dir} {}/{}",
                case["case"].as_str().unwrap(),
                case["variant"].as_str().unwrap()
            );
            let r = run_case(dir, &case, &["--layout", layout]);
            assert_eq!(r.rc, 0, "{name}: {}", r.stderr);
            let config = r.json("config.json");
            assert!(config.is_object(), "{name}");
            assert!(
                !r.files().iter().any(|f| f.starts_with('.')),
                "{name}: temp files left: {:?}",
                r.files()
            );
        }
    }
}

fn current_raw(r: &Run, stem: &str) -> Vec<Value> {
    r.json(&format!("{stem}-0-raw.json"))
        .as_array()
        .unwrap()
        .clone()
}

fn errors_case(file: &str) -> Run {
    let cdir = testdata().join("stackviz/errors");
    run(
        &cdir,
        &["--layout", "current", "-f", &format!("input/{file}"), "OUT"],
        None,
        &[],
    )
}

#[test]
fn missing_timestamps_are_null_not_a_crash() {
    let r = errors_case("err_no_timestamps.subunit");
    let raw = current_raw(&r, "err_no_timestamps.subunit");
    assert!(!raw.is_empty());
    assert!(raw.iter().all(
        |rec| rec["timestamps"] == serde_json::json!([null, null]) && rec["duration"].is_null()
    ));
    assert!(
        r.stderr.contains("lack a start or end timestamp"),
        "{}",
        r.stderr
    );
    let stats = r.json("err_no_timestamps.subunit-0-stats.json");
    assert_eq!(stats["count"].as_u64().unwrap(), raw.len() as u64);
}

#[test]
fn binary_and_mimeless_attachments_are_kept_as_data_uris() {
    for (file, mime) in [
        ("err_binary_attachment.subunit", "image/png"),
        ("err_no_mime_attachment.subunit", "application/octet-stream"),
    ] {
        let r = errors_case(file);
        let details = r.json(&format!("{file}-0-details.json"));
        let values: Vec<&str> = details
            .as_object()
            .unwrap()
            .values()
            .flat_map(|d| d.as_object().unwrap().values())
            .filter_map(|v| v.as_str())
            .collect();
        let prefix = format!("data:{mime};base64,");
        assert!(
            values.iter().any(|v| v.starts_with(&prefix)),
            "{file}: {values:?}"
        );
        assert!(r.stderr.contains("not text"), "{}", r.stderr);
        // the raw records the real tool wrote before crashing are reproduced too
        let want: Value = serde_json::from_slice(
            &fs::read(testdata().join(format!(
                "stackviz/errors/expected_err_{}/{file}-0-raw.json",
                &file[4..file.len() - 8]
            )))
            .unwrap(),
        )
        .unwrap();
        assert_eq!(norm(r.json(&format!("{file}-0-raw.json"))), norm(want));
    }
}

#[test]
fn bad_crc_keeps_every_other_packet_and_reports_the_offset() {
    let r = errors_case("err_bad_crc.subunit");
    assert!(r.stderr.contains("offset "), "{}", r.stderr);
    assert!(r.stderr.contains("bad checksum"), "{}", r.stderr);
    assert!(r.stderr.contains("offset 66"), "{}", r.stderr);
    let raw = current_raw(&r, "err_bad_crc.subunit");
    assert_eq!(raw.len(), 1, "{raw:?}");
    assert_eq!(raw[0]["name"], "err.Ok.test_ok");
    // the corrupt packet's 26 bytes are kept, not dropped
    let input = fs::read(testdata().join("stackviz/errors/input/err_bad_crc.subunit")).unwrap();
    assert_eq!(
        r.read("err_bad_crc.subunit-0-passthrough.txt"),
        &input[66..]
    );
}

#[test]
fn v1_text_input_is_read_as_v1() {
    let r = errors_case("err_subunit_v1.subunit");
    let raw = current_raw(&r, "err_subunit_v1.subunit");
    assert!(!raw.is_empty());
    assert!(
        r.files().iter().all(|f| !f.contains("passthrough")),
        "{:?}",
        r.files()
    );
}

#[test]
fn non_subunit_bytes_are_kept_in_a_passthrough_file() {
    let r = errors_case("err_non_subunit_prefix.subunit");
    let kept = r.read("err_non_subunit_prefix.subunit-0-passthrough.txt");
    assert!(!kept.is_empty());
    let input =
        fs::read(testdata().join("stackviz/errors/input/err_non_subunit_prefix.subunit")).unwrap();
    assert!(input.starts_with(&kept[..kept.len().min(10)]));
    assert!(!current_raw(&r, "err_non_subunit_prefix.subunit").is_empty());
}

#[test]
fn missing_file_warns_and_strict_makes_it_an_error() {
    let cdir = testdata().join("stackviz/multi_input");
    let r = run(
        &cdir,
        &[
            "--layout",
            "current",
            "-f",
            "input/nope.subunit",
            "-f",
            "input/tempest.subunit",
            "OUT",
        ],
        None,
        &[],
    );
    assert_eq!(r.rc, 0);
    assert!(r.stderr.contains("input/nope.subunit"), "{}", r.stderr);
    assert!(r.path().join("tempest.subunit-0-raw.json").exists());
    let r = run(
        &cdir,
        &[
            "--strict",
            "-f",
            "input/nope.subunit",
            "-f",
            "input/tempest.subunit",
            "OUT",
        ],
        None,
        &[],
    );
    assert_eq!(r.rc, 2);
    assert!(
        r.stderr
            .contains("error: input file input/nope.subunit does not exist"),
        "{}",
        r.stderr
    );
}

#[test]
fn same_basename_twice_keeps_both_inputs() {
    let cdir = testdata().join("stackviz/multi_input");
    let r = run(
        &cdir,
        &[
            "--layout",
            "current",
            "-f",
            "input/tempest.subunit",
            "-f",
            "input/dup/tempest.subunit",
            "OUT",
        ],
        None,
        &[],
    );
    assert_eq!(r.rc, 0, "{}", r.stderr);
    let want_first =
        fs::read(testdata().join("stackviz/tempest_fixture/expected/tempest.subunit-0-raw.json"))
            .unwrap();
    let want_second =
        fs::read(cdir.join("expected_dup_basename/tempest.subunit-0-raw.json")).unwrap();
    assert_eq!(r.read("tempest.subunit-0-raw.json"), want_first);
    assert_eq!(r.read("tempest.subunit_2-0-raw.json"), want_second);
    let config = r.json("config.json");
    let names: Vec<&str> = config["datasets"][0]["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["artifact_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "tempest.subunit",
            "tempest.subunit",
            "tempest.subunit",
            "tempest.subunit_2",
            "tempest.subunit_2",
            "tempest.subunit_2"
        ]
    );
    assert!(r.stderr.contains("same name"), "{}", r.stderr);
}

#[test]
fn repository_exports_the_latest_run_once_and_every_run_with_all_runs() {
    let cdir = testdata().join("stackviz/repository");
    let expected = cdir.join("expected");
    // current layout, `-r .`: the real tool wrote the latest run twice (.-0 and .-1).
    let r = run(
        &cdir.join("input"),
        &["--layout", "current", "-r", ".", "OUT"],
        None,
        &[],
    );
    assert_eq!(r.rc, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "Exporting Tempest provider: Repository: . (1)\n");
    for kind in ["raw", "details", "stats"] {
        assert_eq!(
            r.read(&format!(".-0-{kind}.json")),
            fs::read(expected.join(format!(".-0-{kind}.json"))).unwrap()
        );
    }
    assert!(!r.path().join(".-1-raw.json").exists());
    // a multi-character path works (the real tool iterated its characters)
    let r = run(
        &cdir,
        &["--layout", "current", "-r", "input", "OUT"],
        None,
        &[],
    );
    assert_eq!(
        r.read("input-0-raw.json"),
        fs::read(expected.join(".-0-raw.json")).unwrap()
    );
    // --all-runs: run 0 then the latest run
    let r = run(
        &cdir.join("input"),
        &["--layout", "current", "--all-runs", "-r", ".", "OUT"],
        None,
        &[],
    );
    assert_eq!(r.stdout, "Exporting Tempest provider: Repository: . (2)\n");
    assert_eq!(
        r.read(".-1-raw.json"),
        fs::read(expected.join(".-1-raw.json")).unwrap()
    );
    let run0 = r.json(".-0-raw.json");
    assert_ne!(run0, r.json(".-1-raw.json"));
    assert!(!run0.as_array().unwrap().is_empty());

    // seed layout over a .testrepository
    let sdir = testdata().join("stackviz-seed/repository");
    let r = run(&sdir, &["-r", "input", "OUT"], None, &[]);
    assert_eq!(r.rc, 0, "{}", r.stderr);
    let want = |f: &str| {
        norm(
            serde_json::from_slice(&fs::read(sdir.join("expected_named_path").join(f)).unwrap())
                .unwrap(),
        )
    };
    for kind in ["raw", "details", "tree"] {
        assert_eq!(
            norm(r.json(&format!("tempest_repo_input_0_{kind}.json"))),
            want(&format!("tempest_repo_input_1_{kind}.json"))
        );
    }
    let config = r.json("config.json");
    let entries = config["tempest"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["name"], "Repository: input");
    assert_eq!(
        norm(entries[0]["stats"].clone()),
        norm(want("config.json")["tempest"][0]["stats"].clone())
    );
}

#[test]
fn interrupted_export_leaves_no_config() {
    // An unwritable output path fails cleanly with exit 2 and a message naming it.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    fs::write(&file, "x").unwrap();
    let r = run(
        dir.path(),
        &["-f", "nothing", file.to_str().unwrap()],
        None,
        &[],
    );
    assert_eq!(r.rc, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("cannot create output directory"),
        "{}",
        r.stderr
    );
}

#[test]
fn check_counts_match_cases() {
    // Guard against an empty testdata copy.
    let counts: BTreeMap<&str, usize> = [
        ("stackviz", load_cases("stackviz").len()),
        ("stackviz-seed", load_cases("stackviz-seed").len()),
    ]
    .into();
    assert!(
        counts["stackviz"] >= 29 && counts["stackviz-seed"] >= 30,
        "{counts:?}"
    );
}
