//! JUnit XML, streamed with quick-xml into the same events the subunit readers emit, so
//! that every command reads a JUnit report as it reads a subunit stream. Only the
//! testcase being read is held in memory, and its output is capped while it streams.
//!
//! How a report becomes records (the reading JUnit's consumers share):
//!
//! - the root is `testsuites` or `testsuite`; suites nest (the path of suite names is
//!   kept as the tag `suite:<a/b/c>`); `<x/>` and `<x></x>` are the same; several roots
//!   or documents in one file are all read;
//! - a testcase's id is `classname.name` (`name` alone without a classname, or when the
//!   name is the classname or starts with `classname.`; one without either is `suite.(testcase #N)`, N its
//!   place in the report); status precedence failure > error > skipped >
//!   success; an `error` is a failure tagged `junit:error`; `skipped type="xfail"`
//!   (pytest's `pytest.xfail`) is an expected failure, a failure of type
//!   `unexpected success` (unittest's `_UnexpectedSuccess`) an unexpected success;
//!   properties `tag` and `worker` (as `resultpipe junit` writes them) are tags and the
//!   worker, and `attempt` ("success 0.5 TIMESTAMP", ours too) an earlier attempt;
//! - `flakyFailure`/`flakyError`/`rerunFailure`/`rerunError` are earlier attempts (each
//!   a failed record tagged `junit:rerun` before the testcase's own), and a testcase seen again is another
//!   attempt, so a test that failed and then passed is flaky, as in a subunit run;
//! - the failure's or skip's message and text are the `traceback` (skips: `reason`)
//!   attachment; `system-out`/`system-err` of a case are `stdout`/`stderr`; its
//!   `properties` (and `file`/`line`) a `properties` attachment; a suite's own output is
//!   kept as non-test output (in subunit, attachments without a test id), never
//!   dropped; the suite path is the tag `suite:<a/b>`, its `hostname` the tag
//!   `host:<name>`;
//! - times: a testcase's `timestamp`, else its suite's plus the earlier cases' `time`
//!   (Jenkins' reading); a report without any timestamp runs on a clock starting at
//!   2000-01-01T00:00:00Z, as python-subunit's `junitxml2subunit` does. `time` takes
//!   `1,234.5`, `0,5`, ` 0.5 `, `1E-07`; NaN, infinite and negative values count as 0;
//!   a `timestamp` without a zone is read as UTC and its testcases tagged
//!   `junit:no-zone`;
//! - entities: the predefined and numeric ones are resolved, any other is kept as
//!   written, and nothing is ever fetched; invalid UTF-8 and control characters are
//!   kept (lossy), a declared ISO-8859-1/Latin-1/windows-1252 is decoded as Latin-1.
//!
//! Malformed or truncated input keeps every testcase completed before the damage and
//! reports the loss with its byte offset; input that is not JUnit XML is an error.

use std::borrow::Cow;
use std::io::{self, BufRead};

use quick_xml::events::{BytesStart, Event as Xml};

use super::EventSink;
use crate::model::{Event, FileChunk, Location, Problem, Severity, Status, Timestamp};

/// Bytes of output (`system-out`, `system-err`, a failure's text) kept per attachment;
/// beyond it the head and tail are kept, with the count of what was left out between.
pub const OUTPUT_CAP: usize = 1 << 20;

/// The suite `resultpipe junit` writes a run's output that belonged to no test in (no
/// testcase, its `system-out` only); read back as such output, without a header.
pub const NO_TEST_SUITE: &str = "(output that belonged to no test)";

/// Whether `head` (the first bytes of an input) looks like XML: `<` first, after an
/// optional BOM and blanks.
pub fn looks_like_xml(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    head.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'<')
}

/// What reading a report found.
#[derive(Debug, Default, Clone, Copy)]
pub struct JunitStats {
    /// Bytes read.
    pub bytes: u64,
    /// Testcase elements read whole.
    pub testcases: u64,
    /// Suites seen.
    pub suites: u64,
}

/// One attempt of a testcase, as it is collected.
#[derive(Debug, Default)]
struct Attempt {
    status: Option<Status>,
    error: bool,
    /// A `skipped type="xfail"` (ours, pytest's `pytest.xfail`): an expected failure.
    xfail: bool,
    /// A failure of type `unexpected success` (ours, unittest's `_UnexpectedSuccess`).
    uxsuccess: bool,
    text: Capped,
    /// The status element being read: its `type: message` line, its message, and its
    /// text so far (the line is kept only when the text does not already hold the
    /// message, as pytest's, nextest's and our own tracebacks do).
    head: Option<(String, String)>,
    elem: String,
    stdout: Capped,
    stderr: Capped,
    /// Its `timestamp`, and whether that had a zone.
    timestamp: Option<(Timestamp, bool)>,
    time: Option<f64>,
}

