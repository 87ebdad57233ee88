//! dstat (0.7, 0.8) and dool CSV: a header block (`"Dstat 0.8.0 CSV output"`, Author,
//! Host, Cmdline, Date), an optional blank line, a row of group names (empty cells under
//! a group), a row of column names, then one row per interval.
//!
//! Times: dstat writes `dd-mm HH:MM:SS`, dool `Mon-dd HH:MM:SS`, both in the host's
//! local time without a year; the year and the zone come from the `Date:` header (a
//! run across New Year moves to the next year), else from a caller's hint, taken as UTC.
//! `-T` writes an `epoch` column instead (seconds, with a fraction).
//!
//! Guarantees: never panics; a broken row is a counted problem with its line, not the
//! end of the file; every column is kept, named by group and name (groups repeat
//! names: `read`/`writ` under both `dsk/total` and `io/total`).

use crate::model::resources::{ResourceColumn, Resources};
use crate::model::time::days_from_civil;
use crate::model::{Location, Problem, Severity};

/// What reading a dstat file found.
#[derive(Debug, Clone, Default)]
pub struct DstatRead {
    /// The samples.
    pub resources: Resources,
    /// Problems, by line (at most [`super::KEPT_PROBLEMS`] kept).
    pub problems: Vec<Problem>,
    /// Every problem, counted.
    pub problem_count: u64,
}

impl DstatRead {
    fn problem(&mut self, line: u64, severity: Severity, message: String) {
        self.problem_count += 1;
        if self.problems.len() < super::KEPT_PROBLEMS {
            self.problems.push(Problem {
                severity,
                location: if line == 0 {
                    Location::None
                } else {
                    Location::Line(line)
                },
                message,
            });
        }
    }
}

/// How a row's time is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeColumn {
    /// `time`: `dd-mm HH:MM:SS` (dstat) or `Mon-dd HH:MM:SS` (dool), local time.
    Local(usize),
    /// `epoch`: seconds since the Unix epoch.
    Epoch(usize),
}

/// The `Date:` header: its month, year and zone offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct HeaderDate {
    year: i64,
    month: u32,
    offset_s: i64,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

fn month(name: &str) -> Option<u32> {
    let n = name.get(..3)?.to_ascii_lowercase();
    MONTHS.iter().position(|m| *m == n).map(|i| i as u32 + 1)
}

/// The offset of a zone as `strftime('%Z')` names it, for the common ones; numeric
/// offsets (`+0100`) too.
fn zone_offset(zone: &str) -> Option<i64> {
    let h = |x: i64| Some(x * 3600);
    match zone.to_ascii_uppercase().as_str() {
        "UTC" | "GMT" | "Z" | "UT" | "WET" => h(0),
        "BST" | "CET" | "WEST" | "MET" => h(1),
        "CEST" | "EET" | "SAST" | "MEST" => h(2),
        "EEST" | "MSK" => h(3),
        "IST" => Some(5 * 3600 + 1800),
        "HKT" | "SGT" | "AWST" => h(8),
        "JST" | "KST" => h(9),
        "AEST" => h(10),
        "AEDT" => h(11),
        "NZST" => h(12),
        "NZDT" => h(13),
        "EDT" => h(-4),
        "EST" | "CDT" => h(-5),
        "CST" | "MDT" => h(-6),
        "MST" | "PDT" => h(-7),
        "PST" | "AKDT" => h(-8),
        "AKST" => h(-9),
        "HST" => h(-10),
        z => {
            let (sign, digits) = match z.as_bytes().first()? {
                b'+' => (1, &z[1..]),
                b'-' => (-1, &z[1..]),
                _ => return None,
            };
            let digits = digits.replace(':', "");
            if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let hh: i64 = digits[..2].parse().ok()?;
            let mm: i64 = digits[2..].parse().ok()?;
            Some(sign * (hh * 3600 + mm * 60))
        }
    }
}

