//! Parquet writer (and a small reader), on the low-level column API of the
//! `parquet` crate, without Arrow.
//!
//! The schema comes from [`Row::columns`]; every column is REQUIRED, except
//! a nullable one ([`Column::nullable`]), which is OPTIONAL of the same type
//! and NULL where the CSV cell is empty: at a [`Cell::Null`], and in a text
//! column at an empty text too (`top_topic`), so that DuckDB reads the same
//! NULLs from both formats. Types: `U64` is INT64 annotated as an unsigned 64-bit integer (so
//! DuckDB reads UBIGINT; the bits are the `u64`'s, so values above
//! `i64::MAX` read back negative in readers that ignore the annotation), `I64`
//! INT64, `Bool` BOOLEAN, `F64` DOUBLE, `Str` BYTE_ARRAY annotated String,
//! `Date` INT32 annotated Date. Row groups hold at most
//! [`MAX_ROW_GROUP_ROWS`] rows; pages are Snappy-compressed, dictionary
//! encoded where that pays, and carry statistics. An empty table is a valid
//! file with the schema and no row groups.
//!
//! Output is deterministic: the writer embeds no timestamps or random ids,
//! and `created_by` is the fixed [`CREATED_BY`], so the same rows give the
//! same bytes. As in the CSV writer, a NaN or infinite decimal or a day
//! outside years 0000 to 9999 is refused with
//! [`std::io::ErrorKind::InvalidData`], here before the file is created.

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::Path;
use std::sync::Arc;

use parquet::basic::{Compression, LogicalType, Repetition, Type as PhysicalType};
use parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use parquet::column::writer::{ColumnWriter, ColumnWriterImpl};
use parquet::data_type::{ByteArray, DataType};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::{ColumnDescriptor, Type};

use super::csv::{check_row, render_cell, with_path};
use super::table::{Cell, ColType, Column, Row};

/// The most rows one row group holds.
pub const MAX_ROW_GROUP_ROWS: usize = 1_000_000;

/// The `created_by` string in every file's footer: fixed, so output is
/// deterministic, and in the `<library> version <x> (build <y>)` shape that
/// parquet-mr based readers (Spark) parse.
pub const CREATED_BY: &str = "parquet-rs version 57.0.0 (build reach)";

/// Rows gathered per `write_batch` call while writing one column.
const BATCH_ROWS: usize = 64 * 1024;

/// Capacity of the buffer between the Parquet writer and the file.
const BUFFER_BYTES: usize = 1 << 20;

/// Writes `rows` to a new Parquet file at `path`, replacing any file there.
///
/// All rows are checked (cell count and types against [`Row::columns`],
/// finite decimals, days in years 0000..=9999) before the file is created.
pub fn write_parquet<R: Row>(path: &Path, rows: &[R]) -> io::Result<()> {
    let columns = R::columns();
    let mut cells = Vec::with_capacity(columns.len());
    for (i, row) in rows.iter().enumerate() {
        cells.clear();
        row.cells(&mut cells);
        check_row(&columns, &cells, i as u64 + 1).map_err(|e| with_path(e, path, "writing"))?;
    }
    let schema =
        Arc::new(schema(&columns).map_err(|e| parquet_error(e, path, "building the schema of"))?);

    let file = File::create(path).map_err(|e| with_path(e, path, "creating"))?;
    let sink = BufWriter::with_capacity(BUFFER_BYTES, file);
    let mut writer = SerializedFileWriter::new(sink, schema, Arc::new(properties()))
        .map_err(|e| parquet_error(e, path, "writing"))?;
    let write_err = |e| parquet_error(e, path, "writing");

    for (g, group) in rows.chunks(MAX_ROW_GROUP_ROWS).enumerate() {
        let first_row = (g * MAX_ROW_GROUP_ROWS) as u64 + 1;
        let mut row_group = writer.next_row_group().map_err(write_err)?;
        for (c, column) in columns.iter().enumerate() {
            let mut column_writer =
                row_group.next_column().map_err(write_err)?.ok_or_else(|| {
                    io::Error::other(format!(
                        "writing {}: the Parquet writer has no column {c} ({:?})",
                        path.display(),
                        column.name
                    ))
                })?;
            write_column(column_writer.untyped(), group, c, column, first_row)
                .map_err(|e| with_path(e, path, "writing"))?;
            column_writer.close().map_err(write_err)?;
        }
        row_group.close().map_err(write_err)?;
    }

    let sink = writer.into_inner().map_err(write_err)?;
    sink.into_inner()
        .map_err(|e| with_path(e.into_error(), path, "writing"))?;
    Ok(())
}

