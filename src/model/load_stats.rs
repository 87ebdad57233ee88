//! OCT's report statistics, number for number: pandas 0.21 `describe(percentiles=[.8,
//! .9, .95])` over a whole series and over `results_ts_interval`-second time buckets,
//! rounded like numpy's `round(2)`.
//!
//! polars does the sorting (percentiles need every series and every bucket sorted),
//! which is where the time goes. The arithmetic on top is numpy 1.13's, so the
//! last bit agrees too and two-decimal rounding never tips the other way: numpy sums
//! pairwise in blocks of 8 and 128 (`pairwise_sum`), takes the variance in two passes,
//! and interpolates percentiles as `lower * (1 - w) + upper * w`, where polars'
//! `quantile` computes `lower + w * (upper - lower)` and sums/variances in other orders.

use polars::prelude::{ChunkSort, Float64Chunked, NewChunkedArray, PolarsResult, SortOptions};

use super::load::Series;

const DAY_NS: i64 = 86_400 * 1_000_000_000;

/// Rows of OCT's tables: count, mean, sample standard deviation, min, 80/90/95th
/// percentiles (linear interpolation), max. Everything but `count` is NaN for an empty
/// bucket; `std` is NaN for a single value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Describe {
    /// Values.
    pub count: u64,
    /// Their mean.
    pub mean: f64,
    /// Their sample standard deviation.
    pub std: f64,
    /// The smallest.
    pub min: f64,
    /// The 80th percentile.
    pub p80: f64,
    /// The 90th percentile.
    pub p90: f64,
    /// The 95th percentile.
    pub p95: f64,
    /// The largest.
    pub max: f64,
}

impl Describe {
    /// An empty bucket's row.
    pub const EMPTY: Describe = Describe {
        count: 0,
        mean: f64::NAN,
        std: f64::NAN,
        min: f64::NAN,
        p80: f64::NAN,
        p90: f64::NAN,
        p95: f64::NAN,
        max: f64::NAN,
    };

    /// `values` in series order (sums depend on it), `sorted` the same values sorted.
    pub fn of(values: &[f64], sorted: &[f64]) -> Describe {
        debug_assert_eq!(values.len(), sorted.len());
        if values.is_empty() {
            return Describe::EMPTY;
        }
        Describe {
            count: values.len() as u64,
            mean: mean(values),
            std: std_ddof1(values),
            min: sorted[0],
            p80: percentile(sorted, 0.8),
            p90: percentile(sorted, 0.9),
            p95: percentile(sorted, 0.95),
            max: sorted[sorted.len() - 1],
        }
    }

    /// Every statistic rounded to two decimals, as OCT shows them.
    pub fn rounded(&self) -> Describe {
        Describe {
            count: self.count,
            mean: round2(self.mean),
            std: round2(self.std),
            min: round2(self.min),
            p80: round2(self.p80),
            p90: round2(self.p90),
            p95: round2(self.p95),
            max: round2(self.max),
        }
    }
}

/// One time bucket: `[start, start + interval)`, numbered from 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// The bucket's number, from 1.
    pub number: usize,
    /// Its start.
    pub start_ns: i64,
    /// Its values' statistics.
    pub stats: Describe,
}

/// A point of the "response time over the run" chart: the mean of one tenth of the
/// series (OCT's raw graph), at the time of that slice's first value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawPoint {
    /// The slice's first time.
    pub time_ns: i64,
    /// The slice's mean.
    pub mean: f64,
}

/// Everything the report shows for one series; statistics already rounded.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesStats {
    /// The series' name.
    pub name: String,
    /// The whole series' statistics.
    pub summary: Describe,
    /// One per interval, empty ones included.
    pub intervals: Vec<Interval>,
    /// Empty when the series has fewer than 10 values (OCT: "Not enough data").
    pub raw: Vec<RawPoint>,
}

