//! `resultpipe pulse publish` against the real RabbitMQ on 127.0.0.1:5672 (guest/guest;
//! `scripts/test.sh` starts it). These tests fail, never skip, when the broker is down.
//! They run one at a time (`.config/nextest.toml`). The one that simulates a broker
//! restart closes the connections of a vhost of its own (`resultpipe-test`), never
//! anyone else's.

use crate::support::{testdata, text};
use std::process::{Command, Output, Stdio};

use lapin::options::{
    BasicGetOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};
use serde_json::Value;

const URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
const REV: &str = "9c6e4c31ad26efdad0b9af47a2b530bc414ce2c3";

fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("exchange/rptest/{name}-{}-{nanos}", std::process::id())
}

async fn broker() -> (Connection, Channel) {
    let conn = Connection::connect(URL, ConnectionProperties::default())
        .await
        .unwrap_or_else(|e| {
            panic!("RabbitMQ is needed on 127.0.0.1:5672 (scripts/test.sh starts it): {e}")
        });
    let ch = conn.create_channel().await.unwrap();
    (conn, ch)
}

/// Declares the exchange and, when `bind` is given, a queue bound to it.
async fn setup(ch: &Channel, exchange: &str, bind: Option<&str>) -> Option<String> {
    let opts = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    ch.exchange_declare(
        exchange.into(),
        ExchangeKind::Topic,
        opts,
        FieldTable::default(),
    )
    .await
    .unwrap();
    let key = bind?;
    let q = ch
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    let name = q.name().as_str().to_owned();
    ch.queue_bind(
        name.as_str().into(),
        exchange.into(),
        key.into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    Some(name)
}

fn publish(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_resultpipe"))
        .arg("pulse")
        .arg("publish")
        .args(args)
        .env("PULSE_URL", URL)
        .env("CI", "true")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[tokio::test]
async fn confirmed_jobs_arrive_with_body_and_properties() {
    let (_conn, ch) = broker().await;
    let exchange = unique("jobs");
    let queue = setup(&ch, &exchange, Some("treeherder.#")).await.unwrap();
    let inputs = [
        testdata("stackviz/own_stestr_2workers/input/testrepository.subunit"),
        testdata("stackviz/tempest_fixture/input/tempest.subunit"),
    ];
    let mut args: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    args.extend(
        [
            "--exchange",
            &exchange,
            "--project",
            "mozilla-central",
            "--revision",
            REV,
        ]
        .map(String::from),
    );
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = publish(&refs);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    assert!(
        text(&o.stdout).starts_with("published 2, failed 0"),
        "{}",
        text(&o.stdout)
    );
    // the same jobs as `treeherder job` writes for these inputs
    let mut job_args = vec!["treeherder".to_owned(), "job".to_owned()];
    job_args.extend(inputs.iter().map(|p| p.display().to_string()));
    job_args.extend(["--project", "mozilla-central", "--revision", REV].map(String::from));
    let expected = Command::new(env!("CARGO_BIN_EXE_resultpipe"))
        .args(&job_args)
        .output()
        .unwrap();
    let expected: Vec<Value> = text(&expected.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for want in &expected {
        let msg = ch
            .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true })
            .await
            .unwrap()
            .expect("a message per job");
        let d = &msg.delivery;
        assert_eq!(d.routing_key.as_str(), "treeherder.mozilla-central._");
        assert_eq!(
            d.properties.content_type().as_ref().map(|s| s.as_str()),
            Some("application/json")
        );
        assert_eq!(
            d.properties.content_encoding().as_ref().map(|s| s.as_str()),
            Some("utf-8")
        );
        assert_eq!(*d.properties.delivery_mode(), Some(2));
        let body: Value = serde_json::from_slice(&d.data).unwrap();
        assert_eq!(&body, want, "the body is the bare job, no envelope");
    }
    assert!(
        ch.basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true })
            .await
            .unwrap()
            .is_none()
    );
}

/// A JSON-lines file of `n` distinct jobs (one run's job, numbered task ids).
fn job_file(dir: &std::path::Path, n: usize) -> std::path::PathBuf {
    let one = Command::new(env!("CARGO_BIN_EXE_resultpipe"))
        .args([
            "treeherder",
            "job",
            testdata("stackviz/tempest_fixture/input/tempest.subunit")
                .to_str()
                .unwrap(),
            "--project",
            "p",
            "--revision",
            REV,
        ])
        .output()
        .unwrap();
    let mut job: Value = serde_json::from_slice(&one.stdout).unwrap();
    let mut lines = String::new();
    for i in 0..n {
        job["taskId"] = Value::from(format!("rp-job-{i}"));
        lines.push_str(&job.to_string());
        lines.push('\n');
    }
    let file = dir.join("jobs.jsonl");
    std::fs::write(&file, lines).unwrap();
    file
}

