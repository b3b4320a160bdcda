//! Shared test helpers: running jobs through the library, reading published
//! tables back, and a literal oracle of METRICS.md written independently of
//! the job's code.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use reach::job::{Format, Job, Overrides};

/// The shared data folder beside the checkout.
pub fn shared_data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(rel)
}

/// Runs a batch job on a friendship input.
pub fn run(
    friendships: &Path,
    output: &Path,
    workers: usize,
    sets: &[&str],
    format: Format,
) -> reach::Result<reach::run::RunReport> {
    let job = Job::resolve(
        None,
        Overrides {
            friendships: Some(friendships.to_path_buf()),
            output: Some(output.to_path_buf()),
            workers: Some(workers),
            format: Some(format),
            sets: sets.iter().map(|s| s.to_string()).collect(),
            ..Overrides::default()
        },
    )?;
    reach::run::run(&job, true)
}

/// Splits one CSV line (RFC 4180 quotes).
pub fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// Every data row of a CSV table (all parts, in part order), header checked.
pub fn read_table(output: &Path, table: &str, header: &str) -> Vec<Vec<String>> {
    let mut parts: Vec<PathBuf> = std::fs::read_dir(output.join(table))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    parts.sort();
    let mut rows = Vec::new();
    for part in parts {
        let text = std::fs::read_to_string(&part).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(header), "{}", part.display());
        rows.extend(lines.map(csv_fields));
    }
    rows
}

/// All files of an output directory with their bytes, except `run.json`
/// (which records timings and worker counts by design).
pub fn snapshot(output: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![output.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().unwrap() != "run.json" {
                let rel = path.strip_prefix(output).unwrap().display().to_string();
                files.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// A literal reading of METRICS.md for friendships: the simple undirected graph.
#[derive(Debug, Default)]
pub struct GraphOracle {
    /// Each friendship once, smaller id first.
    pub edges: BTreeSet<(u64, u64)>,
    /// Records read (self-loops included).
    pub records: u64,
    /// Self-loops.
    pub self_loops: u64,
}

impl GraphOracle {
    /// Parses text the way METRICS.md describes (no error handling: tests feed valid text).
    pub fn from_text(text: &str) -> GraphOracle {
        let mut oracle = GraphOracle::default();
        let mut first = true;
        for line in text.lines() {
            let line = line.trim_end_matches('\r');
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') || t.starts_with('%') {
                continue;
            }
            let fields: Vec<&str> = if line.contains('\t') {
                line.split('\t').map(str::trim).collect()
            } else if line.contains(',') {
                line.split(',').map(str::trim).collect()
            } else {
                line.split_whitespace().collect()
            };
            let parsed: Option<Vec<u64>> = fields.iter().map(|f| f.parse().ok()).collect();
            let was_first = std::mem::replace(&mut first, false);
            let Some(ids) = parsed else {
                assert!(was_first, "oracle: bad line {line}");
                continue; // the header
            };
            oracle.records += 1;
            let (a, b) = (ids[0], ids[1]);
            if a == b {
                oracle.self_loops += 1;
            } else {
                oracle.edges.insert((a.min(b), a.max(b)));
            }
        }
        oracle
    }

    /// Reads a file (plain text).
    pub fn from_file(path: &Path) -> GraphOracle {
        GraphOracle::from_text(&std::fs::read_to_string(path).unwrap())
    }

    /// friend_count per user.
    pub fn degrees(&self) -> BTreeMap<u64, u64> {
        let mut degrees = BTreeMap::new();
        for &(a, b) in &self.edges {
            *degrees.entry(a).or_insert(0) += 1;
            *degrees.entry(b).or_insert(0) += 1;
        }
        degrees
    }

    /// The expected `users` rows (friendships only), as strings, sorted by user.
    pub fn users_rows(&self, super_min: u64, connector_min: u64) -> Vec<Vec<String>> {
        self.degrees()
            .into_iter()
            .map(|(user, d)| {
                let tier = if d >= super_min {
                    "super-connector"
                } else if d >= connector_min {
                    "connector"
                } else {
                    "standard"
                };
                vec![
                    user.to_string(),
                    d.to_string(),
                    (d >= super_min).to_string(),
                    "0.0".to_string(),
                    "0".to_string(),
                    String::new(),
                    tier.to_string(),
                ]
            })
            .collect()
    }

    /// The expected degree distribution rows.
    pub fn degree_rows(&self) -> Vec<Vec<String>> {
        let mut histogram: BTreeMap<u64, u64> = BTreeMap::new();
        for d in self.degrees().into_values() {
            *histogram.entry(d).or_insert(0) += 1;
        }
        histogram
            .into_iter()
            .map(|(d, n)| vec![d.to_string(), n.to_string()])
            .collect()
    }
}

pub const USERS_HEADER: &str =
    "user_id,friend_count,super_connector,influence,persuaded_total,top_topic,tier";
pub const DEGREES_HEADER: &str = "friend_count,users";

/// Reads the users table sorted by user id.
pub fn users_sorted(output: &Path) -> Vec<Vec<String>> {
    let mut rows = read_table(output, "users", USERS_HEADER);
    rows.sort_by_key(|r| r[0].parse::<u64>().unwrap());
    rows
}

/// Checks a published output against the oracle, with default parameters.
pub fn assert_matches_oracle(output: &Path, oracle: &GraphOracle) {
    assert_eq!(users_sorted(output), oracle.users_rows(1000, 101));
    assert_eq!(
        read_table(output, "degree_distribution", DEGREES_HEADER),
        oracle.degree_rows()
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(output.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["counts"]["friendships"], oracle.edges.len() as u64);
    assert_eq!(summary["lines"]["friendship_records"], oracle.records);
    assert_eq!(summary["lines"]["self_loops_rejected"], oracle.self_loops);
    assert!(output.join("_SUCCESS").exists());
}
