//! The customer tables of an output read back, put in the order METRICS.md
//! and the shared interfaces define, and compared with the oracle: money
//! and decimal columns to 1e-9 relative (`monetary` of `customers` exactly,
//! as units), every other column as text.

use std::path::{Path, PathBuf};

use super::{parse_units, segment_order, Expected, Summary, TIERS};
use crate::common::{close, csv_fields};

pub const CUSTOMERS_HEADER: &str = "customer_id,accounts,friend_count,super_connector,influence,\
persuaded_total,tier,last_purchase,frequency,monetary,r_score,f_score,m_score,rfm_segment,\
influenced_revenue,total_value";
pub const VALUE_MATRIX_HEADER: &str = "rfm_segment,tier,customers,monetary,influenced_revenue";
pub const BENCHMARK_HEADER: &str =
    "group,customers,buyers,monetary,mean_monetary,mean_frequency,lift";

/// The three tables and their headers.
pub const CUSTOMER_TABLES: [(&str, &str); 3] = [
    ("customers", CUSTOMERS_HEADER),
    ("value_matrix", VALUE_MATRIX_HEADER),
    ("benchmark", BENCHMARK_HEADER),
];

/// How a column is compared.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Cell {
    Text,
    /// An exact decimal, compared as units of 1/10_000.
    Units,
    /// A decimal to 1e-9 relative; empty only where expected empty.
    Float,
}

use Cell::{Float, Text, Units};

const CUSTOMER_CELLS: [Cell; 16] = [
    Text, Text, Text, Text, Float, Text, Text, Text, Text, Units, Text, Text, Text, Text, Float,
    Float,
];
const MATRIX_CELLS: [Cell; 5] = [Text, Text, Text, Float, Float];
const BENCHMARK_CELLS: [Cell; 7] = [Text, Text, Text, Float, Float, Float, Float];

/// The rows of the customer tables (each in its canonical order).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tables {
    pub customers: Vec<Vec<String>>,
    pub value_matrix: Vec<Vec<String>>,
    pub benchmark: Vec<Vec<String>>,
}

impl Tables {
    pub fn get_mut(&mut self, table: &str) -> &mut Vec<Vec<String>> {
        match table {
            "customers" => &mut self.customers,
            "value_matrix" => &mut self.value_matrix,
            "benchmark" => &mut self.benchmark,
            _ => panic!("no customer table {table}"),
        }
    }

    /// Sorts every table into its defined order: customers by id (byte
    /// order), value_matrix by segment then tier, benchmark by group.
    pub fn canonical(mut self) -> Tables {
        self.customers.sort();
        let segments = segment_order();
        let at = |list: &[&str], x: &str| list.iter().position(|y| *y == x).unwrap_or(usize::MAX);
        self.value_matrix
            .sort_by_key(|r| (at(&segments, &r[0]), at(&TIERS, &r[1])));
        let group = |g: &str| match g {
            "all" => 0,
            "social" => 1,
            "not-social" => 2,
            g => 3usize.saturating_add(at(&TIERS, g.strip_prefix("tier:").unwrap_or(g))),
        };
        self.benchmark.sort_by_key(|r| group(&r[0]));
        self
    }
}

/// The part files of a table directory, in name order (none if it is absent).
pub fn parts(dir: &Path) -> Vec<PathBuf> {
    let mut parts: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    };
    parts.sort();
    parts
}

/// The rows of every part of `dir` (header checked), and whether each part
/// was in order of its first column (byte order).
fn read_parts(dir: &Path, header: &str) -> (Vec<Vec<String>>, bool) {
    let mut rows = Vec::new();
    let mut ordered = true;
    for part in parts(dir) {
        let text = std::fs::read_to_string(&part).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(header), "header of {}", part.display());
        let mine: Vec<Vec<String>> = lines.map(csv_fields).collect();
        ordered &= mine.windows(2).all(|w| w[0][0] < w[1][0]);
        rows.extend(mine);
    }
    (rows, ordered)
}

/// The customer tables of an output. Checks that each `customers` part is
/// ordered by customer id and that the other two tables are written in
/// their defined order.
pub fn read_customer_tables(output: &Path) -> Tables {
    for (table, _) in CUSTOMER_TABLES {
        let dir = output.join(table);
        assert!(dir.is_dir(), "no {table} table in {}", output.display());
    }
    let (customers, ordered) = read_parts(&output.join("customers"), CUSTOMERS_HEADER);
    assert!(
        ordered,
        "{}: a customers part is not in customer_id order",
        output.display()
    );
    let (value_matrix, _) = read_parts(&output.join("value_matrix"), VALUE_MATRIX_HEADER);
    let (benchmark, _) = read_parts(&output.join("benchmark"), BENCHMARK_HEADER);
    let tables = Tables {
        customers,
        value_matrix,
        benchmark,
    };
    let sorted = tables.clone().canonical();
    assert_eq!(
        tables.value_matrix, sorted.value_matrix,
        "value_matrix row order"
    );
    assert_eq!(tables.benchmark, sorted.benchmark, "benchmark row order");
    sorted
}

