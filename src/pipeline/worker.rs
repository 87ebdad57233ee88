//! A queue worker: consumes tasks from the task queue ([`crate::sinks::task_queue`]),
//! runs each with [`super::task::run`] on a thread of its own (at most `concurrency`
//! at once, `prefetch` unacknowledged), and settles it:
//!
//! - done: every output durable → announced (confirmed) → `ack`;
//! - permanent failure (invalid task, input missing or not a run, 404): published to
//!   the dead-letter exchange with the reason in `x-resultpipe-error` (confirmed) →
//!   `ack`, so it leaves the queue at once;
//! - transient failure (input server or broker down after the retries, a full disk):
//!   `nack` with requeue; the quorum queue counts it, and past its delivery limit
//!   dead-letters it;
//! - a worker killed mid-task: the broker returns the task when the connection drops.
//!
//! A lost connection is reopened with backoff (tasks unacked on it are redelivered by
//! the broker, to this worker or another). On SIGTERM or SIGINT the worker stops
//! consuming, lets the tasks in flight finish for up to the grace period, returns the
//! rest to the queue, and ends with success.
//!
//! Every outcome is one JSON line on the outcome writer (stdout for the command line):
//! task id, outcome, delivery count, timings (fetch, build, publish, total in ms),
//! counts and outputs, or the error.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_lite::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions,
    BasicPublishOptions, BasicQosOptions, ConfirmSelectOptions, ExchangeDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Acker, BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use serde_json::{Map, Value, json};
use tokio::sync::Semaphore;

use super::Error;
use super::task::{self, Done, Resources, TaskError};
use crate::model::retry::Backoff;
use crate::sinks::Secret;
use crate::sinks::pulse::{SharedPublisher, parse_broker_url, redact_url};
use crate::sinks::task_queue::{QueueSpec, declare};

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// The broker (`RESULTPIPE_AMQP_URL`).
    pub url: Secret,
    /// The task queue.
    pub queue: QueueSpec,
    /// Tasks run at once.
    pub concurrency: usize,
    /// Tasks delivered and not yet acknowledged, at most (at least `concurrency`).
    pub prefetch: u16,
    /// The topic exchange each settled task is announced on (`<queue>.done`,
    /// `<queue>.dead`, `<queue>.retry` routing keys); `None` announces nothing.
    pub announce: Option<String>,
    /// How long tasks in flight may finish after SIGTERM/SIGINT before they are
    /// returned to the queue.
    pub grace: Duration,
    /// Waits between reconnection attempts (tried forever; `attempts` is ignored).
    pub reconnect: Backoff,
    /// Stop after this many tasks settled (for benchmarks and tests); `None` runs
    /// until a signal.
    pub max_tasks: Option<u64>,
    /// What tasks get: secrets, fetch limits.
    pub resources: Resources,
}

/// Tasks settled, by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Done and acknowledged.
    pub done: u64,
    /// Dead-lettered for a permanent failure.
    pub dead: u64,
    /// Returned to the queue (transient failures, shutdown).
    pub returned: u64,
}

/// Where outcome lines go.
pub type OutcomeWriter = Arc<Mutex<dyn Write + Send>>;

struct Shared {
    settings: WorkerSettings,
    out: OutcomeWriter,
    tally: Mutex<Tally>,
    /// Deliveries in flight, by (connection number, delivery tag).
    in_flight: Mutex<HashMap<(u64, u64), Acker>>,
    /// Set once on SIGTERM/SIGINT.
    stop: tokio::sync::watch::Sender<bool>,
    slots: Arc<Semaphore>,
    /// Tasks being acknowledged, announced or dead-lettered.
    settling: std::sync::atomic::AtomicUsize,
    settled: tokio::sync::Notify,
    worker_name: String,
}