/// An `attempt` property as `resultpipe junit` writes an earlier attempt that passed
/// or was skipped: `STATUS SECONDS [TIMESTAMP]`.
fn quiet_attempt(v: &str) -> Option<Attempt> {
    let mut parts = v.split_ascii_whitespace();
    let status = match parts.next()? {
        "success" => Status::Success,
        "skip" => Status::Skip,
        "xfail" => Status::Skip,
        _ => return None,
    };
    let time = parse_time(parts.next()?);
    let timestamp = match parts.next() {
        Some(t) => Some(parse_timestamp(t)?),
        None => None,
    };
    Some(Attempt {
        status: Some(status),
        xfail: v.starts_with("xfail"),
        time,
        timestamp,
        ..Attempt::default()
    })
}

/// `type: message` of a status element, and its message.
fn status_head(kind: Option<String>, message: Option<String>) -> Option<(String, String)> {
    // the types `resultpipe junit` writes say the status, not what went wrong
    let kind = kind.filter(|k| {
        !matches!(
            k.as_str(),
            "" | "xfail" | "unexpected success" | "unfinished"
        )
    });
    let message = message.filter(|m| !m.is_empty());
    match (kind, message) {
        (Some(k), Some(m)) => Some((format!("{k}: {m}"), m)),
        (Some(k), None) => Some((k.clone(), k)),
        (None, Some(m)) => Some((m.clone(), m)),
        (None, None) => None,
    }
}

impl Attempt {
    /// The status element ended: its head line (unless its text holds the message)
    /// and its text join what the attempt has.
    fn close_status(&mut self) {
        let elem = std::mem::take(&mut self.elem);
        if let Some((line, message)) = self.head.take()
            && !elem.contains(message.trim())
        {
            if !self.text.is_empty() {
                self.text.push("\n");
            }
            self.text.push(&line);
            self.text.push("\n");
        }
        if !elem.is_empty() {
            self.text.push(&elem);
        }
    }
}

/// Text kept up to [`OUTPUT_CAP`]: the head and a sliding tail.
#[derive(Debug, Default)]
struct Capped {
    head: String,
    tail: String,
    dropped: u64,
}

impl Capped {
    fn push(&mut self, s: &str) {
        if self.head.len() < OUTPUT_CAP / 2 {
            let room = OUTPUT_CAP / 2 - self.head.len();
            let cut = floor_char(s, room.min(s.len()));
            self.head.push_str(&s[..cut]);
            self.push_tail(&s[cut..]);
        } else {
            self.push_tail(s);
        }
    }

    fn push_tail(&mut self, s: &str) {
        self.tail.push_str(s);
        let half = OUTPUT_CAP / 2;
        if self.tail.len() > 2 * half {
            let cut = ceil_char(&self.tail, self.tail.len() - half);
            self.dropped += cut as u64;
            self.tail.drain(..cut);
        }
    }

    fn is_empty(&self) -> bool {
        self.head.is_empty() && self.tail.is_empty()
    }

