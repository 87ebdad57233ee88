//! `resultpipe worker` and `resultpipe task submit` against the real RabbitMQ on
//! 127.0.0.1:5672 (guest/guest) and a real HTTP server on loopback serving the inputs.
//! Workers are real processes: they are killed with SIGKILL, stopped with SIGTERM, and
//! have their connections closed by the broker (`rabbitmqctl close_all_connections`
//! in the vhost `resultpipe-test` only). Each test uses queues and exchanges of its
//! own and deletes them at the end. These tests fail, never skip, when the broker is
//! down; they run one at a time with the other broker tests (`.config/nextest.toml`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use lapin::options::{
    BasicGetOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};
use serde_json::{Value, json};

use crate::pulse_rabbitmq::{TEST_VHOST, ensure_test_vhost};
use crate::support::files::{File, FileServer};
use crate::support::hec::{Config as HecConfig, HecServer, Token};
use crate::support::{dir_files, gzip, resultpipe, testdata, text};

const URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
const REV: &str = "9c6e4c31ad26efdad0b9af47a2b530bc414ce2c3";

fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("rptest.{name}.{}.{nanos}", std::process::id())
}

/// Runs `f` on a channel of a fresh connection to `url`.
fn amqp<T>(url: &str, f: impl AsyncFnOnce(&Channel) -> T) -> T {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let conn = Connection::connect(url, ConnectionProperties::default())
            .await
            .unwrap_or_else(|e| {
                panic!("RabbitMQ is needed on 127.0.0.1:5672 (scripts/test.sh starts it): {e}")
            });
        let ch = conn.create_channel().await.unwrap();
        let out = f(&ch).await;
        let _ = conn.close(200, "test done".into()).await;
        out
    })
}

