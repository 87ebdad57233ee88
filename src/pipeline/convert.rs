//! Converting a run to another format: `resultpipe subunit` writes any run (subunit v2
//! or v1, a repository, JUnit XML) as a subunit v2 stream, `resultpipe junit` as JUnit
//! XML.

use std::io::Write;
use std::path::PathBuf;

use super::{Context, Error, Progress};
use crate::emit::output::AtomicFile;
use crate::emit::subunit::SubunitWriter;
use crate::ingest::Format;
use crate::ingest::source::{InputError, Source, all_sources, read_source_as};
use crate::model::TestRecord;

/// What to convert and where to.
#[derive(Debug, Clone)]
pub struct SubunitSettings {
    /// The inputs (several are one run).
    pub inputs: Vec<PathBuf>,
    /// The file to write (atomically); `None` is stdout.
    pub output: Option<PathBuf>,
    /// Write the output even when the inputs hold no test result.
    pub allow_empty: bool,
}

/// What a conversion wrote.
#[derive(Debug, Clone, Copy, Default)]
pub struct Converted {
    /// Records written.
    pub records: u64,
    /// Bytes of output that belonged to no test, written as such.
    pub other_bytes: u64,
}

/// Reads every input (each checked to exist first) and writes its records as subunit
/// v2, in input order.
pub fn to_subunit(
    settings: &SubunitSettings,
    progress: &dyn Progress,
    stdout: &mut dyn Write,
) -> Result<Converted, Error> {
    let sources = all_sources(&settings.inputs).map_err(Error::input)?;
    let mut file = settings.output.as_deref().map(open_output).transpose()?;
    let out: &mut dyn Write = match file.as_mut() {
        Some(f) => f,
        None => stdout,
    };
    // records and other output arrive through two callbacks, one at a time
    struct State<W: Write> {
        w: SubunitWriter<W>,
        done: Converted,
        failed: Option<std::io::Error>,
    }
    let state = std::cell::RefCell::new(State {
        w: SubunitWriter::new(std::io::BufWriter::with_capacity(1 << 20, out)),
        done: Converted::default(),
        failed: None,
    });
    read_run(
        &sources,
        None,
        progress,
        &mut |r| {
            let s = &mut *state.borrow_mut();
            if s.failed.is_none() {
                match s.w.record(r) {
                    Ok(()) => s.done.records += 1,
                    Err(e) => s.failed = Some(e),
                }
            }
        },
        &mut |b| {
            let s = &mut *state.borrow_mut();
            if s.failed.is_none() {
                s.done.other_bytes += b.len() as u64;
                if let Err(e) = s.w.other_output(b) {
                    s.failed = Some(e);
                }
            }
        },
    )?;
    let State {
        mut w,
        done,
        failed,
    } = state.into_inner();
    let write_err = write_error(settings.output.as_deref());
    if let Some(e) = failed {
        return Err(write_err(e));
    }
    // (the output file, uncommitted, is removed when dropped)
    refuse_empty(done.records, settings.allow_empty, &sources)?;
    w.flush().map_err(&write_err)?;
    drop(w);
    if let Some(f) = file {
        f.commit().map_err(&write_err)?;
    }
    Ok(done)
}

/// What to write as JUnit XML, and where.
#[derive(Debug, Clone)]
pub struct JunitSettings {
    /// The inputs (several are one run).
    pub inputs: Vec<PathBuf>,
    /// The file to write (atomically); `None` is stdout.
    pub output: Option<PathBuf>,
    /// The report's name (`testsuites name`); default: the first input's file name.
    pub name: Option<String>,
    /// Write what python-subunit's `subunit2junitxml --no-passthrough` writes, byte for
    /// byte, instead of the rich report.
    pub subunit2junitxml: bool,
    /// Write the report even when the inputs hold no test result.
    pub allow_empty: bool,
}

