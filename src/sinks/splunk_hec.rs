//! Splunk HTTP Event Collector delivery: envelopes cut into batches bounded by count and
//! bytes, POSTed (gzip when HEC takes it) to `/services/collector/event` with
//! `Authorization: Splunk <token>`, retried on connection errors, 429 and 5xx, and with
//! indexer acknowledgment confirmed through `/services/collector/ack`. Every event is
//! either counted delivered or counted lost: nothing fails quietly.

use std::io::Write as _;
use std::time::{Duration, Instant};

use crate::model::retry::Backoff;
use crate::sinks::Secret;

/// Limits of one request body. HEC's default `max_content_length` is 1 MB; staying
/// well under it leaves room for a proxy in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Most events in one request.
    pub max_events: usize,
    /// Most bytes in one (uncompressed) request body.
    pub max_bytes: usize,
}

impl Default for BatchLimits {
    fn default() -> BatchLimits {
        BatchLimits {
            max_events: 1000,
            max_bytes: 512 * 1024,
        }
    }
}

/// One request body: `events` envelopes concatenated with `\n`, as HEC takes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Envelopes in it.
    pub events: usize,
    /// The envelopes, joined by `\n`.
    pub body: String,
}

/// Builds batches one envelope at a time, so that a long run never has to be held as
/// request bodies all at once.
#[derive(Debug)]
pub struct Batcher {
    limits: BatchLimits,
    body: String,
    events: usize,
}

impl Batcher {
    /// A batcher for `limits`.
    pub fn new(limits: BatchLimits) -> Batcher {
        Batcher {
            limits,
            body: String::new(),
            events: 0,
        }
    }

    /// Adds one envelope; returns the batch it closed when it did not fit. An envelope
    /// larger than `max_bytes` travels alone rather than being dropped.
    pub fn push(&mut self, envelope: &str) -> Option<Batch> {
        let mut closed = None;
        if self.events > 0
            && (self.events >= self.limits.max_events
                || self.body.len() + 1 + envelope.len() > self.limits.max_bytes)
        {
            closed = self.take();
        }
        if self.events > 0 {
            self.body.push('\n');
        }
        self.body.push_str(envelope);
        self.events += 1;
        closed
    }

    /// The last, partly filled batch.
    pub fn finish(mut self) -> Option<Batch> {
        self.take()
    }

    fn take(&mut self) -> Option<Batch> {
        (self.events > 0).then(|| Batch {
            events: std::mem::take(&mut self.events),
            body: std::mem::replace(
                &mut self.body,
                String::with_capacity(self.limits.max_bytes.min(1 << 20)),
            ),
        })
    }
}

/// What an HEC answer means for the batch that got it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// HTTP 200, code 0; with indexer acknowledgment on, the id to poll.
    Accepted {
        /// The id to poll for, when acknowledgment is on.
        ack_id: Option<u64>,
    },
    /// Worth another try: 408, 429, 5xx (503 is HEC's "Server is busy").
    Retry {
        /// The HTTP status.
        status: u16,
        /// HEC's text, if any.
        text: String,
    },
    /// A token problem (HEC codes 1–4, 16): retrying cannot help.
    Token {
        /// The HTTP status.
        status: u16,
        /// HEC's code.
        code: i64,
        /// HEC's text.
        text: String,
    },
    /// The batch itself was refused (bad data, index, channel...): not retried.
    Refused {
        /// The HTTP status.
        status: u16,
        /// HEC's code, if the body had one.
        code: Option<i64>,
        /// HEC's text.
        text: String,
        /// The number of the refused event in the batch, if HEC said.
        invalid_event: Option<u64>,
    },
}

/// Reads HEC's `{"text":…,"code":N}` answer to a POST of a batch.
pub fn classify(status: u16, body: &[u8]) -> Outcome {
    let v: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let code = v.as_ref().and_then(|v| v["code"].as_i64());
    let text = v
        .as_ref()
        .and_then(|v| v["text"].as_str().map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned());
    if status == 200 && code.unwrap_or(0) == 0 {
        return Outcome::Accepted {
            ack_id: v.as_ref().and_then(|v| v["ackId"].as_u64()),
        };
    }
    // 408: a proxy in front of HEC timed the request out
    if matches!(status, 408 | 429) || status >= 500 {
        return Outcome::Retry { status, text };
    }
    match code {
        Some(c @ (1..=4 | 16)) => Outcome::Token {
            status,
            code: c,
            text,
        },
        _ => Outcome::Refused {
            status,
            code,
            text,
            invalid_event: v.as_ref().and_then(|v| v["invalid-event-number"].as_u64()),
        },
    }
}

