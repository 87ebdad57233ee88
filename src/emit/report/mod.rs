//! The run report: one self-contained HTML page per run, that opens 10 000 tests at
//! once. The page is the app (hand-written JS and CSS from `templates/report/`,
//! inlined), then a small columnar index of every test and attempt, then the
//! attachments in compressed chunks that the page decodes per test, on demand.
//!
//! A [`ReportBuilder`] takes the run's records as they are read (bounded memory: the
//! attachments go straight to compressed chunks in a scratch file, only the index
//! stays), applies the [`SizePolicy`], and writes the page atomically. The same input
//! gives the same bytes.

pub mod chunks;
pub mod page;
pub mod policy;

use std::collections::HashMap;
use std::io;
use std::path::Path;

use serde_json::{Map, Value, json};

use crate::ingest::ReadReport;
use crate::model::resources::Resources;
use crate::model::text::parse_mime;
use crate::model::triage::Triage;
use crate::model::{Problem, Status, TestRecord, Timestamp, test_name};
use chunks::ChunkWriter;
pub use policy::{Kept, PolicyState, SizePolicy};

/// The statuses, in the order the page's index numbers them.
pub const STATUSES: [Status; 8] = Status::ALL;

#[derive(Debug, Default)]
struct Strings {
    list: Vec<String>,
    index: HashMap<String, u32>,
}

impl Strings {
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.list.len() as u32;
        self.list.push(s.to_owned());
        self.index.insert(s.to_owned(), i);
        i
    }
}

#[derive(Debug)]
struct TestEntry {
    id: String,
    name: String,
    attempts: Vec<u32>,
}

#[derive(Debug)]
struct AttemptEntry {
    test: u32,
    status: Status,
    worker: Option<u32>,
    tags: Vec<u32>,
    start: Option<Timestamp>,
    stop: Option<Timestamp>,
    input: u32,
    message: Option<String>,
    first_att: u32,
    atts: u32,
}

#[derive(Debug)]
struct AttEntry {
    name: u32,
    mime: u32,
    binary: bool,
    chunk: Option<chunks::Placement>,
    len: usize,
    original: usize,
    kept: Kept,
}

/// One input of the run, as the page's run info shows it.
#[derive(Debug, Clone, Default)]
pub struct InputInfo {
    /// Its name.
    pub label: String,
    /// What reading it found.
    pub report: ReadReport,
}

/// What the page says about the run besides its tests.
#[derive(Debug, Clone, Default)]
pub struct ReportMeta {
    /// The page's title.
    pub title: String,
    /// CI metadata to show (name, value), in order.
    pub ci: Vec<(String, String)>,
    /// The generator's name and version.
    pub generator: String,
}

/// Resource samples and what reading them found.
#[derive(Debug, Clone, Default)]
pub struct ResourceInput {
    /// The file's name.
    pub label: String,
    /// The samples.
    pub resources: Resources,
    /// Problems found reading them.
    pub problems: Vec<Problem>,
    /// Every problem, counted.
    pub problem_count: u64,
}

/// Builds a run report; see the module's documentation.
pub struct ReportBuilder {
    chunks: ChunkWriter,
    policy: PolicyState,
    strings: Strings,
    tests: Vec<TestEntry>,
    by_id: HashMap<String, u32>,
    attempts: Vec<AttemptEntry>,
    atts: Vec<AttEntry>,
    inputs: Vec<InputInfo>,
    resources: Option<ResourceInput>,
    start: Option<Timestamp>,
    stop: Option<Timestamp>,
    scratch: Vec<u8>,
    triage: Triage,
    baseline: Option<(String, Triage)>,
}

impl ReportBuilder {
    /// A builder whose scratch file goes in `dir` (the output's directory).
    pub fn new(dir: &Path, policy: SizePolicy) -> io::Result<ReportBuilder> {
        Ok(ReportBuilder {
            chunks: ChunkWriter::new(dir)?,
            policy: PolicyState::new(policy),
            strings: Strings::default(),
            tests: Vec::new(),
            by_id: HashMap::new(),
            attempts: Vec::new(),
            atts: Vec::new(),
            inputs: Vec::new(),
            resources: None,
            start: None,
            stop: None,
            scratch: Vec::new(),
            triage: Triage::default(),
            baseline: None,
        })
    }

