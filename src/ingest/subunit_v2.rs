//! Subunit v2 reader: a zero-copy packet parser and a resynchronising scanner that
//! streams over any `Read` with a bounded buffer.
//!
//! Guarantees: never panics on any input; a packet is accepted only where its CRC-32
//! validates, so a corrupt length can never swallow the packets after it; bytes that
//! are not part of a packet are handed on as passthrough, never dropped; every rejected
//! packet is reported with its byte offset.

use std::io::{self, Read};

use crate::ingest::EventSink;
use crate::model::{Event, FileChunk, Location, Problem, Severity, Status, Timestamp};

/// Packet signature byte.
pub const SIGNATURE: u8 = 0xB3;
/// Largest legal packet: the length must fit a 3-byte number.
pub const MAX_PACKET: usize = 4_194_303;
/// Read buffer size: room for the largest packet plus a large read.
const BUF_SIZE: usize = 8 << 20;
/// First buffer size; it doubles up to `BUF_SIZE` as reads fill it.
const START_BUF: usize = 64 << 10;

pub(crate) const FLAG_TEST_ID: u16 = 0x0800;
pub(crate) const FLAG_ROUTE_CODE: u16 = 0x0400;
pub(crate) const FLAG_TIMESTAMP: u16 = 0x0200;
pub(crate) const FLAG_RUNNABLE: u16 = 0x0100;
pub(crate) const FLAG_TAGS: u16 = 0x0080;
pub(crate) const FLAG_FILE: u16 = 0x0040;
pub(crate) const FLAG_MIME: u16 = 0x0020;
pub(crate) const FLAG_EOF: u16 = 0x0010;

/// Why a candidate packet was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reject {
    /// More bytes are needed to decide (only when not at end of input).
    NeedMore,
    /// Not a packet.
    Invalid {
        /// Why.
        reason: String,
        /// The length the candidate declared.
        declared: usize,
    },
}

/// The fields of one packet; strings borrow from the input.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    /// The flags (version, fields present, status).
    pub flags: u16,
    /// The whole packet's length in bytes.
    pub len: usize,
    /// The length was written in four bytes (legal, but not minimal).
    pub four_byte_length: bool,
    /// The timestamp, if present.
    pub timestamp: Option<Timestamp>,
    /// The test id, if present.
    pub test_id: Option<&'a str>,
    /// A tags field is present.
    pub has_tags: bool,
    /// The MIME type, if present.
    pub mime: Option<&'a str>,
    /// The file's name and bytes, if present.
    pub file: Option<(&'a str, &'a [u8])>,
    /// The route code, if present.
    pub route_code: Option<&'a str>,
}

impl Packet<'_> {
    /// The version nibble (2 for subunit v2).
    pub fn version(&self) -> u16 {
        self.flags >> 12
    }
}

fn invalid(reason: impl Into<String>, declared: usize) -> Reject {
    Reject::Invalid {
        reason: reason.into(),
        declared,
    }
}

/// Reads a variable-length number (1 to 4 bytes) at `b[*pos]`.
fn varint(b: &[u8], pos: &mut usize) -> Option<(u32, usize)> {
    let first = *b.get(*pos)?;
    let n = usize::from(first >> 6) + 1;
    let bytes = b.get(*pos..*pos + n)?;
    let mut v = u32::from(first & 0x3F);
    for &x in &bytes[1..] {
        v = (v << 8) | u32::from(x);
    }
    *pos += n;
    Some((v, n))
}

fn string<'a>(body: &'a [u8], pos: &mut usize, what: &str) -> Result<&'a str, String> {
    let at = *pos;
    let (n, _) = varint(body, pos)
        .ok_or_else(|| format!("{what} length runs past the end of the packet"))?;
    let n = n as usize;
    let bytes = body.get(*pos..*pos + n).ok_or_else(|| {
        format!(
            "{what} at packet byte {at} claims {n} bytes, {} available",
            body.len() - *pos
        )
    })?;
    *pos += n;
    if memchr::memchr(0, bytes).is_some() {
        return Err(format!("{what} contains a NUL byte"));
    }
    std::str::from_utf8(bytes).map_err(|_| format!("{what} is not valid UTF-8"))
}

