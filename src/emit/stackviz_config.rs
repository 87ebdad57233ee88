//! stackviz's `config.json` in both layouts: what the front-end reads to find the
//! exported datasets (written last, once every data file is in place).

use crate::emit::pyjson::{key, sep, write_str};
use crate::emit::stackviz::{DatasetFiles, write_object};

/// One exported dataset, as `config.json` lists it.
#[derive(Debug, Clone, Copy)]
pub struct Exported<'a> {
    /// The provider's name in file names (`<name>-<index>-raw.json`).
    pub provider_name: &'a str,
    /// How the seed layout names the provider (`Subunit File: x.subunit`).
    pub provider_description: &'a str,
    /// How many datasets the provider has (the seed layout numbers them when > 1).
    pub provider_datasets: usize,
    /// The dataset's number within its provider.
    pub index: usize,
    /// What was written for it.
    pub files: &'a DatasetFiles,
}

/// The Zuul metadata `stackviz-export -e` copies into today's `config.json`; each
/// field is `null` when unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Zuul {
    /// `JOB_NAME` → `name`.
    pub job_name: Option<String>,
    /// `ZUUL_PIPELINE` → `pipeline`.
    pub pipeline: Option<String>,
    /// `ZUUL_CHANGE` → `change_id`.
    pub change: Option<String>,
    /// `ZUUL_PATCHSET` → `revision`.
    pub patchset: Option<String>,
    /// `ZUUL_PROJECT` → `change_project`.
    pub project: Option<String>,
}

fn json_str(s: &str) -> Vec<u8> {
    let mut v = Vec::new();
    write_str(&mut v, s);
    v
}

fn artifact(
    out: &mut Vec<u8>,
    path: &str,
    name: &str,
    kind: &str,
    content: &str,
    primary: bool,
    gzip: bool,
) {
    let (p, n, k, c) = (
        json_str(path),
        json_str(name),
        json_str(kind),
        json_str(content),
    );
    let primary: &[u8] = if primary { b"true" } else { b"false" };
    let mut fields: Vec<(&str, &[u8])> = vec![
        ("path", &p),
        ("artifact_name", &n),
        ("artifact_type", &k),
        ("content_type", &c),
        ("primary", primary),
    ];
    let gz = json_str("gzip");
    if gzip {
        fields.push(("content_encoding", &gz));
    }
    write_object(out, &fields);
}

/// Today's `config.json`: one dataset whose artifacts are the dstat log (`dstat` is
/// its (file, name)) and each exported dataset's raw, details and stats files; the
/// Zuul fields from `zuul` (`null` where unknown).
pub fn current_config(
    exported: &[Exported<'_>],
    dstat: Option<&(String, String)>,
    gzip: bool,
    zuul: &Zuul,
) -> Vec<u8> {
    let mut arts = Vec::new();
    arts.push(b'[');
    let mut first = true;
    if let Some((path, name)) = dstat {
        sep(&mut arts, &mut first);
        artifact(&mut arts, path, name, "dstat", "text/csv", false, gzip);
    }
    for e in exported {
        let name = e.provider_name;
        let kinds = [
            (&e.files.raw, "subunit", true),
            (&e.files.details, "subunit-details", false),
            (&e.files.third, "subunit-stats", false),
        ];
        for (path, kind, primary) in kinds {
            sep(&mut arts, &mut first);
            artifact(
                &mut arts,
                path,
                name,
                kind,
                "application/json",
                primary,
                gzip,
            );
        }
    }
    arts.push(b']');
    let var = |v: &Option<String>| -> Vec<u8> {
        match v {
            Some(val) => json_str(val),
            None => b"null".to_vec(),
        }
    };
    let null: &[u8] = b"null";
    let (name, pipeline, change_id, revision, project) = (
        var(&zuul.job_name),
        var(&zuul.pipeline),
        var(&zuul.change),
        var(&zuul.patchset),
        var(&zuul.project),
    );
    let mut dataset = Vec::new();
    write_object(
        &mut dataset,
        &[
            ("name", &name),
            ("url", null),
            ("status", null),
            ("ci_username", null),
            ("pipeline", &pipeline),
            ("change_id", &change_id),
            ("revision", &revision),
            ("change_project", &project),
            ("change_subject", null),
            ("artifacts", &arts),
        ],
    );
    let mut datasets = vec![b'['];
    datasets.extend_from_slice(&dataset);
    datasets.push(b']');
    let mut out = Vec::new();
    write_object(&mut out, &[("deployer", b"false"), ("datasets", &datasets)]);
    out
}

/// The 2016 layout's `config.json`: a `tempest` list with one entry per exported
/// dataset, its stats inline, and the dstat log's file name.
pub fn seed_config(exported: &[Exported<'_>], dstat: Option<&str>) -> Vec<u8> {
    let mut list = vec![b'['];
    let mut first = true;
    for (id, e) in exported.iter().enumerate() {
        sep(&mut list, &mut first);
        let name = if e.provider_datasets > 1 {
            format!("{} ({})", e.provider_description, e.index)
        } else {
            e.provider_description.to_owned()
        };
        let stats = e.files.inline_stats.clone().unwrap_or_default();
        let (n, tree, raw, details, idj) = (
            json_str(&name),
            json_str(&e.files.third),
            json_str(&e.files.raw),
            json_str(&e.files.details),
            id.to_string(),
        );
        let dj = dstat.map(json_str);
        let mut fields: Vec<(&str, &[u8])> = vec![
            ("stats", &stats),
            ("name", &n),
            ("tree", &tree),
            ("raw", &raw),
            ("details", &details),
            ("id", idj.as_bytes()),
        ];
        if let Some(d) = &dj {
            fields.push(("dstat", d));
        }
        write_object(&mut list, &fields);
    }
    list.push(b']');
    let mut out = Vec::new();
    out.push(b'{');
    key(&mut out, "tempest");
    out.extend_from_slice(&list);
    out.push(b'}');
    out
}