/// What a token problem means, in words a user can act on.
fn token_hint(code: i64) -> &'static str {
    match code {
        1 => "the token is disabled in Splunk",
        2 => "no token reached HEC",
        3 => "HEC could not read the Authorization header",
        4 => "HEC does not know this token: check SPLUNK_HEC_TOKEN or --token-file",
        16 => "query-string authorization is not enabled for this token",
        _ => "retrying cannot help",
    }
}

/// What a refusal of a batch most likely means.
fn refusal_hint(code: Option<i64>) -> &'static str {
    match code {
        Some(7) => " (the token may not write to this index: check --index)",
        Some(10) => " (the token has indexer acknowledgment on: send with --ack)",
        Some(11) => " (the channel id was refused)",
        Some(14) => " (indexer acknowledgment is off for this token: send without --ack)",
        _ => "",
    }
}

/// How to reach HEC and how hard to try.
#[derive(Debug, Clone)]
pub struct HecSettings {
    /// Base URL, e.g. `https://splunk.example.org:8088`.
    pub url: String,
    /// The HEC token.
    pub token: Secret,
    /// How requests are batched.
    pub limits: BatchLimits,
    /// Tries per batch, the first one included, before giving up.
    pub attempts: u32,
    /// Wait between two tries of a batch.
    pub retry_delay: Duration,
    /// Limit of one request, answer included.
    pub timeout: Duration,
    /// Compress bodies; falls back to plain ones when HEC refuses gzip.
    pub gzip: bool,
    /// Indexer acknowledgment: events count as delivered only when acknowledged.
    pub ack: Option<AckSettings>,
    /// An extra trusted root certificate (PEM), e.g. the one that signed HEC's.
    pub ca_cert: Option<Vec<u8>>,
    /// Accept any server certificate (HEC ships a self-signed one). The traffic is
    /// still encrypted, but the server is not authenticated.
    pub insecure: bool,
}

impl HecSettings {
    /// The defaults: batches of 1000 events / 512 KiB, 5 attempts 5 s apart, 30 s per
    /// request, gzip, no acknowledgment.
    pub fn new(url: impl Into<String>, token: Secret) -> HecSettings {
        HecSettings {
            url: url.into(),
            token,
            limits: BatchLimits::default(),
            attempts: 5,
            retry_delay: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            gzip: true,
            ack: None,
            ca_cert: None,
            insecure: false,
        }
    }
}

/// Indexer acknowledgment: how often to poll and how long to wait.
#[derive(Debug, Clone, Copy)]
pub struct AckSettings {
    /// Between two queries of `/services/collector/ack`.
    pub poll: Duration,
    /// How long an accepted batch may stay unacknowledged before its events count as
    /// lost.
    pub timeout: Duration,
}

impl Default for AckSettings {
    fn default() -> AckSettings {
        AckSettings {
            poll: Duration::from_secs(1),
            timeout: Duration::from_secs(300),
        }
    }
}