/// Parses the packet starting at `b[0]` (which must be the signature). `tags` receives
/// the tag strings. `eof` says no more bytes will follow `b`.
pub fn parse_packet<'a>(
    b: &'a [u8],
    eof: bool,
    tags: &mut Vec<&'a str>,
) -> Result<Packet<'a>, Reject> {
    let short = |declared| {
        if eof {
            invalid("truncated packet at end of input", declared)
        } else {
            Reject::NeedMore
        }
    };
    if b.len() < 4 {
        return Err(short(0));
    }
    debug_assert_eq!(b[0], SIGNATURE);
    let flags = u16::from_be_bytes([b[1], b[2]]);
    let mut pos = 3;
    let Some((len, nbytes)) = varint(b, &mut pos) else {
        return Err(short(0));
    };
    let len = len as usize;
    let header = pos;
    if len < header + 4 {
        return Err(invalid(
            format!("declared length {len} is too short for a packet"),
            0,
        ));
    }
    if len > MAX_PACKET {
        return Err(invalid(
            format!("declared length {len} exceeds the 4 MiB packet limit"),
            0,
        ));
    }
    if b.len() < len {
        return Err(if eof {
            invalid(
                format!(
                    "truncated packet: declared {len} bytes, {} available",
                    b.len()
                ),
                len,
            )
        } else {
            Reject::NeedMore
        });
    }
    let stored = u32::from_be_bytes([b[len - 4], b[len - 3], b[len - 2], b[len - 1]]);
    let calc = crc32fast::hash(&b[..len - 4]);
    if calc != stored {
        return Err(invalid(
            format!("bad checksum: calculated 0x{calc:08x}, stored 0x{stored:08x}"),
            len,
        ));
    }
    let body = &b[header..len - 4];
    let mut p = 0;
    let field_err = |e: String| invalid(e, len);
    let mut pk = Packet {
        flags,
        len,
        four_byte_length: nbytes == 4,
        timestamp: None,
        test_id: None,
        has_tags: false,
        mime: None,
        file: None,
        route_code: None,
    };
    if flags & FLAG_TIMESTAMP != 0 {
        let s = body
            .get(p..p + 4)
            .ok_or_else(|| field_err("timestamp runs past the end of the packet".into()))?;
        let secs = u32::from_be_bytes([s[0], s[1], s[2], s[3]]);
        p += 4;
        let (ns, _) = varint(body, &mut p)
            .ok_or_else(|| field_err("timestamp runs past the end of the packet".into()))?;
        pk.timestamp = Some(Timestamp::new(i64::from(secs), ns));
    }
    if flags & FLAG_TEST_ID != 0 {
        pk.test_id = Some(string(body, &mut p, "test id").map_err(field_err)?);
    }
    if flags & FLAG_TAGS != 0 {
        pk.has_tags = true;
        let (count, _) =
            varint(body, &mut p).ok_or_else(|| field_err("tag count runs past the end".into()))?;
        for _ in 0..count {
            tags.push(string(body, &mut p, "tag").map_err(field_err)?);
        }
    }
    if flags & FLAG_MIME != 0 {
        pk.mime = Some(string(body, &mut p, "mime type").map_err(field_err)?);
    }
    if flags & FLAG_FILE != 0 {
        let name = string(body, &mut p, "file name").map_err(field_err)?;
        let (n, _) = varint(body, &mut p)
            .ok_or_else(|| field_err("file length runs past the end".into()))?;
        let n = n as usize;
        let data = body.get(p..p + n).ok_or_else(|| {
            field_err(format!(
                "file content extends past end of packet: claimed {n} bytes, {} available",
                body.len() - p
            ))
        })?;
        p += n;
        pk.file = Some((name, data));
    }
    if flags & FLAG_ROUTE_CODE != 0 {
        pk.route_code = Some(string(body, &mut p, "route code").map_err(field_err)?);
    }
    Ok(pk)
}

/// Counters of one read.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ScanStats {
    /// Bytes scanned.
    pub bytes: u64,
    /// Packets accepted.
    pub packets: u64,
    /// Bytes handed on as not subunit.
    pub passthrough_bytes: u64,
    /// Candidates rejected.
    pub rejected: u64,
}

