//! What of each attachment goes into the report: everything of failing tests up to a
//! per-attachment cap, the head and tail of passing tests' larger ones, and past a
//! total cap less still (passing tests' first). Applied while streaming; every byte
//! left out is counted and shown in the page.

/// The size policy's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizePolicy {
    /// Attachments of failing (or unfinished) attempts, and of a flaky test's later
    /// attempts, are kept whole up to this many bytes; beyond it, their head and tail
    /// (half each).
    pub failed_cap: usize,
    /// Attachments of passing (or skipped) tests larger than `passed_head +
    /// passed_tail` keep only these many bytes of their start...
    pub passed_head: usize,
    /// ...and of their end.
    pub passed_tail: usize,
    /// Past this many bytes kept in all, passing tests' attachments are left out and
    /// failing tests' are cut to head and tail as passing ones are.
    pub total_cap: usize,
    /// Keep everything (the caps above are ignored).
    pub keep_all: bool,
}

/// A size: bytes, or a number with `K`, `M` or `G` (1024-based; `KB`, `KiB` too).
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size (bytes, or a number with K, M or G)"))?;
    let unit = unit.trim().to_ascii_uppercase();
    let shift = match unit.trim_end_matches("IB").trim_end_matches('B') {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        _ => return Err(format!("{s:?}: unknown unit (use K, M or G)")),
    };
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("{s:?} is too large"))
}

impl Default for SizePolicy {
    /// 1 MiB per failing attachment, 2 KiB head + 2 KiB tail for passing ones, 64 MiB
    /// in all: a 10 000-test run with 128 MB of logs gives a page under 25 MB.
    fn default() -> SizePolicy {
        SizePolicy {
            failed_cap: 1 << 20,
            passed_head: 2 << 10,
            passed_tail: 2 << 10,
            total_cap: 64 << 20,
            keep_all: false,
        }
    }
}

/// What was kept of one attachment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// All of it.
    Whole,
    /// Its first `head` bytes and its last `tail` bytes; `omitted` in between.
    HeadTail {
        /// Bytes kept from the start.
        head: usize,
        /// Bytes kept from the end.
        tail: usize,
        /// Bytes left out.
        omitted: usize,
    },
    /// Nothing (past the total cap).
    Dropped,
}

/// Applies a [`SizePolicy`] attachment by attachment, counting what it keeps.
#[derive(Debug, Clone, Default)]
pub struct PolicyState {
    /// The settings.
    pub policy: SizePolicy,
    /// Bytes kept so far.
    pub kept: u64,
    /// Attachments cut to head and tail.
    pub cut: u64,
    /// Bytes left out of those.
    pub cut_bytes: u64,
    /// Attachments left out whole.
    pub dropped: u64,
    /// Bytes of those.
    pub dropped_bytes: u64,
}

impl PolicyState {
    /// A state for `policy`, nothing kept yet.
    pub fn new(policy: SizePolicy) -> PolicyState {
        PolicyState {
            policy,
            ..PolicyState::default()
        }
    }

    /// What to keep of `text` (UTF-8, or raw bytes when `binary`), an attachment of a
    /// failing test or not.
    pub fn apply(&mut self, text: &[u8], failing: bool, binary: bool) -> Kept {
        let p = self.policy;
        let len = text.len();
        let kept = if p.keep_all {
            Kept::Whole
        } else {
            let over = self.kept as usize + len > p.total_cap;
            let (cap, head, tail) = match (failing, over) {
                (true, false) => (
                    p.failed_cap,
                    p.failed_cap / 2,
                    p.failed_cap - p.failed_cap / 2,
                ),
                (false, false) | (true, true) => {
                    (p.passed_head + p.passed_tail, p.passed_head, p.passed_tail)
                }
                (false, true) => (0, 0, 0),
            };
            if len <= cap {
                Kept::Whole
            } else if cap == 0 {
                Kept::Dropped
            } else {
                cut(text, head, tail, binary)
            }
        };
        match kept {
            Kept::Whole => self.kept += len as u64,
            Kept::HeadTail {
                head,
                tail,
                omitted,
            } => {
                self.kept += (head + tail) as u64;
                self.cut += 1;
                self.cut_bytes += omitted as u64;
            }
            Kept::Dropped => {
                self.dropped += 1;
                self.dropped_bytes += len as u64;
            }
        }
        kept
    }
}

