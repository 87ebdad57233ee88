//! Inputs over HTTP(S). A URL input is streamed to a spool file (unlinked at once, so
//! nothing is left behind even by a killed process) as it arrives (never held in memory), `Content-Encoding: gzip` decoded on the way (a
//! `.gz` body is read through later, as any gzipped input is), under a size cap, with
//! timeouts and retries on connection errors and 5xx. The spool is then read like a
//! local file, as often as the outputs need, and removed when the last source naming
//! it is dropped.
//!
//! A caller that reads the same URL for several outputs (a queue worker) runs them in
//! a [`Scope`]: each URL is fetched once per scope, with the scope's settings.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::model::retry::Backoff;

/// Whether an input names a URL (`http://` or `https://`).
pub fn is_url(input: &str) -> bool {
    let lower = input.get(..8).unwrap_or(input).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// How inputs are fetched.
#[derive(Debug, Clone, Copy)]
pub struct FetchSettings {
    /// The most bytes one input may have (after `Content-Encoding` is decoded).
    pub max_bytes: u64,
    /// Connecting gives up after this long.
    pub connect_timeout: Duration,
    /// A request (and each read of its body) gives up after this long without progress.
    pub read_timeout: Duration,
    /// How connection errors and 5xx answers are retried.
    pub backoff: Backoff,
}

impl Default for FetchSettings {
    fn default() -> FetchSettings {
        FetchSettings {
            max_bytes: 4 << 30,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            backoff: Backoff {
                first: Duration::from_millis(500),
                max: Duration::from_secs(10),
                attempts: 5,
            },
        }
    }
}

/// A fetched input: its spool file and what was learned on the way.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The spool file; gone when the last clone is dropped.
    pub spool: Arc<Spool>,
    /// Bytes written to the spool (decoded).
    pub bytes: u64,
    /// Bytes received (as sent: before `Content-Encoding` is decoded).
    pub wire_bytes: u64,
    /// Requests made, the retried ones included.
    pub requests: u32,
    /// How long fetching took, waits between retries included.
    pub elapsed: Duration,
}

/// Why an input could not be fetched.
#[derive(Debug, thiserror::Error)]
#[error("cannot fetch {url}: {why}")]
pub struct FetchError {
    /// The URL, without a password or query.
    pub url: String,
    /// What went wrong, the last time.
    pub why: String,
    /// Whether trying again later may work (the server down or failing, the network),
    /// or not (404, a body over the size cap, a malformed URL).
    pub transient: bool,
}

/// The URL as messages and pages show it: no password, no query (signed URLs carry
/// tokens there).
pub fn display_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            if u.query().is_some() {
                u.set_query(Some("***"));
            }
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => url.split(['?', '#']).next().unwrap_or(url).to_owned(),
    }
}

/// The input's name: the last segment of the URL's path, percent-decoded, with
/// characters unsafe in a file name replaced (`input` when the path has none).
pub fn url_file_name(url: &str) -> String {
    let path = url::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.path_segments()
                .and_then(|mut s| s.next_back().map(str::to_owned))
        })
        .unwrap_or_default();
    let decoded = percent_encoding::percent_decode_str(&path).decode_utf8_lossy();
    let name: String = decoded
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let name = name.trim_start_matches('.');
    if name.is_empty() {
        "input".into()
    } else {
        name.to_owned()
    }
}

/// What one request ended with.
enum Attempt {
    Done(u64, u64),
    Retry(String),
    Fail(String),
}

/// Fetches `url` into a new spool file, retrying as `settings` say.
pub fn fetch(url: &str, settings: &FetchSettings) -> Result<Fetched, FetchError> {
    let shown = display_url(url);
    let err = |why: String, transient: bool| FetchError {
        url: shown.clone(),
        why,
        transient,
    };
    let parsed = url::Url::parse(url).map_err(|e| err(format!("not a URL: {e}"), false))?;
    let client = client(settings).map_err(|e| err(format!("cannot set up HTTP: {e}"), false))?;
    let started = Instant::now();
    let attempts = settings.backoff.attempts.max(1);
    let mut last = String::new();
    for n in 1..=attempts {
        if n > 1 {
            let wait = settings.backoff.delay(n - 1);
            tracing::warn!(
                "{shown}: {last}; trying again in {:.1} s ({n}/{attempts})",
                wait.as_secs_f64()
            );
            std::thread::sleep(wait);
        }
        let spool =
            Spool::new().map_err(|e| err(format!("cannot create a spool file: {e}"), true))?;
        match attempt(&client, parsed.clone(), settings.max_bytes, spool.file()) {
            Attempt::Done(bytes, wire_bytes) => {
                return Ok(Fetched {
                    spool: Arc::new(spool),
                    bytes,
                    wire_bytes,
                    requests: n,
                    elapsed: started.elapsed(),
                });
            }
            Attempt::Retry(why) => last = why,
            Attempt::Fail(why) => return Err(err(why, false)),
        }
    }
    Err(err(format!("{last} (after {attempts} tries)"), true))
}

