//! Reading inputs: which files make an input, which share of them each
//! worker reads, and how each line becomes a record or a bad line.
//!
//! An input is one file or a directory of part files (read in name order;
//! names starting with `.` or `_`, such as Spark's `_SUCCESS`, are skipped;
//! any other entry that is not a file, or a link to one, is an error).
//! Every worker reads only its own share ([`shares`]): an uncompressed file is
//! split into byte ranges at line boundaries, a `.gz` file (which cannot be
//! split) goes whole to one worker, and small files are spread round-robin.
//! Lines are parsed by [`records`]; a bad line is reported with its file and
//! 1-based line number, computed only when a line is bad.

pub mod customer_records;
pub mod lines;
pub mod nights;
pub mod records;
pub mod stats;

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
pub use stats::ReadStats;

/// One input file.
#[derive(Clone, Debug, Serialize)]
pub struct Source {
    /// The path as the user gave it (joined with the part name for directories).
    pub path: PathBuf,
    /// Size in bytes on disk.
    pub bytes: u64,
    /// Whether the file is gzip-compressed (by its `.gz` extension).
    pub gz: bool,
}

impl Source {
    /// The path for messages (`file:line: reason`).
    pub fn display(&self) -> String {
        self.path.display().to_string()
    }
}

/// Lists the files of an input: the file itself, or the part files of a directory in name order.
pub fn list_sources(path: &Path) -> Result<Vec<Source>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    let mut files = Vec::new();
    if meta.is_dir() {
        let entries = std::fs::read_dir(path).map_err(|e| Error::io(path, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(path, e))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if is_hidden(&name) {
                continue;
            }
            files.push(part_file(&entry)?);
        }
        files.sort();
        if files.is_empty() {
            return Err(Error::Input(format!(
                "{}: the directory holds no input files (names starting with '.' or '_' are skipped)",
                path.display()
            )));
        }
    } else {
        files.push(path.to_path_buf());
    }
    files.into_iter().map(Source::of_file).collect()
}

/// A part file of an input directory: a file, or a link to one. Anything
/// else is an error naming the entry (never silently skipped: the job would
/// report success on part of the data).
fn part_file(entry: &std::fs::DirEntry) -> Result<PathBuf> {
    let path = entry.path();
    let file_type = entry.file_type().map_err(|e| Error::io(&path, e))?;
    let way_out = "fix it, move it away, or rename it to start with '_' or '.' to have it skipped";
    let meta = match std::fs::metadata(&path) {
        Ok(meta) => meta,
        Err(e) if file_type.is_symlink() => {
            let target = std::fs::read_link(&path)
                .map(|t| t.display().to_string())
                .unwrap_or_else(|_| "?".to_string());
            let what = if e.kind() == io::ErrorKind::NotFound {
                "points to nothing (a dangling link)".to_string()
            } else if e.raw_os_error() == Some(libc::ELOOP) {
                "is a loop of symbolic links".to_string()
            } else {
                format!("cannot be followed: {e}")
            };
            return Err(Error::Input(format!(
                "{}: a symbolic link to {target} that {what}; {way_out}",
                path.display()
            )));
        }
        Err(e) => return Err(Error::io(&path, e)),
    };
    if meta.is_file() {
        Ok(path)
    } else if meta.is_dir() {
        Err(Error::Input(format!(
            "{}: a directory among the part files; parts are read from one level only, so {way_out}",
            path.display()
        )))
    } else {
        Err(Error::Input(format!(
            "{}: not a regular file (a pipe, socket or device); {way_out}",
            path.display()
        )))
    }
}

/// Whether a directory entry is skipped by every listing of inputs, nights
/// and inboxes: names starting with `.` or `_` (hidden files, markers such
/// as `_SUCCESS`, writers' temporary names).
pub fn is_hidden(name: &str) -> bool {
    name.starts_with('.') || name.starts_with('_')
}

