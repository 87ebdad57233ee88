//! JSON exactly as Python's `json.dump` writes it with default settings: `", "` and
//! `": "` separators, `ensure_ascii` escapes (`\uXXXX`, surrogate pairs), and floats in
//! `repr` form. Writers append to a `Vec<u8>`; callers assemble objects.

const HEX: &[u8; 16] = b"0123456789abcdef";

/// 0 = copy as is; otherwise the escape letter (`u` = `\u00XX`).
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[b'\t' as usize] = b't';
    t[0x08] = b'b';
    t[0x0c] = b'f';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    let mut i = 0x7f;
    while i < 256 {
        t[i] = b'u';
        i += 1;
    }
    t
};

fn push_u16(out: &mut Vec<u8>, u: u32) {
    out.extend_from_slice(&[
        b'\\',
        b'u',
        HEX[(u >> 12 & 0xf) as usize],
        HEX[(u >> 8 & 0xf) as usize],
        HEX[(u >> 4 & 0xf) as usize],
        HEX[(u & 0xf) as usize],
    ]);
}

fn push_char(out: &mut Vec<u8>, c: u32) {
    if c >= 0x10000 {
        let v = c - 0x10000;
        push_u16(out, 0xD800 | (v >> 10));
        push_u16(out, 0xDC00 | (v & 0x3ff));
    } else {
        push_u16(out, c);
    }
}

#[inline]
fn escape_ascii(out: &mut Vec<u8>, b: u8) {
    match ESCAPE[b as usize] {
        b'u' => push_u16(out, u32::from(b)),
        e => out.extend_from_slice(&[b'\\', e]),
    }
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// True when any of the 8 bytes needs escaping: `< 0x20`, `"`, `\\`, `0x7f` or non-ASCII.
#[inline(always)]
fn word_needs_escape(w: u64) -> bool {
    let ctl = w.wrapping_sub(LO * 0x20) & !w;
    let q = w ^ (LO * u64::from(b'"'));
    let q = q.wrapping_sub(LO) & !q;
    let bs = w ^ (LO * u64::from(b'\\'));
    let bs = bs.wrapping_sub(LO) & !bs;
    let del = w ^ (LO * 0x7f);
    let del = del.wrapping_sub(LO) & !del;
    (ctl | q | bs | del | w) & HI != 0
}

/// Index of the first position at or after `i` whose 8-byte word may need escaping
/// (or where fewer than 8 bytes remain).
#[inline(always)]
fn skip_clean(b: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = b.get(i..i + 8) {
        let w = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        if word_needs_escape(w) {
            break;
        }
        i += 8;
    }
    i
}

/// Appends a JSON string literal of `s`.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    let valid = write_utf8(out, s.as_bytes());
    debug_assert!(valid, "a &str is valid UTF-8");
}

