//! OCT load-test results (`results.sqlite`, OCT 0.4.x): the `result` table read row by
//! row, custom timers decoded in their JSON key order. A row whose `custom_timers` is
//! NULL or not a JSON object is kept (without timers) and counted.

use std::path::Path;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

/// One transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct OctRow {
    pub elapsed: Cell,
    pub epoch: Cell,
    pub turret_name: Cell,
    pub scriptrun_time: Cell,
    pub error: Cell,
    /// (timer name, value) in the row's JSON order.
    pub timers: Vec<(String, Cell)>,
}

/// A value as SQLite (or the timers' JSON) held it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

#[derive(Debug, thiserror::Error)]
pub enum OctError {
    #[error("{path}: no such file")]
    Missing { path: String },
    #[error("{path}: not an OCT results database: {what}")]
    NotOct { path: String, what: String },
    #[error("{path}: {source}")]
    Sqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
}

/// Rows whose timers could not be read, counted with the first few kept as examples.
#[derive(Debug, Default, Clone)]
pub struct BadTimers {
    pub count: u64,
    pub examples: Vec<String>,
}

/// An open `results.sqlite`.
pub struct OctDb {
    conn: Connection,
    path: String,
}

const RESULT_COLUMNS: [&str; 6] = [
    "error",
    "scriptrun_time",
    "elapsed",
    "epoch",
    "custom_timers",
    "turret_name",
];

impl OctDb {
    /// Opens read-only and checks for the `result` table and its columns.
    pub fn open(path: &Path) -> Result<OctDb, OctError> {
        let p = path.display().to_string();
        if !path.is_file() {
            return Err(OctError::Missing { path: p });
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| OctError::Sqlite {
            path: p.clone(),
            source,
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
                source => OctError::Sqlite {
                    path: p.clone(),
                    source,
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
        Ok(OctDb { conn, path: p })
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// Calls `f` for every row in rowid order (OCT's `SELECT *` order).
    pub fn for_each_row(
        &self,
        bad: &mut BadTimers,
        mut f: impl FnMut(OctRow),
    ) -> Result<u64, OctError> {
        let err = |source| OctError::Sqlite {
            path: self.path.clone(),
            source,
        };
        let mut stmt = self
            .conn
            .prepare("SELECT id, elapsed, epoch, turret_name, scriptrun_time, error, custom_timers FROM result ORDER BY rowid")
            .map_err(err)?;
        let mut rows = stmt.query([]).map_err(err)?;
        let mut n = 0;
        while let Some(r) = rows.next().map_err(err)? {
            let cell = |i: usize| -> Cell {
                match r.get_ref(i) {
                    Ok(ValueRef::Integer(v)) => Cell::Int(v),
                    Ok(ValueRef::Real(v)) => Cell::Real(v),
                    Ok(ValueRef::Text(t)) | Ok(ValueRef::Blob(t)) => {
                        Cell::Text(String::from_utf8_lossy(t).into_owned())
                    }
                    Ok(ValueRef::Null) | Err(_) => Cell::Null,
                }
            };
            let id = r.get_ref(0).ok().and_then(|v| v.as_i64().ok()).unwrap_or(0);
            let timers = match r.get_ref(6) {
                Ok(ValueRef::Text(t)) => match parse_timers(t) {
                    Some(t) => t,
                    None => {
                        bad.note(format!(
                            "row id {id}: custom_timers is not a JSON object: {}",
                            String::from_utf8_lossy(t)
                        ));
                        Vec::new()
                    }
                },
                _ => {
                    bad.note(format!("row id {id}: custom_timers is NULL"));
                    Vec::new()
                }
            };
            f(OctRow {
                elapsed: cell(1),
                epoch: cell(2),
                turret_name: cell(3),
                scriptrun_time: cell(4),
                error: cell(5),
                timers,
            });
            n += 1;
        }
        Ok(n)
    }
}

impl OctDb {
    /// The custom timer names in order of first appearance (rowid order, JSON key order
    /// within a row). Reads only the `custom_timers` column.
    pub fn timer_names(&self) -> Result<Vec<String>, OctError> {
        let err = |source| OctError::Sqlite {
            path: self.path.clone(),
            source,
        };
        let mut stmt = self
            .conn
            .prepare("SELECT custom_timers FROM result ORDER BY rowid")
            .map_err(err)?;
        let mut rows = stmt.query([]).map_err(err)?;
        let mut names: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut last = Vec::new();
        while let Some(r) = rows.next().map_err(err)? {
            let Ok(ValueRef::Text(t)) = r.get_ref(0) else {
                continue;
            };
            // consecutive rows usually carry the same timers: skip the parse then
            if t == last.as_slice() {
                continue;
            }
            last.clear();
            last.extend_from_slice(t);
            if let Ok(serde_json::Value::Object(m)) = serde_json::from_slice::<serde_json::Value>(t)
            {
                for k in m.keys() {
                    if !seen.contains(k.as_str()) {
                        seen.insert(k.clone());
                        names.push(k.clone());
                    }
                }
            }
        }
        Ok(names)
    }
}

impl BadTimers {
    fn note(&mut self, what: String) {
        self.count += 1;
        if self.examples.len() < 20 {
            self.examples.push(what);
        }
    }
}

/// `{"name": number, ...}` in key order; `None` if it is not a JSON object. Values that
/// are not numbers are kept as text.
fn parse_timers(text: &[u8]) -> Option<Vec<(String, Cell)>> {
    let v: serde_json::Value = serde_json::from_slice(text).ok()?;
    let obj = v.as_object()?;
    Some(
        obj.iter()
            .map(|(k, v)| {
                let c = match v {
                    serde_json::Value::Number(n) => match n.as_i64() {
                        Some(i) => Cell::Int(i),
                        None => n.as_f64().map_or(Cell::Null, Cell::Real),
                    },
                    serde_json::Value::Null => Cell::Null,
                    serde_json::Value::String(s) => Cell::Text(s.clone()),
                    other => Cell::Text(other.to_string()),
                };
                (k.clone(), c)
            })
            .collect(),
    )
}
