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

/// One leaf of the seed layout's tree (details are always empty there).
struct Leaf {
    name_full: String,
    status: Status,
    /// The leaf's fields after `name`, already in JSON: `, "tags": [...], "name_full":
    /// ..., "details": {}, "duration": ..., "timestamps": [...]`.
    fields: Box<[u8]>,
}

/// One node of the seed tree; children are indices into the arena.
#[derive(Default)]
struct Node {
    name: Option<String>,
    children: Option<Vec<usize>>,
    /// Child positions by name, built once a node has many children.
    index: Option<HashMap<Box<str>, usize, foldhash::fast::RandomState>>,
    leaf: Option<usize>,
}

/// Children before a node gets a name index (a linear scan is faster below this).
const INDEX_AFTER: usize = 4;

/// The seed tree in an arena (node 0 is the root): building, writing and dropping it
/// never recurse, so a test id with a million dots cannot overflow the stack.
struct Tree {
    nodes: Vec<Node>,
}

impl Tree {
    /// The first child of `parent` named `part`, created at the end if there is none.
    fn child(&mut self, parent: usize, part: &str) -> usize {
        let found = {
            let p = &self.nodes[parent];
            match (&p.index, &p.children) {
                (Some(index), _) => index.get(part).copied(),
                (None, Some(children)) => children
                    .iter()
                    .copied()
                    .find(|&c| self.nodes[c].name.as_deref() == Some(part)),
                (None, None) => None,
            }
        };
        if let Some(c) = found {
            return c;
        }
        let id = self.nodes.len();
        self.nodes.push(Node {
            name: Some(part.to_owned()),
            ..Node::default()
        });
        let children = self.nodes[parent].children.get_or_insert_with(Vec::new);
        children.push(id);
        let n = children.len();
        if let Some(index) = &mut self.nodes[parent].index {
            index.insert(part.into(), id);
        } else if n > INDEX_AFTER {
            let mut index: HashMap<Box<str>, usize, foldhash::fast::RandomState> =
                HashMap::default();
            for &c in self.nodes[parent].children.as_deref().unwrap_or_default() {
                // the first child of a name wins, as in a linear scan
                index
                    .entry(
                        self.nodes[c]
                            .name
                            .clone()
                            .unwrap_or_default()
                            .into_boxed_str(),
                    )
                    .or_insert(c);
            }
            self.nodes[parent].index = Some(index);
        }
        id
    }
}

/// Counts of attachments not exported as the text they claim to be.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DetailNotes {
    pub binary: u64,
    pub undecodable: u64,
    pub unknown_charset: u64,
    pub untimed_records: u64,
}

