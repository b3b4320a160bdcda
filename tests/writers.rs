//! The CSV and Parquet writers: exact CSV bytes, refusal of unwritable
//! values, Parquet schema and round trip against the CSV rendering, empty
//! tables, row-group cutting, determinism, and change-feed rows.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use parquet::basic::{Compression, ConvertedType, LogicalType, Type as PhysicalType};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::statistics::Statistics;
use reach::date::{parse_day, MAX_DAY, MIN_DAY};
use reach::output::csv::{encode_row, write_csv, write_csv_iter};
use reach::output::parquet::{
    read_parquet_columns, read_parquet_rows, write_parquet, CREATED_BY, MAX_ROW_GROUP_ROWS,
};
use reach::output::table::{col, Cell, Change, ColType, Column, Row};

/// A row with one column of every type.
#[derive(Clone, Debug, PartialEq)]
struct Everything {
    user_id: u64,
    delta: i64,
    super_connector: bool,
    credit: f64,
    top_topic: String,
    adopted: i32,
}

impl Row for Everything {
    fn columns() -> Vec<Column> {
        vec![
            col("user_id", ColType::U64),
            col("delta", ColType::I64),
            col("super_connector", ColType::Bool),
            col("credit", ColType::F64),
            col("top_topic", ColType::Str),
            col("adopted", ColType::Date),
        ]
    }
    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        out.push(Cell::U64(self.user_id));
        out.push(Cell::I64(self.delta));
        out.push(Cell::Bool(self.super_connector));
        out.push(Cell::F64(self.credit));
        out.push(Cell::Str(&self.top_topic));
        out.push(Cell::Date(self.adopted));
    }
}

fn everything(
    user_id: u64,
    delta: i64,
    super_connector: bool,
    credit: f64,
    top_topic: &str,
    adopted: &str,
) -> Everything {
    Everything {
        user_id,
        delta,
        super_connector,
        credit,
        top_topic: top_topic.to_string(),
        adopted: parse_day(adopted).unwrap(),
    }
}

/// A `topic_leaders`-like row whose topics need quoting, or look like they might.
#[derive(Clone, Debug, PartialEq)]
struct Leader {
    topic: String,
    rank: i64,
    user_id: u64,
    credit: f64,
}

impl Row for Leader {
    fn columns() -> Vec<Column> {
        vec![
            col("topic", ColType::Str),
            col("rank", ColType::I64),
            col("user_id", ColType::U64),
            col("credit", ColType::F64),
        ]
    }
    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        out.push(Cell::Str(&self.topic));
        out.push(Cell::I64(self.rank));
        out.push(Cell::U64(self.user_id));
        out.push(Cell::F64(self.credit));
    }
}

const TOPICS: &[&str] = &[
    "rust",
    "drum, bass",
    "12\" vinyl",
    "\"quoted\"",
    " leading space",
    "trailing space ",
    "inner space",
    "r&b/soul",
    "a/b/c",
    "rock & roll",
    "café ☕ 日本語",
    "emoji 👩‍👩‍👧",
    "line\nbreak",
    "cr\r\nlf",
    "tab\tinside",
    ",",
    "\"",
    "",
];

fn leaders() -> Vec<Leader> {
    TOPICS
        .iter()
        .enumerate()
        .map(|(i, t)| Leader {
            topic: t.to_string(),
            rank: i as i64 + 1,
            user_id: 1000 + i as u64,
            credit: 1.0 / (i as f64 + 1.0),
        })
        .collect()
}

/// One column of user ids, for the big table.
struct Id(u64);

impl Row for Id {
    fn columns() -> Vec<Column> {
        vec![col("user_id", ColType::U64)]
    }
    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        out.push(Cell::U64(self.0));
    }
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn file(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

/// A minimal RFC 4180 reader: records of unquoted fields; `"` starts a
/// quoted field in which `""` is a quote and commas and line breaks are
/// data. Lines end in LF (the writer never writes CRLF).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut in_quotes = false;
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    in_quotes = false;
                    let next = chars.peek();
                    assert!(
                        matches!(next, None | Some(',') | Some('\n')),
                        "text after closing quote: {next:?}"
                    );
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                in_quotes = true;
                at_field_start = false;
            }
            '"' => panic!("quote inside an unquoted field"),
            ',' => {
                record.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            '\n' => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                at_field_start = true;
            }
            '\r' => panic!("bare CR outside quotes"),
            c => {
                field.push(c);
                at_field_start = false;
            }
        }
    }
    assert!(!in_quotes, "unterminated quoted field");
    assert!(
        record.is_empty() && field.is_empty(),
        "last line not terminated"
    );
    records
}

