//! CSV and Parquet outputs of the same run say the same thing to a reader:
//! the Parquet files are read back with the `parquet` crate's own record
//! reader (not reach's), and every cell is compared with the CSV cell by
//! type. A NULL stands exactly where the CSV cell is empty (`top_topic` of a
//! user without credit; with customer inputs, the last purchase and scores
//! of a customer without purchases and the means of an empty benchmark
//! group), the column types are those docs/jobs.md lists, and the schema
//! marks OPTIONAL exactly the columns docs/jobs.md says may be NULL. Where
//! Python has DuckDB, DuckDB reads the customer tables' Parquet with those
//! types and NULL counts too.

mod common;

use std::path::{Path, PathBuf};

use common::customers::CUSTOMER_TABLES;
use common::{iso_days, read_table, LEADERS_HEADER, USERS_HEADER, USER_TOPICS_HEADER};
use parquet::basic::{LogicalType, Repetition, Type as PhysicalType};
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
    // Accounts 1, 2, 3 are ANN, BOB, CARA; CARA buys nothing (four NULLs:
    // last purchase and scores) and every customer has an account, so the
    // `not-social` group is empty (three NULLs: its means and lift).
    let identities = dir.join("i.csv");
    let purchases = dir.join("p.csv");
    std::fs::write(&identities, "account,customer\n1,ANN\n2,BOB\n3,CARA\n").unwrap();
    std::fs::write(
        &purchases,
        "ANN,2024-01-03,12.5,rock\nBOB,2024-01-06,20\nBOB,2024-02-01,0.0001,rock\n",
    )
    .unwrap();
    let output = dir.join(format!("{format:?}"));
    let job = Job::resolve(
        None,
        Overrides {
            friendships: Some(friendships),
            adoptions: Some(adoptions),
            identities: Some(identities),
            purchases: Some(purchases),
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
    let mut rows = Vec::new();
    for part in parquet_parts(output, table) {
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

/// A table's Parquet parts, in order.
fn parquet_parts(output: &Path, table: &str) -> Vec<PathBuf> {
    let mut parts: Vec<PathBuf> = std::fs::read_dir(output.join(table))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    parts.sort();
    assert!(!parts.is_empty(), "{table}: no Parquet part");
    parts
}

/// The Parquet physical and logical type of a type docs/jobs.md names.
fn parquet_type(documented: &str) -> (PhysicalType, Option<LogicalType>) {
    match documented {
        "UBIGINT" => (
            PhysicalType::INT64,
            Some(LogicalType::Integer {
                bit_width: 64,
                is_signed: false,
            }),
        ),
        "BIGINT" => (PhysicalType::INT64, None),
        "BOOLEAN" => (PhysicalType::BOOLEAN, None),
        "DOUBLE" => (PhysicalType::DOUBLE, None),
        "VARCHAR" => (PhysicalType::BYTE_ARRAY, Some(LogicalType::String)),
        "DATE" => (PhysicalType::INT32, Some(LogicalType::Date)),
        other => panic!("docs/jobs.md names a type this test does not know: {other}"),
    }
}

/// Every part's schema has the documented type for every column, OPTIONAL
/// exactly where docs/jobs.md says NULL.
fn assert_schema_is_documented(
    output: &Path,
    table: &str,
    documented: &std::collections::BTreeMap<String, (String, bool)>,
) {
    for part in parquet_parts(output, table) {
        let reader = SerializedFileReader::new(std::fs::File::open(&part).unwrap()).unwrap();
        let schema = reader.metadata().file_metadata().schema_descr();
        for column in schema.columns() {
            let name = column.name();
            let (ty, nullable) = documented
                .get(name)
                .unwrap_or_else(|| panic!("docs/jobs.md lists no type for {name}"));
            let (physical, logical) = parquet_type(ty);
            assert_eq!(column.physical_type(), physical, "{table}.{name}");
            assert_eq!(column.logical_type(), logical, "{table}.{name}");
            let repetition = column.self_type().get_basic_info().repetition();
            let want = if *nullable {
                Repetition::OPTIONAL
            } else {
                Repetition::REQUIRED
            };
            assert_eq!(repetition, want, "{table}.{name} ({})", part.display());
        }
    }
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
    let mut tables = vec![
        ("users", USERS_HEADER),
        ("user_topics", USER_TOPICS_HEADER),
        ("topic_leaders", LEADERS_HEADER),
        ("degree_distribution", "friend_count,users"),
        ("topics", "topic,adopters,socially_explained"),
    ];
    tables.extend(CUSTOMER_TABLES);
    let mut nulls = std::collections::BTreeMap::new();
    for (table, header) in tables {
        assert_schema_is_documented(&parquet, table, &documented);
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
                if matches!(field, Field::Null) {
                    *nulls.entry(format!("{table}.{name}")).or_insert(0) += 1;
                }
            }
        }
    }
    // Users 2, 3 and 4 have no credit: three empty top_topic cells; CARA
    // has no purchase; not-social has no customer.
    let expected: std::collections::BTreeMap<String, i32> = [
        ("users.top_topic", 3),
        ("customers.last_purchase", 1),
        ("customers.r_score", 1),
        ("customers.f_score", 1),
        ("customers.m_score", 1),
        ("benchmark.mean_monetary", 1),
        ("benchmark.mean_frequency", 1),
        ("benchmark.lift", 1),
    ]
    .into_iter()
    .map(|(k, n)| (k.to_string(), n))
    .collect();
    assert_eq!(nulls, expected);
}

/// DuckDB (an outside reader) gets the documented types and a NULL for
/// every empty CSV cell from the customer tables' Parquet. Skipped, with a
/// message, where python3 cannot import duckdb.
#[test]
fn duckdb_reads_the_customer_tables_typed() {
    let missing = std::process::Command::new("python3")
        .args(["-c", "import duckdb"])
        .output()
        .map_or(true, |o| !o.status.success());
    if missing {
        eprintln!(
            "SKIP duckdb_reads_the_customer_tables_typed: python3 cannot import duckdb \
             (`pip install duckdb`)"
        );
        return;
    }
    let documented = documented_types();
    let dir = tempfile::tempdir().unwrap();
    let csv = run(dir.path(), Format::Csv);
    let parquet = run(dir.path(), Format::Parquet);
    // Per column: DuckDB's type and its NULL count, as `name type nulls`.
    let script = r#"
import duckdb, sys
for table in sys.argv[2:]:
    source = f"read_parquet('{sys.argv[1]}/{table}/*.parquet')"
    for name, ty, *_ in duckdb.sql(f"DESCRIBE SELECT * FROM {source}").fetchall():
        nulls = duckdb.sql(f'SELECT count(*) - count("{name}") FROM {source}').fetchall()[0][0]
        print(table, name, ty, nulls)
"#;
    let tables: Vec<&str> = CUSTOMER_TABLES.iter().map(|(t, _)| *t).collect();
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&parquet)
        .args(&tables)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut seen = 0;
    for (table, header) in CUSTOMER_TABLES {
        let rows = read_table(&csv, table, header);
        for (c, name) in header.split(',').enumerate() {
            let empty = rows.iter().filter(|r| r[c].is_empty()).count();
            let (doc_ty, _) = &documented[name];
            let want = format!("{table} {name} {doc_ty} {empty}");
            assert!(
                stdout.lines().any(|l| l == want),
                "DuckDB does not say `{want}`:\n{stdout}"
            );
            seen += 1;
        }
    }
    assert_eq!(stdout.lines().count(), seen, "{stdout}");
}
