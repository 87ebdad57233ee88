//! The load-test report: `results.json` (every figure, machine-readable) and
//! `results.html` (one self-contained page: inline CSS and SVG, no scripts), rendered
//! with minijinja from `templates/oct-report.html`, which is compiled in. Figures are
//! OCT's (rounded to two decimals); names from the data are escaped.

use serde::Serialize;
use serde_json::{Value, json};

use super::pyjson::float_repr;
use super::svg_chart::{self, Chart, Mark, Plot};
use crate::model::load::{ALL_TRANSACTIONS, LoadRun};
use crate::model::load_stats::{Describe, SeriesStats};

/// The template's name in the minijinja environment.
pub const TEMPLATE_NAME: &str = "oct-report.html";
/// The report's template (compiled in).
pub const TEMPLATE: &str = include_str!("../../templates/oct-report.html");

/// Format tag of `results.json`; bumped when a field changes meaning.
pub const JSON_FORMAT: &str = "resultpipe.oct-report.v1";

/// What the report is built from.
pub struct Report<'a> {
    /// The results file, as the user named it.
    pub source: &'a str,
    /// The run as read.
    pub run: &'a LoadRun,
    /// Each series' statistics, in the run's series order.
    pub stats: &'a [SeriesStats],
    /// The time-series interval, in seconds.
    pub interval_s: u32,
    /// The configured `run_time`, shown as given; `None` shows the measured span.
    pub run_time: Option<&'a Value>,
}

fn opt(x: f64) -> Value {
    if x.is_finite() { json!(x) } else { Value::Null }
}

