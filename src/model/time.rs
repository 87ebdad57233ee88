//! Timestamps kept at full precision (seconds + nanoseconds as read), with the two
//! microsecond conversions the stackviz layouts need and Python-style `isoformat()`.

use std::fmt::Write;

/// A point in time as a subunit stream carries it: seconds since the Unix epoch and
/// nanoseconds. `nanos` is kept exactly as read and may exceed 10^9 (python carries it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp {
    /// Seconds since the Unix epoch.
    pub secs: i64,
    /// Nanoseconds within the second.
    pub nanos: u32,
}

impl Timestamp {
    /// A time from seconds and nanoseconds.
    pub fn new(secs: i64, nanos: u32) -> Timestamp {
        Timestamp { secs, nanos }
    }

    /// Microseconds since the epoch, nanoseconds rounded half to even, as python-subunit
    /// 1.4 does (`timedelta(microseconds=ns / 1000)`).
    pub fn micros_rounded(self) -> i64 {
        let whole = i64::from(self.nanos / 1000);
        let rem = self.nanos % 1000;
        let micros = match rem.cmp(&500) {
            std::cmp::Ordering::Less => whole,
            std::cmp::Ordering::Greater => whole + 1,
            std::cmp::Ordering::Equal => whole + (whole & 1),
        };
        self.secs * 1_000_000 + micros
    }

    /// Microseconds since the epoch, nanoseconds truncated, as python-subunit 1.2 did.
    pub fn micros_truncated(self) -> i64 {
        self.secs * 1_000_000 + i64::from(self.nanos / 1000)
    }

    /// Nanoseconds since the epoch (for ordering and durations at full precision).
    pub fn as_nanos(self) -> i128 {
        i128::from(self.secs) * 1_000_000_000 + i128::from(self.nanos)
    }

    /// Parses subunit v1 `time:` values: `YYYY-MM-DD HH:MM:SS[.fraction]Z` (also `T`
    /// as separator, and a missing `Z`).
    pub fn parse_v1(text: &str) -> Option<Timestamp> {
        let t = text.trim();
        let t = t
            .strip_suffix('Z')
            .or_else(|| t.strip_suffix('z'))
            .unwrap_or(t);
        let b = t.as_bytes();
        if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b' ' | b'T') {
            return None;
        }
        if b[13] != b':' || b[16] != b':' {
            return None;
        }
        let num = |s: &str| -> Option<i64> {
            if s.bytes().all(|c| c.is_ascii_digit()) && !s.is_empty() {
                s.parse().ok()
            } else {
                None
            }
        };
        let year = num(&t[0..4])?;
        let month = num(&t[5..7])?;
        let day = num(&t[8..10])?;
        let hour = num(&t[11..13])?;
        let minute = num(&t[14..16])?;
        let second = num(&t[17..19])?;
        if !(1..=12).contains(&month)
            || !(1..=31).contains(&day)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return None;
        }
        let mut nanos: u32 = 0;
        let rest = &t[19..];
        if let Some(frac) = rest.strip_prefix('.') {
            if frac.is_empty() || frac.len() > 9 || !frac.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let mut n: u32 = frac.parse().ok()?;
            for _ in frac.len()..9 {
                n *= 10;
            }
            nanos = n;
        } else if !rest.is_empty() {
            return None;
        }
        let days = days_from_civil(year, month as u32, day as u32);
        Some(Timestamp::new(
            days * 86_400 + hour * 3600 + minute * 60 + second,
            nanos,
        ))
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn push_digits(out: &mut String, v: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut v = v;
    let mut i = buf.len();
    while v > 0 || buf.len() - i < width {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    out.push_str(std::str::from_utf8(&buf[i..]).expect("ASCII digits"));
}

/// Appends Python's `datetime.isoformat()` of a UTC instant given in microseconds:
/// `2018-09-28T02:46:35.626800+00:00`, without the fraction when it is zero.
pub fn write_isoformat(out: &mut String, micros: i64) {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000) as u64;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u64;
    let (y, m, d) = civil_from_days(days);
    if (0..=9999).contains(&y) {
        push_digits(out, y as u64, 4);
    } else {
        let _ = write!(out, "{y:04}");
    }
    out.push('-');
    push_digits(out, u64::from(m), 2);
    out.push('-');
    push_digits(out, u64::from(d), 2);
    out.push('T');
    push_digits(out, sod / 3600, 2);
    out.push(':');
    push_digits(out, sod / 60 % 60, 2);
    out.push(':');
    push_digits(out, sod % 60, 2);
    if frac != 0 {
        out.push('.');
        push_digits(out, frac, 6);
    }
    out.push_str("+00:00");
}

/// RFC 3339 with nanoseconds, for human-facing output (`2018-09-28T02:46:35.626800123Z`).
pub fn rfc3339(ts: Timestamp) -> String {
    let carry = i64::from(ts.nanos / 1_000_000_000);
    let nanos = ts.nanos % 1_000_000_000;
    let secs = ts.secs + carry;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let mut s = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    );
    if nanos != 0 {
        let _ = write!(s, ".{nanos:09}");
        while s.ends_with('0') {
            s.pop();
        }
    }
    s.push('Z');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(micros: i64) -> String {
        let mut s = String::new();
        write_isoformat(&mut s, micros);
        s
    }

    #[test]
    fn rounding_is_half_even_and_carries() {
        assert_eq!(Timestamp::new(10, 1500).micros_rounded(), 10_000_002);
        assert_eq!(Timestamp::new(10, 2500).micros_rounded(), 10_000_002);
        assert_eq!(Timestamp::new(10, 2501).micros_rounded(), 10_000_003);
        assert_eq!(Timestamp::new(10, 999_999_999).micros_rounded(), 11_000_000);
        assert_eq!(
            Timestamp::new(10, 999_999_999).micros_truncated(),
            10_999_999
        );
    }

    #[test]
    fn isoformat_matches_python() {
        assert_eq!(
            iso(1_538_102_795_626_800),
            "2018-09-28T02:46:35.626800+00:00"
        );
        assert_eq!(iso(1_714_564_810_000_000), "2024-05-01T12:00:10+00:00");
        assert_eq!(iso(0), "1970-01-01T00:00:00+00:00");
        assert_eq!(iso(4_294_967_296_000_000), "2106-02-07T06:28:16+00:00");
    }

    #[test]
    fn v1_time_parses() {
        let t = Timestamp::parse_v1("2026-11-22 13:53:25.098988Z").unwrap();
        assert_eq!(iso(t.micros_rounded()), "2026-11-22T13:53:25.098988+00:00");
        let t = Timestamp::parse_v1("2024-03-01 12:00:00Z").unwrap();
        assert_eq!(iso(t.micros_rounded()), "2024-03-01T12:00:00+00:00");
        assert!(Timestamp::parse_v1("yesterday").is_none());
        assert!(Timestamp::parse_v1("2024-13-01 12:00:00Z").is_none());
    }

    #[test]
    fn civil_round_trips() {
        for z in [-1_000_000, -1, 0, 1, 59, 365, 10_957, 49_710, 2_000_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
    }
}