/// `22 Nov 2026 13:54:45 UTC`, and whether its zone is one we know (an unknown zone is
/// taken as UTC).
fn parse_date(text: &str) -> Option<(HeaderDate, bool)> {
    let mut parts = text.split_whitespace();
    let _day: u32 = parts.next()?.parse().ok()?;
    let month = month(parts.next()?)?;
    let year: i64 = parts.next()?.parse().ok()?;
    let _time = parts.next()?;
    let (offset_s, known) = match parts.next() {
        Some(z) => zone_offset(z).map_or((0, false), |o| (o, true)),
        None => (0, false),
    };
    Some((
        HeaderDate {
            year,
            month,
            offset_s,
        },
        known,
    ))
}

/// `HH:MM:SS` → seconds of the day.
fn clock(text: &str) -> Option<i64> {
    let mut it = text.split(':');
    let h: i64 = it.next()?.trim().parse().ok()?;
    let m: i64 = it.next()?.trim().parse().ok()?;
    let s: f64 = it.next()?.trim().parse().ok()?;
    if it.next().is_some()
        || !(0..24).contains(&h)
        || !(0..60).contains(&m)
        || !(0.0..61.0).contains(&s)
    {
        return None;
    }
    Some(h * 3600 + m * 60 + s as i64)
}

