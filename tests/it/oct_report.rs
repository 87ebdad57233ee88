//! `resultpipe oct report` / `rebuild-results` against OCT 0.4.12's own results.html of
//! the golden runs, cell by cell; the inputs OCT crashes on; and the page opened in a
//! real headless Chromium.

use crate::support::{oct_case, text};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const CASES: [&str; 3] = [
    "api-edge-midnight-gaps-interval7",
    "live-2turrets-errors-timers",
    "upstream-fixture-37rows",
];

fn oct(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_resultpipe"))
        .arg("oct")
        .args(args)
        .env("CI", "true")
        .output()
        .unwrap()
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

/// The text between every `<open ...>` and `</close>` (tags matched by name, so
/// `<th>` is not confused with `<thead>`).
fn elements<'a>(html: &'a str, tag: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let close = format!("</{tag}>");
    let mut rest = html;
    while let Some(i) = rest.find(&format!("<{tag}")) {
        let after = &rest[i + tag.len() + 1..];
        if !after.starts_with('>') && !after.starts_with(' ') {
            rest = after;
            continue;
        }
        let Some(gt) = after.find('>') else { break };
        let body = &after[gt + 1..];
        let Some(end) = body.find(&close) else { break };
        out.push(&body[..end]);
        rest = &body[end + close.len()..];
    }
    out
}

/// Every table: a list of rows, each a map from the column header to the cell text.
fn tables(html: &str) -> Vec<Vec<BTreeMap<String, String>>> {
    elements(html, "table")
        .into_iter()
        .map(|t| {
            let heads: Vec<String> = elements(t, "th")
                .iter()
                .map(|h| unescape(h.trim()))
                .collect();
            elements(t, "tr")
                .into_iter()
                .filter_map(|tr| {
                    let cells = elements(tr, "td");
                    (!cells.is_empty()).then(|| {
                        heads
                            .iter()
                            .cloned()
                            .zip(cells.iter().map(|c| unescape(c.trim())))
                            .collect()
                    })
                })
                .collect()
        })
        .collect()
}

/// A figure cell as a number; OCT's `nan` and our dash are both "no data".
fn figure(s: &str) -> Option<f64> {
    match s.trim() {
        "nan" | "–" => None,
        t => Some(t.parse().unwrap_or_else(|_| panic!("not a number: {t:?}"))),
    }
}

