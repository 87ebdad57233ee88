//! OCT's `results-to-csv`, byte for byte: columns `elapsed, epoch, turret_name,
//! scriptrun_time, error` and then every timer in order of first appearance; Python's
//! csv defaults (`;` unless told, minimal quoting, CRLF) and Python `str()` values.
//!
//! One pass over the rows: the header is only known at the end (a timer can first
//! appear in the last row), so rows go to a body file first, and the header is written
//! in front of it at the end. A timer that first appears late only adds columns at the
//! end of the line, so the rows written before it get their missing empty cells then.

use std::io::{self, BufWriter, Read, Seek, Write};

use crate::emit::pyjson::write_float;
use crate::ingest::oct::{CellRef, RawRow, TimerValue, visit_timers};

/// OCT's header labels for the five fixed columns.
pub const FIXED_LABELS: [&str; 5] = [
    "elapsed time",
    "epoch (in seconds)",
    "turret name",
    "transaction time",
    "error",
];

/// A row whose `custom_timers` could not be read (kept with empty timer cells).
#[derive(Debug, Clone, PartialEq)]
pub struct BadTimers {
    /// The row's id.
    pub id: i64,
    /// What is wrong with its timers.
    pub what: String,
}

/// Builds the CSV: feed rows with [`OctCsv::row`], then [`OctCsv::finish`].
pub struct OctCsv {
    delimiter: u8,
    body: BufWriter<std::fs::File>,
    /// Bytes of body written so far.
    len: u64,
    /// Offset of each row's line end, for rows written while fewer timers were known.
    /// `segments` says how many timers each stretch of rows was written with.
    row_ends: Vec<u64>,
    segments: Vec<(usize, usize)>,
    rows: usize,
    timers: Vec<String>,
    ids: foldhash::HashMap<String, usize>,
    line: Vec<u8>,
    cells: Vec<Option<(usize, usize)>>,
    scratch: Vec<u8>,
    /// Rows with NULL or unreadable timers: how many, and the first few.
    pub bad_count: u64,
    /// The first rows with unreadable timers (up to a few).
    pub bad_examples: Vec<BadTimers>,
}

impl OctCsv {
    /// `body` is a scratch file (read back by `finish`).
    pub fn new(body: std::fs::File, delimiter: u8) -> OctCsv {
        OctCsv {
            delimiter,
            body: BufWriter::with_capacity(1 << 20, body),
            len: 0,
            row_ends: Vec::new(),
            segments: vec![(0, 0)],
            rows: 0,
            timers: Vec::new(),
            ids: Default::default(),
            line: Vec::with_capacity(256),
            cells: Vec::new(),
            scratch: Vec::with_capacity(256),
            bad_count: 0,
            bad_examples: Vec::new(),
        }
    }

    fn bad(&mut self, id: i64, what: String) {
        self.bad_count += 1;
        if self.bad_examples.len() < 20 {
            self.bad_examples.push(BadTimers { id, what });
        }
    }

