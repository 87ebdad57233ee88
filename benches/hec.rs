//! Splunk HEC delivery throughput (events/s) to the loopback HEC of the test suite
//! (`tests/it/support/hec.rs`: real TCP, token check, gzip decoding, every envelope
//! parsed): 100 000 run events rendered, batched, gzipped and sent by
//! `deliver_rendered`, gzip on and off.
//!
//! With `HEC_BENCH_INPUT=<subunit file>` it also runs the release `resultpipe splunk
//! send` over that file against the receiver and prints wall time, events/s and peak
//! RSS (`scripts/bench.sh` does so).

#[path = "../tests/it/support/hec.rs"]
mod hec;
#[path = "../tests/it/support/http.rs"]
mod http;

use std::hint::black_box;
use std::process::Command;

use criterion::{Criterion, Throughput, criterion_group};
use resultpipe::emit::hec::Envelope;
use resultpipe::model::run_events::{EventLog, RunEvent};
use resultpipe::sinks::Secret;
use resultpipe::sinks::splunk_hec::{HecSettings, deliver_rendered};

const TOKEN: &str = "11111111-2222-4333-8444-555555555555";

fn receiver() -> hec::HecServer {
    hec::HecServer::start(hec::Config {
        tokens: vec![hec::Token::new(TOKEN)],
        keep: false,
        ..hec::Config::default()
    })
}

/// 100 000 OCT-like job events on 8 workers, a tenth of them failing.
fn events() -> Vec<RunEvent> {
    let mut log = EventLog::default();
    for i in 0..100_000u32 {
        let t = 1_700_000_000.0 + f64::from(i) * 0.0137;
        let err = (i % 10 == 0).then_some("HTTPError: 503 Server Error: Service Unavailable");
        log.add_transaction(
            t,
            &format!("turret-{}", i % 8),
            0.25 + f64::from(i % 97) / 1000.0,
            err,
            [
                ("login", 0.05 + f64::from(i % 13) / 1000.0),
                ("search", 0.11 + f64::from(i % 7) / 1000.0),
            ],
        );
    }
    log.finish()
}

fn bench(c: &mut Criterion) {
    let server = receiver();
    let events = events();
    let env = Envelope {
        sourcetype: Some("resultpipe:run".into()),
        index: Some("main".into()),
        id: "bench@host".into(),
        run: "bench".into(),
        ..Envelope::default()
    };
    let mut g = c.benchmark_group("splunk_hec");
    g.sample_size(10);
    g.throughput(Throughput::Elements(events.len() as u64));
    for gzip in [true, false] {
        let mut settings = HecSettings::new(server.url(), Secret::new(TOKEN));
        settings.gzip = gzip;
        let name = if gzip {
            "deliver 100k events, gzip"
        } else {
            "deliver 100k events, plain"
        };
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut next = black_box(&events).iter();
                let d = deliver_rendered(&settings, |line| match next.next() {
                    Some(e) => {
                        env.write(line, e);
                        true
                    }
                    None => false,
                });
                assert!(d.error.is_none(), "{:?}", d.error);
                assert_eq!(d.delivered, events.len() as u64);
            })
        });
    }
    g.finish();
}

/// `resultpipe splunk send FILE` end to end, under /usr/bin/time.
fn end_to_end(input: &str) {
    let server = receiver();
    let stats = std::env::temp_dir().join(format!("hec-bench-{}.txt", std::process::id()));
    let o = Command::new("/usr/bin/time")
        .args(["-f", "%e %M", "-o"])
        .arg(&stats)
        .arg(env!("CARGO_BIN_EXE_resultpipe"))
        .args(["splunk", "send", input, "--url", &server.url()])
        .env("SPLUNK_HEC_TOKEN", TOKEN)
        .output()
        .expect("/usr/bin/time runs");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let said: u64 = out
        .split("delivered ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("a delivered count");
    assert_eq!(said, server.accepted(), "the receiver counted otherwise");
    let t = std::fs::read_to_string(&stats).unwrap();
    let _ = std::fs::remove_file(&stats);
    let mut f = t.split_whitespace();
    let wall: f64 = f.next().unwrap().parse().unwrap();
    let rss_kib: f64 = f.next().unwrap().parse().unwrap();
    println!(
        "{:<34} {wall:6.2} s  {:9.0} events/s  peak RSS {:6.1} MiB ({said} events)",
        "splunk send (to loopback HEC)",
        said as f64 / wall,
        rss_kib / 1024.0
    );
}

criterion_group!(benches, bench);

fn main() {
    if let Ok(input) = std::env::var("HEC_BENCH_INPUT") {
        end_to_end(&input);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
