//! What the integration tests share: where the bundled data is, how to read a child's
//! output, and the loopback servers (HEC, the HTTP request reader).

pub mod files;
pub mod hec;
pub mod http;
pub mod subunit;
pub mod treeherder;

use std::path::{Path, PathBuf};

/// A path under the project's `testdata/`.
pub fn testdata(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(p)
}

/// A path under `testdata/oct/` (the OCT golden runs).
pub fn oct_case(p: &str) -> PathBuf {
    testdata("oct").join(p)
}

/// Every file of a directory (not recursive), by name, with its bytes: for comparing
/// two exports.
pub fn dir_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// A child's stdout or stderr as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `data` gzip-compressed (one member).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// The `resultpipe` binary, as CI runs it (`CI` set: no progress bars), with no
/// settings leaking in from the environment of the test run.
pub fn resultpipe() -> std::process::Command {
    command(env!("CARGO_BIN_EXE_resultpipe"))
}

/// The `stackviz-export` binary, as [`resultpipe`].
pub fn stackviz_export() -> std::process::Command {
    command(env!("CARGO_BIN_EXE_stackviz-export"))
}

fn command(bin: &str) -> std::process::Command {
    let mut c = std::process::Command::new(bin);
    c.env("CI", "true").stdin(std::process::Stdio::null());
    for v in [
        "PULSE_URL",
        "SPLUNK_HEC_URL",
        "SPLUNK_HEC_TOKEN",
        "TREEHERDER_CLIENT_ID",
        "TREEHERDER_SECRET",
        "TREEHERDER_PROJECT",
        "TREEHERDER_REVISION",
        "GITHUB_SHA",
        "CI_COMMIT_SHA",
        "GIT_COMMIT",
        "JOB_NAME",
        "GITHUB_JOB",
        "CI_JOB_NAME",
    ] {
        c.env_remove(v);
    }
    c
}

/// A finished command: exit code, stdout and stderr as text.
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Output {
    fn from(o: std::process::Output) -> Output {
        Output {
            code: o.status.code(),
            stdout: text(&o.stdout),
            stderr: text(&o.stderr),
        }
    }
}

/// Runs the command and returns its output as text.
pub trait RunText {
    fn out(&mut self) -> Output;
}

impl RunText for std::process::Command {
    fn out(&mut self) -> Output {
        self.output().unwrap().into()
    }
}
