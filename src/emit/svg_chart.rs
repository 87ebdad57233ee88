//! Small, self-contained SVG charts over time (no scripts, no external fonts): a title,
//! labelled axes with units, time of day (UTC) on x, a legend, gaps where there is no
//! data, and native tooltips on every point. All text is XML-escaped.

use std::fmt::Write;

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// A polyline.
    Line,
    /// A dot per point.
    Dots,
    /// A bar per point.
    Bars,
}

/// One series drawn in a chart.
pub struct Plot {
    /// Its name in the legend.
    pub name: String,
    /// Its CSS colour.
    pub color: &'static str,
    /// How it is drawn.
    pub mark: Mark,
    /// (seconds since the Unix epoch, value); `None` is a gap.
    pub points: Vec<(f64, Option<f64>)>,
}

/// A chart: a title, axes and its plots.
pub struct Chart {
    /// The chart's title.
    pub title: String,
    /// The y axis' label (with its unit).
    pub y_label: String,
    /// Width of one bar in seconds (the interval), for `Mark::Bars`.
    pub bar_width_s: f64,
    /// What is drawn.
    pub plots: Vec<Plot>,
}

const W: f64 = 520.0;
const H: f64 = 300.0;
const LEFT: f64 = 62.0;
const RIGHT: f64 = 14.0;
const TOP: f64 = 52.0;
const BOTTOM: f64 = 46.0;
/// Beyond this many points a series is thinned to every n-th point (said on the chart).
const MAX_POINTS: usize = 1500;