fn publish_with(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_resultpipe"))
        .args(["pulse", "publish"])
        .args(args)
        .env("PULSE_URL", url)
        .env("CI", "true")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[tokio::test]
async fn an_unroutable_publish_is_refused_once_with_what_to_do_or_allowed() {
    let (_conn, ch) = broker().await;
    let exchange = unique("nobody-listens");
    setup(&ch, &exchange, None).await;
    let dir = tempfile::tempdir().unwrap();
    let file = job_file(dir.path(), 200);
    let f = file.to_str().unwrap();
    let o = publish(&[f, "--exchange", &exchange]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(
        text(&o.stdout).starts_with("published 0, failed 200"),
        "{}",
        text(&o.stdout)
    );
    assert_eq!(
        err.lines().count(),
        1,
        "one message, not one per job: {err}"
    );
    assert!(
        err.starts_with(&format!(
            "ERROR 200 job(s) not routed: no queue is bound to exchange {exchange} for routing key \"treeherder.p._\""
        )),
        "{err}"
    );
    assert!(err.contains("--allow-unroutable"), "{err}");
    assert!(
        !err.contains("guest:guest"),
        "the password must not be printed"
    );

    let o = publish(&[f, "--exchange", &exchange, "--allow-unroutable"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stdout),
        format!(
            "published 200, failed 0 (exchange {exchange}); 200 published, not routed (no queue is bound for them)\n"
        )
    );
    assert!(
        text(&o.stderr).starts_with("WARN 200 job(s) not routed"),
        "{}",
        text(&o.stderr)
    );
}

#[tokio::test]
async fn every_url_form_kombu_reads_as_the_default_vhost_works() {
    let (_conn, ch) = broker().await;
    let exchange = unique("url-forms");
    let queue = setup(&ch, &exchange, Some("#")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = job_file(dir.path(), 1);
    for url in [
        "amqp://guest:guest@127.0.0.1:5672/",
        "amqp://guest:guest@127.0.0.1:5672",
        "amqp://guest:guest@127.0.0.1:5672/%2F",
        "amqp://guest:guest@127.0.0.1:5672//",
        "amqp://guest:guest@localhost/",
    ] {
        let o = publish_with(url, &[file.to_str().unwrap(), "--exchange", &exchange]);
        assert_eq!(o.status.code(), Some(0), "{url}: {}", text(&o.stderr));
        let m = ch
            .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true })
            .await
            .unwrap();
        assert!(m.is_some(), "{url}: the job arrived");
    }
}

#[tokio::test]
async fn a_cause_shared_by_every_job_is_reported_once_with_the_count() {
    let (_conn, ch) = broker().await;
    let exchange = unique("causes");
    setup(&ch, &exchange, Some("#")).await;
    let dir = tempfile::tempdir().unwrap();
    let file = job_file(dir.path(), 50);
    let f = file.to_str().unwrap();
    for (url, cause) in [
        ("amqp://guest:guest@127.0.0.1:1/", "Connection refused"),
        ("amqp://guest:wrong@127.0.0.1:5672/", "ACCESS_REFUSED"),
        (
            "amqp://guest:guest@127.0.0.1:5672/no-such-vhost",
            "NOT_ALLOWED",
        ),
    ] {
        let o = publish_with(url, &[f, "--exchange", &exchange, "--attempts", "2"]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(3), "{url}: {err}");
        let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("ERROR")).collect();
        assert_eq!(errors.len(), 1, "{url}: {err}");
        assert!(
            errors[0].starts_with("ERROR 50 job(s) not published: ") && errors[0].contains(cause),
            "{url}: {err}"
        );
        assert!(
            !err.contains(":wrong@"),
            "the password must not be printed: {err}"
        );
    }
    let o = publish_with(
        "amqp://guest:guest@127.0.0.1:5672/no-such-vhost",
        &[f, "--exchange", &exchange],
    );
    assert!(
        text(&o.stderr).contains("the vhost is \"no-such-vhost\", read from the URL's path"),
        "{}",
        text(&o.stderr)
    );
}