    fn take(&mut self) -> String {
        let mut out = std::mem::take(&mut self.head);
        if self.dropped > 0 {
            out.push_str(&format!("\n[{} bytes omitted]\n", self.dropped));
        }
        out.push_str(&self.tail);
        self.tail.clear();
        self.dropped = 0;
        out
    }
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// The testcase being read.
#[derive(Debug, Default)]
struct Case {
    id: String,
    /// Earlier attempts (`flaky*`/`rerun*`), then the case's own.
    earlier: Vec<Attempt>,
    own: Attempt,
    properties: String,
    /// Tags and the worker given as properties.
    tags: Vec<String>,
    worker: Option<String>,
    /// Where text goes: 0 nowhere, else the element collecting it.
    into: Into,
    /// Inside a `flaky*`/`rerun*` element.
    in_rerun: bool,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Into {
    #[default]
    Nothing,
    Text,
    Stdout,
    Stderr,
    Property,
}

/// A suite on the path from the root.
#[derive(Debug)]
struct Suite {
    name: String,
    /// Its `tests` attribute, and the testcases read before it started.
    declared: Option<u64>,
    before: u64,
    /// `suite:<path>` from the root to this suite, for its testcases' tags.
    tag: Option<String>,
    /// Where its next testcase starts when the testcases carry no timestamp, and
    /// whether the suite's `timestamp` had a zone.
    clock: Option<Timestamp>,
    zoned: bool,
    /// `host:<hostname>` from its `hostname` (or its parent's).
    host: Option<String>,
    out: Capped,
    into: Into,
}

/// Where the synthetic clock starts when a report has no timestamp at all.
const EPOCH_2000: i64 = 946_684_800;

struct Reader<'s, S: EventSink> {
    sink: &'s mut S,
    latin1: bool,
    suites: Vec<Suite>,
    case: Option<Case>,
    stats: JunitStats,
    /// The clock of suites without timestamps: the `testsuites` timestamp, else
    /// 2000-01-01; whether it had a zone.
    clock: Timestamp,
    clock_zoned: bool,
    roots: u64,
}

/// Reads a JUnit XML report, handing events to `sink`.
pub fn read_junit(input: impl BufRead, sink: &mut impl EventSink) -> io::Result<JunitStats> {
    let mut xml = quick_xml::Reader::from_reader(input);
    let config = xml.config_mut();
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    config.allow_dangling_amp = true;
    let mut r = Reader {
        sink,
        latin1: false,
        suites: Vec::new(),
        case: None,
        stats: JunitStats::default(),
        clock: Timestamp::new(EPOCH_2000, 0),
        clock_zoned: true,
        roots: 0,
    };
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut depth = 0usize;
    loop {
        let at = xml.buffer_position();
        let event = match xml.read_event_into(&mut buf) {
            Ok(e) => e,
            Err(quick_xml::Error::Io(e)) => return Err(io::Error::other(e.to_string())),
            Err(e) => {
                r.lost(at, &format!("malformed XML: {e}"));
                break;
            }
        };
        match event {
            Xml::Decl(d) => {
                if let Some(Ok(enc)) = d.encoding() {
                    let enc = String::from_utf8_lossy(&enc).to_ascii_lowercase();
                    r.latin1 = matches!(
                        enc.as_str(),
                        "iso-8859-1"
                            | "latin1"
                            | "latin-1"
                            | "iso8859-1"
                            | "windows-1252"
                            | "cp1252"
                    );
                }
            }
            Xml::Start(e) => {
                if depth == 0 && !r.root(&e, at)? {
                    break;
                }
                depth += 1;
                r.start(&e, false);
            }
            Xml::Empty(e) => {
                if depth == 0 && !r.root(&e, at)? {
                    break;
                }
                r.start(&e, true);
                r.end(e.local_name().as_ref());
            }
            Xml::End(e) => {
                depth = depth.saturating_sub(1);
                r.end(e.local_name().as_ref());
            }
            Xml::Text(t) => {
                let s = r.decode(&t);
                r.text(&s);
            }
            Xml::CData(t) => {
                let s = r.decode(&t);
                r.text(&s);
            }
            Xml::GeneralRef(g) => {
                let s = match g.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => {
                        let name = r.decode(&g);
                        match predefined(&name) {
                            Some(c) => c.to_owned(),
                            None => format!("&{name};"),
                        }
                    }
                };
                r.text(&s);
            }
            Xml::Eof => {
                if depth > 0 || r.case.is_some() {
                    r.lost(at, "the report ends in the middle (truncated)");
                }
                break;
            }
            Xml::Comment(_) | Xml::PI(_) | Xml::DocType(_) => {}
        }
        buf.clear();
    }
    r.stats.bytes = xml.buffer_position();
    if r.roots == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a JUnit XML report: no testsuites or testsuite element",
        ));
    }
    Ok(r.stats)
}

/// Bytes as text: Latin-1 when the report declares it, else UTF-8 (lossy).
fn decode(latin1: bool, raw: &[u8]) -> Cow<'_, str> {
    if latin1 {
        Cow::Owned(raw.iter().map(|&b| b as char).collect())
    } else {
        String::from_utf8_lossy(raw)
    }
}

/// An attribute's value, unescaped (unknown entities kept as written).
fn attr(latin1: bool, e: &BytesStart<'_>, key: &[u8]) -> Option<String> {
    let a = e
        .attributes()
        .with_checks(false)
        .flatten()
        .find(|a| a.key.local_name().as_ref() == key)?;
    Some(unescape(&decode(latin1, &a.value)))
}