/// `s` escaped for SVG/HTML text and attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// `HH:MM:SS` (UTC) of seconds since the epoch.
pub fn clock(t: f64) -> String {
    let s = t.floor().rem_euclid(86_400.0) as u32;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// A short text for a value on an axis or in a tooltip.
fn num(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// Ticks 0 = lo < … ≤ hi on a 1/2/5 grid, about `n` of them.
fn nice_ticks(lo: f64, hi: f64, n: usize) -> (f64, f64, Vec<f64>) {
    let span = (hi - lo).max(f64::EPSILON);
    let raw = span / n as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let start = (lo / step).floor() * step;
    let end = (hi / step).ceil() * step;
    let mut ticks = Vec::new();
    let mut t = start;
    while t <= end + step * 1e-9 {
        ticks.push(t);
        t += step;
    }
    (start, end.max(start + step), ticks)
}

/// Time ticks on whole seconds, minutes or hours, about `n` of them.
fn time_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    const STEPS: [f64; 16] = [
        1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
        21600.0, 86400.0,
    ];
    let raw = (hi - lo).max(1.0) / n as f64;
    let step = STEPS
        .iter()
        .copied()
        .find(|s| *s >= raw)
        .unwrap_or_else(|| (raw / 86400.0).ceil() * 86400.0);
    let mut t = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while t <= hi {
        out.push(t);
        t += step;
    }
    out
}

/// The chart as an inline `<svg>` element.
pub fn render(chart: &Chart) -> String {
    let mut svg = String::with_capacity(16 * 1024);
    let points = chart.plots.iter().flat_map(|p| p.points.iter());
    let (mut x0, mut x1, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, 0.0f64);
    for &(x, y) in points {
        x0 = x0.min(x);
        x1 = x1.max(x);
        if let Some(y) = y {
            y1 = y1.max(y);
        }
    }
    let has_bars = chart.plots.iter().any(|p| p.mark == Mark::Bars);
    if has_bars && x1.is_finite() {
        x1 += chart.bar_width_s;
    }
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" class="chart"><title>{}</title>"#,
        escape(&chart.title)
    );
    let _ = write!(
        svg,
        r#"<text x="{}" y="20" class="ct" text-anchor="middle">{}</text>"#,
        W / 2.0,
        escape(&chart.title)
    );
    if !x0.is_finite() {
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="middle" class="nd">no data</text></svg>"#,
            W / 2.0,
            H / 2.0
        );
        return svg;
    }
    if x1 <= x0 {
        x0 -= 1.0;
        x1 += 1.0;
    }
    if !has_bars {
        // room for the first and last dot
        let pad = (x1 - x0) * 0.03;
        x0 -= pad;
        x1 += pad;
    }
    let (ylo, yhi, yt) = nice_ticks(0.0, if y1 > 0.0 { y1 } else { 1.0 }, 5);
    let pw = W - LEFT - RIGHT;
    let ph = H - TOP - BOTTOM;
    let sx = |x: f64| LEFT + (x - x0) / (x1 - x0) * pw;
    let sy = |y: f64| TOP + ph - (y - ylo) / (yhi - ylo) * ph;

    // legend
    let mut lx = LEFT;
    let mut thinned = Vec::new();
    for p in &chart.plots {
        let _ = write!(
            svg,
            r#"<rect x="{lx}" y="31" width="10" height="10" fill="{}"/><text x="{}" y="40" class="lg">{}</text>"#,
            p.color,
            lx + 14.0,
            escape(&p.name)
        );
        lx += 24.0 + 6.5 * p.name.chars().count() as f64;
        if p.points.len() > MAX_POINTS {
            thinned.push(p.points.len().div_ceil(MAX_POINTS));
        }
    }
    // grid and axes
    for &t in &yt {
        let y = sy(t);
        let _ = write!(
            svg,
            r#"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" class="gr"/><text x="{}" y="{:.1}" text-anchor="end" class="tk">{}</text>"#,
            W - RIGHT,
            LEFT - 5.0,
            y + 3.5,
            num(t)
        );
    }
    for t in time_ticks(x0, x1, 5) {
        let x = sx(t);
        // a label at the right edge would be cut off
        let anchor = if x > W - RIGHT - 24.0 {
            "end"
        } else {
            "middle"
        };
        let _ = write!(
            svg,
            r#"<line x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{}" class="gr"/><text x="{x:.1}" y="{}" text-anchor="{anchor}" class="tk">{}</text>"#,
            TOP + ph,
            TOP + ph + 14.0,
            clock(t)
        );
    }
    let _ = write!(
        svg,
        r#"<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{b}" class="ax"/><line x1="{LEFT}" x2="{r}" y1="{b}" y2="{b}" class="ax"/>"#,
        b = TOP + ph,
        r = W - RIGHT
    );
    let x_label = match thinned.iter().max() {
        Some(k) => format!("Time (UTC) — every {k}th point shown"),
        None => "Time (UTC)".to_owned(),
    };
    let _ = write!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle" class="al">{}</text>"#,
        LEFT + pw / 2.0,
        H - 8.0,
        escape(&x_label)
    );
    let _ = write!(
        svg,
        r#"<text transform="translate(14 {}) rotate(-90)" text-anchor="middle" class="al">{}</text>"#,
        TOP + ph / 2.0,
        escape(&chart.y_label)
    );

    for p in &chart.plots {
        let stride = p.points.len().div_ceil(MAX_POINTS).max(1);
        let pts = p.points.iter().step_by(stride);
        let tip = |x: f64, y: f64| format!("{} {}: {}", clock(x), escape(&p.name), num(y));
        let dot = |svg: &mut String, x: f64, y: f64, r: f64| {
            let _ = write!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="{r}" fill="{}"><title>{}</title></circle>"#,
                sx(x),
                sy(y),
                p.color,
                tip(x, y)
            );
        };
        match p.mark {
            Mark::Line => {
                let mut seg = String::new();
                // dots on every point when there are few, else only on points that
                // have no neighbour to draw a line to
                let all_dots = p.points.len() <= 60;
                let mut lone = Vec::new();
                let mut run = 0;
                let flush = |seg: &mut String, run: usize, svg: &mut String| {
                    if run > 1 {
                        let _ = write!(
                            svg,
                            r#"<polyline fill="none" stroke="{}" stroke-width="1.6" points="{}"/>"#,
                            p.color,
                            seg.trim_end()
                        );
                    }
                    seg.clear();
                };
                let mut prev: Option<(f64, f64)> = None;
                let mut prev_alone = false;
                for &(x, y) in pts.clone() {
                    match y {
                        Some(y) => {
                            let _ = write!(seg, "{:.1},{:.1} ", sx(x), sy(y));
                            run += 1;
                            if all_dots {
                                lone.push((x, y));
                            }
                            prev_alone = prev.is_none();
                            prev = Some((x, y));
                        }
                        None => {
                            if let (Some(pt), true, false) = (prev, prev_alone, all_dots) {
                                lone.push(pt);
                            }
                            flush(&mut seg, run, &mut svg);
                            run = 0;
                            prev = None;
                        }
                    }
                }
                if let (Some(pt), true, false) = (prev, prev_alone, all_dots) {
                    lone.push(pt);
                }
                flush(&mut seg, run, &mut svg);
                for (x, y) in lone {
                    dot(&mut svg, x, y, 2.2);
                }
            }
            Mark::Dots => {
                for &(x, y) in pts {
                    if let Some(y) = y {
                        dot(&mut svg, x, y, 3.0);
                    }
                }
            }
            Mark::Bars => {
                let bw = (chart.bar_width_s / (x1 - x0) * pw * 0.85).max(0.6);
                for &(x, y) in pts {
                    if let Some(y) = y {
                        let top = sy(y);
                        let _ = write!(
                            svg,
                            r#"<rect x="{:.1}" y="{top:.1}" width="{bw:.2}" height="{:.1}" fill="{}"><title>{}</title></rect>"#,
                            sx(x),
                            (TOP + ph - top).max(0.0),
                            p.color,
                            tip(x, y)
                        );
                    }
                }
            }
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_and_gaps_break_lines() {
        let c = Chart {
            title: "<script>alert(1)</script>".into(),
            y_label: "Response time (s)".into(),
            bar_width_s: 5.0,
            plots: vec![Plot {
                name: "a&b".into(),
                color: "#123456",
                mark: Mark::Line,
                points: vec![
                    (0.0, Some(1.0)),
                    (5.0, Some(2.0)),
                    (10.0, None),
                    (15.0, Some(1.0)),
                    (20.0, Some(3.0)),
                ],
            }],
        };
        let s = render(&c);
        assert!(!s.contains("<script>"));
        assert!(s.contains("&lt;script&gt;"));
        assert!(s.contains("a&amp;b"));
        assert_eq!(s.matches("<polyline").count(), 2);
        assert!(s.contains("Time (UTC)"));
        assert!(s.contains("Response time (s)"));
    }

    #[test]
    fn no_points_says_so() {
        let c = Chart {
            title: "t".into(),
            y_label: "y".into(),
            bar_width_s: 1.0,
            plots: vec![],
        };
        assert!(render(&c).contains("no data"));
    }

    #[test]
    fn ticks_are_round() {
        let (_, hi, t) = nice_ticks(0.0, 2.68, 5);
        assert_eq!(t[..4], [0.0, 1.0, 2.0, 3.0]);
        assert!(hi >= 2.68);
        assert_eq!(clock(1700006390.7), "23:59:50");
        assert_eq!(
            time_ticks(0.0, 3600.0, 5),
            vec![0.0, 900.0, 1800.0, 2700.0, 3600.0]
        );
    }
}
