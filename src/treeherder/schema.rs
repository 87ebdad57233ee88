//! The pulse-job JSON schemas (2016, 2025, 2026; 2026 by default) and validation with
//! formats (`date-time`, `uri`) checked, which Treeherder itself never did.
//!
//! `schemas/pulse-job.<year>.json` are mozilla/treeherder's `schemas/pulse-job.yml` at
//! three commits, converted from YAML to JSON unchanged (see `schemas/README.md`).

use std::fmt;
use std::path::Path;

use serde_json::Value;

/// Which pulse-job schema to validate against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SchemaVersion {
    /// 2016-07: draft-04, `origin.kind` required, `extra` allowed.
    V2016,
    /// 2025-06: draft-06, `origin.kind` required.
    V2025,
    /// 2026-04 (current Treeherder): `origin` is `{project, revision, id?}`.
    #[default]
    V2026,
}

impl SchemaVersion {
    /// The version's name (its year).
    pub fn name(self) -> &'static str {
        match self {
            SchemaVersion::V2016 => "2016",
            SchemaVersion::V2025 => "2025",
            SchemaVersion::V2026 => "2026",
        }
    }

    fn text(self) -> &'static str {
        match self {
            SchemaVersion::V2016 => include_str!("../../schemas/pulse-job.2016.json"),
            SchemaVersion::V2025 => include_str!("../../schemas/pulse-job.2025.json"),
            SchemaVersion::V2026 => include_str!("../../schemas/pulse-job.2026.json"),
        }
    }

    /// Whether `origin` carries `kind` (and `pushLogID`) in this version.
    pub fn origin_has_kind(self) -> bool {
        !matches!(self, SchemaVersion::V2026)
    }
}

/// One rule a document breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer into the document (`/display/jobSymbol`; empty for the root).
    pub path: String,
    /// What the schema requires there.
    pub rule: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "/"
        } else {
            &self.path
        };
        write!(f, "{path}: {}", self.rule)
    }
}

/// Why a schema file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The schema file cannot be read.
    #[error("{path}: cannot read schema")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not JSON.
    #[error("{path}: not JSON: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message.
        message: String,
    },
    /// JSON, but not a schema the validator takes.
    #[error("{path}: not a usable JSON schema: {message}")]
    Compile {
        /// The file.
        path: String,
        /// The validator's message.
        message: String,
    },
}

/// A compiled pulse-job schema.
pub struct JobSchema {
    validator: jsonschema::Validator,
    /// Where the schema came from (a version or a file), for messages.
    pub source: String,
}

impl JobSchema {
    /// One of the bundled schema versions.
    pub fn builtin(version: SchemaVersion) -> JobSchema {
        let schema: Value = serde_json::from_str(version.text()).expect("bundled schema is JSON");
        let validator = compile(&schema).expect("bundled schema compiles");
        JobSchema {
            validator,
            source: format!("pulse-job {}", version.name()),
        }
    }

    /// A schema from a JSON file.
    pub fn from_file(path: &Path) -> Result<JobSchema, SchemaError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SchemaError::Read {
            path: p.clone(),
            source,
        })?;
        let schema: Value = serde_json::from_str(&text).map_err(|e| SchemaError::Parse {
            path: p.clone(),
            message: e.to_string(),
        })?;
        let validator = compile(&schema).map_err(|message| SchemaError::Compile {
            path: p.clone(),
            message,
        })?;
        Ok(JobSchema {
            validator,
            source: p,
        })
    }

    /// Every rule `doc` breaks (empty when valid). Where a value matches none of the
    /// alternatives of a `oneOf`/`anyOf`, the rules the nearest alternative breaks are
    /// given instead (what the value lacks to be valid), not the whole value.
    pub fn violations(&self, doc: &Value) -> Vec<Violation> {
        self.validator
            .iter_errors(doc)
            .flat_map(|e| describe(&e))
            .collect()
    }
}