/// Writer settings: Snappy, fixed `created_by`, everything else the
/// library's defaults (Parquet 1.0 data pages, dictionary on, page-level
/// statistics, page index, no bloom filters, no key/value metadata).
fn properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_created_by(CREATED_BY.to_string())
        // Only the Arrow writer reads this; we cut row groups ourselves. Set
        // for anyone inspecting the properties.
        .set_max_row_group_size(MAX_ROW_GROUP_ROWS)
        .build()
}

/// The Parquet message type for a table.
fn schema(columns: &[Column]) -> Result<Type, ParquetError> {
    let fields = columns
        .iter()
        .map(|column| {
            let (physical, logical) = match column.ty {
                ColType::U64 => (
                    PhysicalType::INT64,
                    Some(LogicalType::Integer {
                        bit_width: 64,
                        is_signed: false,
                    }),
                ),
                ColType::I64 => (PhysicalType::INT64, None),
                ColType::Bool => (PhysicalType::BOOLEAN, None),
                ColType::F64 => (PhysicalType::DOUBLE, None),
                ColType::Str => (PhysicalType::BYTE_ARRAY, Some(LogicalType::String)),
                ColType::Date => (PhysicalType::INT32, Some(LogicalType::Date)),
            };
            // The builder also sets the matching legacy converted type
            // (UINT_64, UTF8, DATE) from the logical type.
            let repetition = if column.nullable {
                Repetition::OPTIONAL
            } else {
                Repetition::REQUIRED
            };
            Type::primitive_type_builder(column.name, physical)
                .with_repetition(repetition)
                .with_logical_type(logical)
                .build()
                .map(Arc::new)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Type::group_type_builder("schema")
        .with_fields(fields)
        .build()
}

/// Writes column `c` of `rows` (already checked) to `writer`.
fn write_column<R: Row>(
    writer: &mut ColumnWriter<'_>,
    rows: &[R],
    c: usize,
    column: &Column,
    first_row: u64,
) -> io::Result<()> {
    match (writer, column.ty) {
        (ColumnWriter::Int64ColumnWriter(w), ColType::U64) => {
            // Same 64 bits; the UINT_64 annotation tells readers.
            write_values(w, rows, c, column, first_row, |cell| match *cell {
                Cell::U64(n) => Some(n as i64),
                _ => None,
            })
        }
        (ColumnWriter::Int64ColumnWriter(w), ColType::I64) => {
            write_values(w, rows, c, column, first_row, |cell| match *cell {
                Cell::I64(n) => Some(n),
                _ => None,
            })
        }
        (ColumnWriter::BoolColumnWriter(w), ColType::Bool) => {
            write_values(w, rows, c, column, first_row, |cell| match *cell {
                Cell::Bool(b) => Some(b),
                _ => None,
            })
        }
        (ColumnWriter::DoubleColumnWriter(w), ColType::F64) => {
            write_values(w, rows, c, column, first_row, |cell| match *cell {
                Cell::F64(x) if x.is_finite() => Some(x),
                _ => None,
            })
        }
        (ColumnWriter::ByteArrayColumnWriter(w), ColType::Str) => {
            write_values(w, rows, c, column, first_row, |cell| match *cell {
                Cell::Str(s) => Some(ByteArray::from(s)),
                _ => None,
            })
        }
        (ColumnWriter::Int32ColumnWriter(w), ColType::Date) => {
            write_values(w, rows, c, column, first_row, |cell| match *cell {
                Cell::Date(days) if crate::date::in_iso_range(days) => Some(days),
                _ => None,
            })
        }
        (_, ty) => Err(io::Error::other(format!(
            "column {:?}: the Parquet writer's column type does not match {ty:?}",
            column.name
        ))),
    }
}

/// Whether a cell of `column` is written as NULL: a null, or an empty text
/// in a nullable text column.
fn is_null(cell: &Cell, column: &Column) -> bool {
    column.nullable && matches!(cell, Cell::Null | Cell::Str(""))
}

/// Gathers column `c` of `rows` in batches and hands them to `writer`, with
/// definition levels when the column is nullable (0 for a NULL, 1 for a
/// value). `value` maps the row's cell to the physical value, or `None` if
/// the cell is not what the (already checked) row promised: a row whose
/// `cells` is not deterministic.
fn write_values<R: Row, T: DataType>(
    writer: &mut ColumnWriterImpl<'_, T>,
    rows: &[R],
    c: usize,
    column: &Column,
    first_row: u64,
    value: impl Fn(&Cell) -> Option<T::T>,
) -> io::Result<()> {
    let mut cells = Vec::new();
    let mut values = Vec::with_capacity(BATCH_ROWS.min(rows.len()));
    let mut levels = Vec::new();
    for (b, batch) in rows.chunks(BATCH_ROWS).enumerate() {
        values.clear();
        levels.clear();
        for (i, row) in batch.iter().enumerate() {
            cells.clear();
            row.cells(&mut cells);
            if cells.get(c).is_some_and(|cell| is_null(cell, column)) {
                levels.push(0);
                continue;
            }
            let v = cells.get(c).and_then(&value).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "row {}, column {:?}: the row's cells changed between calls",
                        first_row + (b * BATCH_ROWS + i) as u64,
                        column.name
                    ),
                )
            })?;
            values.push(v);
            levels.push(1);
        }
        let levels = column.nullable.then_some(&levels[..]);
        writer
            .write_batch(&values, levels, None)
            .map_err(io::Error::other)?;
    }
    Ok(())
}