    /// Starts an input; its records follow.
    pub fn begin_input(&mut self, label: &str) {
        self.inputs.push(InputInfo {
            label: label.to_owned(),
            report: ReadReport::default(),
        });
    }

    /// Ends the current input with what reading it found.
    pub fn end_input(&mut self, report: ReadReport) {
        if let Some(i) = self.inputs.last_mut() {
            i.report = report;
        }
    }

    /// Adds an earlier run of the same suite to compare with (named `label`).
    pub fn set_baseline(&mut self, label: &str, baseline: Triage) {
        self.baseline = Some((label.to_owned(), baseline));
    }

    /// Adds the resource samples of the run.
    pub fn set_resources(&mut self, r: ResourceInput) {
        self.resources = Some(r);
    }

    /// Tests so far.
    pub fn tests(&self) -> usize {
        self.tests.len()
    }

    /// The year (UTC) the run started in, if it has times (for dstat logs without a
    /// `Date:` header).
    pub fn start_year(&self) -> Option<i64> {
        let days = self.start?.secs.div_euclid(86_400);
        Some(crate::model::time::civil_from_days(days).0)
    }

    /// Adds one record: an attempt of its test (a test id seen again, in this input or
    /// a later one, is another attempt). Its attachments go to the chunks as the size
    /// policy allows.
    pub fn add_record(&mut self, r: &TestRecord) -> io::Result<()> {
        self.triage.add(r);
        let test = match self.by_id.get(&r.id) {
            Some(&t) => t,
            None => {
                let t = self.tests.len() as u32;
                self.tests.push(TestEntry {
                    id: r.id.clone(),
                    name: test_name(&r.id).into_owned(),
                    attempts: Vec::new(),
                });
                self.by_id.insert(r.id.clone(), t);
                t
            }
        };
        // an attempt of a test that failed before (a flaky test's rerun) keeps its logs
        // as a failure's: the two are read side by side
        let failed_before = self.tests[test as usize]
            .attempts
            .iter()
            .any(|&a| self.attempts[a as usize].status.is_failure());
        let failing = r.status.is_failure() || failed_before;
        let first_att = self.atts.len() as u32;
        for a in &r.attachments {
            let mime = a.mime.as_deref().unwrap_or("");
            let binary = !parse_mime(mime).0;
            self.scratch.clear();
            if binary {
                self.scratch.extend_from_slice(&a.data);
            } else {
                self.scratch.extend_from_slice(a.text().as_bytes());
            }
            let kept = self.policy.apply(&self.scratch, failing, binary);
            let stored: &[u8] = match kept {
                Kept::Whole => &self.scratch,
                Kept::HeadTail { head, tail, .. } => {
                    let n = self.scratch.len();
                    self.scratch.copy_within(n - tail..n, head);
                    &self.scratch[..head + tail]
                }
                Kept::Dropped => &[],
            };
            let chunk = if stored.is_empty() {
                None
            } else {
                Some(self.chunks.put(failing, stored)?)
            };
            let len = stored.len();
            let original = match kept {
                Kept::Whole => len,
                Kept::HeadTail { omitted, .. } => len + omitted,
                Kept::Dropped => self.scratch.len(),
            };
            let (name, mime) = (self.strings.intern(&a.name), self.strings.intern(mime));
            self.atts.push(AttEntry {
                name,
                mime,
                binary,
                chunk,
                len,
                original,
                kept,
            });
        }
        let worker = r.worker().map(|w| self.strings.intern(&w));
        let tags = r.tags.iter().map(|t| self.strings.intern(t)).collect();
        for t in [r.start, r.stop].into_iter().flatten() {
            self.start = Some(self.start.map_or(t, |s| s.min(t)));
            self.stop = Some(self.stop.map_or(t, |s| s.max(t)));
        }
        let attempt = self.attempts.len() as u32;
        self.attempts.push(AttemptEntry {
            test,
            status: r.status,
            worker,
            tags,
            start: r.start,
            stop: r.stop,
            input: self.inputs.len().saturating_sub(1) as u32,
            message: r.status.is_failure().then(|| r.failure_message()).flatten(),
            first_att,
            atts: self.atts.len() as u32 - first_att,
        });
        self.tests[test as usize].attempts.push(attempt);
        Ok(())
    }