/// Why delivery stopped early. No variant carries the token.
#[derive(Debug, thiserror::Error)]
pub enum HecError {
    /// HEC refused the token (codes 1–4, 16).
    #[error("HEC refused the token: {text} (code {code}, HTTP {status}): {hint}")]
    Token {
        /// The HTTP status.
        status: u16,
        /// HEC's code.
        code: i64,
        /// HEC's text.
        text: String,
        /// What to check.
        hint: &'static str,
    },
    /// HEC refused a batch for its content, index or channel.
    #[error("HEC refused a batch: HTTP {status}: {text}{}{}{hint}",
        code.map(|c| format!(" (code {c})")).unwrap_or_default(),
        invalid_event.map(|i| format!(", at event {i} of the run")).unwrap_or_default())]
    Refused {
        /// The HTTP status.
        status: u16,
        /// HEC's code, if the body had one.
        code: Option<i64>,
        /// HEC's text.
        text: String,
        /// Zero-based, counted over the whole run.
        invalid_event: Option<u64>,
        /// What to check.
        hint: &'static str,
    },
    /// Still failing after every attempt.
    #[error("gave up after {attempts} attempt(s) on {url}: {last}")]
    GaveUp {
        /// Attempts made.
        attempts: u32,
        /// The URL (without credentials).
        url: String,
        /// The last failure, with its cause.
        last: String,
    },
    /// `--ack`, but the token has acknowledgment off.
    #[error(
        "--ack: HEC accepted a batch without an ackId: indexer acknowledgment is off for this token, so delivery cannot be confirmed"
    )]
    NoAckId,
    /// Accepted events that were never acknowledged.
    #[error("{events} accepted event(s) were not acknowledged within {:.0} s", waited.as_secs_f64())]
    Unacknowledged {
        /// Events not acknowledged.
        events: u64,
        /// How long acknowledgment was waited for.
        waited: Duration,
    },
    /// The HTTP client could not be built (a bad CA certificate, say).
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
}

impl HecError {
    /// The error for an answer that ends delivery (a token problem or a refusal);
    /// `offset`: events sent before this batch, to number the invalid event in the run.
    fn final_answer(outcome: Outcome, offset: u64) -> Option<HecError> {
        match outcome {
            Outcome::Token { status, code, text } => Some(HecError::Token {
                status,
                code,
                text,
                hint: token_hint(code),
            }),
            Outcome::Refused {
                status,
                code,
                text,
                invalid_event,
            } => Some(HecError::Refused {
                status,
                code,
                text,
                invalid_event: invalid_event.map(|i| offset + i),
                hint: refusal_hint(code),
            }),
            Outcome::Accepted { .. } | Outcome::Retry { .. } => None,
        }
    }
}

/// What a delivery achieved.
#[derive(Debug)]
pub struct Delivery {
    /// Events HEC accepted (with acknowledgment on: acknowledged).
    pub delivered: u64,
    /// Requests HEC accepted.
    pub batches: u64,
    /// Tries beyond the first, over all batches.
    pub retries: u64,
    /// Whether bodies went gzip-compressed to the end.
    pub gzip: bool,
    /// Why it stopped early, if it did; the events after the failed batch were not sent.
    pub error: Option<HecError>,
}

/// A batch HEC accepted with an ack id, waiting for acknowledgment.
#[derive(Debug)]
struct Pending {
    id: u64,
    events: usize,
    since: Instant,
}

/// A random channel id (GUID form), as HEC wants for indexer acknowledgment.
pub fn channel_id() -> String {
    let mut b = [0u8; 16];
    let random = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b))
        .is_ok();
    if !random {
        // no /dev/urandom: time and pid mixed; a channel needs uniqueness, not secrecy
        let mut x = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            ^ (u64::from(std::process::id()) << 40)
            | 1;
        for v in &mut b {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *v = x as u8;
        }
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// gzip of a body, at the fastest level: HEC bodies are repetitive JSON and shrink
/// well even so.
pub fn gzip(body: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 6),
        flate2::Compression::fast(),
    );
    enc.write_all(body).expect("writing to a Vec cannot fail");
    enc.finish().expect("writing to a Vec cannot fail")
}

/// A connection to one HEC endpoint; sends batches one after the other.
pub struct HecClient {
    http: reqwest::blocking::Client,
    settings: HecSettings,
    auth: reqwest::header::HeaderValue,
    event_url: String,
    ack_url: String,
    /// The URL for messages (password of a user:password@ part hidden).
    shown_url: String,
    channel: Option<String>,
    gzip: bool,
    /// A gzipped batch went through: a later refusal is not about gzip.
    gzip_proven: bool,
    /// Events in the batches sent so far (for the run-wide event number of a refusal).
    offset: u64,
    pending: Vec<Pending>,
    last_poll: Instant,
    unacknowledged: u64,
    delivered: u64,
    batches: u64,
    retries: u64,
}

impl std::fmt::Debug for HecClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HecClient")
            .field("url", &self.shown_url)
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