/// Adds the path and what was being done to a Parquet error.
fn parquet_error(e: ParquetError, path: &Path, doing: &str) -> io::Error {
    match e {
        ParquetError::External(inner) => match inner.downcast::<io::Error>() {
            Ok(io_error) => with_path(*io_error, path, doing),
            Err(inner) => {
                io::Error::other(format!("{doing} Parquet file {}: {inner}", path.display()))
            }
        },
        e => io::Error::other(format!("{doing} Parquet file {}: {e}", path.display())),
    }
}

/// The column type a Parquet leaf column maps back to, if it is one this
/// module writes (flat, REQUIRED or OPTIONAL, with the annotations above).
fn col_type(descr: &ColumnDescriptor) -> Option<ColType> {
    let logical = descr.logical_type();
    if descr.max_rep_level() != 0 || descr.max_def_level() > 1 {
        return None;
    }
    match descr.physical_type() {
        PhysicalType::INT64 => match logical {
            Some(LogicalType::Integer {
                bit_width: 64,
                is_signed: false,
            }) => Some(ColType::U64),
            None
            | Some(LogicalType::Integer {
                bit_width: 64,
                is_signed: true,
            }) => Some(ColType::I64),
            _ => None,
        },
        PhysicalType::BOOLEAN if logical.is_none() => Some(ColType::Bool),
        PhysicalType::DOUBLE if logical.is_none() => Some(ColType::F64),
        PhysicalType::BYTE_ARRAY if logical == Some(LogicalType::String) => Some(ColType::Str),
        PhysicalType::INT32 if logical == Some(LogicalType::Date) => Some(ColType::Date),
        _ => None,
    }
}