/// Why statistics cannot be computed.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    /// The interval is so small for the run's span that the buckets would not fit.
    #[error(
        "series {series:?} spans {span_s:.0} s: at an interval of {interval_s} s that is {buckets} intervals (at most {MAX_BUCKETS}); use a larger interval"
    )]
    TooManyBuckets {
        /// The series.
        series: String,
        /// Its span in seconds.
        span_s: f64,
        /// The interval asked for.
        interval_s: u32,
        /// The buckets it would take.
        buckets: u64,
    },
    /// polars failed (sorting).
    #[error("polars: {0}")]
    Polars(#[from] polars::error::PolarsError),
}

/// More buckets than this is a mistake (an epoch of 0 among real ones, an interval of
/// 1 s over years), not a report anyone can read.
pub const MAX_BUCKETS: u64 = 1_000_000;

/// Summary, interval rows and raw chart points of `series`, bucketed by `interval_s`
/// seconds anchored at 00:00 UTC of the day of its first point (pandas' `TimeGrouper`).
pub fn compile(series: &Series, interval_s: u32) -> Result<SeriesStats, StatsError> {
    let values = &series.values;
    let times = &series.times_ns;
    debug_assert_eq!(values.len(), times.len());
    let mut out = SeriesStats {
        name: series.name.clone(),
        summary: Describe::EMPTY,
        intervals: Vec::new(),
        raw: raw_points(times, values),
    };
    let (Some(&first), Some(&last)) = (times.first(), times.last()) else {
        return Ok(out);
    };
    let step = i64::from(interval_s.max(1)) * 1_000_000_000;
    let day0 = first.div_euclid(DAY_NS) * DAY_NS;
    let start = day0 + (first - day0).div_euclid(step) * step;
    // i128: epochs at both ends of the representable range would overflow i64
    let buckets = ((i128::from(last) - i128::from(start)) / i128::from(step)) as u64 + 1;
    if buckets > MAX_BUCKETS {
        return Err(StatsError::TooManyBuckets {
            series: series.name.clone(),
            span_s: (i128::from(last) - i128::from(first)) as f64 / 1e9,
            interval_s,
            buckets,
        });
    }
    let bucket: Vec<u32> = times.iter().map(|t| ((t - start) / step) as u32).collect();

    let (by_bucket, sorted) = sorted_values(&bucket, values)?;
    out.summary = Describe::of(values, &sorted).rounded();

    // times are sorted, so every bucket is one run of rows
    out.intervals.reserve(buckets as usize);
    let mut at = 0;
    for k in 0..buckets as u32 {
        let end = at + bucket[at..].iter().take_while(|&&b| b == k).count();
        out.intervals.push(Interval {
            number: k as usize + 1,
            start_ns: start + i64::from(k) * step,
            stats: Describe::of(&values[at..end], &by_bucket[at..end]).rounded(),
        });
        at = end;
    }
    Ok(out)
}

/// All values sorted (by polars, in parallel), and the values sorted within each
/// bucket (each bucket is one run of rows, sorted on its own).
fn sorted_values(bucket: &[u32], values: &[f64]) -> PolarsResult<(Vec<f64>, Vec<f64>)> {
    let all = Float64Chunked::from_slice("value".into(), values)
        .sort_with(SortOptions::default().with_multithreaded(true));
    let all = all.rechunk().cont_slice()?.to_vec();
    let mut by_bucket = values.to_vec();
    let mut at = 0;
    while at < bucket.len() {
        let k = bucket[at];
        let len = bucket[at..].iter().take_while(|&&b| b == k).count();
        by_bucket[at..at + len].sort_unstable_by(f64::total_cmp);
        at += len;
    }
    Ok((by_bucket, all))
}

