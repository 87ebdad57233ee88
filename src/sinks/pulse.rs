//! Pulse (RabbitMQ, AMQP 0-9-1): publish pulse-job documents to a topic exchange with
//! publisher confirms and `mandatory` set. A job counts as published only when the
//! broker confirmed it; a nack or a returned (unroutable) message is that job's failure;
//! a dropped connection is retried with backoff and everything not yet confirmed is
//! published again (so a job may arrive twice, never zero times).

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::types::FieldTable;
use lapin::uri::{AMQPScheme, AMQPUri};
use lapin::{BasicProperties, Connection, ConnectionProperties, ExchangeKind};

use crate::model::retry::Backoff;
use crate::sinks::Secret;

/// Messages in flight (published, not yet confirmed) at most.
const WINDOW: usize = 4096;

/// Where and how to publish.
#[derive(Debug, Clone)]
pub struct PulseConfig {
    /// `amqp://` or `amqps://` URL with credentials.
    pub url: Secret,
    /// Exchange name, `exchange/<user>/<name>` on Pulse.
    pub exchange: String,
    /// Only check that the exchange exists instead of declaring it.
    pub passive: bool,
    /// How dropped connections are retried.
    pub backoff: Backoff,
}

/// One message to publish.
#[derive(Debug, Clone)]
pub struct Message {
    /// Its routing key.
    pub routing_key: String,
    /// Its body (the job's JSON).
    pub body: Vec<u8>,
}

/// What happened to one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The broker confirmed it.
    Confirmed,
    /// Confirmed, but returned: no queue is bound to the exchange for its routing key,
    /// so nobody receives it.
    Unroutable,
    /// Not published, and why.
    Failed(String),
}

/// A broker URL that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("broker URL {redacted}: {why}")]
pub struct UrlError {
    redacted: String,
    why: String,
}

/// Reads a broker URL as kombu (Pulse's own client) and pika read it: the vhost is the
/// path after its first `/`, percent-decoded, and `/` when that is empty. So
/// `amqp://h:5672`, `amqp://h:5672/`, `amqp://h:5672/%2F` and `amqp://h:5672//` all
/// name the vhost `/`; `amqp://h/ci` names `ci`. The host is used as written (also an
/// IP address); user and password default to guest/guest, the port to 5672 (amqp) or
/// 5671 (amqps). Query parameters (heartbeat, frame_max, ...) are lapin's.
pub fn parse_broker_url(url: &str) -> Result<AMQPUri, UrlError> {
    let err = |why: String| UrlError {
        redacted: redact_url(url),
        why,
    };
    let parsed = url::Url::parse(url).map_err(|e| err(e.to_string()))?;
    let scheme = match parsed.scheme() {
        "amqp" => AMQPScheme::AMQP,
        "amqps" => AMQPScheme::AMQPS,
        other => {
            return Err(err(format!(
                "the scheme must be amqp or amqps, not {other}"
            )));
        }
    };
    // lapin's own parser handles the query; host and vhost are read here.
    let mut uri: AMQPUri = url.parse().map_err(err)?;
    uri.scheme = scheme;
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| err(format!("{s:?} is not UTF-8 once percent-decoded")))
    };
    uri.authority.host = match parsed.host() {
        Some(url::Host::Domain(d)) => decode(d)?,
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        None => "localhost".into(),
    };
    uri.authority.port = parsed.port().unwrap_or(match uri.scheme {
        AMQPScheme::AMQP => 5672,
        AMQPScheme::AMQPS => 5671,
    });
    let path = parsed.path();
    let vhost = decode(path.strip_prefix('/').unwrap_or(path))?;
    uri.vhost = if vhost.is_empty() { "/".into() } else { vhost };
    Ok(uri)
}

/// The URL with its password replaced, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..s + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// Why a connection round ended early.
enum RoundError {
    /// Connection or channel trouble: retry what is not confirmed.
    Transient(String),
    /// The broker refused the setup (missing exchange with --passive, inequivalent
    /// flags, no permission): retrying cannot help.
    Fatal(String),
}

/// Publishes every message; returns one outcome per message, in order.
pub fn publish(config: &PulseConfig, messages: &[Message]) -> Vec<Outcome> {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return vec![
                Outcome::Failed(format!("cannot start the async runtime: {e}"));
                messages.len()
            ];
        }
    };
    rt.block_on(async {
        let mut publisher = Publisher::default();
        let outcomes = publisher.publish(config, messages).await;
        publisher.close().await;
        outcomes
    })
}

/// A broker connection kept open across publishes (a queue worker publishes every
/// task's jobs on one), opened on first use and again after it drops. Exchanges are
/// declared once per connection.
#[derive(Default)]
pub struct Publisher {
    open: Option<Open>,
}

struct Open {
    /// The URL it was opened with: another URL opens another connection.
    url: String,
    conn: Connection,
    channel: lapin::Channel,
    declared: std::collections::HashSet<String>,
}

