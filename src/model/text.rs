//! The text of attachments as testtools reads it: the MIME type says whether bytes are
//! text and in which charset, and a text type without a charset is ISO-8859-1.

use super::{Attachment, TestRecord};

/// How an attachment's bytes are to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// UTF-8 (and its subset ASCII).
    Utf8,
    /// ISO-8859-1: what testtools assumes when a text type names no charset.
    Latin1,
    /// A charset we do not know (read as UTF-8, invalid bytes replaced).
    Unknown,
}

/// Splits a MIME type into (is text, charset parameter).
pub fn parse_mime(mime: &str) -> (bool, Option<&str>) {
    let mut parts = mime.split([';', ',']);
    let essence = parts.next().unwrap_or("").trim();
    let is_text = essence.len() >= 5 && essence[..5].eq_ignore_ascii_case("text/");
    let charset = parts.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"'))
    });
    (is_text, charset)
}

/// The charset a `charset=` parameter names; none means ISO-8859-1, as testtools
/// reads text without one.
pub fn charset(name: Option<&str>) -> Charset {
    let Some(name) = name else {
        return Charset::Latin1;
    };
    let n = name.to_ascii_lowercase().replace('_', "-");
    match n.as_str() {
        "utf8" | "utf-8" | "ascii" | "us-ascii" | "u8" => Charset::Utf8,
        "latin1" | "latin-1" | "iso-8859-1" | "iso8859-1" | "l1" | "8859" | "cp819" => {
            Charset::Latin1
        }
        _ => Charset::Unknown,
    }
}

impl Attachment {
    /// The decoded text (for stats and summaries); lossy.
    pub fn text(&self) -> String {
        let (_, cs) = parse_mime(self.mime.as_deref().unwrap_or(""));
        match charset(cs) {
            Charset::Latin1 if self.mime.is_some() => {
                self.data.iter().map(|&b| char::from(b)).collect()
            }
            _ => String::from_utf8_lossy(&self.data).into_owned(),
        }
    }
}

impl TestRecord {
    /// The first attachment whose name starts with `traceback`.
    pub fn traceback(&self) -> Option<&Attachment> {
        self.attachments
            .iter()
            .find(|a| a.name.starts_with("traceback"))
    }

    /// The last line of the record's traceback, for summaries.
    pub fn last_traceback_line(&self) -> Option<String> {
        let tb = self.traceback()?;
        Some(tb.text().trim().lines().last().unwrap_or("").to_owned())
    }

    /// The first line of the exception its traceback ends with, for failure lists.
    pub fn failure_message(&self) -> Option<String> {
        Some(exception_line(&self.traceback()?.text()).to_owned())
    }

    /// The worker it ran on: its `worker-N` tag, else its route code.
    pub fn worker(&self) -> Option<String> {
        self.tags
            .iter()
            .find(|t| t.starts_with("worker"))
            .cloned()
            .or_else(|| self.route_code.as_ref().map(|rc| format!("route {rc}")))
    }
}

/// The first line of the exception a Python traceback ends with: the first line that
/// is not indented after the last `  File "..."` frame (its code line skipped), so a
/// message that goes on over several lines (`Details: ...`) gives its first one. Text
/// that is not a traceback gives its first non-empty line.
pub fn exception_line(traceback: &str) -> &str {
    let lines: Vec<&str> = traceback.lines().collect();
    let last_frame = lines
        .iter()
        .rposition(|l| l.trim_start().starts_with("File \"") && l.starts_with(' '));
    let from = last_frame.map_or(0, |i| i + 1);
    let header =
        |l: &str| l.trim_end() == "Traceback" || l.starts_with("Traceback (most recent call last)");
    lines[from..]
        .iter()
        .find(|l| !l.trim().is_empty() && !l.starts_with(' ') && !l.starts_with('\t') && !header(l))
        .or_else(|| lines.iter().find(|l| !l.trim().is_empty()))
        .map_or("", |l| l.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exception_line_is_the_first_after_the_last_frame() {
        let tb = "Traceback (most recent call last):\n  File \"/a.py\", line 3, in f\n    g()\n  File \"/b.py\", line 9, in g\n    raise X(msg)\ntempest.lib.exceptions.TimeoutException: Request timed out\nDetails: (x) Server y failed\n";
        assert_eq!(
            exception_line(tb),
            "tempest.lib.exceptions.TimeoutException: Request timed out"
        );
        assert_eq!(
            exception_line("AssertionError: 1 != 2"),
            "AssertionError: 1 != 2"
        );
        assert_eq!(exception_line("\n\n  indented only\n"), "  indented only");
        assert_eq!(exception_line(""), "");
        assert_eq!(
            exception_line("Traceback\nAssertionError: zero\n"),
            "AssertionError: zero"
        );
    }
}
