//! Subunit v2 out: a run's records as a stream python-subunit and stestr read. Each
//! record is an `inprogress` packet (start time, tags, worker as route code, `runnable`),
//! its attachments as file packets (split into chunks well under the 4 MiB packet limit,
//! the last one marked end-of-file, MIME type on the first), then its final status at
//! its stop time. Output that belonged to no test goes out as file packets without a
//! test id, so nothing read is dropped.

use std::io::{self, Write};

use crate::ingest::subunit_v2::{
    FLAG_EOF as EOF, FLAG_FILE as FILE, FLAG_MIME as MIME, FLAG_ROUTE_CODE as ROUTE_CODE,
    FLAG_RUNNABLE as RUNNABLE, FLAG_TAGS as TAGS, FLAG_TEST_ID as TEST_ID,
    FLAG_TIMESTAMP as TIMESTAMP, SIGNATURE,
};
use crate::model::{Status, TestRecord, Timestamp};

/// The largest file chunk per packet (the packet length field tops out at 4 MiB - 1).
const CHUNK: usize = 1 << 20;

/// The version bits of every packet (2).
const VERSION_2: u16 = 0x2000;

/// Writes subunit v2 packets to `out`.
pub struct SubunitWriter<W: Write> {
    out: W,
    body: Vec<u8>,
    packet: Vec<u8>,
    /// Packets written.
    pub packets: u64,
}

/// One packet's fields.
#[derive(Default)]
struct Packet<'a> {
    status: Option<Status>,
    id: Option<&'a str>,
    route: Option<&'a str>,
    runnable: bool,
    time: Option<Timestamp>,
    tags: Option<&'a [String]>,
    file: Option<(&'a str, Option<&'a str>, &'a [u8], bool)>,
}

fn code(s: Status) -> u16 {
    match s {
        Status::Unknown => 0,
        Status::Exists => 1,
        Status::InProgress => 2,
        Status::Success => 3,
        Status::UxSuccess => 4,
        Status::Skip => 5,
        Status::Fail => 6,
        Status::XFail => 7,
    }
}

fn varint(out: &mut Vec<u8>, n: usize) -> io::Result<()> {
    match n {
        0..=0x3f => out.push(n as u8),
        0x40..=0x3fff => out.extend_from_slice(&(0x4000 | n as u16).to_be_bytes()),
        0x4000..=0x3f_ffff => out.extend_from_slice(&(0x80_0000 | n as u32).to_be_bytes()[1..]),
        0x40_0000..=0x3fff_ffff => out.extend_from_slice(&(0xc000_0000 | n as u32).to_be_bytes()),
        _ => return Err(io::Error::other(format!("{n} is too large for subunit"))),
    }
    Ok(())
}

fn string(out: &mut Vec<u8>, s: &[u8]) -> io::Result<()> {
    varint(out, s.len())?;
    out.extend_from_slice(s);
    Ok(())
}

impl<W: Write> SubunitWriter<W> {
    /// A writer on `out`.
    pub fn new(out: W) -> SubunitWriter<W> {
        SubunitWriter {
            out,
            body: Vec::new(),
            packet: Vec::new(),
            packets: 0,
        }
    }

    /// The writer it writes to.
    pub fn into_inner(self) -> W {
        self.out
    }

    fn packet(&mut self, p: &Packet<'_>) -> io::Result<()> {
        let b = &mut self.body;
        b.clear();
        let mut flags = VERSION_2 | p.status.map_or(0, code);
        if let Some(t) = p.time {
            flags |= TIMESTAMP;
            let secs = u32::try_from(t.secs.max(0)).unwrap_or(u32::MAX);
            b.extend_from_slice(&secs.to_be_bytes());
            varint(b, t.nanos as usize)?;
        }
        if let Some(id) = p.id {
            flags |= TEST_ID;
            string(b, id.as_bytes())?;
        }
        if let Some(tags) = p.tags {
            flags |= TAGS;
            varint(b, tags.len())?;
            for t in tags {
                string(b, t.as_bytes())?;
            }
        }
        if let Some((name, mime, data, eof)) = p.file {
            flags |= FILE;
            if let Some(m) = mime {
                flags |= MIME;
                string(b, m.as_bytes())?;
            }
            string(b, name.as_bytes())?;
            string(b, data)?;
            if eof {
                flags |= EOF;
            }
        }
        if let Some(rc) = p.route {
            flags |= ROUTE_CODE;
            string(b, rc.as_bytes())?;
        }
        if p.runnable {
            flags |= RUNNABLE;
        }
        // the length counts the whole packet: signature, flags, itself, body, CRC
        let base = 3 + b.len() + 4;
        let total = base
            + match base + 1 {
                0..=0x3f => 1,
                0x40..=0x3ffe => 2,
                _ => 3,
            };
        let pk = &mut self.packet;
        pk.clear();
        pk.push(SIGNATURE);
        pk.extend_from_slice(&flags.to_be_bytes());
        varint(pk, total)?;
        pk.extend_from_slice(b);
        let crc = crc32fast::hash(pk);
        pk.extend_from_slice(&crc.to_be_bytes());
        debug_assert_eq!(pk.len(), total);
        self.packets += 1;
        self.out.write_all(pk)
    }

