//! Splunk HTTP Event Collector: the parts of delivery that do no I/O — cutting
//! envelopes into batches bounded by count and bytes, and reading HEC's answers (which
//! failures are worth retrying, and which token problem HEC reported). The HTTP client
//! around them is the rest of issue 5.

/// Limits of one request body. HEC's default `max_content_length` is 1 MB; staying
/// well under it leaves room for a proxy in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    pub max_events: usize,
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

/// Envelopes (each one JSON object, as `emit::hec` writes them) joined into request
/// bodies: concatenated with `\n`, as HEC takes them. An envelope larger than
/// `max_bytes` travels alone rather than being dropped.
pub fn batches<'a>(
    envelopes: impl IntoIterator<Item = &'a str>,
    limits: BatchLimits,
) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut body = String::new();
    let mut n = 0;
    for e in envelopes {
        let added = e.len() + usize::from(n > 0);
        if n > 0 && (n == limits.max_events || body.len() + added > limits.max_bytes) {
            out.push((n, std::mem::take(&mut body)));
            n = 0;
        }
        if n > 0 {
            body.push('\n');
        }
        body.push_str(e);
        n += 1;
    }
    if n > 0 {
        out.push((n, body));
    }
    out
}

/// What an HEC answer means for the batch that got it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// HTTP 200, code 0; with indexer acknowledgment on, the id to poll.
    Accepted { ack_id: Option<u64> },
    /// Worth another try: 429, 5xx (503 is HEC's "Server is busy").
    Retry { status: u16, text: String },
    /// A token problem (HEC codes 1–4, 16): retrying cannot help.
    Token {
        status: u16,
        code: i64,
        text: String,
    },
    /// The batch itself was refused (bad data, index, channel...): not retried.
    Refused {
        status: u16,
        code: Option<i64>,
        text: String,
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
    if status == 429 || status >= 500 {
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

#[cfg(test)]
mod tests {
    use super::*;

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