impl Publisher {
    /// Publishes every message with `config` (retrying a dropped connection as it
    /// says); one outcome per message, in order.
    pub async fn publish(&mut self, config: &PulseConfig, messages: &[Message]) -> Vec<Outcome> {
        let mut outcomes: Vec<Option<Outcome>> = vec![None; messages.len()];
        let mut last_error = String::new();
        for attempt in 1..=config.backoff.attempts {
            let pending: Vec<usize> = (0..messages.len())
                .filter(|&i| outcomes[i].is_none())
                .collect();
            if pending.is_empty() {
                break;
            }
            if attempt > 1 {
                let wait = config.backoff.delay(attempt - 1);
                tracing::warn!(
                    "pulse: {last_error}; reconnecting in {:.1}s to republish {} unconfirmed job(s)",
                    wait.as_secs_f64(),
                    pending.len()
                );
                tokio::time::sleep(wait).await;
            }
            match self.round(config, messages, &pending, &mut outcomes).await {
                Ok(()) => {}
                Err(RoundError::Transient(e)) => {
                    // whatever went wrong, the next round starts on a new connection
                    self.close().await;
                    last_error = e;
                }
                Err(RoundError::Fatal(e)) => {
                    self.close().await;
                    for o in outcomes.iter_mut().filter(|o| o.is_none()) {
                        *o = Some(Outcome::Failed(e.clone()));
                    }
                }
            }
        }
        let attempts = config.backoff.attempts;
        outcomes
            .into_iter()
            .map(|o| {
                o.unwrap_or_else(|| {
                    Outcome::Failed(format!(
                        "not confirmed after {attempts} connection attempts: {last_error}"
                    ))
                })
            })
            .collect()
    }

    /// Closes the connection, if one is open.
    pub async fn close(&mut self) {
        if let Some(open) = self.open.take() {
            let _ = open.conn.close(200, "done".into()).await;
        }
    }

    /// The open connection for `config`, opened (with confirms on) if need be, and
    /// `config`'s exchange declared on it.
    async fn ready(&mut self, config: &PulseConfig) -> Result<&mut Open, RoundError> {
        let usable = self.open.as_ref().is_some_and(|o| {
            o.url == config.url.expose()
                && o.conn.status().connected()
                && o.channel.status().connected()
        });
        if !usable {
            self.close().await;
            self.open = Some(connect(config).await?);
        }
        let open = self.open.as_mut().expect("opened above");
        // the default exchange ("", routing straight to a queue) is never declared
        if !config.exchange.is_empty() && !open.declared.contains(&config.exchange) {
            declare_exchange(&open.channel, config).await?;
            open.declared.insert(config.exchange.clone());
        }
        Ok(open)
    }

    /// Publishes everything pending (confirms pipelined), collects the confirms.
    async fn round(
        &mut self,
        config: &PulseConfig,
        messages: &[Message],
        pending: &[usize],
        outcomes: &mut [Option<Outcome>],
    ) -> Result<(), RoundError> {
        let channel = self.ready(config).await?.channel.clone();
        let properties = BasicProperties::default()
            .with_content_type("application/json".into())
            .with_content_encoding("utf-8".into())
            .with_delivery_mode(2);
        // Confirms are pipelined within a window; bounding the window bounds memory.
        let mut publish_error = None;
        for window in pending.chunks(WINDOW) {
            let mut confirms = Vec::with_capacity(window.len());
            for &i in window {
                let m = &messages[i];
                let sent = channel
                    .basic_publish(
                        config.exchange.as_str().into(),
                        m.routing_key.as_str().into(),
                        BasicPublishOptions {
                            mandatory: true,
                            ..BasicPublishOptions::default()
                        },
                        &m.body,
                        properties.clone(),
                    )
                    .await;
                match sent {
                    Ok(confirm) => confirms.push((i, confirm)),
                    Err(e) => {
                        publish_error = Some(format!("publishing failed: {e}"));
                        break;
                    }
                }
            }
            for (i, confirm) in confirms {
                match confirm.await {
                    Ok(c) if c.is_ack() => {
                        outcomes[i] = Some(match c.take_message() {
                            None => Outcome::Confirmed,
                            Some(r) if r.reply_code == 312 => Outcome::Unroutable,
                            Some(r) => Outcome::Failed(format!(
                                "returned by the broker: {} {}",
                                r.reply_code, r.reply_text
                            )),
                        });
                    }
                    Ok(c) => {
                        let why = c
                            .take_message()
                            .map(|r| format!(": {} {}", r.reply_code, r.reply_text))
                            .unwrap_or_default();
                        outcomes[i] = Some(Outcome::Failed(format!("nacked by the broker{why}")));
                    }
                    Err(e) => {
                        publish_error.get_or_insert_with(|| {
                            format!("connection lost before the confirm: {e}")
                        });
                    }
                }
            }
            if publish_error.is_some() {
                break;
            }
        }
        match publish_error {
            Some(e) => Err(RoundError::Transient(e)),
            None => Ok(()),
        }
    }
}

/// A [`Publisher`] shared by a process's threads, on a runtime that another thread
/// keeps driving (a queue worker's): every task's jobs go out on one connection.
#[derive(Clone)]
pub struct SharedPublisher {
    handle: tokio::runtime::Handle,
    inner: std::sync::Arc<tokio::sync::Mutex<Publisher>>,
}

