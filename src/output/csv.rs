//! CSV writer: one header line of column names, then one line per row, in
//! the order given, for DuckDB, Spark and pandas to read with type inference.
//!
//! The format is RFC 4180 with LF line endings. A text cell is quoted only
//! when it must be (a comma, quote, CR or LF anywhere, or a space or tab at
//! either end): it is wrapped in `"` and inner quotes are doubled. An empty
//! text cell, and a null ([`Cell::Null`]) of any type, is an empty field. Integers are plain decimal, booleans
//! `true`/`false`, days ISO `YYYY-MM-DD`, and decimals the shortest text that
//! reads back to the same `f64` (Rust's `{:?}`), which always has a `.` or an
//! exponent so that readers infer a floating-point column (`1.0`, `0.5`,
//! `1e-7`). A NaN or infinite decimal, or a day outside years 0000 to 9999,
//! is never written: the writer fails with [`std::io::ErrorKind::InvalidData`].
//!
//! The file is written through a 1 MiB buffer and flushed but not synced;
//! durability is the publisher's job. On error the file is left incomplete
//! and must be discarded.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::table::{Cell, ColType, Column, Row};
use crate::date;

/// Capacity of the buffer between the encoder and the file.
const BUFFER_BYTES: usize = 1 << 20;

/// Writes `rows` (header first) to a new CSV file at `path`, replacing any
/// file there.
pub fn write_csv<R: Row>(path: &Path, rows: &[R]) -> io::Result<()> {
    write_csv_iter(path, rows.iter()).map(|_| ())
}

/// Streaming form of [`write_csv`]: writes the header and then every row the
/// iterator yields, and returns the number of rows written (header not
/// counted).
pub fn write_csv_iter<'r, R: Row + 'r>(
    path: &Path,
    rows: impl Iterator<Item = &'r R>,
) -> io::Result<u64> {
    let file = File::create(path).map_err(|e| with_path(e, path, "creating"))?;
    let mut writer = BufWriter::with_capacity(BUFFER_BYTES, file);
    let columns = R::columns();
    let mut line = Vec::with_capacity(256);
    let mut cells = Vec::with_capacity(columns.len());

    encode_header(&columns, &mut line);
    writer
        .write_all(&line)
        .map_err(|e| with_path(e, path, "writing"))?;

    let mut written = 0u64;
    for row in rows {
        cells.clear();
        row.cells(&mut cells);
        check_row(&columns, &cells, written + 1).map_err(|e| with_path(e, path, "writing"))?;
        line.clear();
        encode_row(&cells, &mut line)?;
        writer
            .write_all(&line)
            .map_err(|e| with_path(e, path, "writing"))?;
        written += 1;
    }
    writer.flush().map_err(|e| with_path(e, path, "writing"))?;
    Ok(written)
}

/// Appends the header line (column names, quoted if need be, and `\n`) to `out`.
pub fn encode_header(columns: &[Column], out: &mut Vec<u8>) {
    for (i, column) in columns.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        encode_str(column.name, out);
    }
    out.push(b'\n');
}

/// Appends one CSV line (fields separated by `,`, text quoted if need be,
/// terminated by `\n`) to `out`.
///
/// Fails with [`io::ErrorKind::InvalidData`] on a NaN or infinite `F64` or a
/// `Date` outside years 0000 to 9999; `out` is then left as it was.
pub fn encode_row(cells: &[Cell], out: &mut Vec<u8>) -> io::Result<()> {
    let start = out.len();
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let result = match cell {
            Cell::Str(s) => {
                encode_str(s, out);
                Ok(())
            }
            other => render_cell(other, out),
        };
        if let Err(e) = result {
            out.truncate(start);
            return Err(io::Error::new(e.kind(), format!("field {}: {e}", i + 1)));
        }
    }
    out.push(b'\n');
    Ok(())
}