fn run_rebuild(case: &str, out: &Path) -> Output {
    let o = oct(&[
        "rebuild-results",
        out.to_str().unwrap(),
        oct_case(&format!("{case}/config.json")).to_str().unwrap(),
        "-f",
        oct_case(&format!("{case}/results.sqlite"))
            .to_str()
            .unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{case}: {}", text(&o.stderr));
    o
}

const FIGURES: [&str; 7] = ["min", "avg", "80pct", "90pct", "95pct", "max", "stdev"];
const JSON_KEYS: [&str; 7] = ["min", "avg", "p80", "p90", "p95", "max", "stdev"];

#[test]
fn every_table_cell_equals_octs_for_every_golden_run() {
    let dir = tempfile::tempdir().unwrap();
    for case in CASES {
        let out = dir.path().join(case);
        let o = run_rebuild(case, &out);
        let golden =
            std::fs::read_to_string(oct_case(&format!("{case}/expected/results.html"))).unwrap();
        let ours = std::fs::read_to_string(out.join("results.html")).unwrap();
        let json: Value =
            serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();

        let g = tables(&golden);
        let w = tables(&ours);
        // OCT: [workload] then per series a summary and an interval table
        let g_work = golden.contains("workload configuration");
        let (g_work_t, g_series) = if g_work {
            (Some(&g[0]), &g[1..])
        } else {
            (None, &g[..])
        };
        let (w_work_t, w_series) = if ours.contains("id=\"workload\"") {
            (Some(&w[0]), &w[1..])
        } else {
            (None, &w[..])
        };
        assert_eq!(
            g_work_t.is_some(),
            w_work_t.is_some(),
            "{case}: workload table"
        );
        if let (Some(gw), Some(ww)) = (g_work_t, w_work_t) {
            assert_eq!(gw, ww, "{case}: workload table");
        }
        assert_eq!(g_series.len(), w_series.len(), "{case}: number of tables");
        let series = json["series"].as_array().unwrap();
        assert_eq!(
            series.len() * 2,
            g_series.len(),
            "{case}: series in results.json"
        );

        let mut cells = 0;
        for (k, (gt, wt)) in g_series.iter().zip(w_series).enumerate() {
            let js = &series[k / 2];
            let js_rows: Vec<&Value> = if k % 2 == 0 {
                vec![&js["summary"]]
            } else {
                js["intervals"].as_array().unwrap().iter().collect()
            };
            assert_eq!(gt.len(), wt.len(), "{case} table {k}: rows");
            assert_eq!(
                gt.len(),
                js_rows.len(),
                "{case} table {k}: rows in results.json"
            );
            for (r, ((grow, wrow), jrow)) in gt.iter().zip(wt).zip(js_rows).enumerate() {
                let at = format!("{case} table {k} row {r}");
                // count: OCT writes "45 " in summaries and "24.0" per interval
                let gcount = figure(&grow["count"]).unwrap();
                assert_eq!(figure(&wrow["count"]), Some(gcount), "{at}: count");
                assert_eq!(jrow["count"].as_f64(), Some(gcount), "{at}: json count");
                if let Some(n) = grow.get("interval") {
                    assert_eq!(wrow["interval"], *n, "{at}: interval number");
                    assert_eq!(jrow["interval"].to_string(), *n, "{at}: json interval");
                }
                for (h, jk) in FIGURES.iter().zip(JSON_KEYS) {
                    let want = figure(&grow[*h]);
                    assert_eq!(figure(&wrow[*h]), want, "{at}: {h}");
                    assert_eq!(jrow[jk].as_f64(), want, "{at}: json {jk}");
                    cells += 1;
                }
            }
        }
        assert!(cells > 100, "{case}: only {cells} cells compared");

        // the series are OCT's tabs, in OCT's order
        let tabs: Vec<String> = elements(&golden, "a")
            .iter()
            .filter(|a| !a.contains("extend") && !a.contains("View full size"))
            .map(|a| unescape(a))
            .collect();
        let names: Vec<String> = series
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(tabs, names, "{case}: series order");

        // OCT's summary list
        let badge = |label: &str| -> String {
            let i = golden
                .find(&format!("</span>{label}</li>"))
                .unwrap_or_else(|| panic!("{label}"));
            let s = &golden[..i];
            s[s.rfind('>').unwrap() + 1..].to_owned()
        };
        assert_eq!(
            json["totals"]["transactions"].to_string(),
            badge("transaction"),
            "{case}"
        );
        assert_eq!(
            json["totals"]["errors"].to_string(),
            badge("errors"),
            "{case}"
        );
        assert_eq!(json["run_time"].to_string(), badge("run time"), "{case}");
        assert_eq!(json["start"]["utc"], badge("test start").as_str(), "{case}");
        assert_eq!(
            json["finish"]["utc"],
            badge("test finish").as_str(),
            "{case}"
        );
        assert_eq!(
            format!("{} seconds", json["interval_s"]),
            badge("time-series interval"),
            "{case}"
        );

        // OCT's console lines
        let stdout = text(&o.stdout);
        let want =
            std::fs::read_to_string(oct_case(&format!("{case}/expected/rebuild_stdout.txt")))
                .unwrap();
        for line in want.lines().filter(|l| {
            [
                "transactions:",
                "timers:",
                "errors:",
                "test start:",
                "test finish:",
            ]
            .iter()
            .any(|p| l.starts_with(p))
        }) {
            assert!(
                stdout.lines().any(|l| l == line),
                "{case}: stdout lacks {line:?}:\n{stdout}"
            );
        }
    }
}

#[test]
fn raw_chart_needs_ten_values_like_oct() {
    // OCT prints "Not enough data for raw graph" for the edge case's rare timer
    let dir = tempfile::tempdir().unwrap();
    let case = "api-edge-midnight-gaps-interval7";
    run_rebuild(case, dir.path());
    let json: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("results.json")).unwrap()).unwrap();
    let short: Vec<&str> = json["series"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["raw"].as_array().unwrap().is_empty())
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(short, ["rare"]);
    let html = std::fs::read_to_string(dir.path().join("results.html")).unwrap();
    assert!(html.contains("not enough data for this chart"));
}

