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

pub(crate) use crate::model::error_chain;