impl Source {
    /// A file as a source: its size, and gzip if its name ends in `.gz`.
    pub fn of_file(path: PathBuf) -> Result<Source> {
        let bytes = std::fs::metadata(&path)
            .map_err(|e| Error::io(&path, e))?
            .len();
        let gz = path.extension().is_some_and(|e| e == "gz");
        Ok(Source { path, bytes, gz })
    }
}

/// A byte range of one source that one worker reads.
///
/// Lines are owned by the range their first byte falls in; a range that
/// starts mid-line skips to the next line. `end == u64::MAX` reads to the end
/// (always the case for `.gz` sources).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Share {
    /// Index into the source list.
    pub source: usize,
    /// First byte offset owned.
    pub start: u64,
    /// One past the last byte offset owned.
    pub end: u64,
}

/// The smallest byte range worth splitting a file into.
pub const MIN_SPLIT_BYTES: u64 = 1 << 20;

/// The shares worker `index` of `peers` reads.
///
/// A plain file of `n` bytes is cut into `min(peers, max(1, n / 1 MiB))`
/// ranges, and range `j` of file `f` goes to worker `(f + j) % peers`, so
/// part files spread over workers and a single large file splits evenly.
/// A `.gz` file is one range. The plan depends only on the file sizes and
/// `peers`, so every process computes the same plan without talking.
pub fn shares(sources: &[Source], index: usize, peers: usize) -> Vec<Share> {
    let mut mine = Vec::new();
    for (f, source) in sources.iter().enumerate() {
        let pieces = if source.gz {
            1
        } else {
            (source.bytes / MIN_SPLIT_BYTES).clamp(1, peers as u64)
        };
        for j in 0..pieces {
            if (f + j as usize) % peers != index {
                continue;
            }
            let (start, end) = if source.gz {
                (0, u64::MAX)
            } else {
                let start = source.bytes * j / pieces;
                let end = if j + 1 == pieces {
                    u64::MAX
                } else {
                    source.bytes * (j + 1) / pieces
                };
                (start, end)
            };
            mine.push(Share {
                source: f,
                start,
                end,
            });
        }
    }
    mine
}

/// What `summary.json` records of each input file.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct FileInfo {
    /// The path as given.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
}

/// Reads every source once to fingerprint it for the run summary.
pub fn fingerprint(sources: &[Source]) -> Result<Vec<FileInfo>> {
    sources
        .iter()
        .map(|source| {
            let mut file = File::open(&source.path).map_err(|e| Error::io(&source.path, e))?;
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = match file.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(Error::io(&source.path, e)),
                };
                hasher.update(&buf[..n]);
            }
            let digest = hasher.finalize();
            Ok(FileInfo {
                path: source.display(),
                bytes: source.bytes,
                sha256: digest.iter().map(|b| format!("{b:02x}")).collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(bytes: u64) -> Source {
        Source {
            path: PathBuf::from("x"),
            bytes,
            gz: false,
        }
    }

    #[test]
    fn every_byte_has_one_owner() {
        let sources = vec![plain(10 << 20), plain(100), plain(3 << 20)];
        for peers in 1..6 {
            let mut all: Vec<Share> = (0..peers)
                .flat_map(|i| shares(&sources, i, peers))
                .collect();
            all.sort_by_key(|s| (s.source, s.start));
            for (f, source) in sources.iter().enumerate() {
                let ranges: Vec<_> = all.iter().filter(|s| s.source == f).collect();
                assert_eq!(ranges[0].start, 0);
                assert_eq!(ranges.last().unwrap().end, u64::MAX);
                for pair in ranges.windows(2) {
                    assert_eq!(pair[0].end, pair[1].start);
                }
                assert!(ranges.len() as u64 <= (source.bytes / MIN_SPLIT_BYTES).max(1));
            }
        }
    }

    #[test]
    fn one_big_file_splits_across_all_workers() {
        let sources = vec![plain(64 << 20)];
        for i in 0..4 {
            assert_eq!(shares(&sources, i, 4).len(), 1);
        }
    }
}
