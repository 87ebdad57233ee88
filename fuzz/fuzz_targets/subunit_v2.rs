//! The v2 scanner on arbitrary bytes: no panic, every byte accounted for (packets plus
//! passthrough), and a streaming read in small chunks agrees with the slice read.
#![no_main]

use std::io::{self, Read};

use libfuzzer_sys::fuzz_target;
use resultpipe::ingest::{EventSink, subunit_v2};
use resultpipe::model::{Event, Problem};

#[derive(Default, PartialEq, Debug)]
struct Seen {
    events: Vec<(u64, String)>,
    text: Vec<u8>,
}

impl EventSink for Seen {
    fn event(&mut self, ev: &Event<'_>, offset: u64) {
        self.events.push((offset, format!("{ev:?}")));
    }
    fn passthrough(&mut self, bytes: &[u8], _offset: u64) {
        self.text.extend_from_slice(bytes);
    }
    fn problem(&mut self, problem: Problem) {
        assert!(!problem.message.is_empty());
    }
}

struct Chunks<'a>(&'a [u8]);

impl Read for Chunks<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.0.len().min(out.len()).min(7);
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

fuzz_target!(|data: &[u8]| {
    let mut a = Seen::default();
    let stats = subunit_v2::read_slice(data, &mut a);
    assert_eq!(stats.bytes as usize, data.len());
    let mut b = Seen::default();
    subunit_v2::read_stream(Chunks(data), &mut b).unwrap();
    assert_eq!(a, b);
});
