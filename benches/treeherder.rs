//! Pulse-job generation and validation throughput (jobs/s): one run summary turned into
//! a job document and checked against the 2026 schema with formats.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use resultpipe::model::Timestamp;
use resultpipe::treeherder::job::{JobSpec, Machine, RunSummary, pulse_job};
use resultpipe::treeherder::schema::{JobSchema, SchemaVersion};

fn bench(c: &mut Criterion) {
    let spec = JobSpec {
        project: "mozilla-central".into(),
        revision: "9c6e4c31ad26efdad0b9af47a2b530bc414ce2c3".into(),
        origin_kind: "hg.mozilla.org".into(),
        build_system: "resultpipe".into(),
        job_name: "unit tests".into(),
        job_symbol: "T".into(),
        group_symbol: "?".into(),
        job_kind: "test".into(),
        state: "completed".into(),
        run_machine: Some(Machine {
            platform: "linux64".into(),
            os: "linux".into(),
            architecture: "x86_64".into(),
            name: None,
        }),
        logs: vec![(
            "live_backing_log".into(),
            "https://ci.example.org/log.txt".into(),
        )],
        ..JobSpec::default()
    };
    let run = RunSummary {
        passed: 900,
        failed: 2,
        skipped: 30,
        start: Some(Timestamp::new(1_700_000_000, 0)),
        stop: Some(Timestamp::new(1_700_000_600, 0)),
        first_failures: vec![("a.T.test_x".into(), "AssertionError".into())],
        ..RunSummary::default()
    };
    let schema = JobSchema::builtin(SchemaVersion::V2026);
    let mut g = c.benchmark_group("treeherder");
    g.throughput(Throughput::Elements(1));
    g.bench_function("generate_and_validate_job", |b| {
        b.iter(|| {
            let job = pulse_job(&spec, &run, black_box("run.subunit"), SchemaVersion::V2026);
            assert!(schema.violations(&job).is_empty());
            black_box(job)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
