//! Test records and the builder that groups events into them, as testtools'
//! `StreamToDict` does: keyed by (test id, route code), completed by a final status,
//! first/last timestamps, the last tag set, and attachments reassembled per name.
//!
//! One deliberate difference: `exists` is enumeration (`stestr run --subunit` and
//! `python -m subunit.run` list every test before running it), not a result.
//! `StreamToDict` makes each `exists` a record of its own, so a listed run counts every
//! test twice. Here an `exists` event only notes that the test was listed; a listed test
//! that no result followed is reported as "listed, not run".

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

use super::{Status, Timestamp};

/// One file chunk carried by an event.
#[derive(Debug, Clone, Copy)]
pub struct FileChunk<'a> {
    /// The file's name.
    pub name: &'a str,
    /// Its MIME type, when the chunk carries one.
    pub mime: Option<&'a str>,
    /// The chunk's bytes.
    pub data: &'a [u8],
    /// The last chunk of the file.
    pub eof: bool,
}

/// One status/file event, borrowed from the input buffer (a v2 packet or a v1 directive).
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    /// The status it carries (`Unknown` for none).
    pub status: Status,
    /// The test it is about (`None`: process-level output).
    pub test_id: Option<&'a str>,
    /// The worker it came from.
    pub route_code: Option<&'a str>,
    /// When.
    pub timestamp: Option<Timestamp>,
    /// `Some` when the event carries a tag set (possibly empty); it replaces the record's.
    pub tags: Option<&'a [&'a str]>,
    /// False for fixtures such as `setUpClass`.
    pub runnable: bool,
    /// A chunk of a file (attachment).
    pub file: Option<FileChunk<'a>>,
}

impl<'a> Event<'a> {
    /// An event with only a status and a test id.
    pub fn status(status: Status, test_id: &'a str) -> Event<'a> {
        Event {
            status,
            test_id: Some(test_id),
            route_code: None,
            timestamp: None,
            tags: None,
            runnable: true,
            file: None,
        }
    }
}

/// An attachment of a test (a subunit "file"), chunks concatenated in stream order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The attachment's name (`traceback`, `pythonlogging:''`, ...).
    pub name: String,
    /// The MIME type of the first chunk that carried one; `None` means the writer never
    /// said, which subunit reads as `application/octet-stream`.
    pub mime: Option<String>,
    /// Its bytes.
    pub data: Vec<u8>,
    /// An `eof` chunk was seen.
    pub complete: bool,
}

/// One test execution: what stackviz calls a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRecord {
    /// The test id, as the stream gave it.
    pub id: String,
    /// The worker's route code.
    pub route_code: Option<String>,
    /// The final status (or an interim one for a test that never finished).
    pub status: Status,
    /// Timestamp of the record's first event.
    pub start: Option<Timestamp>,
    /// Timestamp of the record's last event (`None` when that event had none).
    pub stop: Option<Timestamp>,
    /// The tag set of the most recent event that carried tags (set semantics, in the
    /// order first seen).
    pub tags: Vec<String>,
    /// Attachments, in the order they started.
    pub attachments: Vec<Attachment>,
    /// False for fixtures such as `setUpClass (pkg.Class)` (last event wins).
    pub runnable: bool,
}

impl TestRecord {
    fn new(id: &str, route_code: Option<&str>) -> TestRecord {
        TestRecord {
            id: id.to_owned(),
            route_code: route_code.map(str::to_owned),
            status: Status::Unknown,
            start: None,
            stop: None,
            tags: Vec::new(),
            attachments: Vec::new(),
            runnable: true,
        }
    }

    /// Duration in microseconds (rounded timestamps, as stackviz computes it), if both
    /// ends are known.
    pub fn duration_micros(&self) -> Option<i64> {
        Some(self.stop?.micros_rounded() - self.start?.micros_rounded())
    }

    /// Duration in seconds at full precision, if both ends are known.
    pub fn duration_secs(&self) -> Option<f64> {
        let ns = self.stop?.as_nanos() - self.start?.as_nanos();
        Some(ns as f64 / 1e9)
    }

    /// The attachment called `name`.
    pub fn attachment(&self, name: &str) -> Option<&Attachment> {
        self.attachments.iter().find(|a| a.name == name)
    }

    fn apply(&mut self, ev: &Event<'_>, spare: &mut Vec<Attachment>) {
        self.stop = ev.timestamp;
        if let Some(tags) = ev.tags {
            let same =
                tags.len() == self.tags.len() && tags.iter().zip(&self.tags).all(|(a, b)| *a == b);
            if !same {
                self.tags.clear();
                for t in tags {
                    if !self.tags.iter().any(|x| x == t) {
                        self.tags.push((*t).to_owned());
                    }
                }
            }
        }
        self.runnable = ev.runnable;
        if ev.status != Status::Unknown {
            self.status = ev.status;
        }
        if let Some(f) = ev.file {
            self.add_chunk(f, spare);
        }
    }