/// The columns of a Parquet file written by [`write_parquet`]: names and
/// types, in order. Fails with [`io::ErrorKind::InvalidData`] on a column
/// this module would not have written (nested, or another type).
pub fn read_parquet_columns(path: &Path) -> io::Result<Vec<(String, ColType)>> {
    let reader = open(path)?;
    columns_of(&reader, path)
}

fn open(path: &Path) -> io::Result<SerializedFileReader<File>> {
    let file = File::open(path).map_err(|e| with_path(e, path, "opening"))?;
    SerializedFileReader::new(file).map_err(|e| parquet_error(e, path, "reading"))
}

fn columns_of(
    reader: &SerializedFileReader<File>,
    path: &Path,
) -> io::Result<Vec<(String, ColType)>> {
    let schema = reader.metadata().file_metadata().schema_descr();
    schema
        .columns()
        .iter()
        .map(|descr| {
            let ty = col_type(descr).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "reading {}: column {:?} ({:?}, {:?}) is not a column this writer produces",
                        path.display(),
                        descr.path().string(),
                        descr.physical_type(),
                        descr.logical_type()
                    ),
                )
            })?;
            Ok((descr.name().to_string(), ty))
        })
        .collect()
}

/// Reads every row of a Parquet file written by [`write_parquet`], each cell
/// rendered exactly as the CSV writer renders it before quoting
/// ([`render_cell`]), so that the two outputs of one table compare line by
/// line: a NULL is an empty string, as the CSV cell is empty. The header is
/// not included; see [`read_parquet_columns`].
///
/// Loads the whole file: meant for tests and reports, not for bulk data.
pub fn read_parquet_rows(path: &Path) -> io::Result<Vec<Vec<String>>> {
    let reader = open(path)?;
    let columns = columns_of(&reader, path)?;
    let descriptors = reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .columns()
        .to_vec();
    let read_err = |e| parquet_error(e, path, "reading");
    let total = reader.metadata().file_metadata().num_rows();
    let mut rows: Vec<Vec<String>> = Vec::with_capacity(usize::try_from(total).unwrap_or(0));

    for g in 0..reader.num_row_groups() {
        let row_group = reader.get_row_group(g).map_err(read_err)?;
        let n = usize::try_from(row_group.metadata().num_rows()).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "reading {}: row group {g} has a negative row count",
                    path.display()
                ),
            )
        })?;
        let base = rows.len();
        rows.extend((0..n).map(|_| Vec::with_capacity(columns.len())));
        let group_rows = &mut rows[base..];

        for (c, (name, ty)) in columns.iter().enumerate() {
            let column_reader = row_group.get_column_reader(c).map_err(read_err)?;
            let mut push = |i: usize, cell: Cell| -> io::Result<()> {
                let mut text = Vec::new();
                render_cell(&cell, &mut text).map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!(
                            "reading {}: row group {g}, row {i}, column {name:?}: {e}",
                            path.display()
                        ),
                    )
                })?;
                // render_cell writes UTF-8: ASCII, or a &str for Str cells.
                let s = String::from_utf8(text)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                group_rows[i].push(s);
                Ok(())
            };
            let optional = descriptors[c].max_def_level() == 1;
            match (column_reader, ty) {
                (ColumnReader::Int64ColumnReader(mut r), ColType::U64) => {
                    for (i, v) in read_column(&mut r, n, optional, path)?
                        .into_iter()
                        .enumerate()
                    {
                        push(i, Cell::or_null(v, |v| Cell::U64(v as u64)))?;
                    }
                }
                (ColumnReader::Int64ColumnReader(mut r), ColType::I64) => {
                    for (i, v) in read_column(&mut r, n, optional, path)?
                        .into_iter()
                        .enumerate()
                    {
                        push(i, Cell::or_null(v, Cell::I64))?;
                    }
                }
                (ColumnReader::BoolColumnReader(mut r), ColType::Bool) => {
                    for (i, v) in read_column(&mut r, n, optional, path)?
                        .into_iter()
                        .enumerate()
                    {
                        push(i, Cell::or_null(v, Cell::Bool))?;
                    }
                }
                (ColumnReader::DoubleColumnReader(mut r), ColType::F64) => {
                    for (i, v) in read_column(&mut r, n, optional, path)?
                        .into_iter()
                        .enumerate()
                    {
                        push(i, Cell::or_null(v, Cell::F64))?;
                    }
                }
                (ColumnReader::Int32ColumnReader(mut r), ColType::Date) => {
                    for (i, v) in read_column(&mut r, n, optional, path)?
                        .into_iter()
                        .enumerate()
                    {
                        push(i, Cell::or_null(v, Cell::Date))?;
                    }
                }
                (ColumnReader::ByteArrayColumnReader(mut r), ColType::Str) => {
                    for (i, v) in read_column(&mut r, n, optional, path)?
                        .into_iter()
                        .enumerate()
                    {
                        let s = v
                            .as_ref()
                            .map(|v| std::str::from_utf8(v.data()))
                            .transpose()
                            .map_err(|e| {
                                io::Error::new(
                                    io::ErrorKind::InvalidData,
                                    format!(
                                        "reading {}: row group {g}, row {i}, column {name:?}: {e}",
                                        path.display()
                                    ),
                                )
                            })?;
                        push(i, Cell::or_null(s, Cell::Str))?;
                    }
                }
                (_, ty) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "reading {}: column {name:?} is not stored as {ty:?}",
                            path.display()
                        ),
                    ))
                }
            }
        }
    }
    Ok(rows)
}

