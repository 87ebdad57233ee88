//! Input formats. Each module reads one format into model events or records.

pub mod subunit_v2;