/// Runs the worker until SIGTERM/SIGINT (or `max_tasks`); its tally.
pub fn run(settings: WorkerSettings, out: OutcomeWriter) -> Result<Tally, Error> {
    parse_broker_url(settings.url.expose()).map_err(Error::input)?;
    if settings.concurrency == 0 {
        return Err(Error::input("--concurrency must be at least 1"));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(settings.concurrency.max(1) + 2)
        .build()
        .map_err(|e| Error::input(format!("cannot start the async runtime: {e}")))?;
    let host = super::host_name();
    let mut settings = settings;
    if settings.resources.pulse_url.is_some() {
        settings.resources.pulse_publisher = Some(SharedPublisher::new(rt.handle().clone()));
    }
    let shared = Arc::new(Shared {
        slots: Arc::new(Semaphore::new(settings.concurrency)),
        settings,
        out,
        tally: Mutex::new(Tally::default()),
        in_flight: Mutex::new(HashMap::new()),
        stop: tokio::sync::watch::Sender::new(false),
        settling: std::sync::atomic::AtomicUsize::new(0),
        settled: tokio::sync::Notify::new(),
        worker_name: format!("{host}:{}", std::process::id()),
    });
    let result = rt.block_on(run_async(shared.clone()));
    if let Some(p) = &shared.settings.resources.pulse_publisher {
        rt.block_on(p.close());
    }
    // tasks still running past the grace period were returned to the queue; their
    // threads are not waited for (their files are written atomically or not at all)
    rt.shutdown_timeout(Duration::from_millis(100));
    result?;
    let tally = *lock(&shared.tally);
    Ok(tally)
}

fn lock<T: ?Sized>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Resolves on the first SIGTERM or SIGINT.
async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
}

enum SessionEnd {
    /// A signal or the task budget: shut down.
    Stop,
    /// The connection or channel failed: reconnect.
    Lost(String),
}

async fn run_async(shared: Arc<Shared>) -> Result<(), Error> {
    let signals = shared.clone();
    tokio::spawn(async move {
        stop_signal().await;
        tracing::warn!("stopping: no new tasks are taken");
        signals.stop.send_replace(true);
    });
    let mut stop = shared.stop.subscribe();
    let mut failures = 0u32;
    let mut number = 0u64;
    let redacted = redact_url(shared.settings.url.expose());
    loop {
        let connected = Instant::now();
        number += 1;
        let end = session(&shared, number).await;
        match end {
            SessionEnd::Stop => break,
            SessionEnd::Lost(why) => {
                if why.contains("ACCESS_REFUSED") || why.contains("NOT_ALLOWED") {
                    return Err(Error::input(why));
                }
                // a connection that held for a while starts the backoff afresh
                failures = if connected.elapsed() > Duration::from_secs(30) {
                    1
                } else {
                    failures + 1
                };
                let wait = shared.settings.reconnect.delay(failures);
                tracing::warn!(
                    "{why}; reconnecting to {redacted} in {:.1} s ({} task(s) in flight \
                     will be redelivered by the broker)",
                    wait.as_secs_f64(),
                    lock(&shared.in_flight).len()
                );
                lock(&shared.in_flight).retain(|(n, _), _| *n != number);
                if *stop.borrow_and_update() {
                    break;
                }
                tokio::select! {
                    () = tokio::time::sleep(wait) => {},
                    _ = stop.changed() => break,
                }
            }
        }
    }
    shut_down(&shared).await;
    Ok(())
}

/// Waits up to the grace period for the tasks in flight, then returns the others.
async fn shut_down(shared: &Arc<Shared>) {
    let grace = shared.settings.grace;
    let deadline = Instant::now() + grace;
    let pending = || {
        lock(&shared.in_flight).len() + shared.settling.load(std::sync::atomic::Ordering::SeqCst)
    };
    if pending() > 0 {
        tracing::warn!(
            "stopping: waiting up to {:.0} s for {} task(s) in flight",
            grace.as_secs_f64(),
            pending()
        );
    }
    while pending() > 0 && Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        let _ = tokio::time::timeout(
            left.min(Duration::from_millis(200)),
            shared.settled.notified(),
        )
        .await;
    }
    let rest: Vec<((u64, u64), Acker)> = lock(&shared.in_flight).drain().collect();
    for ((_, tag), acker) in rest {
        let requeue = BasicNackOptions {
            requeue: true,
            ..BasicNackOptions::default()
        };
        match acker.nack(requeue).await {
            Ok(_) => tracing::warn!(
                "delivery {tag}: not finished in the grace period; returned to the queue"
            ),
            Err(e) => tracing::warn!(
                "delivery {tag}: cannot return it ({e}); the broker returns it when the connection closes"
            ),
        }
        lock(&shared.tally).returned += 1;
    }
}

