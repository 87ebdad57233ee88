//! stackviz data in both layouts: today's artifact layout (`config.json` with datasets
//! and artifacts, `<P>-<i>-{raw,details,stats}.json`, byte-identical to the real tool)
//! and the 2016 "seed" layout (`config.json` with a `tempest` list and inline stats,
//! `tempest_<P>_<i>_{raw,tree,details}.json`).
//!
//! Records are written as they complete, so memory stays bounded by what is still open
//! (plus, in the seed layout, one small tree leaf per record).

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use crate::emit::details::{self, Note};
use crate::emit::output::AtomicFile;
use crate::emit::pyjson::{self, key, sep, write_str};
use crate::emit::seed_tree::SeedTree;
use crate::model::time::write_isoformat;
use crate::model::{Status, TestRecord, clean_test_name, strip_detail_key};

/// Which stackviz layout to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// The 2016 layout the stackviz documentation describes.
    Seed,
    /// Today's artifact layout, which today's front-end reads.
    Current,
}

impl Layout {
    /// Start and stop in this layout's microseconds, and the duration in seconds.
    fn times(self, rec: &TestRecord) -> (Option<i64>, Option<i64>, Option<f64>) {
        let start = rec.start.map(|t| self.micros(t));
        let stop = rec.stop.map(|t| self.micros(t));
        let duration = match (start, stop) {
            (Some(a), Some(b)) => Some((b - a) as f64 / 1e6),
            _ => None,
        };
        (start, stop, duration)
    }

    fn micros(self, ts: crate::model::Timestamp) -> i64 {
        match self {
            Layout::Seed => ts.micros_truncated(),
            Layout::Current => ts.micros_rounded(),
        }
    }
}

/// A failure or skip, as the stats list it.
#[derive(Debug, Clone)]
struct StatEntry {
    name: String,
    duration: Option<f64>,
    /// Seed layout only: traceback lines of a failure / reason of a skip.
    seed_details: SeedDetails,
}

#[derive(Debug, Clone)]
enum SeedDetails {
    None,
    Lines(Vec<String>),
    Text(String),
}

/// Run statistics as stackviz computes them.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    count: u64,
    start: Option<i64>,
    end: Option<i64>,
    /// `None` = Python's integer `0` (nothing summed yet).
    total: Option<f64>,
    failures: Vec<StatEntry>,
    skips: Vec<StatEntry>,
}

fn write_opt_iso(out: &mut Vec<u8>, micros: Option<i64>) {
    match micros {
        Some(m) => {
            let mut s = String::with_capacity(32);
            write_isoformat(&mut s, m);
            out.push(b'"');
            out.extend_from_slice(s.as_bytes());
            out.push(b'"');
        }
        None => out.extend_from_slice(b"null"),
    }
}

fn write_opt_float(out: &mut Vec<u8>, x: Option<f64>) {
    match x {
        Some(x) => pyjson::write_float(out, x),
        None => out.extend_from_slice(b"null"),
    }
}

impl Stats {
    /// Of them, the failures.
    pub fn failures(&self) -> u64 {
        self.failures.len() as u64
    }

    fn write_entries(out: &mut Vec<u8>, entries: &[StatEntry], layout: Layout) {
        out.push(b'[');
        let mut first = true;
        for e in entries {
            sep(out, &mut first);
            let mut details = Vec::new();
            match (&e.seed_details, layout) {
                (SeedDetails::Lines(lines), Layout::Seed) => {
                    details.push(b'[');
                    let mut f = true;
                    for l in lines {
                        sep(&mut details, &mut f);
                        write_str(&mut details, l);
                    }
                    details.push(b']');
                }
                (SeedDetails::Text(t), Layout::Seed) => write_str(&mut details, t),
                _ => details.extend_from_slice(b"null"),
            }
            let mut dur = Vec::new();
            write_opt_float(&mut dur, e.duration);
            let mut name = Vec::new();
            write_str(&mut name, &e.name);
            let fields: [(&str, &[u8]); 3] = match layout {
                Layout::Current => [("name", &name), ("duration", &dur), ("details", &details)],
                Layout::Seed => [("duration", &dur), ("name", &name), ("details", &details)],
            };
            write_object(out, &fields);
        }
        out.push(b']');
    }

