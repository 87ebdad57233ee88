//! Treeherder: pulse-job documents from runs and their settings, validation against
//! the pulse-job schema, the REST layout, and treeherder-client's own checks.

pub mod checks;
pub mod job;
pub mod rest;
pub mod schema;
pub mod settings;
