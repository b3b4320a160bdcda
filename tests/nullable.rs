//! Typed nullable columns ([`optional`], [`Cell::Null`]): a null is an
//! empty CSV cell, a NULL of an OPTIONAL column of the column's own type in
//! Parquet (read back here with the `parquet` crate's record reader, not
//! reach's), and an empty string from reach's `read_parquet_rows`. A null
//! is refused in a column that is not nullable, and a nullable column still
//! refuses a cell of another type.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use parquet::basic::{LogicalType, Repetition, Type as PhysicalType};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use reach::date::parse_day;
use reach::output::csv::write_csv;
use reach::output::parquet::{read_parquet_columns, read_parquet_rows, write_parquet};
use reach::output::table::{col, optional, optional_text, Cell, ColType, Column, Row};

/// One required id and one nullable column of every type; `note` is a
/// nullable text column whose empty text is none too (as `top_topic`).
#[derive(Clone, Debug)]
struct Maybe {
    id: u64,
    big: Option<u64>,
    score: Option<i64>,
    flag: Option<bool>,
    mean: Option<f64>,
    name: Option<&'static str>,
    day: Option<i32>,
    note: &'static str,
}

impl Row for Maybe {
    fn columns() -> Vec<Column> {
        vec![
            col("id", ColType::U64),
            optional("big", ColType::U64),
            optional("score", ColType::I64),
            optional("flag", ColType::Bool),
            optional("mean", ColType::F64),
            optional("name", ColType::Str),
            optional("day", ColType::Date),
            optional_text("note"),
        ]
    }
    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        out.extend([
            Cell::U64(self.id),
            Cell::or_null(self.big, Cell::U64),
            Cell::or_null(self.score, Cell::I64),
            Cell::or_null(self.flag, Cell::Bool),
            Cell::or_null(self.mean, Cell::F64),
            Cell::or_null(self.name, Cell::Str),
            Cell::or_null(self.day, Cell::Date),
            Cell::Str(self.note),
        ]);
    }
}

fn day(iso: &str) -> i32 {
    parse_day(iso).unwrap()
}

/// Rows with nulls in every nullable column, never all in one row, and a
/// nullable column's value at each extreme.
fn sample() -> Vec<Maybe> {
    vec![
        Maybe {
            id: 1,
            big: Some(u64::MAX),
            score: None,
            flag: Some(false),
            mean: None,
            name: Some("a,b"),
            day: None,
            note: "",
        },
        Maybe {
            id: 2,
            big: None,
            score: Some(-5),
            flag: None,
            mean: Some(0.5),
            name: None,
            day: Some(day("2024-02-29")),
            note: "x",
        },
        Maybe {
            id: 3,
            big: Some(0),
            score: Some(0),
            flag: Some(true),
            mean: Some(-0.0),
            // An empty text in a nullable column that is not text-optional
            // is still none in Parquet (NULL), as in CSV.
            name: Some(""),
            day: Some(day("0000-01-01")),
            note: "",
        },
        Maybe {
            id: 4,
            big: None,
            score: None,
            flag: None,
            mean: None,
            name: None,
            day: None,
            note: "y",
        },
    ]
}

/// Hand-written: every null (and every empty text) an empty field.
const SAMPLE_CSV: &str = "\
id,big,score,flag,mean,name,day,note
1,18446744073709551615,,false,,\"a,b\",,
2,,-5,,0.5,,2024-02-29,x
3,0,0,true,-0.0,,0000-01-01,
4,,,,,,,y
";

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn write_both(dir: &Path, rows: &[Maybe]) -> (PathBuf, PathBuf) {
    let csv = dir.join("t.csv");
    let pq = dir.join("t.parquet");
    write_csv(&csv, rows).unwrap();
    write_parquet(&pq, rows).unwrap();
    (csv, pq)
}

#[test]
fn a_null_is_an_empty_csv_cell() {
    let dir = tempdir();
    let (csv, _) = write_both(dir.path(), &sample());
    assert_eq!(fs::read_to_string(csv).unwrap(), SAMPLE_CSV);
}

#[test]
fn nullable_columns_are_optional_of_their_type() {
    let dir = tempdir();
    let (_, pq) = write_both(dir.path(), &sample());
    let reader = SerializedFileReader::new(fs::File::open(&pq).unwrap()).unwrap();
    let schema = reader.metadata().file_metadata().schema_descr();
    let unsigned = Some(LogicalType::Integer {
        bit_width: 64,
        is_signed: false,
    });
    let expected = [
        ("id", PhysicalType::INT64, unsigned.clone(), false),
        ("big", PhysicalType::INT64, unsigned, true),
        ("score", PhysicalType::INT64, None, true),
        ("flag", PhysicalType::BOOLEAN, None, true),
        ("mean", PhysicalType::DOUBLE, None, true),
        (
            "name",
            PhysicalType::BYTE_ARRAY,
            Some(LogicalType::String),
            true,
        ),
        ("day", PhysicalType::INT32, Some(LogicalType::Date), true),
        (
            "note",
            PhysicalType::BYTE_ARRAY,
            Some(LogicalType::String),
            true,
        ),
    ];
    assert_eq!(schema.num_columns(), expected.len());
    for (i, (name, physical, logical, nullable)) in expected.into_iter().enumerate() {
        let c = schema.column(i);
        assert_eq!(c.name(), name);
        assert_eq!(c.physical_type(), physical, "{name}");
        assert_eq!(c.logical_type(), logical, "{name}");
        let repetition = c.self_type().get_basic_info().repetition();
        let want = if nullable {
            Repetition::OPTIONAL
        } else {
            Repetition::REQUIRED
        };
        assert_eq!(repetition, want, "{name}");
        assert_eq!(c.max_def_level(), i16::from(nullable), "{name}");
    }
    // reach's own reader maps them back to the same types.
    let columns: Vec<(String, ColType)> = Maybe::columns()
        .iter()
        .map(|c| (c.name.to_string(), c.ty))
        .collect();
    assert_eq!(read_parquet_columns(&pq).unwrap(), columns);
}

