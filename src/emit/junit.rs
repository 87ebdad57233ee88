//! JUnit XML out, in the dialect Jenkins, GitLab and the GitHub reporters all read (the
//! shape cargo-nextest writes): a `testsuites` root, a `testsuite` per class, each
//! testcase with `name`, `classname`, `time` and `timestamp`; `failure` (or `error`
//! for a record tagged `junit:error`, and for a test that never finished) with the
//! traceback's last line as `message`; `skipped` with the reason (`type="xfail"` for an
//! expected failure); earlier attempts as `flakyFailure` (the test passed in the end) or
//! `rerunFailure` (it did not), each with its own time and output, and earlier attempts
//! that passed or were skipped as `attempt` properties (`success 0.5 TIMESTAMP`: JUnit
//! has no element for them); tags and the worker as properties; attachments as `system-out` (stdout and any other) and `system-err`.
//! Text that XML 1.0 cannot hold (control characters) becomes U+FFFD; each attachment
//! is capped at [`OUTPUT_CAP`] bytes, head and tail kept.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use crate::ingest::junit::NO_TEST_SUITE;
use crate::model::time::civil_from_days;
use crate::model::{Status, TestRecord, Timestamp};

/// Bytes of one attachment written; beyond it, its head and tail (half each).
pub const OUTPUT_CAP: usize = 1 << 20;

/// A test id split into (classname, name): at the last `.` before the first `(` or
/// `[`, so that `pkg.mod.Class.test_x[1.5]` is (`pkg.mod.Class`, `test_x[1.5]`) and
/// `setUpClass (pkg.Class)` has no class. Reading joins them back with a `.`.
pub fn split_id(id: &str) -> (&str, &str) {
    let stop = id.find(['(', '[']).unwrap_or(id.len());
    // never an empty name or class: `a.b...` is (`a`, `b...`)
    match id[..stop]
        .trim_end_matches('.')
        .rfind('.')
        .filter(|&dot| dot > 0)
    {
        Some(dot) => (&id[..dot], &id[dot + 1..]),
        None => ("", id),
    }
}

/// `s` escaped for XML text or (`attr`) a double-quoted attribute, characters XML 1.0
/// cannot hold replaced. A carriage return is written as a reference (a parser turns
/// a raw one into a newline), and so are tabs and newlines in attributes (a parser
/// turns raw ones into spaces).
fn escape_into(out: &mut String, s: &str, attr: bool) {
    // runs of plain text are copied whole; only the bytes marked in the table stand for
    // themselves no more (each is ASCII or starts U+FFFE/U+FFFF, so cuts are char
    // boundaries)
    let special = if attr { &ATTR_SPECIAL } else { &TEXT_SPECIAL };
    let bytes = s.as_bytes();
    let mut plain = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !special[usize::from(bytes[i])] {
            i += 1;
            continue;
        }
        let (with, len): (&str, usize) = match bytes[i] {
            b'&' => ("&amp;", 1),
            b'<' => ("&lt;", 1),
            b'>' => ("&gt;", 1),
            b'"' => ("&quot;", 1),
            b'\r' => ("&#13;", 1),
            b'\t' => ("&#9;", 1),
            b'\n' => ("&#10;", 1),
            // U+FFFE and U+FFFF (EF BF BE, EF BF BF)
            0xEF if matches!(bytes.get(i + 1..i + 3), Some([0xBF, 0xBE | 0xBF])) => ("\u{FFFD}", 3),
            0xEF => {
                i += 1;
                continue;
            }
            _ => ("\u{FFFD}", 1),
        };
        out.push_str(&s[plain..i]);
        out.push_str(with);
        i += len;
        plain = i;
    }
    out.push_str(&s[plain..]);
}

/// Bytes [`escape_into`] looks at in text: markup, control characters but tab and
/// newline, and the first byte of U+FFFE/U+FFFF.
const TEXT_SPECIAL: [bool; 256] = special_bytes(false);
/// The same in attributes, where tabs and newlines are written as references too.
const ATTR_SPECIAL: [bool; 256] = special_bytes(true);