    /// Writes one row (to the scratch file) and notes its timers for the header.
    pub fn row(&mut self, r: &RawRow<'_>) -> io::Result<()> {
        let d = self.delimiter;
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        for (i, c) in [r.elapsed, r.epoch, r.turret_name, r.scriptrun_time, r.error]
            .into_iter()
            .enumerate()
        {
            if i > 0 {
                line.push(d);
            }
            self.scratch.clear();
            write_cell(&mut self.scratch, c);
            write_field(&mut line, &self.scratch, d);
        }

        // timer cells: values rendered into `scratch`, (start, end) per column
        self.scratch.clear();
        self.cells.clear();
        self.cells.resize(self.timers.len(), None);
        match r.custom_timers {
            CellRef::Text(text) => {
                let mut fallback = false;
                let res = visit_timers(text, &mut |name, v| {
                    let col = match self.ids.get(name) {
                        Some(&c) => c,
                        None => {
                            self.timers.push(name.to_owned());
                            self.ids.insert(name.to_owned(), self.timers.len() - 1);
                            self.cells.push(None);
                            self.timers.len() - 1
                        }
                    };
                    let start = self.scratch.len();
                    match v {
                        TimerValue::Int(i) => write_int(&mut self.scratch, i),
                        TimerValue::Float(f) => write_py_float(&mut self.scratch, f),
                        TimerValue::NotNumber => fallback = true,
                    }
                    // a repeated key: json.loads keeps the last value
                    self.cells[col] = Some((start, self.scratch.len()));
                });
                match res {
                    Err(e) => {
                        self.cells.iter_mut().for_each(|c| *c = None);
                        self.bad(
                            r.id,
                            format!(
                                "custom_timers is not a JSON object ({e}): {}",
                                String::from_utf8_lossy(&text[..text.len().min(80)])
                            ),
                        );
                    }
                    Ok(()) if fallback => self.slow_timers(text),
                    Ok(()) => {}
                }
            }
            _ => self.bad(r.id, "custom_timers is NULL".into()),
        }
        if self.timers.len() != self.segments.last().map_or(0, |s| s.1) {
            self.segments.push((self.rows, self.timers.len()));
        }
        for c in &self.cells {
            line.push(d);
            if let Some((a, b)) = *c {
                write_field(&mut line, &self.scratch[a..b], d);
            }
        }
        self.len += line.len() as u64;
        self.row_ends.push(self.len);
        line.extend_from_slice(b"\r\n");
        self.len += 2;
        self.rows += 1;
        self.body.write_all(&line)?;
        self.line = line;
        Ok(())
    }

    /// A row with a timer value that is not a number: Python's `str()` of each value.
    fn slow_timers(&mut self, text: &[u8]) {
        self.scratch.clear();
        self.cells.iter_mut().for_each(|c| *c = None);
        let Ok(serde_json::Value::Object(m)) = serde_json::from_slice(text) else {
            return;
        };
        for (k, v) in m {
            let Some(&col) = self.ids.get(&k) else {
                continue;
            };
            let start = self.scratch.len();
            match v {
                serde_json::Value::Number(n) => match n.as_i64() {
                    Some(i) => write_int(&mut self.scratch, i),
                    None => write_py_float(&mut self.scratch, n.as_f64().unwrap_or(f64::NAN)),
                },
                // the csv module writes None as an empty cell
                serde_json::Value::Null => {}
                serde_json::Value::Bool(b) => {
                    self.scratch
                        .extend_from_slice(if b { b"True" } else { b"False" })
                }
                serde_json::Value::String(s) => self.scratch.extend_from_slice(s.as_bytes()),
                other => self.scratch.extend_from_slice(other.to_string().as_bytes()),
            }
            self.cells[col] = Some((start, self.scratch.len()));
        }
    }

    /// The timer names in order of first appearance.
    pub fn timers(&self) -> &[String] {
        &self.timers
    }

    /// Writes the header and then the body, each row padded to every timer column.
    pub fn finish(self, out: &mut impl Write) -> io::Result<u64> {
        let d = self.delimiter;
        let mut header = Vec::new();
        for (i, name) in FIXED_LABELS
            .iter()
            .copied()
            .chain(self.timers.iter().map(String::as_str))
            .enumerate()
        {
            if i > 0 {
                header.push(d);
            }
            write_field(&mut header, name.as_bytes(), d);
        }
        header.extend_from_slice(b"\r\n");
        out.write_all(&header)?;

        let mut body = self.body.into_inner().map_err(|e| e.into_error())?;
        body.rewind()?;
        let mut body = io::BufReader::with_capacity(1 << 20, body);
        let total = self.timers.len();
        let mut at = 0u64;
        let mut pad = Vec::new();
        for (k, &(first, known)) in self.segments.iter().enumerate() {
            if known == total {
                continue;
            }
            let end = self.segments.get(k + 1).map_or(self.rows, |s| s.0);
            pad.clear();
            pad.resize(total - known, d);
            for &row_end in &self.row_ends[first..end] {
                copy_exact(&mut body, out, row_end - at)?;
                out.write_all(&pad)?;
                at = row_end;
            }
        }
        copy_exact(&mut body, out, self.len - at)?;
        Ok(self.rows as u64)
    }
}

