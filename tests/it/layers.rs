//! The import graph follows the data: `model` ← `ingest` ← `sinks` ← `treeherder` ←
//! `emit` ← `pipeline` ← `cli`. A module may use those before it, never one after it
//! (that would make a lower layer depend on a higher one: formatting reaching into the
//! command line, a reader into a writer). Read from the sources as they are.

use std::collections::BTreeSet;
use std::path::Path;

/// The layers, lowest first.
const LAYERS: [&str; 7] = [
    "model",
    "ingest",
    "sinks",
    "treeherder",
    "emit",
    "pipeline",
    "cli",
];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|m| *m == module)
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The layers a source text names through `crate::<layer>`.
fn uses(text: &str) -> BTreeSet<String> {
    text.match_indices("crate::")
        .map(|(i, _)| {
            text[i + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|m| rank(m).is_some())
        .collect()
}

#[test]
fn no_layer_imports_one_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut edges = BTreeSet::new();
    let mut upward = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let Some(own) = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .and_then(|c| rank(c.trim_end_matches(".rs")).map(|r| (c, r)))
        else {
            continue; // lib.rs, main.rs, bin/
        };
        let text = std::fs::read_to_string(f).unwrap();
        for used in uses(&text) {
            let r = rank(&used).unwrap();
            if r != own.1 {
                edges.insert((own.0.trim_end_matches(".rs").to_owned(), used.clone()));
            }
            if r > own.1 {
                upward.push(format!("{} uses crate::{used}", rel.display()));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports running up the layers: {upward:#?}"
    );
    // the check sees the real graph: the command line uses the jobs, the jobs the rest
    for (from, to) in [
        ("cli", "pipeline"),
        ("pipeline", "ingest"),
        ("pipeline", "emit"),
        ("ingest", "model"),
    ] {
        assert!(
            edges.contains(&(from.to_owned(), to.to_owned())),
            "{from} -> {to} not found in {edges:?}"
        );
    }
}

#[test]
fn the_layer_check_sees_an_upward_use() {
    assert_eq!(
        uses("use crate::emit::pyjson;\nlet x = crate::model::Status::Fail;"),
        ["emit".to_owned(), "model".to_owned()]
            .into_iter()
            .collect()
    );
    assert!(rank("emit") > rank("ingest"));
}

#[test]
fn command_modules_share_only_what_cli_mod_rs_holds() {
    let cli = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/cli");
    let commands: Vec<String> = std::fs::read_dir(&cli)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().is_some_and(|n| n != "mod.rs"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(commands.len() >= 6, "{commands:?}");
    for c in &commands {
        let text = std::fs::read_to_string(cli.join(format!("{c}.rs"))).unwrap();
        for other in commands.iter().filter(|o| *o != c) {
            for path in [format!("super::{other}::"), format!("crate::cli::{other}")] {
                assert!(!text.contains(&path), "cli/{c}.rs uses {path}");
            }
        }
    }
}