/// The escaping loop shared by the string writers: ASCII is handled here, each
/// non-ASCII byte at `i` goes to `high`, which appends its escape and returns how many
/// bytes it consumed (`None`: invalid input; `out` is then restored and false returned).
#[inline(always)]
fn escape_with(
    out: &mut Vec<u8>,
    bytes: &[u8],
    mut high: impl FnMut(&mut Vec<u8>, &[u8], usize) -> Option<usize>,
) -> bool {
    let mark = out.len();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        i = skip_clean(bytes, i);
        let end = (i + 8).min(bytes.len());
        while i < end {
            let x = bytes[i];
            if ESCAPE[x as usize] == 0 {
                i += 1;
                continue;
            }
            out.extend_from_slice(&bytes[start..i]);
            if x < 0x80 {
                escape_ascii(out, x);
                i += 1;
            } else {
                let Some(n) = high(out, bytes, i) else {
                    out.truncate(mark);
                    return false;
                };
                i += n;
            }
            start = i;
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
    true
}

/// Appends a JSON string literal of `bytes`, which should be UTF-8. Validates while
/// escaping (one pass); on invalid UTF-8 leaves `out` as it was and returns false.
pub fn write_utf8(out: &mut Vec<u8>, bytes: &[u8]) -> bool {
    escape_with(out, bytes, |out, bytes, i| {
        let n = match bytes[i] {
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF4 => 4,
            _ => return None,
        };
        let c = std::str::from_utf8(bytes.get(i..i + n)?)
            .ok()?
            .chars()
            .next()?;
        push_char(out, u32::from(c));
        Some(n)
    })
}

/// Appends a JSON string literal of `bytes` decoded as ISO-8859-1.
pub fn write_latin1(out: &mut Vec<u8>, bytes: &[u8]) {
    escape_with(out, bytes, |out, bytes, i| {
        push_u16(out, u32::from(bytes[i]));
        Some(1)
    });
}

/// Appends `repr(x)` as Python writes floats: shortest round-trip digits, `1.0`,
/// `0.352333`, `1e-06`, `1.5e+16`.
pub fn write_float(out: &mut Vec<u8>, x: f64) {
    if x.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if x.is_infinite() {
        out.extend_from_slice(if x > 0.0 { b"Infinity" } else { b"-Infinity" });
        return;
    }
    if x.is_sign_negative() {
        out.push(b'-');
    }
    if x == 0.0 {
        out.extend_from_slice(b"0.0");
        return;
    }
    let mut buf = ryu::Buffer::new();
    let text = buf.format_finite(x.abs());
    // ryu writes plain decimals for 1e-5 <= x < 1e16 and Python for 1e-4 <= x < 1e16:
    // in between, the text is already Python's. Both take the shortest digits that
    // read back, the nearest of them, and break exact ties to even (Rust's own `{}`
    // breaks them upwards: 750139179972557.25 -> ...557.3 where Python says ...557.2).
    if !text.contains('e') && !text.starts_with("0.0000") {
        out.extend_from_slice(text.as_bytes());
        return;
    }
    let (digits, exp) = shortest_digits(text);
    write_sci_as_repr(out, digits.as_slice(), exp);
}

/// Significant digits of a shortest float text (at most 17 of them).
struct Digits {
    buf: [u8; 24],
    len: usize,
}

impl Digits {
    fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// The significant digits (no leading or trailing zeros) and the decimal exponent of
/// the first one, from ryu's or LowerExp's text.
fn shortest_digits(text: &str) -> (Digits, i32) {
    let b = text.as_bytes();
    let (mant, e) = match b.iter().position(|&c| c == b'e' || c == b'E') {
        Some(i) => (
            &b[..i],
            std::str::from_utf8(&b[i + 1..])
                .ok()
                .and_then(|e| e.parse::<i32>().ok())
                .unwrap_or(0),
        ),
        None => (b, 0),
    };
    let int_len = mant.iter().position(|&c| c == b'.').unwrap_or(mant.len()) as i32;
    let mut d = Digits {
        buf: [0; 24],
        len: 0,
    };
    let mut lead = 0i32;
    for &c in mant {
        if !c.is_ascii_digit() {
            continue;
        }
        if c == b'0' && d.len == 0 {
            lead += 1;
            continue;
        }
        if d.len < d.buf.len() {
            d.buf[d.len] = c;
            d.len += 1;
        }
    }
    while d.len > 0 && d.buf[d.len - 1] == b'0' {
        d.len -= 1;
    }
    (d, int_len - 1 - lead + e)
}

/// Python's `float_repr_style = 'short'` layout of `0.d1d2d3… × 10^(exp+1)`.
fn write_sci_as_repr(out: &mut Vec<u8>, digits: &[u8], exp: i32) {
    if !(-4..16).contains(&exp) {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.push(if exp < 0 { b'-' } else { b'+' });
        let a = exp.unsigned_abs();
        if a < 10 {
            out.push(b'0');
        }
        out.extend_from_slice(a.to_string().as_bytes());
    } else if exp < 0 {
        out.extend_from_slice(b"0.");
        for _ in 0..(-exp - 1) {
            out.push(b'0');
        }
        out.extend_from_slice(digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.extend_from_slice(digits);
            out.resize(out.len() + int_len - digits.len(), b'0');
            out.extend_from_slice(b".0");
        } else {
            out.extend_from_slice(&digits[..int_len]);
            out.push(b'.');
            out.extend_from_slice(&digits[int_len..]);
        }
    }
}

pub fn float_repr(x: f64) -> String {
    let mut v = Vec::with_capacity(24);
    write_float(&mut v, x);
    String::from_utf8(v).expect("float text is ASCII")
}

/// Appends any JSON value as Python's `json.dumps` writes it (the form
/// treeherder-client sent). Object keys come in the map's order.
pub fn write_value(out: &mut Vec<u8>, v: &serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => out.extend_from_slice(i.to_string().as_bytes()),
            (_, Some(u), _) => out.extend_from_slice(u.to_string().as_bytes()),
            (_, _, Some(f)) => write_float(out, f),
            _ => out.extend_from_slice(n.to_string().as_bytes()),
        },
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push(b'[');
            let mut first = true;
            for i in items {
                sep(out, &mut first);
                write_value(out, i);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            let mut first = true;
            for (k, v) in map {
                sep(out, &mut first);
                key(out, k);
                write_value(out, v);
            }
            out.push(b'}');
        }
    }
}

