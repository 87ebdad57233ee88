//! `resultpipe treeherder submit` against a real HTTP server on loopback that verifies
//! Hawk on every request (`support/treeherder.rs`).

use crate::support::{testdata, text};
use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::support::http::header;
use crate::support::treeherder::{ID, KEY, server};

/// A REST jobs collection: the job items of the Hawk vectors (Treeherder's own layout).
fn collection(dir: &Path) -> PathBuf {
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(testdata("treeherder/hawk-vectors.json")).unwrap(),
    )
    .unwrap();
    let body = v["vectors"][0]["body_utf8"].as_str().unwrap();
    let p = dir.join("jobs.json");
    std::fs::write(&p, body).unwrap();
    p
}

fn submit(port: u16, file: &Path, secret: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_resultpipe"))
        .args([
            "treeherder",
            "submit",
            "--server",
            &format!("http://127.0.0.1:{port}"),
            "--project",
            "mozilla-central",
            "jobs",
            file.to_str().unwrap(),
        ])
        .env("TREEHERDER_CLIENT_ID", ID)
        .env("TREEHERDER_SECRET", secret)
        .env("CI", "true")
        .output()
        .unwrap()
}

#[test]
fn a_signed_collection_is_accepted_with_thclients_headers() {
    let srv = server(0, Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let file = collection(dir.path());
    let o = submit(srv.port, &file, KEY);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("Job successfully updated"),
        "{}",
        text(&o.stdout)
    );
    let seen = srv.seen.lock().unwrap();
    assert_eq!(seen.requests.len(), 1);
    let (line, headers, body, status) = &seen.requests[0];
    assert_eq!(line, "POST /api/project/mozilla-central/jobs/");
    assert_eq!(*status, 200);
    assert_eq!(header(headers, "content-type"), Some("application/json"));
    assert_eq!(
        header(headers, "accept"),
        Some("application/json; version=1.0")
    );
    assert!(
        header(headers, "user-agent")
            .unwrap()
            .starts_with("resultpipe/")
    );
    assert!(
        header(headers, "authorization")
            .unwrap()
            .contains("hash=\""),
        "payload hash always sent"
    );
    let sent: Value = serde_json::from_slice(body).unwrap();
    let want: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(sent, want);
}