/// The files of one dataset (one input, or one repository run).
#[derive(Debug, Clone)]
pub struct DatasetFiles {
    pub raw: String,
    pub details: String,
    /// Current layout: the stats file. Seed layout: the tree file.
    pub third: String,
    /// Seed layout: the stats object that goes inline into config.json.
    pub inline_stats: Option<Vec<u8>>,
    pub notes: DetailNotes,
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
    leaves: Vec<Leaf>,
    notes: DetailNotes,
    buf: Vec<u8>,
    inner: Vec<u8>,
    values: Vec<u8>,
    keys: Vec<(String, std::ops::Range<usize>)>,
    scratch: Vec<u8>,
    /// Seed layout: the fields a raw record shares with its tree leaf.
    tail: Vec<u8>,
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
            leaves: Vec::new(),
            notes: DetailNotes::default(),
            buf: Vec::with_capacity(64 << 10),
            inner: Vec::with_capacity(64 << 10),
            values: Vec::with_capacity(64 << 10),
            keys: Vec::new(),
            scratch: Vec::new(),
            tail: Vec::new(),
            error: None,
        })
    }

    /// Adds one record. A write error is kept and returned by `finish`.
    pub fn record(&mut self, rec: TestRecord) {
        if self.error.is_none()
            && let Err(e) = self.write_record(rec)
        {
            self.error = Some(e);
        }
    }

    fn write_record(&mut self, rec: TestRecord) -> io::Result<()> {
        let layout = self.layout;
        let name = clean_test_name(&rec.id).into_owned();
        let start = rec.start.map(|t| layout.micros(t));
        let stop = rec.stop.map(|t| layout.micros(t));
        let duration = match (start, stop) {
            (Some(a), Some(b)) => Some((b - a) as f64 / 1e6),
            _ => None,
        };
        if duration.is_none() {
            self.notes.untimed_records += 1;
        }

        // raw.json entry
        let buf = &mut self.buf;
        buf.clear();
        sep(buf, &mut self.raw_first);
        let status = rec.status.as_str();
        match layout {
            Layout::Current => {
                buf.extend_from_slice(b"{\"name\": ");
                write_str(buf, &name);
                push_status(buf, status);
                push_tags(buf, &rec.tags);
                push_timestamps(buf, start, stop);
                buf.extend_from_slice(b", \"duration\": ");
                write_opt_float(buf, duration);
                buf.extend_from_slice(b", \"details\": {}}");
            }
            Layout::Seed => {
                // The fields a raw record shares with its tree leaf, rendered once.
                let tail = &mut self.tail;
                tail.clear();
                push_tags(tail, &rec.tags);
                tail.extend_from_slice(b", \"details\": {}, \"duration\": ");
                write_opt_float(tail, duration);
                push_timestamps(tail, start, stop);
                buf.extend_from_slice(b"{\"status\": \"");
                buf.extend_from_slice(status.as_bytes());
                buf.extend_from_slice(b"\", \"name\": ");
                write_str(buf, &name);
                buf.extend_from_slice(tail);
                buf.push(b'}');
            }
        }
        self.raw.write_all(buf)?;

        // details.json entry: stripped keys, first position; last value (current) or
        // first value (seed) on a collision.
        let inner = &mut self.inner;
        inner.clear();
        let keys = &mut self.keys;
        keys.clear();
        let values = &mut self.values;
        values.clear();
        for att in &rec.attachments {
            let start_at = values.len();
            let (empty, note) = details::write_value(values, att);
            match note {
                Some(Note::Binary) => self.notes.binary += 1,
                Some(Note::Undecodable) => self.notes.undecodable += 1,
                Some(Note::UnknownCharset) => self.notes.unknown_charset += 1,
                None => {}
            }
            if empty {
                continue;
            }
            let k = strip_detail_key(&att.name, layout == Layout::Current);
            let range = start_at..values.len();
            match keys.iter_mut().find(|(existing, _)| *existing == k) {
                Some(slot) if layout == Layout::Current => slot.1 = range,
                Some(_) => {}
                None => keys.push((k, range)),
            }
        }
        inner.push(b'{');
        let mut f = true;
        for (k, range) in keys.iter() {
            sep(inner, &mut f);
            key(inner, k);
            inner.extend_from_slice(&values[range.clone()]);
        }
        inner.push(b'}');
        if let Some(d) = self.details.as_mut() {
            d.entry(&name, inner, &mut self.scratch)?;
        }

        // stats
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
                        let text = details::text(a);
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
                    name: name.clone(),
                    duration,
                    seed_details,
                });
            }
            Status::Skip => {
                let seed_details = match rec.attachments.iter().find(|a| a.name == "reason") {
                    Some(a) if layout == Layout::Seed => SeedDetails::Text(details::text(a)),
                    _ => SeedDetails::None,
                };
                st.skips.push(StatEntry {
                    name: name.clone(),
                    duration,
                    seed_details,
                });
            }
            _ => {}
        }

        if layout == Layout::Seed {
            let mut f = Vec::with_capacity(name.len() + self.tail.len() + 16);
            f.extend_from_slice(b", \"name_full\": ");
            write_str(&mut f, &name);
            f.extend_from_slice(&self.tail);
            self.leaves.push(Leaf {
                name_full: name,
                status: rec.status,
                fields: f.into_boxed_slice(),
            });
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
            leaves,
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
                let tree = build_tree(&leaves);
                let mut f = AtomicFile::create(&dir, &names[2], gzip)?;
                write_tree(&mut f, &tree, &leaves)?;
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

/// The seed layout's tree: names split on `.`, the first segment naming the root.
fn build_tree(leaves: &[Leaf]) -> Tree {
    let mut tree = Tree {
        nodes: vec![Node::default()],
    };
    for (i, leaf) in leaves.iter().enumerate() {
        let mut parts = leaf.name_full.split('.');
        let first = parts.next().unwrap_or("");
        tree.nodes[0].name = Some(first.to_owned());
        let mut node = 0;
        let mut last = first;
        for part in parts {
            last = part;
            node = tree.child(node, part);
        }
        tree.nodes[node].leaf = Some(i);
        tree.nodes[node].name = Some(last.to_owned());
    }
    tree
}

/// Writes the tree depth first with an explicit stack, flushing to `w` as it goes.
fn write_tree(w: &mut impl Write, tree: &Tree, leaves: &[Leaf]) -> io::Result<()> {
    let mut out = Vec::with_capacity(1 << 20);
    // (node, how many of its children are written so far)
    let mut stack: Vec<(usize, usize)> = vec![(0, 0)];
    open_node(&mut out, &tree.nodes[0], leaves);
    while let Some(top) = stack.last_mut() {
        if out.len() > 512 << 10 {
            w.write_all(&out)?;
            out.clear();
        }
        let (id, done) = *top;
        let children = tree.nodes[id].children.as_deref().unwrap_or_default();
        if done < children.len() {
            top.1 += 1;
            if done > 0 {
                out.extend_from_slice(b", ");
            }
            let c = children[done];
            open_node(&mut out, &tree.nodes[c], leaves);
            stack.push((c, 0));
        } else {
            if tree.nodes[id].children.is_some() {
                out.push(b']');
            }
            out.push(b'}');
            stack.pop();
        }
    }
    w.write_all(&out)
}

/// Writes a node's fields up to (and including) the opening of its `children` list.
fn open_node(out: &mut Vec<u8>, node: &Node, leaves: &[Leaf]) {
    out.push(b'{');
    let mut first = true;
    if let Some(i) = node.leaf {
        sep(out, &mut first);
        key(out, "status");
        out.push(b'"');
        out.extend_from_slice(leaves[i].status.as_str().as_bytes());
        out.push(b'"');
    }
    if let Some(name) = &node.name {
        sep(out, &mut first);
        key(out, "name");
        write_str(out, name);
    }
    if let Some(i) = node.leaf {
        out.extend_from_slice(&leaves[i].fields);
    }
    if node.children.is_some() {
        sep(out, &mut first);
        key(out, "children");
        out.push(b'[');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(name: &str) -> Leaf {
        Leaf {
            name_full: name.to_owned(),
            status: Status::Success,
            fields: b"".as_slice().into(),
        }
    }

    fn tree_json(names: &[&str]) -> String {
        let leaves: Vec<Leaf> = names.iter().map(|n| leaf(n)).collect();
        let mut out = Vec::new();
        write_tree(&mut out, &build_tree(&leaves), &leaves).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn tree_follows_the_seed_rules() {
        assert_eq!(tree_json(&[]), "{}");
        assert_eq!(
            tree_json(&["a.b.c", "a.b.d", "z.b"]),
            // the root takes the last record's first segment; `z.b` lands on `a.b`'s node
            r#"{"name": "z", "children": [{"status": "success", "name": "b", "children": [{"status": "success", "name": "c"}, {"status": "success", "name": "d"}]}]}"#
        );
        // many children switch to the name index without changing the output
        let names: Vec<String> = (0..20).map(|i| format!("p.C.t{}", i % 10)).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let json = tree_json(&refs);
        assert_eq!(json.matches("\"name\": \"t").count(), 10, "{json}");
    }

    #[test]
    fn a_test_id_with_a_million_dots_does_not_overflow_the_stack() {
        let name = format!("a{}", ".x".repeat(1_000_000));
        let json = tree_json(&[&name]);
        assert!(json.starts_with(r#"{"name": "a", "children": [{"name": "x""#));
        assert_eq!(json.matches('{').count(), 1_000_001);
    }
}