/// Appends a cell's text as the CSV writer renders it, before any quoting:
/// the text itself for `Str`, otherwise the number, `true`/`false`, or ISO
/// day; nothing for `Null`. This is the value a CSV reader sees after unquoting, and what
/// [`read_parquet_rows`](super::parquet::read_parquet_rows) returns.
///
/// Fails with [`io::ErrorKind::InvalidData`] on a NaN or infinite `F64` or a
/// `Date` outside years 0000 to 9999.
pub fn render_cell(cell: &Cell, out: &mut Vec<u8>) -> io::Result<()> {
    match *cell {
        Cell::U64(n) => write_u64(n, out),
        Cell::I64(n) => {
            if n < 0 {
                out.push(b'-');
            }
            write_u64(n.unsigned_abs(), out);
        }
        Cell::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        Cell::F64(x) => {
            check_f64(x)?;
            // Debug is the shortest round-trip form and always has a '.' or
            // an exponent. Writing into a Vec cannot fail.
            write!(out, "{x:?}")?;
        }
        Cell::Str(s) => out.extend_from_slice(s.as_bytes()),
        Cell::Date(days) => {
            check_day(days)?;
            date::write_iso(days, out);
        }
        Cell::Null => {}
    }
    Ok(())
}

/// Whether a text field must be quoted.
fn needs_quotes(s: &str) -> bool {
    let b = s.as_bytes();
    let edge_space = |c: &u8| matches!(c, b' ' | b'\t');
    b.first().is_some_and(edge_space)
        || b.last().is_some_and(edge_space)
        || b.iter().any(|c| matches!(c, b',' | b'"' | b'\r' | b'\n'))
}

/// Appends a text field, quoted per RFC 4180 only when needed.
fn encode_str(s: &str, out: &mut Vec<u8>) {
    if !needs_quotes(s) {
        out.extend_from_slice(s.as_bytes());
        return;
    }
    out.push(b'"');
    for part in s.as_bytes().split_inclusive(|&c| c == b'"') {
        out.extend_from_slice(part);
        if part.last() == Some(&b'"') {
            out.push(b'"');
        }
    }
    out.push(b'"');
}

fn check_f64(x: f64) -> io::Result<()> {
    if x.is_finite() {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the decimal {x:?} cannot be written: only finite values are allowed"),
        ))
    }
}

fn check_day(days: i32) -> io::Result<()> {
    if date::in_iso_range(days) {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "day {days} ({}) cannot be written: days must fall in years 0000 to 9999",
                date::days_to_iso(days)
            ),
        ))
    }
}

/// The column type a cell belongs to; `None` for a null, which belongs to
/// any nullable column.
pub(crate) fn cell_type(cell: &Cell) -> Option<ColType> {
    match cell {
        Cell::U64(_) => Some(ColType::U64),
        Cell::I64(_) => Some(ColType::I64),
        Cell::Bool(_) => Some(ColType::Bool),
        Cell::F64(_) => Some(ColType::F64),
        Cell::Str(_) => Some(ColType::Str),
        Cell::Date(_) => Some(ColType::Date),
        Cell::Null => None,
    }
}

/// Checks that a row's cells match the table's columns in number and type
/// (a null only in a nullable column) and hold writable values (finite
/// decimals, days in years 0000..=9999).
/// `row_number` is 1-based, not counting the header, for the message.
pub(crate) fn check_row(columns: &[Column], cells: &[Cell], row_number: u64) -> io::Result<()> {
    if cells.len() != columns.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "row {row_number}: {} cells for {} columns",
                cells.len(),
                columns.len()
            ),
        ));
    }
    for (column, cell) in columns.iter().zip(cells) {
        let fits = match cell_type(cell) {
            Some(ty) => ty == column.ty,
            None => column.nullable,
        };
        if !fits {
            let what = match cell_type(cell) {
                Some(ty) => format!("a {ty:?} cell"),
                None => "a null cell".to_string(),
            };
            let kind = if column.nullable {
                "nullable"
            } else {
                "non-nullable"
            };
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "row {row_number}, column {:?}: {what} in a {kind} {:?} column",
                    column.name, column.ty
                ),
            ));
        }
        let valid = match *cell {
            Cell::F64(x) => check_f64(x),
            Cell::Date(days) => check_day(days),
            _ => Ok(()),
        };
        valid.map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("row {row_number}, column {:?}: {e}", column.name),
            )
        })?;
    }
    Ok(())
}