fn predefined(name: &str) -> Option<&'static str> {
    Some(match name {
        "lt" => "<",
        "gt" => ">",
        "amp" => "&",
        "apos" => "'",
        "quot" => "\"",
        _ => return None,
    })
}

impl<S: EventSink> Reader<'_, S> {
    /// A root element: `testsuites` or `testsuite`, else the input is not JUnit (an
    /// error before anything, a problem after the first report).
    fn root(&mut self, e: &BytesStart<'_>, at: u64) -> io::Result<bool> {
        let name = e.local_name();
        if matches!(name.as_ref(), b"testsuites" | b"testsuite") {
            self.roots += 1;
            // a `testsuites` timestamp is where suites without their own start
            if name.as_ref() == b"testsuites"
                && let Some((t, zoned)) =
                    attr(self.latin1, e, b"timestamp").and_then(|t| parse_timestamp(&t))
            {
                self.clock = t;
                self.clock_zoned = zoned;
            }
            return Ok(true);
        }
        let found = String::from_utf8_lossy(name.as_ref()).into_owned();
        if self.roots == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "not a JUnit XML report: the root element is <{found}>, not <testsuites> or <testsuite>"
                ),
            ));
        }
        self.problem(
            at,
            Severity::Warning,
            format!("a <{found}> element after the report: ignored with all it holds"),
        );
        Ok(false)
    }

    fn decode<'b>(&self, raw: &'b [u8]) -> Cow<'b, str> {
        decode(self.latin1, raw)
    }

    fn start(&mut self, e: &BytesStart<'_>, empty: bool) {
        let name = e.local_name();
        let name = name.as_ref();
        if let Some(case) = self.case.as_mut() {
            let latin1 = self.latin1;
            let attr = |k: &[u8]| attr(latin1, e, k);
            match name {
                b"failure" | b"error" | b"skipped" => {
                    let status = if name == b"skipped" {
                        Status::Skip
                    } else {
                        Status::Fail
                    };
                    let target = if case.in_rerun {
                        case.earlier.last_mut()
                    } else {
                        Some(&mut case.own)
                    };
                    if let Some(a) = target {
                        // failure > error > skipped: a later, weaker status does not win
                        let rank = |s: Option<Status>, err: bool| match s {
                            Some(Status::Fail) if !err => 3,
                            Some(Status::Fail) => 2,
                            Some(Status::Skip) => 1,
                            _ => 0,
                        };
                        let new_rank = rank(Some(status), name == b"error");
                        if new_rank > rank(a.status, a.error) {
                            a.status = Some(status);
                            a.error = name == b"error";
                            let kind = attr(b"type").unwrap_or_default();
                            a.xfail = status == Status::Skip
                                && matches!(kind.as_str(), "xfail" | "pytest.xfail");
                            a.uxsuccess = name == b"failure"
                                && (kind == "unexpected success"
                                    || kind.ends_with("_UnexpectedSuccess"));
                        }
                        a.head = status_head(attr(b"type"), attr(b"message"));
                        a.elem.clear();
                        if empty {
                            a.close_status();
                        }
                    }
                    if !empty {
                        case.into = Into::Text;
                    }
                }
                b"flakyFailure" | b"flakyError" | b"rerunFailure" | b"rerunError" => {
                    let mut a = Attempt {
                        status: Some(Status::Fail),
                        error: name.ends_with(b"Error"),
                        timestamp: attr(b"timestamp").and_then(|t| parse_timestamp(&t)),
                        time: attr(b"time").and_then(|t| parse_time(&t)),
                        ..Attempt::default()
                    };
                    a.head = status_head(attr(b"type"), attr(b"message"));
                    if empty {
                        a.close_status();
                    }
                    case.earlier.push(a);
                    case.in_rerun = !empty;
                }
                b"stackTrace" => case.into = Into::Text,
                b"system-out" if !empty => case.into = Into::Stdout,
                b"system-err" if !empty => case.into = Into::Stderr,
                b"property" => {
                    if let Some(n) = attr(b"name") {
                        let v = attr(b"value").unwrap_or_default();
                        // what `resultpipe junit` writes of a record's tags and worker
                        if n == "tag" && !v.is_empty() {
                            case.tags.push(v);
                            return;
                        }
                        if n == "worker" && !v.is_empty() {
                            case.worker = Some(v);
                            return;
                        }
                        // an earlier attempt that passed or was skipped, as we write it
                        if n == "attempt"
                            && let Some(a) = quiet_attempt(&v)
                        {
                            case.earlier.push(a);
                            return;
                        }
                        case.properties.push_str(&format!("{n}={v}"));
                        if empty || !v.is_empty() {
                            case.properties.push('\n');
                        } else {
                            case.into = Into::Property;
                        }
                    }
                }
                _ => {}
            }
            return;
        }
        match name {
            b"testsuite" => {
                self.stats.suites += 1;
                let [name, timestamp, hostname, tests] =
                    self.attrs(e, [b"name", b"timestamp", b"hostname", b"tests"]);
                let parent = self.suites.last();
                let (clock, zoned) = match timestamp.and_then(|t| parse_timestamp(&t)) {
                    Some((t, zoned)) => (Some(t), zoned),
                    None => (parent.and_then(|s| s.clock), parent.is_none_or(|s| s.zoned)),
                };
                let host = match hostname.map(|h| h.trim().to_owned()) {
                    Some(h) if !h.is_empty() => Some(format!("host:{h}")),
                    _ => parent.and_then(|s| s.host.clone()),
                };
                let name = name.unwrap_or_default();
                let parent = parent.and_then(|s| s.tag.as_deref());
                let tag = match (parent, name.is_empty()) {
                    (Some(p), false) => Some(format!("{p}/{name}")),
                    (Some(p), true) => Some(p.to_owned()),
                    (None, false) => Some(format!("suite:{name}")),
                    (None, true) => None,
                };
                let declared = tests.and_then(|t| t.trim().parse().ok());
                let suite = Suite {
                    declared,
                    before: self.stats.testcases,
                    name,
                    tag,
                    clock,
                    zoned,
                    host,
                    out: Capped::default(),
                    into: Into::Nothing,
                };
                // an empty one (`<testsuite/>`) is closed by `end`, as is a testcase
                self.suites.push(suite);
            }
            b"testcase" => self.start_case(e),
            b"system-out" | b"system-err" if !empty => {
                if let Some(s) = self.suites.last_mut() {
                    s.into = if name == b"system-out" {
                        Into::Stdout
                    } else {
                        Into::Stderr
                    };
                }
            }
            _ => {}
        }
    }

    /// The values of `keys` (unescaped), in one pass over the attributes.
    fn attrs<const N: usize>(&self, e: &BytesStart<'_>, keys: [&[u8]; N]) -> [Option<String>; N] {
        let mut out: [Option<String>; N] = std::array::from_fn(|_| None);
        for a in e.attributes().with_checks(false).flatten() {
            if let Some(i) = keys.iter().position(|k| *k == a.key.local_name().as_ref()) {
                out[i] = Some(unescape(&decode(self.latin1, &a.value)));
            }
        }
        out
    }

    fn start_case(&mut self, e: &BytesStart<'_>) {
        let keys: [&[u8]; 7] = [
            b"name",
            b"classname",
            b"timestamp",
            b"time",
            b"file",
            b"line",
            b"status",
        ];
        let [name, class, timestamp, time, file, line, status] = self.attrs(e, keys);
        let name = name.unwrap_or_default();
        let class = class.unwrap_or_default();
        let id = if class.is_empty() {
            if name.is_empty() {
                // nothing names it: its place in the report does, so that unnamed
                // testcases stay apart instead of reading as attempts of one test
                let n = self.stats.testcases + 1;
                match self.suites.last().map(|s| s.name.as_str()) {
                    Some(suite) if !suite.is_empty() => format!("{suite}.(testcase #{n})"),
                    _ => format!("(testcase #{n})"),
                }
            } else {
                name.clone()
            }
        } else if name.is_empty() {
            class.clone()
        } else if name
            .strip_prefix(class.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
        {
            // the name already says its class (`pkg.Class.test`), or is it (jest-junit)
            name.clone()
        } else {
            format!("{class}.{name}")
        };
        let mut own = Attempt {
            timestamp: timestamp.and_then(|t| parse_timestamp(&t)),
            time: time.and_then(|t| parse_time(&t)),
            ..Attempt::default()
        };
        let mut properties = String::new();
        for (key, value) in [("file", file), ("line", line)] {
            if let Some(v) = value {
                properties.push_str(&format!("{key}={v}\n"));
            }
        }
        if let Some(status) = status {
            // GoogleTest/CTest style: status="disabled" / "notrun" / "skipped"
            if matches!(
                status.to_ascii_lowercase().as_str(),
                "disabled" | "notrun" | "skipped" | "ignored"
            ) {
                own.status = Some(Status::Skip);
            }
            properties.push_str(&format!("status={status}\n"));
        }
        self.case = Some(Case {
            id,
            earlier: Vec::new(),
            own,
            properties,
            tags: Vec::new(),
            worker: None,
            into: Into::Nothing,
            in_rerun: false,
        });
    }

    fn text(&mut self, s: &str) {
        if let Some(case) = self.case.as_mut() {
            let attempt = if case.in_rerun {
                case.earlier.last_mut()
            } else {
                Some(&mut case.own)
            };
            match (case.into, attempt) {
                (Into::Text, Some(a)) => {
                    if a.elem.len() < OUTPUT_CAP {
                        a.elem.push_str(s);
                    } else {
                        a.text.push(s);
                    }
                }
                (Into::Stdout, Some(a)) => a.stdout.push(s),
                (Into::Stderr, Some(a)) => a.stderr.push(s),
                (Into::Property, _) => case.properties.push_str(s),
                _ => {}
            }
            return;
        }
        if let Some(suite) = self.suites.last_mut()
            && suite.into != Into::Nothing
        {
            suite.out.push(s);
        }
    }

    fn end(&mut self, name: &[u8]) {
        if self.case.is_some() {
            match name {
                b"testcase" => {
                    let case = self.case.take().expect("checked above");
                    self.finish_case(case);
                }
                b"flakyFailure" | b"flakyError" | b"rerunFailure" | b"rerunError" => {
                    if let Some(c) = self.case.as_mut() {
                        if let Some(a) = c.earlier.last_mut() {
                            a.close_status();
                        }
                        c.in_rerun = false;
                        c.into = Into::Nothing;
                    }
                }
                b"failure" | b"error" | b"skipped" => {
                    if let Some(c) = self.case.as_mut() {
                        let a = if c.in_rerun {
                            c.earlier.last_mut()
                        } else {
                            Some(&mut c.own)
                        };
                        if let Some(a) = a {
                            a.close_status();
                        }
                        c.into = Into::Nothing;
                    }
                }
                b"property" => {
                    if let Some(c) = self.case.as_mut() {
                        if c.into == Into::Property {
                            c.properties.push('\n');
                        }
                        c.into = Into::Nothing;
                    }
                }
                _ => {
                    if let Some(c) = self.case.as_mut() {
                        c.into = Into::Nothing;
                    }
                }
            }
            return;
        }
        match name {
            b"testsuite" => {
                let popped = self.suites.pop();
                if let Some(s) = &popped
                    && let Some(declared) = s.declared
                    && declared > 0
                    && self.stats.testcases == s.before
                {
                    // counts without testcases (a runner that only summarises): nothing
                    // to read, and nothing to make up
                    self.sink.problem(Problem {
                        severity: Severity::Warning,
                        location: Location::None,
                        message: format!(
                            "suite {:?} says it has {declared} test(s) but lists no testcase: \
                             they are not in the run",
                            s.name
                        ),
                    });
                }
                if let Some(mut s) = popped
                    && !s.out.is_empty()
                {
                    let text = s.out.take();
                    // (the suite `resultpipe junit` writes such output in needs no name)
                    if s.name != NO_TEST_SUITE {
                        let header = format!("[JUnit suite {} output]\n", s.name);
                        self.sink.passthrough(header.as_bytes(), 0);
                    }
                    self.sink.passthrough(text.as_bytes(), 0);
                    if !text.ends_with('\n') {
                        self.sink.passthrough(b"\n", 0);
                    }
                }
            }
            b"system-out" | b"system-err" => {
                if let Some(s) = self.suites.last_mut() {
                    s.into = Into::Nothing;
                }
            }
            _ => {}
        }
    }

    /// Emits a testcase's attempts as events: earlier ones failed, then its own.
    fn finish_case(&mut self, mut case: Case) {
        self.stats.testcases += 1;
        let properties = std::mem::take(&mut case.properties);
        let mut attempts = std::mem::take(&mut case.earlier);
        attempts.push(std::mem::take(&mut case.own));
        let last = attempts.len() - 1;
        for (i, mut a) in attempts.into_iter().enumerate() {
            let status = match a.status {
                Some(Status::Skip) if a.xfail => Status::XFail,
                Some(Status::Fail) if a.uxsuccess => Status::UxSuccess,
                Some(s) => s,
                None => Status::Success,
            };
            let secs = a.time.unwrap_or(0.0);
            // where the attempt starts: its timestamp, else its suite's clock, else ours
            let suite = self.suites.last();
            let (start, zoned) = a
                .timestamp
                .or_else(|| suite.and_then(|s| Some((s.clock?, s.zoned))))
                .unwrap_or((self.clock, self.clock_zoned));
            let stop = add_secs(start, secs);
            if a.timestamp.is_none() {
                match self.suites.last_mut().and_then(|s| s.clock.as_mut()) {
                    Some(c) => *c = stop,
                    None => self.clock = stop,
                }
            }
            let mut tags: Vec<&str> = case.tags.iter().map(String::as_str).collect();
            if let Some(s) = self.suites.last() {
                tags.extend(s.tag.as_deref());
                tags.extend(s.host.as_deref());
            }
            if !zoned {
                tags.push("junit:no-zone");
            }
            if a.error {
                tags.push("junit:error");
            }
            if i < last {
                tags.push("junit:rerun");
            }
            let id = case.id.as_str();
            let route = case.worker.as_deref();
            let mut ev = Event::status(Status::InProgress, id);
            ev.route_code = route;
            ev.timestamp = Some(start);
            ev.tags = Some(&tags);
            self.sink.event(&ev, 0);
            let text = a.text.take();
            let name = if status == Status::Skip {
                "reason"
            } else {
                "traceback"
            };
            let stdout = a.stdout.take();
            let stderr = a.stderr.take();
            let props = if i == last { properties.as_str() } else { "" };
            for (file, data) in [
                (name, text.trim_end_matches('\n')),
                ("stdout", stdout.as_str()),
                ("stderr", stderr.as_str()),
                ("properties", props.trim_end_matches('\n')),
            ] {
                if data.is_empty() {
                    continue;
                }
                let mut ev = Event::status(Status::Unknown, id);
                ev.route_code = route;
                ev.file = Some(FileChunk {
                    name: file,
                    mime: Some("text/plain; charset=utf8"),
                    data: data.as_bytes(),
                    eof: true,
                });
                self.sink.event(&ev, 0);
            }
            let mut ev = Event::status(status, id);
            ev.route_code = route;
            ev.timestamp = Some(stop);
            self.sink.event(&ev, 0);
        }
    }

    fn problem(&mut self, at: u64, severity: Severity, message: String) {
        self.sink.problem(Problem {
            severity,
            location: Location::Offset(at),
            message,
        });
    }

    /// The report cannot be read past `at`: what was complete is kept.
    fn lost(&mut self, at: u64, why: &str) {
        let open = self
            .case
            .as_ref()
            .map(|c| format!("; the testcase {} was not complete and is left out", c.id))
            .unwrap_or_default();
        self.problem(
            at,
            Severity::Error,
            format!(
                "{why} at byte {at}: {} complete testcase(s) before it are kept{open}",
                self.stats.testcases
            ),
        );
        self.case = None;
    }
}