/// Writes `rows` both ways and checks the Parquet file reads back as the CSV
/// file does, header and cells.
fn assert_parquet_matches_csv<R: Row>(rows: &[R]) {
    let dir = tempdir();
    let csv = file(&dir, "t.csv");
    let pq = file(&dir, "t.parquet");
    write_csv(&csv, rows).unwrap();
    write_parquet(&pq, rows).unwrap();

    let mut records = parse_csv(&fs::read_to_string(&csv).unwrap());
    let header = records.remove(0);
    let columns = read_parquet_columns(&pq).unwrap();
    let expected_columns: Vec<(String, ColType)> = R::columns()
        .iter()
        .map(|c| (c.name.to_string(), c.ty))
        .collect();
    assert_eq!(columns, expected_columns);
    let names: Vec<String> = columns.into_iter().map(|(name, _)| name).collect();
    assert_eq!(header, names);

    let parquet_rows = read_parquet_rows(&pq).unwrap();
    assert_eq!(parquet_rows.len(), rows.len());
    assert_eq!(records.len(), rows.len());
    for (i, (p, c)) in parquet_rows.iter().zip(&records).enumerate() {
        assert_eq!(p, c, "row {i}");
    }
}

fn sample() -> Vec<Everything> {
    vec![
        everything(1, -5, true, 1.0, "", "1970-01-01"),
        everything(u64::MAX, i64::MIN, false, 1.0 / 3.0, "plain", "2025-01-01"),
        everything(0, i64::MAX, true, 0.5, "a,b", "1956-03-01"),
        everything(7, 0, false, 1e-7, "say \"hi\"", "2000-02-29"),
        everything(8, 1, true, 123456.789, " padded ", "9999-12-31"),
        everything(9, 2, false, -0.0, "line\nbreak", "0000-01-01"),
        everything(10, 3, true, 2.5e20, "r&b/soul ☕", "2024-02-29"),
    ]
}

const SAMPLE_CSV: &str = "\
user_id,delta,super_connector,credit,top_topic,adopted
1,-5,true,1.0,,1970-01-01
18446744073709551615,-9223372036854775808,false,0.3333333333333333,plain,2025-01-01
0,9223372036854775807,true,0.5,\"a,b\",1956-03-01
7,0,false,1e-7,\"say \"\"hi\"\"\",2000-02-29
8,1,true,123456.789,\" padded \",9999-12-31
9,2,false,-0.0,\"line
break\",0000-01-01
10,3,true,2.5e20,r&b/soul ☕,2024-02-29
";

#[test]
fn csv_exact_bytes() {
    let dir = tempdir();
    let path = file(&dir, "everything.csv");
    write_csv(&path, &sample()).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), SAMPLE_CSV);
}