#[test]
fn a_wrong_key_is_refused_once_and_not_retried() {
    let srv = server(0, Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let o = submit(srv.port, &collection(dir.path()), "not-the-key");
    assert_eq!(o.status.code(), Some(3));
    assert!(
        text(&o.stderr).contains("403 from http://127.0.0.1:"),
        "{}",
        text(&o.stderr)
    );
    assert!(
        text(&o.stderr).contains("Hawk authentication failed"),
        "{}",
        text(&o.stderr)
    );
    assert!(
        !text(&o.stderr).contains("not-the-key"),
        "the secret must not be printed"
    );
    assert_eq!(srv.seen.lock().unwrap().requests.len(), 1);
}

#[test]
fn a_stale_timestamp_is_refused_with_a_clock_hint() {
    let srv = server(0, Duration::from_secs(3600));
    let dir = tempfile::tempdir().unwrap();
    let o = submit(srv.port, &collection(dir.path()), KEY);
    assert_eq!(o.status.code(), Some(3));
    let err = text(&o.stderr);
    assert!(err.contains("The token has expired"), "{err}");
    assert!(err.contains("check this machine's clock"), "{err}");
}

#[test]
fn service_unavailable_is_retried_with_a_fresh_signature() {
    let srv = server(2, Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let o = submit(srv.port, &collection(dir.path()), KEY);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let seen = srv.seen.lock().unwrap();
    let statuses: Vec<u16> = seen.requests.iter().map(|r| r.3).collect();
    assert_eq!(statuses, vec![503, 503, 200]);
    let auths: HashSet<&str> = seen
        .requests
        .iter()
        .map(|r| header(&r.1, "authorization").unwrap())
        .collect();
    assert_eq!(
        auths.len(),
        3,
        "every attempt is signed anew (a replayed nonce is refused)"
    );
}

#[test]
fn the_server_refuses_a_replayed_request() {
    let srv = server(0, Duration::ZERO);
    let body = b"[]";
    let url = format!("http://127.0.0.1:{}/api/project/p/jobs/", srv.port);
    let creds = resultpipe::sinks::treeherder_http::HawkCredentials {
        id: ID.into(),
        key: resultpipe::sinks::Secret::new(KEY),
    };
    let auth = resultpipe::sinks::treeherder_http::authorization(
        &creds,
        "POST",
        &url,
        Some(("application/json", body)),
        None,
        SystemTime::now(),
        "fixed-nonce",
    )
    .unwrap();
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
        write!(s, "POST /api/project/p/jobs/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: {auth}\r\nContent-Length: 2\r\n\r\n[]").unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        statuses.push(reply.split_whitespace().nth(1).unwrap().to_owned());
    }
    assert_eq!(statuses, ["200", "403"]);
}

#[test]
fn thclients_own_checks_run_before_sending() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.json");
    std::fs::write(&file, format!(r#"[{{"project": "p", "revision": "abc", "job": {{"job_guid": "{}"}}}}, {{"project": "p"}}]"#, "g".repeat(51))).unwrap();
    let o = submit(9, &file, KEY);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("item 0: job.job_guid is longer than 50 characters"),
        "{err}"
    );
    assert!(err.contains("item 1: revision is required"), "{err}");
}

#[test]
fn jobs_from_a_run_in_rest_layout_are_submitted() {
    let srv = server(0, Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rest.jsonl");
    let o = Command::new(env!("CARGO_BIN_EXE_resultpipe"))
        .args([
            "treeherder",
            "job",
            "--rest",
            testdata("stackviz/own_stestr_2workers/input/testrepository.subunit")
                .to_str()
                .unwrap(),
        ])
        .args([
            "--project",
            "mozilla-central",
            "--revision",
            "9c6e4c31ad26efdad0b9af47a2b530bc414ce2c3",
            "--platform",
            "linux64",
            "--os",
            "linux",
            "--arch",
            "x86_64",
            "-o",
            file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let item: Value = serde_json::from_str(std::fs::read_to_string(&file).unwrap().trim()).unwrap();
    assert_eq!(item["job"]["result"], "testfailed");
    assert_eq!(item["job"]["build_platform"]["os_name"], "linux");
    assert!(
        item["job"]["end_timestamp"].as_i64().unwrap()
            > item["job"]["start_timestamp"].as_i64().unwrap()
    );
    let o = submit(srv.port, &file, KEY);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(srv.seen.lock().unwrap().requests[0].3, 200);
}

#[test]
fn an_unreachable_server_is_reported_with_its_cause_and_the_attempts_made() {
    // a port nothing listens on: bind one, then let it go
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let file = collection(dir.path());
    let o = Command::new(env!("CARGO_BIN_EXE_resultpipe"))
        .args([
            "treeherder",
            "submit",
            "--server",
            &format!("http://127.0.0.1:{port}"),
            "--project",
            "mozilla-central",
            "--attempts",
            "3",
            "jobs",
            file.to_str().unwrap(),
        ])
        .env("TREEHERDER_CLIENT_ID", ID)
        .env("TREEHERDER_SECRET", KEY)
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert_eq!(err.matches("trying again in").count(), 2, "{err}");
    assert!(err.contains("(attempt 3 of 3)"), "{err}");
    let last = err.lines().last().unwrap();
    assert!(
        last.starts_with("error: gave up after 3 attempt(s) on http://127.0.0.1:")
            && last.ends_with("Connection refused (os error 111)"),
        "{err}"
    );
    assert!(!err.contains(KEY), "the secret is never printed");
}
