//! A job's settings from wherever they come (flags, a config file, CI variables: the
//! caller decides the order), validated and defaulted into a [`JobSpec`].

use super::job::{JobSpec, Machine, sanitize_task_id, sanitize_word};

/// Supplies a job's settings by their long flag names (`project`, `job-symbol`, ...).
pub trait SettingSource {
    /// The setting's value, if one is given.
    fn get(&self, key: &str) -> Option<String>;
    /// A repeatable setting's values (`label`, `log-url`, `link`).
    fn list(&self, key: &str) -> Vec<String>;
}

/// Settings from a JSON config file: an object keyed by the long flag names
/// (`{"project": "...", "job-symbol": "U", "label": ["opt"]}`).
#[derive(Debug, Clone, Default)]
pub struct ConfigFile {
    settings: serde_json::Map<String, serde_json::Value>,
}

impl ConfigFile {
    /// Settings from a JSON object already read (a task's job settings, say).
    pub fn from_map(settings: serde_json::Map<String, serde_json::Value>) -> ConfigFile {
        ConfigFile { settings }
    }

    /// Reads and checks `path`.
    pub fn load(path: &std::path::Path) -> Result<ConfigFile, SpecError> {
        let bad = |why: String| SpecError::Config(format!("{}: {why}", path.display()));
        let text =
            std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read config: {e}")))?;
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(serde_json::Value::Object(settings)) => Ok(ConfigFile { settings }),
            Ok(_) => Err(bad("config must be a JSON object".into())),
            Err(e) => Err(bad(format!("config is not JSON: {e}"))),
        }
    }
}

