//! Resource samples taken while a run ran (dstat, dool): one row per interval, columns
//! named by their group and name (`total cpu usage` / `usr`), every column kept.

/// One column of samples.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceColumn {
    /// The group it is under (`total cpu usage`, `memory usage`, `net/total`, ...).
    pub group: String,
    /// Its name within the group (`usr`, `used`, `recv`, ...).
    pub name: String,
    /// One value per row; NaN where a row had none.
    pub values: Vec<f64>,
}

/// A host's resource samples.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    /// The tool that wrote them (`Dstat 0.8.0`, `dool 1.3.8`).
    pub tool: String,
    /// The host they were taken on, when known.
    pub host: Option<String>,
    /// The command line that took them, when known.
    pub cmdline: Option<String>,
    /// When each row was taken (nanoseconds since the Unix epoch, UTC).
    pub times_ns: Vec<i64>,
    /// The columns, in the file's order (time columns left out).
    pub columns: Vec<ResourceColumn>,
}

impl Resources {
    /// The column `name` of `group`, if there is one.
    pub fn column(&self, group: &str, name: &str) -> Option<&ResourceColumn> {
        self.columns
            .iter()
            .find(|c| c.group == group && c.name == name)
    }

    /// Rows.
    pub fn len(&self) -> usize {
        self.times_ns.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.times_ns.is_empty()
    }
}
