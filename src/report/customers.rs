//! For the CRM analyst: the customers side of an output (METRICS.md,
//! "Customers"), read for the page's Customers section.
//!
//! Four things are read: `summary.json`'s `customers` object (the counts
//! and the match rate), the `value_matrix` table (customers and money per
//! RFM segment and tier), the `benchmark` table (fans against the base)
//! and the `customers` table, which can hold millions of rows: it streams
//! past once, and only a bounded list of the most valuable customers (by
//! total value, largest first, then customer id in byte order) and a few
//! totals are kept. The section exists when the output has any of the
//! three tables or the summary object; a table that is missing is said so
//! on the page, and the rest is still shown.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use super::data::TIERS;
use super::read::{decimal, int, OutputDir};
use crate::error::Result;

/// Customers listed by total value.
pub const TOP_CUSTOMERS: usize = 25;

/// The RFM segments in the order of METRICS.md's table, then `Others` and
/// `No purchases`: the rows of the value matrix, as the job writes them.
pub use crate::rfm::SEGMENTS;

/// The three customer tables.
pub const TABLES: [&str; 3] = ["customers", "value_matrix", "benchmark"];

/// A money cell: its value for drawing, and the text as written (exact).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Money {
    /// The value, parsed.
    pub value: f64,
    /// As the table writes it.
    pub written: String,
}

impl Money {
    /// Parses a money cell: a finite non-negative decimal.
    pub fn parse(cell: &str, column: &str) -> std::result::Result<Money, String> {
        let value = decimal(cell, column)?;
        if !value.is_finite() || value < 0.0 {
            return Err(format!(
                "{column}: expected a non-negative decimal, found {cell:?}"
            ));
        }
        Ok(Money {
            value,
            written: cell.to_string(),
        })
    }
}

/// A row of `customers`, as the page lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomerRow {
    /// The customer id, as written.
    pub customer_id: String,
    /// Their accounts in `users`.
    pub accounts: u64,
    /// Their tier.
    pub tier: String,
    /// Their RFM segment.
    pub rfm_segment: String,
    /// Purchases.
    pub frequency: u64,
    /// Own spend.
    pub monetary: Money,
    /// The spend their word caused.
    pub influenced_revenue: Money,
    /// monetary + influenced revenue.
    pub total_value: Money,
}

/// The order of the list: total value descending, then customer id in
/// byte order; a customer as `(total_value, customer_id)`.
pub fn value_order(a: (f64, &str), b: (f64, &str)) -> Ordering {
    b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1))
}

/// The first `n` customers in [`value_order`], kept while rows stream past.
#[derive(Clone, Debug)]
pub struct TopCustomers {
    n: usize,
    rows: Vec<CustomerRow>,
}

impl TopCustomers {
    /// An empty list of at most `n`.
    pub fn new(n: usize) -> TopCustomers {
        TopCustomers {
            n,
            rows: Vec::with_capacity(n + 1),
        }
    }

    /// Whether `(total_value, customer_id)` is among the first `n` so far
    /// (cheap: call it before making the row).
    pub fn admits(&self, key: (f64, &str)) -> bool {
        self.n > 0
            && self.rows.get(self.n - 1).is_none_or(|last| {
                value_order(key, (last.total_value.value, &last.customer_id)) == Ordering::Less
            })
    }

    /// Offers a row: kept if it is among the first `n` so far.
    pub fn offer(&mut self, row: CustomerRow) {
        let key = (row.total_value.value, row.customer_id.as_str());
        if !self.admits(key) {
            return;
        }
        let at = self.rows.partition_point(|kept| {
            value_order((kept.total_value.value, &kept.customer_id), key) == Ordering::Less
        });
        self.rows.insert(at, row);
        self.rows.truncate(self.n);
    }

    /// The rows, in order.
    pub fn into_rows(self) -> Vec<CustomerRow> {
        self.rows
    }
}

/// Totals over the whole `customers` table.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    /// Rows.
    pub customers: u64,
    /// Customers with at least one account.
    pub social: u64,
    /// Customers with at least one purchase.
    pub buyers: u64,
    /// Sum of monetary (for the shares on the page; the exact revenue is
    /// summary.json's).
    pub monetary: f64,
    /// Sum of influenced revenue.
    pub influenced_revenue: f64,
}

