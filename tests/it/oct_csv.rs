//! `resultpipe oct results-to-csv` against OCT 0.4.12's own CSVs of the golden runs, and
//! the inputs OCT crashes on.

use crate::support::{oct_case, text};
use std::process::{Command, Output};

fn to_csv(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_resultpipe"))
        .arg("oct")
        .args(args)
        .env("CI", "true")
        .output()
        .unwrap()
}

#[test]
fn byte_identical_to_octs_csv_for_every_golden_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut n = 0;
    for case in [
        "api-edge-midnight-gaps-interval7",
        "live-2turrets-errors-timers",
        "upstream-fixture-37rows",
        "upstream-fixture-empty",
    ] {
        let db = oct_case(&format!("{case}/results.sqlite"));
        for (cmd, delim, expected) in [
            ("results-to-csv", None, "results.csv"),
            ("to-csv", Some(","), "results_comma.csv"),
        ] {
            let out = dir.path().join(format!("{case}-{expected}"));
            let mut args = vec![cmd];
            if let Some(d) = delim {
                args.extend(["-d", d]);
            }
            args.extend([db.to_str().unwrap(), out.to_str().unwrap()]);
            let o = to_csv(&args);
            assert_eq!(o.status.code(), Some(0), "{case}: {}", text(&o.stderr));
            let want = std::fs::read(oct_case(&format!("{case}/expected/{expected}"))).unwrap();
            assert_eq!(std::fs::read(&out).unwrap(), want, "{case} {expected}");
            n += 1;
        }
    }
    assert_eq!(n, 8);
}

#[test]
fn null_and_malformed_timers_keep_their_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("results.sqlite");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        r#"CREATE TABLE "result" ("id" INTEGER NOT NULL PRIMARY KEY, "error" TEXT, "scriptrun_time" REAL NOT NULL,
             "elapsed" REAL NOT NULL, "epoch" REAL NOT NULL, "custom_timers" TEXT, "turret_name" VARCHAR(255) NOT NULL);
           INSERT INTO result VALUES (1, '', 0.5, 1.0, 1700000000, '{"a/b": 0.25}', 'Noname');
           INSERT INTO result VALUES (2, 'boom; "quoted"', 0.75, 2.0, 1700000001, NULL, 'Noname');
           INSERT INTO result VALUES (3, NULL, 1e-05, 3.0, 1700000002, 'not json', 'Noname');"#,
    )
    .unwrap();
    drop(conn);
    let out = dir.path().join("out.csv");
    let o = to_csv(&[
        "results-to-csv",
        db.to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let csv = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        csv,
        "elapsed time;epoch (in seconds);turret name;transaction time;error;a/b\r\n\
         1.0;1700000000.0;Noname;0.5;;0.25\r\n\
         2.0;1700000001.0;Noname;0.75;\"boom; \"\"quoted\"\"\";\r\n\
         3.0;1700000002.0;Noname;1e-05;;\r\n"
    );
    let err = text(&o.stderr);
    assert!(err.contains("row id 2: custom_timers is NULL"), "{err}");
    assert!(
        err.contains("row id 3: custom_timers is not a JSON object"),
        "{err}"
    );
    assert!(
        err.contains("2 row(s) with unreadable custom_timers"),
        "{err}"
    );
}

#[test]
fn not_an_oct_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    let o = to_csv(&[
        "to-csv",
        "/nonexistent/results.sqlite",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("/nonexistent/results.sqlite: no such file"),
        "{}",
        text(&o.stderr)
    );
    let db = dir.path().join("other.sqlite");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("CREATE TABLE t (x INTEGER);")
        .unwrap();
    let o = to_csv(&["to-csv", db.to_str().unwrap(), out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("not an OCT results database: it has no `result` table"),
        "{}",
        text(&o.stderr)
    );
    let o = to_csv(&[
        "to-csv",
        "-d",
        ";;",
        db.to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!out.exists());
}
