//! The JUnit XML reader on arbitrary bytes: no panic, and every record it hands out is
//! a finished one (a final status, a start no later than its stop).
#![no_main]

use libfuzzer_sys::fuzz_target;
use resultpipe::ingest::{self, Format};

fuzz_target!(|data: &[u8]| {
    let _ = ingest::read_records(
        data,
        Format::JUnit,
        &mut |r| {
            assert!(r.status.is_final(), "{:?}", r.status);
            assert!(r.start <= r.stop);
        },
        &mut |_b| {},
    );
});