/// One connection: declare, consume, settle; ends when the connection fails or the
/// task budget is spent.
async fn session(shared: &Arc<Shared>, number: u64) -> SessionEnd {
    let mut stop = shared.stop.subscribe();
    if *stop.borrow_and_update() {
        return SessionEnd::Stop;
    }
    let s = &shared.settings;
    let lost = |what: &str, e: &dyn std::fmt::Display| SessionEnd::Lost(format!("{what}: {e}"));
    let uri = match parse_broker_url(s.url.expose()) {
        Ok(u) => u,
        Err(e) => return lost("broker URL", &e),
    };
    let props = ConnectionProperties::default().with_connection_name(
        format!(
            "resultpipe worker {} (queue {})",
            shared.worker_name, s.queue.name
        )
        .into(),
    );
    let conn = match Connection::connect_uri(uri, props).await {
        Ok(c) => c,
        Err(e) => {
            return lost(
                &format!("cannot connect to {}", redact_url(s.url.expose())),
                &e,
            );
        }
    };
    let channel = match conn.create_channel().await {
        Ok(c) => c,
        Err(e) => return lost("cannot open a channel", &e),
    };
    let channel = match declare(&conn, channel, &s.queue).await {
        Ok((c, _)) => c,
        Err(e) => return SessionEnd::Lost(e),
    };
    if let Err(e) = channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
    {
        return lost("cannot enable publisher confirms", &e);
    }
    if let Some(x) = &s.announce {
        let opts = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        if let Err(e) = channel
            .exchange_declare(
                x.as_str().into(),
                ExchangeKind::Topic,
                opts,
                FieldTable::default(),
            )
            .await
        {
            return lost(&format!("cannot declare the announcement exchange {x}"), &e);
        }
    }
    let prefetch = s.prefetch.max(1);
    if let Err(e) = channel
        .basic_qos(prefetch, BasicQosOptions::default())
        .await
    {
        return lost("cannot set the prefetch", &e);
    }
    let tag = format!("resultpipe-worker-{}", shared.worker_name);
    let mut consumer = match channel
        .basic_consume(
            s.queue.name.as_str().into(),
            tag.as_str().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
    {
        Ok(c) => c,
        Err(e) => return lost(&format!("cannot consume from {}", s.queue.name), &e),
    };
    tracing::info!(
        "consuming {} (concurrency {}, prefetch {prefetch})",
        s.queue.name,
        s.concurrency
    );
    let end = loop {
        let mut budget_left = true;
        if let Some(max) = s.max_tasks {
            let t = *lock(&shared.tally);
            if t.done + t.dead >= max {
                shared.stop.send_replace(true);
                break SessionEnd::Stop;
            }
            // enough taken: wait for them to settle (a returned one is taken again)
            let outstanding = lock(&shared.in_flight).len() as u64
                + shared.settling.load(std::sync::atomic::Ordering::SeqCst) as u64;
            budget_left = t.done + t.dead + outstanding < max;
        }
        tokio::select! {
            next = consumer.next(), if budget_left => match next {
                Some(Ok(delivery)) => {
                    let key = (number, delivery.delivery_tag);
                    lock(&shared.in_flight).insert(key, delivery.acker.clone());
                    let shared = shared.clone();
                    let channel = channel.clone();
                    tokio::spawn(async move { handle(shared, channel, delivery, key).await });
                }
                Some(Err(e)) => break lost("the connection failed", &e),
                None => break SessionEnd::Lost("the broker cancelled the consumer".into()),
            },
            _ = stop.changed() => break SessionEnd::Stop,
            () = tokio::time::sleep(Duration::from_millis(200)), if s.max_tasks.is_some() => {}
        }
    };
    if matches!(end, SessionEnd::Stop) {
        let _ = channel
            .basic_cancel(tag.as_str().into(), BasicCancelOptions::default())
            .await;
        shut_down(shared).await;
        let _ = conn.close(200, "worker stopped".into()).await;
    } else {
        // a connection that still stands (the consumer cancelled by the broker, say)
        // is closed, so that the broker returns what it had delivered on it
        let _ = tokio::time::timeout(
            Duration::from_secs(2),
            conn.close(320, "resultpipe worker reconnecting".into()),
        )
        .await;
    }
    end
}

/// Deliveries of the task before this one (the quorum queue's `x-delivery-count`).
fn delivery_count(props: &BasicProperties) -> u64 {
    props
        .headers()
        .as_ref()
        .and_then(|h| h.inner().get("x-delivery-count").cloned())
        .and_then(|v| match v {
            AMQPValue::LongLongInt(n) => u64::try_from(n).ok(),
            AMQPValue::LongInt(n) => u64::try_from(n).ok(),
            AMQPValue::LongUInt(n) => Some(u64::from(n)),
            AMQPValue::ShortInt(n) => u64::try_from(n).ok(),
            _ => None,
        })
        .unwrap_or(0)
}

async fn handle(
    shared: Arc<Shared>,
    channel: Channel,
    delivery: lapin::message::Delivery,
    key: (u64, u64),
) {
    let permit = match shared.slots.clone().acquire_owned().await {
        Ok(p) => p,
        Err(_) => return,
    };
    let tag = delivery.delivery_tag;
    if *shared.stop.borrow() {
        // stopping: a task not started yet goes back at once
        if lock(&shared.in_flight).remove(&key).is_some() {
            let requeue = BasicNackOptions {
                requeue: true,
                ..BasicNackOptions::default()
            };
            let _ = delivery.acker.nack(requeue).await;
            lock(&shared.tally).returned += 1;
        }
        shared.settled.notify_waiters();
        return;
    }
    let started = Instant::now();
    let deliveries = delivery_count(&delivery.properties) + 1;
    let body = delivery.data;
    let resources = shared.settings.resources.clone();
    let body_for_task = body.clone();
    let result = tokio::task::spawn_blocking(move || {
        let task = task::parse(&body_for_task)?;
        let id = task.id.clone();
        if deliveries > 1 {
            let n = task::remove_stale_temps(&task);
            if n > 0 {
                tracing::info!(
                    "{id}: removed {n} temporary file(s) an earlier delivery left behind"
                );
            }
        }
        let result = task::run(&task, &resources).map(|done| (id, done));
        super::release_free_memory();
        result
    })
    .await
    .unwrap_or_else(|e| {
        let why = match e.try_into_panic() {
            Ok(p) => p
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into()),
            Err(e) => e.to_string(),
        };
        Err(TaskError::Permanent(format!(
            "the worker crashed on the task: {why}"
        )))
    });
    drop(permit);
    let id = task::peek_id(&body).unwrap_or_else(|| format!("(delivery {tag})"));
    let mut line = Map::new();
    line.insert("task".into(), json!(id));
    line.insert("queue".into(), json!(shared.settings.queue.name));
    line.insert("worker".into(), json!(shared.worker_name));
    line.insert("delivery".into(), json!(deliveries));
    let acker = delivery.acker;
    // claimed: shutdown no longer returns it, and waits for it to be settled (counted
    // as settling before it leaves the in-flight map, so it is never out of both)
    let _settling = Settling::new(&shared);
    if lock(&shared.in_flight).remove(&key).is_none() {
        line.insert(
            "settled".into(),
            json!("no: it was returned to the queue (shutdown or a lost connection) before it finished; the broker redelivers it"),
        );
        write_line(&shared.out, &line);
        return;
    }
    let settle = match result {
        Ok((_, done)) => {
            add_done(&mut line, &done);
            line.insert("outcome".into(), json!("done"));
            line.insert("total_ms".into(), json!(ms(started.elapsed())));
            let announced = announce(&shared, &channel, "done", &line).await;
            match announced {
                Ok(()) => acker
                    .ack(BasicAckOptions::default())
                    .await
                    .map(|_| Settled::Done)
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e),
            }
        }
        Err(TaskError::Permanent(why)) => {
            line.insert("outcome".into(), json!("dead-lettered"));
            line.insert("error".into(), json!(why));
            line.insert("total_ms".into(), json!(ms(started.elapsed())));
            match dead_letter(&shared, &channel, &body, &id, &why).await {
                Ok(()) => {
                    let _ = announce(&shared, &channel, "dead", &line).await;
                    acker
                        .ack(BasicAckOptions::default())
                        .await
                        .map(|_| Settled::Dead)
                        .map_err(|e| e.to_string())
                }
                Err(e) => Err(e),
            }
        }
        Err(TaskError::Transient(why)) => {
            line.insert("outcome".into(), json!("returned"));
            line.insert("error".into(), json!(why));
            line.insert("total_ms".into(), json!(ms(started.elapsed())));
            // a moment's pause keeps a task that fails at once from spinning
            tokio::time::sleep(Duration::from_millis(500)).await;
            let _ = announce(&shared, &channel, "retry", &line).await;
            acker
                .nack(BasicNackOptions {
                    requeue: true,
                    ..BasicNackOptions::default()
                })
                .await
                .map(|_| Settled::Returned)
                .map_err(|e| e.to_string())
        }
    };
    match settle {
        Ok(s) => {
            let mut t = lock(&shared.tally);
            match s {
                Settled::Done => t.done += 1,
                Settled::Dead => t.dead += 1,
                Settled::Returned => t.returned += 1,
            }
        }
        Err(e) => {
            line.insert(
                "settled".into(),
                json!(format!(
                    "no: {e}; the broker redelivers the task (its outputs are rewritten)"
                )),
            );
        }
    }
    write_line(&shared.out, &line);
    shared.settled.notify_waiters();
}