/// The `parquet` crate's record reader sees a NULL exactly where the CSV
/// cell is empty and the typed value elsewhere; reach's reader gives the
/// CSV cells back.
#[test]
fn parquet_nulls_stand_where_csv_cells_are_empty() {
    let dir = tempdir();
    let rows = sample();
    let (_, pq) = write_both(dir.path(), &rows);
    let reader = SerializedFileReader::new(fs::File::open(&pq).unwrap()).unwrap();
    let got: Vec<Vec<Field>> = reader
        .get_row_iter(None)
        .unwrap()
        .map(|r| {
            r.unwrap()
                .get_column_iter()
                .map(|(_, f)| f.clone())
                .collect()
        })
        .collect();
    let or_null = |v: Option<Field>| v.unwrap_or(Field::Null);
    let expected: Vec<Vec<Field>> = rows
        .iter()
        .map(|r| {
            vec![
                Field::ULong(r.id),
                or_null(r.big.map(Field::ULong)),
                or_null(r.score.map(Field::Long)),
                or_null(r.flag.map(Field::Bool)),
                or_null(r.mean.map(Field::Double)),
                or_null(
                    r.name
                        .filter(|s| !s.is_empty())
                        .map(|s| Field::Str(s.into())),
                ),
                or_null(r.day.map(Field::Date)),
                or_null(
                    Some(r.note)
                        .filter(|s| !s.is_empty())
                        .map(|s| Field::Str(s.into())),
                ),
            ]
        })
        .collect();
    assert_eq!(got, expected);

    let csv_cells: Vec<Vec<String>> = SAMPLE_CSV
        .replace("\"a,b\"", "a;b")
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|c| c.replace("a;b", "a,b")).collect())
        .collect();
    assert_eq!(read_parquet_rows(&pq).unwrap(), csv_cells);
}

/// Past one write batch (64Ki rows), levels and values stay aligned: every
/// third score is null, and each row's score is its id.
#[test]
fn nulls_across_write_batches() {
    let rows: Vec<Maybe> = (0..150_000u64)
        .map(|id| Maybe {
            id,
            big: None,
            score: (id % 3 != 0).then_some(id as i64),
            flag: Some(id % 2 == 0),
            mean: None,
            name: None,
            day: None,
            note: "",
        })
        .collect();
    let dir = tempdir();
    let pq = dir.path().join("big.parquet");
    write_parquet(&pq, &rows).unwrap();
    let back = read_parquet_rows(&pq).unwrap();
    assert_eq!(back.len(), rows.len());
    for (row, cells) in rows.iter().zip(&back) {
        let score = row.score.map(|s| s.to_string()).unwrap_or_default();
        assert_eq!(cells[0], row.id.to_string());
        assert_eq!(cells[2], score, "row {}", row.id);
        assert_eq!(cells[3], (row.id % 2 == 0).to_string(), "row {}", row.id);
    }
}

/// A one-row table type with the given columns and cells.
macro_rules! case {
    ($name:ident, [$($column:expr),*], [$($cell:expr),*]) => {
        struct $name;
        impl Row for $name {
            fn columns() -> Vec<Column> {
                vec![$($column),*]
            }
            fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
                out.extend([$($cell),*]);
            }
        }
    };
}

/// What each writer says to a one-row table: "" when it writes it, else
/// the error's message (which must be an `InvalidInput` refusal).
fn refusals<R: Row>(row: R) -> Vec<String> {
    let dir = tempdir();
    let rows = [row];
    [
        write_csv(&dir.path().join("c.csv"), &rows),
        write_parquet(&dir.path().join("c.parquet"), &rows),
    ]
    .into_iter()
    .map(|result| match result {
        Ok(()) => String::new(),
        Err(e) => {
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
            e.to_string()
        }
    })
    .collect()
}

#[test]
fn null_only_in_nullable_columns() {
    case!(NullInRequired, [col("score", ColType::I64)], [Cell::Null]);
    case!(
        TextInOptional,
        [optional("score", ColType::I64)],
        [Cell::Str("3")]
    );
    case!(
        NullInOptional,
        [optional("score", ColType::I64)],
        [Cell::Null]
    );
    for err in refusals(NullInRequired) {
        assert!(
            err.contains("a null cell in a non-nullable I64 column"),
            "{err:?}"
        );
    }
    for err in refusals(TextInOptional) {
        assert!(
            err.contains("a Str cell in a nullable I64 column"),
            "{err:?}"
        );
    }
    assert_eq!(refusals(NullInOptional), ["", ""]);
}