/// Head and tail of `text`: text is cut at line ends where one is near (and never
/// inside a UTF-8 character), bytes where they fall.
fn cut(text: &[u8], head: usize, tail: usize, binary: bool) -> Kept {
    let len = text.len();
    let (mut h, mut t) = (head.min(len), tail.min(len - head.min(len)));
    if !binary {
        // the head ends after a newline in its second half, the tail starts after one
        // in its first half
        if let Some(i) = text[h - h / 2..h].iter().rposition(|&b| b == b'\n') {
            h = h - h / 2 + i + 1;
        }
        while h > 0 && h < len && (text[h] & 0xC0) == 0x80 {
            h -= 1;
        }
        let start = len - t;
        let window = &text[start..start + t / 2];
        let mut s = match window.iter().position(|&b| b == b'\n') {
            Some(i) => start + i + 1,
            None => start,
        };
        while s < len && (text[s] & 0xC0) == 0x80 {
            s += 1;
        }
        t = len - s;
    }
    if h + t >= len {
        return Kept::Whole;
    }
    Kept::HeadTail {
        head: h,
        tail: t,
        omitted: len - h - t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> SizePolicy {
        SizePolicy {
            failed_cap: 100,
            passed_head: 10,
            passed_tail: 10,
            total_cap: 400,
            keep_all: false,
        }
    }

    #[test]
    fn caps_are_honoured_and_every_byte_left_out_is_counted() {
        let mut s = PolicyState::new(policy());
        let log: Vec<u8> = (0..60).map(|i| b'a' + (i % 26) as u8).collect();
        assert_eq!(s.apply(&log, true, false), Kept::Whole);
        match s.apply(&log, false, true) {
            Kept::HeadTail {
                head,
                tail,
                omitted,
            } => {
                assert_eq!((head, tail, omitted), (10, 10, 40))
            }
            k => panic!("{k:?}"),
        }
        let big = vec![b'x'; 250];
        assert_eq!(
            s.apply(&big, true, true),
            Kept::HeadTail {
                head: 50,
                tail: 50,
                omitted: 150
            }
        );
        // 60 + 20 + 100 kept; a failing 300 would pass the total: cut like a passing one
        assert_eq!(s.kept, 180);
        let more = vec![b'y'; 300];
        assert_eq!(
            s.apply(&more, true, true),
            Kept::HeadTail {
                head: 10,
                tail: 10,
                omitted: 280
            }
        );
        assert_eq!(s.apply(&more, false, true), Kept::Dropped);
        assert_eq!((s.cut, s.dropped, s.dropped_bytes), (3, 1, 300));
        assert_eq!(s.cut_bytes, 40 + 150 + 280);
        // nothing is lost with keep_all
        let mut all = PolicyState::new(SizePolicy {
            keep_all: true,
            ..policy()
        });
        for _ in 0..10 {
            assert_eq!(all.apply(&more, false, false), Kept::Whole);
        }
        assert_eq!((all.kept, all.cut, all.dropped), (3000, 0, 0));
    }

    #[test]
    fn text_is_cut_at_line_ends_and_never_inside_a_character() {
        let text = "line one\nline two é\nline three\n".repeat(20);
        let b = text.as_bytes();
        match cut(b, 40, 40, false) {
            Kept::HeadTail {
                head,
                tail,
                omitted,
            } => {
                assert_eq!(b[head - 1], b'\n');
                assert_eq!(b[b.len() - tail - 1], b'\n');
                assert!(std::str::from_utf8(&b[..head]).is_ok());
                assert!(std::str::from_utf8(&b[b.len() - tail..]).is_ok());
                assert_eq!(head + tail + omitted, b.len());
            }
            k => panic!("{k:?}"),
        }
        let e = "é".repeat(50);
        match cut(e.as_bytes(), 11, 11, false) {
            Kept::HeadTail { head, tail, .. } => {
                assert!(std::str::from_utf8(&e.as_bytes()[..head]).is_ok());
                assert!(std::str::from_utf8(&e.as_bytes()[e.len() - tail..]).is_ok());
            }
            k => panic!("{k:?}"),
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Whatever the attachments: every byte is kept, cut or dropped and counted
            /// so; the caps hold; `keep_all` keeps everything.
            #[test]
            fn caps_hold_and_every_byte_is_accounted_for(
                atts in proptest::collection::vec((0usize..3000, any::<bool>(), any::<bool>()), 0..60),
                failed_cap in 1usize..2000, head in 0usize..300, tail in 0usize..300,
                total in 0usize..20000, keep_all in any::<bool>(),
            ) {
                let policy = SizePolicy { failed_cap, passed_head: head, passed_tail: tail, total_cap: total, keep_all };
                let mut s = PolicyState::new(policy);
                let (mut kept, mut left_out) = (0u64, 0u64);
                for (len, failing, binary) in atts {
                    let text: Vec<u8> = (0..len).map(|i| if i % 37 == 36 { b'\n' } else { b'a' + (i % 26) as u8 }).collect();
                    let before = s.kept;
                    match s.apply(&text, failing, binary) {
                        Kept::Whole => {
                            kept += len as u64;
                            prop_assert!(keep_all || len <= failed_cap.max(head + tail));
                        }
                        Kept::HeadTail { head: h, tail: t, omitted } => {
                            prop_assert!(!keep_all);
                            prop_assert_eq!(h + t + omitted, len);
                            prop_assert!(omitted > 0);
                            prop_assert!(h + t <= failed_cap.max(head + tail));
                            kept += (h + t) as u64;
                            left_out += omitted as u64;
                        }
                        Kept::Dropped => {
                            prop_assert!(!keep_all && !failing);
                            prop_assert!(before as usize + len > total);
                            left_out += len as u64;
                        }
                    }
                }
                prop_assert_eq!(s.kept, kept);
                prop_assert_eq!(s.cut_bytes + s.dropped_bytes, left_out);
                if keep_all {
                    prop_assert_eq!(left_out, 0);
                }
            }
        }
    }
}