    fn add_chunk(&mut self, f: FileChunk<'_>, spare: &mut Vec<Attachment>) {
        if let Some(a) = self.attachments.iter_mut().find(|a| a.name == f.name) {
            a.data.extend_from_slice(f.data);
            if a.mime.is_none() {
                a.mime = f.mime.map(str::to_owned);
            }
            a.complete |= f.eof;
        } else if !f.data.is_empty() {
            let att = match spare.pop() {
                Some(mut a) => {
                    a.name.push_str(f.name);
                    a.mime = f.mime.map(str::to_owned);
                    a.data.extend_from_slice(f.data);
                    a.complete = f.eof;
                    a
                }
                None => Attachment {
                    name: f.name.to_owned(),
                    mime: f.mime.map(str::to_owned),
                    data: f.data.to_vec(),
                    complete: f.eof,
                },
            };
            self.attachments.push(att);
        }
    }

    /// Makes a used record new again, keeping its buffers; its attachments go to
    /// `spare` (emptied) unless they hold a lot of memory.
    fn reset(&mut self, id: &str, route_code: Option<&str>, spare: &mut Vec<Attachment>) {
        self.id.clear();
        self.id.push_str(id);
        match (&mut self.route_code, route_code) {
            (Some(rc), Some(new)) => {
                rc.clear();
                rc.push_str(new);
            }
            (slot, new) => *slot = new.map(str::to_owned),
        }
        self.status = Status::Unknown;
        self.start = None;
        self.stop = None;
        self.tags.clear();
        self.runnable = true;
        for mut a in self.attachments.drain(..) {
            if a.data.capacity() <= KEEP_ATTACHMENT_BYTES && spare.len() < KEEP_ATTACHMENTS {
                a.name.clear();
                a.data.clear();
                spare.push(a);
            }
        }
    }
}

/// Attachment buffers larger than this are freed rather than reused.
const KEEP_ATTACHMENT_BYTES: usize = 256 << 10;
/// Spare attachments kept for reuse.
const KEEP_ATTACHMENTS: usize = 4096;
/// Used records a pool keeps.
const KEEP_RECORDS: usize = 8192;

/// Used records handed back for reuse, so that steady-state grouping allocates (and
/// frees) almost nothing, also when records are consumed on another thread: the
/// consumer gives records back, the builder resets them on its own thread.
#[derive(Default)]
pub struct RecordPool {
    spare: Mutex<Vec<TestRecord>>,
}

impl RecordPool {
    /// An empty pool.
    pub fn new() -> Arc<RecordPool> {
        Arc::new(RecordPool::default())
    }

    /// Hands used records back (beyond a bound they are dropped).
    pub fn give(&self, records: Vec<TestRecord>) {
        let mut spare = self.spare.lock().unwrap_or_else(|e| e.into_inner());
        let room = KEEP_RECORDS.saturating_sub(spare.len());
        spare.extend(records.into_iter().take(room));
    }

