//! OCT throughput on fixed synthetic data: the statistics of one series (values/s:
//! polars sort, bucket sorts, numpy-exact describe per 10 s bucket) and Python float
//! repr (floats/s), the hot spot of the CSV export.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use resultpipe::emit::pyjson::write_float;
use resultpipe::model::load::Series;
use resultpipe::model::load_stats::compile;

/// A deterministic pseudo-random series: `n` values over an hour.
fn series(n: usize) -> Series {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    let start = 1_700_000_000_000_000_000i64;
    Series {
        name: "all".into(),
        times_ns: (0..n)
            .map(|i| {
                start + (i as i64 * 3_600_000_000_000 / n as i64) / 1_000_000_000 * 1_000_000_000
            })
            .collect(),
        values: (0..n).map(|_| 0.05 + next() * 0.5).collect(),
    }
}

fn bench(c: &mut Criterion) {
    let s = series(1_000_000);
    let mut g = c.benchmark_group("oct");
    g.sample_size(10);
    g.throughput(Throughput::Elements(s.values.len() as u64));
    g.bench_function("compile 1M values, 10 s buckets", |b| {
        b.iter(|| black_box(compile(black_box(&s), 10).unwrap()))
    });
    let floats: Vec<f64> = s.values.iter().take(100_000).copied().collect();
    g.throughput(Throughput::Elements(floats.len() as u64));
    g.bench_function("python repr of 100k floats", |b| {
        let mut out = Vec::with_capacity(2 << 20);
        b.iter(|| {
            out.clear();
            for &f in &floats {
                write_float(&mut out, f);
            }
            black_box(out.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
