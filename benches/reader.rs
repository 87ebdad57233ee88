//! Reader throughput: the v2 packet scanner alone, and scanner + record grouping, over a
//! synthetic stream shaped like a stestr run (inprogress, a 1 KiB log chunk, a final
//! status per test, worker tags). Reported in bytes/s.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use resultpipe::ingest::{self, EventSink, Format, subunit_v2};
use resultpipe::model::{Event, Problem};

fn varint(out: &mut Vec<u8>, n: u32) {
    match n {
        0..=0x3f => out.push(n as u8),
        0x40..=0x3fff => out.extend_from_slice(&(0x4000 | n as u16).to_be_bytes()),
        _ => {
            let v = 0x80_0000 | n;
            out.extend_from_slice(&v.to_be_bytes()[1..]);
        }
    }
}

fn string(out: &mut Vec<u8>, s: &[u8]) {
    varint(out, s.len() as u32);
    out.extend_from_slice(s);
}

/// One packet: flags, test id, tag, optional file, timestamp.
fn packet(out: &mut Vec<u8>, status: u16, id: &[u8], secs: u32, file: Option<(&[u8], &[u8])>) {
    let mut body = Vec::new();
    body.extend_from_slice(&secs.to_be_bytes());
    varint(&mut body, 123_000);
    string(&mut body, id);
    varint(&mut body, 1);
    string(&mut body, b"worker-3");
    let mut flags: u16 = 0x2000 | 0x0800 | 0x0200 | 0x0100 | 0x0080 | status;
    if let Some((name, data)) = file {
        flags |= 0x0020 | 0x0040 | 0x0010;
        string(&mut body, b"text/plain; charset=\"utf8\"");
        string(&mut body, name);
        varint(&mut body, data.len() as u32);
        body.extend_from_slice(data);
    }
    let base = 3 + body.len() + 4;
    let total = base
        + if base <= 62 {
            1
        } else if base <= 16_381 {
            2
        } else {
            3
        };
    let start = out.len();
    out.push(0xB3);
    out.extend_from_slice(&flags.to_be_bytes());
    varint(out, total as u32);
    out.extend_from_slice(&body);
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn stream(tests: usize) -> Vec<u8> {
    let log = vec![b'x'; 1024];
    let mut out = Vec::new();
    for i in 0..tests {
        let id = format!(
            "tempest.api.compute.test_servers_{}.ServersTestJSON.test_create_{i}[id-{i:08x},smoke]",
            i % 97
        );
        packet(&mut out, 2, id.as_bytes(), 1_700_000_000 + i as u32, None);
        packet(
            &mut out,
            0,
            id.as_bytes(),
            1_700_000_000 + i as u32,
            Some((b"pythonlogging:''", &log)),
        );
        packet(&mut out, 3, id.as_bytes(), 1_700_000_001 + i as u32, None);
    }
    out
}

struct Count(u64);

impl EventSink for Count {
    fn event(&mut self, ev: &Event<'_>, _offset: u64) {
        self.0 += ev.file.map_or(1, |f| f.data.len() as u64);
    }
    fn passthrough(&mut self, bytes: &[u8], _offset: u64) {
        self.0 += bytes.len() as u64;
    }
    fn problem(&mut self, _problem: Problem) {}
}

fn bench(c: &mut Criterion) {
    let data = stream(20_000);
    let mut g = c.benchmark_group("subunit_v2");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("scan_packets", |b| {
        b.iter(|| {
            let mut sink = Count(0);
            subunit_v2::read_slice(black_box(&data), &mut sink);
            black_box(sink.0)
        })
    });
    g.bench_function("scan_streaming_read", |b| {
        b.iter(|| {
            let mut sink = Count(0);
            subunit_v2::read_stream(black_box(&data[..]), &mut sink).unwrap();
            black_box(sink.0)
        })
    });
    g.bench_function("records", |b| {
        b.iter(|| {
            let mut n = 0u64;
            ingest::read_records(
                black_box(&data[..]),
                Format::V2,
                &mut |r| n += r.attachments.len() as u64,
                &mut |_| {},
            )
            .unwrap();
            black_box(n)
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);
