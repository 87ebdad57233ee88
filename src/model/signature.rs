//! A failure's signature: what makes two failures the same problem. Exception type, the
//! innermost frame of the project's own code (file and function, not line: where the
//! failure was raised) and the first line of the exception message with its variable
//! parts masked (numbers, hex, UUIDs, request ids, addresses, paths, hosts, IPs, quoted
//! values). Failures with equal signatures form a cluster. See `docs/triage.md`.

use std::fmt;

/// A failure's signature; see the module's documentation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signature {
    /// The exception's type as written (`tempest.lib.exceptions.TimeoutException`), or
    /// empty for a failure with only a message.
    pub exception: String,
    /// The innermost frame of the project's own code: its file (as written, made
    /// relative from the project's root when the path shows one) and function.
    pub frame: Option<(String, String)>,
    /// The message's first line, masked (`<n>` numbers and hex ids, `<hex>` `0x…`,
    /// `<uuid>`, `<ip>`, `<host>`, `<path>`, `<q>`).
    pub message: String,
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.exception.is_empty() {
            f.write_str(&self.exception)?;
        }
        if let Some((file, func)) = &self.frame {
            write!(f, " in {func} ({file})")?;
        }
        if !self.message.is_empty() {
            if !self.exception.is_empty() || self.frame.is_some() {
                f.write_str(": ")?;
            }
            f.write_str(&self.message)?;
        }
        Ok(())
    }
}

/// One frame of a Python traceback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The file, as written.
    pub file: &'a str,
    /// The function.
    pub func: &'a str,
}

/// Path parts that mark code that is not the project's own: the standard library,
/// site-packages, and the test frameworks' machinery.
const NOT_OWN: &[&str] = &[
    "/site-packages/",
    "/dist-packages/",
    "/lib/python",
    "/lib64/python",
    "/testtools/",
    "/unittest/",
    "/_pytest/",
    "/pytest/",
    "/pluggy/",
    "/fixtures/",
    "/subunit/",
    "/stestr/",
    "<frozen ",
    "<string>",
];

/// Whether a frame's file is the project's own code.
pub fn is_own(file: &str) -> bool {
    let f = file.replace('\\', "/");
    !NOT_OWN.iter().any(|p| f.contains(p))
}

/// The frames of a Python traceback, outermost first (`  File "f", line N, in func`).
pub fn frames(traceback: &str) -> Vec<Frame<'_>> {
    traceback
        .lines()
        .filter_map(|l| {
            let rest = l.trim_start().strip_prefix("File \"")?;
            let (file, rest) = rest.split_once('"')?;
            let func = rest.rsplit_once(", in ").map_or("", |(_, f)| f.trim());
            Some(Frame { file, func })
        })
        .collect()
}

/// The last three parts of `file`'s path: where a checkout lives (`/opt/stack/`,
/// `/home/ci/src/`) does not change the signature, the file within the project does.
fn short_path(file: &str) -> String {
    let f = file.replace('\\', "/");
    let parts: Vec<&str> = f.split('/').filter(|p| !p.is_empty()).collect();
    let keep = parts.len().min(3);
    parts[parts.len() - keep..].join("/")
}

/// Splits an exception line into type and message: `pkg.Error: msg` → (`pkg.Error`,
/// `msg`); a line whose head is not a dotted identifier is all message.
fn split_exception(line: &str) -> (&str, &str) {
    // `pkg.mod.Name`: dot-separated words
    let dotted = |s: &str| {
        !s.is_empty()
            && s.split('.')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_'))
    };
    match line.split_once(':') {
        Some((head, msg))
            if dotted(head) && head.starts_with(|c: char| c.is_alphabetic() || c == '_') =>
        {
            (head, msg.trim())
        }
        Some(_) => ("", line.trim()),
        None => {
            let t = line.trim();
            let last = t.rsplit('.').next().unwrap_or("");
            if dotted(t) && (last.ends_with("Error") || last.ends_with("Exception")) {
                (t, "")
            } else {
                ("", t)
            }
        }
    }
}

