//! resultpipe: a fast, lossless results ETL for test and load-test runs.
//!
//! Data flows `ingest` → `model` → `emit`; `cli` is the edge that parses flags and
//! maps errors to exit codes.

pub mod cli;
pub mod emit;
pub mod ingest;
pub mod model;
pub mod pipeline;
pub mod sinks;
pub mod treeherder;
