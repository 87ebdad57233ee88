//! Test-name cleaning and attachment-name stripping exactly as stackviz does them
//! (`_clean_name` and `re.sub(r'\W', '', name)`).

use std::borrow::Cow;

/// Cleans a test id as stackviz does: drops a final `[...]` attribute group
/// (`^(.+)\[(.+)\]$`), otherwise rewrites `method (pkg.Class)` to `pkg.Class.method`
/// (`^(.+) \((.+)\)$`). `.` in those patterns does not match a newline and `$` also
/// matches before a final newline, which this reproduces.
pub fn clean_test_name(id: &str) -> Cow<'_, str> {
    let body = id.strip_suffix('\n').unwrap_or(id);
    if body.contains('\n') {
        return Cow::Borrowed(id);
    }
    if let Some(g1) = split_last_group(body, "[", ']') {
        return Cow::Borrowed(g1.0);
    }
    if let Some((g1, g2)) = split_last_group(body, " (", ')') {
        return Cow::Owned(format!("{g2}.{g1}"));
    }
    Cow::Borrowed(id)
}

/// A test's name in our own outputs (summary, triage, the run report, Treeherder
/// jobs): cleaned as stackviz cleans it, except that a final `[...]` group is dropped
/// only when it is tempest's attribute list (`[id-<uuid>,smoke]`). Any other group is
/// a parameter that tells tests apart (pytest's `test_x[1-2]`, JUnit reports from
/// parametrized runners) and is kept.
pub fn test_name(id: &str) -> Cow<'_, str> {
    let body = id.strip_suffix('\n').unwrap_or(id);
    if let Some((_, group)) = split_last_group(body, "[", ']')
        && !group.split(',').any(|a| a.trim_start().starts_with("id-"))
    {
        return Cow::Borrowed(id);
    }
    clean_test_name(id)
}

/// Matches `^(.+)OPEN(.+)CLOSE$` with a greedy first group: the last `OPEN` that leaves
/// both groups non-empty.
fn split_last_group<'a>(s: &'a str, open: &str, close: char) -> Option<(&'a str, &'a str)> {
    let inner = s.strip_suffix(close)?;
    let mut end = inner.len();
    let rfind = |h: &str| match open.as_bytes() {
        [one] => h.rfind(char::from(*one)),
        _ => h.rfind(open),
    };
    while let Some(i) = rfind(&inner[..end]) {
        let g2 = &inner[i + open.len()..];
        if i >= 1 && !g2.is_empty() {
            return Some((&inner[..i], g2));
        }
        if i == 0 {
            break;
        }
        end = i;
    }
    None
}

/// Removes every non-word character from an attachment name, giving its details key.
/// `unicode` selects Python 3 semantics (any letter or digit is a word character);
/// otherwise Python 2's ASCII-only `[A-Za-z0-9_]`.
pub fn strip_detail_key(name: &str, unicode: bool) -> String {
    if name.bytes().all(|b| b == b'_' || b.is_ascii_alphanumeric()) {
        return name.to_owned();
    }
    if unicode {
        name.chars()
            .filter(|&c| c == '_' || c.is_alphanumeric())
            .collect()
    } else {
        name.chars()
            .filter(|&c| c == '_' || c.is_ascii_alphanumeric())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaning_follows_stackviz() {
        let cases = [
            ("a.B.test_x[id-1234,smoke]", "a.B.test_x"),
            ("a.B.test_y[a][b]", "a.B.test_y[a]"),
            ("[onlybrackets]", "[onlybrackets]"),
            ("setUpClass (pkg.mod.Class)", "pkg.mod.Class.setUpClass"),
            ("test_z (a.Both)[smoke]", "test_z (a.Both)"),
            ("a.B.test_s(scen)", "a.B.test_s(scen)"),
            ("a[]", "a[]"),
            ("a (b)(c)", "b)(c.a"),
            ("x[y][]", "x"),
            ("x[a[]]", "x[a"),
            ("a.b[c]\n", "a.b"),
            ("a\nb[c]", "a\nb[c]"),
            ("", ""),
        ];
        for (id, want) in cases {
            assert_eq!(clean_test_name(id), want, "{id:?}");
        }
    }

    #[test]
    fn names_keep_parameters_and_drop_tempest_attributes() {
        for (id, want) in [
            ("a.B.test_x[id-1234,smoke]", "a.B.test_x"),
            ("a.B.test_x[smoke,id-1234]", "a.B.test_x"),
            ("t.test_param[small]", "t.test_param[small]"),
            ("t.test_param[1-2]", "t.test_param[1-2]"),
            ("test_z (a.Both)", "a.Both.test_z"),
            ("plain", "plain"),
        ] {
            assert_eq!(test_name(id), want, "{id:?}");
        }
    }

    #[test]
    fn key_stripping() {
        assert_eq!(strip_detail_key("pythonlogging:''", true), "pythonlogging");
        assert_eq!(strip_detail_key("log file: a-b.txt", true), "logfileabtxt");
        assert_eq!(strip_detail_key("traceback (i=2)", true), "tracebacki2");
        assert_eq!(
            strip_detail_key("pythonlogging:'é'", true),
            "pythonloggingé"
        );
        assert_eq!(
            strip_detail_key("pythonlogging:'é'", false),
            "pythonlogging"
        );
        assert_eq!(strip_detail_key(":::", true), "");
    }
}
