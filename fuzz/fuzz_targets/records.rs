//! Whole pipeline from bytes to stackviz JSON (format sniffing, grouping, name cleaning,
//! details decoding, Python-compatible JSON): no panic, and the JSON written parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resultpipe::emit::stackviz::{DatasetWriter, Layout};
use resultpipe::ingest::{self, Format};

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("rp-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for layout in [Layout::Current, Layout::Seed] {
        let mut w = DatasetWriter::create(&dir, layout, "f", 0, false).unwrap();
        ingest::read_records(data, Format::Auto, &mut |r| w.record(r), &mut |_b| {}).unwrap();
        let files = w.finish().unwrap();
        for name in [&files.raw, &files.details, &files.third] {
            let text = std::fs::read(dir.join(name)).unwrap();
            assert!(text.is_ascii(), "{name} is not ASCII");
            serde_json::from_slice::<serde_json::Value>(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
});
