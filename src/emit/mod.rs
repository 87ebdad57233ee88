//! Outputs. Each module writes one format.

pub mod details;
pub mod hec;
pub mod junit;
pub mod oct_csv;
pub mod oct_report;
pub mod output;
pub mod pyjson;
pub mod report;
pub mod seed_tree;
pub mod stackviz;
pub mod stackviz_config;
pub mod subunit;
pub mod summary;
pub mod svg_chart;
