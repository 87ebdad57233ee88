//! OCT load-test results (`results.sqlite`, OCT 0.4.x): the `result` table read row by
//! row, custom timers decoded in their JSON key order. A row whose `custom_timers` is
//! NULL or not a JSON object is kept (without timers) and counted.

use std::path::Path;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use crate::model::load::{ALL_TRANSACTIONS, LoadRun, Series, Turret, epoch_to_ns};

/// A cell of the `result` table, borrowed from SQLite for one callback.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CellRef<'a> {
    /// SQL NULL.
    Null,
    /// An integer.
    Int(i64),
    /// A real.
    Real(f64),
    /// Text (or a blob), as stored.
    Text(&'a [u8]),
}

impl CellRef<'_> {
    /// The value when it is a number (an integer read as a float).
    pub fn as_f64(self) -> Option<f64> {
        match self {
            CellRef::Real(f) => Some(f),
            CellRef::Int(i) => Some(i as f64),
            _ => None,
        }
    }
}

impl<'a> From<ValueRef<'a>> for CellRef<'a> {
    fn from(v: ValueRef<'a>) -> CellRef<'a> {
        match v {
            ValueRef::Null => CellRef::Null,
            ValueRef::Integer(i) => CellRef::Int(i),
            ValueRef::Real(f) => CellRef::Real(f),
            ValueRef::Text(t) | ValueRef::Blob(t) => CellRef::Text(t),
        }
    }
}

/// One transaction as stored.
#[derive(Debug, Clone, Copy)]
pub struct RawRow<'a> {
    /// The row's id.
    pub id: i64,
    /// Seconds since the test started.
    pub elapsed: CellRef<'a>,
    /// When the transaction ran (seconds since the Unix epoch).
    pub epoch: CellRef<'a>,
    /// The turret that ran it.
    pub turret_name: CellRef<'a>,
    /// The transaction's response time in seconds.
    pub scriptrun_time: CellRef<'a>,
    /// Its error message, empty or NULL when it passed.
    pub error: CellRef<'a>,
    /// Its custom timers as JSON text.
    pub custom_timers: CellRef<'a>,
}

/// Why a results database cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum OctError {
    /// The file does not exist.
    #[error("{path}: no such file")]
    Missing {
        /// The path given.
        path: String,
    },
    /// A directory was given for the file.
    #[error(
        "{path}: is a directory, not a results.sqlite file \
         (OCT's own shape takes the directory: `oct rebuild-results DIR CONFIG`)"
    )]
    Directory {
        /// The path given.
        path: String,
    },
    /// An SQLite database, but not OCT's.
    #[error("{path}: not an OCT results database: {what}")]
    NotOct {
        /// The path given.
        path: String,
        /// What is missing.
        what: String,
    },
    /// SQLite's own message, once (its error chain repeats it in other words).
    #[error("{path}: {cause}")]
    Sqlite {
        /// The path given.
        path: String,
        /// SQLite's error.
        cause: rusqlite::Error,
    },
    /// Reading (or decompressing) the file failed.
    #[error("{path}: cannot read it")]
    Io {
        /// The path given.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// An open `results.sqlite`.
pub struct OctDb {
    conn: Connection,
    path: String,
    /// The decompressed copy of a gzipped database, removed when the database is
    /// dropped (SQLite needs a file it can seek in).
    _unzipped: Option<tempfile::TempPath>,
}

const RESULT_COLUMNS: [&str; 6] = [
    "error",
    "scriptrun_time",
    "elapsed",
    "epoch",
    "custom_timers",
    "turret_name",
];

/// Decompresses a gzipped database into a temporary file (removed on drop).
fn unzip_to_temp(path: &Path) -> std::io::Result<tempfile::TempPath> {
    let mut opened = crate::ingest::input::open(path)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".resultpipe-oct-")
        .suffix(".sqlite")
        .tempfile()?;
    std::io::copy(&mut opened.reader, tmp.as_file_mut())?;
    if let Some(e) = opened.take_error() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            e.to_string(),
        ));
    }
    Ok(tmp.into_temp_path())
}

