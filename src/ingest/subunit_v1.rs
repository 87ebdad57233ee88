//! Subunit v1 text reader (what `.stestr` / `.testrepository` run files hold).
//!
//! Turns directives into the same events a v2 stream carries, as python-subunit's
//! `subunit-1to2` does: `test:` gives `inprogress` (no tags), an outcome gives its
//! details as attachments and then the final status carrying the tag set; `time:` sets
//! the clock. Lines that are not protocol are passthrough. Never panics; every problem
//! is reported with its line number.

use crate::ingest::EventSink;
use crate::model::{Event, FileChunk, Location, Problem, Severity, Status, Timestamp};

const TRACEBACK_MIME: &str = "text/x-traceback; charset=\"utf8\"";
const LOST_MIME: &str = "text/x-traceback; charset=\"utf8\"; language=\"python\"";

struct Detail {
    name: String,
    mime: String,
    data: Vec<u8>,
}

struct Current {
    id: String,
    add: Vec<String>,
    remove: Vec<String>,
    line: u64,
}

struct Reader<'s, S: EventSink> {
    data: &'s [u8],
    pos: usize,
    line: u64,
    clock: Option<Timestamp>,
    global: Vec<String>,
    current: Option<Current>,
    sink: &'s mut S,
}

/// True when `data` starts like a v1 stream: its first line that is not blank is a
/// subunit v1 directive.
pub fn looks_like_v1(data: &[u8]) -> bool {
    for line in data.split(|&b| b == b'\n') {
        let t = line.trim_ascii();
        if t.is_empty() {
            continue;
        }
        let word = t.split(|b| b.is_ascii_whitespace()).next().unwrap_or(&[]);
        let word = word.strip_suffix(b":").unwrap_or(word);
        return matches!(
            word,
            b"test"
                | b"testing"
                | b"time"
                | b"tags"
                | b"progress"
                | b"success"
                | b"successful"
                | b"failure"
                | b"error"
                | b"skip"
                | b"xfail"
                | b"uxsuccess"
        ) && t.len() > word.len();
    }
    false
}

