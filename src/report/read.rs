//! Reading a published output directory back: `summary.json` and the tables,
//! in CSV or Parquet parts, streamed row by row with columns found by name.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::input::lines::Sep;
use crate::input::records::split;
use crate::output::layout;

/// A published output directory, checked to be complete.
#[derive(Debug)]
pub struct OutputDir {
    /// The directory.
    pub dir: PathBuf,
    /// `summary.json`, parsed.
    pub summary: serde_json::Value,
}

impl OutputDir {
    /// Opens `dir`, failing clearly unless it is a complete published output
    /// (`_SUCCESS` and a readable `summary.json`).
    pub fn open(dir: &Path) -> Result<OutputDir> {
        if !dir.is_dir() {
            return Err(Error::Input(format!(
                "{}: not a directory. Give the output directory of a finished \
                 `reach run` (its --output), e.g. `reach report out/quickstart`.",
                dir.display()
            )));
        }
        let missing: Vec<&str> = [layout::SUCCESS, layout::SUMMARY]
            .into_iter()
            .filter(|name| !dir.join(name).is_file())
            .collect();
        if !missing.is_empty() {
            return Err(Error::Input(format!(
                "{}: not a published reach output (no {}). Give the --output \
                 directory of a `reach run` that finished.",
                dir.display(),
                missing.join(" and no ")
            )));
        }
        let path = dir.join(layout::SUMMARY);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let summary = serde_json::from_slice(&bytes).map_err(|e| {
            Error::Input(format!(
                "{}:{}: not valid JSON: {e}",
                path.display(),
                e.line()
            ))
        })?;
        Ok(OutputDir {
            dir: dir.to_path_buf(),
            summary,
        })
    }

    /// Whether the table's directory exists.
    pub fn has_table(&self, table: &str) -> bool {
        self.dir.join(table).is_dir()
    }

    /// The part files of a table, in name order (`part-*.csv` or `part-*.parquet`).
    pub fn parts(&self, table: &str) -> Result<Vec<PathBuf>> {
        let dir = self.dir.join(table);
        let entries = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        let mut parts = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| Error::io(&dir, e))?.path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.starts_with("part-") && (name.ends_with(".csv") || name.ends_with(".parquet")) {
                parts.push(path);
            }
        }
        parts.sort();
        if parts.is_empty() {
            return Err(Error::Input(format!(
                "{}: no part files (part-*.csv or part-*.parquet)",
                dir.display()
            )));
        }
        Ok(parts)
    }

    /// The table format, from its first part's extension: `csv` or `parquet`.
    pub fn format(&self, table: &str) -> Result<&'static str> {
        let parts = self.parts(table)?;
        Ok(if parts[0].extension().is_some_and(|e| e == "parquet") {
            "parquet"
        } else {
            "csv"
        })
    }

    /// Calls `each` with the cells of every row of `table` (all parts, in
    /// part order), picked and ordered as `columns` names them. A missing
    /// column is an error naming the file; `each` may fail with a message,
    /// which is reported with the file and line.
    pub fn for_each_row(
        &self,
        table: &str,
        columns: &[&str],
        mut each: impl FnMut(&[&str]) -> std::result::Result<(), String>,
    ) -> Result<()> {
        for part in self.parts(table)? {
            if part.extension().is_some_and(|e| e == "parquet") {
                let header: Vec<String> = crate::output::parquet::read_parquet_columns(&part)
                    .map_err(|e| Error::Input(e.to_string()))?
                    .into_iter()
                    .map(|(name, _)| name)
                    .collect();
                let picks = pick(&header, columns, &part)?;
                let rows = crate::output::parquet::read_parquet_rows(&part)
                    .map_err(|e| Error::Input(e.to_string()))?;
                let mut cells: Vec<&str> = Vec::with_capacity(picks.len());
                for (i, row) in rows.iter().enumerate() {
                    cells.clear();
                    cells.extend(picks.iter().map(|&p| row[p].as_str()));
                    each(&cells).map_err(|reason| {
                        Error::Input(format!("{}: row {}: {reason}", part.display(), i + 1))
                    })?;
                }
            } else {
                self.csv_rows(&part, columns, &mut each)?;
            }
        }
        Ok(())
    }

    fn csv_rows(
        &self,
        part: &Path,
        columns: &[&str],
        each: &mut impl FnMut(&[&str]) -> std::result::Result<(), String>,
    ) -> Result<()> {
        let file = File::open(part).map_err(|e| Error::io(part, e))?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut line = String::new();
        let mut picks: Option<Vec<usize>> = None;
        // `number` is the line a record starts on; `next` the line after it.
        let mut next = 1u64;
        loop {
            line.clear();
            let n = reader
                .read_line(&mut line)
                .map_err(|e| Error::io(part, e))?;
            if n == 0 {
                break;
            }
            let number = next;
            next += 1;
            // A quoted field may span lines: read on until the quotes balance.
            while line.bytes().filter(|&b| b == b'"').count() % 2 == 1 {
                let more = reader
                    .read_line(&mut line)
                    .map_err(|e| Error::io(part, e))?;
                next += 1;
                if more == 0 {
                    return Err(Error::Input(format!(
                        "{}:{number}: an unterminated quoted field",
                        part.display()
                    )));
                }
            }
            let text = line.strip_suffix('\n').unwrap_or(&line);
            // The input parser's RFC 4180 splitter: fields borrow the line.
            let mut fields = Vec::new();
            split(text, Sep::Comma, &mut fields)
                .map_err(|reason| Error::Input(format!("{}:{number}: {reason}", part.display())))?;
            match &picks {
                None => {
                    let header: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
                    picks = Some(pick(&header, columns, part)?);
                }
                Some(picks) => {
                    if let Some(&p) = picks.iter().find(|&&p| p >= fields.len()) {
                        return Err(Error::Input(format!(
                            "{}:{number}: {} fields, expected at least {}",
                            part.display(),
                            fields.len(),
                            p + 1
                        )));
                    }
                    let cells: Vec<&str> = picks.iter().map(|&p| &*fields[p]).collect();
                    each(&cells).map_err(|reason| {
                        Error::Input(format!("{}:{number}: {reason}", part.display()))
                    })?;
                }
            }
        }
        if picks.is_none() {
            return Err(Error::Input(format!(
                "{}:1: empty file, expected a header line",
                part.display()
            )));
        }
        Ok(())
    }
}