impl OctDb {
    /// Opens read-only and checks for the `result` table and its columns. A gzipped
    /// database (told by its first bytes) is decompressed to a temporary file first.
    pub fn open(path: &Path) -> Result<OctDb, OctError> {
        let p = path.display().to_string();
        if path.is_dir() {
            return Err(OctError::Directory { path: p });
        }
        if !path.is_file() {
            return Err(OctError::Missing { path: p });
        }
        let io = |source| OctError::Io {
            path: p.clone(),
            source,
        };
        let head = std::fs::File::open(path)
            .and_then(|mut f| crate::ingest::input::read_head(&mut f, 2))
            .map_err(io)?;
        let unzipped = match crate::ingest::input::Compression::sniff(&head) {
            crate::ingest::input::Compression::None => None,
            crate::ingest::input::Compression::Gzip => Some(unzip_to_temp(path).map_err(io)?),
        };
        let db_path: &Path = unzipped.as_deref().unwrap_or(path);
        let conn = Connection::open_with_flags(
            db_path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|cause| OctError::Sqlite {
            path: p.clone(),
            cause,
        })?;
        let columns: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info('result')")
            .and_then(|mut s| s.query_map([], |r| r.get::<_, String>(0))?.collect())
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(_, Some(m)) if m.contains("not a database") => {
                    OctError::NotOct {
                        path: p.clone(),
                        what: "the file is not an SQLite database".into(),
                    }
                }
                cause => OctError::Sqlite {
                    path: p.clone(),
                    cause,
                },
            })?;
        if columns.is_empty() {
            return Err(OctError::NotOct {
                path: p,
                what: "it has no `result` table".into(),
            });
        }
        let missing: Vec<&str> = RESULT_COLUMNS
            .iter()
            .copied()
            .filter(|c| !columns.iter().any(|x| x == c))
            .collect();
        if !missing.is_empty() {
            return Err(OctError::NotOct {
                path: p,
                what: format!("table `result` lacks column(s) {}", missing.join(", ")),
            });
        }
        Ok(OctDb {
            conn,
            path: p,
            _unzipped: unzipped,
        })
    }

    /// The file's path, for messages.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Calls `f` for every row in rowid order (OCT's `SELECT *` order), stopping at the
    /// first error `f` returns.
    pub fn for_each_raw_row<E: From<OctError>>(
        &self,
        mut f: impl FnMut(&RawRow<'_>) -> Result<(), E>,
    ) -> Result<u64, E> {
        let mut failed = None;
        let n = self.scan(|r| match f(&RawRow::from_sql(r)) {
            Ok(()) => true,
            Err(e) => {
                failed = Some(e);
                false
            }
        })?;
        failed.map_or(Ok(n), Err)
    }

    /// Steps through the `result` table in rowid order while `each` returns true;
    /// returns the number of rows seen.
    fn scan(&self, mut each: impl FnMut(&rusqlite::Row<'_>) -> bool) -> Result<u64, OctError> {
        let err = |cause| OctError::Sqlite {
            path: self.path.clone(),
            cause,
        };
        let mut stmt = self.conn.prepare(ROW_QUERY).map_err(err)?;
        let mut rows = stmt.query([]).map_err(err)?;
        let mut n = 0;
        while let Some(r) = rows.next().map_err(err)? {
            n += 1;
            if !each(r) {
                break;
            }
        }
        Ok(n)
    }
}

/// The columns of [`RawRow`], in its order.
const ROW_QUERY: &str = "SELECT id, elapsed, epoch, turret_name, scriptrun_time, error, custom_timers FROM result ORDER BY rowid";

impl<'a> RawRow<'a> {
    fn from_sql(r: &'a rusqlite::Row<'a>) -> RawRow<'a> {
        let cell = |i: usize| r.get_ref(i).map_or(CellRef::Null, CellRef::from);
        RawRow {
            id: r.get_ref(0).ok().and_then(|v| v.as_i64().ok()).unwrap_or(0),
            elapsed: cell(1),
            epoch: cell(2),
            turret_name: cell(3),
            scriptrun_time: cell(4),
            error: cell(5),
            custom_timers: cell(6),
        }
    }
}