/// Appends `", "` unless this is the first item (then clears the flag).
#[inline]
pub fn sep(out: &mut Vec<u8>, first: &mut bool) {
    if !std::mem::take(first) {
        out.extend_from_slice(b", ");
    }
}

/// Appends `"key": `.
#[inline]
pub fn key(out: &mut Vec<u8>, k: &str) {
    write_str(out, k);
    out.extend_from_slice(b": ");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> String {
        let mut v = Vec::new();
        write_str(&mut v, x);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn strings_escape_like_python() {
        assert_eq!(s("a\"b\\c\n\t\r\u{8}\u{c}"), r#""a\"b\\c\n\t\r\b\f""#);
        assert_eq!(s("\u{1}\u{7f}é☃"), r#""\u0001\u007f\u00e9\u2603""#);
        assert_eq!(s("🚀"), r#""\ud83d\ude80""#);
        let long = "0123456789abcdef\"0123456789é01234567\u{1f}";
        assert_eq!(
            s(long),
            r#""0123456789abcdef\"0123456789\u00e901234567\u001f""#
        );
        let mut v = Vec::new();
        assert!(write_utf8(&mut v, "é\"🚀".as_bytes()));
        assert_eq!(v, br#""\u00e9\"\ud83d\ude80""#);
        for bad in [
            &b"ab\xff"[..],
            b"\xc3",
            b"\xed\xa0\x80",
            b"\xc0\xaf",
            b"0123456789\xe9",
        ] {
            let mut v = b"keep".to_vec();
            assert!(!write_utf8(&mut v, bad), "{bad:?}");
            assert_eq!(v, b"keep");
        }
        let mut v = Vec::new();
        write_latin1(&mut v, b"caf\xe9\n");
        assert_eq!(v, br#""caf\u00e9\n""#);
    }

    #[test]
    fn floats_match_cpython_repr_on_6000_vectors() {
        let text = include_str!("../../testdata/pyrepr/floats.txt");
        let mut n = 0;
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (bits, want) = line.split_once(' ').unwrap();
            let x = f64::from_bits(u64::from_str_radix(bits, 16).unwrap());
            assert_eq!(float_repr(x), want, "bits {bits}");
            n += 1;
        }
        assert!(n >= 6000);
    }

    #[test]
    fn floats_match_python_repr() {
        let cases = [
            (1.0, "1.0"),
            (0.352333, "0.352333"),
            (15.439052000000002, "15.439052000000002"),
            (1e-06, "1e-06"),
            (1.2e-05, "1.2e-05"),
            (3723.5, "3723.5"),
            (0.0001, "0.0001"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (-2.5, "-2.5"),
            (1e16, "1e+16"),
            (1234567890123456.0, "1234567890123456.0"),
            (1.5e300, "1.5e+300"),
            (5.7e-05, "5.7e-05"),
            (100.0, "100.0"),
            // exact ties between two shortest candidates: Python rounds half to even
            (1.5371780395507812, "1.5371780395507812"),
            (3_000_556_719_890_229.0 / 4.0, "750139179972557.2"),
        ];
        for (x, want) in cases {
            assert_eq!(float_repr(x), want, "{x}");
        }
    }
}
