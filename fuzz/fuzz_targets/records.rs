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
        ingest::read_records(data, Format::Auto, &mut |r| w.record(&r), &mut |_b| {}).unwrap();
        let files = w.finish().unwrap();
        for name in [&files.raw, &files.details, &files.third] {
            let text = std::fs::read(dir.join(name)).unwrap();
            assert!(text.is_ascii(), "{name} is not ASCII");
            // serde_json stops at 128 levels; a dotted id makes the seed tree that deep
            if max_depth(&text) < 100 {
                serde_json::from_slice::<serde_json::Value>(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            }
        }
    }
});

/// Deepest nesting of `{`/`[` outside strings.
fn max_depth(json: &[u8]) -> usize {
    let (mut depth, mut max, mut in_str, mut esc) = (0usize, 0usize, false, false);
    for &b in json {
        match (in_str, esc, b) {
            (true, true, _) => esc = false,
            (true, false, b'\\') => esc = true,
            (true, false, b'"') => in_str = false,
            (true, false, _) => {}
            (false, _, b'"') => in_str = true,
            (false, _, b'{' | b'[') => {
                depth += 1;
                max = max.max(depth);
            }
            (false, _, b'}' | b']') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}
