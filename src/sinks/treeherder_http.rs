//! Treeherder's REST API as treeherder-client used it: collections POSTed as JSON arrays
//! to `{server}/api/project/{project}/{endpoint}/`, signed with Hawk (sha256, payload
//! hash always included). Retries connection errors, 408, 429 and 5xx with backoff;
//! 401/403 are final and reported with the server's message (plus a hint when it points
//! at clock skew).

use std::time::{Duration, SystemTime};

use crate::model::retry::Backoff;
use crate::sinks::Secret;

/// A Hawk client id and its secret key.
#[derive(Debug, Clone)]
pub struct HawkCredentials {
    /// The client id.
    pub id: String,
    /// Its secret key.
    pub key: Secret,
}

/// Why a request cannot be signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The URL cannot be signed for.
    #[error("bad URL {url}: {message}")]
    Url {
        /// The URL.
        url: String,
        /// Why.
        message: String,
    },
    /// The `hawk` crate refused.
    #[error("hawk signing failed: {0}")]
    Hawk(String),
}

/// `Content-Type` as Hawk hashes it: lower case, parameters stripped.
pub fn normalize_content_type(ct: &str) -> String {
    ct.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The value of an `Authorization: Hawk ...` header. A pure function of its inputs:
/// `payload` is (content type, body) and is hashed when given.
pub fn authorization(
    creds: &HawkCredentials,
    method: &str,
    url: &str,
    payload: Option<(&str, &[u8])>,
    ext: Option<&str>,
    ts: SystemTime,
    nonce: &str,
) -> Result<String, SignError> {
    let parsed = url::Url::parse(url).map_err(|e| SignError::Url {
        url: url.to_owned(),
        message: e.to_string(),
    })?;
    let key = hawk::Key::new(creds.key.expose().as_bytes(), hawk::SHA256)
        .map_err(|e| SignError::Hawk(e.to_string()))?;
    let credentials = hawk::Credentials {
        id: creds.id.clone(),
        key,
    };
    let hash = match payload {
        Some((ct, body)) => Some(
            hawk::PayloadHasher::hash(normalize_content_type(ct), hawk::SHA256, body)
                .map_err(|e| SignError::Hawk(e.to_string()))?,
        ),
        None => None,
    };
    let mut builder =
        hawk::RequestBuilder::from_url(method, &parsed).map_err(|e| SignError::Url {
            url: url.to_owned(),
            message: e.to_string(),
        })?;
    if let Some(h) = &hash {
        builder = builder.hash(&h[..]);
    }
    if let Some(e) = ext {
        builder = builder.ext(e);
    }
    let header = builder
        .request()
        .make_header_full(&credentials, ts, nonce)
        .map_err(|e| SignError::Hawk(e.to_string()))?;
    Ok(format!("Hawk {header}"))
}

/// Which collection to POST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// Jobs (`/jobs/`).
    Jobs,
    /// Pushes, as resultsets were called (`/resultset/`).
    Resultset,
    /// Job artifacts (`/artifact/`).
    Artifact,
}

impl Endpoint {
    /// The endpoint's name in the URL.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Jobs => "jobs",
            Endpoint::Resultset => "resultset",
            Endpoint::Artifact => "artifact",
        }
    }
}

/// Why a submission failed.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// 401/403: not retried.
    #[error("{status} from {url}: {message}{hint}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The endpoint's URL.
        url: String,
        /// The server's message.
        message: String,
        /// A hint (clock skew), or nothing.
        hint: &'static str,
    },
    /// Another 4xx: not retried.
    #[error("{status} from {url}: {message}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The endpoint's URL.
        url: String,
        /// The server's message.
        message: String,
    },
    /// Still failing after every retry.
    #[error("gave up after {attempts} attempt(s) on {url}: {last}")]
    GaveUp {
        /// Attempts made.
        attempts: u32,
        /// The endpoint's URL.
        url: String,
        /// The last failure, with its cause.
        last: String,
    },
    /// The request could not be signed.
    #[error(transparent)]
    Sign(#[from] SignError),
}

