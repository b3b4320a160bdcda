//! The rows of every output table, with their columns exactly as METRICS.md
//! names them. Rows travel through the dataflow (so they are `Ord` and
//! serializable) and are written by the generic writers in [`crate::output`].

use serde::{Deserialize, Serialize};

use crate::output::table::{col, optional_text, Cell, ColType, Column, Row};
use crate::topics::Name;

mod customers;
pub use customers::{BenchmarkRow, CustomerRow, Group, Segment, ValueMatrixRow};

/// A decimal metric (credit, influence): an `f64` with a total order, so rows
/// holding one can be sorted and consolidated.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct Decimal(pub f64);

impl From<f64> for Decimal {
    fn from(value: f64) -> Self {
        Decimal(value)
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Self) -> bool {
        self.0.total_cmp(&other.0).is_eq()
    }
}
impl Eq for Decimal {}
impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// The CRM tier of a user (see [`crate::dataflow::tiers`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Tier {
    /// friend_count >= T.
    SuperConnector,
    /// A topic leader in any topic.
    TopicalInfluencer,
    /// friend_count >= C.
    Connector,
    /// Everyone else.
    Standard,
}

impl Tier {
    /// The name written in the `tier` column.
    pub fn name(self) -> &'static str {
        match self {
            Tier::SuperConnector => "super-connector",
            Tier::TopicalInfluencer => "topical-influencer",
            Tier::Connector => "connector",
            Tier::Standard => "standard",
        }
    }
}

/// A row of `users`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UserRow {
    /// The user (the sort key).
    pub user_id: u64,
    /// |N(u)|.
    pub friend_count: u32,
    /// friend_count >= T.
    pub super_connector: bool,
    /// Sum of credit over topics.
    pub influence: Decimal,
    /// Sum of persuaded over topics.
    pub persuaded_total: u64,
    /// The topic with the largest credit > 0 (ties: name ascending), empty if none.
    pub top_topic: Name,
    /// The CRM tier.
    pub tier: Tier,
}

impl Row for UserRow {
    fn columns() -> Vec<Column> {
        vec![
            col("user_id", ColType::U64),
            col("friend_count", ColType::I64),
            col("super_connector", ColType::Bool),
            col("influence", ColType::F64),
            col("persuaded_total", ColType::I64),
            optional_text("top_topic"),
            col("tier", ColType::Str),
        ]
    }
    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        out.extend([
            Cell::U64(self.user_id),
            Cell::I64(self.friend_count.into()),
            Cell::Bool(self.super_connector),
            Cell::F64(self.influence.0),
            Cell::I64(self.persuaded_total as i64),
            Cell::Str(&self.top_topic),
            Cell::Str(self.tier.name()),
        ]);
    }
}

/// A row of `degree_distribution`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DegreeRow {
    /// A friend count d >= 1 (the sort key).
    pub friend_count: u32,
    /// How many users have exactly d friends.
    pub users: u64,
}

impl Row for DegreeRow {
    fn columns() -> Vec<Column> {
        vec![
            col("friend_count", ColType::I64),
            col("users", ColType::I64),
        ]
    }
    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        out.extend([
            Cell::I64(self.friend_count.into()),
            Cell::I64(self.users as i64),
        ]);
    }
}

/// A row of `user_topics`: one current adoption with its metrics.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UserTopicRow {
    /// The adopter (sort key, then topic).
    pub user_id: u64,
    /// The topic name.
    pub topic: Name,
    /// The adoption day (days since 1970-01-01), written as an ISO date.
    pub adopted: i32,
    /// Friends into the same topic.
    pub reach: u32,
    /// Friends who adopted 1..=W days later.
    pub persuaded: u32,
    /// Credit for those friends' adoptions.
    pub credit: Decimal,
}

impl Row for UserTopicRow {
    fn columns() -> Vec<Column> {
        vec![
            col("user_id", ColType::U64),
            col("topic", ColType::Str),
            col("adopted", ColType::Date),
            col("reach", ColType::I64),
            col("persuaded", ColType::I64),
            col("credit", ColType::F64),
        ]
    }
    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        out.extend([
            Cell::U64(self.user_id),
            Cell::Str(&self.topic),
            Cell::Date(self.adopted),
            Cell::I64(self.reach.into()),
            Cell::I64(self.persuaded.into()),
            Cell::F64(self.credit.0),
        ]);
    }
}

/// A row of `topic_leaders`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LeaderRow {
    /// The topic name (sort key, then rank).
    pub topic: Name,
    /// 1..=K.
    pub rank: u32,
    /// The leader.
    pub user_id: u64,
    /// credit(u,t).
    pub credit: Decimal,
    /// persuaded(u,t).
    pub persuaded: u32,
    /// reach(u,t).
    pub reach: u32,
}

impl Row for LeaderRow {
    fn columns() -> Vec<Column> {
        vec![
            col("topic", ColType::Str),
            col("rank", ColType::I64),
            col("user_id", ColType::U64),
            col("credit", ColType::F64),
            col("persuaded", ColType::I64),
            col("reach", ColType::I64),
        ]
    }
    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        out.extend([
            Cell::Str(&self.topic),
            Cell::I64(self.rank.into()),
            Cell::U64(self.user_id),
            Cell::F64(self.credit.0),
            Cell::I64(self.persuaded.into()),
            Cell::I64(self.reach.into()),
        ]);
    }
}

/// A row of `topics` (an addition to METRICS.md's tables, see docs/metrics.md).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TopicRow {
    /// The topic name (sort key).
    pub topic: Name,
    /// Current adoptions of the topic.
    pub adopters: u64,
    /// Adoptions with k >= 1: a friend adopted 1..=W days before.
    pub socially_explained: u64,
}

impl Row for TopicRow {
    fn columns() -> Vec<Column> {
        vec![
            col("topic", ColType::Str),
            col("adopters", ColType::I64),
            col("socially_explained", ColType::I64),
        ]
    }
    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        out.extend([
            Cell::Str(&self.topic),
            Cell::I64(self.adopters as i64),
            Cell::I64(self.socially_explained as i64),
        ]);
    }
}

/// A row of `topic_significance`: the shuffle test of one topic (see
/// docs/metrics.md and [`crate::dataflow::significance`]).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TopicSignificanceRow {
    /// The topic name (sort key).
    pub topic: Name,
    /// Current adoptions of the topic (at least 2).
    pub adopters: u64,
    /// Socially explained adoptions with the real days (`topics.socially_explained`).
    pub observed: u64,
    /// Mean of the count over the shuffled rounds.
    pub shuffled_mean: Decimal,
    /// Population standard deviation of the count over the rounds.
    pub shuffled_std: Decimal,
    /// `(observed - shuffled_mean) / shuffled_std`; 0 when `shuffled_std` is 0.
    pub z: Decimal,
    /// `(1 + rounds with a count >= observed) / (rounds + 1)`.
    pub p_value: Decimal,
}

impl Row for TopicSignificanceRow {
    fn columns() -> Vec<Column> {
        vec![
            col("topic", ColType::Str),
            col("adopters", ColType::I64),
            col("observed", ColType::I64),
            col("shuffled_mean", ColType::F64),
            col("shuffled_std", ColType::F64),
            col("z", ColType::F64),
            col("p_value", ColType::F64),
        ]
    }
    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        out.extend([
            Cell::Str(&self.topic),
            Cell::I64(self.adopters as i64),
            Cell::I64(self.observed as i64),
            Cell::F64(self.shuffled_mean.0),
            Cell::F64(self.shuffled_std.0),
            Cell::F64(self.z.0),
            Cell::F64(self.p_value.0),
        ]);
    }
}
