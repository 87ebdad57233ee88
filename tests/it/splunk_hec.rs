//! `resultpipe splunk send` against an HTTP Event Collector on loopback
//! (`support/hec.rs`) that checks tokens, parses batches, answers with HEC's
//! documented error bodies, keeps ack ids, and fails on script. Every event must arrive
//! exactly as `--dry-run` prints it, exactly once; every failure must be reported with
//! the number of events lost.

use crate::support::{testdata, text};
use std::io::{Read, Write};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::support::hec::{self, Config, HecServer, Scripted, Token};

const TOKEN: &str = "3f2b8c1e-7a6d-4e2f-9b1c-5d4e3f2a1b0c";

fn stream() -> String {
    testdata("stackviz/own_stestr_2workers/input/testrepository.subunit")
        .to_string_lossy()
        .into_owned()
}

fn server(tokens: Vec<Token>) -> HecServer {
    HecServer::start(Config {
        tokens,
        ..Config::default()
    })
}

/// The run's envelopes as `--dry-run` prints them.
fn dry_run(input: &str, extra: &[&str]) -> Vec<String> {
    let o = Command::new(env!("CARGO_BIN_EXE_resultpipe"))
        .args([
            "splunk",
            "send",
            "--dry-run",
            "--id",
            "me@box",
            "--run",
            "r1",
        ])
        .args(extra)
        .arg(input)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    text(&o.stdout).lines().map(str::to_owned).collect()
}

/// `splunk send` to the server with `SPLUNK_HEC_TOKEN=token` (when given).
fn send(url: &str, token: Option<&str>, input: &str, extra: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_resultpipe"));
    c.args([
        "splunk",
        "send",
        "--url",
        url,
        "--id",
        "me@box",
        "--run",
        "r1",
        "--retry-delay",
        "0.05",
    ])
    .args(extra)
    .arg(input)
    .env_remove("SPLUNK_HEC_URL")
    .env_remove("SPLUNK_HEC_TOKEN");
    if let Some(t) = token {
        c.env("SPLUNK_HEC_TOKEN", t);
    }
    let o = c.output().unwrap();
    for stream in [&o.stdout, &o.stderr] {
        assert!(!text(stream).contains(TOKEN), "the token was printed");
    }
    o
}

fn event_posts(s: &HecServer) -> Vec<hec::Seen> {
    s.requests()
        .into_iter()
        .filter(|r| r.target.starts_with("/services/collector/event"))
        .collect()
}