/// A durable queue bound to `exchange` (a topic exchange, declared) for `key`.
fn bind_queue(url: &str, exchange: &str, key: &str) -> String {
    let (exchange, key) = (exchange.to_owned(), key.to_owned());
    amqp(url, async move |ch: &Channel| {
        ch.exchange_declare(
            exchange.as_str().into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
        let name = format!("{exchange}.watch");
        ch.queue_declare(
            name.as_str().into(),
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
        ch.queue_bind(
            name.as_str().into(),
            exchange.as_str().into(),
            key.as_str().into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
        name
    })
}

/// Every message in `queue` now (taken off it): (body, headers).
fn drain(url: &str, queue: &str) -> Vec<(Vec<u8>, BTreeMap<String, String>)> {
    let queue = queue.to_owned();
    amqp(url, async move |ch: &Channel| {
        let mut out = Vec::new();
        while let Some(m) = ch
            .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true })
            .await
            .unwrap()
        {
            let headers = m
                .delivery
                .properties
                .headers()
                .as_ref()
                .map(|h| {
                    h.inner()
                        .iter()
                        .map(|(k, v)| {
                            let v = match v {
                                AMQPValue::LongString(s) => {
                                    String::from_utf8_lossy(s.as_bytes()).into_owned()
                                }
                                other => format!("{other:?}"),
                            };
                            (k.to_string(), v)
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.push((m.delivery.data.clone(), headers));
        }
        out
    })
}

/// Messages ready in `queue` (it must exist).
fn depth(url: &str, queue: &str) -> u32 {
    let queue = queue.to_owned();
    amqp(url, async move |ch: &Channel| {
        ch.queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap()
        .message_count()
    })
}

/// Deletes the task queue, its dead-letter queue and exchange, and `extra` queues and
/// exchanges.
fn clean_up(url: &str, queue: &str, extra_queues: &[&str], exchanges: &[&str]) {
    let mut queues: Vec<String> = vec![queue.to_owned(), format!("{queue}.dead")];
    queues.extend(extra_queues.iter().map(|q| (*q).to_owned()));
    let mut xs: Vec<String> = vec![format!("{queue}.dlx")];
    xs.extend(exchanges.iter().map(|x| (*x).to_owned()));
    amqp(url, async move |ch: &Channel| {
        for q in &queues {
            let _ = ch
                .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
                .await;
        }
        for x in &xs {
            let _ = ch
                .exchange_delete(x.as_str().into(), Default::default())
                .await;
        }
    });
}

/// Deletes a test's queues and exchanges when it ends, passed or failed (a failed
/// test must not leave them on the broker).
struct Cleanup {
    url: String,
    queue: String,
    queues: Vec<String>,
    exchanges: Vec<String>,
}

impl Cleanup {
    fn new(url: &str, queue: &str) -> Cleanup {
        Cleanup {
            url: url.to_owned(),
            queue: queue.to_owned(),
            queues: Vec::new(),
            exchanges: Vec::new(),
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let queues: Vec<&str> = self.queues.iter().map(String::as_str).collect();
        let exchanges: Vec<&str> = self.exchanges.iter().map(String::as_str).collect();
        clean_up(&self.url, &self.queue, &queues, &exchanges);
    }
}

/// A worker process; killed when dropped.
struct Worker {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Worker {
    fn start(dir: &Path, name: &str, url: &str, args: &[&str]) -> Worker {
        Worker::start_with(dir, name, url, args, &[])
    }

    fn start_with(
        dir: &Path,
        name: &str,
        url: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Worker {
        let stdout = dir.join(format!("{name}.out"));
        let stderr = dir.join(format!("{name}.err"));
        let child = resultpipe()
            .arg("worker")
            .args(args)
            .env("RESULTPIPE_AMQP_URL", url)
            .env("PULSE_URL", URL)
            .envs(env.iter().copied())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        Worker {
            child,
            stdout,
            stderr,
        }
    }

    /// Its outcome lines so far.
    fn lines(&self) -> Vec<Value> {
        outcome_lines(&self.stdout)
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig} failed");
    }

    /// Waits for it to end; its exit code.
    fn wait(&mut self, limit: Duration) -> Option<i32> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                start.elapsed() < limit,
                "the worker did not stop within {limit:?}: {}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn outcome_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Tasks settled as done (acknowledged), by task id, over all workers.
fn done_tasks(workers: &[&Worker]) -> BTreeMap<String, Vec<Value>> {
    let mut done: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for w in workers {
        for l in w.lines() {
            if l["outcome"] == "done" && l.get("settled").is_none() {
                done.entry(l["task"].as_str().unwrap().to_owned())
                    .or_default()
                    .push(l);
            }
        }
    }
    done
}

fn wait_for(
    what: &str,
    limit: Duration,
    mut ready: impl FnMut() -> bool,
    context: impl Fn() -> String,
) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < limit,
            "{what}: not within {limit:?}\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn submit(url: &str, queue: &str, dir: &Path, tasks: &[Value], extra: &[&str]) {
    let file = dir.join(format!("tasks-{}.jsonl", unique("t")));
    let body: String = tasks.iter().map(|t| format!("{t}\n")).collect();
    std::fs::write(&file, body).unwrap();
    let o = resultpipe()
        .args(["task", "submit"])
        .arg(&file)
        .args(["--queue", queue])
        .args(extra)
        .env("RESULTPIPE_AMQP_URL", url)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "task submit: {}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    assert!(
        text(&o.stdout).contains(&format!("submitted {}, failed 0", tasks.len())),
        "{}",
        text(&o.stdout)
    );
}

/// The inputs of the testdata, each served three ways: plain, gzipped by name
/// (`.gz`), and with `Content-Encoding: gzip`. Their URLs.
fn serve_inputs(server: &FileServer) -> Vec<String> {
    let mut urls = Vec::new();
    for p in [
        "stackviz/own_stestr_2workers/input/testrepository.subunit",
        "stackviz/tempest_fixture/input/tempest.subunit",
        "stackviz/stestr_failure/input/failure.subunit",
        "report/small.subunit",
    ] {
        let bytes = std::fs::read(testdata(p)).unwrap();
        let name = Path::new(p).file_name().unwrap().to_str().unwrap();
        let dir = p.split('/').nth(1).unwrap();
        let plain = format!("/plain/{dir}/{name}");
        let named = format!("/named/{dir}/{name}.gz");
        let encoded = format!("/encoded/{dir}/{name}");
        server.put(
            &plain,
            File {
                body: bytes.clone(),
                ..File::default()
            },
        );
        server.put(
            &named,
            File {
                body: gzip(&bytes),
                ..File::default()
            },
        );
        server.put(
            &encoded,
            File {
                body: gzip(&bytes),
                gzip_encoding: true,
                ..File::default()
            },
        );
        urls.extend([server.url(&plain), server.url(&named), server.url(&encoded)]);
    }
    urls
}

/// A test's scratch directory, where its tasks write (`root`), and the file server
/// with the testdata inputs on it (`urls`).
struct Scene {
    tmp: tempfile::TempDir,
    root: PathBuf,
    server: FileServer,
    urls: Vec<String>,
}

fn scene() -> Scene {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("out");
    let server = FileServer::start();
    let urls = serve_inputs(&server);
    Scene {
        tmp,
        root,
        server,
        urls,
    }
}

/// Serves the 14-test sample at `path`, as `file` says (its body filled in); its URL.
fn small_at(server: &FileServer, path: &str, file: File) -> String {
    let body = std::fs::read(testdata("report/small.subunit")).unwrap();
    server.put(path, File { body, ..file });
    server.url(path)
}

/// What the command line writes for `input`: the stackviz data (current layout) and
/// the report page.
struct Reference {
    stackviz: Vec<(String, Vec<u8>)>,
    report: Vec<u8>,
}

fn reference(dir: &Path, input: &str) -> Reference {
    let out = dir.join(unique("ref"));
    let o = resultpipe()
        .args(["stackviz", "--layout", "current", "-f", input, "--html"])
        .arg(out.join("html"))
        .arg(out.join("data"))
        .output()
        .unwrap();
    assert!(o.status.success(), "stackviz {input}: {}", text(&o.stderr));
    let page = out.join("report.html");
    let o = resultpipe()
        .args(["report", input, "-o"])
        .arg(&page)
        .output()
        .unwrap();
    assert!(o.status.success(), "report {input}: {}", text(&o.stderr));
    let report = std::fs::read(&page).unwrap();
    assert_eq!(
        report,
        std::fs::read(out.join("html/index.html")).unwrap(),
        "report and stackviz --html agree"
    );
    Reference {
        stackviz: dir_files(&out.join("data")),
        report,
    }
}

fn stackviz_task(id: &str, input: &str, root: &Path) -> Value {
    json!({
        "id": id,
        "inputs": [input],
        "outputs": {
            "stackviz": {"dir": format!("{}/stackviz/{{task_id}}", root.display()), "layout": "current"},
            "report": {"path": format!("{}/reports/{{task_id}}.html", root.display())}
        }
    })
}

fn assert_outputs(root: &Path, id: &str, want: &Reference) {
    let dir = root.join("stackviz").join(id);
    assert!(dir.is_dir(), "{id}: no stackviz data in {}", dir.display());
    let got = dir_files(&dir);
    if got != want.stackviz {
        let names = |f: &[(String, Vec<u8>)]| -> Vec<(String, usize)> {
            f.iter().map(|(n, b)| (n.clone(), b.len())).collect()
        };
        panic!(
            "{id}: the stackviz data differ from the CLI's:\n{:?}\n{:?}",
            names(&got),
            names(&want.stackviz)
        );
    }
    // nothing half-written left beside it (a killed worker's temporary files are
    // removed when the task is built again)
    let leftovers: Vec<String> = std::fs::read_dir(root.join("reports"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!(".{id}.html.tmp.")))
        .collect();
    assert!(leftovers.is_empty(), "{id}: {leftovers:?}");
    let page = std::fs::read(root.join("reports").join(format!("{id}.html")))
        .unwrap_or_else(|e| panic!("{id}: no report: {e}"));
    assert!(
        page == want.report,
        "{id}: the report differs from the CLI's"
    );
}

#[test]
fn three_workers_build_300_tasks_as_the_cli_does_and_publish_every_job() {
    let Scene {
        tmp, root, urls, ..
    } = scene();
    let queue = unique("tasks");
    let mut cleanup = Cleanup::new(URL, &queue);
    let announce = unique("announce");
    let jobs_exchange = format!("exchange/rptest/{}", unique("jobs"));
    let announced = bind_queue(URL, &announce, "#");
    let jobs = bind_queue(URL, &jobs_exchange, "#");
    cleanup.queues = vec![announced.clone(), jobs.clone()];
    cleanup.exchanges = vec![announce.clone(), jobs_exchange.clone()];

    let tasks: Vec<Value> = (0..300)
        .map(|i| {
            let mut t = stackviz_task(&format!("run-{i}"), &urls[i % urls.len()], &root);
            t["outputs"]["treeherder"] = json!({
                "job": {"project": "mozilla-central", "revision": REV, "job-name": format!("tests {i}")},
                "pulse": {"exchange": jobs_exchange}
            });
            t
        })
        .collect();
    submit(URL, &queue, tmp.path(), &tasks, &[]);
    let args = [
        "--queue",
        &queue,
        "--concurrency",
        "2",
        "--announce-exchange",
        &announce,
    ];
    let workers: Vec<Worker> = (0..3)
        .map(|n| Worker::start(tmp.path(), &format!("w{n}"), URL, &args))
        .collect();
    let all: Vec<&Worker> = workers.iter().collect();
    wait_for(
        "300 tasks done",
        Duration::from_secs(300),
        || done_tasks(&all).len() == 300,
        || {
            all.iter()
                .map(|w| w.stderr())
                .collect::<Vec<_>>()
                .join("\n")
        },
    );

    // every task's outputs equal what the command line writes for its input
    let refs: HashMap<&str, Reference> = urls
        .iter()
        .map(|u| (u.as_str(), reference(tmp.path(), u)))
        .collect();
    for (i, t) in tasks.iter().enumerate() {
        assert_outputs(
            &root,
            &format!("run-{i}"),
            &refs[t["inputs"][0].as_str().unwrap()],
        );
    }
    // every worker took a share; each task done once (nothing failed or was redelivered)
    for w in &workers {
        assert!(
            !w.lines().is_empty(),
            "a worker did nothing: {}",
            w.stderr()
        );
    }
    let done = done_tasks(&all);
    assert!(done.values().all(|d| d.len() == 1), "a task was done twice");
    let line = &done["run-0"][0];
    for key in ["fetch_ms", "build_ms", "publish_ms", "total_ms", "delivery"] {
        assert!(line[key].is_u64(), "{key} missing in {line}");
    }
    assert_eq!(line["counts"]["records"], 22, "{line}");

    // every Pulse job arrived, by taskId; a sample's taskIds are those the CLI gives
    let bodies: Vec<Value> = drain(URL, &jobs)
        .iter()
        .map(|(b, _)| serde_json::from_slice(b).unwrap())
        .collect();
    let by_name: BTreeMap<String, String> = bodies
        .iter()
        .map(|j| {
            (
                j["display"]["jobName"].as_str().unwrap().to_owned(),
                j["taskId"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(by_name.len(), 300, "jobs by name");
    let task_ids: BTreeSet<&String> = by_name.values().collect();
    assert_eq!(task_ids.len(), 300, "distinct taskIds");
    for i in [0usize, 7, 150, 299] {
        let o = resultpipe()
            .args([
                "pulse",
                "publish",
                "--dry-run",
                "--exchange",
                &jobs_exchange,
            ])
            .arg(tasks[i]["inputs"][0].as_str().unwrap())
            .args(["--project", "mozilla-central", "--revision", REV])
            .args(["--job-name", &format!("tests {i}")])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o.stderr));
        let out = text(&o.stdout);
        let doc: Value =
            serde_json::from_str(out.lines().next().unwrap().split_once('\t').unwrap().1).unwrap();
        assert_eq!(
            by_name[&format!("tests {i}")],
            doc["taskId"].as_str().unwrap(),
            "task {i}'s job has the taskId the CLI gives it"
        );
    }

    // each task announced once as done; the queue ends empty, nothing dead-lettered
    let announcements: Vec<(Vec<u8>, _)> = drain(URL, &announced);
    let announced_ids: BTreeSet<String> = announcements
        .iter()
        .map(|(b, _)| serde_json::from_slice::<Value>(b).unwrap())
        .filter(|a| a["outcome"] == "done")
        .map(|a| a["task"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(announced_ids.len(), 300);
    assert_eq!(depth(URL, &queue), 0, "the queue ends empty");
    assert_eq!(
        depth(URL, &format!("{queue}.dead")),
        0,
        "nothing dead-lettered"
    );
    drop(workers);
}

#[test]
fn a_worker_killed_mid_task_loses_nothing() {
    let Scene {
        tmp,
        root,
        server,
        urls,
    } = scene();
    // the first request stalls mid-body for a minute: the worker is killed in it
    let slow = small_at(
        &server,
        "/slow/small.subunit",
        File {
            stall_first: 1,
            stall: Duration::from_secs(60),
            ..File::default()
        },
    );
    let queue = unique("kill");
    let _cleanup = Cleanup::new(URL, &queue);
    let args = ["--queue", &queue, "--concurrency", "2", "--no-announce"];
    submit(
        URL,
        &queue,
        tmp.path(),
        &[stackviz_task("slow", &slow, &root)],
        &[],
    );
    let mut a = Worker::start(tmp.path(), "a", URL, &args);
    wait_for(
        "the worker fetching the slow input",
        Duration::from_secs(30),
        || server.requests("/slow/small.subunit") == 1,
        || a.stderr(),
    );
    let others: Vec<Value> = (0..30)
        .map(|i| stackviz_task(&format!("t{i}"), &urls[i % urls.len()], &root))
        .collect();
    submit(URL, &queue, tmp.path(), &others, &[]);
    std::thread::sleep(Duration::from_millis(300));
    a.signal("-KILL");
    a.wait(Duration::from_secs(10));
    let b = Worker::start(tmp.path(), "b", URL, &args);
    let c = Worker::start(tmp.path(), "c", URL, &args);
    let all = [&a, &b, &c];
    wait_for(
        "31 tasks done",
        Duration::from_secs(120),
        || done_tasks(&all).len() == 31,
        || {
            let done = done_tasks(&all);
            let missing: Vec<String> = std::iter::once("slow".to_owned())
                .chain((0..30).map(|i| format!("t{i}")))
                .filter(|id| !done.contains_key(id))
                .collect();
            let lines: Vec<Value> = all.iter().flat_map(|w| w.lines()).collect();
            format!(
                "missing {missing:?}; queue depth {}\n{lines:#?}\n{}\n{}\n{}",
                depth(URL, &queue),
                a.stderr(),
                b.stderr(),
                c.stderr()
            )
        },
    );
    let done = done_tasks(&all);
    let slow_done = &done["slow"];
    assert!(
        slow_done.iter().any(|l| l["delivery"].as_u64() >= Some(2)),
        "the killed task was redelivered: {slow_done:?}"
    );
    assert_eq!(server.requests("/slow/small.subunit"), 2);
    // at least once: a task may be done twice only if a killed worker had it in hand
    for (id, lines) in &done {
        assert!(
            lines.len() == 1 || id == "slow",
            "{id} done {} times",
            lines.len()
        );
    }
    assert_outputs(&root, "slow", &reference(tmp.path(), &slow));
    let refs: HashMap<&str, Reference> = urls[..12]
        .iter()
        .map(|u| (u.as_str(), reference(tmp.path(), u)))
        .collect();
    for (i, t) in others.iter().enumerate() {
        assert_outputs(
            &root,
            &format!("t{i}"),
            &refs[t["inputs"][0].as_str().unwrap()],
        );
    }
    assert_eq!(depth(URL, &queue), 0);
    drop((b, c));
}

#[test]
fn closed_connections_poison_tasks_and_a_failing_server_are_survived() {
    ensure_test_vhost();
    let url = format!("amqp://guest:guest@127.0.0.1:5672/{TEST_VHOST}");
    let Scene {
        tmp,
        root,
        server,
        urls,
    } = scene();
    let busy = small_at(
        &server,
        "/busy/small.subunit",
        File {
            fail_first: 2,
            ..File::default()
        },
    );
    let queue = unique("reconnect");
    let mut cleanup = Cleanup::new(&url, &queue);
    // the jobs go to the same vhost: the workers' Pulse connection is closed too
    let jobs_exchange = format!("exchange/rptest/{}", unique("jobs"));
    let jobs = bind_queue(&url, &jobs_exchange, "#");
    cleanup.queues = vec![jobs.clone()];
    cleanup.exchanges = vec![jobs_exchange.clone()];
    let mut tasks: Vec<Value> = (0..60)
        .map(|i| {
            let mut t = stackviz_task(&format!("t{i}"), &urls[i % urls.len()], &root);
            t["outputs"]["treeherder"] = json!({
                "job": {"project": "mozilla-central", "revision": REV, "job-name": format!("tests {i}")},
                "pulse": {"exchange": jobs_exchange}
            });
            t
        })
        .collect();
    tasks.push(stackviz_task("busy", &busy, &root));
    tasks.push(stackviz_task(
        "missing",
        &server.url("/nope.subunit"),
        &root,
    ));
    submit(&url, &queue, tmp.path(), &tasks, &[]);
    // `task submit` refuses a task that breaks the schema; a broken producer may still
    // put one on the queue, as here
    let poison = br#"{"id": "poison", "inputs": ["x"], "outputs": {"tarball": {}}}"#.to_vec();
    let q = queue.clone();
    amqp(&url, async move |ch: &Channel| {
        ch.confirm_select(Default::default()).await.unwrap();
        ch.basic_publish(
            "".into(),
            q.as_str().into(),
            Default::default(),
            &poison,
            Default::default(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    });
    let args = ["--queue", &queue, "--concurrency", "2", "--no-announce"];
    let pulse = [("PULSE_URL", url.as_str())];
    let w1 = Worker::start_with(tmp.path(), "w1", &url, &args, &pulse);
    let w2 = Worker::start_with(tmp.path(), "w2", &url, &args, &pulse);
    let all = [&w1, &w2];
    wait_for(
        "some tasks done",
        Duration::from_secs(60),
        || done_tasks(&all).len() >= 5,
        || w1.stderr(),
    );
    for _ in 0..2 {
        let o = Command::new("rabbitmqctl")
            .args([
                "close_all_connections",
                "-p",
                TEST_VHOST,
                "resultpipe test: broker restart",
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o.stderr));
        std::thread::sleep(Duration::from_millis(700));
    }
    wait_for(
        "61 tasks done",
        Duration::from_secs(180),
        || done_tasks(&all).len() == 61,
        || format!("{}\n{}", w1.stderr(), w2.stderr()),
    );
    let logs = format!("{}{}", w1.stderr(), w2.stderr());
    assert!(logs.contains("reconnecting"), "{logs}");
    assert!(
        !logs.contains("guest:guest"),
        "a password in the log: {logs}"
    );
    // the 503s were retried inside the task (a closed connection may have cost it a
    // delivery, and so another request)
    assert!(server.requests("/busy/small.subunit") >= 3);
    assert!(
        logs.contains("the server answered 503 Service Unavailable; trying again"),
        "{logs}"
    );
    let done = done_tasks(&all);
    for (i, t) in tasks[..61].iter().enumerate() {
        let id = t["id"].as_str().unwrap();
        assert!(done.contains_key(id), "task {i} ({id}) not done");
    }
    // the poison task and the 404 are in the dead-letter queue, each with its reason
    let dead = drain(&url, &format!("{queue}.dead"));
    let reasons: BTreeMap<String, String> = dead
        .iter()
        .map(|(_, h)| {
            (
                h.get("x-resultpipe-task-id").cloned().unwrap_or_default(),
                h.get("x-resultpipe-error").cloned().unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        reasons
            .get("poison")
            .is_some_and(|r| r.contains("schema") && r.contains("tarball")),
        "{reasons:?}"
    );
    assert!(
        reasons.get("missing").is_some_and(|r| r.contains("404")),
        "{reasons:?}"
    );
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert_eq!(depth(&url, &queue), 0);
    // every job arrived (some maybe twice: a task redelivered after a lost ack)
    let names: BTreeSet<String> = drain(&url, &jobs)
        .iter()
        .map(|(b, _)| serde_json::from_slice::<Value>(b).unwrap())
        .map(|j| j["display"]["jobName"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names.len(), 60, "{names:?}");
    drop((w1, w2));
}

#[test]
fn sigterm_finishes_or_returns_the_tasks_in_flight_and_exits_0() {
    let Scene {
        tmp, root, server, ..
    } = scene();
    for (name, stall) in [("a", 2), ("b", 2), ("c", 2), ("d", 2), ("long", 60)] {
        small_at(
            &server,
            &format!("/{name}/small.subunit"),
            File {
                stall_first: 1,
                stall: Duration::from_secs(stall),
                ..File::default()
            },
        );
    }
    let queue = unique("term");
    let _cleanup = Cleanup::new(URL, &queue);
    let tasks: Vec<Value> = ["a", "b", "c", "d"]
        .iter()
        .map(|n| stackviz_task(n, &server.url(&format!("/{n}/small.subunit")), &root))
        .collect();
    submit(URL, &queue, tmp.path(), &tasks, &[]);
    let args = ["--queue", &queue, "--concurrency", "2", "--no-announce"];
    let mut w = Worker::start(tmp.path(), "w", URL, &args);
    wait_for(
        "two tasks in flight",
        Duration::from_secs(30),
        || {
            ["a", "b", "c", "d"]
                .iter()
                .filter(|n| server.requests(&format!("/{n}/small.subunit")) > 0)
                .count()
                == 2
        },
        || w.stderr(),
    );
    w.signal("-TERM");
    assert_eq!(w.wait(Duration::from_secs(30)), Some(0), "{}", w.stderr());
    // the two in flight were finished, the other two never started
    assert_eq!(done_tasks(&[&w]).len(), 2, "{:?}", w.lines());
    assert_eq!(depth(URL, &queue), 2);

    // a task that outlasts the grace period goes back to the queue
    submit(
        URL,
        &queue,
        tmp.path(),
        &[stackviz_task(
            "long",
            &server.url("/long/small.subunit"),
            &root,
        )],
        &[],
    );
    let mut grace = Worker::start(
        tmp.path(),
        "grace",
        URL,
        &[
            "--queue",
            &queue,
            "--concurrency",
            "3",
            "--no-announce",
            "--grace",
            "1",
        ],
    );
    wait_for(
        "the long task in flight",
        Duration::from_secs(30),
        || server.requests("/long/small.subunit") == 1,
        || grace.stderr(),
    );
    grace.signal("-TERM");
    assert_eq!(
        grace.wait(Duration::from_secs(15)),
        Some(0),
        "{}",
        grace.stderr()
    );
    assert!(
        grace.stderr().contains("returned to the queue"),
        "{}",
        grace.stderr()
    );

    // nothing lost: another worker finishes all of them
    let last = Worker::start(tmp.path(), "last", URL, &args);
    let all = [&w, &grace, &last];
    wait_for(
        "all five done",
        Duration::from_secs(60),
        || done_tasks(&all).len() == 5,
        || last.stderr(),
    );
    assert_eq!(depth(URL, &queue), 0);
    drop(last);
}

#[test]
fn a_task_that_keeps_killing_workers_is_dead_lettered_at_the_delivery_limit() {
    let Scene {
        tmp, root, server, ..
    } = scene();
    let deadly = small_at(
        &server,
        "/deadly/small.subunit",
        File {
            stall_first: usize::MAX,
            stall: Duration::from_secs(120),
            ..File::default()
        },
    );
    let queue = unique("limit");
    let _cleanup = Cleanup::new(URL, &queue);
    submit(
        URL,
        &queue,
        tmp.path(),
        &[stackviz_task("deadly", &deadly, &root)],
        &["--delivery-limit", "2"],
    );
    let args = ["--queue", &queue, "--no-announce", "--delivery-limit", "2"];
    let dead_queue = format!("{queue}.dead");
    let mut kills = 0;
    while depth(URL, &dead_queue) == 0 {
        assert!(
            kills < 6,
            "not dead-lettered after {kills} crashed deliveries"
        );
        let mut w = Worker::start(tmp.path(), &format!("w{kills}"), URL, &args);
        let seen = server.requests("/deadly/small.subunit");
        let start = Instant::now();
        while server.requests("/deadly/small.subunit") == seen && depth(URL, &dead_queue) == 0 {
            assert!(start.elapsed() < Duration::from_secs(30), "{}", w.stderr());
            std::thread::sleep(Duration::from_millis(50));
        }
        w.signal("-KILL");
        w.wait(Duration::from_secs(10));
        kills += 1;
        std::thread::sleep(Duration::from_millis(300));
    }
    // delivered limit + 1 times (each ended by a crash), then dead-lettered by the broker
    assert_eq!(server.requests("/deadly/small.subunit"), 3);
    let dead = drain(URL, &dead_queue);
    assert_eq!(dead.len(), 1);
    let task: Value = serde_json::from_slice(&dead[0].0).unwrap();
    assert_eq!(task["id"], "deadly");
    assert_eq!(
        dead[0].1.get("x-first-death-reason").map(String::as_str),
        Some("delivery_limit"),
        "{:?}",
        dead[0].1
    );
    assert_eq!(depth(URL, &queue), 0);
}

#[test]
fn jobs_posted_to_treeherder_and_events_sent_to_splunk_are_the_clis() {
    const HEC_TOKEN: &str = "0b7e9d2c-5a41-4f3e-8c6d-2e1f0a9b8c7d";
    let Scene {
        tmp, root, urls, ..
    } = scene();
    let th = crate::support::treeherder::server(0, Duration::ZERO);
    let hec = HecServer::start(HecConfig {
        tokens: vec![Token {
            ack: true,
            ..Token::new(HEC_TOKEN)
        }],
        ..HecConfig::default()
    });
    let queue = unique("rest");
    let _cleanup = Cleanup::new(URL, &queue);
    let input = &urls[2]; // gzip Content-Encoding
    let mut task = stackviz_task("posted", input, &root);
    task["outputs"]["treeherder"] = json!({
        "job": {"project": "mozilla-central", "revision": REV, "job-symbol": "W"},
        "submit": {}
    });
    task["outputs"]["splunk"] = json!({"id": "me@box", "run": "r1", "ack": true});
    submit(URL, &queue, tmp.path(), &[task], &[]);
    let th_url = format!("http://127.0.0.1:{}", th.port);
    let hec_url = hec.url();
    let w = Worker::start_with(
        tmp.path(),
        "w",
        URL,
        &["--queue", &queue, "--no-announce", "--max-tasks", "1"],
        &[
            ("TREEHERDER_URL", &th_url),
            ("TREEHERDER_CLIENT_ID", crate::support::treeherder::ID),
            ("TREEHERDER_SECRET", crate::support::treeherder::KEY),
            ("SPLUNK_HEC_URL", &hec_url),
            ("SPLUNK_HEC_TOKEN", HEC_TOKEN),
        ],
    );
    wait_for(
        "the task done",
        Duration::from_secs(60),
        || done_tasks(&[&w]).len() == 1,
        || format!("{}{:?}", w.stderr(), w.lines()),
    );
    let line = &done_tasks(&[&w])["posted"][0];
    // the job POSTed, Hawk-signed, is the REST job the CLI makes of the same input
    let o = resultpipe()
        .args(["treeherder", "job", "--rest", input])
        .args([
            "--project",
            "mozilla-central",
            "--revision",
            REV,
            "--job-symbol",
            "W",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let want: Value = serde_json::from_str(text(&o.stdout).lines().next().unwrap()).unwrap();
    let seen = th.seen.lock().unwrap();
    let (what, _, body, status) = seen.requests.last().expect("a POST to Treeherder");
    assert_eq!(what, "POST /api/project/mozilla-central/jobs/");
    assert_eq!(*status, 200, "{}", text(body));
    let posted: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(posted, json!([want]));
    drop(seen);
    // the events HEC acknowledged are those `splunk send --dry-run` prints
    let o = resultpipe()
        .args([
            "splunk",
            "send",
            "--dry-run",
            "--id",
            "me@box",
            "--run",
            "r1",
            input,
        ])
        .output()
        .unwrap();
    let events: Vec<String> = text(&o.stdout).lines().map(str::to_owned).collect();
    assert!(!events.is_empty());
    assert_eq!(hec.events(), events);
    assert_eq!(line["counts"]["events"], events.len());
    assert_eq!(line["counts"]["jobs"], 1);
    let logs = w.stderr();
    for secret in [HEC_TOKEN, crate::support::treeherder::KEY] {
        assert!(!logs.contains(secret) && !line.to_string().contains(secret));
    }
    drop(w);
}

#[test]
fn task_schema_submit_and_worker_say_what_is_wrong() {
    // the schema printed is the one in schemas/
    let o = resultpipe().args(["task", "schema"]).output().unwrap();
    assert!(o.status.success());
    assert_eq!(
        o.stdout,
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/task.v1.json")).unwrap()
    );
    // submit checks every line and names the bad ones, with why
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("tasks.jsonl");
    std::fs::write(
        &file,
        "# a comment\n{\"id\": \"ok\", \"inputs\": [\"a.subunit\"], \"outputs\": {\"report\": {\"path\": \"r.html\"}}}\n\n{\"id\": \"bad\", \"inputs\": [\"a\"], \"outputs\": {\"report\": {\"path\": \"x\", \"colour\": 1}}}\nnot json\n",
    )
    .unwrap();
    let o = resultpipe()
        .args(["task", "submit", "--dry-run", "--queue", "q"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("tasks.jsonl:4:") && err.contains("colour"),
        "{err}"
    );
    assert!(
        err.contains("tasks.jsonl:5:") && err.contains("not JSON"),
        "{err}"
    );
    assert!(
        text(&o.stdout).contains("1 valid task(s), 2 invalid"),
        "{}",
        text(&o.stdout)
    );
    // no broker URL: a clear error, before anything is done
    for args in [
        &["worker", "--queue", "q"][..],
        &["task", "submit", "--queue", "q"],
    ] {
        let mut c = resultpipe();
        c.args(args);
        if args[0] == "task" {
            c.arg(&file);
        }
        let o = c.env_remove("RESULTPIPE_AMQP_URL").output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            text(&o.stderr).contains("RESULTPIPE_AMQP_URL"),
            "{}",
            text(&o.stderr)
        );
    }
    // a broker that refuses the password: exit 2, and the password is never shown
    let o = resultpipe()
        .args(["worker", "--queue", "q"])
        .env(
            "RESULTPIPE_AMQP_URL",
            "amqp://guest:not-the-password@127.0.0.1:5672/%2f",
        )
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.contains("ACCESS_REFUSED") || err.contains("refused"),
        "{err}"
    );
    assert!(!err.contains("not-the-password"), "{err}");
}

#[test]
fn inputs_over_the_size_cap_are_refused_declared_or_decoded() {
    let Scene {
        tmp, root, urls, ..
    } = scene();
    // urls[0] is served as it is (its Content-Length says it is too big), urls[2] with
    // Content-Encoding: gzip (small on the wire, too big once decoded)
    let big = std::fs::metadata(testdata(
        "stackviz/own_stestr_2workers/input/testrepository.subunit",
    ))
    .unwrap()
    .len();
    let wire = gzip(
        &std::fs::read(testdata(
            "stackviz/own_stestr_2workers/input/testrepository.subunit",
        ))
        .unwrap(),
    )
    .len() as u64;
    assert!(wire < 4096 && big > 4096, "{wire} {big}");
    let queue = unique("cap");
    let _cleanup = Cleanup::new(URL, &queue);
    submit(
        URL,
        &queue,
        tmp.path(),
        &[
            stackviz_task("declared", &urls[0], &root),
            stackviz_task("decoded", &urls[2], &root),
        ],
        &[],
    );
    let mut w = Worker::start(
        tmp.path(),
        "w",
        URL,
        &[
            "--queue",
            &queue,
            "--no-announce",
            "--max-input-size",
            "4K",
            "--max-tasks",
            "2",
        ],
    );
    assert_eq!(w.wait(Duration::from_secs(60)), Some(0), "{}", w.stderr());
    let dead = drain(URL, &format!("{queue}.dead"));
    let reasons: BTreeMap<String, String> = dead
        .iter()
        .map(|(_, h)| {
            (
                h["x-resultpipe-task-id"].clone(),
                h["x-resultpipe-error"].clone(),
            )
        })
        .collect();
    assert!(
        reasons["declared"].contains(&format!("{big} bytes, more than the 4096-byte cap")),
        "{reasons:?}"
    );
    assert!(
        reasons["decoded"].contains("more than the 4096-byte cap on an input (decoded)"),
        "{reasons:?}"
    );
    assert!(!root.join("stackviz/declared").exists());
}