/// OCT's raw graph: with `f = n / 10`, the means of rows `kf+1 ..= (k+1)f` for each
/// pair of consecutive edges `0, f, 2f, … < n` (row 0 and the tail are left out), over
/// the values already rounded to two decimals, rounded again.
fn raw_points(times: &[i64], values: &[f64]) -> Vec<RawPoint> {
    let n = values.len();
    let f = n / 10;
    if f == 0 {
        return Vec::new();
    }
    let edges: Vec<usize> = (0..n).step_by(f).collect();
    let mut chunk = Vec::with_capacity(f);
    edges
        .windows(2)
        .map(|w| {
            let (a, b) = (w[0] + 1, w[1] + 1);
            chunk.clear();
            chunk.extend(values[a..b].iter().map(|&x| round2(x)));
            RawPoint {
                time_ns: times[a],
                mean: round2(mean(&chunk)),
            }
        })
        .collect()
}

/// numpy's `add.reduce` for float64: pairwise, with an 8-way unrolled loop in blocks of
/// up to 128 values.
pub fn pairwise_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0;
        for &x in a {
            res += x;
        }
        res
    } else if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&a[..8]);
        let whole = n - n % 8;
        let mut i = 8;
        while i < whole {
            for j in 0..8 {
                r[j] += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in &a[whole..] {
            res += x;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
    }
}

/// pandas' `nanmean`: the numpy sum divided by the count.
pub fn mean(a: &[f64]) -> f64 {
    if a.is_empty() {
        return f64::NAN;
    }
    pairwise_sum(a) / a.len() as f64
}

/// pandas' `nanstd` with ddof 1: two passes, squares of `(avg - x)` summed pairwise.
pub fn std_ddof1(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 2 {
        return f64::NAN;
    }
    let avg = pairwise_sum(a) / n as f64;
    // in blocks so that a long series needs no second full-size buffer; the blocks
    // follow pairwise_sum's own split, so the sum is the same
    let sq = sum_of_squares(a, avg);
    (sq / (n - 1) as f64).sqrt()
}

fn sum_of_squares(a: &[f64], avg: f64) -> f64 {
    let n = a.len();
    if n <= 128 {
        let mut buf = [0.0f64; 128];
        for (d, &x) in buf.iter_mut().zip(a) {
            let e = avg - x;
            *d = e * e;
        }
        pairwise_sum(&buf[..n])
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        sum_of_squares(&a[..n2], avg) + sum_of_squares(&a[n2..], avg)
    }
}

/// numpy 1.13 `percentile(..., interpolation='linear')` of sorted values, `q` in 0..=1.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let idx = q * (n - 1) as f64;
    let below = idx.floor() as usize;
    let above = (below + 1).min(n - 1);
    let w_above = idx - below as f64;
    let w_below = 1.0 - w_above;
    sorted[below] * w_below + sorted[above] * w_above
}