/// Reads a complete v1 stream held in memory. Returns the number of bytes handled.
pub fn read_v1(data: &[u8], sink: &mut impl EventSink) -> u64 {
    let mut r = Reader {
        data,
        pos: 0,
        line: 0,
        clock: None,
        global: Vec::new(),
        current: None,
        sink,
    };
    while let Some((start, line)) = r.next_line() {
        r.directive(start, line);
    }
    if let Some(cur) = r.current.take() {
        r.problem(
            cur.line,
            format!(
                "test '{}' has no outcome at end of input; recorded as failed",
                cur.id
            ),
        );
        r.lost_connection(cur);
    }
    data.len() as u64
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl<'s, S: EventSink> Reader<'s, S> {
    /// The next line with its `\n` (the last line may lack it) and its start offset.
    fn next_line(&mut self) -> Option<(usize, &'s [u8])> {
        if self.pos >= self.data.len() {
            return None;
        }
        let start = self.pos;
        let end =
            memchr::memchr(b'\n', &self.data[start..]).map_or(self.data.len(), |i| start + i + 1);
        self.pos = end;
        self.line += 1;
        Some((start, &self.data[start..end]))
    }

    fn problem(&mut self, line: u64, message: String) {
        self.sink.problem(Problem {
            severity: Severity::Warning,
            location: Location::Line(line),
            message,
        });
    }

    fn passthrough(&mut self, start: usize, line: &[u8]) {
        self.sink.passthrough(line, start as u64);
    }

    fn directive(&mut self, start: usize, raw: &[u8]) {
        let line = raw.strip_suffix(b"\n").unwrap_or(raw);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let split = line.iter().position(|b| *b == b' ' || *b == b'\t');
        let (word, rest) = match split {
            Some(i) => (&line[..i], &line[i + 1..]),
            None => (line, &line[line.len()..]),
        };
        let keyword = word.strip_suffix(b":").unwrap_or(word);
        match keyword {
            _ if split.is_none() => self.passthrough(start, raw),
            b"test" | b"testing" => self.start_test(rest),
            b"success" | b"successful" => {
                self.outcome(start, raw, rest, Status::Success, Some("message"))
            }
            b"failure" | b"error" => self.outcome(start, raw, rest, Status::Fail, None),
            b"skip" => self.outcome(start, raw, rest, Status::Skip, Some("reason")),
            b"xfail" => self.outcome(start, raw, rest, Status::XFail, None),
            b"uxsuccess" => self.outcome(start, raw, rest, Status::UxSuccess, None),
            b"time" => match std::str::from_utf8(rest).ok().and_then(Timestamp::parse_v1) {
                Some(t) => self.clock = Some(t),
                None => {
                    let l = self.line;
                    self.problem(
                        l,
                        format!("unreadable time: {:?}; clock unchanged", text(rest)),
                    );
                }
            },
            b"tags" => self.tags(rest),
            b"progress" => {}
            _ => self.passthrough(start, raw),
        }
    }

    fn start_test(&mut self, rest: &[u8]) {
        if let Some(cur) = self.current.take() {
            let l = self.line;
            self.problem(
                l,
                format!(
                    "test '{}' started before '{}' ended; that one is recorded as failed",
                    text(rest),
                    cur.id
                ),
            );
            self.lost_connection(cur);
        }
        let id = text(rest);
        let ev = Event {
            timestamp: self.clock,
            ..Event::status(Status::InProgress, &id)
        };
        self.sink.event(&ev, 0);
        self.current = Some(Current {
            id,
            add: Vec::new(),
            remove: Vec::new(),
            line: self.line,
        });
    }

    fn tags(&mut self, rest: &[u8]) {
        let words = text(rest);
        for w in words.split_whitespace() {
            let (remove, tag) = match w.strip_prefix('-') {
                Some(t) => (true, t),
                None => (false, w),
            };
            let (add_set, remove_set) = match &mut self.current {
                Some(cur) => (&mut cur.add, &mut cur.remove),
                None => {
                    if remove {
                        self.global.retain(|t| t != tag);
                    } else if !self.global.iter().any(|t| t == tag) {
                        self.global.push(tag.to_owned());
                    }
                    continue;
                }
            };
            let (to, from) = if remove {
                (remove_set, add_set)
            } else {
                (add_set, remove_set)
            };
            from.retain(|t| t != tag);
            if !to.iter().any(|t| t == tag) {
                to.push(tag.to_owned());
            }
        }
    }

    fn outcome(
        &mut self,
        start: usize,
        raw: &[u8],
        rest: &[u8],
        status: Status,
        simple_name: Option<&str>,
    ) {
        let Some(id) = self.current.as_ref().map(|c| c.id.as_bytes()) else {
            return self.passthrough(start, raw);
        };
        let details = if rest == id {
            Vec::new()
        } else if rest.len() == id.len() + 2 && rest.starts_with(id) && rest.ends_with(b" [") {
            self.simple_details(simple_name)
        } else if rest.starts_with(id) && &rest[id.len()..] == b" [ multipart" {
            self.multipart_details()
        } else {
            return self.passthrough(start, raw);
        };
        let cur = self.current.take().expect("checked above");
        self.finish(cur, status, details);
    }

    fn finish(&mut self, cur: Current, status: Status, details: Vec<Detail>) {
        for d in &details {
            let ev = Event {
                timestamp: self.clock,
                file: Some(FileChunk {
                    name: &d.name,
                    mime: Some(&d.mime),
                    data: &d.data,
                    eof: true,
                }),
                ..Event::status(Status::Unknown, &cur.id)
            };
            self.sink.event(&ev, 0);
        }
        let mut tags: Vec<&str> = self
            .global
            .iter()
            .map(String::as_str)
            .filter(|t| !cur.remove.iter().any(|r| r == t))
            .collect();
        for t in &cur.add {
            if !tags.contains(&t.as_str()) {
                tags.push(t);
            }
        }
        let ev = Event {
            timestamp: self.clock,
            tags: if tags.is_empty() { None } else { Some(&tags) },
            ..Event::status(status, &cur.id)
        };
        self.sink.event(&ev, 0);
    }

    fn lost_connection(&mut self, cur: Current) {
        let msg = format!(
            "testtools.testresult.real._StringException: lost connection during test '{}'\n",
            cur.id
        );
        let d = Detail {
            name: "traceback".into(),
            mime: LOST_MIME.into(),
            data: msg.into_bytes(),
        };
        self.finish(cur, Status::Fail, vec![d]);
    }

    /// ` [` details: lines up to `]`; a line starting ` ]` loses its first space.
    fn simple_details(&mut self, style: Option<&str>) -> Vec<Detail> {
        let first = self.line;
        let mut data = Vec::new();
        let mut closed = false;
        while let Some((_, line)) = self.next_line() {
            if line == b"]\n" || line == b"]" || line == b"]\r\n" {
                closed = true;
                break;
            }
            data.extend_from_slice(
                line.strip_prefix(b" ]".as_slice())
                    .map_or(line, |_| &line[1..]),
            );
        }
        if !closed {
            self.problem(
                first,
                "details block not closed with ']' before end of input".into(),
            );
        }
        let (name, mime) = match style {
            None => ("traceback", TRACEBACK_MIME),
            Some(n) => (n, "text/plain"),
        };
        vec![Detail {
            name: name.into(),
            mime: mime.into(),
            data,
        }]
    }

    /// ` [ multipart` details: `Content-Type:` line, name line, HTTP-chunked body; `]` ends.
    fn multipart_details(&mut self) -> Vec<Detail> {
        let mut parts = Vec::new();
        loop {
            let Some((_, line)) = self.next_line() else {
                let l = self.line;
                self.problem(l, "multipart details not closed before end of input".into());
                return parts;
            };
            let line = line.strip_suffix(b"\n").unwrap_or(line);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line == b"]" {
                return parts;
            }
            let Some(ct) = line.strip_prefix(b"Content-Type: ".as_slice()) else {
                let l = self.line;
                self.problem(
                    l,
                    format!(
                        "expected 'Content-Type:' in multipart details, found {:?}",
                        text(line)
                    ),
                );
                continue;
            };
            let mime = text(ct.trim_ascii());
            let Some((_, name)) = self.next_line() else {
                break;
            };
            let name = name.strip_suffix(b"\n").unwrap_or(name);
            let name = text(name.strip_suffix(b"\r").unwrap_or(name));
            let data = self.chunked();
            parts.push(Detail { name, mime, data });
        }
        let l = self.line;
        self.problem(l, "multipart details not closed before end of input".into());
        parts
    }

    /// HTTP-chunked bytes: `<hex>\r\n<bytes>` repeated, ended by `0\r\n` (bare `\n` accepted).
    fn chunked(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let Some((_, line)) = self.next_line() else {
                return out;
            };
            let size_text = line.trim_ascii();
            let size = std::str::from_utf8(size_text)
                .ok()
                .and_then(|s| usize::from_str_radix(s, 16).ok());
            let Some(size) = size else {
                let l = self.line;
                self.problem(
                    l,
                    format!("bad chunk size {:?} in multipart details", text(size_text)),
                );
                return out;
            };
            if size == 0 {
                return out;
            }
            let take = size.min(self.data.len() - self.pos);
            let chunk = &self.data[self.pos..self.pos + take];
            self.line += memchr::memchr_iter(b'\n', chunk).count() as u64;
            out.extend_from_slice(chunk);
            self.pos += take;
            if take < size {
                let l = self.line;
                self.problem(
                    l,
                    format!("chunk of {size} bytes truncated at end of input"),
                );
                return out;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RecordBuilder, TestRecord};

    #[derive(Default)]
    struct Sink {
        builder: RecordBuilder,
        records: Vec<TestRecord>,
        text: Vec<u8>,
        problems: Vec<Problem>,
    }

    impl EventSink for Sink {
        fn event(&mut self, ev: &Event<'_>, _offset: u64) {
            let records = &mut self.records;
            self.builder.push(ev, &mut |r| records.push(r));
        }
        fn passthrough(&mut self, bytes: &[u8], _offset: u64) {
            self.text.extend_from_slice(bytes);
        }
        fn problem(&mut self, problem: Problem) {
            self.problems.push(problem);
        }
    }

    #[test]
    fn reads_details_tags_and_lost_tests() {
        let input = b"tags: g\ntime: 2024-03-01 12:00:00Z\ntest: a\nfailure: a [\nline ]\n ]quoted\n]\n\
test: b\ntags: l -g\nerror: b [ multipart\nContent-Type: text/plain;charset=utf8\nlog\n3\r\nabc2\r\nde0\r\n]\n\
noise\ntest: c\n";
        let mut s = Sink::default();
        read_v1(input, &mut s);
        let r = &s.records;
        assert_eq!(r.len(), 3);
        assert_eq!((r[0].id.as_str(), r[0].status), ("a", Status::Fail));
        assert_eq!(
            r[0].attachment("traceback").unwrap().data,
            b"line ]\n]quoted\n"
        );
        assert_eq!(r[0].tags, vec!["g"]);
        assert_eq!(r[1].attachment("log").unwrap().data, b"abcde");
        assert_eq!(r[1].tags, vec!["l"]);
        assert_eq!(r[2].status, Status::Fail);
        assert!(s.text.starts_with(b"noise"));
        assert_eq!(s.problems.len(), 1);
        assert_eq!(s.problems[0].location, Location::Line(18));
    }

    #[test]
    fn sniffing() {
        assert!(looks_like_v1(b"\ntime: 2026-01-01 00:00:00Z\n"));
        assert!(looks_like_v1(b"test: foo\n"));
        assert!(!looks_like_v1(b"\xb3\x29\x01"));
        assert!(!looks_like_v1(b"hello world\n"));
    }
}