fn add_secs(t: Timestamp, secs: f64) -> Timestamp {
    let nanos = t.as_nanos() + (secs * 1e9).round() as i128;
    Timestamp::new(
        nanos.div_euclid(1_000_000_000) as i64,
        nanos.rem_euclid(1_000_000_000) as u32,
    )
}

/// Replaces the predefined and numeric entities; any other is kept as written.
pub fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let end = after[1..].find(|c: char| c == ';' || c == '&' || c.is_whitespace());
        match end {
            Some(e) if after.as_bytes()[e + 1] == b';' => {
                let name = &after[1..=e];
                let resolved = if let Some(num) = name.strip_prefix('#') {
                    let n = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok(),
                        None => num.parse().ok(),
                    };
                    n.and_then(char::from_u32).map(String::from)
                } else {
                    predefined(name).map(str::to_owned)
                };
                match resolved {
                    Some(r) => out.push_str(&r),
                    None => out.push_str(&after[..e + 2]),
                }
                rest = &after[e + 2..];
            }
            _ => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A `time` attribute in seconds: `1.5`, ` 0.5 `, `1,234.5` (grouped thousands), `0,5`
/// (a decimal comma), `1E-07`. NaN, infinite or negative: `None` (read as 0).
pub fn parse_time(s: &str) -> Option<f64> {
    let t = s.trim();
    let grouped = {
        let int = t.split('.').next().unwrap_or("");
        let groups: Vec<&str> = int.split(',').collect();
        groups.len() > 1
            && (1..=3).contains(&groups[0].len())
            && groups[1..].iter().all(|g| g.len() == 3)
            && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit()))
    };
    let normal: Cow<'_, str> = if grouped {
        Cow::Owned(t.replace(',', ""))
    } else if t.matches(',').count() == 1 && !t.contains('.') {
        Cow::Owned(t.replace(',', "."))
    } else {
        Cow::Borrowed(t)
    };
    let v: f64 = normal.parse().ok()?;
    (v.is_finite() && v >= 0.0).then_some(v)
}