/// numpy's `round(x, 2)`: `rint(x * 100) / 100` (half to even after the multiply).
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round_ties_even() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(points: &[(f64, f64)]) -> Series {
        Series {
            name: "s".into(),
            times_ns: points.iter().map(|p| (p.0 * 1e9).round() as i64).collect(),
            values: points.iter().map(|p| p.1).collect(),
        }
    }

    #[test]
    fn rounding_is_numpys_not_pythons() {
        assert_eq!(round2(2.675), 2.68);
        assert_eq!(round2(1.005), 1.0);
        assert_eq!(round2(0.125), 0.12);
        assert_eq!(round2(0.375), 0.38);
        assert!(round2(f64::NAN).is_nan());
    }

    #[test]
    fn pairwise_sum_associates_like_numpy() {
        // 1e16 + 1 + ... : a left-to-right sum loses every 1.0, numpy's 8 lanes do too
        // but in a different place; these are values where the orders differ
        let a: Vec<f64> = (0..300).map(|i| 0.1 * f64::from(i % 7) + 1e-3).collect();
        let naive: f64 = a.iter().sum();
        let pw = pairwise_sum(&a);
        assert!((pw - naive).abs() < 1e-9);
        // split: 300 -> 144 (+156 -> 72 + 84), blocks summed in 8 lanes
        let lanes = |s: &[f64]| {
            let mut r = [0.0; 8];
            r.copy_from_slice(&s[..8]);
            let whole = s.len() - s.len() % 8;
            for c in s[8..whole].chunks(8) {
                for j in 0..8 {
                    r[j] += c[j];
                }
            }
            let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
            for &x in &s[whole..] {
                res += x;
            }
            res
        };
        let by_hand =
            (lanes(&a[..72]) + lanes(&a[72..144])) + (lanes(&a[144..216]) + lanes(&a[216..]));
        assert_eq!(pw.to_bits(), by_hand.to_bits());
    }

    #[test]
    fn describe_matches_pandas_on_a_small_series() {
        // worked by hand: sorted 0.1 0.2 0.3 0.5; p80 at rank 2.4 = 0.3*0.6 + 0.5*0.4
        let v = [0.5, 0.1, 0.3, 0.2];
        let mut s = v;
        s.sort_by(f64::total_cmp);
        let d = Describe::of(&v, &s);
        assert_eq!(d.count, 4);
        assert!((d.mean - 0.275).abs() < 1e-15);
        assert!((d.std - 0.1707825127659933).abs() < 1e-15);
        assert!((d.p80 - 0.38).abs() < 1e-15);
        assert!((d.p90 - 0.44).abs() < 1e-15);
        assert!((d.p95 - 0.47).abs() < 1e-15);
        assert_eq!((d.min, d.max), (0.1, 0.5));
        let one = Describe::of(&[1.5], &[1.5]);
        assert!(one.std.is_nan());
        assert_eq!(one.p95, 1.5);
    }

    #[test]
    fn buckets_anchor_at_midnight_utc_and_keep_empty_ones() {
        // 2023-11-14 23:59:50 UTC; interval 7 s, which does not divide a day: the grid
        // starts at that day's midnight, not at the first point
        let day0 = 1699920000.0; // 2023-11-14 00:00:00 UTC
        let s = series(&[
            (1700006390.0, 1.0),
            (1700006391.0, 2.0),
            (1700006420.0, 3.0),
        ]);
        let st = compile(&s, 7).unwrap();
        let first_start = (st.intervals[0].start_ns as f64) / 1e9;
        assert_eq!((first_start - day0) % 7.0, 0.0);
        assert!(first_start <= 1700006390.0 && 1700006390.0 < first_start + 7.0);
        let counts: Vec<u64> = st.intervals.iter().map(|i| i.stats.count).collect();
        assert_eq!(counts.iter().sum::<u64>(), 3);
        assert!(counts.contains(&0), "{counts:?}");
        assert!(
            st.intervals
                .iter()
                .filter(|i| i.stats.count == 0)
                .all(|i| i.stats.mean.is_nan())
        );
        assert_eq!(
            st.intervals.iter().map(|i| i.number).collect::<Vec<_>>(),
            (1..=counts.len()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_huge_span_is_an_error_not_a_billion_buckets() {
        let s = series(&[(0.0, 1.0), (1700000000.0, 1.0)]);
        let e = compile(&s, 1).unwrap_err().to_string();
        assert!(e.contains("use a larger interval"), "{e}");
    }

    #[test]
    fn epochs_at_both_ends_of_the_range_do_not_overflow() {
        let s = Series {
            name: "s".into(),
            times_ns: vec![-9_000_000_000_000_000_000, 9_000_000_000_000_000_000],
            values: vec![1.0, 2.0],
        };
        assert!(matches!(
            compile(&s, 1),
            Err(StatsError::TooManyBuckets { .. })
        ));
    }

    #[test]
    fn raw_points_follow_octs_slices() {
        let pts: Vec<(f64, f64)> = (0..25).map(|i| (f64::from(i), f64::from(i))).collect();
        let st = compile(&series(&pts), 5).unwrap();
        // f = 2: edges 0,2,...,24 -> 12 slices of rows (1,2), (3,4), ...
        assert_eq!(st.raw.len(), 12);
        assert_eq!(st.raw[0].mean, 1.5);
        assert_eq!(st.raw[0].time_ns, 1_000_000_000);
        assert!(compile(&series(&pts[..9]), 5).unwrap().raw.is_empty());
    }
}
