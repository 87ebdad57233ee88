//! Python's `repr()` of a float, exactly: the shortest digits that read back, ties to
//! even, and Python's switch between plain and exponent notation. Shared by the
//! readers (OCT cells shown as Python shows them) and the writers (JSON and CSV that
//! Python tools would have written).

/// Appends `repr(x)` as Python writes floats: shortest round-trip digits, `1.0`,
/// `0.352333`, `1e-06`, `1.5e+16`; non-finite values as `json.dumps` writes them
/// (`NaN`, `Infinity`, `-Infinity`).
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

/// `repr(x)` as a string (see [`write_float`]).
pub fn float_repr(x: f64) -> String {
    let mut v = Vec::with_capacity(24);
    write_float(&mut v, x);
    String::from_utf8(v).expect("float text is ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

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