/// A fresh nonce: 10 random bytes, base64url (as the `hawk` crate makes them).
fn nonce() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 10];
    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut x = seed as u64
        ^ (u64::from(std::process::id()) << 32)
        ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ 1;
    for b in &mut bytes {
        // xorshift: a nonce needs uniqueness, not secrecy (the MAC carries the secret)
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The server's message from a DRF error body (`{"detail": ...}` or `{"message": ...}`).
fn server_message(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("detail")
                .or_else(|| v.get("message"))
                .and_then(|m| m.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| body.chars().take(300).collect())
}

/// POSTs one collection (`body` is the JSON array); returns the server's reply body.
pub fn submit(
    server: &str,
    project: &str,
    endpoint: Endpoint,
    body: &[u8],
    creds: &HawkCredentials,
    backoff: Backoff,
) -> Result<String, SubmitError> {
    let url = format!(
        "{}/api/project/{project}/{}/",
        server.trim_end_matches('/'),
        endpoint.path()
    );
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .user_agent(concat!("resultpipe/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| SubmitError::GaveUp {
            attempts: 0,
            url: url.clone(),
            last: e.to_string(),
        })?;
    let mut last = String::new();
    for attempt in 1..=backoff.attempts {
        if attempt > 1 {
            let wait = backoff.delay(attempt - 1);
            tracing::warn!(
                "treeherder: {last}; trying again in {:.1}s (attempt {attempt} of {})",
                wait.as_secs_f64(),
                backoff.attempts
            );
            std::thread::sleep(wait);
        }
        // a new timestamp and nonce for every attempt: the server rejects replays
        let auth = authorization(
            creds,
            "POST",
            &url,
            Some(("application/json", body)),
            None,
            SystemTime::now(),
            &nonce(),
        )?;
        let sent = client
            .post(&url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json; version=1.0")
            .header("Authorization", auth)
            .body(body.to_vec())
            .send();
        let resp = match sent {
            Ok(r) => r,
            Err(e) => {
                last = format!(
                    "cannot reach the server: {}",
                    crate::sinks::error_chain(&e.without_url())
                );
                continue;
            }
        };
        let status = resp.status().as_u16();
        let text = resp.text().unwrap_or_default();
        match status {
            200..=299 => return Ok(text),
            401 | 403 => {
                let message = server_message(&text);
                let lower = message.to_ascii_lowercase();
                let hint = if lower.contains("expired")
                    || lower.contains("clock")
                    || lower.contains("stale")
                {
                    " (hint: the request timestamp was refused; check this machine's clock, e.g. with NTP)"
                } else {
                    ""
                };
                return Err(SubmitError::Refused {
                    status,
                    url,
                    message,
                    hint,
                });
            }
            408 | 429 | 500..=599 => last = format!("{status} {}", server_message(&text)),
            _ => {
                return Err(SubmitError::Rejected {
                    status,
                    url,
                    message: server_message(&text),
                });
            }
        }
    }
    Err(SubmitError::GaveUp {
        attempts: backoff.attempts,
        url,
        last,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn vectors() -> Value {
        let p = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/treeherder/hawk-vectors.json"
        );
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    }

    fn attrs(header: &str) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = header
            .trim_start_matches("Hawk ")
            .split(", ")
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (k.to_owned(), v.trim_matches('"').to_owned())
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn reproduces_the_mohawk_vectors_exactly() {
        let all = vectors();
        for v in all["vectors"].as_array().unwrap() {
            let creds = HawkCredentials {
                id: v["credentials"]["id"].as_str().unwrap().into(),
                key: Secret::new(v["credentials"]["key"].as_str().unwrap()),
            };
            let payload = v["content_type_header"]
                .as_str()
                .map(|ct| (ct, v["body_utf8"].as_str().unwrap_or("").as_bytes()));
            let payload = if v["hash"].is_null() { None } else { payload };
            let ts = SystemTime::UNIX_EPOCH + Duration::from_secs(v["ts"].as_u64().unwrap());
            let got = authorization(
                &creds,
                v["method"].as_str().unwrap(),
                v["url"].as_str().unwrap(),
                payload,
                v["ext"].as_str(),
                ts,
                v["nonce"].as_str().unwrap(),
            )
            .unwrap();
            let name = v["name"].as_str().unwrap();
            assert_eq!(
                got,
                v["authorization_rust_hawk_order"].as_str().unwrap(),
                "{name}"
            );
            assert_eq!(
                attrs(&got),
                attrs(v["authorization_mohawk"].as_str().unwrap()),
                "{name}"
            );
        }
    }

    /// The refdata's negative vectors (tampered body, port, method, path, content type,
    /// wrong key) are rejected by the `hawk` crate's server-side check, as mohawk did.
    #[test]
    fn negative_vectors_are_rejected_by_the_server_side_check() {
        let all = vectors();
        for v in all["negative_vectors"].as_array().unwrap() {
            let name = v["name"].as_str().unwrap();
            let r = &v["request"];
            let header: hawk::Header = v["authorization"]
                .as_str()
                .unwrap()
                .trim_start_matches("Hawk ")
                .parse()
                .unwrap();
            let url = url::Url::parse(r["url"].as_str().unwrap()).unwrap();
            let ct = normalize_content_type(r["content_type_header"].as_str().unwrap_or(""));
            let hash =
                hawk::PayloadHasher::hash(ct, hawk::SHA256, r["body_utf8"].as_str().unwrap_or(""))
                    .unwrap();
            let req = hawk::RequestBuilder::from_url(r["method"].as_str().unwrap(), &url)
                .unwrap()
                .hash(&hash[..])
                .request();
            let key = hawk::Key::new(
                v["verify_with_key"].as_str().unwrap().as_bytes(),
                hawk::SHA256,
            )
            .unwrap();
            let skew = Duration::from_secs(100 * 365 * 86_400); // the vectors are from 2016
            assert!(
                !req.validate_header(&header, &key, skew),
                "{name} was accepted"
            );
        }
        // and the matching positive vector is accepted by the same check
        let v = &all["vectors"][0];
        let header: hawk::Header = v["authorization_mohawk"]
            .as_str()
            .unwrap()
            .trim_start_matches("Hawk ")
            .parse()
            .unwrap();
        let url = url::Url::parse(v["url"].as_str().unwrap()).unwrap();
        let hash = hawk::PayloadHasher::hash(
            "application/json",
            hawk::SHA256,
            v["body_utf8"].as_str().unwrap(),
        )
        .unwrap();
        let req = hawk::RequestBuilder::from_url("POST", &url)
            .unwrap()
            .hash(&hash[..])
            .request();
        let key = hawk::Key::new(
            v["credentials"]["key"].as_str().unwrap().as_bytes(),
            hawk::SHA256,
        )
        .unwrap();
        assert!(req.validate_header(&header, &key, Duration::from_secs(100 * 365 * 86_400)));
    }

    #[test]
    fn content_types_are_normalised_for_hashing() {
        assert_eq!(
            normalize_content_type("Application/JSON; charset=UTF-8"),
            "application/json"
        );
        assert_ne!(nonce(), nonce());
        assert_eq!(
            server_message(r#"{"detail": "Hawk authentication failed"}"#),
            "Hawk authentication failed"
        );
    }
}
