//! A Splunk HTTP Event Collector on loopback, for tests and benchmarks: it checks the
//! token (`Authorization: Splunk <token>` or Basic with the token as password), reads
//! batches of concatenated JSON envelopes (gzip too, unless told not to), answers with
//! HEC's documented `{"text":…,"code":N}` bodies and `invalid-event-number`, keeps
//! channels and ack ids for tokens with indexer acknowledgment, and can be scripted to
//! fail (503s, 500s, 429s, dropped connections, slow or stalled replies).

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::io::{BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::http::{Request, header, read_request};

/// A token HEC knows.
#[derive(Debug, Clone)]
pub struct Token {
    pub value: String,
    pub disabled: bool,
    /// Indexer acknowledgment (`useACK`).
    pub ack: bool,
    /// Indexes it may write to; empty: any.
    pub indexes: Vec<String>,
}

impl Token {
    pub fn new(value: &str) -> Token {
        Token {
            value: value.into(),
            disabled: false,
            ack: false,
            indexes: Vec::new(),
        }
    }
}

/// What the next POST to the event endpoint gets instead of normal handling.
#[derive(Debug, Clone)]
pub enum Scripted {
    /// Handle the request normally.
    Pass,
    /// 503 `{"text":"Server is busy","code":9}`.
    Busy,
    /// 500 `{"text":"Internal server error","code":8}`.
    Internal,
    /// 429, no HEC body.
    TooMany,
    /// Read the request, then close the connection without an answer.
    Drop,
    /// Wait, then handle the request normally.
    Slow(Duration),
    /// Wait, then close without handling it (a hung proxy; the client times out).
    Stall(Duration),
}

#[derive(Debug, Clone)]
pub struct Config {
    pub tokens: Vec<Token>,
    /// Takes `Content-Encoding: gzip` (else answers 415).
    pub gzip: bool,
    /// An ack id reads as indexed from this many-th query of it on (None: never).
    pub ack_after_polls: Option<u32>,
    /// Keep each accepted envelope's text (benchmarks only count).
    pub keep: bool,
    /// HTTPS with `testdata/hec/server.pem` (signed by `testdata/hec/ca.pem`), as HEC
    /// listens by default.
    pub tls: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            tokens: Vec::new(),
            gzip: true,
            ack_after_polls: Some(1),
            keep: true,
            tls: false,
        }
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub status: u16,
    pub reply: String,
    /// Envelopes in the body (0 when it was not read as a batch).
    pub events: usize,
    /// Bytes of the body as sent (compressed, if it was).
    pub body_bytes: usize,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

#[derive(Debug, Default)]
pub struct State {
    pub config: Config,
    pub script: VecDeque<Scripted>,
    /// Accepted envelopes, as their text in the body, in arrival order.
    pub events: Vec<String>,
    /// Accepted envelopes, counted (also when not kept).
    pub accepted: u64,
    pub requests: Vec<Seen>,
    /// channel → ack id → times queried
    channels: HashMap<String, (u64, HashMap<u64, u32>)>,
}

pub struct HecServer {
    pub port: u16,
    pub state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl HecServer {
    pub fn start(config: Config) -> HecServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            config,
            ..State::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let tls = state.lock().unwrap().config.tls.then(tls_config);
        let (st, sp) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let _ = conn.set_nodelay(true);
                let st = st.clone();
                let tls = tls.clone();
                std::thread::spawn(move || match tls {
                    Some(cfg) => {
                        let Ok(session) = rustls::ServerConnection::new(cfg) else {
                            return;
                        };
                        serve(rustls::StreamOwned::new(session, conn), &st);
                    }
                    None => serve(conn, &st),
                });
            }
        });
        HecServer { port, state, stop }
    }

    pub fn url(&self) -> String {
        let scheme = if self.state.lock().unwrap().config.tls {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    pub fn script(&self, steps: impl IntoIterator<Item = Scripted>) {
        self.state.lock().unwrap().script.extend(steps);
    }

    pub fn events(&self) -> Vec<String> {
        self.state.lock().unwrap().events.clone()
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn accepted(&self) -> u64 {
        self.state.lock().unwrap().accepted
    }
}

impl Drop for HecServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn hec(code: u32, text: &str) -> String {
    format!(r#"{{"text":"{text}","code":{code}}}"#)
}

fn status_of(code: u32) -> u16 {
    match code {
        1 | 4 => 403,
        2 | 3 => 401,
        8 => 500,
        9 => 503,
        _ => 400,
    }
}

/// The server side of TLS: the test certificate and key, ring as the provider.
fn tls_config() -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/hec");
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("server.pem"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    Arc::new(cfg)
}

/// One connection: requests one after the other (keep-alive).
fn serve<S: Read + Write>(conn: S, state: &Mutex<State>) {
    let mut r = BufReader::with_capacity(1 << 16, conn);
    loop {
        let Ok(Some(Request {
            method,
            target,
            headers,
            body,
        })) = read_request(&mut r)
        else {
            return;
        };
        let scripted = if method == "POST"
            && (target.starts_with("/services/collector/event") || target == "/services/collector")
        {
            state.lock().unwrap().script.pop_front()
        } else {
            None
        };
        let record = |status: u16, reply: &str, events: usize| {
            state.lock().unwrap().requests.push(Seen {
                method: method.clone(),
                target: target.clone(),
                headers: headers.clone(),
                status,
                reply: reply.to_owned(),
                events,
                body_bytes: body.len(),
            });
        };
        let (status, reply, events) = match scripted {
            Some(Scripted::Busy) => (503, hec(9, "Server is busy"), 0),
            Some(Scripted::Internal) => (500, hec(8, "Internal server error"), 0),
            Some(Scripted::TooMany) => (429, "Too Many Requests".to_owned(), 0),
            Some(Scripted::Drop) => {
                record(0, "", 0);
                return;
            }
            Some(Scripted::Stall(d)) => {
                std::thread::sleep(d);
                record(0, "", 0);
                return;
            }
            Some(Scripted::Slow(d)) => {
                std::thread::sleep(d);
                handle(&method, &target, &headers, &body, state)
            }
            None | Some(Scripted::Pass) => handle(&method, &target, &headers, &body, state),
        };
        record(status, &reply, events);
        // one write: a head and a body in two segments meet Nagle and delayed ACKs
        let answer = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json; charset=UTF-8\r\nContent-Length: {}\r\nConnection: keep-alive\r\n\r\n{reply}",
            reply.len()
        );
        let out = r.get_mut();
        if out.write_all(answer.as_bytes()).is_err() || out.flush().is_err() {
            return;
        }
        if header(&headers, "connection").is_some_and(|c| c.eq_ignore_ascii_case("close")) {
            return;
        }
    }
}

/// The token a request carries, as HEC reads it: Err((code, text)) when missing or
/// unreadable.
fn token_of(headers: &[(String, String)], target: &str) -> Result<String, u32> {
    if target.contains("token=") {
        return Err(16);
    }
    let auth = header(headers, "authorization").ok_or(2u32)?;
    if let Some(t) = auth.strip_prefix("Splunk ") {
        return Ok(t.trim().to_owned());
    }
    if let Some(b) = auth.strip_prefix("Basic ") {
        use base64::Engine;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b.trim())
            .map_err(|_| 3u32)?;
        let raw = String::from_utf8(raw).map_err(|_| 3u32)?;
        return raw.split_once(':').map(|(_, p)| p.to_owned()).ok_or(3);
    }
    Err(3)
}

fn query<'a>(target: &'a str, key: &str) -> Option<&'a str> {
    target
        .split_once('?')?
        .1
        .split('&')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