/// Counts a task as settling while it lives.
struct Settling<'a>(&'a Shared);

impl<'a> Settling<'a> {
    fn new(shared: &'a Shared) -> Settling<'a> {
        shared
            .settling
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Settling(shared)
    }
}

impl Drop for Settling<'_> {
    fn drop(&mut self) {
        self.0
            .settling
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        self.0.settled.notify_waiters();
    }
}

enum Settled {
    Done,
    Dead,
    Returned,
}

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

fn add_done(line: &mut Map<String, Value>, done: &Done) {
    line.insert("fetch_ms".into(), json!(ms(done.fetch)));
    line.insert("fetched_bytes".into(), json!(done.fetched_bytes));
    line.insert("build_ms".into(), json!(ms(done.build)));
    line.insert("publish_ms".into(), json!(ms(done.publish)));
    line.insert("counts".into(), Value::Object(done.counts.clone()));
    let outputs: Map<String, Value> = done
        .outputs
        .iter()
        .map(|b| (b.kind.to_owned(), json!(b.location)))
        .collect();
    line.insert("outputs".into(), Value::Object(outputs));
}

fn write_line(out: &OutcomeWriter, line: &Map<String, Value>) {
    let mut text = serde_json::to_string(line).expect("a map serialises");
    text.push('\n');
    let mut w = lock(out.as_ref());
    let _ = w.write_all(text.as_bytes());
    let _ = w.flush();
}