/// A cell of the value matrix.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cell {
    /// Customers in it.
    pub customers: u64,
    /// Their summed spend.
    pub monetary: Money,
    /// Their summed influenced revenue.
    pub influenced_revenue: Money,
}

/// The `value_matrix` table as a grid.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Matrix {
    /// Row names: [`SEGMENTS`], then any other segment written, in file order.
    pub segments: Vec<String>,
    /// Column names: [`TIERS`], then any other tier written, in file order.
    pub tiers: Vec<String>,
    /// (segment, tier) -> its cell; pairs without customers are absent.
    pub cells: BTreeMap<(String, String), Cell>,
}

impl Matrix {
    /// Customers in the fullest cell (0 when there is none).
    pub fn densest(&self) -> u64 {
        self.cells.values().map(|c| c.customers).max().unwrap_or(0)
    }
}

/// A row of `benchmark`; `None` where the table leaves a cell empty.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// `all`, `social`, `not-social`, `tier:<tier>`.
    pub group: String,
    /// Customers in it.
    pub customers: u64,
    /// Those with a purchase.
    pub buyers: u64,
    /// Their summed spend.
    pub monetary: Money,
    /// monetary / customers.
    pub mean_monetary: Option<f64>,
    /// purchases / customers.
    pub mean_frequency: Option<f64>,
    /// mean_monetary / mean_monetary of `all`.
    pub lift: Option<f64>,
}

/// Everything the Customers section shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Customers {
    /// `summary.json`'s `customers` object, if there.
    pub summary: Option<serde_json::Map<String, serde_json::Value>>,
    /// Totals of the `customers` table (None: no such table).
    pub totals: Option<Totals>,
    /// The most valuable customers, in order.
    pub top: Vec<CustomerRow>,
    /// The value matrix (None: no such table).
    pub matrix: Option<Matrix>,
    /// The benchmark's rows in table order (None: no such table).
    pub benchmark: Option<Vec<Group>>,
}

/// An optional decimal cell: empty is None.
fn optional(cell: &str, column: &str) -> std::result::Result<Option<f64>, String> {
    let value = decimal(cell, column)?;
    Ok((!value.is_nan()).then_some(value))
}

/// Reads the customers side of `out`, or None when it has none (no
/// customer table and no `customers` object in `summary.json`).
pub fn collect(out: &OutputDir) -> Result<Option<Customers>> {
    let summary = out.summary["customers"].as_object().cloned();
    if summary.is_none() && !TABLES.iter().any(|t| out.has_table(t)) {
        return Ok(None);
    }
    let (totals, top) = if out.has_table("customers") {
        let (totals, top) = customers(out)?;
        (Some(totals), top)
    } else {
        (None, Vec::new())
    };
    Ok(Some(Customers {
        summary,
        totals,
        top,
        matrix: out
            .has_table("value_matrix")
            .then(|| matrix(out))
            .transpose()?,
        benchmark: out
            .has_table("benchmark")
            .then(|| benchmark(out))
            .transpose()?,
    }))
}

/// Streams `customers`: totals and the first [`TOP_CUSTOMERS`] by value.
fn customers(out: &OutputDir) -> Result<(Totals, Vec<CustomerRow>)> {
    let mut totals = Totals::default();
    let mut top = TopCustomers::new(TOP_CUSTOMERS);
    out.for_each_row(
        "customers",
        &[
            "customer_id",
            "accounts",
            "tier",
            "rfm_segment",
            "frequency",
            "monetary",
            "influenced_revenue",
            "total_value",
        ],
        |c| {
            let accounts = int(c[1], "accounts")?;
            let frequency = int(c[4], "frequency")?;
            let total_value = Money::parse(c[7], "total_value")?;
            let monetary = Money::parse(c[5], "monetary")?;
            let influenced = Money::parse(c[6], "influenced_revenue")?;
            totals.customers += 1;
            totals.social += u64::from(accounts > 0);
            totals.buyers += u64::from(frequency > 0);
            totals.monetary += monetary.value;
            totals.influenced_revenue += influenced.value;
            if top.admits((total_value.value, c[0])) {
                top.offer(CustomerRow {
                    customer_id: c[0].to_string(),
                    accounts,
                    tier: c[2].to_string(),
                    rfm_segment: c[3].to_string(),
                    frequency,
                    monetary,
                    influenced_revenue: influenced,
                    total_value,
                });
            }
            Ok(())
        },
    )?;
    Ok((totals, top.into_rows()))
}

