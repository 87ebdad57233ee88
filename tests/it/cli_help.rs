//! `--help` as a new user reads it: every flag says what it does, required settings say
//! so, settings that also come from the environment name the variable, `-q`/`-v` mean
//! the same everywhere, and every command's help ends with its exit codes.

use clap::CommandFactory;
use resultpipe::cli::{Cli, StackvizExportCli, finish_command};

use crate::support::{RunText, resultpipe, stackviz_export};

/// Every command of both binaries (with its path of names), help finished as the
/// binaries finish it.
fn commands() -> Vec<(Vec<String>, clap::Command)> {
    fn walk(path: Vec<String>, cmd: &clap::Command, out: &mut Vec<(Vec<String>, clap::Command)>) {
        out.push((path.clone(), cmd.clone()));
        // (clap's generated `help` subcommands are not ours)
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let mut p = path.clone();
            p.push(sub.get_name().to_owned());
            walk(p, sub, out);
        }
    }
    let mut out = Vec::new();
    let mut rp = finish_command(Cli::command());
    rp.build();
    walk(vec!["resultpipe".into()], &rp, &mut out);
    let mut sv = finish_command(StackvizExportCli::command());
    sv.build();
    walk(vec!["stackviz-export".into()], &sv, &mut out);
    out
}

/// The commands that do something (no subcommands of their own).
fn leaves() -> Vec<(Vec<String>, clap::Command)> {
    commands()
        .into_iter()
        .filter(|(_, c)| c.get_subcommands().all(|s| s.get_name() == "help"))
        .collect()
}

#[test]
fn every_flag_of_every_command_has_a_help_line() {
    let mut blank = Vec::new();
    for (path, cmd) in commands() {
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            let help = arg
                .get_help()
                .or(arg.get_long_help())
                .map(|h| h.to_string())
                .unwrap_or_default();
            if help.trim().is_empty() {
                blank.push(format!("{} --{id}", path.join(" ")));
            }
        }
    }
    assert!(blank.is_empty(), "flags without help: {blank:#?}");
}

#[test]
fn every_command_help_ends_with_its_exit_codes() {
    let leaves = leaves();
    assert!(leaves.len() >= 10, "{}", leaves.len());
    for (path, _) in &leaves {
        for flag in ["--help", "-h"] {
            let mut c = if path[0] == "resultpipe" {
                resultpipe()
            } else {
                stackviz_export()
            };
            let o = c.args(&path[1..]).arg(flag).out();
            assert_eq!(o.code, Some(0), "{path:?}: {}", o.stderr);
            let tail = o.stdout.rsplit("\n\n").next().unwrap();
            assert!(
                tail.starts_with("Exit codes:\n  0  "),
                "{} {flag} ends with:\n{tail}",
                path.join(" ")
            );
            // the codes a command can return are the ones it lists
            let delivers = ["publish", "send", "submit"].contains(&path.last().unwrap().as_str());
            assert_eq!(tail.contains("\n  3  "), delivers, "{path:?}:\n{tail}");
        }
    }
}

#[test]
fn quiet_and_verbose_mean_the_same_on_every_command() {
    for (path, cmd) in leaves() {
        let find = |long: &str| {
            cmd.get_arguments()
                .find(|a| a.get_long() == Some(long))
                .unwrap_or_else(|| panic!("{path:?} has no --{long}"))
        };
        let (q, v) = (find("quiet"), find("verbose"));
        assert_eq!(
            (q.get_short(), v.get_short()),
            (Some('q'), Some('v')),
            "{path:?}"
        );
        assert_eq!(
            q.get_help().unwrap().to_string(),
            "Only print errors; no progress bar"
        );
        assert!(
            v.get_help().unwrap().to_string().contains("-vv"),
            "{path:?}"
        );
    }
    // before or after the command
    let input = crate::support::testdata("stackviz/tempest_fixture/input/tempest.subunit");
    for args in [
        vec!["-q", "summary", input.to_str().unwrap()],
        vec!["summary", input.to_str().unwrap(), "-q"],
        vec!["summary", "-vv", input.to_str().unwrap()],
    ] {
        let o = resultpipe().args(&args).out();
        assert_eq!(o.code, Some(0), "{args:?}: {}", o.stderr);
    }
    let o = resultpipe().args(["summary", "-q", "-v", "x"]).out();
    assert_eq!(o.code, Some(2), "-q and -v contradict each other");
}

fn help_of(args: &[&str]) -> String {
    let o = resultpipe().args(args).arg("--help").out();
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    // one line per flag, whatever the terminal width
    o.stdout.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn settings_say_where_else_they_come_from_and_whether_they_are_required() {
    for cmd in [&["treeherder", "job"][..], &["pulse", "publish"]] {
        let h = help_of(cmd);
        for want in [
            "Treeherder project (repository name). Required: here, in --config or in the environment [env: TREEHERDER_PROJECT]",
            "[env: TREEHERDER_REVISION, GITHUB_SHA, CI_COMMIT_SHA, GIT_COMMIT]",
            "[env: TREEHERDER_JOB_NAME, JOB_NAME, CI_JOB_NAME, GITHUB_JOB]",
            "[env: TREEHERDER_RETRY_ID, GITHUB_RUN_ATTEMPT]",
            "[env: TREEHERDER_OS]",
        ] {
            assert!(h.contains(want), "{cmd:?} lacks {want:?}:\n{h}");
        }
    }
    let h = help_of(&["splunk", "send"]);
    assert!(h.contains("[env: SPLUNK_HEC_URL"), "{h}");
    assert!(
        h.contains("--token-file <FILE> A file holding the HEC token; without it, the token is read from the environment variable SPLUNK_HEC_TOKEN"),
        "{h}"
    );
    assert!(!h.contains("$SPLUNK_HEC_TOKEN"), "{h}");
    let h = help_of(&["treeherder", "submit"]);
    assert!(h.contains("[env: TREEHERDER_CLIENT_ID"), "{h}");
    // its --project is not a job setting: no CI variable gives it
    assert!(!h.contains("TREEHERDER_PROJECT"), "{h}");
    assert!(h.contains("environment variable TREEHERDER_SECRET"), "{h}");
    let h = help_of(&["pulse", "publish"]);
    assert!(h.contains("environment variable PULSE_URL"), "{h}");
    assert!(h.contains("--exchange <EXCHANGE>"), "{h}");
    assert!(
        h.contains("Usage: resultpipe pulse publish [OPTIONS] --exchange <EXCHANGE>"),
        "{h}"
    );
}

#[test]
fn layout_help_says_what_each_layout_is_and_who_reads_it() {
    let o = stackviz_export().arg("--help").out();
    let h = o.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    for want in [
        "- seed: The layout stackviz's manual page describes (2016)",
        "read by the stackviz front-end of that time",
        "- current: Today's layout, byte for byte what stackviz-export writes now",
        "read by today's stackviz front-end",
    ] {
        assert!(h.contains(want), "{want:?}:\n{h}");
    }
}