#[test]
fn csv_quotes_topics_only_when_needed() {
    let dir = tempdir();
    let path = file(&dir, "leaders.csv");
    let rows = leaders();
    write_csv(&path, &rows).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    let expected_topics = [
        "rust",
        "\"drum, bass\"",
        "\"12\"\" vinyl\"",
        "\"\"\"quoted\"\"\"",
        "\" leading space\"",
        "\"trailing space \"",
        "inner space",
        "r&b/soul",
        "a/b/c",
        "rock & roll",
        "café ☕ 日本語",
        "emoji 👩‍👩‍👧",
        "\"line\nbreak\"",
        "\"cr\r\nlf\"",
        "tab\tinside",
        "\",\"",
        "\"\"\"\"",
        "",
    ];
    let mut expected = String::from("topic,rank,user_id,credit\n");
    for (i, topic) in expected_topics.iter().enumerate() {
        let credit = format!("{:?}", 1.0 / (i as f64 + 1.0));
        expected.push_str(&format!("{topic},{},{},{credit}\n", i + 1, 1000 + i));
    }
    assert_eq!(text, expected);
    assert!(text.contains(",0.5\n") && text.contains(",0.3333333333333333\n"));

    // And a CSV reader gets the topics back.
    let records = parse_csv(&text);
    let topics: Vec<&str> = records[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(topics, TOPICS);
}

#[test]
fn csv_streaming_counts_rows() {
    let dir = tempdir();
    let path = file(&dir, "streamed.csv");
    let rows = sample();
    let n = write_csv_iter(&path, rows.iter().filter(|r| r.super_connector)).unwrap();
    assert_eq!(n, 4);
    let text = fs::read_to_string(&path).unwrap();
    let expected: String = SAMPLE_CSV
        .replace("line\nbreak", "line break")
        .lines()
        .filter(|l| !l.contains(",false,"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(text, expected);
}

#[test]
fn encode_row_is_the_csv_line() {
    let mut line = Vec::new();
    for row in sample() {
        let mut cells = Vec::new();
        row.cells(&mut cells);
        encode_row(&cells, &mut line).unwrap();
    }
    let body = SAMPLE_CSV.split_once('\n').unwrap().1;
    assert_eq!(String::from_utf8(line).unwrap(), body);
}

#[test]
fn unwritable_values_are_refused() {
    let dir = tempdir();
    for (i, (credit, day)) in [
        (f64::NAN, 0),
        (f64::INFINITY, 0),
        (f64::NEG_INFINITY, 0),
        (0.5, MAX_DAY + 1),
        (0.5, MIN_DAY - 1),
        (0.5, i32::MIN),
    ]
    .into_iter()
    .enumerate()
    {
        let mut rows = sample();
        rows[3].credit = credit;
        rows[3].adopted = day;
        let csv = file(&dir, &format!("bad{i}.csv"));
        let err = write_csv(&csv, &rows).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
        let msg = err.to_string();
        assert!(msg.contains("row 4"), "{msg}");
        assert!(msg.contains("bad"), "names the file: {msg}");
        assert!(
            msg.contains(if credit.is_finite() {
                "adopted"
            } else {
                "credit"
            }),
            "{msg}"
        );

        let pq = file(&dir, &format!("bad{i}.parquet"));
        let err = write_parquet(&pq, &rows).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
        assert!(!pq.exists(), "no Parquet file is started for bad rows");
    }
    let mut line = Vec::new();
    let err = encode_row(&[Cell::F64(f64::NAN)], &mut line).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert!(line.is_empty());
}

/// A row whose cells disagree with its columns is a bug in the row type;
/// both writers say so instead of writing a misleading file.
#[test]
fn mismatched_rows_are_refused() {
    struct Liar;
    impl Row for Liar {
        fn columns() -> Vec<Column> {
            vec![col("a", ColType::U64), col("b", ColType::Str)]
        }
        fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
            out.push(Cell::I64(1));
            out.push(Cell::Str("x"));
        }
    }
    struct Short;
    impl Row for Short {
        fn columns() -> Vec<Column> {
            vec![col("a", ColType::U64), col("b", ColType::Str)]
        }
        fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
            out.push(Cell::U64(1));
        }
    }
    let dir = tempdir();
    let err = write_csv(&file(&dir, "l.csv"), &[Liar]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    let err = write_parquet(&file(&dir, "l.parquet"), &[Liar]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    let err = write_csv(&file(&dir, "s.csv"), &[Short]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    let err = write_parquet(&file(&dir, "s.parquet"), &[Short]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
}

#[test]
fn parquet_round_trip_matches_csv() {
    assert_parquet_matches_csv(&sample());
    assert_parquet_matches_csv(&leaders());
}

#[test]
fn parquet_schema_types_and_footer() {
    let dir = tempdir();
    let path = file(&dir, "everything.parquet");
    write_parquet(&path, &sample()).unwrap();
    let reader = SerializedFileReader::new(fs::File::open(&path).unwrap()).unwrap();
    let meta = reader.metadata();
    let file_meta = meta.file_metadata();
    assert_eq!(file_meta.created_by(), Some(CREATED_BY));
    assert_eq!(file_meta.key_value_metadata(), None);
    assert_eq!(file_meta.num_rows(), 7);
    let schema = file_meta.schema_descr();
    let expected = [
        (
            "user_id",
            PhysicalType::INT64,
            Some(LogicalType::Integer {
                bit_width: 64,
                is_signed: false,
            }),
            ConvertedType::UINT_64,
        ),
        ("delta", PhysicalType::INT64, None, ConvertedType::NONE),
        (
            "super_connector",
            PhysicalType::BOOLEAN,
            None,
            ConvertedType::NONE,
        ),
        ("credit", PhysicalType::DOUBLE, None, ConvertedType::NONE),
        (
            "top_topic",
            PhysicalType::BYTE_ARRAY,
            Some(LogicalType::String),
            ConvertedType::UTF8,
        ),
        (
            "adopted",
            PhysicalType::INT32,
            Some(LogicalType::Date),
            ConvertedType::DATE,
        ),
    ];
    assert_eq!(schema.num_columns(), expected.len());
    for (i, (name, physical, logical, converted)) in expected.into_iter().enumerate() {
        let c = schema.column(i);
        assert_eq!(c.name(), name);
        assert_eq!(c.physical_type(), physical, "{name}");
        assert_eq!(c.logical_type(), logical, "{name}");
        assert_eq!(c.converted_type(), converted, "{name}");
        assert_eq!(c.max_def_level(), 0, "{name} is REQUIRED");
        assert_eq!(c.max_rep_level(), 0, "{name} is flat");
        assert!(!c.self_type().is_optional(), "{name}");
    }
    assert_eq!(meta.num_row_groups(), 1);
    let rg = meta.row_group(0);
    for c in rg.columns() {
        assert_eq!(c.compression(), Compression::SNAPPY);
    }
    // user_id statistics use unsigned order: u64::MAX is the max, not -1 the min.
    match rg.column(0).statistics() {
        Some(Statistics::Int64(s)) => {
            assert_eq!(s.min_opt().map(|&v| v as u64), Some(0));
            assert_eq!(s.max_opt().map(|&v| v as u64), Some(u64::MAX));
        }
        other => panic!("unexpected statistics {other:?}"),
    }
}

#[test]
fn empty_tables() {
    let dir = tempdir();
    let rows: Vec<Everything> = Vec::new();

    let csv = file(&dir, "empty.csv");
    write_csv(&csv, &rows).unwrap();
    assert_eq!(
        fs::read_to_string(&csv).unwrap(),
        "user_id,delta,super_connector,credit,top_topic,adopted\n"
    );
    assert_eq!(write_csv_iter(&csv, rows.iter()).unwrap(), 0);

    let pq = file(&dir, "empty.parquet");
    write_parquet(&pq, &rows).unwrap();
    assert!(read_parquet_rows(&pq).unwrap().is_empty());
    assert_eq!(read_parquet_columns(&pq).unwrap().len(), 6);
    let reader = SerializedFileReader::new(fs::File::open(&pq).unwrap()).unwrap();
    assert_eq!(reader.metadata().file_metadata().num_rows(), 0);
    assert_eq!(
        reader
            .metadata()
            .file_metadata()
            .schema_descr()
            .num_columns(),
        6
    );
    assert_eq!(reader.num_row_groups(), 0);
    assert_parquet_matches_csv(&rows);
}

/// 2.5M one-column rows: row groups of 1M, 1M and 0.5M, with unsigned
/// statistics that match the data in each.
#[test]
fn big_table_is_cut_into_row_groups() {
    const N: usize = 2_500_000;
    let value = |i: usize| (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let rows: Vec<Id> = (0..N).map(|i| Id(value(i))).collect();
    let dir = tempdir();
    let path = file(&dir, "big.parquet");
    write_parquet(&path, &rows).unwrap();

    let reader = SerializedFileReader::new(fs::File::open(&path).unwrap()).unwrap();
    let meta = reader.metadata();
    assert_eq!(meta.file_metadata().num_rows(), N as i64);
    assert_eq!(meta.num_row_groups(), 3);
    let counts: Vec<i64> = meta.row_groups().iter().map(|g| g.num_rows()).collect();
    assert_eq!(counts, [1_000_000, 1_000_000, 500_000]);
    assert_eq!(MAX_ROW_GROUP_ROWS, 1_000_000);
    for (g, group) in meta.row_groups().iter().enumerate() {
        let range = g * MAX_ROW_GROUP_ROWS..((g + 1) * MAX_ROW_GROUP_ROWS).min(N);
        let min = range.clone().map(value).min().unwrap();
        let max = range.map(value).max().unwrap();
        match group.column(0).statistics() {
            Some(Statistics::Int64(s)) => {
                assert_eq!(s.min_opt().map(|&v| v as u64), Some(min), "group {g}");
                assert_eq!(s.max_opt().map(|&v| v as u64), Some(max), "group {g}");
            }
            other => panic!("unexpected statistics {other:?}"),
        }
    }
}

#[test]
fn output_is_deterministic() {
    let dir = tempdir();
    let mut rows = sample();
    // Enough rows for several pages and a dictionary.
    for i in 0..50_000u64 {
        rows.push(everything(
            i,
            -(i as i64),
            i % 3 == 0,
            i as f64 / 7.0,
            TOPICS[i as usize % TOPICS.len()],
            "2025-06-30",
        ));
    }
    let write_both = |name: &str| {
        let csv = file(&dir, &format!("{name}.csv"));
        let pq = file(&dir, &format!("{name}.parquet"));
        write_csv(&csv, &rows).unwrap();
        write_parquet(&pq, &rows).unwrap();
        (fs::read(csv).unwrap(), fs::read(pq).unwrap())
    };
    let (csv1, pq1) = write_both("first");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (csv2, pq2) = write_both("second");
    assert_eq!(csv1, csv2);
    assert!(pq1 == pq2, "Parquet bytes differ between two writes");
    // Overwriting a file in place gives the same bytes too.
    let again = file(&dir, "first.parquet");
    write_parquet(&again, &rows).unwrap();
    assert!(fs::read(&again).unwrap() == pq1);
}

#[test]
fn change_feed_rows() {
    let base = sample();
    let rows = vec![
        Change {
            op: '-',
            row: base[0].clone(),
        },
        Change {
            op: '+',
            row: Everything {
                credit: 1.5,
                ..base[0].clone()
            },
        },
        Change {
            op: '+',
            row: base[2].clone(),
        },
    ];
    let dir = tempdir();
    let path = file(&dir, "changes.csv");
    write_csv(&path, &rows).unwrap();
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "op,user_id,delta,super_connector,credit,top_topic,adopted\n\
         -,1,-5,true,1.0,,1970-01-01\n\
         +,1,-5,true,1.5,,1970-01-01\n\
         +,0,9223372036854775807,true,0.5,\"a,b\",1956-03-01\n"
    );
    assert_parquet_matches_csv(&rows);
    let pq = file(&dir, "changes.parquet");
    write_parquet(&pq, &rows).unwrap();
    let columns = read_parquet_columns(&pq).unwrap();
    assert_eq!(columns[0], ("op".to_string(), ColType::Str));
    let ops: Vec<String> = read_parquet_rows(&pq)
        .unwrap()
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(ops, ["-", "+", "+"]);
}

#[test]
fn errors_name_the_file() {
    let missing = Path::new("/nonexistent-dir-for-reach-tests/x.csv");
    let err = write_csv(missing, &sample()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert!(err.to_string().contains("x.csv"), "{err}");
    let err = write_parquet(&missing.with_extension("parquet"), &sample()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert!(err.to_string().contains("x.parquet"), "{err}");

    let dir = tempdir();
    let not_parquet = file(&dir, "not.parquet");
    fs::write(&not_parquet, b"user_id\n1\n").unwrap();
    let err = read_parquet_rows(&not_parquet).unwrap_err();
    assert!(err.to_string().contains("not.parquet"), "{err}");
}