fn describe_json(d: &Describe) -> Value {
    json!({
        "count": d.count,
        "min": opt(d.min),
        "avg": opt(d.mean),
        "p80": opt(d.p80),
        "p90": opt(d.p90),
        "p95": opt(d.p95),
        "max": opt(d.max),
        "stdev": opt(d.std),
    })
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) of nanoseconds since the epoch.
pub fn utc_datetime(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let (y, m, d) = crate::model::time::civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

fn iso(ns: i64) -> String {
    let mut s = utc_datetime(ns);
    s.replace_range(10..11, "T");
    let frac = ns.rem_euclid(1_000_000_000);
    if frac != 0 {
        s.push_str(&format!(".{frac:09}"));
        while s.ends_with('0') {
            s.pop();
        }
    }
    s.push('Z');
    s
}

impl Report<'_> {
    fn measured_s(&self) -> Option<f64> {
        self.run.span_ns().map(|(a, b)| (b - a) as f64 / 1e9)
    }

    /// `results.json`.
    pub fn json(&self) -> Value {
        let run = self.run;
        let span = run.span_ns();
        json!({
            "format": JSON_FORMAT,
            "source": self.source,
            "generated_by": format!("resultpipe {}", env!("CARGO_PKG_VERSION")),
            "empty": run.transactions == 0,
            "totals": {
                "transactions": run.transactions,
                "errors": run.errors,
                "timers": run.timer_points,
            },
            "run_time": self.run_time.cloned().unwrap_or(Value::Null),
            "measured_duration_s": self.measured_s(),
            "interval_s": self.interval_s,
            "start": span.map(|s| json!({"utc": utc_datetime(s.0), "epoch": s.0 as f64 / 1e9})),
            "finish": span.map(|s| json!({"utc": utc_datetime(s.1), "epoch": s.1 as f64 / 1e9})),
            "skipped": {
                "rows_without_time_or_value": run.bad_rows,
                "rows_with_unreadable_timers": run.bad_timer_rows,
                "timer_values_not_numbers": run.bad_timer_values,
                "examples": run.problems,
            },
            "turrets": run.turrets,
            "series": self.stats.iter().map(|s| json!({
                "name": s.name,
                "kind": if s.name == ALL_TRANSACTIONS && std::ptr::eq(s, &self.stats[0]) { "all" } else { "timer" },
                "summary": describe_json(&s.summary),
                "intervals": s.intervals.iter().map(|i| {
                    let mut v = json!({"interval": i.number, "start": iso(i.start_ns)});
                    if let (Value::Object(o), Value::Object(d)) = (&mut v, describe_json(&i.stats)) {
                        o.extend(d);
                    }
                    v
                }).collect::<Vec<_>>(),
                "raw": s.raw.iter().map(|p| json!({"time": iso(p.time_ns), "avg": opt(p.mean)})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })
    }

    /// `results.html`.
    pub fn html(&self) -> Result<String, minijinja::Error> {
        let mut env = minijinja::Environment::new();
        env.add_template(TEMPLATE_NAME, TEMPLATE)?;
        let ctx = self.context();
        env.get_template(TEMPLATE_NAME)?
            .render(minijinja::value::Serde(&ctx))
    }

    fn context(&self) -> Page {
        let run = self.run;
        let span = run.span_ns();
        let run_time = match (self.run_time, self.measured_s()) {
            (Some(Value::Number(n)), _) => format!("{n}"),
            (Some(Value::String(s)), _) => s.clone(),
            (Some(v), _) => v.to_string(),
            (None, Some(s)) => format!("{} s (measured)", num_text(s)),
            (None, None) => "–".to_owned(),
        };
        let error_pct = if run.transactions > 0 {
            format!(
                " ({:.1} %)",
                run.errors as f64 * 100.0 / run.transactions as f64
            )
        } else {
            String::new()
        };
        let summary = vec![
            Item::new("Transactions", run.transactions.to_string()),
            Item::new("Errors", format!("{}{error_pct}", run.errors)),
            Item::new("Timer entries", run.timer_points.to_string()),
            Item::new("Run time", run_time),
            Item::new(
                "Test start (UTC)",
                span.map_or("–".into(), |s| utc_datetime(s.0)),
            ),
            Item::new(
                "Test finish (UTC)",
                span.map_or("–".into(), |s| utc_datetime(s.1)),
            ),
            Item::new("Time-series interval", format!("{} s", self.interval_s)),
        ];
        let mut skipped = Vec::new();
        if run.bad_rows > 0 {
            skipped.push(format!(
                "{} row(s) without a usable epoch or transaction time were left out of the statistics",
                run.bad_rows
            ));
        }
        if run.bad_timer_rows > 0 {
            skipped.push(format!(
                "{} row(s) with NULL or unreadable custom_timers were kept without timers",
                run.bad_timer_rows
            ));
        }
        if run.bad_timer_values > 0 {
            skipped.push(format!(
                "{} timer value(s) that are not numbers were left out",
                run.bad_timer_values
            ));
        }
        // with no rows, the notice at the top says it all
        let series = if run.transactions == 0 {
            Vec::new()
        } else {
            self.stats
                .iter()
                .enumerate()
                .map(|(i, s)| self.series_view(i, s))
                .collect()
        };
        Page {
            source: self.source.to_owned(),
            generated_by: format!("resultpipe {}", env!("CARGO_PKG_VERSION")),
            empty: run.transactions == 0,
            summary,
            skipped,
            examples: run.problems.clone(),
            turrets: run.turrets.clone(),
            interval_s: self.interval_s,
            series,
        }
    }

    fn series_view(&self, i: usize, s: &SeriesStats) -> SeriesView {
        let title = if i == 0 {
            s.name.clone()
        } else {
            format!("Custom timer: {}", s.name)
        };
        let secs = |ns: i64| ns as f64 / 1e9;
        let opt = |x: f64| x.is_finite().then_some(x);
        let raw_chart = Chart {
            title: format!("{}: response time over the run", s.name),
            y_label: "Mean response time (s)".into(),
            bar_width_s: 0.0,
            plots: vec![Plot {
                name: "mean of each tenth of the run".into(),
                color: "#1f77b4",
                mark: Mark::Dots,
                points: s
                    .raw
                    .iter()
                    .map(|p| (secs(p.time_ns), opt(p.mean)))
                    .collect(),
            }],
        };
        let per = |f: fn(&Describe) -> f64| -> Vec<(f64, Option<f64>)> {
            s.intervals
                .iter()
                .map(|i| (secs(i.start_ns), opt(f(&i.stats))))
                .collect()
        };
        let interval_chart = Chart {
            title: format!(
                "{}: response time per {} s interval",
                s.name, self.interval_s
            ),
            y_label: "Response time (s)".into(),
            bar_width_s: 0.0,
            plots: vec![
                Plot {
                    name: "avg".into(),
                    color: "#1f77b4",
                    mark: Mark::Line,
                    points: per(|d| d.mean),
                },
                Plot {
                    name: "80%".into(),
                    color: "#2ca02c",
                    mark: Mark::Line,
                    points: per(|d| d.p80),
                },
                Plot {
                    name: "90%".into(),
                    color: "#d62728",
                    mark: Mark::Line,
                    points: per(|d| d.p90),
                },
            ],
        };
        let throughput_chart = Chart {
            title: format!(
                "{}: transactions per {} s interval",
                s.name, self.interval_s
            ),
            y_label: format!("Transactions per {} s", self.interval_s),
            bar_width_s: f64::from(self.interval_s),
            plots: vec![Plot {
                name: "transactions".into(),
                color: "#ff7f0e",
                mark: if s.intervals.len() <= 200 {
                    Mark::Bars
                } else {
                    Mark::Line
                },
                points: s
                    .intervals
                    .iter()
                    .map(|i| (secs(i.start_ns), Some(i.stats.count as f64)))
                    .collect(),
            }],
        };
        let raw_note = if s.raw.is_empty() {
            "Fewer than 10 values: not enough data for this chart.".to_owned()
        } else {
            String::new()
        };
        SeriesView {
            anchor: format!("series-{i}"),
            title,
            name: s.name.clone(),
            summary: Row::of(&s.summary, None),
            intervals: s
                .intervals
                .iter()
                .map(|i| Row::of(&i.stats, Some((i.number, i.start_ns))))
                .collect(),
            charts: vec![
                svg_chart::render(&raw_chart),
                svg_chart::render(&interval_chart),
                svg_chart::render(&throughput_chart),
            ],
            raw_note,
        }
    }
}

/// A figure as OCT prints it (Python `str` of the rounded float); no data is a dash.
pub fn num_text(x: f64) -> String {
    if x.is_finite() {
        float_repr(x)
    } else {
        "–".to_owned()
    }
}

#[derive(Serialize)]
struct Page {
    source: String,
    generated_by: String,
    empty: bool,
    summary: Vec<Item>,
    skipped: Vec<String>,
    examples: Vec<String>,
    turrets: Vec<crate::model::load::Turret>,
    interval_s: u32,
    series: Vec<SeriesView>,
}

#[derive(Serialize)]
struct Item {
    label: &'static str,
    value: String,
}

impl Item {
    fn new(label: &'static str, value: String) -> Item {
        Item { label, value }
    }
}

#[derive(Serialize)]
struct SeriesView {
    anchor: String,
    title: String,
    name: String,
    summary: Row,
    intervals: Vec<Row>,
    /// Rendered SVG (every text in it escaped by the chart writer).
    charts: Vec<String>,
    raw_note: String,
}

#[derive(Serialize)]
struct Row {
    number: usize,
    start: String,
    count: u64,
    min: String,
    avg: String,
    p80: String,
    p90: String,
    p95: String,
    max: String,
    stdev: String,
}

impl Row {
    fn of(d: &Describe, interval: Option<(usize, i64)>) -> Row {
        Row {
            number: interval.map_or(0, |i| i.0),
            start: interval.map_or(String::new(), |i| utc_datetime(i.1)[11..].to_owned()),
            count: d.count,
            min: num_text(d.min),
            avg: num_text(d.mean),
            p80: num_text(d.p80),
            p90: num_text(d.p90),
            p95: num_text(d.p95),
            max: num_text(d.max),
            stdev: num_text(d.std),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times() {
        assert_eq!(
            utc_datetime(1_700_006_390_600_000_000),
            "2023-11-14 23:59:50"
        );
        assert_eq!(iso(1_700_006_390_600_000_000), "2023-11-14T23:59:50.6Z");
        assert_eq!(iso(1_700_006_390_000_000_000), "2023-11-14T23:59:50Z");
    }
}
