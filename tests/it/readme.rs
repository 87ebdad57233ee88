//! The README's shell examples, run as written, so that they cannot rot: every ```sh
//! block is run by bash, block by block, its commands one after another, in a scratch
//! directory that holds the bundled `testdata/`. A command must exit 0 unless the
//! README says otherwise at its end (`# exits N`).
//!
//! What the examples need is set up as a CI job would have it: the built binaries on
//! `PATH` (as `cargo install --path .` puts them) and in `target/release/` (as `cargo
//! build --release` leaves them), the services in the environment (a loopback HEC and a
//! Hawk-verifying Treeherder in `SPLUNK_HEC_*` and `TREEHERDER_*`, the local RabbitMQ
//! with a queue bound to the README's exchange). `cargo build` and `cargo install` are
//! not run again: a stand-in accepts exactly the README's command lines (the test runs
//! on what they build), runs `cargo run --example` with the real cargo, and fails on
//! anything else.

use std::path::Path;
use std::time::Duration;

use lapin::options::{
    BasicGetOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties, ExchangeKind};

use crate::support::hec::{Config, HecServer, Token};
use crate::support::{text, treeherder};

/// One command of a block.
#[derive(Debug)]
struct Example {
    line: String,
    exit: i32,
}

/// The ```sh blocks of the README, each a list of commands (continuation lines joined).
fn examples(readme: &str) -> Vec<Vec<Example>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<Example>> = None;
    let mut pending = String::new();
    for line in readme.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(Vec::new()),
            (Some(_), "```") => blocks.push(current.take().unwrap()),
            (Some(block), l) => {
                pending.push_str(l);
                if let Some(cont) = pending.strip_suffix('\\') {
                    pending = format!("{cont} ");
                    continue;
                }
                let cmd = std::mem::take(&mut pending);
                if cmd.trim().is_empty() || cmd.trim_start().starts_with('#') {
                    continue;
                }
                let exit = cmd
                    .rsplit_once("# exits ")
                    .map_or(0, |(_, n)| n.trim().parse().expect("# exits N"));
                block.push(Example { line: cmd, exit });
            }
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "an unclosed ```sh block");
    blocks
}

fn symlink(target: &Path, link: &Path) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