/// Rows copied out of SQLite, handed to another thread.
#[derive(Default)]
struct RowBatch {
    ids: Vec<i64>,
    /// Six cells per row, in `RawRow` order after the id.
    cells: Vec<Slot>,
    bytes: Vec<u8>,
}

#[derive(Clone, Copy)]
enum Slot {
    Null,
    Int(i64),
    Real(f64),
    Text(usize, usize),
}

const BATCH_ROWS: usize = 4096;

impl RowBatch {
    fn push(&mut self, r: &RawRow<'_>) {
        self.ids.push(r.id);
        for c in [
            r.elapsed,
            r.epoch,
            r.turret_name,
            r.scriptrun_time,
            r.error,
            r.custom_timers,
        ] {
            let slot = match c {
                CellRef::Null => Slot::Null,
                CellRef::Int(v) => Slot::Int(v),
                CellRef::Real(v) => Slot::Real(v),
                CellRef::Text(t) => {
                    let start = self.bytes.len();
                    self.bytes.extend_from_slice(t);
                    Slot::Text(start, self.bytes.len())
                }
            };
            self.cells.push(slot);
        }
    }

    fn clear(&mut self) {
        self.ids.clear();
        self.cells.clear();
        self.bytes.clear();
    }

    fn for_each<E>(&self, f: &mut impl FnMut(&RawRow<'_>) -> Result<(), E>) -> Result<(), E> {
        let cell = |s: Slot| match s {
            Slot::Null => CellRef::Null,
            Slot::Int(v) => CellRef::Int(v),
            Slot::Real(v) => CellRef::Real(v),
            Slot::Text(a, b) => CellRef::Text(&self.bytes[a..b]),
        };
        for (id, c) in self.ids.iter().zip(self.cells.chunks_exact(6)) {
            f(&RawRow {
                id: *id,
                elapsed: cell(c[0]),
                epoch: cell(c[1]),
                turret_name: cell(c[2]),
                scriptrun_time: cell(c[3]),
                error: cell(c[4]),
                custom_timers: cell(c[5]),
            })?;
        }
        Ok(())
    }
}

impl OctDb {
    /// Like [`OctDb::for_each_raw_row`], but `f` runs on a second thread while this one
    /// reads SQLite, rows handed over in batches.
    pub fn for_each_raw_row_pipelined<E: From<OctError> + Send>(
        &self,
        mut f: impl FnMut(&RawRow<'_>) -> Result<(), E> + Send,
    ) -> Result<u64, E> {
        let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<RowBatch>(4);
        let (empty_tx, empty_rx) = std::sync::mpsc::channel::<RowBatch>();
        std::thread::scope(|scope| {
            let consumer = scope.spawn(move || -> Result<(), E> {
                for batch in full_rx {
                    batch.for_each(&mut f)?;
                    let _ = empty_tx.send(batch);
                }
                Ok(())
            });
            let mut batch = RowBatch::default();
            let read = self.scan(|r| {
                batch.push(&RawRow::from_sql(r));
                if batch.ids.len() < BATCH_ROWS {
                    return true;
                }
                let next = empty_rx.try_recv().unwrap_or_default();
                // a send fails only when the consumer stopped: its error wins
                let sent = full_tx.send(std::mem::replace(&mut batch, next)).is_ok();
                batch.clear();
                sent
            });
            if !batch.ids.is_empty() {
                let _ = full_tx.send(batch);
            }
            drop(full_tx);
            let consumed = consumer.join().expect("the row consumer panicked");
            consumed?;
            Ok(read?)
        })
    }
}

/// A timer's value as the JSON held it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimerValue {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string, an object, `null`...: not a time.
    NotNumber,
}

impl TimerValue {
    /// The value as a number, if it is one.
    pub fn as_f64(self) -> Option<f64> {
        match self {
            TimerValue::Int(i) => Some(i as f64),
            TimerValue::Float(f) if f.is_finite() => Some(f),
            _ => None,
        }
    }
}

/// Calls `f(name, value)` for each entry of a JSON object, in key order, without
/// building a map (names are borrowed unless they contain escapes). `Err` if `text` is
/// not a JSON object; entries before the error have been seen.
pub fn visit_timers(
    text: &[u8],
    f: &mut dyn FnMut(&str, TimerValue),
) -> Result<(), serde_json::Error> {
    use serde::de::DeserializeSeed;
    let mut de = serde_json::Deserializer::from_slice(text);
    TimersSeed(f).deserialize(&mut de)?;
    de.end()
}

struct TimersSeed<'f>(&'f mut dyn FnMut(&str, TimerValue));

