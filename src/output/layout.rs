//! The published output directory, every file and folder named in one
//! place (README's "What comes out" describes them).
//!
//! ```text
//! <output>/
//!   users/ user_topics/ topic_leaders/ degree_distribution/ topics/
//!   topic_significance/           tables, as part-NNNNN.csv (or .parquet)
//!   changes/<night>/<table>/      a night's change feed, partitioned like the table
//!   summary.json run.json _SUCCESS [rejects.csv] [report.html]
//!   manifest.json _checkpoint/    reach serve only
//! ```

/// Counts, shares, parameters, line accounting: byte-identical across runs.
pub const SUMMARY: &str = "summary.json";
/// Wall time, worker counts, per-process figures: differs between runs.
pub const RUN: &str = "run.json";
/// The marker Spark-style readers look for; written last before publishing.
pub const SUCCESS: &str = "_SUCCESS";
/// The skipped bad lines (only with `max_bad_lines > 0`).
pub const REJECTS: &str = "rejects.csv";
/// The change feeds, one folder per night.
pub const CHANGES: &str = "changes";
/// `reach serve`: the nights applied.
pub const MANIFEST: &str = "manifest.json";
/// `reach serve`: the input sets after the last night (`_` so that readers
/// of the tables, e.g. Spark, skip it).
pub const CHECKPOINT: &str = "_checkpoint";
/// The HTML report (`--report` or `reach report`).
pub const REPORT: &str = "report.html";

/// The tables' folder names, as METRICS.md names the tables.
pub mod tables {
    /// One row per user.
    pub const USERS: &str = "users";
    /// One row per adoption.
    pub const USER_TOPICS: &str = "user_topics";
    /// One row per (topic, rank).
    pub const TOPIC_LEADERS: &str = "topic_leaders";
    /// One row per friend count.
    pub const DEGREE_DISTRIBUTION: &str = "degree_distribution";
    /// One row per topic.
    pub const TOPICS: &str = "topics";
    /// One row per topic with 2+ adopters (only with `shuffle_rounds > 0`).
    pub const TOPIC_SIGNIFICANCE: &str = "topic_significance";
    /// One row per customer (only with customer inputs).
    pub const CUSTOMERS: &str = "customers";
    /// One row per (RFM segment, tier) holding customers.
    pub const VALUE_MATRIX: &str = "value_matrix";
    /// One row per customer group.
    pub const BENCHMARK: &str = "benchmark";
}

/// A part file's name: `part-00003.csv`.
pub fn part_file(part: usize, extension: &str) -> String {
    format!("part-{part:05}.{extension}")
}

/// A table's feed folder for a night, relative to the output: `changes/<night>/<table>`.
pub fn feed(night: &str, table: &str) -> String {
    format!("{CHANGES}/{night}/{table}")
}
