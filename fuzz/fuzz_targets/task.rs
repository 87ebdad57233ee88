//! A queue worker's task reader on arbitrary bytes: no panic; a task it accepts has an
//! id and inputs, and its output paths expand or are refused, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resultpipe::pipeline::task;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = task::parse(data) {
        assert!(!t.id.is_empty() && !t.inputs.is_empty());
        let name = task::input_name(&t.inputs[0]);
        assert!(!name.is_empty() && !name.contains('/'));
        if let Some(r) = &t.outputs.report {
            let _ = task::expand(&r.path, &t.id, &name);
        }
    }
});
