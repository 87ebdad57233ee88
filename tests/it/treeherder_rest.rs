//! `resultpipe treeherder submit` against a real HTTP server on loopback that verifies
//! Hawk on every request with the `hawk` crate's server side, as hawkrest did: MAC and
//! payload hash, ±60 s clock skew, replayed nonces. It answers like Treeherder
//! (403 + `{"detail": ...}`) and can be scripted to fail first.

use crate::support::{testdata, text};
use std::collections::HashSet;
use std::io::{BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::support::http::{Request as HttpRequest, header, read_request};

const ID: &str = "treeherder-etl-test";
const KEY: &str = "6c9f9d1e-2b1c-4b9e-9d3a-0f1e2d3c4b5a";

/// (request line, headers, body, status answered)
type Request = (String, Vec<(String, String)>, Vec<u8>, u16);

#[derive(Default)]
struct Seen {
    requests: Vec<Request>,
    nonces: HashSet<String>,
}

struct Server {
    port: u16,
    seen: Arc<Mutex<Seen>>,
}

/// Checks the request's Hawk header; returns the DRF-style refusal if it fails.
fn verify(
    method: &str,
    path: &str,
    port: u16,
    headers: &[(String, String)],
    body: &[u8],
    seen: &mut Seen,
    clock: Duration,
) -> Option<String> {
    let auth = header(headers, "authorization")?.strip_prefix("Hawk ")?;
    let parsed: hawk::Header = auth.parse().ok()?;
    let ct = header(headers, "content-type").unwrap_or("");
    let ct = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let hash = hawk::PayloadHasher::hash(ct, hawk::SHA256, body).unwrap();
    let ts = parsed.ts?;
    let now = SystemTime::now() + clock;
    let skew = now
        .duration_since(ts)
        .or_else(|_| ts.duration_since(now))
        .unwrap_or_default();
    if skew > Duration::from_secs(60) {
        return Some(
            "Hawk authentication failed: The token has expired. Is your system clock correct?"
                .into(),
        );
    }
    let key = hawk::Key::new(KEY.as_bytes(), hawk::SHA256).unwrap();
    let req = hawk::RequestBuilder::new(method, "127.0.0.1", port, path)
        .hash(&hash[..])
        .request();
    // the crate checks the timestamp against the real clock; ours is checked above
    if parsed.id.as_deref() != Some(ID)
        || !req.validate_header(&parsed, &key, Duration::from_secs(u64::from(u32::MAX)))
    {
        return Some("Hawk authentication failed".into());
    }
    if !seen.nonces.insert(parsed.nonce.clone().unwrap_or_default()) {
        return Some("Hawk authentication failed".into());
    }
    None
}

/// Serves HTTP/1.1 on loopback; the first `fail_first` requests get a 503. `clock` shifts
/// the server's clock (to make a client's timestamp stale).
fn server(fail_first: usize, clock: Duration) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let s2 = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let _ = handle(stream, port, &s2, fail_first, clock);
        }
    });
    Server { port, seen }
}

fn handle(
    stream: TcpStream,
    port: u16,
    seen: &Mutex<Seen>,
    fail_first: usize,
    clock: Duration,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let Some(HttpRequest {
        method,
        target: path,
        headers,
        body,
    }) = read_request(&mut reader)?
    else {
        return Ok(());
    };
    let mut s = seen.lock().unwrap();
    let (status, reply) = if s.requests.len() < fail_first {
        (503, r#"{"detail": "Service Unavailable"}"#.to_owned())
    } else {
        match verify(&method, &path, port, &headers, &body, &mut s, clock) {
            None => (200, r#"{"message": "Job successfully updated"}"#.to_owned()),
            Some(why) => (403, serde_json::json!({"detail": why}).to_string()),
        }
    };
    s.requests
        .push((format!("{method} {path}"), headers, body, status));
    drop(s);
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
        reply.len()
    )?;
    out.flush()
}

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