fn copy_exact(from: &mut impl Read, to: &mut impl Write, n: u64) -> io::Result<()> {
    let copied = io::copy(&mut from.take(n), to)?;
    if copied != n {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the CSV body file is shorter than what was written to it",
        ));
    }
    Ok(())
}

/// Python's `str()` of a float as the csv module writes it (`nan`, `inf`, repr).
fn write_py_float(out: &mut Vec<u8>, f: f64) {
    if f.is_nan() {
        out.extend_from_slice(b"nan");
    } else if f.is_infinite() {
        out.extend_from_slice(if f > 0.0 { b"inf" } else { b"-inf" });
    } else {
        write_float(out, f);
    }
}

fn write_int(out: &mut Vec<u8>, i: i64) {
    use std::io::Write as _;
    let _ = write!(out, "{i}");
}

fn write_cell(out: &mut Vec<u8>, c: CellRef<'_>) {
    match c {
        CellRef::Null => {}
        CellRef::Int(i) => write_int(out, i),
        CellRef::Real(f) => write_py_float(out, f),
        CellRef::Text(t) => out.extend_from_slice(t),
    }
}

/// Python csv's QUOTE_MINIMAL: quoted only when the field holds the delimiter, a quote,
/// CR or LF; quotes doubled.
fn write_field(out: &mut Vec<u8>, field: &[u8], delimiter: u8) {
    if !field
        .iter()
        .any(|&b| b == delimiter || b == b'"' || b == b'\r' || b == b'\n')
    {
        out.extend_from_slice(field);
        return;
    }
    out.push(b'"');
    for &b in field {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row<'a>(id: i64, timers: CellRef<'a>) -> RawRow<'a> {
        RawRow {
            id,
            elapsed: CellRef::Real(1.5),
            epoch: CellRef::Real(1700000000.0),
            turret_name: CellRef::Text(b"Noname"),
            scriptrun_time: CellRef::Real(0.25),
            error: CellRef::Text(b"a;\"b\""),
            custom_timers: timers,
        }
    }

    #[test]
    fn rows_written_before_a_timer_appeared_get_its_empty_cell() {
        let mut csv = OctCsv::new(tempfile_in_tmp(), b';');
        csv.row(&row(1, CellRef::Text(br#"{"a":0.5}"#))).unwrap();
        csv.row(&row(2, CellRef::Null)).unwrap();
        csv.row(&row(3, CellRef::Text(br#"{"b":2,"a":"x"}"#)))
            .unwrap();
        csv.row(&row(4, CellRef::Text(b"oops"))).unwrap();
        assert_eq!(csv.bad_count, 2);
        let mut out = Vec::new();
        assert_eq!(csv.finish(&mut out).unwrap(), 4);
        let text = String::from_utf8(out).unwrap();
        let fixed = "1.5;1700000000.0;Noname;0.25;\"a;\"\"b\"\"\"";
        assert_eq!(
            text,
            format!(
                "elapsed time;epoch (in seconds);turret name;transaction time;error;a;b\r\n\
                 {fixed};0.5;\r\n{fixed};;\r\n{fixed};x;2\r\n{fixed};;\r\n"
            )
        );
    }

    #[test]
    fn a_delimiter_inside_numbers_quotes_them_like_python() {
        let mut out = Vec::new();
        write_field(&mut out, b"0.5", b'.');
        assert_eq!(out, b"\"0.5\"");
    }

    fn tempfile_in_tmp() -> std::fs::File {
        tempfile::tempfile().unwrap()
    }
}