#[test]
fn report_command_writes_both_files_and_an_empty_table_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("new/dir");
    let db = oct_case("upstream-fixture-empty/results.sqlite");
    let o = oct(&["report", db.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("No results"),
        "{}",
        text(&o.stdout)
    );
    let json: Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(json["empty"], true);
    assert_eq!(json["totals"]["transactions"], 0);
    assert_eq!(json["series"][0]["summary"]["count"], 0);
    assert_eq!(json["series"][0]["summary"]["avg"], Value::Null);
    let html = std::fs::read_to_string(out.join("results.html")).unwrap();
    assert!(html.contains("id=\"no-results\""));
    // the turret table still shows
    assert!(html.contains("id=\"workload\""));
    // without --config: the default interval and the measured run time
    assert_eq!(json["interval_s"], 10);
    assert_eq!(json["run_time"], Value::Null);
}

fn create_db(path: &Path, rows: &str) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(&format!(
        r#"CREATE TABLE "result" ("id" INTEGER NOT NULL PRIMARY KEY, "error" TEXT, "scriptrun_time" REAL NOT NULL,
             "elapsed" REAL NOT NULL, "epoch" REAL NOT NULL, "custom_timers" TEXT, "turret_name" VARCHAR(255) NOT NULL);
           CREATE TABLE "turret" ("id" INTEGER NOT NULL PRIMARY KEY, "name" TEXT NOT NULL, "uuid" TEXT NOT NULL,
             "cannons" INTEGER NOT NULL, "script" TEXT NOT NULL, "rampup" INTEGER NOT NULL, "status" TEXT NOT NULL,
             "updated_at" DATETIME NOT NULL);
           INSERT INTO turret VALUES (1, '<b>t&1</b>', 'u', 2, 's.py', 0, 'ready', '2023-11-14 22:13:20.000000');
           {rows}"#
    ))
    .unwrap();
}

