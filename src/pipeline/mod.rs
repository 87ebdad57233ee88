//! The jobs, one module each, wiring `ingest` → `model` → `emit` / `treeherder` →
//! `sinks`. A job takes validated settings (plain structs: no flags, no environment
//! variables; secrets and URLs arrive in them), a writer for what it prints and, where
//! it reads runs, a [`Progress`] to tell how far it got. It returns an outcome or an
//! [`Error`] that says whether the input, an output or a delivery failed. The command
//! line, a queue worker and the tests all call the jobs the same way.

pub mod convert;
pub mod export;
pub mod oct_csv;
pub mod oct_report;
pub mod pulse;
pub mod report;
pub mod splunk;
pub mod summary;
pub mod task;
pub mod treeherder;
pub mod worker;

pub use crate::ingest::source::{NoProgress, Progress};

/// An error from a job's own layer, boxed.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a job failed, in the kinds that decide what a caller does about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input is missing, unreadable or not what the job takes, or a setting is
    /// unusable: nothing to retry until someone fixes it.
    #[error(transparent)]
    Input(BoxError),
    /// An output could not be written (a directory, a file, stdout).
    #[error(transparent)]
    Output(BoxError),
    /// What was to be delivered was not all delivered, after the retries.
    #[error(transparent)]
    Delivery(BoxError),
}

impl Error {
    /// An input error.
    pub fn input(e: impl Into<BoxError>) -> Error {
        Error::Input(e.into())
    }

    /// An output error.
    pub fn output(e: impl Into<BoxError>) -> Error {
        Error::Output(e.into())
    }

    /// A delivery error.
    pub fn delivery(e: impl Into<BoxError>) -> Error {
        Error::Delivery(e.into())
    }

    /// The error underneath the kind.
    pub fn into_inner(self) -> BoxError {
        match self {
            Error::Input(e) | Error::Output(e) | Error::Delivery(e) => e,
        }
    }
}

/// An error with a message of its own and the cause under it.
#[derive(Debug, thiserror::Error)]
#[error("{what}")]
pub struct Context {
    what: String,
    #[source]
    cause: BoxError,
}

impl Context {
    /// `what` went wrong because of `cause`.
    pub fn new(what: impl Into<String>, cause: impl Into<BoxError>) -> Context {
        Context {
            what: what.into(),
            cause: cause.into(),
        }
    }
}

pub use crate::emit::output::host_name;

/// Gives the memory freed so far back to the system (a queue worker calls it between
/// tasks and between a task's phases). A task reads a whole run on threads of its
/// own; glibc keeps what they freed in per-thread arenas, so without
/// this a worker's resident memory grows task after task to several times one task's
/// peak (10 000-test runs with a Pulse job each: 217 MiB after one task, 515 MiB
/// after six; with it 327 MiB after six and 333 MiB after fourteen).
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own arenas and returns whole free pages
    // to the kernel; it takes no pointer and is safe to call from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}