    /// The index the page reads first (see `templates/report/store.js`).
    fn index(&self, meta: &ReportMeta, chunk_count: usize) -> Value {
        let base = self.start.map(|t| t.as_nanos());
        let us = |t: Option<Timestamp>| -> Value {
            match (t, base) {
                (Some(t), Some(b)) => json!(((t.as_nanos() - b) / 1000) as i64),
                _ => Value::Null,
            }
        };
        let status_code = |s: Status| STATUSES.iter().position(|x| *x == s).unwrap_or(0);
        let mut ids = Map::new();
        for (i, t) in self.tests.iter().enumerate() {
            if t.id != t.name {
                ids.insert(i.to_string(), json!(t.id));
            }
        }
        let tests = json!({
            "name": self.tests.iter().map(|t| &t.name).collect::<Vec<_>>(),
            "id": ids,
            "attempts": self.tests.iter().map(|t| &t.attempts).collect::<Vec<_>>(),
        });
        let mut messages = Map::new();
        for (i, a) in self.attempts.iter().enumerate() {
            if let Some(m) = &a.message {
                messages.insert(i.to_string(), json!(m));
            }
        }
        let attempts = json!({
            "test": self.attempts.iter().map(|a| a.test).collect::<Vec<_>>(),
            "status": self.attempts.iter().map(|a| status_code(a.status)).collect::<Vec<_>>(),
            "worker": self.attempts.iter().map(|a| a.worker.map_or(-1, i64::from)).collect::<Vec<_>>(),
            "tags": self.attempts.iter().map(|a| &a.tags).collect::<Vec<_>>(),
            "start": self.attempts.iter().map(|a| us(a.start)).collect::<Vec<_>>(),
            "stop": self.attempts.iter().map(|a| us(a.stop)).collect::<Vec<_>>(),
            "input": self.attempts.iter().map(|a| a.input).collect::<Vec<_>>(),
            "att": self.attempts.iter().map(|a| a.first_att).collect::<Vec<_>>(),
            "natt": self.attempts.iter().map(|a| a.atts).collect::<Vec<_>>(),
            "message": messages,
        });
        let atts = json!({
            "name": self.atts.iter().map(|a| a.name).collect::<Vec<_>>(),
            "mime": self.atts.iter().map(|a| a.mime).collect::<Vec<_>>(),
            "binary": self.atts.iter().map(|a| u8::from(a.binary)).collect::<Vec<_>>(),
            "chunk": self.atts.iter().map(|a| a.chunk.map_or(-1, |c| i64::from(c.chunk))).collect::<Vec<_>>(),
            "off": self.atts.iter().map(|a| a.chunk.map_or(0, |c| c.offset)).collect::<Vec<_>>(),
            "len": self.atts.iter().map(|a| a.len).collect::<Vec<_>>(),
            "orig": self.atts.iter().map(|a| a.original).collect::<Vec<_>>(),
            "head": self.atts.iter().map(|a| match a.kept {
                Kept::HeadTail { head, .. } => head as i64,
                _ => -1,
            }).collect::<Vec<_>>(),
        });
        let inputs: Vec<Value> = self
            .inputs
            .iter()
            .map(|i| {
                let r = &i.report;
                json!({
                    "label": i.label,
                    "bytes": r.bytes,
                    "format": match r.format {
                        Some(crate::ingest::Format::V1) => "subunit v1",
                        _ => "subunit v2",
                    },
                    "gzip": r.compression == crate::ingest::input::Compression::Gzip,
                    "records": r.records,
                    "otherBytes": r.passthrough_bytes,
                    "problems": r.problems.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
                    "problemCount": r.problem_count,
                    "listed": r.listed,
                    "listedNotRun": r.listed_not_run,
                })
            })
            .collect();
        let resources = self.resources.as_ref().map(|r| {
            let res = &r.resources;
            let base_ns = base.unwrap_or_else(|| res.times_ns.first().copied().unwrap_or(0).into());
            json!({
                "label": r.label,
                "tool": res.tool,
                "host": res.host,
                "cmdline": res.cmdline,
                "problems": r.problems.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
                "problemCount": r.problem_count,
                "t": res.times_ns.iter().map(|&t| ((i128::from(t) - base_ns) / 1_000_000) as i64).collect::<Vec<_>>(),
                "columns": res.columns.iter().map(|c| json!({
                    "group": c.group,
                    "name": c.name,
                    "v": c.values.iter().map(|&v| if v.is_finite() { json!(v) } else { Value::Null }).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        });
        let triage = self.triage_index();
        let p = &self.policy;
        json!({
            "version": 1,
            "generator": meta.generator,
            "title": meta.title,
            "ci": meta.ci,
            "start": base.map(|b| (b / 1_000_000) as i64),
            "end": self.stop.map(|t| (t.as_nanos() / 1_000_000) as i64),
            "statuses": STATUSES.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "strings": self.strings.list,
            "tests": tests,
            "attempts": attempts,
            "atts": atts,
            "chunks": chunk_count,
            "inputs": inputs,
            "policy": {
                "failedCap": p.policy.failed_cap,
                "passedHead": p.policy.passed_head,
                "passedTail": p.policy.passed_tail,
                "totalCap": p.policy.total_cap,
                "keepAll": p.policy.keep_all,
                "kept": p.kept,
                "cut": p.cut,
                "cutBytes": p.cut_bytes,
                "dropped": p.dropped,
                "droppedBytes": p.dropped_bytes,
            },
            "resources": resources,
            "triage": triage,
        })
    }

    /// Flaky tests, clusters and the baseline comparison, by the page's test numbers.
    fn triage_index(&self) -> Value {
        let t = &self.triage;
        // triage keys tests by cleaned name, the page by id: the first id of a name
        let mut by_name: HashMap<&str, u32> = HashMap::new();
        for (k, e) in self.tests.iter().enumerate() {
            by_name.entry(e.name.as_str()).or_insert(k as u32);
        }
        let page = |k: usize| by_name.get(t.tests[k].id.as_str()).copied();
        let pages = |v: &[usize]| -> Vec<u32> { v.iter().filter_map(|&k| page(k)).collect() };
        let flaky: Vec<u32> = t
            .tests
            .iter()
            .enumerate()
            .filter(|(_, h)| h.outcome() == crate::model::triage::Outcome::Flaky)
            .filter_map(|(k, _)| page(k))
            .collect();
        let cmp = self.baseline.as_ref().map(|(_, b)| t.compare(b));
        let clusters: Vec<Value> = t
            .clusters()
            .iter()
            .map(|(id, c)| {
                json!({
                    "exception": c.signature.exception,
                    "file": c.signature.frame.as_ref().map(|f| &f.0),
                    "func": c.signature.frame.as_ref().map(|f| &f.1),
                    "message": c.signature.message,
                    "example": c.example,
                    "tests": pages(&c.tests),
                    "known": cmp.as_ref().map(|c| c.known_clusters[*id]),
                })
            })
            .collect();
        let baseline = match (&self.baseline, &cmp) {
            (Some((label, _)), Some(c)) => {
                let mut dur = Map::new();
                for (k, d) in &c.duration_change_us {
                    if let Some(p) = page(*k) {
                        dur.insert(p.to_string(), json!(d));
                    }
                }
                json!({
                    "label": label,
                    "newFailures": pages(&c.new_failures),
                    "fixed": pages(&c.fixed),
                    "stillFailing": pages(&c.still_failing),
                    "newTests": pages(&c.new_tests),
                    "removed": c.removed_tests,
                    "durationChange": dur,
                })
            }
            _ => Value::Null,
        };
        json!({"flaky": flaky, "clusters": clusters, "baseline": baseline})
    }

    /// Writes the page to `path` (atomically: a reader never sees half of it).
    pub fn finish(self, meta: &ReportMeta, path: &Path) -> io::Result<ReportStats> {
        let index =
            serde_json::to_vec(&self.index(meta, self.chunks.count())).expect("JSON serialises");
        let (mut file, stored) = self.chunks.finish()?;
        let packed = chunks::pack(&index)?;
        let bytes = page::write(path, meta, &packed, &mut file, &stored)?;
        Ok(ReportStats {
            tests: self.tests.len(),
            attempts: self.attempts.len(),
            bytes,
            index_bytes: packed.len() as u64,
            kept: self.policy.kept,
            cut: self.policy.cut,
            dropped: self.policy.dropped,
        })
    }
}

/// What was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReportStats {
    /// Tests in the page.
    pub tests: usize,
    /// Their attempts.
    pub attempts: usize,
    /// The page's size.
    pub bytes: u64,
    /// The index's size (packed) in it.
    pub index_bytes: u64,
    /// Attachment bytes kept (before compression).
    pub kept: u64,
    /// Attachments cut to head and tail.
    pub cut: u64,
    /// Attachments left out.
    pub dropped: u64,
}
