//! CSV and Parquet outputs of the same run say the same thing to a reader:
//! the Parquet files are read back with the `parquet` crate's own record
//! reader (not reach's), and every cell is compared with the CSV cell by
//! type. A NULL stands exactly where the CSV cell is empty (`top_topic` of a
//! user without credit), and the column types are those docs/jobs.md lists.

mod common;

use std::path::{Path, PathBuf};

use common::{iso_days, read_table, LEADERS_HEADER, USERS_HEADER, USER_TOPICS_HEADER};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use reach::job::{Format, Job, Overrides};

fn run(dir: &Path, format: Format) -> PathBuf {
    let friendships = dir.join("f.csv");
    let adoptions = dir.join("a.csv");
    // 1 adopts rock first, 2 and 3 follow: 1 has credit and a top topic;
    // 2, 3 and 4 (no adoption) have none.
    std::fs::write(&friendships, "1,2\n1,3\n3,4\n").unwrap();
    std::fs::write(
        &adoptions,
        "1,rock,2024-01-01\n2,rock,2024-01-05\n3,rock,2024-01-09\n3,\"a, b\",2024-02-01\n",
    )
    .unwrap();
    let output = dir.join(format!("{format:?}"));
    let job = Job::resolve(
        None,
        Overrides {
            friendships: Some(friendships),
            adoptions: Some(adoptions),
            output: Some(output.clone()),
            format: Some(format),
            workers: Some(2),
            ..Overrides::default()
        },
    )
    .unwrap();
    reach::run::run(&job, true).unwrap();
    output
}

/// Every row of a table's Parquet parts, in part order, as the `parquet`
/// crate reads them: (column name, field) per cell.
fn parquet_rows(output: &Path, table: &str) -> Vec<Vec<(String, Field)>> {
    let mut parts: Vec<PathBuf> = std::fs::read_dir(output.join(table))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    parts.sort();
    let mut rows = Vec::new();
    for part in parts {
        let reader = SerializedFileReader::new(std::fs::File::open(&part).unwrap()).unwrap();
        for row in reader.get_row_iter(None).unwrap() {
            let row = row.unwrap();
            rows.push(
                row.get_column_iter()
                    .map(|(name, field)| (name.clone(), field.clone()))
                    .collect(),
            );
        }
    }
    rows
}

/// Whether a Parquet field says what the CSV cell says; the name of the
/// type a reader gets, for the comparison with docs/jobs.md.
fn same(field: &Field, csv: &str) -> (bool, &'static str) {
    match field {
        Field::Null => (csv.is_empty(), "NULL"),
        Field::ULong(n) => (csv.parse::<u64>() == Ok(*n), "UBIGINT"),
        Field::Long(n) => (csv.parse::<i64>() == Ok(*n), "BIGINT"),
        Field::Bool(b) => (csv == if *b { "true" } else { "false" }, "BOOLEAN"),
        Field::Double(x) => (
            csv.parse::<f64>().map(f64::to_bits) == Ok(x.to_bits()),
            "DOUBLE",
        ),
        Field::Str(s) => (!s.is_empty() && s == csv, "VARCHAR"),
        Field::Date(days) => (iso_days(csv) == i64::from(*days), "DATE"),
        other => (false, Box::leak(format!("{other:?}").into_boxed_str())),
    }
}

/// docs/jobs.md's table of column types: column name -> the Parquet type's
/// first word, and whether the column may be NULL.
fn documented_types() -> std::collections::BTreeMap<String, (String, bool)> {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/jobs.md"))
        .unwrap();
    let section = doc
        .split("### Column types as readers get them")
        .nth(1)
        .expect("docs/jobs.md has the table of column types");
    let mut types = std::collections::BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let parquet = cells[3];
        let ty = parquet.split([' ', ',']).next().unwrap().to_string();
        for name in cells[1].split(',') {
            let name = name.trim().trim_matches('`').to_string();
            types.insert(name, (ty.clone(), parquet.contains("NULL")));
        }
    }
    types
}

#[test]
fn parquet_cells_equal_csv_cells_with_nulls_where_csv_is_empty() {
    let documented = documented_types();
    let dir = tempfile::tempdir().unwrap();
    let csv = run(dir.path(), Format::Csv);
    let parquet = run(dir.path(), Format::Parquet);
    let mut nulls = 0;
    for (table, header) in [
        ("users", USERS_HEADER),
        ("user_topics", USER_TOPICS_HEADER),
        ("topic_leaders", LEADERS_HEADER),
        ("degree_distribution", "friend_count,users"),
        ("topics", "topic,adopters,socially_explained"),
    ] {
        let expected = read_table(&csv, table, header);
        let got = parquet_rows(&parquet, table);
        assert_eq!(got.len(), expected.len(), "{table}: rows");
        assert!(!got.is_empty(), "{table} has rows");
        let names: Vec<&str> = header.split(',').collect();
        for (row, (cells, fields)) in expected.iter().zip(&got).enumerate() {
            let got_names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(got_names, names, "{table}");
            for (cell, (name, field)) in cells.iter().zip(fields) {
                let (equal, ty) = same(field, cell);
                assert!(
                    equal,
                    "{table} row {row} {name}: CSV {cell:?}, Parquet {field:?}"
                );
                let (doc_ty, doc_null) = documented
                    .get(name)
                    .unwrap_or_else(|| panic!("docs/jobs.md lists no type for {name}"));
                assert!(
                    ty == doc_ty || (ty == "NULL" && *doc_null),
                    "{table}.{name}: Parquet gives {ty}, docs/jobs.md says {doc_ty}"
                );
                nulls += usize::from(matches!(field, Field::Null));
            }
        }
    }
    // Users 2, 3 and 4 have no credit: three empty top_topic cells, three NULLs.
    assert_eq!(nulls, 3);
}
