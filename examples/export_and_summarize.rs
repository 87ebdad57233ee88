//! Exports stackviz data from a subunit stream and prints the run's summary, using
//! resultpipe as a library (no command line involved).
//!
//! ```text
//! cargo run --example export_and_summarize [-- STREAM [OUTPUT_DIR]]
//! ```
//!
//! Without arguments it reads the bundled sample run and writes to a directory under
//! the system's temporary directory.

use std::path::PathBuf;

use resultpipe::emit::stackviz::Layout;
use resultpipe::emit::stackviz_config::Zuul;
use resultpipe::pipeline::export::{self, ExportSettings};
use resultpipe::pipeline::summary::{self, SummarySettings};
use resultpipe::pipeline::{Error, NoProgress};

fn main() -> Result<(), Error> {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let stream = args.next().unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/stackviz/own_stestr_2workers/input/testrepository.subunit")
    });
    let output = args
        .next()
        .unwrap_or_else(|| std::env::temp_dir().join("resultpipe-example-export"));

    // today's stackviz layout, what `stackviz-export --layout current -f STREAM OUT` writes
    let settings = ExportSettings {
        layout: Layout::Current,
        gzip: false,
        zuul: Zuul::default(),
        stream_files: vec![stream.clone()],
        repositories: Vec::new(),
        stdin: false,
        dstat: None,
        all_runs: false,
        strict: false,
        html: None, // Some(HtmlSettings { .. }) also writes the run report
        output: output.clone(),
    };
    let mut progress_lines = Vec::new(); // the real tool's "Exporting ..." lines
    let exported = export::run(&settings, &NoProgress, &mut progress_lines)?;
    println!(
        "exported {} dataset(s) to {} ({} problem(s) while reading)",
        exported.datasets,
        output.display(),
        exported.problems
    );

    // the summary, as `resultpipe summary STREAM` prints it
    let summary = summary::run(
        &SummarySettings {
            inputs: vec![stream],
            ..SummarySettings::default()
        },
        &NoProgress,
        &mut std::io::stdout(),
    )?;
    println!(
        "the run {}",
        if summary.passed { "passed" } else { "failed" }
    );
    Ok(())
}