    /// The stats object: today's `-stats.json` or the seed layout's inline `stats`.
    pub fn to_json(&self, layout: Layout) -> Vec<u8> {
        let mut count = Vec::new();
        count.extend_from_slice(self.count.to_string().as_bytes());
        let mut start = Vec::new();
        write_opt_iso(&mut start, self.start);
        let mut end = Vec::new();
        write_opt_iso(&mut end, self.end);
        let mut total = Vec::new();
        match self.total {
            Some(t) => pyjson::write_float(&mut total, t),
            None => total.push(b'0'),
        }
        let mut failures = Vec::new();
        Self::write_entries(&mut failures, &self.failures, layout);
        let mut skips = Vec::new();
        Self::write_entries(&mut skips, &self.skips, layout);
        let mut out = Vec::new();
        let fields: [(&str, &[u8]); 6] = match layout {
            Layout::Current => [
                ("count", &count),
                ("start", &start),
                ("end", &end),
                ("total_duration", &total),
                ("failures", &failures),
                ("skips", &skips),
            ],
            Layout::Seed => [
                ("count", &count),
                ("end", &end),
                ("skips", &skips),
                ("total_duration", &total),
                ("start", &start),
                ("failures", &failures),
            ],
        };
        write_object(&mut out, &fields);
        out
    }

    /// Records counted.
    pub fn count(&self) -> u64 {
        self.count
    }
}

fn push_status(buf: &mut Vec<u8>, status: &str) {
    buf.extend_from_slice(b", \"status\": \"");
    buf.extend_from_slice(status.as_bytes());
    buf.push(b'"');
}

fn push_tags(buf: &mut Vec<u8>, tags: &[String]) {
    buf.extend_from_slice(b", \"tags\": [");
    let mut f = true;
    for t in tags {
        sep(buf, &mut f);
        write_str(buf, t);
    }
    buf.push(b']');
}

fn push_timestamps(buf: &mut Vec<u8>, start: Option<i64>, stop: Option<i64>) {
    buf.extend_from_slice(b", \"timestamps\": [");
    write_opt_iso(buf, start);
    buf.extend_from_slice(b", ");
    write_opt_iso(buf, stop);
    buf.push(b']');
}

/// Writes `{"k": v, ...}` from pre-serialised values.
pub fn write_object(out: &mut Vec<u8>, fields: &[(&str, &[u8])]) {
    out.push(b'{');
    let mut first = true;
    for (k, v) in fields {
        sep(out, &mut first);
        key(out, k);
        out.extend_from_slice(v);
    }
    out.push(b'}');
}

/// details.json, streamed. A test name seen again keeps its first position and takes the
/// later value: the first pass writes values in place and remembers where; repeated
/// names are patched when the file is finished.
struct DetailsWriter {
    out: AtomicFile,
    gzip: bool,
    written: u64,
    spans: HashMap<String, (u64, u64), foldhash::fast::RandomState>,
    patches: HashMap<String, Vec<u8>, foldhash::fast::RandomState>,
    first: bool,
}

impl DetailsWriter {
    fn create(dir: &Path, name: &str, gzip: bool) -> io::Result<DetailsWriter> {
        let mut w = DetailsWriter {
            out: AtomicFile::create(dir, name, gzip)?,
            gzip,
            written: 0,
            spans: HashMap::default(),
            patches: HashMap::default(),
            first: true,
        };
        w.put(b"{")?;
        Ok(w)
    }

    fn put(&mut self, b: &[u8]) -> io::Result<()> {
        self.written += b.len() as u64;
        self.out.write_all(b)
    }

    fn entry(&mut self, name: &str, value: &[u8], scratch: &mut Vec<u8>) -> io::Result<()> {
        if self.spans.contains_key(name) {
            self.patches.insert(name.to_owned(), value.to_vec());
            return Ok(());
        }
        scratch.clear();
        sep(scratch, &mut self.first);
        key(scratch, name);
        self.put(scratch)?;
        let start = self.written;
        self.put(value)?;
        self.spans
            .insert(name.to_owned(), (start, value.len() as u64));
        Ok(())
    }

