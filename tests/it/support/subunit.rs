//! A small subunit v2 writer for streams the bundled data does not have (a test that
//! fails on two workers, an enumeration packet with a file). Packets are laid out as
//! the spec says (signature, flags, length, then timestamp, test id, tags, MIME type,
//! file, route code, and a CRC-32), independently of the reader under test.

/// One packet to write.
#[derive(Default, Clone)]
pub struct Packet<'a> {
    /// Status code (0 none, 1 exists, 2 inprogress, 3 success, 4 uxsuccess, 5 skip,
    /// 6 fail, 7 xfail).
    pub status: u16,
    pub id: &'a str,
    pub route_code: Option<&'a str>,
    pub tags: &'a [&'a str],
    /// Seconds since the epoch.
    pub secs: Option<u32>,
    /// (name, MIME type, bytes)
    pub file: Option<(&'a str, &'a str, &'a [u8])>,
}

fn varint(out: &mut Vec<u8>, n: u32) {
    match n {
        0..=0x3f => out.push(n as u8),
        0x40..=0x3fff => out.extend_from_slice(&(0x4000 | n as u16).to_be_bytes()),
        _ => out.extend_from_slice(&(0x80_0000 | n).to_be_bytes()[1..]),
    }
}

fn string(out: &mut Vec<u8>, s: &[u8]) {
    varint(out, s.len() as u32);
    out.extend_from_slice(s);
}

/// Appends `p` to `out`.
pub fn write(out: &mut Vec<u8>, p: &Packet<'_>) {
    let mut flags: u16 = 0x2000 | 0x0800 | 0x0100 | p.status;
    let mut body = Vec::new();
    if let Some(s) = p.secs {
        flags |= 0x0200;
        body.extend_from_slice(&s.to_be_bytes());
        varint(&mut body, 0);
    }
    string(&mut body, p.id.as_bytes());
    if !p.tags.is_empty() {
        flags |= 0x0080;
        varint(&mut body, p.tags.len() as u32);
        for t in p.tags {
            string(&mut body, t.as_bytes());
        }
    }
    if let Some((name, mime, data)) = p.file {
        flags |= 0x0040 | 0x0020 | 0x0010;
        string(&mut body, mime.as_bytes());
        string(&mut body, name.as_bytes());
        varint(&mut body, data.len() as u32);
        body.extend_from_slice(data);
    }
    if let Some(rc) = p.route_code {
        flags |= 0x0400;
        string(&mut body, rc.as_bytes());
    }
    // The length counts the whole packet, its own bytes included.
    let base = 3 + body.len() + 4;
    let total = base
        + match base {
            0..=62 => 1,
            63..=16_381 => 2,
            _ => 3,
        };
    let start = out.len();
    out.push(0xB3);
    out.extend_from_slice(&flags.to_be_bytes());
    varint(out, total as u32);
    out.extend_from_slice(&body);
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A test run on one worker: inprogress, then `status` with an optional traceback.
pub fn test_run(out: &mut Vec<u8>, id: &str, worker: &str, secs: u32, status: u16, tb: &[u8]) {
    let rc = worker.trim_start_matches("worker-");
    let tags = [worker];
    let base = Packet {
        id,
        route_code: Some(rc),
        tags: &tags,
        secs: Some(secs),
        ..Packet::default()
    };
    write(
        out,
        &Packet {
            status: 2,
            ..base.clone()
        },
    );
    write(
        out,
        &Packet {
            status,
            secs: Some(secs + 1),
            file: (!tb.is_empty()).then_some((
                "traceback",
                "text/x-traceback; charset=\"utf8\"",
                tb,
            )),
            ..base
        },
    );
}