const fn special_bytes(attr: bool) -> [bool; 256] {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = attr || (b != b'\t' as usize && b != b'\n' as usize);
        b += 1;
    }
    t[b'&' as usize] = true;
    t[b'<' as usize] = true;
    t[b'>' as usize] = true;
    t[b'"' as usize] = true;
    t[0xEF] = true;
    t
}

/// `s` as XML text.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s, false);
    out
}

/// `s` as a double-quoted XML attribute value.
fn esc_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s, true);
    out
}

/// An attachment's text, capped.
fn capped(data: &[u8]) -> Cow<'_, str> {
    let text = String::from_utf8_lossy(data);
    if text.len() <= OUTPUT_CAP {
        return text;
    }
    let mut head = OUTPUT_CAP / 2;
    while !text.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = text.len() - OUTPUT_CAP / 2;
    while !text.is_char_boundary(tail) {
        tail += 1;
    }
    Cow::Owned(format!(
        "{}\n[{} bytes omitted]\n{}",
        &text[..head],
        tail - head,
        &text[tail..]
    ))
}

/// `{indent}<name>text</name>` and a newline, the text escaped as it is written.
fn element(out: &mut String, indent: &str, name: &str, text: &str) {
    let _ = write!(out, "{indent}<{name}>");
    escape_into(out, text, false);
    let _ = writeln!(out, "</{name}>");
}

fn secs(r: &TestRecord) -> f64 {
    r.duration_secs().unwrap_or(0.0).max(0.0)
}

fn rfc3339(t: Timestamp) -> String {
    let days = t.secs.div_euclid(86_400);
    let rem = t.secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}+00:00",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        t.nanos / 1_000
    )
}

/// What one test looks like in JUnit: its attempts, the last one deciding.
struct Test<'a> {
    name: &'a str,
    attempts: Vec<&'a TestRecord>,
}

/// Counts of a suite or the whole report.
#[derive(Default, Clone, Copy)]
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
    time: f64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Pass,
    Failure,
    Error,
    Skip,
}

fn outcome(r: &TestRecord) -> Outcome {
    match r.status {
        Status::Success => Outcome::Pass,
        Status::Skip | Status::XFail => Outcome::Skip,
        Status::Fail if r.tags.iter().any(|t| t == "junit:error") => Outcome::Error,
        Status::Fail | Status::UxSuccess => Outcome::Failure,
        _ => Outcome::Error,
    }
}