    /// Completes the file. Without repeated names that is all; otherwise a second pass
    /// copies it with the later values in place of the first ones.
    fn finish(mut self, dir: &Path, name: &str) -> io::Result<String> {
        self.put(b"}")?;
        if self.patches.is_empty() {
            let n = self.out.file_name();
            self.out.commit()?;
            return Ok(n);
        }
        let first = File::open(self.out.finish_data()?)?;
        let mut input: Box<dyn Read> = if self.gzip {
            Box::new(flate2::read::GzDecoder::new(BufReader::with_capacity(
                256 << 10,
                first,
            )))
        } else {
            Box::new(BufReader::with_capacity(256 << 10, first))
        };
        let mut out = AtomicFile::create(dir, name, self.gzip)?;
        let mut edits: Vec<(u64, u64, &[u8])> = self
            .patches
            .iter()
            .map(|(k, v)| (self.spans[k].0, self.spans[k].1, v.as_slice()))
            .collect();
        edits.sort_by_key(|e| e.0);
        let mut pos = 0u64;
        for (start, len, value) in edits {
            io::copy(&mut (&mut input).take(start - pos), &mut out)?;
            io::copy(&mut (&mut input).take(len), &mut io::sink())?;
            out.write_all(value)?;
            pos = start + len;
        }
        io::copy(&mut input, &mut out)?;
        let n = out.file_name();
        out.commit()?;
        Ok(n)
    }
}

/// Counts of attachments not exported as the text they claim to be.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DetailNotes {
    /// Attachments that are not text, exported as `data:` URIs.
    pub binary: u64,
    /// Attachments with bytes invalid in their charset.
    pub undecodable: u64,
    /// Attachments in a charset we do not know.
    pub unknown_charset: u64,
    /// Records without a start or end time.
    pub untimed_records: u64,
}

impl DetailNotes {
    fn add(&mut self, o: DetailNotes) {
        self.binary += o.binary;
        self.undecodable += o.undecodable;
        self.unknown_charset += o.unknown_charset;
        self.untimed_records += o.untimed_records;
    }
}

/// Renders a record's details object: attachment names stripped to keys, values decoded
/// by charset; on a key collision the first position is kept with the last value
/// (current layout) or the first value (seed layout). Pure, so it can run on the
/// reading thread.
pub struct DetailsRenderer {
    layout: Layout,
    values: Vec<u8>,
    keys: Vec<(String, std::ops::Range<usize>)>,
}

impl DetailsRenderer {
    /// A renderer for `layout`.
    pub fn new(layout: Layout) -> DetailsRenderer {
        DetailsRenderer {
            layout,
            values: Vec::with_capacity(64 << 10),
            keys: Vec::new(),
        }
    }

    /// Appends the record's details object to `out`.
    pub fn render(&mut self, rec: &TestRecord, out: &mut Vec<u8>) -> DetailNotes {
        let mut notes = DetailNotes::default();
        let (keys, values) = (&mut self.keys, &mut self.values);
        keys.clear();
        values.clear();
        for att in &rec.attachments {
            let start_at = values.len();
            let (empty, note) = details::write_value(values, att);
            match note {
                Some(Note::Binary) => notes.binary += 1,
                Some(Note::Undecodable) => notes.undecodable += 1,
                Some(Note::UnknownCharset) => notes.unknown_charset += 1,
                None => {}
            }
            if empty {
                continue;
            }
            let k = strip_detail_key(&att.name, self.layout == Layout::Current);
            let range = start_at..values.len();
            match keys.iter_mut().find(|(existing, _)| *existing == k) {
                Some(slot) if self.layout == Layout::Current => slot.1 = range,
                Some(_) => {}
                None => keys.push((k, range)),
            }
        }
        out.push(b'{');
        let mut f = true;
        for (k, range) in keys.iter() {
            sep(out, &mut f);
            key(out, k);
            out.extend_from_slice(&values[range.clone()]);
        }
        out.push(b'}');
        notes
    }
}

/// How a seed leaf's fields start (what follows is the name, then the fields it shares
/// with the raw entry).
const LEAF_NAME: &[u8] = b", \"name_full\": ";

/// Where a [`RecordRenderer`] put each part of a record in the bytes it appended.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    /// What was noticed while rendering its attachments.
    pub notes: DetailNotes,
    /// The details.json value.
    details: std::ops::Range<usize>,
    /// Seed layout: the tree leaf's fields after `name`.
    leaf: std::ops::Range<usize>,
}

/// Renders the parts of a record that do not depend on the records before it and cost
/// the most: its details object and (seed layout) its tree leaf fields. Pure, so it
/// runs on the reading thread; the writer makes the small raw entry, which balances
/// the two threads.
pub struct RecordRenderer {
    layout: Layout,
    details: DetailsRenderer,
}

impl RecordRenderer {
    /// A renderer for `layout`.
    pub fn new(layout: Layout) -> RecordRenderer {
        RecordRenderer {
            layout,
            details: DetailsRenderer::new(layout),
        }
    }