#[test]
fn what_oct_crashes_on_gives_a_report_with_every_good_row() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("results.sqlite");
    create_db(
        &db,
        r#"INSERT INTO result VALUES (1, '', 0.5, 1.0, 1700000000, '{"a/b": 0.25, "<script>x</script>": 0.1}', 'Noname');
           INSERT INTO result VALUES (2, 'boom', 0.75, 2.0, 1700000001, NULL, 'Noname');
           INSERT INTO result VALUES (3, NULL, 1.5, 3.0, 1700000002, 'not json', 'Noname');
           INSERT INTO result VALUES (4, '', 1.0, 3.0, 'yesterday', '{"a/b": 0.5}', 'Noname');
           INSERT INTO result VALUES (5, '', 2.0, 4.0, 1700000003, '{"a/b": "slow"}', 'Noname');"#,
    );
    // a config without results_ts_interval / run_time / turrets: OCT raises
    let cfg = dir.path().join("config.json");
    std::fs::write(&cfg, r#"{"testing": false}"#).unwrap();
    let out = dir.path().join("report");
    let o = oct(&[
        "report",
        db.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("no results_ts_interval; using 10 s"), "{err}");
    assert!(err.contains("row id 2: custom_timers is NULL"), "{err}");
    assert!(
        err.contains("row id 3: custom_timers is not a JSON object"),
        "{err}"
    );
    assert!(err.contains("row id 4: epoch is not a time"), "{err}");
    assert!(
        err.contains("row id 5: 1 timer value(s) are not numbers"),
        "{err}"
    );
    assert!(text(&o.stdout).contains("skipped: 1 row(s) without time or value, 2 row(s) with unreadable timers, 1 timer value(s) not numbers"));

    let json: Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(json["totals"]["transactions"], 5);
    assert_eq!(json["totals"]["errors"], 1);
    let all = &json["series"][0];
    assert_eq!(
        all["summary"]["count"], 4,
        "the row without an epoch is left out"
    );
    assert_eq!(all["summary"]["max"], 2.0);
    let names: Vec<&str> = json["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["All transactions", "a/b", "<script>x</script>"]);
    assert_eq!(json["series"][1]["summary"]["count"], 1);
    assert_eq!(json["skipped"]["rows_with_unreadable_timers"], 2);

    let html = std::fs::read_to_string(out.join("results.html")).unwrap();
    assert!(
        !html.contains("<script>x</script>"),
        "a timer name was not escaped"
    );
    assert!(
        !html.contains("<b>t&1</b>"),
        "a turret name was not escaped"
    );
    assert!(html.contains("&lt;script&gt;x&lt;&#x2f;script&gt;"));
    assert!(html.contains("id=\"skipped\""));
    // no script at all, and nothing fetched from anywhere
    assert!(!html.contains("<script"));
    assert!(!html.contains("src=") && !html.contains("href=\"http"));
}

#[test]
fn bad_inputs_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = oct(&[
        "report",
        "/nonexistent/results.sqlite",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("/nonexistent/results.sqlite: no such file"));

    let other = dir.path().join("other.sqlite");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t (x INTEGER);")
        .unwrap();
    let o = oct(&[
        "report",
        other.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("not an OCT results database: it has no `result` table"));

    let db = dir.path().join("results.sqlite");
    create_db(
        &db,
        "INSERT INTO result VALUES (1, '', 0.5, 1.0, 1700000000, '{}', 'Noname');",
    );
    let cfg = dir.path().join("config.json");
    std::fs::write(&cfg, r#"{"results_ts_interval": "5"}"#).unwrap();
    let o = oct(&[
        "rebuild-results",
        dir.path().to_str().unwrap(),
        cfg.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("results_ts_interval must be a whole number"),
        "{}",
        text(&o.stderr)
    );
    std::fs::write(&cfg, "{").unwrap();
    let o = oct(&[
        "rebuild",
        dir.path().to_str().unwrap(),
        cfg.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("not valid JSON"));
    assert!(!out.exists() && !dir.path().join("results.html").exists());

    // an epoch of 0 among real ones at a 1 s interval: ~1.7e9 buckets
    create_db(
        &dir.path().join("far.sqlite"),
        "INSERT INTO result VALUES (1, '', 0.5, 1.0, 0, '{}', 'Noname'); INSERT INTO result VALUES (2, '', 0.5, 1.0, 1700000000, '{}', 'Noname');",
    );
    let o = oct(&[
        "report",
        dir.path().join("far.sqlite").to_str().unwrap(),
        "--interval",
        "1",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("use a larger interval"),
        "{}",
        text(&o.stderr)
    );
}

/// The report in a real browser: Chromium must lay it out with every section, table and
/// chart (the DOM after rendering), and a screenshot must come out.
#[test]
fn report_renders_in_headless_chromium() {
    let browser = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("Chromium is needed for this test (scripts/test.sh installs Debian's `chromium`)");
    let dir = tempfile::tempdir().unwrap();
    let case = "live-2turrets-errors-timers";
    run_rebuild(case, dir.path());
    let page = dir.path().join("results.html");
    let url = format!("file://{}", page.display());
    let flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--no-first-run",
        "--hide-scrollbars",
    ];
    let profile = dir.path().join("profile");
    let user_dir = format!("--user-data-dir={}", profile.display());
    let dom = Command::new(browser)
        .args(flags)
        .arg(&user_dir)
        .args(["--virtual-time-budget=2000", "--dump-dom", &url])
        .output()
        .unwrap();
    let dom_text = text(&dom.stdout);
    assert!(dom.status.success(), "{}", text(&dom.stderr));
    assert!(dom_text.contains("Performance results report"));
    for name in [
        "All transactions",
        "Custom timer: home page",
        "Custom timer: pay",
    ] {
        assert!(
            dom_text.contains(name),
            "{name} missing from the rendered page"
        );
    }
    assert_eq!(
        dom_text.matches("<svg").count(),
        15,
        "3 charts for each of 5 series"
    );
    assert_eq!(dom_text.matches("class=\"interval-table\"").count(), 5);

    let shot = dir.path().join("report.png");
    let o = Command::new(browser)
        .args(flags)
        .arg(&user_dir)
        .args([
            "--window-size=1280,2400",
            &format!("--screenshot={}", shot.display()),
            &url,
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(
        png.len() > 50_000,
        "a screenshot of {} bytes is too small to show the report",
        png.len()
    );
    if let Ok(keep) = std::env::var("RESULTPIPE_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
}

mod robustness {
    //! Random result tables, schema constraints off (NULLs, text and extreme numbers
    //! anywhere, broken JSON): reading, statistics, both report files and the CSV never
    //! panic, and what they say adds up.
    use proptest::prelude::*;
    use resultpipe::emit::oct_csv::OctCsv;
    use resultpipe::emit::oct_report::Report;
    use resultpipe::ingest::oct::{OctDb, OctError};
    use resultpipe::model::load_stats::compile;
    use rusqlite::types::Value as Sql;

    fn number() -> impl Strategy<Value = Sql> {
        prop_oneof![
            4 => (1_700_000_000.0f64..1_700_000_100.0).prop_map(Sql::Real),
            1 => any::<f64>().prop_map(Sql::Real),
            1 => any::<i64>().prop_map(Sql::Integer),
            1 => Just(Sql::Null),
            1 => "[a-z ]{0,5}".prop_map(Sql::Text),
        ]
    }

    fn timers() -> impl Strategy<Value = Sql> {
        let name = prop_oneof![Just("a/b".to_owned()), Just("<i>".to_owned()), "[a-c]{1,2}"];
        let value = prop_oneof![
            (0.0f64..3.0).prop_map(|v| v.to_string()),
            Just("\"slow\"".to_owned()),
            Just("null".to_owned()),
            Just("[1]".to_owned()),
            Just("1e400".to_owned()),
        ];
        prop_oneof![
            6 => proptest::collection::vec((name, value), 0..4).prop_map(|kv| {
                let body: Vec<String> = kv.iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
                Sql::Text(format!("{{{}}}", body.join(",")))
            }),
            1 => Just(Sql::Null),
            1 => "[{}\\[\\]\":,a-z0-9 ]{0,12}".prop_map(Sql::Text),
            1 => proptest::collection::vec(any::<u8>(), 0..12).prop_map(Sql::Blob),
        ]
    }

    fn row() -> impl Strategy<Value = [Sql; 4]> {
        (
            number(),
            number(),
            prop_oneof![
                Just(Sql::Null),
                Just(Sql::Text(String::new())),
                "[a-z;\"\n]{1,6}".prop_map(Sql::Text)
            ],
            timers(),
        )
            .prop_map(|(e, s, err, t)| [e, s, err, t])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]
        #[test]
        fn any_table_gives_a_report_and_a_csv(rows in proptest::collection::vec(row(), 0..40), interval in 1u32..30) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("results.sqlite");
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute_batch("CREATE TABLE result (id INTEGER PRIMARY KEY, error, scriptrun_time, elapsed, epoch, custom_timers, turret_name);").unwrap();
            for r in &rows {
                conn.execute(
                    "INSERT INTO result (error, scriptrun_time, elapsed, epoch, custom_timers, turret_name) VALUES (?1, ?2, 1.0, ?3, ?4, 'Noname')",
                    rusqlite::params![r[2], r[1], r[0], r[3]],
                ).unwrap();
            }
            drop(conn);

            let db = OctDb::open(&path).unwrap();
            let run = db.load_run().unwrap();
            prop_assert_eq!(run.transactions, rows.len() as u64);
            let mut stats = Vec::new();
            for s in &run.series {
                match compile(s, interval) {
                    Ok(st) => {
                        let per: u64 = st.intervals.iter().map(|i| i.stats.count).sum();
                        prop_assert_eq!(per, st.summary.count);
                        prop_assert_eq!(st.summary.count, s.values.len() as u64);
                        stats.push(st);
                    }
                    // extreme epochs: a clear error, never a panic
                    Err(e) => { prop_assert!(e.to_string().contains("larger interval")); return Ok(()); }
                }
            }
            let rep = Report { source: "results.sqlite", run: &run, stats: &stats, interval_s: interval, run_time: None };
            let json = serde_json::to_string(&rep.json()).unwrap();
            let back: serde_json::Value = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back["totals"]["transactions"].as_u64(), Some(rows.len() as u64));
            let html = rep.html().unwrap();
            prop_assert!(!html.contains("<i>"), "a timer name went into the page unescaped");

            let mut csv = OctCsv::new(tempfile::tempfile().unwrap(), b';');
            let n = db.for_each_raw_row_pipelined(|r| csv.row(r).map_err(|e| OctError::Missing { path: e.to_string() })).unwrap();
            prop_assert_eq!(n, rows.len() as u64);
            let mut out = Vec::new();
            csv.finish(&mut out).unwrap();
            prop_assert!(out.starts_with(b"elapsed time;epoch (in seconds);turret name;transaction time;error"));
            prop_assert!(out.ends_with(b"\r\n"));
        }
    }
}

/// The values OCT's pygal charts plot (`<desc class="value">`, after any `time: `).
fn chart_values(svg: &str) -> Vec<f64> {
    svg.split(r#"<desc class="value">"#)
        .skip(1)
        .filter_map(|v| {
            v[..v.find("</desc>")?]
                .rsplit(": ")
                .next()?
                .trim()
                .parse()
                .ok()
        })
        .collect()
}

#[test]
fn chart_data_equals_octs_graphs() {
    let dir = tempfile::tempdir().unwrap();
    let mut charts = 0;
    for case in CASES {
        let out = dir.path().join(case);
        run_rebuild(case, &out);
        let json: Value =
            serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
        for (i, s) in json["series"].as_array().unwrap().iter().enumerate() {
            let file = if i == 0 {
                "All_Transactions".to_owned()
            } else {
                s["name"].as_str().unwrap().to_owned()
            };
            let svg = |kind: &str| {
                std::fs::read_to_string(oct_case(&format!("{case}/expected/{file}_{kind}.svg")))
                    .unwrap()
            };
            // the raw chart: the mean of each tenth of the series
            let raw: Vec<f64> = s["raw"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["avg"].as_f64().unwrap())
                .collect();
            assert_eq!(
                raw,
                chart_values(&svg("response_times")),
                "{case} {file}: raw chart"
            );
            // throughput: the count per interval
            let counts: Vec<f64> = s["intervals"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["count"].as_f64().unwrap())
                .collect();
            assert_eq!(
                counts,
                chart_values(&svg("throughput")),
                "{case} {file}: throughput chart"
            );
            // the interval chart: avg, then 90%, then 80%, per bucket with data
            let col = |k: &str| -> Vec<f64> {
                s["intervals"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|p| p[k].as_f64())
                    .collect()
            };
            let want: Vec<f64> = [col("avg"), col("p90"), col("p80")].concat();
            assert_eq!(
                want,
                chart_values(&svg("response_times_intervals")),
                "{case} {file}: interval chart"
            );
            charts += 3;
        }
    }
    assert!(charts >= 30);
}