fn cells_match(kind: Cell, got: &str, want: &str) -> bool {
    match kind {
        Text => got == want,
        Units => !got.is_empty() && parse_units(got) == parse_units(want),
        Float if want.is_empty() || got.is_empty() => got == want,
        Float => match got.parse::<f64>() {
            Ok(g) => close(g, want.parse().unwrap()),
            Err(_) => false,
        },
    }
}

/// Compares rows (both in canonical order); the first difference, named.
fn compare_rows(
    table: &str,
    header: &str,
    cells: &[Cell],
    got: &[Vec<String>],
    want: &[Vec<String>],
) -> Result<(), String> {
    let names: Vec<&str> = header.split(',').collect();
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if g.len() != w.len() {
            return Err(format!("{table} row {i}: {g:?}, expected {w:?}"));
        }
        for (c, kind) in cells.iter().enumerate() {
            if !cells_match(*kind, &g[c], &w[c]) {
                return Err(format!(
                    "{table} row {i} ({}), column {}: {:?}, expected {:?}\n got  {g:?}\n want {w:?}",
                    w[0], names[c], g[c], w[c]
                ));
            }
        }
    }
    if got.len() != want.len() {
        let keys = |rows: &[Vec<String>]| -> Vec<String> {
            rows.iter().map(|r| r[..2].join("/")).collect()
        };
        return Err(format!(
            "{table}: {} rows, expected {}\n got  {:?}\n want {:?}",
            got.len(),
            want.len(),
            keys(got),
            keys(want)
        ));
    }
    Ok(())
}

/// Compares tables (both in canonical order): the job's with the oracle's
/// or with hand-worked rows.
pub fn compare_tables(got: &Tables, expected: &Tables) -> Result<(), String> {
    compare_rows(
        "customers",
        CUSTOMERS_HEADER,
        &CUSTOMER_CELLS,
        &got.customers,
        &expected.customers,
    )?;
    compare_rows(
        "value_matrix",
        VALUE_MATRIX_HEADER,
        &MATRIX_CELLS,
        &got.value_matrix,
        &expected.value_matrix,
    )?;
    compare_rows(
        "benchmark",
        BENCHMARK_HEADER,
        &BENCHMARK_CELLS,
        &got.benchmark,
        &expected.benchmark,
    )
}

/// The oracle's tables as [`Tables`].
pub fn expected_tables(expected: &Expected) -> Tables {
    Tables {
        customers: expected.customers.clone(),
        value_matrix: expected.value_matrix.clone(),
        benchmark: expected.benchmark.clone(),
    }
}

/// Compares the `customers` object of an output's summary.json.
pub fn compare_summary(output: &Path, want: &Summary) -> Result<(), String> {
    let text = std::fs::read(output.join("summary.json")).unwrap();
    let summary: serde_json::Value = serde_json::from_slice(&text).unwrap();
    let got = &summary["customers"];
    let counts = [
        ("customers", want.customers),
        ("accounts_with_customer", want.accounts_with_customer),
        ("customers_with_purchases", want.customers_with_purchases),
        ("purchases", want.purchases),
    ];
    for (key, value) in counts {
        if got[key].as_u64() != Some(value) {
            return Err(format!(
                "summary customers.{key}: {}, expected {value}",
                got[key]
            ));
        }
    }
    for (key, value) in [("match_rate", want.match_rate), ("revenue", want.revenue)] {
        if !got[key].as_f64().is_some_and(|g| close(g, value)) {
            return Err(format!(
                "summary customers.{key}: {}, expected {value}",
                got[key]
            ));
        }
    }
    Ok(())
}

/// Asserts that an output's customer tables and summary are the oracle's.
pub fn assert_customers_match(output: &Path, expected: &Expected) {
    let got = read_customer_tables(output);
    if let Err(e) = compare_tables(&got, &expected_tables(expected)) {
        panic!("{}: {e}", output.display());
    }
    if let Err(e) = compare_summary(output, &expected.summary) {
        panic!("{}: {e}", output.display());
    }
}