/// Reads all `n` values of one column chunk, OPTIONAL (`None` for a NULL)
/// or REQUIRED (all `Some`).
fn read_column<T: DataType>(
    reader: &mut ColumnReaderImpl<T>,
    n: usize,
    optional: bool,
    path: &Path,
) -> io::Result<Vec<Option<T::T>>> {
    if optional {
        read_optional(reader, n, path)
    } else {
        Ok(read_all(reader, n, path)?.into_iter().map(Some).collect())
    }
}

/// Reads all `n` values of one OPTIONAL column chunk, `None` for a NULL.
fn read_optional<T: DataType>(
    reader: &mut ColumnReaderImpl<T>,
    n: usize,
    path: &Path,
) -> io::Result<Vec<Option<T::T>>> {
    let mut values = Vec::with_capacity(n);
    let mut levels = Vec::with_capacity(n);
    while levels.len() < n {
        let before = levels.len();
        let (records, _, _) = reader
            .read_records(n - before, Some(&mut levels), None, &mut values)
            .map_err(|e| parquet_error(e, path, "reading"))?;
        if records == 0 || levels.len() == before {
            break;
        }
    }
    let present = levels.iter().filter(|&&level| level == 1).count();
    if levels.len() != n || present != values.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "reading {}: a column chunk holds {} levels and {} values for {present} present, its row group {n} rows",
                path.display(),
                levels.len(),
                values.len()
            ),
        ));
    }
    let mut values = values.into_iter();
    Ok(levels
        .into_iter()
        .map(|level| if level == 1 { values.next() } else { None })
        .collect())
}

/// Reads all `n` values of one REQUIRED column chunk.
fn read_all<T: DataType>(
    reader: &mut ColumnReaderImpl<T>,
    n: usize,
    path: &Path,
) -> io::Result<Vec<T::T>> {
    let mut values = Vec::with_capacity(n);
    while values.len() < n {
        let before = values.len();
        let (records, _, _) = reader
            .read_records(n - before, None, None, &mut values)
            .map_err(|e| parquet_error(e, path, "reading"))?;
        if records == 0 || values.len() == before {
            break;
        }
    }
    if values.len() != n {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "reading {}: a column chunk holds {} values, its row group {n} rows",
                path.display(),
                values.len()
            ),
        ));
    }
    Ok(values)
}