    /// The current layout's raw.json entry.
    fn current_raw(rec: &TestRecord, out: &mut Vec<u8>) {
        let (start, stop, duration) = Layout::Current.times(rec);
        out.extend_from_slice(b"{\"name\": ");
        write_str(out, &clean_test_name(&rec.id));
        push_status(out, rec.status.as_str());
        push_tags(out, &rec.tags);
        push_timestamps(out, start, stop);
        out.extend_from_slice(b", \"duration\": ");
        write_opt_float(out, duration);
        out.extend_from_slice(b", \"details\": {}}");
    }

    /// Appends the record's parts to `out`; the ranges returned are relative to what
    /// was appended.
    pub fn render(&mut self, rec: &TestRecord, out: &mut Vec<u8>) -> Rendered {
        let base = out.len();
        let name = clean_test_name(&rec.id);
        let (start, stop, duration) = self.layout.times(rec);
        let details_start = out.len();
        let mut notes = self.details.render(rec, out);
        if duration.is_none() {
            notes.untimed_records += 1;
        }
        let details = details_start - base..out.len() - base;
        let leaf_start = out.len();
        if self.layout == Layout::Seed {
            // The writer makes the raw entry from these bytes: the same fields, with
            // `name` for `name_full` and the status in front.
            out.extend_from_slice(LEAF_NAME);
            write_str(out, &name);
            push_tags(out, &rec.tags);
            out.extend_from_slice(b", \"details\": {}, \"duration\": ");
            write_opt_float(out, duration);
            push_timestamps(out, start, stop);
        }
        let leaf = leaf_start - base..out.len() - base;
        Rendered {
            notes,
            details,
            leaf,
        }
    }
}

/// The files of one dataset (one input, or one repository run).
#[derive(Debug, Clone)]
pub struct DatasetFiles {
    /// The raw file's name.
    pub raw: String,
    /// The details file's name.
    pub details: String,
    /// Current layout: the stats file. Seed layout: the tree file.
    pub third: String,
    /// Seed layout: the stats object that goes inline into config.json.
    pub inline_stats: Option<Vec<u8>>,
    /// What was noticed in the attachments.
    pub notes: DetailNotes,
    /// The dataset's statistics.
    pub stats: Stats,
}

/// Writes one dataset's data files as records arrive.
pub struct DatasetWriter {
    layout: Layout,
    dir: PathBuf,
    gzip: bool,
    names: [String; 3],
    raw: AtomicFile,
    raw_first: bool,
    details: Option<DetailsWriter>,
    stats: Stats,
    tree: SeedTree,
    notes: DetailNotes,
    inner: Vec<u8>,
    renderer: RecordRenderer,
    scratch: Vec<u8>,
    error: Option<io::Error>,
}

impl DatasetWriter {
    /// Starts the files of dataset `index` of provider `provider`.
    pub fn create(
        dir: &Path,
        layout: Layout,
        provider: &str,
        index: usize,
        gzip: bool,
    ) -> io::Result<DatasetWriter> {
        let names = match layout {
            Layout::Current => {
                ["raw", "details", "stats"].map(|kind| format!("{provider}-{index}-{kind}.json"))
            }
            Layout::Seed => ["raw", "details", "tree"]
                .map(|kind| format!("tempest_{provider}_{index}_{kind}.json")),
        };
        let mut raw = AtomicFile::create(dir, &names[0], gzip)?;
        raw.write_all(b"[")?;
        let details = DetailsWriter::create(dir, &names[1], gzip)?;
        Ok(DatasetWriter {
            layout,
            dir: dir.to_path_buf(),
            gzip,
            names,
            raw,
            raw_first: true,
            details: Some(details),
            stats: Stats::default(),
            tree: SeedTree::new(),
            notes: DetailNotes::default(),
            inner: Vec::with_capacity(64 << 10),
            renderer: RecordRenderer::new(layout),
            scratch: Vec::new(),
            error: None,
        })
    }

    /// Adds one record. A write error is kept and returned by `finish`.
    pub fn record(&mut self, rec: &TestRecord) {
        self.record_with(rec, None);
    }

    /// Adds one record already rendered by a [`RecordRenderer`] of this layout (possibly
    /// on another thread): `bytes` is what it appended, `rendered` what it returned.
    pub fn record_prerendered(&mut self, rec: &TestRecord, bytes: &[u8], rendered: &Rendered) {
        self.record_with(rec, Some((bytes, rendered)));
    }