/// The scratch directory: `testdata/`, `target/release/` and `bin/` (binaries and the
/// cargo stand-in).
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    symlink(&root.join("testdata"), &dir.path().join("testdata"));
    for sub in ["target/release", "bin"] {
        let d = dir.path().join(sub);
        std::fs::create_dir_all(&d).unwrap();
        symlink(
            Path::new(env!("CARGO_BIN_EXE_resultpipe")),
            &d.join("resultpipe"),
        );
        symlink(
            Path::new(env!("CARGO_BIN_EXE_stackviz-export")),
            &d.join("stackviz-export"),
        );
    }
    // `cargo build/install` built what is tested; `cargo run --example` runs the real
    // cargo in the checkout, in a shell's environment (see examples.rs)
    let cargo = dir.path().join("bin/cargo");
    std::fs::write(
        &cargo,
        format!(
            "#!/bin/sh\ncase \"$*\" in\n  'build --release'|'install --path . --locked') exit 0 ;;\n  'run --example '*) cd '{root}' && exec env -i PATH=\"$PATH\" HOME=\"$HOME\" '{cargo}' \"$@\" ;;\n  *) echo \"cargo $*: not a README command\" >&2; exit 1 ;;\nesac\n",
            root = root.display(),
            cargo = env!("CARGO"),
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

const HEC_TOKEN: &str = "9a1f6c2e-5d4b-4c3a-8e7f-0b1a2c3d4e5f";
const README_EXCHANGE: &str = "exchange/myuser/v1/jobs";

#[tokio::test]
async fn every_readme_command_runs_as_written() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let blocks = examples(&readme);
    let count: usize = blocks.iter().map(Vec::len).sum();
    assert!(count >= 20, "only {count} commands found in the README");

    let dir = workspace();
    let hec = HecServer::start(Config {
        tokens: vec![Token::new(HEC_TOKEN)],
        ..Config::default()
    });
    let th = treeherder::server(0, Duration::ZERO);
    // the README publishes to its exchange: a queue is bound there, as a listener's would be
    let conn = Connection::connect(
        "amqp://guest:guest@127.0.0.1:5672/%2f",
        ConnectionProperties::default(),
    )
    .await
    .unwrap_or_else(|e| {
        panic!("RabbitMQ is needed on 127.0.0.1:5672 (scripts/test.sh starts it): {e}")
    });
    let ch = conn.create_channel().await.unwrap();
    ch.exchange_declare(
        README_EXCHANGE.into(),
        ExchangeKind::Topic,
        ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        },
        FieldTable::default(),
    )
    .await
    .unwrap();
    let queue = ch
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    ch.queue_bind(
        queue.name().as_str().into(),
        README_EXCHANGE.into(),
        "#".into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();

    let path = format!(
        "{}:{}",
        dir.path().join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut failures = Vec::new();
    for (b, block) in blocks.iter().enumerate() {
        // one bash per block (an `export` holds for the rest of its block), each
        // command's exit code recorded
        let mut script = String::from("rcs=()\n");
        for (i, ex) in block.iter().enumerate() {
            script.push_str(&format!("echo '>>> {i}' >&2\n{}\nrcs+=($?)\n", ex.line));
        }
        script.push_str("echo \"${rcs[@]}\"\n");
        let o = tokio::task::spawn_blocking({
            let (dir, path, hec_url, th_port) =
                (dir.path().to_owned(), path.clone(), hec.url(), th.port);
            move || {
                std::process::Command::new("bash")
                    .arg("-c")
                    .arg(script)
                    .current_dir(dir)
                    .env("PATH", path)
                    .env("CI", "true")
                    .env_remove("PULSE_URL")
                    .env("SPLUNK_HEC_URL", hec_url)
                    .env("SPLUNK_HEC_TOKEN", HEC_TOKEN)
                    .env("TREEHERDER_URL", format!("http://127.0.0.1:{th_port}"))
                    .env("TREEHERDER_CLIENT_ID", treeherder::ID)
                    .env("TREEHERDER_SECRET", treeherder::KEY)
                    .stdin(std::process::Stdio::null())
                    .output()
                    .unwrap()
            }
        })
        .await
        .unwrap();
        let stdout = text(&o.stdout);
        let codes: Vec<i32> = stdout
            .lines()
            .last()
            .unwrap_or_default()
            .split_whitespace()
            .map(|c| c.parse().unwrap())
            .collect();
        let stderr = text(&o.stderr);
        for (i, ex) in block.iter().enumerate() {
            let got = codes.get(i).copied();
            if got != Some(ex.exit) {
                let err = stderr
                    .split(&format!(">>> {i}\n"))
                    .nth(1)
                    .and_then(|s| s.split(">>> ").next())
                    .unwrap_or_default();
                failures.push(format!(
                    "block {b}, `{}`: exit {got:?}, README says {}\n{err}",
                    ex.line, ex.exit
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));

    // and the examples did what they say
    let made = |p: &str| dir.path().join(p);
    for f in [
        "out/config.json",
        "out/seed/config.json",
        "out/gz/config.json",
        "out/stdin/dstat.csv",
        "out/repo/config.json",
        "jobs.jsonl",
        "rest-jobs.jsonl",
        "report/results.html",
        "report/results.json",
        "results.csv",
    ] {
        assert!(made(f).is_file(), "{f} was not written");
    }
    let published = ch
        .basic_get(
            queue.name().as_str().into(),
            BasicGetOptions { no_ack: true },
        )
        .await
        .unwrap();
    assert!(
        published.is_some(),
        "the README's publish reached its exchange"
    );
    let submitted = th.seen.lock().unwrap().requests.clone();
    assert_eq!(
        submitted.iter().map(|r| r.3).collect::<Vec<_>>(),
        vec![200],
        "one Hawk-signed submission, accepted"
    );
    let runs: Vec<String> = hec
        .state
        .lock()
        .unwrap()
        .events
        .iter()
        .filter_map(|e| serde_json::from_str::<serde_json::Value>(e).ok())
        .filter(|e| e["event"]["type"] == "start")
        .map(|e| e["event"]["run"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(runs, ["markdown_42", "live-2turrets-errors-timers"]);
    drop(conn);
}

#[test]
fn examples_are_found_with_their_exit_codes() {
    let blocks = examples(
        "text\n```sh\na \\\n  b  # exits 1\n# comment\n\nc\n```\n```text\nnot run\n```\n```sh\nd\n```\n",
    );
    let got: Vec<Vec<(String, i32)>> = blocks
        .into_iter()
        .map(|b| b.into_iter().map(|e| (e.line, e.exit)).collect())
        .collect();
    assert_eq!(
        got,
        vec![
            vec![("a    b  # exits 1".to_owned(), 1), ("c".to_owned(), 0)],
            vec![("d".to_owned(), 0)]
        ]
    );
}