/// Publishes and awaits the confirm.
async fn publish_confirmed(
    channel: &Channel,
    exchange: &str,
    routing_key: &str,
    body: &[u8],
    properties: BasicProperties,
) -> Result<(), String> {
    let confirm = channel
        .basic_publish(
            exchange.into(),
            routing_key.into(),
            BasicPublishOptions::default(),
            body,
            properties,
        )
        .await
        .map_err(|e| e.to_string())?
        .await
        .map_err(|e| e.to_string())?;
    if confirm.is_nack() {
        return Err(format!("the broker refused the message for {exchange}"));
    }
    Ok(())
}

/// Announces a settled task on the announcement exchange (when there is one).
async fn announce(
    shared: &Shared,
    channel: &Channel,
    status: &str,
    line: &Map<String, Value>,
) -> Result<(), String> {
    let Some(exchange) = &shared.settings.announce else {
        return Ok(());
    };
    let body = serde_json::to_vec(line).expect("a map serialises");
    let key = format!("{}.{status}", shared.settings.queue.name);
    let props = BasicProperties::default()
        .with_content_type("application/json".into())
        .with_delivery_mode(2);
    publish_confirmed(channel, exchange, &key, &body, props).await
}

/// Publishes the task to the dead-letter exchange with why, and awaits the confirm.
async fn dead_letter(
    shared: &Shared,
    channel: &Channel,
    body: &[u8],
    id: &str,
    why: &str,
) -> Result<(), String> {
    let mut headers = FieldTable::default();
    headers.insert(
        "x-resultpipe-error".into(),
        AMQPValue::LongString(why.into()),
    );
    headers.insert(
        "x-resultpipe-task-id".into(),
        AMQPValue::LongString(id.into()),
    );
    headers.insert(
        "x-resultpipe-worker".into(),
        AMQPValue::LongString(shared.worker_name.as_str().into()),
    );
    let props = BasicProperties::default()
        .with_content_type("application/json".into())
        .with_delivery_mode(2)
        .with_headers(headers);
    let dlx = shared.settings.queue.dead_letter_exchange();
    publish_confirmed(channel, &dlx, &shared.settings.queue.name, body, props).await
}
