//! Builds a Treeherder job from a test run and validates it against the pulse-job
//! schema, using resultpipe as a library; prints the job as one JSON line.
//!
//! ```text
//! cargo run --example treeherder_jobs [-- RUN...]
//! ```
//!
//! Without arguments it reads the bundled sample run.

use std::path::PathBuf;

use resultpipe::pipeline::treeherder::{JobsSettings, check_all, jobs_from_runs};
use resultpipe::pipeline::{Error, NoProgress};
use resultpipe::treeherder::job::{JobSpec, Machine};
use resultpipe::treeherder::schema::{JobSchema, SchemaVersion};

fn main() -> Result<(), Error> {
    let mut inputs: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if inputs.is_empty() {
        inputs.push(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("testdata/stackviz/own_stestr_2workers/input/testrepository.subunit"),
        );
    }
    // Everything a job needs besides its run. A CI would take these from its own
    // settings; `treeherder::settings::job_spec` builds them from any key-value source.
    let spec = JobSpec {
        project: "mozilla-central".into(),
        revision: "9c6e4c31ad26efdad0b9af47a2b530bc414ce2c3".into(),
        origin_kind: "hg.mozilla.org".into(),
        build_system: "resultpipe".into(),
        job_name: "unit tests".into(),
        job_symbol: "U".into(),
        group_symbol: "?".into(),
        job_kind: "test".into(),
        state: "completed".into(),
        run_machine: Some(Machine {
            platform: "linux64".into(),
            os: "linux".into(),
            architecture: "x86_64".into(),
            name: None,
        }),
        ..JobSpec::default()
    };
    let version = SchemaVersion::V2026;
    let settings = JobsSettings {
        inputs,
        spec,
        version,
        unreadable_as_exception: false,
    };
    let jobs = jobs_from_runs(&settings, &NoProgress)?;
    check_all(&JobSchema::builtin(version), &jobs, "nothing printed")?;
    for (input, job) in &jobs {
        eprintln!("{input}: result {}, valid", job["result"]);
        println!("{job}");
    }
    Ok(())
}