impl std::fmt::Debug for SharedPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedPublisher")
    }
}

impl SharedPublisher {
    /// A publisher whose connection lives on the runtime of `handle`.
    pub fn new(handle: tokio::runtime::Handle) -> SharedPublisher {
        SharedPublisher {
            handle,
            inner: std::sync::Arc::default(),
        }
    }

    /// [`Publisher::publish`], from a thread outside the runtime (a blocking one);
    /// publishes from several threads take turns.
    pub fn publish(&self, config: &PulseConfig, messages: &[Message]) -> Vec<Outcome> {
        self.handle
            .block_on(async { self.inner.lock().await.publish(config, messages).await })
    }

    /// Closes the connection.
    pub async fn close(&self) {
        self.inner.lock().await.close().await;
    }
}

/// Opens a connection and a channel with publisher confirms.
async fn connect(config: &PulseConfig) -> Result<Open, RoundError> {
    let redacted = redact_url(config.url.expose());
    let uri =
        parse_broker_url(config.url.expose()).map_err(|e| RoundError::Fatal(e.to_string()))?;
    let vhost = uri.vhost.clone();
    let properties = ConnectionProperties::default().with_connection_name(
        format!("resultpipe pulse publish (pid {})", std::process::id()).into(),
    );
    let conn = Connection::connect_uri(uri, properties)
        .await
        .map_err(|e| {
            let msg = format!("cannot connect to {redacted}: {e}");
            // Wrong credentials or vhost permissions do not get better by retrying.
            if msg.contains("NOT_ALLOWED") {
                RoundError::Fatal(format!(
                    "{msg} (the vhost is {vhost:?}, read from the URL's path: amqp://host/ \
                     and amqp://host/%2F are the vhost \"/\")"
                ))
            } else if msg.contains("ACCESS_REFUSED") {
                RoundError::Fatal(format!("{msg} (check the user and password in the URL)"))
            } else {
                RoundError::Transient(msg)
            }
        })?;
    let channel = conn
        .create_channel()
        .await
        .map_err(|e| RoundError::Transient(format!("cannot open a channel: {e}")))?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(|e| RoundError::Transient(format!("cannot enable publisher confirms: {e}")))?;
    Ok(Open {
        url: config.url.expose().to_owned(),
        conn,
        channel,
        declared: std::collections::HashSet::new(),
    })
}

async fn declare_exchange(
    channel: &lapin::Channel,
    config: &PulseConfig,
) -> Result<(), RoundError> {
    let options = ExchangeDeclareOptions {
        durable: true,
        passive: config.passive,
        ..ExchangeDeclareOptions::default()
    };
    channel
        .exchange_declare(
            config.exchange.as_str().into(),
            ExchangeKind::Topic,
            options,
            FieldTable::default(),
        )
        .await
        .map_err(|e| {
            let what = if config.passive {
                "does not exist or cannot be used"
            } else {
                "cannot be declared"
            };
            RoundError::Fatal(format!("exchange {} {what}: {e}", config.exchange))
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls_are_read_as_kombu_reads_them() {
        let read = |u: &str| {
            let uri = parse_broker_url(u).unwrap();
            (
                uri.authority.host,
                uri.authority.port,
                uri.vhost,
                uri.authority.userinfo.username,
            )
        };
        let slash = ("h".to_owned(), 5672, "/".to_owned(), "guest".to_owned());
        for u in [
            "amqp://h",
            "amqp://h:5672",
            "amqp://h:5672/",
            "amqp://h:5672/%2F",
            "amqp://h:5672/%2f",
            "amqp://h:5672//",
        ] {
            assert_eq!(read(u), slash, "{u}");
        }
        assert_eq!(read("amqp://u:p@h/ci").2, "ci");
        assert_eq!(read("amqp://h/a%2Fb").2, "a/b");
        assert_eq!(read("amqp://h//x").2, "/x");
        assert_eq!(read("amqps://h/").1, 5671);
        assert_eq!(read("amqp://10.1.2.3:5673/").0, "10.1.2.3");
        assert_eq!(read("amqp://[::1]/").0, "::1");
        assert_eq!(read("amqp://us%40er:p@h/").3, "us@er");
        assert_eq!(
            parse_broker_url("amqp://u:p@h:5672/?heartbeat=10")
                .unwrap()
                .query
                .heartbeat,
            Some(10)
        );
        let e = parse_broker_url("http://u:s3cret@h/")
            .unwrap_err()
            .to_string();
        assert!(e.contains("amqp or amqps") && !e.contains("s3cret"), "{e}");
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url("amqps://user:s3cret@pulse.mozilla.org:5671/"),
            "amqps://user:***@pulse.mozilla.org:5671/"
        );
        assert_eq!(redact_url("amqp://127.0.0.1:5672"), "amqp://127.0.0.1:5672");
        assert_eq!(format!("{:?}", Secret::new("s3cret")), "Secret(***)");
    }
}
