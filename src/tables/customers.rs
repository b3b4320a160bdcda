//! The rows of the customer tables (METRICS.md, "Customers"): `customers`,
//! `value_matrix` and `benchmark`.
//!
//! Cells that may be empty (a customer without purchases has no last
//! purchase and no scores; an empty group has no means) are typed nullable
//! columns: empty in CSV, NULL in Parquet (DATE, BIGINT, DOUBLE).

use serde::{Deserialize, Serialize};

use super::{Decimal, Tier};
use crate::output::table::{col, optional, Cell, ColType, Column, Row};

/// An RFM segment, as its index in [`crate::rfm::SEGMENTS`] (so rows sort
/// in the table's order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Segment(pub u8);

impl Segment {
    /// The segment of `name` (one of [`crate::rfm::SEGMENTS`]).
    pub fn of(name: &str) -> Segment {
        let index = crate::rfm::SEGMENTS
            .iter()
            .position(|s| *s == name)
            .expect("a segment of the table");
        Segment(index as u8)
    }
    /// The name written in `rfm_segment`.
    pub fn name(self) -> &'static str {
        crate::rfm::SEGMENTS[usize::from(self.0)]
    }
}

/// A row of `customers`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CustomerRow {
    /// The CRM's customer id (the sort key: byte order).
    pub customer_id: String,
    /// |A(c)|: the customer's accounts in `users`.
    pub accounts: u32,
    /// Distinct friends of the accounts, the customer's own not counted.
    pub friend_count: u32,
    /// friend_count >= T.
    pub super_connector: bool,
    /// Sum of the accounts' influence.
    pub influence: Decimal,
    /// Sum of the accounts' persuaded_total.
    pub persuaded_total: u64,
    /// The users' tier rule on the customer's figures.
    pub tier: Tier,
    /// The latest purchase day, if any.
    pub last_purchase: Option<i32>,
    /// The number of purchases.
    pub frequency: u64,
    /// Their summed amount.
    pub monetary: Decimal,
    /// (r, f, m) scores, for customers with purchases.
    pub scores: Option<(u8, u8, u8)>,
    /// The RFM segment.
    pub segment: Segment,
    /// Money the customer's word caused others to spend.
    pub influenced_revenue: Decimal,
    /// monetary + influenced_revenue.
    pub total_value: Decimal,
    /// `monetary` in units of 1/10,000 (not a column: for exact sums; it
    /// follows `monetary`, so it never tells apart rows that read the same).
    pub monetary_units: i64,
}

impl Row for CustomerRow {
    fn columns() -> Vec<Column> {
        vec![
            col("customer_id", ColType::Str),
            col("accounts", ColType::I64),
            col("friend_count", ColType::I64),
            col("super_connector", ColType::Bool),
            col("influence", ColType::F64),
            col("persuaded_total", ColType::I64),
            col("tier", ColType::Str),
            optional("last_purchase", ColType::Date),
            col("frequency", ColType::I64),
            col("monetary", ColType::F64),
            optional("r_score", ColType::I64),
            optional("f_score", ColType::I64),
            optional("m_score", ColType::I64),
            col("rfm_segment", ColType::Str),
            col("influenced_revenue", ColType::F64),
            col("total_value", ColType::F64),
        ]
    }
    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        let score = |pick: fn((u8, u8, u8)) -> u8| {
            Cell::or_null(self.scores, |s| Cell::I64(pick(s).into()))
        };
        out.extend([
            Cell::Str(&self.customer_id),
            Cell::I64(self.accounts.into()),
            Cell::I64(self.friend_count.into()),
            Cell::Bool(self.super_connector),
            Cell::F64(self.influence.0),
            Cell::I64(self.persuaded_total as i64),
            Cell::Str(self.tier.name()),
            Cell::or_null(self.last_purchase, Cell::Date),
            Cell::I64(self.frequency as i64),
            Cell::F64(self.monetary.0),
            score(|(r, _, _)| r),
            score(|(_, f, _)| f),
            score(|(_, _, m)| m),
            Cell::Str(self.segment.name()),
            Cell::F64(self.influenced_revenue.0),
            Cell::F64(self.total_value.0),
        ]);
    }
}

/// A row of `value_matrix`: the customers of one (segment, tier).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ValueMatrixRow {
    /// The segment (sort key, in the table's order).
    pub segment: Segment,
    /// The tier (then in tier order).
    pub tier: Tier,
    /// Customers in the cell.
    pub customers: u64,
    /// Their summed monetary.
    pub monetary: Decimal,
    /// Their summed influenced revenue.
    pub influenced_revenue: Decimal,
}

impl Row for ValueMatrixRow {
    fn columns() -> Vec<Column> {
        vec![
            col("rfm_segment", ColType::Str),
            col("tier", ColType::Str),
            col("customers", ColType::I64),
            col("monetary", ColType::F64),
            col("influenced_revenue", ColType::F64),
        ]
    }
    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        out.extend([
            Cell::Str(self.segment.name()),
            Cell::Str(self.tier.name()),
            Cell::I64(self.customers as i64),
            Cell::F64(self.monetary.0),
            Cell::F64(self.influenced_revenue.0),
        ]);
    }
}

/// A group of `benchmark`, in the rows' order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Group {
    /// Every customer.
    All,
    /// Customers with an account.
    Social,
    /// Customers without one.
    NotSocial,
    /// Social customers of a tier.
    Tier(Tier),
}

impl Group {
    /// The name written in `group`.
    pub fn name(self) -> &'static str {
        match self {
            Group::All => "all",
            Group::Social => "social",
            Group::NotSocial => "not-social",
            Group::Tier(Tier::SuperConnector) => "tier:super-connector",
            Group::Tier(Tier::TopicalInfluencer) => "tier:topical-influencer",
            Group::Tier(Tier::Connector) => "tier:connector",
            Group::Tier(Tier::Standard) => "tier:standard",
        }
    }
}

/// A row of `benchmark`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BenchmarkRow {
    /// The group (sort key).
    pub group: Group,
    /// Customers in the group.
    pub customers: u64,
    /// Those with at least one purchase.
    pub buyers: u64,
    /// Their summed monetary.
    pub monetary: Decimal,
    /// monetary / customers (none for an empty group).
    pub mean_monetary: Option<Decimal>,
    /// purchases / customers (none for an empty group).
    pub mean_frequency: Option<Decimal>,
    /// mean_monetary / mean_monetary of `all` (none when either is none or
    /// the latter is 0).
    pub lift: Option<Decimal>,
}

impl Row for BenchmarkRow {
    fn columns() -> Vec<Column> {
        vec![
            col("group", ColType::Str),
            col("customers", ColType::I64),
            col("buyers", ColType::I64),
            col("monetary", ColType::F64),
            optional("mean_monetary", ColType::F64),
            optional("mean_frequency", ColType::F64),
            optional("lift", ColType::F64),
        ]
    }
    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        out.extend([
            Cell::Str(self.group.name()),
            Cell::I64(self.customers as i64),
            Cell::I64(self.buyers as i64),
            Cell::F64(self.monetary.0),
            Cell::or_null(self.mean_monetary, |x| Cell::F64(x.0)),
            Cell::or_null(self.mean_frequency, |x| Cell::F64(x.0)),
            Cell::or_null(self.lift, |x| Cell::F64(x.0)),
        ]);
    }
}