/// Scanner state carried across buffer refills.
#[derive(Debug, Default)]
pub struct Scanner {
    /// Failing candidates before this absolute offset are inside an already reported
    /// corrupt region and are not reported again.
    quiet_until: u64,
    /// The byte before the buffer start was inside text that is not ASCII.
    prev_byte: Option<u8>,
    /// What it found so far.
    pub stats: ScanStats,
}

impl Scanner {
    /// A scanner at the start of an input.
    pub fn new() -> Scanner {
        Scanner::default()
    }

    /// Scans `buf`, whose first byte is at absolute offset `base`. Returns how many bytes
    /// were consumed; the rest (a packet that needs more input) must be passed again,
    /// followed by more bytes. With `eof` everything is consumed.
    pub fn scan(&mut self, buf: &[u8], base: u64, eof: bool, sink: &mut impl EventSink) -> usize {
        let mut tags: Vec<&str> = Vec::new();
        let mut pos = 0;
        let mut text_start = 0;
        let consumed = loop {
            let Some(i) = memchr::memchr(SIGNATURE, &buf[pos..]) else {
                break buf.len();
            };
            let p = pos + i;
            tags.clear();
            match parse_packet(&buf[p..], eof, &mut tags) {
                Ok(pk) => {
                    if p > text_start {
                        self.text(&buf[text_start..p], base + text_start as u64, sink);
                    }
                    let offset = base + p as u64;
                    self.accept(&pk, &tags, offset, sink);
                    pos = p + pk.len;
                    text_start = pos;
                    self.prev_byte = None;
                }
                Err(Reject::NeedMore) => break p,
                Err(Reject::Invalid { reason, declared }) => {
                    let offset = base + p as u64;
                    // Right after a packet (or at the start) a candidate cannot be text.
                    let prev = if p > text_start {
                        Some(buf[p - 1])
                    } else if p == 0 {
                        self.prev_byte
                    } else {
                        None
                    };
                    let looks_like_packet = buf.get(p + 1).is_none_or(|f| f >> 4 == 2);
                    let in_text = prev.is_some_and(|b| b >= 0x80);
                    if offset >= self.quiet_until && looks_like_packet && !in_text {
                        self.stats.rejected += 1;
                        sink.problem(Problem {
                            severity: Severity::Error,
                            location: Location::Offset(offset),
                            message: format!("corrupt packet skipped ({reason})"),
                        });
                        self.quiet_until = offset + declared.max(1) as u64;
                    }
                    pos = p + 1;
                }
            }
        };
        if consumed > text_start {
            self.text(&buf[text_start..consumed], base + text_start as u64, sink);
        }
        if consumed > 0 {
            self.prev_byte = if consumed == text_start {
                None
            } else {
                Some(buf[consumed - 1])
            };
        }
        self.stats.bytes = base + consumed as u64;
        consumed
    }

    fn text(&mut self, bytes: &[u8], offset: u64, sink: &mut impl EventSink) {
        self.stats.passthrough_bytes += bytes.len() as u64;
        sink.passthrough(bytes, offset);
    }

    fn accept(&mut self, pk: &Packet<'_>, tags: &[&str], offset: u64, sink: &mut impl EventSink) {
        self.stats.packets += 1;
        if pk.version() != 2 {
            sink.problem(Problem {
                severity: Severity::Warning,
                location: Location::Offset(offset),
                message: format!(
                    "packet declares protocol version {}; accepted because its CRC is valid",
                    pk.version()
                ),
            });
        }
        if pk.four_byte_length {
            sink.problem(Problem {
                severity: Severity::Warning,
                location: Location::Offset(offset),
                message: "packet length uses 4 bytes (the spec allows 3); accepted because its CRC is valid".into(),
            });
        }
        let ev = Event {
            status: Status::from_code((pk.flags & 0x7) as u8),
            test_id: pk.test_id,
            route_code: pk.route_code,
            timestamp: pk.timestamp,
            tags: if pk.has_tags { Some(tags) } else { None },
            runnable: pk.flags & FLAG_RUNNABLE != 0,
            file: pk.file.map(|(name, data)| FileChunk {
                name,
                mime: pk.mime,
                data,
                eof: pk.flags & FLAG_EOF != 0,
            }),
        };
        sink.event(&ev, offset);
    }
}