/// Reads every input and writes the run as one JUnit XML report. The records are held
/// until the end (a testsuite per class needs them all); attachments are capped as
/// they are written.
pub fn to_junit(
    settings: &JunitSettings,
    progress: &dyn Progress,
    stdout: &mut dyn Write,
) -> Result<Converted, Error> {
    let sources = all_sources(&settings.inputs).map_err(Error::input)?;
    let mut records = Vec::new();
    // output that belonged to no test, held with the run (the writer caps it)
    let mut other = Vec::new();
    // subunit2junitxml reads subunit v2 only: anything else is passthrough to it
    let as_format = settings.subunit2junitxml.then_some(Format::V2);
    read_run(
        &sources,
        as_format,
        progress,
        &mut |r| records.push(r.clone()),
        &mut |b| other.extend_from_slice(b),
    )?;
    let other_bytes = other.len() as u64;
    if records.is_empty() && settings.subunit2junitxml && other_bytes > 0 {
        tracing::warn!(
            "--format subunit2junitxml reads subunit v2 only, as subunit2junitxml does: \
             the input's {other_bytes} byte(s) are not subunit v2 (the rich format reads \
             subunit v1 and JUnit too)"
        );
    }
    refuse_empty(records.len() as u64, settings.allow_empty, &sources)?;
    if settings.subunit2junitxml && other_bytes > 0 {
        tracing::info!(
            "{other_bytes} byte(s) of output that belonged to no test are not in the report \
             (subunit2junitxml --no-passthrough drops them too)"
        );
    }
    let name = settings.name.clone().unwrap_or_else(|| {
        sources
            .first()
            .map(|s| {
                let l = s.label();
                l.rsplit('/').next().unwrap_or(&l).to_owned()
            })
            .unwrap_or_default()
    });
    let write_err = write_error(settings.output.as_deref());
    let write = |out: &mut dyn Write| {
        if settings.subunit2junitxml {
            crate::emit::junit::write_subunit2junitxml(out, &records)
        } else {
            crate::emit::junit::write_junit(out, &name, &records, &other)
        }
    };
    match &settings.output {
        Some(p) => {
            let mut f = open_output(p)?;
            write(&mut f).map_err(&write_err)?;
            f.commit().map_err(&write_err)?;
        }
        None => {
            let mut out = std::io::BufWriter::new(stdout);
            write(&mut out)
                .and_then(|()| out.flush())
                .map_err(&write_err)?;
        }
    }
    Ok(Converted {
        records: records.len() as u64,
        other_bytes,
    })
}

/// A conversion of inputs that hold no test result is an error (unless allowed): an
/// empty stream or report downstream would read as a green run.
fn refuse_empty(records: u64, allow: bool, sources: &[Source]) -> Result<(), Error> {
    if records > 0 || allow {
        return Ok(());
    }
    let names: Vec<String> = sources.iter().map(Source::label).collect();
    Err(Error::input(format!(
        "no test results in {}: nothing written (--allow-empty writes it anyway)",
        names.join(", ")
    )))
}

/// The output file, started (atomically written: it appears only when committed).
fn open_output(path: &std::path::Path) -> Result<AtomicFile, Error> {
    let dir = super::report::parent_dir(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Error::input(format!("{}: not a file name", path.display())))?;
    std::fs::create_dir_all(dir)
        .and_then(|()| AtomicFile::create(dir, &name, false))
        .map_err(write_error(Some(path)))
}

/// An error writing the output (`None`: stdout).
fn write_error(output: Option<&std::path::Path>) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| {
        let what = output.map_or("stdout".to_owned(), |p| p.display().to_string());
        Error::output(Context::new(format!("cannot write {what}"), e))
    }
}

/// Reads the sources in order, handing on each record and the output that belonged to
/// no test; warns of a source without test results.
fn read_run(
    sources: &[Source],
    as_format: Option<Format>,
    progress: &dyn Progress,
    on_record: &mut impl FnMut(&TestRecord),
    on_other: &mut impl FnMut(&[u8]),
) -> Result<(), Error> {
    for source in sources {
        let label = source.label();
        let report = read_source_as(
            source,
            as_format,
            progress,
            |_, _| (),
            &mut |r, _, ()| on_record(r),
            on_other,
        )
        .map_err(|e| Error::input(InputError::new(&label, e)))?;
        if report.records == 0 && report.bytes == 0 {
            tracing::warn!("{label}: empty (0 bytes): no test results in it");
        } else if report.records == 0 {
            tracing::warn!("{label}: no test results in it");
        }
    }
    Ok(())
}