fn handle(
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &[u8],
    state: &Mutex<State>,
) -> (u16, String, usize) {
    let path = target.split('?').next().unwrap_or("");
    if method == "GET" && path == "/services/collector/health" {
        return (200, hec(17, "HEC is healthy"), 0);
    }
    let is_event = matches!(
        path,
        "/services/collector/event" | "/services/collector" | "/services/collector/event/1.0"
    );
    let is_ack = path == "/services/collector/ack";
    if method != "POST" || !(is_event || is_ack) {
        return (
            404,
            hec(404, "The requested URL was not found on this server."),
            0,
        );
    }
    let fail = |code: u32, text: &str| (status_of(code), hec(code, text), 0);
    let token = match token_of(headers, target) {
        Ok(t) => t,
        Err(2) => return fail(2, "Token is required"),
        Err(16) => return fail(16, "Query string authorization is not enabled"),
        Err(_) => return fail(3, "Invalid authorization"),
    };
    let mut st = state.lock().unwrap();
    let Some(tok) = st.config.tokens.iter().find(|t| t.value == token).cloned() else {
        return fail(4, "Invalid token");
    };
    if tok.disabled {
        return fail(1, "Token disabled");
    }
    let channel = header(headers, "x-splunk-request-channel")
        .or_else(|| query(target, "channel"))
        .map(str::to_owned);
    if let Some(c) = &channel {
        let guid = c.len() == 36
            && c.chars().enumerate().all(|(i, ch)| {
                matches!(i, 8 | 13 | 18 | 23) == (ch == '-')
                    && (ch == '-' || ch.is_ascii_hexdigit())
            });
        if !guid {
            return fail(11, "Invalid data channel");
        }
    }
    if tok.ack && channel.is_none() {
        return fail(10, "Data channel is missing");
    }
    if is_ack {
        if !tok.ack {
            return fail(14, "ACK is disabled");
        }
        let Ok(q) = serde_json::from_slice::<serde_json::Value>(body) else {
            return fail(6, "Invalid data format");
        };
        let Some(ids) = q["acks"].as_array() else {
            return fail(6, "Invalid data format");
        };
        let after = st.config.ack_after_polls;
        let (_, known) = st.channels.entry(channel.unwrap()).or_default();
        let mut answer = serde_json::Map::new();
        for id in ids.iter().filter_map(|v| v.as_u64()) {
            let done = match known.get_mut(&id) {
                Some(polls) => {
                    *polls += 1;
                    after.is_some_and(|a| *polls >= a)
                }
                None => false,
            };
            if done {
                known.remove(&id);
            }
            answer.insert(id.to_string(), done.into());
        }
        return (200, serde_json::json!({ "acks": answer }).to_string(), 0);
    }
    // the event endpoint: a batch of envelopes
    let text = match header(headers, "content-encoding") {
        Some(enc) if enc.eq_ignore_ascii_case("gzip") => {
            if !st.config.gzip {
                return (415, hec(6, "Unsupported Media Type"), 0);
            }
            let mut out = Vec::new();
            if flate2::read::GzDecoder::new(body)
                .read_to_end(&mut out)
                .is_err()
            {
                return fail(6, "Invalid data format");
            }
            out
        }
        Some(_) => return (415, hec(6, "Unsupported Media Type"), 0),
        None => body.to_vec(),
    };
    if text.iter().all(u8::is_ascii_whitespace) {
        return fail(5, "No data");
    }
    let mut envelopes: Vec<(usize, usize)> = Vec::new();
    let mut stream = serde_json::Deserializer::from_slice(&text).into_iter::<serde_json::Value>();
    let mut start = 0;
    loop {
        let next = stream.next();
        let end = stream.byte_offset();
        let Some(v) = next else { break };
        let i = envelopes.len();
        let refuse = |code: u32, what: &str| {
            (
                status_of(code),
                format!(r#"{{"text":"{what}","code":{code},"invalid-event-number":{i}}}"#),
                0,
            )
        };
        let Ok(v) = v else {
            return refuse(6, "Invalid data format");
        };
        let Some(obj) = v.as_object() else {
            return refuse(6, "Invalid data format");
        };
        match obj.get("event") {
            None => return refuse(12, "Event field is required"),
            Some(serde_json::Value::String(s)) if s.trim().is_empty() => {
                return refuse(13, "Event field cannot be blank");
            }
            Some(_) => {}
        }
        let raw = &text[start..end];
        let raw_start = raw
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(0);
        let raw = std::str::from_utf8(&raw[raw_start..]).unwrap();
        if let Some(t) = obj.get("time") {
            // a number, written as a plain decimal
            let plain = raw
                .split("\"time\":")
                .nth(1)
                .map(|rest| rest.split([',', '}']).next().unwrap_or(""))
                .is_some_and(|n| !n.contains(['e', 'E']));
            if !t.is_number() || !plain {
                return refuse(6, "Invalid data format");
            }
        }
        let index = obj.get("index").and_then(|x| x.as_str()).unwrap_or("main");
        if !tok.indexes.is_empty() && !tok.indexes.iter().any(|x| x == index) {
            return refuse(7, "Incorrect index");
        }
        envelopes.push((start + raw_start, end));
        start = end;
    }
    let n = envelopes.len();
    st.accepted += n as u64;
    if st.config.keep {
        for (a, b) in envelopes {
            let s = String::from_utf8(text[a..b].to_vec()).unwrap();
            st.events.push(s);
        }
    }
    if tok.ack {
        let (next, known) = st.channels.entry(channel.unwrap()).or_default();
        let id = *next;
        *next += 1;
        known.insert(id, 0);
        return (
            200,
            format!(r#"{{"text":"Success","code":0,"ackId":{id}}}"#),
            n,
        );
    }
    (200, hec(0, "Success"), n)
}