/// Reads a whole v2 stream from `r` with a bounded buffer (8 MiB).
pub fn read_stream<R: Read>(mut r: R, sink: &mut impl EventSink) -> io::Result<ScanStats> {
    read_stream_with_prefix(&[], &mut r, sink)
}

/// Like [`read_stream`], with bytes already taken from `r` (by format sniffing) first.
pub fn read_stream_with_prefix<R: Read>(
    prefix: &[u8],
    r: &mut R,
    sink: &mut impl EventSink,
) -> io::Result<ScanStats> {
    drive(prefix, r, sink, usize::MAX)
}

/// The read loop: refills until at least `min_fill` bytes are buffered (or input ends),
/// scans, and keeps what the scanner could not decide yet.
fn drive<R: Read>(
    prefix: &[u8],
    r: &mut R,
    sink: &mut impl EventSink,
    min_fill: usize,
) -> io::Result<ScanStats> {
    let mut scanner = Scanner::new();
    // Start small (cheap for short streams) and double while reads fill the buffer.
    let mut buf = vec![0u8; START_BUF.max(prefix.len())];
    buf[..prefix.len()].copy_from_slice(prefix);
    let mut filled = prefix.len();
    let mut base = 0u64;
    let mut eof = false;
    loop {
        if !eof && filled < buf.len() {
            match r.read(&mut buf[filled..]) {
                Ok(0) => eof = true,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            // Keep reading until the buffer is reasonably full: fewer, larger scans.
            if !eof && filled < min_fill.min(buf.len() / 2) {
                continue;
            }
        }
        let was_full = filled == buf.len();
        let used = scanner.scan(&buf[..filled], base, eof, sink);
        if eof && used == filled {
            break;
        }
        buf.copy_within(used..filled, 0);
        filled -= used;
        base += used as u64;
        // A full buffer means either a large input (grow for larger reads) or a packet
        // that needs more room than is left; BUF_SIZE holds the largest legal packet.
        if (was_full || filled + (buf.len() / 4) >= buf.len()) && buf.len() < BUF_SIZE {
            buf.resize((buf.len() * 2).min(BUF_SIZE), 0);
        }
    }
    Ok(scanner.stats)
}

/// Reads a v2 stream held in memory.
pub fn read_slice(data: &[u8], sink: &mut impl EventSink) -> ScanStats {
    let mut scanner = Scanner::new();
    scanner.scan(data, 0, true, sink);
    scanner.stats
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect {
        ids: Vec<String>,
        text: Vec<u8>,
        problems: Vec<Problem>,
    }

    impl EventSink for Collect {
        fn event(&mut self, ev: &Event<'_>, _offset: u64) {
            self.ids.push(ev.test_id.unwrap_or("").to_owned());
        }
        fn passthrough(&mut self, bytes: &[u8], _offset: u64) {
            self.text.extend_from_slice(bytes);
        }
        fn problem(&mut self, problem: Problem) {
            self.problems.push(problem);
        }
    }

    #[test]
    fn upstream_readme_example() {
        let pkt = [
            0xb3, 0x29, 0x01, 0x0c, 0x03, b'f', b'o', b'o', 0x08, 0x55, 0x5f, 0x1b,
        ];
        let mut c = Collect::default();
        let stats = read_slice(&pkt, &mut c);
        assert_eq!(c.ids, vec!["foo"]);
        assert_eq!(stats.packets, 1);
        assert!(c.problems.is_empty());
    }

    #[test]
    fn every_prefix_is_incomplete_not_an_error() {
        let pkt = [
            0xb3, 0x29, 0x01, 0x0c, 0x03, b'f', b'o', b'o', 0x08, 0x55, 0x5f, 0x1b,
        ];
        for n in 1..pkt.len() {
            let mut tags = Vec::new();
            assert_eq!(
                parse_packet(&pkt[..n], false, &mut tags).unwrap_err(),
                Reject::NeedMore,
                "prefix {n}"
            );
        }
    }

    #[test]
    fn bad_length_does_not_swallow_next_packet() {
        let good = [
            0xb3, 0x29, 0x01, 0x0c, 0x03, b'f', b'o', b'o', 0x08, 0x55, 0x5f, 0x1b,
        ];
        let mut bad = good;
        bad[3] = 0x3f; // declared 63 bytes: would run into the next packet
        let mut input = bad.to_vec();
        input.extend_from_slice(&good);
        let mut c = Collect::default();
        read_slice(&input, &mut c);
        assert_eq!(c.ids, vec!["foo"]);
        assert_eq!(c.text, bad);
        assert_eq!(c.problems.len(), 1);
        assert_eq!(c.problems[0].location, Location::Offset(0));
    }

    /// A packet with a file of `n` bytes (3-byte length), built by hand.
    fn big_packet(n: usize) -> Vec<u8> {
        let mut body = vec![0x03, b'b', b'i', b'g', 0x01, b'f'];
        body.extend_from_slice(&[0x80 | (n >> 16) as u8, (n >> 8) as u8, n as u8]);
        body.extend(std::iter::repeat_n(b'x', n));
        let total = 3 + 3 + body.len() + 4;
        let mut p = vec![
            0xb3,
            0x28,
            0x43,
            0x80 | (total >> 16) as u8,
            (total >> 8) as u8,
            total as u8,
        ];
        p.extend_from_slice(&body);
        let crc = crc32fast::hash(&p);
        p.extend_from_slice(&crc.to_be_bytes());
        p
    }

    #[test]
    fn a_packet_near_the_limit_streams_through_a_growing_buffer() {
        struct Chunks<'a>(&'a [u8]);
        impl Read for Chunks<'_> {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(out.len()).min(100_000);
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut input = b"text before\n".to_vec();
        input.extend_from_slice(&big_packet(MAX_PACKET - 20));
        input.extend_from_slice(&big_packet(10));
        let mut c = Collect::default();
        let stats = read_stream(Chunks(&input), &mut c).unwrap();
        assert_eq!(c.ids, vec!["big", "big"], "{:?}", c.problems);
        assert_eq!(stats.packets, 2);
        assert_eq!(c.text, b"text before\n");
        // one byte over the limit is rejected, never allocated
        let mut over = vec![0xb3, 0x28, 0x43, 0xC0, 0x40, 0x00, 0x00]; // 4-byte length 4 MiB
        over.extend(std::iter::repeat_n(b'x', 100));
        let mut c = Collect::default();
        read_stream(Chunks(&over), &mut c).unwrap();
        assert!(c.ids.is_empty());
        assert!(
            c.problems[0]
                .message
                .contains("exceeds the 4 MiB packet limit"),
            "{:?}",
            c.problems
        );
    }

    #[test]
    fn streaming_over_tiny_reads_matches_slice() {
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(out.len()).min(3);
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let good = [
            0xb3, 0x29, 0x01, 0x0c, 0x03, b'f', b'o', b'o', 0x08, 0x55, 0x5f, 0x1b,
        ];
        let mut input = b"hello \xb3 world\n".to_vec();
        input.extend_from_slice(&good);
        input.extend_from_slice(b"tail");
        input.extend_from_slice(&good);
        let mut a = Collect::default();
        read_slice(&input, &mut a);
        let mut b = Collect::default();
        drive(&[], &mut Trickle(&input), &mut b, 1).unwrap();
        assert_eq!(a.ids, b.ids);
        assert_eq!(a.text, b.text);
        assert_eq!(a.ids.len(), 2);
        assert_eq!(a.text, b"hello \xb3 world\ntail");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        const REAL: &[u8] = include_bytes!(
            "../../testdata/stackviz/own_stestr_2workers/input/testrepository.subunit"
        );

        /// (offset, length) of every packet a clean read finds.
        fn packets(data: &[u8]) -> Vec<(usize, usize)> {
            #[derive(Default)]
            struct Spans(Vec<u64>);
            impl EventSink for Spans {
                fn event(&mut self, _ev: &Event<'_>, offset: u64) {
                    self.0.push(offset);
                }
                fn passthrough(&mut self, _bytes: &[u8], _offset: u64) {}
                fn problem(&mut self, _problem: Problem) {}
            }
            let mut s = Spans::default();
            read_slice(data, &mut s);
            s.0.iter()
                .map(|&o| {
                    let o = o as usize;
                    let len = parse_packet(&data[o..], true, &mut Vec::new())
                        .map(|p| p.len)
                        .unwrap();
                    (o, len)
                })
                .collect()
        }

        /// Every original packet that does not overlap `damaged` (a range of original
        /// offsets; `shift` moves the ones after it) is found, byte for byte, in the
        /// mutated input's read.
        fn check(original: &[u8], mutated: &[u8], damaged: std::ops::Range<usize>, shift: isize) {
            let got: std::collections::HashSet<(usize, &[u8])> = packets(mutated)
                .into_iter()
                .map(|(o, l)| (o, &mutated[o..o + l]))
                .collect();
            for (o, l) in packets(original) {
                if o + l <= damaged.start || o >= damaged.end {
                    let at = if o >= damaged.end {
                        (o as isize + shift) as usize
                    } else {
                        o
                    };
                    assert!(
                        got.contains(&(at, &original[o..o + l])),
                        "packet at {o} (len {l}) lost"
                    );
                }
            }
        }

        fn stream() -> impl Strategy<Value = Vec<u8>> {
            prop_oneof![
                Just(REAL.to_vec()),
                Just(include_bytes!("../../testdata/subunit/attachments/stream.subunit").to_vec()),
                Just(include_bytes!("../../testdata/subunit/route-codes/stream.subunit").to_vec()),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

            #[test]
            fn bit_flips_lose_only_the_packet_they_hit(data in stream(), pos in any::<prop::sample::Index>(), bit in 0u8..8) {
                let p = pos.index(data.len());
                let mut m = data.clone();
                m[p] ^= 1 << bit;
                check(&data, &m, p..p + 1, 0);
            }

            #[test]
            fn truncation_keeps_every_complete_packet(data in stream(), pos in any::<prop::sample::Index>()) {
                let p = pos.index(data.len());
                check(&data, &data[..p], p..usize::MAX, 0);
            }

            #[test]
            fn junk_insertions_lose_only_the_packet_they_split(
                data in stream(),
                pos in any::<prop::sample::Index>(),
                junk in prop::collection::vec(prop_oneof![Just(0xB3u8), any::<u8>()], 1..64),
            ) {
                let p = pos.index(data.len() + 1);
                let mut m = data[..p].to_vec();
                m.extend_from_slice(&junk);
                m.extend_from_slice(&data[p..]);
                // a packet starting exactly at p is not split
                check(&data, &m, p..p, junk.len() as isize);
            }

            #[test]
            fn many_mutations_never_panic_and_chunked_reads_agree(
                data in stream(),
                edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..20),
                chunk in 1usize..64,
            ) {
                let mut m = data.clone();
                for (i, b) in edits {
                    let p = i.index(m.len());
                    m[p] = b;
                }
                struct Chunks<'a>(&'a [u8], usize);
                impl Read for Chunks<'_> {
                    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                        let n = self.0.len().min(out.len()).min(self.1);
                        out[..n].copy_from_slice(&self.0[..n]);
                        self.0 = &self.0[n..];
                        Ok(n)
                    }
                }
                #[derive(Default)]
                struct All(Vec<(u64, String)>, Vec<u8>, usize);
                impl EventSink for All {
                    fn event(&mut self, ev: &Event<'_>, offset: u64) {
                        self.0.push((offset, format!("{:?}", ev)));
                    }
                    fn passthrough(&mut self, bytes: &[u8], _offset: u64) {
                        self.1.extend_from_slice(bytes);
                    }
                    fn problem(&mut self, _problem: Problem) {
                        self.2 += 1;
                    }
                }
                let mut a = All::default();
                let stats = read_slice(&m, &mut a);
                let mut b = All::default();
                drive(&[], &mut Chunks(&m, chunk), &mut b, 1).unwrap();
                prop_assert_eq!(&a.0, &b.0);
                prop_assert_eq!(&a.1, &b.1);
                // nothing is dropped: packets plus passthrough account for every byte
                let packet_bytes: usize = packets(&m).iter().map(|p| p.1).sum();
                prop_assert_eq!(packet_bytes + a.1.len(), m.len());
                prop_assert_eq!(stats.bytes as usize, m.len());
            }
        }
    }
}