#[tokio::test]
async fn passive_on_a_missing_exchange_fails_clearly() {
    let _ = broker().await;
    let exchange = unique("missing");
    let input = testdata("stackviz/tempest_fixture/input/tempest.subunit");
    let o = publish(&[
        input.to_str().unwrap(),
        "--exchange",
        &exchange,
        "--passive",
        "--project",
        "p",
        "--revision",
        REV,
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        text(&o.stderr).contains("does not exist or cannot be used"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn dry_run_validates_and_prints_without_a_broker() {
    let input = testdata("stackviz/tempest_fixture/input/tempest.subunit");
    let o = Command::new(env!("CARGO_BIN_EXE_resultpipe"))
        .args([
            "pulse",
            "publish",
            input.to_str().unwrap(),
            "--exchange",
            "exchange/x/y",
            "--dry-run",
            "--project",
            "p",
            "--revision",
            REV,
        ])
        .env_remove("PULSE_URL")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.starts_with("treeherder.p._\t{"), "{out}");
    assert!(
        out.ends_with("dry run: 1 valid job(s) for exchange/x/y, nothing published\n"),
        "{out}"
    );
    // and without PULSE_URL a real publish is a clear input error
    let o = Command::new(env!("CARGO_BIN_EXE_resultpipe"))
        .args([
            "pulse",
            "publish",
            input.to_str().unwrap(),
            "--exchange",
            "exchange/x/y",
            "--project",
            "p",
            "--revision",
            REV,
        ])
        .env_remove("PULSE_URL")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("set PULSE_URL or give --url-file"),
        "{}",
        text(&o.stderr)
    );
}

/// The vhost the restart test closes connections in, created (with permissions for
/// guest) when missing.
pub(crate) const TEST_VHOST: &str = "resultpipe-test";

pub(crate) fn ensure_test_vhost() {
    let ctl = |args: &[&str]| {
        let o = Command::new("rabbitmqctl")
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("rabbitmqctl is needed to set up the test vhost: {e}"));
        assert!(
            o.status.success(),
            "rabbitmqctl {args:?}: {}",
            text(&o.stderr)
        );
        text(&o.stdout)
    };
    let vhosts = ctl(&["list_vhosts", "--quiet", "--no-table-headers"]);
    if !vhosts.lines().any(|l| l.trim() == TEST_VHOST) {
        ctl(&["add_vhost", TEST_VHOST]);
    }
    ctl(&[
        "set_permissions",
        "-p",
        TEST_VHOST,
        "guest",
        ".*",
        ".*",
        ".*",
    ]);
}

#[tokio::test]
async fn connections_closed_by_the_broker_mid_run_lose_no_job() {
    ensure_test_vhost();
    let url = format!("amqp://guest:guest@127.0.0.1:5672/{TEST_VHOST}");
    let conn = Connection::connect(&url, ConnectionProperties::default())
        .await
        .unwrap();
    let ch = conn.create_channel().await.unwrap();
    let exchange = unique("reconnect");
    let opts = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    ch.exchange_declare(
        exchange.as_str().into(),
        ExchangeKind::Topic,
        opts,
        FieldTable::default(),
    )
    .await
    .unwrap();
    // a durable, named queue: the broker will close our own connection too
    let queue = exchange.replace("exchange/", "queue/");
    ch.queue_declare(
        queue.as_str().into(),
        QueueDeclareOptions {
            durable: true,
            ..Default::default()
        },
        FieldTable::default(),
    )
    .await
    .unwrap();
    ch.queue_bind(
        queue.as_str().into(),
        exchange.as_str().into(),
        "#".into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    drop(ch);
    drop(conn);

    // 20 000 distinct jobs
    const N: usize = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let file = job_file(dir.path(), N);

    let child = Command::new(env!("CARGO_BIN_EXE_resultpipe"))
        .args([
            "pulse",
            "publish",
            file.to_str().unwrap(),
            "--exchange",
            &exchange,
            "--attempts",
            "10",
        ])
        .env("PULSE_URL", &url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // close every connection of the test vhost a few times while it publishes
    let closer = std::thread::spawn(|| {
        let mut closed = 0;
        for _ in 0..3 {
            std::thread::sleep(std::time::Duration::from_millis(150));
            let ok = Command::new("rabbitmqctl")
                .args([
                    "close_all_connections",
                    "-p",
                    TEST_VHOST,
                    "resultpipe test: simulated broker restart",
                ])
                .output()
                .is_ok_and(|o| o.status.success());
            closed += usize::from(ok);
        }
        closed
    });
    let o = child.wait_with_output().unwrap();
    assert!(
        closer.join().unwrap() > 0,
        "rabbitmqctl close_all_connections did not run"
    );
    assert!(
        text(&o.stderr).contains("reconnecting"),
        "no connection was dropped mid-run: {}",
        text(&o.stderr)
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    assert!(
        text(&o.stdout).starts_with(&format!("published {N}, failed 0")),
        "{}",
        text(&o.stdout)
    );

    // every taskId arrived at least once
    let conn = Connection::connect(&url, ConnectionProperties::default())
        .await
        .unwrap();
    let ch = conn.create_channel().await.unwrap();
    let mut seen = vec![false; N];
    while let Some(m) = ch
        .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap()
    {
        let body: Value = serde_json::from_slice(&m.delivery.data).unwrap();
        let id = body["taskId"].as_str().unwrap();
        let i: usize = id.trim_start_matches("rp-job-").parse().unwrap();
        seen[i] = true;
    }
    let missing: Vec<usize> = (0..N).filter(|&i| !seen[i]).collect();
    ch.queue_delete(queue.as_str().into(), Default::default())
        .await
        .unwrap();
    drop(conn);
    assert!(
        missing.is_empty(),
        "{} job(s) lost, e.g. {:?}; stderr: {}",
        missing.len(),
        &missing[..missing.len().min(5)],
        text(&o.stderr)
    );
}