/// Ack ids HEC reported as indexed, from `{"acks":{"0":true,"1":false}}`.
fn acked_ids(body: &[u8]) -> Option<std::collections::HashSet<u64>> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let acks = v.get("acks")?.as_object()?;
    Some(
        acks.iter()
            .filter(|(_, done)| done.as_bool() == Some(true))
            .filter_map(|(id, _)| id.parse().ok())
            .collect(),
    )
}

impl HecClient {
    /// A client for `settings` (its TLS set up).
    pub fn new(settings: HecSettings) -> Result<HecClient, HecError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::blocking::Client::builder()
            .timeout(settings.timeout)
            .user_agent(concat!("resultpipe/", env!("CARGO_PKG_VERSION")))
            .danger_accept_invalid_certs(settings.insecure);
        if let Some(pem) = &settings.ca_cert {
            let cert = reqwest::Certificate::from_pem(pem)
                .map_err(|e| HecError::Client(format!("the CA certificate: {e}")))?;
            builder = builder.add_root_certificate(cert);
        }
        let http = builder
            .build()
            .map_err(|e| HecError::Client(e.to_string()))?;
        let mut auth =
            reqwest::header::HeaderValue::from_str(&format!("Splunk {}", settings.token.expose()))
                .map_err(|_| {
                    HecError::Client(
                        "the token holds characters an HTTP header cannot carry".into(),
                    )
                })?;
        auth.set_sensitive(true);
        let base = settings.url.trim_end_matches('/');
        let channel = settings.ack.map(|_| channel_id());
        Ok(HecClient {
            http,
            auth,
            event_url: format!("{base}/services/collector/event"),
            ack_url: match &channel {
                Some(c) => format!("{base}/services/collector/ack?channel={c}"),
                None => format!("{base}/services/collector/ack"),
            },
            shown_url: crate::sinks::pulse::redact_url(base),
            channel,
            gzip: settings.gzip,
            gzip_proven: false,
            offset: 0,
            pending: Vec::new(),
            last_poll: Instant::now(),
            unacknowledged: 0,
            delivered: 0,
            batches: 0,
            retries: 0,
            settings,
        })
    }

    fn post(&self, url: &str, body: Vec<u8>, gzipped: bool) -> reqwest::Result<(u16, Vec<u8>)> {
        let mut req = self
            .http
            .post(url)
            .header(reqwest::header::AUTHORIZATION, self.auth.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        if let Some(c) = &self.channel {
            req = req.header("X-Splunk-Request-Channel", c);
        }
        if gzipped {
            req = req.header(reqwest::header::CONTENT_ENCODING, "gzip");
        }
        let resp = req.body(body).send()?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes()?;
        Ok((status, bytes.to_vec()))
    }

    /// Sends one batch, trying again on connection errors, 429 and 5xx. `compressed`:
    /// the body already gzipped (made on another thread), used while gzip is on. With
    /// acknowledgment on, the batch is then waiting to be acknowledged.
    pub fn send(&mut self, batch: &Batch, compressed: Option<Vec<u8>>) -> Result<(), HecError> {
        let mut compressed = compressed;
        let mut attempt = 0;
        let mut last = String::new();
        loop {
            attempt += 1;
            if attempt > 1 {
                self.retries += 1;
                let wait = Backoff {
                    first: self.settings.retry_delay,
                    max: self.settings.retry_delay,
                    attempts: self.settings.attempts,
                }
                .delay(1);
                tracing::warn!(
                    "splunk: {}: {last}; trying again in {:.1} s (attempt {attempt}/{})",
                    self.shown_url,
                    wait.as_secs_f64(),
                    self.settings.attempts
                );
                self.sleep_polling(wait)?;
            }
            let gzipped = self.gzip;
            let body = if gzipped {
                compressed
                    .take()
                    .unwrap_or_else(|| gzip(batch.body.as_bytes()))
            } else {
                batch.body.as_bytes().to_vec()
            };
            let keep = gzipped.then(|| body.clone());
            let (status, reply) = match self.post(&self.event_url, body, gzipped) {
                Ok(r) => r,
                Err(e) => {
                    compressed = keep;
                    last = format!(
                        "cannot reach HEC: {}",
                        crate::sinks::error_chain(&e.without_url())
                    );
                    if attempt >= self.settings.attempts {
                        break;
                    }
                    continue;
                }
            };
            compressed = keep;
            match classify(status, &reply) {
                Outcome::Accepted { ack_id } => {
                    self.gzip_proven |= gzipped;
                    self.batches += 1;
                    match (self.settings.ack, ack_id) {
                        (None, _) => self.delivered += batch.events as u64,
                        (Some(_), Some(id)) => self.pending.push(Pending {
                            id,
                            events: batch.events,
                            since: Instant::now(),
                        }),
                        (Some(_), None) => return Err(HecError::NoAckId),
                    }
                    self.offset += batch.events as u64;
                    return self.poll_acks(false);
                }
                Outcome::Retry { status, text } => last = format!("HTTP {status}: {text}"),
                Outcome::Refused {
                    status,
                    code,
                    ref text,
                    ..
                } if gzipped && (status == 415 || (code == Some(6) && !self.gzip_proven)) => {
                    tracing::warn!(
                        "splunk: HEC did not take a gzip body (HTTP {status}: {text}); sending uncompressed"
                    );
                    self.gzip = false;
                    attempt -= 1;
                    continue;
                }
                refused => {
                    return Err(HecError::final_answer(refused, self.offset)
                        .expect("accepted and retried answers are handled above"));
                }
            }
            if attempt >= self.settings.attempts {
                break;
            }
        }
        Err(HecError::GaveUp {
            attempts: self.settings.attempts,
            url: self.shown_url.clone(),
            last,
        })
    }

    /// Waits `d`, asking for acknowledgments meanwhile.
    fn sleep_polling(&mut self, d: Duration) -> Result<(), HecError> {
        let until = Instant::now() + d;
        loop {
            let now = Instant::now();
            if now >= until {
                return Ok(());
            }
            let step = match self.settings.ack {
                Some(a) if !self.pending.is_empty() => a.poll.min(until - now),
                _ => until - now,
            };
            std::thread::sleep(step);
            self.poll_acks(false)?;
        }
    }

    /// Asks HEC which pending batches are indexed, when a poll interval has passed (or
    /// at once with `force`). Batches waiting longer than the ack timeout count as
    /// lost.
    fn poll_acks(&mut self, force: bool) -> Result<(), HecError> {
        let Some(ack) = self.settings.ack else {
            return Ok(());
        };
        if self.pending.is_empty() || (!force && self.last_poll.elapsed() < ack.poll) {
            return Ok(());
        }
        self.last_poll = Instant::now();
        let ids: Vec<u64> = self.pending.iter().map(|p| p.id).collect();
        let body = serde_json::to_vec(&serde_json::json!({ "acks": ids }))
            .expect("a list of numbers serializes");
        match self.post(&self.ack_url, body, false) {
            Ok((200, reply)) => match acked_ids(&reply) {
                Some(done) => {
                    let before = self.pending.len();
                    let mut delivered = 0u64;
                    self.pending.retain(|p| {
                        let acked = done.contains(&p.id);
                        if acked {
                            delivered += p.events as u64;
                        }
                        !acked
                    });
                    self.delivered += delivered;
                    tracing::debug!(
                        "splunk: {} of {before} pending batch(es) acknowledged",
                        before - self.pending.len()
                    );
                }
                None => tracing::warn!(
                    "splunk: unreadable answer from the ack endpoint: {}",
                    String::from_utf8_lossy(&reply[..reply.len().min(200)])
                ),
            },
            Ok((status, reply)) => match classify(status, &reply) {
                Outcome::Retry { status, text } => {
                    tracing::warn!("splunk: ack query: HTTP {status}: {text}; asking again")
                }
                Outcome::Accepted { .. } => {}
                refused => {
                    return Err(HecError::final_answer(refused, 0)
                        .expect("accepted and retried answers are handled above"));
                }
            },
            Err(e) => tracing::warn!(
                "splunk: ack query: cannot reach HEC: {}; asking again",
                crate::sinks::error_chain(&e.without_url())
            ),
        }
        let timeout = ack.timeout;
        let mut expired = 0u64;
        self.pending.retain(|p| {
            let keep = p.since.elapsed() < timeout;
            if !keep {
                expired += p.events as u64;
            }
            keep
        });
        self.unacknowledged += expired;
        Ok(())
    }

    /// Waits for the outstanding acknowledgments (each up to the ack timeout) and
    /// tells what was delivered. `error`: why sending stopped early, if it did.
    pub fn finish(mut self, mut error: Option<HecError>) -> Delivery {
        if let Some(ack) = self.settings.ack {
            while !self.pending.is_empty() {
                let wait = ack.poll.saturating_sub(self.last_poll.elapsed());
                std::thread::sleep(wait);
                if let Err(e) = self.poll_acks(true) {
                    // the rest can no longer be confirmed
                    self.unacknowledged +=
                        self.pending.drain(..).map(|p| p.events as u64).sum::<u64>();
                    error.get_or_insert(e);
                }
            }
            if self.unacknowledged > 0 {
                let e = HecError::Unacknowledged {
                    events: self.unacknowledged,
                    waited: ack.timeout,
                };
                match &error {
                    None => error = Some(e),
                    Some(_) => tracing::error!("splunk: {e}"),
                }
            }
        }
        Delivery {
            delivered: self.delivered,
            batches: self.batches,
            retries: self.retries,
            gzip: self.gzip,
            error,
        }
    }
}