/// Writes the records of a run as one JUnit XML report named `name`; `other`, the
/// run's output that belonged to no test, goes in a last suite without testcases
/// ([`NO_TEST_SUITE`]), as `system-out`.
pub fn write_junit(
    out: &mut dyn Write,
    name: &str,
    records: &[TestRecord],
    other: &[u8],
) -> io::Result<()> {
    // class → tests in first-seen order; a test's attempts in the order they came
    let mut classes: Vec<(&str, Vec<Test<'_>>)> = Vec::new();
    let mut class_index: HashMap<&str, usize> = HashMap::new();
    let mut test_index: HashMap<&str, (usize, usize)> = HashMap::with_capacity(records.len());
    for r in records {
        if let Some(&(c, t)) = test_index.get(r.id.as_str()) {
            classes[c].1[t].attempts.push(r);
            continue;
        }
        let (class, test) = split_id(&r.id);
        // `a.a` written as (`a`, `a`) would read back as `a`: the name says it all
        let test = if test == class { r.id.as_str() } else { test };
        let c = *class_index.entry(class).or_insert_with(|| {
            classes.push((class, Vec::new()));
            classes.len() - 1
        });
        classes[c].1.push(Test {
            name: test,
            attempts: vec![r],
        });
        test_index.insert(r.id.as_str(), (c, classes[c].1.len() - 1));
    }
    // counts first (the root and each suite carry theirs), then the suites, streamed
    let counts: Vec<Counts> = classes
        .iter()
        .map(|(_, tests)| {
            let mut c = Counts::default();
            for t in tests {
                c.tests += 1;
                match outcome(t.attempts[t.attempts.len() - 1]) {
                    Outcome::Failure => c.failures += 1,
                    Outcome::Error => c.errors += 1,
                    Outcome::Skip => c.skipped += 1,
                    Outcome::Pass => {}
                }
                c.time += t.attempts.iter().map(|r| secs(r)).sum::<f64>();
            }
            c
        })
        .collect();
    let total = counts.iter().fold(Counts::default(), |a, c| Counts {
        tests: a.tests + c.tests,
        failures: a.failures + c.failures,
        errors: a.errors + c.errors,
        skipped: a.skipped + c.skipped,
        time: a.time + c.time,
    });
    let mut buf = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = write!(
        buf,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\"",
        esc_attr(name),
        total.tests,
        total.failures,
        total.errors,
        total.skipped,
        total.time
    );
    if let Some(t) = records.iter().filter_map(|r| r.start).min() {
        let _ = write!(buf, " timestamp=\"{}\"", rfc3339(t));
    }
    buf.push_str(">\n");
    for ((class, tests), c) in classes.iter().zip(&counts) {
        let _ = write!(
            buf,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\"",
            esc_attr(if class.is_empty() {
                "(no class)"
            } else {
                class
            }),
            c.tests,
            c.failures,
            c.errors,
            c.skipped,
            c.time
        );
        let suite_start = tests
            .iter()
            .flat_map(|t| &t.attempts)
            .filter_map(|r| r.start)
            .min();
        if let Some(t) = suite_start {
            let _ = write!(buf, " timestamp=\"{}\"", rfc3339(t));
        }
        buf.push_str(">\n");
        for t in tests {
            write_case(
                &mut buf,
                class,
                t,
                outcome(t.attempts[t.attempts.len() - 1]),
            );
            if buf.len() >= 1 << 20 {
                out.write_all(buf.as_bytes())?;
                buf.clear();
            }
        }
        buf.push_str("  </testsuite>\n");
    }
    if !other.is_empty() {
        let _ = writeln!(
            buf,
            "  <testsuite name=\"{NO_TEST_SUITE}\" tests=\"0\" failures=\"0\" errors=\"0\" \
             skipped=\"0\" time=\"0.000\">\n    <system-out>{}</system-out>\n  </testsuite>",
            esc(&capped(other))
        );
    }
    buf.push_str("</testsuites>\n");
    out.write_all(buf.as_bytes())
}

/// Whether an earlier attempt is written as a `flakyFailure`/`rerunFailure` (it
/// failed, passed unexpectedly or never finished), not as an `attempt` property.
fn is_failed_attempt(r: &TestRecord) -> bool {
    !matches!(r.status, Status::Success | Status::Skip | Status::XFail)
}

fn write_case(out: &mut String, class: &str, t: &Test<'_>, o: Outcome) {
    let last = t.attempts[t.attempts.len() - 1];
    let _ = write!(
        out,
        "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.6}\"",
        esc_attr(t.name),
        esc_attr(class),
        secs(last)
    );
    if let Some(s) = last.start {
        let _ = write!(out, " timestamp=\"{}\"", rfc3339(s));
    }
    out.push_str(">\n");
    // properties: the worker and the tags (other than those JUnit says itself)
    let tags: Vec<&String> = last
        .tags
        .iter()
        .filter(|t| *t != "junit:error" && *t != "junit:rerun")
        .collect();
    // a JUnit report's own properties (and file/line), as read, go back as properties
    let read_properties: Vec<(String, String)> = last
        .attachment("properties")
        .map(|a| {
            String::from_utf8_lossy(&a.data)
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    // earlier attempts JUnit has no element for (it passed, or was skipped, before it
    // ran again): `attempt` properties, "STATUS SECONDS [TIMESTAMP]", which our reader
    // reads back as attempts and other consumers show as properties
    let earlier = &t.attempts[..t.attempts.len() - 1];
    let quiet: Vec<&TestRecord> = earlier
        .iter()
        .copied()
        .filter(|r| !is_failed_attempt(r))
        .collect();
    if last.route_code.is_some()
        || !tags.is_empty()
        || !read_properties.is_empty()
        || !quiet.is_empty()
    {
        out.push_str("      <properties>\n");
        for (k, v) in &read_properties {
            let _ = writeln!(
                out,
                "        <property name=\"{}\" value=\"{}\"/>",
                esc_attr(k),
                esc_attr(v)
            );
        }
        if let Some(w) = &last.route_code {
            let _ = writeln!(
                out,
                "        <property name=\"worker\" value=\"{}\"/>",
                esc_attr(w)
            );
        }
        for tag in tags {
            let _ = writeln!(
                out,
                "        <property name=\"tag\" value=\"{}\"/>",
                esc_attr(tag)
            );
        }
        for r in &quiet {
            let _ = write!(
                out,
                "        <property name=\"attempt\" value=\"{} {:.6}",
                r.status,
                secs(r)
            );
            if let Some(s) = r.start {
                let _ = write!(out, " {}", rfc3339(s));
            }
            out.push_str("\"/>\n");
        }
        out.push_str("      </properties>\n");
    }
    let message = |r: &TestRecord| {
        // the traceback's last line (the exception), as summaries show it
        r.last_traceback_line()
            .map(|m| format!(" message=\"{}\"", esc_attr(m.trim())))
            .unwrap_or_default()
    };
    let kind = |r: &TestRecord| -> &'static str {
        match r.status {
            Status::UxSuccess => " type=\"unexpected success\"",
            Status::Fail => "",
            _ => " type=\"unfinished\"",
        }
    };
    fn traceback(r: &TestRecord) -> Cow<'_, str> {
        r.traceback().map(|a| capped(&a.data)).unwrap_or_default()
    }
    match o {
        Outcome::Failure | Outcome::Error => {
            let el = if o == Outcome::Error {
                "error"
            } else {
                "failure"
            };
            let text = if last.status.is_final() {
                traceback(last)
            } else {
                "the test never finished (no final status before the end of the run)".into()
            };
            let _ = write!(out, "      <{el}{}{}>", message(last), kind(last));
            escape_into(out, &text, false);
            let _ = writeln!(out, "</{el}>");
        }
        Outcome::Skip => {
            // a skip's reason, or an expected failure's traceback
            let text = last
                .attachment("reason")
                .or_else(|| last.traceback())
                .map(|a| capped(&a.data))
                .unwrap_or_default();
            let kind = if last.status == Status::XFail {
                " type=\"xfail\""
            } else {
                ""
            };
            let first = text
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim();
            if text.trim().is_empty() {
                let _ = writeln!(out, "      <skipped{kind}/>");
            } else {
                let _ = write!(out, "      <skipped{kind} message=\"{}\">", esc_attr(first));
                escape_into(out, &text, false);
                out.push_str("</skipped>\n");
            }
        }
        Outcome::Pass => {}
    }
    // earlier attempts: flaky when the test passed in the end, reruns when it did not
    let el = if o == Outcome::Pass {
        "flakyFailure"
    } else {
        "rerunFailure"
    };
    for r in earlier.iter().filter(|r| is_failed_attempt(r)) {
        let _ = write!(
            out,
            "      <{el}{}{} time=\"{:.6}\"",
            message(r),
            kind(r),
            secs(r)
        );
        if let Some(s) = r.start {
            let _ = write!(out, " timestamp=\"{}\"", rfc3339(s));
        }
        out.push_str(">\n");
        element(out, "        ", "stackTrace", &traceback(r));
        write_output(out, r, "        ");
        let _ = writeln!(out, "      </{el}>");
    }
    write_output(out, last, "      ");
    out.push_str("    </testcase>\n");
}

/// `system-out` (stdout, then any other attachment but the traceback, reason and
/// properties, each under a `[name]` line; binary ones in base64) and `system-err`
/// (stderr).
fn write_output(out: &mut String, r: &TestRecord, indent: &str) {
    let mut stdout = String::new();
    let mut stderr = String::new();
    for a in &r.attachments {
        match a.name.as_str() {
            "traceback" | "reason" | "properties" => {}
            "stdout" => stdout.insert_str(0, &capped(&a.data)),
            "stderr" => stderr.push_str(&capped(&a.data)),
            other => {
                if !stdout.is_empty() && !stdout.ends_with('\n') {
                    stdout.push('\n');
                }
                let text = a.mime.as_deref().is_none_or(|m| m.starts_with("text/"))
                    || std::str::from_utf8(&a.data).is_ok_and(|t| {
                        !t.chars()
                            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
                    });
                if text {
                    let _ = writeln!(stdout, "[{other}]");
                    stdout.push_str(&capped(&a.data));
                } else {
                    // bytes XML cannot hold, kept as base64
                    use base64::Engine as _;
                    let data = &a.data[..a.data.len().min(OUTPUT_CAP)];
                    let _ = writeln!(
                        stdout,
                        "[{other}; {}; {} bytes, base64]",
                        a.mime.as_deref().unwrap_or("application/octet-stream"),
                        a.data.len()
                    );
                    stdout.push_str(&base64::engine::general_purpose::STANDARD.encode(data));
                }
            }
        }
    }
    if !stdout.is_empty() {
        element(out, indent, "system-out", &stdout);
    }
    if !stderr.is_empty() {
        element(out, indent, "system-err", &stderr);
    }
}

/// python-subunit's `subunit2junitxml --no-passthrough` (junitxml 0.7 over testtools),
/// byte for byte: one `testsuite` with no name, tests in the order they ended, ids
/// split at the last `.` before a `(`, `%0.3f` durations, every attachment of a failed
/// test flattened into the failure text as testtools does it, skips' reasons as
/// element text, expected failures as passes. Lossy, for drop-in use only.
pub fn write_subunit2junitxml(out: &mut dyn Write, records: &[TestRecord]) -> io::Result<()> {
    const STRING_EXCEPTION: &str = "testtools.testresult.real._StringException";
    let mut body = String::new();
    let mut set_time: Option<i64> = None;
    // startTestRun takes the wall clock, which any time in the stream is before
    let mut run_start: Option<i64> = None;
    let mut failures = 0usize;
    let mut time = |t: i64, set_time: &mut Option<i64>| {
        *set_time = Some(t);
        run_start = Some(run_start.map_or(t, |r: i64| r.min(t)));
    };
    for r in records {
        let start = r.start.map(|t| t.micros_truncated());
        let stop = r.stop.map(|t| t.micros_truncated());
        if let Some(s) = start {
            time(s, &mut set_time);
        }
        let test_start = set_time;
        if let Some(s) = stop {
            time(s, &mut set_time);
        }
        let duration = match (set_time, test_start) {
            (Some(now), Some(from)) => py_seconds(now - from),
            _ => 0.0,
        };
        let (class, name) = py_split_id(&r.id);
        let _ = write!(
            body,
            "<testcase classname=\"{}\" name=\"{}\" time=\"{duration:.3}\"",
            py_escape_attr(class),
            py_escape_attr(name)
        );
        match r.status {
            Status::Success | Status::XFail => body.push_str("/>\n"),
            Status::Skip => {
                let reason = r
                    .attachment("reason")
                    .map(py_text)
                    .unwrap_or_else(|| "No reason given".into());
                let _ = write!(
                    body,
                    ">\n<skipped>{}</skipped>\n</testcase>\n",
                    py_escape_attr(&reason)
                );
            }
            Status::UxSuccess => {
                failures += 1;
                body.push_str(
                    ">\n<failure type=\"unittest.case._UnexpectedSuccess\"/>\n</testcase>\n",
                );
            }
            _ => {
                failures += 1;
                let details = py_details_to_str(r);
                let text = if details.is_empty() {
                    format!("{STRING_EXCEPTION}\n")
                } else {
                    format!("{STRING_EXCEPTION}: {details}\n")
                };
                let _ = write!(
                    body,
                    ">\n<failure type=\"{STRING_EXCEPTION}\">{}</failure>\n</testcase>\n",
                    py_escape_content(&text)
                );
            }
        }
    }
    let total = match (set_time, run_start) {
        (Some(now), Some(from)) => py_seconds(now - from),
        _ => 0.0,
    };
    let head = format!(
        "<testsuite errors=\"0\" failures=\"{failures}\" name=\"\" tests=\"{}\" time=\"{total:.3}\">\n",
        records.len()
    );
    out.write_all(head.as_bytes())?;
    out.write_all(body.as_bytes())?;
    out.write_all(b"</testsuite>\n")
}

/// A `timedelta` of `us` microseconds in seconds, as junitxml computes it
/// (`days * 86400 + seconds + 0.000001 * microseconds`, in floating point).
fn py_seconds(us: i64) -> f64 {
    let days = us.div_euclid(86_400_000_000);
    let rest = us.rem_euclid(86_400_000_000);
    let seconds = rest / 1_000_000;
    let micros = rest % 1_000_000;
    (days * 86_400 + seconds) as f64 + 0.000001 * micros as f64
}

/// junitxml's split: `rfind(".", 0, id.find("("))` (with `find` giving -1, so up to the
/// last character, when there is no `(`).
fn py_split_id(id: &str) -> (&str, &str) {
    let end = match id.find('(') {
        Some(p) => p,
        None => id.char_indices().last().map_or(0, |(i, _)| i),
    };
    match id[..end].rfind('.') {
        Some(dot) => (&id[..dot], &id[dot + 1..]),
        None => ("", id),
    }
}

/// junitxml's `_strip_invalid_chars`: C0 controls but tab and newline, surrogates,
/// U+FFFE and U+FFFF removed.
fn py_strip(s: &str) -> String {
    s.chars()
        .filter(|&c| !matches!(c, '\0'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}'))
        .collect()
}

fn py_escape_content(s: &str) -> String {
    py_strip(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace("]]>", "]]&gt;")
}

fn py_escape_attr(s: &str) -> String {
    py_escape_content(s)
        .replace('"', "&quot;")
        .replace('\t', "&#x9;")
        .replace('\n', "&#xA;")
}

/// A MIME type as testtools parses it: (type, subtype, parameters).
fn py_content_type(mime: Option<&str>) -> (String, String, Vec<(String, String)>) {
    let mime = mime.unwrap_or("application/octet-stream");
    let mut parts = mime.split(';');
    let full = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let (t, s) = full.split_once('/').unwrap_or(("text", "plain"));
    let params = parts
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().to_ascii_lowercase(),
                v.trim().trim_matches('"').to_owned(),
            )
        })
        .collect();
    (t.to_owned(), s.to_owned(), params)
}

