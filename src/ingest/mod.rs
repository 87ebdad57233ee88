//! Input formats. Each module reads one format into model events; [`read_records`]
//! turns any subunit input (v2, or v1 text, either of them gzipped) into test records.

pub mod dstat;
pub mod fetch;
pub mod input;
pub mod junit;
pub mod oct;
pub mod repository;
pub mod source;
pub mod subunit_v1;
pub mod subunit_v2;

use std::io::{self, Read};

use crate::model::{Event, Location, Problem, RecordBuilder, Severity, Status, TestRecord};
use input::{Compression, Decompressed};

/// Receives what a subunit reader finds, in input order.
pub trait EventSink {
    /// A status/file event; `offset` is where its packet starts (0 for v1 input).
    fn event(&mut self, ev: &Event<'_>, offset: u64);
    /// Bytes that are not protocol (kept, never dropped).
    fn passthrough(&mut self, bytes: &[u8], offset: u64);
    /// A problem, located by byte offset or line.
    fn problem(&mut self, problem: Problem);
}

/// Which subunit version an input is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Decide from the first bytes: v1 when the first non-blank line is a v1 directive.
    #[default]
    Auto,
    /// Subunit v2 (binary packets).
    V2,
    /// Subunit v1 (text).
    V1,
    /// JUnit XML (told by `<` first; read by [`junit`]).
    JUnit,
}

/// How many problems a report keeps in full; the rest are only counted.
pub const KEPT_PROBLEMS: usize = 200;

/// What reading one input found.
#[derive(Debug, Default, Clone)]
pub struct ReadReport {
    /// The version the input was read as.
    pub format: Option<Format>,
    /// How the input was stored (gzip is read through).
    pub compression: Compression,
    /// Bytes read, after decompression.
    pub bytes: u64,
    /// Packets (or v1 directives) read.
    pub packets: u64,
    /// Records made.
    pub records: u64,
    /// Bytes that were not subunit (handed on, never dropped).
    pub passthrough_bytes: u64,
    /// The first problems, in full (at most [`KEPT_PROBLEMS`]).
    pub problems: Vec<Problem>,
    /// Every problem, counted.
    pub problem_count: u64,
    /// Problems that are corrupt data (not warnings).
    pub error_count: u64,
    /// Tests enumerated by `exists` packets (a listing, not results).
    pub listed: u64,
    /// Listed tests that no result followed, in listing order.
    pub listed_not_run: Vec<String>,
}

impl ReadReport {
    fn add_problem(&mut self, p: Problem) {
        self.problem_count += 1;
        if p.severity == Severity::Error {
            self.error_count += 1;
        }
        if self.problems.len() < KEPT_PROBLEMS {
            self.problems.push(p);
        }
    }
}

struct Adapter<'a, R: FnMut(TestRecord), P: FnMut(&[u8])> {
    builder: RecordBuilder,
    on_record: &'a mut R,
    on_passthrough: &'a mut P,
    report: ReadReport,
}

impl<R: FnMut(TestRecord), P: FnMut(&[u8])> EventSink for Adapter<'_, R, P> {
    fn event(&mut self, ev: &Event<'_>, offset: u64) {
        self.report.packets += 1;
        if ev.status == Status::Exists
            && let Some(f) = ev.file
            && !self.builder.is_open(ev)
        {
            // A listing carries no results; keep its bytes rather than drop them.
            self.report.add_problem(Problem {
                severity: Severity::Warning,
                location: Location::Offset(offset),
                message: format!(
                    "an enumeration (exists) packet carries file {:?} ({} bytes): kept as non-subunit output",
                    f.name,
                    f.data.len()
                ),
            });
            self.report.passthrough_bytes += f.data.len() as u64;
            (self.on_passthrough)(f.data);
        }
        if ev.test_id.is_none() {
            // Process-level output sent as a file with no test: keep it as passthrough.
            if let Some(f) = ev.file {
                self.report.passthrough_bytes += f.data.len() as u64;
                (self.on_passthrough)(f.data);
            }
            return;
        }
        self.builder.push(ev, self.on_record);
    }

    fn passthrough(&mut self, bytes: &[u8], _offset: u64) {
        self.report.passthrough_bytes += bytes.len() as u64;
        (self.on_passthrough)(bytes);
    }

    fn problem(&mut self, problem: Problem) {
        self.report.add_problem(problem);
    }
}

