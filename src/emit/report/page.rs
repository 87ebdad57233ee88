//! The page's bytes: `templates/report/page.html` with the CSS and the app's JS
//! (hand-written source files, concatenated in a fixed order) inlined, the index in a
//! script that hands it to the app, then every payload chunk in an inert
//! `<script type="application/octet-stream">`. A Content-Security-Policy meta tag
//! allows exactly those inline scripts and styles (by their SHA-256), and nothing that
//! could reach the network.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use base64::Engine;

use super::ReportMeta;
use super::chunks::{Stored, copy_chunk};
use crate::emit::output::AtomicFile;
use crate::emit::svg_chart::escape;

/// The page around the app.
const PAGE: &str = include_str!("../../../templates/report/page.html");
/// The styles.
const CSS: &str = include_str!("../../../templates/report/report.css");
/// The app's sources, in the order they are concatenated: data first, then the views,
/// then the wiring.
const JS: [&str; 9] = [
    include_str!("../../../templates/report/util.js"),
    include_str!("../../../templates/report/store.js"),
    include_str!("../../../templates/report/state.js"),
    include_str!("../../../templates/report/table.js"),
    include_str!("../../../templates/report/log.js"),
    include_str!("../../../templates/report/detail.js"),
    include_str!("../../../templates/report/timeline.js"),
    include_str!("../../../templates/report/search.js"),
    include_str!("../../../templates/report/app.js"),
];

/// The app's script: every source inside one function scope.
pub fn app_script() -> String {
    let mut s = String::from("(function(){\"use strict\";\n");
    for part in JS {
        s.push_str(part);
        s.push('\n');
    }
    s.push_str("})();");
    s
}

fn sha256(text: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(d.as_ref())
    )
}

/// Writes the page to `path` atomically; returns its size.
pub fn write(
    path: &Path,
    meta: &ReportMeta,
    index: &[u8],
    chunk_file: &mut File,
    chunks: &[Stored],
) -> io::Result<u64> {
    let app = app_script();
    let index_text = std::str::from_utf8(index).map_err(io::Error::other)?;
    let start = format!("RP.start(\"{index_text}\");");
    let csp = format!(
        "default-src 'none'; script-src {} {}; style-src {}; img-src data: blob:; worker-src blob:; base-uri 'none'; form-action 'none'",
        sha256(&app),
        sha256(&start),
        sha256(CSS)
    );
    let (head, tail) = PAGE
        .split_once("{{DATA}}")
        .ok_or_else(|| io::Error::other("page.html has no {{DATA}}"))?;
    let head = head
        .replace("{{CSP}}", &csp)
        .replace("{{TITLE}}", &escape(&meta.title))
        .replace("{{STYLE}}", CSS)
        .replace("{{SCRIPT}}", &app);
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other(format!("{}: not a file name", path.display())))?;
    let mut file = AtomicFile::create(dir, &name.to_string_lossy(), false)?;
    let mut out = Counted(&mut file, 0);
    out.write_all(head.as_bytes())?;
    out.write_all(b"<script>")?;
    out.write_all(start.as_bytes())?;
    out.write_all(b"</script>\n")?;
    for (id, c) in chunks.iter().enumerate() {
        write!(
            out,
            "<script type=\"application/octet-stream\" id=\"rp-c{id}\" data-raw=\"{}\">",
            c.raw
        )?;
        copy_chunk(chunk_file, *c, &mut out)?;
        out.write_all(b"</script>\n")?;
    }
    out.write_all(tail.as_bytes())?;
    let size = out.1;
    file.commit()?;
    Ok(size)
}

struct Counted<'a, W: Write>(&'a mut W, u64);

impl<W: Write> Write for Counted<'_, W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let n = self.0.write(b)?;
        self.1 += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}
