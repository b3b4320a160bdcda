//! Output sinks: table schemas, CSV and Parquet writers, atomic publishing,
//! and the rule for which directories a run may replace.

pub mod csv;
pub mod guard;
pub mod layout;
pub mod parquet;
pub mod publish;
pub mod table;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::BadLine;
use table::{col, Cell, ColType, Column, Row};

/// Output file format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// CSV with a header line (the default).
    #[default]
    Csv,
    /// Apache Parquet, snappy-compressed.
    Parquet,
}

impl Format {
    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
        }
    }
}

/// Writes one part file of a table in the job's format.
pub fn write_table<R: Row>(path: &Path, format: Format, rows: &[R]) -> std::io::Result<()> {
    match format {
        Format::Csv => csv::write_csv(path, rows),
        Format::Parquet => parquet::write_parquet(path, rows),
    }
}

impl Row for BadLine {
    fn columns() -> Vec<Column> {
        vec![
            col("file", ColType::Str),
            col("line", ColType::I64),
            col("reason", ColType::Str),
        ]
    }
    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        out.extend([
            Cell::Str(&self.file),
            Cell::I64(self.line as i64),
            Cell::Str(&self.reason),
        ]);
    }
}

/// Writes `rejects.csv`: the skipped bad lines with their reasons (always CSV).
pub fn write_rejects(path: &Path, bad: &[BadLine]) -> crate::error::Result<()> {
    csv::write_csv(path, bad).map_err(|e| crate::error::Error::io(path, e))
}