/// Reads a subunit input and hands each test record to `on_record` as it completes
/// (records left open at the end follow, in start order) and non-protocol bytes to
/// `on_passthrough`. v2 is streamed with a bounded buffer; v1 text is read whole.
pub fn read_records<R, P>(
    input: impl Read,
    format: Format,
    on_record: &mut R,
    on_passthrough: &mut P,
) -> io::Result<ReadReport>
where
    R: FnMut(TestRecord),
    P: FnMut(&[u8]),
{
    read_records_with(
        input,
        format,
        RecordBuilder::new(),
        on_record,
        on_passthrough,
    )
}

/// [`read_records`] with a given builder (e.g. one that reuses records from a pool).
/// Gzip input (told by its first bytes) is decompressed on the way; damaged compressed
/// data ends the input there, with a problem saying where, and every record before it
/// is kept.
pub fn read_records_with<R, P>(
    mut input: impl Read,
    format: Format,
    builder: RecordBuilder,
    on_record: &mut R,
    on_passthrough: &mut P,
) -> io::Result<ReadReport>
where
    R: FnMut(TestRecord),
    P: FnMut(&[u8]),
{
    let head = input::read_head(&mut input, PREFIX)?;
    match Compression::sniff(&head) {
        Compression::None => read_plain(
            head,
            input,
            format,
            builder,
            on_record,
            on_passthrough,
            Compression::None,
        ),
        Compression::Gzip => {
            let mut unzipped = Decompressed::new(io::Cursor::new(head).chain(input));
            let head = input::read_head(&mut unzipped, PREFIX)?;
            let mut report = read_plain(
                head,
                &mut unzipped,
                format,
                builder,
                on_record,
                on_passthrough,
                Compression::Gzip,
            )?;
            if let Some(e) = unzipped.error() {
                report.add_problem(Problem {
                    severity: Severity::Error,
                    location: Location::Offset(e.decompressed),
                    message: e.to_string(),
                });
            }
            Ok(report)
        }
    }
}

/// How much of an input is looked at to tell its format.
const PREFIX: usize = 64 << 10;

fn read_plain<R, P>(
    prefix: Vec<u8>,
    mut input: impl Read,
    format: Format,
    builder: RecordBuilder,
    on_record: &mut R,
    on_passthrough: &mut P,
    compression: Compression,
) -> io::Result<ReadReport>
where
    R: FnMut(TestRecord),
    P: FnMut(&[u8]),
{
    let format = match format {
        Format::Auto => {
            if subunit_v1::looks_like_v1(&prefix) {
                Format::V1
            } else if junit::looks_like_xml(&prefix) {
                Format::JUnit
            } else {
                Format::V2
            }
        }
        f => f,
    };
    let mut a = Adapter {
        builder,
        on_record,
        on_passthrough,
        report: ReadReport {
            format: Some(format),
            compression,
            ..ReadReport::default()
        },
    };
    match format {
        Format::V1 => {
            let mut data = prefix;
            input.read_to_end(&mut data)?;
            a.report.bytes = subunit_v1::read_v1(&data, &mut a);
        }
        Format::JUnit => {
            let reader =
                io::BufReader::with_capacity(256 * 1024, io::Cursor::new(prefix).chain(input));
            let stats = junit::read_junit(reader, &mut a)?;
            a.report.bytes = stats.bytes;
        }
        _ => {
            let stats = subunit_v2::read_stream_with_prefix(&prefix, &mut input, &mut a)?;
            a.report.bytes = stats.bytes;
        }
    }
    let Adapter {
        builder,
        on_record,
        mut report,
        ..
    } = a;
    report.records = builder.completed() + builder.open_count() as u64;
    let open = builder.open_count();
    if open > 0 {
        report.add_problem(Problem {
            severity: Severity::Warning,
            location: Location::None,
            message: format!("{open} test(s) never finished (no final status before end of input)"),
        });
    }
    report.listed = builder.listed_count();
    report.listed_not_run = builder.listed_not_run();
    if !report.listed_not_run.is_empty() {
        report.add_problem(listed_not_run_problem(&report.listed_not_run));
    }
    builder.finish(on_record);
    Ok(report)
}