impl<'de> serde::de::DeserializeSeed<'de> for TimersSeed<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for TimersSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object of timer names to seconds")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
            let v = map.next_value::<Num>()?;
            (self.0)(&k, v.0);
        }
        Ok(())
    }
}

struct Key<'de>(std::borrow::Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a timer name")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(s.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

struct Num(TimerValue);

impl<'de> serde::Deserialize<'de> for Num {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Num;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_i64<E>(self, v: i64) -> Result<Num, E> {
                Ok(Num(TimerValue::Int(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Num, E> {
                Ok(Num(
                    i64::try_from(v).map_or(TimerValue::Float(v as f64), TimerValue::Int)
                ))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Num, E> {
                Ok(Num(TimerValue::Float(v)))
            }
            fn visit_str<E>(self, _: &str) -> Result<Num, E> {
                Ok(Num(TimerValue::NotNumber))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Num, E> {
                Ok(Num(TimerValue::NotNumber))
            }
            fn visit_unit<E>(self) -> Result<Num, E> {
                Ok(Num(TimerValue::NotNumber))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Num, A::Error> {
                while a.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Num(TimerValue::NotNumber))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Num, A::Error> {
                while a
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Num(TimerValue::NotNumber))
            }
        }
        d.deserialize_any(V)
    }
}

impl OctDb {
    /// The whole run for the report: every row in OCT's order (by epoch, ties in rowid
    /// order, which is what SQLite's sort gives too), split into the `All transactions`
    /// series and one per custom timer, plus the turret table. Rows that cannot be
    /// placed are counted, never fatal.
    pub fn load_run(&self) -> Result<LoadRun, OctError> {
        let mut run = LoadRun::default();
        // one entry per row with a usable epoch
        let mut epochs: Vec<f64> = Vec::new();
        let mut srt: Vec<f64> = Vec::new();
        // (row, timer, value) for every numeric timer entry
        let mut points: Vec<(u32, u32, f64)> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        let mut ids: foldhash::HashMap<String, u32> = Default::default();
        let mut row_timers: Vec<(u32, f64)> = Vec::new();
        let mut problems = Problems::default();

        let mut pending: Vec<String> = Vec::new();
        // SQLite is read on this thread while the rows are decoded on another
        self.for_each_raw_row_pipelined(|r| -> Result<(), OctError> {
            run.transactions += 1;
            let id = r.id;
            match r.error {
                CellRef::Null | CellRef::Text(b"") => {}
                _ => run.errors += 1,
            }
            let epoch = r.epoch.as_f64().filter(|e| epoch_to_ns(*e).is_some());
            let Some(epoch) = epoch else {
                run.bad_rows += 1;
                problems.note(format!("row id {id}: epoch is not a time"));
                return Ok(());
            };
            let row = epochs.len() as u32;
            epochs.push(epoch);
            let value = r.scriptrun_time.as_f64().filter(|v| v.is_finite());
            if value.is_none() {
                run.bad_rows += 1;
                problems.note(format!("row id {id}: scriptrun_time is not a number"));
            }
            srt.push(value.unwrap_or(f64::NAN));

            let CellRef::Text(text) = r.custom_timers else {
                run.bad_timer_rows += 1;
                problems.note(format!("row id {id}: custom_timers is NULL"));
                return Ok(());
            };
            row_timers.clear();
            pending.clear();
            let mut bad_values = 0u64;
            let mut entries = 0u64;
            let parsed = visit_timers(text, &mut |name, v| {
                entries += 1;
                let Some(x) = v.as_f64() else {
                    bad_values += 1;
                    return;
                };
                // names new in this row are only registered once the row reads well
                let id = match ids.get(name) {
                    Some(&id) => id,
                    None => match pending.iter().position(|p| p == name) {
                        Some(i) => (names.len() + i) as u32,
                        None => {
                            pending.push(name.to_owned());
                            (names.len() + pending.len() - 1) as u32
                        }
                    },
                };
                // a repeated key: json.loads keeps the last value
                match row_timers.iter_mut().find(|(t, _)| *t == id) {
                    Some(slot) => slot.1 = x,
                    None => row_timers.push((id, x)),
                }
            });
            if let Err(e) = parsed {
                run.bad_timer_rows += 1;
                problems.note(format!(
                    "row id {id}: custom_timers is not a JSON object ({e}): {}",
                    String::from_utf8_lossy(&text[..text.len().min(80)])
                ));
                return Ok(());
            }
            for name in pending.drain(..) {
                ids.insert(name.clone(), names.len() as u32);
                names.push(name);
            }
            run.timer_points += entries;
            if bad_values > 0 {
                run.bad_timer_values += bad_values;
                problems.note(format!(
                    "row id {id}: {bad_values} timer value(s) are not numbers"
                ));
            }
            points.extend(row_timers.iter().map(|&(t, x)| (row, t, x)));
            Ok(())
        })?;

        // OCT reads `ORDER BY epoch`; sorting here, stably, gives the same order and
        // costs nothing when the rows are already in time order (they nearly always are)
        let sorted = epochs.windows(2).all(|w| w[0] <= w[1]);
        let order: Vec<u32> = if sorted {
            Vec::new()
        } else {
            let mut o: Vec<u32> = (0..epochs.len() as u32).collect();
            o.sort_by(|&a, &b| epochs[a as usize].total_cmp(&epochs[b as usize]));
            o
        };
        let ns = |row: u32| epoch_to_ns(epochs[row as usize]).unwrap_or_default();

        let mut all = Series {
            name: ALL_TRANSACTIONS.to_owned(),
            ..Series::default()
        };
        let mut push_all = |row: u32| {
            let v = srt[row as usize];
            if !v.is_nan() {
                all.times_ns.push(ns(row));
                all.values.push(v);
            }
        };
        if sorted {
            (0..epochs.len() as u32).for_each(&mut push_all);
        } else {
            order.iter().copied().for_each(&mut push_all);
            let mut rank = vec![0u32; epochs.len()];
            for (i, &row) in order.iter().enumerate() {
                rank[row as usize] = i as u32;
            }
            points.sort_by_key(|p| rank[p.0 as usize]);
        }
        let mut series: Vec<Series> = names
            .into_iter()
            .map(|name| Series {
                name,
                ..Series::default()
            })
            .collect();
        for &(row, t, x) in &points {
            let s = &mut series[t as usize];
            s.times_ns.push(ns(row));
            s.values.push(x);
        }
        run.series = std::iter::once(all).chain(series).collect();
        run.turrets = self.turrets()?;
        run.problems = problems.examples;
        Ok(run)
    }

    /// The `turret` table in rowid order, cells as Python's `str()` shows them; empty
    /// when there is no such table.
    pub fn turrets(&self) -> Result<Vec<Turret>, OctError> {
        let err = |cause| OctError::Sqlite {
            path: self.path.clone(),
            cause,
        };
        let has: bool = self
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'turret'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(err)?
            > 0;
        if !has {
            return Ok(Vec::new());
        }
        let mut stmt = self
            .conn
            .prepare("SELECT name, uuid, cannons, script, rampup, status, updated_at FROM turret ORDER BY rowid")
            .map_err(err)?;
        let mut rows = stmt.query([]).map_err(err)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(err)? {
            let s = |i: usize| py_str(r.get_ref(i).unwrap_or(ValueRef::Null));
            out.push(Turret {
                name: s(0),
                uuid: s(1),
                cannons: s(2),
                script: s(3),
                rampup: s(4),
                status: s(5),
                updated_at: datetime_str(&s(6)),
            });
        }
        Ok(out)
    }
}

#[derive(Default)]
struct Problems {
    examples: Vec<String>,
}

impl Problems {
    fn note(&mut self, what: String) {
        if self.examples.len() < 20 {
            self.examples.push(what);
        }
    }
}

fn py_str(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => "None".into(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => crate::model::pyfloat::float_repr(f),
        ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
    }
}

/// peewee reads `updated_at` into a `datetime` when it has one of its formats, and
/// `str(datetime)` leaves out zero microseconds; anything else is shown as stored.
fn datetime_str(s: &str) -> String {
    let b = s.as_bytes();
    // `d` stands for a digit
    let shaped = |at: usize, pattern: &[u8]| {
        b.get(at..at + pattern.len()).is_some_and(|x| {
            x.iter().zip(pattern).all(|(c, p)| {
                if *p == b'd' {
                    c.is_ascii_digit()
                } else {
                    c == p
                }
            })
        })
    };
    if !shaped(0, b"dddd-dd-dd") {
        return s.to_owned();
    }
    if b.len() == 10 {
        return format!("{s} 00:00:00");
    }
    if !shaped(10, b" dd:dd:dd") {
        return s.to_owned();
    }
    match &s[19..] {
        "" => s.to_owned(),
        frac if frac.len() == 7 && shaped(19, b".dddddd") => {
            if frac == ".000000" {
                s[..19].to_owned()
            } else {
                s.to_owned()
            }
        }
        _ => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_are_visited_in_key_order_with_escapes_and_odd_values() {
        let mut seen = Vec::new();
        visit_timers(
            br#"{"home page":0.1353664398,"s\u00e9arch":2,"x":"y","n":null}"#,
            &mut |k, v| seen.push((k.to_owned(), v)),
        )
        .unwrap();
        assert_eq!(
            seen,
            vec![
                ("home page".to_owned(), TimerValue::Float(0.1353664398)),
                ("séarch".to_owned(), TimerValue::Int(2)),
                ("x".to_owned(), TimerValue::NotNumber),
                ("n".to_owned(), TimerValue::NotNumber),
            ]
        );
        for bad in [&b"[1,2]"[..], b"null", b"{\"a\":", b"{} x", b""] {
            assert!(
                visit_timers(bad, &mut |_, _| {}).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn updated_at_reads_like_str_of_a_datetime() {
        assert_eq!(
            datetime_str("2023-11-15 00:00:30.123456"),
            "2023-11-15 00:00:30.123456"
        );
        assert_eq!(
            datetime_str("2023-11-14 22:13:20.000000"),
            "2023-11-14 22:13:20"
        );
        assert_eq!(datetime_str("2023-11-14"), "2023-11-14 00:00:00");
        assert_eq!(datetime_str("yesterday"), "yesterday");
    }
}