impl SettingSource for ConfigFile {
    fn get(&self, key: &str) -> Option<String> {
        match self.settings.get(key)? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    fn list(&self, key: &str) -> Vec<String> {
        match self.settings.get(key) {
            Some(serde_json::Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        }
    }
}

/// A setting that is missing or unusable.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The config file cannot be used.
    #[error("{0}")]
    Config(String),
    /// A required setting is not given.
    #[error("--{0} is required (or set it in --config or the environment)")]
    Missing(String),
    /// A number that is not one.
    #[error("--{key}: not a number: {value:?}")]
    NotANumber {
        /// The setting.
        key: String,
        /// Its value.
        value: String,
    },
    /// A value without its expected shape.
    #[error("--{key} {value:?}: expected {form}")]
    Malformed {
        /// The setting.
        key: String,
        /// Its value.
        value: String,
        /// The shape it needs.
        form: &'static str,
    },
}

/// The environment variables CI systems set that give a job setting (by its long flag
/// name) when nothing else does; the first one set wins.
pub const CI_VARIABLES: &[(&str, &[&str])] = &[
    ("project", &["TREEHERDER_PROJECT"]),
    (
        "revision",
        &[
            "TREEHERDER_REVISION",
            "GITHUB_SHA",
            "CI_COMMIT_SHA",
            "GIT_COMMIT",
        ],
    ),
    (
        "job-name",
        &[
            "TREEHERDER_JOB_NAME",
            "JOB_NAME",
            "CI_JOB_NAME",
            "GITHUB_JOB",
        ],
    ),
    ("job-symbol", &["TREEHERDER_JOB_SYMBOL"]),
    ("group-name", &["TREEHERDER_GROUP_NAME"]),
    ("group-symbol", &["TREEHERDER_GROUP_SYMBOL"]),
    (
        "owner",
        &[
            "TREEHERDER_OWNER",
            "GITHUB_ACTOR",
            "GITLAB_USER_LOGIN",
            "BUILD_USER_ID",
        ],
    ),
    ("reason", &["TREEHERDER_REASON"]),
    (
        "machine-name",
        &[
            "TREEHERDER_MACHINE_NAME",
            "NODE_NAME",
            "RUNNER_NAME",
            "CI_RUNNER_DESCRIPTION",
        ],
    ),
    ("platform", &["TREEHERDER_PLATFORM"]),
    ("os", &["TREEHERDER_OS"]),
    ("arch", &["TREEHERDER_ARCH"]),
    ("tier", &["TREEHERDER_TIER"]),
    ("retry-id", &["TREEHERDER_RETRY_ID", "GITHUB_RUN_ATTEMPT"]),
];

/// A job's settings, validated and defaulted, from `s`; everything but the run.
pub fn job_spec(s: &dyn SettingSource) -> Result<JobSpec, SpecError> {
    let need = |key: &str| s.get(key).ok_or_else(|| SpecError::Missing(key.to_owned()));
    let number = |key: &str| -> Result<Option<u64>, SpecError> {
        match s.get(key) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| SpecError::NotANumber {
                    key: key.to_owned(),
                    value: v,
                }),
        }
    };
    let machine = |prefix: &str| {
        let platform = s
            .get(&format!("{prefix}platform"))
            .or_else(|| s.get("platform"))?;
        let os = s.get(&format!("{prefix}os")).or_else(|| s.get("os"))?;
        let architecture = s.get(&format!("{prefix}arch")).or_else(|| s.get("arch"))?;
        Some(Machine {
            platform: sanitize_word(&platform, 100),
            os: sanitize_word(&os, 25),
            architecture: sanitize_word(&architecture, 25),
            name: s.get("machine-name").map(|n| sanitize_word(&n, 50)),
        })
    };
    let pairs = |items: Vec<String>, what: &str| -> Result<Vec<(String, String)>, SpecError> {
        items
            .iter()
            .map(|i| {
                i.split_once('=')
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .ok_or_else(|| SpecError::Malformed {
                        key: what.to_owned(),
                        value: i.clone(),
                        form: "NAME=URL",
                    })
            })
            .collect()
    };
    let links = s
        .list("link")
        .into_iter()
        .map(|l| {
            let parts: Vec<&str> = l.splitn(3, '=').collect();
            match parts.as_slice() {
                [text, url] if url.contains("://") => {
                    Ok(("artifact uploaded".into(), (*text).into(), (*url).into()))
                }
                [label, text, url] => Ok(((*label).into(), (*text).into(), (*url).into())),
                _ => Err(SpecError::Malformed {
                    key: "link".into(),
                    value: l.clone(),
                    form: "[LABEL=]TEXT=URL",
                }),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(JobSpec {
        project: need("project")?,
        revision: need("revision")?,
        push_id: number("push-id")?,
        origin_kind: s
            .get("origin-kind")
            .unwrap_or_else(|| "hg.mozilla.org".into()),
        github_owner: s.get("github-owner"),
        task_id: s.get("task-id").map(|t| sanitize_task_id(&t)),
        retry_id: number("retry-id")?.unwrap_or(0),
        build_system: s.get("build-system").unwrap_or_else(|| "resultpipe".into()),
        job_name: s.get("job-name").unwrap_or_else(|| "tests".into()),
        job_symbol: s.get("job-symbol").unwrap_or_else(|| "T".into()),
        group_name: s.get("group-name"),
        group_symbol: s.get("group-symbol").unwrap_or_else(|| "?".into()),
        tier: match number("tier")? {
            None => None,
            Some(t) => Some(u8::try_from(t).map_err(|_| SpecError::NotANumber {
                key: "tier".into(),
                value: t.to_string(),
            })?),
        },
        job_kind: s.get("job-kind").unwrap_or_else(|| "test".into()),
        state: s.get("state").unwrap_or_else(|| "completed".into()),
        result: s.get("result"),
        reason: s.get("reason"),
        owner: s.get("owner"),
        product: s.get("product"),
        labels: s
            .list("label")
            .iter()
            .map(|l| sanitize_word(l, 50))
            .collect(),
        build_machine: machine("build-"),
        run_machine: machine("run-"),
        logs: pairs(s.list("log-url"), "log-url")?,
        links,
        allow_empty: false,
    })
}