#[test]
fn every_event_arrives_exactly_as_sent_in_gzipped_batches() {
    let s = server(vec![Token::new(TOKEN)]);
    let expected = dry_run(&stream(), &[]);
    assert_eq!(expected.len(), 22 * 2 + 2 * 2 + 2);
    let o = send(&s.url(), Some(TOKEN), &stream(), &["--batch-events", "7"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(
        s.events(),
        expected,
        "the events HEC got differ from --dry-run's"
    );
    let posts = event_posts(&s);
    assert_eq!(posts.len(), expected.len().div_ceil(7));
    for p in &posts {
        assert_eq!(p.status, 200);
        assert!(p.events <= 7);
        assert_eq!(p.header("content-encoding"), Some("gzip"));
        assert_eq!(
            p.header("authorization"),
            Some(format!("Splunk {TOKEN}").as_str())
        );
        assert_eq!(p.header("x-splunk-request-channel"), None);
    }
    let out = text(&o.stdout);
    assert!(
        out.contains(&format!(
            "delivered {} event(s) in {} batch(es)",
            expected.len(),
            posts.len()
        )),
        "{out}"
    );
    assert!(out.contains("gzip"), "{out}");
}

#[test]
fn batches_stay_within_the_byte_limit() {
    let s = server(vec![Token::new(TOKEN)]);
    let expected = dry_run(&stream(), &[]);
    let limit = 3000;
    let o = send(
        &s.url(),
        Some(TOKEN),
        &stream(),
        &["--batch-bytes", &limit.to_string(), "--no-gzip"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let got = s.events();
    assert_eq!(got, expected);
    let posts = event_posts(&s);
    assert!(posts.len() > 3, "{} batches", posts.len());
    let mut at = 0;
    for p in &posts {
        assert_eq!(p.header("content-encoding"), None);
        let group = &got[at..at + p.events];
        // the body: the envelopes joined by newlines
        let size = group.iter().map(String::len).sum::<usize>() + group.len() - 1;
        assert_eq!(p.body_bytes, size);
        assert!(size <= limit || p.events == 1, "a batch of {size} bytes");
        at += p.events;
    }
    assert_eq!(at, expected.len());
}

#[test]
fn a_receiver_without_gzip_gets_plain_bodies_and_loses_nothing() {
    let s = HecServer::start(Config {
        tokens: vec![Token::new(TOKEN)],
        gzip: false,
        ..Config::default()
    });
    let expected = dry_run(&stream(), &[]);
    let o = send(&s.url(), Some(TOKEN), &stream(), &["--batch-events", "10"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(s.events(), expected);
    let posts = event_posts(&s);
    assert_eq!(posts[0].status, 415);
    assert!(
        posts[1..]
            .iter()
            .all(|p| p.status == 200 && p.header("content-encoding").is_none())
    );
    assert!(text(&o.stderr).contains("did not take a gzip body"));
    assert!(text(&o.stdout).contains("uncompressed"));
}

#[test]
fn busy_failing_and_dropping_servers_are_retried_until_they_take_the_batch() {
    let s = server(vec![Token::new(TOKEN)]);
    s.script([
        Scripted::Busy,
        Scripted::Internal,
        Scripted::TooMany,
        Scripted::Drop,
    ]);
    let expected = dry_run(&stream(), &[]);
    let o = send(&s.url(), Some(TOKEN), &stream(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(s.events(), expected, "each event exactly once");
    let err = text(&o.stderr);
    assert_eq!(err.matches("trying again").count(), 4, "{err}");
    assert!(err.contains("HTTP 503: Server is busy"), "{err}");
    assert!(err.contains("HTTP 500: Internal server error"), "{err}");
    assert!(err.contains("HTTP 429"), "{err}");
    assert!(err.contains("cannot reach"), "{err}");
    assert!(text(&o.stdout).contains("4 retried request(s)"));
}

#[test]
fn a_batch_that_keeps_failing_is_given_up_loudly_with_the_events_lost() {
    let s = server(vec![Token::new(TOKEN)]);
    let expected = dry_run(&stream(), &[]);
    // the first batch goes through, the second meets a busy server five times
    s.script([Scripted::Pass]);
    s.script(std::iter::repeat_n(Scripted::Busy, 5));
    let o = send(&s.url(), Some(TOKEN), &stream(), &["--batch-events", "10"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    let lost = expected.len() - 10;
    assert!(
        err.contains(&format!(
            "ERROR splunk: {lost} of {} event(s) lost: 10 delivered",
            expected.len()
        )),
        "{err}"
    );
    assert!(err.contains("gave up after 5 attempt(s)"), "{err}");
    assert!(err.contains("Server is busy"), "{err}");
    assert_eq!(s.events(), expected[..10]);
    assert_eq!(event_posts(&s).len(), 1 + 5, "1 good batch, then 5 tries");
}

#[test]
fn an_unreachable_server_is_reported_not_swallowed() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let n = dry_run(&stream(), &[]).len();
    let o = send(&url, Some(TOKEN), &stream(), &["--attempts", "3"]);
    assert_eq!(o.status.code(), Some(3));
    let err = text(&o.stderr);
    assert!(err.contains(&format!("{n} of {n} event(s) lost")), "{err}");
    assert!(err.contains("gave up after 3 attempt(s)"), "{err}");
    assert!(err.contains("cannot reach"), "{err}");
    assert_eq!(err.matches("trying again").count(), 2, "{err}");
}

#[test]
fn slow_replies_are_waited_for_and_stalled_ones_tried_again() {
    let s = server(vec![Token::new(TOKEN)]);
    s.script([
        Scripted::Slow(Duration::from_millis(400)),
        Scripted::Stall(Duration::from_millis(2500)),
    ]);
    let expected = dry_run(&stream(), &[]);
    let t = Instant::now();
    let o = send(
        &s.url(),
        Some(TOKEN),
        &stream(),
        &["--batch-events", "30", "--timeout", "1"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        t.elapsed() >= Duration::from_millis(1400),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(s.events(), expected, "each event exactly once");
    let err = text(&o.stderr);
    assert_eq!(err.matches("trying again").count(), 1, "{err}");
}

#[test]
fn https_with_the_servers_ca_or_insecure_and_a_clear_error_without() {
    let s = HecServer::start(Config {
        tokens: vec![Token::new(TOKEN)],
        tls: true,
        ..Config::default()
    });
    assert!(s.url().starts_with("https://"));
    let expected = dry_run(&stream(), &[]);
    let o = send(&s.url(), Some(TOKEN), &stream(), &["--attempts", "1"]);
    assert_eq!(o.status.code(), Some(3));
    let err = text(&o.stderr);
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    assert!(s.events().is_empty());

    let ca = testdata("hec/ca.pem");
    let o = send(
        &s.url(),
        Some(TOKEN),
        &stream(),
        &["--ca-cert", ca.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(s.events(), expected);

    let o = send(&s.url(), Some(TOKEN), &stream(), &["--insecure"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(s.events().len(), 2 * expected.len());
}

#[test]
fn token_problems_are_not_retried_and_say_which() {
    let mut disabled = Token::new("0a1b2c3d-0000-4000-8000-00000000dead");
    disabled.disabled = true;
    let s = server(vec![Token::new(TOKEN), disabled.clone()]);
    let n = dry_run(&stream(), &[]).len();

    let wrong = "0a1b2c3d-0000-4000-8000-000000000bad";
    let o = send(&s.url(), Some(wrong), &stream(), &[]);
    assert_eq!(o.status.code(), Some(3));
    let err = text(&o.stderr);
    assert!(err.contains("Invalid token (code 4, HTTP 403)"), "{err}");
    assert!(err.contains("SPLUNK_HEC_TOKEN"), "{err}");
    assert!(err.contains(&format!("{n} of {n} event(s) lost")), "{err}");
    assert!(!err.contains(wrong), "the token was printed: {err}");
    assert_eq!(event_posts(&s).len(), 1, "not retried");

    // from a file this time
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, format!("{}\n", disabled.value)).unwrap();
    let o = send(
        &s.url(),
        None,
        &stream(),
        &["--token-file", file.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(3));
    let err = text(&o.stderr);
    assert!(err.contains("Token disabled (code 1, HTTP 403)"), "{err}");
    assert!(!err.contains(&disabled.value), "the token was printed");
    assert_eq!(event_posts(&s).len(), 2, "not retried");

    // no token at all: nothing is sent
    let o = send(&s.url(), None, &stream(), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("no HEC token: set SPLUNK_HEC_TOKEN or give --token-file"));
    assert_eq!(event_posts(&s).len(), 2);
}

#[test]
fn a_refused_index_is_reported_with_the_event_and_a_hint() {
    let mut t = Token::new(TOKEN);
    t.indexes = vec!["ci".into()];
    let s = server(vec![t]);
    let o = send(&s.url(), Some(TOKEN), &stream(), &["--index", "prod"]);
    assert_eq!(o.status.code(), Some(3));
    let err = text(&o.stderr);
    assert!(
        err.contains("HTTP 400: Incorrect index (code 7), at event 0 of the run (the token may not write to this index: check --index)"),
        "{err}"
    );
    assert_eq!(event_posts(&s).len(), 1, "not retried");
    assert!(s.events().is_empty());

    let o = send(&s.url(), Some(TOKEN), &stream(), &["--index", "ci"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(s.events(), dry_run(&stream(), &["--index", "ci"]));
}

#[test]
fn acknowledged_delivery_uses_one_channel_and_waits_for_every_ack() {
    let mut t = Token::new(TOKEN);
    t.ack = true;
    let s = HecServer::start(Config {
        tokens: vec![t],
        ack_after_polls: Some(2),
        ..Config::default()
    });
    let expected = dry_run(&stream(), &[]);
    let o = send(
        &s.url(),
        Some(TOKEN),
        &stream(),
        &["--ack", "--ack-poll", "0.05", "--batch-events", "10"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(s.events(), expected);
    let reqs = s.requests();
    let channel = reqs[0]
        .header("x-splunk-request-channel")
        .unwrap()
        .to_owned();
    assert_eq!(channel.len(), 36);
    assert!(
        reqs.iter()
            .all(|r| r.header("x-splunk-request-channel") == Some(&channel))
    );
    let acks: Vec<_> = reqs
        .iter()
        .filter(|r| r.target.starts_with("/services/collector/ack"))
        .collect();
    assert!(acks.len() >= 2, "{} ack queries", acks.len());
    // every batch's ack id was reported indexed once
    let mut indexed: Vec<u64> = acks
        .iter()
        .flat_map(|r| {
            let v: serde_json::Value = serde_json::from_str(&r.reply).unwrap();
            v["acks"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(_, d)| d.as_bool() == Some(true))
                .map(|(k, _)| k.parse::<u64>().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    indexed.sort_unstable();
    let batches = expected.len().div_ceil(10) as u64;
    assert_eq!(indexed, (0..batches).collect::<Vec<_>>());
    assert!(
        text(&o.stdout).contains("acknowledged"),
        "{}",
        text(&o.stdout)
    );
}

#[test]
fn events_never_acknowledged_count_as_lost() {
    let mut t = Token::new(TOKEN);
    t.ack = true;
    let s = HecServer::start(Config {
        tokens: vec![t],
        ack_after_polls: None,
        ..Config::default()
    });
    let n = dry_run(&stream(), &[]).len();
    let o = send(
        &s.url(),
        Some(TOKEN),
        &stream(),
        &["--ack", "--ack-poll", "0.05", "--ack-timeout", "0.4"],
    );
    assert_eq!(o.status.code(), Some(3));
    let err = text(&o.stderr);
    assert!(
        err.contains(&format!(
            "{n} of {n} event(s) lost: 0 delivered (acknowledged)"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("{n} accepted event(s) were not acknowledged")),
        "{err}"
    );
}

#[test]
fn ack_settings_that_do_not_match_the_token_are_explained() {
    let mut with_ack = Token::new(TOKEN);
    with_ack.ack = true;
    let s = server(vec![with_ack]);
    let o = send(&s.url(), Some(TOKEN), &stream(), &[]);
    assert_eq!(o.status.code(), Some(3));
    let err = text(&o.stderr);
    assert!(err.contains("Data channel is missing (code 10)"), "{err}");
    assert!(err.contains("send with --ack"), "{err}");

    let s = server(vec![Token::new(TOKEN)]);
    let o = send(&s.url(), Some(TOKEN), &stream(), &["--ack"]);
    assert_eq!(o.status.code(), Some(3));
    let err = text(&o.stderr);
    assert!(err.contains("without an ackId"), "{err}");
}

#[test]
fn oct_transactions_arrive_with_their_timers() {
    let s = server(vec![Token::new(TOKEN)]);
    let input = testdata("oct/live-2turrets-errors-timers/results.sqlite");
    let input = input.to_str().unwrap();
    let expected = dry_run(input, &[]);
    let o = send(&s.url(), Some(TOKEN), input, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(s.events(), expected);
    let with_timers = s
        .events()
        .iter()
        .filter(|e| e.contains("\"timers\":{"))
        .count();
    assert!(with_timers > 100, "{with_timers}");
}

#[test]
fn the_defaults_are_five_attempts_five_seconds_apart() {
    let o = Command::new(env!("CARGO_BIN_EXE_resultpipe"))
        .args(["splunk", "send", "--help"])
        .output()
        .unwrap();
    let help = text(&o.stdout);
    let after = |flag: &str| {
        let at = help.find(flag).unwrap();
        help[at..]
            .split("[default: ")
            .nth(1)
            .unwrap()
            .split(']')
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(after("--attempts"), "5");
    assert_eq!(after("--retry-delay"), "5");
}

/// A raw HTTP/1.1 POST; returns (status, body).
fn raw_post(port: u16, path: &str, auth: Option<&str>, body: &str) -> (u16, String) {
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    write!(
        c,
        "POST {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reply = String::new();
    c.read_to_string(&mut reply).unwrap();
    let status = reply[9..12].parse().unwrap();
    (
        status,
        reply.split("\r\n\r\n").nth(1).unwrap_or("").to_owned(),
    )
}

#[test]
fn the_receiver_refuses_what_hec_refuses() {
    // the checks above only mean something if the receiver is as strict as HEC
    let s = server(vec![Token::new(TOKEN)]);
    let auth = format!("Splunk {TOKEN}");
    let ev = "/services/collector/event";
    assert_eq!(
        raw_post(s.port, ev, None, r#"{"event":"x"}"#),
        (401, r#"{"text":"Token is required","code":2}"#.into())
    );
    assert_eq!(
        raw_post(s.port, ev, Some("Bearer x"), r#"{"event":"x"}"#),
        (401, r#"{"text":"Invalid authorization","code":3}"#.into())
    );
    assert_eq!(
        raw_post(s.port, ev, Some(&auth), "  "),
        (400, r#"{"text":"No data","code":5}"#.into())
    );
    assert_eq!(
        raw_post(
            s.port,
            ev,
            Some(&auth),
            r#"{"event":"a"}{"event":"b"}{"time":1}"#
        ),
        (
            400,
            r#"{"text":"Event field is required","code":12,"invalid-event-number":2}"#.into()
        )
    );
    assert_eq!(
        raw_post(s.port, ev, Some(&auth), r#"{"event":"a"} {"event":""}"#).1,
        r#"{"text":"Event field cannot be blank","code":13,"invalid-event-number":1}"#
    );
    assert_eq!(
        raw_post(s.port, ev, Some(&auth), r#"{"time":1.7e9,"event":"a"}"#).1,
        r#"{"text":"Invalid data format","code":6,"invalid-event-number":0}"#
    );
    assert_eq!(
        raw_post(s.port, ev, Some(&auth), r#"[{"event":"a"}]"#).0,
        400
    );
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("x:{TOKEN}"));
    assert_eq!(
        raw_post(
            s.port,
            ev,
            Some(&format!("Basic {basic}")),
            "{\"event\":\"a\"}\n{\"event\":{\"k\":1}}"
        ),
        (200, r#"{"text":"Success","code":0}"#.into())
    );
    assert_eq!(s.events(), [r#"{"event":"a"}"#, r#"{"event":{"k":1}}"#]);
    assert_eq!(
        raw_post(
            s.port,
            "/services/collector/ack",
            Some(&auth),
            r#"{"acks":[0]}"#
        ),
        (400, r#"{"text":"ACK is disabled","code":14}"#.into())
    );
}