/// Adds the path and what was being done to an I/O error's message.
pub(crate) fn with_path(e: io::Error, path: &Path, doing: &str) -> io::Error {
    io::Error::new(e.kind(), format!("{doing} {}: {e}", path.display()))
}

/// "00" "01" ... "99": two digits per lookup.
const DIGIT_PAIRS: [u8; 200] = {
    let mut table = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        table[2 * i] = b'0' + (i / 10) as u8;
        table[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    table
};

/// Appends `n` in decimal.
pub fn write_u64(n: u64, out: &mut Vec<u8>) {
    write_u64_padded(n, 1, out);
}

/// Appends `n` in decimal, zero-padded to at least `width` digits (at most 20).
pub fn write_u64_padded(mut n: u64, width: usize, out: &mut Vec<u8>) {
    let mut buf = [b'0'; 20]; // u64::MAX has 20 digits
    let mut i = buf.len();
    while n >= 100 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if n >= 10 {
        let pair = n as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + n as u8;
    }
    let start = i.min(buf.len() - width.min(buf.len()));
    out.extend_from_slice(&buf[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(cell: Cell) -> String {
        let mut out = Vec::new();
        render_cell(&cell, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn integers() {
        for n in [
            0u64,
            1,
            9,
            10,
            99,
            100,
            101,
            999,
            1000,
            12345,
            u64::MAX,
            u64::MAX - 1,
        ] {
            assert_eq!(render(Cell::U64(n)), n.to_string());
        }
        let mut n = 1u64;
        while let Some(next) = n.checked_mul(10) {
            for m in [n - 1, n, n + 1] {
                assert_eq!(render(Cell::U64(m)), m.to_string());
            }
            n = next;
        }
        for n in [
            0i64,
            -1,
            1,
            -10,
            -99,
            -100,
            i64::MIN,
            i64::MAX,
            i64::MIN + 1,
        ] {
            assert_eq!(render(Cell::I64(n)), n.to_string());
        }
    }

    #[test]
    fn floats() {
        assert_eq!(render(Cell::F64(1.0)), "1.0");
        assert_eq!(render(Cell::F64(0.5)), "0.5");
        assert_eq!(render(Cell::F64(1.0 / 3.0)), "0.3333333333333333");
        assert_eq!(render(Cell::F64(0.0)), "0.0");
        assert_eq!(render(Cell::F64(-0.0)), "-0.0");
        assert_eq!(render(Cell::F64(1e-7)), "1e-7");
        assert_eq!(render(Cell::F64(1e300)), "1e300");
        for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let err = render_cell(&Cell::F64(x), &mut Vec::new()).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        }
    }

    #[test]
    fn quoting() {
        let enc = |s: &str| {
            let mut out = Vec::new();
            encode_str(s, &mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(enc(""), "");
        assert_eq!(enc("plain"), "plain");
        assert_eq!(enc("in side"), "in side");
        assert_eq!(enc("a,b"), "\"a,b\"");
        assert_eq!(enc("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(enc("\""), "\"\"\"\"");
        assert_eq!(enc("a\nb"), "\"a\nb\"");
        assert_eq!(enc("a\rb"), "\"a\rb\"");
        assert_eq!(enc(" lead"), "\" lead\"");
        assert_eq!(enc("trail "), "\"trail \"");
        assert_eq!(enc("\ttab"), "\"\ttab\"");
        assert_eq!(enc("r&b/soul é"), "r&b/soul é");
    }

    #[test]
    fn encode_row_restores_buffer_on_error() {
        let mut out = b"keep".to_vec();
        let err = encode_row(&[Cell::U64(1), Cell::F64(f64::NAN)], &mut out).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().starts_with("field 2: "), "{err}");
        assert_eq!(out, b"keep");
        let err = encode_row(&[Cell::Date(date::MAX_DAY + 1)], &mut out).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(out, b"keep");
    }
}
