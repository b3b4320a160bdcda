//! `summary.json`: what a run computed and from what, for people and for
//! reproducibility. It holds no timings or worker counts (those are in
//! `run.json`), so the same inputs and parameters give the same bytes.

use serde::Serialize;

use crate::dataflow::operators::set::ChangeCounts;
use crate::input::FileInfo;
use crate::input::ReadStats;
use crate::job::{self, Job};
use crate::params::Params;
use crate::tables::{DegreeRow, TopicRow};

/// The program that wrote the output.
#[derive(Clone, Debug, Serialize)]
pub struct Program {
    /// `reach`.
    pub name: &'static str,
    /// The crate version.
    pub version: &'static str,
}

/// Where the data came from.
#[derive(Clone, Debug, Serialize)]
pub struct Inputs {
    /// Friendship files with sizes and SHA-256.
    pub friendships: Vec<FileInfo>,
    /// Adoption files with sizes and SHA-256.
    pub adoptions: Vec<FileInfo>,
    /// The generator settings, when the graph was generated in memory.
    pub generated: Option<serde_json::Value>,
    /// Identity files (with customer inputs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identities: Option<Vec<FileInfo>>,
    /// Purchase files (with customer inputs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purchases: Option<Vec<FileInfo>>,
}

/// The customer side of a run (with customer inputs).
#[derive(Clone, Debug, Serialize)]
pub struct CustomerCounts {
    /// Rows of `customers`.
    pub customers: u64,
    /// Accounts in `users` with a customer.
    pub accounts_with_customer: u64,
    /// accounts_with_customer / users (0 without users).
    pub match_rate: f64,
    /// Customers with at least one purchase.
    pub customers_with_purchases: u64,
    /// Current purchases.
    pub purchases: u64,
    /// Their summed amount.
    pub revenue: f64,
}

/// Table-level counts.
#[derive(Clone, Debug, Serialize)]
pub struct Counts {
    /// Rows of `users`.
    pub users: u64,
    /// Distinct friendships.
    pub friendships: u64,
    /// Users with at least one friend.
    pub users_with_friends: u64,
    /// Users with friend_count >= T.
    pub super_connectors: u64,
    /// Users with friend_count >= C.
    pub connectors: u64,
    /// Current adoptions (rows of `user_topics`).
    pub adoptions: u64,
    /// Topics with at least one adoption.
    pub topics: u64,
    /// Adoptions with k >= 1 (a friend adopted 1..=W days before); equals the
    /// sum of all credit.
    pub socially_explained_adoptions: u64,
    /// Rows of `topic_leaders`.
    pub topic_leaders: u64,
}

/// The study shares, over users with at least one friend (0 when there are none).
#[derive(Clone, Debug, Serialize)]
pub struct Shares {
    /// |{friend_count >= C}| / |{friend_count >= 1}|.
    pub share_connectors: f64,
    /// |{friend_count >= T}| / |{friend_count >= 1}|.
    pub share_super: f64,
}

/// What happened to the lines of the base input (nights: see [`NightSummary`]).
#[derive(Clone, Debug, Serialize)]
pub struct Lines {
    /// Friendship records parsed.
    pub friendship_records: u64,
    /// Self-loops `a a`, rejected.
    pub self_loops_rejected: u64,
    /// Friendship records that repeated a friendship already seen (either orientation).
    pub duplicate_friendships: u64,
    /// Adoption records parsed.
    pub adoption_records: u64,
    /// Adoption records for a (user, topic) already seen (only the earliest day counts).
    pub repeated_adoptions: u64,
    /// Header lines skipped.
    pub header_lines: u64,
    /// Malformed lines skipped under `max_bad_lines` (listed in `rejects.csv`).
    pub bad_lines_skipped: u64,
}

/// The base load's line accounting, before any night.
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize)]
pub struct Base {
    /// Friendship records in the base files.
    pub friendship_records: u64,
    /// Self-loops among them.
    pub self_loops: u64,
    /// Distinct friendships they make.
    pub friendships: u64,
    /// Adoption records in the base files.
    pub adoption_records: u64,
    /// Distinct (user, topic) adoptions they make.
    pub adoptions: u64,
}

/// What one night changed.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct NightSummary {
    /// The night's directory name.
    pub name: String,
    /// Friendship change records read.
    pub friendship_changes: u64,
    /// Adoption change records read.
    pub adoption_changes: u64,
    /// Self-loops among the friendship changes, rejected.
    pub self_loops_rejected: u64,
    /// What the friendship changes did (applied and no-op adds and removes).
    pub friendships: ChangeCounts,
    /// What the adoption changes did.
    pub adoptions: ChangeCounts,
    /// Identity change lines read (with customer inputs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_changes: Option<u64>,
    /// Purchase change lines read (with customer inputs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase_changes: Option<u64>,
    /// What the identity lines did (with customer inputs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identities: Option<ChangeCounts>,
    /// What the purchase changes did (`noop_removes`: refunds of a purchase
    /// not held) (with customer inputs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchases: Option<ChangeCounts>,
}

impl NightSummary {
    /// Adds what the night's customer lines did.
    pub fn with_customers(
        mut self,
        stats: &ReadStats,
        counts: Option<(ChangeCounts, ChangeCounts)>,
    ) -> NightSummary {
        if let Some((identities, purchases)) = counts {
            self.identity_changes = Some(stats.identity_records);
            self.purchase_changes = Some(stats.purchase_records);
            self.identities = Some(identities);
            self.purchases = Some(purchases);
        }
        self
    }

