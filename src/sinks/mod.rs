//! Destinations. Each module owns one: a config with documented defaults, a delivery
//! function that confirms or reports every item, and errors that say whether a failure
//! is worth retrying.

pub mod pulse;
pub mod splunk_hec;
pub mod task_queue;
pub mod treeherder_http;

use std::fmt;

/// A secret (password, token, key): never printed by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// An error and its sources, `: `-joined, each text once ("error sending request"
/// alone says little; its source says "Connection refused").
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