/// Sends every batch (with its gzipped body when one was made ahead) in order; stops
/// at the first batch that cannot be delivered.
pub fn deliver(
    settings: HecSettings,
    batches: impl IntoIterator<Item = (Batch, Option<Vec<u8>>)>,
) -> Delivery {
    let mut client = match HecClient::new(settings) {
        Ok(c) => c,
        Err(e) => {
            return Delivery {
                delivered: 0,
                batches: 0,
                retries: 0,
                gzip: false,
                error: Some(e),
            };
        }
    };
    for (batch, compressed) in batches {
        if let Err(e) = client.send(&batch, compressed) {
            return client.finish(Some(e));
        }
    }
    client.finish(None)
}

/// Envelopes rendered one at a time by `render` (into the empty `line`; it returns
/// false when there are no more), batched and gzipped on a second thread while this
/// one sends them (see [`deliver`]). Rendering lazily keeps memory to a few batches.
pub fn deliver_rendered(
    settings: &HecSettings,
    mut render: impl FnMut(&mut String) -> bool + Send,
) -> Delivery {
    let limits = settings.limits;
    let compress = settings.gzip;
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(Batch, Option<Vec<u8>>)>(4);
        scope.spawn(move || {
            let mut batcher = Batcher::new(limits);
            let mut line = String::new();
            let prepared = |b: Batch| {
                let gz = compress.then(|| gzip(b.body.as_bytes()));
                (b, gz)
            };
            loop {
                line.clear();
                if !render(&mut line) {
                    break;
                }
                if let Some(b) = batcher.push(&line)
                    && tx.send(prepared(b)).is_err()
                {
                    return; // delivery stopped
                }
            }
            if let Some(b) = batcher.finish() {
                let _ = tx.send(prepared(b));
            }
        });
        deliver(settings.clone(), rx)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// All envelopes cut into batches at once (see [`Batcher`]).
    fn batches<'a>(
        envelopes: impl IntoIterator<Item = &'a str>,
        limits: BatchLimits,
    ) -> Vec<(usize, String)> {
        let mut b = Batcher::new(limits);
        let mut out: Vec<(usize, String)> = envelopes
            .into_iter()
            .filter_map(|e| b.push(e))
            .map(|x| (x.events, x.body))
            .collect();
        out.extend(b.finish().map(|x| (x.events, x.body)));
        out
    }

    #[test]
    fn batches_respect_count_and_bytes_and_lose_nothing() {
        let evs: Vec<String> = (0..25).map(|i| format!("{{\"event\":{i}}}")).collect();
        let by_count = batches(
            evs.iter().map(String::as_str),
            BatchLimits {
                max_events: 10,
                max_bytes: 1 << 20,
            },
        );
        assert_eq!(
            by_count.iter().map(|b| b.0).collect::<Vec<_>>(),
            [10, 10, 5]
        );
        let by_bytes = batches(
            evs.iter().map(String::as_str),
            BatchLimits {
                max_events: 1000,
                max_bytes: 40,
            },
        );
        assert!(by_bytes.iter().all(|(n, b)| b.len() <= 40 || *n == 1));
        // every event once, in order, each body a stream of JSON values
        let all: Vec<serde_json::Value> = by_bytes
            .iter()
            .flat_map(|(_, b)| {
                serde_json::Deserializer::from_str(b)
                    .into_iter::<serde_json::Value>()
                    .map(Result::unwrap)
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(all.len(), 25);
        assert!(all.iter().enumerate().all(|(i, v)| v["event"] == i));
        // an envelope over the limit goes alone
        let big = "x".repeat(100);
        let b = batches(
            ["a", big.as_str(), "b"],
            BatchLimits {
                max_events: 10,
                max_bytes: 10,
            },
        );
        assert_eq!(b.iter().map(|b| b.0).collect::<Vec<_>>(), [1, 1, 1]);
    }

    proptest::proptest! {
        #[test]
        fn batcher_keeps_every_envelope_in_order_within_limits(
            lens in proptest::collection::vec(1usize..300, 0..200),
            max_events in 1usize..50,
            max_bytes in 1usize..2000,
        ) {
            let envs: Vec<String> = lens
                .iter()
                .enumerate()
                .map(|(i, n)| format!("{i}:{}", "x".repeat(*n)))
                .collect();
            let limits = BatchLimits { max_events, max_bytes };
            let out = batches(envs.iter().map(String::as_str), limits);
            let mut back = Vec::new();
            for (n, body) in &out {
                let parts: Vec<&str> = body.split('\n').collect();
                proptest::prop_assert_eq!(parts.len(), *n);
                proptest::prop_assert!(*n <= max_events);
                proptest::prop_assert!(body.len() <= max_bytes || *n == 1);
                back.extend(parts.into_iter().map(str::to_owned));
            }
            proptest::prop_assert_eq!(back, envs);
        }
    }

    #[test]
    fn channel_ids_are_random_guids() {
        let a = channel_id();
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
        assert_eq!(&a[14..15], "4");
        assert_ne!(a, channel_id());
    }

    #[test]
    fn ack_answers_name_the_indexed_batches() {
        let mut ids: Vec<u64> = acked_ids(br#"{"acks":{"0":true,"1":false,"7":true}}"#)
            .unwrap()
            .into_iter()
            .collect();
        ids.sort_unstable();
        assert_eq!(ids, [0, 7]);
        assert_eq!(acked_ids(b"<html>"), None);
    }

    #[test]
    fn gzip_bodies_read_back() {
        let body = "{\"event\":\"x\"}\n".repeat(100);
        let gz = gzip(body.as_bytes());
        assert!(gz.len() < body.len() / 5);
        let mut back = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut back)
            .unwrap();
        assert_eq!(back, body);
    }

    #[test]
    fn hec_answers_are_read_as_documented() {
        assert_eq!(
            classify(200, br#"{"text":"Success","code":0}"#),
            Outcome::Accepted { ack_id: None }
        );
        assert_eq!(
            classify(200, br#"{"text":"Success","code":0,"ackId":7}"#),
            Outcome::Accepted { ack_id: Some(7) }
        );
        assert!(matches!(
            classify(503, br#"{"text":"Server is busy","code":9}"#),
            Outcome::Retry { status: 503, .. }
        ));
        assert!(matches!(classify(429, b""), Outcome::Retry { .. }));
        assert!(matches!(classify(408, b""), Outcome::Retry { .. }));
        assert!(matches!(
            classify(502, b"<html>bad gateway</html>"),
            Outcome::Retry { .. }
        ));
        assert_eq!(
            classify(403, br#"{"text":"Invalid token","code":4}"#),
            Outcome::Token {
                status: 403,
                code: 4,
                text: "Invalid token".into()
            }
        );
        assert!(matches!(
            classify(401, br#"{"text":"Token is required","code":2}"#),
            Outcome::Token { code: 2, .. }
        ));
        assert_eq!(
            classify(
                400,
                br#"{"text":"Invalid data format","code":6,"invalid-event-number":3}"#
            ),
            Outcome::Refused {
                status: 400,
                code: Some(6),
                text: "Invalid data format".into(),
                invalid_event: Some(3)
            }
        );
    }
}