    /// A night's line: what its files held and what its changes did.
    pub fn new(
        name: &str,
        stats: &ReadStats,
        friendships: ChangeCounts,
        adoptions: ChangeCounts,
    ) -> NightSummary {
        NightSummary {
            name: name.to_string(),
            friendship_changes: stats.friendship_changes,
            adoption_changes: stats.adoption_changes,
            self_loops_rejected: stats.self_loops,
            friendships,
            adoptions,
            identity_changes: None,
            purchase_changes: None,
            identities: None,
            purchases: None,
        }
    }
}

/// The whole summary.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// Program name and version.
    pub program: Program,
    /// The metric parameters used.
    pub parameters: Params,
    /// Input files.
    pub inputs: Inputs,
    /// Counts.
    pub counts: Counts,
    /// Study shares.
    pub shares: Shares,
    /// Input line accounting.
    pub lines: Lines,
    /// The nights applied, in order (empty for a run without `--deltas`).
    pub nights: Vec<NightSummary>,
    /// The customer tables' counts (with customer inputs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customers: Option<CustomerCounts>,
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// What the workers found, gathered at worker 0 for the summary.
pub struct Totals {
    /// Read statistics over the base and every night.
    pub read: ReadStats,
    /// The base load's line accounting.
    pub base: Base,
    /// What each night changed.
    pub nights: Vec<NightSummary>,
    /// The final degree distribution.
    pub degree_distribution: Vec<DegreeRow>,
    /// The final `topics` table.
    pub topics: Vec<TopicRow>,
    /// Rows written per table.
    pub rows: Vec<(String, u64)>,
    /// The `customers` table's sums (with customer inputs).
    pub customers: Option<CustomerSums>,
}

/// Sums over rows of `customers`, per worker and then over all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct CustomerSums {
    /// Rows.
    pub customers: u64,
    /// Accounts (in `users`, with a customer).
    pub accounts: u64,
    /// Rows with a purchase.
    pub buyers: u64,
    /// Purchases.
    pub purchases: u64,
    /// Monetary, in units of 1/10,000.
    pub units: i64,
}

impl CustomerSums {
    /// Adds another's sums.
    pub fn add(&mut self, other: &CustomerSums) {
        self.customers += other.customers;
        self.accounts += other.accounts;
        self.buyers += other.buyers;
        self.purchases += other.purchases;
        self.units += other.units;
    }
}

/// Builds the summary from the gathered totals and the input fingerprints.
pub fn build(
    job: &Job,
    totals: &Totals,
    (friendship_files, adoption_files): (Vec<FileInfo>, Vec<FileInfo>),
    customer_files: Option<(Vec<FileInfo>, Vec<FileInfo>)>,
) -> Summary {
    let Totals {
        read,
        base,
        nights,
        degree_distribution: degrees,
        topics,
        rows,
        customers,
    } = totals;
    let params = &job.params;
    let users_with_friends: u64 = degrees.iter().map(|d| d.users).sum();
    let endpoints: u64 = degrees
        .iter()
        .map(|d| d.users * u64::from(d.friend_count))
        .sum();
    let at_least = |min: u32| -> u64 {
        degrees
            .iter()
            .filter(|d| d.friend_count >= min)
            .map(|d| d.users)
            .sum()
    };
    let friendships = endpoints / 2;
    let super_connectors = at_least(params.super_connector_min.max(1));
    let connectors = at_least(params.connector_min.max(1));
    let table_rows = |name: &str| rows.iter().find(|(t, _)| t == name).map_or(0, |(_, n)| *n);
    let adoptions: u64 = topics.iter().map(|t| t.adopters).sum();
    let generated = match &job.source {
        job::Source::Generated(p) => Some(serde_json::json!({
            "users": p.users,
            "mean_degree": p.mean_degree,
            "seed": p.seed,
        })),
        job::Source::Files { .. } => None,
    };
    Summary {
        program: Program {
            name: "reach",
            version: env!("CARGO_PKG_VERSION"),
        },
        parameters: params.clone(),
        inputs: Inputs {
            friendships: friendship_files,
            adoptions: adoption_files,
            generated,
            identities: customer_files.as_ref().map(|f| f.0.clone()),
            purchases: customer_files.as_ref().map(|f| f.1.clone()),
        },
        counts: Counts {
            users: table_rows("users"),
            friendships,
            users_with_friends,
            super_connectors,
            connectors,
            adoptions,
            topics: topics.len() as u64,
            socially_explained_adoptions: topics.iter().map(|t| t.socially_explained).sum(),
            topic_leaders: table_rows("topic_leaders"),
        },
        shares: Shares {
            share_connectors: share(connectors, users_with_friends),
            share_super: share(super_connectors, users_with_friends),
        },
        lines: Lines {
            friendship_records: base.friendship_records,
            self_loops_rejected: base.self_loops,
            duplicate_friendships: base.friendship_records - base.self_loops - base.friendships,
            adoption_records: base.adoption_records,
            repeated_adoptions: base.adoption_records - base.adoptions,
            header_lines: read.headers,
            bad_lines_skipped: read.bad_total,
        },
        nights: nights.to_vec(),
        customers: customers.map(|sums| CustomerCounts {
            customers: sums.customers,
            accounts_with_customer: sums.accounts,
            match_rate: share(sums.accounts, table_rows("users")),
            customers_with_purchases: sums.buyers,
            purchases: sums.purchases,
            revenue: sums.units as f64 / crate::dataflow::customers::SCALE as f64,
        }),
    }
}

/// The summary as pretty JSON with a trailing newline.
pub fn to_json(summary: &Summary) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(summary).expect("summary serializes");
    bytes.push(b'\n');
    bytes
}
