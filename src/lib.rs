//! resultpipe: a fast, lossless results ETL for test and load-test runs.
//!
//! Data flows through the modules in this order, and each imports only those before
//! it:
//!
//! - [`model`]: runs, test records, statuses, attachments, load-test series, the one
//!   retry policy; no I/O.
//! - [`ingest`]: inputs into the model (subunit v2 and v1, repositories, OCT
//!   `results.sqlite`, gzip, inputs over HTTP), and reading a run ([`ingest::source`]).
//! - [`sinks`]: destinations (Pulse over AMQP, Treeherder's REST API, Splunk HEC, the
//!   task queue).
//! - [`treeherder`]: pulse-job documents from runs, their settings and schemas.
//! - [`emit`]: outputs (stackviz data, summaries, OCT's report and CSV, HEC envelopes).
//! - [`pipeline`]: the jobs, wiring the above; what a program embedding resultpipe
//!   calls (see `examples/`).
//! - [`cli`]: the command line, a thin edge over the jobs.

#![deny(missing_docs)]

// The command line's doc comments are its `--help` text (`tempest_<P>_<n>_raw.json`,
// bare URLs), written for a terminal rather than for rustdoc.
#[allow(
    rustdoc::bare_urls,
    rustdoc::invalid_html_tags,
    rustdoc::broken_intra_doc_links
)]
pub mod cli;
pub mod emit;
pub mod ingest;
pub mod model;
pub mod pipeline;
pub mod sinks;
pub mod treeherder;