/// How many names a "listed, not run" problem spells out.
const LISTED_NAMES: usize = 10;

fn listed_not_run_problem(ids: &[String]) -> Problem {
    let mut message = format!(
        "{} test(s) listed, not run (enumerated by `exists` packets; no result followed): {}",
        ids.len(),
        ids[..ids.len().min(LISTED_NAMES)].join(", ")
    );
    if ids.len() > LISTED_NAMES {
        message.push_str(&format!(" and {} more", ids.len() - LISTED_NAMES));
    }
    Problem {
        severity: Severity::Warning,
        location: Location::None,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Write;

    const REAL: &[u8] =
        include_bytes!("../../testdata/subunit/real-markdown-stestr/live-run2/stream.subunit");

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// (test id, status) of every record, and the report.
    fn read(input: &[u8]) -> (Vec<(String, Status)>, ReadReport) {
        let mut out = Vec::new();
        let report = read_records(
            input,
            Format::Auto,
            &mut |r: TestRecord| out.push((r.id, r.status)),
            &mut |_: &[u8]| {},
        )
        .unwrap();
        (out, report)
    }

    #[test]
    fn gzip_reads_as_the_plain_stream() {
        let (plain, p) = read(REAL);
        let (unzipped, z) = read(&gzip(REAL));
        assert_eq!(plain, unzipped);
        assert_eq!(
            (p.compression, z.compression),
            (Compression::None, Compression::Gzip)
        );
        assert_eq!(
            (z.bytes, z.listed, z.problem_count),
            (REAL.len() as u64, 970, 0)
        );
        assert!(plain.iter().all(|(_, s)| *s != Status::Exists));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Every prefix of a gzipped stream reads without a panic or an error, keeps
        /// records of the stream (in its order, the last one possibly cut), and says
        /// the compressed data ended early.
        #[test]
        fn every_prefix_of_gzip_keeps_what_came_before(pos in any::<prop::sample::Index>()) {
            let z = gzip(REAL);
            let cut = pos.index(z.len());
            let (full, _) = read(REAL);
            let (got, report) = read(&z[..cut]);
            let complete = got.iter().filter(|(_, s)| s.is_final()).count();
            prop_assert!(complete <= full.len());
            let finished: Vec<_> = got.iter().filter(|(_, s)| s.is_final()).cloned().collect();
            prop_assert_eq!(&finished[..], &full[..finished.len()]);
            if cut >= 2 {
                prop_assert!(
                    report.problems.iter().any(|p| p.message.contains("gzip data is damaged or cut short")),
                    "{:?}", report.problems
                );
            }
        }

        /// Damage anywhere in the compressed bytes never panics, and never changes what
        /// is read without a problem saying so (a flip in the header's time or OS
        /// byte changes nothing; one in the magic makes the input not gzip).
        #[test]
        fn damaged_gzip_is_always_reported(pos in any::<prop::sample::Index>(), bit in 0u8..8) {
            let (full, _) = read(REAL);
            let mut z = gzip(REAL);
            let p = pos.index(z.len());
            z[p] ^= 1 << bit;
            let (got, report) = read(&z);
            let noticed = report.problem_count > 0 || report.compression == Compression::None;
            prop_assert!(noticed || got == full, "a flipped bit at {} went unnoticed", p);
        }
    }
}