/// A `timestamp` attribute: RFC 3339 (`Z` or an offset), or naive
/// `YYYY-MM-DD[T ]HH:MM:SS[.f]` read as UTC. The flag says whether it had a zone.
/// Times before 1970 or after 2106 are none.
pub fn parse_timestamp(s: &str) -> Option<(Timestamp, bool)> {
    let t = s.trim();
    if !t.is_ascii() {
        // (and byte offsets below are char boundaries)
        return None;
    }
    // an offset at the end: +HH:MM, -HH:MM, +HHMM
    let (body, offset_secs, zoned) = if t.ends_with(['Z', 'z']) {
        (&t[..t.len() - 1], 0i64, true)
    } else if t.len() > 19
        && let Some(pos) = t[19..].rfind(['+', '-']).map(|p| p + 19)
    {
        let off = t[pos + 1..].replace(':', "");
        if off.len() != 4 || !off.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let h: i64 = off[..2].parse().ok()?;
        let m: i64 = off[2..].parse().ok()?;
        let sign = if t.as_bytes()[pos] == b'-' { -1 } else { 1 };
        (&t[..pos], sign * (h * 3600 + m * 60), true)
    } else {
        (t, 0, false)
    };
    let ts = Timestamp::parse_v1(body)?;
    let secs = ts.secs - offset_secs;
    // before 1970 is a zero value (Go's 0001-01-01T00:00:00Z), not a time; after 2106
    // no subunit stream can hold it
    (0..=i64::from(u32::MAX))
        .contains(&secs)
        .then(|| (Timestamp::new(secs, ts.nanos), zoned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_every_spelling() {
        assert_eq!(parse_time("1.5"), Some(1.5));
        assert_eq!(parse_time(" 0.5 "), Some(0.5));
        assert_eq!(parse_time("1,234.567"), Some(1234.567));
        assert_eq!(parse_time("2,503.1"), Some(2503.1));
        assert_eq!(parse_time("0,5"), Some(0.5));
        assert_eq!(parse_time("1E-07"), Some(1e-7));
        for bad in ["", "NaN", "inf", "-1.5", "-345345", "PT0.5S", "500ms"] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn timestamps_with_and_without_zones() {
        let (t, z) = parse_timestamp("2026-11-22T13:54:50.397685+00:00").unwrap();
        assert!(z);
        assert_eq!(t, parse_timestamp("2026-11-22T13:54:50.397685Z").unwrap().0);
        let (p, _) = parse_timestamp("2026-11-22T15:54:50.397685+02:00").unwrap();
        assert_eq!(p, t);
        let (n, z) = parse_timestamp("2009-01-16T22:57:13").unwrap();
        assert!(!z);
        assert_eq!(n.secs, 1_232_146_633);
        assert!(parse_timestamp("2024-01-03").is_none());
        assert!(parse_timestamp("0001-01-01T00:00:00Z").is_none());
        assert!(parse_timestamp("2200-01-01T00:00:00Z").is_none());
        // found by the fuzzer: a multi-byte character where the offset would start
        assert!(
            parse_timestamp("2020-0\u{fffd}\u{fffd}\u{38c7}\u{3ff7}\u{452d}\u{1237a}").is_none()
        );
    }

    #[test]
    fn entities_known_numeric_and_unknown() {
        assert_eq!(unescape("a &lt;b&gt; &amp; &#xA;&#65;"), "a <b> & \nA");
        assert_eq!(unescape("&xxe; & &;"), "&xxe; & &;");
    }

    #[test]
    fn output_is_capped_head_and_tail() {
        let mut c = Capped::default();
        let chunk = "é".repeat(100_000);
        for _ in 0..20 {
            c.push(&chunk);
        }
        let s = c.take();
        assert!(s.len() <= OUTPUT_CAP + 100, "{}", s.len());
        assert!(s.contains("bytes omitted"));
    }
}
