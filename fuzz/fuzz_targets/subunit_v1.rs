//! The v1 text reader on arbitrary bytes: no panic, and records built from its events.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resultpipe::ingest::{self, Format};

fuzz_target!(|data: &[u8]| {
    let mut n = 0usize;
    let report = ingest::read_records(data, Format::V1, &mut |_r| n += 1, &mut |_b| {}).unwrap();
    assert_eq!(report.records as usize, n);
});