/// The signature of a failure from its traceback (or message) text.
pub fn signature(traceback: &str) -> Signature {
    let line = super::text::exception_line(traceback);
    let (exception, message) = split_exception(line);
    let frame = frames(traceback)
        .into_iter()
        .rev()
        .find(|f| is_own(f.file))
        .map(|f| (short_path(f.file), f.func.to_owned()));
    Signature {
        exception: exception.to_owned(),
        frame,
        message: mask(message),
    }
}

fn is_hex(c: char) -> bool {
    c.is_ascii_hexdigit()
}

/// `s` with its variable parts replaced by placeholders; see the module's
/// documentation.
pub fn mask(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let word = |c: char| c.is_alphanumeric() || c == '_';
    while i < chars.len() {
        let c = chars[i];
        let prev_word = i > 0 && word(chars[i - 1]);
        // quoted values
        if (c == '\'' || c == '"')
            && !prev_word
            && let Some(len) = chars[i + 1..].iter().position(|&q| q == c)
        {
            out.push_str("<q>");
            i += len + 2;
            continue;
        }
        // paths: /a/b, ./a, C:\a
        if (c == '/' && chars.get(i + 1).is_some_and(|&n| word(n) || n == '.'))
            && !prev_word
            && !(i > 0 && chars[i - 1] == '/')
        {
            let end = take_while(&chars, i, |c| {
                !c.is_whitespace() && !"'\",;()[]{}<>".contains(c)
            });
            let token: String = chars[i..end].iter().collect();
            if token[1..].contains('/') || token.contains('.') {
                out.push_str("<path>");
                i = end;
                continue;
            }
        }
        if !prev_word && (word(c) || c == '-') {
            let end = take_while(&chars, i, |c| word(c) || c == '-' || c == '.' || c == ':');
            let token: String = chars[i..end].iter().collect();
            let token = token.trim_end_matches(['.', ':', '-']);
            let n = token.chars().count();
            if let Some(kind) = classify(token) {
                out.push_str(kind);
                i += n;
                continue;
            }
            // a value with a unit or a time: its numbers masked one by one
            if c.is_ascii_digit() {
                let end = take_while(&chars, i, |c| c.is_ascii_digit() || c == '.');
                out.push_str("<n>");
                i = end;
                continue;
            }
            // a word: copied up to its end, numbers inside words stay
            let end = take_while(&chars, i, word);
            out.extend(&chars[i..end]);
            i = end.max(i + 1);
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

fn take_while(chars: &[char], from: usize, f: impl Fn(char) -> bool) -> usize {
    let mut j = from;
    while j < chars.len() && f(chars[j]) {
        j += 1;
    }
    j
}

/// What a token is, as a placeholder, when it is a variable part.
fn classify(t: &str) -> Option<&'static str> {
    let uuid_like = |s: &str| {
        let groups: Vec<&str> = s.split('-').collect();
        groups.len() == 5
            && groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
            && groups.iter().all(|g| g.chars().all(is_hex))
    };
    if uuid_like(t) {
        return Some("<uuid>");
    }
    if let Some(rest) = t
        .strip_prefix("req-")
        .or_else(|| t.strip_prefix("request-"))
        && uuid_like(rest)
    {
        return Some("req-<uuid>");
    }
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X"))
        && !h.is_empty()
        && h.chars().all(is_hex)
    {
        return Some("<hex>");
    }
    let ipv4 = t.split('.').count() == 4
        && t.split('.')
            .all(|p| !p.is_empty() && p.len() <= 3 && p.chars().all(|c| c.is_ascii_digit()));
    if ipv4 {
        return Some("<ip>");
    }
    if t.contains(':') && t.split(':').count() >= 3 && t.chars().all(|c| is_hex(c) || c == ':') {
        return Some("<ip>");
    }
    // long hex runs (ids, hashes: 8 or more hex digits) are numbers too: a 12-digit hex
    // id is all decimal digits now and then, and a count can be any length, so both
    // must mask alike
    if t.len() >= 8 && t.chars().all(is_hex) && t.chars().any(|c| c.is_ascii_digit()) {
        return Some("<n>");
    }
    if !t.is_empty()
        && t.chars().all(|c| c.is_ascii_digit() || c == '.')
        && t.starts_with(|c: char| c.is_ascii_digit())
    {
        return Some("<n>");
    }
    // host names: dotted labels, the last a top-level-like word, some label with a digit
    // or a hyphen, or a well-known suffix
    let labels: Vec<&str> = t.split('.').collect();
    if labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        && t.chars().any(|c| c.is_ascii_lowercase())
        && t == t.to_ascii_lowercase()
    {
        let last = labels[labels.len() - 1];
        let tld = matches!(
            last,
            "com"
                | "org"
                | "net"
                | "io"
                | "local"
                | "internal"
                | "lan"
                | "localdomain"
                | "example"
                | "test"
                | "cloud"
        );
        if tld
            || (labels.len() >= 3
                && labels
                    .iter()
                    .any(|l| l.contains('-') || l.chars().any(|c| c.is_ascii_digit())))
        {
            return Some("<host>");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_variable_part_is_masked() {
        let cases = [
            ("timed out after 502 s", "timed out after <n> s"),
            ("took 1.5s", "took <n>s"),
            ("at 12:00:01.838", "at <n>:<n>:<n>"),
            ("on nova-42 now", "on nova-<n> now"),
            ("took 1.5 s", "took <n> s"),
            ("at 0x7f3a2b10c0d0", "at <hex>"),
            (
                "server f0ce5835-05c6-af07-58d5-563dab2cd31e gone",
                "server <uuid> gone",
            ),
            (
                "request req-1a28f7b3-24e4-e25a-15fc-899e4fd58dbe failed",
                "request req-<uuid> failed",
            ),
            ("connect to 10.0.0.12 refused", "connect to <ip> refused"),
            ("connect to fe80::1:2 refused", "connect to <ip> refused"),
            ("host compute-8.example.org down", "host <host> down"),
            ("reading /etc/nova/nova-42.conf", "reading <path>"),
            ("port 'abc' and \"def\"", "port <q> and <q>"),
            (
                "project 549040105754 and 6c2284f40894",
                "project <n> and <n>",
            ),
            ("commit 9c6e4c31ad26efdad0b9 missing", "commit <n> missing"),
            (
                "3 != 4: quota exceeded for instances in project 0a1b2c3d4e5f",
                "<n> != <n>: quota exceeded for instances in project <n>",
            ),
            (
                "test_server_0 and Server0TestJSON stay",
                "test_server_0 and Server0TestJSON stay",
            ),
            ("it's a value", "it's a value"),
        ];
        for (input, want) in cases {
            assert_eq!(mask(input), want, "{input}");
        }
    }

    #[test]
    fn real_tracebacks_give_their_exception_own_frame_and_message() {
        // testdata/stackviz/repository: unittest's own frame is not the project's
        let tb = "Traceback (most recent call last):\n  File \"/tmp/svsuite2/svcases/test_basic.py\", line 80, in test_logs_and_fails\n    self.fail(\"explicit failure after logging\")\n  File \"/root/.pyenv/versions/3.11.7/lib/python3.11/unittest/case.py\", line 703, in fail\n    raise self.failureException(msg)\nAssertionError: explicit failure after logging\n";
        let s = signature(tb);
        assert_eq!(s.exception, "AssertionError");
        assert_eq!(
            s.frame,
            Some((
                "svsuite2/svcases/test_basic.py".into(),
                "test_logs_and_fails".into()
            ))
        );
        assert_eq!(s.message, "explicit failure after logging");
        // a fixture's error with only an exception line (testdata/subunit/statuses)
        let s = signature("RuntimeError: db down\n");
        assert_eq!(
            (s.exception.as_str(), s.frame.clone(), s.message.as_str()),
            ("RuntimeError", None, "db down")
        );
        // a message only
        let s = signature("Server failed to boot within 300 s");
        assert_eq!(
            (s.exception.as_str(), s.message.as_str()),
            ("", "Server failed to boot within <n> s")
        );
        assert_eq!(s.to_string(), "Server failed to boot within <n> s");
        // testtools' MismatchError
        let s = signature(
            "Traceback (most recent call last):\n  File \"/opt/stack/tempest/tempest/api/compute/base.py\", line 95, in assert_quota\n    self.assertEqual(a, b)\n  File \"/usr/lib/python3/dist-packages/testtools/testcase.py\", line 393, in assertEqual\n    self.assertThat(observed, matcher, message)\ntesttools.matchers._impl.MismatchError: 3 != 4: quota exceeded\n",
        );
        assert_eq!(s.exception, "testtools.matchers._impl.MismatchError");
        assert_eq!(
            s.frame,
            Some(("api/compute/base.py".into(), "assert_quota".into()))
        );
        assert_eq!(s.message, "<n> != <n>: quota exceeded");
        assert_eq!(
            s.to_string(),
            "testtools.matchers._impl.MismatchError in assert_quota (api/compute/base.py): <n> != <n>: quota exceeded"
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn traceback(exc: &str, own_file: &str, own_func: &str, line: u32, msg: &str) -> String {
            format!(
                "Traceback (most recent call last):\n  File \"/opt/stack/proj/tests/test_x.py\", line {line}, in test_x\n    self.do()\n  File \"/opt/stack/proj/{own_file}\", line {}, in {own_func}\n    raise exc\n  File \"/usr/lib/python3.11/unittest/case.py\", line 10, in fail\n    raise\n{exc}: {msg}\n",
                line + 7
            )
        }

        fn message(n: u32, m: u32, id: u128, ip: [u8; 4], host: u8, path: u16, q: &str) -> String {
            let u = format!("{id:032x}");
            format!(
                "Server {}-{}-{}-{}-{} failed after {n} s ({m} tries) on compute-{host}.example.org ({}.{}.{}.{}) reading /etc/app/app-{path}.conf with flavor '{q}'",
                &u[..8],
                &u[8..12],
                &u[12..16],
                &u[16..20],
                &u[20..],
                ip[0],
                ip[1],
                ip[2],
                ip[3]
            )
        }

        proptest! {
            /// Changing only the variable parts never changes the cluster; changing the
            /// exception type or the own frame always does.
            #[test]
            fn variable_parts_never_split_a_cluster(
                a in (any::<u32>(), any::<u32>(), any::<u128>(), any::<[u8; 4]>(), any::<u8>(), any::<u16>(), "[a-z0-9 ._-]{0,12}", 1u32..5000),
                b in (any::<u32>(), any::<u32>(), any::<u128>(), any::<[u8; 4]>(), any::<u8>(), any::<u16>(), "[a-z0-9 ._-]{0,12}", 1u32..5000),
            ) {
                let ma = message(a.0, a.1, a.2, a.3, a.4, a.5, &a.6);
                let mb = message(b.0, b.1, b.2, b.3, b.4, b.5, &b.6);
                let sa = signature(&traceback("proj.exc.Timeout", "proj/waiters.py", "wait_for", a.7, &ma));
                let sb = signature(&traceback("proj.exc.Timeout", "proj/waiters.py", "wait_for", b.7, &mb));
                prop_assert_eq!(&sa, &sb);
                let other_type = signature(&traceback("proj.exc.Conflict", "proj/waiters.py", "wait_for", b.7, &mb));
                prop_assert_ne!(&sa, &other_type);
                let other_frame = signature(&traceback("proj.exc.Timeout", "proj/waiters.py", "wait_until", b.7, &mb));
                prop_assert_ne!(&sa, &other_frame);
                let other_file = signature(&traceback("proj.exc.Timeout", "proj/other.py", "wait_for", b.7, &mb));
                prop_assert_ne!(&sa, &other_file);
            }

            /// Any text: no panic.
            #[test]
            fn any_text_gives_a_signature(s in "\\PC{0,200}") {
                let _ = signature(&s);
                let _ = mask(&s);
            }
        }
    }
}
