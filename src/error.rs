//! The library's error type: every failure a user can fix, worded so the
//! message alone says what to fix.
//!
//! Errors travel between workers (and processes) as they are: `Error` is
//! serialisable, so a worker's failure reaches the worker that decides with
//! its kind intact. An I/O error travels as its message (its `ErrorKind`
//! becomes `Other` on the far side; the text, which is all a user sees, is
//! the same).

use std::path::Path;

use serde::{Deserialize, Serialize};

/// Everything that stops a job.
#[derive(Debug, thiserror::Error, Serialize, Deserialize)]
pub enum Error {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: String,
        /// The operating system's reason.
        #[serde(with = "io_message")]
        source: std::io::Error,
    },
    /// An input is unusable as a whole (empty, no files, ...).
    #[error("{0}")]
    Input(String),
    /// Malformed lines, more than the job tolerates. Holds the first few.
    #[error("{}", bad_lines_message(.bad, *.total, *.tolerated))]
    BadLines {
        /// The first bad lines in input order (at most a handful).
        bad: Vec<BadLine>,
        /// How many bad lines were found before reading stopped.
        total: u64,
        /// The job's `max_bad_lines`.
        tolerated: u64,
    },
    /// The job spec or a flag is wrong.
    #[error("{0}")]
    Config(String),
    /// The dataflow runtime failed (a worker panicked, a peer vanished).
    #[error("{0}")]
    Runtime(String),
}

fn bad_lines_message(bad: &[BadLine], total: u64, tolerated: u64) -> String {
    let mut message = match bad.first() {
        Some(first) => first.to_string(),
        None => "malformed input".to_string(),
    };
    if total > 1 {
        message.push_str(&format!(" (and {} more bad lines", total - 1));
        if tolerated > 0 {
            message.push_str(&format!(", more than max_bad_lines = {tolerated}"));
        }
        message.push(')');
    }
    message.push_str(
        "\nNothing was published. Fix the line, or let the job skip up to N bad lines \
         with --set max_bad_lines=N (they are then listed in rejects.csv).",
    );
    message
}

impl Clone for Error {
    fn clone(&self) -> Error {
        match self {
            Error::Io { path, source } => Error::Io {
                path: path.clone(),
                source: std::io::Error::new(source.kind(), source.to_string()),
            },
            Error::Input(message) => Error::Input(message.clone()),
            Error::BadLines {
                bad,
                total,
                tolerated,
            } => Error::BadLines {
                bad: bad.clone(),
                total: *total,
                tolerated: *tolerated,
            },
            Error::Config(message) => Error::Config(message.clone()),
            Error::Runtime(message) => Error::Runtime(message.clone()),
        }
    }
}

/// An `io::Error` on the wire: its message.
mod io_message {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(error: &std::io::Error, out: S) -> Result<S::Ok, S::Error> {
        out.serialize_str(&error.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(input: D) -> Result<std::io::Error, D::Error> {
        Ok(std::io::Error::other(String::deserialize(input)?))
    }
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}

/// A line that could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BadLine {
    /// The file, as given.
    pub file: String,
    /// 1-based line number.
    pub line: u64,
    /// Why, in words.
    pub reason: String,
}

impl std::fmt::Display for BadLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