/// Reads `value_matrix` into a grid.
fn matrix(out: &OutputDir) -> Result<Matrix> {
    let mut m = Matrix {
        segments: SEGMENTS.iter().map(|s| s.to_string()).collect(),
        tiers: TIERS.iter().map(|t| t.to_string()).collect(),
        cells: BTreeMap::new(),
    };
    out.for_each_row(
        "value_matrix",
        &[
            "rfm_segment",
            "tier",
            "customers",
            "monetary",
            "influenced_revenue",
        ],
        |c| {
            let key = (c[0].to_string(), c[1].to_string());
            let cell = Cell {
                customers: int(c[2], "customers")?,
                monetary: Money::parse(c[3], "monetary")?,
                influenced_revenue: Money::parse(c[4], "influenced_revenue")?,
            };
            if m.cells.insert(key.clone(), cell).is_some() {
                return Err(format!("({}, {}) has two rows", key.0, key.1));
            }
            if !m.segments.contains(&key.0) {
                m.segments.push(key.0);
            }
            if !m.tiers.contains(&key.1) {
                m.tiers.push(key.1);
            }
            Ok(())
        },
    )?;
    Ok(m)
}

/// Reads `benchmark`, in table order.
fn benchmark(out: &OutputDir) -> Result<Vec<Group>> {
    let mut groups = Vec::new();
    out.for_each_row(
        "benchmark",
        &[
            "group",
            "customers",
            "buyers",
            "monetary",
            "mean_monetary",
            "mean_frequency",
            "lift",
        ],
        |c| {
            groups.push(Group {
                group: c[0].to_string(),
                customers: int(c[1], "customers")?,
                buyers: int(c[2], "buyers")?,
                monetary: Money::parse(c[3], "monetary")?,
                mean_monetary: optional(c[4], "mean_monetary")?,
                mean_frequency: optional(c[5], "mean_frequency")?,
                lift: optional(c[6], "lift")?,
            });
            Ok(())
        },
    )?;
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, total: f64) -> CustomerRow {
        let money = |value: f64| Money {
            value,
            written: format!("{value:?}"),
        };
        CustomerRow {
            customer_id: id.to_string(),
            accounts: 0,
            tier: "standard".to_string(),
            rfm_segment: "Lost".to_string(),
            frequency: 0,
            monetary: money(total),
            influenced_revenue: money(0.0),
            total_value: money(total),
        }
    }

    #[test]
    fn the_bounded_list_keeps_the_most_valuable_in_order() {
        let rows = [
            row("b", 5.0),
            row("a", 5.0),
            row("C", 7.5),
            row("d", 0.0),
            row("e", 100.0),
            row("c", 7.5),
        ];
        let ids = |n: usize| {
            let mut top = TopCustomers::new(n);
            for r in rows.iter().cloned() {
                top.offer(r);
            }
            top.into_rows()
                .into_iter()
                .map(|r| r.customer_id)
                .collect::<Vec<_>>()
        };
        // By hand: e (100); C and c (7.5, byte order: 'C' < 'c'); a and b
        // (5, byte order); d (0).
        assert_eq!(ids(10), ["e", "C", "c", "a", "b", "d"]);
        assert_eq!(ids(3), ["e", "C", "c"]);
        assert!(ids(0).is_empty());
    }

    #[test]
    fn money_cells_are_non_negative_decimals() {
        assert_eq!(Money::parse("12.5", "m").unwrap().value, 12.5);
        assert_eq!(Money::parse("12.5", "m").unwrap().written, "12.5");
        assert!(Money::parse("-1", "m")
            .unwrap_err()
            .contains("non-negative"));
        assert!(Money::parse("", "m").is_err());
        assert!(Money::parse("x", "m").unwrap_err().contains("m: expected"));
    }
}
