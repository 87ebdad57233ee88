//! `.stestr` and `.testrepository` repositories: finding them and listing their runs.
//! Run files are subunit v1 text; reading them is `subunit_v1`'s job.

use std::fs;
use std::path::{Path, PathBuf};

/// Repository flavour (they share one on-disk format).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `.stestr` (stestr).
    Stestr,
    /// `.testrepository` (testrepository, `testr`).
    Testrepository,
}

/// One stored run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The run's id (its file name).
    pub id: u64,
    /// The run file (subunit v1).
    pub path: PathBuf,
}

/// A repository of test runs and the runs it holds.
#[derive(Debug, Clone)]
pub struct Repository {
    /// The `.stestr` / `.testrepository` directory itself.
    pub dir: PathBuf,
    /// stestr's or testrepository's.
    pub kind: Kind,
    /// Runs in numeric order of their ids (gaps are normal).
    pub runs: Vec<Run>,
    /// The `next-stream` counter, when readable.
    pub next_stream: Option<u64>,
}

/// Why a repository cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// The directory holds no repository.
    #[error("{0}: no .stestr or .testrepository repository here")]
    NotFound(PathBuf),
    /// A repository of a format version we do not read.
    #[error("{path}: unsupported repository format {found:?} (expected \"1\")")]
    Format {
        /// The repository directory.
        path: PathBuf,
        /// Its `format` file's content.
        found: String,
    },
    /// Listing or reading the repository failed.
    #[error("{path}: cannot read repository")]
    Io {
        /// The repository directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl Repository {
    /// Opens the repository in `path` (a directory holding `.stestr/` or
    /// `.testrepository/`, or the repository directory itself).
    pub fn open(path: &Path) -> Result<Repository, RepoError> {
        let candidates = [
            (path.join(".stestr"), Kind::Stestr),
            (path.join(".testrepository"), Kind::Testrepository),
        ];
        let (dir, kind) = candidates
            .into_iter()
            .find(|(d, _)| d.join("format").is_file())
            .or_else(|| {
                let kind = if path.file_name().is_some_and(|n| n == ".testrepository") {
                    Kind::Testrepository
                } else {
                    Kind::Stestr
                };
                path.join("format")
                    .is_file()
                    .then(|| (path.to_path_buf(), kind))
            })
            .ok_or_else(|| RepoError::NotFound(path.to_path_buf()))?;
        let io_err = |source| RepoError::Io {
            path: dir.clone(),
            source,
        };
        let format = fs::read_to_string(dir.join("format")).map_err(io_err)?;
        if format.trim() != "1" {
            return Err(RepoError::Format {
                path: dir.clone(),
                found: format.trim().to_owned(),
            });
        }
        let next_stream = fs::read_to_string(dir.join("next-stream"))
            .ok()
            .and_then(|s| s.trim().parse().ok());
        let mut runs = Vec::new();
        for entry in fs::read_dir(&dir).map_err(io_err)? {
            let entry = entry.map_err(io_err)?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let Ok(id) = name.parse::<u64>() else {
                continue;
            };
            if entry.path().is_file() {
                runs.push(Run {
                    id,
                    path: entry.path(),
                });
            }
        }
        runs.sort_by_key(|r| r.id);
        Ok(Repository {
            dir,
            kind,
            runs,
            next_stream,
        })
    }

    /// The newest run: the largest id present.
    pub fn latest(&self) -> Option<&Run> {
        self.runs.last()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_runs_numerically_and_ignores_other_files() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join(".stestr");
        fs::create_dir(&repo).unwrap();
        fs::write(repo.join("format"), "1\n").unwrap();
        fs::write(repo.join("next-stream"), "11\n").unwrap();
        for f in ["0", "2", "10", "failing", "tmpabc", "times.dbm.dat"] {
            fs::write(repo.join(f), "").unwrap();
        }
        let r = Repository::open(tmp.path()).unwrap();
        assert_eq!(
            r.runs.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![0, 2, 10]
        );
        assert_eq!(r.latest().unwrap().id, 10);
        assert_eq!(r.next_stream, Some(11));
        assert_eq!(r.kind, Kind::Stestr);
        fs::write(repo.join("format"), "2\n").unwrap();
        assert!(matches!(
            Repository::open(tmp.path()),
            Err(RepoError::Format { .. })
        ));
        assert!(matches!(
            Repository::open(&tmp.path().join("nope")),
            Err(RepoError::NotFound(_))
        ));
    }
}
