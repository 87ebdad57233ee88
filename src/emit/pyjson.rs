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

pub use crate::model::pyfloat::{float_repr, write_float};

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
}