    /// Writes one record: `inprogress`, its attachments, its final status.
    pub fn record(&mut self, r: &TestRecord) -> io::Result<()> {
        let id = Some(r.id.as_str());
        let route = r.route_code.as_deref();
        self.packet(&Packet {
            status: Some(Status::InProgress),
            id,
            route,
            runnable: r.runnable,
            time: r.start,
            tags: (!r.tags.is_empty()).then_some(r.tags.as_slice()),
            file: None,
        })?;
        for a in &r.attachments {
            let mut chunks = a.data.chunks(CHUNK).peekable();
            let mut first = true;
            if a.data.is_empty() {
                self.packet(&Packet {
                    id,
                    route,
                    runnable: r.runnable,
                    file: Some((&a.name, a.mime.as_deref(), &[], true)),
                    ..Packet::default()
                })?;
                continue;
            }
            while let Some(c) = chunks.next() {
                let last = chunks.peek().is_none();
                self.packet(&Packet {
                    id,
                    route,
                    runnable: r.runnable,
                    file: Some((
                        &a.name,
                        if first { a.mime.as_deref() } else { None },
                        c,
                        last,
                    )),
                    ..Packet::default()
                })?;
                first = false;
            }
        }
        self.packet(&Packet {
            // an unfinished test stays unfinished: its interim status, as read
            status: Some(r.status),
            id,
            route,
            runnable: r.runnable,
            time: r.stop.or(r.start),
            ..Packet::default()
        })
    }

    /// Writes output that belongs to no test as `stdout` file packets without a test id.
    pub fn other_output(&mut self, bytes: &[u8]) -> io::Result<()> {
        for c in bytes.chunks(CHUNK) {
            self.packet(&Packet {
                file: Some(("stdout", Some("text/plain; charset=utf8"), c, false)),
                ..Packet::default()
            })?;
        }
        Ok(())
    }

    /// Flushes what was written.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{self, Format};
    use crate::model::Attachment;

    #[test]
    fn records_read_back_as_written() {
        let mut records = Vec::new();
        for (i, status) in [Status::Success, Status::Fail, Status::Skip, Status::XFail]
            .into_iter()
            .enumerate()
        {
            records.push(TestRecord {
                id: format!("pkg.mod.Class.test_{i}[param é]"),
                route_code: Some(format!("{i}")),
                status,
                start: Some(Timestamp::new(1_700_000_000 + i as i64, 123_456_789)),
                stop: Some(Timestamp::new(1_700_000_001 + i as i64, 5)),
                tags: vec!["worker-0".into(), format!("t{i}")],
                attachments: vec![Attachment {
                    name: "traceback".into(),
                    mime: Some("text/x-traceback; charset=utf8".into()),
                    // one attachment spans several packets
                    data: "x".repeat([10, 3 * CHUNK / 2, 5, 1][i]).into_bytes(),
                    complete: true,
                }],
                runnable: i != 3,
            });
        }
        let mut w = SubunitWriter::new(Vec::new());
        for r in &records {
            w.record(r).unwrap();
        }
        w.other_output(b"setup output\n").unwrap();
        let bytes = w.into_inner();
        let mut back = Vec::new();
        let mut other = Vec::new();
        let report =
            ingest::read_records(&bytes[..], Format::Auto, &mut |r| back.push(r), &mut |b| {
                other.extend_from_slice(b)
            })
            .unwrap();
        assert_eq!(report.problem_count, 0, "{:?}", report.problems);
        assert!(back == records, "{} records read back differ", back.len());
        assert_eq!(other, b"setup output\n");
    }
}