    fn take_all(&self, into: &mut Vec<TestRecord>) {
        into.append(&mut self.spare.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

struct Open {
    seq: u64,
    record: TestRecord,
}

/// Groups events into test records. Completed records are handed to the caller in
/// completion order; records still open at the end come out of `finish` in the order
/// they were started.
#[derive(Default)]
pub struct RecordBuilder {
    open: FastMap<String, Open>,
    key_buf: String,
    seq: u64,
    completed: u64,
    pool: Option<Arc<RecordPool>>,
    /// Tests listed by `exists` events: id → (listing order, a result followed).
    listed: FastMap<String, (u64, bool)>,
    /// Used records taken from the pool, reset when reused.
    reusable: Vec<TestRecord>,
    spare_attachments: Vec<Attachment>,
}

impl RecordBuilder {
    /// A builder without a pool.
    pub fn new() -> RecordBuilder {
        RecordBuilder::default()
    }

    /// A builder that reuses the records its consumer gives back to `pool`.
    pub fn with_pool(pool: Arc<RecordPool>) -> RecordBuilder {
        RecordBuilder {
            pool: Some(pool),
            ..RecordBuilder::default()
        }
    }

    fn new_record(
        &mut self,
        id: &str,
        route_code: Option<&str>,
        start: Option<Timestamp>,
    ) -> TestRecord {
        if self.reusable.is_empty()
            && let Some(pool) = &self.pool
        {
            pool.take_all(&mut self.reusable);
        }
        let mut r = match self.reusable.pop() {
            Some(mut r) => {
                r.reset(id, route_code, &mut self.spare_attachments);
                r
            }
            None => TestRecord::new(id, route_code),
        };
        r.start = start;
        r
    }

    /// Number of records completed so far.
    pub fn completed(&self) -> u64 {
        self.completed
    }

    fn set_key(&mut self, id: &str, route_code: Option<&str>) {
        self.key_buf.clear();
        self.key_buf.push_str(id);
        match route_code {
            None => self.key_buf.push('\u{0}'),
            Some(rc) => {
                self.key_buf.push('\u{1}');
                self.key_buf.push_str(rc);
            }
        }
    }

    /// Whether the record `ev` belongs to is open (started, not finished).
    pub fn is_open(&mut self, ev: &Event<'_>) -> bool {
        let Some(id) = ev.test_id else { return false };
        self.set_key(id, ev.route_code);
        self.open.contains_key(self.key_buf.as_str())
    }

    /// Feeds one event; calls `done` with the record it completes, if any. Events without
    /// a test id are process-level output and belong to no record. An `exists` event
    /// lists its test: it neither starts nor completes a record (on a record already
    /// open it adds its time, tags and file like an event without status).
    pub fn push(&mut self, ev: &Event<'_>, done: &mut impl FnMut(TestRecord)) {
        let Some(id) = ev.test_id else { return };
        self.set_key(id, ev.route_code);
        if ev.status == Status::Exists {
            let order = self.listed.len() as u64;
            let open = self.open.get_mut(self.key_buf.as_str());
            let entry = self.listed.entry(id.to_owned()).or_insert((order, false));
            if let Some(o) = open {
                entry.1 = true;
                let interim = Event {
                    status: Status::Unknown,
                    ..*ev
                };
                o.record.apply(&interim, &mut self.spare_attachments);
            }
            return;
        }
        if !self.listed.is_empty()
            && let Some(entry) = self.listed.get_mut(id)
        {
            entry.1 = true;
        }
        if ev.status.is_final() {
            let mut record = match self.open.remove(self.key_buf.as_str()) {
                Some(o) => o.record,
                None => self.new_record(id, ev.route_code, ev.timestamp),
            };
            record.apply(ev, &mut self.spare_attachments);
            self.completed += 1;
            done(record);
            return;
        }
        if let Some(o) = self.open.get_mut(self.key_buf.as_str()) {
            o.record.apply(ev, &mut self.spare_attachments);
            return;
        }
        let mut record = self.new_record(id, ev.route_code, ev.timestamp);
        record.apply(ev, &mut self.spare_attachments);
        self.seq += 1;
        self.open.insert(
            self.key_buf.clone(),
            Open {
                seq: self.seq,
                record,
            },
        );
    }

    /// Number of records started but not completed.
    pub fn open_count(&self) -> usize {
        self.open.len()
    }

    /// Number of distinct tests listed by `exists` events.
    pub fn listed_count(&self) -> u64 {
        self.listed.len() as u64
    }

    /// Listed tests that no result followed, in listing order.
    pub fn listed_not_run(&self) -> Vec<String> {
        let mut rest: Vec<(u64, &String)> = self
            .listed
            .iter()
            .filter(|(_, (_, ran))| !ran)
            .map(|(id, (order, _))| (*order, id))
            .collect();
        rest.sort_unstable();
        rest.into_iter().map(|(_, id)| id.clone()).collect()
    }

    /// Ends the stream: every record still open is handed out, in start order, with its
    /// interim status (`inprogress` or `unknown`).
    pub fn finish(self, done: &mut impl FnMut(TestRecord)) {
        let mut rest: Vec<Open> = self.open.into_values().collect();
        rest.sort_by_key(|o| o.seq);
        for o in rest {
            done(o.record);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: i64) -> Option<Timestamp> {
        Some(Timestamp::new(s, 0))
    }

    fn collect(events: &[Event<'_>]) -> Vec<TestRecord> {
        let mut b = RecordBuilder::new();
        let mut out = Vec::new();
        for e in events {
            b.push(e, &mut |r| out.push(r));
        }
        b.finish(&mut |r| out.push(r));
        out
    }

    #[test]
    fn groups_by_id_and_route_code() {
        let tags0: &[&str] = &["worker-0"];
        let mut a = Event::status(Status::InProgress, "t");
        a.route_code = Some("0");
        a.timestamp = ts(1);
        a.tags = Some(tags0);
        let mut b = Event::status(Status::InProgress, "t");
        b.route_code = Some("1");
        b.timestamp = ts(2);
        let mut chunk = Event::status(Status::Unknown, "t");
        chunk.route_code = Some("0");
        chunk.timestamp = ts(3);
        chunk.file = Some(FileChunk {
            name: "traceback",
            mime: Some("text/plain"),
            data: b"boom",
            eof: false,
        });
        let mut chunk2 = chunk;
        chunk2.file = Some(FileChunk {
            name: "traceback",
            mime: None,
            data: b"!",
            eof: true,
        });
        let mut end_a = Event::status(Status::Fail, "t");
        end_a.route_code = Some("0");
        end_a.timestamp = ts(4);
        let recs = collect(&[a, b, chunk, chunk2, end_a]);
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].status, Status::Fail);
        assert_eq!(recs[0].route_code.as_deref(), Some("0"));
        assert_eq!((recs[0].start, recs[0].stop), (ts(1), ts(4)));
        assert_eq!(recs[0].tags, vec!["worker-0"]);
        let tb = recs[0].attachment("traceback").unwrap();
        assert_eq!(
            (tb.data.as_slice(), tb.mime.as_deref(), tb.complete),
            (&b"boom!"[..], Some("text/plain"), true)
        );
        assert_eq!(recs[1].status, Status::InProgress);
        assert_eq!(recs[1].stop, ts(2));
    }

    #[test]
    fn retry_after_completion_is_a_new_record_and_untimed_last_event_clears_stop() {
        let mut a = Event::status(Status::Success, "t");
        a.timestamp = ts(1);
        let late = Event::status(Status::Unknown, "t");
        let recs = collect(&[a, late]);
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[1].status, Status::Unknown);
        assert_eq!(recs[1].stop, None);
        let mut first = Event::status(Status::InProgress, "u");
        first.timestamp = ts(5);
        let fin = Event::status(Status::Success, "u");
        let recs = collect(&[first, fin]);
        assert_eq!((recs[0].start, recs[0].stop), (ts(5), None));
    }

    #[test]
    fn reused_records_start_clean() {
        let pool = RecordPool::new();
        let mut b = RecordBuilder::with_pool(pool.clone());
        let mut first = Vec::new();
        let mut e = Event::status(Status::Fail, "a");
        e.route_code = Some("0");
        e.timestamp = ts(1);
        let tags: &[&str] = &["worker-0"];
        e.tags = Some(tags);
        e.file = Some(FileChunk {
            name: "traceback",
            mime: Some("text/plain"),
            data: b"boom",
            eof: true,
        });
        b.push(&e, &mut |r| first.push(r));
        pool.give(first);
        let mut second = Vec::new();
        b.push(&Event::status(Status::Success, "b"), &mut |r| {
            second.push(r)
        });
        assert_eq!(
            second[0],
            collect(&[Event::status(Status::Success, "b")])[0]
        );
    }

    #[test]
    fn exists_lists_a_test_and_is_never_a_record() {
        let mut b = RecordBuilder::new();
        let mut out = Vec::new();
        let tags: &[&str] = &["worker-0"];
        for id in ["a", "b", "c"] {
            let mut e = Event::status(Status::Exists, id);
            e.route_code = Some("0");
            e.tags = Some(tags);
            e.timestamp = ts(1);
            b.push(&e, &mut |r| out.push(r));
        }
        assert!(out.is_empty(), "a listing is not a result");
        let mut start = Event::status(Status::InProgress, "a");
        start.timestamp = ts(2);
        b.push(&start, &mut |r| out.push(r));
        // an `exists` for a test that is running changes nothing but its time
        let mut again = Event::status(Status::Exists, "a");
        again.timestamp = ts(3);
        b.push(&again, &mut |r| out.push(r));
        let mut end = Event::status(Status::Success, "a");
        end.timestamp = ts(4);
        b.push(&end, &mut |r| out.push(r));
        b.push(&Event::status(Status::Fail, "b"), &mut |r| out.push(r));
        assert_eq!(b.listed_count(), 3);
        assert_eq!(b.listed_not_run(), vec!["c".to_owned()]);
        b.finish(&mut |r| out.push(r));
        let got: Vec<(&str, Status)> = out.iter().map(|r| (r.id.as_str(), r.status)).collect();
        assert_eq!(got, vec![("a", Status::Success), ("b", Status::Fail)]);
        assert_eq!((out[0].start, out[0].stop), (ts(2), ts(4)));
    }

    #[test]
    fn empty_chunks_do_not_create_attachments() {
        let mut e = Event::status(Status::Success, "t");
        e.file = Some(FileChunk {
            name: "x",
            mime: Some("text/plain"),
            data: b"",
            eof: true,
        });
        assert!(collect(&[e])[0].attachments.is_empty());
    }
}