/// A scratch file in `$TMPDIR` that a path reads: on Linux an unlinked file, read
/// through `/proc/self/fd/N` (a killed process leaves nothing behind); elsewhere a
/// named one, removed on drop.
#[derive(Debug)]
pub struct Spool {
    #[cfg(target_os = "linux")]
    file: std::fs::File,
    #[cfg(not(target_os = "linux"))]
    file: tempfile::NamedTempFile,
}

impl Spool {
    fn new() -> io::Result<Spool> {
        #[cfg(target_os = "linux")]
        return Ok(Spool {
            file: tempfile::tempfile()?,
        });
        #[cfg(not(target_os = "linux"))]
        return Ok(Spool {
            file: tempfile::Builder::new()
                .prefix("resultpipe-fetch-")
                .tempfile()?,
        });
    }

    fn file(&self) -> &std::fs::File {
        #[cfg(target_os = "linux")]
        return &self.file;
        #[cfg(not(target_os = "linux"))]
        return self.file.as_file();
    }

    /// A path that opens the spool from the start (while it lives).
    pub fn path(&self) -> std::path::PathBuf {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            std::path::PathBuf::from(format!("/proc/self/fd/{}", self.file.as_raw_fd()))
        }
        #[cfg(not(target_os = "linux"))]
        return self.file.path().to_path_buf();
    }
}

/// The HTTP client for these timeouts, made once per process (a blocking client keeps
/// a thread and a connection pool: a worker fetching many inputs reuses them).
fn client(settings: &FetchSettings) -> reqwest::Result<reqwest::blocking::Client> {
    type Clients = Mutex<HashMap<(Duration, Duration), reqwest::blocking::Client>>;
    static CLIENTS: OnceLock<Clients> = OnceLock::new();
    let key = (settings.connect_timeout, settings.read_timeout);
    let clients = CLIENTS.get_or_init(Clients::default);
    if let Some(c) = clients.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(c.clone());
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::blocking::Client::builder()
        .connect_timeout(settings.connect_timeout)
        .timeout(settings.read_timeout)
        .user_agent(concat!("resultpipe/", env!("CARGO_PKG_VERSION")))
        .build()?;
    clients
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, client.clone());
    Ok(client)
}

/// Counts the bytes read through it.
struct Counted<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

/// One GET, its body streamed into `spool`.
fn attempt(
    client: &reqwest::blocking::Client,
    url: url::Url,
    max_bytes: u64,
    mut spool: &std::fs::File,
) -> Attempt {
    let response = match client
        .get(url)
        .header(reqwest::header::ACCEPT_ENCODING, "gzip")
        .send()
    {
        Ok(r) => r,
        Err(e) => return Attempt::Retry(crate::model::error_chain(&e)),
    };
    let status = response.status();
    if status.is_server_error()
        || status == reqwest::StatusCode::REQUEST_TIMEOUT
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
    {
        return Attempt::Retry(format!("the server answered {status}"));
    }
    if !status.is_success() {
        return Attempt::Fail(format!("the server answered {status}"));
    }
    if let Some(len) = response.content_length()
        && len > max_bytes
    {
        return Attempt::Fail(format!(
            "{len} bytes, more than the {max_bytes}-byte cap on an input"
        ));
    }
    let encoding = response
        .headers()
        .get(reqwest::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase());
    let body = Counted {
        inner: response,
        count: 0,
    };
    let (result, wire) = match encoding.as_deref() {
        None | Some("identity") => {
            let mut body = body;
            let r = copy_capped(&mut body, &mut spool, max_bytes);
            (r, body.count)
        }
        Some("gzip" | "x-gzip") => {
            let mut decoder = flate2::read::MultiGzDecoder::new(body);
            let r = copy_capped(&mut decoder, &mut spool, max_bytes);
            (r, decoder.get_ref().count)
        }
        Some(other) => {
            return Attempt::Fail(format!("Content-Encoding {other} is not supported"));
        }
    };
    match result {
        Ok(n) => match spool.flush() {
            Ok(()) => Attempt::Done(n, wire),
            Err(e) => Attempt::Retry(format!("cannot write the spool file: {e}")),
        },
        Err(CopyError::TooBig) => Attempt::Fail(format!(
            "more than the {max_bytes}-byte cap on an input (decoded)"
        )),
        Err(CopyError::Read(e)) => Attempt::Retry(format!("reading the body failed: {e}")),
        Err(CopyError::Write(e)) => Attempt::Retry(format!("cannot write the spool file: {e}")),
    }
}

