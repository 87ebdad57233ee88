//! The normalized run model: test records, statuses, timestamps, attachments and
//! reading problems. Every input format is turned into these types; they do no I/O.

pub mod load;
pub mod load_stats;
mod names;
pub mod pyfloat;
mod records;
pub mod resources;
pub mod retry;
pub mod run_events;
pub mod signature;
pub mod text;
pub mod time;
pub mod triage;

pub use names::{clean_test_name, strip_detail_key, test_name};
pub use records::{Attachment, Event, FileChunk, RecordBuilder, RecordPool, TestRecord};
pub use time::Timestamp;

use std::fmt;

/// A test status, as subunit v2 defines it (flags & 0x7). v1 `error` maps to `Fail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// No status carried (attachment- or tag-only events); a record still in this
    /// state at the end of the stream is reported as `unknown`.
    Unknown,
    /// Listed (enumeration), not run.
    Exists,
    /// Running.
    InProgress,
    /// Passed.
    Success,
    /// Passed, but was expected to fail.
    UxSuccess,
    /// Skipped.
    Skip,
    /// Failed (an error counts as a failure).
    Fail,
    /// Failed, as expected.
    XFail,
}

impl Status {
    /// The status of a v2 packet's status bits.
    pub fn from_code(code: u8) -> Status {
        match code & 0x7 {
            1 => Status::Exists,
            2 => Status::InProgress,
            3 => Status::Success,
            4 => Status::UxSuccess,
            5 => Status::Skip,
            6 => Status::Fail,
            7 => Status::XFail,
            _ => Status::Unknown,
        }
    }

    /// The name python-subunit and stackviz use for this status.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unknown => "unknown",
            Status::Exists => "exists",
            Status::InProgress => "inprogress",
            Status::Success => "success",
            Status::UxSuccess => "uxsuccess",
            Status::Skip => "skip",
            Status::Fail => "fail",
            Status::XFail => "xfail",
        }
    }

    /// Final statuses complete a record; `Unknown` and `InProgress` are interim.
    pub fn is_final(self) -> bool {
        !matches!(self, Status::Unknown | Status::InProgress)
    }

    /// Statuses that make a run unsuccessful (stestr's rule: failures, unexpected
    /// successes and tests that never finished).
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Status::Fail | Status::UxSuccess | Status::InProgress | Status::Unknown
        )
    }

    /// Every status, in code order (for summaries).
    pub const ALL: [Status; 8] = [
        Status::Unknown,
        Status::Exists,
        Status::InProgress,
        Status::Success,
        Status::UxSuccess,
        Status::Skip,
        Status::Fail,
        Status::XFail,
    ];
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How bad a problem found while reading is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Data was recovered or kept in another form; nothing was lost.
    Warning,
    /// Bytes could not be read as a record (they are still kept as passthrough).
    Error,
}

/// A problem found while reading an input, located by byte offset (binary formats)
/// or line (text formats).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// How bad it is.
    pub severity: Severity,
    /// Where it is.
    pub location: Location,
    /// What it is.
    pub message: String,
}

/// Where in an input a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// A byte offset (binary formats).
    Offset(u64),
    /// A line number (text formats).
    Line(u64),
    /// The input as a whole.
    None,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Offset(o) => write!(f, "offset {o}"),
            Location::Line(l) => write!(f, "line {l}"),
            Location::None => Ok(()),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location {
            Location::None => f.write_str(&self.message),
            loc => write!(f, "{loc}: {}", self.message),
        }
    }
}

/// An error and its sources, `: `-joined, each text once ("error sending request"
/// alone says little; its source says "Connection refused").
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
