//! OCT's `results-to-csv`, byte for byte: columns `elapsed, epoch, turret_name,
//! scriptrun_time, error` and then every timer in order of first appearance; Python's
//! csv defaults (`;` unless told, minimal quoting, CRLF) and Python `repr` floats.

use std::io::{self, Write};

use crate::emit::pyjson::float_repr;
use crate::ingest::oct::{Cell, OctRow};

/// OCT's header labels for the five fixed columns.
pub const FIXED_LABELS: [&str; 5] = [
    "elapsed time",
    "epoch (in seconds)",
    "turret name",
    "transaction time",
    "error",
];

/// Python's `str()` of a value as the csv module writes it.
pub fn cell_text(c: &Cell) -> String {
    match c {
        Cell::Null => String::new(),
        Cell::Int(i) => i.to_string(),
        Cell::Real(f) if f.is_finite() => float_repr(*f),
        Cell::Real(f) if f.is_nan() => "nan".into(),
        Cell::Real(f) => if *f > 0.0 { "inf" } else { "-inf" }.into(),
        Cell::Text(s) => s.clone(),
    }
}

/// Writes the CSV: `timers` are the timer names in order of first appearance.
pub struct OctCsvWriter<W: Write> {
    csv: csv::Writer<W>,
    timers: Vec<String>,
    record: Vec<String>,
}

impl<W: Write> OctCsvWriter<W> {
    pub fn new(out: W, delimiter: u8, timers: Vec<String>) -> io::Result<OctCsvWriter<W>> {
        let mut csv = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .terminator(csv::Terminator::CRLF)
            .quote_style(csv::QuoteStyle::Necessary)
            .from_writer(out);
        let header: Vec<&str> = FIXED_LABELS
            .iter()
            .copied()
            .chain(timers.iter().map(String::as_str))
            .collect();
        csv.write_record(&header)?;
        Ok(OctCsvWriter {
            csv,
            timers,
            record: Vec::new(),
        })
    }

    pub fn row(&mut self, r: &OctRow) -> io::Result<()> {
        self.record.clear();
        for c in [
            &r.elapsed,
            &r.epoch,
            &r.turret_name,
            &r.scriptrun_time,
            &r.error,
        ] {
            self.record.push(cell_text(c));
        }
        for t in &self.timers {
            let v = r
                .timers
                .iter()
                .find(|(k, _)| k == t)
                .map(|(_, c)| cell_text(c))
                .unwrap_or_default();
            self.record.push(v);
        }
        self.csv.write_record(&self.record)?;
        Ok(())
    }

    pub fn finish(self) -> io::Result<W> {
        self.csv.into_inner().map_err(|e| e.into_error())
    }
}