/// The positions of `wanted` in `header`.
fn pick(header: &[String], wanted: &[&str], file: &Path) -> Result<Vec<usize>> {
    wanted
        .iter()
        .map(|name| {
            header.iter().position(|h| h == name).ok_or_else(|| {
                Error::Input(format!(
                    "{}: no column {name:?} (columns: {})",
                    file.display(),
                    header.join(", ")
                ))
            })
        })
        .collect()
}

/// Parses an integer cell.
pub fn int(cell: &str, column: &str) -> std::result::Result<u64, String> {
    cell.parse()
        .map_err(|_| format!("{column}: expected a non-negative integer, found {cell:?}"))
}

/// Parses a decimal cell; empty, `NaN`, `inf` and `-inf` are accepted.
pub fn decimal(cell: &str, column: &str) -> std::result::Result<f64, String> {
    match cell.trim() {
        "" => Ok(f64::NAN),
        t => t
            .parse()
            .map_err(|_| format!("{column}: expected a decimal, found {cell:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quoted_fields() {
        let mut fields = Vec::new();
        split(r#"a,"b,c","d""e",,"""#, Sep::Comma, &mut fields).unwrap();
        assert_eq!(fields, vec!["a", "b,c", "d\"e", "", ""]);
    }

    #[test]
    fn refuses_an_unpublished_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("summary.json"), "{}").unwrap();
        let err = OutputDir::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("no _SUCCESS"), "{err}");
        assert!(err.contains("not a published reach output"), "{err}");
    }

    #[test]
    fn reads_columns_by_name_and_names_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("_SUCCESS"), "").unwrap();
        std::fs::write(dir.path().join("summary.json"), "{}").unwrap();
        std::fs::create_dir(dir.path().join("t")).unwrap();
        std::fs::write(
            dir.path().join("t/part-00000.csv"),
            "a,b\n1,x\n2,\"y\nz\"\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("t/part-00001.csv"), "a,b\n3,w\nq,v\n").unwrap();
        let out = OutputDir::open(dir.path()).unwrap();
        let mut seen = Vec::new();
        let err = out
            .for_each_row("t", &["b", "a"], |cells| {
                seen.push(cells[0].to_string());
                int(cells[1], "a").map(|_| ())
            })
            .unwrap_err()
            .to_string();
        assert_eq!(seen, vec!["x", "y\nz", "w", "v"]);
        assert!(err.contains("part-00001.csv:3: a: expected"), "{err}");
        let err = out.for_each_row("t", &["c"], |_| Ok(())).unwrap_err();
        assert!(err.to_string().contains("no column \"c\""), "{err}");
    }
}