enum CopyError {
    TooBig,
    Read(io::Error),
    Write(io::Error),
}

fn copy_capped(r: &mut impl Read, w: &mut impl Write, cap: u64) -> Result<u64, CopyError> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e)),
        };
        total += n as u64;
        if total > cap {
            return Err(CopyError::TooBig);
        }
        w.write_all(&buf[..n]).map_err(CopyError::Write)?;
    }
}

thread_local! {
    static SCOPE: RefCell<Option<ScopeState>> = const { RefCell::new(None) };
}

struct ScopeState {
    settings: FetchSettings,
    fetched: HashMap<String, Fetched>,
}

/// Fetches within it are made with its settings and kept: a URL named again in the
/// same scope (on the same thread) is read from its spool, not fetched again.
pub struct Scope {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Scope {
    /// Opens a scope on this thread (replacing one already open).
    pub fn enter(settings: FetchSettings) -> Scope {
        SCOPE.with(|s| {
            *s.borrow_mut() = Some(ScopeState {
                settings,
                fetched: HashMap::new(),
            });
        });
        Scope {
            _not_send: std::marker::PhantomData,
        }
    }

    /// What was fetched in this scope so far, by URL.
    pub fn fetched(&self) -> Vec<(String, Fetched)> {
        SCOPE.with(|s| {
            s.borrow()
                .as_ref()
                .map(|st| {
                    st.fetched
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default()
        })
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        SCOPE.with(|s| s.borrow_mut().take());
    }
}

/// Fetches `url`: once per [`Scope`] when one is open, with its settings; otherwise
/// with the defaults.
pub fn fetch_input(url: &str) -> Result<Fetched, FetchError> {
    let cached = SCOPE.with(|s| {
        s.borrow()
            .as_ref()
            .map(|st| (st.settings, st.fetched.get(url).cloned()))
    });
    match cached {
        Some((_, Some(f))) => Ok(f),
        Some((settings, None)) => {
            let f = fetch(url, &settings)?;
            SCOPE.with(|s| {
                if let Some(st) = s.borrow_mut().as_mut() {
                    st.fetched.insert(url.to_owned(), f.clone());
                }
            });
            Ok(f)
        }
        None => fetch(url, &FetchSettings::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_told_and_shown_without_secrets() {
        assert!(is_url("https://logs.example.org/x.gz"));
        assert!(is_url("HTTP://h/x"));
        assert!(!is_url("./http://x"));
        assert!(!is_url("file.subunit"));
        assert_eq!(
            display_url("https://u:s3cret@h/a/b.gz?sig=t0ken#x"),
            "https://u:***@h/a/b.gz?***"
        );
        assert_eq!(
            url_file_name("https://h/42/testrepository.subunit.gz"),
            "testrepository.subunit.gz"
        );
        assert_eq!(url_file_name("https://h/a%20b/..%2Fetc?x=1"), "_etc");
        assert_eq!(url_file_name("https://h/"), "input");
    }

    #[test]
    fn copies_stop_at_the_cap() {
        let mut out = Vec::new();
        assert!(matches!(
            copy_capped(&mut &[7u8; 100][..], &mut out, 99),
            Err(CopyError::TooBig)
        ));
        out.clear();
        assert!(matches!(
            copy_capped(&mut &[7u8; 100][..], &mut out, 100),
            Ok(100)
        ));
        assert_eq!(out.len(), 100);
    }
}
