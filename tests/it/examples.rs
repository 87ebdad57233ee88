//! The programs in `examples/` run as their documentation says (`cargo run --example
//! NAME -- ARGS`), and do what the command line does.

use std::process::Command;

use crate::support::{RunText, dir_files, resultpipe, stackviz_export, testdata, text};

const SAMPLE: &str = "stackviz/own_stestr_2workers/input/testrepository.subunit";

/// `cargo run --example NAME -- ARGS`, in the environment of a shell: the variables
/// the test runner sets for the tests (`CARGO_PKG_*`, ...) would make cargo rebuild.
fn cargo_run_example(name: &str, args: &[&str]) -> std::process::Output {
    let mut c = Command::new(env!("CARGO"));
    c.env_clear();
    for keep in [
        "PATH",
        "HOME",
        "CARGO_HOME",
        "RUSTUP_HOME",
        "RUSTUP_TOOLCHAIN",
        "TMPDIR",
        "CARGO_INCREMENTAL",
    ] {
        if let Some(v) = std::env::var_os(keep) {
            c.env(keep, v);
        }
    }
    c.args(["run", "--quiet", "--example", name, "--"])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

#[test]
fn the_export_example_writes_what_stackviz_export_writes_and_summarizes() {
    let tmp = tempfile::tempdir().unwrap();
    let (lib, cli) = (tmp.path().join("lib"), tmp.path().join("cli"));
    let input = testdata(SAMPLE);
    let o = cargo_run_example(
        "export_and_summarize",
        &[input.to_str().unwrap(), lib.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.starts_with("exported 1 dataset(s) to "), "{out}");
    assert!(out.ends_with("the run failed\n"), "{out}");
    // the summary it prints is the command's
    let summary = resultpipe()
        .args(["summary", input.to_str().unwrap()])
        .out();
    assert!(out.contains(&summary.stdout), "{out}");
    let o = stackviz_export()
        .args(["--layout", "current", "-f", input.to_str().unwrap()])
        .arg(&cli)
        .out();
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert_eq!(dir_files(&lib), dir_files(&cli));
}

#[test]
fn the_treeherder_example_prints_a_valid_job_of_the_run() {
    let o = cargo_run_example("treeherder_jobs", &[testdata(SAMPLE).to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let job: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(job["result"], "fail");
    assert!(
        job["jobInfo"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("passed 10, failed 8, skipped 3"),
        "{job}"
    );
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("job.json");
    std::fs::write(&f, &o.stdout).unwrap();
    let v = resultpipe()
        .args(["treeherder", "validate", f.to_str().unwrap()])
        .out();
    assert_eq!(v.code, Some(0), "{}", v.stdout);
    assert!(v.stdout.starts_with("1 valid, 0 invalid"), "{}", v.stdout);
}
