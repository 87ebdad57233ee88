//! `resultpipe pulse publish` against the real RabbitMQ on 127.0.0.1:5672 (guest/guest;
//! `scripts/test.sh` starts it). These tests fail, never skip, when the broker is down.
//! They run one at a time (`.config/nextest.toml`): one of them closes every connection.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use lapin::options::{
    BasicGetOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};
use serde_json::Value;

const URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
const REV: &str = "9c6e4c31ad26efdad0b9af47a2b530bc414ce2c3";

fn testdata(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(p)
}

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

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
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

#[tokio::test]
async fn an_unroutable_job_is_a_failure_with_exit_3() {
    let (_conn, ch) = broker().await;
    let exchange = unique("nobody-listens");
    setup(&ch, &exchange, None).await;
    let input = testdata("stackviz/tempest_fixture/input/tempest.subunit");
    let o = publish(&[
        input.to_str().unwrap(),
        "--exchange",
        &exchange,
        "--project",
        "p",
        "--revision",
        REV,
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).starts_with("published 0, failed 1"),
        "{}",
        text(&o.stdout)
    );
    assert!(
        text(&o.stderr).contains("312 NO_ROUTE"),
        "{}",
        text(&o.stderr)
    );
    assert!(
        !text(&o.stderr).contains("guest:guest"),
        "the password must not be printed"
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

#[tokio::test]
async fn connections_closed_by_the_broker_mid_run_lose_no_job() {
    let (conn, ch) = broker().await;
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
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jobs.jsonl");
    let mut lines = String::new();
    const N: usize = 20_000;
    for i in 0..N {
        job["taskId"] = Value::from(format!("rp-reconnect-{i}"));
        lines.push_str(&job.to_string());
        lines.push('\n');
    }
    std::fs::write(&file, lines).unwrap();

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
        .env("PULSE_URL", URL)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // close every connection a few times while it publishes
    let closer = std::thread::spawn(|| {
        let mut closed = 0;
        for _ in 0..3 {
            std::thread::sleep(std::time::Duration::from_millis(150));
            let ok = Command::new("rabbitmqctl")
                .args([
                    "close_all_connections",
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
    let (conn, ch) = broker().await;
    let mut seen = vec![false; N];
    while let Some(m) = ch
        .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap()
    {
        let body: Value = serde_json::from_slice(&m.delivery.data).unwrap();
        let id = body["taskId"].as_str().unwrap();
        let i: usize = id.trim_start_matches("rp-reconnect-").parse().unwrap();
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