/// A local `time` cell: (month, day, seconds of the day).
fn local_time(text: &str) -> Option<(u32, u32, i64)> {
    let (date, time) = text.trim().split_once(' ')?;
    let (a, b) = date.split_once('-')?;
    let (month, day) = match (a.parse::<u32>(), b.parse::<u32>()) {
        (Ok(d), Ok(m)) => (m, d),                // dstat: dd-mm
        (Err(_), Ok(d)) => (self::month(a)?, d), // dool: Mon-dd
        _ => return None,
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some((month, day, clock(time.trim())?))
}

/// Reads a dstat or dool CSV (plain text; gzip is the caller's). `year_hint` is the
/// year to use when the file has no `Date:` header (the run's, say).
pub fn read_dstat(data: &[u8], year_hint: Option<i64>) -> DstatRead {
    let mut out = DstatRead::default();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(data);
    let mut header_date: Option<HeaderDate> = None;
    let mut groups: Option<Vec<String>> = None;
    let mut names: Option<Vec<String>> = None;
    let mut time_col: Option<TimeColumn> = None;
    let mut value_cols: Vec<usize> = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                out.problem(
                    line,
                    Severity::Error,
                    format!("not CSV: {e}; the rest is lost"),
                );
                break;
            }
        }
        let line = record.position().map_or(line, |p| p.line());
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let first = record.get(0).unwrap_or("").trim();
        if names.is_none() {
            // the header block, then the group row, then the column row
            if first.to_ascii_lowercase().ends_with("csv output") {
                out.resources.tool = first.trim_end_matches("CSV output").trim().to_owned();
                continue;
            }
            if first.ends_with(':') && groups.is_none() {
                let cells: Vec<&str> = record.iter().collect();
                for (i, c) in cells.iter().enumerate() {
                    let value = cells.get(i + 1).map(|v| v.trim()).unwrap_or("");
                    match c.trim() {
                        "Host:" => out.resources.host = Some(value.to_owned()),
                        "Cmdline:" => out.resources.cmdline = Some(value.to_owned()),
                        "Date:" => {
                            match parse_date(value) {
                                Some((d, known)) => {
                                    if !known {
                                        out.problem(
                                        line,
                                        Severity::Warning,
                                        format!("Date: {value:?}: unknown time zone; times taken as UTC"),
                                    );
                                    }
                                    header_date = Some(d);
                                }
                                None => out.problem(
                                    line,
                                    Severity::Warning,
                                    format!("Date: {value:?} is not a date"),
                                ),
                            }
                        }
                        _ => {}
                    }
                }
                continue;
            }
            if groups.is_none() {
                let mut filled = Vec::with_capacity(record.len());
                let mut current = String::new();
                for c in record.iter() {
                    if !c.trim().is_empty() {
                        current = c.trim().to_owned();
                    }
                    filled.push(current.clone());
                }
                groups = Some(filled);
                continue;
            }
            let cols: Vec<String> = record.iter().map(|c| c.trim().to_owned()).collect();
            let groups = groups.as_ref().expect("set above");
            time_col = cols.iter().enumerate().find_map(|(i, c)| match c.as_str() {
                "time" => Some(TimeColumn::Local(i)),
                "epoch" => Some(TimeColumn::Epoch(i)),
                _ => None,
            });
            if time_col.is_none() {
                out.problem(
                    line,
                    Severity::Error,
                    "no `time` or `epoch` column: the samples cannot be placed in time".into(),
                );
            }
            for (i, c) in cols.iter().enumerate() {
                let is_time =
                    matches!(time_col, Some(TimeColumn::Local(t) | TimeColumn::Epoch(t)) if t == i);
                if is_time || c.is_empty() {
                    continue;
                }
                value_cols.push(i);
                out.resources.columns.push(ResourceColumn {
                    group: groups.get(i).cloned().unwrap_or_default(),
                    name: c.clone(),
                    values: Vec::new(),
                });
            }
            names = Some(cols);
            continue;
        }
        // a data row
        let expected = names.as_ref().map_or(0, Vec::len);
        if record.len() != expected {
            out.problem(
                line,
                Severity::Warning,
                format!(
                    "{} cells where the header has {expected}: row skipped",
                    record.len()
                ),
            );
            continue;
        }
        let Some(time_col) = time_col else { continue };
        let t = match time_col {
            TimeColumn::Epoch(i) => record
                .get(i)
                .and_then(|c| c.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && s.abs() < 1e11)
                .map(|s| (s * 1e9).round() as i64),
            TimeColumn::Local(i) => record.get(i).and_then(local_time).and_then(|(m, d, secs)| {
                let (year, offset) = match header_date {
                    Some(h) => {
                        // a row months before the header's date belongs to the next year
                        let year = if (m as i64) < h.month as i64 - 6 {
                            h.year + 1
                        } else if (m as i64) > h.month as i64 + 6 {
                            h.year - 1
                        } else {
                            h.year
                        };
                        (year, h.offset_s)
                    }
                    None => (year_hint?, 0),
                };
                let days = days_from_civil(year, m, d);
                Some((days * 86_400 + secs - offset) * 1_000_000_000)
            }),
        };
        let Some(t) = t else {
            out.problem(
                line,
                Severity::Warning,
                format!(
                    "time {:?} unreadable{}: row skipped",
                    match time_col {
                        TimeColumn::Epoch(i) | TimeColumn::Local(i) => record.get(i).unwrap_or(""),
                    },
                    if header_date.is_none() && year_hint.is_none() {
                        " (no Date: header to give its year)"
                    } else {
                        ""
                    }
                ),
            );
            continue;
        };
        out.resources.times_ns.push(t);
        let mut bad = 0;
        for (col, &i) in out.resources.columns.iter_mut().zip(&value_cols) {
            let cell = record.get(i).unwrap_or("").trim();
            let v = if cell.is_empty() {
                f64::NAN
            } else {
                cell.parse::<f64>().unwrap_or_else(|_| {
                    bad += 1;
                    f64::NAN
                })
            };
            col.values.push(v);
        }
        if bad > 0 {
            out.problem(
                line,
                Severity::Warning,
                format!("{bad} cell(s) not numbers: kept as gaps"),
            );
        }
    }
    if names.is_none() {
        out.problem(
            0,
            Severity::Error,
            "no column header: not a dstat or dool CSV".into(),
        );
    } else if out.resources.times_ns.is_empty() {
        out.problem(
            0,
            Severity::Warning,
            "no samples: the file has only its header".into(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i64, mo: u32, d: u32, h: i64, mi: i64, s: i64) -> i64 {
        (days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s) * 1_000_000_000
    }

    fn data(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn real_dstat_0_8_rows_are_read_by_group_and_name() {
        let r = read_dstat(
            &data("stackviz/own_stestr_2workers/input/dstat-csv.log"),
            None,
        );
        assert_eq!(r.problems, vec![]);
        let res = &r.resources;
        assert_eq!(res.tool, "Dstat 0.8.0");
        assert_eq!(res.host.as_deref(), Some("vm"));
        assert_eq!(res.times_ns[0], at(2026, 11, 22, 13, 54, 45));
        assert_eq!(res.times_ns[1] - res.times_ns[0], 1_000_000_000);
        assert_eq!(res.len(), 20);
        assert_eq!(
            res.column("total cpu usage", "usr").unwrap().values[0],
            57.103
        );
        assert_eq!(
            res.column("memory usage", "used").unwrap().values[1],
            1239814144.0
        );
        // the same names under two groups stay apart
        let dsk = res.column("dsk/total", "read").unwrap();
        let io = res.column("io/total", "read").unwrap();
        assert_eq!((dsk.values[0], io.values[0]), (3774225.866, 68.627));
        assert!(res.column("tcp sockets", "lis").is_some());
        assert!(res.columns.iter().all(|c| c.values.len() == 20));
    }

    #[test]
    fn dool_times_epoch_columns_and_per_device_groups() {
        let r = read_dstat(&data("dstat/dool-default.csv"), None);
        assert_eq!(r.problem_count, 0, "{:?}", r.problems);
        assert_eq!(r.resources.tool, "dool 1.3.8");
        assert_eq!(r.resources.times_ns[0], at(2026, 11, 30, 10, 54, 39));
        assert!(r.resources.column("memory usage", "avai").is_some());
        let e = read_dstat(&data("dstat/dool-epoch.csv"), None);
        assert_eq!(e.problem_count, 0, "{:?}", e.problems);
        assert_eq!(e.resources.times_ns[0], 1_796_036_083_052_000_000);
        assert_eq!(e.resources.columns[0].group, "total cpu usage");
        let f = read_dstat(&data("dstat/dool-full.csv"), None);
        assert!(f.resources.column("dsk/vda", "read").is_some());
        assert!(f.resources.column("net/eth0", "recv").is_some());
        for name in ["dool-long", "dool-memadv"] {
            let r = read_dstat(&data(&format!("dstat/{name}.csv")), None);
            assert_eq!(r.problem_count, 0, "{name}: {:?}", r.problems);
            assert!(r.resources.len() >= 3, "{name}");
        }
    }

    #[test]
    fn a_header_only_file_is_a_warning_with_its_columns() {
        for name in ["default", "tcp", "epoch", "long"] {
            let r = read_dstat(&data(&format!("dstat/debian-dstat-{name}.csv")), None);
            assert!(r.resources.is_empty(), "{name}");
            assert!(!r.resources.columns.is_empty(), "{name}");
            assert_eq!(r.problems.len(), 1, "{name}: {:?}", r.problems);
            assert!(r.problems[0].message.contains("only its header"));
        }
    }

    #[test]
    fn zones_new_year_and_broken_rows() {
        let text = "\"Dstat 0.8.0 CSV output\"\n\
            \"Host:\",\"h\",,,,\"User:\",\"u\"\n\
            \"Cmdline:\",\"dstat -tc\",,,,\"Date:\",\"31 Dec 2026 23:59:58 CET\"\n\
            \n\
            \"system\",\"total cpu usage\",,\n\
            \"time\",\"usr\",\"sys\",\"idl\"\n\
            31-12 23:59:58,1,2,97\n\
            31-12 23:59:59,1,x,97\n\
            01-01 00:00:00,1,2\n\
            01-01 00:00:01,3,,95\n\
            nonsense,1,2,3\n";
        let r = read_dstat(text.as_bytes(), None);
        let res = &r.resources;
        assert_eq!(
            res.times_ns,
            vec![
                at(2026, 12, 31, 22, 59, 58),
                at(2026, 12, 31, 22, 59, 59),
                at(2026, 12, 31, 23, 0, 1)
            ]
        );
        let sys = &res.column("total cpu usage", "sys").unwrap().values;
        assert!(sys[1].is_nan() && sys[2].is_nan());
        let lines: Vec<String> = r.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(
            lines[0].starts_with("line 8: 1 cell(s) not numbers"),
            "{lines:?}"
        );
        assert!(
            lines[1].starts_with("line 9: 3 cells where the header has 4"),
            "{lines:?}"
        );
        assert!(
            lines[2].starts_with("line 11: time \"nonsense\" unreadable"),
            "{lines:?}"
        );
        // without a Date header the year comes from the caller, the zone is UTC
        let bare = "\"system\",\"total cpu usage\"\n\"time\",\"usr\"\n05-03 10:00:00,5\n";
        assert_eq!(
            read_dstat(bare.as_bytes(), Some(2025)).resources.times_ns,
            vec![at(2025, 3, 5, 10, 0, 0)]
        );
        let r = read_dstat(bare.as_bytes(), None);
        assert!(r.resources.is_empty() && r.problems[0].message.contains("no Date: header"));
        assert!(
            read_dstat(b"", None).problems[0]
                .message
                .contains("not a dstat")
        );
        assert!(read_dstat(b"\xff\xfe\x00garbage\n\"", None).problem_count > 0);
    }

    #[test]
    fn zones() {
        assert_eq!(zone_offset("UTC"), Some(0));
        assert_eq!(zone_offset("PDT"), Some(-7 * 3600));
        assert_eq!(zone_offset("+0530"), Some(5 * 3600 + 1800));
        assert_eq!(zone_offset("-03:00"), Some(-3 * 3600));
        assert_eq!(zone_offset("XYZ"), None);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn real() -> Vec<u8> {
            data("stackviz/own_stestr_2workers/input/dstat-csv.log")
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(300))]

            /// Any bytes: no panic, and every column has one value per row.
            #[test]
            fn never_panics_and_columns_stay_aligned(bytes in proptest::collection::vec(any::<u8>(), 0..4000)) {
                let r = read_dstat(&bytes, Some(2026));
                for c in &r.resources.columns {
                    prop_assert_eq!(c.values.len(), r.resources.len());
                }
            }

            /// A real file with one data row broken (cut, or a cell made text): that
            /// row is one counted problem naming its line, every other row is kept.
            #[test]
            fn a_broken_row_costs_only_itself(row in 0usize..20, cut in 1usize..40, text in any::<bool>()) {
                let good = real();
                let lines: Vec<&[u8]> = good.split(|&b| b == b'\n').collect();
                let first_data = lines.iter().position(|l| l.first().is_some_and(|b| b.is_ascii_digit())).unwrap();
                let target = first_data + row;
                let mut out = Vec::new();
                for (k, l) in lines.iter().enumerate() {
                    if k > 0 { out.push(b'\n'); }
                    if k == target {
                        if text {
                            let comma = l.iter().rposition(|&b| b == b',').unwrap();
                            out.extend_from_slice(&l[..comma]);
                            out.extend_from_slice(b",abc");
                        } else {
                            out.extend_from_slice(&l[..cut.min(l.len() - 1)]);
                        }
                    } else {
                        out.extend_from_slice(l);
                    }
                }
                let r = read_dstat(&out, None);
                prop_assert_eq!(r.problem_count, 1, "{:?}", r.problems);
                prop_assert_eq!(r.problems[0].location, Location::Line(target as u64 + 1));
                let whole = read_dstat(&good, None);
                if text {
                    // a cell that is not a number: the row stays, that value is missing
                    prop_assert_eq!(&r.resources.times_ns, &whole.resources.times_ns);
                    let last = r.resources.columns.last().unwrap();
                    prop_assert!(last.values[row].is_nan());
                    for (c, w) in r.resources.columns.iter().zip(&whole.resources.columns).take(r.resources.columns.len() - 1) {
                        prop_assert_eq!(c.values[row].to_bits(), w.values[row].to_bits());
                    }
                } else {
                    let mut expected = whole.resources.times_ns.clone();
                    expected.remove(row);
                    prop_assert_eq!(&r.resources.times_ns, &expected);
                }
            }
        }
    }
}
