//! The task queue on RabbitMQ: its topology (a durable quorum queue with a delivery
//! limit, dead-lettering at least once to `<queue>.dlx` → `<queue>.dead`), declared if
//! missing and used as it is when an operator configured it otherwise; and publishing
//! tasks to it with publisher confirms (through [`super::pulse::publish`], so that a
//! dropped connection is retried the same way).
//!
//! Quorum queues count every return of a message (a worker's connection lost, a `nack`
//! with requeue) as a delivery; past the limit the broker dead-letters the message, so
//! a task that keeps crashing workers does not block the queue.

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Connection, ExchangeKind};

use super::Secret;
use super::pulse::{Message, Outcome, PulseConfig, publish};
use crate::model::retry::Backoff;

/// The task queue and how it is declared.
#[derive(Debug, Clone)]
pub struct QueueSpec {
    /// The queue's name.
    pub name: String,
    /// Deliveries of one task before the broker dead-letters it.
    pub delivery_limit: u32,
}

impl QueueSpec {
    /// The dead-letter exchange (fanout): `<queue>.dlx`.
    pub fn dead_letter_exchange(&self) -> String {
        format!("{}.dlx", self.name)
    }

    /// The dead-letter queue: `<queue>.dead`.
    pub fn dead_letter_queue(&self) -> String {
        format!("{}.dead", self.name)
    }

    fn arguments(&self) -> FieldTable {
        let mut args = FieldTable::default();
        args.insert(
            "x-queue-type".into(),
            AMQPValue::LongString("quorum".into()),
        );
        args.insert(
            "x-delivery-limit".into(),
            AMQPValue::LongLongInt(i64::from(self.delivery_limit)),
        );
        args.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString(self.dead_letter_exchange().as_str().into()),
        );
        // dead-lettering that is itself confirmed (quorum queues, RabbitMQ 3.10+); it
        // needs reject-publish on overflow
        args.insert(
            "x-dead-letter-strategy".into(),
            AMQPValue::LongString("at-least-once".into()),
        );
        args.insert(
            "x-overflow".into(),
            AMQPValue::LongString("reject-publish".into()),
        );
        args
    }
}

/// How the queue was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Declared {
    /// Declared with our arguments (or it already had them).
    AsSpecified,
    /// It exists with other arguments, set by an operator: used as it is.
    AsConfigured,
}

fn durable_queue() -> QueueDeclareOptions {
    QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    }
}

/// Declares the dead-letter exchange and queue, then the task queue. A task queue
/// that exists with other arguments is checked to exist and used as it is (the
/// broker closes the channel that tried, so a new one is opened: the returned
/// channel is the one to go on with).
pub async fn declare(
    conn: &Connection,
    channel: Channel,
    spec: &QueueSpec,
) -> Result<(Channel, Declared), String> {
    let dlx = spec.dead_letter_exchange();
    let dlq = spec.dead_letter_queue();
    channel
        .exchange_declare(
            dlx.as_str().into(),
            ExchangeKind::Fanout,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .map_err(|e| format!("cannot declare the dead-letter exchange {dlx}: {e}"))?;
    let mut dlq_args = FieldTable::default();
    dlq_args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    let channel = match channel
        .queue_declare(dlq.as_str().into(), durable_queue(), dlq_args)
        .await
    {
        Ok(_) => channel,
        Err(e) if e.to_string().contains("PRECONDITION_FAILED") => {
            let ch = reopen(conn).await?;
            ch.queue_declare(
                dlq.as_str().into(),
                QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| format!("cannot use the dead-letter queue {dlq}: {e}"))?;
            ch
        }
        Err(e) => return Err(format!("cannot declare the dead-letter queue {dlq}: {e}")),
    };
    channel
        .queue_bind(
            dlq.as_str().into(),
            dlx.as_str().into(),
            "".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|e| format!("cannot bind {dlq} to {dlx}: {e}"))?;
    match channel
        .queue_declare(spec.name.as_str().into(), durable_queue(), spec.arguments())
        .await
    {
        Ok(_) => Ok((channel, Declared::AsSpecified)),
        Err(e) if e.to_string().contains("PRECONDITION_FAILED") => {
            let ch = reopen(conn).await?;
            ch.queue_declare(
                spec.name.as_str().into(),
                QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| format!("cannot use the task queue {}: {e}", spec.name))?;
            tracing::info!(
                "queue {}: exists with other arguments than a quorum queue with delivery \
                 limit {} and dead-letter exchange {dlx}; used as configured",
                spec.name,
                spec.delivery_limit
            );
            Ok((ch, Declared::AsConfigured))
        }
        Err(e) => Err(format!("cannot declare the task queue {}: {e}", spec.name)),
    }
}

async fn reopen(conn: &Connection) -> Result<Channel, String> {
    conn.create_channel()
        .await
        .map_err(|e| format!("cannot open a channel: {e}"))
}

/// Declares the queue's topology on a connection of its own.
pub async fn declare_once(url: &Secret, spec: &QueueSpec) -> Result<Declared, String> {
    let redacted = super::pulse::redact_url(url.expose());
    let uri = super::pulse::parse_broker_url(url.expose()).map_err(|e| e.to_string())?;
    let conn = Connection::connect_uri(
        uri,
        lapin::ConnectionProperties::default().with_connection_name(
            format!("resultpipe task submit (pid {})", std::process::id()).into(),
        ),
    )
    .await
    .map_err(|e| format!("cannot connect to {redacted}: {e}"))?;
    let ch = reopen(&conn).await?;
    let (_, declared) = declare(&conn, ch, spec).await?;
    let _ = conn.close(200, "declared".into()).await;
    Ok(declared)
}

/// Declares the queue, then publishes each task (one message each) with confirms;
/// one outcome per task, in order.
pub fn submit(
    url: &Secret,
    spec: &QueueSpec,
    tasks: &[Vec<u8>],
    backoff: Backoff,
) -> Result<Vec<Outcome>, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let mut last = String::new();
    let mut declared = false;
    for n in 1..=backoff.attempts.max(1) {
        if n > 1 {
            std::thread::sleep(backoff.delay(n - 1));
        }
        match rt.block_on(declare_once(url, spec)) {
            Ok(_) => {
                declared = true;
                break;
            }
            Err(e) if e.contains("ACCESS_REFUSED") || e.contains("NOT_ALLOWED") => {
                return Err(e);
            }
            Err(e) => last = e,
        }
    }
    if !declared {
        return Err(last);
    }
    let messages: Vec<Message> = tasks
        .iter()
        .map(|body| Message {
            routing_key: spec.name.clone(),
            body: body.clone(),
        })
        .collect();
    let config = PulseConfig {
        url: url.clone(),
        exchange: String::new(),
        passive: true,
        backoff,
    };
    Ok(publish(&config, &messages))
}
