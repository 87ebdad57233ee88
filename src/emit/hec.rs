//! Splunk HTTP Event Collector envelopes for run events: one JSON object per event,
//! `{"time":…,"host":…,"source":…,"sourcetype":…,"index":…,"event":{…}}`, as the
//! `/services/collector/event` endpoint takes them (batches are the objects
//! concatenated). Times are plain decimals with microseconds: HEC rejects exponents.

use std::fmt::Write as _;

use crate::model::run_events::RunEvent;

/// Metadata every envelope carries; `None` leaves the key out (HEC then uses the
/// token's defaults).
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    /// HEC's `host` (left out when `None`).
    pub host: Option<String>,
    /// HEC's `source` (left out when `None`).
    pub source: Option<String>,
    /// HEC's `sourcetype` (left out when `None`).
    pub sourcetype: Option<String>,
    /// HEC's `index` (left out when `None`).
    pub index: Option<String>,
    /// The reporter's id (`user@host` by default).
    pub id: String,
    /// The run name (`<project>_<run>` when a project is given).
    pub run: String,
}

/// Seconds since the epoch as a plain decimal with microseconds.
fn push_time(out: &mut String, t: f64) {
    if t.is_finite() {
        let _ = write!(out, "{t:.6}");
    } else {
        out.push_str("null");
    }
}

/// A duration in seconds: the shortest text that reads back, always a plain decimal
/// (no exponent) so that every JSON reader, HEC's included, takes it.
fn push_secs(out: &mut String, t: f64) {
    if !t.is_finite() {
        out.push_str("null");
        return;
    }
    let mut buf = ryu::Buffer::new();
    let short = buf.format_finite(t);
    if !short.contains('e') {
        out.push_str(short);
        return;
    }
    // below 1e-5 or from 1e16: 20 decimals reach far below any clock's resolution
    let start = out.len();
    let _ = write!(out, "{t:.20}");
    while out.ends_with('0') && !out[start..].ends_with(".0") {
        out.pop();
    }
}

/// A JSON string, escaped as serde_json escapes it: `"` `\\` and control characters,
/// the short forms where JSON has them.
fn push_str(out: &mut String, s: &str) {
    out.push('"');
    let mut plain = 0;
    for (i, b) in s.bytes().enumerate() {
        let short = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[plain..i]);
        plain = i + 1;
        if short.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(short);
        }
    }
    out.push_str(&s[plain..]);
    out.push('"');
}

fn push_key(out: &mut String, first: &mut bool, key: &str) {
    if !*first {
        out.push(',');
    }
    *first = false;
    push_str(out, key);
    out.push(':');
}

impl Envelope {
    /// Appends one event's envelope (no trailing newline).
    pub fn write(&self, out: &mut String, e: &RunEvent) {
        out.push('{');
        let mut first = true;
        push_key(out, &mut first, "time");
        push_time(out, e.time);
        for (k, v) in [
            ("host", &self.host),
            ("source", &self.source),
            ("sourcetype", &self.sourcetype),
            ("index", &self.index),
        ] {
            if let Some(v) = v {
                push_key(out, &mut first, k);
                push_str(out, v);
            }
        }
        push_key(out, &mut first, "event");
        out.push('{');
        let mut f = true;
        push_key(out, &mut f, "type");
        push_str(out, e.kind.as_str());
        push_key(out, &mut f, "id");
        push_str(out, &self.id);
        push_key(out, &mut f, "run");
        push_str(out, &self.run);
        push_key(out, &mut f, "time");
        push_time(out, e.time);
        for (k, v) in [
            ("ChildID", e.child.as_deref()),
            ("func", e.func.as_deref()),
            ("status", e.status),
            ("error", e.error.as_deref()),
            ("traceback", e.traceback.as_deref()),
        ] {
            if let Some(v) = v {
                push_key(out, &mut f, k);
                push_str(out, v);
            }
        }
        if let Some(t) = e.timetaken.filter(|t| t.is_finite()) {
            push_key(out, &mut f, "timetaken");
            push_secs(out, t);
        }
        if !e.timers.is_empty() {
            push_key(out, &mut f, "timers");
            out.push('{');
            let mut g = true;
            for (name, secs) in e.timers.iter() {
                push_key(out, &mut g, name);
                push_secs(out, *secs);
            }
            out.push('}');
        }
        out.push_str("}}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::run_events::{EventLog, EventType};

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let mut all = String::new();
        for c in (0u32..0x80).chain([0x7f, 0xe9, 0x2028, 0x1f600]) {
            all.push(char::from_u32(c).unwrap());
        }
        for s in [all.as_str(), "", "plain", "a\"b\\c\u{1}\u{1f}é\n"] {
            let mut out = String::new();
            push_str(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap());
        }
    }

    #[test]
    fn envelopes_are_json_with_plain_decimal_times() {
        let mut log = EventLog::default();
        log.add_transaction(1_700_000_000.25, "t\"1", 1e-7, Some("boom"), [("a/b", 0.5)]);
        let events = log.finish();
        assert_eq!(
            events.iter().map(|e| e.kind).collect::<Vec<_>>(),
            [
                EventType::Start,
                EventType::NewChild,
                EventType::JobFail,
                EventType::EndChild,
                EventType::Stop
            ]
        );
        let env = Envelope {
            index: Some("main".into()),
            id: "me@host".into(),
            run: "p_r".into(),
            ..Envelope::default()
        };
        let mut s = String::new();
        env.write(&mut s, &events[2]);
        assert!(!s.contains("e-") && !s.contains("e+"), "no exponents: {s}");
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert!(s.starts_with(r#"{"time":1700000000.250000,"#), "{s}");
        assert_eq!(v["index"], "main");
        assert_eq!(v["event"]["type"], "jobFail");
        assert_eq!(v["event"]["ChildID"], "t\"1");
        assert_eq!(v["event"]["error"], "boom");
        assert!(s.contains(r#""timetaken":0.0000001"#), "{s}");
        assert!(s.contains(r#""timers":{"a/b":0.5}"#), "{s}");
        assert!(v.get("host").is_none());
    }
}