/// The violations one validation error stands for.
fn describe(e: &jsonschema::ValidationError<'_>) -> Vec<Violation> {
    use jsonschema::error::ValidationErrorKind as K;
    let path = e.instance_path().to_string();
    let (keyword, branches) = match e.kind() {
        K::OneOfNotValid { context } => ("oneOf", context),
        K::AnyOf { context } => ("anyOf", context),
        K::Required { property } => {
            return vec![Violation {
                path,
                rule: format!("missing property {property}"),
            }];
        }
        _ => {
            return vec![Violation {
                path,
                rule: e.to_string(),
            }];
        }
    };
    // The nearest alternative: the fewest broken rules, and a value of the right type.
    let distance = |errors: &Vec<jsonschema::ValidationError<'static>>| {
        let wrong_type = errors
            .iter()
            .any(|x| matches!(x.kind(), K::Type { .. }) && x.instance_path().to_string() == path);
        errors.len() + if wrong_type { 1000 } else { 0 }
    };
    let Some((i, nearest)) = branches
        .iter()
        .enumerate()
        .filter(|(_, errors)| !errors.is_empty())
        .min_by_key(|(_, errors)| distance(errors))
    else {
        return vec![Violation {
            path,
            rule: format!("matches none of the '{keyword}' alternatives"),
        }];
    };
    nearest
        .iter()
        .flat_map(describe)
        .map(|v| Violation {
            path: v.path,
            rule: format!(
                "{} (the nearest of {} '{keyword}' alternatives, #{})",
                v.rule,
                branches.len(),
                i + 1
            ),
        })
        .collect()
}

fn compile(schema: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample(version: &str) -> Vec<Value> {
        let path = format!(
            "{}/testdata/treeherder/samples/pulse-jobs.{version}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let mut jobs: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for j in &mut jobs {
            // Treeherder's own tests replace this placeholder before validating.
            j["origin"]["project"] = json!("mozilla-central");
        }
        jobs
    }

    #[test]
    fn treeherders_own_samples_validate_against_their_schema() {
        for (v, name, n) in [
            (SchemaVersion::V2016, "2016", 4),
            (SchemaVersion::V2025, "2025", 30),
            (SchemaVersion::V2026, "2026", 30),
        ] {
            let schema = JobSchema::builtin(v);
            let jobs = sample(name);
            assert_eq!(jobs.len(), n);
            for (i, j) in jobs.iter().enumerate() {
                assert_eq!(schema.violations(j), vec![], "{name} job {i}");
            }
        }
    }

    #[test]
    fn origin_shapes_differ_between_versions() {
        let j2026 = &sample("2026")[0];
        let v = JobSchema::builtin(SchemaVersion::V2025).violations(j2026);
        assert!(v.iter().any(|v| v.path == "/origin"), "{v:?}");
        let mut with_kind = j2026.clone();
        with_kind["origin"]["kind"] = json!("hg.mozilla.org");
        let v = JobSchema::builtin(SchemaVersion::V2026).violations(&with_kind);
        assert!(v.iter().any(|v| v.path == "/origin"), "{v:?}");
    }

    #[test]
    fn a_value_matching_no_alternative_says_what_the_nearest_lacks() {
        let mut j = sample("2026")[0].clone();
        let origin = j["origin"].as_object_mut().unwrap();
        origin.remove("kind");
        origin.remove("pushLogID");
        let v = JobSchema::builtin(SchemaVersion::V2025).violations(&j);
        assert!(
            v.iter().any(|v| v.path == "/origin"
                && v.rule
                    .starts_with("missing property \"kind\" (the nearest of 2 'oneOf'")),
            "{v:?}"
        );
        assert!(
            v.iter().all(|v| !v.rule.contains("is not valid under")),
            "{v:?}"
        );
        let mut j = sample("2026")[0].clone();
        j.as_object_mut().unwrap().remove("taskId");
        let v = JobSchema::builtin(SchemaVersion::V2026).violations(&j);
        assert_eq!(v[0].to_string(), "/: missing property \"taskId\"");
    }

    #[test]
    fn formats_and_patterns_are_checked() {
        let mut j = sample("2026")[0].clone();
        j["timeStarted"] = json!("yesterday");
        j["taskId"] = json!("has_underscore");
        j["display"]["jobSymbol"] = json!("x".repeat(26));
        j["jobInfo"]["links"][0]["url"] = json!("not a uri");
        let v = JobSchema::builtin(SchemaVersion::V2026).violations(&j);
        let paths: Vec<&str> = v.iter().map(|v| v.path.as_str()).collect();
        for p in [
            "/timeStarted",
            "/taskId",
            "/display/jobSymbol",
            "/jobInfo/links/0/url",
        ] {
            assert!(paths.contains(&p), "{p} not in {v:?}");
        }
        assert!(v.iter().any(|v| v.rule.contains("date-time")), "{v:?}");
    }
}
