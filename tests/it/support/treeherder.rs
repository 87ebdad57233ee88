//! A Treeherder REST endpoint on loopback that verifies Hawk on every request with the
//! `hawk` crate's server side, as hawkrest did: MAC and payload hash, ±60 s clock skew,
//! replayed nonces. It answers like Treeherder (403 + `{"detail": ...}`) and can be
//! scripted to fail first.

use std::collections::HashSet;
use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use super::http::{Request as HttpRequest, header, read_request};

/// The client id the server knows.
pub const ID: &str = "treeherder-etl-test";
/// Its secret.
pub const KEY: &str = "6c9f9d1e-2b1c-4b9e-9d3a-0f1e2d3c4b5a";

/// (request line, headers, body, status answered)
pub type Request = (String, Vec<(String, String)>, Vec<u8>, u16);

#[derive(Default)]
pub struct Seen {
    pub requests: Vec<Request>,
    nonces: HashSet<String>,
}

pub struct Server {
    pub port: u16,
    pub seen: Arc<Mutex<Seen>>,
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
pub fn server(fail_first: usize, clock: Duration) -> Server {
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
