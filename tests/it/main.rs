//! Every integration test of the project, in one test binary (one link instead of one
//! per file: the build is faster and `target/` far smaller). Each module is one area;
//! `support` holds what they share.

mod cli_help;
mod cli_inputs;
mod cli_resultpipe;
mod cli_treeherder;
mod examples;
mod junit;
mod layers;
mod oct_csv;
mod oct_report;
mod pulse_rabbitmq;
mod readme;
mod report;
mod splunk_hec;
mod stackviz_cases;
mod subunit_fixtures;
mod support;
mod treeherder_rest;
mod triage;
mod worker_rabbitmq;