/// An attachment as text, decoded with its charset (ISO-8859-1 without one).
fn py_text(a: &crate::model::Attachment) -> String {
    let (_, _, params) = py_content_type(a.mime.as_deref());
    let charset = params
        .iter()
        .find(|(k, _)| k == "charset")
        .map(|(_, v)| v.to_ascii_lowercase());
    match charset.as_deref() {
        Some("utf8" | "utf-8") => String::from_utf8_lossy(&a.data).into_owned(),
        _ => a.data.iter().map(|&b| b as char).collect(),
    }
}

fn py_strip_ws(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

/// testtools' `_details_to_str(details, special="traceback")`.
fn py_details_to_str(r: &TestRecord) -> String {
    let mut attachments: Vec<&crate::model::Attachment> = r.attachments.iter().collect();
    attachments.sort_by(|a, b| a.name.cmp(&b.name));
    let mut empty = Vec::new();
    let mut binary = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    let mut special = None;
    for a in attachments {
        let (t, s, params) = py_content_type(a.mime.as_deref());
        if t != "text" {
            let mut repr = format!("{t}/{s}");
            if !params.is_empty() {
                let mut p: Vec<String> =
                    params.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
                p.sort();
                repr.push_str("; ");
                repr.push_str(&p.join("; "));
            }
            binary.push((a.name.as_str(), repr));
            continue;
        }
        let text = py_text(a);
        let text = py_strip_ws(&text);
        if text.is_empty() {
            empty.push(a.name.as_str());
            continue;
        }
        if a.name == "traceback" {
            special = Some(format!("{text}\n"));
            continue;
        }
        texts.push(if text.contains('\n') {
            format!("{}: {{{{{{\n{text}\n}}}}}}\n", a.name)
        } else {
            format!("{}: {{{{{{{text}}}}}}}", a.name)
        });
    }
    if texts.last().is_some_and(|t| !t.ends_with('\n')) {
        texts.push(String::new());
    }
    if let Some(s) = special {
        texts.push(s);
    }
    let mut out = String::new();
    if !binary.is_empty() {
        out.push_str("Binary content:\n");
        for (name, repr) in &binary {
            let _ = writeln!(out, "  {name} ({repr})");
        }
    }
    if !empty.is_empty() {
        out.push_str("Empty attachments:\n");
        for name in &empty {
            let _ = writeln!(out, "  {name}");
        }
    }
    if (!binary.is_empty() || !empty.is_empty()) && !texts.is_empty() {
        out.push('\n');
    }
    out.push_str(&texts.join("\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_split_before_parameters() {
        assert_eq!(
            split_id("pkg.mod.Class.test_x"),
            ("pkg.mod.Class", "test_x")
        );
        assert_eq!(split_id("pkg.C.test_x[1.5]"), ("pkg.C", "test_x[1.5]"));
        assert_eq!(split_id("setUpClass (pkg.C)"), ("", "setUpClass (pkg.C)"));
        assert_eq!(split_id("t.File.L123: ..."), ("t.File", "L123: ..."));
        assert_eq!(split_id(".hidden"), ("", ".hidden"));
        assert_eq!(split_id("test_plain"), ("", "test_plain"));
    }

    #[test]
    fn junitxml_splits_and_times_as_python_does() {
        assert_eq!(py_split_id("a.b.C.test_x"), ("a.b.C", "test_x"));
        assert_eq!(py_split_id("setUpClass (a.B)"), ("", "setUpClass (a.B)"));
        // without a `(`, rfind stops before the last character
        assert_eq!(py_split_id("a.b."), ("a", "b."));
        assert_eq!(py_split_id("a.b::c"), ("a", "b::c"));
        assert_eq!(format!("{:.3}", py_seconds(502_000)), "0.502");
        assert_eq!(format!("{:.3}", py_seconds(-1)), "-0.000");
        assert_eq!(py_seconds(86_400_000_001), 86_400.000001);
    }

    #[test]
    fn times_are_rfc3339() {
        assert_eq!(
            rfc3339(Timestamp::new(1_232_146_633, 727_000_000)),
            "2009-01-16T22:57:13.727000+00:00"
        );
        assert_eq!(
            rfc3339(Timestamp::new(0, 0)),
            "1970-01-01T00:00:00.000000+00:00"
        );
    }

    proptest::proptest! {
        /// The byte scanner writes what a char-by-char escaper writes.
        #[test]
        fn escaping_is_per_char(s in "\\PC*|[\\x00-\\x20&<>\"\u{FFFE}\u{FFFF}a-z]*", attr: bool) {
            let mut want = String::new();
            for c in s.chars() {
                match c {
                    '&' => want.push_str("&amp;"),
                    '<' => want.push_str("&lt;"),
                    '>' => want.push_str("&gt;"),
                    '"' => want.push_str("&quot;"),
                    '\r' => want.push_str("&#13;"),
                    '\t' if attr => want.push_str("&#9;"),
                    '\n' if attr => want.push_str("&#10;"),
                    '\t' | '\n' => want.push(c),
                    c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                        want.push('\u{FFFD}')
                    }
                    c => want.push(c),
                }
            }
            let mut got = String::new();
            escape_into(&mut got, &s, attr);
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn text_xml_cannot_hold_is_replaced() {
        assert_eq!(
            esc("a<b>&\"c\u{1b}[0m\td\r\n"),
            "a&lt;b&gt;&amp;&quot;c\u{FFFD}[0m\td&#13;\n"
        );
        assert_eq!(esc_attr("a\tb\r\nc"), "a&#9;b&#13;&#10;c");
        assert_eq!(
            esc("é\u{FFFE}ü\u{FFFF}\u{FFFD}x\0"),
            "é\u{FFFD}ü\u{FFFD}\u{FFFD}x\u{FFFD}"
        );
        assert_eq!(esc(""), "");
        assert_eq!(esc("plain"), "plain");
    }
}
