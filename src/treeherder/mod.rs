//! Treeherder: pulse-job documents from runs, and their validation against the
//! pulse-job schema.

pub mod job;
pub mod rest;
pub mod schema;