    fn record_with(&mut self, rec: &TestRecord, prerendered: Option<(&[u8], &Rendered)>) {
        if self.error.is_none()
            && let Err(e) = self.write_record(rec, prerendered)
        {
            self.error = Some(e);
        }
    }

    fn write_record(
        &mut self,
        rec: &TestRecord,
        prerendered: Option<(&[u8], &Rendered)>,
    ) -> io::Result<()> {
        let (bytes, r) = match prerendered {
            Some((bytes, r)) => (bytes, r.clone()),
            None => {
                self.inner.clear();
                let r = self.renderer.render(rec, &mut self.inner);
                (self.inner.as_slice(), r)
            }
        };
        let layout = self.layout;
        self.notes.add(r.notes);
        let name = clean_test_name(&rec.id);

        // raw.json entry
        self.scratch.clear();
        sep(&mut self.scratch, &mut self.raw_first);
        match layout {
            Layout::Current => RecordRenderer::current_raw(rec, &mut self.scratch),
            Layout::Seed => {
                self.scratch.extend_from_slice(b"{\"status\": \"");
                self.scratch
                    .extend_from_slice(rec.status.as_str().as_bytes());
                self.scratch.extend_from_slice(b"\", \"name\": ");
                self.scratch
                    .extend_from_slice(&bytes[r.leaf.start + LEAF_NAME.len()..r.leaf.end]);
                self.scratch.push(b'}');
            }
        }
        self.raw.write_all(&self.scratch)?;

        // details.json entry
        if let Some(d) = self.details.as_mut() {
            d.entry(&name, &bytes[r.details.clone()], &mut self.scratch)?;
        }

        // stats
        let (start, stop, duration) = layout.times(rec);
        let st = &mut self.stats;
        st.count += 1;
        if let Some(s) = start {
            st.start = Some(st.start.map_or(s, |m| m.min(s)));
        }
        if let Some(e) = stop {
            st.end = Some(st.end.map_or(e, |m| m.max(e)));
        }
        if let Some(d) = duration {
            st.total = Some(st.total.unwrap_or(0.0) + d);
        }
        match rec.status {
            Status::Fail => {
                let seed_details = match rec
                    .attachments
                    .iter()
                    .find(|a| strip_detail_key(&a.name, false) == "traceback")
                {
                    Some(a) if layout == Layout::Seed => {
                        let text = a.text();
                        let lines: Vec<&str> = text.trim().split('\n').collect();
                        let last = lines.last().copied().unwrap_or("");
                        if lines.len() >= 2 && last.contains("Details") {
                            SeedDetails::Lines(vec![
                                lines[lines.len() - 2].to_owned(),
                                last.to_owned(),
                            ])
                        } else {
                            SeedDetails::Lines(vec![last.to_owned()])
                        }
                    }
                    _ => SeedDetails::None,
                };
                st.failures.push(StatEntry {
                    name: name.clone().into_owned(),
                    duration,
                    seed_details,
                });
            }
            Status::Skip => {
                let seed_details = match rec.attachments.iter().find(|a| a.name == "reason") {
                    Some(a) if layout == Layout::Seed => SeedDetails::Text(a.text()),
                    _ => SeedDetails::None,
                };
                st.skips.push(StatEntry {
                    name: name.clone().into_owned(),
                    duration,
                    seed_details,
                });
            }
            _ => {}
        }

        if layout == Layout::Seed {
            self.tree.add(&name, rec.status, &bytes[r.leaf.clone()]);
        }
        Ok(())
    }

    /// Completes every file and returns their names and the stats.
    pub fn finish(mut self) -> io::Result<DatasetFiles> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.raw.write_all(b"]")?;
        let raw_name = self.raw.file_name();
        let DatasetWriter {
            layout,
            dir,
            gzip,
            names,
            raw,
            mut details,
            stats,
            tree,
            notes,
            ..
        } = self;
        raw.commit()?;
        let details_name = details
            .take()
            .expect("present until finish")
            .finish(&dir, &names[1])?;
        let stats_json = stats.to_json(layout);
        let (third, inline_stats) = match layout {
            Layout::Current => (
                super::output::write_file(&dir, &names[2], gzip, &stats_json)?,
                None,
            ),
            Layout::Seed => {
                let mut f = AtomicFile::create(&dir, &names[2], gzip)?;
                tree.write(&mut f)?;
                let name = f.file_name();
                f.commit()?;
                (name, Some(stats_json))
            }
        };
        Ok(DatasetFiles {
            raw: raw_name,
            details: details_name,
            third,
            inline_stats,
            notes,
            stats,
        })
    }
}
